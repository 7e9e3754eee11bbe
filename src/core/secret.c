#include "core/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/secmem.h"
#include "core/util.h"

/* Read at most `cap` bytes of fd; *len is what was read. Reading stops at EOF. */
static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

/* Open a file only its owner may access (the checks of secret.h). */
static int open_private(int *out, const char *path, const char *what, struct bs_error *err)
{
	*out = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return bs_error_set(err, errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
				    "%s file %s: %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bs_error_set(err, BS_ERR_IO, "%s file %s: not a regular file", what, path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return bs_error_set(err, BS_ERR_CONFIG,
				    "%s file %s has mode %04o: group and others must have no "
				    "access (chmod 600)", what, path, (unsigned)(st.st_mode & 07777));
	}
	*out = fd;
	return 0;
}

int bs_secret_read_all(uint8_t **out, size_t *out_len, const char *path, const char *what,
		       size_t max, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	int fd = -1;
	int rc = open_private(&fd, path, what, err);
	if (rc != 0)
		return rc;
	char *data = malloc(max + 2);
	if (data == NULL) {
		close(fd);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	size_t len = 0;
	if (read_all(fd, data, max + 1, &len) != 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s file %s: read failed: %s", what, path,
				  strerror(errno));
	else if (len > max)
		rc = bs_error_set(err, BS_ERR_LIMIT, "%s file %s: larger than %zu bytes", what,
				  path, max);
	close(fd);
	if (rc != 0) {
		bs_free_secret(data, max + 2);
		return rc;
	}
	data[len] = '\0';
	*out = (uint8_t *)data;
	*out_len = len;
	return 0;
}

int bs_secret_read_file(char **out, const char *path, const char *what, struct bs_error *err)
{
	*out = NULL;
	int fd = -1;
	int rc0 = open_private(&fd, path, what, err);
	if (rc0 != 0)
		return rc0;
	/* One byte more than allowed tells a file that grew past the bound. */
	size_t cap = BS_SECRET_FILE_MAX + 1;
	char *data = bs_secmem_malloc(cap + 1);
	if (data == NULL) {
		close(fd);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	size_t len = 0;
	int rc = 0;
	if (read_all(fd, data, cap, &len) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s file %s: read failed: %s", what, path,
				  strerror(errno));
		goto out;
	}
	data[len] = '\0';
	if (len > BS_SECRET_FILE_MAX) {
		rc = bs_error_set(err, BS_ERR_LIMIT, "%s file %s: larger than %u bytes", what,
				  path, BS_SECRET_FILE_MAX);
		goto out;
	}
	size_t l = 0;
	while (l < len && data[l] != '\n' && data[l] != '\r' && data[l] != '\0')
		l++;
	if (l < len && data[l] == '\0') {
		rc = bs_error_set(err, BS_ERR_INVALID, "%s file %s: NUL byte in the first line",
				  what, path);
		goto out;
	}
	if (l == 0) {
		rc = bs_error_set(err, BS_ERR_INVALID, "%s file %s: first line is empty", what,
				  path);
		goto out;
	}
	char *line = bs_secmem_malloc(l + 1);
	if (line == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(line, data, l);
	line[l] = '\0';
	*out = line;
out:
	close(fd);
	bs_free_secret(data, cap + 1);
	return rc;
}
