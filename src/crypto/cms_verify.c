/* CMS detached signature verification and inspection (cms.h), on OpenSSL's parser.
 *
 * Structure problems (not DER, not SignedData, content attached, not exactly one
 * SignerInfo, required attribute missing or malformed) are BS_ERR_FORMAT; a well-formed
 * signature that fails a check (digest algorithm, contentType, messageDigest, signer id,
 * signature value) is BS_ERR_VERIFY. Messages name the failed check. The signature over
 * signed attributes is checked with CMS_SignerInfo_verify after installing a throwaway
 * certificate that carries only `pub` (the caller's key may come from an SRK table entry
 * with no certificate); without signed attributes the content digest is verified
 * directly with EVP_PKEY_verify. */
#include "core/limits.h"
#include "crypto/cms.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

static void fill_sid(struct bs_cms_info *info, CMS_SignerInfo *si)
{
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *sno = NULL;
	if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &sno) != 1)
		return;
	if (issuer != NULL) {
		BIO *b = BIO_new(BIO_s_mem());
		if (b != NULL && X509_NAME_print_ex(b, issuer, 0, XN_FLAG_ONELINE) >= 0) {
			int n = BIO_read(b, info->issuer, (int)sizeof(info->issuer) - 1);
			info->issuer[n > 0 ? n : 0] = '\0';
		}
		BIO_free(b);
	}
	if (sno != NULL) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(sno, NULL);
		char *hex = bn ? BN_bn2hex(bn) : NULL;
		if (hex != NULL) {
			size_t n = strlen(hex);
			if (n >= sizeof(info->serial))
				n = sizeof(info->serial) - 1;
			memcpy(info->serial, hex, n);
			info->serial[n] = '\0';
		}
		OPENSSL_free(hex);
		BN_free(bn);
	}
}

/* The single value of a signed attribute, or NULL (absent or multi-valued: *bad = true). */
static ASN1_TYPE *attr_value(CMS_SignerInfo *si, int nid, bool *bad)
{
	*bad = false;
	int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
	if (idx < 0)
		return NULL;
	if (CMS_signed_get_attr_by_NID(si, nid, idx) >= 0) {
		*bad = true;
		return NULL;
	}
	X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
	if (a == NULL || X509_ATTRIBUTE_count(a) != 1) {
		*bad = true;
		return NULL;
	}
	return X509_ATTRIBUTE_get0_type(a, 0);
}

/* Parse and collect facts. On success *cms_out and *si_out are set. */
static int parse(const uint8_t *der, size_t len, struct bs_cms_info *info,
		 CMS_ContentInfo **cms_out, CMS_SignerInfo **si_out, struct bs_error *err)
{
	*cms_out = NULL;
	*si_out = NULL;
	memset(info, 0, sizeof(*info));
	if (der == NULL || len == 0)
		return bs_error_set(err, BS_ERR_FORMAT, "CMS: empty");
	if (len > BS_CMS_VERIFY_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "CMS: %zu bytes, limit is %u", len,
				    BS_CMS_VERIFY_MAX);
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL)
		return bs_error_ssl(err, BS_ERR_FORMAT, "CMS: not a DER ContentInfo");
	int rc = 0;
	if (p != der + len) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: %zu trailing bytes after ContentInfo",
				  (size_t)(der + len - p));
		goto fail;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: content type is %s, not SignedData",
				  OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(cms))));
		goto fail;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	info->n_signers = sis ? (size_t)sk_CMS_SignerInfo_num(sis) : 0;
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	info->n_certs = certs ? (size_t)sk_X509_num(certs) : 0;
	sk_X509_pop_free(certs, X509_free);
	if (info->n_signers != 1) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: %zu SignerInfos, expected exactly one",
				  info->n_signers);
		goto fail;
	}
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	fill_sid(info, si);
	X509_ALGOR *dig = NULL, *sig = NULL;
	EVP_PKEY *pk = NULL;
	X509 *signer = NULL;
	CMS_SignerInfo_get0_algs(si, &pk, &signer, &dig, &sig);
	info->md_nid = dig ? OBJ_obj2nid(dig->algorithm) : NID_undef;
	info->has_signed_attrs = CMS_signed_get_attr_count(si) > 0;
	bool bad = false;
	ASN1_TYPE *t = attr_value(si, NID_pkcs9_signingTime, &bad);
	if (bad) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: signingTime attribute is not "
				  "single-valued");
		goto fail;
	}
	if (t != NULL) {
		struct tm tm;
		if ((t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME) ||
		    ASN1_TIME_to_tm((ASN1_TIME *)t->value.utctime, &tm) != 1) {
			rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: signingTime is not a time");
			goto fail;
		}
		info->has_signing_time = true;
		info->signing_time = timegm(&tm);
	}
	*cms_out = cms;
	*si_out = si;
	return 0;
fail:
	CMS_ContentInfo_free(cms);
	return rc;
}

