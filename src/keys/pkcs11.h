/* PKCS#11 token keys behind the key interface (src/keys/key.h).
 *
 * One struct bs_p11 = one loaded module (p11-kit module loading; default the p11-kit
 * proxy), one token login (user PIN from server configuration, never from a client), and
 * a bounded pool of sessions kept alive and shared by all requests. Requests queue for a
 * session instead of failing; a stuck token operation times out (BS_ERR_TIMEOUT); on
 * CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED / CKR_DEVICE_REMOVED /
 * CKR_USER_NOT_LOGGED_IN / CKR_TOKEN_NOT_PRESENT / CKR_DEVICE_ERROR the pool re-opens,
 * re-logs in and retries once. A wrong PIN is a configuration error (BS_ERR_CONFIG) and is
 * never retried (no token lockout). Digests only are sent to the token. */
#ifndef BS_KEYS_PKCS11_H
#define BS_KEYS_PKCS11_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/poolstats.h"
#include "core/limits.h"
#include "crypto/key.h"
#include "keys/store.h"

#define BS_P11_DEFAULT_MODULE "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"

struct bs_p11;

struct bs_p11_opts {
	const char *module;      /* module path; NULL = BS_P11_DEFAULT_MODULE */
	const char *pin;         /* user PIN (copied, wiped on close) */
	size_t pool_size;        /* sessions; 0 = 4; at most 16 */
	unsigned op_timeout_ms;  /* wait for a session + one token operation; 0 = 30000 */
	/* The tokens this handle may log in to: comma-separated token labels or
	 * "serial=<serial number>" (at most P11 tokens max). NULL = any token a URI names
	 * (the CLI, whose user chooses). With a list, a URI only selects among the listed
	 * tokens present in the module: one session pool per physical token (by serial)
	 * however the URI describes it, so the sessions opened on a token never exceed
	 * pool_size; a URI matching no listed token is BS_ERR_NOT_FOUND (no such token) or
	 * BS_ERR_POLICY (a token the server does not use) before anything is allocated or
	 * any PIN is sent; one matching several is BS_ERR_INVALID. */
	const char *tokens;
};

int bs_p11_open(struct bs_p11 **out, const struct bs_p11_opts *opts,
		struct bs_error *err) BS_WUR;
/* Drops the caller's reference; the module is finalised when the last token key made
 * from this handle is freed too (keys keep it alive). Waits for token calls in flight. */
void bs_p11_close(struct bs_p11 *p11);

/* Sessions idle for `ms` get a C_GetSessionInfo so the token does not reclaim them
 * (YubiHSM: 30 s). Default 20000; 0 = never. */
void bs_p11_set_keepalive(struct bs_p11 *p11, unsigned ms);
/* Each token pool used so far (up to max, in out): size, sessions in use, callers waiting.
 * Returns how many. */
size_t bs_p11_pool_stats(const struct bs_p11 *p11, struct bs_pool_stats *out, size_t max);
/* Counters since open: session-loss recoveries, operations that timed out. */
void bs_p11_stats(const struct bs_p11 *p11, unsigned long *recoveries,
		  unsigned long *timeouts);

/* Loader for struct bs_store (ctx = struct bs_p11 *): certificates (type=cert) are read
 * from the token; keys are the private-key objects with the same token/object/id. */
extern const struct bs_uri_loader bs_p11_uri_loader;

/* Client-supplied URI policy. Accepts an RFC 7512 URI whose pin-value is absent or the
 * literal placeholder "password"; rejects (BS_ERR_POLICY) any other pin-value, pin-source,
 * module-name, module-path or unknown attribute. *out = the URI with pin-value removed
 * (malloc'd). */
int bs_p11_uri_sanitize(char **out, const char *uri, struct bs_error *err) BS_WUR;

/* Provisioning helpers (used by `bootsign hsm` and `bootsign pki create --token`). */
struct bs_p11_object_info {
	char label[BS_P11_LABEL_MAX];
	char id_hex[130];
	char type[16];   /* "private", "public", "cert", "secret", "data" */
	char keytype[16];/* "RSA", "EC", "" */
	unsigned bits;
	char usage[64];  /* "sign,verify,..." */
};
int bs_p11_list(struct bs_p11 *p11, const char *token_uri, struct bs_p11_object_info **out,
		size_t *n, struct bs_error *err) BS_WUR;
/* Import a private key (and its public key) and certificate under label/id. */
int bs_p11_import(struct bs_p11 *p11, const char *token_uri, EVP_PKEY *priv, X509 *cert,
		  const char *label, const uint8_t *id, size_t id_len,
		  struct bs_error *err) BS_WUR;
/* Generate a non-extractable key pair inside the token; *out signs through the token.
 * keytype: "rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521". */
int bs_p11_generate(struct bs_p11 *p11, const char *token_uri, const char *keytype,
		    const char *label, const uint8_t *id, size_t id_len, struct bs_key **out,
		    struct bs_error *err) BS_WUR;
/* Store a certificate object under label/id. */
int bs_p11_write_cert(struct bs_p11 *p11, const char *token_uri, X509 *cert,
		      const char *label, const uint8_t *id, size_t id_len,
		      struct bs_error *err) BS_WUR;

#endif
