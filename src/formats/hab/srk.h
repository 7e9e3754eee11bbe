/* HAB4 SRK table and SRK fuse hash, byte-compatible with NXP's srktool (HAB4 mode). */
#ifndef BS_HAB_SRK_H
#define BS_HAB_SRK_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* RSA-PSS key or RSA-PSS signature on `cert`: HAB4 cannot use either (AHAB can). */
bool bs_hab_cert_uses_pss(X509 *cert);
#define BS_HAB_PSS_REASON                                                                    \
	"HAB4 cannot use RSA-PSS keys or signatures (they are for AHAB); use RSA (PKCS#1 "  \
	"v1.5) or ECDSA keys"

/* Build the E1 key record of a certificate's public key (RSA or EC P-256/384/521). The CA
 * flag comes from the certificate's basicConstraints. *out malloc'd. */
int bs_srk_record(uint8_t **out, size_t *out_len, X509 *cert, struct bs_error *err) BS_WUR;

struct bs_srk_build_opts {
	int md_nid;             /* fuse digest: NID_sha256 (default when 0) or NID_sha1 */
	uint32_t hash_only_mask; /* bit i: write certificate i as an EE hash-only record */
};

/* Build a table from 1..4 certificates (all must agree on CA-ness; none RSA-PSS:
 * BS_ERR_SEMANTIC "certificate N: ...") and its fuse digest
 * (H(H(rec0) || H(rec1) || ...)). *table malloc'd; fuse holds up to 64 bytes. */
int bs_srk_table_build(uint8_t **table, size_t *table_len, uint8_t *fuse, size_t *fuse_len,
		       X509 *const *certs, size_t ncerts, const struct bs_srk_build_opts *opts,
		       struct bs_error *err) BS_WUR;

struct bs_srk_entry {
	uint8_t tag;      /* 0xE1 key or 0xEE hash-only */
	bool ca;          /* flags & 0x80 (E1 only) */
	uint8_t sig_alg;  /* 0x21, 0x22, 0x27 (E1 only) */
	EVP_PKEY *pub;    /* E1 only; owned by the table */
	const uint8_t *rec; /* the record bytes inside the parsed table copy */
	size_t rec_len;
	uint8_t hash_alg;  /* EE only */
	uint8_t digest[64]; /* EE: embedded digest */
	size_t digest_len;
};

struct bs_srk_table {
	uint8_t *data; /* copy of the table */
	size_t len;
	size_t n;
	struct bs_srk_entry e[4];
};

/* Parse and validate a table (D7 header, version 0x4m, record lengths, RSA/EC layouts). */
int bs_srk_table_parse(struct bs_srk_table **out, const uint8_t *data, size_t len,
		       struct bs_error *err) BS_WUR;
/* Fuse digest of a parsed table: H over per-record digests (H(E1 record) or the EE's
 * embedded digest). BS_ERR_FORMAT if an EE record's hash alg differs from md_nid. */
int bs_srk_table_fuse(const struct bs_srk_table *t, int md_nid, uint8_t *fuse,
		      size_t *fuse_len, struct bs_error *err) BS_WUR;
void bs_srk_table_free(struct bs_srk_table *t);

/* Fuse file encodings as srktool writes them: format 1 = raw digest bytes, format 0 =
 * each byte as 00 00 00 b. *out malloc'd. */
int bs_srk_fuse_file(uint8_t **out, size_t *out_len, const uint8_t *fuse, size_t fuse_len,
		     int format, struct bs_error *err) BS_WUR;

/* Fuse word i = little-endian 32-bit value of digest bytes 4i..4i+3. */
uint32_t bs_srk_fuse_word(const uint8_t *fuse, size_t i);

#endif
