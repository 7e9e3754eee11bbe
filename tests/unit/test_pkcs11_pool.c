/* Session pool tests: fault recovery, timeouts and concurrency, driven through the
 * fault-injecting shim module (tests/shim/p11shim.c, env BS_P11SHIM) in front of a private
 * SoftHSM2 token created here. Every signature is verified with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/error.h"
#include "core/util.h"
#include "keys/pkcs11.h"
#include "testutil.h"

#define SOFTHSM BS_SOFTHSM_MODULE
#define PIN "0001password"
#define URI "pkcs11:token=YubiHSM;object=p256;type=cert;pin-value=password"

static char *g_dir;

static int group_setup(void **state)
{
	(void)state;
	if ((g_dir = bs_tmpdir()) == NULL)
		return -1;
	if (bs_softhsm_init(g_dir, "YubiHSM", PIN) != 0 ||
	    bs_softhsm_add_key(g_dir, "p256", "EC", "ec_paramgen_curve:P-256", PIN, true) != 0)
		return -1;
	bs_shim_env(g_dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bs_tmpdir_free(g_dir);
	return 0;
}

struct fix {
	struct bs_p11 *p11;
	X509 *cert;
	struct bs_key *key;
};

static void fix_open(struct fix *f, size_t pool, unsigned timeout_ms)
{
	bs_shim_ctl("reset_counts=1\n");
	bs_shim_count_remove();
	const char *shim = getenv("BS_P11SHIM");
	assert_non_null(shim);
	struct bs_p11_opts o = {.module = shim, .pin = PIN, .pool_size = pool,
				.op_timeout_ms = timeout_ms};
	struct bs_error e = {0};
	assert_int_equal(bs_p11_open(&f->p11, &o, &e), 0);
	assert_int_equal(bs_p11_uri_loader.load_cert(f->p11, URI, &f->cert, &e), 0);
	int rc = bs_p11_uri_loader.load_key(f->p11, URI, f->cert, &f->key, &e);
	if (rc != 0)
		fprintf(stderr, "load_key: %s\n", e.msg);
	assert_int_equal(rc, 0);
}

static void fix_close(struct fix *f)
{
	bs_key_free(f->key);
	X509_free(f->cert);
	bs_p11_close(f->p11);
}

static int sign(struct fix *f, struct bs_error *e)
{
	uint8_t dg[32];
	SHA256((const unsigned char *)"payload", 7, dg);
	uint8_t *sig = NULL;
	size_t sl = 0;
	int rc = bs_key_sign_digest(f->key, NID_sha256, BS_SIG_DEFAULT, dg, sizeof(dg), &sig,
				    &sl, e);
	if (rc != 0) {
		assert_null(sig);
		return rc;
	}
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(X509_get0_pubkey(f->cert), NULL);
	int ok = c != NULL && EVP_PKEY_verify_init(c) == 1 &&
		 EVP_PKEY_verify(c, sig, sl, dg, sizeof(dg)) == 1;
	EVP_PKEY_CTX_free(c);
	free(sig);
	return ok ? 0 : -1000;
}

static void test_pkcs11_pool__session_invalidated_recovers_once(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 2, 5000);
	assert_int_equal(sign(&f, &e), 0);
	assert_int_equal(bs_shim_count("login"), 1);
	bs_shim_ctl("fail_session=1\n");
	assert_int_equal(sign(&f, &e), 0);     /* re-open, re-login, retried once */
	assert_int_equal(bs_shim_count("login"), 2);
	unsigned long rec = 0, tmo = 0;
	bs_p11_stats(f.p11, &rec, &tmo);
	assert_int_equal(rec, 1);
	assert_int_equal(tmo, 0);
	assert_int_equal(sign(&f, &e), 0);
	assert_int_equal(bs_shim_count("login"), 2);
	fix_close(&f);
}

static void test_pkcs11_pool__persistent_invalid_session_fails_then_recovers(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 2, 5000);
	bs_shim_ctl("fail_session=1000\n");
	assert_int_equal(sign(&f, &e), BS_ERR_TOKEN); /* retried once only */
	assert_non_null(strstr(e.msg, "CKR_SESSION_HANDLE_INVALID"));
	assert_true(bs_shim_count("login") <= 2);
	bs_shim_ctl("");
	assert_int_equal(sign(&f, &e), 0);
	fix_close(&f);
}

static void test_pkcs11_pool__sessions_reclaimed_by_token(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 2, 5000);
	assert_int_equal(sign(&f, &e), 0);
	bs_shim_ctl("close_all=1\n"); /* the token really drops every session (idle reclaim) */
	assert_int_equal(sign(&f, &e), 0);
	assert_int_equal(bs_shim_count("login"), 2);
	fix_close(&f);
}

