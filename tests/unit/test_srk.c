/* Unit tests for src/hab/srk.c: SRK tables and fuse files compared byte for byte with the
 * CST vectors and with Debian's srktool run here on certificates made by the openssl CLI;
 * strict parsing of malformed tables. */
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
#include <unistd.h>

#include "core/util.h"
#include "crypto/x509.h"
#include "formats/hab/hab.h"
#include "formats/hab/srk.h"
#include "testutil.h"

static char *g_dir; /* certificates generated for the whole group */

/* Path of a file in the group's temp dir (rotating static slots). */
static const char *tp(const char *name)
{
	static char slots[8][4096];
	static int next;
	char *p = slots[next++ % 8];
	snprintf(p, 4096, "%s/%s", g_dir, name);
	return p;
}

/* name.key/.pem/.der; keyopt "rsa:2048" or a curve name; ext = openssl.cnf section. */
static void gen_cert(const char *name, const char *keyopt, const char *ext)
{
	char key[4096], pem[4096], der[4096], subj[128], opt[128];
	snprintf(key, sizeof(key), "%s/%s.key", g_dir, name);
	snprintf(pem, sizeof(pem), "%s/%s.pem", g_dir, name);
	snprintf(der, sizeof(der), "%s/%s.der", g_dir, name);
	snprintf(subj, sizeof(subj), "/CN=%s", name);
	if (strncmp(keyopt, "rsa:", 4) == 0) {
		snprintf(opt, sizeof(opt), "rsa_keygen_bits:%s", keyopt + 4);
		const char *a[] = {"openssl", "genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt",
				   opt, "-out", key, NULL};
		bs_test_run_ok(a);
	} else if (strcmp(keyopt, "ed25519") == 0) {
		const char *a[] = {"openssl", "genpkey", "-algorithm", "ED25519", "-out", key, NULL};
		bs_test_run_ok(a);
	} else {
		snprintf(opt, sizeof(opt), "ec_paramgen_curve:%s", keyopt);
		const char *a[] = {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", opt,
				   "-out", key, NULL};
		bs_test_run_ok(a);
	}
	if (strcmp(ext, "v1") == 0) {
		char csr[4096];
		snprintf(csr, sizeof(csr), "%s/%s.csr", g_dir, name);
		const char *a[] = {"openssl", "req", "-new", "-key", key, "-subj", subj, "-config",
				   tp("cnf"), "-out", csr, NULL};
		bs_test_run_ok(a);
		const char *b[] = {"openssl", "x509", "-req", "-in", csr, "-signkey", key, "-days",
				   "30", "-out", pem, NULL};
		bs_test_run_ok(b);
	} else {
		const char *a[] = {"openssl", "req", "-new", "-x509", "-key", key, "-subj", subj,
				   "-days", "30", "-config", tp("cnf"), "-extensions", ext, "-out",
				   pem, NULL};
		bs_test_run_ok(a);
	}
	const char *c[] = {"openssl", "x509", "-in", pem, "-outform", "DER", "-out", der, NULL};
	bs_test_run_ok(c);
}

static int group_setup(void **state)
{
	(void)state;
	g_dir = bs_tmpdir();
	FILE *f = fopen(tp("cnf"), "w");
	if (f == NULL)
		return -1;
	fputs("[req]\ndistinguished_name=dn\n[dn]\n"
	      "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n"
	      "subjectKeyIdentifier=hash\n"
	      "[ee]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n"
	      "[ku]\nkeyUsage=keyCertSign\n"
	      "[cadig]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=digitalSignature\n", f);
	fclose(f);
	gen_cert("r2", "rsa:2048", "ca");
	gen_cert("r4", "rsa:4096", "ca");
	gen_cert("p256", "P-256", "ca");
	gen_cert("p384", "P-384", "ca");
	gen_cert("p521", "P-521", "ca");
	gen_cert("r2n", "rsa:2048", "ee");
	gen_cert("r3n", "rsa:3072", "ee");
	gen_cert("p256n", "P-256", "ee");
	gen_cert("p384n", "P-384", "ee");
	gen_cert("ku", "rsa:2048", "ku");
	gen_cert("cadig", "P-256", "cadig");
	gen_cert("v1", "rsa:2048", "v1");
	gen_cert("k1", "secp256k1", "ca");
	gen_cert("ed", "ed25519", "ca");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bs_tmpdir_free(g_dir);
	return 0;
}

