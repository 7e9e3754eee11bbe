/* Unit tests for src/formats/ahab: the AHAB CSF (codes and positions), the container and
 * SRK record parsers on bad bytes, and sign -> verify in memory with P-256 keys made here
 * (the e2e test test_ahab_cli checks the same paths against independent oracles). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"
#include "formats/ahab/ahab.h"
#include "formats/ahab/csf.h"
#include "formats/ahab/sign.h"
#include "formats/ahab/srk.h"
#include "formats/ahab/verify.h"
#include "testutil.h"

#define CSF_OK                                                                             \
	"[Header]\nTarget = AHAB\nVersion = 1.0\n"                                         \
	"[Install SRK]\nFile = \"t.bin\"\nSource = \"srk2.pem\"\nSource Index = 2\n"       \
	"Source Set = OEM\nRevocations = 0x1\n"                                            \
	"[Authenticate Data]\nFile = \"img.bin\"\nOffsets = 0x400 0x510\n"

static int parse(const char *text, struct bs_ahab_csf **out, struct bs_error *err)
{
	*out = (struct bs_ahab_csf *)0x1;
	int rc = bs_ahab_csf_parse(out, text, strlen(text), "t.csf", err);
	if (rc != 0) {
		assert_null(*out);
		assert_int_equal(err->code, rc);
	}
	return rc;
}

static void expect_error(const char *text, int code, const char *msg)
{
	struct bs_ahab_csf *c = NULL;
	struct bs_error err = {0};
	assert_int_equal(parse(text, &c, &err), code);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("expected '%s' in '%s'", msg, err.msg);
}

static void test_ahab__csf_valid(void **state)
{
	(void)state;
	struct bs_ahab_csf *c = NULL;
	struct bs_error err = {0};
	assert_int_equal(parse(CSF_OK, &c, &err), 0);
	assert_string_equal(c->srk_table.name, "t.bin");
	assert_string_equal(c->source.name, "srk2.pem");
	assert_int_equal(c->source_index, 2);
	assert_int_equal(c->source_set, BS_AHAB_SRK_SET_OEM);
	assert_int_equal(c->revocations, 1);
	assert_false(c->has_cert);
	assert_int_equal(c->offsets[0], 0x400);
	assert_int_equal(c->offsets[1], 0x510);
	assert_int_equal(c->data.line, 11);
	assert_int_equal(c->nwarnings, 0);
	assert_null(c->cert_sig.name);
	bs_ahab_csf_free(c);
	const char *with_cert =
		"[Header]\nTarget = AHAB\nVersion = 1.0\n[Install SRK]\nFile = \"t\"\n"
		"Source = \"s\"\nSource Index = 0\nSource Set = NXP\nRevocations = 0\n"
		"[Install Certificate]\nFile = \"sgk.pem\"\nPermissions = 0x9\n"
		"Signature = \"sgk.sig\"\n[Authenticate Data]\nFile = \"i\"\nOffsets = 0, 0x90\n";
	assert_int_equal(parse(with_cert, &c, &err), 0);
	assert_true(c->has_cert);
	assert_int_equal(c->source_set, BS_AHAB_SRK_SET_NXP);
	assert_int_equal(c->permissions, 9);
	assert_string_equal(c->cert_sig.name, "sgk.sig");
	assert_int_equal(c->cert_sig.line, 13);
	assert_int_equal(c->offsets[1], 0x90);
	bs_ahab_csf_free(c);
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", CSF_OK);
	memcpy(strstr(buf, "0x1\n"), "0x4", 3); /* revoke SRK 2, the signing SRK */
	assert_int_equal(parse(buf, &c, &err), 0);
	assert_int_equal(c->nwarnings, 1);
	assert_int_equal(c->warnings[0].line, 4);
	assert_non_null(strstr(c->warnings[0].msg, "revoke SRK 2"));
	bs_ahab_csf_free(c);
	assert_true(bs_ahab_csf_detect(CSF_OK, strlen(CSF_OK)));
	const char *hab4 = "[Header]\nVersion = 4.1\nTarget = HAB\n";
	assert_false(bs_ahab_csf_detect(hab4, strlen(hab4)));
	const char *late = "[Header]\nVersion = 4.1\n[Install SRK]\nTarget = AHAB\n";
	assert_false(bs_ahab_csf_detect(late, strlen(late)));
	const char *eof = "# c\n[Header]\n  target = ahab";
	assert_true(bs_ahab_csf_detect(eof, strlen(eof)));
}

