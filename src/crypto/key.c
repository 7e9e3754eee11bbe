/* The key interface (key.h) and its file backend: a private EVP_PKEY held in memory.
 *
 * struct bs_key is a thin wrapper around a backend ops table so the CMS builder, the SRK
 * code and the format signers only ever ask "sign this digest". The file backend signs
 * with EVP_PKEY_sign and an explicit signature_md, so RSA PKCS#1 v1.5 output carries the
 * DigestInfo for md_nid exactly as a token's CKM_RSA_PKCS over DigestInfo would. */
#include "crypto/key.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "crypto/key_int.h"

struct pub_der {
	size_t len;
	uint8_t bytes[];
};

struct bs_key {
	const struct bs_key_ops *ops;
	void *ctx;
	EVP_PKEY *pub;
	char *id;
	atomic_int refs;
	_Atomic(struct pub_der *) der; /* SubjectPublicKeyInfo, encoded on first use */
};

int bs_key_new(struct bs_key **out, const struct bs_key_ops *ops, void *ctx, EVP_PKEY *pub,
	       const char *id, struct bs_error *err)
{
	*out = NULL;
	if (ops == NULL || ops->sign_digest == NULL || pub == NULL) {
		if (ops != NULL && ops->free != NULL)
			ops->free(ctx);
		EVP_PKEY_free(pub);
		return bs_error_set(err, BS_ERR_INVALID, "key %s: no backend or public key",
				    id ? id : "(unnamed)");
	}
	struct bs_key *k = calloc(1, sizeof(*k));
	char *idc = bs_strdup(id ? id : "(unnamed)");
	if (k == NULL || idc == NULL) {
		free(k);
		free(idc);
		if (ops->free != NULL)
			ops->free(ctx);
		EVP_PKEY_free(pub);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	atomic_init(&k->refs, 1);
	atomic_init(&k->der, NULL);
	k->ops = ops;
	k->ctx = ctx;
	k->pub = pub;
	k->id = idc;
	*out = k;
	return 0;
}

/* ---- file backend ---- */

static int file_sign_digest(void *ctx, const struct bs_sig_params *p, const uint8_t *dgst,
			    size_t dlen, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	EVP_PKEY *priv = ctx;
	const EVP_MD *md = EVP_get_digestbynid(p->md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "unsupported digest nid %d",
				    p->md_nid);
	int rc = 0;
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(priv, NULL);
	if (pctx == NULL || EVP_PKEY_sign_init(pctx) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "sign init");
		goto out;
	}
	rc = bs_sig_ctx_setup(pctx, bs_pkey_type(priv), p->scheme, p->pss_saltlen, md, err);
	if (rc != 0)
		goto out;
	size_t need = 0;
	if (EVP_PKEY_sign(pctx, NULL, &need, dgst, dlen) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "sign (size)");
		goto out;
	}
	if (need > *siglen) {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "signature buffer too small (%zu < %zu)",
				  *siglen, need);
		goto out;
	}
	if (EVP_PKEY_sign(pctx, sig, siglen, dgst, dlen) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "sign");
		goto out;
	}
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/* Pure EdDSA: the whole message goes into one EVP_DigestSign call. */
static int file_sign_message(void *ctx, const struct bs_sig_params *p, const uint8_t *msg,
			     size_t len, uint8_t *sig, size_t *siglen, struct bs_error *err)
{
	(void)p;
	EVP_PKEY *priv = ctx;
	int rc = 0;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	size_t need = 0;
	if (mctx == NULL || EVP_DigestSignInit(mctx, NULL, NULL, NULL, priv) <= 0 ||
	    EVP_DigestSign(mctx, NULL, &need, msg, len) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "message sign init");
		goto out;
	}
	if (need > *siglen) {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "signature buffer too small (%zu < %zu)",
				  *siglen, need);
		goto out;
	}
	if (EVP_DigestSign(mctx, sig, siglen, msg, len) <= 0)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "message sign");
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

static void file_free(void *ctx)
{
	/* EVP_PKEY_free clears the key's bignums (BN_clear_free) for private keys. */
	EVP_PKEY_free(ctx);
}

static const struct bs_key_ops file_ops = {
	.sign_digest = file_sign_digest,
	.free = file_free,
	.sign_message = file_sign_message,
};

