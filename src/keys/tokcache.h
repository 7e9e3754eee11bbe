/* Short-lived cache of token objects for the signing server (backend=pkcs11).
 *
 * Every /sign/imx request names the same few token objects (CSF and IMG certificates and
 * their private keys). Looking each one up again costs C_FindObjects* and
 * C_GetAttributeValue round trips per request (with SoftHSM2's file store: re-reading
 * and locking object files; with a YubiHSM 2: USB round trips). The cache wraps
 * bs_p11_uri_loader: a certificate or key found by URI is reused for `ttl_ms`, then
 * looked up again, so objects replaced or removed in the token are noticed within that
 * time. A key whose signing fails is dropped at once. Keys stay token objects: only the
 * handle, public key and certificate are cached, never private material. */
#ifndef BS_KEYS_TOKCACHE_H
#define BS_KEYS_TOKCACHE_H

#include "core/error.h"
#include "keys/store.h"

struct bs_p11;
struct bs_tokcache;

int bs_tokcache_new(struct bs_tokcache **out, unsigned ttl_ms, struct bs_error *err) BS_WUR;
/* The loader to install on a store for one request, resolving through p11 (the
 * server's one token context; the cache is emptied if it ever changes). */
const struct bs_uri_loader *bs_tokcache_loader(struct bs_tokcache *tc, struct bs_p11 *p11);
/* Lookups that went to the token (tests). */
unsigned long bs_tokcache_misses(struct bs_tokcache *tc);
void bs_tokcache_free(struct bs_tokcache *tc);

#endif
