/* The server side of the key process: requests from many threads at once over the one
 * socketpair. Each request carries a sequence number. One waiting thread at a time reads
 * the socket (leader/follower: no reader thread, so a lone request reads its own reply
 * without another thread's wake-up in between) and hands every reply it gets to the
 * thread waiting for that number; a slow key operation (a token signature) holds up no
 * other request. KEY_FREE and LEASE_CLOSE are sent without waiting. */
#include "keys/keyproc_client.h"

#include <errno.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/dercache.h"
#include "keys/keyproc_client_int.h"
#include "keys/keyproc_msg.h"
#include "keys/keyproc_pubcache.h"

#define KPC_STR2(x) #x
#define KPC_STR(x) KPC_STR2(x)


/* A request waiting for its reply (on the waiter's stack, linked while it waits). */
struct waiter {
	uint32_t seq;
	uint16_t type;     /* the request's */
	bool done;
	int rc;            /* 0: r holds the reply; else the failure (BS_ERR_BUSY) */
	const char *why;
	struct reply r;
	struct waiter *next;
};

/* A request given up on whose answer would open something in the key process (a lease,
 * a key handle): closed when the answer comes after all. */
#define KPC_ABANDONED 256
struct abandoned {
	uint32_t seq; /* 0: free */
	uint16_t close; /* LEASE_CLOSE or KEY_FREE */
};

#define KPC_HELD 256          /* closes kept back while the socket is full */
#define KPC_CLOSE_MSG_MAX 32  /* an encoded KEY_FREE / LEASE_CLOSE: 8 + 4 + 8 bytes */

struct bs_kpc {
	int fd;
	uint64_t timeout_ms;
	pthread_mutex_t lock; /* seq, waiting, gone */
	pthread_cond_t cond;
	uint32_t seq;
	struct waiter *waiting;
	const char *gone; /* the socket failed: every request fails with this */
	bool leading;     /* a waiter is reading the socket */
	struct bs_kp_pubcache *pub; /* public bundle members by bundle serial (may be NULL) */
	struct abandoned ab[KPC_ABANDONED]; /* ring: the oldest is forgotten (a leak, bounded) */
	size_t ab_next;
	_Atomic unsigned long deaths; /* BS_KP_DIED seen: key process generations gone */
	/* closes a full socket (a stopped key process) could not take, oldest first: sent
	 * before the next message; the oldest is dropped when full (a bounded leak) */
	struct held { uint8_t buf[KPC_CLOSE_MSG_MAX]; size_t len; } held[KPC_HELD];
	size_t held_first, held_n;
	unsigned long held_dropped;
};

/* What closes the thing a request of this type opens (0: it opens nothing). */
static uint16_t close_for(uint16_t type)
{
	switch (type) {
	case BS_KP_LEASE_OPEN:
		return BS_KP_LEASE_CLOSE;
	case BS_KP_KEY:
	case BS_KP_BUNDLE_KEY:
	case BS_KP_SERVICE_KEY:
		return BS_KP_KEY_FREE;
	default:
		return 0;
	}
}

/* A close to send once the lock is dropped. */
struct late_close {
	uint16_t type; /* 0: none */
	uint64_t id;
};

void bs_kpc_reply_free(struct reply *r)
{
	if (r->buf != NULL) {
		OPENSSL_cleanse(r->buf, r->len);
		free(r->buf);
	}
	memset(r, 0, sizeof(*r));
}

/* One message off the socket, waiting at most ms: 1 read (r->buf NULL when it was
 * dropped: too long, no memory, undecodable), 0 nothing yet, -1 socket closed or failed. */