/* A public-only copy so bs_key_public never hands private material to callers. */
static EVP_PKEY *public_copy(EVP_PKEY *priv)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(priv, &der);
	if (n <= 0)
		return NULL;
	const unsigned char *p = der;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	return pub;
}

int bs_key_from_pkey(struct bs_key **out, EVP_PKEY *priv, const char *id,
		     struct bs_error *err)
{
	*out = NULL;
	if (priv == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "key %s: no key", id ? id : "(unnamed)");
	int type = EVP_PKEY_get_base_id(priv);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_RSA_PSS && type != EVP_PKEY_EC &&
	    type != EVP_PKEY_ED25519) {
		EVP_PKEY_free(priv);
		return bs_error_set(err, BS_ERR_KEY, "key %s: unsupported key type %s",
				    id ? id : "(unnamed)", OBJ_nid2sn(type));
	}
	EVP_PKEY *pub = public_copy(priv);
	if (pub == NULL) {
		EVP_PKEY_free(priv);
		return bs_error_ssl(err, BS_ERR_CRYPTO, "key %s: public key", id ? id : "(unnamed)");
	}
	return bs_key_new(out, &file_ops, priv, pub, id, err);
}

/* Room for any signature of this key, as DER (ECDSA DER is a few bytes over 2 * field). */
static int sig_buf(const struct bs_key *key, uint8_t **out, size_t *cap, struct bs_error *err)
{
	int size = EVP_PKEY_get_size(key->pub);
	if (size <= 0)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "key %s: signature size", key->id);
	*cap = (size_t)size + 16;
	*out = malloc(*cap);
	if (*out == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	return 0;
}

/* Largest PSS salt for this key and digest: emLen - hLen - 2 (RFC 8017 9.1.1). */
static int pss_salt_max(EVP_PKEY *pub, size_t hlen)
{
	int bits = EVP_PKEY_get_bits(pub);
	long em = (bits - 1 + 7) / 8;
	long max = em - (long)hlen - 2;
	return max < 0 ? -1 : max > BS_PSS_SALT_MAX ? BS_PSS_SALT_MAX : (int)max;
}

/* Check p against the key and the digest and fill *n: the params a backend sees. */
static int check_params(const struct bs_key *key, const struct bs_sig_params *p, size_t dlen,
			struct bs_sig_params *n, struct bs_error *err)
{
	int rc = bs_sig_params_check(key->pub, p, dlen, err);
	if (rc != 0)
		return rc;
	*n = *p;
	n->ecdsa_raw = false;
	if (p->scheme != BS_SIG_RSA_PSS) {
		n->pss_saltlen = 0;
		return 0;
	}
	if (p->pss_saltlen == -1)
		n->pss_saltlen = (int)dlen;
	int max = pss_salt_max(key->pub, dlen);
	if (n->pss_saltlen > max)
		return bs_error_set(err, BS_ERR_INVALID, "RSA-PSS salt length %d out of range "
				    "0..%d for this key and %s", p->pss_saltlen, max,
				    OBJ_nid2sn(p->md_nid));
	return 0;
}

int bs_key_sign(struct bs_key *key, const struct bs_sig_params *p, const uint8_t *dgst,
		size_t dlen, uint8_t **out_sig, size_t *out_len, struct bs_error *err)
{
	*out_sig = NULL;
	*out_len = 0;
	if (key == NULL || p == NULL || dgst == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "sign: no key, parameters or digest");
	struct bs_sig_params n;
	uint8_t *sig = NULL;
	size_t cap = 0;
	int rc = check_params(key, p, dlen, &n, err);
	if (rc != 0)
		goto fail;
	if ((rc = sig_buf(key, &sig, &cap, err)) != 0)
		return rc;
	size_t len = cap;
	rc = key->ops->sign_digest(key->ctx, &n, dgst, dlen, sig, &len, err);
	if (rc == 0 && (len == 0 || len > cap))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "backend returned %zu bytes", len);
	if (rc == 0 && p->ecdsa_raw) {
		uint8_t *raw = NULL;
		size_t raw_len = 0;
		rc = bs_ecdsa_der_to_raw(&raw, &raw_len, sig, len, bs_ec_field_bytes(key->pub),
					 err);
		free(sig);
		sig = raw;
		len = raw_len;
	}
	if (rc != 0) {
		free(sig);
		goto fail;
	}
	*out_sig = sig;
	*out_len = len;
	return 0;
