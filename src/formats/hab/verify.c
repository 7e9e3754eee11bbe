/* Offline HAB4 verifier (HAB4 notes 3.4): IVT, CSF, command state machine, SRK table
 * against the fuse, CSFK and image key chain. Signatures, data blocks and coverage are in
 * verify_data.c. The image is never loaded whole: structures are read with pread. */
#include "formats/hab/verify.h"

#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/hab/verify_int.h"

int bs_hab_fuse_load(uint8_t *digest, size_t *digest_len, const uint8_t *data, size_t len,
		     struct bs_error *err)
{
	if (len == 20 || len == 32 || len == 64) {
		memcpy(digest, data, len);
		*digest_len = len;
		return 0;
	}
	if (len == 80 || len == 128 || len == 256) {
		for (size_t i = 0; i < len / 4; i++) {
			if (data[4 * i] != 0 || data[4 * i + 1] != 0 || data[4 * i + 2] != 0)
				return bs_error_set(err, BS_ERR_FORMAT,
						    "fuse file: %zu bytes but byte %zu is not "
						    "00 00 00 xx (srktool -f 0 format)", len, 4 * i);
			digest[i] = data[4 * i + 3];
		}
		*digest_len = len / 4;
		return 0;
	}
	return bs_error_set(err, BS_ERR_FORMAT,
			    "fuse file: %zu bytes is neither a raw SHA-1/256/512 digest (20/32/64) "
			    "nor srktool's -f 0 expansion (80/128/256)", len);
}

#define CMDERR(code, ...) cmd_err(err, code, c, __VA_ARGS__)

static int cmd_err(struct bs_error *err, int code, const struct bs_hab_cmd *c,
		   const char *fmt, ...) BS_PRINTF(4, 5);
static int cmd_err(struct bs_error *err, int code, const struct bs_hab_cmd *c,
		   const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bs_error_set(err, code, "CSF: command %zu at 0x%zx: %s: %s", c->index, c->off,
			    bs_hab_cmd_name(c->tag), msg);
}

static void slot_clear(struct bs_hab_slot *s)
{
	EVP_PKEY_free(s->pub);
	X509_free(s->cert);
	memset(s, 0, sizeof(*s));
}

