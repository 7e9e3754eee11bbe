/* An output file written atomically: a temporary file beside the destination (mkstemp,
 * 0600 while written), renamed over it by commit (mode 0644, fsync first), removed by
 * abort. Nothing is left behind on any failure. */
#ifndef BS_CLIENT_OUTFILE_H
#define BS_CLIENT_OUTFILE_H

#include <stdio.h>

#include "core/error.h"

struct bs_outfile {
	char *path;   /* destination */
	char *tmp;    /* temporary name beside it */
	FILE *fp;     /* open for writing (and reading back) */
};

int bs_outfile_open(struct bs_outfile *of, const char *path, struct bs_error *err) BS_WUR;
/* Flush, fsync, chmod 0644, rename over the destination. Closes; aborts on failure. */
int bs_outfile_commit(struct bs_outfile *of, struct bs_error *err) BS_WUR;
/* Close and remove the temporary file (safe after commit, and on a zeroed struct). */
void bs_outfile_abort(struct bs_outfile *of);

#endif
