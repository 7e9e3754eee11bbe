/* CMS SignedData signing (cms.h): byte-compatible with NXP CST by default and with
 * `openssl cms -sign -binary -outform DER` for the option combinations cms.h lists.
 *
 * Why our own DER instead of CMS_sign(): CMS_sign needs the private key as an EVP_PKEY and
 * computes the signature itself, but our keys live behind bs_key (a file key or a PKCS#11
 * token object that only signs digests). We also want the exact CST layout (three signed
 * attributes, no CMSAlgorithmProtection that newer OpenSSL adds, no certificates), a
 * caller-chosen signingTime for reproducible output, and the digest of the content instead
 * of the content. So we encode the SignedData here with the DER writer (der.h): the SET OF
 * attributes and the certificates SET are sorted as DER requires (OpenSSL's encoder does
 * the same), the SET-tagged attributes are hashed and signed through bs_key, and the same
 * bytes are emitted with the [0] IMPLICIT tag. Verification (cms_verify.c) uses OpenSSL's
 * parser, so the two sides do not share code. */
#include "crypto/cms.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/limits.h"
#include "crypto/der.h"

/* Append an i2d_* result (n bytes at der, OpenSSL-allocated; freed here). */
static int append_der(struct bs_buf *out, unsigned char *der, int n)
{
	int rc = n > 0 ? bs_buf_append(out, der, (size_t)n) : BS_ERR_CRYPTO;
	OPENSSL_free(der);
	return rc;
}

/* SignerIdentifier: IssuerAndSerialNumber, or [0] SubjectKeyIdentifier (keyid). */
static int der_sid(struct bs_buf *out, X509 *cert, bool keyid)
{
	if (keyid) {
		const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
		if (ski == NULL)
			return BS_ERR_INVALID;
		return bs_der_tlv(out, BS_DER_CTXP0, ASN1_STRING_get0_data(ski),
				  (size_t)ASN1_STRING_length(ski));
	}
	struct bs_buf in;
	bs_buf_init(&in, BS_CMS_MAX);
	unsigned char *d = NULL;
	int n = i2d_X509_NAME(X509_get_issuer_name(cert), &d);
	int rc = append_der(&in, d, n);
	d = NULL;
	if (rc == 0) {
		n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &d);
		rc = append_der(&in, d, n);
	}
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_SEQ, &in);
	bs_buf_free(&in);
	return rc;
}

/* RSASSA-PSS-params for md with MGF1(md) and salt = digest length, hash AlgorithmIdentifiers
 * with NULL parameters (RFC 4055; what OpenSSL emits). SHA-1 is every field's DEFAULT, so
 * DER leaves the SEQUENCE empty. */
static int der_pss_algid(struct bs_buf *out, int md_nid)
{
	struct bs_buf params, in, tmp, mgf, sb;
	bs_buf_init(&params, BS_DER_PART_MAX);
	bs_buf_init(&in, BS_DER_PART_MAX);
	bs_buf_init(&tmp, BS_DER_PART_MAX);
	bs_buf_init(&mgf, BS_DER_PART_MAX);
	bs_buf_init(&sb, BS_DER_PART_MAX);
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	int rc = md ? 0 : BS_ERR_UNSUPPORTED;
	if (rc == 0 && md_nid != NID_sha1) {
		rc = bs_der_algid(&tmp, md_nid, true);
		if (rc == 0)
			rc = bs_der_wrap(&params, BS_DER_CTX0, &tmp);
		if (rc == 0)
			rc = bs_der_oid(&mgf, NID_mgf1);
		if (rc == 0)
			rc = bs_der_algid(&mgf, md_nid, true);
		if (rc == 0)
			rc = bs_der_wrap(&tmp, BS_DER_SEQ, &mgf);
		if (rc == 0)
			rc = bs_der_wrap(&params, BS_DER_CTX1, &tmp);
		if (rc == 0)
			rc = bs_der_uint(&sb, (uint64_t)EVP_MD_get_size(md));
		if (rc == 0)
			rc = bs_der_wrap(&params, BS_DER_CTX2, &sb);
	}
	if (rc == 0)
		rc = bs_der_oid(&in, NID_rsassaPss);
	if (rc == 0)
		rc = bs_der_wrap(&in, BS_DER_SEQ, &params);
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_SEQ, &in);
	bs_buf_free(&params);
	bs_buf_free(&in);
	bs_buf_free(&tmp);
	bs_buf_free(&mgf);
	bs_buf_free(&sb);
	return rc;
}

