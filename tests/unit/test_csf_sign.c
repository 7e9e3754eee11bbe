/* Unit tests for the HAB4 CSF compiler (src/hab/csf_sign.c, data_source.c).
 *
 * Oracles: the binary CSFs produced by NXP CST 4.0.1 (tests/fixtures/hab4-vectors), compared
 * byte for byte outside the CMS records (and entirely, for RSA, with CST's signingTime), and
 * `openssl cms -verify` run on every signature we produce against the exact signed bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/cms.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "crypto/cms.h"
#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "formats/hab/hab.h"
#include "keys/store.h"
#include "testutil.h"

#define MAX_RECS 16

static char *read_text(const char *path, size_t *len)
{
	uint8_t *d = NULL;
	struct bs_error err = {0};
	if (bs_read_file(&d, len, path, 1u << 20, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	return (char *)d;
}

static struct bs_csf *parse_vector(const char *dir, const char *csfname, int *rc_out)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/%s", bs_fixture(dir), csfname);
	char *text = read_text(path, &len);
	struct bs_csf *csf = NULL;
	struct bs_error err = {0};
	struct bs_csf_parse_opts po = { .strict = false };
	int rc = bs_csf_parse(&csf, text, len, csfname, &po, &err);
	free(text);
	if (rc_out != NULL)
		*rc_out = rc;
	else if (rc != 0)
		fail_msg("parse %s: %s", csfname, err.msg);
	return csf;
}

/* --allow-unbootable for the next compiles (CST vectors that would not boot). */
static bool g_allow_unbootable;

/* Compile `csf` with the vector directory as store root and data directory. */
static int sign_in(const char *dir, const char *datadir, const struct bs_csf *csf, time_t t,
		   uint8_t **out, size_t *len, struct bs_hab_sign_report *rep,
		   struct bs_error *err)
{
	struct bs_store *store = NULL;
	int rc = bs_store_open_dir(&store, bs_fixture(dir), true, err);
	assert_int_equal(rc, 0);
	struct bs_hab_sign_opts o = {
		.keys = bs_store_key_source(store),
		.data = { .open = bs_test_dir_open, .ctx = (void *)(datadir ? datadir : bs_fixture(dir)) },
		.signing_time = t,
		.allow_unbootable = g_allow_unbootable,
	};
	rc = bs_hab_sign(out, len, csf, &o, rep, err);
	bs_store_free(store);
	return rc;
}

/* ---- an independent walker over a binary CSF ---- */

