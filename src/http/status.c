#include "http/status.h"

#include <stddef.h>

#include "core/error.h"
#include "core/util.h"

/* Every error code a signer or the HTTP layer can return, and what the client sees.
 * Client mistakes (fields, CSF text, names, paths) are 4xx with the message passed
 * through; server problems are 5xx. */
static const struct {
	int code;
	unsigned status;
	bool hide; /* message is server-internal: log it, tell the client only the id */
} g_status[] = {
	{BS_OK, 200, false},
	{BS_ERR_INVALID, 400, false},
	{BS_ERR_SYNTAX, 400, false},
	{BS_ERR_SEMANTIC, 400, false},
	{BS_ERR_PATH, 400, false},
	{BS_ERR_FORMAT, 400, false},
	{BS_ERR_POLICY, 400, false},
	{BS_ERR_UNSUPPORTED, 400, false},
	{BS_ERR_NOT_FOUND, 404, false},
	{BS_ERR_AUTH, 401, false},
	{BS_ERR_DENIED, 403, false},
	{BS_ERR_RATE, 429, false},
	{BS_ERR_LIMIT, 413, false},
	{BS_ERR_KEY, 500, true},
	{BS_ERR_CONFIG, 500, true},
	{BS_ERR_NOMEM, 500, true},
	{BS_ERR_IO, 500, true},
	{BS_ERR_CRYPTO, 500, true},
	{BS_ERR_VERIFY, 500, true},
	{BS_ERR_INTERNAL, 500, true},
	{BS_ERR_TOOL, 500, true},
	/* Token messages name the token, the step and the CKR code (never a PIN): the
	 * client needs them to tell "no such token" from "token unplugged" from "busy". */
	{BS_ERR_TOKEN, 502, false},
	{BS_ERR_TIMEOUT, 503, false},
	{BS_ERR_BUSY, 503, false},
};

unsigned bs_http_status(int code)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_status); i++)
		if (g_status[i].code == code)
			return g_status[i].status;
	return 500;
}

bool bs_http_status_hides_detail(int code)
{
	for (size_t i = 0; i < BS_ARRAY_SIZE(g_status); i++)
		if (g_status[i].code == code)
			return g_status[i].hide;
	return true;
}

const char *bs_http_reason(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}