static int der_sigalg(struct bs_buf *out, int key_type, int md_nid, enum bs_sig_scheme scheme)
{
	if (key_type == EVP_PKEY_RSA) {
		if (scheme == BS_SIG_RSA_PSS)
			return der_pss_algid(out, md_nid);
		return bs_der_algid(out, NID_rsaEncryption, true);
	}
	if (key_type == EVP_PKEY_EC) {
		int sig_nid = NID_undef;
		if (!OBJ_find_sigid_by_algs(&sig_nid, md_nid, NID_X9_62_id_ecPublicKey))
			return BS_ERR_UNSUPPORTED;
		return bs_der_algid(out, sig_nid, false);
	}
	return BS_ERR_UNSUPPORTED;
}

/* Attribute ::= SEQUENCE { attrType OID, attrValues SET { value } } where `value` is an
 * already-encoded TLV (emptied). */
static int der_attr(struct bs_buf *out, int nid, struct bs_buf *value)
{
	struct bs_buf in;
	bs_buf_init(&in, BS_CMS_MAX);
	int rc = bs_der_oid(&in, nid);
	if (rc == 0)
		rc = bs_der_wrap(&in, BS_DER_SET, value);
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_SEQ, &in);
	bs_buf_free(&in);
	bs_buf_free(value);
	return rc;
}

/* SMIMECapabilities as `openssl cms -sign` writes it by default (OpenSSL 3 without GOST):
 * ciphers strongest first, RC2 with its effective key bits as parameter. */
static int der_smime_caps(struct bs_buf *out)
{
	static const struct {
		int nid;
		int bits; /* RC2 parameter, 0 = none */
	} caps[] = {
		{NID_aes_256_cbc, 0}, {NID_aes_192_cbc, 0}, {NID_aes_128_cbc, 0},
		{NID_des_ede3_cbc, 0}, {NID_rc2_cbc, 128}, {NID_rc2_cbc, 64},
		{NID_des_cbc, 0}, {NID_rc2_cbc, 40},
	};
	struct bs_buf seq, one;
	bs_buf_init(&seq, BS_DER_PART_MAX);
	bs_buf_init(&one, BS_DER_PART_MAX);
	int rc = 0;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]) && rc == 0; i++) {
		rc = bs_der_oid(&one, caps[i].nid);
		if (rc == 0 && caps[i].bits != 0)
			rc = bs_der_uint(&one, (uint64_t)caps[i].bits);
		if (rc == 0)
			rc = bs_der_wrap(&seq, BS_DER_SEQ, &one);
	}
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_SEQ, &seq);
	bs_buf_free(&seq);
	bs_buf_free(&one);
	return rc;
}

/* The content of the signed-attributes SET (without tag), DER-sorted: contentType,
 * signingTime, messageDigest, [SMIMECapabilities], caller's extra attributes. */
static int build_attrs(struct bs_buf *out, const struct bs_cms_sign_opts *o,
		       const struct bs_buf *ect, const uint8_t *dgst, size_t dlen)
{
	struct bs_buf a[BS_CMS_ATTRS_MAX], v;
	size_t n = 0;
	for (size_t i = 0; i < BS_CMS_ATTRS_MAX; i++)
		bs_buf_init(&a[i], BS_CMS_MAX);
	bs_buf_init(&v, BS_DER_PART_MAX);
	int rc = bs_buf_append(&v, ect->data, ect->len);
	if (rc == 0)
		rc = der_attr(&a[n++], NID_pkcs9_contentType, &v);
	if (rc == 0)
		rc = bs_der_time(&v, o->signing_time ? o->signing_time : time(NULL));
	if (rc == 0)
		rc = der_attr(&a[n++], NID_pkcs9_signingTime, &v);
	if (rc == 0)
		rc = bs_der_tlv(&v, BS_DER_OCTET, dgst, dlen);
	if (rc == 0)
		rc = der_attr(&a[n++], NID_pkcs9_messageDigest, &v);
	if (rc == 0 && o->smime_caps) {
		rc = der_smime_caps(&v);
		if (rc == 0)
			rc = der_attr(&a[n++], NID_SMIMECapabilities, &v);
	}
	for (size_t i = 0; i < o->n_extra_attrs && rc == 0; i++)
		rc = bs_buf_append(&a[n++], o->extra_attrs[i], o->extra_attr_lens[i]);
	if (rc == 0)
		rc = bs_der_append_set_of(out, a, n);
	for (size_t i = 0; i < BS_CMS_ATTRS_MAX; i++)
		bs_buf_free(&a[i]);
	bs_buf_free(&v);
	return rc;
}

