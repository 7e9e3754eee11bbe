/* Fuzz target: the AHAB container parser, signature block, SRK table, certificate and
 * verifier on untrusted image bytes (with a fuse value that cannot match, so every check
 * up to the SRK hash runs; the dump walks the rest), and the SRK table parser alone. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ahab/ahab.h"
#include "formats/ahab/srk.h"
#include "formats/ahab/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_ahab_mem mem = {.data = data, .len = size};
	struct bs_ahab_reader r;
	bs_ahab_reader_mem(&r, &mem);
	static FILE *null;
	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		abort();
	if (bs_ahab_dump(null, &r, false, 0, NULL) != 0)
		fflush(null);
	uint8_t fuse[64];
	memset(fuse, 0xA5, sizeof(fuse));
	struct bs_ahab_verify_opts o = {.fuse = fuse, .fuse_len = 64};
	if (bs_ahab_verify(&r, &o, NULL) == 0)
		abort(); /* no table hashes to 0xA5... */
	o.fuse_len = 32;
	if (bs_ahab_verify(&r, &o, NULL) == 0)
		abort();
	struct bs_ahab_srk_table *t = NULL;
	if (bs_ahab_srk_table_parse(&t, data, size, true, NULL) == 0) {
		if (t->n == 0 || t->n > 4 || t->len > size)
			abort();
		for (size_t i = 0; i < t->n; i++)
			if (t->e[i].pub == NULL || t->e[i].sig_len == 0)
				abort();
		bs_ahab_srk_table_free(t);
	}
	struct bs_ahab_container c;
	if (bs_ahab_container_parse(&c, data, size, NULL) == 0 &&
	    (c.nr_images == 0 || c.nr_images > BS_AHAB_IMAGES_MAX))
		abort();
	return 0;
}
