/* Response helpers: every response carries X-Request-Id; error bodies are one line of
 * plain text. */
#ifndef BS_HTTP_RESPONSE_H
#define BS_HTTP_RESPONSE_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

/* Queue a one-line text/plain response ("msg\n"). */
enum MHD_Result bs_http_text(struct MHD_Connection *conn, const char *reqid, unsigned status,
			     const char *msg);
/* Queue a binary body (takes ownership of data, freed after sending). */
enum MHD_Result bs_http_blob(struct MHD_Connection *conn, const char *reqid, uint8_t *data,
			     size_t len, const char *content_type, const char *filename);

#endif
