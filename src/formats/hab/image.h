/* HAB4 image access for the verifier and the dump (internal to src/hab): a file read
 * with pread only (never loaded whole), the IVT, boot data, DCD header and the address
 * arithmetic that maps load addresses to file offsets. */
#ifndef BS_HAB_IMAGE_H
#define BS_HAB_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"

#define BS_HAB_IVT_LEN 32
#define BS_HAB_ADDR_END (1ull << 32) /* first address past the 32-bit HAB address space */
#define BS_HAB_HASH_CHUNK (64u * 1024)
#define BS_HAB_IVT_SCAN_MAX (64ull << 20) /* bytes scanned for an IVT without --ivt-offset */
#define BS_HAB_IVTS_MAX 16                /* IVTs in one file (SPL, FIT, ...) */

struct bs_hab_ivt {
	uint64_t off; /* file offset of the IVT */
	uint8_t version;
	uint32_t entry, res1, dcd, boot_data, self, csf, res2;
};

struct bs_hab_image {
	int fd;
	uint64_t size;
	struct bs_hab_ivt ivt;
	uint64_t base;         /* load address of file offset 0 (= self - ivt offset) */
	uint32_t bd_start, bd_length, bd_plugin;
	uint16_t dcd_len;      /* 0 if no DCD */
	uint64_t csf_off;      /* file offset of the CSF */
};

/* Open a file for reading (fd = -1 first so close is always safe). */
int bs_hab_image_open(struct bs_hab_image *img, const char *path, struct bs_error *err) BS_WUR;
void bs_hab_image_close(struct bs_hab_image *img);

/* Read exactly len bytes at off; BS_ERR_FORMAT naming `what` if [off, off+len) is not
 * inside the file. */
int bs_hab_image_read(const struct bs_hab_image *img, void *buf, size_t len, uint64_t off,
		      const char *what, struct bs_error *err) BS_WUR;

/* Read the HAB structure (header tag/len/version + body, padding excluded) at file
 * offset `off`: tag must be `want_tag`, version 4x, 4 < len, all inside the file.
 * *out malloc'd (len bytes, header included). Messages start with `what`. */
int bs_hab_image_blob(const struct bs_hab_image *img, uint64_t off, uint8_t want_tag,
		      uint8_t **out, size_t *out_len, const char *what,
		      struct bs_error *err) BS_WUR;

/* Locate (scan at 4-byte steps for D1 00 20 4x when !has_off) and check the IVT, boot
 * data, DCD header and CSF position (steps 1-2 of the algorithm, CSF header excluded).
 * boot_data = 0 is accepted (no boot data; bd_* stay 0). Messages start with "IVT: ".
 * A csf pointer of 0 fails last, so img->ivt and the boot data are filled for a dump. */
int bs_hab_image_load_ivt(struct bs_hab_image *img, bool has_off, uint64_t off,
			  struct bs_error *err) BS_WUR;

/* File offsets of every 4-byte aligned IVT header (D1 00 20 4x) in the first
 * BS_HAB_IVT_SCAN_MAX bytes, in file order: at most `max` (BS_ERR_LIMIT beyond), none
 * is BS_ERR_FORMAT. */
int bs_hab_image_scan_ivts(const struct bs_hab_image *img, uint64_t *offs, size_t max,
			   size_t *n, struct bs_error *err) BS_WUR;

/* Map [addr, addr+len) to a file range; false if it does not lie wholly inside the
 * file (64-bit arithmetic, no wrap). */
bool bs_hab_image_map(const struct bs_hab_image *img, uint64_t addr, uint64_t len,
		      uint64_t *off);

#endif
