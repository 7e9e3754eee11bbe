/* Unit tests for src/auth/tlskey: real GnuTLS handshakes, in process over a socketpair,
 * with the server's private key behind the key interface. The client (GnuTLS) pins one
 * signature algorithm at a time and checks the server's signature with the certificate's
 * public key, so each handshake that completes is an independent verification of one
 * external-key signature (RSA PKCS#1 v1.5 and RSA-PSS in TLS 1.2, RSA-PSS in TLS 1.3,
 * ECDSA P-256/P-384 in both, Ed25519). A key that fails to sign fails the handshake;
 * start-up errors name tls_cert / tls_key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/tlskey.h"
#include "core/util.h"
#include "crypto/key.h"
#include "testutil.h"

static char *g_dir;

/* A key that counts its signatures and can be told to fail (a key process that died). */
static struct {
	unsigned calls;
	bool fail;
} g_wrap;

static int wrap_sign(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
		     size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	g_wrap.calls++;
	if (g_wrap.fail)
		return bs_error_set(err, BS_ERR_BUSY, "key process restarting");
	uint8_t *s = NULL;
	size_t l = 0;
	int rc = bs_key_sign(ctx, p, dgst, dlen, &s, &l, err);
	if (rc == 0 && l > *siglen)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "signature too long");
	if (rc == 0) {
		memcpy(sig, s, l);
		*siglen = l;
	}
	free(s);
	return rc;
}

static int wrap_sign_message(void *ctx, const struct bs_sig_params *p, const uint8_t *msg,
			     size_t len, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	g_wrap.calls++;
	if (g_wrap.fail)
		return bs_error_set(err, BS_ERR_BUSY, "key process restarting");
	uint8_t *s = NULL;
	size_t l = 0;
	int rc = bs_key_sign_message(ctx, p, msg, len, &s, &l, err);
	if (rc == 0 && l <= *siglen) {
		memcpy(sig, s, l);
		*siglen = l;
	}
	free(s);
	return rc;
}

static void wrap_free(void *ctx)
{
	bs_key_free(ctx);
}

static const struct bs_key_ops g_wrap_ops = {
	.sign_digest = wrap_sign, .free = wrap_free, .sign_message = wrap_sign_message};

/* dir/name.key + a self-signed dir/name.crt from `openssl req -newkey spec [-pkeyopt]`. */
static void make_pair(const char *name, const char *spec, const char *opt)
{
	char key[600], crt[600];
	snprintf(key, sizeof(key), "%s/%s.key", g_dir, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", g_dir, name);
	const char *argv[] = {"openssl", "req", "-x509", "-nodes", "-days", "2", "-subj",
			      "/CN=127.0.0.1", "-newkey", spec, "-keyout", key, "-out", crt,
			      opt != NULL ? "-pkeyopt" : NULL, opt, NULL};
	bs_test_run_ok(argv);
}

/* The credentials for dir/name.{crt,key}, the key wrapped in the counting key. */
static int load(struct bs_tlskey **out, const char *cert, const char *name,
		struct bs_error *err)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s.key", g_dir, name);
	EVP_PKEY *pk = bs_read_pem_key(path, NULL);
	assert_non_null(pk);
	struct bs_key *inner = NULL, *key = NULL;
	assert_int_equal(bs_key_from_pkey(&inner, pk, name, err), 0);
	EVP_PKEY *pub = bs_key_public(inner);
	EVP_PKEY_up_ref(pub);
	assert_int_equal(bs_key_new(&key, &g_wrap_ops, inner, pub, name, err), 0);
	snprintf(path, sizeof(path), "%s/%s.crt", g_dir, cert);
	uint8_t *pem = NULL;
	size_t len = 0;
	assert_int_equal(bs_read_file(&pem, &len, path, 1 << 20, err), 0);
	int rc = bs_tlskey_new(out, (char *)pem, len, path, key, err);
	free(pem);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	g_dir = bs_tmpdir();
	make_pair("rsa", "rsa:2048", NULL);
	make_pair("p256", "ec", "ec_paramgen_curve:P-256");
	make_pair("p384", "ec", "ec_paramgen_curve:P-384");
	make_pair("ed25519", "ed25519", NULL);
	make_pair("p224", "ec", "ec_paramgen_curve:P-224");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bs_tmpdir_free(g_dir);
	return 0;
}