static void test_ahab__csf_errors(void **state)
{
	(void)state;
	expect_error("[Header]\nTarget = AHAB\nVersion = 2.0\n", BS_ERR_UNSUPPORTED,
		     "t.csf:3:11: AHAB Version 2.0 is not supported yet");
	expect_error("[Header]\nTarget = AHAB\nVersion = 1.1\n", BS_ERR_SEMANTIC, "t.csf:3:11:");
	expect_error("[Header]\nTarget = AHAB\nMode = HSM\n", BS_ERR_UNSUPPORTED, "t.csf:3:8:");
	expect_error("[Header]\nTarget = AHAB\nVersion = 1.0\n[Install Secret Key]\n",
		     BS_ERR_UNSUPPORTED, "t.csf:4:1: [Install Secret Key]");
	expect_error("[Header]\nTarget = AHAB\nVersion = 1.0\n[Install SRK]\nFile = \"t\"\n"
		     "Source = \"s\"\nSource Set = OEM\nRevocations = 0\n",
		     BS_ERR_SEMANTIC, "t.csf:4:1: [Install SRK] without 'Source Index'");
	expect_error("[Header]\nTarget = AHAB\nVersion = 1.0\n[Authenticate Data]\n",
		     BS_ERR_SEMANTIC, "t.csf:4:1: [Authenticate Data] after [Header]");
	expect_error("[Install SRK]\n", BS_ERR_SEMANTIC, "t.csf:1:1: [Install SRK] before");
	expect_error("[Header]\nTarget = AHAB\nTarget = AHAB\n", BS_ERR_SEMANTIC,
		     "t.csf:3:1: duplicate argument 'Target'");
	expect_error("[Header]\nTarget = AHAB\nEngine = CAAM\n", BS_ERR_SYNTAX,
		     "t.csf:3:1: unknown argument 'ENGINE'");
	expect_error("[Header]\nTarget = AHAB\nVersion = 1.0\n[Install CSFK]\n", BS_ERR_SYNTAX,
		     "t.csf:4:2: unknown section [INSTALLCSFK]");
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", CSF_OK);
	*strstr(buf, "Revocations = 0x1") = '\0';
	strcat(buf, "Revocations = 0x10\n[Authenticate Data]\nFile = \"i\"\nOffsets = 0 0x90\n");
	expect_error(buf, BS_ERR_SEMANTIC, "t.csf:9:15: 16 is out of range");
	snprintf(buf, sizeof(buf), "%s", CSF_OK);
	*strstr(buf, "0x510") = '\0';
	expect_error(buf, BS_ERR_SYNTAX, "a second number");
	snprintf(buf, sizeof(buf), "%s", CSF_OK);
	*strstr(buf, "File = \"img.bin\"") = 'X';
	expect_error(buf, BS_ERR_SYNTAX, "t.csf:11:1: unknown argument 'XILE'");
	expect_error("[Header]\nTarget = AHAB\nVersion = 1.0\n", BS_ERR_SEMANTIC,
		     "end of file without [Install SRK]");
	snprintf(buf, sizeof(buf), "%sSignature = \"c.sig\"\n", CSF_OK);
	expect_error(buf, BS_ERR_UNSUPPORTED, "t.csf:13:13: a pre-made container Signature");
}

/* An unsigned container: header, 1 image at 0x1000, empty signature block. */
static uint8_t *make_container(size_t *len)
{
	*len = 0x1000 + 0x200;
	uint8_t *p = calloc(1, *len);
	assert_non_null(p);
	p[0] = 0;
	bs_buf_put_le16(p + 1, 16 + 128 + 16);
	p[3] = 0x87;
	p[11] = 1;
	bs_buf_put_le16(p + 12, 16 + 128);
	uint8_t *e = p + 16;
	bs_buf_put_le32(e, 0x1000);
	bs_buf_put_le32(e + 4, 0x200);
	bs_buf_put_le32(e + 24, 0x23);
	for (size_t i = 0; i < 0x200; i++)
		p[0x1000 + i] = (uint8_t)i;
	unsigned dl = 0;
	assert_int_equal(EVP_Digest(p + 0x1000, 0x200, e + 32, &dl, EVP_sha256(), NULL), 1);
	p[16 + 128 + 1] = 16;
	p[16 + 128 + 3] = 0x90;
	return p;
}

