/* HAB4 image access: pread-only file reader, IVT location and checks, boot data, DCD
 * header, address -> file offset mapping (HAB4 notes 3.1-3.2). */
#include "formats/hab/image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "formats/hab/hab.h"

int bs_hab_image_open(struct bs_hab_image *img, const char *path, struct bs_error *err)
{
	memset(img, 0, sizeof(*img));
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0)
		return bs_error_set(err, errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
				    "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(img->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		bs_hab_image_close(img);
		return bs_error_set(err, BS_ERR_IO, "%s: %s", path,
				    e ? strerror(e) : "not a regular file");
	}
	img->size = (uint64_t)st.st_size;
	return 0;
}

void bs_hab_image_close(struct bs_hab_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

int bs_hab_image_read(const struct bs_hab_image *img, void *buf, size_t len, uint64_t off,
		      const char *what, struct bs_error *err)
{
	if (off > img->size || len > img->size - off)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "%s [file offset 0x%" PRIx64 "+0x%zx] beyond end of file "
				    "(size 0x%" PRIx64 ")",
				    what, off, len, img->size);
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(img->fd, (uint8_t *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bs_error_set(err, BS_ERR_IO, "%s: read failed: %s", what,
					    n < 0 ? strerror(errno) : "file shrank");
		done += (size_t)n;
	}
	return 0;
}

int bs_hab_image_blob(const struct bs_hab_image *img, uint64_t off, uint8_t want_tag,
		      uint8_t **out, size_t *out_len, const char *what, struct bs_error *err)
{
	uint8_t h[4];
	int rc = bs_hab_image_read(img, h, sizeof(h), off, what, err);
	if (rc != 0)
		return rc;
	uint16_t len = bs_get_be16(h + 1);
	if (h[0] != want_tag || (h[3] & 0xF0) != 0x40 || len <= 4)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "%s: header at file offset 0x%" PRIx64
				    " is %02x %02x %02x %02x (want %02X <len> 4x)",
				    what, off, h[0], h[1], h[2], h[3], want_tag);
	/* The ROM reads the blob at address base + off: past 0xFFFFFFFF that wraps to low
	 * memory, not the rest of the file. */
	if (img->base + off + len > BS_HAB_ADDR_END)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "%s: blob [address 0x%08" PRIx64 "+0x%x] wraps past the end of "
				    "the 32-bit address space", what, img->base + off, len);
	uint8_t *b = malloc(len);
	if (b == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if ((rc = bs_hab_image_read(img, b, len, off, what, err)) != 0) {
		free(b);
		return rc;
	}
	*out = b;
	*out_len = len;
	return 0;
}

bool bs_hab_image_map(const struct bs_hab_image *img, uint64_t addr, uint64_t len,
		      uint64_t *off)
{
	/* HAB addresses are 32-bit: a range past 0xFFFFFFFF wraps to low memory at boot,
	 * which is not the file's continuation. */
	if (addr < img->base || addr > BS_HAB_ADDR_END || len > BS_HAB_ADDR_END - addr)
		return false;
	uint64_t o = addr - img->base;
	if (o > img->size || len > img->size - o)
		return false;
	*off = o;
	return true;
}

static bool is_ivt_header(const uint8_t *p)
{
	return p[0] == HAB_TAG_IVT && p[1] == 0x00 && p[2] == 0x20 && (p[3] & 0xF0) == 0x40;
}

