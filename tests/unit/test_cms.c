/* Unit tests for src/crypto/cms.c: CST byte identity, independent verification with the
 * openssl CLI, and bs_cms_verify_digest on CST's own signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "crypto/cms.h"
#include "crypto/key.h"
#include "keys/store.h"
#include "testutil.h"

#define RSA_DIR "hab4-vectors/rsa"
#define EC_DIR "hab4-vectors/ec"

static void sha(int md_nid, const uint8_t *d, size_t n, uint8_t *out, size_t *olen)
{
	unsigned l = 0;
	assert_int_equal(EVP_Digest(d, n, out, &l, EVP_get_digestbynid(md_nid), NULL), 1);
	*olen = l;
}

static void load_vector_key(const char *dir, const char *cert_rel, struct bs_key **key,
			    X509 **cert)
{
	struct bs_store *s = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_store_open_dir(&s, bs_fixture(dir), true, &err), 0);
	assert_int_equal(bs_store_load_cert(s, cert_rel, cert, &err), 0);
	int rc = bs_store_load_key(s, cert_rel, *cert, key, &err);
	if (rc != 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	bs_store_free(s);
}

/* Signing the same bytes at the same time with the same RSA key must give CST's bytes. */
static void check_identical(const char *cert_rel, const char *sig_rel, const char *data_rel)
{
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	load_vector_key(RSA_DIR, cert_rel, &key, &cert);
	size_t vlen, dlen;
	uint8_t *vec = bs_fixture_read(sig_rel, &vlen);
	uint8_t *data = bs_fixture_read(data_rel, &dlen);
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dgl;
	sha(NID_sha256, data, dlen, dg, &dgl);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256,
				     .signing_time = bs_cms_signing_time(vec, vlen)};
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_cms_sign_digest(&out, &out_len, key, cert, dg, dgl, &o, &err), 0);
	assert_int_equal(out_len, vlen);
	assert_memory_equal(out, vec, vlen);
	free(out);
	free(vec);
	free(data);
	X509_free(cert);
	bs_key_free(key);
}

static void test_cms__rsa_csf_signature_byte_identical_to_cst(void **state)
{
	(void)state;
	check_identical("crts/CSF1_crt.pem", RSA_DIR "/csfsig.der", RSA_DIR "/csfcmds.bin");
}

static void test_cms__rsa_img_signature_byte_identical_to_cst(void **state)
{
	(void)state;
	/* imgsig.der was made by IMG1 in CST. */
	check_identical("crts/IMG1_crt.pem", RSA_DIR "/imgsig.der", RSA_DIR "/imgdata.bin");
}

/* EC: everything but the (randomised) signature must match CST. */
static void test_cms__ec_structure_matches_cst(void **state)
{
	(void)state;
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	load_vector_key(EC_DIR, "crts/CSF1_crt.pem", &key, &cert);
	size_t vlen, dlen;
	uint8_t *vec = bs_fixture_read(EC_DIR "/cs.der", &vlen);
	uint8_t *data = bs_fixture_read(EC_DIR "/cmds.bin", &dlen);
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dgl;
	sha(NID_sha256, data, dlen, dg, &dgl);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256,
				     .signing_time = bs_cms_signing_time(vec, vlen)};
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_cms_sign_digest(&out, &out_len, key, cert, dg, dgl, &o, &err), 0);
	/* The ECDSA-Sig-Value is the last TLV (OCTET STRING at the end); its length varies
	 * (70..72 bytes for P-256), so compare the bytes before the signature OCTET STRING
	 * modulo the enclosing lengths: locate the sigalg (ecdsa-with-SHA256 OID). */
	static const uint8_t ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
					       0xce, 0x3d, 0x04, 0x03, 0x02};
	const uint8_t *va = memmem(vec, vlen, ecdsa_sha256, sizeof(ecdsa_sha256));
	const uint8_t *oa = memmem(out, out_len, ecdsa_sha256, sizeof(ecdsa_sha256));
	assert_non_null(va);
	assert_non_null(oa);
	size_t vo = (size_t)(va - vec), oo = (size_t)(oa - out);
	/* Everything from the SignerInfo version to the end of the sigalg is identical. */
	assert_int_equal(vo, oo);
	assert_memory_equal(out + 60, vec + 60, vo + sizeof(ecdsa_sha256) - 60);
	/* ...and so is the SignedData before the SignerInfos (version, algorithms, eContent),
	 * and the ContentInfo type. */
	assert_memory_equal(out + 4, vec + 4, 11);
	assert_memory_equal(out + 23, vec + 23, 54 - 23);
	free(out);
	free(vec);
	free(data);
	X509_free(cert);
	bs_key_free(key);
}