static void test_pkcs11_pool__device_removed_then_restored(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 2, 5000);
	assert_int_equal(sign(&f, &e), 0);
	bs_shim_ctl("removed=1\n");
	assert_int_equal(sign(&f, &e), BS_ERR_TOKEN);
	assert_non_null(strstr(e.msg, "not present"));
	assert_int_equal(sign(&f, &e), BS_ERR_TOKEN);
	bs_shim_ctl("removed=0\n");
	assert_int_equal(sign(&f, &e), 0);
	assert_int_equal(sign(&f, &e), 0);
	fix_close(&f);
}

static void test_pkcs11_pool__slow_token_times_out_and_recovers(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 1, 300);
	assert_int_equal(sign(&f, &e), 0);
	bs_shim_ctl("sleep_sign_ms=1500\n");
	uint64_t t0 = bs_now_ms();
	assert_int_equal(sign(&f, &e), BS_ERR_TIMEOUT);
	uint64_t dt = bs_now_ms() - t0;
	assert_true(dt >= 290 && dt < 1000);
	unsigned long tmo = 0;
	bs_p11_stats(f.p11, NULL, &tmo);
	assert_int_equal(tmo, 1);
	bs_shim_ctl("");
	/* The only session is quarantined while its call is stuck: callers are told busy,
	 * they do not hang. */
	t0 = bs_now_ms();
	assert_int_equal(sign(&f, &e), BS_ERR_BUSY);
	assert_true(bs_now_ms() - t0 < 1000);
	/* Once the stuck call returns, a fresh session serves requests again. */
	int rc = BS_ERR_BUSY;
	for (int i = 0; i < 20 && rc != 0; i++)
		rc = sign(&f, &e);
	assert_int_equal(rc, 0);
	assert_int_equal(sign(&f, &e), 0);
	fix_close(&f);
}

static void test_pkcs11_pool__close_waits_for_stuck_call(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 2, 200);
	bs_shim_ctl("sleep_sign_ms=600\n");
	assert_int_equal(sign(&f, &e), BS_ERR_TIMEOUT);
	uint64_t t0 = bs_now_ms();
	fix_close(&f); /* joins the stuck worker; must not hang or crash */
	assert_true(bs_now_ms() - t0 < 3000);
	bs_shim_ctl("");
}

struct worker_arg {
	struct fix *f;
	int failures;
};

static void *signer(void *p)
{
	struct worker_arg *a = p;
	for (int i = 0; i < 20; i++) {
		struct bs_error e = {0};
		if (sign(a->f, &e) != 0) {
			fprintf(stderr, "sign: %s\n", e.msg);
			a->failures++;
		}
	}
	return NULL;
}

static void *sign_once(void *p)
{
	struct bs_error e = {0};
	((struct worker_arg *)p)->failures = sign(((struct worker_arg *)p)->f, &e) != 0;
	return NULL;
}

/* /metrics' view of a pool: one session busy in a slow signature, one caller waiting for
 * it; both gone afterwards. */
static void test_pkcs11_pool__stats_in_use_and_waiting(void **s)
{
	(void)s;
	struct fix f;
	fix_open(&f, 1, 10000);
	struct bs_pool_stats st[2];
	assert_int_equal(bs_p11_pool_stats(f.p11, st, 2), 1);
	assert_string_equal(st[0].token, "YubiHSM");
	assert_int_equal(st[0].sessions, 1);
	assert_int_equal(st[0].in_use, 0);
	assert_int_equal(st[0].waiting, 0);
	bs_shim_ctl("sleep_sign_ms=1500\n");
	struct worker_arg a = {&f, 0}, b = {&f, 0};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, sign_once, &a), 0);
	for (int i = 0; i < 100 && (bs_p11_pool_stats(f.p11, st, 2), st[0].in_use == 0); i++)
		usleep(10000);
	assert_int_equal(st[0].in_use, 1);
	assert_int_equal(pthread_create(&tb, NULL, sign_once, &b), 0);
	for (int i = 0; i < 100 && (bs_p11_pool_stats(f.p11, st, 2), st[0].waiting == 0); i++)
		usleep(10000);
	assert_int_equal(st[0].waiting, 1);
	assert_int_equal(st[0].in_use, 1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	bs_shim_ctl("");
	assert_int_equal(a.failures + b.failures, 0);
	assert_int_equal(bs_p11_pool_stats(f.p11, st, 2), 1);
	assert_int_equal(st[0].in_use, 0);
	assert_int_equal(st[0].waiting, 0);
	fix_close(&f);
}

