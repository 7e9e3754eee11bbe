/* HAB4 (and AHAB, opts.ahab) PKI ceremony: CA, SRK1..4 (CA-flagged), CSF and IMG keys per SRK, X.509
 * certificates with the extensions CST's scripts use, SRK table + fuse, the CST folder
 * layout (crts/, keys/, keys/key_pass.txt) and imx-cst-keys.tar.gz.
 * Keys are generated either as encrypted PKCS#8 files or inside a PKCS#11 token
 * (non-extractable; certificates are then signed by the token keys). */
#ifndef BS_FORMATS_HAB_PKI_H
#define BS_FORMATS_HAB_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"

enum bs_pki_keytype {
	BS_PKI_RSA2048, BS_PKI_RSA3072, BS_PKI_RSA4096, BS_PKI_P256, BS_PKI_P384, BS_PKI_P521,
};

struct bs_pki_opts {
	const char *outdir;          /* created; must not exist or be empty */
	enum bs_pki_keytype keytype;
	unsigned nsrk;               /* 1..4, default 4 */
	unsigned validity_days;      /* default 3650 */
	const char *passphrase;      /* for encrypted key files; NULL = generate one and
	                                write it to keys/key_pass.txt (0600) */
	const struct bs_keygen *keygen; /* non-NULL: generate keys inside a token through it
					 * (keys/p11_keygen.h); NULL: encrypted key files */
	bool write_tgz;              /* also write outdir/imx-cst-keys.tar.gz: the server
				      * bundle (bs_pki_pack_bundle), never the root keys */
	/* AHAB PKI (i.MX8QXP/8QM/8ULP/9x): CA, SRK1..4 (4 required), no CSF/IMG keys; with
	 * `sgk` one signing key per SRK (SGK<i>_1_..._usr, CA:false, for [Install
	 * Certificate]) and its certificate signed by the SRK (permissions 0x01) in
	 * crts/SGK<i>_1_..._usr_cert_sig.bin; AHAB SRK table (records with SHA-256), fuse files SHA-512
	 * (SRK_1_2_3_4_fuse.bin, srktool's default) and SHA-256 (..._fuse_sha256.bin). */
	bool ahab;
	bool sgk;
	/* progress callback for slow token key generation (may be NULL) */
	void (*progress)(void *ctx, const char *what);
	void *progress_ctx;
};

int bs_pki_create(const struct bs_pki_opts *opts, struct bs_error *err) BS_WUR;

/* Pack a directory tree (a CST PKI tree) into a tar.gz in memory. *out malloc'd. */
int bs_pki_pack_tgz(uint8_t **out, size_t *out_len, const char *dir,
		    struct bs_error *err) BS_WUR;

/* A signing server's bundle from a CST PKI tree: only the files signing needs
 * (formats/hab/bundle.h: crts/, CSF/IMG keys and key_pass.txt), never an SRK or CA
 * private key. *skipped (may be NULL) = files left out. BS_ERR_NOT_FOUND if nothing is
 * left. *out malloc'd. */
int bs_pki_pack_bundle(uint8_t **out, size_t *out_len, const char *dir, size_t *skipped,
		       struct bs_error *err) BS_WUR;

#endif
