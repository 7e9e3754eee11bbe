/* The server side's keys under key isolation: struct bs_key stubs whose sign operation is a
 * SIGN message to the key process (keys/keyproc.h), made from KEY, BUNDLE_KEY and
 * SERVICE_KEY answers. A service key (the server's own, e.g. the TLS key) renews its handle
 * after the key process died; a TLS handshake waits BS_KEYPROC_HANDSHAKE_MS at most. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "crypto/dercache.h"
#include "keys/keyproc_client.h"
#include "keys/keyproc_client_int.h"
#include "keys/keyproc_msg.h"

struct rkey {
	struct bs_kpc *c;
	_Atomic uint64_t handle;
	/* a service key (the server's own, held for the server's lifetime): its setting's
	 * name, to fetch a new handle from a restarted key process; "" for a job's key */
	char service[BS_NAME_MAX + 1];
	EVP_PKEY *pub; /* borrowed from the stub key (same lifetime) */
	_Atomic unsigned long deaths; /* c->deaths when the handle was last fetched */
};

static int key_reply(uint64_t *handle, EVP_PKEY **pub, char *id, size_t idcap,
		     struct bs_kpc *c, struct bs_kp_enc *e, uint64_t ms, struct bs_error *err);

/* How long a service key's operation waits: a TLS handshake seconds, not the minutes a
 * signing request may (a wedged key process then fails handshakes quickly instead of
 * holding every connection). */
static uint64_t rkey_wait_ms(const struct rkey *k)
{
	return strcmp(k->service, "tls_key") == 0 ? BS_KEYPROC_HANDSHAKE_MS : bs_kpc_timeout(k->c);
}

static int rkey_sign_once(struct rkey *k, uint64_t handle, enum bs_kp_type t,
			  const struct bs_sig_params *p, const uint8_t *data, size_t dlen,
			  uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start(k->c, &e, t);
	bs_kp_put_u64(&e, handle);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)p->md_nid);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)p->scheme);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)p->pss_saltlen);
	bs_kp_put_u64(&e, p->ecdsa_raw ? 1 : 0);
	bs_kp_put(&e, data, dlen);
	int rc = bs_kpc_call_within(k->c, &e, &r, rkey_wait_ms(k), err);
	if (rc == 0 && (r.m.nf != 1 || r.m.f[0].len > *siglen || r.m.f[0].len == 0))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad signature reply");
	if (rc == 0) {
		memcpy(sig, r.m.f[0].p, r.m.f[0].len);
		*siglen = r.m.f[0].len;
	}
	bs_kpc_reply_free(&r);
	return rc;
}

/* A job's key dies with the key process that made it (the job gets its 503). A service
 * key outlives it: after a restart it takes the new key process's handle for the same
 * setting (which must still be the same public key) and signs once more. Service keys are
 * used by several threads at once (TLS handshakes): the first to renew installs its
 * handle, the others use that one, and only handles nobody else has seen are freed. */
static int rkey_sign(struct rkey *k, enum bs_kp_type t, const struct bs_sig_params *p,
		     const uint8_t *data, size_t dlen, uint8_t *sig, size_t *siglen,
		     struct bs_error *err)
{
	size_t cap = *siglen;
	uint64_t used = atomic_load(&k->handle);
	unsigned long seen = atomic_load(&k->deaths);
	int rc = rkey_sign_once(k, used, t, p, data, dlen, sig, siglen, err);
	/* renew only after a key process died (a stale handle); a key process that is slow
	 * or stopped keeps its handles, and asking it again would only wait longer */
	if (rc != BS_ERR_BUSY || k->service[0] == '\0' || bs_kpc_deaths(k->c) == seen)
		return rc;
	uint64_t now = atomic_load(&k->handle);
	if (now != used) { /* another thread renewed it meanwhile */
		*siglen = cap;
		return rkey_sign_once(k, now, t, p, data, dlen, sig, siglen, err);
	}
	struct bs_kp_enc e;
	bs_kpc_start(k->c, &e, BS_KP_SERVICE_KEY);
	bs_kp_put_str(&e, k->service);
	uint64_t fresh = 0;
	EVP_PKEY *pub = NULL;
	char id[BS_PATH_MAX];
	struct bs_error ferr = {0};
	unsigned long deaths = bs_kpc_deaths(k->c);
	if (key_reply(&fresh, &pub, id, sizeof(id), k->c, &e, rkey_wait_ms(k), &ferr) != 0)
		return rc; /* still restarting: the first error stands */
	bool same = EVP_PKEY_eq(pub, k->pub) == 1;
	EVP_PKEY_free(pub);
	if (!same) {
		bs_kpc_send_close(k->c, BS_KP_KEY_FREE, fresh);
		return bs_error_set(err, BS_ERR_KEY, "%s: the key changed since the server "
				    "started (restart the server to use the new one)", k->service);
	}
	uint64_t expect = used;
	if (atomic_compare_exchange_strong(&k->handle, &expect, fresh)) {
		atomic_store(&k->deaths, deaths);
		bs_kpc_send_close(k->c, BS_KP_KEY_FREE, used); /* of a dead generation: a no-op */
	} else {
		bs_kpc_send_close(k->c, BS_KP_KEY_FREE, fresh); /* another thread's handle won */
		fresh = expect;
	}
	*siglen = cap;
	return rkey_sign_once(k, fresh, t, p, data, dlen, sig, siglen, err);
}

