/* Occupancy of one PKCS#11 token's session pool, as /metrics shows it: filled by
 * keys/pkcs11.c (in the key process under key isolation), passed through the keyring and
 * the job layer, rendered by http/metrics.c. A plain struct, so every layer can name it. */
#ifndef BS_CORE_POOLSTATS_H
#define BS_CORE_POOLSTATS_H

#define BS_POOL_NAME_MAX 80

struct bs_pool_stats {
	char token[BS_POOL_NAME_MAX]; /* log-safe token label (or serial) */
	unsigned sessions;            /* pool size */
	unsigned in_use;              /* sessions running an operation (or quarantined) */
	unsigned waiting;             /* callers waiting for a free session now */
};

#endif
