#include "http/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define SPOOL_PREFIX "bs-up-"

struct bs_spool {
	char *dir; /* private, 0700, made by bs_spool_open and removed by bs_spool_close */
	atomic_uint seq;
	uint64_t mem_max;   /* per upload */
	uint64_t mem_total; /* budget */
	_Atomic uint64_t mem_used;
};

/* Remove our files (SPOOL_PREFIX*) from our private directory. */
static void sweep(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) == 0)
			unlinkat(dfd, e->d_name, 0);
	closedir(d);
}

int bs_spool_open(struct bs_spool **out, const char *dir, struct bs_error *err)
{
	*out = NULL;
	struct bs_spool *sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = 0;
	const char *base = dir;
	if (base == NULL) {
		base = getenv("TMPDIR");
		if (base == NULL || base[0] != '/')
			base = "/tmp";
	} else if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		rc = bs_error_set(err, BS_ERR_CONFIG, "spool: cannot create %s: %s", base,
				  strerror(errno));
		goto fail;
	}
	/* Our own directory inside the configured one: the configured directory (maybe
	 * /tmp, maybe shared) keeps its mode and its files. */
	size_t n = strlen(base) + 32;
	sp->dir = malloc(n);
	if (sp->dir == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(sp->dir, n, "%s/bootsign-spool.XXXXXX", base);
	if (mkdtemp(sp->dir) == NULL) {
		rc = bs_error_set(err, dir != NULL ? BS_ERR_CONFIG : BS_ERR_IO,
				  "spool: cannot create a directory in %s: %s", base,
				  strerror(errno));
		goto fail;
	}
	*out = sp;
	return 0;
fail:
	free(sp->dir);
	free(sp);
	return rc;
}

int bs_spool_create(struct bs_spool *sp, const char *reqid, const char *field, int *fd,
		    char **path, struct bs_error *err)
{
	*fd = -1;
	*path = NULL;
	unsigned seq = atomic_fetch_add(&sp->seq, 1);
	size_t n = strlen(sp->dir) + strlen(reqid) + strlen(field) + 48;
	char *p = malloc(n);
	if (p == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	snprintf(p, n, "%s/" SPOOL_PREFIX "%s-%u-%s", sp->dir, reqid, seq, field);
	int f = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		int e = errno;
		free(p);
		return bs_error_set(err, BS_ERR_IO, "spool: cannot create file: %s", strerror(e));
	}
	*fd = f;
	*path = p;
	return 0;
}

const char *bs_spool_dir(const struct bs_spool *sp)
{
	return sp->dir;
}

void bs_spool_set_memory(struct bs_spool *sp, uint64_t per_upload, uint64_t total)
{
	sp->mem_max = per_upload < total ? per_upload : total;
	sp->mem_total = total;
}

uint64_t bs_spool_mem_max(const struct bs_spool *sp)
{
	return sp->mem_max;
}

bool bs_spool_mem_reserve(struct bs_spool *sp, size_t n)
{
	uint64_t cur = atomic_load(&sp->mem_used);
	do {
		if (n > sp->mem_total || cur > sp->mem_total - n)
			return false;
	} while (!atomic_compare_exchange_weak(&sp->mem_used, &cur, cur + n));
	return true;
}

void bs_spool_mem_release(struct bs_spool *sp, size_t n)
{
	atomic_fetch_sub(&sp->mem_used, n);
}

uint64_t bs_spool_mem_used(const struct bs_spool *sp)
{
	return atomic_load(&sp->mem_used);
}

void bs_spool_close(struct bs_spool *sp)
{
	if (sp == NULL)
		return;
	sweep(sp->dir);
	if (rmdir(sp->dir) != 0)
		bs_log(BS_LOG_WARN, NULL, "spool: %s not removed: %s", sp->dir, strerror(errno));
	free(sp->dir);
	free(sp);
}
