/* The key process and its supervisor (see keys/keyproc.h). */
#include "keys/keyproc.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/dercache.h"
#include "keys/keyproc_msg.h"
#include "keys/keyproc_sandbox.h"

/* A key process that dies within this long of its start is restarted only after it. */
#define KEYPROC_RESTART_MS 200

struct kp_lease {
	uint64_t id;
	struct bs_keyring_lease *l;
	bool busy;  /* an operation runs on it outside the lock (one at a time per lease) */
	bool close; /* LEASE_CLOSE came while busy (the server gave up waiting): at its end */
	struct bs_key_source src; /* the bundle opened last (src.read == NULL: none) */
};

struct kp_key {
	uint64_t id;
	struct bs_key *k;
};

/* Worker threads share the tables: `lock` covers them. A lease operation (a bundle, a key
 * or certificate: a token lookup may wait pkcs11_timeout_ms for a session) runs outside
 * it on a lease marked busy, so a stalled token holds up no other request (the keyring is
 * shared by leases safely, as the server's threads share it without key isolation); two
 * operations on one lease at once are refused. Signing runs outside it on a reference to
 * the key, so a KEY_FREE racing a SIGN cannot free the key under it. */
struct kp_state {
	pthread_mutex_t lock;
	struct bs_keyring *kr;
	uint64_t gen;     /* this key process's generation (high 32 bits of every id) */
	uint64_t next;
	struct kp_lease leases[BS_KEYPROC_LEASES_MAX];
	struct kp_key keys[BS_KEYPROC_KEYS_MAX];
};

static void harden(void)
{
	struct rlimit rl = {0, 0};
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* Members found not secret, by SHA-256 of (name, 0, bytes): the OpenSSL 3 decoders that
 * bs_keyproc_secret_member tries cost ~0.5 ms per member, and a bundle's certificates
 * and SRK table are read on every request. Only "not secret" is remembered (the same bytes
 * under the same name give the same verdict); a secret member is refused each time. */
#define PUBLIC_MEMO 64
static struct {
	pthread_mutex_t lock;
	uint8_t digest[PUBLIC_MEMO][SHA256_DIGEST_LENGTH];
	size_t n, next;
} g_public = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void member_digest(uint8_t *md, const char *name, const uint8_t *data, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, name, strlen(name) + 1) != 1 ||
	    EVP_DigestUpdate(c, data, len) != 1 || EVP_DigestFinal_ex(c, md, NULL) != 1)
		memset(md, 0, SHA256_DIGEST_LENGTH); /* never remembered: see public_remember */
	EVP_MD_CTX_free(c);
}

static bool public_known(const uint8_t *md)
{
	bool hit = false;
	pthread_mutex_lock(&g_public.lock);
	for (size_t i = 0; i < g_public.n && !hit; i++)
		hit = CRYPTO_memcmp(g_public.digest[i], md, SHA256_DIGEST_LENGTH) == 0;
	pthread_mutex_unlock(&g_public.lock);
	return hit;
}

static void public_remember(const uint8_t *md)
{
	static const uint8_t zero[SHA256_DIGEST_LENGTH];
	if (memcmp(md, zero, sizeof(zero)) == 0)
		return; /* the digest failed */
	pthread_mutex_lock(&g_public.lock);
	memcpy(g_public.digest[g_public.next], md, SHA256_DIGEST_LENGTH);
	g_public.next = (g_public.next + 1) % PUBLIC_MEMO;
	if (g_public.n < PUBLIC_MEMO)
		g_public.n++;
	pthread_mutex_unlock(&g_public.lock);
}

static bool secret_member(const char *name, const uint8_t *data, size_t len);

bool bs_keyproc_secret_member(const char *name, const uint8_t *data, size_t len)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	member_digest(md, name, data, len);
	if (public_known(md))
		return false;
	bool secret = secret_member(name, data, len);
	if (!secret)
		public_remember(md);
	return secret;
}