int bs_cms_inspect(const uint8_t *der, size_t len, struct bs_cms_info *info,
		   struct bs_error *err)
{
	struct bs_cms_info local;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	int rc = parse(der, len, info ? info : &local, &cms, &si, err);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* Without signed attributes the signature is over the content digest itself. */
static int verify_raw(CMS_SignerInfo *si, EVP_PKEY *pub, int md_nid, const uint8_t *dgst,
		      size_t dlen, struct bs_error *err)
{
	X509_ALGOR *dig = NULL, *salg = NULL;
	EVP_PKEY *pk = NULL;
	X509 *signer = NULL;
	CMS_SignerInfo_get0_algs(si, &pk, &signer, &dig, &salg);
	ASN1_OCTET_STRING *s = CMS_SignerInfo_get0_signature(si);
	int snid = salg ? OBJ_obj2nid(salg->algorithm) : NID_undef;
	int rc = 0;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (ctx == NULL || md == NULL || s == NULL || EVP_PKEY_verify_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "CMS: verify setup");
		goto out;
	}
	if (snid == NID_rsassaPss &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0)) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "CMS: RSA-PSS setup");
		goto out;
	}
	if (EVP_PKEY_verify(ctx, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), dgst,
			    dlen) != 1)
		rc = bs_error_ssl(err, BS_ERR_VERIFY, "CMS: signature check failed (no signed "
				  "attributes)");
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int verify_attrs_sig(CMS_SignerInfo *si, EVP_PKEY *pub, struct bs_error *err)
{
	X509 *holder = X509_new();
	if (holder == NULL || X509_set_pubkey(holder, pub) != 1) {
		X509_free(holder);
		return bs_error_ssl(err, BS_ERR_CRYPTO, "CMS: public key holder");
	}
	CMS_SignerInfo_set1_signer_cert(si, holder);
	X509_free(holder);
	int r = CMS_SignerInfo_verify(si);
	if (r != 1)
		return bs_error_ssl(err, BS_ERR_VERIFY, "CMS: signature check failed");
	return 0;
}

int bs_cms_verify_digest(const uint8_t *der, size_t len, EVP_PKEY *pub, X509 *cert,
			 int expect_md_nid, const uint8_t *content_digest, size_t dlen,
			 struct bs_cms_info *info, struct bs_error *err)
{
	struct bs_cms_info local;
	if (info == NULL)
		info = &local;
	if (pub == NULL && cert != NULL)
		pub = X509_get0_pubkey(cert);
	if (pub == NULL || content_digest == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "CMS verify: no public key or digest");
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	int rc = parse(der, len, info, &cms, &si, err);
	if (rc != 0)
		return rc;
	ASN1_OCTET_STRING **content = CMS_get0_content(cms);
	if (content != NULL && *content != NULL) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: content is attached, expected a "
				  "detached signature");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		rc = bs_error_set(err, BS_ERR_VERIFY, "CMS: eContentType is %s, not id-data",
				  OBJ_nid2sn(OBJ_obj2nid(CMS_get0_eContentType(cms))));
		goto out;
	}
	const EVP_MD *md = EVP_get_digestbynid(info->md_nid);
	if (md == NULL) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: unsupported digest algorithm %s",
				  OBJ_nid2sn(info->md_nid));
		goto out;
	}
	if (expect_md_nid != 0 && info->md_nid != expect_md_nid) {
		rc = bs_error_set(err, BS_ERR_VERIFY, "CMS: digest algorithm is %s, expected %s",
				  OBJ_nid2sn(info->md_nid), OBJ_nid2sn(expect_md_nid));
		goto out;
	}
	if ((size_t)EVP_MD_get_size(md) != dlen) {
		rc = bs_error_set(err, BS_ERR_INVALID, "CMS verify: digest is %zu bytes, %s needs "
				  "%d", dlen, OBJ_nid2sn(info->md_nid), EVP_MD_get_size(md));
		goto out;
	}
	if (cert != NULL && CMS_SignerInfo_cert_cmp(si, cert) != 0) {
		rc = bs_error_set(err, BS_ERR_VERIFY, "CMS: signer id (issuer %s, serial %s) does "
				  "not name the certificate", info->issuer, info->serial);
		goto out;
	}
	if (info->has_signed_attrs) {
		bool bad = false;
		ASN1_TYPE *ct = attr_value(si, NID_pkcs9_contentType, &bad);
		if (ct == NULL || ct->type != V_ASN1_OBJECT) {
			rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: contentType attribute %s",
					  ct == NULL && !bad ? "missing" : "malformed");
			goto out;
		}
		if (OBJ_obj2nid(ct->value.object) != NID_pkcs7_data) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "CMS: contentType attribute is %s, "
					  "not id-data", OBJ_nid2sn(OBJ_obj2nid(ct->value.object)));
			goto out;
		}
		ASN1_TYPE *mdv = attr_value(si, NID_pkcs9_messageDigest, &bad);
		if (mdv == NULL || mdv->type != V_ASN1_OCTET_STRING) {
			rc = bs_error_set(err, BS_ERR_FORMAT, "CMS: messageDigest attribute %s",
					  mdv == NULL && !bad ? "missing" : "malformed");
			goto out;
		}
		const ASN1_OCTET_STRING *os = mdv->value.octet_string;
		if ((size_t)ASN1_STRING_length(os) != dlen ||
		    CRYPTO_memcmp(ASN1_STRING_get0_data(os), content_digest, dlen) != 0) {
			rc = bs_error_set(err, BS_ERR_VERIFY, "CMS: messageDigest does not match "
					  "the content (%s)", OBJ_nid2sn(info->md_nid));
			goto out;
		}
		rc = verify_attrs_sig(si, pub, err);
	} else {
		rc = verify_raw(si, pub, info->md_nid, content_digest, dlen, err);
	}
out:
	CMS_ContentInfo_free(cms);
	return rc;
}
