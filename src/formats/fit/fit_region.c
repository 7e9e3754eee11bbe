/* The FDT regions a FIT configuration signature covers.
 *
 * U-Boot signs and verifies a configuration over a list of byte ranges of the struct
 * block, chosen by walking the tags once with a "want" level per depth: 2 inside a listed
 * node (its properties and NOPs count), 1 for a direct subnode of a listed node (only its
 * begin/end tags count), 0 elsewhere (only the chain of parents' begin/end tags above a
 * wanted node, which the walk emits because a wanted node's tags close the region of its
 * parent's tags). Adjacent ranges merge. Both sides must agree to the byte, so this walk
 * follows the published algorithm (boot/fdt_region.c) step for step. */
#include <libfdt.h>
#include <string.h>

#include "core/util.h"
#include "formats/fit/fit_int.h"

#define FIT_DEPTH_MAX 32 /* libfdt's FDT_MAX_DEPTH */

static const char *const g_excluded[] = {"data", "data-size", "data-position", "data-offset"};

static bool listed(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Walk state: the current path and the want level of every open node. */
struct walk {
	char path[BS_FIT_PATH_MAX];
	size_t plen;
	int want_at[FIT_DEPTH_MAX];
	int depth;
	int want;
};

static int enter_node(struct walk *w, const void *fdt, int off, bool *inc, int *stop,
		      const char *const *nodes, size_t nnodes, struct bs_error *err)
{
	int len = 0;
	if (++w->depth >= FIT_DEPTH_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "FIT: nodes nested deeper than %d",
				    FIT_DEPTH_MAX);
	const char *name = fdt_get_name(fdt, off, &len);
	if (name == NULL || len < 0)
		return bs_error_set(err, BS_ERR_FORMAT, "FIT: bad node name at offset %d", off);
	if (w->depth == 0 && name[0] != '\0')
		return bs_error_set(err, BS_ERR_FORMAT, "FIT: the root node has a name");
	if (w->plen + 2 + (size_t)len >= sizeof(w->path))
		return bs_error_set(err, BS_ERR_LIMIT, "FIT: a node path is longer than %d bytes",
				    BS_FIT_PATH_MAX - 2);
	if (w->plen != 1)
		w->path[w->plen++] = '/';
	memcpy(w->path + w->plen, name, (size_t)len);
	w->plen += (size_t)len;
	w->path[w->plen] = '\0';
	w->want_at[w->depth] = w->want;
	if (w->want == 1)
		*stop = off;
	if (listed(w->path, nodes, nnodes))
		w->want = 2;
	else if (w->want > 0)
		w->want--;
	else
		*stop = off;
	*inc = w->want > 0;
	return 0;
}

static void leave_node(struct walk *w)
{
	w->want = w->want_at[w->depth--];
	while (w->plen > 0 && w->path[--w->plen] != '/')
		;
	w->path[w->plen] = '\0';
}

int bs_fit_find_regions(struct bs_fit_region *out, size_t max, size_t *n, const void *fdt,
			const char *const *nodes, size_t nnodes, size_t strings_len,
			struct bs_error *err)
{
	struct walk w = {.depth = -1};
	size_t base = fdt_off_dt_struct(fdt), count = 0;
	int next = 0, start = -1, rc;
	bool expect_end = false;
	uint32_t tag;
	*n = 0;
	do {
		int off = next, stop;
		bool inc = false;
		tag = fdt_next_tag(fdt, off, &next);
		if (next < 0)
			return bs_error_set(err, BS_ERR_FORMAT, "FIT: truncated struct block");
		stop = next;
		if (expect_end && tag != FDT_END)
			return bs_error_set(err, BS_ERR_FORMAT, "FIT: data after the root node");
		switch (tag) {
		case FDT_PROP: {
			const struct fdt_property *p = fdt_get_property_by_offset(fdt, off, NULL);
			const char *pname = p ? fdt_string(fdt, (int)fdt32_to_cpu(p->nameoff)) : NULL;
			if (pname == NULL)
				return bs_error_set(err, BS_ERR_FORMAT,
						    "FIT: property name out of the string block");
			inc = w.want >= 2 && !listed(pname, g_excluded, BS_ARRAY_SIZE(g_excluded));
			stop = off;
			break;
		}
		case FDT_NOP:
			inc = w.want >= 2;
			stop = off;
			break;
		case FDT_BEGIN_NODE:
			rc = enter_node(&w, fdt, off, &inc, &stop, nodes, nnodes, err);
			if (rc != 0)
				return rc;
			break;
		case FDT_END_NODE:
			if (w.depth < 0)
				return bs_error_set(err, BS_ERR_FORMAT, "FIT: unbalanced end of node");
			inc = w.want > 0;
			leave_node(&w);
			expect_end = w.depth == -1;
			break;
		case FDT_END:
			inc = true;
			break;
		default:
			return bs_error_set(err, BS_ERR_FORMAT, "FIT: bad tag at offset %d", off);
		}
		if (inc && start == -1) {
			if (count > 0 && count <= max &&
			    (size_t)off == out[count - 1].off + out[count - 1].len - base)
				start = (int)(out[--count].off - base);
			else
				start = off;
		}
		if (!inc && start != -1) {
			if (count < max) {
				out[count].off = base + (size_t)start;
				out[count].len = (size_t)(stop - start);
			}
			count++;
			start = -1;
		}
	} while (tag != FDT_END);
	if ((uint32_t)next != fdt_size_dt_struct(fdt))
		return bs_error_set(err, BS_ERR_FORMAT, "FIT: struct block size mismatch");
	if (count < max) {
		out[count].off = base + (size_t)start;
		out[count].len = (size_t)(next - start) + strings_len;
	}
	count++;
	if (count > max)
		return bs_error_set(err, BS_ERR_LIMIT,
				    "FIT: a configuration signature would cover %zu regions (at most "
				    "%zu)", count, max);
	*n = count;
	return 0;
}