int bs_hab_image_scan_ivts(const struct bs_hab_image *img, uint64_t *offs, size_t max,
			   size_t *n, struct bs_error *err)
{
	*n = 0;
	uint8_t *chunk = malloc(BS_HAB_HASH_CHUNK);
	if (chunk == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	uint64_t limit = img->size < BS_HAB_IVT_SCAN_MAX ? img->size : BS_HAB_IVT_SCAN_MAX;
	int rc = 0;
	for (uint64_t pos = 0; rc == 0 && pos + 4 <= limit; pos += BS_HAB_HASH_CHUNK) {
		size_t len = (size_t)(limit - pos < BS_HAB_HASH_CHUNK ? limit - pos
								      : BS_HAB_HASH_CHUNK);
		if ((rc = bs_hab_image_read(img, chunk, len, pos, "IVT scan", err)) != 0)
			break;
		for (size_t i = 0; i + 4 <= len; i += 4) {
			if (!is_ivt_header(chunk + i))
				continue;
			if (*n == max) {
				rc = bs_error_set(err, BS_ERR_LIMIT,
						  "IVT: more than %zu IVT headers in the file", max);
				break;
			}
			offs[(*n)++] = pos + i;
		}
	}
	free(chunk);
	if (rc == 0 && *n == 0)
		rc = bs_error_set(err, BS_ERR_FORMAT,
				  "IVT: no IVT header (D1 00 20 4x) found in the first 0x%" PRIx64
				  " bytes; give its offset", limit);
	return rc;
}

/* csf_parser's rule: the first 4-byte aligned D1 00 20 4x. */
static int scan_ivt(const struct bs_hab_image *img, uint64_t *out, struct bs_error *err)
{
	uint8_t *chunk = malloc(BS_HAB_HASH_CHUNK);
	if (chunk == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	uint64_t limit = img->size < BS_HAB_IVT_SCAN_MAX ? img->size : BS_HAB_IVT_SCAN_MAX;
	int rc = bs_error_set(err, BS_ERR_FORMAT,
			      "IVT: no IVT header (D1 00 20 4x) found in the first 0x%" PRIx64
			      " bytes; give its offset", limit);
	for (uint64_t pos = 0; pos + 4 <= limit; pos += BS_HAB_HASH_CHUNK) {
		size_t n = (size_t)(limit - pos < BS_HAB_HASH_CHUNK ? limit - pos
								    : BS_HAB_HASH_CHUNK);
		int r = bs_hab_image_read(img, chunk, n, pos, "IVT scan", err);
		if (r != 0) {
			rc = r;
			break;
		}
		for (size_t i = 0; i + 4 <= n; i += 4)
			if (is_ivt_header(chunk + i)) {
				*out = pos + i;
				bs_error_clear(err);
				rc = 0;
				goto out;
			}
	}
out:
	free(chunk);
	return rc;
}

static int load_dcd(struct bs_hab_image *img, struct bs_error *err)
{
	uint64_t off;
	uint8_t h[4];
	if (!bs_hab_image_map(img, img->ivt.dcd, 4, &off))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: DCD at 0x%08" PRIx32 " lies outside the image",
				    img->ivt.dcd);
	int rc = bs_hab_image_read(img, h, 4, off, "IVT: DCD header", err);
	if (rc != 0)
		return rc;
	uint16_t len = bs_get_be16(h + 1);
	if (h[0] != HAB_TAG_DCD || (h[3] & 0xF0) != 0x40 || len < 4)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: DCD header at 0x%08" PRIx32
				    " is %02x %02x %02x %02x (want D2 <len> 4x)",
				    img->ivt.dcd, h[0], h[1], h[2], h[3]);
	if (!bs_hab_image_map(img, img->ivt.dcd, len, &off))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: DCD [0x%08" PRIx32 "+0x%x] runs past the end of the image",
				    img->ivt.dcd, len);
	img->dcd_len = len;
	return 0;
}