struct rec {
	size_t off;
	uint8_t tag;
	size_t len;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t walk_records(const uint8_t *d, size_t n, struct rec *r)
{
	assert_true(n >= 4);
	assert_int_equal(d[0], HAB_TAG_CSF);
	size_t p = bs_get_be16(d + 1), k = 0;
	while (p < n) {
		assert_true(k < MAX_RECS);
		assert_true(p + 4 <= n);
		r[k] = (struct rec){ p, d[p], bs_get_be16(d + p + 1) };
		assert_true(r[k].len >= 4 && p + r[k].len <= n);
		p += pad4(r[k].len);
		k++;
	}
	assert_int_equal(p, n);
	return k;
}

static int rec_at(const struct rec *r, size_t nr, size_t off)
{
	for (size_t i = 0; i < nr; i++)
		if (r[i].off == off)
			return (int)i;
	return -1;
}

/* Offsets of all U32 offset fields in the command region. */
static size_t offset_fields(const uint8_t *d, size_t *pos, size_t max)
{
	size_t cmd_len = bs_get_be16(d + 1), p = 4, k = 0;
	while (p < cmd_len) {
		size_t l = bs_get_be16(d + p + 1);
		assert_true(l >= 4 && p + l <= cmd_len);
		bool has = (d[p] == HAB_CMD_INS_KEY && !(d[p + 3] & HAB_CMD_INS_KEY_ABS)) ||
			   d[p] == HAB_CMD_AUT_DAT;
		if (has) {
			assert_true(k < max);
			pos[k++] = p + 8;
		}
		p += l;
	}
	return k;
}

/* Everything outside the CMS records must equal CST's; with `exact`, also every offset
 * and the total size (RSA: CMS lengths are fixed). Without, offsets must designate the
 * same record (by position in the sequence). */
static void compare_with_cst(const uint8_t *ours, size_t olen, const uint8_t *cst,
			     size_t clen, bool exact)
{
	struct rec ro[MAX_RECS], rc[MAX_RECS];
	size_t no = walk_records(ours, olen, ro), nc = walk_records(cst, clen, rc);
	size_t cmd_len = bs_get_be16(cst + 1);
	assert_int_equal(bs_get_be16(ours + 1), cmd_len);
	assert_int_equal(no, nc);
	for (size_t i = 0; i < nc; i++) {
		assert_int_equal(ro[i].tag, rc[i].tag);
		if (rc[i].tag != HAB_TAG_SIG) {
			assert_int_equal(ro[i].len, rc[i].len);
			assert_memory_equal(ours + ro[i].off, cst + rc[i].off, pad4(rc[i].len));
		} else {
			assert_memory_equal(ours + ro[i].off, cst + rc[i].off, 1);
			assert_int_equal(ours[ro[i].off + 3], cst[rc[i].off + 3]);
		}
	}
	uint8_t *a = malloc(cmd_len), *b = malloc(cmd_len);
	memcpy(a, ours, cmd_len);
	memcpy(b, cst, cmd_len);
	size_t pos[64];
	size_t np = offset_fields(cst, pos, 64);
	for (size_t i = 0; i < np; i++) {
		int io = rec_at(ro, no, bs_get_be32(a + pos[i]));
		int ic = rec_at(rc, nc, bs_get_be32(b + pos[i]));
		assert_true(ic >= 0);
		assert_int_equal(io, ic);
		if (!exact) {
			memset(a + pos[i], 0, 4);
			memset(b + pos[i], 0, 4);
		}
	}
	assert_memory_equal(a, b, cmd_len);
	free(a);
	free(b);
	if (exact) {
		assert_int_equal(olen, clen);
		/* Whole file outside the CMS payloads. */
		for (size_t i = 0; i < nc; i++)
			if (rc[i].tag == HAB_TAG_SIG)
				assert_int_equal(ro[i].len, rc[i].len);
		size_t p = 0;
		for (size_t i = 0; i <= nc; i++) {
			size_t end = i < nc ? rc[i].off + (rc[i].tag == HAB_TAG_SIG ? 4 : 0) : clen;
			if (i < nc && rc[i].tag != HAB_TAG_SIG)
				continue;
			assert_memory_equal(ours + p, cst + p, end - p);
			if (i < nc)
				p = rc[i].off + rc[i].len;
		}
	}
}

/* ---- the openssl oracle ---- */

static int openssl_verify(const char *tmp, const uint8_t *cms, size_t cms_len,
			  const uint8_t *content, size_t clen, const char *content_path,
			  const char *cert)
{
	char sig[4096], con[4096];
	snprintf(sig, sizeof(sig), "%s/sig.der", tmp);
	snprintf(con, sizeof(con), "%s/content.bin", tmp);
	bs_write(sig, cms, cms_len);
	if (content_path == NULL) {
		bs_write(con, content, clen);
		content_path = con;
	}
	const char *argv[] = { "openssl", "cms", "-verify", "-binary", "-inform", "DER",
			       "-in", sig, "-content", content_path, "-noverify",
			       "-certfile", cert, "-out", "/dev/null", NULL };
	return bs_test_run(argv, NULL);
}

static uint8_t *concat_blocks(const char *datadir, const struct bs_csf_cmd *cmd, size_t *len)
{
	struct bs_buf b;
	bs_buf_init(&b, 0);
	for (size_t i = 0; i < cmd->nblocks; i++) {
		char path[4096];
		size_t flen;
		snprintf(path, sizeof(path), "%s/%s", datadir, cmd->blocks[i].file);
		char *f = read_text(path, &flen);
		assert_true((uint64_t)cmd->blocks[i].offset + cmd->blocks[i].length <= flen);
		assert_int_equal(bs_buf_append(&b, f + cmd->blocks[i].offset,
					       cmd->blocks[i].length), 0);
		free(f);
	}
	return bs_buf_steal(&b, len);
}

/* Verify every CMS record of `out` with openssl against the bytes it must sign. */
static void verify_all_signatures(const char *dir, const struct bs_csf *csf,
				  const uint8_t *out, size_t len)
{
	char *tmp = bs_tmpdir();
	char certs[HAB_KEY_SLOTS][4096] = {{0}};
	char csf_cert[4096] = "";
	struct rec r[MAX_RECS];
	size_t nr = walk_records(out, len, r);
	size_t cmd_len = bs_get_be16(out + 1);
	size_t p = 4, nsig = 0;
	/* Walk the CSF and the binary side by side: the k-th Authenticate command of the
	 * source is the k-th CA command of the output. */
	size_t ci = 1;
	while (p < cmd_len) {
		size_t l = bs_get_be16(out + p + 1);
		if (out[p] == HAB_CMD_AUT_DAT) {
			while (ci < csf->ncmds && csf->cmds[ci].kind != BS_CSF_AUTH_CSF &&
			       csf->cmds[ci].kind != BS_CSF_AUTH_DATA) {
				const struct bs_csf_cmd *c = &csf->cmds[ci];
				if (c->kind == BS_CSF_INSTALL_CSFK || c->kind == BS_CSF_INSTALL_NOCAK) {
					snprintf(csf_cert, sizeof(csf_cert), "%s/%s", bs_fixture(dir),
						 c->file);
					if (c->kind == BS_CSF_INSTALL_NOCAK)
						for (size_t s = 0; s < HAB_KEY_SLOTS; s++)
							snprintf(certs[s], 4096, "%s", csf_cert);
				}
				if (c->kind == BS_CSF_INSTALL_KEY)
					snprintf(certs[c->tgt], 4096, "%s/%s", bs_fixture(dir), c->file);
				ci++;
			}
			assert_true(ci < csf->ncmds);
			const struct bs_csf_cmd *c = &csf->cmds[ci++];
			int ri = rec_at(r, nr, bs_get_be32(out + p + 8));
			assert_true(ri >= 0);
			assert_int_equal(r[ri].tag, HAB_TAG_SIG);
			const uint8_t *cms = out + r[ri].off + 4;
			size_t cms_len = r[ri].len - 4;
			if (c->kind == BS_CSF_AUTH_CSF) {
				assert_int_equal(ri, (int)nr - 1); /* CSF signature last */
				assert_int_equal(openssl_verify(tmp, cms, cms_len, out, cmd_len, NULL,
								csf_cert), 0);
				/* The oracle can fail: one flipped bit of the signed bytes. */
				uint8_t *bad = malloc(cmd_len);
				memcpy(bad, out, cmd_len);
				bad[cmd_len - 1] ^= 1;
				assert_int_not_equal(openssl_verify(tmp, cms, cms_len, bad, cmd_len,
								    NULL, csf_cert), 0);
				free(bad);
			} else {
				size_t clen;
				uint8_t *content = concat_blocks(bs_fixture(dir), c, &clen);
				assert_int_equal(out[p + 4], c->tgt);
				assert_int_equal(openssl_verify(tmp, cms, cms_len, content, clen, NULL,
								certs[c->tgt]), 0);
				free(content);
			}
			nsig++;
		}
		p += l;
	}
	size_t nd8 = 0;
	for (size_t i = 0; i < nr; i++)
		nd8 += r[i].tag == HAB_TAG_SIG;
	assert_int_equal(nsig, nd8);
	bs_tmpdir_free(tmp);
}

/* signingTime of the last (CSF) signature of a CST output. */
static time_t cst_signing_time(const uint8_t *d, size_t n)
{
	struct rec r[MAX_RECS];
	size_t nr = walk_records(d, n, r);
	const unsigned char *p = d + r[nr - 1].off + 4;
	CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)r[nr - 1].len - 4);
	assert_non_null(ci);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(ci), 0);
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	assert_true(idx >= 0);
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
	assert_int_equal(t->type, V_ASN1_UTCTIME);
	struct tm tm;
	assert_int_equal(ASN1_TIME_to_tm(t->value.utctime, &tm), 1);
	CMS_ContentInfo_free(ci);
	return timegm(&tm);
}

