/* Tamper-evident audit log: one line per signing attempt, hash-chained, sealed.
 *
 * Record (one line, tab-separated key=value fields, values without tabs or control bytes):
 *   seq=N time=<UTC ISO 8601> prev=<hash of record N-1> reqid= client= source= endpoint=
 *   subject= result=granted|denied|failed status= keys=k1,k2 digests=what|alg|hex;...
 *   reason= hash=<SHA-256 hex of the line up to "\thash=">
 * Seal (every BS_AUDIT_SEAL_EVERY records, at open and at close, when an audit key is set):
 *   seq=N time= prev= seal=<signature, hex> keyid=<SHA-256 of the public key DER, 16 hex>
 *   hash=
 *   The signature (RSA PKCS#1 v1.5 or ECDSA, SHA-256) covers the line up to "\tseal=",
 *   hence the chain up to record N-1.
 * Each record is written with one write() and fdatasync()ed before bs_audit_append
 * returns: the caller sends a signature only after that. */
#ifndef BS_AUTH_AUDIT_H
#define BS_AUTH_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/error.h"

struct bs_key;
struct bs_audit;

struct bs_audit_entry {
	const char *reqid, *client, *source, *endpoint, *subject;
	const char *result; /* "granted", "denied", "failed" */
	unsigned status;
	const char *keys;   /* "k1,k2" */
	const char *reason;
	size_t ndigests;
	/* the i-th digest: what it covers, algorithm, hex */
	void (*digest)(void *ctx, size_t i, const char **what, const char **alg,
		       const char **hex);
	void *ctx;
};

/* Open (create 0600) the log for appending; picks up seq and hash of the last record.
 * key (taken, also on failure; NULL: no seals) signs the seals: RSA or EC, from the
 * keyring (bs_keyring_service_key "audit_key": a file or token key, in the key process
 * under key isolation). A torn last line is BS_ERR_FORMAT naming it (run `bootsign audit
 * verify`). */
int bs_audit_open(struct bs_audit **out, const char *path, struct bs_key *key,
		  struct bs_error *err) BS_WUR;
/* Append one record, durable on return (thread-safe). BS_ERR_IO when it cannot be. */
int bs_audit_append(struct bs_audit *a, const struct bs_audit_entry *e,
		    struct bs_error *err) BS_WUR;
/* Seal (when a key is set) and close. NULL is a no-op. */
void bs_audit_close(struct bs_audit *a);

struct bs_audit_summary {
	uint64_t records;          /* signing records */
	uint64_t seals;
	uint64_t seals_checked;    /* with a public key */
	uint64_t after_last_seal;  /* records after the last seal */
};
/* Check a log: sequence, record hashes, chain, and with pub (may be NULL) the seal
 * signatures. 0 when intact; BS_ERR_VERIFY naming the first broken line ("name:LINE:
 * ..."), BS_ERR_IO. */
int bs_audit_verify(struct bs_audit_summary *out, FILE *f, const char *name, EVP_PKEY *pub,
		    struct bs_error *err) BS_WUR;
/* The value of field `key` of a record line into out (cap > 0): 0, or -1 when absent. */
int bs_audit_field(char *out, size_t cap, const char *line, const char *key);

#endif
