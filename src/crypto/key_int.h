/* Shared inside crypto/: signature parameter set-up used by the file backend (key.c) and
 * the verifier (sig.c), so signing and verifying configure OpenSSL the same way. */
#ifndef BS_CRYPTO_KEY_INT_H
#define BS_CRYPTO_KEY_INT_H

#include "crypto/key.h"

/* Configure an initialised sign/verify EVP_PKEY_CTX for RSA (PKCS#1 v1.5 or PSS with
 * `saltlen` bytes, or OpenSSL's RSA_PSS_SALTLEN_* special values) or ECDSA, with
 * signature digest md. */
int bs_sig_ctx_setup(EVP_PKEY_CTX *pctx, int key_type, enum bs_sig_scheme scheme, int saltlen,
		     const EVP_MD *md, struct bs_error *err) BS_WUR;

/* Whether p can be used with a key of this public key for a digest of dlen bytes:
 * BS_ERR_UNSUPPORTED for Ed25519 or an unknown digest, BS_ERR_INVALID for a wrong digest
 * length, scheme or salt (< -1 or > BS_PSS_SALT_MAX), BS_ERR_KEY for a scheme the key
 * type cannot do. */
int bs_sig_params_check(EVP_PKEY *pub, const struct bs_sig_params *p, size_t dlen,
			struct bs_error *err) BS_WUR;

/* H(msg) under p->md_nid into dg (EVP_MAX_MD_SIZE bytes), length in *dl. */
int bs_sig_hash(const struct bs_sig_params *p, const uint8_t *msg, size_t len, uint8_t *dg,
		unsigned *dl, struct bs_error *err) BS_WUR;

/* EVP_PKEY_RSA for RSA and RSA-PSS keys, else the base id. */
int bs_pkey_type(EVP_PKEY *pkey);

#endif