static X509 *load_cert(const char *path)
{
	size_t len;
	uint8_t *data = NULL;
	struct bs_error err = {0};
	if (bs_read_file(&data, &len, path, 1 << 20, &err) != 0)
		fail_msg("%s", err.msg);
	X509 *x = NULL;
	bool pem = strstr((char *)data, "-----BEGIN") != NULL;
	if (bs_x509_from_bytes(&x, data, len, pem, path, &err) != 0)
		fail_msg("cannot load %s: %s", path, err.msg);
	free(data);
	return x;
}

/* Parse "a.pem,%b.der" under dir: certificates and hash-only mask. Returns count. */
static size_t load_spec(X509 **certs, uint32_t *mask, const char *dir, const char *spec)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", spec);
	size_t n = 0;
	*mask = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		assert_true(n < 8);
		if (tok[0] == '%') {
			*mask |= 1u << n;
			tok++;
		}
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, tok);
		certs[n++] = load_cert(path);
	}
	return n;
}

/* Our table and fuse file for spec. */
static void ours(uint8_t **tbl, size_t *tlen, uint8_t **ff, size_t *flen, const char *dir,
		 const char *spec, int md_nid, int format)
{
	X509 *certs[8];
	struct bs_srk_build_opts o = {.md_nid = md_nid};
	size_t n = load_spec(certs, &o.hash_only_mask, dir, spec);
	uint8_t fuse[64];
	size_t fuse_len = 0;
	struct bs_error err = {0};
	int rc = bs_srk_table_build(tbl, tlen, fuse, &fuse_len, certs, n, &o, &err);
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
	if (rc != 0)
		fail_msg("build %s: %s", spec, err.msg);
	assert_int_equal(bs_srk_fuse_file(ff, flen, fuse, fuse_len, format, &err), 0);
}

/* srktool's table, fuse file and stdout for spec (files in g_dir). */
static void theirs(uint8_t **tbl, size_t *tlen, uint8_t **ff, size_t *flen, const char *dir,
		   const char *spec, const char *digest, int format)
{
	char certs[2048] = "", tok[1024];
	const char *s = spec;
	while (*s) {
		size_t k = strcspn(s, ",");
		snprintf(tok, sizeof(tok), "%.*s", (int)k, s);
		size_t used = strlen(certs);
		if (tok[0] == '%')
			snprintf(certs + used, sizeof(certs) - used, "%s%%%s/%s", used ? "," : "",
				 dir, tok + 1);
		else
			snprintf(certs + used, sizeof(certs) - used, "%s%s/%s", used ? "," : "", dir,
				 tok);
		s += k + (s[k] == ',');
	}
	char fmt[8];
	snprintf(fmt, sizeof(fmt), "%d", format);
	const char *t = tp("srk_t.bin"), *f = tp("srk_f.bin");
	unlink(t);
	unlink(f);
	const char *a[] = {"srktool", "-h", "4", "-t", t, "-e", f, "-d", digest, "-f", fmt,
			   "-c", certs, NULL};
	int rc = bs_test_run(a, tp("srk_out.txt"));
	if (rc != 0)
		fail_msg("srktool %s failed (%d)", spec, rc);
	struct bs_error err = {0};
	assert_int_equal(bs_read_file(tbl, tlen, t, 1 << 20, &err), 0);
	assert_int_equal(bs_read_file(ff, flen, f, 1 << 20, &err), 0);
}