/* certificates [0] IMPLICIT SET OF: the signer and the chain, without repeats, sorted. */
static int build_certs(struct bs_buf *out, X509 *cert, STACK_OF(X509) *extra)
{
	X509 *list[BS_CMS_CERTS_MAX];
	size_t n = 0;
	list[n++] = cert;
	int ne = extra ? sk_X509_num(extra) : 0;
	for (int i = 0; i < ne; i++) {
		X509 *x = sk_X509_value(extra, i);
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = X509_cmp(list[j], x) == 0;
		if (seen)
			continue;
		if (n == BS_CMS_CERTS_MAX)
			return BS_ERR_LIMIT;
		list[n++] = x;
	}
	struct bs_buf c[BS_CMS_CERTS_MAX], set;
	for (size_t i = 0; i < n; i++)
		bs_buf_init(&c[i], BS_CMS_MAX);
	bs_buf_init(&set, BS_CMS_MAX);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char *d = NULL;
		int len = i2d_X509(list[i], &d);
		rc = append_der(&c[i], d, len);
	}
	if (rc == 0)
		rc = bs_der_append_set_of(&set, c, n);
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_CTX0, &set);
	for (size_t i = 0; i < n; i++)
		bs_buf_free(&c[i]);
	bs_buf_free(&set);
	return rc;
}

/* EncapsulatedContentInfo { eContentType, [0] EXPLICIT OCTET STRING eContent OPTIONAL } */
static int build_encap(struct bs_buf *out, const struct bs_buf *ect, const uint8_t *content,
		       size_t content_len)
{
	struct bs_buf in, oct;
	bs_buf_init(&in, BS_CMS_MAX);
	bs_buf_init(&oct, BS_CMS_MAX);
	int rc = bs_buf_append(&in, ect->data, ect->len);
	if (rc == 0 && content != NULL) {
		rc = bs_der_tlv(&oct, BS_DER_OCTET, content, content_len);
		if (rc == 0)
			rc = bs_der_wrap(&in, BS_DER_CTX0, &oct);
	}
	if (rc == 0)
		rc = bs_der_wrap(out, BS_DER_SEQ, &in);
	bs_buf_free(&in);
	bs_buf_free(&oct);
	return rc;
}

static const char *step_name(int step)
{
	static const char *const names[] = {
		"signed attributes", "signature", "SignerInfo", "SignedData", "ContentInfo",
	};
	return step >= 0 && step < (int)(sizeof(names) / sizeof(names[0])) ? names[step] :
									   "CMS";
}

/* Options that cannot work, before anything is signed. Fills *ect with the eContentType
 * OID encoding. */
