/* i.MX AHAB (v1) container set: byte layouts, limits and the parser for untrusted images.
 * Layouts follow the AHAB format notes (docs: AHAB.md §2-§8). Every AHAB structure is
 * little-endian; key material inside SRK records is big-endian. Offsets of the image
 * array are relative to the container header, those of the signature block to its own
 * start. Nothing here trusts a length it has not checked against the bytes it has. */
#ifndef BS_AHAB_AHAB_H
#define BS_AHAB_AHAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/limits.h"

#define BS_AHAB_HDR_LEN 16          /* container header and signature block header */
#define BS_AHAB_IMG_LEN 128         /* one image array entry */
#define BS_AHAB_SIG_HDR_LEN 8       /* signature structure header (D8) before the raw bytes */
#define BS_AHAB_CERT_HDR_LEN 8      /* certificate header (AF) before its key record */
#define BS_AHAB_CONTAINER_STEP 0x400u /* containers of a set: 0, 0x400, 0x800, ... */
#define BS_AHAB_CONTAINER_MAX 0xFFFFu /* u16 length */
#define BS_AHAB_HASH_MAX 64
#define BS_AHAB_SRK_RECORDS 4

#define BS_AHAB_TAG_CONTAINER 0x87
#define BS_AHAB_TAG_SIGBLK 0x90
#define BS_AHAB_TAG_SRK_TABLE 0xD7
#define BS_AHAB_TAG_SRK_RECORD 0xE1
#define BS_AHAB_TAG_SIGNATURE 0xD8
#define BS_AHAB_TAG_CERT 0xAF
#define BS_AHAB_TAG_BLOB 0x81
#define BS_AHAB_SRK_TABLE_VERSION 0x42

/* container header flags (v1) */
#define BS_AHAB_FLAG_SRK_SET(f) ((f) & 0x3u)
#define BS_AHAB_FLAG_SRK_IDX(f) (((f) >> 4) & 0x3u)
#define BS_AHAB_FLAG_REVOKE(f) (((f) >> 8) & 0xFu)
#define BS_AHAB_SRK_SET_NONE 0
#define BS_AHAB_SRK_SET_NXP 1
#define BS_AHAB_SRK_SET_OEM 2

/* image flags (v1) */
#define BS_AHAB_IMG_TYPE(f) ((f) & 0xFu)
#define BS_AHAB_IMG_CORE(f) (((f) >> 4) & 0xFu)
#define BS_AHAB_IMG_HASH(f) (((f) >> 8) & 0x7u)
#define BS_AHAB_IMG_ENCRYPTED(f) (((f) >> 11) & 0x1u)

/* hash codes (SRK record byte 4, image flags 10:8) */
#define BS_AHAB_HASH_SHA256 0
#define BS_AHAB_HASH_SHA384 1
#define BS_AHAB_HASH_SHA512 2

/* signature algorithm (SRK record byte 3) */
#define BS_AHAB_ALG_RSA 0x21
#define BS_AHAB_ALG_RSA_PSS 0x22
#define BS_AHAB_ALG_ECDSA 0x27

/* certificate permission: sign containers */
#define BS_AHAB_PERM_SIGN 0x01

struct bs_ahab_image {
	uint32_t offset; /* from the container header */
	uint32_t size;
	uint64_t load_address;
	uint64_t entry_point;
	uint32_t flags;
	uint32_t meta;
	uint8_t hash[BS_AHAB_HASH_MAX];
	uint8_t iv[32];
};

/* A container header and its image array, as read from an image. */
struct bs_ahab_container {
	uint8_t version;
	uint16_t length;
	uint32_t flags;
	uint16_t sw_version;
	uint8_t fuse_version;
	uint8_t nr_images;
	uint16_t sigblk_offset;
	struct bs_ahab_image img[BS_AHAB_IMAGES_MAX];
};

/* A signature block header (offsets relative to the block). */
struct bs_ahab_sigblk {
	uint8_t version;
	uint16_t length;
	uint16_t cert_offset, srk_offset, sig_offset, blob_offset;
	uint32_t key_id;
};

/* Where an image's bytes come from: a file, a memory buffer, a job input. pread reads
 * exactly len bytes at off or fails (BS_ERR_IO / BS_ERR_FORMAT naming the input). */
struct bs_ahab_reader {
	int (*pread)(void *ctx, void *buf, size_t len, uint64_t off, struct bs_error *err);
	uint64_t size;
	void *ctx;
};

/* A reader over a memory buffer (borrowed; `mem` must outlive the reader). */
struct bs_ahab_mem {
	const uint8_t *data;
	size_t len;
};
void bs_ahab_reader_mem(struct bs_ahab_reader *out, struct bs_ahab_mem *mem);

/* Parse a container header and image array from p[0, len). Checks: tag 0x87, version 0
 * (2 = v2: BS_ERR_UNSUPPORTED), reserved 0, 1 <= nr_images <= BS_AHAB_IMAGES_MAX,
 * signature block offset = 16 + 128 * nr_images, len covers the array. BS_ERR_FORMAT
 * with the field named otherwise. */
int bs_ahab_container_parse(struct bs_ahab_container *out, const uint8_t *p, size_t len,
			    struct bs_error *err) BS_WUR;

/* Parse a signature block header from p[0, len), len = bytes available from the block
 * start. Checks tag 0x90, version 0, length >= 16 and <= len, every non-zero offset
 * 8-aligned, at least 16 and inside the block. */
int bs_ahab_sigblk_parse(struct bs_ahab_sigblk *out, const uint8_t *p, size_t len,
			 struct bs_error *err) BS_WUR;

/* Check each image's extent: inside [0, file_size - base) of the file, after the
 * container's header and image array (starting at or after `reserved` bytes from the
 * header), and no two overlapping. */
int bs_ahab_images_check(const struct bs_ahab_container *c, uint64_t base, uint64_t file_size,
			 uint64_t reserved, struct bs_error *err) BS_WUR;

/* Hash every image with its own hash type over its bytes (read through r) and compare
 * with the array entry (digest left-aligned, zero padding). BS_ERR_VERIFY names the
 * image whose bytes changed. */
int bs_ahab_images_hash_check(const struct bs_ahab_container *c, uint64_t base,
			      const struct bs_ahab_reader *r, struct bs_error *err) BS_WUR;

/* OpenSSL digest NID for an AHAB hash code (0 if unknown), and its name. */
int bs_ahab_hash_nid(unsigned code);
const char *bs_ahab_hash_name(unsigned code);

#endif
