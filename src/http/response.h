/* Response helpers: every response carries X-Request-Id; error bodies are one line of
 * plain text. */
#ifndef BS_HTTP_RESPONSE_H
#define BS_HTTP_RESPONSE_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

/* Queue a one-line text/plain response ("msg\n"). `allow` (405: the methods the path
 * takes) may be NULL. */
/* A new request id: BS_HTTP_REQID_LEN hex digits (random; a counter if the RNG fails) and
 * a NUL into out. */
void bs_http_new_reqid(char *out);
enum MHD_Result bs_http_text(struct MHD_Connection *conn, const char *reqid, unsigned status,
			     const char *msg, const char *allow);
/* Queue a 200 body copied from data (small answers, JSON, a signature). */
enum MHD_Result bs_http_copy(struct MHD_Connection *conn, const char *reqid, const void *data,
			     size_t len, const char *content_type, const char *filename);
/* Queue a 200 body read from fd (size bytes from its current offset; the response owns
 * and closes fd, also on failure). Large outputs are sent without being held in memory. */
enum MHD_Result bs_http_fd(struct MHD_Connection *conn, const char *reqid, int fd,
			   uint64_t size, const char *content_type, const char *filename);

#endif