/* ---- generated keys, self-signed certificates, openssl CLI as the oracle ---- */

static EVP_PKEY *gen_key(const char *kind)
{
	EVP_PKEY *k = NULL;
	if (strncmp(kind, "rsa", 3) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(kind + 3));
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
	assert_non_null(k);
	return k;
}

static X509 *self_signed(EVP_PKEY *k, long serial)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"bs test", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static void write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

/* openssl cms -verify over (sig, data) with cert; returns the exit status. */
static int openssl_verify(const char *dir, const uint8_t *sig, size_t slen,
			  const uint8_t *data, size_t dlen, X509 *cert)
{
	char sp[4096], dp[4096], cp[4096], op[4096];
	snprintf(sp, sizeof(sp), "%s/sig.der", dir);
	snprintf(dp, sizeof(dp), "%s/data.bin", dir);
	snprintf(cp, sizeof(cp), "%s/cert.pem", dir);
	snprintf(op, sizeof(op), "%s/out.bin", dir);
	bs_write(sp, sig, slen);
	bs_write(dp, data, dlen);
	write_cert(cp, cert);
	const char *argv[] = {"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sp,
			      "-content", dp, "-noverify", "-certfile", cp, "-out", op, NULL};
	return bs_test_run(argv, op);
}

struct combo {
	const char *kind;
	int md_nid;
	enum bs_sig_scheme scheme;
	bool no_attrs;
	bool include_cert;
};

static void sign_and_check(const struct combo *c, EVP_PKEY *k, const char *dir)
{
	X509 *cert = self_signed(k, 0x1234);
	EVP_PKEY_up_ref(k);
	struct bs_key *key = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_key_from_pkey(&key, k, c->kind, &err), 0);
	uint8_t data[3000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dgl;
	sha(c->md_nid, data, sizeof(data), dg, &dgl);
	struct bs_cms_sign_opts o = {.md_nid = c->md_nid, .scheme = c->scheme,
				     .no_attrs = c->no_attrs, .include_cert = c->include_cert};
	uint8_t *sig = NULL;
	size_t slen = 0;
	int rc = bs_cms_sign_digest(&sig, &slen, key, cert, dg, dgl, &o, &err);
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", c->kind, err.msg);
	assert_int_equal(rc, 0);
	if (openssl_verify(dir, sig, slen, data, sizeof(data), cert) != 0) {
		fprintf(stderr, "openssl cms -verify rejected %s/%s scheme %d attrs %d\n", c->kind,
			OBJ_nid2sn(c->md_nid), c->scheme, !c->no_attrs);
		fail();
	}
	/* our own verifier agrees */
	struct bs_cms_info info;
	rc = bs_cms_verify_digest(sig, slen, bs_key_public(key), cert, c->md_nid, dg, dgl, &info,
				  &err);
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", c->kind, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(info.md_nid, c->md_nid);
	assert_int_equal(info.has_signed_attrs, !c->no_attrs);
	assert_int_equal(info.n_certs, c->include_cert ? 1 : 0);
	assert_string_equal(info.serial, "1234");
	/* ...and rejects other content */
	data[100] ^= 1;
	assert_int_not_equal(openssl_verify(dir, sig, slen, data, sizeof(data), cert), 0);
	sha(c->md_nid, data, sizeof(data), dg, &dgl);
	assert_int_equal(bs_cms_verify_digest(sig, slen, bs_key_public(key), cert, c->md_nid,
					      dg, dgl, NULL, &err), BS_ERR_VERIFY);
	free(sig);
	X509_free(cert);
	bs_key_free(key);
}

