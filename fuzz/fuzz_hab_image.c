/* Fuzz target: the offline HAB4 image verifier and the image dump, fed the input as an
 * image file (a memfd, so the pread-based reader is exercised as in production). The
 * fuse is that of the CST RSA vectors so that mutated vector images get past the SRK
 * check. Invariants: a successful verification implies the dump parses the image too; the
 * whole-file verification reports at most `max` IVTs and passes only with a passing IVT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"
#include "fuzzutil.h"
#include "formats/hab/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuse[32] = {
	0x1e, 0x46, 0x6c, 0x2d, 0x3f, 0xa5, 0x60, 0x4c, 0xe5, 0x7e, 0xba, 0xdf, 0xcd, 0x63, 0xdf, 0x68,
	0x16, 0xa4, 0xd3, 0x64, 0xf4, 0x0b, 0x66, 0x56, 0x2b, 0xe0, 0x4f, 0x29, 0xca, 0xbe, 0x11, 0xc3,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = bs_fuzz_memfd(path, sizeof(path), "hab_image", data, size);
	struct bs_hab_verify_opts o = {.fuse = fuse, .fuse_len = sizeof(fuse)};
	struct bs_error err;
	int vrc = bs_hab_verify_image(path, &o, &err);
	if (vrc > 0 || (vrc != 0 && err.msg[0] == '\0'))
		abort();
	/* Every IVT (SPL + FIT): one result each, and a pass only if one IVT passed. */
	struct bs_hab_ivt_result res[4];
	size_t n = 0;
	int arc = bs_hab_verify_ivts(path, &o, res, 4, &n, &err);
	if (arc > 0 || n > 4 || (arc != 0 && err.msg[0] == '\0'))
		abort();
	if (arc == 0) {
		size_t ok = 0;
		for (size_t i = 0; i < n; i++)
			ok += res[i].rc == 0;
		if (ok == 0)
			abort();
	}
	FILE *null = fopen("/dev/null", "w");
	if (null == NULL)
		abort();
	int drc = bs_hab_dump(null, path, true, false, 0, &err);
	fclose(null);
	if (vrc == 0 && drc != 0)
		abort();
	close(fd);
	return 0;
}
