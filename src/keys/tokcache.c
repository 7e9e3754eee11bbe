#include "keys/tokcache.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/util.h"
#include "crypto/key.h"
#include "keys/pkcs11.h"

/* A token key shared by the cache and the requests using it. */
struct shared_key {
	atomic_int refs;
	atomic_bool failed; /* a signature failed: do not hand it out again */
	struct bs_key *inner;
};

struct entry {
	char *uri;
	bool is_key;
	X509 *cert;
	struct shared_key *key;
	uint64_t at_ms;
};

struct bs_tokcache {
	pthread_mutex_t lock;
	unsigned ttl_ms;
	struct bs_p11 *p11;
	struct bs_uri_loader loader;
	struct entry e[BS_TOKCACHE_MAX];
	size_t n;
	unsigned long misses;
};

static void shared_unref(struct shared_key *k)
{
	if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1) {
		bs_key_free(k->inner);
		free(k);
	}
}

static void entry_clear(struct entry *e)
{
	free(e->uri);
	X509_free(e->cert);
	shared_unref(e->key);
	memset(e, 0, sizeof(*e));
}

static void drop(struct bs_tokcache *tc, size_t i)
{
	entry_clear(&tc->e[i]);
	tc->e[i] = tc->e[--tc->n];
	memset(&tc->e[tc->n], 0, sizeof(tc->e[tc->n]));
}

/* Index of a live entry (expired or failed ones are dropped); -1 if none. Under lock. */
static int find(struct bs_tokcache *tc, const char *uri, bool is_key)
{
	uint64_t now = bs_now_ms();
	for (size_t i = 0; i < tc->n; i++) {
		struct entry *e = &tc->e[i];
		if (e->is_key != is_key || strcmp(e->uri, uri) != 0)
			continue;
		if (now - e->at_ms >= tc->ttl_ms ||
		    (e->key != NULL && atomic_load(&e->key->failed))) {
			drop(tc, i);
			return -1;
		}
		return (int)i;
	}
	return -1;
}

/* Store a new entry (the oldest one makes room). Under lock. */
static void put(struct bs_tokcache *tc, const char *uri, bool is_key, X509 *cert,
		struct shared_key *key)
{
	int old = find(tc, uri, is_key);
	if (old >= 0)
		drop(tc, (size_t)old);
	if (tc->n == BS_TOKCACHE_MAX) {
		size_t oldest = 0;
		for (size_t i = 1; i < tc->n; i++)
			if (tc->e[i].at_ms < tc->e[oldest].at_ms)
				oldest = i;
		drop(tc, oldest);
	}
	char *u = bs_strdup(uri);
	if (u == NULL) {
		X509_free(cert);
		shared_unref(key);
		return;
	}
	tc->e[tc->n++] = (struct entry){
		.uri = u, .is_key = is_key, .cert = cert, .key = key, .at_ms = bs_now_ms()};
}

static int load_cert(void *ctx, const char *uri, X509 **out, struct bs_error *err)
{
	struct bs_tokcache *tc = ctx;
	*out = NULL;
	pthread_mutex_lock(&tc->lock);
	int i = find(tc, uri, false);
	if (i >= 0 && X509_up_ref(tc->e[i].cert) == 1)
		*out = tc->e[i].cert;
	struct bs_p11 *p11 = tc->p11;
	if (*out == NULL)
		tc->misses++;
	pthread_mutex_unlock(&tc->lock);
	if (*out != NULL)
		return 0;
	int rc = bs_p11_uri_loader.load_cert(p11, uri, out, err);
	if (rc != 0 || X509_up_ref(*out) != 1)
		return rc;
	pthread_mutex_lock(&tc->lock);
	if (tc->p11 == p11)
		put(tc, uri, false, *out, NULL);
	else
		X509_free(*out);
	pthread_mutex_unlock(&tc->lock);
	return 0;
}

