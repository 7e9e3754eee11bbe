/* Bounded growable byte buffer. Every buffer has a hard maximum; contents are wiped on
 * free (buffers may hold key bytes or PINs). A zeroed struct is a valid empty buffer with
 * no maximum set (use bs_buf_init to set one). */
#ifndef BS_CORE_BUF_H
#define BS_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct bs_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = SIZE_MAX */
};

void bs_buf_init(struct bs_buf *b, size_t max);
/* Append; BS_ERR_LIMIT if the result would exceed max, BS_ERR_NOMEM on allocation. */
int bs_buf_append(struct bs_buf *b, const void *data, size_t len) BS_WUR;
int bs_buf_append_u8(struct bs_buf *b, uint8_t v) BS_WUR;
int bs_buf_append_be16(struct bs_buf *b, uint16_t v) BS_WUR;
int bs_buf_append_be32(struct bs_buf *b, uint32_t v) BS_WUR;
int bs_buf_append_zeros(struct bs_buf *b, size_t n) BS_WUR;
/* Zero-pad to a multiple of `align`. */
int bs_buf_pad(struct bs_buf *b, size_t align) BS_WUR;
/* Append formatted text (no NUL counted in len, but data is NUL-terminated). */
int bs_buf_printf(struct bs_buf *b, const char *fmt, ...) BS_PRINTF(2, 3) BS_WUR;
void bs_buf_put_be16(uint8_t *p, uint16_t v);
void bs_buf_put_be32(uint8_t *p, uint32_t v);
uint16_t bs_get_be16(const uint8_t *p);
uint32_t bs_get_be32(const uint8_t *p);
uint32_t bs_get_le32(const uint8_t *p);
/* Little-endian (PE/COFF, AHAB) */
uint16_t bs_get_le16(const uint8_t *p);
uint64_t bs_get_le64(const uint8_t *p);
void bs_buf_put_le16(uint8_t *p, uint16_t v);
void bs_buf_put_le32(uint8_t *p, uint32_t v);
/* Hand the data to the caller (who frees it with free()); the buffer becomes empty. */
uint8_t *bs_buf_steal(struct bs_buf *b, size_t *len);
/* Wipe and free the contents; the buffer becomes empty and keeps its max. */
void bs_buf_free(struct bs_buf *b);

#endif
