/* Fuzz target: the appended-signature parser of kernel modules (src/formats/kmod):
 * whatever it strips must leave a prefix of the input, and stripping that prefix again
 * must find nothing more. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "formats/kmod/kmod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ulen = 0;
	unsigned n = 0;
	if (bs_kmod_unsigned_len(&ulen, &n, data, size, "fuzz.ko", NULL) != 0)
		return 0;
	if (ulen > size || (n == 0) != (ulen == size) || n > BS_KMOD_STRIP_MAX)
		abort();
	size_t again = 0;
	unsigned n2 = 0;
	if (bs_kmod_unsigned_len(&again, &n2, data, ulen, "fuzz.ko", NULL) != 0 || n2 != 0 ||
	    again != ulen)
		abort();
	return 0;
}
