/* Certificate issuing through struct bs_key: build the TBS, set the signature algorithm
 * in both places, DER-encode the TBS, hash it, let the key sign the digest and attach the
 * signature bits. No EVP_PKEY private key is needed, so token keys work too. */
#include "crypto/x509.h"

#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int sig_alg_nid(int key_type, int md_nid)
{
	if (key_type == EVP_PKEY_RSA) {
		switch (md_nid) {
		case NID_sha256: return NID_sha256WithRSAEncryption;
		case NID_sha384: return NID_sha384WithRSAEncryption;
		case NID_sha512: return NID_sha512WithRSAEncryption;
		default: return NID_undef;
		}
	}
	if (key_type == EVP_PKEY_EC) {
		switch (md_nid) {
		case NID_sha256: return NID_ecdsa_with_SHA256;
		case NID_sha384: return NID_ecdsa_with_SHA384;
		case NID_sha512: return NID_ecdsa_with_SHA512;
		default: return NID_undef;
		}
	}
	return NID_undef;
}

/* RSA signature algorithms carry a NULL parameter, ECDSA ones none (RFC 3279/5758). */
static int set_algor(X509_ALGOR *alg, int key_type, int nid)
{
	if (key_type == EVP_PKEY_RSA)
		return X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, NULL);
	return X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_UNDEF, NULL);
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct bs_error *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (ext == NULL)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: extension %s=%s",
				    OBJ_nid2sn(nid), value);
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: cannot add %s", OBJ_nid2sn(nid));
	return 0;
}

/* A positive random 64-bit serial (RFC 5280: at most 20 octets, non-negative). */
static int set_serial(X509 *x, struct bs_error *err)
{
	uint8_t rnd[8];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: RAND_bytes");
	rnd[0] &= 0x7f;
	rnd[0] |= 0x01; /* never zero, never a leading zero octet */
	BIGNUM *bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	int rc = 0;
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "x509: serial");
	BN_free(bn);
	return rc;
}

