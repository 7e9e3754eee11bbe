/* Unit tests for the server's token object cache (src/sign/tokcache.c) against a private
 * SoftHSM2 token: objects are looked up once and reused, signatures made through cached
 * keys verify with OpenSSL against the token's certificate, entries expire after the TTL,
 * and a key removed from the token is dropped after its first failed signature. */
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
#include <time.h>

#include "core/util.h"
#include "crypto/key.h"
#include "keys/pkcs11.h"
#include "keys/tokcache.h"
#include "testutil.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "0001password"
#define URI "pkcs11:token=YubiHSM;object=p256;type=cert"

static char *g_dir;

static int run(const char *const *argv)
{
	return bs_test_run(argv, "/dev/null");
}

static int group_setup(void **state)
{
	(void)state;
	if ((g_dir = bs_tmpdir()) == NULL)
		return -1;
	char conf[1024], path[1024], tok[1024], key[1024], crt[1024];
	snprintf(conf, sizeof(conf), "directories.tokendir = %s/tokens\nobjectstore.backend = "
		 "file\nlog.level = ERROR\n", g_dir);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", g_dir);
	snprintf(tok, sizeof(tok), "%s/tokens", g_dir);
	snprintf(key, sizeof(key), "%s/p256.key", g_dir);
	snprintf(crt, sizeof(crt), "%s/p256.crt", g_dir);
	struct bs_error e;
	if (bs_write_file(path, conf, strlen(conf), 0600, false, &e) != 0)
		return -1;
	setenv("SOFTHSM2_CONF", path, 1);
	const char *mk[] = {"mkdir", tok, NULL};
	const char *init[] = {"softhsm2-util", "--init-token", "--free", "--label", "YubiHSM",
			      "--pin", PIN, "--so-pin", "12345678", NULL};
	const char *gen[] = {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
			     "ec_paramgen_curve:P-256", "-out", key, NULL};
	const char *req[] = {"openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=p",
			     "-days", "2", "-out", crt, NULL};
	const char *wk[] = {"pkcs11-tool", "--module", SOFTHSM, "--login", "--pin", PIN,
			    "--write-object", key, "--type", "privkey", "--label", "p256", NULL};
	const char *wc[] = {"pkcs11-tool", "--module", SOFTHSM, "--login", "--pin", PIN,
			    "--write-object", crt, "--type", "cert", "--label", "p256", NULL};
	if (run(mk) || run(init) || run(gen) || run(req) || run(wk) || run(wc))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bs_tmpdir_remove(g_dir);
	free(g_dir);
	return 0;
}

struct fx {
	struct bs_p11 *p11;
	struct bs_tokcache *tc;
};

static struct fx open_fx(unsigned ttl_ms)
{
	struct fx f = {0};
	struct bs_p11_opts o = {.module = SOFTHSM, .pin = PIN, .pool_size = 2,
				.op_timeout_ms = 10000};
	struct bs_error e = {0};
	assert_int_equal(bs_p11_open(&f.p11, &o, &e), 0);
	assert_int_equal(bs_tokcache_new(&f.tc, ttl_ms, &e), 0);
	return f;
}

static void close_fx(struct fx *f)
{
	bs_tokcache_free(f->tc); /* before the token context it holds keys of */
	bs_p11_close(f->p11);
}

/* Sign a digest through `key` and check the signature with OpenSSL and the certificate. */
static void sign_and_verify(struct bs_key *key, X509 *cert)
{
	uint8_t dg[32];
	memset(dg, 0x5a, sizeof(dg));
	uint8_t *sig = NULL;
	size_t len = 0;
	struct bs_error e = {0};
	assert_int_equal(bs_key_sign_digest(key, NID_sha256, BS_SIG_DEFAULT, dg, 32, &sig, &len,
					    &e), 0);
	EVP_PKEY_CTX *v = EVP_PKEY_CTX_new(X509_get0_pubkey(cert), NULL);
	assert_non_null(v);
	assert_int_equal(EVP_PKEY_verify_init(v), 1);
	assert_int_equal(EVP_PKEY_verify(v, sig, len, dg, 32), 1);
	dg[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(v, sig, len, dg, 32), 1);
	EVP_PKEY_CTX_free(v);
	free(sig);
}

