/* Server configuration: defaults, then a config file of `key = value` lines, then the
 * digsigserver environment variables, then command-line flags (each layer overrides the
 * previous one).
 *
 * Config file keys (unknown keys are an error naming file and line):
 *   address, port, keyfile_uri (file:// URI or plain path), state_dir, spool_dir,
 *   max_request_size (bytes, suffixes K/M/G), threads, connection_limit,
 *   connection_timeout (seconds of inactivity), connections_per_client (connections one
 *   client address may hold; more are answered 503), header_timeout / body_timeout
 *   (seconds from connection or previous request to the whole request head, and from the
 *   head to the whole body: absolute, trickling bytes do not extend them), sign_timeout
 *   (seconds, default 600), log_level (debug|info|warn|error),
 *   pkcs11_module, pkcs11_tokens (comma-separated token labels or serial=<serial>: the
 *   only tokens the server logs in to, default "YubiHSM", the token digsigserver's PIN
 *   is for), pkcs11_pin_file (0600 file, first line), pkcs11_pool_size,
 *   pkcs11_timeout_ms, key_cache_size, key_cache_memory (size), key_cache_idle (seconds),
 *   spool_memory_max, spool_memory_total (sizes),
 *   bundle_root_keys (warn | refuse: a key bundle holding SRK or CA private keys),
 *   mender_artifact_root (absolute directory: /sign/mender's file:// artifact-uri
 *   must name a file inside it; unset = every artifact-uri refused),
 *   access control (docs/security.md): tls_cert, tls_key (PEM files or a pkcs11: URI
 *   for the key: serve HTTPS),
 *   client_ca (PEM: client certificates it issued are accepted), tokens_file (bearer
 *   token hashes, 0600), policy_file, audit_log, audit_key (PEM private key sealing the
 *   audit log), allow_anonymous (yes|no), proxy_addresses (comma-separated IPs whose
 *   proxy_header, default X-Client-DN, names the client),
 *   key_isolation (yes|no), key_process_network (yes|no: the key process's seccomp
 *   filter lets it open AF_INET/AF_INET6 sockets, for yubihsm-connector),
 *   user (started as root, the process that parses requests switches to this user).
 * Environment: DIGSIGSERVER_KEYFILE_URI, DIGSIGSERVER_REQUEST_MAX_SIZE,
 *   DIGSIGSERVER_IMX_CST_BASE (accepted, ignored: no external CST is run),
 *   DIGSIGSERVER_YUBIHSM_PASSWORD or YUBIHSM_PASSWORD (the token PIN; removed from the
 *   environment once read). */
#ifndef BS_CORE_CONFIG_H
#define BS_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"

#define BS_CONFIG_DEFAULT_PORT 9999
#define BS_CONFIG_DEFAULT_P11_TOKENS "YubiHSM" /* the token digsigserver's PIN is for */
#define BS_CONFIG_DEFAULT_MAX_REQUEST (600ull * 1000 * 1000) /* digsigserver: 600 MB */
#define BS_CONFIG_DEFAULT_SPOOL_MEM_MAX (4ull << 20)
#define BS_CONFIG_DEFAULT_SPOOL_MEM_TOTAL (32ull << 20)
#define BS_CONFIG_USER_MAX 64 /* `user` name length */

struct bs_config {
	char *address;            /* bind address, default 127.0.0.1 */
	unsigned port;            /* 0 = any free port */
	char *keyfile_root;       /* directory holding <machine>/<signtype>/...; NULL = demo */
	char *state_dir;          /* demo key store location; NULL = XDG default */
	char *spool_dir;          /* upload spool; NULL = private dir under $TMPDIR */
	uint64_t max_request;     /* bytes */
	unsigned threads;         /* 0 = a thread per connection; N = pool of N event loops */
	unsigned connection_limit;
	unsigned connection_timeout; /* seconds of inactivity */
	unsigned connections_per_client;
	unsigned header_timeout;  /* seconds, absolute */
	unsigned body_timeout;    /* seconds, absolute */
	unsigned sign_timeout_ms; /* deadline of one signing job (config: sign_timeout, s) */
	int log_level;            /* enum bs_log_level */
	/* access control (NULL = not configured) */
	char *tls_cert;
	char *tls_key;
	char *client_ca;
	char *tokens_file;
	char *policy_file;
	char *audit_log;
	char *audit_key;
	char *proxy_addresses;    /* "10.0.0.5,10.0.0.6" */
	char *proxy_header;       /* NULL = X-Client-DN */
	bool allow_anonymous;
	bool key_isolation;       /* keys and PIN live in a separate key process (default yes) */
	bool key_process_network; /* the key process may open AF_INET/AF_INET6 sockets */
	char *user;               /* started as root: the parsing process switches to it */
	char *p11_module;         /* NULL = p11-kit proxy */
	char *p11_tokens;         /* tokens clients may select (labels, serial=...) */
	char *p11_pin;            /* secret: wiped on free */
	unsigned p11_pool_size;
	unsigned p11_timeout_ms;
	unsigned key_cache_size;  /* machines whose bundles stay parsed */
	uint64_t key_cache_memory; /* bytes those parsed bundles may take */
	unsigned key_cache_idle;  /* seconds: a bundle unused this long is freed */
	uint64_t spool_mem_max;   /* an upload up to this size stays in memory (0 = always file) */
	uint64_t spool_mem_total; /* memory spool budget shared by all requests */
	bool cst_base_ignored;    /* DIGSIGSERVER_IMX_CST_BASE was set */
	bool refuse_root_bundles; /* bundle_root_keys = refuse: bundles holding SRK/CA
				   * private keys are refused (default warn, once each) */
	char *mender_artifact_root; /* absolute directory for file:// artifact-uri; NULL = none */
};

/* Fill with defaults (allocates the default address). */
int bs_config_init(struct bs_config *cfg, struct bs_error *err) BS_WUR;
/* Apply one key = value setting; `where` ("file:line") prefixes messages. */
int bs_config_set(struct bs_config *cfg, const char *key, const char *value,
		  const char *where, struct bs_error *err) BS_WUR;
/* Parse a config file. BS_ERR_SYNTAX/BS_ERR_INVALID with "file:line: ..." messages. */
int bs_config_load_file(struct bs_config *cfg, const char *path, struct bs_error *err) BS_WUR;
/* Parse config text (exposed for tests). */
int bs_config_load_text(struct bs_config *cfg, const char *text, size_t len,
			const char *name, struct bs_error *err) BS_WUR;
/* Apply the digsigserver environment variables; the PIN variables are unset after use. */
int bs_config_load_env(struct bs_config *cfg, struct bs_error *err) BS_WUR;
/* Turn a keyfile URI ("file:///x", "/x", "x") into a directory path. *out malloc'd.
 * BS_ERR_UNSUPPORTED for other schemes (s3://). */
int bs_config_keyfile_path(char **out, const char *uri, struct bs_error *err) BS_WUR;
/* Parse a size with an optional K/M/G (1024-based) or KB/MB/GB (1000-based) suffix. */
int bs_config_parse_size(uint64_t *out, const char *s, struct bs_error *err) BS_WUR;
/* Default state directory: $XDG_STATE_HOME/bootsign or $HOME/.local/state/bootsign. */
int bs_config_default_state_dir(char **out, struct bs_error *err) BS_WUR;

void bs_config_free(struct bs_config *cfg);

#endif
