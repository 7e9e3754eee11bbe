/* The HAB4 CSF compiler: commands in file order, blobs appended in command order,
 * offsets patched in a second pass, the CSF signature last (HAB4 notes §2.3-2.6). */
#include "formats/hab/csf_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/util.h"
#include "crypto/cms.h"
#include "formats/hab/bundle.h"
#include "formats/hab/chain.h"
#include "formats/hab/hab.h"
#include "formats/hab/srk.h"
#include "crypto/key.h"

#define CSF_HASH_CHUNK (64u * 1024)      /* block streaming read size */
#define CSF_NO_PATCH SIZE_MAX

/* A key slot as the compiler sees it: which certificate (and, lazily, which key). */
struct slot {
	X509 *cert;
	const struct bs_csf_cmd *installer; /* the command that filled it */
	struct bs_key *key;
};

/* An appended record (SRK table, certificate, signature) and where its offset goes. */
struct blob {
	uint8_t *data;
	size_t len;      /* without padding */
	size_t patch_at; /* position of the U32 offset field in the command region */
};

struct compiler {
	const struct bs_csf *csf;
	const struct bs_hab_sign_opts *opts;
	struct bs_hab_sign_report *report;
	struct bs_error *err;
	uint8_t version;
	int md_nid;
	const EVP_MD *md;
	struct bs_buf cmds;
	struct blob blobs[BS_CSF_BLOBS_MAX];
	size_t nblobs;
	struct slot slots[HAB_KEY_SLOTS];
	/* The chain as HAB will walk it (unless opts->allow_unbootable). */
	struct bs_srk_table *srk;
	struct bs_hab_chain_key keys[HAB_KEY_SLOTS];
	size_t csf_sig_at;
	uint8_t csf_slot;
	bool have_auth_csf;
};

static const char *csf_name(const struct compiler *c)
{
	return c->csf->filename ? c->csf->filename : "<csf>";
}

/* Prefix a callee's message with the CSF position; keeps rc. */
static int fail_from(struct compiler *c, int rc, unsigned line, unsigned col)
{
	if (c->err != NULL) {
		if (c->err->code == 0) {
			(void)bs_error_recode(c->err, rc);
			c->err->msg[0] = '\0';
		}
		(void)bs_error_prefix(c->err, "%s:%u:%u", csf_name(c), line, col);
	}
	return rc;
}

static int buf_rc(struct compiler *c, int rc, const struct bs_csf_cmd *cmd)
{
	if (rc == BS_ERR_LIMIT)
		return bs_error_set(c->err, rc,
				    "%s:%u:%u: command region exceeds %u bytes (HAB/CST limit)",
				    csf_name(c), cmd->line, cmd->col, HAB_CSF_CMDS_MAX);
	return bs_error_set(c->err, rc, "%s:%u:%u: out of memory", csf_name(c), cmd->line,
			    cmd->col);
}

static size_t pad4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

/* Build `tag len version | payload` into a new blob. */
static int add_blob(struct compiler *c, uint8_t tag, uint8_t version, const uint8_t *payload,
		    size_t plen, size_t patch_at, const struct bs_csf_cmd *cmd)
{
	if (c->nblobs >= BS_CSF_BLOBS_MAX)
		return bs_error_set(c->err, BS_ERR_LIMIT, "%s:%u:%u: too many records",
				    csf_name(c), cmd->line, cmd->col);
	if (plen > BS_CSF_RECORD_MAX - 4)
		return bs_error_set(c->err, BS_ERR_LIMIT,
				    "%s:%u:%u: record of %zu bytes does not fit a 16-bit length",
				    csf_name(c), cmd->line, cmd->col, plen + 4);
	uint8_t *d = malloc(plen + 4);
	if (d == NULL)
		return bs_error_set(c->err, BS_ERR_NOMEM, "out of memory");
	d[0] = tag;
	bs_buf_put_be16(d + 1, (uint16_t)(plen + 4));
	d[3] = version;
	memcpy(d + 4, payload, plen);
	c->blobs[c->nblobs++] = (struct blob){ .data = d, .len = plen + 4, .patch_at = patch_at };
	return 0;
}

/* Append a command of 4 header bytes + optional body; returns the offset of the
 * command's first byte in *at. */