/* Step 5: the SRK table against the fuse, revocation, the selected record. */
static int install_srk(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, struct bs_error *err)
{
	if (v->srk_done)
		return CMDERR(BS_ERR_VERIFY, "second SRK installation");
	if (v->csf_authed)
		return CMDERR(BS_ERR_VERIFY, "SRK installed after Authenticate CSF");
	if (c->tgt != HAB_SLOT_SRK && c->tgt != HAB_SLOT_SRK_NXP)
		return CMDERR(BS_ERR_VERIFY, "SRK target slot %u (want 0 or 5)", c->tgt);
	if (c->par & ~HAB_CMD_INS_KEY_ABS)
		return CMDERR(BS_ERR_VERIFY, "SRK install with flags 0x%02x (only ABS allowed)",
			      c->par);
	int md_nid = bs_hab_alg_to_nid(c->alg);
	if (c->alg != HAB_ALG_SHA1 && c->alg != HAB_ALG_SHA256 && c->alg != HAB_ALG_SHA512)
		return CMDERR(BS_ERR_VERIFY, "SRK table hash algorithm 0x%02x not supported",
			      c->alg);
	if (c->src >= HAB_SRK_RECORDS_MAX)
		return CMDERR(BS_ERR_VERIFY, "Source index = %u is out of range (0 to 3)", c->src);
	uint64_t off;
	uint8_t *blob = NULL;
	size_t blen;
	int rc = bs_hab_vdata_off(v, c->key_off, c->par & HAB_CMD_INS_KEY_ABS, &off, "SRK",
				  err);
	if (rc == 0)
		rc = bs_hab_image_blob(&v->img, off, HAB_TAG_CRT, &blob, &blen, "SRK: table", err);
	if (rc != 0)
		return rc;
	rc = bs_srk_table_parse(&v->srk, blob, blen, err);
	free(blob);
	if (rc != 0)
		return bs_error_prefix(err, "SRK: table");
	uint8_t fuse[64];
	size_t flen = sizeof(fuse);
	if ((rc = bs_srk_table_fuse(v->srk, md_nid, fuse, &flen, err)) != 0)
		return bs_error_prefix(err, "SRK: table hash");
	if (flen != v->fuse_len)
		return bs_error_set(err, BS_ERR_VERIFY,
				    "SRK: table hash does not match fuse (the CSF hashes the "
				    "table with %s, %zu bytes; the fuse holds %zu bytes)",
				    bs_hab_alg_name(c->alg), flen, v->fuse_len);
	if (memcmp(fuse, v->fuse, flen) != 0)
		return bs_error_set(err, BS_ERR_VERIFY, "SRK: table hash does not match fuse");
	bs_hab_vlog(v, "SRK table hash matches fuse (%s, %zu records)",
		    bs_hab_alg_name(c->alg), v->srk->n);
	if (v->opts->revoked_mask & (1u << c->src))
		return bs_error_set(err, BS_ERR_VERIFY, "SRK: index %u is revoked", c->src);
	struct bs_hab_chain_key k;
	if ((rc = bs_hab_chain_srk(&k, v->srk, c->src, BS_ERR_VERIFY, err)) != 0)
		return bs_error_prefix(err, "SRK");
	const struct bs_srk_entry *e = &v->srk->e[c->src];
	bs_hab_vlog(v, "SRK index %u not revoked (mask 0x%x)", c->src, v->opts->revoked_mask);
	struct bs_hab_slot *s = &v->slots[c->tgt];
	if (EVP_PKEY_up_ref(e->pub) != 1)
		return bs_error_ssl(err, BS_ERR_CRYPTO, "SRK: key reference");
	s->used = true;
	s->pub = e->pub;
	s->ca = e->ca;
	v->srk_done = true;
	v->srk_slot = c->tgt;
	v->srk_index = c->src;
	bs_hab_vlog(v, "SRK %u installed in slot %u (%s, %s)", c->src, c->tgt,
		    bs_hab_alg_name(e->sig_alg), e->ca ? "CA" : "non-CA");
	return 0;
}

/* Read a D7 certificate blob and decode its DER (must fill the structure exactly); with
 * HSH, the digest of the whole structure must match. */
static int read_cert(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, const char *what,
		     X509 **out, struct bs_error *err)
{
	uint64_t off;
	uint8_t *blob = NULL;
	size_t blen;
	int rc = bs_hab_vdata_off(v, c->key_off, c->par & HAB_CMD_INS_KEY_ABS, &off, what, err);
	if (rc == 0)
		rc = bs_hab_image_blob(&v->img, off, HAB_TAG_CRT, &blob, &blen, what, err);
	if (rc != 0)
		return rc;
	if (c->cert_hash != NULL) {
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		const EVP_MD *type = EVP_get_digestbynid(bs_hab_alg_to_nid(c->alg));
		if (type == NULL || EVP_Digest(blob, blen, md, &mdlen, type, NULL) != 1) {
			rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: certificate hash", what);
			goto out;
		}
		if (mdlen != c->cert_hash_len || memcmp(md, c->cert_hash, mdlen) != 0) {
			rc = bs_error_set(err, BS_ERR_VERIFY,
					  "%s: certificate does not match the hash in the command",
					  what);
			goto out;
		}
	}
	const unsigned char *p = blob + 4;
	X509 *x = d2i_X509(NULL, &p, (long)(blen - 4));
	if (x == NULL || p != blob + blen) {
		X509_free(x);
		rc = bs_error_ssl(err, BS_ERR_FORMAT, "%s: blob is not one DER certificate", what);
		goto out;
	}
	*out = x;
out:
	free(blob);
	return rc;
}

