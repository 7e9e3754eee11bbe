#include "core/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/secmem.h"
#include "core/util.h"

int bs_config_init(struct bs_config *cfg, struct bs_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->address = strdup("127.0.0.1");
	cfg->p11_tokens = strdup(BS_CONFIG_DEFAULT_P11_TOKENS);
	if (cfg->address == NULL || cfg->p11_tokens == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	cfg->port = BS_CONFIG_DEFAULT_PORT;
	cfg->max_request = BS_CONFIG_DEFAULT_MAX_REQUEST;
	cfg->connection_limit = 64;
	cfg->connection_timeout = 120;
	cfg->connections_per_client = 32;
	cfg->header_timeout = 10;
	cfg->body_timeout = 600;
	cfg->sign_timeout_ms = 600000; /* digsigserver's response timeout */
	cfg->log_level = BS_LOG_INFO;
	cfg->p11_pool_size = 4;
	cfg->p11_timeout_ms = 30000;
	cfg->key_cache_size = 32;
	cfg->key_cache_memory = 256ull << 20;
	cfg->key_cache_idle = 60;
	cfg->key_isolation = true; /* keys and PIN in the key process, not the parsing one */
	cfg->spool_mem_max = BS_CONFIG_DEFAULT_SPOOL_MEM_MAX;
	cfg->spool_mem_total = BS_CONFIG_DEFAULT_SPOOL_MEM_TOTAL;
	return 0;
}

void bs_config_free(struct bs_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->address);
	free(cfg->keyfile_root);
	free(cfg->state_dir);
	free(cfg->spool_dir);
	free(cfg->mender_artifact_root);
	free(cfg->p11_module);
	free(cfg->p11_tokens);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->client_ca);
	free(cfg->tokens_file);
	free(cfg->policy_file);
	free(cfg->audit_log);
	free(cfg->audit_key);
	free(cfg->proxy_addresses);
	free(cfg->proxy_header);
	free(cfg->user);
	bs_free_secret_str(cfg->p11_pin);
	memset(cfg, 0, sizeof(*cfg));
}

int bs_config_parse_size(uint64_t *out, const char *s, struct bs_error *err)
{
	size_t ndig = strspn(s, "0123456789");
	if (ndig == 0)
		return bs_error_set(err, BS_ERR_INVALID, "'%s' is not a size", s);
	char digits[24]; /* UINT64_MAX has 20 digits: more is out of range anyway */
	if (ndig >= sizeof(digits))
		return bs_error_set(err, BS_ERR_INVALID, "'%s' is out of range", s);
	memcpy(digits, s, ndig);
	digits[ndig] = '\0';
	uint64_t v = 0;
	if (bs_parse_u64(&v, digits, 10, 0, UINT64_MAX, "size", err) != 0)
		return bs_error_set(err, BS_ERR_INVALID, "'%s' is out of range", s);
	const char *end = s + ndig;
	uint64_t mult = 1;
	if (*end != '\0') {
		static const struct {
			const char *suffix;
			uint64_t mult;
		} units[] = {{"K", 1024}, {"KiB", 1024}, {"M", 1024 * 1024}, {"MiB", 1024 * 1024},
			     {"G", 1024ull * 1024 * 1024}, {"GiB", 1024ull * 1024 * 1024},
			     {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000ull * 1000 * 1000}};
		size_t i;
		for (i = 0; i < BS_ARRAY_SIZE(units); i++)
			if (strcasecmp(end, units[i].suffix) == 0)
				break;
		if (i == BS_ARRAY_SIZE(units))
			return bs_error_set(err, BS_ERR_INVALID, "'%s': unknown size suffix", s);
		mult = units[i].mult;
	}
	if (v > UINT64_MAX / mult)
		return bs_error_set(err, BS_ERR_INVALID, "'%s' is out of range", s);
	*out = v * mult;
	return 0;
}

static int parse_uint(unsigned *out, const char *s, unsigned min, unsigned max,
		      const char *where, const char *key, struct bs_error *err)
{
	char what[BS_CONFIG_WHERE_MAX + 64];
	snprintf(what, sizeof(what), "%s: %s", where, key);
	return bs_parse_uint(out, s, 10, min, max, what, err);
}

static int parse_yes_no(bool *out, const char *value, const char *where, const char *key,
			struct bs_error *err)
{
	if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
		return bs_error_set(err, BS_ERR_INVALID, "%s: %s: '%s' is not yes or no", where,
				    key, value);
	*out = strcmp(value, "yes") == 0;
	return 0;
}

