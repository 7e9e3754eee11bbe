#include "http/response.h"

#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

static void common_headers(struct MHD_Response *r, const char *reqid)
{
	MHD_add_response_header(r, "X-Request-Id", reqid);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

enum MHD_Result bs_http_text(struct MHD_Connection *conn, const char *reqid, unsigned status,
			     const char *msg, const char *allow)
{
	size_t n = strlen(msg);
	char *body = malloc(n + 2);
	if (body == NULL)
		return MHD_NO;
	memcpy(body, msg, n);
	/* One line: no embedded newlines reach the client. */
	for (size_t i = 0; i < n; i++)
		if (body[i] == '\n' || body[i] == '\r')
			body[i] = ' ';
	body[n] = '\n';
	body[n + 1] = '\0';
	struct MHD_Response *r =
		MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	common_headers(r, reqid);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == 503) { /* busy or over a limit: come back later, on a new connection */
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	}
	if (status == 405 && allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == 401) /* RFC 9110: a 401 names the scheme it wants */
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"bootsign\"");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result queue_ok(struct MHD_Connection *conn, struct MHD_Response *r,
				const char *reqid, const char *content_type, const char *filename)
{
	common_headers(r, reqid);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type != NULL ? content_type : "application/octet-stream");
	if (filename != NULL && filename[0] != '\0') {
		char cd[128];
		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", filename);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	}
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result bs_http_copy(struct MHD_Connection *conn, const char *reqid, const void *data,
			     size_t len, const char *content_type, const char *filename)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	return queue_ok(conn, r, reqid, content_type, filename);
}

enum MHD_Result bs_http_fd(struct MHD_Connection *conn, const char *reqid, int fd,
			   uint64_t size, const char *content_type, const char *filename)
{
	struct MHD_Response *r = MHD_create_response_from_fd64(size, fd);
	if (r == NULL) {
		close(fd);
		return MHD_NO;
	}
	return queue_ok(conn, r, reqid, content_type, filename);
}

void bs_http_new_reqid(char *out)
{
	uint8_t rnd[BS_HTTP_REQID_LEN / 2];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		static atomic_ulong counter;
		unsigned long c = atomic_fetch_add(&counter, 1);
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (uint8_t)(c >> (8 * (i % sizeof(c))));
	}
	bs_hex(out, rnd, sizeof(rnd));
}
