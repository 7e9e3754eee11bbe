/* OP-TEE signed TA images (see ta.h). */
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "formats/optee/ta.h"

#define PSS_SALT_LEN 32 /* sign_encrypt.py: salt_length = digest length */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int bs_optee_uuid_parse(uint8_t out[BS_OPTEE_UUID_LEN], const char *text, size_t len)
{
	if (text == NULL || len != BS_OPTEE_UUID_TEXT_LEN)
		return BS_ERR_INVALID;
	uint8_t u[BS_OPTEE_UUID_LEN];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return BS_ERR_INVALID;
			continue;
		}
		int hi = bs_hex_digit((unsigned char)text[i]);
		int lo = i + 1 < len ? bs_hex_digit((unsigned char)text[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return BS_ERR_INVALID;
		u[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (n != BS_OPTEE_UUID_LEN)
		return BS_ERR_INVALID;
	memcpy(out, u, sizeof(u));
	return 0;
}

char *bs_optee_uuid_text(char *out, const uint8_t uuid[BS_OPTEE_UUID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < BS_OPTEE_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 15];
	}
	out[o] = '\0';
	return out;
}

static bool is_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int digit_value(uint8_t c, unsigned base)
{
	int v = bs_hex_digit(c);
	return v >= 0 && (unsigned)v < base ? v : -1;
}

int bs_optee_version_parse(uint32_t *out, const uint8_t *text, size_t len, const char *what,
			   struct bs_error *err)
{
	size_t a = 0, b = 0;
	while (b < len && text[b] != '\n')
		b++;
	while (a < b && is_blank(text[a]))
		a++;
	while (b > a && is_blank(text[b - 1]))
		b--;
	unsigned base = 10;
	if (b - a > 2 && text[a] == '0') {
		uint8_t p = text[a + 1] | 0x20;
		base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
		if (base != 10)
			a += 2;
	}
	bool ok = a < b && b - a <= BS_OPTEE_VERSION_TEXT_MAX;
	if (ok && base == 10 && text[a] == '0' && b - a > 1) {
		/* int("010", 0) is an error in Python; "00" is 0 */
		for (size_t i = a; i < b; i++)
			ok = ok && text[i] == '0';
	}
	uint64_t v = 0;
	for (size_t i = a; ok && i < b; i++) {
		int d = digit_value(text[i], base);
		if (d < 0) {
			ok = false;
			break;
		}
		v = v * base + (unsigned)d;
		ok = v <= UINT32_MAX;
	}
	if (!ok)
		return bs_error_set(err, BS_ERR_INVALID, "%s: TA version is not a number in "
				    "0..4294967295", what);
	*out = (uint32_t)v;
	return 0;
}

/* shdr || uuid || version: the signed prefix (hashed before the image). */
static void build_headers(uint8_t shdr[BS_OPTEE_SHDR_SIZE],
			  uint8_t boot[BS_OPTEE_BOOTSTRAP_SIZE], uint32_t img_size,
			  uint16_t sig_size, const uint8_t uuid[BS_OPTEE_UUID_LEN],
			  uint32_t version)
{
	put_le32(shdr, BS_OPTEE_SHDR_MAGIC);
	put_le32(shdr + 4, BS_OPTEE_SHDR_BOOTSTRAP_TA);
	put_le32(shdr + 8, img_size);
	put_le32(shdr + 12, BS_OPTEE_ALG_RSASSA_PSS_SHA256);
	put_le16(shdr + 16, BS_OPTEE_HASH_LEN);
	put_le16(shdr + 18, sig_size);
	memcpy(boot, uuid, BS_OPTEE_UUID_LEN);
	put_le32(boot + BS_OPTEE_UUID_LEN, version);
}

static int ta_hash(uint8_t out[BS_OPTEE_HASH_LEN], const uint8_t *shdr, const uint8_t *boot,
		   const uint8_t *img, size_t img_len, struct bs_error *err)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned olen = 0;
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, shdr, BS_OPTEE_SHDR_SIZE) == 1 &&
		 EVP_DigestUpdate(c, boot, BS_OPTEE_BOOTSTRAP_SIZE) == 1 &&
		 EVP_DigestUpdate(c, img, img_len) == 1 && EVP_DigestFinal_ex(c, out, &olen) == 1 &&
		 olen == BS_OPTEE_HASH_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : bs_error_ssl(err, BS_ERR_CRYPTO, "TA digest");
}

static const struct bs_sig_params g_pss = {
	.md_nid = NID_sha256, .scheme = BS_SIG_RSA_PSS, .pss_saltlen = PSS_SALT_LEN};

