#include "http/request.h"

#include <string.h>
#include <strings.h>

#include "core/util.h"

int bs_request_framing(const char **out_clen, const struct bs_header *h, size_t n,
		       struct bs_error *err)
{
	*out_clen = NULL;
	const char *te = NULL;
	if (n > BS_REQUEST_HEADERS_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "more than %d header lines",
				    BS_REQUEST_HEADERS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, "Content-Length") == 0) {
			if (*out_clen != NULL)
				return bs_error_set(err, BS_ERR_INVALID,
						    "Content-Length given more than once");
			*out_clen = h[i].value;
		} else if (strcasecmp(h[i].name, "Transfer-Encoding") == 0) {
			if (te != NULL)
				return bs_error_set(err, BS_ERR_INVALID,
						    "Transfer-Encoding given more than once");
			te = h[i].value;
		}
	}
	if (te != NULL && *out_clen != NULL)
		return bs_error_set(err, BS_ERR_INVALID,
				    "Content-Length together with Transfer-Encoding");
	if (te != NULL && strcasecmp(te, "chunked") != 0)
		return bs_error_set(err, BS_ERR_INVALID,
				    "Transfer-Encoding other than chunked");
	return 0;
}

size_t bs_request_unescape(char *s, bool *bad)
{
	size_t o = 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = bs_hex_digit((unsigned char)s[i + 1]);
			int lo = hi < 0 ? -1 : bs_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*bad = true;
			} else {
				c = (unsigned char)(hi * 16 + lo);
				i += 2;
			}
		}
		if (c < 0x20 || c == 0x7f)
			*bad = true;
		s[o++] = (char)c;
	}
	s[o] = '\0';
	return o;
}
