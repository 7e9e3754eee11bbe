/* Secrets (PINs, passphrases) read from files only their owner can read. */
#ifndef BS_CORE_SECRET_H
#define BS_CORE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Read the first line of the secret file `path` (without its "\n" or "\r\n") into *out,
 * a malloc'd string the caller frees with bs_free_secret_str(). `what` names the secret
 * in messages ("PIN", "passphrase"); a message names the path, never the content.
 *
 * The file must be a regular file of at most BS_SECRET_FILE_MAX bytes that neither group
 * nor others may read, write or execute (mode 0600 or stricter). A looser mode is
 * BS_ERR_CONFIG: it is a mistake in how the machine is set up, the same code the server
 * uses for other set-up errors, and the message names the path and the mode.
 * Other errors: BS_ERR_NOT_FOUND (no such file), BS_ERR_IO (unreadable, not a regular
 * file), BS_ERR_LIMIT (too large), BS_ERR_INVALID (first line empty), BS_ERR_NOMEM.
 * Every buffer that held file bytes is wiped; on failure *out is NULL. */
int bs_secret_read_file(char **out, const char *path, const char *what,
			struct bs_error *err) BS_WUR;

/* The whole private file (same checks) in a malloc'd NUL-terminated buffer of at most
 * max bytes (BS_ERR_LIMIT beyond); free it with bs_free_secret(*out, *out_len + 1). */
int bs_secret_read_all(uint8_t **out, size_t *out_len, const char *path, const char *what,
		       size_t max, struct bs_error *err) BS_WUR;

#endif
