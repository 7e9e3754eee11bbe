/* Shared by the fuzz targets that read their input from a file. */
#ifndef BS_FUZZUTIL_H
#define BS_FUZZUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Write data to a new memfd called `name` and put its /proc/self/fd path in path[cap].
 * Returns the fd (the caller closes it); aborts on failure. */
static inline int bs_fuzz_memfd(char *path, size_t cap, const char *name, const uint8_t *data,
				size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		abort();
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
