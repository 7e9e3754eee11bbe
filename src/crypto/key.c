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

struct bs_key {
	const struct bs_key_ops *ops;
	void *ctx;
	EVP_PKEY *pub;
	char *id;
	atomic_int refs;
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
	k->ops = ops;
	k->ctx = ctx;
	k->pub = pub;
	k->id = idc;
	*out = k;
	return 0;
}

/* ---- file backend ---- */

static int file_sign_digest(void *ctx, int md_nid, enum bs_sig_scheme scheme,
			    const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen,
			    struct bs_error *err)
{
	EVP_PKEY *priv = ctx;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "unsupported digest nid %d", md_nid);
	if ((size_t)EVP_MD_get_size(md) != dlen)
		return bs_error_set(err, BS_ERR_INVALID, "digest is %zu bytes, %s needs %d",
				    dlen, EVP_MD_get0_name(md), EVP_MD_get_size(md));
	int type = EVP_PKEY_get_base_id(priv);
	bool is_rsa = type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS;
	if (scheme == BS_SIG_RSA_PSS && !is_rsa)
		return bs_error_set(err, BS_ERR_KEY, "RSA-PSS requested for a non-RSA key");
	int rc = 0;
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(priv, NULL);
	if (pctx == NULL || EVP_PKEY_sign_init(pctx) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "sign init");
		goto out;
	}
	if (is_rsa) {
		int pad = scheme == BS_SIG_RSA_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0) {
			rc = bs_error_ssl(err, BS_ERR_KEY, "RSA padding not usable with this key");
			goto out;
		}
		if (scheme == BS_SIG_RSA_PSS &&
		    (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0)) {
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "RSA-PSS parameters");
			goto out;
		}
	}
	if (EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "set signature digest %s",
				  EVP_MD_get0_name(md));
		goto out;
	}
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

static void file_free(void *ctx)
{
	/* EVP_PKEY_free clears the key's bignums (BN_clear_free) for private keys. */
	EVP_PKEY_free(ctx);
}

static const struct bs_key_ops file_ops = {
	.sign_digest = file_sign_digest,
	.free = file_free,
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
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_RSA_PSS && type != EVP_PKEY_EC) {
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

int bs_key_sign_digest(struct bs_key *key, int md_nid, enum bs_sig_scheme scheme,
		       const uint8_t *dgst, size_t dlen, uint8_t **out_sig, size_t *out_len,
		       struct bs_error *err)
{
	*out_sig = NULL;
	*out_len = 0;
	if (key == NULL || dgst == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "sign: no key or digest");
	int size = EVP_PKEY_get_size(key->pub);
	if (size <= 0)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "key %s: signature size", key->id);
	size_t cap = (size_t)size + 16;
	uint8_t *sig = malloc(cap);
	if (sig == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	size_t len = cap;
	int rc = key->ops->sign_digest(key->ctx, md_nid, scheme, dgst, dlen, sig, &len, err);
	if (rc == 0 && (len == 0 || len > cap))
		rc = bs_error_set(err, BS_ERR_INTERNAL, "key %s: backend returned %zu bytes",
				  key->id, len);
	if (rc != 0) {
		free(sig);
		if (err != NULL && err->code == rc)
			bs_error_prefix(err, "key %s", key->id);
		return rc;
	}
	*out_sig = sig;
	*out_len = len;
	return 0;
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
	if (key == NULL)
		return 0;
	int t = EVP_PKEY_get_base_id(key->pub);
	return t == EVP_PKEY_RSA_PSS ? EVP_PKEY_RSA : t;
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
	free(key->id);
	free(key);
}
