/* Offline AHAB verifier (AHAB.md §12): for every container of the set (0, then every
 * 0x400 while a container header is found, or one given offset) check the header and
 * image array, the signature block layout, the SRK table, its hash against the fuse
 * value, the selected SRK against the revocation fuses, the certificate (signature by the
 * SRK, permissions) and the container signature over the exact signed range, then each
 * image's bytes against its hash. Any failure stops with BS_ERR_VERIFY (BS_ERR_FORMAT for
 * malformed structures) and a message "container at 0x...: <check>: <detail>" where
 * <check> is one of: structure, signature block, SRK table, SRK hash, SRK selection,
 * certificate, signature, image hash, anti-rollback. */
#ifndef BS_AHAB_VERIFY_H
#define BS_AHAB_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "formats/ahab/ahab.h"

struct bs_ahab_verify_opts {
	const uint8_t *fuse;  /* SRK hash from the fuses: 32 (SHA-256) or 64 (SHA-512) bytes */
	size_t fuse_len;
	uint8_t revoked;      /* SRK_REVOKE fuse bits: bit n = SRK n revoked */
	uint8_t min_fuse_version; /* anti-rollback: OEM containers need fuse_version >= this */
	bool has_offset;      /* verify only the container at `offset` */
	uint64_t offset;
	FILE *report;         /* one line per check passed (NULL = quiet) */
};

int bs_ahab_verify(const struct bs_ahab_reader *image, const struct bs_ahab_verify_opts *o,
		   struct bs_error *err) BS_WUR;

/* Print every container's structure (header, images, signature block, SRK records,
 * certificate, signature sizes) without judging it. Errors only for unreadable bytes. */
int bs_ahab_dump(FILE *out, const struct bs_ahab_reader *image, bool has_offset,
		 uint64_t offset, struct bs_error *err) BS_WUR;

#endif