/* Step 6: Install CSFK. */
static int install_csfk(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, struct bs_error *err)
{
	if (v->csfk_done)
		return CMDERR(BS_ERR_VERIFY, "second CSFK installation");
	if (v->csf_authed)
		return CMDERR(BS_ERR_VERIFY, "CSFK installed after Authenticate CSF");
	if (!(c->par & HAB_CMD_INS_KEY_CSF) || (c->par & HAB_CMD_INS_KEY_HSH) || c->alg != 0)
		return CMDERR(BS_ERR_VERIFY,
			      "CSFK install needs the CSF flag, no HSH and alg 0 (flags 0x%02x, "
			      "alg 0x%02x)", c->par, c->alg);
	uint8_t want_src = c->tgt == HAB_SLOT_CSFK ? HAB_SLOT_SRK : HAB_SLOT_SRK_NXP;
	if (c->src != want_src || !v->srk_done || v->srk_slot != want_src)
		return CMDERR(BS_ERR_VERIFY, "CSFK slot %u must be verified by the SRK in slot %u "
			      "(source %u)", c->tgt, want_src, c->src);
	X509 *cert = NULL;
	int rc = read_cert(v, c, "CSFK", &cert, err);
	if (rc != 0)
		return rc;
	struct bs_hab_chain_key keys[HAB_KEY_SLOTS];
	bs_hab_vkeys(v, keys);
	rc = bs_hab_chain_cert(cert, "CSFK: certificate", &keys[c->src], v->srk, keys,
			       HAB_KEY_SLOTS, BS_ERR_VERIFY, err);
	if (rc != 0) {
		X509_free(cert);
		return rc;
	}
	struct bs_hab_slot *s = &v->slots[c->tgt];
	s->pub = X509_get_pubkey(cert);
	if (s->pub == NULL) {
		X509_free(cert);
		return bs_error_ssl(err, BS_ERR_FORMAT, "CSFK: certificate public key");
	}
	s->cert = cert;
	s->used = true;
	s->ca = X509_check_ca(cert) == 1;
	v->csfk_done = true;
	bs_hab_vlog(v, "CSFK certificate signed by SRK %u, installed in slot %u", c->src,
		    c->tgt);
	return 0;
}

static bool target_ok(uint8_t tgt)
{
	return tgt < HAB_KEY_SLOTS && tgt != HAB_SLOT_SRK && tgt != HAB_SLOT_CSFK &&
	       tgt != HAB_SLOT_SRK_NXP && tgt != HAB_SLOT_CSFK_NXP;
}

/* Step 8: Install Key for an image key. */
static int install_img_key(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			   struct bs_error *err)
{
	char what[48];
	snprintf(what, sizeof(what), "Install Key slot %u", c->tgt);
	if (!v->csf_authed)
		return CMDERR(BS_ERR_VERIFY, "image key installed before Authenticate CSF");
	if (!target_ok(c->tgt))
		return CMDERR(BS_ERR_VERIFY, "target slot %u (want 2, 3, 4 or 7)", c->tgt);
	if (c->par & HAB_CMD_INS_KEY_CSF)
		return CMDERR(BS_ERR_VERIFY, "CSF flag on an image key");
	if (!(c->par & HAB_CMD_INS_KEY_HSH) && c->alg != 0)
		return CMDERR(BS_ERR_VERIFY,
			      "hash algorithm 0x%02x without the HSH flag (HAB requires alg 0; "
			      "CST quirk of `Hash Algorithm` in [Install Key])", c->alg);
	if (c->src >= HAB_KEY_SLOTS || !v->slots[c->src].used)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: verification slot %u is empty", what,
				    c->src);
	X509 *cert = NULL;
	int rc = read_cert(v, c, what, &cert, err);
	if (rc != 0)
		return rc;
	struct bs_hab_chain_key keys[HAB_KEY_SLOTS];
	char cwhat[64];
	snprintf(cwhat, sizeof(cwhat), "%s: certificate", what);
	bs_hab_vkeys(v, keys);
	rc = bs_hab_chain_cert(cert, cwhat, &keys[c->src], v->srk, keys, HAB_KEY_SLOTS,
			       BS_ERR_VERIFY, err);
	if (rc != 0) {
		X509_free(cert);
		return rc;
	}
	EVP_PKEY *pub = X509_get_pubkey(cert);
	if (pub == NULL) {
		X509_free(cert);
		return bs_error_ssl(err, BS_ERR_FORMAT, "%s: certificate public key", what);
	}
	struct bs_hab_slot *s = &v->slots[c->tgt];
	if (s->used) {
		bool same = EVP_PKEY_eq(s->pub, pub) == 1;
		EVP_PKEY_free(pub);
		X509_free(cert);
		if (!same)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s: slot already holds a different key", what);
		bs_hab_vlog(v, "%s: same key already installed (skipped)", what);
		return 0;
	}
	s->used = true;
	s->pub = pub;
	s->cert = cert;
	s->ca = X509_check_ca(cert) == 1;
	bs_hab_vlog(v, "%s: certificate signed by slot %u key%s", what, c->src,
		    s->ca ? " (CA)" : "");
	return 0;
}