struct vector {
	const char *dir, *csf, *bin;
	bool exact; /* RSA: fixed CMS sizes, whole layout identical */
	const char *unbootable; /* the ROM would refuse it: the refusal, and only
				 * allow_unbootable signs it */
};

static const struct vector vectors[] = {
	{ "hab4-vectors/rsa", "a.csf", "a_csf.bin", true, NULL },
	/* Source index = 2 with a CSFK certificate SRK 0 signed: CST signs it, the ROM
	 * refuses it, so only --allow-unbootable reproduces it. */
	{ "hab4-vectors/rsa", "b.csf", "b_csf.bin", true,
	  "b.csf:18:5: [Install CSFK]: certificate \"crts/CSF1_crt.pem\" is not signed by SRK 2, "
	  "which verifies it; it is signed by SRK 0" },
	/* Source Set = NXP puts the SRK in slot 5; Verification index = 0 is empty. */
	{ "hab4-vectors/rsa", "nxp.csf", "nxp.bin", true,
	  "nxp.csf:22:5: [Install Key]: certificate \"crts/IMG1_crt.pem\": key slot 0, which "
	  "verifies it, is empty (HAB finds no key there); with Source Set = NXP the SRK is in "
	  "slot 5" },
	{ "hab4-vectors/rsa", "u.csf", "u_csf.bin", true, NULL },
	{ "hab4-vectors/rsa/nocak", "n.csf", "n.bin", true, NULL },
	{ "hab4-vectors/ec", "e.csf", "e.bin", false, NULL },
};

static void check_vector(const struct vector *v, bool with_cst_time)
{
	char rel[512];
	size_t clen, olen = 0;
	snprintf(rel, sizeof(rel), "%s/%s", v->dir, v->bin);
	uint8_t *cst = bs_fixture_read(rel, &clen);
	struct bs_csf *csf = parse_vector(v->dir, v->csf, NULL);
	uint8_t *out = NULL;
	struct bs_error err = {0};
	struct bs_hab_sign_report rep;
	time_t t = with_cst_time ? cst_signing_time(cst, clen) : 0;
	int rc;
	if (v->unbootable) {
		out = (uint8_t *)"x";
		rc = sign_in(v->dir, NULL, csf, t, &out, &olen, &rep, &err);
		assert_int_equal(rc, BS_ERR_SEMANTIC);
		assert_null(out);
		assert_string_equal(err.msg, v->unbootable);
		g_allow_unbootable = true;
	}
	rc = sign_in(v->dir, NULL, csf, t, &out, &olen, &rep, &err);
	g_allow_unbootable = false;
	if (rc != 0)
		fail_msg("%s: %s", v->csf, err.msg);
	assert_non_null(out);
	assert_int_equal(rep.cmd_len, bs_get_be16(cst + 1));
	compare_with_cst(out, olen, cst, clen, v->exact);
	if (with_cst_time && v->exact) {
		if (olen != clen || memcmp(out, cst, clen) != 0) {
			struct rec r[MAX_RECS];
			size_t nr = walk_records(cst, clen, r);
			for (size_t i = 0; i < nr; i++)
				for (size_t j = 0; j < r[i].len; j++)
					if (out[r[i].off + j] != cst[r[i].off + j]) {
						fail_msg("%s: record %zu (tag %02x) differs from CST "
							 "at byte %zu of %zu", v->csf, i, r[i].tag, j,
							 r[i].len);
					}
		}
		assert_memory_equal(out, cst, clen);
	} else {
		verify_all_signatures(v->dir, csf, out, olen);
	}
	free(out);
	free(cst);
	bs_csf_free(csf);
}

