/* The one table mapping BS_ERR_* codes to HTTP status codes. */
#ifndef BS_HTTP_STATUS_H
#define BS_HTTP_STATUS_H

#include <stdbool.h>

/* HTTP status for an error code (0 -> 200). Unknown codes -> 500. */
unsigned bs_http_status(int code);
/* True when the status is a server-side failure whose detail stays in the log and the
 * client gets a generic message plus the request id. */
bool bs_http_status_hides_detail(int code);
/* Reason phrase ("Bad Request"). */
const char *bs_http_reason(unsigned status);

#endif
