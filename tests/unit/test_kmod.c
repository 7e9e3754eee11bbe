/* Unit tests for src/formats/kmod: the appended module signature, byte-compared with the
 * kernel's own scripts/sign-file (Debian linux-kbuild-6.1) on the same key, hash and
 * module. sign-file does not parse the module, so random bytes stand in for a .ko here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "formats/kmod/kmod.h"
#include "testutil.h"

#define SIGN_FILE "/usr/lib/linux-kbuild-6.1/scripts/sign-file"

struct fx {
	char *dir;
	char key[512], cert_pem[512], cert_der[512];
	struct bs_key *k;
	X509 *x;
};

/* A private key (openssl genpkey ALG -pkeyopt OPT) and a self-signed PEM certificate. */
static void make_key_cert(const char *key, const char *crt, const char *alg, const char *opt)
{
	const char *gen[] = {"openssl", "genpkey", "-quiet", "-algorithm", alg, "-pkeyopt", opt,
			     "-out", key, NULL};
	bs_test_run_ok(gen);
	const char *req[] = {"openssl", "req", "-new", "-x509", "-batch", "-days", "3650", "-subj",
			     "/CN=bootsign kmod test", "-key", key, "-out", crt, NULL};
	bs_test_run_ok(req);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = bs_tmpdir();
	snprintf(f->key, sizeof(f->key), "%s/signkey.priv", f->dir);
	snprintf(f->cert_pem, sizeof(f->cert_pem), "%s/signkey.pem", f->dir);
	snprintf(f->cert_der, sizeof(f->cert_der), "%s/signkey.x509", f->dir);
	make_key_cert(f->key, f->cert_pem, "RSA", "rsa_keygen_bits:2048");
	const char *der[] = {"openssl", "x509", "-in", f->cert_pem, "-outform", "DER", "-out",
			     f->cert_der, NULL};
	bs_test_run_ok(der);
	EVP_PKEY *pk = bs_read_pem_key(f->key, NULL);
	assert_non_null(pk);
	struct bs_error err = {0};
	assert_int_equal(bs_key_from_pkey(&f->k, pk, "signkey.priv", &err), 0);
	f->x = bs_read_pem_cert(f->cert_pem);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	bs_key_free(f->k);
	X509_free(f->x);
	bs_tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* sign-file's output for module bytes m (a copy is signed in place). */
static uint8_t *sign_file(struct fx *f, const char *hash, const uint8_t *m, size_t n,
			  size_t *out_len)
{
	if (access(SIGN_FILE, X_OK) != 0)
		fail_msg("%s is missing (scripts/deps.sh test installs linux-kbuild-6.1)",
			 SIGN_FILE);
	char path[600];
	snprintf(path, sizeof(path), "%s/m.ko", f->dir);
	bs_write(path, m, n);
	const char *argv[] = {SIGN_FILE, hash, f->key, f->cert_der, path, NULL};
	bs_test_run_ok(argv);
	uint8_t *d = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_read_file(&d, out_len, path, 64u << 20, &err), 0);
	return d;
}

static void test_kmod__byte_identical_to_sign_file(void **state)
{
	struct fx *f = *state;
	static const char *const hashes[] = {"sha256", "sha384", "sha512"};
	static const size_t sizes[] = {1, 4096, 150001};
	for (size_t h = 0; h < 3; h++) {
		size_t n = sizes[h];
		uint8_t *m = malloc(n);
		assert_non_null(m);
		assert_int_equal(RAND_bytes(m, (int)n), 1);
		int nid;
		struct bs_error err = {0};
		assert_int_equal(bs_kmod_hash_nid(&nid, "hashalg", hashes[h], &err), 0);
		struct bs_kmod_sig sig;
		assert_int_equal(bs_kmod_sign(&sig, f->k, f->x, nid, m, n, &err), 0);
		size_t ref_len = 0;
		uint8_t *ref = sign_file(f, hashes[h], m, n, &ref_len);
		assert_int_equal(ref_len, n + sig.trailer_len);
		assert_memory_equal(ref, m, n);
		assert_memory_equal(ref + n, sig.trailer, sig.trailer_len);
		assert_int_equal(sig.dlen, nid == NID_sha256 ? 32 : nid == NID_sha384 ? 48 : 64);
		/* and it strips back to the module */
		size_t ul = 0;
		unsigned stripped = 9;
		assert_int_equal(bs_kmod_unsigned_len(&ul, &stripped, ref, ref_len, "m.ko", &err), 0);
		assert_int_equal(ul, n);
		assert_int_equal(stripped, 1);
		bs_kmod_sig_clear(&sig);
		assert_null(sig.trailer);
		free(ref);
		free(m);
	}
}

/* The PKCS#7 part verifies with OpenSSL's CMS over the module (no shared code). */
static void test_kmod__trailer_verifies_with_openssl_cms(void **state)
{
	struct fx *f = *state;
	uint8_t m[3000];
	assert_int_equal(RAND_bytes(m, sizeof(m)), 1);
	struct bs_kmod_sig sig;
	struct bs_error err = {0};
	assert_int_equal(bs_kmod_sign(&sig, f->k, f->x, NID_sha512, m, sizeof(m), &err), 0);
	size_t tail = BS_KMOD_INFO_LEN + BS_KMOD_MAGIC_LEN;
	const uint8_t *info = sig.trailer + sig.trailer_len - tail;
	static const uint8_t head[8] = {0, 0, 2, 0, 0, 0, 0, 0};
	assert_memory_equal(info, head, 8);
	uint32_t p7len = (uint32_t)info[8] << 24 | (uint32_t)info[9] << 16 |
			 (uint32_t)info[10] << 8 | info[11];
	assert_int_equal(p7len, sig.trailer_len - tail);
	assert_memory_equal(info + 12, "~Module signature appended~\n", 28);
	for (int tamper = 0; tamper < 2; tamper++) {
		const unsigned char *p = sig.trailer;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, p7len);
		assert_non_null(cms);
		assert_null(CMS_get0_signers(cms)); /* no certificates inside */
		BIO *content = BIO_new_mem_buf(m, sizeof(m));
		STACK_OF(X509) *certs = sk_X509_new_null();
		sk_X509_push(certs, f->x);
		if (tamper)
			m[100] ^= 1;
		int ok = CMS_verify(cms, certs, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY);
		assert_int_equal(ok, tamper ? 0 : 1);
		sk_X509_free(certs);
		BIO_free(content);
		CMS_ContentInfo_free(cms);
	}
	bs_kmod_sig_clear(&sig);
}