static void test_ahab__container_parse_errors(void **state)
{
	(void)state;
	size_t len = 0;
	uint8_t *p = make_container(&len);
	struct bs_ahab_container c;
	struct bs_error err = {0};
	assert_int_equal(bs_ahab_container_parse(&c, p, len, &err), 0);
	assert_int_equal(c.nr_images, 1);
	assert_int_equal(bs_ahab_container_parse(&c, p, 100, &err), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "image array"));
	p[0] = 2;
	assert_int_equal(bs_ahab_container_parse(&c, p, len, &err), BS_ERR_UNSUPPORTED);
	p[0] = 0;
	p[3] = 0x86;
	assert_int_equal(bs_ahab_container_parse(&c, p, len, &err), BS_ERR_FORMAT);
	p[3] = 0x87;
	p[11] = 9;
	assert_int_equal(bs_ahab_container_parse(&c, p, len, &err), BS_ERR_FORMAT);
	p[11] = 1;
	p[12] = 0x80;
	assert_int_equal(bs_ahab_container_parse(&c, p, len, &err), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "signature block offset"));
	p[12] = 0x90;
	p[16 + 25] = 0x07; /* image hash type 7 */
	assert_int_equal(bs_ahab_container_parse(&c, p, len, &err), BS_ERR_FORMAT);
	p[16 + 25] = 0;
	struct bs_ahab_sigblk sb;
	assert_int_equal(bs_ahab_sigblk_parse(&sb, p + 0x90, 16, &err), 0);
	p[0x90 + 4] = 0x0C; /* certificate offset not 8-aligned */
	p[0x90 + 1] = 0x20;
	assert_int_equal(bs_ahab_sigblk_parse(&sb, p + 0x90, 0x20, &err), BS_ERR_FORMAT);
	free(p);
}

static void test_ahab__srk_record_errors(void **state)
{
	(void)state;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t *rec = NULL;
	size_t len = 0, used = 0;
	struct bs_error err = {0};
	struct bs_ahab_srk s;
	assert_int_equal(bs_ahab_srk_record(&rec, &len, k, true, 0, &err), 0);
	assert_int_equal(len, 76);
	assert_memory_equal(rec, "\xE1\x4C\x00\x27\x00\x01\x00\x80\x20\x00\x20\x00", 12);
	assert_int_equal(bs_ahab_srk_record_parse(&s, rec, len, &used, &err), 0);
	assert_int_equal(used, 76);
	assert_int_equal(s.sig_len, 64);
	assert_int_equal(EVP_PKEY_eq(s.pub, k), 1);
	bs_ahab_srk_clear(&s);
	rec[12 + 40] ^= 1; /* Y no longer on the curve */
	assert_int_equal(bs_ahab_srk_record_parse(&s, rec, len, &used, &err), BS_ERR_FORMAT);
	assert_null(s.pub);
	rec[12 + 40] ^= 1;
	rec[5] = 2; /* P-384 code with 32-byte coordinates */
	assert_int_equal(bs_ahab_srk_record_parse(&s, rec, len, &used, &err), BS_ERR_FORMAT);
	rec[5] = 1;
	assert_int_equal(bs_ahab_srk_record_parse(&s, rec, len - 1, &used, &err), BS_ERR_FORMAT);
	rec[6] = 1;
	assert_int_equal(bs_ahab_srk_record_parse(&s, rec, len, &used, &err), BS_ERR_FORMAT);
	free(rec);
	EVP_PKEY_free(k);
}

/* A key source over four P-256 SRKs held in memory. */
struct mem_keys {
	EVP_PKEY *key[4];
	X509 *cert[4];
	uint8_t *table;
	size_t table_len;
};

static int mk_read(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		   struct bs_error *err)
{
	struct mem_keys *m = ctx;
	if (strcmp(name, "t.bin") != 0 || m->table_len > max)
		return bs_error_set(err, BS_ERR_NOT_FOUND, "%s: not found", name);
	*out = malloc(m->table_len);
	memcpy(*out, m->table, m->table_len);
	*out_len = m->table_len;
	return 0;
}

static int mk_cert(void *ctx, const char *name, X509 **out, struct bs_error *err)
{
	struct mem_keys *m = ctx;
	if (strncmp(name, "srk", 3) != 0 || name[3] < '1' || name[3] > '4')
		return bs_error_set(err, BS_ERR_NOT_FOUND, "%s: not found", name);
	X509_up_ref(m->cert[name[3] - '1']);
	*out = m->cert[name[3] - '1'];
	return 0;
}

static int mk_key(void *ctx, const char *name, X509 *cert, struct bs_key **out,
		  struct bs_error *err)
{
	struct mem_keys *m = ctx;
	EVP_PKEY *k = m->key[name[3] - '1'];
	EVP_PKEY_up_ref(k);
	return bs_key_from_pkey(out, k, name, err);
}

