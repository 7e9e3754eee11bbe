#include "keys/keyring.h"

#include <errno.h>
#include <fnmatch.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/secmem.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"
#include "keys/bundles.h"
#include "keys/keyproc_client.h"
#include "keys/pkcs11.h"
#include "keys/store.h"
#include "keys/tokcache.h"

/* A wrong PIN (BS_ERR_CONFIG) is never retried: repeated logins would lock the token.
 * Other open failures (token absent) are retried after this delay. */
#define P11_RETRY_MS 5000
#define KEYRING_BUNDLE_CACHE_DEFAULT 16

struct bs_keyring {
	char *root;
	struct bs_keycache *bundles; /* NULL without a root */
	char *p11_module;
	char *p11_tokens;
	char *p11_pin;               /* secret */
	unsigned p11_pool_size;
	unsigned p11_timeout_ms;
	pthread_mutex_t p11_lock;
	struct bs_p11 *p11;          /* opened on first use */
	struct bs_error p11_err;     /* last failed open */
	uint64_t p11_failed_ms;
	struct bs_tokcache *tokcache; /* NULL = no object cache */
	char *audit_key;             /* setting: file or pkcs11: URI */
	char *tls_key;               /* setting: file or pkcs11: URI */
	struct bs_kpc *remote;       /* remote mode: everything above is in the key process */
};

struct bs_keyring_lease {
	struct bs_keyring *kr;
	char subject[BS_NAME_MAX + 1];
	bool allow_token;
	struct bs_store *dir;        /* <root>/<subject>, confined; opened on first use */
	struct bs_keylease *blease;  /* the bundle (one per lease) */
	struct bs_store *bstore;
	char *bname;
	uint64_t rid;                /* remote mode: the lease in the key process */
	char **rmembers;             /* remote mode: members of the bundle opened last */
	size_t nrmembers;
	bool rfirst_use;
	uint64_t rserial;            /* remote mode: the bundle's serial (0: not cached) */
	char *filter;                /* the request's key filter (policy decision); NULL = none */
};

int bs_keyring_new(struct bs_keyring **out, const struct bs_keyring_opts *o,
		   struct bs_error *err)
{
	*out = NULL;
	struct bs_keyring *kr = calloc(1, sizeof(*kr));
	if (kr == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&kr->p11_lock, NULL);
	int rc = 0;
	if ((o->root != NULL && (kr->root = bs_strdup(o->root)) == NULL) ||
	    (o->p11_module != NULL && (kr->p11_module = bs_strdup(o->p11_module)) == NULL) ||
	    (o->p11_tokens != NULL && (kr->p11_tokens = bs_strdup(o->p11_tokens)) == NULL) ||
	    (o->audit_key != NULL && (kr->audit_key = bs_strdup(o->audit_key)) == NULL) ||
	    (o->tls_key != NULL && (kr->tls_key = bs_strdup(o->tls_key)) == NULL) ||
	    (o->p11_pin != NULL && (kr->p11_pin = bs_secmem_strdup(o->p11_pin)) == NULL)) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	kr->p11_pool_size = o->p11_pool_size;
	kr->p11_timeout_ms = o->p11_timeout_ms;
	if (kr->root != NULL) {
		size_t n = o->bundle_cache != 0 ? o->bundle_cache : KEYRING_BUNDLE_CACHE_DEFAULT;
		rc = bs_keycache_new(&kr->bundles, kr->root, n, err);
		if (rc == 0)
			rc = bs_keycache_set_limits(kr->bundles, o->bundle_cache_bytes,
						    o->bundle_idle_ms, err);
		if (rc != 0)
			goto fail;
	}
	if (o->token_cache_ms != 0) {
		rc = bs_tokcache_new(&kr->tokcache, o->token_cache_ms, err);
		if (rc != 0)
			goto fail;
	}
	*out = kr;
	return 0;
fail:
	bs_keyring_free(kr);
	return rc;
}

