/* Unit tests for src/crypto/key.c and sig.c: the ops table wrapper, the file (EVP_PKEY)
 * backend, signature parameters and encodings. Signatures are checked with EVP_PKEY_verify
 * or `openssl pkeyutl -verify` under the public key, independently of the signing path. */
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
#include "testutil.h"

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

/* ---- signature parameters (bs_key_sign, bs_key_sign_message, bs_sig_verify) ---- */

static void fill(uint8_t *d, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 7 + seed);
}

/* openssl pkeyutl verifies a PSS signature only under the salt length it was made with. */
static void test_key__pss_explicit_salt_verified_by_openssl(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_from_pkey(&k, gen("rsa"), "rsa", NULL), 0);
	const struct {
		int md_nid;
		const char *md;
		int salt;
	} cases[] = {
		{NID_sha256, "digest:sha256", 0},  {NID_sha256, "digest:sha256", 20},
		{NID_sha256, "digest:sha256", 222}, {NID_sha384, "digest:sha384", 48},
		{NID_sha512, "digest:sha512", 64}, {NID_sha512, "digest:sha512", 11},
	};
	for (size_t i = 0; i < BS_ARRAY_SIZE(cases); i++) {
		struct bs_sig_params p = {.md_nid = cases[i].md_nid, .scheme = BS_SIG_RSA_PSS,
					  .pss_saltlen = cases[i].salt};
		uint8_t dg[64];
		size_t dl = (size_t)EVP_MD_get_size(EVP_get_digestbynid(p.md_nid));
		fill(dg, dl, (uint8_t)i);
		uint8_t *sig = NULL;
		size_t sl = 0;
		struct bs_error err = {0};
		assert_int_equal(bs_key_sign(k, &p, dg, dl, &sig, &sl, &err), 0);
		assert_int_equal(sl, 256);
		char salt[64], wrong[64];
		snprintf(salt, sizeof(salt), "rsa_pss_saltlen:%d", cases[i].salt);
		snprintf(wrong, sizeof(wrong), "rsa_pss_saltlen:%d", cases[i].salt + 1);
		const char *ok[] = {cases[i].md, "rsa_padding_mode:pss", salt, NULL};
		const char *bad[] = {cases[i].md, "rsa_padding_mode:pss", wrong, NULL};
		assert_int_equal(bs_pkeyutl_verify(dir, bs_key_public(k), ok, false, dg, dl, sig,
						   sl), 0);
		assert_int_not_equal(bs_pkeyutl_verify(dir, bs_key_public(k), bad, false, dg, dl,
						       sig, sl), 0);
		assert_int_equal(bs_sig_verify(bs_key_public(k), &p, dg, dl, sig, sl, &err), 0);
		p.pss_saltlen++;
		assert_int_equal(bs_sig_verify(bs_key_public(k), &p, dg, dl, sig, sl, &err),
				 BS_ERR_VERIFY);
		free(sig);
	}
	/* -1 = digest length: what the legacy bs_key_sign_digest does */
	uint8_t dg[32] = {9};
	uint8_t *sig = NULL;
	size_t sl = 0;
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_RSA_PSS, dg, 32, &sig, &sl,
					    NULL), 0);
	struct bs_sig_params p = {.md_nid = NID_sha256, .scheme = BS_SIG_RSA_PSS,
				  .pss_saltlen = 32};
	assert_int_equal(bs_sig_verify(bs_key_public(k), &p, dg, 32, sig, sl, NULL), 0);
	p.pss_saltlen = -1;
	assert_int_equal(bs_sig_verify(bs_key_public(k), &p, dg, 32, sig, sl, NULL), 0);
	free(sig);
	/* a salt that does not fit (emLen - hLen - 2 = 222 for RSA-2048/SHA-256) */
	struct bs_error err = {0};
	p.pss_saltlen = 223;
	sig = (uint8_t *)"x";
	assert_int_equal(bs_key_sign(k, &p, dg, 32, &sig, &sl, &err), BS_ERR_INVALID);
	assert_null(sig);
	assert_int_equal(sl, 0);
	assert_non_null(strstr(err.msg, "salt length 223"));
	p.pss_saltlen = -2;
	assert_int_equal(bs_key_sign(k, &p, dg, 32, &sig, &sl, &err), BS_ERR_INVALID);
	/* raw ECDSA on an RSA key */
	p = (struct bs_sig_params){.md_nid = NID_sha256, .ecdsa_raw = true};
	assert_int_equal(bs_key_sign(k, &p, dg, 32, &sig, &sl, &err), BS_ERR_KEY);
	assert_null(sig);
	bs_key_free(k);
	bs_tmpdir_free(dir);
}

