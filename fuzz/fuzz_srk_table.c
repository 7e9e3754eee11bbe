/* Fuzz target: HAB4 SRK table parser, then the fuse digest of whatever it accepts. */
#include <openssl/obj_mac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "formats/hab/hab.h"
#include "formats/hab/srk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_srk_table *t = NULL;
	if (bs_srk_table_parse(&t, data, size, NULL) != 0)
		return 0;
	if (t == NULL || t->n == 0 || t->n > 4)
		abort();
	uint8_t fuse[64];
	size_t len = 0;
	if (bs_srk_table_fuse(t, NID_sha256, fuse, &len, NULL) == 0 && len != 32)
		abort();
	if (bs_srk_table_fuse(t, NID_sha1, fuse, &len, NULL) == 0 && len != 20)
		abort();
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].rec < t->data || t->e[i].rec + t->e[i].rec_len > t->data + t->len ||
		    (t->e[i].tag == HAB_TAG_KEY_RSA) != (t->e[i].pub != NULL))
			abort();
	bs_srk_table_free(t);
	return 0;
}
