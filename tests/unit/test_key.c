/* Unit tests for src/keys/key.c: the ops table wrapper and the file (EVP_PKEY) backend.
 * Signatures are checked with EVP_PKEY_verify under the public key, independently of the
 * signing path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "crypto/key.h"

static EVP_PKEY *gen(const char *kind)
{
	EVP_PKEY *k = strcmp(kind, "rsa") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
					       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
	assert_non_null(k);
	return k;
}

static bool verify(EVP_PKEY *pub, int md_nid, bool pss, const uint8_t *sig, size_t slen,
		   const uint8_t *dg, size_t dlen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	if (pss) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) > 0);
		/* the salt must be exactly the digest length */
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, (int)dlen) > 0);
	}
	assert_true(EVP_PKEY_CTX_set_signature_md(c, EVP_get_digestbynid(md_nid)) > 0);
	int r = EVP_PKEY_verify(c, sig, slen, dg, dlen);
	EVP_PKEY_CTX_free(c);
	return r == 1;
}

static void sign_verify(struct bs_key *k, int md_nid, enum bs_sig_scheme scheme)
{
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dlen = (size_t)EVP_MD_get_size(md);
	for (size_t i = 0; i < dlen; i++)
		dg[i] = (uint8_t)(i * 13 + 1);
	uint8_t *sig = NULL;
	size_t slen = 0;
	struct bs_error err = {0};
	int rc = bs_key_sign_digest(k, md_nid, scheme, dg, dlen, &sig, &slen, &err);
	if (rc != 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_true(verify(bs_key_public(k), md_nid, scheme == BS_SIG_RSA_PSS, sig, slen, dg,
			   dlen));
	dg[0] ^= 1;
	assert_false(verify(bs_key_public(k), md_nid, scheme == BS_SIG_RSA_PSS, sig, slen, dg,
			    dlen));
	if (bs_key_type(k) == EVP_PKEY_EC)
		assert_int_equal(sig[0], 0x30); /* DER ECDSA-Sig-Value */
	else
		assert_int_equal(slen, (size_t)EVP_PKEY_get_size(bs_key_public(k)));
	free(sig);
}

static void test_key__rsa_pkcs1_and_pss(void **state)
{
	(void)state;
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_from_pkey(&k, gen("rsa"), "rsa-test", NULL), 0);
	assert_int_equal(bs_key_type(k), EVP_PKEY_RSA);
	assert_string_equal(bs_key_id(k), "rsa-test");
	int mds[] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512};
	for (size_t i = 0; i < BS_ARRAY_SIZE(mds); i++) {
		sign_verify(k, mds[i], BS_SIG_DEFAULT);
		sign_verify(k, mds[i], BS_SIG_RSA_PSS);
	}
	/* PKCS#1 v1.5 is deterministic: the same digest gives the same bytes */
	uint8_t dg[32] = {7};
	uint8_t *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 32, &s1, &l1, NULL),
			 0);
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 32, &s2, &l2, NULL),
			 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	free(s1);
	free(s2);
	bs_key_free(k);
}

static void test_key__ecdsa_curves(void **state)
{
	(void)state;
	const char *curves[] = {"P-256", "P-384", "P-521"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(curves); i++) {
		struct bs_key *k = NULL;
		assert_int_equal(bs_key_from_pkey(&k, gen(curves[i]), curves[i], NULL), 0);
		assert_int_equal(bs_key_type(k), EVP_PKEY_EC);
		sign_verify(k, NID_sha256, BS_SIG_DEFAULT);
		sign_verify(k, NID_sha512, BS_SIG_DEFAULT);
		sign_verify(k, NID_sha1, BS_SIG_DEFAULT);
		bs_key_free(k);
	}
}

static void test_key__public_has_no_private_part(void **state)
{
	(void)state;
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_from_pkey(&k, gen("rsa"), "r", NULL), 0);
	BIGNUM *d = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(bs_key_public(k), OSSL_PKEY_PARAM_RSA_D, &d), 0);
	assert_null(d);
	bs_key_free(k);
	assert_int_equal(bs_key_from_pkey(&k, gen("P-256"), "e", NULL), 0);
	assert_int_equal(EVP_PKEY_get_bn_param(bs_key_public(k), OSSL_PKEY_PARAM_PRIV_KEY, &d),
			 0);
	assert_null(d);
	bs_key_free(k);
}

