/* Offline HAB4 verifier, second half: the CSF signature (step 7), Authenticate Data with
 * streaming block hashes (step 9), Decrypt Data structure (step 10), coverage (step 11). */
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "crypto/cms.h"
#include "formats/hab/verify_int.h"

void bs_hab_vkeys(const struct bs_hab_vctx *v, struct bs_hab_chain_key *out)
{
	for (uint8_t i = 0; i < HAB_KEY_SLOTS; i++) {
		const struct bs_hab_slot *s = &v->slots[i];
		out[i].pub = s->used ? s->pub : NULL;
		out[i].ca = s->ca;
		if (s->used && v->srk_done && i == v->srk_slot)
			snprintf(out[i].name, sizeof(out[i].name), "SRK %u", v->srk_index);
		else
			snprintf(out[i].name, sizeof(out[i].name), "the key in slot %u%s", i,
				 i == HAB_SLOT_CSFK || i == HAB_SLOT_CSFK_NXP ? " (CSFK)" : "");
	}
}

static bool md_allowed(int nid)
{
	return nid == NID_sha1 || nid == NID_sha256 || nid == NID_sha512;
}

/* Read the D8 signature blob for command c. */
static int read_sig(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, const char *what,
		    uint8_t **blob, size_t *blen, int *md_nid, struct bs_error *err)
{
	uint64_t off;
	int rc = bs_hab_vdata_off(v, c->sig_off, c->par & 0x01, &off, what, err);
	if (rc == 0)
		rc = bs_hab_image_blob(&v->img, off, HAB_TAG_SIG, blob, blen, what, err);
	if (rc != 0)
		return rc;
	struct bs_cms_info info;
	memset(&info, 0, sizeof(info));
	if ((rc = bs_cms_inspect(*blob + 4, *blen - 4, &info, err)) != 0) {
		bs_error_prefix(err, "%s", what);
		goto fail;
	}
	if (!md_allowed(info.md_nid)) {
		rc = bs_error_set(err, BS_ERR_VERIFY, "%s: digest %s not supported by HAB4", what,
				  info.md_nid ? OBJ_nid2sn(info.md_nid) : "unknown");
		goto fail;
	}
	if (!info.has_signed_attrs) {
		/* HAB4 notes 3.4 step 7: CST's CMS always signs contentType, signingTime and
		 * messageDigest; a bare signature over the content digest is not that format. */
		rc = bs_error_set(err, BS_ERR_VERIFY,
				  "%s: no signed attributes (contentType and messageDigest are "
				  "required)", what);
		goto fail;
	}
	*md_nid = info.md_nid;
	return 0;
fail:
	free(*blob);
	*blob = NULL;
	return rc;
}

static int check_sig(struct bs_hab_vctx *v, const uint8_t *blob, size_t blen,
		     const struct bs_hab_slot *s, int md_nid, const uint8_t *dig, size_t dlen,
		     const char *what, struct bs_error *err)
{
	struct bs_cms_info info;
	memset(&info, 0, sizeof(info));
	int rc = bs_cms_verify_digest(blob + 4, blen - 4, s->pub, s->cert, md_nid, dig, dlen,
				      &info, err);
	if (rc == BS_ERR_VERIFY)
		return bs_error_prefix(err, "%s does not verify", what);
	if (rc != 0)
		return bs_error_prefix(err, "%s", what);
	bs_hab_vlog(v, "%s valid (%s, signer serial %s)", what, OBJ_nid2sn(md_nid), info.serial);
	return 0;
}

static int check_engine(const struct bs_hab_cmd *c, const char *what, struct bs_error *err)
{
	if (c->par & ~0x01u)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: flags 0x%02x (only ABS allowed)", what,
				    c->par);
	if (c->eng == HAB_ENG_ANY && c->cfg != 0)
		return bs_error_set(err, BS_ERR_VERIFY,
				    "%s: engine ANY with configuration 0x%02x (must be 0)", what,
				    c->cfg);
	return 0;
}

