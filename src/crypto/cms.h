/* CMS SignedData built through the key interface, DER as OpenSSL writes it. With default
 * options it is exactly what NXP CST produces (HAB4): detached, no certificates, no CRLs,
 * one SignerInfo with IssuerAndSerialNumber, signed attributes contentType + signingTime +
 * messageDigest (DER sorted). Options give the `openssl cms -sign` variants other formats
 * need: no attributes (-noattr), SMIMECapabilities (default of openssl cms; off with
 * -nosmimecap), subjectKeyIdentifier signer (-keyid), certificates (default of openssl cms;
 * off with -nocerts), attached content (-nodetach), digest (-md).
 *
 * The content digest is always passed in (callers hash streaming); attached content is
 * only copied into eContent. */
#ifndef BS_CRYPTO_CMS_H
#define BS_CRYPTO_CMS_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "crypto/key.h"

struct bs_cms_sign_opts {
	int md_nid;          /* NID_sha256, NID_sha1, NID_sha512, ... */
	time_t signing_time; /* 0 = now */
	bool no_attrs;       /* sign the content digest directly (no signed attributes) */
	bool include_cert;   /* add the signer certificate to `certificates` */
	enum bs_sig_scheme scheme; /* RSA-PSS uses salt = digest length (as openssl cms) */
	bool signer_keyid;   /* sid = subjectKeyIdentifier (SignerInfo v3) instead of
			      * issuerAndSerialNumber; the cert must carry the SKI extension */
	bool smime_caps;     /* add the SMIMECapabilities signed attribute exactly as
			      * `openssl cms -sign` does by default (ignored with no_attrs) */
	const uint8_t *content; /* non-NULL: attached (encapsulated) content, content_len bytes;
				 * content_digest must still be H(content) */
	size_t content_len;
	const char *econtent_oid; /* eContentType, dotted OID; NULL = id-data */
	/* Extra DER Attribute blobs (SEQUENCE { type, SET OF values }) among the signed
	 * attributes, DER-sorted with the others (e.g. Authenticode SpcSpOpusInfo). Ignored
	 * with no_attrs. */
	const uint8_t *const *extra_attrs;
	const size_t *extra_attr_lens;
	size_t n_extra_attrs;
	STACK_OF(X509) *extra_certs; /* more certificates (chain), only with include_cert */
};

/* Build a DER ContentInfo(SignedData). `content_digest` = H(content) for opts->md_nid.
 * With attributes, the contentType attribute carries econtent_oid; without attributes
 * econtent_oid must be id-data or NULL (RFC 5652 5.3). */
int bs_cms_sign_digest(uint8_t **out, size_t *out_len, struct bs_key *key, X509 *cert,
		       const uint8_t *content_digest, size_t dlen,
		       const struct bs_cms_sign_opts *opts, struct bs_error *err) BS_WUR;

/* Facts about a parsed detached CMS signature, for verifiers and dumps. */
struct bs_cms_info {
	int md_nid;
	bool has_signed_attrs;
	bool has_signing_time;
	time_t signing_time;
	char issuer[256];   /* one-line issuer name of the sid */
	char serial[80];    /* hex serial of the sid */
	size_t n_signers;
	size_t n_certs;
};

/* Verify a detached CMS over content whose digest (under the CMS digest algorithm, which
 * must equal expect_md_nid unless that is 0) is `content_digest`, with public key `pub`.
 * Checks: SignedData, detached, exactly one SignerInfo, contentType id-data, messageDigest
 * equals content_digest, signature valid. If `cert` is given, the sid must name it.
 * Fills info (may be NULL) even on failure where possible. BS_ERR_FORMAT for structure,
 * BS_ERR_VERIFY for a failed check. */
int bs_cms_verify_digest(const uint8_t *der, size_t len, EVP_PKEY *pub, X509 *cert,
			 int expect_md_nid, const uint8_t *content_digest, size_t dlen,
			 struct bs_cms_info *info, struct bs_error *err) BS_WUR;

/* Parse only (for dumps). */
int bs_cms_inspect(const uint8_t *der, size_t len, struct bs_cms_info *info,
		   struct bs_error *err) BS_WUR;

#endif