static void test_key__bad_requests(void **state)
{
	(void)state;
	struct bs_key *k = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_key_from_pkey(&k, gen("P-256"), "e", NULL), 0);
	uint8_t dg[64] = {0};
	uint8_t *sig = (uint8_t *)"x";
	size_t slen = 3;
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 20, &sig, &slen,
					    &err), BS_ERR_INVALID);
	assert_null(sig);
	assert_int_equal(slen, 0);
	assert_non_null(strstr(err.msg, "key e"));
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_RSA_PSS, dg, 32, &sig, &slen,
					    &err), BS_ERR_KEY);
	assert_null(sig);
	assert_int_equal(bs_key_sign_digest(k, NID_undef, BS_SIG_DEFAULT, dg, 32, &sig, &slen,
					    &err), BS_ERR_UNSUPPORTED);
	assert_null(sig);
	bs_key_free(k);
	/* unsupported key type: ownership is still taken (ASan checks the leak) */
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_non_null(ed);
	k = (struct bs_key *)1;
	assert_int_equal(bs_key_from_pkey(&k, ed, "ed", &err), BS_ERR_KEY);
	assert_null(k);
	assert_int_equal(bs_key_from_pkey(&k, NULL, "none", &err), BS_ERR_INVALID);
	bs_key_free(NULL);
}

/* ---- a mock backend through bs_key_new ---- */

struct mock {
	int calls;
	size_t ret_len;
	int *freed;
};

static int mock_sign(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
		     size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	(void)p;
	(void)err;
	struct mock *m = ctx;
	m->calls++;
	assert_true(*siglen >= 256); /* room for an RSA-2048 signature */
	memset(sig, 0xAB, *siglen < m->ret_len ? *siglen : m->ret_len);
	memcpy(sig, dgst, dlen < 4 ? dlen : 4);
	*siglen = m->ret_len;
	return 0;
}

static void mock_free(void *ctx)
{
	struct mock *m = ctx;
	(*m->freed)++;
	free(m);
}

static const struct bs_key_ops mock_ops = {.sign_digest = mock_sign, .free = mock_free};

static void test_key__backend_table(void **state)
{
	(void)state;
	int freed = 0;
	struct mock *m = calloc(1, sizeof(*m));
	m->freed = &freed;
	m->ret_len = 256;
	EVP_PKEY *pub = gen("rsa");
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_new(&k, &mock_ops, m, pub, "token:CSF1", NULL), 0);
	assert_ptr_equal(bs_key_public(k), pub);
	uint8_t dg[32] = {1, 2, 3, 4};
	uint8_t *sig = NULL;
	size_t slen = 0;
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 32, &sig, &slen,
					    NULL), 0);
	assert_int_equal(slen, 256);
	assert_memory_equal(sig, dg, 4);
	free(sig);
	/* a backend claiming more bytes than the buffer holds is a bug, not a signature */
	m->ret_len = 100000;
	struct bs_error err = {0};
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 32, &sig, &slen,
					    &err), BS_ERR_INTERNAL);
	assert_null(sig);
	assert_int_equal(m->calls, 2);
	/* references: the backend is released with the last one only */
	assert_ptr_equal(bs_key_ref(k), k);
	bs_key_free(k);
	assert_int_equal(freed, 0);
	assert_string_equal(bs_key_id(k), "token:CSF1");
	bs_key_free(k);
	assert_int_equal(freed, 1);
	assert_null(bs_key_ref(NULL));
	/* no public key: ctx and ops are released right away */
	m = calloc(1, sizeof(*m));
	m->freed = &freed;
	assert_int_equal(bs_key_new(&k, &mock_ops, m, NULL, "x", &err), BS_ERR_INVALID);
	assert_null(k);
	assert_int_equal(freed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key__rsa_pkcs1_and_pss),
		cmocka_unit_test(test_key__ecdsa_curves),
		cmocka_unit_test(test_key__public_has_no_private_part),
		cmocka_unit_test(test_key__bad_requests),
		cmocka_unit_test(test_key__backend_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