static void same_as_srktool(const char *spec, const char *digest, int format)
{
	uint8_t *t1, *f1, *t2, *f2;
	size_t tl1, fl1, tl2, fl2;
	int nid = strcmp(digest, "sha1") == 0 ? NID_sha1 : NID_sha256;
	ours(&t1, &tl1, &f1, &fl1, g_dir, spec, nid, format);
	theirs(&t2, &tl2, &f2, &fl2, g_dir, spec, digest, format);
	if (tl1 != tl2 || memcmp(t1, t2, tl1) != 0)
		fail_msg("table differs from srktool for %s (%zu vs %zu bytes)", spec, tl1, tl2);
	if (fl1 != fl2 || memcmp(f1, f2, fl1) != 0)
		fail_msg("fuse file differs from srktool for %s -d %s -f %d", spec, digest, format);
	/* And the parser accepts the table and recomputes the same fuse digest. */
	struct bs_srk_table *t = NULL;
	struct bs_error err = {0};
	if (bs_srk_table_parse(&t, t1, tl1, &err) != 0)
		fail_msg("parse %s: %s", spec, err.msg);
	uint8_t fuse[64], *ff = NULL;
	size_t fuse_len, fflen;
	assert_int_equal(bs_srk_table_fuse(t, nid, fuse, &fuse_len, &err), 0);
	assert_int_equal(bs_srk_fuse_file(&ff, &fflen, fuse, fuse_len, format, &err), 0);
	assert_int_equal(fflen, fl2);
	assert_memory_equal(ff, f2, fl2);
	bs_srk_table_free(t);
	free(ff);
	free(t1);
	free(f1);
	free(t2);
	free(f2);
}

/* Our output for spec under the vectors dir equals the vector files. */
static void same_as_vector(const char *dir, const char *spec, int format, const char *tbl,
			   const char *fuse)
{
	uint8_t *t1, *f1;
	size_t tl1, fl1, tl2, fl2;
	ours(&t1, &tl1, &f1, &fl1, bs_fixture(dir), spec, NID_sha256, format);
	char rel[512];
	snprintf(rel, sizeof(rel), "%s/%s", dir, tbl);
	uint8_t *t2 = bs_fixture_read(rel, &tl2);
	snprintf(rel, sizeof(rel), "%s/%s", dir, fuse);
	uint8_t *f2 = bs_fixture_read(rel, &fl2);
	assert_int_equal(tl1, tl2);
	assert_memory_equal(t1, t2, tl1);
	assert_int_equal(fl1, fl2);
	assert_memory_equal(f1, f2, fl1);
	free(t1);
	free(f1);
	free(t2);
	free(f2);
}

#define RSA_DIR "hab4-vectors/rsa/crts"

static void test_srk__vector_rsa_four_srks(void **state)
{
	(void)state;
	same_as_vector(RSA_DIR, "SRK1_crt.pem,SRK2_crt.pem,SRK3_crt.pem,SRK4_crt.pem", 1,
		       "SRK_table.bin", "SRK_fuse.bin");
}

static void test_srk__vector_rsa_hash_entries(void **state)
{
	(void)state;
	same_as_vector(RSA_DIR, "%SRK1_crt.pem,SRK2_crt.pem,%SRK3_crt.pem", 0, "tblh.bin",
		       "fuseh.bin");
}

static void test_srk__vector_ec_and_nocak(void **state)
{
	(void)state;
	same_as_vector("hab4-vectors/ec/crts", "SRK1_crt.pem", 1, "tbl.bin", "fuse.bin");
	same_as_vector("hab4-vectors/rsa/nocak/crts", "SRK1_crt.pem,SRK2_crt.pem", 1, "tbl.bin",
		       "fuse.bin");
}

static void test_srk__srktool_each_key_type(void **state)
{
	(void)state;
	const char *one[] = {"r2.pem", "r4.pem", "p256.pem", "p384.pem", "p521.pem", "r2n.pem",
			     "r3n.pem", "p256n.pem", "p384n.pem"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(one); i++)
		same_as_srktool(one[i], "sha256", 1);
}