static void run_combos(const char *kind, const struct combo *cs, size_t n)
{
	char *dir = bs_tmpdir();
	EVP_PKEY *k = gen_key(kind);
	for (size_t i = 0; i < n; i++)
		sign_and_check(&cs[i], k, dir);
	EVP_PKEY_free(k);
	bs_tmpdir_free(dir);
}

static void test_cms__rsa2048_verifies_with_openssl(void **state)
{
	(void)state;
	const struct combo cs[] = {
		{"rsa2048", NID_sha256, BS_SIG_DEFAULT, false, false},
		{"rsa2048", NID_sha1, BS_SIG_DEFAULT, false, false},
		{"rsa2048", NID_sha512, BS_SIG_DEFAULT, false, false},
		{"rsa2048", NID_sha256, BS_SIG_DEFAULT, true, true},
		{"rsa2048", NID_sha256, BS_SIG_RSA_PSS, false, false},
		{"rsa2048", NID_sha512, BS_SIG_RSA_PSS, false, true},
		{"rsa2048", NID_sha1, BS_SIG_RSA_PSS, false, false},
		{"rsa2048", NID_sha256, BS_SIG_RSA_PSS, true, false},
	};
	run_combos("rsa2048", cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__rsa4096_verifies_with_openssl(void **state)
{
	(void)state;
	const struct combo cs[] = {
		{"rsa4096", NID_sha256, BS_SIG_DEFAULT, false, false},
		{"rsa4096", NID_sha512, BS_SIG_DEFAULT, false, true},
		{"rsa4096", NID_sha1, BS_SIG_DEFAULT, true, false},
	};
	run_combos("rsa4096", cs, BS_ARRAY_SIZE(cs));
}

static void test_cms__ec_verifies_with_openssl(void **state)
{
	(void)state;
	const char *curves[] = {"P-256", "P-384", "P-521"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(curves); i++) {
		const struct combo cs[] = {
			{curves[i], NID_sha256, BS_SIG_DEFAULT, false, false},
			{curves[i], NID_sha1, BS_SIG_DEFAULT, false, false},
			{curves[i], NID_sha512, BS_SIG_DEFAULT, false, false},
			{curves[i], NID_sha384, BS_SIG_DEFAULT, true, true},
		};
		run_combos(curves[i], cs, BS_ARRAY_SIZE(cs));
	}
}

static void test_cms__pss_on_ec_key_is_rejected(void **state)
{
	(void)state;
	EVP_PKEY *k = gen_key("P-256");
	X509 *cert = self_signed(k, 1);
	struct bs_key *key = NULL;
	assert_int_equal(bs_key_from_pkey(&key, k, "ec", NULL), 0);
	uint8_t dg[32] = {0};
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256, .scheme = BS_SIG_RSA_PSS};
	uint8_t *sig = (uint8_t *)"x";
	size_t slen = 5;
	struct bs_error err = {0};
	assert_int_equal(bs_cms_sign_digest(&sig, &slen, key, cert, dg, 32, &o, &err),
			 BS_ERR_KEY);
	assert_null(sig);
	assert_int_equal(slen, 0);
	/* wrong digest length */
	o.scheme = BS_SIG_DEFAULT;
	assert_int_equal(bs_cms_sign_digest(&sig, &slen, key, cert, dg, 20, &o, &err),
			 BS_ERR_INVALID);
	assert_null(sig);
	X509_free(cert);
	bs_key_free(key);
}


/* ---- bs_cms_verify_digest on CST's own signatures ---- */

struct vec {
	uint8_t *sig;
	size_t slen;
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dgl;
	X509 *cert;
};

static void load_vec(struct vec *v, const char *dir, const char *sig_rel, const char *data_rel,
		     const char *cert_rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, sig_rel);
	v->sig = bs_fixture_read(p, &v->slen);
	size_t dlen;
	snprintf(p, sizeof(p), "%s/%s", dir, data_rel);
	uint8_t *data = bs_fixture_read(p, &dlen);
	sha(NID_sha256, data, dlen, v->dg, &v->dgl);
	free(data);
	struct bs_store *s = NULL;
	assert_int_equal(bs_store_open_dir(&s, bs_fixture(dir), true, NULL), 0);
	assert_int_equal(bs_store_load_cert(s, cert_rel, &v->cert, NULL), 0);
	bs_store_free(s);
}

