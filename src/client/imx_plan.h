/* Where each CSF blob of an i.MX image goes, worked out on the client from the CSFs and
 * the image alone (no offset arithmetic by the user):
 *
 *  - every Blocks entry of a CSF must name the image (its file name);
 *  - the CSF's IVT is the one inside its signed blocks whose self pointer equals the load
 *    address its block gives for that file offset; the blob goes at the file offset of
 *    the IVT's CSF pointer;
 *  - the space ends at the next data: the next signed block (of any CSF), the next IVT,
 *    or the end of the boot data image the ROM loads; a blob larger than that is refused.
 *
 * For digest-only signing it also hashes each [Authenticate Data]'s blocks (the CSF
 * Header's algorithm) into the server's `digests` field text (docs/server.md). */
#ifndef BS_CLIENT_IMX_PLAN_H
#define BS_CLIENT_IMX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct bs_csf;

#define BS_CLIENT_CSFS_MAX 8             /* --csf files of one image */
#define BS_CLIENT_DIGESTS_TEXT_MAX 4096u /* the digests field (as the server's bound) */

struct bs_imx_slot {
	struct bs_csf *csf;   /* parsed */
	char *csf_path;
	char *csf_text;       /* the CSF as read (sent unchanged) */
	size_t csf_len;
	uint64_t ivt_off;     /* file offset of its IVT */
	uint64_t csf_off;     /* file offset the blob goes to */
	uint64_t space;       /* bytes available there; UINT64_MAX = up to the file's end and beyond */
	char limit[96];       /* what ends the space ("signed block at 0x57c00") */
	char *digests;        /* digest-only field text, after bs_imx_plan_digests() */
};

struct bs_imx_plan {
	char *image;          /* path */
	char *image_name;     /* its file name, as the CSFs name it */
	uint64_t image_size;
	struct bs_imx_slot slot[BS_CLIENT_CSFS_MAX];
	size_t n;
};

/* Read and parse the CSFs, check their Blocks against the image, find each IVT and its
 * CSF space. Errors name the CSF file and line. */
int bs_imx_plan_new(struct bs_imx_plan **out, const char *image, const char *const *csfs,
		    size_t ncsfs, struct bs_error *err) BS_WUR;
/* Fill slot[i].digests for digest-only requests (hashes the image once per block). */
int bs_imx_plan_digests(struct bs_imx_plan *p, struct bs_error *err) BS_WUR;
/* Does a blob of `len` bytes fit slot i? BS_ERR_LIMIT naming the CSF, offset, space and
 * what ends it otherwise. */
int bs_imx_plan_check_fit(const struct bs_imx_plan *p, size_t i, size_t len,
			  struct bs_error *err) BS_WUR;
/* Write the image with every blob in place to `out_path` atomically (a temporary file
 * beside it, renamed at the end, removed on failure); with `fuse` (SRK hash), verify
 * every IVT with the offline verifier first. The input is only read. */
int bs_imx_plan_write(const struct bs_imx_plan *p, const uint8_t *const *blobs,
		      const size_t *lens, const char *out_path, const char *fuse_path,
		      struct bs_error *err) BS_WUR;
void bs_imx_plan_free(struct bs_imx_plan *p);

#endif
