/* The key chain HAB4 walks when it installs keys, as rules a signer (csf_sign.c) and the
 * verifier (verify.c) share, so that neither writes nor accepts a CSF the ROM would reject:
 *  - the selected SRK table entry is a full key record (not hash-only, HAB4 notes 2.7);
 *  - no key and no certificate signature is RSA-PSS (HAB4 cannot use it; AHAB can);
 *  - a certificate is signed by the key in the slot that verifies it, and that key is a
 *    CA key (basicConstraints CA:TRUE, as the SRK record's CA flag);
 *  - fast authentication ([Install NOCAK]) signs with the selected SRK's own key, which
 *    must not carry the CA flag (the ROM answers HAB_INV_KEY otherwise).
 * Every failure returns `code` (BS_ERR_SEMANTIC when signing, BS_ERR_VERIFY when
 * verifying) with a message that names the certificate and the reason; callers prefix
 * the CSF position or command. */
#ifndef BS_HAB_CHAIN_H
#define BS_HAB_CHAIN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/hab/srk.h"

/* A key HAB4 can hold in a slot: what verifies certificates or signatures. */
struct bs_hab_chain_key {
	EVP_PKEY *pub;   /* borrowed */
	bool ca;
	char name[48];   /* "SRK 0" or "slot 2" for messages */
};

/* The SRK table entry `index` selects: in range, a full key record, no PSS anywhere in
 * the table. *out borrows the entry's key. */
int bs_hab_chain_srk(struct bs_hab_chain_key *out, const struct bs_srk_table *t,
		     unsigned index, int code, struct bs_error *err) BS_WUR;

/* `cert` (described by `what`, e.g. "certificate \"x.pem\"") must be usable by HAB4 and
 * signed by `issuer`, which must be a CA key. On a wrong issuer, the message also names
 * which SRK entry of `t` (may be NULL) or which of `others` (n entries, may be 0) did
 * sign it. */
int bs_hab_chain_cert(X509 *cert, const char *what, const struct bs_hab_chain_key *issuer,
		      const struct bs_srk_table *t, const struct bs_hab_chain_key *others,
		      size_t n, int code, struct bs_error *err) BS_WUR;

/* Fast authentication: `cert` (the [Install NOCAK] certificate, may be NULL in the
 * verifier) must carry the key of the selected SRK entry, and that entry must not be a
 * CA key. */
int bs_hab_chain_nocak(X509 *cert, const char *what, const struct bs_hab_chain_key *srk,
		       const struct bs_srk_table *t, int code, struct bs_error *err) BS_WUR;

#endif
