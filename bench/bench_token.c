/* Token signing rate: raw PKCS#11 (each thread its own session, C_SignInit + C_Sign loop)
 * vs bs_key_sign_digest through the bs_p11 session pool, at several concurrencies.
 *
 * usage: bench_token [--module PATH] [--token LABEL] [--n SIGNATURES] [--pool N]
 *                    [--conc 1,4,16]
 * PIN from $BOOTSIGN_PIN. Generates two token keys (bench-rsa2048, bench-p256) on first
 * use. Run through bench/bench_token.sh, which builds it and makes a throwaway SoftHSM2
 * token. */
#include <dlfcn.h>
#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "keys/pkcs11.h"

static const char *g_module = "/usr/lib/softhsm/libsofthsm2.so";
static const char *g_token = "YubiHSM";
static const char *g_pin;
static int g_n = 2000;
static size_t g_pool = 4;
static int g_conc[8] = {1, 4, 16};
static int g_nconc = 3;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- raw PKCS#11 ---- */

struct raw {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	const char *label;
	bool ec;
	int todo;
	int fails;
	pthread_mutex_t lock;
};

static const uint8_t g_sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
					  0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
					  0x20};

static void *raw_thread(void *p)
{
	struct raw *r = p;
	CK_SESSION_HANDLE s;
	if (r->f->C_OpenSession(r->slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
		r->fails++;
		return NULL;
	}
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
			    {CKA_LABEL, (void *)r->label, strlen(r->label)}};
	CK_OBJECT_HANDLE k;
	CK_ULONG n = 0;
	r->f->C_FindObjectsInit(s, t, 2);
	r->f->C_FindObjects(s, &k, 1, &n);
	r->f->C_FindObjectsFinal(s);
	uint8_t in[64], sig[1024];
	size_t inlen;
	SHA256((const unsigned char *)"bench", 5, in + sizeof(g_sha256_prefix));
	memcpy(in, g_sha256_prefix, sizeof(g_sha256_prefix));
	inlen = sizeof(g_sha256_prefix) + 32;
	CK_MECHANISM m = {r->ec ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0};
	const uint8_t *data = r->ec ? in + sizeof(g_sha256_prefix) : in;
	size_t dlen = r->ec ? 32 : inlen;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		bool go = r->todo > 0;
		r->todo--;
		pthread_mutex_unlock(&r->lock);
		if (!go || n != 1)
			break;
		CK_ULONG sl = sizeof(sig);
		if (r->f->C_SignInit(s, &m, k) != CKR_OK ||
		    r->f->C_Sign(s, (CK_BYTE *)data, dlen, sig, &sl) != CKR_OK) {
			pthread_mutex_lock(&r->lock);
			r->fails++;
			pthread_mutex_unlock(&r->lock);
		}
	}
	if (n != 1)
		r->fails++;
	r->f->C_CloseSession(s);
	return NULL;
}

