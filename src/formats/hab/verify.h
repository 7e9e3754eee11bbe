/* Offline HAB4 verifier: does what the boot ROM would do with a signed image, and says
 * exactly which check failed. Also a readable dump of a CSF blob or signed image. */
#ifndef BS_HAB_VERIFY_H
#define BS_HAB_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

struct bs_hab_verify_opts {
	const uint8_t *fuse;   /* expected SRK hash (from SRK_fuse.bin, either format) */
	size_t fuse_len;
	uint32_t revoked_mask; /* bit i: SRK index i is revoked */
	bool has_ivt_offset;
	uint64_t ivt_offset;   /* else: scan for the IVT like csf_parser */
	size_t csf_max;        /* max command region length; 0 = 768 (CST) */
	FILE *log;             /* if set, one line per check passed/failed */
};

/* Verify a signed image file. 0 only if every check holds; BS_ERR_VERIFY (or
 * BS_ERR_FORMAT) otherwise with err->msg naming the failed check. */
int bs_hab_verify_image(const char *path, const struct bs_hab_verify_opts *opts,
			struct bs_error *err) BS_WUR;

/* Print a readable listing of a CSF blob (is_image=false) or of a signed image. */
int bs_hab_dump(FILE *out, const char *path, bool is_image, bool has_ivt_offset,
		uint64_t ivt_offset, struct bs_error *err) BS_WUR;

/* Parse a fuse file (raw digest, or srktool's -f 0 expansion) into the digest. */
int bs_hab_fuse_load(uint8_t *digest, size_t *digest_len, const uint8_t *data, size_t len,
		     struct bs_error *err) BS_WUR;

#endif