/* Fast authentication whose CSF signature failed: if another SRK entry's key made it,
 * say so (the [Install NOCAK] certificate was not the selected entry's). Keeps the code. */
static void nocak_signer(struct bs_hab_vctx *v, const uint8_t *blob, size_t blen, int md_nid,
			 const uint8_t *dig, size_t dlen, struct bs_error *err)
{
	for (size_t i = 0; v->srk != NULL && i < v->srk->n; i++) {
		EVP_PKEY *pub = v->srk->e[i].pub;
		struct bs_cms_info info;
		struct bs_error tmp = {0};
		memset(&info, 0, sizeof(info));
		if (i == v->srk_index || pub == NULL ||
		    bs_cms_verify_digest(blob + 4, blen - 4, pub, NULL, md_nid, dig, dlen, &info,
					 &tmp) != 0)
			continue;
		bs_error_set(err, BS_ERR_VERIFY,
			     "CSF signature does not verify with SRK %u (Source index = %u): it is "
			     "made with SRK %zu's key; in fast authentication the [Install NOCAK] "
			     "certificate must be the selected SRK entry's", v->srk_index,
			     v->srk_index, i);
		return;
	}
}

int bs_hab_verify_auth_csf(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			   struct bs_error *err)
{
	const char *what = "CSF signature";
	if (c->pcl != HAB_PCL_CMS || (c->key != HAB_SLOT_CSFK && c->key != HAB_SLOT_CSFK_NXP) ||
	    c->nblocks != 0)
		return bs_error_set(err, BS_ERR_VERIFY,
				    "CSF: command %zu at 0x%zx: Authenticate Data before the CSF "
				    "is authenticated (must be Authenticate CSF: key 1 or 6, CMS, "
				    "no blocks; got key %u, protocol 0x%02x, %zu blocks)",
				    c->index, c->off, c->key, c->pcl, c->nblocks);
	int rc = check_engine(c, "CSF: Authenticate CSF", err);
	if (rc != 0)
		return rc;
	struct bs_hab_slot *s = &v->slots[c->key];
	uint8_t srk_slot = c->key == HAB_SLOT_CSFK ? HAB_SLOT_SRK : HAB_SLOT_SRK_NXP;
	if (!s->used && v->srk_done && v->srk_slot == srk_slot && !v->slots[srk_slot].ca) {
		/* Fast authentication: the non-CA SRK is the CSF key too. */
		if (EVP_PKEY_up_ref(v->slots[srk_slot].pub) != 1)
			return bs_error_ssl(err, BS_ERR_CRYPTO, "SRK key reference");
		s->pub = v->slots[srk_slot].pub;
		s->used = true;
		v->nocak = true;
		bs_hab_vlog(v, "fast authentication (no CSFK): non-CA SRK is the CSF key");
	}
	if (!s->used && v->srk_done && v->srk_slot == srk_slot) {
		/* Fast authentication over a CA SRK: name that, not the empty slot. */
		struct bs_hab_chain_key keys[HAB_KEY_SLOTS];
		bs_hab_vkeys(v, keys);
		rc = bs_hab_chain_nocak(NULL, "CSF: Authenticate CSF without a CSFK", &keys[srk_slot],
					v->srk, BS_ERR_VERIFY, err);
		if (rc != 0)
			return rc;
	}
	if (!s->used)
		return bs_error_set(err, BS_ERR_VERIFY,
				    "CSF: command %zu at 0x%zx: Authenticate CSF with key slot %u "
				    "empty (no Install CSFK)", c->index, c->off, c->key);
	uint8_t *blob = NULL;
	size_t blen;
	int md_nid;
	if ((rc = read_sig(v, c, what, &blob, &blen, &md_nid, err)) != 0)
		return rc;
	uint8_t dig[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	if (EVP_Digest(v->csf, v->cmd_len, dig, &dlen, EVP_get_digestbynid(md_nid), NULL) != 1)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: hashing the CSF", what);
	else
		rc = check_sig(v, blob, blen, s, md_nid, dig, dlen, what, err);
	if (rc == BS_ERR_VERIFY && v->nocak)
		nocak_signer(v, blob, blen, md_nid, dig, dlen, err);
	free(blob);
	if (rc == 0)
		v->csf_authed = true;
	return rc;
}

static int hash_blocks(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, const uint64_t *offs,
		       int md_nid, uint8_t *dig, unsigned *dlen, const char *what,
		       struct bs_error *err)
{
	int rc = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *chunk = malloc(BS_HAB_HASH_CHUNK);
	if (ctx == NULL || chunk == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_get_digestbynid(md_nid), NULL) != 1) {
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: digest init", what);
		goto out;
	}
	for (size_t i = 0; i < c->nblocks; i++) {
		uint32_t addr, len;
		bs_hab_cmd_block(c, i, &addr, &len);
		for (uint64_t done = 0; done < len;) {
			size_t n = len - done < BS_HAB_HASH_CHUNK ? (size_t)(len - done)
								  : BS_HAB_HASH_CHUNK;
			if ((rc = bs_hab_image_read(&v->img, chunk, n, offs[i] + done, what, err)))
				goto out;
			if (EVP_DigestUpdate(ctx, chunk, n) != 1) {
				rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: digest", what);
				goto out;
			}
			done += n;
		}
	}
	if (EVP_DigestFinal_ex(ctx, dig, dlen) != 1)
		rc = bs_error_ssl(err, BS_ERR_CRYPTO, "%s: digest final", what);
out:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* A block inside an entry of opts->map: its file offset (checked against the file). */
static bool map_block(const struct bs_hab_vctx *v, uint32_t addr, uint32_t len, uint64_t *off)
{
	for (size_t i = 0; v->opts->map != NULL && i < v->opts->nmap; i++) {
		const struct bs_hab_block_map *m = &v->opts->map[i];
		if (addr < m->addr || (uint64_t)addr + len > (uint64_t)m->addr + m->length)
			continue;
		uint64_t o = (uint64_t)m->offset + (addr - m->addr);
		if (o > v->img.size || len > v->img.size - o)
			return false;
		*off = o;
		return true;
	}
	return false;
}

/* No block may cover the CSF's command region: it is signed by the CSF signature, and
 * written into the image after the blocks were hashed. */
static int no_csf_overlap(const struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			  const char *what, struct bs_error *err)
{
	uint64_t csf = v->img.ivt.csf;
	for (size_t i = 0; i < c->nblocks; i++) {
		uint32_t addr, len;
		bs_hab_cmd_block(c, i, &addr, &len);
		if (addr < csf + v->cmd_len && csf < (uint64_t)addr + len)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s: block %zu [0x%08" PRIx32 "+0x%" PRIx32
					    "] overlaps the CSF at 0x%08" PRIx64
					    " (the CSF cannot sign itself)", what, i, addr, len, csf);
	}
	return 0;
}

/* Map every block into the file; offs has c->nblocks entries. */
static int map_blocks(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, uint64_t *offs,
		      uint64_t *total, const char *what, struct bs_error *err)
{
	*total = 0;
	for (size_t i = 0; i < c->nblocks; i++) {
		uint32_t addr, len;
		bs_hab_cmd_block(c, i, &addr, &len);
		if ((uint64_t)addr + len > BS_HAB_ADDR_END)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s: block %zu [0x%08" PRIx32 "+0x%" PRIx32
					    "] wraps past the end of the 32-bit address space",
					    what, i, addr, len);
		if (len == 0)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s: block %zu [0x%08" PRIx32 "+0] is empty (zero length)",
					    what, i, addr);
		if (!map_block(v, addr, len, &offs[i]) &&
		    !bs_hab_image_map(&v->img, addr, len, &offs[i]))
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s: block %zu [0x%08" PRIx32 "+0x%" PRIx32
					    "] outside the image (file holds [0x%08" PRIx64
					    "+0x%" PRIx64 "]; a part loaded elsewhere needs its "
					    "Blocks line: --blocks CSF.txt)",
					    what, i, addr, len, v->img.base, v->img.size);
		*total += len;
	}
	return 0;
}

