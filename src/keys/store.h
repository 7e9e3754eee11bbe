/* Key stores: where the file names of a signing description resolve.
 *
 * A store is one of
 *  - a directory, confined: names resolve only inside the root (no absolute paths, no
 *    "..", no symlinks leaving the root) -> BS_ERR_PATH;
 *  - a directory, unconfined (CST-compatible mode): names resolve like CST does, relative
 *    to the working directory, any path the user can read;
 *  - a tar.gz bundle (the CST PKI tree as `imx-cst-keys.tar.gz`) read into memory with
 *    libarchive. No key is ever written to disk. Names are confined to the bundle.
 *
 * Names starting with "pkcs11:" are not files: they go to the URI loader registered with
 * bs_store_set_uri_loader (the PKCS#11 layer); without one they fail with
 * BS_ERR_UNSUPPORTED. So callers never branch on where a key lives.
 *
 * Private keys for certificates follow CST's rules: the three characters before the last
 * four of the certificate name ("crt" in "..._crt.pem") become "key", the first "crts"
 * becomes "keys"; PEM if the name ends ".pem" (case-insensitive) else DER; PKCS#8,
 * possibly encrypted, with the passphrase from the first line of `key_pass.txt` in the
 * key's directory (absent file = unencrypted key). The key must match the certificate.
 *
 * A store is not thread-safe: use one store per thread at a time (the server keeps a pool
 * of stores per bundle). Bundle stores keep decoded keys for their lifetime, so reusing a
 * store avoids decrypting keys for every signature. */
#ifndef BS_KEYS_STORE_H
#define BS_KEYS_STORE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"
#include "crypto/key.h"

struct bs_store;

/* Loader for pkcs11: URIs (implemented by the PKCS#11 layer). */
struct bs_uri_loader {
	int (*load_cert)(void *ctx, const char *uri, X509 **out, struct bs_error *err);
	int (*load_key)(void *ctx, const char *uri, X509 *cert, struct bs_key **out,
			struct bs_error *err);
};

int bs_store_open_dir(struct bs_store **out, const char *root, bool confined,
		      struct bs_error *err) BS_WUR;
int bs_store_open_tgz(struct bs_store **out, const uint8_t *data, size_t len,
		      struct bs_error *err) BS_WUR;
int bs_store_open_tgz_file(struct bs_store **out, const char *path,
			   struct bs_error *err) BS_WUR;

void bs_store_set_uri_loader(struct bs_store *s, const struct bs_uri_loader *loader,
			     void *ctx);

/* Read a file by name (e.g. the SRK table). *out malloc'd. */
int bs_store_read(struct bs_store *s, const char *name, size_t max, uint8_t **out,
		  size_t *out_len, struct bs_error *err) BS_WUR;
/* Does the name exist (after confinement checks)? */
bool bs_store_exists(struct bs_store *s, const char *name);
/* Load a certificate: PEM if the name ends in .pem or the bytes are PEM text, DER
 * otherwise; or a pkcs11: URI. */
int bs_store_load_cert(struct bs_store *s, const char *name, X509 **out,
		       struct bs_error *err) BS_WUR;
/* Load the private key belonging to certificate `cert_name` (CST naming rules), or the
 * token key for a pkcs11: URI. Checks that it matches cert. */
int bs_store_load_key(struct bs_store *s, const char *cert_name, X509 *cert,
		      struct bs_key **out, struct bs_error *err) BS_WUR;

/* Load private key file `key_name` itself (PEM or DER by content; PKCS#8 possibly
 * encrypted with key_pass.txt beside it, PKCS#1, SEC1), or the token key for a pkcs11:
 * URI. cert (optional) must match. */
int bs_store_load_key_file(struct bs_store *s, const char *key_name, X509 *cert,
			   struct bs_key **out, struct bs_error *err) BS_WUR;

/* Member names of a bundle store (borrowed; NULL and *n = 0 for a directory store). */
const char *const *bs_store_members(struct bs_store *s, size_t *n);

/* The CST certificate -> key file name rule (exposed for tests). *out malloc'd. */
int bs_store_key_name_for_cert(char **out, const char *cert_name, struct bs_error *err) BS_WUR;

/* The store as a format's key source (crypto/key.h); borrowed, valid while s lives. */
struct bs_key_source bs_store_key_source(struct bs_store *s);

void bs_store_free(struct bs_store *s);

#endif