static int set_str(char **dst, const char *value, struct bs_error *err)
{
	char *copy = strdup(value);
	if (copy == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

int bs_config_set(struct bs_config *cfg, const char *key, const char *value,
		  const char *where, struct bs_error *err)
{
	if (strcmp(key, "address") == 0)
		return set_str(&cfg->address, value, err);
	if (strcmp(key, "port") == 0)
		return parse_uint(&cfg->port, value, 0, 65535, where, key, err);
	if (strcmp(key, "keyfile_uri") == 0) {
		char *path = NULL;
		int rc = bs_config_keyfile_path(&path, value, err);
		if (rc != 0)
			return bs_error_prefix(err, "%s", where);
		free(cfg->keyfile_root);
		cfg->keyfile_root = path;
		return 0;
	}
	if (strcmp(key, "state_dir") == 0)
		return set_str(&cfg->state_dir, value, err);
	if (strcmp(key, "spool_dir") == 0)
		return set_str(&cfg->spool_dir, value, err);
	if (strcmp(key, "mender_artifact_root") == 0) {
		if (value[0] != '/' || strlen(value) >= BS_PATH_MAX)
			return bs_error_set(err, BS_ERR_INVALID,
					    "%s: mender_artifact_root: '%s' is not an absolute path",
					    where, value);
		return set_str(&cfg->mender_artifact_root, value, err);
	}
	if (strcmp(key, "max_request_size") == 0) {
		int rc = bs_config_parse_size(&cfg->max_request, value, err);
		if (rc == 0 && cfg->max_request < BS_CONFIG_REQUEST_MIN)
			rc = bs_error_set(err, BS_ERR_INVALID, "must be at least %u bytes",
					  BS_CONFIG_REQUEST_MIN);
		return rc != 0 ? bs_error_prefix(err, "%s: %s", where, key) : 0;
	}
	if (strcmp(key, "spool_memory_max") == 0 || strcmp(key, "spool_memory_total") == 0) {
		bool per_upload = strcmp(key, "spool_memory_max") == 0;
		uint64_t *dst = per_upload ? &cfg->spool_mem_max : &cfg->spool_mem_total;
		int rc = bs_config_parse_size(dst, value, err);
		if (rc == 0 && *dst > BS_CONFIG_SPOOL_MEM_LIMIT)
			rc = bs_error_set(err, BS_ERR_INVALID, "at most 4G");
		return rc != 0 ? bs_error_prefix(err, "%s: %s", where, key) : 0;
	}
	if (strcmp(key, "threads") == 0)
		return parse_uint(&cfg->threads, value, 0, BS_CONFIG_THREADS_MAX, where, key, err);
	if (strcmp(key, "connection_limit") == 0)
		return parse_uint(&cfg->connection_limit, value, 1, BS_CONFIG_CONNECTIONS_MAX, where,
				  key, err);
	if (strcmp(key, "sign_timeout") == 0) {
		unsigned sec = 0;
		int rc = parse_uint(&sec, value, 1, BS_CONFIG_SIGN_TIMEOUT_MAX, where, key, err);
		if (rc == 0)
			cfg->sign_timeout_ms = sec * 1000u;
		return rc;
	}
	if (strcmp(key, "connection_timeout") == 0)
		return parse_uint(&cfg->connection_timeout, value, 1, BS_CONFIG_CONN_TIMEOUT_MAX,
				  where, key, err);
	if (strcmp(key, "connections_per_client") == 0)
		return parse_uint(&cfg->connections_per_client, value, 1, 65536, where, key, err);
	if (strcmp(key, "header_timeout") == 0)
		return parse_uint(&cfg->header_timeout, value, 1, 3600, where, key, err);
	if (strcmp(key, "body_timeout") == 0)
		return parse_uint(&cfg->body_timeout, value, 1, 86400, where, key, err);
	if (strcmp(key, "key_cache_idle") == 0)
		return parse_uint(&cfg->key_cache_idle, value, 1, 86400, where, key, err);
	if (strcmp(key, "key_cache_memory") == 0) {
		int rc = bs_config_parse_size(&cfg->key_cache_memory, value, err);
		return rc != 0 ? bs_error_prefix(err, "%s: %s", where, key) : 0;
	}
	if (strcmp(key, "key_cache_size") == 0)
		return parse_uint(&cfg->key_cache_size, value, 1, BS_CONFIG_KEY_CACHE_MAX, where,
				  key, err);
	if (strcmp(key, "pkcs11_pool_size") == 0)
		return parse_uint(&cfg->p11_pool_size, value, 1, BS_P11_POOL_MAX, where, key, err);
	if (strcmp(key, "pkcs11_timeout_ms") == 0)
		return parse_uint(&cfg->p11_timeout_ms, value, BS_CONFIG_P11_TIMEOUT_MIN_MS,
				  BS_CONFIG_P11_TIMEOUT_MAX_MS, where, key, err);
	if (strcmp(key, "pkcs11_tokens") == 0)
		return set_str(&cfg->p11_tokens, value, err);
	if (strcmp(key, "pkcs11_module") == 0)
		return set_str(&cfg->p11_module, value, err);
	if (strcmp(key, "pkcs11_pin_file") == 0) {
		char *pin = NULL;
		int rc = bs_secret_read_file(&pin, value, "PIN", err);
		if (rc != 0)
			return bs_error_prefix(err, "%s: pkcs11_pin_file", where);
		bs_free_secret_str(cfg->p11_pin);
		cfg->p11_pin = pin;
		return 0;
	}
	static const struct {
		const char *key;
		size_t off;
	} paths[] = {
		{"tls_cert", offsetof(struct bs_config, tls_cert)},
		{"tls_key", offsetof(struct bs_config, tls_key)},
		{"client_ca", offsetof(struct bs_config, client_ca)},
		{"tokens_file", offsetof(struct bs_config, tokens_file)},
		{"policy_file", offsetof(struct bs_config, policy_file)},
		{"audit_log", offsetof(struct bs_config, audit_log)},
		{"audit_key", offsetof(struct bs_config, audit_key)},
		{"proxy_addresses", offsetof(struct bs_config, proxy_addresses)},
		{"proxy_header", offsetof(struct bs_config, proxy_header)},
	};
	for (size_t i = 0; i < BS_ARRAY_SIZE(paths); i++) {
		if (strcmp(key, paths[i].key) != 0)
			continue;
		if (value[0] == '\0')
			return bs_error_set(err, BS_ERR_INVALID, "%s: %s: empty value", where, key);
		return set_str((char **)((char *)cfg + paths[i].off), value, err);
	}
	if (strcmp(key, "key_isolation") == 0)
		return parse_yes_no(&cfg->key_isolation, value, where, key, err);
	if (strcmp(key, "key_process_network") == 0)
		return parse_yes_no(&cfg->key_process_network, value, where, key, err);
	if (strcmp(key, "user") == 0) {
		if (value[0] == '\0' || strlen(value) > BS_CONFIG_USER_MAX)
			return bs_error_set(err, BS_ERR_INVALID, "%s: user: '%s' is not a user "
					    "name (1 to %u bytes)", where, value,
					    BS_CONFIG_USER_MAX);
		return set_str(&cfg->user, value, err);
	}
	if (strcmp(key, "allow_anonymous") == 0) {
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0) {
			cfg->allow_anonymous = true;
			return 0;
		}
		if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0) {
			cfg->allow_anonymous = false;
			return 0;
		}
		return bs_error_set(err, BS_ERR_INVALID,
				    "%s: allow_anonymous: '%s' is not yes or no", where, value);
	}
	if (strcmp(key, "log_level") == 0) {
		static const char *const levels[] = {"debug", "info", "warn", "error"};
		for (size_t i = 0; i < BS_ARRAY_SIZE(levels); i++) {
			if (strcmp(value, levels[i]) == 0) {
				cfg->log_level = (int)i;
				return 0;
			}
		}
		return bs_error_set(err, BS_ERR_INVALID,
				    "%s: log_level: '%s' is not debug, info, warn or error", where,
				    value);
	}
	if (strcmp(key, "bundle_root_keys") == 0) {
		if (strcmp(value, "warn") != 0 && strcmp(value, "refuse") != 0)
			return bs_error_set(err, BS_ERR_INVALID, "%s: bundle_root_keys: '%s' is not "
					    "warn or refuse", where, value);
		cfg->refuse_root_bundles = strcmp(value, "refuse") == 0;
		return 0;
	}
	return bs_error_set(err, BS_ERR_INVALID, "%s: unknown setting '%s'", where, key);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

int bs_config_load_text(struct bs_config *cfg, const char *text, size_t len, const char *name,
			struct bs_error *err)
{
	unsigned lineno = 0;
	size_t pos = 0;
	while (pos < len) {
		lineno++;
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		size_t n = end - pos;
		if (n >= BS_CONFIG_LINE_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "%s:%u: line longer than %u bytes",
					    name, lineno, BS_CONFIG_LINE_MAX - 1);
		char line[BS_CONFIG_LINE_MAX];
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', n) != NULL)
			return bs_error_set(err, BS_ERR_SYNTAX, "%s:%u: NUL byte", name, lineno);
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL)
			return bs_error_set(err, BS_ERR_SYNTAX, "%s:%u: expected 'key = value'",
					    name, lineno);
		*eq = '\0';
		char *key = trim(s);
		char *value = trim(eq + 1);
		size_t vlen = strlen(value);
		if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
			value[vlen - 1] = '\0';
			value++;
		}
		if (*key == '\0')
			return bs_error_set(err, BS_ERR_SYNTAX, "%s:%u: missing key before '='",
					    name, lineno);
		char where[BS_CONFIG_WHERE_MAX];
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		int rc = bs_config_set(cfg, key, value, where, err);
		memset(line, 0, sizeof(line));
		if (rc != 0)
			return rc;
	}
	return 0;
}

