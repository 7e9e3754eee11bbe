/* Helpers shared by the HAB4 verifier's command pass (verify.c) and its signature and
 * data pass (verify_data.c): the "ok" log line and CSF-relative offsets. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "formats/hab/verify_int.h"

void bs_hab_vlog(struct bs_hab_vctx *v, const char *fmt, ...)
{
	if (v->opts->log == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("ok    ", v->opts->log);
	vfprintf(v->opts->log, fmt, ap);
	fputc('\n', v->opts->log);
	va_end(ap);
}

int bs_hab_vdata_off(struct bs_hab_vctx *v, uint32_t field, bool abs, uint64_t *off,
		     const char *what, struct bs_error *err)
{
	if (abs) {
		if (!bs_hab_image_map(&v->img, field, 4, off))
			return bs_error_set(err, BS_ERR_FORMAT,
					    "%s: absolute address 0x%08" PRIx32
					    " lies outside the image", what, field);
		return 0;
	}
	*off = v->img.csf_off + field;
	return 0;
}
