/* Decoded certificates and public keys by the SHA-256 of their DER (crypto/dercache.h). */
#include "crypto/dercache.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "core/limits.h"

struct slot {
	uint8_t md[SHA256_DIGEST_LENGTH];
	void *obj; /* X509 * or EVP_PKEY *; NULL = empty */
	unsigned long used;
};

struct kind {
	pthread_mutex_t lock;
	struct slot slots[BS_DERCACHE_ENTRIES];
	unsigned long clock;
	void *(*decode)(const uint8_t *der, size_t len);
	int (*up_ref)(void *obj);
	void (*release)(void *obj);
};

static atomic_ulong g_decodes;

static void *decode_x509(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

static void *decode_pubkey(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = len <= LONG_MAX ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
	if (k != NULL && p != der + len) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

static int up_x509(void *o) { return X509_up_ref(o); }
static void free_x509(void *o) { X509_free(o); }
static int up_pkey(void *o) { return EVP_PKEY_up_ref(o); }
static void free_pkey(void *o) { EVP_PKEY_free(o); }

static struct kind g_x509 = {.lock = PTHREAD_MUTEX_INITIALIZER, .decode = decode_x509,
			     .up_ref = up_x509, .release = free_x509};
static struct kind g_pkey = {.lock = PTHREAD_MUTEX_INITIALIZER, .decode = decode_pubkey,
			     .up_ref = up_pkey, .release = free_pkey};

static void *lookup(struct kind *k, const uint8_t *der, size_t len)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	if (der == NULL || len == 0 || SHA256(der, len, md) == NULL)
		return NULL;
	void *obj = NULL;
	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < BS_DERCACHE_ENTRIES && obj == NULL; i++) {
		struct slot *s = &k->slots[i];
		if (s->obj != NULL && memcmp(s->md, md, sizeof(md)) == 0 && k->up_ref(s->obj)) {
			s->used = ++k->clock;
			obj = s->obj;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (obj != NULL)
		return obj;

	obj = k->decode(der, len); /* outside the lock: decoding is the slow part */
	atomic_fetch_add(&g_decodes, 1);
	if (obj == NULL) {
		ERR_clear_error();
		return NULL;
	}
	void *evicted = NULL;
	pthread_mutex_lock(&k->lock);
	struct slot *victim = &k->slots[0];
	bool present = false;
	for (size_t i = 0; i < BS_DERCACHE_ENTRIES && !present; i++) {
		struct slot *s = &k->slots[i];
		present = s->obj != NULL && memcmp(s->md, md, sizeof(md)) == 0;
		if (s->obj == NULL || (victim->obj != NULL && s->used < victim->used))
			victim = s;
	}
	if (!present && k->up_ref(obj)) { /* the cache's own reference */
		evicted = victim->obj;
		memcpy(victim->md, md, sizeof(md));
		victim->obj = obj;
		victim->used = ++k->clock;
	}
	pthread_mutex_unlock(&k->lock);
	if (evicted != NULL)
		k->release(evicted);
	return obj;
}

X509 *bs_der_x509(const uint8_t *der, size_t len)
{
	return lookup(&g_x509, der, len);
}

EVP_PKEY *bs_der_pubkey(const uint8_t *der, size_t len)
{
	return lookup(&g_pkey, der, len);
}

unsigned long bs_dercache_decodes(void)
{
	return atomic_load(&g_decodes);
}
