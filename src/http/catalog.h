/* What the server offers, from the signer table (sign/signer.h): the endpoint list for
 * 404 answers and the JSON of GET /signers. */
#ifndef BS_HTTP_CATALOG_H
#define BS_HTTP_CATALOG_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

/* "/sign/imx, /sign/modules, ..." into out (truncated at a whole entry). */
void bs_http_endpoint_list(char *out, size_t cap);
/* {"signers":[{"name","endpoint","summary","subject","fields":[{"name","required",
 * "file","default","choices","help"}]}]} into *out (initialised here; free with
 * bs_buf_free); *n = number of signers. BS_ERR_NOMEM / BS_ERR_LIMIT. */
int bs_http_signers_json(struct bs_buf *out, size_t *n) BS_WUR;

#endif
