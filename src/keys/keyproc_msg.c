#include "keys/keyproc_msg.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define HDR 8u
#define U64 8u

/* The fixed table: the field count and each field's maximum, per request type. */
#define NAME BS_PATH_MAX   /* a key name, URI or bundle member name */
static const struct {
	uint8_t nf;
	uint32_t max[6];
} g_table[BS_KP_REQUEST_END] = {
	[BS_KP_CHECK] = {0, {0}},
	[BS_KP_LEASE_OPEN] = {2, {BS_NAME_MAX, BS_KEY_FILTER_MAX - 1}},
	[BS_KP_LEASE_CLOSE] = {1, {U64}},
	[BS_KP_KEY] = {4, {U64, U64, NAME, BS_KEYPROC_DER_MAX}},
	[BS_KP_CERT] = {3, {U64, U64, NAME}},
	[BS_KP_EXISTS] = {2, {U64, NAME}},
	[BS_KP_BUNDLE] = {2, {U64, NAME}},
	[BS_KP_BUNDLE_READ] = {3, {U64, NAME, U64}},
	[BS_KP_BUNDLE_CERT] = {3, {U64, U64, NAME}},
	[BS_KP_BUNDLE_KEY] = {4, {U64, U64, NAME, BS_KEYPROC_DER_MAX}},
	[BS_KP_SIGN] = {6, {U64, U64, U64, U64, U64, BS_KEYPROC_DIGEST_MAX}},
	[BS_KP_SIGN_MSG] = {6, {U64, U64, U64, U64, U64, BS_KEYPROC_MSG_MAX}},
	[BS_KP_KEY_FREE] = {1, {U64}},
	[BS_KP_SERVICE_KEY] = {1, {BS_NAME_MAX}},
	[BS_KP_POOL_STATS] = {0, {0}},
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int bs_kp_decode(struct bs_kp_msg *out, const uint8_t *buf, size_t len, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len < HDR || len > BS_KEYPROC_MSG_MAX)
		return bs_error_set(err, BS_ERR_FORMAT, "key message: bad length %zu", len);
	uint16_t type = (uint16_t)(buf[0] << 8 | buf[1]);
	size_t nf = (size_t)(buf[2] << 8 | buf[3]);
	bool request = type >= BS_KP_CHECK && type < BS_KP_REQUEST_END;
	if (!request && type != BS_KP_OK && type != BS_KP_ERR && type != BS_KP_DIED)
		return bs_error_set(err, BS_ERR_FORMAT, "key message: unknown type %u", type);
	if (nf > BS_KEYPROC_FIELDS_MAX || (request && nf != g_table[type].nf) ||
	    (type == BS_KP_ERR && nf != 2) || (type == BS_KP_DIED && nf != 0))
		return bs_error_set(err, BS_ERR_FORMAT, "key message: type %u with %zu fields",
				    type, nf);
	out->type = type;
	out->seq = get32(buf + 4);
	size_t o = HDR;
	for (size_t i = 0; i < nf; i++) {
		if (len - o < 4)
			return bs_error_set(err, BS_ERR_FORMAT, "key message: field %zu cut", i);
		size_t fl = get32(buf + o);
		o += 4;
		if (fl > len - o)
			return bs_error_set(err, BS_ERR_FORMAT, "key message: field %zu cut", i);
		size_t max = request ? g_table[type].max[i] : BS_KEYPROC_MSG_MAX;
		if (fl > max)
			return bs_error_set(err, BS_ERR_FORMAT, "key message: field %zu too long "
					    "(%zu > %zu)", i, fl, max);
		out->f[i] = (struct bs_kp_field){.p = buf + o, .len = fl};
		o += fl;
	}
	if (o != len)
		return bs_error_set(err, BS_ERR_FORMAT, "key message: %zu trailing bytes", len - o);
	out->nf = nf;
	return 0;
}

int bs_kp_get_u64(uint64_t *out, const struct bs_kp_msg *m, size_t i, struct bs_error *err)
{
	*out = 0;
	if (i >= m->nf || m->f[i].len != U64)
		return bs_error_set(err, BS_ERR_FORMAT, "key message: field %zu is not a number", i);
	uint64_t v = 0;
	for (size_t k = 0; k < U64; k++)
		v = v << 8 | m->f[i].p[k];
	*out = v;
	return 0;
}