int bs_keyring_new_remote(struct bs_keyring **out, int fd, struct bs_error *err)
{
	*out = NULL;
	struct bs_keyring *kr = calloc(1, sizeof(*kr));
	if (kr == NULL) {
		close(fd);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&kr->p11_lock, NULL);
	int rc = bs_kpc_new(&kr->remote, fd, err);
	if (rc != 0) {
		close(fd);
		bs_keyring_free(kr);
		return rc;
	}
	*out = kr;
	return 0;
}

size_t bs_keyring_pool_stats(struct bs_keyring *kr, struct bs_pool_stats *out, size_t max)
{
	if (kr->remote != NULL)
		return bs_kpc_pool_stats(kr->remote, out, max);
	pthread_mutex_lock(&kr->p11_lock);
	size_t n = kr->p11 != NULL ? bs_p11_pool_stats(kr->p11, out, max) : 0;
	pthread_mutex_unlock(&kr->p11_lock);
	return n;
}

int bs_keyring_check(struct bs_keyring *kr, struct bs_error *err)
{
	if (kr->remote != NULL)
		return bs_kpc_check(kr->remote, err);
	if (kr->bundles == NULL)
		return 0;
	return bs_keycache_check(kr->bundles, err);
}

const char *bs_keyring_root(const struct bs_keyring *kr)
{
	return kr->root;
}

size_t bs_keyring_bundles(struct bs_keyring *kr)
{
	return kr->bundles != NULL ? bs_keycache_size(kr->bundles) : 0;
}

unsigned long bs_keyring_token_misses(struct bs_keyring *kr)
{
	return kr->tokcache != NULL ? bs_tokcache_misses(kr->tokcache) : 0;
}

void bs_keyring_free(struct bs_keyring *kr)
{
	if (kr == NULL)
		return;
	bs_kpc_free(kr->remote);
	bs_keycache_free(kr->bundles);
	bs_tokcache_free(kr->tokcache); /* holds token keys: before the token closes */
	bs_p11_close(kr->p11);
	pthread_mutex_destroy(&kr->p11_lock);
	bs_free_secret_str(kr->p11_pin);
	free(kr->p11_module);
	free(kr->p11_tokens);
	free(kr->audit_key);
	free(kr->tls_key);
	free(kr->root);
	free(kr);
}

/* The shared token context, opened on first use. */
static int get_p11(struct bs_keyring *kr, struct bs_p11 **out, struct bs_error *err)
{
	*out = NULL;
	if (kr->p11_pin == NULL)
		/* the client asked for something this server does not offer: say so (a 500
		 * would hide the reason) */
		return bs_error_set(err, BS_ERR_UNSUPPORTED,
				    "backend=pkcs11: this server has no PKCS#11 token configured "
				    "(its operator sets YUBIHSM_PASSWORD or pkcs11_pin_file)");
	int rc = 0;
	pthread_mutex_lock(&kr->p11_lock);
	if (kr->p11 == NULL && kr->p11_err.code != 0 &&
	    (kr->p11_err.code == BS_ERR_CONFIG ||
	     bs_now_ms() - kr->p11_failed_ms < P11_RETRY_MS)) {
		rc = kr->p11_err.code;
		if (err != NULL)
			*err = kr->p11_err;
	} else if (kr->p11 == NULL) {
		struct bs_p11_opts o = {
			.module = kr->p11_module,
			.tokens = kr->p11_tokens,
			.pin = kr->p11_pin,
			.pool_size = kr->p11_pool_size,
			.op_timeout_ms = kr->p11_timeout_ms,
		};
		rc = bs_p11_open(&kr->p11, &o, &kr->p11_err);
		if (rc != 0) {
			kr->p11 = NULL;
			kr->p11_failed_ms = bs_now_ms();
			bs_log(BS_LOG_ERROR, NULL, "pkcs11: cannot open the token%s: %s",
			       rc == BS_ERR_CONFIG ? " (not retried until restart)" : "",
			       kr->p11_err.msg);
			if (err != NULL)
				*err = kr->p11_err;
		}
	}
	*out = kr->p11;
	pthread_mutex_unlock(&kr->p11_lock);
	return rc;
}