static int load_boot_data(struct bs_hab_image *img, struct bs_error *err)
{
	struct bs_hab_ivt *v = &img->ivt;
	uint64_t off;
	uint8_t bd[12];
	if (!bs_hab_image_map(img, v->boot_data, sizeof(bd), &off))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: boot data at 0x%08" PRIx32 " lies outside the image",
				    v->boot_data);
	int rc = bs_hab_image_read(img, bd, sizeof(bd), off, "IVT: boot data", err);
	if (rc != 0)
		return rc;
	img->bd_start = bs_get_le32(bd);
	img->bd_length = bs_get_le32(bd + 4);
	img->bd_plugin = bs_get_le32(bd + 8);
	/* The ROM loads [start, start+length): the IVT and the CSF must be inside it. The
	 * file itself may start after `start` (u-boot.imx) and end before the CSF padding. */
	uint64_t start = img->bd_start, end = start + img->bd_length;
	if (end > BS_HAB_ADDR_END)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: boot data image [0x%08" PRIx32 "+0x%" PRIx32
				    "] wraps past the end of the 32-bit address space",
				    img->bd_start, img->bd_length);
	if (v->self < start || (uint64_t)v->self + BS_HAB_IVT_LEN > end)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: IVT at 0x%08" PRIx32
				    " is outside the boot data image [0x%08" PRIx32 "+0x%" PRIx32 "]",
				    v->self, img->bd_start, img->bd_length);
	if (v->csf != 0 && (v->csf < start || (uint64_t)v->csf + 4 > end))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: CSF at 0x%08" PRIx32
				    " is outside the boot data image [0x%08" PRIx32 "+0x%" PRIx32 "]",
				    v->csf, img->bd_start, img->bd_length);
	return 0;
}

int bs_hab_image_load_ivt(struct bs_hab_image *img, bool has_off, uint64_t ivt_off,
			  struct bs_error *err)
{
	int rc;
	if (!has_off && (rc = scan_ivt(img, &ivt_off, err)) != 0)
		return rc;
	uint8_t b[BS_HAB_IVT_LEN];
	if (ivt_off > img->size || img->size - ivt_off < sizeof(b))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: offset 0x%" PRIx64 " + 32 bytes beyond end of file "
				    "(size 0x%" PRIx64 ")", ivt_off, img->size);
	if ((rc = bs_hab_image_read(img, b, sizeof(b), ivt_off, "IVT", err)) != 0)
		return rc;
	if (!is_ivt_header(b))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: header at 0x%" PRIx64
				    " is %02x %02x %02x %02x (want D1 00 20 4x)",
				    ivt_off, b[0], b[1], b[2], b[3]);
	struct bs_hab_ivt *v = &img->ivt;
	v->off = ivt_off;
	v->version = b[3];
	v->entry = bs_get_le32(b + 4);
	v->res1 = bs_get_le32(b + 8);
	v->dcd = bs_get_le32(b + 12);
	v->boot_data = bs_get_le32(b + 16);
	v->self = bs_get_le32(b + 20);
	v->csf = bs_get_le32(b + 24);
	v->res2 = bs_get_le32(b + 28);
	if (v->self == 0 || v->entry == 0)
		return bs_error_set(err, BS_ERR_FORMAT, "IVT: %s pointer is 0",
				    v->self == 0 ? "self" : "entry");
	if (v->self < ivt_off)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: self 0x%08" PRIx32 " is below the IVT file offset 0x%" PRIx64,
				    v->self, ivt_off);
	img->base = v->self - ivt_off;
	/* boot_data = 0: an IVT the ROM does not load from (U-Boot's FIT IVT, authenticated
	 * by SPL): its extent is what its CSF's blocks cover. */
	if (v->boot_data != 0 && (rc = load_boot_data(img, err)) != 0)
		return rc;
	if (v->dcd != 0 && (rc = load_dcd(img, err)) != 0)
		return rc;
	if (v->csf == 0)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "IVT: csf pointer is 0 (the image is not signed)");
	if (!bs_hab_image_map(img, v->csf, 4, &img->csf_off))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "CSF: header at 0x%08" PRIx32 " (file offset %s0x%" PRIx64
				    ") lies outside the file (size 0x%" PRIx64 ")",
				    v->csf, v->csf < img->base ? "-" : "",
				    v->csf < img->base ? img->base - v->csf : v->csf - img->base,
				    img->size);
	return 0;
}