static int check_opts(struct bs_buf *ect, struct bs_key *key, X509 *cert,
		      const uint8_t *dgst, size_t dlen, const struct bs_cms_sign_opts *o,
		      struct bs_error *err)
{
	const EVP_MD *md = EVP_get_digestbynid(o->md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "CMS sign: unsupported digest nid %d",
				    o->md_nid);
	if ((size_t)EVP_MD_get_size(md) != dlen)
		return bs_error_set(err, BS_ERR_INVALID, "CMS sign: digest is %zu bytes, %s "
				    "needs %d", dlen, EVP_MD_get0_name(md), EVP_MD_get_size(md));
	if (o->scheme == BS_SIG_RSA_PSS && bs_key_type(key) != EVP_PKEY_RSA)
		return bs_error_set(err, BS_ERR_KEY, "CMS sign: RSA-PSS needs an RSA key (%s)",
				    bs_key_id(key));
	if (o->signer_keyid && X509_get0_subject_key_id(cert) == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "CMS sign: signer by key id, but the "
				    "certificate has no subjectKeyIdentifier");
	if (o->n_extra_attrs > BS_CMS_EXTRA_ATTRS_MAX ||
	    (o->n_extra_attrs > 0 && (o->extra_attrs == NULL || o->extra_attr_lens == NULL)))
		return bs_error_set(err, BS_ERR_INVALID, "CMS sign: %zu extra attributes (at "
				    "most %d)", o->n_extra_attrs, BS_CMS_EXTRA_ATTRS_MAX);
	for (size_t i = 0; i < o->n_extra_attrs; i++)
		if (o->extra_attr_lens[i] > BS_CMS_ATTR_MAX ||
		    !bs_der_is_one(o->extra_attrs[i], o->extra_attr_lens[i], BS_DER_SEQ))
			return bs_error_set(err, BS_ERR_INVALID, "CMS sign: extra attribute %zu is "
					    "not one DER SEQUENCE of at most %u bytes", i,
					    BS_CMS_ATTR_MAX);
	if (o->content != NULL) {
		uint8_t d[EVP_MAX_MD_SIZE];
		unsigned dl = 0;
		if (EVP_Digest(o->content, o->content_len, d, &dl, md, NULL) != 1)
			return bs_error_ssl(err, BS_ERR_CRYPTO, "CMS sign: hashing the content");
		if (dl != dlen || memcmp(d, dgst, dlen) != 0)
			return bs_error_set(err, BS_ERR_INVALID, "CMS sign: the digest passed is "
					    "not the digest of the attached content");
	}
	int nid = NID_pkcs7_data;
	int rc;
	if (o->econtent_oid != NULL) {
		ASN1_OBJECT *obj = OBJ_txt2obj(o->econtent_oid, 1);
		if (obj == NULL)
			return bs_error_ssl(err, BS_ERR_INVALID, "CMS sign: eContentType '%.64s' is "
					    "not a dotted OID", o->econtent_oid);
		nid = OBJ_obj2nid(obj);
		rc = bs_der_obj(ect, obj);
		ASN1_OBJECT_free(obj);
	} else {
		rc = bs_der_oid(ect, nid);
	}
	if (rc != 0)
		return bs_error_set(err, rc, "CMS sign: eContentType");
	if (nid != NID_pkcs7_data && o->no_attrs)
		return bs_error_set(err, BS_ERR_INVALID, "CMS sign: eContentType %s needs signed "
				    "attributes (RFC 5652 5.3)", o->econtent_oid);
	return 0;
}

