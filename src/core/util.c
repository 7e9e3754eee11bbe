#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int bs_read_file(uint8_t **out, size_t *out_len, const char *path, size_t max,
		 struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bs_error_set(err, errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
				    "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bs_error_set(err, BS_ERR_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return bs_error_set(err, BS_ERR_LIMIT, "%s: file is %lld bytes, limit is %zu",
				    path, (long long)st.st_size, max);
	}
	size_t size = (size_t)st.st_size;
	uint8_t *data = malloc(size + 1);
	if (data == NULL) {
		close(fd);
		return bs_error_set(err, BS_ERR_NOMEM, "%s: out of memory", path);
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			free(data);
			return bs_error_set(err, BS_ERR_IO, "%s: read failed: %s", path,
					    n == 0 ? "file shrank" : strerror(e));
		}
		got += (size_t)n;
	}
	close(fd);
	data[size] = 0;
	*out = data;
	*out_len = size;
	return 0;
}

int bs_write_file(const char *path, const void *data, size_t len, unsigned mode,
		  bool exclusive, struct bs_error *err)
{
	if (exclusive && access(path, F_OK) == 0)
		return bs_error_set(err, BS_ERR_IO, "%s: exists, refusing to overwrite", path);
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (tmp == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return bs_error_set(err, BS_ERR_IO, "%s: cannot create: %s", path, strerror(e));
	}
	int rc = 0;
	if (fchmod(fd, mode) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: chmod: %s", path, strerror(errno));
		goto fail;
	}
	const uint8_t *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bs_error_set(err, BS_ERR_IO, "%s: write: %s", path, strerror(errno));
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: fsync: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (exclusive) {
		if (link(tmp, path) != 0) {
			rc = bs_error_set(err, BS_ERR_IO, "%s: %s", path, strerror(errno));
			goto fail;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: rename: %s", path, strerror(errno));
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

void bs_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	if (CRYPTO_secure_allocated(p)) { /* core/secmem.c: wiped whole by OpenSSL */
		OPENSSL_secure_clear_free(p, len);
		return;
	}
	OPENSSL_cleanse(p, len);
	free(p);
}

void bs_free_secret_str(char *s)
{
	if (s != NULL)
		bs_free_secret(s, strlen(s));
}

char *bs_hex(char *out, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = 0;
	return out;
}

int bs_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *bs_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

bool bs_ends_with_ci(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	return n >= s && strcasecmp(name + n - s, suffix) == 0;
}

uint64_t bs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