static int emit(struct compiler *c, const struct bs_csf_cmd *cmd, const uint8_t *bytes,
		size_t len, size_t *at)
{
	if (at != NULL)
		*at = c->cmds.len;
	int rc = bs_buf_append(&c->cmds, bytes, len);
	return rc ? buf_rc(c, rc, cmd) : 0;
}

static void report_key(struct compiler *c, const struct bs_key *key)
{
	struct bs_hab_sign_report *r = c->report;
	if (r == NULL || r->nkeys >= BS_ARRAY_SIZE(r->keys))
		return;
	const char *id = bs_key_id(key);
	snprintf(r->keys[r->nkeys++], sizeof(r->keys[0]), "%s", id ? id : "?");
}

/* ---- the chain HAB will walk (formats/hab/chain.h) ---- */

static bool chain_on(const struct compiler *c)
{
	return !c->opts->allow_unbootable;
}

static int chain_fail(struct compiler *c, int rc, const struct bs_csf_cmd *cmd)
{
	(void)bs_error_prefix(c->err, "[%s]", bs_csf_kind_name(cmd->kind));
	return fail_from(c, rc, cmd->file_line ? cmd->file_line : cmd->line,
			 cmd->file_line ? cmd->file_col : cmd->col);
}

/* Check `cert`, about to fill `slot`, against the key that will verify it. */
static int chain_check(struct compiler *c, const struct bs_csf_cmd *cmd, X509 *cert,
		       uint8_t slot)
{
	if (!chain_on(c))
		return 0;
	char what[BS_CSF_STRING_MAX / 4];
	snprintf(what, sizeof(what), "certificate \"%s\"", cmd->file);
	const struct bs_hab_chain_key *src = cmd->src < HAB_KEY_SLOTS ? &c->keys[cmd->src] : NULL;
	int rc = 0;
	if (c->srk == NULL || src == NULL || src->pub == NULL)
		rc = bs_error_set(c->err, BS_ERR_SEMANTIC,
				  "%s: key slot %u, which verifies it, is empty (HAB finds no key "
				  "there)%s", what, cmd->src,
				  cmd->src == HAB_SLOT_SRK && c->srk != NULL
					  ? "; with Source Set = NXP the SRK is in slot 5" : "");
	else if (cmd->kind == BS_CSF_INSTALL_NOCAK)
		rc = bs_hab_chain_nocak(cert, what, src, c->srk, BS_ERR_SEMANTIC, c->err);
	else
		rc = bs_hab_chain_cert(cert, what, src, c->srk, c->keys, HAB_KEY_SLOTS,
				       BS_ERR_SEMANTIC, c->err);
	if (rc != 0)
		return chain_fail(c, rc, cmd);
	struct bs_hab_chain_key *k = &c->keys[slot];
	if (cmd->kind == BS_CSF_INSTALL_NOCAK) {
		*k = *src;
		return 0;
	}
	k->pub = X509_get0_pubkey(cert);
	k->ca = X509_check_ca(cert) == 1;
	snprintf(k->name, sizeof(k->name), "the key in slot %u%s", slot,
		 cmd->kind == BS_CSF_INSTALL_CSFK ? " (CSFK)" : "");
	return 0;
}

/* [Install SRK]: the entry `Source index` selects is one HAB can install. */
static int chain_srk(struct compiler *c, const struct bs_csf_cmd *cmd, const uint8_t *tbl,
		     size_t len)
{
	if (!chain_on(c))
		return 0;
	bs_srk_table_free(c->srk);
	c->srk = NULL;
	int rc = bs_srk_table_parse(&c->srk, tbl, len, c->err);
	if (rc == 0 && cmd->tgt < HAB_KEY_SLOTS)
		rc = bs_hab_chain_srk(&c->keys[cmd->tgt], c->srk, cmd->src, BS_ERR_SEMANTIC,
				      c->err);
	if (rc != 0) {
		(void)bs_error_prefix(c->err, "SRK table \"%s\"", cmd->file);
		return chain_fail(c, rc, cmd);
	}
	return 0;
}