static int shared_sign(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
		       size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	struct shared_key *k = ctx;
	uint8_t *s = NULL;
	size_t n = 0;
	int rc = bs_key_sign(k->inner, p, dgst, dlen, &s, &n, err);
	if (rc == 0 && n > *siglen)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "signature buffer too small");
	if (rc == 0) {
		memcpy(sig, s, n);
		*siglen = n;
	} else {
		atomic_store(&k->failed, true);
	}
	free(s);
	return rc;
}

static void shared_free(void *ctx)
{
	shared_unref(ctx);
}

static const struct bs_key_ops g_shared_ops = {
	.sign_digest = shared_sign,
	.free = shared_free,
};

/* A request's own bs_key around a shared token key. */
static int wrap(struct bs_key **out, struct shared_key *k, struct bs_error *err)
{
	EVP_PKEY *pub = bs_key_public(k->inner);
	if (pub == NULL || EVP_PKEY_up_ref(pub) != 1)
		return bs_error_set(err, BS_ERR_INTERNAL, "token key without public key");
	atomic_fetch_add(&k->refs, 1);
	return bs_key_new(out, &g_shared_ops, k, pub, bs_key_id(k->inner), err);
}

static int load_key(void *ctx, const char *uri, X509 *cert, struct bs_key **out,
		    struct bs_error *err)
{
	struct bs_tokcache *tc = ctx;
	struct shared_key *hit = NULL;
	*out = NULL;
	pthread_mutex_lock(&tc->lock);
	int i = find(tc, uri, true);
	if (i >= 0) {
		/* the cached key was checked against a certificate: reuse it for that key */
		EVP_PKEY *cpub = cert != NULL ? X509_get0_pubkey(cert) : NULL;
		if (cert == NULL || (cpub != NULL &&
				     EVP_PKEY_eq(cpub, bs_key_public(tc->e[i].key->inner)) == 1)) {
			hit = tc->e[i].key;
			atomic_fetch_add(&hit->refs, 1);
		}
	}
	struct bs_p11 *p11 = tc->p11;
	if (hit == NULL)
		tc->misses++;
	pthread_mutex_unlock(&tc->lock);
	if (hit != NULL) {
		int rc = wrap(out, hit, err);
		shared_unref(hit);
		return rc;
	}
	struct shared_key *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = bs_p11_uri_loader.load_key(p11, uri, cert, &k->inner, err);
	if (rc != 0) {
		free(k);
		return rc;
	}
	atomic_store(&k->refs, 1);
	rc = wrap(out, k, err);
	if (rc == 0) {
		atomic_fetch_add(&k->refs, 1);
		pthread_mutex_lock(&tc->lock);
		if (tc->p11 == p11)
			put(tc, uri, true, NULL, k);
		else
			shared_unref(k);
		pthread_mutex_unlock(&tc->lock);
	}
	shared_unref(k);
	return rc;
}

int bs_tokcache_new(struct bs_tokcache **out, unsigned ttl_ms, struct bs_error *err)
{
	*out = NULL;
	struct bs_tokcache *tc = calloc(1, sizeof(*tc));
	if (tc == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&tc->lock, NULL);
	tc->ttl_ms = ttl_ms;
	tc->loader.load_cert = load_cert;
	tc->loader.load_key = load_key;
	*out = tc;
	return 0;
}

const struct bs_uri_loader *bs_tokcache_loader(struct bs_tokcache *tc, struct bs_p11 *p11)
{
	pthread_mutex_lock(&tc->lock);
	if (tc->p11 != p11) {
		while (tc->n > 0)
			drop(tc, tc->n - 1);
		tc->p11 = p11;
	}
	pthread_mutex_unlock(&tc->lock);
	return &tc->loader;
}

unsigned long bs_tokcache_misses(struct bs_tokcache *tc)
{
	pthread_mutex_lock(&tc->lock);
	unsigned long m = tc->misses;
	pthread_mutex_unlock(&tc->lock);
	return m;
}

void bs_tokcache_free(struct bs_tokcache *tc)
{
	if (tc == NULL)
		return;
	while (tc->n > 0)
		drop(tc, tc->n - 1);
	pthread_mutex_destroy(&tc->lock);
	free(tc);
}
