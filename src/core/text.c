#include "core/text.h"

#include <stdbool.h>
#include <string.h>

#include "core/limits.h"
#include "core/util.h"

static char shown_byte(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e ? (char)c : '?';
}

char *bs_text_sanitize_n(char *out, size_t cap, const char *in, size_t n)
{
	if (cap == 0)
		return out;
	size_t i = 0;
	for (; in != NULL && i < n && i + 1 < cap; i++)
		out[i] = shown_byte((unsigned char)in[i]);
	out[i] = '\0';
	return out;
}

char *bs_text_sanitize(char *out, size_t cap, const char *in)
{
	return bs_text_sanitize_n(out, cap, in, in != NULL ? strlen(in) : 0);
}

void bs_text_sanitize_inplace(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		*s = shown_byte((unsigned char)*s);
}

int bs_parse_u64(uint64_t *out, const char *s, int base, uint64_t min, uint64_t max,
		 const char *what, struct bs_error *err)
{
	const char *p = s != NULL ? s : "";
	if (base == 0) {
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			base = 16;
			p += 2;
		} else if (p[0] == '0' && p[1] != '\0') {
			base = 8;
			p += 1;
		} else {
			base = 10;
		}
	}
	uint64_t v = 0;
	bool ok = (base == 8 || base == 10 || base == 16) && *p != '\0';
	for (; ok && *p != '\0'; p++) {
		int d = bs_hex_digit((unsigned char)*p);
		if (d < 0 || d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			ok = false;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	if (!ok || v < min || v > max) {
		char shown[BS_NUMBER_SHOWN_MAX];
		bs_text_sanitize(shown, sizeof(shown), s);
		return bs_error_set(err, BS_ERR_INVALID, "%s: '%s%s' is not a number in %llu..%llu",
				    what, shown, s != NULL && strlen(s) >= sizeof(shown) ? "..." : "",
				    (unsigned long long)min, (unsigned long long)max);
	}
	*out = v;
	return 0;
}

int bs_parse_uint(unsigned *out, const char *s, int base, unsigned min, unsigned max,
		  const char *what, struct bs_error *err)
{
	uint64_t v = 0;
	int rc = bs_parse_u64(&v, s, base, min, max, what, err);
	if (rc == 0)
		*out = (unsigned)v;
	return rc;
}