static void test_srk__srktool_four_mixed_types(void **state)
{
	(void)state;
	same_as_srktool("r2.pem,p256.pem,r4.pem,p521.pem", "sha256", 1);
	same_as_srktool("p384.pem,p521.pem,p256.pem", "sha256", 0);
	same_as_srktool("r2n.pem,p256n.pem,r3n.pem,p384n.pem", "sha256", 1);
}

static void test_srk__srktool_der_and_pem(void **state)
{
	(void)state;
	same_as_srktool("r2.der,p256.pem,r4.der,p521.der", "sha256", 1);
	same_as_srktool("r2n.der", "sha256", 0);
}

static void test_srk__srktool_hash_only_entries(void **state)
{
	(void)state;
	same_as_srktool("%r2.pem,p256.pem,%r4.der,p521.pem", "sha256", 1);
	same_as_srktool("%p256.pem,%p384.pem,%p521.pem,%r2.pem", "sha256", 0);
	same_as_srktool("r2n.pem,%p256n.der", "sha256", 1);
}

static void test_srk__srktool_sha1(void **state)
{
	(void)state;
	same_as_srktool("r2.pem,%r4.pem,p256.der", "sha1", 1);
	same_as_srktool("%p384n.pem,r2n.pem", "sha1", 0);
}

static void test_srk__srktool_ca_flag_rules(void **state)
{
	(void)state;
	/* keyUsage-only, v1 and CA:TRUE without keyCertSign: srktool writes them as non-CA. */
	same_as_srktool("ku.pem,v1.pem,cadig.pem,r2n.pem", "sha256", 1);
	uint8_t *rec = NULL;
	size_t len;
	X509 *x = load_cert(tp("ku.pem"));
	assert_int_equal(bs_srk_record(&rec, &len, x, NULL), 0);
	assert_int_equal(rec[7], 0x00);
	free(rec);
	X509_free(x);
	x = load_cert(tp("r2.der"));
	assert_int_equal(bs_srk_record(&rec, &len, x, NULL), 0);
	assert_int_equal(rec[7], 0x80);
	free(rec);
	X509_free(x);
}

/* srktool prints "SRK HASH[i] = 0x........": our words must match its lines. */
static void test_srk__fuse_words_match_srktool(void **state)
{
	(void)state;
	uint8_t *t1, *f1, *t2, *f2;
	size_t tl1, fl1, tl2, fl2;
	ours(&t1, &tl1, &f1, &fl1, g_dir, "r2.pem,p256.pem", NID_sha256, 1);
	theirs(&t2, &tl2, &f2, &fl2, g_dir, "r2.pem,p256.pem", "sha256", 1);
	FILE *f = fopen(tp("srk_out.txt"), "r");
	assert_non_null(f);
	char line[256];
	size_t seen = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned idx, word;
		if (sscanf(line, "SRK HASH[%u] = 0x%x", &idx, &word) != 2)
			continue;
		assert_true(idx < 8);
		assert_int_equal(bs_srk_fuse_word(f1, idx), word);
		seen++;
	}
	fclose(f);
	assert_int_equal(seen, 8);
	free(t1);
	free(f1);
	free(t2);
	free(f2);
}

