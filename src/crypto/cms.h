/* CMS detached SignedData exactly as NXP CST produces it (HAB4) and generic enough for
 * other formats: DER, definite lengths, no certificates, no CRLs, one SignerInfo with
 * IssuerAndSerialNumber, signed attributes contentType + signingTime + messageDigest (DER
 * sorted), signature over the SET-tagged attributes via the key interface.
 *
 * The content is never passed in: callers hash it (streaming) and pass the digest. */
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
	enum bs_sig_scheme scheme;
};

/* Build a DER ContentInfo(SignedData). `content_digest` = H(content) for opts->md_nid. */
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
