/* Upload spool: one private directory (0700, owned by us) holding the request bodies
 * that are too large for memory, one 0600 file per uploaded file field, created O_EXCL
 * and removed on every path (success, error, client disconnect, shutdown).
 *
 * Small uploads may instead stay in memory (like a spooled temporary file): each upload
 * up to `per_upload` bytes, all of them together up to `total` bytes (a budget shared by
 * every request, so concurrent large uploads go to disk rather than grow the process).
 * Off (0, 0) until bs_spool_set_memory is called. */
#ifndef BS_HTTP_SPOOL_H
#define BS_HTTP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct bs_spool;

/* Create a fresh private directory (0700, mkdtemp) inside `dir` (created 0700 if
 * missing), or inside $TMPDIR (or /tmp) when dir is NULL. Nothing else in `dir` is ever
 * changed, swept or removed; bs_spool_close removes the private directory. */
int bs_spool_open(struct bs_spool **out, const char *dir, struct bs_error *err) BS_WUR;
/* Create a new empty spool file; *path malloc'd, *fd open for writing. */
int bs_spool_create(struct bs_spool *sp, const char *reqid, const char *field, int *fd,
		    char **path, struct bs_error *err) BS_WUR;
const char *bs_spool_dir(const struct bs_spool *sp);
/* Allow in-memory spooling (sizes in bytes; 0 disables). Call before serving. */
void bs_spool_set_memory(struct bs_spool *sp, uint64_t per_upload, uint64_t total);
/* Largest upload kept in memory (0: none). */
uint64_t bs_spool_mem_max(const struct bs_spool *sp);
/* Take n bytes from the shared memory budget: true if granted. */
bool bs_spool_mem_reserve(struct bs_spool *sp, size_t n);
/* Give back n bytes previously reserved. */
void bs_spool_mem_release(struct bs_spool *sp, size_t n);
/* Bytes currently reserved (tests, logs). */
uint64_t bs_spool_mem_used(const struct bs_spool *sp);
/* Remove every spool file and the private directory. NULL is a no-op. */
void bs_spool_close(struct bs_spool *sp);

#endif
