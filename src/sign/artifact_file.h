/* A server-side artifact named by a client's file:// URI, signed in place.
 *
 * The URI must name a regular file inside the configured artifact root (server config
 * mender_artifact_root). It is resolved without trusting the file system: the path is
 * split into components, ".." is refused outright, the components below the root are
 * opened one by one with O_NOFOLLOW from a descriptor of the root, so a symlink anywhere
 * below the root (or swapped in meanwhile) is refused, never followed.
 *
 * Writing back is atomic: the new contents go to a 0600 temporary file in the same
 * directory; commit gives it the original's permission bits, fsyncs it, checks that the
 * name still refers to the file that was read, renames it over the original and fsyncs
 * the directory. Until commit succeeds the original is untouched; free removes a
 * temporary file that was not committed.
 *
 * Errors name the field and the reason: BS_ERR_POLICY when no root is configured (naming
 * the setting), BS_ERR_UNSUPPORTED for a scheme other than file:// (s3://...),
 * BS_ERR_INVALID for a malformed URI or a remote host, BS_ERR_PATH for a path outside the
 * root, a ".." component or a symlink, BS_ERR_NOT_FOUND when the file does not exist,
 * BS_ERR_IO for a failed write, fsync or rename. */
#ifndef BS_SIGN_ARTIFACT_FILE_H
#define BS_SIGN_ARTIFACT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define BS_ARTIFACT_ROOT_SETTING "mender_artifact_root"
#define BS_ARTIFACT_DEPTH_MAX 64 /* path components below the root */

struct bs_artifact_file;

/* Open the file `uri` (sent in form field `field`) inside `root` (NULL = none). */
int bs_artifact_file_open(struct bs_artifact_file **out, const char *root, const char *uri,
			  const char *field, struct bs_error *err) BS_WUR;
/* Descriptor of the original, opened read-only (borrowed). */
int bs_artifact_file_fd(const struct bs_artifact_file *af);
/* The path below the root (for log lines; borrowed). */
const char *bs_artifact_file_name(const struct bs_artifact_file *af);
/* Append to the temporary file (created on first call). */
int bs_artifact_file_write(struct bs_artifact_file *af, const void *buf, size_t n,
			   struct bs_error *err) BS_WUR;
/* Replace the original with what was written (see above). */
int bs_artifact_file_commit(struct bs_artifact_file *af, struct bs_error *err) BS_WUR;
/* Closes, removes an uncommitted temporary file. NULL is a no-op. */
void bs_artifact_file_free(struct bs_artifact_file *af);

#endif