int bs_optee_ta_sign(uint8_t **out_hdr, size_t *out_hdr_len,
		     uint8_t digest[BS_OPTEE_HASH_LEN], struct bs_key *key,
		     const uint8_t uuid[BS_OPTEE_UUID_LEN], uint32_t version,
		     const uint8_t *img, size_t img_len, struct bs_error *err)
{
	*out_hdr = NULL;
	*out_hdr_len = 0;
	if (key == NULL || uuid == NULL || (img == NULL && img_len > 0))
		return bs_error_set(err, BS_ERR_INVALID, "TA: no key, UUID or image");
	if (bs_key_type(key) != EVP_PKEY_RSA)
		return bs_error_set(err, BS_ERR_KEY, "TA signing key %s is not an RSA key",
				    bs_key_id(key));
	if (img_len > BS_OPTEE_IMG_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "TA image is %zu bytes, more than %u",
				    img_len, BS_OPTEE_IMG_MAX);
	int bits = EVP_PKEY_get_bits(bs_key_public(key));
	size_t sig_size = (size_t)(bits + 7) / 8;
	if (bits <= 0 || sig_size > BS_OPTEE_SIG_MAX)
		return bs_error_set(err, BS_ERR_KEY, "TA signing key %s: unsupported size %d bits",
				    bs_key_id(key), bits);
	uint8_t shdr[BS_OPTEE_SHDR_SIZE], boot[BS_OPTEE_BOOTSTRAP_SIZE];
	build_headers(shdr, boot, (uint32_t)img_len, (uint16_t)sig_size, uuid, version);
	uint8_t h[BS_OPTEE_HASH_LEN];
	int rc = ta_hash(h, shdr, boot, img ? img : (const uint8_t *)"", img_len, err);
	if (rc != 0)
		return rc;
	uint8_t *sig = NULL;
	size_t slen = 0;
	rc = bs_key_sign(key, &g_pss, h, sizeof(h), &sig, &slen, err);
	if (rc != 0)
		return rc;
	if (slen != sig_size) {
		free(sig);
		return bs_error_set(err, BS_ERR_CRYPTO, "TA signature is %zu bytes, expected %zu",
				    slen, sig_size);
	}
	size_t n = BS_OPTEE_SHDR_SIZE + BS_OPTEE_HASH_LEN + sig_size + BS_OPTEE_BOOTSTRAP_SIZE;
	uint8_t *o = malloc(n);
	if (o == NULL) {
		free(sig);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	memcpy(o, shdr, BS_OPTEE_SHDR_SIZE);
	memcpy(o + BS_OPTEE_SHDR_SIZE, h, BS_OPTEE_HASH_LEN);
	memcpy(o + BS_OPTEE_SHDR_SIZE + BS_OPTEE_HASH_LEN, sig, sig_size);
	memcpy(o + BS_OPTEE_SHDR_SIZE + BS_OPTEE_HASH_LEN + sig_size, boot,
	       BS_OPTEE_BOOTSTRAP_SIZE);
	free(sig);
	memcpy(digest, h, BS_OPTEE_HASH_LEN);
	*out_hdr = o;
	*out_hdr_len = n;
	return 0;
}

int bs_optee_ta_verify(struct bs_optee_ta_info *info, const uint8_t *ta, size_t len,
		       EVP_PKEY *pub, struct bs_error *err)
{
	struct bs_optee_ta_info tmp;
	struct bs_optee_ta_info *i = info ? info : &tmp;
	memset(i, 0, sizeof(*i));
	if (ta == NULL || len < BS_OPTEE_SHDR_SIZE)
		return bs_error_set(err, BS_ERR_FORMAT, "TA: shorter than its header");
	uint32_t magic = get_le32(ta);
	i->img_type = get_le32(ta + 4);
	i->img_size = get_le32(ta + 8);
	i->algo = get_le32(ta + 12);
	i->hash_size = get_le16(ta + 16);
	i->sig_size = get_le16(ta + 18);
	if (magic != BS_OPTEE_SHDR_MAGIC)
		return bs_error_set(err, BS_ERR_FORMAT, "TA: bad magic 0x%08x", magic);
	if (i->img_type != BS_OPTEE_SHDR_BOOTSTRAP_TA)
		return bs_error_set(err, BS_ERR_FORMAT, "TA: image type %u is not a signed "
				    "bootstrap TA", i->img_type);
	if (i->algo != BS_OPTEE_ALG_RSASSA_PSS_SHA256)
		return bs_error_set(err, BS_ERR_FORMAT, "TA: algorithm 0x%08x is not RSASSA-PSS "
				    "SHA-256", i->algo);
	if (i->hash_size != BS_OPTEE_HASH_LEN || i->sig_size == 0 ||
	    i->sig_size > BS_OPTEE_SIG_MAX)
		return bs_error_set(err, BS_ERR_FORMAT, "TA: hash size %u / signature size %u",
				    i->hash_size, i->sig_size);
	uint64_t need = (uint64_t)BS_OPTEE_SHDR_SIZE + i->hash_size + i->sig_size +
			BS_OPTEE_BOOTSTRAP_SIZE + i->img_size;
	if (need != len)
		return bs_error_set(err, BS_ERR_FORMAT, "TA: %zu bytes, its header says %llu",
				    len, (unsigned long long)need);
	i->hash = ta + BS_OPTEE_SHDR_SIZE;
	i->sig = i->hash + i->hash_size;
	const uint8_t *boot = i->sig + i->sig_size;
	memcpy(i->uuid, boot, BS_OPTEE_UUID_LEN);
	i->version = get_le32(boot + BS_OPTEE_UUID_LEN);
	i->img = boot + BS_OPTEE_BOOTSTRAP_SIZE;
	uint8_t h[BS_OPTEE_HASH_LEN];
	int rc = ta_hash(h, ta, boot, i->img, i->img_size, err);
	if (rc != 0)
		return rc;
	i->hash_ok = memcmp(h, i->hash, sizeof(h)) == 0;
	if (!i->hash_ok)
		return bs_error_set(err, BS_ERR_VERIFY, "TA: digest does not match the image");
	if (pub == NULL)
		return 0;
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA ||
	    (size_t)(EVP_PKEY_get_bits(pub) + 7) / 8 != i->sig_size)
		return bs_error_set(err, BS_ERR_VERIFY, "TA: signature size does not fit the key");
	return bs_sig_verify(pub, &g_pss, i->hash, i->hash_size, i->sig, i->sig_size, err);
}
