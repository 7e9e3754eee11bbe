/* SWUpdate: the signature over sw-description (sw-description.sig).
 *
 * SWUpdate verifies the first file of a .swu archive, sw-description, against the file
 * that directly follows it, sw-description.sig, in one of three ways (its build option
 * decides which one a device accepts):
 *  - RSA:     PKCS#1 v1.5, SHA-256, the raw signature (what `openssl dgst -sha256 -sign`
 *             writes);
 *  - RSA-PSS: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt of the maximum length for the key
 *             (`openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt
 *             rsa_pss_saltlen:-2`, SWUpdate's documented command; its verifier recovers
 *             any salt length);
 *  - CMS:     DER SignedData, detached, binary content, SHA-256, signed attributes
 *             contentType + signingTime + messageDigest, no SMIMECapabilities, the signer
 *             certificate included (`openssl cms -sign -outform DER -nosmimecap -binary`).
 *
 * The content is hashed by the caller (streaming); only its SHA-256 digest comes here. */
#ifndef BS_FORMATS_SWUPDATE_SWU_SIG_H
#define BS_FORMATS_SWUPDATE_SWU_SIG_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "crypto/key.h"

#define BS_SWU_DIGEST_LEN 32 /* SHA-256 */

enum bs_swu_method {
	BS_SWU_RSA = 0,
	BS_SWU_RSA_PSS = 1,
	BS_SWU_CMS = 2,
};

/* The method named `name` ("RSA", "RSA-PSS", "CMS"; exact case, as digsigserver).
 * BS_ERR_INVALID naming the field value otherwise. */
int bs_swu_method_parse(enum bs_swu_method *out, const char *name,
			struct bs_error *err) BS_WUR;
/* "RSA", "RSA-PSS" or "CMS". */
const char *bs_swu_method_name(enum bs_swu_method m);

/* The PSS salt length SWUpdate's documented signing command uses for `pub`: the
 * largest one the key allows with SHA-256 (emLen - 32 - 2), 0 if pub is not RSA. */
int bs_swu_pss_saltlen(EVP_PKEY *pub);

/* Sign sw-description, given its SHA-256 digest, with `key`. RSA and RSA-PSS need an RSA
 * key (BS_ERR_KEY otherwise) and ignore cert; CMS needs the certificate of the key (it is
 * included in the SignedData) and signs at signing_time (0 = now). *out is malloc'd,
 * caller frees; nothing is returned on failure. */
int bs_swu_sign(uint8_t **out, size_t *out_len, enum bs_swu_method method,
		struct bs_key *key, X509 *cert, const uint8_t digest[BS_SWU_DIGEST_LEN],
		time_t signing_time, struct bs_error *err) BS_WUR;

#endif