static void test_srk__rsa_pss_record(void **state)
{
	(void)state;
	/* srktool 3.3.1 rejects RSA-PSS keys; CST 4.x writes them as algorithm 0x22. HAB4
	 * cannot use them (issue 10): the table builder refuses them, but a record (and a
	 * table someone else wrote) still decodes, so the signer and verifier can name it. */
	const char *a[] = {"openssl", "genpkey", "-quiet", "-algorithm", "RSA-PSS", "-out",
			   tp("pss.key"), NULL};
	bs_test_run_ok(a);
	const char *b[] = {"openssl", "req", "-new", "-x509", "-key", tp("pss.key"), "-subj",
			   "/CN=pss", "-days", "30", "-config", tp("cnf"), "-extensions", "ca",
			   "-out", tp("pss.pem"), NULL};
	bs_test_run_ok(b);
	X509 *x = load_cert(tp("pss.pem"));
	uint8_t *tbl = NULL, fuse[64];
	size_t tlen, flen;
	struct bs_error err = {0};
	assert_int_equal(bs_srk_table_build(&tbl, &tlen, fuse, &flen, &x, 1, NULL, &err),
			 BS_ERR_SEMANTIC);
	assert_null(tbl);
	assert_string_equal(err.msg, "certificate 1: " BS_HAB_PSS_REASON);
	uint8_t *rec = NULL;
	size_t rlen = 0;
	assert_int_equal(bs_srk_record(&rec, &rlen, x, NULL), 0);
	assert_int_equal(rlen, 271);
	tlen = 4 + rlen;
	tbl = malloc(tlen);
	assert_non_null(tbl);
	tbl[0] = HAB_TAG_CRT;
	tbl[1] = (uint8_t)(tlen >> 8);
	tbl[2] = (uint8_t)tlen;
	tbl[3] = 0x40;
	memcpy(tbl + 4, rec, rlen);
	free(rec);
	(void)fuse;
	(void)flen;
	assert_int_equal(tbl[4 + 3], HAB_ALG_RSA_PSS);
	struct bs_srk_table *t = NULL;
	assert_int_equal(bs_srk_table_parse(&t, tbl, tlen, NULL), 0);
	assert_int_equal(t->e[0].sig_alg, HAB_ALG_RSA_PSS);
	assert_true(t->e[0].ca);
	assert_int_equal(EVP_PKEY_get_base_id(t->e[0].pub), EVP_PKEY_RSA_PSS);
	assert_int_equal(EVP_PKEY_eq(t->e[0].pub, X509_get0_pubkey(x)), 1);
	bs_srk_table_free(t);
	free(tbl);
	X509_free(x);
}

static void build_fails(const char *spec, int md_nid, int want, const char *want_msg)
{
	X509 *certs[8];
	struct bs_srk_build_opts o = {.md_nid = md_nid};
	size_t n = load_spec(certs, &o.hash_only_mask, g_dir, spec);
	uint8_t *tbl = (uint8_t *)"x", fuse[64];
	size_t tlen = 1, flen = 1;
	struct bs_error err = {0};
	assert_int_equal(bs_srk_table_build(&tbl, &tlen, fuse, &flen, certs, n, &o, &err), want);
	assert_int_equal(err.code, want);
	assert_null(tbl);
	assert_int_equal(tlen, 0);
	assert_int_equal(flen, 0);
	if (want_msg != NULL && strstr(err.msg, want_msg) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, want_msg);
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
}

static void test_srk__build_errors(void **state)
{
	(void)state;
	build_fails("r2.pem,r4.pem,r2n.pem", 0, BS_ERR_SEMANTIC, "certificate 3 (/CN=r2n)");
	build_fails("r2n.pem,p256.pem,r3n.pem", 0, BS_ERR_SEMANTIC, "certificate 2 (/CN=p256)");
	build_fails("r2.pem,r4.pem,p256.pem,p384.pem,p521.pem", 0, BS_ERR_LIMIT, "at most 4");
	build_fails("", 0, BS_ERR_INVALID, NULL);
	build_fails("r2.pem", NID_sha512, BS_ERR_UNSUPPORTED, "sha256 or sha1");
	build_fails("r2.pem,k1.pem", 0, BS_ERR_UNSUPPORTED, "certificate 2: EC curve secp256k1");
	build_fails("ed.pem", 0, BS_ERR_UNSUPPORTED, "ED25519");
	uint8_t *rec = (uint8_t *)"x";
	size_t len = 1;
	assert_int_equal(bs_srk_record(&rec, &len, NULL, NULL), BS_ERR_INVALID);
	assert_null(rec);
}

/* ---- parser ---- */

