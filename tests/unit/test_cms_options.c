/* Unit tests for the bs_cms_sign_digest options (src/crypto/cms.c): every option is
 * byte-compared with `openssl cms -sign -binary -outform DER` run with the matching flags
 * on the same RSA file key, certificate and content (PKCS#1 v1.5 is deterministic; the
 * signingTime openssl chose is read back from its output and passed in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "crypto/cms.h"
#include "crypto/key.h"
#include "testutil.h"

#define SPC_INDIRECT_DATA "1.3.6.1.4.1.311.2.1.4"

struct fx {
	char *dir;
	char key[4096], crt[4096], chain[4096], data[4096], out[4096];
	struct bs_key *bkey;
	X509 *cert;
	STACK_OF(X509) *chain_certs;
	uint8_t content[1500];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = bs_tmpdir();
	snprintf(f->key, sizeof(f->key), "%s/k.pem", f->dir);
	snprintf(f->crt, sizeof(f->crt), "%s/c.pem", f->dir);
	snprintf(f->chain, sizeof(f->chain), "%s/chain.pem", f->dir);
	snprintf(f->data, sizeof(f->data), "%s/m.bin", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/o.der", f->dir);
	const char *req[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
			     "-keyout", f->key, "-out", f->crt, "-subj", "/CN=bootsign cms",
			     "-days", "2", NULL};
	bs_test_run_ok(req);
	/* two more certificates for -certfile (EC keeps them small and quick) */
	FILE *ch = fopen(f->chain, "w");
	assert_non_null(ch);
	for (int i = 0; i < 2; i++) {
		char k[4200], c[4200], subj[64];
		snprintf(k, sizeof(k), "%s/ca%d.key", f->dir, i);
		snprintf(c, sizeof(c), "%s/ca%d.pem", f->dir, i);
		snprintf(subj, sizeof(subj), "/CN=chain %d", i);
		const char *r[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
				   "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out", c,
				   "-subj", subj, "-days", "2", NULL};
		bs_test_run_ok(r);
		X509 *x = bs_read_pem_cert(c);
		assert_int_equal(PEM_write_X509(ch, x), 1);
		X509_free(x);
	}
	assert_int_equal(fclose(ch), 0);
	f->chain_certs = sk_X509_new_null();
	for (int i = 0; i < 2; i++) {
		char c[4200];
		snprintf(c, sizeof(c), "%s/ca%d.pem", f->dir, i);
		assert_true(sk_X509_push(f->chain_certs, bs_read_pem_cert(c)) > 0);
	}
	/* binary content: CR, LF and NUL must survive (-binary) */
	for (size_t i = 0; i < sizeof(f->content); i++)
		f->content[i] = (uint8_t)(i * 31 + 7);
	f->content[10] = '\r';
	f->content[11] = '\n';
	bs_write(f->data, f->content, sizeof(f->content));
	f->cert = bs_read_pem_cert(f->crt);
	EVP_PKEY *k = bs_read_pem_key(f->key, NULL);
	assert_non_null(k);
	assert_int_equal(bs_key_from_pkey(&f->bkey, k, "cms-test", NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	bs_key_free(f->bkey);
	X509_free(f->cert);
	sk_X509_pop_free(f->chain_certs, X509_free);
	bs_tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* OpenSSL re-encodes a parsed CMS with its own DER rules (SET OF sorted, definite
 * lengths): our bytes must survive that unchanged. */
static void assert_reencodes_identically(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	assert_ptr_equal(p, der + len);
	unsigned char *re = NULL;
	int n = i2d_CMS_ContentInfo(cms, &re);
	assert_int_equal(n, (int)len);
	assert_memory_equal(re, der, len);
	OPENSSL_free(re);
	CMS_ContentInfo_free(cms);
}

struct ossl_case {
	const char *flags[6]; /* extra `openssl cms -sign` arguments */
	int md_nid;
	bool no_attrs, certs, caps, keyid, attached, chain;
	const char *econtent;
};

static void check_case(struct fx *f, const struct ossl_case *c)
{
	const char *argv[32] = {"openssl", "cms", "-sign", "-binary", "-outform", "DER",
				"-md", OBJ_nid2sn(c->md_nid), "-in", f->data, "-signer", f->crt,
				"-inkey", f->key, "-out", f->out};
	size_t n = 16;
	for (size_t i = 0; i < BS_ARRAY_SIZE(c->flags) && c->flags[i] != NULL; i++)
		argv[n++] = c->flags[i];
	argv[n] = NULL;
	bs_test_run_ok(argv);
	uint8_t *ref = NULL;
	size_t rlen = 0;
	assert_int_equal(bs_read_file(&ref, &rlen, f->out, 1u << 20, NULL), 0);

	uint8_t dg[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	assert_int_equal(EVP_Digest(f->content, sizeof(f->content), dg, &dl,
				    EVP_get_digestbynid(c->md_nid), NULL), 1);
	struct bs_cms_sign_opts o = {
		.md_nid = c->md_nid,
		.signing_time = bs_cms_signing_time(ref, rlen),
		.no_attrs = c->no_attrs,
		.include_cert = c->certs,
		.smime_caps = c->caps,
		.signer_keyid = c->keyid,
		.content = c->attached ? f->content : NULL,
		.content_len = c->attached ? sizeof(f->content) : 0,
		.econtent_oid = c->econtent,
		.extra_certs = c->chain ? f->chain_certs : NULL,
	};
	assert_int_equal(o.signing_time == 0, c->no_attrs);
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct bs_error err = {0};
	int rc = bs_cms_sign_digest(&out, &out_len, f->bkey, f->cert, dg, dl, &o, &err);
	if (rc != 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	if (out_len != rlen || memcmp(out, ref, rlen) != 0) {
		fprintf(stderr, "differs from openssl cms -sign");
		for (size_t i = 0; i < BS_ARRAY_SIZE(c->flags) && c->flags[i] != NULL; i++)
			fprintf(stderr, " %s", c->flags[i]);
		fprintf(stderr, " (%zu vs %zu bytes)\n", out_len, rlen);
		fail();
	}
	assert_reencodes_identically(out, out_len);
	free(out);
	free(ref);
}

static void run_cases(struct fx *f, const struct ossl_case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(f, &cs[i]);
}

static void test_cms__default_matches_openssl(void **state)
{
	/* openssl's defaults: signed attributes with SMIMECapabilities, signer certificate */
	const struct ossl_case cs[] = {
		{{NULL}, NID_sha256, .certs = true, .caps = true},
		{{NULL}, NID_sha512, .certs = true, .caps = true},
	};
	run_cases(*state, cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__noattr_matches_openssl(void **state)
{
	const struct ossl_case cs[] = {
		{{"-noattr"}, NID_sha256, .no_attrs = true, .certs = true},
		{{"-noattr", "-nocerts"}, NID_sha384, .no_attrs = true},
	};
	run_cases(*state, cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__nosmimecap_matches_openssl(void **state)
{
	const struct ossl_case cs[] = {
		{{"-nosmimecap"}, NID_sha256, .certs = true},
	};
	run_cases(*state, cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__nocerts_matches_openssl(void **state)
{
	const struct ossl_case cs[] = {
		{{"-nocerts"}, NID_sha256, .caps = true},
		{{"-nocerts", "-nosmimecap"}, NID_sha256, .certs = false},
	};
	run_cases(*state, cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__keyid_matches_openssl(void **state)
{
	const struct ossl_case cs[] = {
		{{"-keyid"}, NID_sha256, .certs = true, .caps = true, .keyid = true},
		{{"-keyid", "-noattr", "-nocerts"}, NID_sha256, .no_attrs = true, .keyid = true},
	};
	run_cases(*state, cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__nodetach_matches_openssl(void **state)
{
	const struct ossl_case cs[] = {
		{{"-nodetach"}, NID_sha256, .certs = true, .caps = true, .attached = true},
		{{"-nodetach", "-noattr"}, NID_sha256, .no_attrs = true, .certs = true,
		 .attached = true},
		{{"-nodetach", "-econtent_type", SPC_INDIRECT_DATA, "-nosmimecap", "-nocerts"},
		 NID_sha256, .attached = true, .econtent = SPC_INDIRECT_DATA},
	};
	run_cases(*state, cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__chain_matches_openssl(void **state)
{
	struct fx *f = *state;
	/* the certificates SET is DER-sorted, whatever order the chain comes in */
	const struct ossl_case cs[] = {
		{{"-certfile", f->chain, "-keyid", "-nodetach", "-nosmimecap"}, NID_sha256,
		 .certs = true, .keyid = true, .attached = true, .chain = true},
	};
	run_cases(f, cs, BS_ARRAY_SIZE(cs));
	X509 *first = sk_X509_shift(f->chain_certs);
	assert_true(sk_X509_push(f->chain_certs, first) > 0);
	/* the signer repeated in the chain is included once */
	X509_up_ref(f->cert);
	assert_true(sk_X509_push(f->chain_certs, f->cert) > 0);
	run_cases(f, cs, BS_ARRAY_SIZE(cs));
	X509_free(sk_X509_pop(f->chain_certs));
}

/* Extra signed attributes are sorted in among the others; openssl verifies the result
 * and finds the attribute. */
static void test_cms__extra_attrs_sorted_and_verified(void **state)
{
	struct fx *f = *state;
	/* SEQUENCE { OID 1.3.6.1.4.1.311.2.1.12 (SpcSpOpusInfo), SET { SEQUENCE {} } } and
	 * one attribute that sorts first (short) */
	static const uint8_t opus[] = {0x30, 0x12, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01,
				       0x82, 0x37, 0x02, 0x01, 0x0c, 0x31, 0x04, 0x30, 0x02,
				       0x30, 0x00};
	static const uint8_t tiny[] = {0x30, 0x09, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x31, 0x02,
				       0x05, 0x00};
	const uint8_t *attrs[] = {opus, tiny};
	const size_t lens[] = {sizeof(opus), sizeof(tiny)};
	uint8_t dg[32];
	SHA256(f->content, sizeof(f->content), dg);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256, .include_cert = true,
				     .extra_attrs = attrs, .extra_attr_lens = lens,
				     .n_extra_attrs = 2};
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_cms_sign_digest(&out, &out_len, f->bkey, f->cert, dg, 32, &o, &err),
			 0);
	assert_reencodes_identically(out, out_len);
	bs_write(f->out, out, out_len);
	char vout[4200];
	snprintf(vout, sizeof(vout), "%s/v.bin", f->dir);
	const char *argv[] = {"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
			      f->out, "-content", f->data, "-noverify", "-out", vout, NULL};
	bs_test_run_ok(argv);
	const unsigned char *p = out;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)out_len);
	assert_non_null(cms);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.2.1.12", 1);
	assert_int_equal(CMS_signed_get_attr_count(si), 5);
	assert_true(CMS_signed_get_attr_by_OBJ(si, oid, -1) >= 0);
	/* the short one sorts first */
	ASN1_OBJECT *first = OBJ_txt2obj("1.2.3.4", 1);
	assert_int_equal(OBJ_cmp(X509_ATTRIBUTE_get0_object(CMS_signed_get_attr(si, 0)), first),
			 0);
	ASN1_OBJECT_free(first);
	ASN1_OBJECT_free(oid);
	CMS_ContentInfo_free(cms);
	free(out);
}

static void expect_fail(struct fx *f, const struct bs_cms_sign_opts *o, const uint8_t *dg,
			int code, const char *what)
{
	uint8_t *out = (uint8_t *)"x";
	size_t out_len = 7;
	struct bs_error err = {0};
	assert_int_equal(bs_cms_sign_digest(&out, &out_len, f->bkey, f->cert, dg, 32, o, &err),
			 code);
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_non_null(strstr(err.msg, what));
}

static void test_cms__bad_options_are_rejected(void **state)
{
	struct fx *f = *state;
	uint8_t dg[32];
	SHA256(f->content, sizeof(f->content), dg);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256, .content = f->content,
				     .content_len = sizeof(f->content) - 1};
	expect_fail(f, &o, dg, BS_ERR_INVALID, "not the digest of the attached content");
	o = (struct bs_cms_sign_opts){.md_nid = NID_sha256, .econtent_oid = SPC_INDIRECT_DATA,
				      .no_attrs = true};
	expect_fail(f, &o, dg, BS_ERR_INVALID, "needs signed attributes");
	o.econtent_oid = "not an oid";
	o.no_attrs = false;
	expect_fail(f, &o, dg, BS_ERR_INVALID, "not a dotted OID");
	static const uint8_t junk[] = {0x30, 0x05, 0x06};
	const uint8_t *attrs[] = {junk};
	const size_t lens[] = {sizeof(junk)};
	o = (struct bs_cms_sign_opts){.md_nid = NID_sha256, .extra_attrs = attrs,
				      .extra_attr_lens = lens, .n_extra_attrs = 1};
	expect_fail(f, &o, dg, BS_ERR_INVALID, "extra attribute 0");
	o.n_extra_attrs = 17;
	expect_fail(f, &o, dg, BS_ERR_INVALID, "extra attributes");
	/* -keyid needs a subjectKeyIdentifier */
	X509 *saved = f->cert;
	f->cert = X509_dup(saved);
	int idx = X509_get_ext_by_NID(f->cert, NID_subject_key_identifier, -1);
	assert_true(idx >= 0);
	X509_EXTENSION_free(X509_delete_ext(f->cert, idx));
	o = (struct bs_cms_sign_opts){.md_nid = NID_sha256, .signer_keyid = true};
	expect_fail(f, &o, dg, BS_ERR_INVALID, "subjectKeyIdentifier");
	X509_free(f->cert);
	f->cert = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cms__default_matches_openssl),
		cmocka_unit_test(test_cms__noattr_matches_openssl),
		cmocka_unit_test(test_cms__nosmimecap_matches_openssl),
		cmocka_unit_test(test_cms__nocerts_matches_openssl),
		cmocka_unit_test(test_cms__keyid_matches_openssl),
		cmocka_unit_test(test_cms__nodetach_matches_openssl),
		cmocka_unit_test(test_cms__chain_matches_openssl),
		cmocka_unit_test(test_cms__extra_attrs_sorted_and_verified),
		cmocka_unit_test(test_cms__bad_options_are_rejected),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