static void engine_limit_note(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			      const char *what)
{
	size_t max = 0;
	switch (c->eng) {
	case HAB_ENG_SAHARA: max = 12; break;
	case HAB_ENG_DCP: max = 6; break;
	case HAB_ENG_CAAM: max = 8; break;
	case HAB_ENG_RTIC: max = 2; break;
	default: break;
	}
	if (max != 0 && c->nblocks > max && v->opts->log != NULL)
		fprintf(v->opts->log, "warn  %s: %zu blocks exceed the %s limit of %zu\n", what,
			c->nblocks, bs_hab_engine_name(c->eng), max);
}

static int decrypt_data(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, uint64_t *offs,
			struct bs_error *err)
{
	char what[48];
	snprintf(what, sizeof(what), "Decrypt Data slot %u", c->key);
	if (c->key >= BS_HAB_SECRET_SLOTS || !v->secret[c->key])
		return bs_error_set(err, BS_ERR_VERIFY, "%s: no secret key installed", what);
	int rc = check_engine(c, what, err);
	uint64_t total = 0, off;
	if (rc == 0)
		rc = map_blocks(v, c, offs, &total, what, err);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < c->nblocks; i++) {
		uint32_t addr, len;
		bs_hab_cmd_block(c, i, &addr, &len);
		if (len % 16 != 0)
			return bs_error_set(err, BS_ERR_VERIFY,
					    "%s: block %zu length 0x%" PRIx32 " not a multiple of 16",
					    what, i, len);
	}
	uint8_t *blob = NULL;
	size_t blen;
	rc = bs_hab_vdata_off(v, c->sig_off, c->par & 0x01, &off, what, err);
	if (rc == 0)
		rc = bs_hab_image_blob(&v->img, off, HAB_TAG_MAC, &blob, &blen, what, err);
	if (rc != 0)
		return rc;
	size_t want_nonce = total < (1u << 16) ? 13 : total < (1u << 24) ? 12 : 11;
	if (blen < 8 || blob[4] != 0 || blob[6] != 0 || blob[5] != want_nonce ||
	    blob[7] < 4 || blob[7] > 16 || blob[7] % 2 != 0 ||
	    blen != 8u + blob[5] + blob[7])
		rc = bs_error_set(err, BS_ERR_VERIFY,
				  "%s: MAC blob layout invalid (nonce %u, want %zu; MAC %u; "
				  "length %zu)", what, blen >= 8 ? blob[5] : 0, want_nonce,
				  blen >= 8 ? blob[7] : 0, blen);
	else
		bs_hab_vlog(v, "%s: structure valid (%zu blocks; not decrypted offline)", what,
			    c->nblocks);
	free(blob);
	return rc;
}

