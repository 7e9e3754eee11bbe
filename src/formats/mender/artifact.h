/* Mender artifacts (format "mender", version 3): sign the manifest, copy the rest.
 *
 * An artifact is a plain (uncompressed) tar whose members come in this order:
 *   version             {"format": "mender", "version": 3}
 *   manifest            "<sha256 hex>  <member name>\n" per member it covers, sorted
 *   [manifest.sig]      base64 of a signature over the manifest's bytes
 *   [manifest-augment, header.tar.gz, header-augment.tar.gz, data/0000.tar.gz ...]
 * The signature is what mender-artifact writes: RSA PKCS#1 v1.5 over SHA-256, or ECDSA
 * P-256 over SHA-256 as r||s (32 bytes each, big-endian, left-padded), then base64
 * (standard alphabet, padded, no newline).
 *
 * bs_mender_resign reads an artifact through the hostile tar reader (formats/tar), writes
 * the same artifact with manifest.sig (mode 0644) right after the manifest, replacing any
 * signature it had, and copies every other member (header and data) unchanged. Outer
 * members the manifest lists (version, header.tar.gz, ...) are checked against their
 * SHA-256 on the way and must be there, so a damaged artifact is refused instead of
 * signed. Payload lines ("data/0000/rootfs.ext4") name files inside the compressed
 * data/NNNN.tar.* members: they are signed as listed, not unpacked here (the device and
 * `mender-artifact validate` check them).
 *
 * Refused: not a tar (BS_ERR_FORMAT); directories, a first member other than version, a
 * version file that is not format mender version 3, a second member other than manifest,
 * a malformed manifest line, a member whose checksum differs from the manifest, a listed
 * member missing (BS_ERR_INVALID, naming the member and line); a version file, manifest
 * or old signature over its maximum (BS_ERR_LIMIT); the tar reader's bounds otherwise. A
 * key that is not RSA or EC P-256 is BS_ERR_KEY. */
#ifndef BS_FORMATS_MENDER_ARTIFACT_H
#define BS_FORMATS_MENDER_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"
#include "formats/tar/tar_read.h"

#define BS_MENDER_VERSION_MAX 4096u        /* bytes of the version member */
#define BS_MENDER_MANIFEST_MAX (1u << 20)  /* bytes of the manifest */
#define BS_MENDER_MANIFEST_LINES_MAX 4096u /* members one manifest may list */
#define BS_MENDER_SIG_MAX 4096u            /* bytes of a manifest.sig (base64) */
#define BS_MENDER_DIGEST_LEN 32            /* SHA-256 */

/* Write n bytes of the output artifact. 0 or a negative BS_ERR_* (returned as is). */
typedef int (*bs_mender_write_fn)(void *ctx, const void *buf, size_t n,
				  struct bs_error *err);

/* The manifest.sig text (base64, NUL-terminated, malloc'd into *out, length *out_len) of
 * `key` over the manifest bytes; dgst (BS_MENDER_DIGEST_LEN bytes) gets the SHA-256
 * signed. RSA: PKCS#1 v1.5; EC P-256: raw r||s. Other keys: BS_ERR_KEY. */
int bs_mender_sig(char **out, size_t *out_len, uint8_t *dgst, struct bs_key *key,
		  const uint8_t *manifest, size_t len, struct bs_error *err) BS_WUR;

/* Read the artifact from `read`/rctx (limits may be NULL), write the signed one to
 * `write`/wctx, signing with `key`; dgst (BS_MENDER_DIGEST_LEN bytes, may be NULL) gets
 * the manifest's SHA-256. On failure part of the output may have been written: the
 * caller discards it. */
int bs_mender_resign(uint8_t *dgst, bs_tar_read_fn read, void *rctx,
		     const struct bs_tar_limits *limits, bs_mender_write_fn write, void *wctx,
		     struct bs_key *key, struct bs_error *err) BS_WUR;

/* Check a version member: a JSON object with "format": "mender" and "version": 3 (other
 * members allowed, flat strings/integers only). BS_ERR_INVALID naming what is wrong. */
int bs_mender_version_check(const uint8_t *text, size_t len, struct bs_error *err) BS_WUR;

/* One manifest line. */
struct bs_mender_entry {
	uint8_t sha256[BS_MENDER_DIGEST_LEN];
	const char *name;  /* points into the parsed copy of the manifest */
	int seen;          /* set by bs_mender_resign once the member was checked */
};

/* Parse manifest text (a NUL-terminated writable copy, modified in place) into *out
 * (malloc'd, *n entries). BS_ERR_INVALID naming the line for anything but
 * "<64 hex>  <name>" lines (a final newline optional), a name listed twice, or an empty
 * manifest; BS_ERR_LIMIT over BS_MENDER_MANIFEST_LINES_MAX lines. */
int bs_mender_manifest_parse(struct bs_mender_entry **out, size_t *n, char *text,
			     struct bs_error *err) BS_WUR;

#endif
