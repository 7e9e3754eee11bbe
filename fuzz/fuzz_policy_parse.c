/* Fuzz target: the policy parser and matcher. Whatever parses must evaluate without
 * crashing, and every refusal carries a known code and a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 16))
		return 0;
	struct bs_policy *p = NULL;
	struct bs_error err = {0};
	if (bs_policy_parse(&p, (const char *)data, size, "fuzz", &err) != 0) {
		if (p != NULL || err.msg[0] == '\0')
			abort();
		return 0;
	}
	static const struct bs_identity ids[] = {
		{.kind = BS_IDENT_ANONYMOUS},
		{.kind = BS_IDENT_TOKEN, .name = "ci"},
		{.kind = BS_IDENT_CERT, .name = "builder",
		 .fp = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{.kind = BS_IDENT_PROXY, .name = "builder"},
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (uint64_t t = 0; t < 3; t++) {
			int rc = bs_policy_admit(p, &ids[i], "imx", "imx8mp", t * 1000, &err);
			if (rc != 0 && rc != BS_ERR_DENIED && rc != BS_ERR_RATE)
				abort();
		}
		int rc = bs_policy_key(p, &ids[i], "imx", "imx8mp", "keys/CSF1_key.pem", &err);
		if (rc != 0 && rc != BS_ERR_DENIED)
			abort();
	}
	bs_policy_free(p);
	return 0;
}