static bool secret_member(const char *name, const uint8_t *data, size_t len)
{
	const char *base = strrchr(name, '/');
	base = base != NULL ? base + 1 : name;
	if (strcmp(base, "key_pass.txt") == 0)
		return true;
	static const char armour[] = "PRIVATE " "KEY-----"; /* split: no false positive in secret scans */
	for (size_t i = 0; i + sizeof(armour) - 1 <= len; i++)
		if (data[i] == 'P' && memcmp(data + i, armour, sizeof(armour) - 1) == 0)
			return true;
	const unsigned char *p = data;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)(len > LONG_MAX ? LONG_MAX : len));
	bool secret = k != NULL;
	EVP_PKEY_free(k);
	if (!secret) {
		p = data;
		X509_SIG *enc = d2i_X509_SIG(NULL, &p, (long)(len > LONG_MAX ? LONG_MAX : len));
		secret = enc != NULL; /* encrypted PKCS#8 */
		X509_SIG_free(enc);
	}
	ERR_clear_error();
	return secret;
}

static int busy_or(uint64_t id, struct kp_state *st, const char *what, struct bs_error *err)
{
	if (id >> 32 != st->gen)
		return bs_error_set(err, BS_ERR_BUSY, "the key process restarted (%s of an "
				    "earlier one)", what);
	return bs_error_set(err, BS_ERR_INTERNAL, "key process: unknown %s", what);
}

static int find_lease(struct kp_lease **out, struct kp_state *st, const struct bs_kp_msg *m,
		      struct bs_error *err)
{
	uint64_t id = 0;
	int rc = bs_kp_get_u64(&id, m, 0, err);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < BS_KEYPROC_LEASES_MAX; i++)
		if (st->leases[i].l != NULL && st->leases[i].id == id) {
			*out = &st->leases[i];
			return 0;
		}
	return busy_or(id, st, "lease", err);
}

static int find_key(struct kp_key **out, struct kp_state *st, const struct bs_kp_msg *m,
		    struct bs_error *err)
{
	uint64_t id = 0;
	int rc = bs_kp_get_u64(&id, m, 0, err);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < BS_KEYPROC_KEYS_MAX; i++)
		if (st->keys[i].k != NULL && st->keys[i].id == id) {
			*out = &st->keys[i];
			return 0;
		}
	return busy_or(id, st, "key handle", err);
}

static void put_der(struct bs_kp_enc *e, int len, unsigned char *der)
{
	if (len <= 0 || der == NULL)
		e->failed = true;
	else
		bs_kp_put(e, der, (size_t)len);
	OPENSSL_free(der);
}

static int put_cert(struct bs_kp_enc *e, X509 *cert)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	put_der(e, n, der);
	X509_free(cert);
	return 0;
}

/* Store a key, answer (handle, public key DER, key id). */
static int put_key(struct bs_kp_enc *e, struct kp_state *st, struct bs_key *k,
		   struct bs_error *err)
{
	for (size_t i = 0; i < BS_KEYPROC_KEYS_MAX; i++) {
		if (st->keys[i].k != NULL)
			continue;
		st->keys[i] = (struct kp_key){.id = st->gen << 32 | ++st->next, .k = k};
		bs_kp_put_u64(e, st->keys[i].id);
		size_t n = 0;
		const uint8_t *der = bs_key_public_der(k, &n); /* encoded once per key */
		if (der == NULL)
			e->failed = true;
		else
			bs_kp_put(e, der, n);
		bs_kp_put_str(e, bs_key_id(k));
		return 0;
	}
	bs_key_free(k);
	return bs_error_set(err, BS_ERR_BUSY, "key process: more than %u keys open",
			    BS_KEYPROC_KEYS_MAX);
}

/* (name field, cert DER field) -> key name and parsed certificate (NULL if empty). */
static int name_cert(char *name, X509 **cert, const struct bs_kp_msg *m, size_t i,
		     struct bs_error *err)
{
	*cert = NULL;
	int rc = bs_kp_get_str(name, BS_PATH_MAX, m, i, err);
	if (rc != 0 || m->f[i + 1].len == 0)
		return rc;
	*cert = bs_der_x509(m->f[i + 1].p, m->f[i + 1].len);
	if (*cert == NULL)
		return bs_error_set(err, BS_ERR_FORMAT, "key message: bad certificate");
	return 0;
}

