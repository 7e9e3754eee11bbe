/* CMS SignedData signing (cms.h), byte-compatible with NXP CST.
 *
 * Why a hand-written DER writer instead of CMS_sign(): CMS_sign needs the private key as
 * an EVP_PKEY and computes the signature itself, but our keys live behind bs_key (a file
 * key or a PKCS#11 token object that only signs digests). We also want the exact CST
 * layout (three signed attributes, no CMSAlgorithmProtection that newer OpenSSL adds, no
 * certificates), a caller-chosen signingTime for reproducible output, and the digest of
 * the content instead of the content. So we encode the SignedData here: every value is a
 * short TLV built bottom-up into bounded buffers, the SET OF attributes is sorted as DER
 * requires, the SET-tagged attributes are hashed and signed through bs_key, and the same
 * bytes are emitted with the [0] IMPLICIT tag. Verification (cms_verify.c) uses OpenSSL's
 * parser, so the two sides do not share code. */
#include "crypto/cms.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/limits.h"

#define TAG_INTEGER 0x02
#define TAG_OCTET 0x04
#define TAG_NULL 0x05
#define TAG_OID 0x06
#define TAG_UTCTIME 0x17
#define TAG_GENTIME 0x18
#define TAG_SEQ 0x30
#define TAG_SET 0x31
#define TAG_CTX0 0xA0
#define TAG_CTX1 0xA1
#define TAG_CTX2 0xA2

/* Append tag + definite length + content. */
static int der_tlv(struct bs_buf *out, uint8_t tag, const uint8_t *content, size_t len)
{
	uint8_t hdr[6];
	size_t h = 0;
	hdr[h++] = tag;
	if (len < 0x80) {
		hdr[h++] = (uint8_t)len;
	} else if (len <= 0xFF) {
		hdr[h++] = 0x81;
		hdr[h++] = (uint8_t)len;
	} else if (len <= 0xFFFF) {
		hdr[h++] = 0x82;
		hdr[h++] = (uint8_t)(len >> 8);
		hdr[h++] = (uint8_t)len;
	} else if (len <= 0xFFFFFF) {
		hdr[h++] = 0x83;
		hdr[h++] = (uint8_t)(len >> 16);
		hdr[h++] = (uint8_t)(len >> 8);
		hdr[h++] = (uint8_t)len;
	} else {
		return BS_ERR_LIMIT;
	}
	int rc = bs_buf_append(out, hdr, h);
	if (rc == 0 && len > 0)
		rc = bs_buf_append(out, content, len);
	return rc;
}

/* Wrap the whole of `in` in a TLV appended to `out`; `in` is emptied. */
static int der_wrap(struct bs_buf *out, uint8_t tag, struct bs_buf *in)
{
	int rc = der_tlv(out, tag, in->data, in->len);
	bs_buf_free(in);
	return rc;
}

static int der_oid(struct bs_buf *out, int nid)
{
	const ASN1_OBJECT *obj = OBJ_nid2obj(nid);
	if (obj == NULL || OBJ_length(obj) == 0)
		return BS_ERR_UNSUPPORTED;
	return der_tlv(out, TAG_OID, OBJ_get0_data(obj), OBJ_length(obj));
}

/* AlgorithmIdentifier { oid, [NULL] } */
static int der_algid(struct bs_buf *out, int nid, bool null_params)
{
	struct bs_buf in;
	bs_buf_init(&in, BS_CMS_DER_PART_MAX);
	int rc = der_oid(&in, nid);
	if (rc == 0 && null_params)
		rc = der_tlv(&in, TAG_NULL, NULL, 0);
	if (rc == 0)
		rc = der_wrap(out, TAG_SEQ, &in);
	bs_buf_free(&in);
	return rc;
}

/* Append an i2d_* result (n bytes at der, OpenSSL-allocated; freed here). */
static int append_der(struct bs_buf *out, unsigned char *der, int n)
{
	int rc = n > 0 ? bs_buf_append(out, der, (size_t)n) : BS_ERR_CRYPTO;
	OPENSSL_free(der);
	return rc;
}