static void test_srk__parse_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *tbl, *fuse, *certs[4];
		int fmt;
		bool ca;
		const char *tags;
	} v[] = {
		{RSA_DIR "/SRK_table.bin", RSA_DIR "/SRK_fuse.bin",
		 {"SRK1_crt.pem", "SRK2_crt.pem", "SRK3_crt.pem", "SRK4_crt.pem"}, 1, true, "kkkk"},
		{RSA_DIR "/tblh.bin", RSA_DIR "/fuseh.bin",
		 {"SRK1_crt.pem", "SRK2_crt.pem", "SRK3_crt.pem"}, 0, true, "hkh"},
		{"hab4-vectors/ec/crts/tbl.bin", "hab4-vectors/ec/crts/fuse.bin",
		 {"../../ec/crts/SRK1_crt.pem"}, 1, true, "k"},
		{"hab4-vectors/rsa/nocak/crts/tbl.bin", "hab4-vectors/rsa/nocak/crts/fuse.bin",
		 {"../nocak/crts/SRK1_crt.pem", "../nocak/crts/SRK2_crt.pem"}, 1, false, "kk"},
	};
	for (size_t i = 0; i < BS_ARRAY_SIZE(v); i++) {
		size_t tl, fl;
		uint8_t *tbl = bs_fixture_read(v[i].tbl, &tl);
		uint8_t *want = bs_fixture_read(v[i].fuse, &fl);
		struct bs_srk_table *t = NULL;
		struct bs_error err = {0};
		if (bs_srk_table_parse(&t, tbl, tl, &err) != 0)
			fail_msg("%s: %s", v[i].tbl, err.msg);
		assert_int_equal(t->n, strlen(v[i].tags));
		for (size_t k = 0; k < t->n; k++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", bs_fixture(RSA_DIR), v[i].certs[k]);
			X509 *x = load_cert(path);
			uint8_t *rec = NULL;
			size_t rl;
			assert_int_equal(bs_srk_record(&rec, &rl, x, NULL), 0);
			if (v[i].tags[k] == 'k') {
				assert_int_equal(t->e[k].tag, HAB_TAG_KEY_RSA);
				assert_int_equal(t->e[k].ca, v[i].ca);
				assert_int_equal(EVP_PKEY_eq(t->e[k].pub, X509_get0_pubkey(x)), 1);
				assert_int_equal(t->e[k].rec_len, rl);
				assert_memory_equal(t->e[k].rec, rec, rl);
			} else {
				uint8_t h[32];
				assert_int_equal(t->e[k].tag, HAB_TAG_KEY_HASH);
				assert_null(t->e[k].pub);
				assert_int_equal(t->e[k].hash_alg, HAB_ALG_SHA256);
				assert_int_equal(t->e[k].digest_len, 32);
				assert_int_equal(EVP_Digest(rec, rl, h, NULL, EVP_sha256(), NULL), 1);
				assert_memory_equal(t->e[k].digest, h, 32);
			}
			free(rec);
			X509_free(x);
		}
		uint8_t fuse[64], *ff = NULL;
		size_t flen, fflen;
		assert_int_equal(bs_srk_table_fuse(t, NID_sha256, fuse, &flen, &err), 0);
		assert_int_equal(bs_srk_fuse_file(&ff, &fflen, fuse, flen, v[i].fmt, &err), 0);
		assert_int_equal(fflen, fl);
		assert_memory_equal(ff, want, fl);
		/* The hash entries are sha256: a sha1 fuse over them is refused. */
		if (strchr(v[i].tags, 'h') != NULL)
			assert_int_equal(bs_srk_table_fuse(t, NID_sha1, fuse, &flen, &err),
					 BS_ERR_FORMAT);
		bs_srk_table_free(t);
		free(ff);
		free(tbl);
		free(want);
	}
}

/* Expect parse to fail with code want on the len bytes of d. */
static void parse_fails(const uint8_t *d, size_t len, int want, const char *what)
{
	struct bs_srk_table *t = (struct bs_srk_table *)&t;
	struct bs_error err = {0};
	int rc = bs_srk_table_parse(&t, d, len, &err);
	if (rc != want)
		fail_msg("%s: got %d (%s), want %d", what, rc, err.msg, want);
	assert_int_equal(err.code, want);
	assert_null(t);
}

