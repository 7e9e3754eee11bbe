/* Parsed key bundles per machine, so a request does not re-read its tarball.
 *
 * Entries are keyed by bundle path and validated against (device, inode, size, mtime)
 * on every acquire: a replaced bundle is picked up by the next request. Each entry keeps
 * the tarball bytes and ONE parsed store, shared read-only by every concurrent request
 * (bundle stores lock their key/certificate memos), so memory does not grow with
 * traffic. At most `max_entries` bundles and (bs_keycache_set_limits) `max_bytes` are
 * kept, the least recently used unreferenced entry evicted first; an entry nobody used
 * for `idle_ms` is freed and the memory trimmed. */
#ifndef BS_KEYS_BUNDLES_H
#define BS_KEYS_BUNDLES_H

#include <stddef.h>

#include "core/error.h"
#include "keys/store.h"

struct bs_keycache;
struct bs_keylease;

int bs_keycache_new(struct bs_keycache **out, const char *root, size_t max_entries,
		    struct bs_error *err) BS_WUR;
/* Borrow a store for <root>/<subject>/<signtype>/<file>. BS_ERR_NOT_FOUND when the
 * subject has no such bundle. Give it back with bs_keycache_release. */
int bs_keycache_acquire(struct bs_keycache *kc, const char *subject, const char *signtype,
			const char *file, struct bs_keylease **lease, struct bs_store **store,
			struct bs_error *err) BS_WUR;
void bs_keycache_release(struct bs_keylease *lease);
/* Bound the cache in bytes (0: unbounded) and free entries idle this long (0: never;
 * otherwise a sweeper thread runs until bs_keycache_free). */
int bs_keycache_set_limits(struct bs_keycache *kc, size_t max_bytes, unsigned idle_ms,
			   struct bs_error *err) BS_WUR;
/* Bundles parsed so far (tests: one parse per bundle version). */
unsigned long bs_keycache_parses(struct bs_keycache *kc);
/* Is this the first lease of this bundle version since it was read (for once-per-bundle
 * warnings)? */
bool bs_keycache_first_use(const struct bs_keylease *lease);
/* The parsed version's number in this cache (1, 2, ...; a changed file gets a new one). */
uint64_t bs_keycache_serial(const struct bs_keylease *lease);
/* Is the root readable (for /healthz)? */
int bs_keycache_check(struct bs_keycache *kc, struct bs_error *err) BS_WUR;
const char *bs_keycache_root(const struct bs_keycache *kc);
/* Number of cached entries (tests). */
size_t bs_keycache_size(struct bs_keycache *kc);
void bs_keycache_free(struct bs_keycache *kc);

#endif