static int der_issuer_serial(struct bs_buf *out, X509 *cert)
{
	unsigned char *d = NULL;
	int n = i2d_X509_NAME(X509_get_issuer_name(cert), &d);
	int rc = append_der(out, d, n);
	if (rc != 0)
		return rc;
	d = NULL;
	n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &d);
	return append_der(out, d, n);
}

static int der_cert(struct bs_buf *out, X509 *cert)
{
	unsigned char *d = NULL;
	int n = i2d_X509(cert, &d);
	return append_der(out, d, n);
}

/* RSASSA-PSS-params for md with MGF1(md) and salt = digest length, hash AlgorithmIdentifiers
 * with NULL parameters (RFC 4055; what OpenSSL emits). SHA-1 is every field's DEFAULT, so
 * DER leaves the SEQUENCE empty. */
static int der_pss_algid(struct bs_buf *out, int md_nid)
{
	struct bs_buf params, in, tmp, mgf;
	bs_buf_init(&params, BS_CMS_DER_PART_MAX);
	bs_buf_init(&in, BS_CMS_DER_PART_MAX);
	bs_buf_init(&tmp, BS_CMS_DER_PART_MAX);
	bs_buf_init(&mgf, BS_CMS_DER_PART_MAX);
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	int rc = md ? 0 : BS_ERR_UNSUPPORTED;
	if (rc == 0 && md_nid != NID_sha1) {
		rc = der_algid(&tmp, md_nid, true);
		if (rc == 0)
			rc = der_wrap(&params, TAG_CTX0, &tmp);
		if (rc == 0)
			rc = der_oid(&mgf, NID_mgf1);
		if (rc == 0)
			rc = der_algid(&mgf, md_nid, true);
		if (rc == 0)
			rc = der_wrap(&tmp, TAG_SEQ, &mgf);
		if (rc == 0)
			rc = der_wrap(&params, TAG_CTX1, &tmp);
		uint8_t salt = (uint8_t)EVP_MD_get_size(md);
		struct bs_buf sb;
		bs_buf_init(&sb, BS_CMS_DER_PART_MAX);
		if (rc == 0)
			rc = der_tlv(&sb, TAG_INTEGER, &salt, 1);
		if (rc == 0)
			rc = der_wrap(&params, TAG_CTX2, &sb);
		bs_buf_free(&sb);
	}
	if (rc == 0)
		rc = der_oid(&in, NID_rsassaPss);
	if (rc == 0)
		rc = der_wrap(&in, TAG_SEQ, &params);
	if (rc == 0)
		rc = der_wrap(out, TAG_SEQ, &in);
	bs_buf_free(&params);
	bs_buf_free(&in);
	bs_buf_free(&tmp);
	bs_buf_free(&mgf);
	return rc;
}

static int der_sigalg(struct bs_buf *out, int key_type, int md_nid, enum bs_sig_scheme scheme)
{
	if (key_type == EVP_PKEY_RSA) {
		if (scheme == BS_SIG_RSA_PSS)
			return der_pss_algid(out, md_nid);
		return der_algid(out, NID_rsaEncryption, true);
	}
	if (key_type == EVP_PKEY_EC) {
		int sig_nid = NID_undef;
		if (!OBJ_find_sigid_by_algs(&sig_nid, md_nid, NID_X9_62_id_ecPublicKey))
			return BS_ERR_UNSUPPORTED;
		return der_algid(out, sig_nid, false);
	}
	return BS_ERR_UNSUPPORTED;
}

/* UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5652 11.3). */
static int der_time(struct bs_buf *out, time_t t)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL)
		return BS_ERR_INVALID;
	char s[32];
	int year = tm.tm_year + 1900;
	if (year >= 1950 && year < 2050) {
		int n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", year % 100,
				 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return der_tlv(out, TAG_UTCTIME, (const uint8_t *)s, (size_t)n);
	}
	if (year < 0 || year > 9999)
		return BS_ERR_INVALID;
	int n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return der_tlv(out, TAG_GENTIME, (const uint8_t *)s, (size_t)n);
}

/* Attribute ::= SEQUENCE { attrType OID, attrValues SET { value } } where `value` is an
 * already-encoded TLV. */