static void test_kmod__strip_existing_signatures(void **state)
{
	struct fx *f = *state;
	uint8_t m[2000];
	assert_int_equal(RAND_bytes(m, sizeof(m)), 1);
	struct bs_error err = {0};
	/* signed twice by sign-file (which appends, never strips) */
	size_t l1 = 0, l2 = 0;
	uint8_t *s1 = sign_file(f, "sha256", m, sizeof(m), &l1);
	uint8_t *s2 = sign_file(f, "sha512", s1, l1, &l2);
	size_t ul = 0;
	unsigned n = 0;
	assert_int_equal(bs_kmod_unsigned_len(&ul, &n, s2, l2, "x.ko", &err), 0);
	assert_int_equal(ul, sizeof(m));
	assert_int_equal(n, 2);
	/* unsigned: untouched */
	assert_int_equal(bs_kmod_unsigned_len(&ul, &n, m, sizeof(m), "x.ko", &err), 0);
	assert_int_equal(ul, sizeof(m));
	assert_int_equal(n, 0);

	/* magic with a bad record, a length past the start, magic alone */
	uint8_t *bad = malloc(l1);
	assert_non_null(bad);
	memcpy(bad, s1, l1);
	bad[l1 - 28 - 12 + 2] = 1; /* id_type PKEY_ID_PGP */
	assert_int_equal(bs_kmod_unsigned_len(&ul, &n, bad, l1, "x.ko", &err), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "x.ko"));
	memcpy(bad, s1, l1);
	bad[l1 - 28 - 4] = 0x7f; /* sig_len ~2 GiB */
	assert_int_equal(bs_kmod_unsigned_len(&ul, &n, bad, l1, "x.ko", &err), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "runs past"));
	assert_int_equal(bs_kmod_unsigned_len(&ul, &n, (const uint8_t *)BS_KMOD_MAGIC, 28,
					      "y.ko", &err), BS_ERR_FORMAT);
	free(bad);
	free(s1);
	free(s2);
}

/* An EC key (the kernel accepts ECDSA module signatures): ECDSA is randomised, so
 * OpenSSL's CMS verification is the oracle here, plus the record and the magic. */
static void test_kmod__ec_key_verifies(void **state)
{
	struct fx *f = *state;
	char key[600], crt[600];
	snprintf(key, sizeof(key), "%s/ec.priv", f->dir);
	snprintf(crt, sizeof(crt), "%s/ec.pem", f->dir);
	make_key_cert(key, crt, "EC", "ec_paramgen_curve:P-256");
	struct bs_key *k = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_key_from_pkey(&k, bs_read_pem_key(key, NULL), "ec.priv", &err), 0);
	X509 *x = bs_read_pem_cert(crt);
	uint8_t m[777];
	assert_int_equal(RAND_bytes(m, sizeof(m)), 1);
	struct bs_kmod_sig sig;
	assert_int_equal(bs_kmod_sign(&sig, k, x, NID_sha384, m, sizeof(m), &err), 0);
	size_t tail = BS_KMOD_INFO_LEN + BS_KMOD_MAGIC_LEN;
	size_t p7len = sig.trailer_len - tail;
	const uint8_t *info = sig.trailer + p7len;
	assert_int_equal(info[2], BS_KMOD_ID_PKCS7);
	assert_int_equal((size_t)info[10] << 8 | info[11], p7len);
	const unsigned char *p = sig.trailer;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)p7len);
	assert_non_null(cms);
	BIO *content = BIO_new_mem_buf(m, sizeof(m));
	STACK_OF(X509) *certs = sk_X509_new_null();
	sk_X509_push(certs, x);
	assert_int_equal(CMS_verify(cms, certs, NULL, content, NULL,
				    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
	sk_X509_free(certs);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	bs_kmod_sig_clear(&sig);
	X509_free(x);
	bs_key_free(k);
}

static void test_kmod__hash_names(void **state)
{
	(void)state;
	int nid = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_kmod_hash_nid(&nid, "hashalg", "sha384", &err), 0);
	assert_int_equal(nid, NID_sha384);
	assert_int_equal(bs_kmod_hash_nid(&nid, "hashalg", "md5", &err), BS_ERR_INVALID);
	assert_int_equal(nid, NID_undef);
	assert_non_null(strstr(err.msg, "hashalg"));
	assert_int_equal(bs_kmod_hash_nid(&nid, "hashalg", "SHA256", &err), BS_ERR_INVALID);
	assert_int_equal(bs_kmod_hash_nid(&nid, "hashalg", NULL, &err), BS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmod__byte_identical_to_sign_file),
		cmocka_unit_test(test_kmod__trailer_verifies_with_openssl_cms),
		cmocka_unit_test(test_kmod__strip_existing_signatures),
		cmocka_unit_test(test_kmod__ec_key_verifies),
		cmocka_unit_test(test_kmod__hash_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
