/* Signature encodings and verification (key.h): ECDSA DER <-> fixed-width r||s, and
 * checking a signature with a public key under the same bs_sig_params the signer used.
 * Formats differ only in how they carry an ECDSA signature (X.509/CMS: DER; FIT, AHAB,
 * PKCS#11, JWS: raw r||s), so both directions live here once. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"
#include "crypto/key_int.h"

int bs_pkey_type(EVP_PKEY *pkey)
{
	int t = EVP_PKEY_get_base_id(pkey);
	return t == EVP_PKEY_RSA_PSS ? EVP_PKEY_RSA : t;
}

int bs_sig_ctx_setup(EVP_PKEY_CTX *pctx, int key_type, enum bs_sig_scheme scheme, int saltlen,
		     const EVP_MD *md, struct bs_error *err)
{
	if (key_type == EVP_PKEY_RSA) {
		int pad = scheme == BS_SIG_RSA_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0)
			return bs_error_ssl(err, BS_ERR_KEY, "RSA padding not usable with this key");
		if (scheme == BS_SIG_RSA_PSS &&
		    (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
			return bs_error_ssl(err, BS_ERR_CRYPTO, "RSA-PSS parameters");
	}
	if (EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "set signature digest %s",
				    EVP_MD_get0_name(md));
	return 0;
}

size_t bs_ec_field_bytes(EVP_PKEY *pub)
{
	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC)
		return 0;
	int bits = EVP_PKEY_get_bits(pub);
	return bits > 0 ? ((size_t)bits + 7) / 8 : 0;
}

int bs_ecdsa_der_to_raw(uint8_t **out, size_t *out_len, const uint8_t *der, size_t der_len,
			size_t field_bytes, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (der == NULL || field_bytes == 0 || field_bytes > BS_EC_FIELD_MAX ||
	    der_len > 2 * BS_EC_FIELD_MAX + 16)
		return bs_error_set(err, BS_ERR_INVALID, "ECDSA DER to raw: bad input (%zu bytes, "
				    "field %zu)", der_len, field_bytes);
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (es == NULL || p != der + der_len) {
		ECDSA_SIG_free(es);
		ERR_clear_error();
		return bs_error_set(err, BS_ERR_FORMAT, "ECDSA signature is not one DER "
				    "ECDSA-Sig-Value (%zu bytes)", der_len);
	}
	const BIGNUM *r = ECDSA_SIG_get0_r(es), *s = ECDSA_SIG_get0_s(es);
	int rc = 0;
	uint8_t *raw = NULL;
	if (BN_is_negative(r) || BN_is_negative(s) || (size_t)BN_num_bytes(r) > field_bytes ||
	    (size_t)BN_num_bytes(s) > field_bytes) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "ECDSA r or s wider than %zu bytes",
				  field_bytes);
		goto out;
	}
	raw = malloc(2 * field_bytes);
	if (raw == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (BN_bn2binpad(r, raw, (int)field_bytes) < 0 ||
	    BN_bn2binpad(s, raw + field_bytes, (int)field_bytes) < 0) {
		free(raw);
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "ECDSA r||s");
		goto out;
	}
	*out = raw;
	*out_len = 2 * field_bytes;
out:
	ECDSA_SIG_free(es);
	return rc;
}

int bs_ecdsa_raw_to_der(uint8_t **out, size_t *out_len, const uint8_t *raw, size_t raw_len,
			struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (raw == NULL || raw_len == 0 || raw_len % 2 != 0 || raw_len > 2 * BS_EC_FIELD_MAX)
		return bs_error_set(err, BS_ERR_FORMAT, "raw ECDSA signature of %zu bytes",
				    raw_len);
	size_t half = raw_len / 2;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)half, NULL);
	BIGNUM *s = BN_bin2bn(raw + half, (int)half, NULL);
	unsigned char *der = NULL;
	int rc = 0;
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot encode the ECDSA signature");
		goto out;
	}
	int n = i2d_ECDSA_SIG(es, &der);
	if (n <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "cannot encode the ECDSA signature");
		goto out;
	}
	*out = malloc((size_t)n);
	if (*out == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return rc;
}

int bs_sig_params_check(EVP_PKEY *pub, const struct bs_sig_params *p, size_t dlen,
			struct bs_error *err)
{
	int type = bs_pkey_type(pub);
	if (type == EVP_PKEY_ED25519)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "Ed25519 signs messages, not "
				    "precomputed digests");
	const EVP_MD *md = EVP_get_digestbynid(p->md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "unsupported digest nid %d",
				    p->md_nid);
	if ((size_t)EVP_MD_get_size(md) != dlen)
		return bs_error_set(err, BS_ERR_INVALID, "digest is %zu bytes, %s needs %d",
				    dlen, EVP_MD_get0_name(md), EVP_MD_get_size(md));
	if (p->scheme != BS_SIG_DEFAULT && p->scheme != BS_SIG_RSA_PSS)
		return bs_error_set(err, BS_ERR_INVALID, "unknown signature scheme %d",
				    (int)p->scheme);
	if (p->scheme == BS_SIG_RSA_PSS && type != EVP_PKEY_RSA)
		return bs_error_set(err, BS_ERR_KEY, "RSA-PSS requested for a %s key",
				    OBJ_nid2sn(type));
	if (p->ecdsa_raw && type != EVP_PKEY_EC)
		return bs_error_set(err, BS_ERR_KEY, "raw ECDSA requested for a %s key",
				    OBJ_nid2sn(type));
	if (p->scheme == BS_SIG_RSA_PSS && (p->pss_saltlen < -1 ||
					    p->pss_saltlen > BS_PSS_SALT_MAX))
		return bs_error_set(err, BS_ERR_INVALID, "RSA-PSS salt length %d out of range",
				    p->pss_saltlen);
	return 0;
}

int bs_sig_hash(const struct bs_sig_params *p, const uint8_t *msg, size_t len, uint8_t *dg,
		unsigned *dl, struct bs_error *err)
{
	const EVP_MD *md = EVP_get_digestbynid(p->md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "unsupported digest nid %d",
				    p->md_nid);
	if (EVP_Digest(msg, len, dg, dl, md, NULL) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "hashing the message");
	return 0;
}

int bs_sig_verify(EVP_PKEY *pub, const struct bs_sig_params *p, const uint8_t *dgst,
		  size_t dlen, const uint8_t *sig, size_t siglen, struct bs_error *err)
{
	if (pub == NULL || p == NULL || dgst == NULL || sig == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "verify: missing key, parameters, "
				    "digest or signature");
	int rc = bs_sig_params_check(pub, p, dlen, err);
	if (rc != 0)
		return rc;
	int type = bs_pkey_type(pub);
	const EVP_MD *md = EVP_get_digestbynid(p->md_nid);
	uint8_t *der = NULL;
	size_t der_len = 0;
	if (p->ecdsa_raw) {
		if (siglen != 2 * bs_ec_field_bytes(pub))
			return bs_error_set(err, BS_ERR_VERIFY, "raw ECDSA signature is %zu bytes, "
					    "the key needs %zu", siglen, 2 * bs_ec_field_bytes(pub));
		if ((rc = bs_ecdsa_raw_to_der(&der, &der_len, sig, siglen, err)) != 0)
			return rc;
		sig = der;
		siglen = der_len;
	}
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pub, NULL);
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "verify init");
		goto out;
	}
	int salt = p->pss_saltlen == -1 ? RSA_PSS_SALTLEN_DIGEST : p->pss_saltlen;
	if ((rc = bs_sig_ctx_setup(pctx, type, p->scheme, salt, md, err)) != 0)
		goto out;
	if (EVP_PKEY_verify(pctx, sig, siglen, dgst, dlen) != 1) {
		ERR_clear_error();
		rc = bs_error_set(err, BS_ERR_VERIFY, "signature does not verify");
	}
out:
	EVP_PKEY_CTX_free(pctx);
	free(der);
	return rc;
}

int bs_sig_verify_message(EVP_PKEY *pub, const struct bs_sig_params *p, const uint8_t *msg,
			  size_t len, const uint8_t *sig, size_t siglen, struct bs_error *err)
{
	if (pub == NULL || p == NULL || (msg == NULL && len > 0) || sig == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "verify: missing key, parameters, "
				    "message or signature");
	int rc = 0;
	if (bs_pkey_type(pub) != EVP_PKEY_ED25519) {
		uint8_t dg[EVP_MAX_MD_SIZE];
		unsigned dl = 0;
		if ((rc = bs_sig_hash(p, msg, len, dg, &dl, err)) != 0)
			return rc;
		return bs_sig_verify(pub, p, dg, dl, sig, siglen, err);
	}
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	if (mctx == NULL || EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pub) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "verify init");
	} else if (EVP_DigestVerify(mctx, sig, siglen, msg, len) != 1) {
		ERR_clear_error();
		rc = bs_error_set(err, BS_ERR_VERIFY, "signature does not verify");
	}
	EVP_MD_CTX_free(mctx);
	return rc;
}
