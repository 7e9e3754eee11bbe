/* Shared inside crypto/: signature parameter set-up used by the file backend (key.c) and
 * the verifier (sig.c), so signing and verifying configure OpenSSL the same way. */
#ifndef BS_CRYPTO_KEY_INT_H
#define BS_CRYPTO_KEY_INT_H

#include "crypto/key.h"

/* Largest ECDSA field (P-521). */
#define BS_EC_FIELD_MAX 66

/* Configure an initialised sign/verify EVP_PKEY_CTX for RSA (PKCS#1 v1.5 or PSS with
 * `saltlen` bytes, or OpenSSL's RSA_PSS_SALTLEN_* special values) or ECDSA, with
 * signature digest md. */
int bs_sig_ctx_setup(EVP_PKEY_CTX *pctx, int key_type, enum bs_sig_scheme scheme, int saltlen,
		     const EVP_MD *md, struct bs_error *err) BS_WUR;

/* EVP_PKEY_RSA for RSA and RSA-PSS keys, else the base id. */
int bs_pkey_type(EVP_PKEY *pkey);

#endif