static void set_len(uint8_t *d, size_t len)
{
	d[1] = (uint8_t)(len >> 8);
	d[2] = (uint8_t)len;
}

static void test_srk__parse_malformed(void **state)
{
	(void)state;
	size_t el, rl, hl;
	uint8_t *ec = bs_fixture_read("hab4-vectors/ec/crts/tbl.bin", &el);     /* 4 + 76 */
	uint8_t *rsa = bs_fixture_read("hab4-vectors/rsa/nocak/crts/tbl.bin", &rl); /* 4+2*271 */
	uint8_t *h = bs_fixture_read(RSA_DIR "/tblh.bin", &hl);                  /* EE E1 EE */
	uint8_t d[2048];

	parse_fails(ec, 3, BS_ERR_FORMAT, "3 bytes");
	parse_fails(NULL, 0, BS_ERR_FORMAT, "no data");
	memcpy(d, ec, el);
	d[0] = 0xD4;
	parse_fails(d, el, BS_ERR_FORMAT, "tag");
	parse_fails(ec, el - 1, BS_ERR_FORMAT, "header length longer than data");
	memcpy(d, ec, el);
	d[el] = 0;
	parse_fails(d, el + 1, BS_ERR_FORMAT, "trailing byte");
	memcpy(d, ec, el);
	d[3] = 0x30;
	parse_fails(d, el, BS_ERR_FORMAT, "version");
	memcpy(d, ec, 4);
	set_len(d, 4);
	parse_fails(d, 4, BS_ERR_FORMAT, "no records");
	/* five hash records */
	memcpy(d, ec, 4);
	for (size_t i = 0; i < 5; i++)
		memcpy(d + 4 + 36 * i, h + 4, 36);
	set_len(d, 4 + 5 * 36);
	parse_fails(d, 4 + 5 * 36, BS_ERR_LIMIT, "five records");
	set_len(d, 4 + 4 * 36);
	struct bs_srk_table *t = NULL;
	assert_int_equal(bs_srk_table_parse(&t, d, 4 + 4 * 36, NULL), 0);
	assert_int_equal(t->n, 4);
	bs_srk_table_free(t);
	/* a record header cut short, record lengths too small / too large */
	memcpy(d, ec, el);
	memset(d + el, 0xEE, 3);
	set_len(d, el + 3);
	parse_fails(d, el + 3, BS_ERR_FORMAT, "3-byte record header");
	memcpy(d, ec, el);
	d[5] = 0;
	d[6] = 3;
	parse_fails(d, el, BS_ERR_FORMAT, "record length 3");
	memcpy(d, ec, el);
	d[6] = 0x4D;
	parse_fails(d, el, BS_ERR_FORMAT, "record longer than table");
	memcpy(d, ec, el);
	d[4] = 0xE2;
	parse_fails(d, el, BS_ERR_FORMAT, "record tag");
	/* key records */
	memcpy(d, ec, 4);
	memcpy(d + 4, ec + 4, 11);
	d[6] = 11;
	set_len(d, 15);
	parse_fails(d, 15, BS_ERR_FORMAT, "11-byte key record");
	memcpy(d, ec, el);
	d[4 + 5] = 1;
	parse_fails(d, el, BS_ERR_FORMAT, "reserved byte");
	memcpy(d, ec, el);
	d[4 + 7] = 0x81;
	parse_fails(d, el, BS_ERR_FORMAT, "flags");
	memcpy(d, ec, el);
	d[4 + 3] = 0x23;
	parse_fails(d, el, BS_ERR_FORMAT, "signature algorithm");
	memcpy(d, ec, el);
	d[4 + 8] = 0x4C;
	parse_fails(d, el, BS_ERR_FORMAT, "curve code");
	memcpy(d, ec, el);
	d[4 + 9] = 1;
	parse_fails(d, el, BS_ERR_FORMAT, "curve byte 9");
	memcpy(d, ec, el);
	d[4 + 11] = 0x80; /* 384 bits on P-256 */
	parse_fails(d, el, BS_ERR_FORMAT, "key bits");
	memcpy(d, ec, el);
	d[4 + 8] = 0x4D; /* P-384 in a P-256-sized record */
	d[4 + 10] = 0x01;
	d[4 + 11] = 0x80;
	parse_fails(d, el, BS_ERR_FORMAT, "record size for curve");
	memcpy(d, ec, el);
	d[el - 1] ^= 1; /* Y no longer on the curve */
	parse_fails(d, el, BS_ERR_FORMAT, "point not on curve");
	memcpy(d, rsa, rl);
	d[4 + 9] = 0xFF; /* modulus 255 bytes: no longer fills the record */
	parse_fails(d, rl, BS_ERR_FORMAT, "RSA lengths");
	memcpy(d, rsa, rl);
	d[4 + 8] = 0;
	d[4 + 9] = 0;
	d[4 + 11] = 0;
	parse_fails(d, rl, BS_ERR_FORMAT, "RSA zero lengths");
	/* hash records */
	memcpy(d, h, hl);
	d[4 + 3] = 0x12;
	parse_fails(d, hl, BS_ERR_FORMAT, "hash algorithm");
	memcpy(d, h, hl);
	d[4 + 3] = HAB_ALG_SHA1; /* 32-byte digest labelled sha1 */
	parse_fails(d, hl, BS_ERR_FORMAT, "digest length");
	free(ec);
	free(rsa);
	free(h);
}

