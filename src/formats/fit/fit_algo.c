/* Algorithm names a FIT uses: "<hash>,<crypto>" signature algorithms (mkimage 2023.01's
 * tables: sha1/sha256/sha384/sha512 with rsa2048/rsa3072/rsa4096/ecdsa256; ecdsa384 as
 * later U-Boot adds it) and the digests of image hash nodes. */
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <string.h>

#include "core/util.h"
#include "formats/fit/fit_int.h"

struct hash_name {
	const char *name;
	int nid;
};

static const struct hash_name g_sig_hashes[] = {
	{"sha1", NID_sha1}, {"sha256", NID_sha256}, {"sha384", NID_sha384}, {"sha512", NID_sha512},
};

static const struct {
	const char *name;
	enum bs_fit_crypto crypto;
	unsigned bits;
} g_cryptos[] = {
	{"rsa2048", BS_FIT_RSA, 2048},     {"rsa3072", BS_FIT_RSA, 3072},
	{"rsa4096", BS_FIT_RSA, 4096},     {"ecdsa256", BS_FIT_ECDSA, 256},
	{"ecdsa384", BS_FIT_ECDSA, 384},
};

int bs_fit_sigalg_parse(struct bs_fit_sigalg *out, const char *algo, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *comma = algo ? strchr(algo, ',') : NULL;
	size_t i, j;
	for (i = 0; comma && i < BS_ARRAY_SIZE(g_sig_hashes); i++)
		if (strlen(g_sig_hashes[i].name) == (size_t)(comma - algo) &&
		    strncmp(algo, g_sig_hashes[i].name, (size_t)(comma - algo)) == 0)
			break;
	for (j = 0; comma && j < BS_ARRAY_SIZE(g_cryptos); j++)
		if (strcmp(comma + 1, g_cryptos[j].name) == 0)
			break;
	if (comma == NULL || i == BS_ARRAY_SIZE(g_sig_hashes) || j == BS_ARRAY_SIZE(g_cryptos))
		return bs_error_set(err, BS_ERR_INVALID,
				    "algo '%.64s' is not a FIT signature algorithm U-Boot knows "
				    "(sha1|sha256|sha384|sha512 , rsa2048|rsa3072|rsa4096|ecdsa256|"
				    "ecdsa384)", algo ? algo : "");
	out->md_nid = g_sig_hashes[i].nid;
	out->dlen = (size_t)EVP_MD_get_size(EVP_get_digestbynid(out->md_nid));
	out->crypto = g_cryptos[j].crypto;
	out->bits = g_cryptos[j].bits;
	return 0;
}

bool bs_fit_algo_known(const char *algo)
{
	struct bs_fit_sigalg a;
	return bs_fit_sigalg_parse(&a, algo, NULL) == 0;
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), as zlib and U-Boot compute it. The table is
 * built per call (2 K steps; no shared state between threads). */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

int bs_fit_image_hash(uint8_t *out, size_t *out_len, int *md_nid, const char *algo,
		      const uint8_t *data, size_t len, struct bs_error *err)
{
	static const struct hash_name image_hashes[] = {
		{"md5", NID_md5},       {"sha1", NID_sha1},     {"sha256", NID_sha256},
		{"sha384", NID_sha384}, {"sha512", NID_sha512},
	};
	if (strcmp(algo, "crc32") == 0) {
		uint32_t c = crc32_ieee(data, len);
		out[0] = (uint8_t)(c >> 24);
		out[1] = (uint8_t)(c >> 16);
		out[2] = (uint8_t)(c >> 8);
		out[3] = (uint8_t)c;
		*out_len = 4;
		*md_nid = NID_undef;
		return 0;
	}
	for (size_t i = 0; i < BS_ARRAY_SIZE(image_hashes); i++) {
		if (strcmp(algo, image_hashes[i].name) != 0)
			continue;
		unsigned int dl = 0;
		if (EVP_Digest(data, len, out, &dl, EVP_get_digestbynid(image_hashes[i].nid),
			       NULL) != 1)
			return bs_error_ssl(err, BS_ERR_CRYPTO, "%s of image data", algo);
		*out_len = dl;
		*md_nid = image_hashes[i].nid;
		return 0;
	}
	return bs_error_set(err, BS_ERR_INVALID,
			    "hash algo '%.32s' is not one mkimage knows (md5, sha1, sha256, sha384, "
			    "sha512, crc32)", algo);
}