/* The key that signs data must not be a CA key (HAB_INV_KEY). */
static int chain_data_key(struct compiler *c, const struct bs_csf_cmd *cmd, uint8_t slot)
{
	if (!chain_on(c) || c->csf->nocak || slot >= HAB_KEY_SLOTS || !c->keys[slot].ca)
		return 0;
	return bs_error_set(c->err, BS_ERR_SEMANTIC,
			    "%s:%u:%u: [Authenticate Data] Verification index = %u: %s is a CA "
			    "key; HAB signs data only with non-CA keys (HAB_INV_KEY)",
			    csf_name(c), cmd->line, cmd->col, slot, c->keys[slot].name);
}

/* Under refuse_root_keys: an SRK or CA private key is never loaded from a file. */
static int root_key_policy(struct compiler *c, const struct slot *s)
{
	const char *file = s->installer->file;
	if (!c->opts->refuse_root_keys || strncmp(file, "pkcs11:", 7) == 0)
		return 0;
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	bool root = s->installer->kind == BS_CSF_INSTALL_NOCAK || X509_check_ca(s->cert) == 1 ||
		    bs_hab_name_is_root_key(base);
	if (!root)
		return 0;
	return bs_error_set(c->err, BS_ERR_POLICY,
			    "%s:%u:%u: \"%s\" needs an SRK or CA private key, which this server "
			    "never loads from a key bundle; sign with CSF/IMG keys (fast "
			    "authentication: keep the SRK key on a token, pkcs11: URI)",
			    csf_name(c), s->installer->file_line, s->installer->file_col, file);
}

/* ---- certificates and keys ---- */