static void test_csf_sign__vectors_match_cst_layout_and_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < BS_ARRAY_SIZE(vectors); i++)
		check_vector(&vectors[i], false);
}

static void test_csf_sign__rsa_vectors_byte_identical_with_cst_signing_time(void **state)
{
	(void)state;
	for (size_t i = 0; i < BS_ARRAY_SIZE(vectors); i++)
		if (vectors[i].exact)
			check_vector(&vectors[i], true);
}

static void test_csf_sign__fixed_time_is_deterministic_and_reported(void **state)
{
	(void)state;
	struct bs_csf *csf = parse_vector("hab4-vectors/rsa", "a.csf", NULL);
	uint8_t *o1 = NULL, *o2 = NULL;
	size_t l1 = 0, l2 = 0;
	struct bs_hab_sign_report rep;
	struct bs_error err = {0};
	assert_int_equal(sign_in("hab4-vectors/rsa", NULL, csf, 1700000000, &o1, &l1, &rep,
				 &err), 0);
	assert_int_equal(sign_in("hab4-vectors/rsa", NULL, csf, 1700000000, &o2, &l2, NULL,
				 &err), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(o1, o2, l1);
	/* Image key first, CSF key last; ids never carry key material. */
	assert_int_equal(rep.nkeys, 2);
	assert_non_null(strstr(rep.keys[0], "IMG1"));
	assert_non_null(strstr(rep.keys[1], "CSF1"));
	assert_null(strstr(rep.keys[0], "BEGIN"));
	assert_int_equal(rep.cmd_len, 0x50);
	free(o1);
	free(o2);
	bs_csf_free(csf);
}

/* ---- hand-built CSFs (no parser involved) ---- */

struct hand {
	struct bs_csf csf;
	struct bs_csf_cmd cmds[12];
	struct bs_csf_block blocks[BS_CSF_BLOCKS_MAX];
};

/* The equivalent of rsa/a.csf. */
static void hand_a(struct hand *h)
{
	memset(h, 0, sizeof(*h));
	h->csf.filename = "hand.csf";
	h->csf.cmds = h->cmds;
	h->csf.ncmds = 6;
	h->cmds[0] = (struct bs_csf_cmd){ .kind = BS_CSF_HEADER, .line = 1, .col = 1,
		.version = 0x41, .hash_alg = HAB_ALG_SHA256, .cert_format = HAB_PCL_X509 };
	h->cmds[1] = (struct bs_csf_cmd){ .kind = BS_CSF_INSTALL_SRK, .line = 2, .col = 1,
		.hash_alg = HAB_ALG_SHA256, .file = "crts/SRK_table.bin", .file_line = 3,
		.file_col = 12 };
	h->cmds[2] = (struct bs_csf_cmd){ .kind = BS_CSF_INSTALL_CSFK, .line = 4, .col = 1,
		.file = "crts/CSF1_crt.pem", .file_line = 5, .file_col = 12, .tgt = 1 };
	h->cmds[3] = (struct bs_csf_cmd){ .kind = BS_CSF_AUTH_CSF, .line = 6, .col = 1,
		.tgt = 1 };
	h->cmds[4] = (struct bs_csf_cmd){ .kind = BS_CSF_INSTALL_KEY, .line = 7, .col = 1,
		.file = "crts/IMG1_crt.pem", .file_line = 8, .file_col = 12, .tgt = 2 };
	h->blocks[0] = (struct bs_csf_block){ 0x877ff400, 0, 0x1000, "img.bin", 10, 14 };
	h->blocks[1] = (struct bs_csf_block){ 0x87800400, 0x1000, 0x20, "img.bin", 11, 6 };
	h->cmds[5] = (struct bs_csf_cmd){ .kind = BS_CSF_AUTH_DATA, .line = 9, .col = 1,
		.tgt = 2, .blocks = h->blocks, .nblocks = 2 };
}

static int sign_hand_at(struct hand *h, const char *datadir, time_t t, uint8_t **out,
			size_t *len, struct bs_error *err)
{
	*out = (uint8_t *)"sentinel";
	*len = 77;
	return sign_in("hab4-vectors/rsa", datadir, &h->csf, t, out, len, NULL, err);
}

static int sign_hand(struct hand *h, const char *datadir, uint8_t **out, size_t *len,
		     struct bs_error *err)
{
	return sign_hand_at(h, datadir, 1700000000, out, len, err);
}

static void test_csf_sign__hand_built_csf_matches_cst(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	uint8_t *out;
	size_t len, clen;
	struct bs_error err = {0};
	uint8_t *cst = bs_fixture_read("hab4-vectors/rsa/a_csf.bin", &clen);
	assert_int_equal(sign_hand(&h, NULL, &out, &len, &err), 0);
	compare_with_cst(out, len, cst, clen, true);
	free(out);
	/* With CST's signingTime the whole file is CST's. */
	assert_int_equal(sign_hand_at(&h, NULL, cst_signing_time(cst, clen), &out, &len, &err),
			 0);
	assert_int_equal(len, clen);
	assert_memory_equal(out, cst, clen);
	free(out);
	free(cst);
}

/* The equivalent of rsa/nocak/n.csf: fast authentication, the NOCAK certificate blob is
 * present but unreferenced, everything signed by the NOCAK key. */
static void test_csf_sign__hand_built_nocak_matches_cst(void **state)
{
	(void)state;
	struct hand h;
	memset(&h, 0, sizeof(h));
	h.csf.filename = "n.csf";
	h.csf.cmds = h.cmds;
	h.csf.ncmds = 5;
	h.csf.nocak = true;
	h.cmds[0] = (struct bs_csf_cmd){ .kind = BS_CSF_HEADER, .version = 0x41,
		.hash_alg = HAB_ALG_SHA256, .cert_format = HAB_PCL_X509 };
	h.cmds[1] = (struct bs_csf_cmd){ .kind = BS_CSF_INSTALL_SRK, .hash_alg = HAB_ALG_SHA256,
		.file = "crts/tbl.bin" };
	h.cmds[2] = (struct bs_csf_cmd){ .kind = BS_CSF_INSTALL_NOCAK,
		.file = "crts/SRK1_crt.pem", .tgt = 1 };
	h.cmds[3] = (struct bs_csf_cmd){ .kind = BS_CSF_AUTH_CSF, .tgt = 1 };
	h.blocks[0] = (struct bs_csf_block){ 0x877ff400, 0, 0x1000, "img.bin", 17, 14 };
	h.cmds[4] = (struct bs_csf_cmd){ .kind = BS_CSF_AUTH_DATA, .tgt = 0,
		.blocks = h.blocks, .nblocks = 1 };
	size_t clen, len;
	uint8_t *out = NULL;
	struct bs_error err = {0};
	struct bs_hab_sign_report rep;
	uint8_t *cst = bs_fixture_read("hab4-vectors/rsa/nocak/n.bin", &clen);
	int rc = sign_in("hab4-vectors/rsa/nocak", NULL, &h.csf, cst_signing_time(cst, clen),
			 &out, &len, &rep, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	compare_with_cst(out, len, cst, clen, true);
	assert_int_equal(len, clen);
	assert_memory_equal(out, cst, clen);
	assert_int_equal(rep.nkeys, 2);
	assert_non_null(strstr(rep.keys[0], "SRK1"));
	assert_non_null(strstr(rep.keys[1], "SRK1"));
	free(out);
	free(cst);
}

/* The Header `Hash Algorithm` is the digest of every CMS signature. */
static void test_csf_sign__header_hash_drives_every_cms_digest(void **state)
{
	(void)state;
	const uint8_t algs[] = { HAB_ALG_SHA1, HAB_ALG_SHA512 };
	for (size_t a = 0; a < BS_ARRAY_SIZE(algs); a++) {
		struct hand h;
		hand_a(&h);
		h.cmds[0].hash_alg = algs[a];
		h.cmds[1].hash_alg = algs[a];
		uint8_t *out;
		size_t len;
		struct bs_error err = {0};
		assert_int_equal(sign_hand(&h, NULL, &out, &len, &err), 0);
		assert_int_equal(out[9], algs[a]); /* Install SRK alg byte */
		struct rec r[MAX_RECS];
		size_t nr = walk_records(out, len, r);
		size_t nsig = 0;
		for (size_t i = 0; i < nr; i++) {
			if (r[i].tag != HAB_TAG_SIG)
				continue;
			struct bs_cms_info info;
			assert_int_equal(bs_cms_inspect(out + r[i].off + 4, r[i].len - 4, &info,
							&err), 0);
			assert_int_equal(info.md_nid, bs_hab_alg_to_nid(algs[a]));
			nsig++;
		}
		assert_int_equal(nsig, 2);
		verify_all_signatures("hab4-vectors/rsa", &h.csf, out, len);
		free(out);
	}
}

/* Run a failing compile and check the code, the message and that nothing came out. */
static void expect_fail(struct hand *h, const char *datadir, int code, const char *needle)
{
	uint8_t *out;
	size_t len;
	struct bs_error err = {0};
	int rc = sign_hand(h, datadir, &out, &len, &err);
	if (rc != code)
		fail_msg("expected %d, got %d: %s", code, rc, err.msg);
	assert_int_equal(err.code, code);
	assert_null(out);
	assert_int_equal(len, 0);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_csf_sign__block_beyond_file_size(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	h.blocks[1].offset = 0xFFFFFFF0; /* wraps in 32 bits */
	h.blocks[1].length = 0x20;
	expect_fail(&h, NULL, BS_ERR_SEMANTIC, "hand.csf:11:6");
	hand_a(&h);
	h.blocks[0].length = 0x2001; /* img.bin is 0x2000 bytes */
	expect_fail(&h, NULL, BS_ERR_SEMANTIC, "(8192 bytes)");
}

static void test_csf_sign__missing_block_file(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	h.blocks[1].file = "nothere.bin";
	expect_fail(&h, NULL, BS_ERR_NOT_FOUND, "hand.csf:11:6");
}

static void test_csf_sign__missing_certificate(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	h.cmds[4].file = "crts/IMG9_crt.pem";
	expect_fail(&h, NULL, BS_ERR_NOT_FOUND, "hand.csf:8:12");
}

/* A private store: copies of the rsa vector's table, CSF certificate and key, img.bin. */
static char *copy_store(void)
{
	char *tmp = bs_tmpdir();
	char p[4096], q[4096];
	snprintf(p, sizeof(p), "%s/crts", tmp);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/keys", tmp);
	assert_int_equal(mkdir(p, 0700), 0);
	const char *files[] = { "crts/SRK_table.bin", "crts/CSF1_crt.pem", "keys/CSF1_key.pem",
				"crts/IMG1_crt.pem", "keys/IMG1_key.pem", "img.bin" };
	for (size_t i = 0; i < BS_ARRAY_SIZE(files); i++) {
		size_t n;
		snprintf(q, sizeof(q), "hab4-vectors/rsa/%s", files[i]);
		uint8_t *d = bs_fixture_read(q, &n);
		snprintf(p, sizeof(p), "%s/%s", tmp, files[i]);
		bs_write(p, d, n);
		free(d);
	}
	return tmp;
}

static void expect_fail_in(const char *root, struct hand *h, int code, const char *needle)
{
	struct bs_store *store = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_store_open_dir(&store, root, true, &err), 0);
	struct bs_hab_sign_opts o = { .keys = bs_store_key_source(store), .data = { bs_test_dir_open, (void *)root } };
	uint8_t *out = (uint8_t *)"x";
	size_t len = 1;
	int rc = bs_hab_sign(&out, &len, &h->csf, &o, NULL, &err);
	if (rc != code)
		fail_msg("expected %d, got %d: %s", code, rc, err.msg);
	assert_null(out);
	assert_int_equal(len, 0);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	bs_store_free(store);
}

static void test_csf_sign__missing_key(void **state)
{
	(void)state;
	/* A certificate whose key file (keys/NOKEY_key.pem) does not exist. */
	char *tmp = copy_store();
	char p[4096];
	size_t n;
	uint8_t *d = bs_fixture_read("hab4-vectors/rsa/crts/IMG1_crt.pem", &n);
	snprintf(p, sizeof(p), "%s/crts/NOKEY_crt.pem", tmp);
	bs_write(p, d, n);
	free(d);
	struct hand h;
	hand_a(&h);
	h.cmds[4].file = "crts/NOKEY_crt.pem";
	expect_fail_in(tmp, &h, BS_ERR_NOT_FOUND, "hand.csf:8:12");
	bs_tmpdir_free(tmp);
}

static void test_csf_sign__oversized_srk_table(void **state)
{
	(void)state;
	char *tmp = copy_store();
	char p[4096];
	uint8_t big[9000] = { HAB_TAG_CRT, 0x23, 0x28, 0x40 };
	snprintf(p, sizeof(p), "%s/crts/SRK_table.bin", tmp);
	assert_int_equal(unlink(p), 0);
	bs_write(p, big, sizeof(big));
	struct hand h;
	hand_a(&h);
	expect_fail_in(tmp, &h, BS_ERR_LIMIT, "hand.csf:3:12");
	bs_tmpdir_free(tmp);
}

/* The server's shape: one uploaded artifact behind bs_data_single. */
static void test_csf_sign__single_artifact_source(void **state)
{
	(void)state;
	struct bs_csf *csf = parse_vector("hab4-vectors/rsa", "u.csf", NULL);
	struct bs_store *store = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_store_open_dir(&store, bs_fixture("hab4-vectors/rsa"), true, &err), 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s", bs_fixture("hab4-vectors/rsa/u.bin"));
	struct bs_data_single one = { .name = "upload/u.bin", .path = path, .match_basename = 1 };
	struct bs_hab_sign_opts o = { .keys = bs_store_key_source(store), .data = { bs_data_single_open, &one } };
	uint8_t *out = NULL;
	size_t len = 0, clen;
	assert_int_equal(bs_hab_sign(&out, &len, csf, &o, NULL, &err), 0);
	uint8_t *cst = bs_fixture_read("hab4-vectors/rsa/u_csf.bin", &clen);
	compare_with_cst(out, len, cst, clen, true);
	verify_all_signatures("hab4-vectors/rsa", csf, out, len);
	free(out);
	free(cst);
	/* Any other name is refused. */
	one.match_basename = 0;
	out = (uint8_t *)"x";
	assert_int_equal(bs_hab_sign(&out, &len, csf, &o, NULL, &err), BS_ERR_NOT_FOUND);
	assert_null(out);
	bs_store_free(store);
	bs_csf_free(csf);
}

static void test_csf_sign__invalid_srk_table(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	h.cmds[1].file = "crts/CSF1_crt.pem"; /* a PEM file, not a table */
	expect_fail(&h, NULL, BS_ERR_FORMAT, "SRK table invalid");
	hand_a(&h);
	h.cmds[1].file = "img.bin";
	expect_fail(&h, NULL, BS_ERR_FORMAT, "hand.csf:3:12");
}

static void test_csf_sign__auth_data_needs_installed_key(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	h.cmds[5].tgt = 3; /* nothing installed there */
	expect_fail(&h, NULL, BS_ERR_SEMANTIC, "key slot 3");
	hand_a(&h);
	h.cmds[5].tgt = 1; /* the CSFK is not an image key */
	expect_fail(&h, NULL, BS_ERR_SEMANTIC, "key slot 1");
}

static void test_csf_sign__nocak_with_install_key_rejected(void **state)
{
	(void)state;
	/* CST signs n2.csf with the NOCAK key whatever the index says; we refuse it, in the
	 * parser or, failing that, in the compiler. */
	int prc = 0;
	struct bs_csf *csf = parse_vector("hab4-vectors/rsa/nocak", "n2.csf", &prc);
	if (prc == 0) {
		uint8_t *out = (uint8_t *)"x";
		size_t len = 1;
		struct bs_error err = {0};
		assert_int_equal(sign_in("hab4-vectors/rsa/nocak", NULL, csf, 0, &out, &len, NULL,
					 &err), BS_ERR_SEMANTIC);
		assert_null(out);
		bs_csf_free(csf);
	} else {
		assert_int_equal(prc, BS_ERR_SEMANTIC);
		assert_null(csf);
	}
	struct hand h;
	hand_a(&h);
	h.csf.nocak = true;
	h.cmds[2].kind = BS_CSF_INSTALL_NOCAK;
	/* CSF1 is not the SRK's own key: the chain rule names that first. */
	expect_fail(&h, NULL, BS_ERR_SEMANTIC,
		    "hand.csf:5:12: [Install NOCAK]: certificate \"crts/CSF1_crt.pem\": fast "
		    "authentication signs with the selected SRK entry's own key");
	g_allow_unbootable = true;
	expect_fail(&h, NULL, BS_ERR_SEMANTIC, "[Install Key]");
	g_allow_unbootable = false;
}

static void test_csf_sign__encrypted_boot_unsupported(void **state)
{
	(void)state;
	int prc = 0;
	struct bs_csf *csf = parse_vector("hab4-vectors/rsa", "d.csf", &prc);
	assert_int_equal(prc, 0);
	uint8_t *out = (uint8_t *)"x";
	size_t len = 1;
	struct bs_error err = {0};
	assert_int_equal(sign_in("hab4-vectors/rsa", NULL, csf, 0, &out, &len, NULL, &err),
			 BS_ERR_UNSUPPORTED);
	assert_null(out);
	assert_non_null(strstr(err.msg, "Install Secret Key / Decrypt Data are not supported"));
	bs_csf_free(csf);
}

static void test_csf_sign__hsm_mode_unsupported(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	h.cmds[0].mode_hsm = true;
	expect_fail(&h, NULL, BS_ERR_UNSUPPORTED, "HSM");
}

static void test_csf_sign__command_region_bounded(void **state)
{
	(void)state;
	struct hand h;
	hand_a(&h);
	for (size_t i = 0; i < BS_CSF_BLOCKS_MAX; i++)
		h.blocks[i] = (struct bs_csf_block){ 0x80000000u + 16 * (uint32_t)i, 0, 16,
						     "img.bin", 20, 1 };
	h.cmds[5].nblocks = BS_CSF_BLOCKS_MAX;
	h.cmds[6] = h.cmds[5]; /* 2 x (12 + 512) bytes > 768 */
	h.csf.ncmds = 7;
	expect_fail(&h, NULL, BS_ERR_LIMIT, "768");
}

/* A 64 MiB sparse file is hashed by streaming. */
static void test_csf_sign__streams_large_files(void **state)
{
	(void)state;
	char *tmp = bs_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/big.bin", tmp);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	assert_int_equal(pwrite(fd, "tail", 4, (64 << 20) - 4), 4);
	assert_int_equal(pwrite(fd, "head", 4, 0), 4);
	close(fd);

	struct hand h;
	hand_a(&h);
	h.blocks[0] = (struct bs_csf_block){ 0x80000000, 0, 64u << 20, "big.bin", 10, 14 };
	h.cmds[5].nblocks = 1;
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	uint8_t *out;
	size_t len;
	struct bs_error err = {0};
	int rc = sign_hand(&h, tmp, &out, &len, &err);
	getrusage(RUSAGE_SELF, &r1);
	if (rc != 0)
		fail_msg("%s", err.msg);
	long grow_kib = r1.ru_maxrss - r0.ru_maxrss;
	print_message("64 MiB block: peak RSS grew by %ld KiB (before %ld KiB)\n", grow_kib,
		      r0.ru_maxrss);
	assert_true(grow_kib < 48 * 1024);

	struct rec rr[MAX_RECS];
	size_t nr = walk_records(out, len, rr);
	const uint8_t *img = out + rr[nr - 2].off;
	assert_int_equal(img[0], HAB_TAG_SIG);
	assert_int_equal(openssl_verify(tmp, img + 4, rr[nr - 2].len - 4, NULL, 0, path,
					bs_fixture("hab4-vectors/rsa/crts/IMG1_crt.pem")), 0);
	free(out);
	bs_tmpdir_free(tmp);
}

/* ---- data sources ---- */

static void test_csf_sign__data_single_matches_only_the_artifact(void **state)
{
	(void)state;
	const char *img = bs_fixture("hab4-vectors/rsa/img.bin");
	struct bs_data_single s = { .name = "out/u-boot.imx", .path = img, .match_basename = 0 };
	FILE *fp = NULL;
	uint64_t size = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_data_single_open(&s, "out/u-boot.imx", &fp, &size, &err), 0);
	assert_non_null(fp);
	assert_int_equal(size, 0x2000);
	fclose(fp);
	fp = NULL;
	assert_int_equal(bs_data_single_open(&s, "u-boot.imx", &fp, &size, &err),
			 BS_ERR_NOT_FOUND);
	assert_null(fp);
	s.match_basename = 1;
	assert_int_equal(bs_data_single_open(&s, "build/u-boot.imx", &fp, &size, &err), 0);
	fclose(fp);
	fp = NULL;
	assert_int_equal(bs_data_single_open(&s, "other.bin", &fp, &size, &err),
			 BS_ERR_NOT_FOUND);
	assert_null(fp);
}

static void test_csf_sign__data_cwd_resolves_relative_names(void **state)
{
	(void)state;
	char old[4096];
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(bs_fixture("hab4-vectors/rsa")), 0);
	FILE *fp = NULL;
	uint64_t size = 0;
	struct bs_error err = {0};
	int rc1 = bs_data_source_cwd.open(bs_data_source_cwd.ctx, "img.bin", &fp, &size, &err);
	if (fp)
		fclose(fp);
	fp = NULL;
	int rc2 = bs_data_source_cwd.open(bs_data_source_cwd.ctx, "nothere.bin", &fp, &size,
					  &err);
	int rc3 = bs_data_source_cwd.open(bs_data_source_cwd.ctx, "crts", &fp, &size, &err);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, BS_ERR_NOT_FOUND);
	assert_int_equal(rc3, BS_ERR_INVALID);
	assert_null(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first, so the RSS peak of the other tests does not hide its growth */
		cmocka_unit_test(test_csf_sign__streams_large_files),
		cmocka_unit_test(test_csf_sign__vectors_match_cst_layout_and_verify),
		cmocka_unit_test(test_csf_sign__rsa_vectors_byte_identical_with_cst_signing_time),
		cmocka_unit_test(test_csf_sign__fixed_time_is_deterministic_and_reported),
		cmocka_unit_test(test_csf_sign__hand_built_csf_matches_cst),
		cmocka_unit_test(test_csf_sign__hand_built_nocak_matches_cst),
		cmocka_unit_test(test_csf_sign__header_hash_drives_every_cms_digest),
		cmocka_unit_test(test_csf_sign__block_beyond_file_size),
		cmocka_unit_test(test_csf_sign__missing_block_file),
		cmocka_unit_test(test_csf_sign__missing_certificate),
		cmocka_unit_test(test_csf_sign__missing_key),
		cmocka_unit_test(test_csf_sign__oversized_srk_table),
		cmocka_unit_test(test_csf_sign__single_artifact_source),
		cmocka_unit_test(test_csf_sign__invalid_srk_table),
		cmocka_unit_test(test_csf_sign__auth_data_needs_installed_key),
		cmocka_unit_test(test_csf_sign__nocak_with_install_key_rejected),
		cmocka_unit_test(test_csf_sign__encrypted_boot_unsupported),
		cmocka_unit_test(test_csf_sign__hsm_mode_unsupported),
		cmocka_unit_test(test_csf_sign__command_region_bounded),
		cmocka_unit_test(test_csf_sign__data_single_matches_only_the_artifact),
		cmocka_unit_test(test_csf_sign__data_cwd_resolves_relative_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