static void free_vec(struct vec *v)
{
	free(v->sig);
	X509_free(v->cert);
}

static int verify_vec(const struct vec *v, struct bs_error *err)
{
	return bs_cms_verify_digest(v->sig, v->slen, NULL, v->cert, NID_sha256, v->dg, v->dgl,
				    NULL, err);
}

static void test_cms__verify_accepts_cst_vectors(void **state)
{
	(void)state;
	struct vec v;
	struct bs_error err = {0};
	struct bs_cms_info info;
	load_vec(&v, RSA_DIR, "csfsig.der", "csfcmds.bin", "crts/CSF1_crt.pem");
	assert_int_equal(bs_cms_verify_digest(v.sig, v.slen, X509_get0_pubkey(v.cert), v.cert,
					      NID_sha256, v.dg, v.dgl, &info, &err), 0);
	assert_int_equal(info.md_nid, NID_sha256);
	assert_true(info.has_signed_attrs);
	assert_true(info.has_signing_time);
	assert_int_equal(info.signing_time, bs_cms_signing_time(v.sig, v.slen));
	assert_string_equal(info.issuer, "CN = SRK1");
	assert_string_equal(info.serial, "C8");
	assert_int_equal(info.n_signers, 1);
	assert_int_equal(info.n_certs, 0);
	/* public key only, no certificate (fast authentication SRK case) */
	assert_int_equal(bs_cms_verify_digest(v.sig, v.slen, X509_get0_pubkey(v.cert), NULL,
					      0, v.dg, v.dgl, NULL, &err), 0);
	free_vec(&v);
	load_vec(&v, RSA_DIR, "imgsig.der", "imgdata.bin", "crts/IMG1_crt.pem");
	assert_int_equal(verify_vec(&v, &err), 0);
	free_vec(&v);
	load_vec(&v, EC_DIR, "cs.der", "cmds.bin", "crts/CSF1_crt.pem");
	assert_int_equal(verify_vec(&v, &err), 0);
	assert_int_equal(bs_cms_inspect(v.sig, v.slen, &info, &err), 0);
	assert_string_equal(info.issuer, "CN = ESRK1");
	free_vec(&v);
}