static void test_pkcs11_pool__sixteen_threads_share_four_sessions(void **s)
{
	(void)s;
	struct fix f;
	fix_open(&f, 4, 30000);
	pthread_t th[16];
	struct worker_arg args[16];
	for (int i = 0; i < 16; i++) {
		args[i] = (struct worker_arg){&f, 0};
		assert_int_equal(pthread_create(&th[i], NULL, signer, &args[i]), 0);
	}
	int failures = 0;
	for (int i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		failures += args[i].failures;
	}
	assert_int_equal(failures, 0);
	assert_int_equal(bs_shim_count("sign"), 16 * 20);
	assert_int_equal(bs_shim_count("login"), 1);
	assert_true(bs_shim_count("open") <= 4);
	fix_close(&f);
}

static void test_pkcs11_pool__keepalive_touches_idle_sessions(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 2, 5000);
	bs_p11_set_keepalive(f.p11, 150);
	assert_int_equal(sign(&f, &e), 0);
	assert_int_equal(bs_shim_count("sessinfo"), 0);
	struct timespec ts = {0, 700 * 1000000L};
	nanosleep(&ts, NULL);
	assert_true(bs_shim_count("sessinfo") >= 2); /* idle sessions were touched, repeatedly */
	bs_p11_set_keepalive(f.p11, 0);
	assert_int_equal(sign(&f, &e), 0);
	assert_int_equal(bs_shim_count("login"), 1);
	fix_close(&f);
}

static uint64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A session closed after a stuck call (or lost) leaves its worker without one: that worker
 * waits for work, it does not spin on a keepalive deadline already past (one core at 100 %
 * for the rest of the process's life after a single token time-out). */
static void test_pkcs11_pool__no_spin_after_a_stuck_call(void **s)
{
	(void)s;
	struct fix f;
	struct bs_error e = {0};
	fix_open(&f, 1, 200);
	bs_p11_set_keepalive(f.p11, 100);
	assert_int_equal(sign(&f, &e), 0);
	bs_shim_ctl("sleep_sign_ms=400\n");
	assert_int_equal(sign(&f, &e), BS_ERR_TIMEOUT);
	bs_shim_ctl("");
	struct timespec ts = {0, 700 * 1000000L}; /* the stuck call returns, its session goes */
	nanosleep(&ts, NULL);
	uint64_t c0 = cpu_ms();
	nanosleep(&ts, NULL);
	uint64_t used = cpu_ms() - c0;
	if (used > 150)
		fail_msg("%llu ms of CPU in 700 ms idle", (unsigned long long)used);
	int rc = BS_ERR_BUSY; /* and the pool still serves */
	for (int i = 0; i < 20 && rc != 0; i++)
		rc = sign(&f, &e);
	assert_int_equal(rc, 0);
	fix_close(&f);
}

static void test_pkcs11_pool__reclaim_during_concurrent_signing(void **s)
{
	(void)s;
	struct fix f;
	fix_open(&f, 4, 30000);
	pthread_t th[8];
	struct worker_arg args[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (struct worker_arg){&f, 0};
		assert_int_equal(pthread_create(&th[i], NULL, signer, &args[i]), 0);
	}
	struct timespec ts = {0, 1000000L};
	for (int i = 0; i < 5000 && bs_shim_count("sign") < 16; i++)
		nanosleep(&ts, NULL);
	bs_shim_ctl("close_all=1\n"); /* the token drops every session while signatures run */
	int failures = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		failures += args[i].failures;
	}
	assert_int_equal(failures, 0);
	unsigned long rec = 0;
	bs_p11_stats(f.p11, &rec, NULL);
	assert_true(rec >= 1);
	assert_true(bs_shim_count("login") >= 2);
	fix_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcs11_pool__session_invalidated_recovers_once),
		cmocka_unit_test(test_pkcs11_pool__persistent_invalid_session_fails_then_recovers),
		cmocka_unit_test(test_pkcs11_pool__sessions_reclaimed_by_token),
		cmocka_unit_test(test_pkcs11_pool__device_removed_then_restored),
		cmocka_unit_test(test_pkcs11_pool__slow_token_times_out_and_recovers),
		cmocka_unit_test(test_pkcs11_pool__stats_in_use_and_waiting),
		cmocka_unit_test(test_pkcs11_pool__close_waits_for_stuck_call),
		cmocka_unit_test(test_pkcs11_pool__sixteen_threads_share_four_sessions),
		cmocka_unit_test(test_pkcs11_pool__keepalive_touches_idle_sessions),
		cmocka_unit_test(test_pkcs11_pool__no_spin_after_a_stuck_call),
		cmocka_unit_test(test_pkcs11_pool__reclaim_during_concurrent_signing),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
