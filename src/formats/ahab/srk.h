/* AHAB (v1) SRK records, SRK tables and the SRK fuse hash (AHAB.md §5), byte-identical to
 * NXP's srktool -a. Unlike HAB4, the fuse value is one digest over the whole table. */
#ifndef BS_AHAB_SRK_H
#define BS_AHAB_SRK_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"
#include "formats/ahab/ahab.h"

#define BS_AHAB_SRK_REC_HDR 12

/* Build the E1 record for a public key: algorithm 0x21 (rsaEncryption), 0x22 (RSASSA-PSS
 * key) or 0x27 (EC P-256/384/521), hash code as given, CA flag if `ca`. RSA modulus is
 * padded to the key size, exponent in its minimal length. *out malloc'd. */
int bs_ahab_srk_record(uint8_t **out, size_t *out_len, EVP_PKEY *pub, bool ca,
		       uint8_t hash_code, struct bs_error *err) BS_WUR;
/* The same from a certificate (CA flag from basicConstraints CA:TRUE, as srktool). */
int bs_ahab_srk_record_cert(uint8_t **out, size_t *out_len, X509 *cert, uint8_t hash_code,
			    struct bs_error *err) BS_WUR;

/* Build a table of exactly 4 records (as srktool 3.3.1 requires and AHAB parts expect)
 * from certificates of one type and size. *out malloc'd. */
int bs_ahab_srk_table_build(uint8_t **out, size_t *out_len, X509 *const *certs, size_t n,
			    uint8_t hash_code, struct bs_error *err) BS_WUR;

/* One parsed SRK record. */
struct bs_ahab_srk {
	uint8_t alg;       /* 0x21, 0x22, 0x27 */
	uint8_t hash;      /* 0, 1, 2 */
	uint8_t size_code; /* RSA 5/6/7, EC 1/2/3 */
	bool ca;
	EVP_PKEY *pub;     /* owned */
	size_t sig_len;    /* container signature bytes: modulus size or 2 x coordinate */
	const uint8_t *rec; /* borrowed: the record bytes */
	size_t rec_len;
};

/* Parse one record at p (at most len bytes); *used = its length. Validates the header,
 * size codes, lengths, RSA top bit, EC point on the curve. */
int bs_ahab_srk_record_parse(struct bs_ahab_srk *out, const uint8_t *p, size_t len,
			     size_t *used, struct bs_error *err) BS_WUR;
void bs_ahab_srk_clear(struct bs_ahab_srk *s);

struct bs_ahab_srk_table {
	uint8_t *data; /* copy of the table */
	size_t len;
	size_t n;
	struct bs_ahab_srk e[BS_AHAB_SRK_RECORDS];
};

/* Parse a table (TLV D7 / len / 0x42, 1..4 records filling it exactly, all of one
 * algorithm, hash and size). `len` may exceed the table (trailing bytes ignored) only
 * when `prefix` is true; the table length is then taken from its header. */
int bs_ahab_srk_table_parse(struct bs_ahab_srk_table **out, const uint8_t *data, size_t len,
			    bool prefix, struct bs_error *err) BS_WUR;
void bs_ahab_srk_table_free(struct bs_ahab_srk_table *t);

/* Fuse digest of table bytes: NID_sha256 (32 bytes) or NID_sha512 (64 bytes). */
int bs_ahab_srk_fuse(uint8_t *fuse, size_t *fuse_len, const uint8_t *table, size_t len,
		     int md_nid, struct bs_error *err) BS_WUR;

/* Signature parameters of a record: digest = its hash, PKCS#1 v1.5 / PSS (salt = digest
 * length) / raw ECDSA. */
void bs_ahab_srk_sig_params(const struct bs_ahab_srk *s, struct bs_sig_params *out);

/* Human description, e.g. "RSA-2048 PKCS#1 v1.5, sha256, CA". */
const char *bs_ahab_srk_desc(const struct bs_ahab_srk *s, char *buf, size_t cap);

#endif