static void test_cms__verify_rejects_tampering(void **state)
{
	(void)state;
	struct vec v;
	struct bs_error err = {0};
	load_vec(&v, RSA_DIR, "csfsig.der", "csfcmds.bin", "crts/CSF1_crt.pem");
	/* content */
	v.dg[0] ^= 1;
	assert_int_equal(verify_vec(&v, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "messageDigest"));
	v.dg[0] ^= 1;
	/* signature: last byte of the RSA signature */
	v.sig[v.slen - 1] ^= 1;
	assert_int_equal(verify_vec(&v, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "signature"));
	v.sig[v.slen - 1] ^= 1;
	/* signed attribute: the minutes of signingTime (UTCTime TLV at 144) */
	assert_int_equal(v.sig[144], 0x17);
	v.sig[154] ^= 1;
	assert_int_equal(verify_vec(&v, &err), BS_ERR_VERIFY);
	v.sig[154] ^= 1;
	/* messageDigest attribute value (offset 176 = first digest byte) */
	v.sig[176] ^= 1;
	assert_int_equal(verify_vec(&v, &err), BS_ERR_VERIFY);
	v.sig[176] ^= 1;
	/* contentType attribute: id-data -> a different pkcs7 type (last OID byte) */
	assert_int_equal(v.sig[128], 0x01);
	v.sig[128] = 0x03;
	assert_int_equal(verify_vec(&v, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "contentType"));
	v.sig[128] = 0x01;
	/* expected digest algorithm */
	assert_int_equal(bs_cms_verify_digest(v.sig, v.slen, NULL, v.cert, NID_sha512, v.dg,
					      v.dgl, NULL, &err), BS_ERR_VERIFY);
	/* other signer certificate */
	X509 *other = NULL;
	struct bs_store *s = NULL;
	assert_int_equal(bs_store_open_dir(&s, bs_fixture(RSA_DIR), true, NULL), 0);
	/* IMG1 has the same issuer and serial as CSF1 in these vectors: use SRK2. */
	assert_int_equal(bs_store_load_cert(s, "crts/SRK2_crt.pem", &other, NULL), 0);
	bs_store_free(s);
	assert_int_equal(bs_cms_verify_digest(v.sig, v.slen, X509_get0_pubkey(v.cert), other,
					      NID_sha256, v.dg, v.dgl, NULL, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "signer id"));
	/* other key */
	assert_int_equal(bs_cms_verify_digest(v.sig, v.slen, X509_get0_pubkey(other), NULL,
					      NID_sha256, v.dg, v.dgl, NULL, &err), BS_ERR_VERIFY);
	X509_free(other);
	/* structure: truncated, trailing garbage, not CMS */
	assert_int_equal(bs_cms_verify_digest(v.sig, v.slen - 1, NULL, v.cert, NID_sha256, v.dg,
					      v.dgl, NULL, &err), BS_ERR_FORMAT);
	uint8_t *big = malloc(v.slen + 1);
	memcpy(big, v.sig, v.slen);
	big[v.slen] = 0;
	assert_int_equal(bs_cms_verify_digest(big, v.slen + 1, NULL, v.cert, NID_sha256, v.dg,
					      v.dgl, NULL, &err), BS_ERR_FORMAT);
	free(big);
	assert_int_equal(bs_cms_inspect((const uint8_t *)"\x30\x03\x02\x01\x01", 5, NULL, &err),
			 BS_ERR_FORMAT);
	free_vec(&v);
}

static void test_cms__signing_time_changes_bytes(void **state)
{
	(void)state;
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	load_vector_key(RSA_DIR, "crts/CSF1_crt.pem", &key, &cert);
	size_t vlen;
	uint8_t *vec = bs_fixture_read(RSA_DIR "/csfsig.der", &vlen);
	struct vec v;
	load_vec(&v, RSA_DIR, "csfsig.der", "csfcmds.bin", "crts/CSF1_crt.pem");
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256,
				     .signing_time = bs_cms_signing_time(vec, vlen) + 1};
	uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(bs_cms_sign_digest(&out, &out_len, key, cert, v.dg, v.dgl, &o, NULL), 0);
	assert_int_equal(out_len, vlen);
	assert_memory_not_equal(out, vec, vlen);
	assert_int_equal(bs_cms_signing_time(out, out_len), bs_cms_signing_time(vec, vlen) + 1);
	free(out);
	/* a time past 2049 uses GeneralizedTime and still verifies */
	o.signing_time = (time_t)2556144000; /* 2051-01-01 */
	assert_int_equal(bs_cms_sign_digest(&out, &out_len, key, cert, v.dg, v.dgl, &o, NULL), 0);
	struct bs_cms_info info;
	assert_int_equal(bs_cms_verify_digest(out, out_len, NULL, cert, NID_sha256, v.dg, v.dgl,
					      &info, NULL), 0);
	assert_int_equal(info.signing_time, (time_t)2556144000);
	free(out);
	free(vec);
	free_vec(&v);
	X509_free(cert);
	bs_key_free(key);
}

