/* Upload spool: one private directory (0700, owned by us) holding the request bodies
 * that are too large for memory, one 0600 file per uploaded file field, created O_EXCL
 * and removed on every path (success, error, client disconnect, shutdown). */
#ifndef BS_HTTP_SPOOL_H
#define BS_HTTP_SPOOL_H

#include <stdbool.h>

#include "core/error.h"

struct bs_spool;

/* dir NULL: create a fresh private directory under $TMPDIR (or /tmp), removed by
 * bs_spool_close. Otherwise use `dir` (created 0700 if missing; must be a directory
 * owned by us; its mode is forced to 0700); leftover spool files from a previous run are
 * removed. */
int bs_spool_open(struct bs_spool **out, const char *dir, struct bs_error *err) BS_WUR;
/* Create a new empty spool file; *path malloc'd, *fd open for writing. */
int bs_spool_create(struct bs_spool *sp, const char *reqid, const char *field, int *fd,
		    char **path, struct bs_error *err) BS_WUR;
const char *bs_spool_dir(const struct bs_spool *sp);
/* Remove every spool file and, if we created it, the directory. NULL is a no-op. */
void bs_spool_close(struct bs_spool *sp);

#endif