/* The loader that resolves pkcs11: URIs (through the object cache when there is one). */
static int token_loader(struct bs_keyring_lease *l, const struct bs_uri_loader **loader,
			void **ctx, struct bs_error *err)
{
	struct bs_p11 *p11 = NULL;
	int rc = get_p11(l->kr, &p11, err);
	if (rc != 0)
		return rc;
	if (l->kr->tokcache != NULL) {
		*loader = bs_tokcache_loader(l->kr->tokcache, p11);
		*ctx = l->kr->tokcache;
	} else {
		*loader = &bs_p11_uri_loader;
		*ctx = p11;
	}
	return 0;
}

/* why = pre + key + suf from a "pre\tsuf" field (or a plain refusal without one). */
static void refusal(char *why, size_t cap, const char *field, size_t n, const char *key)
{
	const char *tab = memchr(field, '\t', n);
	if (tab == NULL || why == NULL) {
		if (why != NULL)
			snprintf(why, cap, "access denied: key '%s' is outside what the policy allows "
				 "this request", key);
		return;
	}
	snprintf(why, cap, "%.*s%s%.*s", (int)(tab - field), field, key,
		 (int)(n - (size_t)(tab - field) - 1), tab + 1);
}

bool bs_key_filter_allows(const char *filter, const char *key_id, char *why, size_t cap)
{
	if (filter == NULL)
		return true;
	char key[BS_JOB_KEY_ID_MAX];
	bs_text_sanitize(key, sizeof(key), key_id);
	for (const char *p = filter; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n >= 1 && p[0] == '!') { /* the default: refused, with its words */
			refusal(why, cap, p + 1, n - 1, key);
			return false;
		}
		const char *tab = memchr(p, '\t', n);
		size_t gl = (tab != NULL ? (size_t)(tab - p) : n);
		char glob[BS_POLICY_PATTERN_MAX + 1]; /* a policy's KEY (a longer one: no match) */
		if (gl >= 2 && gl < sizeof(glob) && (p[0] == '+' || p[0] == '-')) {
			memcpy(glob, p + 1, gl - 1);
			glob[gl - 1] = '\0';
			if (fnmatch(glob, key_id, 0) == 0) {
				if (p[0] == '-')
					refusal(why, cap, tab != NULL ? tab + 1 : "",
						tab != NULL ? n - gl - 1 : 0, key);
				return p[0] == '+';
			}
		}
		p += n + (nl != NULL);
	}
	refusal(why, cap, "", 0, key); /* no line matches: default deny */
	return false;
}

/* The key passes the lease's filter, or is freed and the request refused with the
 * policy's own words. */
static int filtered(struct bs_keyring_lease *l, int rc, struct bs_key **key,
		    struct bs_error *err)
{
	char why[BS_ERROR_MSG_MAX];
	if (rc != 0 || bs_key_filter_allows(l->filter, bs_key_id(*key), why, sizeof(why)))
		return rc;
	bs_key_free(*key);
	*key = NULL;
	return bs_error_set(err, BS_ERR_DENIED, "%s", why);
}