static int der_attr(struct bs_buf *out, int nid, struct bs_buf *value)
{
	struct bs_buf in;
	bs_buf_init(&in, BS_CMS_DER_PART_MAX);
	int rc = der_oid(&in, nid);
	if (rc == 0)
		rc = der_wrap(&in, TAG_SET, value);
	if (rc == 0)
		rc = der_wrap(out, TAG_SEQ, &in);
	bs_buf_free(&in);
	bs_buf_free(value);
	return rc;
}

/* X.690 11.6: SET OF elements sorted by their encodings, the shorter padded with 0s. */
static int der_cmp(const struct bs_buf *a, const struct bs_buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->data, b->data, n);
	if (c != 0)
		return c;
	const struct bs_buf *l = a->len > b->len ? a : b;
	for (size_t i = n; i < l->len; i++)
		if (l->data[i] != 0)
			return a->len > b->len ? 1 : -1;
	return 0;
}

/* The content of the signed-attributes SET (without tag), DER-sorted. */
static int build_attrs(struct bs_buf *out, time_t when, const uint8_t *dgst, size_t dlen)
{
	struct bs_buf a[3], v;
	for (size_t i = 0; i < 3; i++)
		bs_buf_init(&a[i], BS_CMS_DER_PART_MAX);
	bs_buf_init(&v, BS_CMS_DER_PART_MAX);
	int rc = der_oid(&v, NID_pkcs7_data);
	if (rc == 0)
		rc = der_attr(&a[0], NID_pkcs9_contentType, &v);
	if (rc == 0)
		rc = der_time(&v, when);
	if (rc == 0)
		rc = der_attr(&a[1], NID_pkcs9_signingTime, &v);
	if (rc == 0)
		rc = der_tlv(&v, TAG_OCTET, dgst, dlen);
	if (rc == 0)
		rc = der_attr(&a[2], NID_pkcs9_messageDigest, &v);
	if (rc == 0) {
		/* insertion sort of three */
		for (size_t i = 1; i < 3; i++)
			for (size_t j = i; j > 0 && der_cmp(&a[j - 1], &a[j]) > 0; j--) {
				struct bs_buf t = a[j];
				a[j] = a[j - 1];
				a[j - 1] = t;
			}
		for (size_t i = 0; i < 3 && rc == 0; i++)
			rc = bs_buf_append(out, a[i].data, a[i].len);
	}
	for (size_t i = 0; i < 3; i++)
		bs_buf_free(&a[i]);
	bs_buf_free(&v);
	return rc;
}

static int hash_bytes(int md_nid, const uint8_t *data, size_t len, uint8_t *out,
		      unsigned *out_len)
{
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (md == NULL || EVP_Digest(data, len, out, out_len, md, NULL) != 1)
		return BS_ERR_CRYPTO;
	return 0;
}

