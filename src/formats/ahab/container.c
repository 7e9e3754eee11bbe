/* AHAB container header, image array and signature block header: parsing of untrusted
 * bytes, image extents and image hashes (AHAB.md §2-§4). */
#include "formats/ahab/ahab.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>


static int mem_pread(void *ctx, void *buf, size_t len, uint64_t off, struct bs_error *err)
{
	const struct bs_ahab_mem *m = ctx;
	if (off > m->len || len > m->len - off)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "image is %zu bytes; cannot read %zu bytes at offset 0x%llx",
				    m->len, len, (unsigned long long)off);
	memcpy(buf, m->data + off, len);
	return 0;
}

void bs_ahab_reader_mem(struct bs_ahab_reader *out, struct bs_ahab_mem *mem)
{
	out->pread = mem_pread;
	out->size = mem->len;
	out->ctx = mem;
}

int bs_ahab_hash_nid(unsigned code)
{
	switch (code) {
	case BS_AHAB_HASH_SHA256: return NID_sha256;
	case BS_AHAB_HASH_SHA384: return NID_sha384;
	case BS_AHAB_HASH_SHA512: return NID_sha512;
	default: return 0;
	}
}

const char *bs_ahab_hash_name(unsigned code)
{
	switch (code) {
	case BS_AHAB_HASH_SHA256: return "sha256";
	case BS_AHAB_HASH_SHA384: return "sha384";
	case BS_AHAB_HASH_SHA512: return "sha512";
	default: return "unknown";
	}
}

int bs_ahab_container_parse(struct bs_ahab_container *out, const uint8_t *p, size_t len,
			    struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL || len < BS_AHAB_HDR_LEN)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "container header: %zu bytes, needs %d", len, BS_AHAB_HDR_LEN);
	if (p[3] != BS_AHAB_TAG_CONTAINER)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "container header: tag 0x%02x at byte 3, expected 0x87", p[3]);
	if (p[0] == 0x02)
		return bs_error_set(err, BS_ERR_UNSUPPORTED,
				    "container header: version 2 (PQC-capable ELE parts) is not "
				    "supported yet");
	if (p[0] != 0x00)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "container header: version 0x%02x at byte 0, expected 0x00",
				    p[0]);
	out->version = p[0];
	out->length = bs_get_le16(p + 1);
	out->flags = bs_get_le32(p + 4);
	out->sw_version = bs_get_le16(p + 8);
	out->fuse_version = p[10];
	out->nr_images = p[11];
	out->sigblk_offset = bs_get_le16(p + 12);
	if (bs_get_le16(p + 14) != 0)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "container header: reserved bytes 14-15 are 0x%04x, expected 0",
				    bs_get_le16(p + 14));
	if (out->nr_images == 0 || out->nr_images > BS_AHAB_IMAGES_MAX)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "container header: %u images, expected 1 to %d",
				    out->nr_images, BS_AHAB_IMAGES_MAX);
	size_t array_end = BS_AHAB_HDR_LEN + (size_t)out->nr_images * BS_AHAB_IMG_LEN;
	if (out->sigblk_offset != array_end)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "container header: signature block offset 0x%x, expected 0x%zx "
				    "(16 + 128 x %u images)", out->sigblk_offset, array_end,
				    out->nr_images);
	if (len < array_end)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "image array: %zu bytes available, %u entries need %zu", len,
				    out->nr_images, array_end);
	for (unsigned i = 0; i < out->nr_images; i++) {
		const uint8_t *e = p + BS_AHAB_HDR_LEN + (size_t)i * BS_AHAB_IMG_LEN;
		struct bs_ahab_image *im = &out->img[i];
		im->offset = bs_get_le32(e);
		im->size = bs_get_le32(e + 4);
		im->load_address = bs_get_le64(e + 8);
		im->entry_point = bs_get_le64(e + 16);
		im->flags = bs_get_le32(e + 24);
		im->meta = bs_get_le32(e + 28);
		memcpy(im->hash, e + 32, sizeof(im->hash));
		memcpy(im->iv, e + 96, sizeof(im->iv));
		if (bs_ahab_hash_nid(BS_AHAB_IMG_HASH(im->flags)) == 0)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "image %u: hash type %u in flags 0x%08x is not SHA-256/384/"
					    "512", i, BS_AHAB_IMG_HASH(im->flags), im->flags);
	}
	return 0;
}

