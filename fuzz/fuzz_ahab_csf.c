/* Fuzz target: the AHAB CSF parser (text from /sign/imx clients) and the Target = AHAB
 * detection that picks it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "formats/ahab/ahab.h"
#include "formats/ahab/csf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)bs_ahab_csf_detect((const char *)data, size);
	struct bs_ahab_csf *c = NULL;
	struct bs_error err;
	if (bs_ahab_csf_parse(&c, (const char *)data, size, "f.csf", &err) != 0) {
		if (c != NULL || err.code == 0)
			abort();
		return 0;
	}
	if (c->srk_table.name == NULL || c->source.name == NULL || c->data.name == NULL ||
	    c->source_index > 3 || c->revocations > 0xF ||
	    (c->source_set != BS_AHAB_SRK_SET_OEM && c->source_set != BS_AHAB_SRK_SET_NXP) ||
	    c->offsets[1] <= c->offsets[0] || (c->has_cert && c->cert.name == NULL))
		abort();
	bs_ahab_csf_free(c);
	return 0;
}