int bs_config_load_file(struct bs_config *cfg, const char *path, struct bs_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_read_file(&data, &len, path, BS_CONFIG_FILE_MAX, err);
	if (rc != 0)
		return rc;
	rc = bs_config_load_text(cfg, (const char *)data, len, path, err);
	bs_free_secret(data, len);
	return rc;
}

int bs_config_keyfile_path(char **out, const char *uri, struct bs_error *err)
{
	*out = NULL;
	const char *path = uri;
	if (strncmp(uri, "file://", 7) == 0) {
		path = uri + 7;
		if (path[0] != '/')
			return bs_error_set(err, BS_ERR_INVALID,
					    "keyfile URI '%s': expected file:///absolute/path", uri);
	} else if (strstr(uri, "://") != NULL) {
		return bs_error_set(err, BS_ERR_UNSUPPORTED,
				    "keyfile URI '%s': only file:// URIs and paths are supported",
				    uri);
	}
	if (path[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "keyfile URI is empty");
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	*out = strndup(path, n);
	if (*out == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	return 0;
}

int bs_config_load_env(struct bs_config *cfg, struct bs_error *err)
{
	const char *v = getenv("DIGSIGSERVER_KEYFILE_URI");
	if (v != NULL && v[0] != '\0') {
		int rc = bs_config_set(cfg, "keyfile_uri", v, "DIGSIGSERVER_KEYFILE_URI", err);
		if (rc != 0)
			return rc;
	}
	v = getenv("DIGSIGSERVER_REQUEST_MAX_SIZE");
	if (v != NULL && v[0] != '\0') {
		int rc = bs_config_set(cfg, "max_request_size", v, "DIGSIGSERVER_REQUEST_MAX_SIZE",
				       err);
		if (rc != 0)
			return rc;
	}
	if (getenv("DIGSIGSERVER_IMX_CST_BASE") != NULL)
		cfg->cst_base_ignored = true;
	static const char *const pin_vars[] = {"DIGSIGSERVER_YUBIHSM_PASSWORD", "YUBIHSM_PASSWORD"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(pin_vars); i++) {
		char *pv = getenv(pin_vars[i]);
		if (pv == NULL)
			continue;
		if (pv[0] != '\0' && cfg->p11_pin == NULL) {
			cfg->p11_pin = bs_secmem_strdup(pv);
			if (cfg->p11_pin == NULL)
				return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		}
		/* unsetenv() only drops the pointer: the bytes stay in the process's initial
		 * environment block, readable in /proc/<pid>/environ (and in core dumps).
		 * Overwrite them in place first; children must not inherit the PIN either. */
		volatile char *vp = pv;
		while (*vp != '\0')
			*vp++ = '\0';
		unsetenv(pin_vars[i]);
	}
	return 0;
}

int bs_config_default_state_dir(char **out, struct bs_error *err)
{
	*out = NULL;
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char buf[BS_PATH_MAX];
	if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, sizeof(buf), "%s/bootsign", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(buf, sizeof(buf), "%s/.local/state/bootsign", home);
	else
		return bs_error_set(err, BS_ERR_CONFIG,
				    "no state directory: set --state-dir, XDG_STATE_HOME or HOME");
	*out = strdup(buf);
	if (*out == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	return 0;
}