/* Raw ECDSA is exactly 2 * field bytes; converted to DER it verifies with openssl. */
static void test_key__ecdsa_raw_fixed_width(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	const struct {
		const char *curve;
		size_t field;
	} curves[] = {{"P-256", 32}, {"P-384", 48}, {"P-521", 66}};
	for (size_t i = 0; i < BS_ARRAY_SIZE(curves); i++) {
		struct bs_key *k = NULL;
		assert_int_equal(bs_key_from_pkey(&k, gen(curves[i].curve), "ec", NULL), 0);
		assert_int_equal(bs_ec_field_bytes(bs_key_public(k)), curves[i].field);
		struct bs_sig_params p = {.md_nid = NID_sha256, .ecdsa_raw = true};
		/* r or s with a leading zero byte must keep its width: sign until one shows up
		 * (1/128 per signature), at most 4000 times: missing one is e^-31 */
		bool padded = false;
		for (int n = 0; n < 4000 && !padded; n++) {
			uint8_t dg[32];
			fill(dg, 32, (uint8_t)n);
			uint8_t *raw = NULL, *der = NULL, *back = NULL;
			size_t rl = 0, dl = 0, bl = 0;
			assert_int_equal(bs_key_sign(k, &p, dg, 32, &raw, &rl, NULL), 0);
			assert_int_equal(rl, 2 * curves[i].field);
			padded = raw[0] == 0 || raw[curves[i].field] == 0;
			assert_int_equal(bs_sig_verify(bs_key_public(k), &p, dg, 32, raw, rl, NULL),
					 0);
			if (n == 0 || padded) {
				assert_int_equal(bs_ecdsa_raw_to_der(&der, &dl, raw, rl, NULL), 0);
				const char *o[] = {"digest:sha256", NULL};
				assert_int_equal(bs_pkeyutl_verify(dir, bs_key_public(k), o, false, dg,
								   32, der, dl), 0);
				assert_int_equal(bs_ecdsa_der_to_raw(&back, &bl, der, dl,
								     curves[i].field, NULL), 0);
				assert_int_equal(bl, rl);
				assert_memory_equal(back, raw, rl);
				dg[0] ^= 1;
				assert_int_not_equal(bs_pkeyutl_verify(dir, bs_key_public(k), o, false,
								       dg, 32, der, dl), 0);
			}
			free(raw);
			free(der);
			free(back);
		}
		assert_true(padded);
		bs_key_free(k);
	}
	bs_tmpdir_free(dir);
}

static void test_key__ecdsa_conversion_rejects_bad_input(void **state)
{
	(void)state;
	uint8_t *out = (uint8_t *)"x";
	size_t ol = 9;
	struct bs_error err = {0};
	uint8_t raw[64] = {1};
	assert_int_equal(bs_ecdsa_raw_to_der(&out, &ol, raw, 63, &err), BS_ERR_FORMAT);
	assert_null(out);
	assert_int_equal(ol, 0);
	assert_int_equal(bs_ecdsa_raw_to_der(&out, &ol, raw, 0, &err), BS_ERR_FORMAT);
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01};
	assert_int_equal(bs_ecdsa_der_to_raw(&out, &ol, junk, sizeof(junk), 32, &err),
			 BS_ERR_FORMAT);
	assert_null(out);
	/* a valid DER value with trailing bytes is not one signature */
	raw[32] = 2;
	uint8_t *der = NULL;
	size_t dl = 0;
	assert_int_equal(bs_ecdsa_raw_to_der(&der, &dl, raw, 64, NULL), 0);
	uint8_t longer[80];
	memcpy(longer, der, dl);
	longer[dl] = 0;
	assert_int_equal(bs_ecdsa_der_to_raw(&out, &ol, longer, dl + 1, 32, &err),
			 BS_ERR_FORMAT);
	/* r = 0x01 followed by 31 zero bytes does not fit 16 bytes */
	assert_int_equal(bs_ecdsa_der_to_raw(&out, &ol, der, dl, 16, &err), BS_ERR_FORMAT);
	assert_null(out);
	assert_int_equal(bs_ecdsa_der_to_raw(&out, &ol, der, dl, 32, &err), 0);
	assert_int_equal(ol, 64);
	assert_memory_equal(out, raw, 64);
	free(out);
	free(der);
}

