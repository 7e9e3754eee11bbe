/* Request-level checks made before a request reaches a signer: message framing (one
 * Content-Length, never with Transfer-Encoding) and the request target (no NUL or other
 * control byte, raw or percent-encoded). Pure functions: the server hands them what
 * libmicrohttpd parsed, the fuzzer hands them bytes. */
#ifndef BS_HTTP_REQUEST_H
#define BS_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define BS_REQUEST_HEADERS_MAX 100 /* header lines looked at in one request */

struct bs_header {
	const char *name;
	const char *value;
};

/* The framing headers of a request with a body: BS_ERR_INVALID for more than one
 * Content-Length or Transfer-Encoding header, both together, or a Transfer-Encoding other
 * than "chunked". *out_clen = the Content-Length value (NULL if none). */
int bs_request_framing(const char **out_clen, const struct bs_header *h, size_t n,
		       struct bs_error *err) BS_WUR;
/* Percent-decode s in place (what libmicrohttpd's unescape callback does); *bad is set
 * when s holds, raw or encoded, a byte below 0x20 or 0x7f (NUL included) or a malformed
 * escape. Returns the new length. */
size_t bs_request_unescape(char *s, bool *bad);

#endif