static double raw_rate(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, const char *label, bool ec,
		       int conc, int *fails)
{
	struct raw r = {.f = f, .slot = slot, .label = label, .ec = ec, .todo = g_n};
	pthread_mutex_init(&r.lock, NULL);
	pthread_t th[64];
	double t0 = now_s();
	for (int i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, raw_thread, &r);
	for (int i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	double dt = now_s() - t0;
	pthread_mutex_destroy(&r.lock);
	*fails = r.fails;
	return g_n / dt;
}

/* ---- through the pool ---- */

struct pooled {
	struct bs_key *key;
	int todo;
	int fails;
	pthread_mutex_t lock;
};

static void *pool_thread(void *p)
{
	struct pooled *q = p;
	uint8_t dg[32];
	SHA256((const unsigned char *)"bench", 5, dg);
	for (;;) {
		pthread_mutex_lock(&q->lock);
		bool go = q->todo > 0;
		q->todo--;
		pthread_mutex_unlock(&q->lock);
		if (!go)
			break;
		uint8_t *sig = NULL;
		size_t sl = 0;
		struct bs_error e = {0};
		if (bs_key_sign_digest(q->key, NID_sha256, BS_SIG_DEFAULT, dg, 32, &sig, &sl, &e)) {
			pthread_mutex_lock(&q->lock);
			if (q->fails++ == 0)
				fprintf(stderr, "sign: %s\n", e.msg);
			pthread_mutex_unlock(&q->lock);
		}
		free(sig);
	}
	return NULL;
}

static double pool_rate(struct bs_key *key, int conc, int *fails)
{
	struct pooled q = {.key = key, .todo = g_n};
	pthread_mutex_init(&q.lock, NULL);
	pthread_t th[64];
	double t0 = now_s();
	for (int i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, pool_thread, &q);
	for (int i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	double dt = now_s() - t0;
	pthread_mutex_destroy(&q.lock);
	*fails = q.fails;
	return g_n / dt;
}

static struct bs_key *get_key(struct bs_p11 *p11, const char *type, const char *label)
{
	char uri[256];
	snprintf(uri, sizeof(uri), "pkcs11:token=%s", g_token);
	struct bs_key *k = NULL;
	struct bs_error e = {0};
	if (bs_p11_generate(p11, uri, type, label, NULL, 0, &k, &e) != 0) {
		fprintf(stderr, "generate %s: %s\n", label, e.msg);
		return NULL;
	}
	return k;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			return -1;
		if (strcmp(argv[i], "--module") == 0)
			g_module = v;
		else if (strcmp(argv[i], "--token") == 0)
			g_token = v;
		else if (strcmp(argv[i], "--n") == 0)
			g_n = atoi(v);
		else if (strcmp(argv[i], "--pool") == 0)
			g_pool = (size_t)atoi(v);
		else if (strcmp(argv[i], "--conc") == 0) {
			g_nconc = 0;
			for (const char *p = v; *p != '\0' && g_nconc < 8;) {
				int c = atoi(p);
				g_conc[g_nconc++] = c < 1 ? 1 : c > 64 ? 64 : c;
				p += strcspn(p, ",");
				p += *p == ',';
			}
		} else
			return -1;
		i++;
	}
	return g_n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	g_pin = getenv("BOOTSIGN_PIN");
	if (parse_args(argc, argv) != 0 || g_pin == NULL) {
		fprintf(stderr, "usage: BOOTSIGN_PIN=... bench_token [--module PATH] [--token L] "
			"[--n N] [--pool N] [--conc 1,4,16]\n");
		return 2;
	}
	static const struct {
		const char *type, *label;
		bool ec;
	} keys[] = {{"rsa2048", "bench-rsa2048", false}, {"p256", "bench-p256", true}};
	double pool_r[2][8], raw_r[2][8];
	int pool_f[2][8], raw_f[2][8];

	struct bs_p11_opts o = {.module = g_module, .pin = g_pin, .pool_size = g_pool,
				.op_timeout_ms = 60000};
	struct bs_p11 *p11 = NULL;
	struct bs_error e = {0};
	if (bs_p11_open(&p11, &o, &e) != 0) {
		fprintf(stderr, "open: %s\n", e.msg);
		return 1;
	}
	for (int k = 0; k < 2; k++) {
		struct bs_key *key = get_key(p11, keys[k].type, keys[k].label);
		if (key == NULL)
			return 1;
		for (int c = 0; c < g_nconc; c++)
			pool_r[k][c] = pool_rate(key, g_conc[c], &pool_f[k][c]);
		bs_key_free(key);
	}
	bs_p11_close(p11);

	void *dl = dlopen(g_module, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList gfl = dl ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
	CK_FUNCTION_LIST *f = NULL;
	CK_C_INITIALIZE_ARGS ia = {.flags = CKF_OS_LOCKING_OK};
	if (gfl == NULL || gfl(&f) != CKR_OK || f->C_Initialize(&ia) != CKR_OK) {
		fprintf(stderr, "cannot load %s\n", g_module);
		return 1;
	}
	CK_SLOT_ID slots[16], slot = 0;
	CK_ULONG ns = 16;
	f->C_GetSlotList(CK_TRUE, slots, &ns);
	for (CK_ULONG i = 0; i < ns; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    strncmp((char *)ti.label, g_token, strlen(g_token)) == 0)
			slot = slots[i];
	}
	CK_SESSION_HANDLE ls;
	f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ls);
	f->C_Login(ls, CKU_USER, (CK_UTF8CHAR *)g_pin, strlen(g_pin));
	for (int k = 0; k < 2; k++)
		for (int c = 0; c < g_nconc; c++)
			raw_r[k][c] = raw_rate(f, slot, keys[k].label, keys[k].ec, g_conc[c],
					       &raw_f[k][c]);
	f->C_CloseSession(ls);
	f->C_Finalize(NULL);
	dlclose(dl);

	printf("module %s, %d signatures per cell, pool_size %zu\n", g_module, g_n, g_pool);
	printf("%-9s %5s %16s %22s %7s\n", "key", "conc", "raw C_Sign/s", "pool sign_digest/s",
	       "pool/raw");
	for (int k = 0; k < 2; k++)
		for (int c = 0; c < g_nconc; c++)
			printf("%-9s %5d %16.0f %22.0f %6.2fx%s\n", keys[k].type, g_conc[c],
			       raw_r[k][c], pool_r[k][c], pool_r[k][c] / raw_r[k][c],
			       raw_f[k][c] || pool_f[k][c] ? "  (FAILURES)" : "");
	return 0;
}
