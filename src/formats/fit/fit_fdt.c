/* FDT writes for the FIT signer: every write goes through here so the growth of a blob is
 * known (mkimage's output size follows from it) and libfdt's codes become messages. */
#include <libfdt.h>
#include <string.h>

#include "formats/fit/fit_int.h"

size_t bs_fit_used(const void *fdt)
{
	return (size_t)fdt_off_dt_strings(fdt) + fdt_size_dt_strings(fdt);
}

static int fdt_fail(struct bs_fit_fdt *f, int rc, const char *op, const char *name,
		    struct bs_error *err)
{
	if (rc == -FDT_ERR_NOSPACE)
		return bs_error_set(err, BS_ERR_LIMIT,
				    "%s: signing would grow it by more than %u bytes (%s '%s')",
				    f->what, BS_FIT_GROW_MAX, op, name);
	return bs_error_set(err, BS_ERR_FORMAT, "%s: cannot %s '%s': %s", f->what, op, name,
			    fdt_strerror(rc));
}

static void track(struct bs_fit_fdt *f)
{
	size_t u = bs_fit_used(f->fdt);
	if (u > f->high)
		f->high = u;
}

int bs_fit_setprop(struct bs_fit_fdt *f, int node, const char *name, const void *val,
		   size_t len, struct bs_error *err)
{
	if (len > INT32_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: property '%s' too large", f->what,
				    name);
	int rc = fdt_setprop(f->fdt, node, name, val, (int)len);
	if (rc != 0)
		return fdt_fail(f, rc, "set property", name, err);
	track(f);
	return 0;
}

int bs_fit_setprop_str(struct bs_fit_fdt *f, int node, const char *name, const char *s,
		       struct bs_error *err)
{
	return bs_fit_setprop(f, node, name, s, strlen(s) + 1, err);
}

int bs_fit_setprop_u32(struct bs_fit_fdt *f, int node, const char *name, uint32_t v,
		       struct bs_error *err)
{
	fdt32_t be = cpu_to_fdt32(v);
	return bs_fit_setprop(f, node, name, &be, sizeof(be), err);
}

int bs_fit_subnode(int *out, struct bs_fit_fdt *f, int parent, const char *name,
		   struct bs_error *err)
{
	int node = fdt_subnode_offset(f->fdt, parent, name);
	if (node == -FDT_ERR_NOTFOUND) {
		node = fdt_add_subnode(f->fdt, parent, name);
		if (node < 0)
			return fdt_fail(f, node, "add node", name, err);
		track(f);
	} else if (node < 0) {
		return fdt_fail(f, node, "find node", name, err);
	}
	*out = node;
	return 0;
}
