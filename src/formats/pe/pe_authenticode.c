/* Authenticode SignedData for a PE image digest (pe.h).
 *
 * Layout (Authenticode PE specification; what sbsign and osslsigncode write): a PKCS#7
 * SignedData whose content type is SPC_INDIRECT_DATA_OBJID and whose content is the
 * SpcIndirectDataContent SEQUENCE itself (PKCS#7 [0] EXPLICIT ANY, not a CMS OCTET
 * STRING):
 *
 *   SpcIndirectDataContent ::= SEQUENCE {
 *     data SEQUENCE { type SPC_PE_IMAGE_DATAOBJ,
 *                     value SpcPeImageData ::= SEQUENCE { flags BIT STRING {},
 *                       file [0] EXPLICIT SpcLink: [2] EXPLICIT SpcString:
 *                         [0] IMPLICIT BMPString "<<<Obsolete>>>" } },
 *     messageDigest DigestInfo }
 *
 * The signed attributes are contentType (SPC_INDIRECT_DATA_OBJID), signingTime,
 * SpcSpOpusInfo (empty) and messageDigest, the digest of the SpcIndirectDataContent's
 * value (its contents octets, without the outer tag and length). The eContent is written
 * with crypto/der.h, the rest with OpenSSL's PKCS7 templates (which DER-sort the attribute
 * SET) and the signature comes from the key
 * interface, so token keys work. */
#include "formats/pe/pe.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "crypto/der.h"

#define OID_SPC_INDIRECT_DATA "1.3.6.1.4.1.311.2.1.4"
#define OID_SPC_PE_IMAGE_DATA "1.3.6.1.4.1.311.2.1.15"
#define OID_SPC_SP_OPUS_INFO "1.3.6.1.4.1.311.2.1.12"
#define IDC_MAX 512u
#define DER_BIT_STRING 0x03 /* the encoded SpcIndirectDataContent (a digest of <= 64 bytes) */

/* "<<<Obsolete>>>" as a big-endian BMPString */
static const uint8_t obsolete_bmp[] = {0, '<', 0, '<', 0, '<', 0, 'O', 0, 'b', 0, 's', 0, 'o',
				       0, 'l', 0, 'e', 0, 't', 0, 'e', 0, '>', 0, '>', 0, '>'};

/* SEQUENCE { SEQUENCE { SPC_PE_IMAGE_DATAOBJ, SpcPeImageData }, DigestInfo } */
static int build_idc(struct bs_buf *idc, int md_nid, const uint8_t *digest, size_t dlen)
{
	static const uint8_t no_flags = 0; /* BIT STRING: 0 unused bits, no bits */
	struct bs_buf a, b, c;
	bs_buf_init(&a, IDC_MAX);
	bs_buf_init(&b, IDC_MAX);
	bs_buf_init(&c, IDC_MAX);
	ASN1_OBJECT *pe_oid = OBJ_txt2obj(OID_SPC_PE_IMAGE_DATA, 1);
	/* SpcLink file [2] EXPLICIT SpcString unicode [0] IMPLICIT BMPString */
	int rc = bs_der_tlv(&a, BS_DER_CTXP0, obsolete_bmp, sizeof(obsolete_bmp));
	if (rc == 0)
		rc = bs_der_wrap(&b, BS_DER_CTX2, &a);
	/* SpcPeImageData { flags, file [0] EXPLICIT SpcLink } */
	if (rc == 0)
		rc = bs_der_tlv(&a, DER_BIT_STRING, &no_flags, 1);
	if (rc == 0)
		rc = bs_der_wrap(&a, BS_DER_CTX0, &b);
	if (rc == 0)
		rc = bs_der_wrap(&b, BS_DER_SEQ, &a);
	/* SpcAttributeTypeAndOptionalValue { type, value } */
	if (rc == 0)
		rc = pe_oid ? bs_der_obj(&a, pe_oid) : BS_ERR_CRYPTO;
	if (rc == 0)
		rc = bs_buf_append(&a, b.data, b.len);
	bs_buf_free(&b);
	if (rc == 0)
		rc = bs_der_wrap(&c, BS_DER_SEQ, &a);
	/* DigestInfo { AlgorithmIdentifier { oid, NULL }, OCTET STRING } */
	if (rc == 0)
		rc = bs_der_algid(&a, md_nid, true);
	if (rc == 0)
		rc = bs_der_tlv(&a, BS_DER_OCTET, digest, dlen);
	if (rc == 0)
		rc = bs_der_wrap(&c, BS_DER_SEQ, &a);
	if (rc == 0)
		rc = bs_der_wrap(idc, BS_DER_SEQ, &c);
	bs_buf_free(&a);
	bs_buf_free(&b);
	bs_buf_free(&c);
	ASN1_OBJECT_free(pe_oid);
	return rc;
}

