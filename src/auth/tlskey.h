/* The HTTPS server's credentials with a private key GnuTLS never holds (issue 12).
 *
 * The certificate chain (tls_cert) is parsed here; the private key is a struct bs_key
 * (crypto/key.h) from the keyring's service key "tls_key": a file key in memory, a token
 * key, or under key isolation a stub whose signatures are made by the key process. GnuTLS
 * sees it as an external private key (gnutls_privkey_import_ext4): each handshake asks
 * for one signature, which goes through bs_key_sign / bs_key_sign_message.
 *
 * Signature algorithms offered (the key decides which apply):
 *   RSA:     PKCS#1 v1.5 and RSA-PSS (salt = hash length, RFC 8446 4.2.3; "rsae", an
 *            rsaEncryption certificate) with SHA-256/384/512;
 *   ECDSA:   SHA-256/384/512 (TLS 1.2), and the curve's own scheme in TLS 1.3 (P-256 with
 *            SHA-256, P-384 with SHA-384, P-521 with SHA-512);
 *   Ed25519: pure EdDSA.
 * BS_TLS_PRIORITIES limits the server to TLS 1.2 and 1.3 (no MD5+SHA-1 RSA signatures of
 * TLS 1.0/1.1) without the static RSA key exchange (the key only signs, never decrypts). */
#ifndef BS_AUTH_TLSKEY_H
#define BS_AUTH_TLSKEY_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>

#include "core/error.h"

#define BS_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA"
#define BS_TLS_CHAIN_MAX 16 /* certificates in tls_cert */

struct bs_key;
struct bs_tlskey;

/* Credentials from the PEM certificate chain cert_pem (len bytes; the server's certificate
 * first; cert_path names it in errors) and its private key (taken, also on failure).
 * BS_ERR_CONFIG naming tls_cert / tls_key: no certificate, more than BS_TLS_CHAIN_MAX, a
 * key that does not belong to the first certificate, or a key type TLS cannot use. */
int bs_tlskey_new(struct bs_tlskey **out, const char *cert_pem, size_t len,
		  const char *cert_path, struct bs_key *key, struct bs_error *err) BS_WUR;
/* NULL is a no-op; uninstalls t first when it is installed. */
void bs_tlskey_free(struct bs_tlskey *t);

/* The certificate chain (n certificates) and the external key (borrowed from t). */
void bs_tlskey_get(struct bs_tlskey *t, gnutls_pcert_st **pcerts, unsigned *n,
		   gnutls_privkey_t *key);

/* libmicrohttpd's certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK) takes no closure:
 * bs_tlskey_install makes t the process's credentials for bs_tlskey_retrieve
 * (BS_ERR_BUSY if another one is installed: one HTTPS server per process). */
int bs_tlskey_install(struct bs_tlskey *t, struct bs_error *err) BS_WUR;
/* A gnutls_certificate_retrieve_function2: the installed credentials (borrowed: GnuTLS
 * does not free what this callback returns), or an error when none is installed. */
int bs_tlskey_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		       gnutls_pcert_st **pcert, unsigned int *pcert_length,
		       gnutls_privkey_t *key);

#endif