static void test_ahab__sign_verify(void **state)
{
	(void)state;
	struct mem_keys m = {0};
	for (int i = 0; i < 4; i++) {
		struct bs_key *sk = NULL;
		m.key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		EVP_PKEY_up_ref(m.key[i]);
		assert_int_equal(bs_key_from_pkey(&sk, m.key[i], "srk", NULL), 0);
		struct bs_x509_params xp = {.cn = "SRK", .subject = m.key[i], .ca = true,
					    .days = 10};
		assert_int_equal(bs_x509_issue(&m.cert[i], &xp, sk, NULL), 0);
		bs_key_free(sk);
	}
	struct bs_error err = {0};
	assert_int_equal(bs_ahab_srk_table_build(&m.table, &m.table_len, m.cert, 4, 0, &err), 0);
	uint8_t fuse[64];
	size_t fuse_len = 0;
	assert_int_equal(bs_ahab_srk_fuse(fuse, &fuse_len, m.table, m.table_len, NID_sha256,
					  &err), 0);
	struct bs_key_source ks = {.read = mk_read, .load_cert = mk_cert, .load_key = mk_key,
				   .ctx = &m};
	size_t len = 0;
	uint8_t *img = make_container(&len);
	struct bs_ahab_mem mem = {.data = img, .len = len};
	struct bs_ahab_reader r;
	bs_ahab_reader_mem(&r, &mem);
	const char *text = "[Header]\nTarget = AHAB\nVersion = 1.0\n[Install SRK]\nFile = "
			   "\"t.bin\"\nSource = \"srk2\"\nSource Index = 1\nSource Set = OEM\n"
			   "Revocations = 0\n[Authenticate Data]\nFile = \"img\"\nOffsets = 0 "
			   "0x90\n";
	struct bs_ahab_csf *csf = NULL;
	assert_int_equal(bs_ahab_csf_parse(&csf, text, strlen(text), "t.csf", &err), 0);
	struct bs_ahab_patch patch;
	assert_int_equal(bs_ahab_sign(&patch, csf, &ks, &r, NULL, &err), 0);
	assert_int_equal(patch.offset, 0);
	assert_int_equal(patch.md_nid, NID_sha256);
	assert_int_equal(patch.digest_len, 32);
	memcpy(img, patch.data, patch.len);
	struct bs_ahab_verify_opts o = {.fuse = fuse, .fuse_len = 32};
	assert_int_equal(bs_ahab_verify(&r, &o, &err), 0);
	o.revoked = 0x2;
	assert_int_equal(bs_ahab_verify(&r, &o, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "SRK selection"));
	o.revoked = 0;
	img[0x1000] ^= 1;
	assert_int_equal(bs_ahab_verify(&r, &o, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "container at 0x0: image hash: image 0"));
	bs_ahab_patch_free(&patch);
	/* signing refuses the changed image and leaves the patch empty */
	assert_int_equal(bs_ahab_sign(&patch, csf, &ks, &r, NULL, &err), BS_ERR_VERIFY);
	assert_null(patch.data);
	/* the same codes without an error report */
	assert_int_equal(bs_ahab_sign(&patch, csf, &ks, &r, NULL, NULL), BS_ERR_VERIFY);
	assert_int_equal(bs_ahab_verify(&r, &o, NULL), BS_ERR_VERIFY);
	assert_int_equal(patch.len, 0);
	img[0x1000] ^= 1;
	/* Source is the wrong table entry */
	free(csf->source.name);
	csf->source.name = strdup("srk3");
	assert_int_equal(bs_ahab_sign(&patch, csf, &ks, &r, NULL, &err), BS_ERR_SEMANTIC);
	assert_non_null(strstr(err.msg, "holds SRK table entry 2, but Source Index = 1"));
	assert_null(patch.data);
	free(csf->source.name);
	csf->source.name = strdup("srk2");
	csf->offsets[1] = 0x80;
	assert_int_equal(bs_ahab_sign(&patch, csf, &ks, &r, NULL, &err), BS_ERR_SEMANTIC);
	assert_non_null(strstr(err.msg, "Offsets are not consistent"));
	bs_ahab_csf_free(csf);
	free(img);
	for (int i = 0; i < 4; i++) {
		EVP_PKEY_free(m.key[i]);
		X509_free(m.cert[i]);
	}
	free(m.table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ahab__csf_valid),
		cmocka_unit_test(test_ahab__csf_errors),
		cmocka_unit_test(test_ahab__container_parse_errors),
		cmocka_unit_test(test_ahab__srk_record_errors),
		cmocka_unit_test(test_ahab__sign_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