int bs_cms_sign_digest(uint8_t **out, size_t *out_len, struct bs_key *key, X509 *cert,
		       const uint8_t *content_digest, size_t dlen,
		       const struct bs_cms_sign_opts *opts, struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (key == NULL || cert == NULL || content_digest == NULL || opts == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "CMS sign: missing key, certificate, "
				    "digest or options");
	int ktype = bs_key_type(key);
	struct bs_buf ect, attrs, tbs, si, sd, tmp, ci;
	bs_buf_init(&ect, BS_DER_PART_MAX);
	bs_buf_init(&attrs, BS_CMS_MAX);
	bs_buf_init(&tbs, BS_CMS_MAX);
	bs_buf_init(&si, BS_CMS_MAX);
	bs_buf_init(&sd, BS_CMS_MAX);
	bs_buf_init(&tmp, BS_CMS_MAX);
	bs_buf_init(&ci, BS_CMS_MAX);
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int step = 0;
	int rc = check_opts(&ect, key, cert, content_digest, dlen, opts, err);
	if (rc != 0)
		goto out;
	bool ect_data = opts->econtent_oid == NULL ||
			OBJ_txt2nid(opts->econtent_oid) == NID_pkcs7_data;
	/* RFC 5652 5.1/5.3: v3 with a subjectKeyIdentifier sid or a non-data eContent. */
	uint64_t si_version = opts->signer_keyid ? 3 : 1;
	uint64_t sd_version = opts->signer_keyid || !ect_data ? 3 : 1;

	/* What the key signs: H(SET OF attrs) or, without attributes, the content digest. */
	uint8_t ad[EVP_MAX_MD_SIZE];
	unsigned adl = 0;
	const uint8_t *to_sign = content_digest;
	size_t to_sign_len = dlen;
	if (!opts->no_attrs) {
		rc = build_attrs(&attrs, opts, &ect, content_digest, dlen);
		if (rc == 0)
			rc = bs_der_tlv(&tbs, BS_DER_SET, attrs.data, attrs.len);
		if (rc == 0 && EVP_Digest(tbs.data, tbs.len, ad, &adl,
					  EVP_get_digestbynid(opts->md_nid), NULL) != 1)
			rc = BS_ERR_CRYPTO;
		if (rc != 0)
			goto fail;
		to_sign = ad;
		to_sign_len = adl;
	}
	step = 1;
	rc = bs_key_sign_digest(key, opts->md_nid, opts->scheme, to_sign, to_sign_len, &sig,
				&sig_len, err);
	if (rc != 0) {
		bs_error_prefix(err, "CMS sign");
		goto out;
	}

	/* SignerInfo */
	step = 2;
	rc = bs_der_uint(&si, si_version);
	if (rc == 0)
		rc = der_sid(&si, cert, opts->signer_keyid);
	if (rc == 0)
		rc = bs_der_algid(&si, opts->md_nid, false);
	if (rc == 0 && !opts->no_attrs)
		rc = bs_der_tlv(&si, BS_DER_CTX0, attrs.data, attrs.len);
	if (rc == 0)
		rc = der_sigalg(&si, ktype, opts->md_nid, opts->scheme);
	if (rc == 0)
		rc = bs_der_tlv(&si, BS_DER_OCTET, sig, sig_len);
	if (rc == 0)
		rc = bs_der_wrap(&tmp, BS_DER_SEQ, &si);
	if (rc != 0)
		goto fail;

	/* SignedData */
	step = 3;
	struct bs_buf algs;
	bs_buf_init(&algs, BS_DER_PART_MAX);
	rc = bs_der_uint(&sd, sd_version);
	if (rc == 0)
		rc = bs_der_algid(&algs, opts->md_nid, false);
	if (rc == 0)
		rc = bs_der_wrap(&sd, BS_DER_SET, &algs);
	bs_buf_free(&algs);
	if (rc == 0)
		rc = build_encap(&sd, &ect, opts->content, opts->content_len);
	if (rc == 0 && opts->include_cert)
		rc = build_certs(&sd, cert, opts->extra_certs);
	if (rc == 0)
		rc = bs_der_wrap(&sd, BS_DER_SET, &tmp);
	if (rc == 0)
		rc = bs_der_wrap(&tmp, BS_DER_SEQ, &sd);
	if (rc != 0)
		goto fail;

	/* ContentInfo */
	step = 4;
	rc = bs_der_oid(&ci, NID_pkcs7_signed);
	if (rc == 0)
		rc = bs_der_wrap(&ci, BS_DER_CTX0, &tmp);
	if (rc == 0)
		rc = bs_der_wrap(&sd, BS_DER_SEQ, &ci);
	if (rc != 0)
		goto fail;
	*out = bs_buf_steal(&sd, out_len);
	goto out;
fail:
	if (rc == BS_ERR_UNSUPPORTED)
		bs_error_set(err, rc, "CMS sign: %s: unsupported algorithm (%s, %s)",
			     step_name(step), OBJ_nid2sn(opts->md_nid), OBJ_nid2sn(ktype));
	else
		bs_error_set(err, rc, "CMS sign: encoding %s failed (%s)", step_name(step),
			     bs_err_name(rc));
out:
	bs_buf_free(&ect);
	bs_buf_free(&attrs);
	bs_buf_free(&tbs);
	bs_buf_free(&si);
	bs_buf_free(&sd);
	bs_buf_free(&tmp);
	bs_buf_free(&ci);
	free(sig);
	return rc;
}