static int recv_one(struct reply *r, int fd, int ms)
{
	memset(r, 0, sizeof(*r));
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int pr;
	while ((pr = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
		;
	if (pr == 0)
		return 0;
	ssize_t n;
	uint8_t peek;
	while ((n = recv(fd, &peek, 1, MSG_PEEK | MSG_TRUNC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -1;
	if ((size_t)n > BS_KEYPROC_MSG_MAX || (r->buf = malloc((size_t)n)) == NULL) {
		(void)recv(fd, &peek, 1, 0); /* drop it */
		return 1;
	}
	r->len = (size_t)n;
	while ((n = recv(fd, r->buf, r->len, 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)r->len) {
		bs_kpc_reply_free(r);
		return -1;
	}
	if (bs_kp_decode(&r->m, r->buf, r->len, NULL) != 0)
		bs_kpc_reply_free(r); /* nobody's: its waiter times out */
	return 1;
}


/* Fail every waiting request (the key process died, or the socket is gone). */
static void fail_all_locked(struct bs_kpc *c, const char *why)
{
	for (struct waiter *w = c->waiting; w != NULL; w = w->next) {
		w->done = true;
		w->rc = BS_ERR_BUSY;
		w->why = why;
	}
	c->waiting = NULL;
	pthread_cond_broadcast(&c->cond);
}

static void unlink_locked(struct bs_kpc *c, struct waiter *w)
{
	for (struct waiter **pp = &c->waiting; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* Hand a message read by the leader to its waiter (or drop it: *late, a close to send).
 * Called locked. */
static void dispatch_locked(struct bs_kpc *c, struct reply *r, struct late_close *late)
{
	if (r->buf == NULL)
		return;
	if (r->m.type == BS_KP_DIED) {
		atomic_fetch_add(&c->deaths, 1);
		fail_all_locked(c, "the key process died; retry");
		memset(c->ab, 0, sizeof(c->ab)); /* what they opened died with it */
		return;
	}
	for (struct waiter *w = c->waiting; w != NULL; w = w->next) {
		if (w->seq != r->m.seq)
			continue;
		unlink_locked(c, w);
		w->r = *r;
		w->done = true;
		memset(r, 0, sizeof(*r));
		pthread_cond_broadcast(&c->cond);
		return;
	}
	/* an answer nobody waits for (given up on, or a close): dropped by the caller; what a
	 * given-up request opened is closed */
	for (size_t i = 0; i < KPC_ABANDONED; i++) {
		struct abandoned *a = &c->ab[i];
		if (a->seq == 0 || a->seq != r->m.seq)
			continue;
		uint64_t id = 0;
		if (r->m.type == BS_KP_OK && bs_kp_get_u64(&id, &r->m, 0, NULL) == 0)
			*late = (struct late_close){.type = a->close, .id = id};
		memset(a, 0, sizeof(*a));
		return;
	}
}

int bs_kpc_new(struct bs_kpc **out, int fd, struct bs_error *err)
{
	struct bs_kpc *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (c == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	c->fd = fd;
	c->timeout_ms = BS_KEYPROC_TIMEOUT_MS;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->pub = bs_kp_pubcache_new(); /* NULL: nothing kept, every read asks */
	*out = c;
	return 0;
}

void bs_kpc_set_timeout(struct bs_kpc *c, uint64_t ms)
{
	c->timeout_ms = ms;
}

void bs_kpc_free(struct bs_kpc *c)
{
	if (c == NULL)
		return;
	close(c->fd); /* the key process and its supervisor exit */
	bs_kp_pubcache_free(c->pub);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Finish e and send it; with w, register w first so its reply cannot be missed. */
/* Send the closes a full socket held back, oldest first, never blocking. Called locked. */
static void flush_held_locked(struct bs_kpc *c)
{
	while (c->held_n > 0) {
		struct held *h = &c->held[c->held_first];
		ssize_t n = send(c->fd, h->buf, h->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)h->len)
			return; /* still full (or gone): later */
		c->held_first = (c->held_first + 1) % KPC_HELD;
		c->held_n--;
	}
}

static int send_req(struct bs_kpc *c, struct bs_kp_enc *e, struct waiter *w,
		    struct bs_error *err)
{
	int rc = bs_kp_enc_end(e, err);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&c->lock);
	flush_held_locked(c);
	if (c->gone != NULL) {
		rc = bs_error_set(err, BS_ERR_BUSY, "%s", c->gone);
	} else if (w != NULL) {
		w->seq = (uint32_t)e->buf[4] << 24 | (uint32_t)e->buf[5] << 16 |
			 (uint32_t)e->buf[6] << 8 | e->buf[7];
		w->type = (uint16_t)(e->buf[0] << 8 | e->buf[1]);
		w->next = c->waiting;
		c->waiting = w;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc != 0)
		return rc;
	ssize_t n;
	while ((n = send(c->fd, e->buf, e->len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)e->len)
		return 0;
	if (w != NULL) {
		pthread_mutex_lock(&c->lock);
		for (struct waiter **pp = &c->waiting; *pp != NULL; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		pthread_mutex_unlock(&c->lock);
	}
	return bs_error_set(err, BS_ERR_BUSY, "the key process is gone");
}

/* Send e (finished here) and wait at most ms for its reply: BS_KP_OK in *r, or the error. */
int bs_kpc_call_within(struct bs_kpc *c, struct bs_kp_enc *e, struct reply *r, uint64_t ms,
		       struct bs_error *err)
{
	memset(r, 0, sizeof(*r));
	struct waiter w = {0};
	int rc = send_req(c, e, &w, err);
	bs_kp_enc_free(e);
	if (rc != 0)
		return rc;
	uint64_t until = bs_now_ms() + ms;
	pthread_mutex_lock(&c->lock);
	while (!w.done) {
		uint64_t now = bs_now_ms();
		if (now >= until) {
			unlink_locked(c, &w);
			if (close_for(w.type) != 0) { /* its late answer is closed (dispatch_locked) */
				c->ab[c->ab_next] = (struct abandoned){.seq = w.seq,
								       .close = close_for(w.type)};
				c->ab_next = (c->ab_next + 1) % KPC_ABANDONED;
			}
			w.done = true;
			w.rc = BS_ERR_BUSY;
			w.why = ms == BS_KEYPROC_PROBE_MS
					? "the key process did not answer within "
					  KPC_STR(BS_KEYPROC_PROBE_MS) " ms"
					: "the key process did not answer";
			break;
		}
		if (c->leading) { /* another waiter reads: it wakes us with our reply */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t left = until - now;
			ts.tv_sec += (time_t)(left / 1000);
			ts.tv_nsec += (long)(left % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&c->cond, &c->lock, &ts);
			continue;
		}
		c->leading = true; /* read the socket ourselves until our reply comes */
		pthread_mutex_unlock(&c->lock);
		struct reply got;
		struct late_close late = {0};
		uint64_t left = until - now;
		int n = recv_one(&got, c->fd, left > INT32_MAX ? INT32_MAX : (int)left);
		pthread_mutex_lock(&c->lock);
		c->leading = false;
		if (n < 0) {
			c->gone = "the key process is gone";
			fail_all_locked(c, c->gone);
		} else if (n > 0) {
			dispatch_locked(c, &got, &late);
		}
		pthread_cond_broadcast(&c->cond); /* a follower may lead now */
		if (late.type != 0) {
			pthread_mutex_unlock(&c->lock);
			bs_kpc_send_close(c, (enum bs_kp_type)late.type, late.id);
			pthread_mutex_lock(&c->lock);
		}
		if (got.buf != NULL) {
			pthread_mutex_unlock(&c->lock);
			bs_kpc_reply_free(&got);
			pthread_mutex_lock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (w.rc != 0) {
		bs_kpc_reply_free(&w.r);
		return bs_error_set(err, w.rc, "%s", w.why);
	}
	*r = w.r;
	if (r->m.type == BS_KP_ERR) {
		uint64_t code = 0;
		char msg[BS_KEYPROC_ERRMSG_MAX + 1];
		if (bs_kp_get_u64(&code, &r->m, 0, NULL) != 0 ||
		    bs_kp_get_str(msg, sizeof(msg), &r->m, 1, NULL) != 0)
			snprintf(msg, sizeof(msg), "key process: bad error reply");
		int64_t sc = (int64_t)code;
		rc = sc < 0 && sc >= BS_ERR_RATE ? (int)sc : BS_ERR_INTERNAL;
		bs_error_set(err, rc, "%s", msg);
	} else if (r->m.type != BS_KP_OK) {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: unexpected reply");
	}
	if (rc != 0)
		bs_kpc_reply_free(r);
	return rc;
}

/* A signing job's request: a token operation may take long (pkcs11_timeout_ms). */
int bs_kpc_call(struct bs_kpc *c, struct bs_kp_enc *e, struct reply *r, struct bs_error *err)
{
	return bs_kpc_call_within(c, e, r, c->timeout_ms, err);
}

void bs_kpc_start(struct bs_kpc *c, struct bs_kp_enc *e, enum bs_kp_type t)
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
	bs_kpc_start(c, &e, BS_KP_CHECK);
	/* /healthz: a stopped or wedged key process is unhealthy now, not in two minutes */
	int rc = bs_kpc_call_within(c, &e, &r, BS_KEYPROC_PROBE_MS, err);
	bs_kpc_reply_free(&r);
	return rc;
}

int bs_kpc_lease_open(uint64_t *out, struct bs_kpc *c, const char *subject, const char *filter,
		      struct bs_error *err)
{
	*out = 0;
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start(c, &e, BS_KP_LEASE_OPEN);
	bs_kp_put_str(&e, subject);
	bs_kp_put_str(&e, filter != NULL ? filter : ""); /* "" = no filter (never a decision:
							  * an empty one is "-*") */
	int rc = bs_kpc_call(c, &e, &r, err);
	if (rc == 0)
		rc = bs_kp_get_u64(out, &r.m, 0, err);
	bs_kpc_reply_free(&r);
	return rc;
}

/* Closes are not waited for: nothing the server does next depends on them (a failed close
 * leaves a handle open in the key process until it restarts; its tables are bounded). */
void bs_kpc_send_close(struct bs_kpc *c, enum bs_kp_type t, uint64_t id)
{
	struct bs_kp_enc e;
	bs_kpc_start(c, &e, t);
	bs_kp_put_u64(&e, id);
	if (bs_kp_enc_end(&e, NULL) != 0 || e.len > KPC_CLOSE_MSG_MAX) {
		bs_kp_enc_free(&e);
		return;
	}
	/* never blocks: a request thread frees its keys on every path, and a stopped key
	 * process must not hold it there once the socket is full */
	pthread_mutex_lock(&c->lock);
	flush_held_locked(c);
	bool hold = c->gone == NULL;
	if (hold && c->held_n == 0) {
		ssize_t n;
		while ((n = send(c->fd, e.buf, e.len, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 &&
		       errno == EINTR)
			;
		hold = n != (ssize_t)e.len && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	if (hold) {
		if (c->held_n == KPC_HELD) { /* the oldest stays open in the key process */
			c->held_first = (c->held_first + 1) % KPC_HELD;
			c->held_n--;
			if (c->held_dropped++ == 0)
				bs_log(BS_LOG_WARN, NULL, "key process: not reading; %u closes kept, "
				       "older ones dropped (their handles stay open until it restarts)",
				       KPC_HELD);
		}
		struct held *h = &c->held[(c->held_first + c->held_n++) % KPC_HELD];
		memcpy(h->buf, e.buf, e.len);
		h->len = e.len;
	}
	pthread_mutex_unlock(&c->lock);
	bs_kp_enc_free(&e);
}

void bs_kpc_lease_close(struct bs_kpc *c, uint64_t lease)
{
	bs_kpc_send_close(c, BS_KP_LEASE_CLOSE, lease);
}

/* ---- remote keys ---- */

/* (lease, allow_token, name): the start of KEY, CERT and their bundle forms */
void bs_kpc_start_named(struct bs_kpc *c, struct bs_kp_enc *e, enum bs_kp_type t,
			uint64_t lease, bool allow_token, const char *name)
{
	bs_kpc_start(c, e, t);
	bs_kp_put_u64(e, lease);
	bs_kp_put_u64(e, allow_token ? 1 : 0);
	bs_kp_put_str(e, name);
}

int bs_kpc_cert(X509 **out, struct bs_kpc *c, uint64_t lease, uint64_t serial, bool allow_token,
		bool bundle, const char *name, struct bs_error *err)
{
	*out = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	/* a pkcs11: URI is the token's certificate, not the bundle's: the token can be
	 * re-provisioned under the same bundle version, so it is never kept by its serial */
	bool keep = bundle && strncmp(name, "pkcs11:", 7) != 0;
	if (keep && bs_kp_pubcache_get(c->pub, serial, 'c', name, 0, &der, &len)) {
		*out = bs_der_x509(der, len);
		free(der);
		if (*out != NULL)
			return 0;
	}
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start_named(c, &e, bundle ? BS_KP_BUNDLE_CERT : BS_KP_CERT, lease, allow_token, name);
	int rc = bs_kpc_call(c, &e, &r, err);
	if (rc == 0) {
		if (r.m.nf != 1 || (*out = bs_der_x509(r.m.f[0].p, r.m.f[0].len)) == NULL)
			rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad certificate");
		else if (keep)
			bs_kp_pubcache_put(c->pub, serial, 'c', name, 0, r.m.f[0].p, r.m.f[0].len);
	}
	bs_kpc_reply_free(&r);
	return rc;
}

bool bs_kpc_exists(struct bs_kpc *c, uint64_t lease, const char *name)
{
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start(c, &e, BS_KP_EXISTS);
	bs_kp_put_u64(&e, lease);
	bs_kp_put_str(&e, name);
	uint64_t v = 0;
	bool ok = bs_kpc_call(c, &e, &r, NULL) == 0 && bs_kp_get_u64(&v, &r.m, 0, NULL) == 0 && v != 0;
	bs_kpc_reply_free(&r);
	return ok;
}

int bs_kpc_bundle(bool *first_use, uint64_t *serial, char ***members, size_t *nmembers,
		  struct bs_kpc *c, uint64_t lease, const char *name, struct bs_error *err)
{
	*first_use = false;
	*serial = 0;
	*members = NULL;
	*nmembers = 0;
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start(c, &e, BS_KP_BUNDLE);
	bs_kp_put_u64(&e, lease);
	bs_kp_put_str(&e, name);
	int rc = bs_kpc_call(c, &e, &r, err);
	uint64_t fu = 0, ser = 0;
	if (rc == 0 && (r.m.nf != 3 || bs_kp_get_u64(&fu, &r.m, 0, err) != 0 ||
			bs_kp_get_u64(&ser, &r.m, 1, err) != 0 ||
			r.m.f[2].len > BS_KEYPROC_MEMBERS_MAX ||
			(r.m.f[2].len > 0 && r.m.f[2].p[r.m.f[2].len - 1] != '\0')))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad bundle reply");
	if (rc != 0) {
		bs_kpc_reply_free(&r);
		return rc;
	}
	*first_use = fu != 0;
	*serial = ser;
	const char *s = (const char *)r.m.f[2].p;
	size_t n = 0;
	for (size_t i = 0; i < r.m.f[2].len; i++)
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
	bs_kpc_reply_free(&r);
	if (v == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	*members = v;
	*nmembers = n;
	return 0;
}

int bs_kpc_bundle_read(uint8_t **out, size_t *out_len, struct bs_kpc *c, uint64_t lease,
		       uint64_t serial, const char *name, size_t max, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (bs_kp_pubcache_get(c->pub, serial, 'r', name, max, out, out_len))
		return 0;
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start(c, &e, BS_KP_BUNDLE_READ);
	bs_kp_put_u64(&e, lease);
	bs_kp_put_str(&e, name);
	bs_kp_put_u64(&e, max);
	int rc = bs_kpc_call(c, &e, &r, err);
	if (rc == 0 && (r.m.nf != 1 || r.m.f[0].len > max))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: bad read reply");
	if (rc == 0 && (*out = malloc(r.m.f[0].len + 1)) == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		memcpy(*out, r.m.f[0].p, r.m.f[0].len);
		(*out)[r.m.f[0].len] = '\0';
		*out_len = r.m.f[0].len;
		bs_kp_pubcache_put(c->pub, serial, 'r', name, max, *out, *out_len);
	}
	bs_kpc_reply_free(&r);
	return rc;
}

size_t bs_kpc_pool_stats(struct bs_kpc *c, struct bs_pool_stats *out, size_t max)
{
	struct bs_kp_enc e;
	struct reply r;
	bs_kpc_start(c, &e, BS_KP_POOL_STATS);
	/* /metrics: without the gauges rather than late (monitoring matters most then) */
	if (bs_kpc_call_within(c, &e, &r, BS_KEYPROC_PROBE_MS, NULL) != 0)
		return 0;
	size_t n = 0;
	if (r.m.nf == 1 && r.m.f[0].len % BS_KP_POOL_RECORD == 0)
		for (size_t i = 0; i < r.m.f[0].len / BS_KP_POOL_RECORD && n < max; i++)
			n += bs_kp_pool_parse(&out[n], r.m.f[0].p + i * BS_KP_POOL_RECORD);
	bs_kpc_reply_free(&r);
	return n;
}

uint64_t bs_kpc_timeout(const struct bs_kpc *c)
{
	return c->timeout_ms;
}

unsigned long bs_kpc_deaths(struct bs_kpc *c)
{
	return atomic_load(&c->deaths);
}
