/* Fuzz target: the binary CSF command walker (in memory) and the CSF blob dump (the same
 * bytes as a file, with blob decoding: SRK tables, certificates, CMS, MAC). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"
#include "fuzzutil.h"
#include "formats/hab/csf_walk.h"
#include "formats/hab/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *data, size_t size)
{
	uint16_t len;
	uint8_t ver;
	if (bs_hab_csf_header(data, size, 0xFFFF, &len, &ver, NULL) != 0)
		return;
	if (len < 4 || len > size)
		abort();
	size_t pos = 4;
	struct bs_hab_cmd c;
	for (size_t i = 1; pos < len; i++) {
		size_t before = pos;
		if (bs_hab_csf_next(&c, data, len, &pos, i, NULL) != 0)
			return;
		if (pos <= before || pos > len || c.len != pos - before)
			abort();
		for (size_t b = 0; b < c.nblocks && c.tag == 0xCA; b++) {
			uint32_t a, l;
			bs_hab_cmd_block(&c, b, &a, &l);
			if (c.blocks + 8 * b + 8 > data + pos)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size);
	char path[64];
	int fd = bs_fuzz_memfd(path, sizeof(path), "csf_blob", data, size);
	FILE *null = fopen("/dev/null", "w");
	if (null == NULL)
		abort();
	struct bs_error err;
	int rc = bs_hab_dump(null, path, false, false, 0, &err);
	if (rc > 0)
		abort();
	fclose(null);
	close(fd);
	return 0;
}
