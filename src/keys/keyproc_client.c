/* The server side of the key process: requests over the socket, one at a time (a mutex
 * around the one socketpair; the key process answers in order anyway). */
#include "keys/keyproc_client.h"

#include <errno.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"
#include "keys/keyproc_msg.h"

struct bs_kpc {
	int fd;
	pthread_mutex_t lock;
	uint32_t seq;
};

/* A reply: the received buffer (fields point into it). */
struct reply {
	uint8_t *buf;
	size_t len;
	struct bs_kp_msg m;
};

static void reply_free(struct reply *r)
{
	if (r->buf != NULL) {
		OPENSSL_cleanse(r->buf, r->len);
		free(r->buf);
	}
	memset(r, 0, sizeof(*r));
}

int bs_kpc_new(struct bs_kpc **out, int fd, struct bs_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	(*out)->fd = fd;
	pthread_mutex_init(&(*out)->lock, NULL);
	return 0;
}

void bs_kpc_free(struct bs_kpc *c)
{
	if (c == NULL)
		return;
	close(c->fd); /* the key process and its supervisor exit */
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int recv_one(struct reply *r, int fd, struct bs_error *err)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int pr;
	while ((pr = poll(&pfd, 1, BS_KEYPROC_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (pr == 0)
		return bs_error_set(err, BS_ERR_BUSY, "the key process did not answer");
	ssize_t n;
	uint8_t peek;
	while ((n = recv(fd, &peek, 1, MSG_PEEK | MSG_TRUNC)) < 0 && errno == EINTR)
		;
	if (n <= 0 || (size_t)n > BS_KEYPROC_MSG_MAX) {
		if (n > 0)
			(void)recv(fd, &peek, 1, 0); /* drop it */
		return bs_error_set(err, BS_ERR_BUSY, "the key process is gone");
	}
	r->buf = malloc((size_t)n);
	if (r->buf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	r->len = (size_t)n;
	while ((n = recv(fd, r->buf, r->len, 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)r->len)
		return bs_error_set(err, BS_ERR_BUSY, "the key process is gone");
	return bs_kp_decode(&r->m, r->buf, r->len, err);
}

/* Send e (finished here) and wait for its reply: BS_KP_OK in *r, or the error. */
static int call(struct bs_kpc *c, struct bs_kp_enc *e, struct reply *r, struct bs_error *err)
{
	memset(r, 0, sizeof(*r));
	int rc = bs_kp_enc_end(e, err);
	if (rc != 0) {
		bs_kp_enc_free(e);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	uint32_t seq = e->buf[4] << 24 | e->buf[5] << 16 | e->buf[6] << 8 | e->buf[7];
	ssize_t n;
	while ((n = send(c->fd, e->buf, e->len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)e->len)
		rc = bs_error_set(err, BS_ERR_BUSY, "the key process is gone");
	while (rc == 0) {
		reply_free(r);
		rc = recv_one(r, c->fd, err);
		if (rc == BS_ERR_FORMAT)
			rc = bs_error_recode(err, BS_ERR_INTERNAL);
		if (rc != 0)
			break;
		if (r->m.type == BS_KP_DIED) {
			rc = bs_error_set(err, BS_ERR_BUSY, "the key process died; retry");
			break;
		}
		if (r->m.seq != seq)
			continue; /* the answer to a request that was given up on */
		if (r->m.type == BS_KP_ERR) {
			uint64_t code = 0;
			char msg[BS_KEYPROC_ERRMSG_MAX + 1];
			if (bs_kp_get_u64(&code, &r->m, 0, err) != 0 ||
			    bs_kp_get_str(msg, sizeof(msg), &r->m, 1, NULL) != 0)
				snprintf(msg, sizeof(msg), "key process: bad error reply");
			int64_t sc = (int64_t)code;
			rc = sc < 0 && sc >= BS_ERR_RATE ? (int)sc : BS_ERR_INTERNAL;
			bs_error_set(err, rc, "%s", msg);
		}
		break;
	}
	pthread_mutex_unlock(&c->lock);
	bs_kp_enc_free(e);
	if (rc != 0)
		reply_free(r);
	return rc;
}

static void start(struct bs_kpc *c, struct bs_kp_enc *e, enum bs_kp_type t)
{
	pthread_mutex_lock(&c->lock);
	uint32_t seq = ++c->seq;
	if (seq == 0)
		seq = ++c->seq;
	pthread_mutex_unlock(&c->lock);
	bs_kp_enc_start(e, (uint16_t)t, seq);
}

int bs_kpc_check(struct bs_kpc *c, struct bs_error *err)
{
	struct bs_kp_enc e;
	struct reply r;
	start(c, &e, BS_KP_CHECK);
	int rc = call(c, &e, &r, err);
	reply_free(&r);
	return rc;
}

int bs_kpc_lease_open(uint64_t *out, struct bs_kpc *c, const char *subject,
		      struct bs_error *err)
{
	*out = 0;
	struct bs_kp_enc e;
	struct reply r;
	start(c, &e, BS_KP_LEASE_OPEN);
	bs_kp_put_str(&e, subject);
	int rc = call(c, &e, &r, err);
	if (rc == 0)
		rc = bs_kp_get_u64(out, &r.m, 0, err);
	reply_free(&r);
	return rc;
}

static void send_close(struct bs_kpc *c, enum bs_kp_type t, uint64_t id)
{
	struct bs_kp_enc e;
	struct reply r;
	start(c, &e, t);
	bs_kp_put_u64(&e, id);
	(void)call(c, &e, &r, NULL);
	reply_free(&r);
}

void bs_kpc_lease_close(struct bs_kpc *c, uint64_t lease)
{
	send_close(c, BS_KP_LEASE_CLOSE, lease);
}

/* ---- remote keys ---- */

struct rkey {
	struct bs_kpc *c;
	uint64_t handle;
};

static int rkey_sign(struct rkey *k, enum bs_kp_type t, const struct bs_sig_params *p,
		     const uint8_t *data, size_t dlen, uint8_t *sig, size_t *siglen,
		     struct bs_error *err)
{
	struct bs_kp_enc e;
	struct reply r;
	start(k->c, &e, t);
	bs_kp_put_u64(&e, k->handle);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)p->md_nid);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)p->scheme);
	bs_kp_put_u64(&e, (uint64_t)(int64_t)p->pss_saltlen);
	bs_kp_put_u64(&e, p->ecdsa_raw ? 1 : 0);
	bs_kp_put(&e, data, dlen);
	int rc = call(k->c, &e, &r, err);
	if (rc == 0 && (r.m.nf != 1 || r.m.f[0].len > *siglen || r.m.f[0].len == 0))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad signature reply");
	if (rc == 0) {
		memcpy(sig, r.m.f[0].p, r.m.f[0].len);
		*siglen = r.m.f[0].len;
	}
	reply_free(&r);
	return rc;
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
	send_close(k->c, BS_KP_KEY_FREE, k->handle);
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

/* (lease, allow_token, name): the start of KEY, CERT and their bundle forms */
static void start_named(struct bs_kpc *c, struct bs_kp_enc *e, enum bs_kp_type t,
			uint64_t lease, bool allow_token, const char *name)
{
	start(c, e, t);
	bs_kp_put_u64(e, lease);
	bs_kp_put_u64(e, allow_token ? 1 : 0);
	bs_kp_put_str(e, name);
}

int bs_kpc_key(struct bs_key **out, struct bs_kpc *c, uint64_t lease, bool allow_token,
	       bool bundle, const char *name, X509 *cert, struct bs_error *err)
{
	*out = NULL;
	struct bs_kp_enc e;
	struct reply r;
	start_named(c, &e, bundle ? BS_KP_BUNDLE_KEY : BS_KP_KEY, lease, allow_token, name);
	put_cert(&e, cert);
	int rc = call(c, &e, &r, err);
	uint64_t handle = 0;
	char id[BS_PATH_MAX];
	if (rc == 0 && (r.m.nf != 3 || bs_kp_get_u64(&handle, &r.m, 0, err) != 0 ||
			bs_kp_get_str(id, sizeof(id), &r.m, 2, err) != 0 ||
			r.m.f[1].len > BS_KEYPROC_DER_MAX))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad key reply");
	if (rc != 0) {
		reply_free(&r);
		return rc;
	}
	const unsigned char *p = r.m.f[1].p;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)r.m.f[1].len);
	reply_free(&r);
	struct rkey *k = calloc(1, sizeof(*k));
	if (pub == NULL || k == NULL) {
		EVP_PKEY_free(pub);
		free(k);
		send_close(c, BS_KP_KEY_FREE, handle);
		return bs_error_set(err, pub == NULL ? BS_ERR_INTERNAL : BS_ERR_NOMEM,
				    "key process: bad public key");
	}
	*k = (struct rkey){.c = c, .handle = handle};
	return bs_key_new(out, &g_rkey_ops, k, pub, id, err);
}

int bs_kpc_cert(X509 **out, struct bs_kpc *c, uint64_t lease, bool allow_token, bool bundle,
		const char *name, struct bs_error *err)
{
	*out = NULL;
	struct bs_kp_enc e;
	struct reply r;
	start_named(c, &e, bundle ? BS_KP_BUNDLE_CERT : BS_KP_CERT, lease, allow_token, name);
	int rc = call(c, &e, &r, err);
	if (rc == 0) {
		const unsigned char *p = r.m.f[0].p;
		if (r.m.nf != 1 || (*out = d2i_X509(NULL, &p, (long)r.m.f[0].len)) == NULL)
			rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad certificate");
	}
	reply_free(&r);
	return rc;
}

bool bs_kpc_exists(struct bs_kpc *c, uint64_t lease, const char *name)
{
	struct bs_kp_enc e;
	struct reply r;
	start(c, &e, BS_KP_EXISTS);
	bs_kp_put_u64(&e, lease);
	bs_kp_put_str(&e, name);
	uint64_t v = 0;
	bool ok = call(c, &e, &r, NULL) == 0 && bs_kp_get_u64(&v, &r.m, 0, NULL) == 0 && v != 0;
	reply_free(&r);
	return ok;
}

int bs_kpc_bundle(bool *first_use, char ***members, size_t *nmembers, struct bs_kpc *c,
		  uint64_t lease, const char *name, struct bs_error *err)
{
	*first_use = false;
	*members = NULL;
	*nmembers = 0;
	struct bs_kp_enc e;
	struct reply r;
	start(c, &e, BS_KP_BUNDLE);
	bs_kp_put_u64(&e, lease);
	bs_kp_put_str(&e, name);
	int rc = call(c, &e, &r, err);
	uint64_t fu = 0;
	if (rc == 0 && (r.m.nf != 2 || bs_kp_get_u64(&fu, &r.m, 0, err) != 0 ||
			r.m.f[1].len > BS_KEYPROC_MEMBERS_MAX ||
			(r.m.f[1].len > 0 && r.m.f[1].p[r.m.f[1].len - 1] != '\0')))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad bundle reply");
	if (rc != 0) {
		reply_free(&r);
		return rc;
	}
	*first_use = fu != 0;
	const char *s = (const char *)r.m.f[1].p;
	size_t n = 0;
	for (size_t i = 0; i < r.m.f[1].len; i++)
		n += s[i] == '\0';
	char **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0, o = 0; v != NULL && i < n; i++) {
		if ((v[i] = bs_strdup(s + o)) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			v = NULL;
			break;
		}
		o += strlen(s + o) + 1;
	}
	reply_free(&r);
	if (v == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	*members = v;
	*nmembers = n;
	return 0;
}

int bs_kpc_bundle_read(uint8_t **out, size_t *out_len, struct bs_kpc *c, uint64_t lease,
		       const char *name, size_t max, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	struct bs_kp_enc e;
	struct reply r;
	start(c, &e, BS_KP_BUNDLE_READ);
	bs_kp_put_u64(&e, lease);
	bs_kp_put_str(&e, name);
	bs_kp_put_u64(&e, max);
	int rc = call(c, &e, &r, err);
	if (rc == 0 && (r.m.nf != 1 || r.m.f[0].len > max))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad read reply");
	if (rc == 0 && (*out = malloc(r.m.f[0].len + 1)) == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		memcpy(*out, r.m.f[0].p, r.m.f[0].len);
		(*out)[r.m.f[0].len] = '\0';
		*out_len = r.m.f[0].len;
	}
	reply_free(&r);
	return rc;
}
