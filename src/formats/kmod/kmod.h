/* Linux kernel module signatures: the trailer the kernel's scripts/sign-file appends.
 *
 *   module bytes
 *   PKCS#7 SignedData (DER): detached, no signed attributes, no certificates, one
 *     SignerInfo naming the signer by issuer and serial; its signature is over the
 *     module digest (RSA: PKCS#1 v1.5 with DigestInfo)
 *   struct module_signature (12 bytes): algo 0, hash 0, id_type 2 (PKEY_ID_PKCS7),
 *     signer_len 0, key_id_len 0, 3 pad bytes 0, sig_len (big-endian u32, bytes of the
 *     PKCS#7 blob)
 *   "~Module signature appended~\n" (28 bytes)
 *
 * For a file key the trailer is byte-identical to sign-file's for the same key, digest and
 * module (sign-file: CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR). */
#ifndef BS_FORMATS_KMOD_H
#define BS_FORMATS_KMOD_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"

#define BS_KMOD_MAGIC "~Module signature appended~\n"
#define BS_KMOD_MAGIC_LEN 28u
#define BS_KMOD_INFO_LEN 12u           /* struct module_signature */
#define BS_KMOD_ID_PKCS7 2u            /* module_signature.id_type */
#define BS_KMOD_STRIP_MAX 16u          /* appended signatures stripped from one module */

/* "sha256" | "sha384" | "sha512" -> NID; anything else is BS_ERR_INVALID naming `field`. */
int bs_kmod_hash_nid(int *out, const char *field, const char *name,
		     struct bs_error *err) BS_WUR;

/* Length of the module without its appended signature(s): len when it carries none;
 * otherwise every well-formed trailer is removed, innermost last. *stripped = how many.
 * A trailer whose record is not a PKCS#7 module_signature or whose sig_len runs past the
 * start of the file is BS_ERR_FORMAT naming `what` (the member name). */
int bs_kmod_unsigned_len(size_t *out, unsigned *stripped, const uint8_t *mod, size_t len,
			 const char *what, struct bs_error *err) BS_WUR;

/* A signature made for one module. */
struct bs_kmod_sig {
	uint8_t digest[EVP_MAX_MD_SIZE]; /* the module digest that was signed */
	size_t dlen;
	uint8_t *trailer;                /* PKCS#7 || module_signature || magic (malloc'd) */
	size_t trailer_len;
};

/* Sign module bytes mod[0..len) (already without a signature) with key and cert
 * (the certificate only names the signer; it is not embedded). */
int bs_kmod_sign(struct bs_kmod_sig *out, struct bs_key *key, X509 *cert, int md_nid,
		 const uint8_t *mod, size_t len, struct bs_error *err) BS_WUR;

/* Free the trailer; the struct becomes empty. */
void bs_kmod_sig_clear(struct bs_kmod_sig *s);

#endif
