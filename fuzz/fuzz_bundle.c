/* Fuzz target: tar.gz key bundles (src/keys/store_tgz.c) and the CST lookups on them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "keys/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_store *s = NULL;
	struct bs_error err;
	if (bs_store_open_tgz(&s, data, size, &err) != 0)
		return 0;
	static const char *const names[] = {"crts/CSF1_crt.pem", "crts/IMG1_crt.pem",
					    "crts/link_crt.pem", "crts/CSF1_crt.der"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t *d = NULL;
		size_t n = 0;
		if (bs_store_read(s, names[i], 0, &d, &n, &err) == 0)
			free(d);
		(void)bs_store_exists(s, names[i]);
		X509 *x = NULL;
		if (bs_store_load_cert(s, names[i], &x, &err) != 0)
			x = NULL;
		struct bs_key *k = NULL;
		if (bs_store_load_key(s, names[i], x, &k, &err) == 0)
			bs_key_free(k);
		X509_free(x);
	}
	bs_store_free(s);
	return 0;
}