static int install_cert(struct compiler *c, const struct bs_csf_cmd *cmd, uint8_t slot,
			size_t patch_at)
{
	if (cmd->file == NULL)
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s:%u:%u: %s without a File",
				    csf_name(c), cmd->line, cmd->col, bs_csf_kind_name(cmd->kind));
	if (slot >= HAB_KEY_SLOTS)
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s:%u:%u: key slot %u out of range",
				    csf_name(c), cmd->line, cmd->col, slot);
	X509 *cert = NULL;
	uint8_t *der = NULL;
	int rc = c->opts->keys.load_cert(c->opts->keys.ctx, cmd->file, &cert, c->err);
	if (rc != 0)
		return fail_from(c, rc, cmd->file_line, cmd->file_col);
	int dlen = i2d_X509(cert, NULL);
	if (dlen <= 0) {
		rc = bs_error_ssl(c->err, BS_ERR_CRYPTO, "%s:%u:%u: cannot DER-encode \"%s\"",
				  csf_name(c), cmd->file_line, cmd->file_col, cmd->file);
		goto out;
	}
	der = malloc((size_t)dlen);
	if (der == NULL) {
		rc = bs_error_set(c->err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	uint8_t *p = der;
	if (i2d_X509(cert, &p) != dlen) {
		rc = bs_error_ssl(c->err, BS_ERR_CRYPTO, "%s:%u:%u: cannot DER-encode \"%s\"",
				  csf_name(c), cmd->file_line, cmd->file_col, cmd->file);
		goto out;
	}
	if ((rc = chain_check(c, cmd, cert, slot)) != 0)
		goto out;
	rc = add_blob(c, HAB_TAG_CRT, c->version, der, (size_t)dlen, patch_at, cmd);
	if (rc != 0)
		goto out;
	struct slot *s = &c->slots[slot];
	X509_free(s->cert);
	bs_key_free(s->key);
	s->cert = cert;
	s->key = NULL;
	s->installer = cmd;
	cert = NULL;
out:
	free(der);
	X509_free(cert);
	return rc;
}

/* The slot whose key signs for `slot` (NOCAK mode: the NOCAK certificate, slot 1). */
static int signer_slot(struct compiler *c, const struct bs_csf_cmd *cmd, uint8_t slot,
		       bool image, struct slot **out)
{
	if (c->csf->nocak)
		slot = HAB_SLOT_CSFK;
	struct slot *s = slot < HAB_KEY_SLOTS ? &c->slots[slot] : NULL;
	bool ok = s != NULL && s->cert != NULL && s->installer != NULL;
	if (ok && image && !c->csf->nocak)
		ok = s->installer->kind == BS_CSF_INSTALL_KEY;
	if (!ok)
		return bs_error_set(c->err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: key slot %u holds no certificate installed by an "
				    "earlier %s",
				    csf_name(c), cmd->line, cmd->col, slot,
				    image ? "[Install Key]" : "[Install CSFK]/[Install NOCAK]");
	*out = s;
	return 0;
}

static int sign_digest(struct compiler *c, struct slot *s, const struct bs_csf_cmd *cmd,
		       const uint8_t *dgst, size_t dlen, size_t patch_at)
{
	uint8_t *cms = NULL;
	size_t cms_len = 0;
	int rc;
	if (s->key == NULL) {
		if ((rc = root_key_policy(c, s)) != 0)
			return rc;
		rc = c->opts->keys.load_key(c->opts->keys.ctx, s->installer->file, s->cert, &s->key,
				       c->err);
		if (rc != 0)
			return fail_from(c, rc, s->installer->file_line, s->installer->file_col);
	}
	struct bs_cms_sign_opts o = {
		.md_nid = c->md_nid,
		.signing_time = c->opts->signing_time,
	};
	rc = bs_cms_sign_digest(&cms, &cms_len, s->key, s->cert, dgst, dlen, &o, c->err);
	if (rc != 0)
		return fail_from(c, rc, cmd->line, cmd->col);
	rc = add_blob(c, HAB_TAG_SIG, c->version, cms, cms_len, patch_at, cmd);
	free(cms);
	if (rc == 0)
		report_key(c, s->key);
	struct bs_hab_sign_report *r = c->report;
	if (rc == 0 && r != NULL && r->ndigests < BS_ARRAY_SIZE(r->digests) &&
	    dlen <= sizeof(r->digests[0].d)) {
		if (cmd->kind == BS_CSF_AUTH_CSF || cmd->kind == BS_CSF_HEADER)
			snprintf(r->digests[r->ndigests].what, sizeof(r->digests[0].what),
				 "CSF commands");
		else
			snprintf(r->digests[r->ndigests].what, sizeof(r->digests[0].what),
				 "blocks of line %u", cmd->line);
		r->digests[r->ndigests].md_nid = c->md_nid;
		memcpy(r->digests[r->ndigests].d, dgst, dlen);
		r->digests[r->ndigests].len = dlen;
		r->ndigests++;
	}
	return rc;
}

/* ---- data blocks ---- */

static int hash_block(struct compiler *c, const struct bs_csf_block *b, EVP_MD_CTX *mctx,
		      uint8_t *chunk)
{
	FILE *fp = NULL;
	uint64_t size = 0;
	int rc = c->opts->data.open(c->opts->data.ctx, b->file, &fp, &size, c->err);
	if (rc != 0) {
		if (fp != NULL)
			fclose(fp);
		return fail_from(c, rc, b->line, b->col);
	}
	if (fp == NULL)
		return bs_error_set(c->err, BS_ERR_INTERNAL, "%s:%u:%u: data source gave no file",
				    csf_name(c), b->line, b->col);
	if ((uint64_t)b->offset + (uint64_t)b->length > size) {
		rc = bs_error_set(c->err, BS_ERR_SEMANTIC,
				  "%s:%u:%u: block offset 0x%x + length 0x%x is beyond the end of "
				  "\"%s\" (%llu bytes)",
				  csf_name(c), b->line, b->col, b->offset, b->length, b->file,
				  (unsigned long long)size);
		goto out;
	}
	if (b->length > 0 && fseeko(fp, (off_t)b->offset, SEEK_SET) != 0) {
		rc = bs_error_set(c->err, BS_ERR_IO, "%s:%u:%u: cannot seek in \"%s\"",
				  csf_name(c), b->line, b->col, b->file);
		goto out;
	}
	uint64_t left = b->length;
	while (left > 0) {
		size_t want = left < CSF_HASH_CHUNK ? (size_t)left : CSF_HASH_CHUNK;
		size_t got = fread(chunk, 1, want, fp);
		if (got != want) {
			rc = bs_error_set(c->err, BS_ERR_IO,
					  "%s:%u:%u: short read from \"%s\" (file changed?)",
					  csf_name(c), b->line, b->col, b->file);
			goto out;
		}
		if (EVP_DigestUpdate(mctx, chunk, got) != 1) {
			rc = bs_error_ssl(c->err, BS_ERR_CRYPTO, "digest update");
			goto out;
		}
		left -= got;
	}
out:
	fclose(fp);
	return rc;
}

/* H(concatenation of all block ranges), streamed. */
static int hash_blocks(struct compiler *c, const struct bs_csf_cmd *cmd, uint8_t *dgst,
		       size_t *dlen)
{
	int rc = 0;
	unsigned int n = 0;
	if (c->opts->data.digest != NULL) {
		rc = c->opts->data.digest(c->opts->data.ctx, cmd, c->md_nid, dgst, dlen, c->err);
		return rc != 0 ? fail_from(c, rc, cmd->line, cmd->col) : 0;
	}
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	uint8_t *chunk = malloc(CSF_HASH_CHUNK);
	if (mctx == NULL || chunk == NULL) {
		rc = bs_error_set(c->err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(mctx, c->md, NULL) != 1) {
		rc = bs_error_ssl(c->err, BS_ERR_CRYPTO, "digest init");
		goto out;
	}
	for (size_t i = 0; i < cmd->nblocks; i++) {
		rc = hash_block(c, &cmd->blocks[i], mctx, chunk);
		if (rc != 0)
			goto out;
	}
	if (EVP_DigestFinal_ex(mctx, dgst, &n) != 1) {
		rc = bs_error_ssl(c->err, BS_ERR_CRYPTO, "digest final");
		goto out;
	}
	*dlen = n;
out:
	free(chunk);
	EVP_MD_CTX_free(mctx);
	return rc;
}

/* ---- commands ---- */

static int do_header(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	c->version = cmd->version;
	c->md_nid = bs_hab_alg_to_nid(cmd->hash_alg);
	c->md = c->md_nid ? EVP_get_digestbynid(c->md_nid) : NULL;
	if (c->md == NULL)
		return bs_error_set(c->err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: unsupported Header Hash Algorithm 0x%02x",
				    csf_name(c), cmd->line, cmd->col, cmd->hash_alg);
	const uint8_t hdr[4] = { HAB_TAG_CSF, 0, 0, c->version };
	return emit(c, cmd, hdr, sizeof(hdr), NULL);
}

static int do_install_srk(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	uint8_t *tbl = NULL;
	size_t len = 0;
	size_t at;
	if (cmd->file == NULL)
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s:%u:%u: Install SRK without a File",
				    csf_name(c), cmd->line, cmd->col);
	int rc = c->opts->keys.read(c->opts->keys.ctx, cmd->file, BS_CSF_SRK_TABLE_MAX, &tbl, &len,
				    c->err);
	if (rc != 0)
		return fail_from(c, rc, cmd->file_line, cmd->file_col);
	if (len < 4 || len > BS_CSF_RECORD_MAX || tbl[0] != HAB_TAG_CRT || tbl[3] != 0x40) {
		rc = bs_error_set(c->err, BS_ERR_FORMAT, "%s:%u:%u: SRK table invalid: \"%s\"",
				  csf_name(c), cmd->file_line, cmd->file_col, cmd->file);
		goto out;
	}
	if ((rc = chain_srk(c, cmd, tbl, len)) != 0)
		goto out;
	const uint8_t ins[12] = { HAB_CMD_INS_KEY, 0, 12, 0,
				  HAB_PCL_SRK, cmd->hash_alg, cmd->src, cmd->tgt };
	rc = emit(c, cmd, ins, sizeof(ins), &at);
	if (rc != 0)
		goto out;
	/* The table is copied unchanged, with its own header. */
	if (c->nblobs >= BS_CSF_BLOBS_MAX) {
		rc = bs_error_set(c->err, BS_ERR_LIMIT, "too many records");
		goto out;
	}
	c->blobs[c->nblobs++] = (struct blob){ .data = tbl, .len = len, .patch_at = at + 8 };
	tbl = NULL;
out:
	free(tbl);
	return rc;
}

static uint8_t cert_protocol(const struct compiler *c, const struct bs_csf_cmd *cmd)
{
	if (cmd->cert_format != 0)
		return cmd->cert_format;
	if (c->csf->cmds[0].cert_format != 0)
		return c->csf->cmds[0].cert_format;
	return HAB_PCL_X509;
}

static int do_install_csfk(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	size_t at;
	const uint8_t ins[12] = { HAB_CMD_INS_KEY, 0, 12, HAB_CMD_INS_KEY_CSF,
				  cert_protocol(c, cmd), 0, cmd->src, cmd->tgt };
	int rc = emit(c, cmd, ins, sizeof(ins), &at);
	return rc ? rc : install_cert(c, cmd, cmd->tgt, at + 8);
}

/* No command; the certificate blob is present but unreferenced (CST quirk). */
static int do_install_nocak(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	return install_cert(c, cmd, HAB_SLOT_CSFK, CSF_NO_PATCH);
}

static int do_install_key(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	size_t at;
	if (c->csf->nocak)
		return bs_error_set(c->err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: [Install Key] is not allowed with [Install NOCAK]",
				    csf_name(c), cmd->line, cmd->col);
	const uint8_t ins[12] = { HAB_CMD_INS_KEY, 0, 12, 0,
				  cert_protocol(c, cmd), cmd->hash_alg, cmd->src, cmd->tgt };
	int rc = emit(c, cmd, ins, sizeof(ins), &at);
	return rc ? rc : install_cert(c, cmd, cmd->tgt, at + 8);
}

static int do_auth_csf(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	size_t at;
	struct slot *s;
	if (c->have_auth_csf)
		return bs_error_set(c->err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: second [Authenticate CSF]", csf_name(c), cmd->line,
				    cmd->col);
	int rc = signer_slot(c, cmd, cmd->tgt, false, &s);
	if (rc != 0)
		return rc;
	const uint8_t aut[12] = { HAB_CMD_AUT_DAT, 0, 12, 0,
				  cmd->tgt, HAB_PCL_CMS, cmd->engine, cmd->engine_cfg };
	rc = emit(c, cmd, aut, sizeof(aut), &at);
	if (rc != 0)
		return rc;
	c->have_auth_csf = true;
	c->csf_sig_at = at + 8;
	c->csf_slot = c->csf->nocak ? HAB_SLOT_CSFK : cmd->tgt;
	return 0;
}

static int do_auth_data(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	size_t at;
	struct slot *s;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	size_t dlen = 0;
	if (cmd->nblocks == 0 || cmd->nblocks > BS_CSF_BLOCKS_MAX || cmd->blocks == NULL)
		return bs_error_set(c->err, BS_ERR_SEMANTIC,
				    "%s:%u:%u: [Authenticate Data] needs 1..%u blocks",
				    csf_name(c), cmd->line, cmd->col, BS_CSF_BLOCKS_MAX);
	int rc = signer_slot(c, cmd, cmd->tgt, true, &s);
	if (rc == 0)
		rc = chain_data_key(c, cmd, cmd->tgt);
	for (size_t i = 0; rc == 0 && chain_on(c) && i < cmd->nblocks; i++)
		if (cmd->blocks[i].length == 0)
			rc = bs_error_set(c->err, BS_ERR_SEMANTIC,
					  "%s:%u:%u: block %zu at 0x%08x has length 0 (a zero-length "
					  "block authenticates nothing)", csf_name(c),
					  cmd->blocks[i].line, cmd->blocks[i].col, i,
					  cmd->blocks[i].addr);
	if (rc != 0)
		return rc;
	size_t len = 12 + 8 * cmd->nblocks;
	uint8_t aut[12] = { HAB_CMD_AUT_DAT, 0, 0, 0,
			    cmd->tgt, HAB_PCL_CMS, cmd->engine, cmd->engine_cfg };
	bs_buf_put_be16(aut + 1, (uint16_t)len);
	rc = emit(c, cmd, aut, sizeof(aut), &at);
	for (size_t i = 0; rc == 0 && i < cmd->nblocks; i++) {
		uint8_t pair[8];
		bs_buf_put_be32(pair, cmd->blocks[i].addr);
		bs_buf_put_be32(pair + 4, cmd->blocks[i].length);
		rc = emit(c, cmd, pair, sizeof(pair), NULL);
	}
	if (rc != 0)
		return rc;
	rc = hash_blocks(c, cmd, dgst, &dlen);
	if (rc == 0)
		rc = sign_digest(c, s, cmd, dgst, dlen, at + 8);
	OPENSSL_cleanse(dgst, sizeof(dgst));
	return rc;
}

static int do_unlock_init(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	bool unlock = cmd->kind == BS_CSF_UNLOCK;
	if (cmd->uid_len > sizeof(cmd->uid) || (!unlock && cmd->uid_len != 0))
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s:%u:%u: invalid UID for [%s]",
				    csf_name(c), cmd->line, cmd->col, unlock ? "Unlock" : "Init");
	uint8_t b[4 + 4 + sizeof(cmd->uid)];
	size_t len = 4;
	b[0] = unlock ? HAB_CMD_UNLK : HAB_CMD_INIT;
	b[3] = cmd->engine;
	if (cmd->has_features) {
		bs_buf_put_be32(b + len, cmd->features);
		len += 4;
	}
	if (unlock && cmd->uid_len) {
		memcpy(b + len, cmd->uid, cmd->uid_len);
		len += cmd->uid_len;
	}
	bs_buf_put_be16(b + 1, (uint16_t)len);
	return emit(c, cmd, b, len, NULL);
}