int bs_kp_get_str(char *out, size_t cap, const struct bs_kp_msg *m, size_t i,
		  struct bs_error *err)
{
	if (cap > 0)
		out[0] = '\0';
	if (i >= m->nf || m->f[i].len >= cap || memchr(m->f[i].p, '\0', m->f[i].len) != NULL)
		return bs_error_set(err, BS_ERR_FORMAT, "key message: field %zu is not a name", i);
	memcpy(out, m->f[i].p, m->f[i].len);
	out[m->f[i].len] = '\0';
	return 0;
}

static bool reserve(struct bs_kp_enc *e, size_t n)
{
	if (e->failed)
		return false;
	if (n > BS_KEYPROC_MSG_MAX - e->len) {
		e->failed = true;
		return false;
	}
	if (e->len + n <= e->cap)
		return true;
	size_t cap = e->cap != 0 ? e->cap : 256;
	while (cap < e->len + n)
		cap *= 2;
	if (cap > BS_KEYPROC_MSG_MAX)
		cap = BS_KEYPROC_MSG_MAX;
	uint8_t *nb = malloc(cap);
	if (nb == NULL) {
		e->failed = true;
		return false;
	}
	if (e->buf != NULL) {
		memcpy(nb, e->buf, e->len);
		OPENSSL_cleanse(e->buf, e->cap);
		free(e->buf);
	}
	e->buf = nb;
	e->cap = cap;
	return true;
}

void bs_kp_enc_start(struct bs_kp_enc *e, uint16_t type, uint32_t seq)
{
	memset(e, 0, sizeof(*e));
	if (!reserve(e, HDR))
		return;
	e->buf[0] = (uint8_t)(type >> 8);
	e->buf[1] = (uint8_t)type;
	put32(e->buf + 4, seq);
	e->len = HDR;
}

void bs_kp_put(struct bs_kp_enc *e, const void *p, size_t len)
{
	if (e->nf >= BS_KEYPROC_FIELDS_MAX || len > UINT32_MAX) {
		e->failed = true;
		return;
	}
	if (!reserve(e, 4 + len))
		return;
	put32(e->buf + e->len, (uint32_t)len);
	if (len > 0)
		memcpy(e->buf + e->len + 4, p, len);
	e->len += 4 + len;
	e->nf++;
}

void bs_kp_put_str(struct bs_kp_enc *e, const char *s)
{
	bs_kp_put(e, s, strlen(s));
}

void bs_kp_put_u64(struct bs_kp_enc *e, uint64_t v)
{
	uint8_t b[U64];
	for (size_t k = 0; k < U64; k++)
		b[k] = (uint8_t)(v >> (8 * (U64 - 1 - k)));
	bs_kp_put(e, b, sizeof(b));
}

int bs_kp_enc_end(struct bs_kp_enc *e, struct bs_error *err)
{
	if (e->failed || e->buf == NULL)
		return bs_error_set(err, BS_ERR_LIMIT, "key message over %u bytes or %u fields",
				    BS_KEYPROC_MSG_MAX, BS_KEYPROC_FIELDS_MAX);
	e->buf[2] = (uint8_t)(e->nf >> 8);
	e->buf[3] = (uint8_t)e->nf;
	return 0;
}

void bs_kp_enc_free(struct bs_kp_enc *e)
{
	if (e->buf != NULL) {
		OPENSSL_cleanse(e->buf, e->cap);
		free(e->buf);
	}
	memset(e, 0, sizeof(*e));
}

static void put_u32(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static unsigned get_u32(const uint8_t *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

void bs_kp_pool_record(uint8_t *rec, const struct bs_pool_stats *s)
{
	memset(rec, 0, BS_KP_POOL_RECORD);
	memcpy(rec, s->token, strnlen(s->token, BS_POOL_NAME_MAX - 1));
	put_u32(rec + BS_POOL_NAME_MAX, s->sessions);
	put_u32(rec + BS_POOL_NAME_MAX + 4, s->in_use);
	put_u32(rec + BS_POOL_NAME_MAX + 8, s->waiting);
}

bool bs_kp_pool_parse(struct bs_pool_stats *s, const uint8_t *rec)
{
	if (memchr(rec, '\0', BS_POOL_NAME_MAX) == NULL)
		return false;
	memcpy(s->token, rec, BS_POOL_NAME_MAX);
	s->sessions = get_u32(rec + BS_POOL_NAME_MAX);
	s->in_use = get_u32(rec + BS_POOL_NAME_MAX + 4);
	s->waiting = get_u32(rec + BS_POOL_NAME_MAX + 8);
	return s->sessions <= BS_P11_POOL_MAX && s->in_use <= s->sessions;
}
