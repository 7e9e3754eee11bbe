/* Public bundle members the server side of key isolation already has: certificates and
 * other public members (SRK tables) of one parsed bundle, by the bundle's serial number
 * from the key process (BS_KP_BUNDLE's reply; a new number for every bundle version and
 * key process generation), so a request does not ask the key process again for bytes that
 * cannot have changed. Holds only what the key process sent, which is never a private key
 * or its passphrase (bs_keyproc_secret_member). Bounded: BS_KP_PUBCACHE_ENTRIES items of
 * at most BS_KP_PUBCACHE_ITEM_MAX bytes, least recently used replaced. Thread-safe. */
#ifndef BS_KEYS_KEYPROC_PUBCACHE_H
#define BS_KEYS_KEYPROC_PUBCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bs_kp_pubcache;

/* NULL when out of memory (callers then simply do not cache). */
struct bs_kp_pubcache *bs_kp_pubcache_new(void);
void bs_kp_pubcache_free(struct bs_kp_pubcache *pc);

/* A malloc'd copy (NUL after the `len` bytes) of what was stored for (serial, kind, name,
 * max), or false. Serial 0 is never stored. */
bool bs_kp_pubcache_get(struct bs_kp_pubcache *pc, uint64_t serial, char kind, const char *name,
			size_t max, uint8_t **out, size_t *len);
void bs_kp_pubcache_put(struct bs_kp_pubcache *pc, uint64_t serial, char kind, const char *name,
			size_t max, const uint8_t *data, size_t len);

#endif
