/* The Authenticode image digest and the PE checksum (pe.h).
 *
 * Digest ranges, as the Authenticode PE specification lists them and UEFI firmware (EDK2)
 * computes them: the headers up to SizeOfHeaders without the CheckSum field and the
 * certificate-table directory entry; each section's raw data in file order; then, when the
 * file holds more than SUM = SizeOfHeaders + the sections' raw sizes, the bytes from
 * offset SUM up to the certificate table (the signed data's end). An unsigned image is
 * first zero-padded to 8 bytes so the certificate table is aligned; the padding is signed
 * data too. */
#include "formats/pe/pe.h"

#include <openssl/evp.h>
#include <string.h>

#define DIGEST_CHUNK (64u * 1024u) /* bytes read per step while hashing */

uint32_t bs_pe_pad_len(const struct bs_pe_image *img)
{
	if (img->cert_size != 0)
		return 0;
	return (uint32_t)((BS_PE_CERT_ALIGN - img->file_size % BS_PE_CERT_ALIGN) %
			  BS_PE_CERT_ALIGN);
}

/* Hash [off, off+len) of the file through the reader. */
static int hash_range(EVP_MD_CTX *ctx, const struct bs_pe_reader *r, uint64_t off,
		      uint64_t len, uint8_t *chunk, struct bs_error *err)
{
	while (len > 0) {
		size_t n = len < DIGEST_CHUNK ? (size_t)len : DIGEST_CHUNK;
		int rc = r->pread(r->ctx, chunk, n, off, err);
		if (rc != 0)
			return rc;
		if (EVP_DigestUpdate(ctx, chunk, n) != 1)
			return bs_error_ssl(err, BS_ERR_CRYPTO, "PE: digest update");
		off += n;
		len -= n;
	}
	return 0;
}

static int hash_headers(EVP_MD_CTX *ctx, const struct bs_pe_image *img)
{
	const uint8_t *h = img->headers;
	uint32_t after_csum = img->checksum_off + 4, after_dir = img->certdir_off + 8;
	return EVP_DigestUpdate(ctx, h, img->checksum_off) == 1 &&
	       EVP_DigestUpdate(ctx, h + after_csum, img->certdir_off - after_csum) == 1 &&
	       EVP_DigestUpdate(ctx, h + after_dir, img->size_of_headers - after_dir) == 1;
}

int bs_pe_digest(uint8_t *out, size_t *out_len, const struct bs_pe_image *img,
		 const struct bs_pe_reader *r, int md_nid, struct bs_error *err)
{
	static const uint8_t zeros[BS_PE_CERT_ALIGN];
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "PE: unknown digest %d", md_nid);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *chunk = OPENSSL_malloc(DIGEST_CHUNK);
	int rc = BS_ERR_NOMEM;
	if (ctx == NULL || chunk == NULL) {
		bs_error_set(err, rc, "PE: out of memory");
		goto out;
	}
	rc = BS_ERR_CRYPTO;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || !hash_headers(ctx, img)) {
		bs_error_ssl(err, rc, "PE: digest of the headers");
		goto out;
	}
	uint64_t sum = img->size_of_headers;
	for (size_t i = 0; i < img->nsections; i++) {
		const struct bs_pe_section *s = &img->sections[i];
		rc = hash_range(ctx, r, s->raw_off, s->raw_size, chunk, err);
		if (rc != 0)
			goto out;
		sum += s->raw_size;
	}
	uint64_t end = img->cert_size ? img->cert_off : img->file_size;
	if (end > sum) {
		rc = hash_range(ctx, r, sum, end - sum, chunk, err);
		if (rc != 0)
			goto out;
	}
	unsigned int n = 0;
	if (EVP_DigestUpdate(ctx, zeros, bs_pe_pad_len(img)) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "PE: digest final");
		goto out;
	}
	*out_len = n;
	rc = 0;
out:
	OPENSSL_free(chunk);
	EVP_MD_CTX_free(ctx);
	return rc;
}

void bs_pe_csum_init(struct bs_pe_csum *c)
{
	c->sum = 0;
	c->len = 0;
	c->pending = -1;
}

static uint32_t csum_add(uint32_t sum, uint32_t word)
{
	sum += word;
	return (sum & 0xFFFFu) + (sum >> 16);
}

void bs_pe_csum_update(struct bs_pe_csum *c, const uint8_t *p, size_t n)
{
	size_t i = 0;
	c->len += n;
	if (c->pending >= 0 && n > 0) {
		c->sum = csum_add(c->sum, (uint32_t)c->pending | ((uint32_t)p[0] << 8));
		c->pending = -1;
		i = 1;
	}
	for (; i + 1 < n; i += 2)
		c->sum = csum_add(c->sum, (uint32_t)p[i] | ((uint32_t)p[i + 1] << 8));
	if (i < n)
		c->pending = p[i];
}

uint32_t bs_pe_csum_final(const struct bs_pe_csum *c)
{
	uint32_t sum = c->sum;
	if (c->pending >= 0)
		sum = csum_add(sum, (uint32_t)c->pending);
	return (uint32_t)(sum + c->len);
}
