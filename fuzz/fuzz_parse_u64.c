/* Fuzz target: the checked number parser (Content-Length, config values, CLI options) and
 * the display sanitiser its messages use. The first byte picks the base; an accepted
 * number must be all digits of that base and equal strtoull's value (the oracle), a
 * refused one must leave the output alone, and every message must be printable. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 256)
		return 0;
	static const int bases[] = {0, 8, 10, 16};
	int base = bases[data[0] & 3];
	char in[257];
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';

	uint64_t v = 12345;
	struct bs_error err = {0};
	int rc = bs_parse_u64(&v, in, base, 0, UINT64_MAX, "n", &err);
	const char *digits = base == 16 ? "0123456789abcdefABCDEF" : base == 8 ? "01234567"
										 : "0123456789";
	const char *body = in;
	if (base == 0) {
		if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
			body = in + 2;
			digits = "0123456789abcdefABCDEF";
		} else if (in[0] == '0' && in[1] != '\0') {
			body = in + 1;
			digits = "01234567";
		}
	}
	bool well_formed = body[0] != '\0' && strspn(body, digits) == strlen(body);
	errno = 0;
	char *end = NULL;
	unsigned long long ref = well_formed ? strtoull(in, &end, base) : 0;
	bool fits = well_formed && errno == 0;
	if (rc == 0) {
		if (!fits || v != ref)
			abort();
	} else {
		if (rc != BS_ERR_INVALID || err.code != BS_ERR_INVALID || v != 12345 || fits)
			abort();
		check_printable(err.msg);
	}

	char shown[40];
	bs_text_sanitize(shown, sizeof(shown), in);
	check_printable(shown);
	if (strlen(shown) != (strlen(in) < sizeof(shown) ? strlen(in) : sizeof(shown) - 1))
		abort();
	return 0;
}