int bs_ahab_sigblk_parse(struct bs_ahab_sigblk *out, const uint8_t *p, size_t len,
			 struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL || len < BS_AHAB_HDR_LEN)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "signature block: %zu bytes available, the header needs %d", len,
				    BS_AHAB_HDR_LEN);
	if (p[3] != BS_AHAB_TAG_SIGBLK || p[0] != 0)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "signature block: version 0x%02x tag 0x%02x, expected 0x00 0x90",
				    p[0], p[3]);
	out->version = p[0];
	out->length = bs_get_le16(p + 1);
	out->cert_offset = bs_get_le16(p + 4);
	out->srk_offset = bs_get_le16(p + 6);
	out->sig_offset = bs_get_le16(p + 8);
	out->blob_offset = bs_get_le16(p + 10);
	out->key_id = bs_get_le32(p + 12);
	if (out->length < BS_AHAB_HDR_LEN || out->length > len)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "signature block: length 0x%x, expected 16 to 0x%zx (the bytes "
				    "available)", out->length, len);
	const struct {
		const char *name;
		uint16_t off;
	} offs[] = {{"certificate", out->cert_offset},
		    {"SRK table", out->srk_offset},
		    {"signature", out->sig_offset},
		    {"blob", out->blob_offset}};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint16_t o = offs[i].off;
		if (o == 0)
			continue;
		if (o % 8 != 0 || o < BS_AHAB_HDR_LEN || (size_t)o + 4 > out->length)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "signature block: %s offset 0x%x is not 8-aligned inside "
					    "the 0x%x-byte block", offs[i].name, o, out->length);
	}
	return 0;
}

int bs_ahab_images_check(const struct bs_ahab_container *c, uint64_t base, uint64_t file_size,
			 uint64_t reserved, struct bs_error *err)
{
	for (unsigned i = 0; i < c->nr_images; i++) {
		const struct bs_ahab_image *a = &c->img[i];
		uint64_t start = base + a->offset, end = start + a->size;
		if (a->offset < reserved)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "image %u: offset 0x%x lies inside the container (its "
					    "header and signature block take 0x%llx bytes)", i,
					    a->offset, (unsigned long long)reserved);
		if (end > file_size)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "image %u: bytes 0x%llx-0x%llx end past the file (0x%llx "
					    "bytes)", i, (unsigned long long)start,
					    (unsigned long long)end, (unsigned long long)file_size);
		for (unsigned j = 0; j < i; j++) {
			const struct bs_ahab_image *b = &c->img[j];
			if (a->size != 0 && b->size != 0 && a->offset < b->offset + (uint64_t)b->size &&
			    b->offset < a->offset + (uint64_t)a->size)
				return bs_error_set(err, BS_ERR_FORMAT,
						    "image %u overlaps image %u", i, j);
		}
	}
	return 0;
}

static int hash_range(uint8_t *out, unsigned *out_len, const EVP_MD *md,
		      const struct bs_ahab_reader *r, uint64_t off, uint64_t len,
		      struct bs_error *err)
{
	uint8_t *buf = malloc(BS_COPY_CHUNK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = 0;
	if (buf == NULL || ctx == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "digest init");
		goto out;
	}
	while (len > 0) {
		size_t n = len > BS_COPY_CHUNK ? BS_COPY_CHUNK : (size_t)len;
		if ((rc = r->pread(r->ctx, buf, n, off, err)) != 0)
			goto out;
		if (EVP_DigestUpdate(ctx, buf, n) != 1) {
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "digest");
			goto out;
		}
		off += n;
		len -= n;
	}
	if (EVP_DigestFinal_ex(ctx, out, out_len) != 1)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "digest final");
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

int bs_ahab_images_hash_check(const struct bs_ahab_container *c, uint64_t base,
			      const struct bs_ahab_reader *r, struct bs_error *err)
{
	static const uint8_t zero[BS_AHAB_HASH_MAX];
	for (unsigned i = 0; i < c->nr_images; i++) {
		const struct bs_ahab_image *im = &c->img[i];
		unsigned code = BS_AHAB_IMG_HASH(im->flags);
		const EVP_MD *md = EVP_get_digestbynid(bs_ahab_hash_nid(code));
		if (md == NULL)
			return bs_error_set(err, BS_ERR_FORMAT, "image %u: unknown hash type %u", i,
					    code);
		uint8_t d[EVP_MAX_MD_SIZE];
		unsigned dlen = 0;
		int rc = hash_range(d, &dlen, md, r, base + im->offset, im->size, err);
		if (rc != 0) {
			bs_error_prefix(err, "image %u", i);
			return rc;
		}
		if (memcmp(d, im->hash, dlen) != 0)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "image %u (0x%x bytes at 0x%llx): %s of the bytes differs "
					    "from the hash in the image array (image changed after "
					    "mkimage?)", i, im->size,
					    (unsigned long long)(base + im->offset),
					    bs_ahab_hash_name(code));
		if (memcmp(im->hash + dlen, zero, sizeof(im->hash) - dlen) != 0)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "image %u: hash field padding after the %u-byte %s digest "
					    "is not zero", i, dlen, bs_ahab_hash_name(code));
	}
	return 0;
}