static int do_command(struct compiler *c, const struct bs_csf_cmd *cmd)
{
	static const uint8_t nop[4] = { HAB_CMD_NOP, 0, 4, 0xAE };
	switch (cmd->kind) {
	case BS_CSF_HEADER:
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s:%u:%u: second [Header]",
				    csf_name(c), cmd->line, cmd->col);
	case BS_CSF_INSTALL_SRK: return do_install_srk(c, cmd);
	case BS_CSF_INSTALL_CSFK: return do_install_csfk(c, cmd);
	case BS_CSF_INSTALL_NOCAK: return do_install_nocak(c, cmd);
	case BS_CSF_AUTH_CSF: return do_auth_csf(c, cmd);
	case BS_CSF_INSTALL_KEY: return do_install_key(c, cmd);
	case BS_CSF_AUTH_DATA: return do_auth_data(c, cmd);
	case BS_CSF_NOP: return emit(c, cmd, nop, sizeof(nop), NULL);
	case BS_CSF_SET_ENGINE: {
		const uint8_t set[8] = { HAB_CMD_SET, 0, 8, 0x03,
					 0, cmd->hash_alg, cmd->engine, cmd->engine_cfg };
		return emit(c, cmd, set, sizeof(set), NULL);
	}
	case BS_CSF_UNLOCK:
	case BS_CSF_INIT: return do_unlock_init(c, cmd);
	case BS_CSF_INSTALL_SECRET_KEY:
	case BS_CSF_DECRYPT_DATA: break;
	}
	return bs_error_set(c->err, BS_ERR_UNSUPPORTED, "%s:%u:%u: [%s] is not supported",
			    csf_name(c), cmd->line, cmd->col, bs_csf_kind_name(cmd->kind));
}

