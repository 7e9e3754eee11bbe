/* Atomic output files for bootsign client (see outfile.h). */
#include "client/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bs_outfile_open(struct bs_outfile *of, const char *path, struct bs_error *err)
{
	memset(of, 0, sizeof(*of));
	size_t n = strlen(path) + 16;
	of->path = strdup(path);
	of->tmp = malloc(n);
	if (of->path == NULL || of->tmp == NULL) {
		bs_outfile_abort(of);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	snprintf(of->tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(of->tmp);
	of->fp = fd >= 0 ? fdopen(fd, "w+") : NULL;
	if (of->fp == NULL) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(of->tmp);
		}
		free(of->tmp);
		of->tmp = NULL;
		bs_outfile_abort(of);
		return bs_error_set(err, BS_ERR_IO, "%s: cannot create a file beside it: %s", path,
				    strerror(e));
	}
	return 0;
}

int bs_outfile_commit(struct bs_outfile *of, struct bs_error *err)
{
	int fd = fileno(of->fp);
	int rc = 0;
	if (fflush(of->fp) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", of->path, strerror(errno));
	int closed = fclose(of->fp);
	of->fp = NULL;
	if (rc == 0 && closed != 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", of->path, strerror(errno));
	if (rc == 0 && rename(of->tmp, of->path) != 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", of->path, strerror(errno));
	if (rc == 0) {
		free(of->tmp);
		of->tmp = NULL;
	}
	bs_outfile_abort(of);
	return rc;
}

void bs_outfile_abort(struct bs_outfile *of)
{
	if (of->fp != NULL)
		fclose(of->fp);
	if (of->tmp != NULL)
		unlink(of->tmp);
	free(of->tmp);
	free(of->path);
	memset(of, 0, sizeof(*of));
}