static void test_srk__fuse_file_formats(void **state)
{
	(void)state;
	uint8_t fuse[32], *out = (uint8_t *)"x";
	size_t len = 1;
	for (size_t i = 0; i < 32; i++)
		fuse[i] = (uint8_t)(0xA0 + i);
	struct bs_error err = {0};
	assert_int_equal(bs_srk_fuse_file(&out, &len, fuse, 32, 2, &err), BS_ERR_INVALID);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(bs_srk_fuse_file(&out, &len, fuse, 65, 1, &err), BS_ERR_INVALID);
	assert_null(out);
	assert_int_equal(bs_srk_fuse_file(&out, &len, fuse, 32, 0, &err), 0);
	assert_int_equal(len, 128);
	for (size_t i = 0; i < 32; i++) {
		assert_int_equal(out[4 * i], 0);
		assert_int_equal(out[4 * i + 2], 0);
		assert_int_equal(out[4 * i + 3], fuse[i]);
	}
	free(out);
	assert_int_equal(bs_srk_fuse_word(fuse, 0), 0xA3A2A1A0u);
	assert_int_equal(bs_srk_fuse_word(fuse, 7), 0xBFBEBDBCu);
	struct bs_srk_table *t = NULL;
	assert_int_equal(bs_srk_table_fuse(t, NID_sha256, fuse, &len, &err), BS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srk__vector_rsa_four_srks),
		cmocka_unit_test(test_srk__vector_rsa_hash_entries),
		cmocka_unit_test(test_srk__vector_ec_and_nocak),
		cmocka_unit_test(test_srk__srktool_each_key_type),
		cmocka_unit_test(test_srk__srktool_four_mixed_types),
		cmocka_unit_test(test_srk__srktool_der_and_pem),
		cmocka_unit_test(test_srk__srktool_hash_only_entries),
		cmocka_unit_test(test_srk__srktool_sha1),
		cmocka_unit_test(test_srk__srktool_ca_flag_rules),
		cmocka_unit_test(test_srk__fuse_words_match_srktool),
		cmocka_unit_test(test_srk__rsa_pss_record),
		cmocka_unit_test(test_srk__build_errors),
		cmocka_unit_test(test_srk__parse_vectors),
		cmocka_unit_test(test_srk__parse_malformed),
		cmocka_unit_test(test_srk__fuse_file_formats),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