int bs_keyring_lease_filtered(struct bs_keyring_lease **out, struct bs_keyring *kr,
			      const char *subject, const char *filter, struct bs_error *err)
{
	*out = NULL;
	if (subject == NULL || strlen(subject) > BS_NAME_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "no or too long machine/distro name");
	if (filter != NULL && strlen(filter) >= BS_KEY_FILTER_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "key filter over %u bytes",
				    BS_KEY_FILTER_MAX - 1);
	struct bs_keyring_lease *l = calloc(1, sizeof(*l));
	if (l == NULL || (filter != NULL && (l->filter = bs_strdup(filter)) == NULL)) {
		free(l);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	l->kr = kr;
	snprintf(l->subject, sizeof(l->subject), "%s", subject);
	if (kr->remote != NULL) {
		int rc = bs_kpc_lease_open(&l->rid, kr->remote, subject, filter, err);
		if (rc != 0) {
			free(l->filter);
			free(l);
			return rc;
		}
	}
	*out = l;
	return 0;
}

int bs_keyring_lease(struct bs_keyring_lease **out, struct bs_keyring *kr,
		     const char *subject, struct bs_error *err)
{
	return bs_keyring_lease_filtered(out, kr, subject, NULL, err);
}

static void remote_members_free(struct bs_keyring_lease *l)
{
	for (size_t i = 0; i < l->nrmembers; i++)
		free(l->rmembers[i]);
	free(l->rmembers);
	l->rmembers = NULL;
	l->nrmembers = 0;
}

void bs_keyring_release(struct bs_keyring_lease *l)
{
	if (l == NULL)
		return;
	if (l->kr->remote != NULL)
		bs_kpc_lease_close(l->kr->remote, l->rid);
	remote_members_free(l);
	bs_keycache_release(l->blease);
	bs_store_free(l->dir);
	free(l->bname);
	free(l->filter);
	free(l);
}

void bs_lease_allow_token(struct bs_keyring_lease *l, bool allow)
{
	l->allow_token = allow;
}

static bool is_uri(const char *name)
{
	return strncmp(name, "pkcs11:", 7) == 0;
}

/* The subject's directory store (confined). */
static int subject_dir(struct bs_keyring_lease *l, struct bs_error *err)
{
	if (l->dir != NULL)
		return 0;
	if (l->kr->root == NULL)
		return bs_error_set(err, BS_ERR_CONFIG, "no key store configured");
	char path[BS_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", l->kr->root, l->subject);
	if (n < 0 || (size_t)n >= sizeof(path))
		return bs_error_set(err, BS_ERR_LIMIT, "key store path too long");
	int rc = bs_store_open_dir(&l->dir, path, true, err);
	if (rc == BS_ERR_NOT_FOUND)
		return bs_error_set(err, BS_ERR_NOT_FOUND, "no keys for '%s' (no directory '%s' "
				    "in the key store)", l->subject, l->subject);
	return rc;
}

/* Check a client URI against the PIN/module policy; *clean = the URI to use. */
static int token_name(char **clean, struct bs_keyring_lease *l, const char *name,
		      struct bs_error *err)
{
	*clean = NULL;
	if (!l->allow_token)
		return bs_error_set(err, BS_ERR_INVALID, "a pkcs11: URI needs backend=pkcs11");
	return bs_p11_uri_sanitize(clean, name, err);
}

/* Whose fault a key store failure is: the client named the file (missing: 404, a path
 * out of the store: 400), the operator made it (too large for its limit: 500, never a 413
 * as if the client had sent too much). */
static int store_result(int rc, struct bs_error *err)
{
	if (rc == BS_ERR_LIMIT)
		return bs_error_recode(err, BS_ERR_CONFIG);
	return rc;
}

/* Missing files are named relative to the key root: "<subject>/<name>". */
static int name_missing(struct bs_keyring_lease *l, int rc, const char *what,
			const char *name, struct bs_error *err)
{
	rc = store_result(rc, err);
	if (rc == BS_ERR_NOT_FOUND)
		return bs_error_set(err, BS_ERR_NOT_FOUND, "%s '%s/%s' not found in the key store",
				    what, l->subject, name);
	return rc;
}

/* A client URI that passed the policy, and the loader that resolves it. */
struct token_ref {
	char *uri; /* malloc'd (free it also on failure) */
	const struct bs_uri_loader *loader;
	void *ctx;
};

static int token_ref(struct token_ref *t, struct bs_keyring_lease *l, const char *name,
		     struct bs_error *err)
{
	memset(t, 0, sizeof(*t));
	int rc = token_name(&t->uri, l, name, err);
	if (rc == 0)
		rc = token_loader(l, &t->loader, &t->ctx, err);
	return rc;
}

int bs_lease_key(struct bs_key **out, struct bs_keyring_lease *l, const char *name,
		 X509 *cert, struct bs_error *err)
{
	*out = NULL;
	struct token_ref t;
	int rc;
	if (l->kr->remote != NULL)
		return bs_kpc_key(out, l->kr->remote, l->rid, l->allow_token, false, name, cert,
				  err);
	if (is_uri(name)) {
		if ((rc = token_ref(&t, l, name, err)) == 0)
			rc = t.loader->load_key(t.ctx, t.uri, cert, out, err);
		free(t.uri);
		return filtered(l, rc, out, err);
	}
	if ((rc = subject_dir(l, err)) != 0)
		return rc;
	rc = bs_store_load_key_file(l->dir, name, cert, out, err);
	return filtered(l, name_missing(l, rc, "key file", name, err), out, err);
}

int bs_lease_cert(X509 **out, struct bs_keyring_lease *l, const char *name,
		  struct bs_error *err)
{
	*out = NULL;
	struct token_ref t;
	int rc;
	if (l->kr->remote != NULL)
		return bs_kpc_cert(out, l->kr->remote, l->rid, 0, l->allow_token, false, name,
				   err);
	if (is_uri(name)) {
		if ((rc = token_ref(&t, l, name, err)) == 0)
			rc = t.loader->load_cert(t.ctx, t.uri, out, err);
		free(t.uri);
		return rc;
	}
	if ((rc = subject_dir(l, err)) != 0)
		return rc;
	rc = bs_store_load_cert(l->dir, name, out, err);
	return name_missing(l, rc, "certificate", name, err);
}

bool bs_lease_exists(struct bs_keyring_lease *l, const char *name)
{
	if (name != NULL && !is_uri(name) && l->kr->remote != NULL)
		return bs_kpc_exists(l->kr->remote, l->rid, name);
	if (name == NULL || is_uri(name) || subject_dir(l, NULL) != 0)
		return false;
	return bs_store_exists(l->dir, name);
}

/* Key source over the bundle (shared by concurrent requests: this lease's token policy
 * is applied here, never stored in the bundle's store). pkcs11: names pass the URI
 * policy first and go to the token. */
static int bsrc_read(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		     struct bs_error *err)
{
	struct bs_keyring_lease *l = ctx;
	return store_result(bs_store_read(l->bstore, name, max, out, out_len, err), err);
}

static int bsrc_cert(void *ctx, const char *name, X509 **out, struct bs_error *err)
{
	struct bs_keyring_lease *l = ctx;
	if (is_uri(name))
		return bs_lease_cert(out, l, name, err);
	return store_result(bs_store_load_cert(l->bstore, name, out, err), err);
}

static int bsrc_key(void *ctx, const char *cert_name, X509 *cert, struct bs_key **out,
		    struct bs_error *err)
{
	struct bs_keyring_lease *l = ctx;
	if (is_uri(cert_name))
		return bs_lease_key(out, l, cert_name, cert, err);
	return filtered(l, store_result(bs_store_load_key(l->bstore, cert_name, cert, out, err),
					err), out, err);
}

/* Remote mode: the same three questions, asked of the key process. */
static int rsrc_read(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		     struct bs_error *err)
{
	struct bs_keyring_lease *l = ctx;
	return bs_kpc_bundle_read(out, out_len, l->kr->remote, l->rid, l->rserial, name, max,
				  err);
}

static int rsrc_cert(void *ctx, const char *name, X509 **out, struct bs_error *err)
{
	struct bs_keyring_lease *l = ctx;
	return bs_kpc_cert(out, l->kr->remote, l->rid, l->rserial, l->allow_token, true, name,
			   err);
}

static int rsrc_key(void *ctx, const char *cert_name, X509 *cert, struct bs_key **out,
		    struct bs_error *err)
{
	struct bs_keyring_lease *l = ctx;
	return bs_kpc_key(out, l->kr->remote, l->rid, l->allow_token, true, cert_name, cert,
			  err);
}

static int remote_bundle(struct bs_key_source *out, struct bs_keyring_lease *l,
			 const char *bundle, struct bs_error *err)
{
	remote_members_free(l);
	int rc = bs_kpc_bundle(&l->rfirst_use, &l->rserial, &l->rmembers, &l->nrmembers,
			       l->kr->remote, l->rid, bundle, err);
	if (rc == 0)
		*out = (struct bs_key_source){.read = rsrc_read, .load_cert = rsrc_cert,
					      .load_key = rsrc_key, .ctx = l};
	return rc;
}

int bs_lease_bundle(struct bs_key_source *out, struct bs_keyring_lease *l, const char *bundle,
		    struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	if (l->kr->remote != NULL)
		return remote_bundle(out, l, bundle, err);
	if (l->kr->bundles == NULL)
		return bs_error_set(err, BS_ERR_CONFIG, "no key store configured");
	if (l->bname == NULL || strcmp(l->bname, bundle) != 0) {
		const char *slash = strchr(bundle, '/');
		if (slash == NULL || strchr(slash + 1, '/') != NULL || strstr(bundle, "..") != NULL)
			return bs_error_set(err, BS_ERR_INTERNAL, "bundle name '%s' is not "
					    "<signtype>/<file>", bundle);
		char signtype[64];
		size_t tl = (size_t)(slash - bundle);
		if (tl == 0 || tl >= sizeof(signtype))
			return bs_error_set(err, BS_ERR_INTERNAL, "bad bundle name '%s'", bundle);
		memcpy(signtype, bundle, tl);
		signtype[tl] = '\0';
		bs_keycache_release(l->blease);
		l->blease = NULL;
		l->bstore = NULL;
		free(l->bname);
		l->bname = NULL;
		int rc = bs_keycache_acquire(l->kr->bundles, l->subject, signtype, slash + 1,
					     &l->blease, &l->bstore, err);
		if (rc != 0)
			return rc;
		if ((l->bname = bs_strdup(bundle)) == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	*out = (struct bs_key_source){.read = bsrc_read, .load_cert = bsrc_cert,
				      .load_key = bsrc_key, .ctx = l};
	return 0;
}

const char *const *bs_lease_bundle_members(struct bs_keyring_lease *l, size_t *n)
{
	*n = 0;
	if (l->kr->remote != NULL) {
		*n = l->nrmembers;
		return (const char *const *)l->rmembers;
	}
	return l->bstore != NULL ? bs_store_members(l->bstore, n) : NULL;
}

uint64_t bs_lease_bundle_serial(const struct bs_keyring_lease *l)
{
	if (l->kr->remote != NULL)
		return l->rserial;
	return bs_keycache_serial(l->blease);
}

bool bs_lease_bundle_first_use(const struct bs_keyring_lease *l)
{
	if (l->kr->remote != NULL)
		return l->rfirst_use;
	return bs_keycache_first_use(l->blease);
}

/* A PEM private key in a file only its owner can read. */
static int pem_file_key(struct bs_key **out, const char *path, const char *setting,
			struct bs_error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc = bs_secret_read_all(&pem, &len, path, setting, BS_SERVICE_KEY_FILE_MAX, err);
	if (rc != 0)
		return bs_error_recode(err, BS_ERR_CONFIG);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	bs_free_secret(pem, len + 1);
	if (pk == NULL)
		return bs_error_ssl(err, BS_ERR_CONFIG, "%s %s: not a PEM private key", setting,
				    path);
	return bs_key_from_pkey(out, pk, setting, err);
}

int bs_keyring_service_key(struct bs_key **out, struct bs_keyring *kr, const char *name,
			   struct bs_error *err)
{
	*out = NULL;
	if (kr->remote != NULL)
		return bs_kpc_service_key(out, kr->remote, name, err);
	const char *ref = strcmp(name, "audit_key") == 0 ? kr->audit_key
			  : strcmp(name, "tls_key") == 0   ? kr->tls_key
							   : NULL;
	if (ref == NULL)
		return bs_error_set(err, BS_ERR_CONFIG, "%s is not set", name);
	if (!is_uri(ref))
		return pem_file_key(out, ref, name, err);
	/* a token key the operator configured: the server's PIN policy, as for a client
	 * URI under backend=pkcs11 */
	struct bs_keyring_lease l = {.kr = kr, .allow_token = true};
	struct token_ref t;
	int rc = token_ref(&t, &l, ref, err);
	if (rc == 0)
		rc = t.loader->load_key(t.ctx, t.uri, NULL, out, err);
	free(t.uri);
	if (rc != 0) {
		bs_error_prefix(err, "%s", name);
		rc = bs_error_recode(err, BS_ERR_CONFIG);
	}
	return rc;
}