static int auth_data_cms(struct bs_hab_vctx *v, const struct bs_hab_cmd *c, uint64_t *offs,
			 struct bs_error *err)
{
	char what[48];
	snprintf(what, sizeof(what), "Authenticate Data key %u", c->key);
	if (c->key == HAB_SLOT_CSFK || c->key == HAB_SLOT_CSFK_NXP)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: the CSF key cannot %s", what,
				    c->nblocks ? "authenticate data" : "authenticate the CSF twice");
	if (c->key >= HAB_KEY_SLOTS || !v->slots[c->key].used)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: key slot is empty", what);
	const struct bs_hab_slot *s = &v->slots[c->key];
	if (s->ca)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: key is a CA key (HAB_INV_KEY)", what);
	if (c->nblocks == 0)
		return bs_error_set(err, BS_ERR_VERIFY, "%s: no blocks", what);
	uint64_t total;
	int rc = check_engine(c, what, err);
	if (rc == 0)
		rc = map_blocks(v, c, offs, &total, what, err);
	if (rc != 0)
		return rc;
	engine_limit_note(v, c, what);
	if (total > BS_HAB_HASH_TOTAL_MAX - v->hashed)
		return bs_error_set(err, BS_ERR_LIMIT,
				    "%s: blocks total 0x%" PRIx64 " bytes; more than 4 GiB signed "
				    "in all", what, total);
	v->hashed += total;
	if ((rc = no_csf_overlap(v, c, what, err)) != 0)
		return rc;
	uint8_t *blob = NULL;
	size_t blen;
	int md_nid;
	char sigwhat[64];
	snprintf(sigwhat, sizeof(sigwhat), "%s: signature", what);
	if ((rc = read_sig(v, c, sigwhat, &blob, &blen, &md_nid, err)) != 0)
		return rc;
	uint8_t dig[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	rc = hash_blocks(v, c, offs, md_nid, dig, &dlen, what, err);
	if (rc == 0)
		rc = check_sig(v, blob, blen, s, md_nid, dig, dlen, sigwhat, err);
	free(blob);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < c->nblocks; i++) {
		uint32_t addr, len;
		bs_hab_cmd_block(c, i, &addr, &len);
		if (v->nauth == BS_HAB_AUTH_RANGES_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "%s: more than %d authenticated blocks",
					    what, BS_HAB_AUTH_RANGES_MAX);
		v->auth[v->nauth].addr = addr;
		v->auth[v->nauth].len = len;
		v->nauth++;
		bs_hab_vlog(v, "%s: block %zu [0x%08" PRIx32 "+0x%" PRIx32 "] authenticated", what,
			    i, addr, len);
	}
	return 0;
}

