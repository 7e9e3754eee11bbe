/* Unit tests for src/formats/swupdate: sw-description signatures checked against OpenSSL
 * (the openssl CLI for RSA, byte identity with OpenSSL's own CMS_sign for CMS, OpenSSL's
 * verifier with SWUpdate's settings for RSA-PSS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/swupdate/swu_sig.h"
#include "testutil.h"

static const char g_swdesc[] = "software =\n{\n\tversion = \"1.0\";\n\timages: ();\n};\n";

struct fx {
	char *dir;
	EVP_PKEY *pkey;
	X509 *cert;
	struct bs_key *key;
	uint8_t dgst[32];
	char keyp[512], certp[512], datap[512], sigp[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = bs_tmpdir();
	snprintf(f->keyp, sizeof(f->keyp), "%s/key.pem", f->dir);
	snprintf(f->certp, sizeof(f->certp), "%s/cert.pem", f->dir);
	snprintf(f->datap, sizeof(f->datap), "%s/sw-description", f->dir);
	snprintf(f->sigp, sizeof(f->sigp), "%s/sw-description.sig", f->dir);
	const char *argv[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
			      "-keyout", f->keyp, "-out", f->certp, "-subj", "/O=bs/CN=swu",
			      "-days", "2", NULL};
	bs_test_run_ok(argv);
	f->pkey = bs_read_pem_key(f->keyp, NULL);
	assert_non_null(f->pkey);
	f->cert = bs_read_pem_cert(f->certp);
	EVP_PKEY_up_ref(f->pkey);
	assert_int_equal(bs_key_from_pkey(&f->key, f->pkey, "key.pem", NULL), 0);
	bs_write(f->datap, g_swdesc, strlen(g_swdesc));
	unsigned l = 0;
	assert_int_equal(EVP_Digest(g_swdesc, strlen(g_swdesc), f->dgst, &l, EVP_sha256(), NULL),
			 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	bs_key_free(f->key);
	EVP_PKEY_free(f->pkey);
	X509_free(f->cert);
	bs_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void test_swupdate__method_names(void **state)
{
	(void)state;
	enum bs_swu_method m = BS_SWU_CMS;
	struct bs_error e = {0};
	assert_int_equal(bs_swu_method_parse(&m, "RSA", &e), 0);
	assert_int_equal(m, BS_SWU_RSA);
	assert_int_equal(bs_swu_method_parse(&m, "RSA-PSS", &e), 0);
	assert_int_equal(m, BS_SWU_RSA_PSS);
	assert_int_equal(bs_swu_method_parse(&m, "CMS", &e), 0);
	assert_int_equal(m, BS_SWU_CMS);
	const char *bad[] = {"rsa", "", "PKCS11", "RSA ", "CMS\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = BS_SWU_CMS;
		assert_int_equal(bs_swu_method_parse(&m, bad[i], &e), BS_ERR_INVALID);
		assert_int_equal(m, BS_SWU_CMS);
		assert_non_null(strstr(e.msg, "method"));
	}
	assert_int_equal(bs_swu_method_parse(&m, NULL, &e), BS_ERR_INVALID);
	assert_string_equal(bs_swu_method_name(BS_SWU_RSA_PSS), "RSA-PSS");
}

/* RSA: byte-identical to `openssl dgst -sha256 -sign` (PKCS#1 v1.5 is deterministic). */
static void test_swupdate__rsa_identical_to_openssl_dgst(void **state)
{
	struct fx *f = *state;
	uint8_t *sig = NULL;
	size_t n = 0;
	struct bs_error e = {0};
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_RSA, f->key, NULL, f->dgst, 0, &e), 0);
	const char *argv[] = {"openssl", "dgst", "-sha256", "-sign", f->keyp, "-out", f->sigp,
			      f->datap, NULL};
	bs_test_run_ok(argv);
	size_t rl = 0;
	uint8_t *ref = NULL;
	FILE *fp = fopen(f->sigp, "rb");
	assert_non_null(fp);
	ref = malloc(1024);
	rl = fread(ref, 1, 1024, fp);
	fclose(fp);
	assert_int_equal(n, rl);
	assert_memory_equal(sig, ref, n);
	free(ref);
	free(sig);
}

static int verify_pss(EVP_PKEY *pub, int saltlen, const uint8_t *sig, size_t n)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = EVP_DigestVerifyInit(c, &pc, EVP_sha256(), NULL, pub) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		 EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, saltlen) > 0 &&
		 EVP_DigestVerify(c, sig, n, (const uint8_t *)g_swdesc, strlen(g_swdesc)) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* RSA-PSS: verifies as SWUpdate verifies (salt recovered: -2), with the maximum salt its
 * documentation's signing command uses, MGF1 = SHA-256; not as PKCS#1 v1.5. */
