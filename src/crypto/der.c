/* DER writer (der.h). */
#include "crypto/der.h"

#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bs_der_tlv(struct bs_buf *out, uint8_t tag, const uint8_t *content, size_t len)
{
	uint8_t hdr[5];
	size_t h = 0;
	if (len > BS_DER_LEN_MAX)
		return BS_ERR_LIMIT;
	hdr[h++] = tag;
	if (len < 0x80) {
		hdr[h++] = (uint8_t)len;
	} else {
		size_t n = len > 0xFFFF ? 3 : len > 0xFF ? 2 : 1;
		hdr[h++] = (uint8_t)(0x80 | n);
		for (size_t i = n; i > 0; i--)
			hdr[h++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	int rc = bs_buf_append(out, hdr, h);
	if (rc == 0 && len > 0)
		rc = bs_buf_append(out, content, len);
	return rc;
}

int bs_der_wrap(struct bs_buf *out, uint8_t tag, struct bs_buf *in)
{
	int rc = bs_der_tlv(out, tag, in->data, in->len);
	bs_buf_free(in);
	return rc;
}

int bs_der_obj(struct bs_buf *out, const ASN1_OBJECT *obj)
{
	if (obj == NULL || OBJ_length(obj) == 0)
		return BS_ERR_UNSUPPORTED;
	return bs_der_tlv(out, BS_DER_OID, OBJ_get0_data(obj), OBJ_length(obj));
}

int bs_der_oid(struct bs_buf *out, int nid)
{
	return bs_der_obj(out, OBJ_nid2obj(nid));
}

int bs_der_algid(struct bs_buf *out, int nid, bool null_params)
{
	struct bs_buf in;
	bs_buf_init(&in, BS_DER_PART_MAX);
	int rc = bs_der_oid(&in, nid);
	if (rc == 0 && null_params)
		rc = bs_der_tlv(&in, BS_DER_NULL, NULL, 0);
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_SEQ, &in);
	bs_buf_free(&in);
	return rc;
}

int bs_der_uint(struct bs_buf *out, uint64_t v)
{
	uint8_t b[9];
	size_t n = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t c = (uint8_t)(v >> (8 * i));
		if (n == 0 && c == 0 && i > 0)
			continue;
		if (n == 0 && (c & 0x80))
			b[n++] = 0;
		b[n++] = c;
	}
	return bs_der_tlv(out, BS_DER_INTEGER, b, n);
}

int bs_der_time(struct bs_buf *out, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		return BS_ERR_INVALID;
	char s[32];
	int year = tm.tm_year + 1900;
	int n;
	if (year >= 1950 && year < 2050) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1,
			     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return bs_der_tlv(out, BS_DER_UTCTIME, (const uint8_t *)s, (size_t)n);
	}
	if (year < 0 || year > 9999)
		return BS_ERR_INVALID;
	n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	return bs_der_tlv(out, BS_DER_GENTIME, (const uint8_t *)s, (size_t)n);
}

/* X.690 11.6: compare encodings, the shorter one padded with zero octets. */
static int set_cmp(const void *pa, const void *pb)
{
	const struct bs_buf *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->data, b->data, n) : 0;
	if (c != 0)
		return c;
	const struct bs_buf *l = a->len > b->len ? a : b;
	for (size_t i = n; i < l->len; i++)
		if (l->data[i] != 0)
			return a->len > b->len ? 1 : -1;
	return 0;
}

int bs_der_append_set_of(struct bs_buf *out, struct bs_buf *items, size_t n)
{
	if (n > 1)
		qsort(items, n, sizeof(*items), set_cmp);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = bs_buf_append(out, items[i].data, items[i].len);
	return rc;
}

bool bs_der_is_one(const uint8_t *der, size_t len, uint8_t tag)
{
	if (der == NULL || len < 2 || der[0] != tag)
		return false;
	size_t h = 2, clen = der[1];
	if (der[1] & 0x80) {
		size_t n = der[1] & 0x7F;
		if (n == 0 || n > 3 || len < 2 + n || der[2] == 0)
			return false;
		clen = 0;
		for (size_t i = 0; i < n; i++)
			clen = (clen << 8) | der[2 + i];
		if (clen < 0x80)
			return false;
		h += n;
	}
	return h + clen == len;
}
