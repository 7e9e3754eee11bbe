/* Fuzz target: OP-TEE untrusted inputs. The bytes are, at once, a signed TA for the
 * parser (bs_optee_ta_verify), a .ta-version file, and a list of archive member names
 * (one per line) for the TA/version pairing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/optee/ta.h"
#include "formats/optee/ta_set.h"

#define NAMES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_optee_ta_info info;
	if (bs_optee_ta_verify(&info, data, size, NULL, NULL) == 0 &&
	    (!info.hash_ok || info.img + info.img_size != data + size))
		abort();
	uint32_t v = 0;
	if (bs_optee_version_parse(&v, data, size, "fuzz", NULL) != 0 && v != 0)
		abort(); /* *out untouched on failure */

	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *names[NAMES_MAX];
	size_t n = 0;
	for (char *s = text, *nl; n < NAMES_MAX; s = nl + 1) {
		names[n++] = s;
		nl = strchr(s, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
	}
	struct bs_optee_member m[NAMES_MAX];
	if (bs_optee_plan(m, names, n, "artifact", NULL) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (m[i].role != BS_OPTEE_OTHER && m[i].pair != BS_OPTEE_NO_PAIR &&
			    (m[i].pair >= n || m[m[i].pair].pair != i))
				abort();
			char out[256];
			if (m[i].role == BS_OPTEE_IMAGE &&
			    bs_optee_ta_name(out, sizeof(out), names[i], m[i].uuid, NULL) == 0 &&
			    strstr(out, BS_OPTEE_TA_SUFFIX) == NULL)
				abort();
		}
	}
	free(text);
	return 0;
}