/* RSA-PSS AlgorithmIdentifier: the same bytes OpenSSL's own CMS signer writes. */
static void test_cms__pss_algid_matches_openssl(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char out[4200];
	snprintf(out, sizeof(out), "%s/pss.der", dir);
	const char *keyp = strdup(bs_fixture(RSA_DIR "/keys/CSF1_key.pem"));
	const char *crtp = strdup(bs_fixture(RSA_DIR "/crts/CSF1_crt.pem"));
	const char *datp = strdup(bs_fixture(RSA_DIR "/csfcmds.bin"));
	static const uint8_t pss_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
					  0x01, 0x01, 0x0a};
	const int mds[] = {NID_sha256, NID_sha512};
	for (size_t i = 0; i < BS_ARRAY_SIZE(mds); i++) {
		const char *argv[] = {"openssl", "cms", "-sign", "-binary", "-in", datp,
				      "-signer", crtp, "-inkey", keyp, "-outform", "DER", "-out",
				      out, "-nocerts", "-keyopt", "rsa_padding_mode:pss", "-keyopt",
				      "rsa_pss_saltlen:digest", "-md", OBJ_nid2sn(mds[i]), NULL};
		bs_test_run_ok(argv);
		uint8_t *ref = NULL;
		size_t rlen = 0;
		assert_int_equal(bs_read_file(&ref, &rlen, out, 1u << 20, NULL), 0);
		struct bs_key *key = NULL;
		X509 *cert = NULL;
		load_vector_key(RSA_DIR, "crts/CSF1_crt.pem", &key, &cert);
		uint8_t dg[64] = {0};
		struct bs_cms_sign_opts o = {.md_nid = mds[i], .scheme = BS_SIG_RSA_PSS};
		uint8_t *sig = NULL;
		size_t slen = 0;
		assert_int_equal(bs_cms_sign_digest(&sig, &slen, key, cert, dg,
						    (size_t)EVP_MD_get_size(EVP_get_digestbynid(mds[i])),
						    &o, NULL), 0);
		const uint8_t *a = memmem(ref, rlen, pss_oid, sizeof(pss_oid));
		const uint8_t *b = memmem(sig, slen, pss_oid, sizeof(pss_oid));
		assert_non_null(a);
		assert_non_null(b);
		/* OID + params SEQUENCE (short-form length) */
		size_t n = sizeof(pss_oid) + 2 + a[sizeof(pss_oid) + 1];
		assert_memory_equal(a, b, n);
		free(sig);
		free(ref);
		X509_free(cert);
		bs_key_free(key);
	}
	free((void *)keyp);
	free((void *)crtp);
	free((void *)datp);
	bs_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cms__rsa_csf_signature_byte_identical_to_cst),
		cmocka_unit_test(test_cms__rsa_img_signature_byte_identical_to_cst),
		cmocka_unit_test(test_cms__ec_structure_matches_cst),
		cmocka_unit_test(test_cms__rsa2048_verifies_with_openssl),
		cmocka_unit_test(test_cms__rsa4096_verifies_with_openssl),
		cmocka_unit_test(test_cms__ec_verifies_with_openssl),
		cmocka_unit_test(test_cms__pss_on_ec_key_is_rejected),
		cmocka_unit_test(test_cms__verify_accepts_cst_vectors),
		cmocka_unit_test(test_cms__verify_rejects_tampering),
		cmocka_unit_test(test_cms__signing_time_changes_bytes),
		cmocka_unit_test(test_cms__pss_algid_matches_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