/* Both ends of a handshake, stepped in turn over a non-blocking socketpair. */
static int handshake(gnutls_session_t c, gnutls_session_t s)
{
	int rc = GNUTLS_E_AGAIN, rs = GNUTLS_E_AGAIN;
	for (int i = 0; i < 10000 && (rc != 0 || rs != 0); i++) {
		if (rc != 0 && (rc = gnutls_handshake(c)) < 0 && gnutls_error_is_fatal(rc))
			return rc;
		if (rs != 0 && (rs = gnutls_handshake(s)) < 0 && gnutls_error_is_fatal(rs))
			return rs;
	}
	return rc != 0 ? rc : rs;
}

/* One handshake: the server with the installed credentials (as libmicrohttpd sets them
 * up) and BS_TLS_PRIORITIES, a client with `prio`. Returns the handshake result; *alg is
 * the signature algorithm the client saw. */
static int connect_with(const char *prio, gnutls_sign_algorithm_t *alg)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	gnutls_certificate_credentials_t scred = NULL, ccred = NULL;
	gnutls_session_t s = NULL, c = NULL;
	assert_int_equal(gnutls_certificate_allocate_credentials(&scred), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&ccred), 0);
	gnutls_certificate_set_retrieve_function2(scred, bs_tlskey_retrieve);
	assert_int_equal(gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK), 0);
	assert_int_equal(gnutls_init(&c, GNUTLS_CLIENT | GNUTLS_NONBLOCK), 0);
	assert_int_equal(gnutls_priority_set_direct(s, BS_TLS_PRIORITIES, NULL), 0);
	assert_int_equal(gnutls_priority_set_direct(c, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, scred), 0);
	assert_int_equal(gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, ccred), 0);
	gnutls_transport_set_int(s, sv[0]);
	gnutls_transport_set_int(c, sv[1]);
	int rc = handshake(c, s);
	*alg = rc == 0 ? gnutls_sign_algorithm_get(c) : GNUTLS_SIGN_UNKNOWN;
	gnutls_deinit(c);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(ccred);
	gnutls_certificate_free_credentials(scred);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

struct tls_case {
	const char *key;
	const char *version; /* "TLS1.2" or "TLS1.3" */
	const char *sign;    /* GnuTLS priority name of the one signature algorithm */
	gnutls_sign_algorithm_t expect;
};

static void run_cases(const struct tls_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tls_case *k = &cases[i];
		struct bs_tlskey *t = NULL;
		struct bs_error err = {0};
		assert_int_equal(load(&t, k->key, k->key, &err), 0);
		assert_int_equal(bs_tlskey_install(t, &err), 0);
		char prio[200];
		snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-%s:-SIGN-ALL:+SIGN-%s",
			 k->version, k->sign);
		g_wrap.calls = 0;
		gnutls_sign_algorithm_t alg = GNUTLS_SIGN_UNKNOWN;
		int rc = connect_with(prio, &alg);
		if (rc != 0)
			fail_msg("%s %s %s: %s", k->key, k->version, k->sign, gnutls_strerror(rc));
		assert_int_equal(alg, k->expect);
		assert_int_equal(g_wrap.calls, 1); /* the one signature went through the key */
		bs_tlskey_free(t);
	}
}

