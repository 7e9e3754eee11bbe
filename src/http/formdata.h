/* A strict, streaming multipart/form-data reader (RFC 7578) feeding one bs_upload.
 *
 * Every part is reported to bs_upload_feed exactly once with off == 0 (a part that is
 * empty included), then its bytes at increasing offsets, so a field sent twice is always
 * seen as twice. Refused (BS_ERR_INVALID, recorded in the upload): a media type other than
 * exactly multipart/form-data, a missing or malformed boundary, a part without exactly one
 * Content-Disposition "form-data" with a name, repeated part headers or parameters, nested
 * multipart, transfer encodings other than 7bit/8bit/binary, header lines longer than
 * BS_FORMDATA_HEADER_MAX, more than BS_FORMDATA_HEADERS_MAX header lines in a part, and a
 * body that ends before the closing delimiter. */
#ifndef BS_HTTP_FORMDATA_H
#define BS_HTTP_FORMDATA_H

#include <stddef.h>

#include "core/error.h"
#include "http/multipart.h"

#define BS_FORMDATA_BOUNDARY_MAX 70 /* RFC 2046 */
#define BS_FORMDATA_HEADER_MAX 1024 /* one part header line */
#define BS_FORMDATA_HEADERS_MAX 8   /* header lines in one part */

struct bs_formdata;

/* Check a request's Content-Type: exactly multipart/form-data (case-insensitive) with one
 * boundary parameter of 1..70 RFC 2046 characters; out receives the boundary.
 * BS_ERR_UNSUPPORTED for another media type (415), BS_ERR_INVALID for a bad boundary. */
int bs_formdata_boundary(char out[BS_FORMDATA_BOUNDARY_MAX + 1], const char *content_type,
			 struct bs_error *err) BS_WUR;
/* A reader for one body with this boundary; parts go to up (borrowed). */
int bs_formdata_new(struct bs_formdata **out, const char *boundary, struct bs_upload *up,
		    struct bs_error *err) BS_WUR;
/* The next bytes of the body. Returns 0 or the upload's sticky error code. */
int bs_formdata_feed(struct bs_formdata *fd, const char *data, size_t len);
/* End of body: BS_ERR_INVALID (recorded in the upload) unless the closing delimiter came. */
int bs_formdata_end(struct bs_formdata *fd);
void bs_formdata_free(struct bs_formdata *fd);

#endif
