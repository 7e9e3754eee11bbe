/* Internal to the key store (store.c, store_tgz.c): name normalisation and the in-memory
 * tar.gz bundle. Not part of the public interface. */
#ifndef BS_KEYS_STORE_INT_H
#define BS_KEYS_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"

#define BS_STORE_LINK_DEPTH 8

struct bs_bundle;

/* Normalise a store-relative name: drop "." and empty components (so "./crts//a" is
 * "crts/a"). Absolute names and ".." components fail with BS_ERR_PATH naming `name`;
 * an empty result is BS_ERR_INVALID. *out malloc'd. */
int bs_store_norm_name(char **out, const char *name, struct bs_error *err) BS_WUR;

/* Parse a whole tar.gz held in memory. Enforces BS_STORE_* limits. */
int bs_bundle_parse(struct bs_bundle **out, const uint8_t *data, size_t len,
		    struct bs_error *err) BS_WUR;
/* Find a regular file by normalised name, following in-bundle symlinks and hardlinks.
 * The data is borrowed from the bundle. BS_ERR_NOT_FOUND, BS_ERR_PATH. */
int bs_bundle_lookup(const struct bs_bundle *b, const char *name, const uint8_t **data,
		     size_t *len, struct bs_error *err) BS_WUR;
/* Number of entries kept (files and links). */
size_t bs_bundle_count(const struct bs_bundle *b);
/* Normalised name of entry i (NULL past the end). */
const char *bs_bundle_name(const struct bs_bundle *b, size_t i);
/* Wipes every file's bytes. */
void bs_bundle_free(struct bs_bundle *b);

#endif
