/* Text helpers for untrusted input: a display sanitiser and a checked number parser. */
#ifndef BS_CORE_TEXT_H
#define BS_CORE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Copy `in` into out (capacity cap > 0, always NUL-terminated, truncated to cap - 1
 * bytes) for display in a message, a log line or a terminal: every byte outside printable
 * ASCII (0x20..0x7e: control bytes, DEL, and all bytes >= 0x80, which include C1 controls
 * such as the one-byte CSI 0x9b) becomes '?'. in may be NULL (shown as ""). Returns out. */
char *bs_text_sanitize(char *out, size_t cap, const char *in);

/* Same on the first n bytes of in (which need not be NUL-terminated; an embedded NUL
 * is shown as '?'). */
char *bs_text_sanitize_n(char *out, size_t cap, const char *in, size_t n);

/* In place on a NUL-terminated string. */
void bs_text_sanitize_inplace(char *s);

/* Parse the whole of s as an unsigned number in `base` (8, 10, 16, or 0: a "0x"/"0X"
 * prefix means hex, a leading 0 octal, as in C) that lies in min..max. No sign, no
 * whitespace, no trailing bytes, no overflow. On failure BS_ERR_INVALID with a message
 * "<what>: '<s, sanitised and shortened>' is not a number in <min>..<max>" and *out
 * unchanged. */
int bs_parse_u64(uint64_t *out, const char *s, int base, uint64_t min, uint64_t max,
		 const char *what, struct bs_error *err) BS_WUR;

/* bs_parse_u64 for an unsigned int (max must fit). */
int bs_parse_uint(unsigned *out, const char *s, int base, unsigned min, unsigned max,
		  const char *what, struct bs_error *err) BS_WUR;

#endif
