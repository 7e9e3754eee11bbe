/* Whole-file HAB4 verification: every IVT in a file (an i.MX8M flash.bin holds the SPL's
 * and the FIT's), each verified on its own (verify.c), one result per IVT. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "formats/hab/image.h"
#include "formats/hab/verify.h"

/* The IVTs to check (all, or the one asked for) and whether each points at a CSF. */
static int scan(const char *path, const struct bs_hab_verify_opts *opts, uint64_t *offs,
		bool *has_csf, size_t max, size_t *n, struct bs_error *err)
{
	struct bs_hab_image img;
	int rc = bs_hab_image_open(&img, path, err);
	if (rc == 0 && opts->has_ivt_offset) {
		offs[0] = opts->ivt_offset;
		*n = 1;
	} else if (rc == 0) {
		rc = bs_hab_image_scan_ivts(&img, offs, max, n, err);
	}
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		uint8_t csf[4] = {0};
		has_csf[i] = bs_hab_image_read(&img, csf, sizeof(csf), offs[i] + 24, "IVT",
					       NULL) != 0 || (csf[0] | csf[1] | csf[2] | csf[3]) != 0;
	}
	bs_hab_image_close(&img);
	return rc;
}

int bs_hab_verify_ivts(const char *path, const struct bs_hab_verify_opts *opts,
		       struct bs_hab_ivt_result *res, size_t max, size_t *n,
		       struct bs_error *err)
{
	uint64_t offs[BS_HAB_IVTS_MAX];
	size_t count = 0;
	*n = 0;
	bs_error_clear(err);
	if (max == 0)
		return bs_error_set(err, BS_ERR_INVALID, "bs_hab_verify_ivts: no room for results");
	bool has_csf[BS_HAB_IVTS_MAX];
	int rc = scan(path, opts, offs, has_csf, max < BS_HAB_IVTS_MAX ? max : BS_HAB_IVTS_MAX,
		      &count, err);
	if (rc != 0)
		return rc;
	int first_rc = 0;
	size_t verified = 0;
	for (size_t i = 0; i < count; i++) {
		struct bs_hab_verify_opts o = *opts;
		struct bs_error e = {0};
		struct bs_hab_ivt_result *r = &res[i];
		memset(r, 0, sizeof(*r));
		o.has_ivt_offset = true;
		o.ivt_offset = offs[i];
		r->off = offs[i];
		r->rc = bs_hab_verify_image(path, &o, &e);
		/* An IVT without a CSF pointer is not a signed part; it fails only alone. */
		r->has_csf = has_csf[i];
		if (r->rc != 0)
			snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
		else
			verified++;
		if (r->rc != 0 && (r->has_csf || count == 1) && first_rc == 0) {
			first_rc = r->rc;
			bs_error_set(err, r->rc, "IVT at 0x%" PRIx64 ": %s", r->off, e.msg);
		}
	}
	*n = count;
	if (first_rc != 0)
		return count == 1 ? first_rc : BS_ERR_VERIFY;
	if (verified == 0)
		return bs_error_set(err, BS_ERR_VERIFY, "IVT at 0x%" PRIx64 ": %s", res[0].off,
				    res[0].msg);
	return 0;
}