static void test_swupdate__pss_verifies_like_swupdate(void **state)
{
	struct fx *f = *state;
	uint8_t *sig = NULL;
	size_t n = 0;
	struct bs_error e = {0};
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_RSA_PSS, f->key, NULL, f->dgst, 0, &e), 0);
	assert_int_equal(n, 256);
	assert_int_equal(bs_swu_pss_saltlen(f->pkey), 256 - 32 - 2);
	assert_true(verify_pss(f->pkey, RSA_PSS_SALTLEN_AUTO, sig, n));
	assert_true(verify_pss(f->pkey, 256 - 32 - 2, sig, n));
	assert_false(verify_pss(f->pkey, 32, sig, n));
	sig[10] ^= 1;
	assert_false(verify_pss(f->pkey, RSA_PSS_SALTLEN_AUTO, sig, n));
	free(sig);
}

/* OpenSSL's own CMS_sign with the flags of `openssl cms -sign -binary -nosmimecap` and
 * the same signing time. */
static uint8_t *openssl_cms(struct fx *f, time_t when, size_t *len)
{
	BIO *in = BIO_new_mem_buf(g_swdesc, (int)strlen(g_swdesc));
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL,
					CMS_DETACHED | CMS_BINARY | CMS_PARTIAL);
	assert_non_null(cms);
	CMS_SignerInfo *si = CMS_add1_signer(cms, f->cert, f->pkey, EVP_sha256(),
					     CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL);
	assert_non_null(si);
	ASN1_TIME *t = ASN1_UTCTIME_set(NULL, when);
	assert_int_equal(CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, V_ASN1_UTCTIME,
						     t, -1), 1);
	ASN1_TIME_free(t);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_DETACHED | CMS_BINARY), 1);
	unsigned char *der = NULL;
	int l = i2d_CMS_ContentInfo(cms, &der);
	assert_true(l > 0);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	*len = (size_t)l;
	return der;
}

static void test_swupdate__cms_identical_to_openssl(void **state)
{
	struct fx *f = *state;
	time_t when = 1767225600; /* 2026-01-01 */
	uint8_t *sig = NULL;
	size_t n = 0;
	struct bs_error e = {0};
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_CMS, f->key, f->cert, f->dgst, when, &e),
			 0);
	size_t rl = 0;
	uint8_t *ref = openssl_cms(f, when, &rl);
	assert_int_equal(n, rl);
	assert_memory_equal(sig, ref, n);
	/* and `openssl cms -verify` accepts it over the file */
	bs_write(f->sigp, sig, n);
	char outp[600];
	snprintf(outp, sizeof(outp), "%s/out", f->dir);
	const char *argv[] = {"openssl", "cms", "-verify", "-binary", "-inform", "DER",
			      "-in", f->sigp, "-content", f->datap, "-CAfile", f->certp,
			      "-purpose", "any", "-out", outp, NULL};
	bs_test_run_ok(argv);
	OPENSSL_free(ref);
	free(sig);
}

static void test_swupdate__bad_inputs_give_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t *sig = (uint8_t *)f;
	size_t n = 7;
	struct bs_error e = {0};
	/* CMS without the certificate */
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_CMS, f->key, NULL, f->dgst, 0, &e),
			 BS_ERR_INVALID);
	assert_null(sig);
	assert_int_equal(n, 0);
	/* RSA methods with an EC key */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_from_pkey(&k, ec, "ec", NULL), 0);
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_RSA, k, NULL, f->dgst, 0, &e), BS_ERR_KEY);
	assert_null(sig);
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_RSA_PSS, k, NULL, f->dgst, 0, &e),
			 BS_ERR_KEY);
	assert_null(sig);
	assert_int_equal(bs_swu_pss_saltlen(bs_key_public(k)), 0);
	bs_key_free(k);
	/* no key, unknown method */
	assert_int_equal(bs_swu_sign(&sig, &n, BS_SWU_RSA, NULL, NULL, f->dgst, 0, &e),
			 BS_ERR_INVALID);
	assert_int_equal(bs_swu_sign(&sig, &n, (enum bs_swu_method)9, f->key, NULL, f->dgst, 0,
				     &e), BS_ERR_INVALID);
	assert_null(sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swupdate__method_names),
		cmocka_unit_test(test_swupdate__rsa_identical_to_openssl_dgst),
		cmocka_unit_test(test_swupdate__pss_verifies_like_swupdate),
		cmocka_unit_test(test_swupdate__cms_identical_to_openssl),
		cmocka_unit_test(test_swupdate__bad_inputs_give_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
