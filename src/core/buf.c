#include "core/buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bs_buf_init(struct bs_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static int reserve(struct bs_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : SIZE_MAX;
	if (extra > max || b->len > max - extra)
		return BS_ERR_LIMIT;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > max)
		cap = max;
	/* Grow by copy so the old contents can be wiped (they may be secret). */
	uint8_t *n = malloc(cap + 1);
	if (n == NULL)
		return BS_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = cap;
	return 0;
}

int bs_buf_append(struct bs_buf *b, const void *data, size_t len)
{
	int rc = reserve(b, len);
	if (rc != 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

int bs_buf_append_u8(struct bs_buf *b, uint8_t v)
{
	return bs_buf_append(b, &v, 1);
}

int bs_buf_append_be16(struct bs_buf *b, uint16_t v)
{
	uint8_t p[2];
	bs_buf_put_be16(p, v);
	return bs_buf_append(b, p, 2);
}

int bs_buf_append_be32(struct bs_buf *b, uint32_t v)
{
	uint8_t p[4];
	bs_buf_put_be32(p, v);
	return bs_buf_append(b, p, 4);
}

int bs_buf_append_zeros(struct bs_buf *b, size_t n)
{
	int rc = reserve(b, n);
	if (rc != 0)
		return rc;
	memset(b->data + b->len, 0, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int bs_buf_pad(struct bs_buf *b, size_t align)
{
	size_t rem = align ? b->len % align : 0;
	return rem ? bs_buf_append_zeros(b, align - rem) : 0;
}

int bs_buf_printf(struct bs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return BS_ERR_INVALID;
	int rc = reserve(b, (size_t)n);
	if (rc != 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void bs_buf_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void bs_buf_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint16_t bs_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t bs_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint32_t bs_get_le32(const uint8_t *p)
{
	return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

uint16_t bs_get_le16(const uint8_t *p)
{
	return (uint16_t)((p[1] << 8) | p[0]);
}

uint64_t bs_get_le64(const uint8_t *p)
{
	return (uint64_t)bs_get_le32(p) | ((uint64_t)bs_get_le32(p + 4) << 32);
}

void bs_buf_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void bs_buf_put_le32(uint8_t *p, uint32_t v)
{
	bs_buf_put_le16(p, (uint16_t)v);
	bs_buf_put_le16(p + 2, (uint16_t)(v >> 16));
}

uint8_t *bs_buf_steal(struct bs_buf *b, size_t *len)
{
	uint8_t *d = b->data;
	if (len != NULL)
		*len = b->len;
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
	return d;
}

void bs_buf_free(struct bs_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
}