static int rkey_sign_digest(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
			    size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	if (dlen > BS_KEYPROC_DIGEST_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "digest of %zu bytes", dlen);
	return rkey_sign(ctx, BS_KP_SIGN, p, dgst, dlen, sig, siglen, err);
}

static int rkey_sign_message(void *ctx, const struct bs_sig_params *p, const uint8_t *msg,
			     size_t len, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	return rkey_sign(ctx, BS_KP_SIGN_MSG, p, msg, len, sig, siglen, err);
}

static void rkey_free(void *ctx)
{
	struct rkey *k = ctx;
	bs_kpc_send_close(k->c, BS_KP_KEY_FREE, atomic_load(&k->handle));
	free(k);
}

static const struct bs_key_ops g_rkey_ops = {
	.sign_digest = rkey_sign_digest,
	.free = rkey_free,
	.sign_message = rkey_sign_message,
};

static void put_cert(struct bs_kp_enc *e, X509 *cert)
{
	unsigned char *der = NULL;
	int n = cert != NULL ? i2d_X509(cert, &der) : 0;
	if (n < 0)
		e->failed = true;
	bs_kp_put(e, der, n > 0 ? (size_t)n : 0);
	OPENSSL_free(der);
}


/* Send e, a request answered by (handle, public key DER, key id): the three of them. */
static int key_reply(uint64_t *handle, EVP_PKEY **pub, char *id, size_t idcap,
		     struct bs_kpc *c, struct bs_kp_enc *e, uint64_t ms, struct bs_error *err)
{
	*handle = 0;
	*pub = NULL;
	struct reply r;
	int rc = bs_kpc_call_within(c, e, &r, ms, err);
	if (rc == 0 && (r.m.nf != 3 || bs_kp_get_u64(handle, &r.m, 0, err) != 0 ||
			bs_kp_get_str(id, idcap, &r.m, 2, err) != 0 ||
			r.m.f[1].len > BS_KEYPROC_DER_MAX))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad key reply");
	if (rc == 0 && (*pub = bs_der_pubkey(r.m.f[1].p, r.m.f[1].len)) == NULL) {
		bs_kpc_send_close(c, BS_KP_KEY_FREE, *handle);
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad public key");
	}
	bs_kpc_reply_free(&r);
	return rc;
}

/* The same, made a stub key (service: its setting's name, or NULL for a job's key). */
static int key_call(struct bs_key **out, struct bs_kpc *c, struct bs_kp_enc *e,
		    const char *service, struct bs_error *err)
{
	*out = NULL;
	uint64_t handle = 0;
	EVP_PKEY *pub = NULL; /* shared, public */
	char id[BS_PATH_MAX];
	unsigned long deaths = bs_kpc_deaths(c);
	int rc = key_reply(&handle, &pub, id, sizeof(id), c, e, bs_kpc_timeout(c), err);
	if (rc != 0)
		return rc;
	struct rkey *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pub);
		bs_kpc_send_close(c, BS_KP_KEY_FREE, handle);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	k->c = c;
	atomic_init(&k->deaths, deaths);
	atomic_init(&k->handle, handle);
	snprintf(k->service, sizeof(k->service), "%s", service != NULL ? service : "");
	k->pub = pub;
	return bs_key_new(out, &g_rkey_ops, k, pub, id, err);
}

int bs_kpc_key(struct bs_key **out, struct bs_kpc *c, uint64_t lease, bool allow_token,
	       bool bundle, const char *name, X509 *cert, struct bs_error *err)
{
	struct bs_kp_enc e;
	bs_kpc_start_named(c, &e, bundle ? BS_KP_BUNDLE_KEY : BS_KP_KEY, lease, allow_token, name);
	put_cert(&e, cert);
	return key_call(out, c, &e, NULL, err);
}

int bs_kpc_service_key(struct bs_key **out, struct bs_kpc *c, const char *name,
		       struct bs_error *err)
{
	struct bs_kp_enc e;
	bs_kpc_start(c, &e, BS_KP_SERVICE_KEY);
	bs_kp_put_str(&e, name);
	return key_call(out, c, &e, name, err);
}
