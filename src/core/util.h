/* Small shared helpers: whole-file reading with a bound, safe output files, secure
 * freeing, hex. */
#ifndef BS_CORE_UTIL_H
#define BS_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define BS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Read a whole file of at most `max` bytes into a malloc'd buffer (NUL-terminated; the
 * terminator is not counted in *out_len). BS_ERR_NOT_FOUND, BS_ERR_IO, BS_ERR_LIMIT. */
int bs_read_file(uint8_t **out, size_t *out_len, const char *path, size_t max,
		 struct bs_error *err) BS_WUR;

/* Write data to path atomically: a temporary file beside it (O_EXCL, `mode`), fsync,
 * rename. On failure nothing is left behind. If `exclusive`, an existing path is an
 * error (BS_ERR_IO with "exists"). */
int bs_write_file(const char *path, const void *data, size_t len, unsigned mode,
		  bool exclusive, struct bs_error *err) BS_WUR;

/* Wipe then free. NULL is a no-op. */
void bs_free_secret(void *p, size_t len);
/* Wipe a NUL-terminated string then free it. */
void bs_free_secret_str(char *s);

/* Lower-case hex of data into out (must hold 2*len+1). Returns out. */
char *bs_hex(char *out, const uint8_t *data, size_t len);

/* Value of a hex digit (either case), or -1. */
int bs_hex_digit(int c);

/* strdup that returns NULL only on allocation failure, and NULL for NULL. */
char *bs_strdup(const char *s);

/* True if name ends with suffix, compared case-insensitively. */
bool bs_ends_with_ci(const char *name, const char *suffix);

/* Monotonic milliseconds. */
uint64_t bs_now_ms(void);

#endif