fail:
	if (err != NULL && err->code == rc)
		bs_error_prefix(err, "key %s", key->id);
	return rc;
}

int bs_key_sign_message(struct bs_key *key, const struct bs_sig_params *p, const uint8_t *msg,
			size_t len, uint8_t **out_sig, size_t *out_len, struct bs_error *err)
{
	*out_sig = NULL;
	*out_len = 0;
	if (key == NULL || p == NULL || (msg == NULL && len > 0))
		return bs_error_set(err, BS_ERR_INVALID, "sign: no key, parameters or message");
	if (bs_key_type(key) != EVP_PKEY_ED25519) {
		uint8_t dg[EVP_MAX_MD_SIZE];
		unsigned dl = 0;
		int rc = bs_sig_hash(p, msg, len, dg, &dl, err);
		if (rc != 0) {
			bs_error_prefix(err, "key %s", key->id);
			return rc;
		}
		return bs_key_sign(key, p, dg, dl, out_sig, out_len, err);
	}
	if (p->md_nid != NID_undef || p->scheme != BS_SIG_DEFAULT || p->ecdsa_raw)
		return bs_error_set(err, BS_ERR_INVALID, "key %s: Ed25519 takes no digest, "
				    "scheme or ECDSA option", key->id);
	if (key->ops->sign_message == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "key %s: this key store cannot "
				    "sign whole messages", key->id);
	uint8_t *sig = NULL;
	size_t cap = 0;
	int rc = sig_buf(key, &sig, &cap, err);
	if (rc != 0)
		return rc;
	size_t sl = cap;
	rc = key->ops->sign_message(key->ctx, p, msg, len, sig, &sl, err);
	if (rc == 0 && (sl == 0 || sl > cap))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "backend returned %zu bytes", sl);
	if (rc != 0) {
		free(sig);
		if (err != NULL && err->code == rc)
			bs_error_prefix(err, "key %s", key->id);
		return rc;
	}
	*out_sig = sig;
	*out_len = sl;
	return 0;
}

int bs_key_sign_digest(struct bs_key *key, int md_nid, enum bs_sig_scheme scheme,
		       const uint8_t *dgst, size_t dlen, uint8_t **out_sig, size_t *out_len,
		       struct bs_error *err)
{
	struct bs_sig_params p = {.md_nid = md_nid, .scheme = scheme, .pss_saltlen = -1};
	return bs_key_sign(key, &p, dgst, dlen, out_sig, out_len, err);
}

EVP_PKEY *bs_key_public(const struct bs_key *key)
{
	return key ? key->pub : NULL;
}

const char *bs_key_id(const struct bs_key *key)
{
	return key ? key->id : NULL;
}

int bs_key_type(const struct bs_key *key)
{
	return key == NULL ? 0 : bs_pkey_type(key->pub);
}

struct bs_key *bs_key_ref(struct bs_key *key)
{
	if (key != NULL)
		atomic_fetch_add(&key->refs, 1);
	return key;
}

void bs_key_free(struct bs_key *key)
{
	if (key == NULL || atomic_fetch_sub(&key->refs, 1) > 1)
		return;
	if (key->ops->free != NULL)
		key->ops->free(key->ctx);
	EVP_PKEY_free(key->pub);
	free(atomic_load(&key->der));
	free(key->id);
	free(key);
}

const uint8_t *bs_key_public_der(struct bs_key *key, size_t *len)
{
	struct pub_der *d = atomic_load(&key->der);
	if (d == NULL) {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(key->pub, &der);
		if (n <= 0 || (d = malloc(sizeof(*d) + (size_t)n)) == NULL) {
			OPENSSL_free(der);
			ERR_clear_error();
			return NULL;
		}
		d->len = (size_t)n;
		memcpy(d->bytes, der, (size_t)n);
		OPENSSL_free(der);
		struct pub_der *none = NULL;
		if (!atomic_compare_exchange_strong(&key->der, &none, d)) {
			free(d); /* another thread encoded it first */
			d = none;
		}
	}
	*len = d->len;
	return d->bytes;
}