static int install_secret(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			  struct bs_error *err)
{
	if (!v->csf_authed)
		return CMDERR(BS_ERR_VERIFY, "secret key installed before Authenticate CSF");
	if (c->alg != 0 || (c->par & ~HAB_CMD_INS_KEY_ABS))
		return CMDERR(BS_ERR_VERIFY, "secret key with alg 0x%02x flags 0x%02x", c->alg,
			      c->par);
	if (c->tgt >= BS_HAB_SECRET_SLOTS || v->secret[c->tgt] || c->src > 3)
		return CMDERR(BS_ERR_VERIFY, "secret slot %u (KEK %u) invalid or reused", c->tgt,
			      c->src);
	v->secret[c->tgt] = true;
	bs_hab_vlog(v, "secret key slot %u: DEK blob expected at 0x%08" PRIx32
		    " (not checked offline)", c->tgt, c->key_off);
	return 0;
}

static int run_ins_key(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, struct bs_error *err)
{
	switch (c->pcl) {
	case HAB_PCL_SRK:
		return install_srk(v, c, err);
	case HAB_PCL_X509:
		if (c->tgt == HAB_SLOT_CSFK || c->tgt == HAB_SLOT_CSFK_NXP)
			return install_csfk(v, c, err);
		return install_img_key(v, c, err);
	case HAB_PCL_BLOB:
		return install_secret(v, c, err);
	default:
		return CMDERR(BS_ERR_VERIFY, "protocol 0x%02x not supported", c->pcl);
	}
}

/* Step 4: the state machine, one command at a time. */
static int run_cmd(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, struct bs_error *err)
{
	switch (c->tag) {
	case HAB_CMD_INS_KEY:
		return run_ins_key(v, c, err);
	case HAB_CMD_AUT_DAT:
		if (!v->csf_authed)
			return bs_hab_verify_auth_csf(v, c, err);
		return bs_hab_verify_auth_data(v, c, err);
	case HAB_CMD_SET:
	case HAB_CMD_NOP:
		return 0;
	case HAB_CMD_UNLK:
	case HAB_CMD_INIT:
		if (!v->csf_authed)
			return CMDERR(BS_ERR_VERIFY, "before Authenticate CSF");
		bs_hab_vlog(v, "%s %s features 0x%" PRIx32, bs_hab_cmd_name(c->tag),
			    bs_hab_engine_name(c->eng), c->features);
		return 0;
	case HAB_CMD_CHK_DAT:
		if (v->csf_authed)
			return CMDERR(BS_ERR_VERIFY, "after Authenticate CSF");
		return 0;
	default:
		return CMDERR(BS_ERR_VERIFY, "not allowed in a CSF");
	}
}

