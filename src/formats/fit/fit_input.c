/* Reading a FIT (or a control DTB) from untrusted bytes, before anything is signed:
 * libfdt's full check first, then the FIT rules mkimage and U-Boot apply (root description
 * and timestamp, /images, no '@' in node names), then external data (data-offset /
 * data-size after the FDT, every range checked against the file) brought back inside and
 * the blob packed, as mkimage -F does before it signs. */
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "formats/fit/fit_int.h"

static int check_fdt(const uint8_t *data, size_t len, const char *what, size_t max,
		     struct bs_error *err)
{
	if (len > max)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: %zu bytes (at most %zu)", what, len, max);
	if (len < sizeof(struct fdt_header) || fdt_magic(data) != FDT_MAGIC)
		return bs_error_set(err, BS_ERR_FORMAT, "%s: not a flattened device tree", what);
	int rc = fdt_check_header(data);
	if (rc == 0 && fdt_totalsize(data) > len)
		rc = -FDT_ERR_TRUNCATED;
	if (rc != 0)
		return bs_error_set(err, BS_ERR_FORMAT, "%s: malformed device tree: %s", what,
				    fdt_strerror(rc));
	/* The layout every writer here assumes (dtc and mkimage write it): header, reserve
	 * map, struct block, string block, in this order, version 17. Checked before
	 * fdt_check_full, which libfdt 1.6.1 crashes in on some older-version headers. */
	if (fdt_version(data) != 17 || fdt_last_comp_version(data) > 17 ||
	    fdt_off_mem_rsvmap(data) > fdt_off_dt_struct(data) ||
	    (size_t)fdt_off_dt_struct(data) + fdt_size_dt_struct(data) !=
		    fdt_off_dt_strings(data))
		return bs_error_set(err, BS_ERR_FORMAT,
				    "%s: device tree blocks not in dtc's order or version not 17 "
				    "(rebuild it with dtc)", what);
	rc = fdt_check_full(data, fdt_totalsize(data));
	if (rc != 0)
		return bs_error_set(err, BS_ERR_FORMAT, "%s: malformed device tree: %s", what,
				    fdt_strerror(rc));
	return 0;
}

int bs_fit_check_dtb(const uint8_t *data, size_t len, struct bs_error *err)
{
	return check_fdt(data, len, "DTB", BS_FIT_DTB_MAX, err);
}

static int check_names(const void *fdt, struct bs_error *err)
{
	for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, NULL)) {
		const char *name = fdt_get_name(fdt, node, NULL);
		if (name != NULL && strchr(name, '@') != NULL)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "FIT: node name '%.64s' contains '@' (U-Boot refuses "
					    "such FITs)", name);
	}
	return 0;
}

int bs_fit_check(const uint8_t *data, size_t len, struct bs_error *err)
{
	int rc = check_fdt(data, len, "FIT", BS_FIT_SIZE_MAX, err);
	if (rc != 0)
		return rc;
	if (fdt_getprop(data, 0, "description", NULL) == NULL ||
	    fdt_getprop(data, 0, "timestamp", NULL) == NULL)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "FIT: the root node lacks 'description' or 'timestamp' (not a "
				    "FIT image; build it with mkimage -f)");
	if (fdt_path_offset(data, "/images") < 0)
		return bs_error_set(err, BS_ERR_FORMAT, "FIT: no /images node (not a FIT image)");
	return check_names(data, err);
}

/* An int property as U-Boot's fdtdec_get_int reads it: the first cell, or -1. */
static int64_t get_int(const void *fdt, int node, const char *name)
{
	int len = 0;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);
	if (p == NULL || len < 4)
		return -1;
	return (int32_t)fdt32_to_cpu(*p);
}

/* Import external data into `to` (already holding the FDT, opened into cap bytes). */
static int import_data(void *to, const uint8_t *from, size_t from_len, struct bs_error *err)
{
	size_t base = ((size_t)fdt_totalsize(from) + 3) & ~(size_t)3;
	int images = fdt_path_offset(to, "/images");
	for (int node = fdt_first_subnode(to, images); node >= 0;
	     node = fdt_next_subnode(to, node)) {
		int64_t off = get_int(to, node, "data-offset"), size = get_int(to, node, "data-size");
		if (off == -1 || size == -1)
			continue;
		const char *name = fdt_get_name(to, node, NULL);
		if (off < 0 || size < 0 || base + (uint64_t)off + (uint64_t)size > from_len)
			return bs_error_set(err, BS_ERR_FORMAT,
					    "FIT: image '%.64s': external data at %lld+%lld lies "
					    "outside the file (%zu bytes)", name, (long long)off,
					    (long long)size, from_len);
		int rc = fdt_setprop(to, node, "data", from + base + off, (int)size);
		if (rc != 0)
			return bs_error_set(err, rc == -FDT_ERR_NOSPACE ? BS_ERR_LIMIT : BS_ERR_FORMAT,
					    "FIT: image '%.64s': importing external data: %s", name,
					    fdt_strerror(rc));
	}
	return 0;
}

static bool has_external(const void *fdt)
{
	int images = fdt_path_offset(fdt, "/images");
	for (int node = fdt_first_subnode(fdt, images); node >= 0;
	     node = fdt_next_subnode(fdt, node))
		if (get_int(fdt, node, "data-offset") != -1 && get_int(fdt, node, "data-size") != -1)
			return true;
	return false;
}

/* mkimage's fit_import_data: open into file size + 16 KiB, import, pack. On success the
 * blob is packed (len = totalsize) with at least BS_FIT_SLACK bytes of room. */
int bs_fit_prepare(struct bs_fit_blob *b, struct bs_error *err)
{
	int rc = bs_fit_check(b->data, b->len, err);
	if (rc != 0)
		return rc;
	size_t room = b->len + BS_FIT_IMPORT_ROOM;
	if (room > INT32_MAX - BS_FIT_SLACK)
		return bs_error_set(err, BS_ERR_LIMIT, "FIT: too large for a device tree");
	uint8_t *to = b->data;
	if (has_external(b->data)) {
		to = calloc(1, b->len + BS_FIT_SLACK);
	} else if (b->cap < b->len + BS_FIT_SLACK) {
		to = realloc(b->data, b->len + BS_FIT_SLACK);
		if (to != NULL)
			b->data = to;
	}
	if (to == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "FIT: out of memory");
	if (to == b->data)
		b->cap = b->cap > b->len + BS_FIT_SLACK ? b->cap : b->len + BS_FIT_SLACK;
	rc = fdt_open_into(b->data, to, (int)room);
	if (rc != 0) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "FIT: %s", fdt_strerror(rc));
	} else if (to != b->data) {
		rc = import_data(to, b->data, b->len, err);
	}
	if (rc == 0 && (rc = fdt_pack(to)) != 0)
		rc = bs_error_set(err, BS_ERR_FORMAT, "FIT: %s", fdt_strerror(rc));
	if (to != b->data) {
		if (rc != 0) {
			free(to);
			return rc;
		}
		free(b->data);
		b->data = to;
		b->cap = b->len + BS_FIT_SLACK;
	}
	if (rc == 0)
		b->len = fdt_totalsize(b->data);
	return rc;
}