/* Length of the outer tag and length of a DER SEQUENCE (the messageDigest skips them). */
static int der_header_len(size_t *out, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	long clen = 0;
	int tag = 0, xclass = 0;
	int ret = ASN1_get_object(&p, &clen, &tag, &xclass, (long)len);
	if ((ret & 0x80) || tag != V_ASN1_SEQUENCE || (size_t)(p - der) + (size_t)clen != len)
		return BS_ERR_INTERNAL;
	*out = (size_t)(p - der);
	return 0;
}

static int add_obj_attr(PKCS7_SIGNER_INFO *si, const char *oid, int type, const void *data,
			int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	X509_ATTRIBUTE *a = obj ? X509_ATTRIBUTE_create_by_OBJ(NULL, obj, type, data, len)
				: NULL;
	int ok = a != NULL && X509at_add1_attr(&si->auth_attr, a) != NULL;
	X509_ATTRIBUTE_free(a);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : BS_ERR_CRYPTO;
}

static int add_attrs(PKCS7_SIGNER_INFO *si, const struct bs_buf *idc, size_t hdr, int md_nid,
		     time_t signing_time)
{
	static const uint8_t empty_seq[] = {0x30, 0x00};
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	ASN1_OBJECT *ct = OBJ_txt2obj(OID_SPC_INDIRECT_DATA, 1);
	ASN1_TIME *t = ASN1_TIME_set(NULL, signing_time ? signing_time : time(NULL));
	ASN1_STRING *opus = ASN1_STRING_new();
	int ok = ct != NULL && t != NULL && opus != NULL &&
		 PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT, ct);
	if (ok)
		ct = NULL; /* owned by the attribute now */
	ok = ok && PKCS7_add0_attrib_signing_time(si, t);
	if (ok)
		t = NULL;
	ok = ok && ASN1_STRING_set(opus, empty_seq, sizeof(empty_seq)) &&
	     add_obj_attr(si, OID_SPC_SP_OPUS_INFO, V_ASN1_SEQUENCE, opus, -1) == 0;
	ok = ok && EVP_Digest(idc->data + hdr, idc->len - hdr, md, &mdlen,
			      EVP_get_digestbynid(md_nid), NULL) &&
	     PKCS7_add1_attrib_digest(si, md, (int)mdlen);
	ASN1_OBJECT_free(ct);
	ASN1_TIME_free(t);
	ASN1_STRING_free(opus);
	return ok ? 0 : BS_ERR_CRYPTO;
}

/* Sign the DER SET of signed attributes through the key and store the signature. */
static int sign_attrs(PKCS7_SIGNER_INFO *si, struct bs_key *key, int md_nid,
		      struct bs_error *err)
{
	unsigned char *der = NULL;
	int n = ASN1_item_i2d((ASN1_VALUE *)si->auth_attr, &der,
			      ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_get_digestbynid(md_nid),
				     NULL);
	OPENSSL_free(der);
	if (!ok)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "PE: encoding the signed attributes");
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int rc = bs_key_sign_digest(key, md_nid, BS_SIG_DEFAULT, md, mdlen, &sig, &siglen, err);
	if (rc != 0)
		return rc;
	if (siglen > INT32_MAX) {
		free(sig);
		return bs_error_set(err, BS_ERR_INTERNAL, "PE: signature too long");
	}
	ASN1_STRING_set0(si->enc_digest, sig, (int)siglen); /* takes sig */
	return 0;
}