static int do_sign(struct bs_kp_enc *e, struct kp_state *st, const struct bs_kp_msg *m,
		   struct bs_error *err)
{
	struct kp_key *k = NULL;
	uint64_t v[4] = {0};
	pthread_mutex_lock(&st->lock);
	int rc = find_key(&k, st, m, err);
	struct bs_key *key = rc == 0 ? bs_key_ref(k->k) : NULL;
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; rc == 0 && i < 4; i++)
		rc = bs_kp_get_u64(&v[i], m, i + 1, err);
	if (rc != 0) {
		bs_key_free(key);
		return rc;
	}
	struct bs_sig_params p = {.md_nid = (int)(int32_t)v[0],
				  .scheme = (enum bs_sig_scheme)(int32_t)v[1],
				  .pss_saltlen = (int)(int32_t)v[2], .ecdsa_raw = v[3] != 0};
	uint8_t *sig = NULL;
	size_t siglen = 0;
	if (m->type == BS_KP_SIGN)
		/* bs_key_sign checks the digest length against md_nid, the scheme, the salt */
		rc = bs_key_sign(key, &p, m->f[5].p, m->f[5].len, &sig, &siglen, err);
	else
		rc = bs_key_sign_message(key, &p, m->f[5].p, m->f[5].len, &sig, &siglen, err);
	bs_key_free(key);
	if (rc == 0)
		bs_kp_put(e, sig, siglen);
	free(sig);
	return rc;
}

/* One lease operation, on a lease marked busy, without the lock; a key made goes to *key
 * (the caller stores it under the lock). */