static int build_tbs(X509 *x, const struct bs_x509_params *p, struct bs_error *err)
{
	if (!X509_set_version(x, X509_VERSION_3))
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: version");
	int rc = set_serial(x, err);
	if (rc != 0)
		return rc;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)p->cn, -1, -1, 0))
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: subject CN");
	X509_NAME *iname = p->issuer != NULL ? X509_get_subject_name(p->issuer) : name;
	if (!X509_set_issuer_name(x, iname))
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: issuer name");
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)p->days, 0, NULL) == NULL)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: validity");
	if (!X509_set_pubkey(x, p->subject))
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: public key");

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, p->issuer != NULL ? p->issuer : x, x, NULL, NULL, 0);
	if (p->ca) {
		if ((rc = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE", err)) != 0)
			return rc;
	} else if ((rc = add_ext(x, &ctx, NID_basic_constraints, "CA:FALSE", err)) != 0) {
		return rc;
	}
	if ((rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", err)) != 0)
		return rc;
	if (p->issuer != NULL &&
	    (rc = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err)) != 0)
		return rc;
	return add_ext(x, &ctx, NID_key_usage,
		       p->ca ? "critical,keyCertSign" : "critical,digitalSignature", err);
}

static int sign_cert(X509 *x, int key_type, int md_nid, struct bs_key *signer,
		     struct bs_error *err)
{
	int nid = sig_alg_nid(key_type, md_nid);
	if (nid == NID_undef)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "x509: no signature algorithm for "
				    "key type %d with %s", key_type, OBJ_nid2sn(md_nid));
	/* The TBS copy of the algorithm and the outer one must agree (RFC 5280 4.1.1.2). The
	 * getters return const views of fields owned by x; we are the owner here. */
	X509_ALGOR *tbs_alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	const ASN1_BIT_STRING *csig = NULL;
	const X509_ALGOR *calg = NULL;
	X509_get0_signature(&csig, &calg, x);
	if (tbs_alg == NULL || csig == NULL || calg == NULL ||
	    !set_algor(tbs_alg, key_type, nid) || !set_algor((X509_ALGOR *)calg, key_type, nid))
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: signature algorithm");

	unsigned char *tbs = NULL;
	int tbs_len = i2d_re_X509_tbs(x, &tbs);
	if (tbs_len <= 0)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: encoding the TBS");
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	int ok = EVP_Digest(tbs, (size_t)tbs_len, dgst, &dlen, EVP_get_digestbynid(md_nid), NULL);
	OPENSSL_free(tbs);
	if (!ok)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: hashing the TBS");

	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc = bs_key_sign_digest(signer, md_nid, BS_SIG_DEFAULT, dgst, dlen, &sig, &sig_len,
				    err);
	if (rc != 0)
		return bs_error_prefix(err, "x509: signing with %s", bs_key_id(signer));
	if (sig_len > INT_MAX) {
		free(sig);
		return bs_error_set(err, BS_ERR_CRYPTO, "x509: signature too long");
	}
	ASN1_BIT_STRING *bits = (ASN1_BIT_STRING *)csig;
	if (!ASN1_BIT_STRING_set(bits, sig, (int)sig_len)) {
		free(sig);
		return bs_error_ssl(err, BS_ERR_CRYPTO, "x509: setting the signature");
	}
	free(sig);
	/* Whole octets: no unused bits (same as X509_sign does). */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	return 0;
}

int bs_x509_issue(X509 **out, const struct bs_x509_params *p, struct bs_key *signer,
		  struct bs_error *err)
{
	*out = NULL;
	if (p == NULL || p->cn == NULL || p->subject == NULL || signer == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "x509: missing parameter");
	size_t cn_len = strlen(p->cn);
	if (cn_len == 0 || cn_len > BS_X509_CN_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "x509: commonName must be 1..%d characters",
				    BS_X509_CN_MAX);
	if (p->days == 0 || p->days > 36500)
		return bs_error_set(err, BS_ERR_INVALID, "x509: validity %u days out of range "
				    "1..36500", p->days);
	int md_nid = p->md_nid != 0 ? p->md_nid : NID_sha256;
	EVP_PKEY *spub = bs_key_public(signer);
	if (spub == NULL)
		return bs_error_set(err, BS_ERR_KEY, "x509: signer has no public key");
	/* The signer must own the issuer certificate (or the subject key, self-signed). */
	EVP_PKEY *expect = p->issuer != NULL ? X509_get0_pubkey(p->issuer) : p->subject;
	if (expect == NULL || EVP_PKEY_eq(expect, spub) != 1)
		return bs_error_set(err, BS_ERR_KEY, "x509: %s does not match the issuer key",
				    bs_key_id(signer));

	int rc = 0;
	X509 *x = X509_new();
	X509 *clean = NULL;
	if (x == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = build_tbs(x, p, err)) != 0)
		goto fail;
	if ((rc = sign_cert(x, bs_key_type(signer), md_nid, signer, err)) != 0)
		goto fail;
	/* Re-parse the DER so the returned object has no stale cached encodings, then check
	 * the signature with the public key as an independent sanity check. */
	unsigned char *der = NULL;
	int der_len = i2d_X509(x, &der);
	if (der_len <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "x509: encoding the certificate");
		goto fail;
	}
	const unsigned char *q = der;
	clean = d2i_X509(NULL, &q, der_len);
	OPENSSL_free(der);
	if (clean == NULL) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "x509: re-parsing the certificate");
		goto fail;
	}
	if (X509_verify(clean, spub) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "x509: the new certificate for %s does not "
				  "verify", p->cn);
		goto fail;
	}
	X509_free(x);
	*out = clean;
	return 0;
fail:
	X509_free(x);
	X509_free(clean);
	return rc;
}

int bs_x509_from_bytes(X509 **out, const uint8_t *data, size_t len, bool pem,
		       const char *name, struct bs_error *err)
{
	*out = NULL;
	X509 *x = NULL;
	if (len > INT_MAX) {
		/* nothing to parse: too large for the BIO/d2i length types */
	} else if (pem) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		if (bio != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		const unsigned char *p = data;
		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p != data + len) {
			X509_free(x);
			x = NULL;
		}
	}
	if (x == NULL)
		return bs_error_ssl(err, BS_ERR_FORMAT, "%s: not a %s X.509 certificate", name,
				    pem ? "PEM" : "DER");
	*out = x;
	return 0;
}