/* Refuse what we cannot do before any key is touched. */
static int precheck(struct compiler *c)
{
	const struct bs_csf *csf = c->csf;
	if (csf->ncmds == 0 || csf->cmds == NULL || csf->cmds[0].kind != BS_CSF_HEADER)
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s: the CSF must start with [Header]",
				    csf_name(c));
	if (csf->cmds[0].mode_hsm)
		return bs_error_set(c->err, BS_ERR_UNSUPPORTED,
				    "%s:%u:%u: Mode = HSM is not supported", csf_name(c),
				    csf->cmds[0].line, csf->cmds[0].col);
	for (size_t i = 1; i < csf->ncmds; i++) {
		const struct bs_csf_cmd *cmd = &csf->cmds[i];
		if (cmd->kind == BS_CSF_INSTALL_SECRET_KEY || cmd->kind == BS_CSF_DECRYPT_DATA)
			return bs_error_set(c->err, BS_ERR_UNSUPPORTED,
					    "%s:%u:%u: Install Secret Key / Decrypt Data are not "
					    "supported yet",
					    csf_name(c), cmd->line, cmd->col);
	}
	if (c->opts == NULL || c->opts->keys.load_cert == NULL || c->opts->data.open == NULL)
		return bs_error_set(c->err, BS_ERR_INVALID,
				    "CSF compiler: no key store or data source given");
	return 0;
}

