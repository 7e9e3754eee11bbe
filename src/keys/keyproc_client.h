/* The server side of the key process (keys/keyproc.h): requests over the socket, used by
 * the keyring in remote mode (keys/keyring.c). Every call is one request and its answer;
 * calls from many threads are in flight at once (replies matched by sequence number, in
 * any order). bs_kpc_lease_close and the stub keys' free send without waiting. A dead key
 * process makes every waiting call fail with BS_ERR_BUSY (HTTP 503); no answer within
 * BS_KEYPROC_TIMEOUT_MS is BS_ERR_BUSY too. */
#ifndef BS_KEYS_KEYPROC_CLIENT_H
#define BS_KEYS_KEYPROC_CLIENT_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/poolstats.h"
#include "crypto/key.h"

struct bs_kpc;
int bs_kpc_new(struct bs_kpc **out, int fd, struct bs_error *err) BS_WUR;
void bs_kpc_free(struct bs_kpc *c);
/* How long a signing call waits (default BS_KEYPROC_TIMEOUT_MS; tests shorten it). A call
 * given up on that would have opened a lease or a key has it closed when its late answer
 * comes, so a slow key process does not fill its tables. */
void bs_kpc_set_timeout(struct bs_kpc *c, uint64_t ms);
int bs_kpc_check(struct bs_kpc *c, struct bs_error *err) BS_WUR;
/* LEASE_OPEN under a key filter (keys/keyring.h; NULL = none) */
int bs_kpc_lease_open(uint64_t *out, struct bs_kpc *c, const char *subject, const char *filter,
		      struct bs_error *err) BS_WUR;
void bs_kpc_lease_close(struct bs_kpc *c, uint64_t lease);
/* KEY (bundle = false) or BUNDLE_KEY (bundle = true) */
int bs_kpc_key(struct bs_key **out, struct bs_kpc *c, uint64_t lease, bool allow_token,
	       bool bundle, const char *name, X509 *cert, struct bs_error *err) BS_WUR;
/* POOL_STATS: the key process's token pools (0 when it cannot answer) */
size_t bs_kpc_pool_stats(struct bs_kpc *c, struct bs_pool_stats *out, size_t max);
/* SERVICE_KEY: the server's own key of setting `name` (bs_keyring_service_key) */
int bs_kpc_service_key(struct bs_key **out, struct bs_kpc *c, const char *name,
		       struct bs_error *err) BS_WUR;
/* CERT or BUNDLE_CERT; a bundle's certificates are kept by the bundle's serial (0: never) */
int bs_kpc_cert(X509 **out, struct bs_kpc *c, uint64_t lease, uint64_t serial, bool allow_token,
		bool bundle, const char *name, struct bs_error *err) BS_WUR;
bool bs_kpc_exists(struct bs_kpc *c, uint64_t lease, const char *name);
/* Open a bundle: *first_use, the version's *serial (keys/keyproc_pubcache.h), and its
 * member names (malloc'd array of malloc'd strings). */
int bs_kpc_bundle(bool *first_use, uint64_t *serial, char ***members, size_t *nmembers,
		  struct bs_kpc *c, uint64_t lease, const char *name, struct bs_error *err) BS_WUR;
/* A public member of the bundle (kept by serial, 0: never) */
int bs_kpc_bundle_read(uint8_t **out, size_t *out_len, struct bs_kpc *c, uint64_t lease,
		       uint64_t serial, const char *name, size_t max, struct bs_error *err) BS_WUR;

#endif
