/* Error codes and the error report carried out of every fallible function.
 *
 * Convention: functions return 0 on success or a negative BS_ERR_* code, and fill an
 * optional struct bs_error (may be NULL) with the code and a one-line human message
 * that names the problem (file, line, column, field). */
#ifndef BS_CORE_ERROR_H
#define BS_CORE_ERROR_H

#include <stddef.h>

#include "core/limits.h"

#define BS_WUR __attribute__((warn_unused_result))
#define BS_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum bs_err {
	BS_OK = 0,
	BS_ERR_NOMEM = -1,       /* allocation failed */
	BS_ERR_IO = -2,          /* reading or writing a file or socket failed */
	BS_ERR_INVALID = -3,     /* invalid argument or request field */
	BS_ERR_SYNTAX = -4,      /* CSF (or other text) syntax error */
	BS_ERR_SEMANTIC = -5,    /* well-formed but meaningless: order, index, value rules */
	BS_ERR_LIMIT = -6,       /* a configured bound was exceeded */
	BS_ERR_NOT_FOUND = -7,   /* named file, key, object or machine does not exist */
	BS_ERR_PATH = -8,        /* path escapes its allowed root (absolute, .., symlink) */
	BS_ERR_UNSUPPORTED = -9, /* valid but not implemented */
	BS_ERR_CRYPTO = -10,     /* OpenSSL failure */
	BS_ERR_KEY = -11,        /* key unusable: wrong password, mismatch, wrong type */
	BS_ERR_FORMAT = -12,     /* malformed binary input (CSF blob, SRK table, archive) */
	BS_ERR_VERIFY = -13,     /* a verification check failed */
	BS_ERR_TOKEN = -14,      /* PKCS#11 token failure */
	BS_ERR_TIMEOUT = -15,    /* an operation took too long */
	BS_ERR_CONFIG = -16,     /* server configuration is wrong (e.g. wrong HSM PIN) */
	BS_ERR_POLICY = -17,     /* request violates policy (client PIN, module choice) */
	BS_ERR_INTERNAL = -18,   /* a bug or an unexpected state */
	BS_ERR_BUSY = -19,       /* resource exhausted, retry later */
	BS_ERR_TOOL = -20,       /* an external tool failed */
	BS_ERR_AUTH = -21,       /* missing or bad client credentials (HTTP 401) */
	BS_ERR_DENIED = -22,     /* the access policy refuses this client (HTTP 403) */
	BS_ERR_RATE = -23,       /* a policy rate limit was reached (HTTP 429) */
};

struct bs_error {
	int code;
	char msg[BS_ERROR_MSG_MAX];
};

/* Record code and message into err (if not NULL); returns code so callers can write
 * `return bs_error_set(err, BS_ERR_INVALID, "...")`. */
int bs_error_set(struct bs_error *err, int code, const char *fmt, ...) BS_PRINTF(3, 4);

/* Like bs_error_set, then appends the drained OpenSSL error queue (": reason"). */
int bs_error_ssl(struct bs_error *err, int code, const char *fmt, ...) BS_PRINTF(3, 4);

/* Prefix an existing message: "prefix: old message". Keeps the code. Returns err->code. */
int bs_error_prefix(struct bs_error *err, const char *fmt, ...) BS_PRINTF(2, 3);

/* Change the code of a recorded error, keeping its message (a lower layer's failure that
 * means something else here, e.g. a missing file that is a configuration error). Returns
 * code, so callers write `return bs_error_recode(err, BS_ERR_CONFIG)` or
 * `rc = bs_error_recode(err, BS_ERR_INVALID)`. err may be NULL. */
int bs_error_recode(struct bs_error *err, int code);

/* Reset to no error. */
void bs_error_clear(struct bs_error *err);

/* Stable short name of a code, e.g. "syntax" for BS_ERR_SYNTAX. */
const char *bs_err_name(int code);

#endif