static const char *step_name(int step)
{
	static const char *const names[] = {
		"signed attributes", "signature", "SignerInfo", "SignedData", "ContentInfo",
	};
	return step >= 0 && step < (int)(sizeof(names) / sizeof(names[0])) ? names[step] :
									   "CMS";
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
	const EVP_MD *md = EVP_get_digestbynid(opts->md_nid);
	if (md == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "CMS sign: unsupported digest nid %d",
				    opts->md_nid);
	if ((size_t)EVP_MD_get_size(md) != dlen)
		return bs_error_set(err, BS_ERR_INVALID, "CMS sign: digest is %zu bytes, %s "
				    "needs %d", dlen, EVP_MD_get0_name(md), EVP_MD_get_size(md));
	int ktype = bs_key_type(key);
	if (opts->scheme == BS_SIG_RSA_PSS && ktype != EVP_PKEY_RSA)
		return bs_error_set(err, BS_ERR_KEY, "CMS sign: RSA-PSS needs an RSA key (%s)",
				    bs_key_id(key));
	struct bs_buf attrs, tbs, si, sid, sd, tmp, ci;
	bs_buf_init(&attrs, BS_CMS_SIGNED_ATTRS_MAX);
	bs_buf_init(&tbs, BS_CMS_SIGNED_ATTRS_MAX);
	bs_buf_init(&si, BS_CMS_MAX);
	bs_buf_init(&sid, BS_CMS_MAX);
	bs_buf_init(&sd, BS_CMS_MAX);
	bs_buf_init(&tmp, BS_CMS_MAX);
	bs_buf_init(&ci, BS_CMS_MAX);
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int step = 0, rc = 0;

	/* What the key signs: H(SET OF attrs) or, without attributes, the content digest. */
	uint8_t ad[EVP_MAX_MD_SIZE];
	unsigned adl = 0;
	const uint8_t *to_sign = content_digest;
	size_t to_sign_len = dlen;
	if (!opts->no_attrs) {
		time_t when = opts->signing_time ? opts->signing_time : time(NULL);
		rc = build_attrs(&attrs, when, content_digest, dlen);
		if (rc == 0)
			rc = der_tlv(&tbs, TAG_SET, attrs.data, attrs.len);
		if (rc == 0)
			rc = hash_bytes(opts->md_nid, tbs.data, tbs.len, ad, &adl);
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
	uint8_t one = 1;
	rc = der_tlv(&si, TAG_INTEGER, &one, 1);
	if (rc == 0)
		rc = der_issuer_serial(&sid, cert);
	if (rc == 0)
		rc = der_wrap(&si, TAG_SEQ, &sid);
	if (rc == 0)
		rc = der_algid(&si, opts->md_nid, false);
	if (rc == 0 && !opts->no_attrs)
		rc = der_tlv(&si, TAG_CTX0, attrs.data, attrs.len);
	if (rc == 0)
		rc = der_sigalg(&si, ktype, opts->md_nid, opts->scheme);
	if (rc == 0)
		rc = der_tlv(&si, TAG_OCTET, sig, sig_len);
	if (rc == 0)
		rc = der_wrap(&tmp, TAG_SEQ, &si);
	if (rc != 0)
		goto fail;

	/* SignedData */
	step = 3;
	rc = der_tlv(&sd, TAG_INTEGER, &one, 1);
	struct bs_buf algs;
	bs_buf_init(&algs, BS_CMS_DER_PART_MAX);
	if (rc == 0)
		rc = der_algid(&algs, opts->md_nid, false);
	if (rc == 0)
		rc = der_wrap(&sd, TAG_SET, &algs);
	bs_buf_free(&algs);
	struct bs_buf eci;
	bs_buf_init(&eci, BS_CMS_DER_PART_MAX);
	if (rc == 0)
		rc = der_oid(&eci, NID_pkcs7_data);
	if (rc == 0)
		rc = der_wrap(&sd, TAG_SEQ, &eci);
	bs_buf_free(&eci);
	if (rc == 0 && opts->include_cert) {
		struct bs_buf c;
		bs_buf_init(&c, BS_CMS_MAX);
		rc = der_cert(&c, cert);
		if (rc == 0)
			rc = der_wrap(&sd, TAG_CTX0, &c);
		bs_buf_free(&c);
	}
	if (rc == 0)
		rc = der_wrap(&sd, TAG_SET, &tmp);
	if (rc == 0)
		rc = der_wrap(&tmp, TAG_SEQ, &sd);
	if (rc != 0)
		goto fail;

	/* ContentInfo */
	step = 4;
	rc = der_oid(&ci, NID_pkcs7_signed);
	if (rc == 0)
		rc = der_wrap(&ci, TAG_CTX0, &tmp);
	if (rc == 0)
		rc = der_wrap(&sd, TAG_SEQ, &ci);
	if (rc != 0)
		goto fail;
	*out = bs_buf_steal(&sd, out_len);
	goto out;
fail:
	if (rc == BS_ERR_UNSUPPORTED)
		bs_error_set(err, rc, "CMS sign: %s: unsupported algorithm (%s, %s)",
			     step_name(step), OBJ_nid2sn(opts->md_nid),
			     ktype == EVP_PKEY_EC ? "EC" : "RSA");
	else
		bs_error_set(err, rc, "CMS sign: encoding %s failed (%s)", step_name(step),
			     bs_err_name(rc));
out:
	bs_buf_free(&attrs);
	bs_buf_free(&tbs);
	bs_buf_free(&si);
	bs_buf_free(&sid);
	bs_buf_free(&sd);
	bs_buf_free(&tmp);
	bs_buf_free(&ci);
	free(sig);
	return rc;
}