/* Second pass: offsets, header length, CSF signature, output assembly. */
static int finish(struct compiler *c, uint8_t **out, size_t *out_len)
{
	static const uint8_t auto_unlock[8] = { HAB_CMD_UNLK, 0, 8, HAB_ENG_CAAM,
						0, 0, 0, HAB_CAAM_RNG };
	const struct bs_csf_cmd *hdr = &c->csf->cmds[0];
	struct bs_buf res;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	int rc;
	if (!c->have_auth_csf)
		return bs_error_set(c->err, BS_ERR_SEMANTIC, "%s: no [Authenticate CSF]",
				    csf_name(c));
	if (c->csf->auto_unlock_caam_rng) {
		rc = emit(c, hdr, auto_unlock, sizeof(auto_unlock), NULL);
		if (rc != 0)
			return rc;
	}
	size_t cmd_len = c->cmds.len;
	bs_buf_put_be16(c->cmds.data + 1, (uint16_t)cmd_len);
	uint64_t cur = cmd_len;
	for (size_t i = 0; i < c->nblobs; i++) {
		if (c->blobs[i].patch_at != CSF_NO_PATCH)
			bs_buf_put_be32(c->cmds.data + c->blobs[i].patch_at, (uint32_t)cur);
		cur += pad4(c->blobs[i].len);
		if (cur > BS_CSF_OUT_MAX)
			return bs_error_set(c->err, BS_ERR_LIMIT,
					    "%s: binary CSF exceeds %u bytes", csf_name(c),
					    BS_CSF_OUT_MAX);
	}
	bs_buf_put_be32(c->cmds.data + c->csf_sig_at, (uint32_t)cur);

	/* The CSF signature covers the finished command region only. */
	if (EVP_Digest(c->cmds.data, cmd_len, dgst, &dlen, c->md, NULL) != 1)
		return bs_error_ssl(c->err, BS_ERR_CRYPTO, "digest of the command region");
	const struct bs_csf_cmd *auth = NULL;
	for (size_t i = 0; i < c->csf->ncmds; i++)
		if (c->csf->cmds[i].kind == BS_CSF_AUTH_CSF)
			auth = &c->csf->cmds[i];
	rc = sign_digest(c, &c->slots[c->csf_slot], auth ? auth : hdr, dgst, dlen, CSF_NO_PATCH);
	if (rc != 0)
		return rc;

	bs_buf_init(&res, BS_CSF_OUT_MAX);
	rc = bs_buf_append(&res, c->cmds.data, cmd_len);
	for (size_t i = 0; rc == 0 && i < c->nblobs; i++) {
		rc = bs_buf_append(&res, c->blobs[i].data, c->blobs[i].len);
		if (rc == 0)
			rc = bs_buf_pad(&res, 4);
	}
	if (rc != 0) {
		bs_buf_free(&res);
		return bs_error_set(c->err, rc, "%s: cannot assemble the binary CSF", csf_name(c));
	}
	*out = bs_buf_steal(&res, out_len);
	if (c->report != NULL)
		c->report->cmd_len = cmd_len;
	return 0;
}

