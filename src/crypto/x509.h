/* X.509 certificate issuing through the key interface (src/keys/key.h): the TBS is built
 * and hashed on the host and only the digest reaches the signing key, so a key held
 * inside a PKCS#11 token signs certificates exactly like a file key. */
#ifndef BS_CRYPTO_X509_H
#define BS_CRYPTO_X509_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"
#include "crypto/key.h"

struct bs_x509_params {
	const char *cn;       /* subject commonName (1..BS_X509_CN_MAX characters) */
	EVP_PKEY *subject;    /* subject public key (borrowed) */
	X509 *issuer;         /* issuer certificate (borrowed); NULL = self-signed */
	bool ca;              /* CA:true + keyCertSign, else CA:false + digitalSignature */
	unsigned days;        /* validity from now; 1..36500 */
	int md_nid;           /* signature digest; 0 = NID_sha256 */
};

/* Issue a certificate for p->subject signed by `signer` (which must be the issuer
 * certificate's key, or the subject key when self-signed). Extensions: basicConstraints
 * (critical for CAs), subjectKeyIdentifier (hash), authorityKeyIdentifier (keyid, for
 * certificates that are not self-signed), keyUsage (critical). The result is checked with
 * X509_verify against the signer's public key before it is returned. */
int bs_x509_issue(X509 **out, const struct bs_x509_params *p, struct bs_key *signer,
		  struct bs_error *err) BS_WUR;

/* Parse one certificate from `data`: PEM when `pem`, else DER that must span all `len`
 * bytes. On failure returns BS_ERR_FORMAT with "<name>: not a PEM|DER X.509 certificate"
 * (plus the drained OpenSSL reason) and leaves *out NULL. */
int bs_x509_from_bytes(X509 **out, const uint8_t *data, size_t len, bool pem,
		       const char *name, struct bs_error *err) BS_WUR;

#endif