/* ContentInfo { SPC_INDIRECT_DATA, [0] SpcIndirectDataContent } as the signed content. */
static int set_content(PKCS7 *p7, const struct bs_buf *idc)
{
	PKCS7 *inner = PKCS7_new();
	ASN1_TYPE *value = ASN1_TYPE_new();
	ASN1_STRING *seq = ASN1_STRING_new();
	ASN1_OBJECT *type = OBJ_txt2obj(OID_SPC_INDIRECT_DATA, 1);
	int ok = inner && value && seq && type && ASN1_STRING_set(seq, idc->data, (int)idc->len);
	if (ok) {
		ASN1_TYPE_set(value, V_ASN1_SEQUENCE, seq);
		seq = NULL;
		ASN1_OBJECT_free(inner->type);
		inner->type = type;
		inner->d.other = value;
		type = NULL;
		value = NULL;
		ok = PKCS7_set_content(p7, inner);
		if (ok)
			inner = NULL;
	}
	ASN1_STRING_free(seq);
	ASN1_TYPE_free(value);
	ASN1_OBJECT_free(type);
	PKCS7_free(inner);
	return ok ? 0 : BS_ERR_CRYPTO;
}

int bs_pe_authenticode(uint8_t **out, size_t *out_len, struct bs_key *key, X509 *cert,
		       int md_nid, const uint8_t *digest, size_t dlen, time_t signing_time,
		       struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (md == NULL || (size_t)EVP_MD_get_size(md) != dlen)
		return bs_error_set(err, BS_ERR_INVALID, "PE: digest length %zu does not match "
				    "the digest algorithm", dlen);
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), bs_key_public(key)) != 1)
		return bs_error_set(err, BS_ERR_KEY,
				    "PE: the certificate does not match the signing key");
	struct bs_buf idc;
	bs_buf_init(&idc, IDC_MAX);
	size_t hdr = 0;
	PKCS7 *p7 = PKCS7_new();
	PKCS7_SIGNER_INFO *si = PKCS7_SIGNER_INFO_new();
	int rc = BS_ERR_CRYPTO;
	if (p7 == NULL || si == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_SIGNER_INFO_set(si, cert, bs_key_public(key), md)) {
		bs_error_ssl(err, rc, "PE: PKCS#7 signer");
		goto out;
	}
	if (!PKCS7_add_signer(p7, si)) {
		bs_error_ssl(err, rc, "PE: PKCS#7 signer");
		goto out;
	}
	PKCS7_SIGNER_INFO *own = si;
	si = NULL; /* owned by p7 */
	rc = build_idc(&idc, md_nid, digest, dlen);
	if (rc == 0)
		rc = der_header_len(&hdr, idc.data, idc.len);
	if (rc == 0)
		rc = add_attrs(own, &idc, hdr, md_nid, signing_time);
	if (rc == 0)
		rc = set_content(p7, &idc);
	if (rc == 0 && !PKCS7_add_certificate(p7, cert))
		rc = BS_ERR_CRYPTO;
	if (rc != 0) {
		bs_error_ssl(err, rc, "PE: building the Authenticode SignedData");
		goto out;
	}
	rc = sign_attrs(own, key, md_nid, err);
	if (rc != 0)
		goto out;
	unsigned char *der = NULL;
	int n = i2d_PKCS7(p7, &der);
	if (n <= 0) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "PE: encoding the SignedData");
		goto out;
	}
	*out = malloc((size_t)n);
	if (*out == NULL) {
		OPENSSL_free(der);
		rc = bs_error_set(err, BS_ERR_NOMEM, "PE: out of memory");
		goto out;
	}
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
	OPENSSL_free(der);
out:
	PKCS7_SIGNER_INFO_free(si);
	PKCS7_free(p7);
	bs_buf_free(&idc);
	return rc;
}
