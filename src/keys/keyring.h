/* The keyring: the only place that opens key stores, key bundles and token sessions.
 *
 * Keys are organised like digsigserver's key store: <root>/<subject>/<signtype>/<file>,
 * where the subject is a machine or distro name. A job leases the keys of one subject
 * (bs_keyring_lease) and asks for "key K of subject S" by name:
 *  - a file name inside the subject's directory ("kmodsign/kernel-signkey.priv"),
 *    resolved confined to that directory (absolute names, "..", symlinks leaving it ->
 *    BS_ERR_PATH; missing -> BS_ERR_NOT_FOUND naming "<subject>/<name>");
 *  - a tar.gz bundle in it ("imxsign/imx-cst-keys.tar.gz"), parsed once per version and
 *    kept (at most `bundle_cache` subjects, least recently used evicted, a replaced file
 *    is picked up by the next lease), offered as a key source with CST naming inside;
 *  - a pkcs11: URI, under the URI/PIN policy (the client may only write the placeholder
 *    pin-value=password; the server's PIN is used), resolved through the one token
 *    context: a bounded session pool, opened lazily, with token objects reused for
 *    `token_cache_ms`.
 * The keyring is thread-safe; a lease is used by one job (one thread) at a time. */
#ifndef BS_KEYS_KEYRING_H
#define BS_KEYS_KEYRING_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/poolstats.h"
#include "crypto/key.h"

struct bs_keyring;
struct bs_keyring_lease;

struct bs_keyring_opts {
	const char *root;           /* key store root directory; NULL = no file keys */
	size_t bundle_cache;        /* subjects whose bundles stay parsed (0 = 16) */
	size_t bundle_cache_bytes;  /* ... and at most this many bytes (0 = no bound) */
	unsigned bundle_idle_ms;    /* a bundle unused this long is freed (0 = kept) */
	const char *p11_module;     /* NULL = p11-kit proxy */
	const char *p11_pin;        /* token user PIN (copied, wiped); NULL = no tokens */
	unsigned p11_pool_size;     /* sessions per token (0 = 4) */
	const char *p11_tokens;     /* the tokens clients may select (bs_p11_opts.tokens);
				     * NULL = any (offline CLI) */
	unsigned p11_timeout_ms;    /* session wait + one operation (0 = 30000) */
	unsigned token_cache_ms;    /* reuse found token objects this long (0 = no cache) */
	const char *audit_key;      /* the audit log's sealing key: a PEM file (0600) or a
				     * pkcs11: URI; NULL = none (bs_keyring_service_key) */
	const char *tls_key;        /* the HTTPS server key: the same forms */
	bool key_process_network;   /* key process only (keys/keyproc_sandbox.h): its filter
				     * lets it open AF_INET/AF_INET6 sockets */
};

/* A request's key filter: the policy's decision (auth/policy.h bs_policy_key_filter), one
 * line per rule that matches the request, in order: "+GLOB" allows, "-GLOB\tPRE\tSUF"
 * refuses, "!PRE\tSUF" (last) refuses everything else; the first line that matches the key
 * id decides, none refuses. A refusal writes PRE + key id + SUF (the policy's own message)
 * into why (cap bytes; may be NULL). NULL filter allows all. */
bool bs_key_filter_allows(const char *filter, const char *key_id, char *why, size_t cap);

int bs_keyring_new(struct bs_keyring **out, const struct bs_keyring_opts *o,
		   struct bs_error *err) BS_WUR;
/* A keyring whose keys live in the key process at the other end of fd (keys/keyproc.h;
 * takes fd). Same API; keys are stubs that send their digests to be signed. */
int bs_keyring_new_remote(struct bs_keyring **out, int fd, struct bs_error *err) BS_WUR;
/* One of the server's own keys, by its setting's name ("audit_key", "tls_key"): the PEM private key
 * file it names (only its owner may read it) or the token object of its pkcs11: URI.
 * BS_ERR_CONFIG naming the setting when it is unset, unreadable or not a key. In remote
 * mode the key stays in the key process (which knows the settings from its start; the
 * server only names the setting). */
int bs_keyring_service_key(struct bs_key **out, struct bs_keyring *kr, const char *name,
			   struct bs_error *err) BS_WUR;
/* The token session pools opened so far (up to max, in out; /metrics): size, in use,
 * waiting. In remote mode they are the key process's. Returns how many (0 on failure). */
size_t bs_keyring_pool_stats(struct bs_keyring *kr, struct bs_pool_stats *out, size_t max);
/* Is the key store readable? (for /healthz) */
int bs_keyring_check(struct bs_keyring *kr, struct bs_error *err) BS_WUR;
const char *bs_keyring_root(const struct bs_keyring *kr);
/* Number of parsed bundles kept; token lookups that went to the token (tests, metrics). */
size_t bs_keyring_bundles(struct bs_keyring *kr);
unsigned long bs_keyring_token_misses(struct bs_keyring *kr);
/* Closes the token (after the last lease) and frees every cached key. NULL is a no-op. */
void bs_keyring_free(struct bs_keyring *kr);

/* The keys of one subject (already checked as a name by the caller). */
int bs_keyring_lease(struct bs_keyring_lease **out, struct bs_keyring *kr,
		     const char *subject, struct bs_error *err) BS_WUR;
/* The same under a request's key filter (bs_key_filter_allows; NULL = none): every key the
 * lease gives out (file, bundle or token) must pass it, else BS_ERR_DENIED. In remote mode
 * the key process applies it itself. */
int bs_keyring_lease_filtered(struct bs_keyring_lease **out, struct bs_keyring *kr,
			      const char *subject, const char *filter,
			      struct bs_error *err) BS_WUR;
void bs_keyring_release(struct bs_keyring_lease *l);

/* Allow pkcs11: names in this lease (otherwise they are BS_ERR_INVALID "needs
 * backend=pkcs11"). */
void bs_lease_allow_token(struct bs_keyring_lease *l, bool allow);
/* Private key by file name or URI; cert (optional) must match. */
int bs_lease_key(struct bs_key **out, struct bs_keyring_lease *l, const char *name,
		 X509 *cert, struct bs_error *err) BS_WUR;
/* Certificate by file name (PEM or DER) or URI. */
int bs_lease_cert(X509 **out, struct bs_keyring_lease *l, const char *name,
		  struct bs_error *err) BS_WUR;
bool bs_lease_exists(struct bs_keyring_lease *l, const char *name);
/* A bundle of the subject as a key source (valid until release). */
int bs_lease_bundle(struct bs_key_source *out, struct bs_keyring_lease *l, const char *bundle,
		    struct bs_error *err) BS_WUR;
/* Names of the members of the last bundle opened with bs_lease_bundle, for checks such
 * as "this bundle holds root-of-trust keys" (borrowed; n = count). */
const char *const *bs_lease_bundle_members(struct bs_keyring_lease *l, size_t *n);
/* Is the bundle opened last the first use of that bundle version (once-per-bundle
 * warnings)? */
bool bs_lease_bundle_first_use(const struct bs_keyring_lease *l);
/* A number for the version of the bundle opened last, different for every version (and,
 * in remote mode, every key process); 0 when there is none. */
uint64_t bs_lease_bundle_serial(const struct bs_keyring_lease *l);

#endif
