/* Data sources for the files named in CSF `Blocks` lists. */
#include "formats/hab/csf_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open a regular file for reading and report its size. */
static int open_regular(const char *name, const char *path, FILE **out, uint64_t *size,
			struct bs_error *err)
{
	if (path == NULL || path[0] == '\0')
		return bs_error_set(err, BS_ERR_NOT_FOUND, "data file \"%s\": empty name",
				    name ? name : "");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		int code = (e == ENOENT || e == ENOTDIR) ? BS_ERR_NOT_FOUND : BS_ERR_IO;
		return bs_error_set(err, code, "data file \"%s\": %s", name, strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return bs_error_set(err, BS_ERR_IO, "data file \"%s\": %s", name, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bs_error_set(err, BS_ERR_INVALID, "data file \"%s\": not a regular file",
				    name);
	}
	FILE *fp = fdopen(fd, "rb");
	if (fp == NULL) {
		int e = errno;
		close(fd);
		return bs_error_set(err, BS_ERR_IO, "data file \"%s\": %s", name, strerror(e));
	}
	*out = fp;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int cwd_open(void *ctx, const char *name, FILE **out, uint64_t *size,
		    struct bs_error *err)
{
	(void)ctx;
	*out = NULL;
	*size = 0;
	return open_regular(name, name, out, size, err);
}

const struct bs_data_source bs_data_source_cwd = {
	.open = cwd_open,
	.ctx = NULL,
};

static const char *last_component(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash ? slash + 1 : p;
}

int bs_data_single_open(void *ctx, const char *name, FILE **out, uint64_t *size,
			struct bs_error *err)
{
	const struct bs_data_single *s = ctx;
	*out = NULL;
	*size = 0;
	if (s == NULL || s->name == NULL || s->path == NULL || name == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "data source is not configured");
	bool match = strcmp(name, s->name) == 0;
	if (!match && s->match_basename)
		match = strcmp(last_component(name), last_component(s->name)) == 0;
	if (!match)
		return bs_error_set(err, BS_ERR_NOT_FOUND,
				    "data file \"%s\" is not the artifact being signed (\"%s\")",
				    name, s->name);
	return open_regular(name, s->path, out, size, err);
}