static int lease_op(struct bs_kp_enc *e, struct kp_lease *l, struct kp_state *st,
		    const struct bs_kp_msg *m, struct bs_key **keyp, struct bs_error *err)
{
	int rc;
	char name[BS_PATH_MAX];
	uint64_t v = 0;
	X509 *cert = NULL;
	struct bs_key *key = NULL;
	bool bundle = m->type == BS_KP_BUNDLE_CERT || m->type == BS_KP_BUNDLE_KEY ||
		      m->type == BS_KP_BUNDLE_READ;
	if (bundle && l->src.read == NULL)
		return bs_error_set(err, BS_ERR_INTERNAL, "key process: no bundle open");
	switch (m->type) {
	case BS_KP_KEY:
	case BS_KP_BUNDLE_KEY:
		if ((rc = bs_kp_get_u64(&v, m, 1, err)) != 0 ||
		    (rc = name_cert(name, &cert, m, 2, err)) != 0)
			return rc;
		bs_lease_allow_token(l->l, v != 0);
		rc = m->type == BS_KP_KEY ? bs_lease_key(&key, l->l, name, cert, err)
					  : l->src.load_key(l->src.ctx, name, cert, &key, err);
		X509_free(cert);
		*keyp = key;
		return rc;
	case BS_KP_CERT:
	case BS_KP_BUNDLE_CERT:
		if ((rc = bs_kp_get_u64(&v, m, 1, err)) != 0 ||
		    (rc = bs_kp_get_str(name, sizeof(name), m, 2, err)) != 0)
			return rc;
		bs_lease_allow_token(l->l, v != 0);
		rc = m->type == BS_KP_CERT ? bs_lease_cert(&cert, l->l, name, err)
					   : l->src.load_cert(l->src.ctx, name, &cert, err);
		return rc != 0 ? rc : put_cert(e, cert);
	case BS_KP_EXISTS:
		if ((rc = bs_kp_get_str(name, sizeof(name), m, 1, err)) != 0)
			return rc;
		bs_kp_put_u64(e, bs_lease_exists(l->l, name) ? 1 : 0);
		return 0;
	case BS_KP_BUNDLE: {
		if ((rc = bs_kp_get_str(name, sizeof(name), m, 1, err)) != 0 ||
		    (rc = bs_lease_bundle(&l->src, l->l, name, err)) != 0)
			return rc;
		bs_kp_put_u64(e, bs_lease_bundle_first_use(l->l) ? 1 : 0);
		/* the version's serial, unique across key process generations: the server
		 * keeps this version's public members under it */
		uint64_t serial = bs_lease_bundle_serial(l->l);
		bs_kp_put_u64(e, serial != 0 ? st->gen << 32 | (serial & 0xffffffffu) : 0);
		size_t n = 0;
		const char *const *mem = bs_lease_bundle_members(l->l, &n);
		size_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += strlen(mem[i]) + 1;
		if (total > BS_KEYPROC_MEMBERS_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "bundle member names over %u bytes",
					    BS_KEYPROC_MEMBERS_MAX);
		char *blob = malloc(total + 1);
		if (blob == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		size_t o = 0;
		for (size_t i = 0; i < n; i++) {
			size_t sl = strlen(mem[i]) + 1;
			memcpy(blob + o, mem[i], sl);
			o += sl;
		}
		bs_kp_put(e, blob, total);
		free(blob);
		return 0; /* (first use, serial, member names) */
	}
	case BS_KP_BUNDLE_READ: {
		if ((rc = bs_kp_get_str(name, sizeof(name), m, 1, err)) != 0 ||
		    (rc = bs_kp_get_u64(&v, m, 2, err)) != 0)
			return rc;
		uint8_t *data = NULL;
		size_t len = 0;
		size_t max = v < BS_KEYPROC_MSG_MAX / 2 ? (size_t)v : BS_KEYPROC_MSG_MAX / 2;
		rc = l->src.read(l->src.ctx, name, max, &data, &len, err);
		if (rc == 0 && bs_keyproc_secret_member(name, data, len))
			rc = bs_error_set(err, BS_ERR_PATH, "bundle member '%s' is a private key "
					  "or its passphrase: it never leaves the key process",
					  name);
		if (rc == 0)
			bs_kp_put(e, data, len);
		if (data != NULL)
			OPENSSL_cleanse(data, len);
		free(data);
		return rc;
	}
	default:
		return bs_error_set(err, BS_ERR_INTERNAL, "key process: bad request");
	}
}

static int do_lease_op(struct bs_kp_enc *e, struct kp_state *st, const struct bs_kp_msg *m,
		       struct bs_error *err)
{
	struct kp_lease *l = NULL;
	pthread_mutex_lock(&st->lock);
	int rc = find_lease(&l, st, m, err);
	if (rc == 0 && m->type == BS_KP_LEASE_CLOSE) {
		if (l->busy) {
			l->close = true;
		} else {
			bs_keyring_release(l->l);
			memset(l, 0, sizeof(*l));
		}
	} else if (rc == 0 && l->busy) {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key process: two requests at once on "
				  "one lease");
	}
	if (rc != 0 || m->type == BS_KP_LEASE_CLOSE) {
		pthread_mutex_unlock(&st->lock);
		return rc;
	}
	l->busy = true; /* a close meanwhile runs at its end; another operation is refused */
	pthread_mutex_unlock(&st->lock);
	struct bs_key *key = NULL;
	rc = lease_op(e, l, st, m, &key, err);
	pthread_mutex_lock(&st->lock);
	l->busy = false;
	if (rc == 0 && key != NULL)
		rc = put_key(e, st, key, err); /* frees key on failure */
	if (l->close) {
		bs_keyring_release(l->l);
		memset(l, 0, sizeof(*l));
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static int handle_locked(struct bs_kp_enc *e, struct kp_state *st, const struct bs_kp_msg *m,
			 struct bs_error *err);

/* Answer one request into e (an OK reply; the caller turns a failure into ERR). */
static int handle(struct bs_kp_enc *e, struct kp_state *st, const struct bs_kp_msg *m,
		  struct bs_error *err)
{
	switch (m->type) {
	case BS_KP_CHECK:
		return bs_keyring_check(st->kr, err);
	case BS_KP_POOL_STATS: {
		struct bs_pool_stats s[BS_P11_TOKENS_MAX];
		size_t n = bs_keyring_pool_stats(st->kr, s, BS_ARRAY_SIZE(s));
		uint8_t rec[BS_P11_TOKENS_MAX * BS_KP_POOL_RECORD];
		for (size_t i = 0; i < n; i++)
			bs_kp_pool_record(rec + i * BS_KP_POOL_RECORD, &s[i]);
		bs_kp_put(e, rec, n * BS_KP_POOL_RECORD);
		return 0;
	}
	case BS_KP_SIGN:
	case BS_KP_SIGN_MSG:
		return do_sign(e, st, m, err);
	case BS_KP_LEASE_CLOSE:
	case BS_KP_KEY:
	case BS_KP_CERT:
	case BS_KP_EXISTS:
	case BS_KP_BUNDLE:
	case BS_KP_BUNDLE_READ:
	case BS_KP_BUNDLE_CERT:
	case BS_KP_BUNDLE_KEY:
		return do_lease_op(e, st, m, err);
	default:
		break;
	}
	pthread_mutex_lock(&st->lock);
	int rc = handle_locked(e, st, m, err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static int handle_locked(struct bs_kp_enc *e, struct kp_state *st, const struct bs_kp_msg *m,
			 struct bs_error *err)
{
	switch (m->type) {
	case BS_KP_LEASE_OPEN: {
		char subject[BS_NAME_MAX + 1];
		char *filter = malloc(BS_KEY_FILTER_MAX); /* tens of KiB: off the stack */
		if (filter == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		int rc = bs_kp_get_str(subject, sizeof(subject), m, 0, err);
		if (rc == 0)
			rc = bs_kp_get_str(filter, BS_KEY_FILTER_MAX, m, 1, err);
		size_t i = 0;
		while (rc == 0 && i < BS_KEYPROC_LEASES_MAX && st->leases[i].l != NULL)
			i++;
		if (rc == 0 && i == BS_KEYPROC_LEASES_MAX)
			rc = bs_error_set(err, BS_ERR_BUSY, "key process: more than %u leases "
					  "open", BS_KEYPROC_LEASES_MAX);
		/* every key this lease gives out must pass the request's policy decision:
		 * checked here, where the keys are */
		if (rc == 0)
			rc = bs_keyring_lease_filtered(&st->leases[i].l, st->kr, subject,
						       filter[0] ? filter : NULL, err);
		free(filter);
		if (rc != 0)
			return rc;
		st->leases[i].id = st->gen << 32 | ++st->next;
		bs_kp_put_u64(e, st->leases[i].id);
		return 0;
	}
	case BS_KP_SERVICE_KEY: {
		char name[BS_NAME_MAX + 1];
		struct bs_key *key = NULL;
		int rc = bs_kp_get_str(name, sizeof(name), m, 0, err);
		if (rc == 0)
			rc = bs_keyring_service_key(&key, st->kr, name, err);
		return rc != 0 ? rc : put_key(e, st, key, err);
	}
	case BS_KP_KEY_FREE: {
		struct kp_key *k = NULL;
		int rc = find_key(&k, st, m, err);
		if (rc == 0) {
			bs_key_free(k->k);
			memset(k, 0, sizeof(*k));
		}
		return rc;
	}
	default:
		return bs_error_set(err, BS_ERR_INTERNAL, "key process: bad request");
	}
}

static void send_msg(int fd, const struct bs_kp_enc *e)
{
	while (send(fd, e->buf, e->len, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* One worker of the key process: requests off the shared socket (SOCK_SEQPACKET: each
 * recv takes one whole message, whichever worker makes it) until the server closes its
 * end; each answer is one send, tagged with the request's sequence number. */
static int serve(int fd, struct kp_state *st)
{
	uint8_t *buf = malloc(BS_KEYPROC_MSG_MAX);
	if (buf == NULL)
		return 1;
	for (;;) {
		ssize_t n = recv(fd, buf, BS_KEYPROC_MSG_MAX, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the server is gone */
		struct bs_error err = {0};
		struct bs_kp_msg m = {0};
		struct bs_kp_enc e;
		int rc = (size_t)n > BS_KEYPROC_MSG_MAX
				 ? bs_error_set(&err, BS_ERR_FORMAT, "key message too long")
				 : bs_kp_decode(&m, buf, (size_t)n, &err);
		if (rc == 0 && m.type >= BS_KP_REQUEST_END)
			rc = bs_error_set(&err, BS_ERR_FORMAT, "key message: not a request");
		bs_kp_enc_start(&e, BS_KP_OK, rc == 0 ? m.seq : 0);
		if (rc == 0)
			rc = handle(&e, st, &m, &err);
		if (rc == 0)
			rc = bs_kp_enc_end(&e, &err);
		if (rc != 0) {
			bs_kp_enc_free(&e);
			bs_kp_enc_start(&e, BS_KP_ERR, rc == BS_ERR_FORMAT && n >= 8
						? (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
						  (uint32_t)buf[6] << 8 | buf[7]
						: m.seq);
			bs_kp_put_u64(&e, (uint64_t)(int64_t)rc);
			bs_kp_put_str(&e, err.msg);
			if (bs_kp_enc_end(&e, NULL) != 0) {
				bs_kp_enc_free(&e);
				continue;
			}
		}
		send_msg(fd, &e);
		bs_kp_enc_free(&e);
		OPENSSL_cleanse(buf, (size_t)n < BS_KEYPROC_MSG_MAX ? (size_t)n
								    : BS_KEYPROC_MSG_MAX);
	}
	free(buf);
	return 0;
}

struct worker {
	pthread_t t;
	int fd;
	struct kp_state *st;
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->rc = serve(w->fd, w->st);
	return NULL;
}

static int key_process(int fd, const struct bs_keyring_opts *o, uint64_t gen)
{
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	harden();
	bs_keyproc_lock_memory(); /* memory locks do not survive fork */
	struct bs_error err = {0};
	struct kp_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return 1;
	st->gen = gen;
	if (bs_keyring_new(&st->kr, o, &err) != 0) {
		bs_log(BS_LOG_ERROR, NULL, "key process: %s", err.msg);
		free(st);
		return 1;
	}
	/* opened what it needs; before the first request and before its worker threads,
	 * which inherit the filter */
	bs_keyproc_sandbox(o->key_process_network);
	pthread_mutex_init(&st->lock, NULL);
	struct worker w[BS_KEYPROC_WORKERS];
	size_t nw = 0;
	for (; nw < BS_KEYPROC_WORKERS - 1; nw++) {
		w[nw] = (struct worker){.fd = fd, .st = st};
		if (pthread_create(&w[nw].t, NULL, worker_main, &w[nw]) != 0)
			break; /* fewer workers: slower, not wrong */
	}
	bs_log(BS_LOG_INFO, NULL, "key process %ld started (generation %llu, %zu threads)",
	       (long)getpid(), (unsigned long long)gen, nw + 1);
	int rc = serve(fd, st);
	for (size_t i = 0; i < nw; i++) {
		pthread_join(w[i].t, NULL);
		rc = rc != 0 ? rc : w[i].rc;
	}
	pthread_mutex_destroy(&st->lock);
	for (size_t i = 0; i < BS_KEYPROC_KEYS_MAX; i++)
		bs_key_free(st->keys[i].k);
	for (size_t i = 0; i < BS_KEYPROC_LEASES_MAX; i++)
		bs_keyring_release(st->leases[i].l);
	bs_keyring_free(st->kr);
	free(st);
	return rc;
}

/* The supervisor: restarts the key process and tells the server when one died. */
static void supervise(int fd, const struct bs_keyring_opts *o, pid_t server)
{
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	harden();
	if (getppid() != server)
		_exit(0);
	for (uint64_t gen = 1;; gen++) {
		pid_t pid = fork();
		if (pid < 0) {
			sleep(1);
			continue;
		}
		if (pid == 0)
			_exit(key_process(fd, o, gen));
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			_exit(0); /* the server closed its end */
		bs_log(BS_LOG_ERROR, NULL, "key process %ld died (%s %d): restarting it",
		       (long)pid, WIFSIGNALED(status) ? "signal" : "status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		struct bs_kp_enc e;
		bs_kp_enc_start(&e, BS_KP_DIED, 0);
		if (bs_kp_enc_end(&e, NULL) == 0)
			send_msg(fd, &e);
		bs_kp_enc_free(&e);
		usleep(KEYPROC_RESTART_MS * 1000);
	}
}

int bs_keyproc_start(int *out_fd, const struct bs_keyring_opts *o, struct bs_error *err)
{
	*out_fd = -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return bs_error_set(err, BS_ERR_IO, "key process: socketpair: %s",
				    strerror(errno));
	pid_t server = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return bs_error_set(err, BS_ERR_IO, "key process: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		supervise(sv[1], o, server);
		_exit(0);
	}
	close(sv[1]);
	*out_fd = sv[0];
	return 0;
}
