/* The client side of the signing server's REST API (libcurl): one multipart POST with
 * TLS server checks (--cacert), client certificates (mTLS) and a bearer token; answers
 * other than 2xx become one error naming the status, the server's text and the request
 * id; 503 with Retry-After is retried with backoff, nothing else is. Only src/cli uses
 * this layer; the core library has no HTTP client. */
#ifndef BS_CLIENT_HTTP_CLIENT_H
#define BS_CLIENT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define BS_CLIENT_ERROR_BODY_MAX 2048u      /* server text kept from an error answer */
#define BS_CLIENT_REQID_MAX 64              /* X-Request-Id kept */
#define BS_CLIENT_RETRIES_DEFAULT 4         /* retries of a 503 with Retry-After */
#define BS_CLIENT_RETRIES_MAX 20            /* --retries accepted */
#define BS_CLIENT_RETRY_WAIT_MAX_S 60       /* longest wait before one retry */
#define BS_CLIENT_PROGRESS_MIN (16ull << 20) /* uploads larger than this show progress */
#define BS_CLIENT_URL_MAX 2048u

struct bs_client {
	const char *server;   /* "https://signer:9999" (a trailing '/' is fine) */
	const char *cacert;   /* CA bundle for the server's certificate, NULL = system */
	const char *cert;     /* client certificate (mTLS), NULL = none */
	const char *key;      /* its private key */
	char *token;          /* bearer token (owned by the caller, wiped by it), or NULL */
	bool progress;        /* allow a progress line on a terminal */
	unsigned retry_base_ms; /* first backoff step; 0 = 1000 */
	int retries;          /* of a 503 with Retry-After; < 0 = BS_CLIENT_RETRIES_DEFAULT */
};

/* One form part: a text value, a file (streamed from `path`), or bytes in memory sent as a
 * file part. `filename` is the multipart file name (for path: NULL = its basename). */
struct bs_client_part {
	const char *name;
	const char *value;
	const char *path;
	const uint8_t *data;
	size_t len;
	const char *filename;
};

struct bs_client_result {
	long status;
	char reqid[BS_CLIENT_REQID_MAX];
	uint64_t sent;        /* request bytes uploaded (last attempt) */
	uint8_t *body;        /* memory answers: malloc'd (caller frees), NUL-terminated */
	size_t len;
	unsigned retries;
};

/* POST the parts to <server>/sign/<endpoint>. A 2xx body goes to `out_fp` when given
 * (streamed, any size) or into res->body (at most `max` bytes, BS_ERR_LIMIT beyond).
 * Errors: BS_ERR_IO (connection, TLS), or the answer's status mapped to a code
 * (400 INVALID, 401/403 POLICY, 404 NOT_FOUND, 413 LIMIT, 503 BUSY, other 5xx IO) with
 * the message "<endpoint>: server answered <status> (request id <id>): <text>". */
int bs_client_post(struct bs_client_result *res, const struct bs_client *c,
		   const char *endpoint, const struct bs_client_part *parts, size_t nparts,
		   FILE *out_fp, size_t max, struct bs_error *err) BS_WUR;

/* The token from --token-file (a 0600 file, first line) or $BOOTSIGN_TOKEN; NULL when
 * neither. Caller frees with bs_free_secret_str(). */
int bs_client_token(char **out, const char *token_file, struct bs_error *err) BS_WUR;

#endif
