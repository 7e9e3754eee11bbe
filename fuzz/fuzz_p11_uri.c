/* Fuzz target: the client pkcs11: URI policy. Whatever it accepts must be accepted again
 * unchanged (idempotent), never be longer than the input, and have no pin-* attribute. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/pkcs11.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does any attribute of the URI (path: ';'-separated, query: '&'-separated) have a name
 * starting with "pin-"? */
static int has_pin_attr(const char *uri)
{
	const char *p = uri + 7;
	char sep = ';';
	for (;;) {
		if (strncasecmp(p, "pin-", 4) == 0)
			return 1;
		size_t n = strcspn(p, sep == ';' ? ";?" : "&");
		if (p[n] == '\0')
			return 0;
		if (p[n] == '?')
			sep = '&';
		p += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * BS_P11_URI_MAX)
		return 0;
	char *in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	char *out = NULL, *again = NULL;
	struct bs_error err;
	if (bs_p11_uri_sanitize(&out, in, &err) == 0) {
		if (out == NULL || strlen(out) > strlen(in) || has_pin_attr(out) ||
		    bs_p11_uri_sanitize(&again, out, &err) != 0 || strcmp(out, again) != 0)
			abort();
	} else if (out != NULL || err.code >= 0) {
		abort();
	}
	free(again);
	free(out);
	free(in);
	return 0;
}
