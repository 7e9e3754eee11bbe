/* Fuzz target: the HTTP request layer before a signer runs (http/request.c framing and
 * target checks, http/formdata.c multipart reader, bs_upload_feed/bs_upload_finish).
 *
 * Input: a request head ("Name: value" lines; the first line is the request target),
 * an empty line, the body. Invariants: the target unescape never grows the string; the
 * body read in one piece and read in pieces of every size from 1 to 7 bytes give the same
 * result (error code, and on success the same fields with the same bytes), so delimiter
 * matching across chunk edges cannot change what a signer sees. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "http/formdata.h"
#include "http/multipart.h"
#include "http/request.h"
#include "http/spool.h"
#include "sign/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD_MAX 4096

static struct bs_spool *g_spool;

static void spool_close(void)
{
	bs_spool_close(g_spool);
}

static struct bs_spool *spool(void)
{
	if (g_spool == NULL) {
		if (bs_spool_open(&g_spool, NULL, NULL) != 0)
			abort();
		bs_spool_set_memory(g_spool, 1u << 20, 1u << 24);
		atexit(spool_close);
	}
	return g_spool;
}

/* Read the body in chunks of `step` bytes (0 = one piece). *out = finished upload or
 * NULL; returns the error code. */
static int run(struct bs_upload **out, const char *boundary, const uint8_t *body, size_t len,
	       size_t step)
{
	*out = NULL;
	struct bs_upload *up = NULL;
	struct bs_formdata *fd = NULL;
	if (bs_upload_new(&up, bs_signer_find("imx"), spool(), "fuzz", 1u << 20, NULL) != 0)
		abort();
	if (bs_formdata_new(&fd, boundary, up, NULL) != 0)
		abort();
	for (size_t o = 0; o < len;) {
		size_t n = step == 0 || len - o < step ? len - o : step;
		if (bs_formdata_feed(fd, (const char *)body + o, n) != 0)
			break;
		o += n;
	}
	(void)bs_formdata_end(fd);
	bs_formdata_free(fd);
	int rc = bs_upload_error(up, NULL);
	if (rc == 0)
		rc = bs_upload_finish(up, NULL);
	*out = up;
	return rc;
}

static void same_fields(const struct bs_form *a, const struct bs_form *b)
{
	if (a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		const struct bs_form_field *x = &a->f[i], *y = &b->f[i];
		if (x->present != y->present || x->len != y->len || x->size != y->size)
			abort();
		if (x->value != NULL && (y->value == NULL || memcmp(x->value, y->value, x->len) != 0))
			abort();
		if ((x->filename == NULL) != (y->filename == NULL) ||
		    (x->filename != NULL && strcmp(x->filename, y->filename) != 0))
			abort();
		if (x->data != NULL && y->data != NULL && memcmp(x->data, y->data, x->size) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memmem(data, size, "\n\n", 2);
	size_t hl = sep != NULL ? (size_t)(sep - data) : size;
	if (hl > HEAD_MAX)
		return 0;
	char head[HEAD_MAX + 1];
	memcpy(head, data, hl);
	head[hl] = '\0';
	const uint8_t *body = sep != NULL ? sep + 2 : data + size;
	size_t blen = (size_t)(data + size - body);

	struct bs_header h[BS_REQUEST_HEADERS_MAX + 2];
	size_t nh = 0;
	char *target = head, *save = NULL;
	char *line = strtok_r(head, "\n", &save);
	const char *ctype = NULL;
	while (line != NULL && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *colon = strchr(line, ':');
		if (colon == NULL || nh >= BS_ARRAY_SIZE(h))
			continue;
		*colon = '\0';
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		h[nh++] = (struct bs_header){line, v};
		if (strcasecmp(line, "Content-Type") == 0)
			ctype = v;
	}
	size_t tl = strlen(target);
	bool bad = false;
	if (bs_request_unescape(target, &bad) > tl)
		abort();
	const char *clen = NULL;
	if (bs_request_framing(&clen, h, nh, NULL) == 0 && clen != NULL &&
	    !(clen >= head && clen <= head + hl))
		abort(); /* the Content-Length value is one of the header lines */

	char boundary[BS_FORMDATA_BOUNDARY_MAX + 1];
	if (ctype == NULL || bs_formdata_boundary(boundary, ctype, NULL) != 0)
		return 0;
	struct bs_upload *whole = NULL;
	int rc = run(&whole, boundary, body, blen, 0);
	for (size_t step = 1; step <= 7 && blen <= 4096; step++) {
		struct bs_upload *piece = NULL;
		if (run(&piece, boundary, body, blen, step) != rc)
			abort();
		if (rc == 0)
			same_fields(bs_upload_form(whole), bs_upload_form(piece));
		bs_upload_free(piece);
	}
	bs_upload_free(whole);
	return 0;
}
