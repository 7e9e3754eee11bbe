/* Receiving one multipart/form-data request into a signer's declared fields.
 *
 * The MHD post processor hands us chunks (key, filename, content type, data, offset);
 * bs_upload_feed routes them: small fields into bounded memory, file fields into a spool
 * file (0600) - or, when the spool allows it, into a
 * bounded memory buffer that spills to a spool file once it would outgrow the per-upload
 * limit or the shared budget. An undeclared field is an error (BS_ERR_INVALID naming it
 * and the declared ones). The first error sticks; later chunks are ignored.
 * bs_upload_free closes and removes every spool file and wipes every memory buffer. */
#ifndef BS_HTTP_MULTIPART_H
#define BS_HTTP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "http/spool.h"
#include "sign/signer.h"

struct bs_upload;

int bs_upload_new(struct bs_upload **out, const struct bs_signer *signer,
		  struct bs_spool *spool, const char *reqid, uint64_t max_request,
		  struct bs_error *err) BS_WUR;
/* Request body length from Content-Length (0 = unknown): no file field can be larger,
 * so a body under the spool's memory limit is received in one right-sized buffer. */
void bs_upload_set_size_hint(struct bs_upload *up, uint64_t content_length);
/* One chunk of field `key`; off = offset of data within the field's value. off == 0
 * always starts a new value (a field's second value, empty or not, is BS_ERR_INVALID):
 * report each part once at offset 0, then its bytes at increasing offsets. Returns 0,
 * or the (sticky) error code. */
int bs_upload_feed(struct bs_upload *up, const char *key, const char *filename,
		   const char *content_type, const char *data, uint64_t off, size_t size);
/* Record an error detected outside the field stream (e.g. malformed multipart); keeps
 * the first one. Returns code. */
int bs_upload_fail(struct bs_upload *up, int code, const char *msg);
/* The sticky error (0 if none), copied into err. */
int bs_upload_error(const struct bs_upload *up, struct bs_error *err);
/* End of body: close spool files, finish hashes, apply defaults, check required
 * fields, name syntax and choices. */
int bs_upload_finish(struct bs_upload *up, struct bs_error *err) BS_WUR;
/* A file field that is an existing local file (the CLI's inputs): referenced in place,
 * never copied or removed. Before bs_upload_finish. */
int bs_upload_attach_file(struct bs_upload *up, const char *field, const char *path,
			  const char *filename, struct bs_error *err) BS_WUR;
const struct bs_form *bs_upload_form(const struct bs_upload *up);
/* Bytes of field data seen so far. */
uint64_t bs_upload_bytes(const struct bs_upload *up);
void bs_upload_free(struct bs_upload *up);

/* Is data valid UTF-8 without NUL bytes? On failure *bad_off = offending byte. */
int bs_utf8_check(const uint8_t *data, size_t len, size_t *bad_off);

#endif