static void test_auth_tlskey__rsa_handshakes(void **state)
{
	(void)state;
	const struct tls_case cases[] = {
		{"rsa", "TLS1.2", "RSA-SHA256", GNUTLS_SIGN_RSA_SHA256},
		{"rsa", "TLS1.2", "RSA-SHA384", GNUTLS_SIGN_RSA_SHA384},
		{"rsa", "TLS1.2", "RSA-SHA512", GNUTLS_SIGN_RSA_SHA512},
		{"rsa", "TLS1.2", "RSA-PSS-RSAE-SHA256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256},
		{"rsa", "TLS1.2", "RSA-PSS-RSAE-SHA512", GNUTLS_SIGN_RSA_PSS_RSAE_SHA512},
		{"rsa", "TLS1.3", "RSA-PSS-RSAE-SHA256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256},
		{"rsa", "TLS1.3", "RSA-PSS-RSAE-SHA384", GNUTLS_SIGN_RSA_PSS_RSAE_SHA384},
	};
	run_cases(cases, BS_ARRAY_SIZE(cases));
}

static void test_auth_tlskey__ecdsa_and_ed25519_handshakes(void **state)
{
	(void)state;
	const struct tls_case cases[] = {
		{"p256", "TLS1.2", "ECDSA-SHA256", GNUTLS_SIGN_ECDSA_SHA256},
		{"p256", "TLS1.2", "ECDSA-SHA384", GNUTLS_SIGN_ECDSA_SHA384},
		{"p256", "TLS1.3", "ECDSA-SECP256R1-SHA256", GNUTLS_SIGN_ECDSA_SECP256R1_SHA256},
		{"p384", "TLS1.2", "ECDSA-SHA512", GNUTLS_SIGN_ECDSA_SHA512},
		{"p384", "TLS1.3", "ECDSA-SECP384R1-SHA384", GNUTLS_SIGN_ECDSA_SECP384R1_SHA384},
		{"ed25519", "TLS1.3", "EDDSA-ED25519", GNUTLS_SIGN_EDDSA_ED25519},
		{"ed25519", "TLS1.2", "EDDSA-ED25519", GNUTLS_SIGN_EDDSA_ED25519},
	};
	run_cases(cases, BS_ARRAY_SIZE(cases));
}

/* What the key cannot do is not offered: a P-256 key in TLS 1.3 has no SHA-384 scheme,
 * an RSA key no PKCS#1 v1.5 in TLS 1.3; a failing key fails the handshake. */
static void test_auth_tlskey__refusals(void **state)
{
	(void)state;
	struct bs_tlskey *t = NULL;
	struct bs_error err = {0};
	gnutls_sign_algorithm_t alg;
	assert_int_equal(load(&t, "p256", "p256", &err), 0);
	assert_int_equal(bs_tlskey_install(t, &err), 0);
	g_wrap.calls = 0;
	assert_true(connect_with("NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-ALL:"
				 "+SIGN-ECDSA-SECP384R1-SHA384", &alg) < 0);
	assert_int_equal(g_wrap.calls, 0);
	/* a key process that cannot sign: the handshake fails, nothing else */
	g_wrap.fail = true;
	assert_true(connect_with("NORMAL", &alg) < 0);
	assert_true(g_wrap.calls >= 1);
	g_wrap.fail = false;
	assert_int_equal(connect_with("NORMAL", &alg), 0);
	bs_tlskey_free(t);
	assert_int_equal(load(&t, "rsa", "rsa", &err), 0);
	assert_int_equal(bs_tlskey_install(t, &err), 0);
	assert_true(connect_with("NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-SHA256:"
				 "+SIGN-ECDSA-SECP256R1-SHA256", &alg) < 0);
	bs_tlskey_free(t);
}

/* The raw RSA path GnuTLS uses for PKCS#1 v1.5: a SHA-2 DigestInfo is signed (OpenSSL
 * verifies it), TLS 1.0's bare MD5+SHA-1 concatenation is refused. */
static void test_auth_tlskey__raw_rsa(void **state)
{
	(void)state;
	struct bs_tlskey *t = NULL;
	struct bs_error err = {0};
	assert_int_equal(load(&t, "rsa", "rsa", &err), 0);
	gnutls_pcert_st *pc = NULL;
	unsigned n = 0;
	gnutls_privkey_t priv = NULL;
	bs_tlskey_get(t, &pc, &n, &priv);
	assert_int_equal(n, 1);
	uint8_t md[32];
	unsigned mdlen = 0;
	assert_int_equal(EVP_Digest("hello", 5, md, &mdlen, EVP_sha256(), NULL), 1);
	gnutls_datum_t h = {md, 32}, sig = {0};
	assert_int_equal(gnutls_privkey_sign_hash(priv, GNUTLS_DIG_SHA256, 0, &h, &sig), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/rsa.key", g_dir);
	EVP_PKEY *pk = bs_read_pem_key(path, NULL);
	EVP_PKEY_CTX *v = EVP_PKEY_CTX_new(pk, NULL);
	assert_int_equal(EVP_PKEY_verify_init(v), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(v, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_verify(v, sig.data, sig.size, md, 32), 1);
	EVP_PKEY_CTX_free(v);
	EVP_PKEY_free(pk);
	gnutls_free(sig.data);
	uint8_t md5sha1[36] = {1, 2, 3};
	gnutls_datum_t raw = {md5sha1, sizeof(md5sha1)};
	g_wrap.calls = 0;
	assert_true(gnutls_privkey_sign_hash(priv, 0, GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA, &raw,
					     &sig) < 0);
	assert_int_equal(g_wrap.calls, 0);
	bs_tlskey_free(t);
}

/* TLS 1.2 and 1.3 only, and no static RSA key exchange (the key never decrypts). */
static void test_auth_tlskey__priorities(void **state)
{
	(void)state;
	gnutls_priority_t p = NULL;
	assert_int_equal(gnutls_priority_init(&p, BS_TLS_PRIORITIES, NULL), 0);
	const unsigned *list = NULL;
	int n = gnutls_priority_protocol_list(p, &list);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_true(list[i] == GNUTLS_TLS1_2 || list[i] == GNUTLS_TLS1_3);
	n = gnutls_priority_kx_list(p, &list);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(list[i], GNUTLS_KX_RSA);
	gnutls_priority_deinit(p);
}

static void test_auth_tlskey__start_up_errors(void **state)
{
	(void)state;
	struct bs_tlskey *t = NULL, *t2 = NULL;
	struct bs_error err = {0};
	char crt[600], msg[1400];
	snprintf(crt, sizeof(crt), "%s/rsa.crt", g_dir);
	snprintf(msg, sizeof(msg), "tls_key does not belong to the certificate in tls_cert %s",
		 crt);
	assert_int_equal(load(&t, "rsa", "p256", &err), BS_ERR_CONFIG);
	assert_null(t);
	assert_string_equal(err.msg, msg);
	assert_int_equal(load(&t, "p224", "p224", &err), BS_ERR_CONFIG);
	assert_string_equal(err.msg, "tls_key: TLS needs an RSA, ECDSA P-256, P-384, P-521 or "
				     "Ed25519 key");
	/* not a certificate; none; more than the chain allows */
	char path[600];
	snprintf(path, sizeof(path), "%s/bad.crt", g_dir);
	bs_write(path, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
		 66);
	assert_int_equal(load(&t, "bad", "rsa", &err), BS_ERR_CONFIG);
	assert_true(strncmp(err.msg, "tls_cert ", 9) == 0);
	snprintf(path, sizeof(path), "%s/none.crt", g_dir);
	bs_write(path, "hello\n", 6);
	assert_int_equal(load(&t, "none", "rsa", &err), BS_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "none.crt: "));
	uint8_t *one = NULL;
	size_t len = 0;
	assert_int_equal(bs_read_file(&one, &len, crt, 1 << 20, &err), 0);
	snprintf(path, sizeof(path), "%s/long.crt", g_dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < BS_TLS_CHAIN_MAX + 1; i++)
		fwrite(one, 1, len, f);
	fclose(f);
	free(one);
	assert_int_equal(load(&t, "long", "rsa", &err), BS_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "long.crt: more than 16 certificates"));
	/* one installed at a time; freeing uninstalls */
	assert_int_equal(load(&t, "rsa", "rsa", &err), 0);
	assert_int_equal(load(&t2, "p256", "p256", &err), 0);
	assert_int_equal(bs_tlskey_install(t, &err), 0);
	assert_int_equal(bs_tlskey_install(t, &err), 0);
	assert_int_equal(bs_tlskey_install(t2, &err), BS_ERR_BUSY);
	gnutls_pcert_st *pc = NULL;
	unsigned n = 0;
	gnutls_privkey_t priv = NULL;
	assert_int_equal(bs_tlskey_retrieve(NULL, NULL, 0, NULL, 0, &pc, &n, &priv), 0);
	assert_int_equal(n, 1);
	bs_tlskey_free(t);
	assert_int_equal(bs_tlskey_retrieve(NULL, NULL, 0, NULL, 0, &pc, &n, &priv), -1);
	assert_int_equal(bs_tlskey_install(t2, &err), 0);
	bs_tlskey_free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_tlskey__rsa_handshakes),
		cmocka_unit_test(test_auth_tlskey__ecdsa_and_ed25519_handshakes),
		cmocka_unit_test(test_auth_tlskey__refusals),
		cmocka_unit_test(test_auth_tlskey__raw_rsa),
		cmocka_unit_test(test_auth_tlskey__priorities),
		cmocka_unit_test(test_auth_tlskey__start_up_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