int bs_hab_sign(uint8_t **out, size_t *out_len, const struct bs_csf *csf,
		const struct bs_hab_sign_opts *opts, struct bs_hab_sign_report *report,
		struct bs_error *err)
{
	if (out == NULL || out_len == NULL || csf == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "bs_hab_sign: missing argument");
	*out = NULL;
	*out_len = 0;
	if (report != NULL)
		memset(report, 0, sizeof(*report));
	struct compiler *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	c->csf = csf;
	c->opts = opts;
	c->report = report;
	c->err = err;
	bs_buf_init(&c->cmds, HAB_CSF_CMDS_MAX);
	bs_error_clear(err);

	int rc = precheck(c);
	if (rc == 0)
		rc = do_header(c, &csf->cmds[0]);
	for (size_t i = 1; rc == 0 && i < csf->ncmds; i++)
		rc = do_command(c, &csf->cmds[i]);
	if (rc == 0)
		rc = finish(c, out, out_len);

	for (size_t i = 0; i < c->nblobs; i++)
		free(c->blobs[i].data);
	for (size_t i = 0; i < HAB_KEY_SLOTS; i++) {
		X509_free(c->slots[i].cert);
		bs_key_free(c->slots[i].key);
	}
	bs_srk_table_free(c->srk);
	bs_buf_free(&c->cmds);
	free(c);
	if (rc != 0) {
		*out = NULL;
		*out_len = 0;
		if (report != NULL) {
			report->nkeys = 0;
			report->ndigests = 0;
			report->cmd_len = 0;
		}
	}
	return rc;
}
