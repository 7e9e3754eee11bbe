/* Bearer tokens: a file of named, salted SHA-256 hashes (never the tokens themselves).
 *
 * File format (mode 0600, written by `bootsign token add`), one token per line:
 *   NAME SALT_HEX HASH_HEX      HASH = SHA-256(SALT || token)
 * '#' comments and blank lines are ignored. NAME is [A-Za-z0-9._-], 1..63 bytes, unique.
 * A token is revoked by deleting its line (the server re-reads the file on SIGHUP). */
#ifndef BS_AUTH_TOKENS_H
#define BS_AUTH_TOKENS_H

#include <stddef.h>

#include "core/error.h"

struct bs_tokens;

/* Load and check a tokens file: it must be a regular file not readable or writable by
 * group or others (BS_ERR_CONFIG), each line well-formed (BS_ERR_SYNTAX naming file:line). */
int bs_tokens_load(struct bs_tokens **out, const char *path, struct bs_error *err) BS_WUR;
/* The name of the token `token` (copied into name, capacity cap), comparing against every
 * entry in constant time. BS_ERR_AUTH when it matches none. */
int bs_tokens_check(char *name, size_t cap, const struct bs_tokens *t, const char *token,
		    struct bs_error *err) BS_WUR;
size_t bs_tokens_count(const struct bs_tokens *t);
void bs_tokens_free(struct bs_tokens *t);

/* Create a new random token named `name`, append its hash to the file (created 0600 if
 * missing) and return the token (*out malloc'd, wipe with bs_free_secret_str).
 * BS_ERR_INVALID for a bad or duplicate name. */
int bs_tokens_add(char **out, const char *path, const char *name, struct bs_error *err) BS_WUR;
/* Remove token `name` from the file (rewritten atomically). BS_ERR_NOT_FOUND if absent. */
int bs_tokens_revoke(const char *path, const char *name, struct bs_error *err) BS_WUR;

/* Is s a valid client name ([A-Za-z0-9._-], 1..BS_AUTH_NAME_MAX-1 bytes)? */
int bs_auth_check_name(const char *s, const char *what, struct bs_error *err) BS_WUR;

#endif
