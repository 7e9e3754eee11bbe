/* Offline HAB4 verifier: does what the boot ROM would do with a signed image, and says
 * exactly which check failed. Also a readable dump of a CSF blob or signed image. */
#ifndef BS_HAB_VERIFY_H
#define BS_HAB_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* Where a signed block's bytes sit in the file when its load address is not the IVT's
 * base + file offset (FIT parts SPL loads elsewhere): a Blocks entry of the CSF text. */
struct bs_hab_block_map {
	uint32_t addr, offset, length;
};

struct bs_hab_verify_opts {
	const uint8_t *fuse;   /* expected SRK hash (from SRK_fuse.bin, either format) */
	size_t fuse_len;
	uint32_t revoked_mask; /* bit i: SRK index i is revoked */
	bool has_ivt_offset;
	uint64_t ivt_offset;   /* else: scan for the IVT like csf_parser */
	size_t csf_max;        /* max command region length; 0 = 768 (CST) */
	/* Boot data bytes the SoC's ROM asserts are authenticated (12 on i.MX8M, 1 on
	 * i.MX6/7: struct bs_imx_soc in soc.h); 0 = 1. */
	size_t boot_data_len;
	/* Blocks whose range lies inside a map entry are read from that entry's file range;
	 * others at base + offset. May be NULL. */
	const struct bs_hab_block_map *map;
	size_t nmap;
	FILE *log;             /* if set, one line per check passed/failed */
};

/* Verify a signed image file. 0 only if every check holds; BS_ERR_VERIFY (or
 * BS_ERR_FORMAT) otherwise with err->msg naming the failed check. */
int bs_hab_verify_image(const char *path, const struct bs_hab_verify_opts *opts,
			struct bs_error *err) BS_WUR;

/* One IVT's result in bs_hab_verify_ivts. */
struct bs_hab_ivt_result {
	uint64_t off;       /* file offset of the IVT */
	int rc;             /* 0 verified; else the failure code */
	bool has_csf;       /* the IVT points at a CSF (csf != 0) */
	char msg[BS_ERROR_MSG_MAX]; /* the failure, "" when verified */
};

/* Verify every IVT of a file (SPL, FIT, ...), or only the one at opts->ivt_offset. Fills
 * res[0..*n) in file order. An IVT whose CSF area is empty fails ("not signed: ...").
 * Returns 0 only when every IVT that points at a CSF verifies and at least one did;
 * otherwise BS_ERR_VERIFY (or the single IVT's code) with err naming the first failure
 * as "IVT at 0x<off>: <why>". */
int bs_hab_verify_ivts(const char *path, const struct bs_hab_verify_opts *opts,
		       struct bs_hab_ivt_result *res, size_t max, size_t *n,
		       struct bs_error *err) BS_WUR;

/* Print a readable listing of a CSF blob (is_image=false) or of a signed image. */
int bs_hab_dump(FILE *out, const char *path, bool is_image, bool has_ivt_offset,
		uint64_t ivt_offset, struct bs_error *err) BS_WUR;

/* Parse a fuse file (raw digest, or srktool's -f 0 expansion) into the digest. */
int bs_hab_fuse_load(uint8_t *digest, size_t *digest_len, const uint8_t *data, size_t len,
		     struct bs_error *err) BS_WUR;

#endif