static void test_http_tokcache__objects_reused(void **state)
{
	(void)state;
	struct fx f = open_fx(60000);
	const struct bs_uri_loader *l = bs_tokcache_loader(f.tc, f.p11);
	struct bs_error e = {0};
	X509 *c1 = NULL, *c2 = NULL;
	struct bs_key *k1 = NULL, *k2 = NULL;
	assert_int_equal(l->load_cert(f.tc, URI, &c1, &e), 0);
	assert_int_equal(l->load_key(f.tc, URI, c1, &k1, &e), 0);
	assert_int_equal(bs_tokcache_misses(f.tc), 2);
	assert_int_equal(l->load_cert(f.tc, URI, &c2, &e), 0);
	assert_int_equal(l->load_key(f.tc, URI, c2, &k2, &e), 0);
	assert_int_equal(bs_tokcache_misses(f.tc), 2); /* both served from the cache */
	assert_ptr_equal(c1, c2);
	/* the same token certificate the uncached loader returns */
	X509 *direct = NULL;
	assert_int_equal(bs_p11_uri_loader.load_cert(f.p11, URI, &direct, &e), 0);
	assert_int_equal(X509_cmp(direct, c2), 0);
	X509_free(direct);
	/* requests own their key objects: freeing one leaves the other usable */
	sign_and_verify(k1, c1);
	bs_key_free(k1);
	sign_and_verify(k2, c2);
	bs_key_free(k2);
	X509_free(c1);
	X509_free(c2);
	/* a different token context empties the cache */
	struct fx g = open_fx(60000);
	bs_tokcache_loader(f.tc, g.p11);
	assert_int_equal(l->load_cert(f.tc, URI, &c1, &e), 0);
	assert_int_equal(bs_tokcache_misses(f.tc), 3);
	X509_free(c1);
	close_fx(&f);
	bs_tokcache_free(g.tc);
	bs_p11_close(g.p11);
}

static void test_http_tokcache__entries_expire(void **state)
{
	(void)state;
	struct fx f = open_fx(20);
	const struct bs_uri_loader *l = bs_tokcache_loader(f.tc, f.p11);
	struct bs_error e = {0};
	X509 *c = NULL;
	assert_int_equal(l->load_cert(f.tc, URI, &c, &e), 0);
	X509_free(c);
	struct timespec ts = {0, 40 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_int_equal(l->load_cert(f.tc, URI, &c, &e), 0);
	assert_int_equal(bs_tokcache_misses(f.tc), 2);
	X509_free(c);
	close_fx(&f);
}

/* Last test of the group: it deletes the token key. */
static void test_http_tokcache__removed_key_dropped(void **state)
{
	(void)state;
	struct fx f = open_fx(60000);
	const struct bs_uri_loader *l = bs_tokcache_loader(f.tc, f.p11);
	struct bs_error e = {0};
	X509 *c = NULL;
	struct bs_key *k = NULL;
	assert_int_equal(l->load_cert(f.tc, URI, &c, &e), 0);
	assert_int_equal(l->load_key(f.tc, URI, c, &k, &e), 0);
	const char *del[] = {"pkcs11-tool", "--module", SOFTHSM, "--login", "--pin", PIN,
			     "--delete-object", "--type", "privkey", "--label", "p256", NULL};
	assert_int_equal(run(del), 0);
	uint8_t dg[32] = {1}, *sig = NULL;
	size_t len = 0;
	assert_int_not_equal(bs_key_sign_digest(k, NID_sha256, BS_SIG_DEFAULT, dg, 32, &sig,
						&len, &e), 0);
	assert_null(sig);
	bs_key_free(k);
	unsigned long before = bs_tokcache_misses(f.tc);
	k = NULL;
	assert_int_not_equal(l->load_key(f.tc, URI, c, &k, &e), 0); /* asked the token again */
	assert_null(k);
	assert_int_equal(bs_tokcache_misses(f.tc), before + 1);
	X509_free(c);
	close_fx(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_tokcache__objects_reused),
		cmocka_unit_test(test_http_tokcache__entries_expire),
		cmocka_unit_test(test_http_tokcache__removed_key_dropped),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
