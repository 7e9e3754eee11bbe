/* Signing an AHAB container as CST 4.0.1 does (AHAB.md §10), plus the checks CST leaves
 * out: consistent Offsets, every image hash matching its bytes, the new signature block
 * clear of the first image, the Source certificate's key equal to the SRK table entry
 * Source Index selects, the certificate key of the SRK's type and size.
 *
 * The result is a patch: the new container (header, image array, signature block) and
 * the file offset it goes to. The signed image is the input with those bytes replaced
 * (CST's output has the input's size), so callers stream the input and write the patch:
 * large images never sit in memory. */
#ifndef BS_AHAB_SIGN_H
#define BS_AHAB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"
#include "formats/ahab/ahab.h"
#include "formats/ahab/csf.h"

struct bs_ahab_patch {
	uint8_t *data;   /* the signed container; malloc'd, free with bs_ahab_patch_free */
	size_t len;
	uint64_t offset; /* file offset (the CSF's first Offsets value) */
	/* what was signed, for the audit record */
	int md_nid;
	uint8_t digest[BS_AHAB_HASH_MAX];      /* container signature digest */
	size_t digest_len;
	uint8_t cert_digest[BS_AHAB_HASH_MAX]; /* certificate signature digest (0 = none) */
	size_t cert_digest_len;
};

struct bs_ahab_sign_opts {
	/* A signing server: never load an SRK private key from a file (Source not a pkcs11:
	 * URI). Signing then needs [Install Certificate] with a pre-made certificate
	 * Signature, so only the certificate's key signs (BS_ERR_POLICY otherwise). */
	bool refuse_root_keys;
};

/* Sign the container the CSF names. keys resolves the SRK table (read), the Source and
 * certificate files (load_cert) and their private keys (load_key). image reads the
 * Authenticate Data file; opts may be NULL (defaults). A certificate Signature file is
 * read through keys->read and verified with the selected SRK before use. Errors name the
 * CSF position of the argument at fault:
 * BS_ERR_SEMANTIC (offsets, key/table mismatch, overlap), BS_ERR_VERIFY (an image hash
 * does not match its bytes), BS_ERR_FORMAT (malformed container or table), and the key
 * layer's codes. On error out is zeroed. */
int bs_ahab_sign(struct bs_ahab_patch *out, const struct bs_ahab_csf *csf,
		 const struct bs_key_source *keys, const struct bs_ahab_reader *image,
		 const struct bs_ahab_sign_opts *opts, struct bs_error *err) BS_WUR;

/* The SRK's signature over the certificate the CSF's [Install Certificate] describes
 * (raw bytes, as in the signature structure: RSA modulus-size, ECDSA r||s): the file a
 * later CSF names as its certificate `Signature`, made once where the SRK key lives.
 * Only [Install SRK] and [Install Certificate] are used. *out malloc'd. */
int bs_ahab_cert_signature(uint8_t **out, size_t *out_len, const struct bs_ahab_csf *csf,
			   const struct bs_key_source *keys, struct bs_error *err) BS_WUR;

/* The same from objects in hand (a PKI ceremony): the SRK table bytes, the index of the
 * signing SRK with its certificate and key, the certificate's X.509 certificate and the
 * permissions. *out malloc'd. */
int bs_ahab_cert_signature_with(uint8_t **out, size_t *out_len, const uint8_t *table,
				size_t table_len, unsigned srk_index, X509 *srk_cert,
				struct bs_key *srk_key, X509 *cert, uint8_t permissions,
				struct bs_error *err) BS_WUR;

void bs_ahab_patch_free(struct bs_ahab_patch *p);

#endif
