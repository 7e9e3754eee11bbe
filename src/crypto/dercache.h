/* Public objects decoded from DER, remembered by the SHA-256 of their bytes.
 *
 * OpenSSL 3 decodes through its provider decoder framework: 0.1-0.5 ms for one
 * certificate or SubjectPublicKeyInfo, more than the RSA-2048 signature they come with.
 * With key isolation the key process hands the server the same few certificates and
 * public keys on every request (and the server hands certificates back), so both sides
 * decode through this cache. Only public data is held: X.509 certificates and public
 * keys, never private keys. Bounded: BS_DERCACHE_ENTRIES objects of each kind, the least
 * recently used replaced. Thread-safe; objects are shared (up-referenced), so callers must
 * not modify them. */
#ifndef BS_CRYPTO_DERCACHE_H
#define BS_CRYPTO_DERCACHE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

/* A certificate from exactly `len` DER bytes (new reference; X509_free it), or NULL when
 * the bytes are not one DER certificate. */
X509 *bs_der_x509(const uint8_t *der, size_t len);

/* A public key from exactly `len` bytes of DER SubjectPublicKeyInfo (new reference;
 * EVP_PKEY_free it), or NULL when the bytes are not one. */
EVP_PKEY *bs_der_pubkey(const uint8_t *der, size_t len);

/* Objects decoded (misses) since start, for tests and benchmarks. */
unsigned long bs_dercache_decodes(void);

#endif