/* Ed25519 file keys sign messages (verified by openssl -rawin), never digests. */
static void test_key__ed25519_signs_messages_only(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	struct bs_key *k = NULL;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	assert_int_equal(bs_key_from_pkey(&k, ed, "ed", NULL), 0);
	assert_int_equal(bs_key_type(k), EVP_PKEY_ED25519);
	static const uint8_t msg[] = "a firmware image, or its header";
	struct bs_sig_params p = {.md_nid = NID_undef};
	uint8_t *sig = NULL;
	size_t sl = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_key_sign_message(k, &p, msg, sizeof(msg), &sig, &sl, &err), 0);
	assert_int_equal(sl, 64);
	assert_int_equal(bs_pkeyutl_verify(dir, bs_key_public(k), NULL, true, msg, sizeof(msg),
					   sig, sl), 0);
	assert_int_not_equal(bs_pkeyutl_verify(dir, bs_key_public(k), NULL, true, msg,
					       sizeof(msg) - 1, sig, sl), 0);
	assert_int_equal(bs_sig_verify_message(bs_key_public(k), &p, msg, sizeof(msg), sig, sl,
					       &err), 0);
	assert_int_equal(bs_sig_verify_message(bs_key_public(k), &p, msg, 3, sig, sl, &err),
			 BS_ERR_VERIFY);
	free(sig);
	/* a digest cannot be signed with pure EdDSA */
	uint8_t dg[32] = {0};
	p.md_nid = NID_sha256;
	sig = (uint8_t *)"x";
	assert_int_equal(bs_key_sign(k, &p, dg, 32, &sig, &sl, &err), BS_ERR_UNSUPPORTED);
	assert_null(sig);
	assert_int_equal(sl, 0);
	assert_int_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 32, &sig, &sl,
					    &err), BS_ERR_UNSUPPORTED);
	assert_int_equal(bs_sig_verify(bs_key_public(k), &p, dg, 32, dg, 32, &err),
			 BS_ERR_UNSUPPORTED);
	/* ...and a digest algorithm or scheme with Ed25519 is a caller error */
	assert_int_equal(bs_key_sign_message(k, &p, msg, sizeof(msg), &sig, &sl, &err),
			 BS_ERR_INVALID);
	assert_null(sig);
	p = (struct bs_sig_params){.scheme = BS_SIG_RSA_PSS};
	assert_int_equal(bs_key_sign_message(k, &p, msg, sizeof(msg), &sig, &sl, &err),
			 BS_ERR_INVALID);
	bs_key_free(k);
	bs_tmpdir_free(dir);
}

/* RSA/EC messages are hashed on the host: the same bytes as signing the digest. */
static void test_key__sign_message_hashes_on_host(void **state)
{
	(void)state;
	struct bs_key *k = NULL;
	assert_int_equal(bs_key_from_pkey(&k, gen("rsa"), "rsa", NULL), 0);
	static const uint8_t msg[] = "payload";
	uint8_t dg[64];
	unsigned dl = 0;
	assert_int_equal(EVP_Digest(msg, sizeof(msg), dg, &dl, EVP_sha384(), NULL), 1);
	struct bs_sig_params p = {.md_nid = NID_sha384};
	uint8_t *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	assert_int_equal(bs_key_sign_message(k, &p, msg, sizeof(msg), &s1, &l1, NULL), 0);
	assert_int_equal(bs_key_sign(k, &p, dg, dl, &s2, &l2, NULL), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	assert_int_equal(bs_sig_verify_message(bs_key_public(k), &p, msg, sizeof(msg), s1, l1,
					       NULL), 0);
	assert_true(verify(bs_key_public(k), NID_sha384, false, s1, l1, dg, dl));
	free(s1);
	free(s2);
	struct bs_error err = {0};
	p.md_nid = NID_undef;
	assert_int_equal(bs_key_sign_message(k, &p, msg, sizeof(msg), &s1, &l1, &err),
			 BS_ERR_UNSUPPORTED);
	assert_null(s1);
	bs_key_free(k);
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
		cmocka_unit_test(test_key__pss_explicit_salt_verified_by_openssl),
		cmocka_unit_test(test_key__ecdsa_raw_fixed_width),
		cmocka_unit_test(test_key__ecdsa_conversion_rejects_bad_input),
		cmocka_unit_test(test_key__ed25519_signs_messages_only),
		cmocka_unit_test(test_key__sign_message_hashes_on_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
