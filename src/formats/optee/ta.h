/* OP-TEE: signed Trusted Application images (<uuid>.ta), the layout OP-TEE's own
 * scripts/sign_encrypt.py writes for a signed, unencrypted TA and the OP-TEE loader checks
 * (core/include/signed_hdr.h):
 *
 *   struct shdr (20 bytes, little-endian)
 *     u32 magic      0x4f545348 ("SHDR")
 *     u32 img_type   1 (SHDR_BOOTSTRAP_TA)
 *     u32 img_size   bytes of the image (the stripped ELF)
 *     u32 algo       0x70414930 (TEE_ALG_RSASSA_PKCS1_PSS_MGF1_SHA256)
 *     u16 hash_size  32
 *     u16 sig_size   bytes of the RSA modulus
 *   u8  hash[32]     SHA-256( shdr || uuid || ta_version || image )
 *   u8  sig[sig_size] RSASSA-PSS over hash: MGF1-SHA-256, salt 32 bytes
 *   struct shdr_bootstrap_ta
 *     u8  uuid[16]   the TA's UUID in RFC 4122 byte order (the text's hex digits in order)
 *     u32 ta_version little-endian
 *   u8  image[img_size]
 *
 * Names and versions come from an uploaded archive: "<uuid>.stripped.elf" and an optional
 * "<uuid>.ta-version" holding a number (default 0). */
#ifndef BS_FORMATS_OPTEE_TA_H
#define BS_FORMATS_OPTEE_TA_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"

#define BS_OPTEE_SHDR_MAGIC 0x4f545348u
#define BS_OPTEE_SHDR_BOOTSTRAP_TA 1u
#define BS_OPTEE_ALG_RSASSA_PSS_SHA256 0x70414930u
#define BS_OPTEE_SHDR_SIZE 20
#define BS_OPTEE_HASH_LEN 32
#define BS_OPTEE_UUID_LEN 16
#define BS_OPTEE_BOOTSTRAP_SIZE 20           /* uuid + ta_version */
#define BS_OPTEE_UUID_TEXT_LEN 36            /* 8-4-4-4-12 */
#define BS_OPTEE_SIG_MAX 1024                /* bytes: up to RSA-8192 */
#define BS_OPTEE_IMG_MAX (64u * 1024 * 1024) /* bytes of one TA image (TAs run in a
                                                * few MiB of secure RAM) */
#define BS_OPTEE_VERSION_TEXT_MAX 64         /* bytes of a .ta-version file */

/* The UUID spelled by text[0..len) (canonical 8-4-4-4-12 hex, either case) as 16 bytes
 * in RFC 4122 order. BS_ERR_INVALID otherwise (no message: callers name the member). */
int bs_optee_uuid_parse(uint8_t out[BS_OPTEE_UUID_LEN], const char *text, size_t len) BS_WUR;
/* Canonical lower-case text of a UUID; out holds BS_OPTEE_UUID_TEXT_LEN + 1 bytes. */
char *bs_optee_uuid_text(char *out, const uint8_t uuid[BS_OPTEE_UUID_LEN]);

/* The contents of a .ta-version file: its first line, surrounding blanks ignored, as a
 * number in 0..0xffffffff, decimal or with a 0x / 0o / 0b prefix (the forms OP-TEE's
 * script and digsigserver read with Python's int(text, 0); like them a decimal number with
 * a leading zero is refused; unlike them signs and '_' separators are refused too).
 * BS_ERR_INVALID with a message naming `what` otherwise. */
int bs_optee_version_parse(uint32_t *out, const uint8_t *text, size_t len, const char *what,
			   struct bs_error *err) BS_WUR;

/* Sign one TA image. *out_hdr (malloc'd, caller frees) receives everything that precedes
 * the image in the .ta file (shdr, hash, signature, bootstrap header: *out_hdr_len bytes;
 * the .ta file is that followed by the image unchanged). digest receives the SHA-256 that
 * was signed. The key must be RSA (BS_ERR_KEY otherwise). Nothing is returned on
 * failure. */
int bs_optee_ta_sign(uint8_t **out_hdr, size_t *out_hdr_len,
		     uint8_t digest[BS_OPTEE_HASH_LEN], struct bs_key *key,
		     const uint8_t uuid[BS_OPTEE_UUID_LEN], uint32_t version,
		     const uint8_t *img, size_t img_len, struct bs_error *err) BS_WUR;

/* A parsed signed TA (pointers into the parsed buffer). */
struct bs_optee_ta_info {
	uint32_t img_type;
	uint32_t img_size;
	uint32_t algo;
	uint16_t hash_size;
	uint16_t sig_size;
	const uint8_t *hash;
	const uint8_t *sig;
	uint8_t uuid[BS_OPTEE_UUID_LEN];
	uint32_t version;
	const uint8_t *img;
	bool hash_ok; /* hash equals the recomputed SHA-256 */
};

/* Parse a signed, unencrypted TA and recompute its hash: BS_ERR_FORMAT for a malformed
 * file (bad magic, type, algorithm, sizes, truncation, trailing bytes), BS_ERR_VERIFY when
 * the hash does not match. If pub is given the signature is checked too (BS_ERR_VERIFY).
 * info (may be NULL) is filled as far as parsing got. */
int bs_optee_ta_verify(struct bs_optee_ta_info *info, const uint8_t *ta, size_t len,
		       EVP_PKEY *pub, struct bs_error *err) BS_WUR;

#endif
