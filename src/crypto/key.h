/* The one key interface: "sign this digest (or message) with key K". Callers never care
 * whether K is a file key held in memory or an object inside a PKCS#11 token; each backend
 * supplies a bs_key_ops table. Hashing happens on the host; only digests reach a backend,
 * except for pure EdDSA (Ed25519), which by definition signs the message itself. */
#ifndef BS_CRYPTO_KEY_H
#define BS_CRYPTO_KEY_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"

enum bs_sig_scheme {
	BS_SIG_DEFAULT = 0, /* RSA: PKCS#1 v1.5 with DigestInfo; EC: ECDSA; Ed25519: EdDSA */
	BS_SIG_RSA_PSS = 1, /* RSA-PSS, MGF1 with the same digest, salt: bs_sig_params */
};

/* How to sign. Zero-initialised = PKCS#1 v1.5 / DER ECDSA with md_nid NID_undef (invalid
 * except for Ed25519), so always set md_nid. */
struct bs_sig_params {
	int md_nid;                /* NID_sha256/384/512 (NID_undef for Ed25519) */
	enum bs_sig_scheme scheme; /* BS_SIG_DEFAULT or BS_SIG_RSA_PSS */
	int pss_saltlen;           /* bytes, 0..BS_PSS_SALT_MAX; -1 = digest length (PSS only;
				    * note 0 really means no salt) */
	bool ecdsa_raw;            /* ECDSA output as fixed-width r||s (2 * field bytes), not DER */
};

struct bs_key_ops {
	/* Sign `dgst` (dlen bytes, the output of p->md_nid). Write at most *siglen bytes to
	 * sig and set *siglen. The key layer normalises p before calling: p->pss_saltlen is an
	 * explicit byte count (never -1) and p->ecdsa_raw is false: ECDSA output is always a
	 * DER ECDSA-Sig-Value (key.c converts to raw). RSA PKCS#1 v1.5 output includes the
	 * DigestInfo encoding for md_nid. Never called for Ed25519 keys. */
	int (*sign_digest)(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
			   size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err);
	void (*free)(void *ctx);
	/* Optional (NULL = BS_ERR_UNSUPPORTED): sign a whole message with an algorithm that
	 * hashes internally (Ed25519). Same buffer contract as sign_digest. */
	int (*sign_message)(void *ctx, const struct bs_sig_params *p, const uint8_t *msg,
			    size_t len, uint8_t *sig, size_t *siglen, struct bs_error *err);
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

/* Sign a precomputed digest (dlen must equal the size of p->md_nid). *out_sig is malloc'd,
 * caller frees. Ed25519 keys: BS_ERR_UNSUPPORTED (pure EdDSA signs messages). A scheme the
 * key cannot do (PSS on EC, raw ECDSA on RSA): BS_ERR_KEY. */
int bs_key_sign(struct bs_key *key, const struct bs_sig_params *p, const uint8_t *dgst,
		size_t dlen, uint8_t **out_sig, size_t *out_len, struct bs_error *err) BS_WUR;

/* Sign a message: hashes it on the host with p->md_nid and calls bs_key_sign; Ed25519 keys
 * sign the message itself (p->md_nid must be NID_undef, scheme BS_SIG_DEFAULT). */
int bs_key_sign_message(struct bs_key *key, const struct bs_sig_params *p, const uint8_t *msg,
			size_t len, uint8_t **out_sig, size_t *out_len,
			struct bs_error *err) BS_WUR;

/* Legacy form of bs_key_sign: PSS salt = digest length, ECDSA as DER. */
int bs_key_sign_digest(struct bs_key *key, int md_nid, enum bs_sig_scheme scheme,
		       const uint8_t *dgst, size_t dlen, uint8_t **out_sig, size_t *out_len,
		       struct bs_error *err) BS_WUR;

/* ECDSA-Sig-Value (DER) -> r||s, each left-padded to field_bytes (32 for P-256, 48 for
 * P-384, 66 for P-521). BS_ERR_FORMAT for bad DER or r/s wider than field_bytes. */
int bs_ecdsa_der_to_raw(uint8_t **out, size_t *out_len, const uint8_t *der, size_t der_len,
			size_t field_bytes, struct bs_error *err) BS_WUR;
/* r||s (even length, halves of equal width) -> DER ECDSA-Sig-Value. */
int bs_ecdsa_raw_to_der(uint8_t **out, size_t *out_len, const uint8_t *raw, size_t raw_len,
			struct bs_error *err) BS_WUR;
/* Field size in bytes of an EC public key (for raw signatures), 0 if not EC. */
size_t bs_ec_field_bytes(EVP_PKEY *pub);

/* Verify a signature over a digest with a public key and the same params bs_key_sign took
 * (PSS salt -1 = digest length; ecdsa_raw = sig is r||s). BS_ERR_VERIFY if it does not
 * verify, BS_ERR_UNSUPPORTED for Ed25519 (use bs_sig_verify_message). */
int bs_sig_verify(EVP_PKEY *pub, const struct bs_sig_params *p, const uint8_t *dgst,
		  size_t dlen, const uint8_t *sig, size_t siglen, struct bs_error *err) BS_WUR;
/* The same over a message (hashed here; Ed25519 verifies the message itself). */
int bs_sig_verify_message(EVP_PKEY *pub, const struct bs_sig_params *p, const uint8_t *msg,
			  size_t len, const uint8_t *sig, size_t siglen,
			  struct bs_error *err) BS_WUR;

/* The public key (borrowed). */
EVP_PKEY *bs_key_public(const struct bs_key *key);

/* The public key as DER SubjectPublicKeyInfo (*len bytes), encoded once per key and kept
 * with it (valid while the key is); NULL if it cannot be encoded. */
const uint8_t *bs_key_public_der(struct bs_key *key, size_t *len);
/* Log-safe identifier (borrowed). */
const char *bs_key_id(const struct bs_key *key);
/* EVP_PKEY_RSA (also for RSA-PSS keys), EVP_PKEY_EC or EVP_PKEY_ED25519. */
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
