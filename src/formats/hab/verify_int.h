/* Verifier state shared by verify.c (driver, key commands) and verify_data.c
 * (signatures, data blocks, coverage). Internal to src/hab. */
#ifndef BS_HAB_VERIFY_INT_H
#define BS_HAB_VERIFY_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/limits.h"
#include "formats/hab/chain.h"
#include "formats/hab/csf_walk.h"
#include "formats/hab/hab.h"
#include "formats/hab/image.h"
#include "formats/hab/srk.h"
#include "formats/hab/verify.h"

#define BS_HAB_SECRET_SLOTS 6
/* Bytes hashed over all Authenticate Data commands: HAB addresses are 32-bit, so more
 * than 4 GiB can only come from blocks repeated to make verification slow. */

struct bs_hab_slot {
	bool used;
	bool ca;
	EVP_PKEY *pub; /* own reference */
	X509 *cert;    /* NULL for an SRK */
};

struct bs_hab_range {
	uint64_t addr, len;
};

struct bs_hab_vctx {
	const struct bs_hab_verify_opts *opts;
	struct bs_hab_image img;
	uint8_t fuse[64];
	size_t fuse_len;
	uint8_t *csf; /* command region copy */
	uint16_t cmd_len;
	uint8_t version;
	struct bs_srk_table *srk;
	struct bs_hab_slot slots[HAB_KEY_SLOTS];
	bool srk_done, csfk_done, csf_authed, nocak;
	uint8_t srk_slot;
	uint8_t srk_index; /* the table entry Source index selected */
	bool secret[BS_HAB_SECRET_SLOTS];
	struct bs_hab_range auth[BS_HAB_AUTH_RANGES_MAX];
	size_t nauth;
	uint64_t hashed; /* bytes hashed so far */
};

void bs_hab_vlog(struct bs_hab_vctx *v, const char *fmt, ...) BS_PRINTF(2, 3);

/* Authenticate Data (CMS or AEAD) after the CSF is authenticated, and the CSF itself. */
int bs_hab_verify_auth_csf(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			   struct bs_error *err) BS_WUR;
int bs_hab_verify_auth_data(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			    struct bs_error *err) BS_WUR;
/* Step 11. */
int bs_hab_verify_coverage(struct bs_hab_vctx *v, struct bs_error *err) BS_WUR;
/* The chain view of the installed slots (for chain.h messages): n = HAB_KEY_SLOTS. */
void bs_hab_vkeys(const struct bs_hab_vctx *v, struct bs_hab_chain_key *out);
/* File offset of a command's data: CSF-relative, or absolute address with ABS. */
int bs_hab_vdata_off(struct bs_hab_vctx *v, uint32_t field, bool abs, uint64_t *off,
		     const char *what, struct bs_error *err) BS_WUR;

#endif
