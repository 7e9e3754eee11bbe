/* Fuzz target: the CSF text parser on arbitrary bytes, in default and strict mode.
 * Whatever the input, it must return 0 with a result or a negative code with no
 * result, never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hab/csf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int strict = 0; strict <= 1; strict++) {
		struct bs_csf *csf = NULL;
		struct bs_error err = {0};
		struct bs_csf_parse_opts opts = {.strict = strict != 0};
		int rc = bs_csf_parse(&csf, (const char *)data, size, "fuzz.csf", &opts, &err);
		if (rc == 0) {
			if (csf == NULL || csf->ncmds == 0 || csf->cmds[0].kind != BS_CSF_HEADER)
				abort();
			for (size_t i = 0; i < csf->ncmds; i++)
				if (bs_csf_kind_name(csf->cmds[i].kind) == NULL)
					abort();
		} else if (csf != NULL || rc != err.code || strlen(err.msg) == 0) {
			abort();
		}
		bs_csf_free(csf);
	}
	return 0;
}