int bs_hab_verify_auth_data(struct bs_hab_vctx *v, const struct bs_hab_cmd *c,
			    struct bs_error *err)
{
	uint64_t *offs = calloc(c->nblocks ? c->nblocks : 1, sizeof(*offs));
	if (offs == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc;
	if (c->pcl == HAB_PCL_CMS)
		rc = auth_data_cms(v, c, offs, err);
	else if (c->pcl == HAB_PCL_AEAD)
		rc = decrypt_data(v, c, offs, err);
	else
		rc = bs_error_set(err, BS_ERR_VERIFY,
				  "CSF: command %zu at 0x%zx: Authenticate Data protocol 0x%02x "
				  "not supported", c->index, c->off, c->pcl);
	free(offs);
	return rc;
}

static int covered(struct bs_hab_vctx *v, const char *what, uint64_t addr, uint64_t len,
		   struct bs_error *err)
{
	for (size_t i = 0; i < v->nauth; i++) {
		const struct bs_hab_range *r = &v->auth[i];
		if (addr >= r->addr && addr + len <= r->addr + r->len) {
			bs_hab_vlog(v, "coverage: %s [0x%08" PRIx64 "+0x%" PRIx64
				    "] inside authenticated block [0x%08" PRIx64 "+0x%" PRIx64 "]",
				    what, addr, len, r->addr, r->len);
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_VERIFY,
			    "coverage: %s [0x%08" PRIx64 "+0x%" PRIx64
			    "] is not inside one authenticated block", what, addr, len);
}

int bs_hab_verify_coverage(struct bs_hab_vctx *v, struct bs_error *err)
{
	const struct bs_hab_ivt *t = &v->img.ivt;
	int rc = covered(v, "IVT", t->self, BS_HAB_IVT_LEN, err);
	if (rc == 0 && t->dcd != 0)
		rc = covered(v, "DCD", t->dcd, v->img.dcd_len, err);
	if (rc == 0 && t->boot_data != 0)
		rc = covered(v, "boot data", t->boot_data, v->opts->boot_data_len ?
			     v->opts->boot_data_len : 1, err);
	if (rc == 0)
		rc = covered(v, "entry point", t->entry, 4, err);
	return rc;
}
