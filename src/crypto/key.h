/* The one key interface: "sign this digest with key K". Callers never care whether K is
 * a file key held in memory or an object inside a PKCS#11 token; each backend supplies a
 * bs_key_ops table. Hashing always happens on the host; only digests reach a backend. */
#ifndef BS_CRYPTO_KEY_H
#define BS_CRYPTO_KEY_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum bs_sig_scheme {
	BS_SIG_DEFAULT = 0, /* RSA: PKCS#1 v1.5 with DigestInfo; EC: ECDSA (DER Sig-Value) */
	BS_SIG_RSA_PSS = 1, /* RSA-PSS, MGF1 with the same digest, salt length = digest length */
};

struct bs_key_ops {
	/* Sign `dgst` (dlen bytes, the output of md_nid). Write at most *siglen bytes to
	 * sig and set *siglen. RSA PKCS#1 v1.5 output includes the DigestInfo encoding for
	 * md_nid; ECDSA output is a DER ECDSA-Sig-Value. */
	int (*sign_digest)(void *ctx, int md_nid, enum bs_sig_scheme scheme,
			   const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen,
			   struct bs_error *err);
	void (*free)(void *ctx);
};

struct bs_key;

/* Wrap a backend. Takes ownership of ctx (freed with ops->free) and of one reference to
 * `pub` (the public key, used for sizes and verification). `id` names the key in logs
 * (file name, token label/id), never secret. */
int bs_key_new(struct bs_key **out, const struct bs_key_ops *ops, void *ctx, EVP_PKEY *pub,
	       const char *id, struct bs_error *err) BS_WUR;

/* A key held in memory (file backend). Takes ownership of one reference to priv. */
int bs_key_from_pkey(struct bs_key **out, EVP_PKEY *priv, const char *id,
		     struct bs_error *err) BS_WUR;

/* Sign a digest. *out_sig is malloc'd, caller frees. */
int bs_key_sign_digest(struct bs_key *key, int md_nid, enum bs_sig_scheme scheme,
		       const uint8_t *dgst, size_t dlen, uint8_t **out_sig, size_t *out_len,
		       struct bs_error *err) BS_WUR;

/* The public key (borrowed). */
EVP_PKEY *bs_key_public(const struct bs_key *key);
/* Log-safe identifier (borrowed). */
const char *bs_key_id(const struct bs_key *key);
/* EVP_PKEY_RSA or EVP_PKEY_EC. */
int bs_key_type(const struct bs_key *key);

/* Keys are reference-counted: bs_key_ref adds a reference (returns key), bs_key_free
 * drops one and frees the key with the last. */
struct bs_key *bs_key_ref(struct bs_key *key);
void bs_key_free(struct bs_key *key);

/* Where a format's named certificates and keys come from: a key store (keys/store.h), a
 * keyring lease (keys/keyring.h) or anything else that can answer these three questions.
 * Formats see only this, never the store, the token or a cache.
 *  read:      a whole file by name (e.g. an SRK table), at most max bytes; *out malloc'd.
 *  load_cert: a certificate by name or pkcs11: URI.
 *  load_key:  the private key belonging to certificate `cert_name` (CST naming rules for
 *             files; the private-key object for a URI), checked against cert. */
struct bs_key_source {
	int (*read)(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		    struct bs_error *err);
	int (*load_cert)(void *ctx, const char *name, X509 **out, struct bs_error *err);
	int (*load_key)(void *ctx, const char *cert_name, X509 *cert, struct bs_key **out,
			struct bs_error *err);
	void *ctx;
};

/* Makes keys inside a key holder (a PKCS#11 token) for a PKI ceremony; file keys need
 * none. keytype: "rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521". */
struct bs_keygen {
	int (*generate)(void *ctx, const char *keytype, const char *label, const uint8_t *id,
			size_t id_len, struct bs_key **out, struct bs_error *err);
	int (*write_cert)(void *ctx, X509 *cert, const char *label, const uint8_t *id,
			  size_t id_len, struct bs_error *err);
	void *ctx;
};

#endif