/* Steps 2-4, then 11. */
static int verify_csf(struct bs_hab_vctx *v, struct bs_error *err)
{
	uint8_t h[4];
	int rc = bs_hab_image_read(&v->img, h, sizeof(h), v->img.csf_off, "CSF: header", err);
	if (rc != 0)
		return rc;
	if ((h[0] | h[1] | h[2] | h[3]) == 0)
		return bs_error_set(err, BS_ERR_VERIFY,
				    "not signed: the CSF area at file offset 0x%" PRIx64
				    " (0x%08" PRIx32 ") is empty", v->img.csf_off, v->img.ivt.csf);
	uint64_t avail = v->img.size - v->img.csf_off;
	if ((rc = bs_hab_csf_header(h, avail > 0xFFFF ? 0xFFFF : (size_t)avail,
				    v->opts->csf_max, &v->cmd_len, &v->version, err)) != 0)
		return rc;
	if ((v->csf = malloc(v->cmd_len)) == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if ((rc = bs_hab_image_read(&v->img, v->csf, v->cmd_len, v->img.csf_off, "CSF", err)))
		return rc;
	/* Step 3: decode every command before executing any. */
	struct bs_hab_cmd c;
	size_t pos = 4, n = 0;
	while (pos < v->cmd_len)
		if ((rc = bs_hab_csf_next(&c, v->csf, v->cmd_len, &pos, ++n, err)) != 0)
			return rc;
	bs_hab_vlog(v, "CSF at file offset 0x%" PRIx64 ": version 0x%02x, %zu commands, "
		    "0x%x bytes", v->img.csf_off, v->version, n, v->cmd_len);
	pos = 4;
	for (size_t i = 1; i <= n; i++) {
		if ((rc = bs_hab_csf_next(&c, v->csf, v->cmd_len, &pos, i, err)) != 0)
			return rc;
		if ((rc = run_cmd(v, &c, err)) != 0)
			return rc;
	}
	if (!v->csf_authed)
		return bs_error_set(err, BS_ERR_VERIFY, "CSF: no Authenticate CSF command");
	return bs_hab_verify_coverage(v, err);
}

int bs_hab_verify_image(const char *path, const struct bs_hab_verify_opts *opts,
			struct bs_error *err)
{
	struct bs_error local;
	if (err == NULL)
		err = &local;
	bs_error_clear(err);
	struct bs_hab_vctx *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	v->opts = opts;
	v->img.fd = -1;
	int rc = bs_hab_fuse_load(v->fuse, &v->fuse_len, opts->fuse, opts->fuse_len, err);
	if (rc == 0)
		rc = bs_hab_image_open(&v->img, path, err);
	if (rc == 0)
		rc = bs_hab_image_load_ivt(&v->img, opts->has_ivt_offset, opts->ivt_offset, err);
	if (rc == 0) {
		const struct bs_hab_image *m = &v->img;
		bs_hab_vlog(v, "IVT at file offset 0x%" PRIx64 ": version 0x%02x, self 0x%08" PRIx32
			    ", entry 0x%08" PRIx32 ", csf 0x%08" PRIx32, m->ivt.off,
			    m->ivt.version, m->ivt.self, m->ivt.entry, m->ivt.csf);
		bs_hab_vlog(v, "boot data: image [0x%08" PRIx32 "+0x%" PRIx32 "], plugin %" PRIu32
			    "%s", m->bd_start, m->bd_length, m->bd_plugin,
			    m->dcd_len ? ", DCD present" : "");
		rc = verify_csf(v, err);
	}
	if (rc != 0 && opts->log != NULL && err != NULL)
		fprintf(opts->log, "FAIL  %s\n", err->msg);
	for (size_t i = 0; i < HAB_KEY_SLOTS; i++)
		slot_clear(&v->slots[i]);
	bs_srk_table_free(v->srk);
	free(v->csf);
	bs_hab_image_close(&v->img);
	free(v);
	return rc;
}
