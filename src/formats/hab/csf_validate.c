/* CSF semantic pass: command order, defaults from [Header], engine configuration,
 * key slots and index rules, Unlock/Init features, command region size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hab/csf_value.h"

enum { ST_NONE, ST_HEADER, ST_SRK, ST_CSFK, ST_AUTH };

#define HDR_POS(s) (s)->line, (s)->col
#define ARG_POS(a) (a)->line, (a)->col

static const char *kind_name(enum bs_csf_kind k)
{
	return bs_csf_kind_name(k);
}

/* ---- shared argument helpers ---- */

static int need(struct csf_ctx *ctx, const struct csf_section *s, int id, const char *example)
{
	if (s->arg[id] != NULL)
		return 0;
	const char *arg = bs_csf_arg_name(id);
	if (s->kind == BS_CSF_INSTALL_SRK && id == CSF_ARG_VFYIDX)
		arg = bs_csf_arg_name(CSF_ARG_SRCIDX);
	return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
			   "[%s] is missing '%s'; expected e.g. %s = %s", kind_name(s->kind), arg,
			   arg, example);
}

static int hash_arg(struct csf_ctx *ctx, const struct csf_arg *a, uint8_t *out)
{
	struct csf_kwbuf kw;
	int rc = bs_csf_val_keyword(ctx, a, &kw);
	if (rc != 0)
		return rc;
	const struct csf_kw *k = bs_csf_kw_find(bs_csf_hash_kw, BS_CSF_HASH_KW, kw.norm);
	if (k == NULL)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
				   "unknown hash algorithm '%s'%s; expected sha256, sha1 or sha512",
				   kw.orig,
				   strcmp(kw.norm, "SHA384") == 0 ? " (HAB4 has no sha384)" : "");
	*out = k->val;
	return 0;
}

static bool hash_engine(uint8_t eng)
{
	return eng == HAB_ENG_ANY || eng == HAB_ENG_SW || bs_csf_cfg_table(eng) != NULL;
}

static int engine_arg(struct csf_ctx *ctx, const struct csf_arg *a, bool hashing, uint8_t *out)
{
	struct csf_kwbuf kw;
	const struct csf_kw *k;
	int rc = bs_csf_val_engine(ctx, a, "an engine such as ANY, CAAM, DCP, SNVS, OCOTP or SRTC",
				   &k, &kw);
	if (rc != 0)
		return rc;
	if (hashing && !hash_engine(k->val))
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
				   "engine %s cannot be used for hashing; expected ANY, CAAM, DCP, "
				   "SAHARA, RTIC or SW",
				   k->name);
	*out = k->val;
	return 0;
}

/* Engine Configuration value -> CST index (first element of a list). */
static int cfg_arg(struct csf_ctx *ctx, const struct csf_arg *a, uint8_t *index)
{
	size_t pos = 0;
	struct csf_item it;
	int rc = bs_csf_val_next_item(ctx, a, &pos, &it);
	if (rc < 0)
		return rc;
	if (it.t[0].type == CSF_TOK_NUM) {
		if (it.n != 1)
			return bs_csf_fail(ctx, BS_ERR_SYNTAX, it.t[1].line, it.t[1].col,
					   "bad value for 'Engine Configuration'; expected one "
					   "number or keyword per element");
		if (it.t[0].minus || it.t[0].num >= BS_CSF_CFG_KW)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, it.t[0].line, it.t[0].col,
					   "engine configuration %s%.*s out of range; expected 0 "
					   "or an index 1-11 (IN SWAP8 ... KEEP)",
					   it.t[0].minus ? "-" : "", (int)it.t[0].len, it.t[0].text);
		*index = (uint8_t)it.t[0].num;
	} else {
		struct csf_kwbuf kw;
		if ((rc = bs_csf_val_item_keyword(ctx, a, &it, &kw)) != 0)
			return rc;
		const struct csf_kw *k = bs_csf_kw_find(bs_csf_cfg_kw, BS_CSF_CFG_KW, kw.norm);
		if (k == NULL || k->val == 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
					   "unknown engine configuration '%s'; expected 0, IN "
					   "SWAP8/16/32, OUT SWAP8/16/32, DSC SWAP8/16, DSC "
					   "BE8_16/32 or KEEP",
					   kw.orig);
		*index = k->val;
	}
	if (pos <= a->nv) {
		const struct csf_token *t = &a->v[pos - 1];
		if (ctx->strict)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
					   "only one engine configuration flag can take effect; "
					   "expected a single flag");
		bs_csf_warn(ctx, t->line, t->col,
			    "only the first engine configuration flag takes effect (as in CST); "
			    "the rest is ignored");
		while ((rc = bs_csf_val_next_item(ctx, a, &pos, &it)) > 0)
			;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Engine and cfg of a hashing command: defaults from [Header], cfg translated. */
static int engine_cfg(struct csf_ctx *ctx, const struct csf_state *st,
		      const struct csf_section *s, uint8_t def_eng, uint8_t def_idx,
		      uint8_t *eng, uint8_t *cfg, uint8_t *index_out)
{
	const struct csf_arg *ae = s->arg[CSF_ARG_ENGINE], *ac = s->arg[CSF_ARG_ENGCFG];
	uint8_t idx = def_idx;
	int rc;
	(void)st;
	*eng = def_eng;
	if (ae != NULL && (rc = engine_arg(ctx, ae, true, eng)) != 0)
		return rc;
	if (ac != NULL && (rc = cfg_arg(ctx, ac, &idx)) != 0)
		return rc;
	unsigned line = ac ? ac->line : ae ? ae->line : s->line;
	unsigned col = ac ? ac->col : ae ? ae->col : s->col;
	const char *from = ac ? "" : " (default from [Header])";
	*cfg = 0;
	if (index_out != NULL)
		*index_out = idx;
	if (idx == 0)
		return 0;
	if (*eng == HAB_ENG_ANY)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, line, col,
				   "Engine is ANY but Engine Configuration%s is %s; expected 0",
				   from, bs_csf_cfg_kw[idx].name);
	if (*eng == HAB_ENG_SW) {
		if (ctx->strict)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, line, col,
					   "engine SW takes no configuration%s; expected 0", from);
		bs_csf_warn(ctx, line, col, "engine SW ignores Engine Configuration %s",
			    bs_csf_cfg_kw[idx].name);
		return 0;
	}
	const uint8_t *tab = bs_csf_cfg_table(*eng);
	if (tab == NULL || tab[idx] == 0) {
		char list[160];
		size_t n = 0;
		for (size_t i = 1; tab != NULL && i < BS_CSF_CFG_KW; i++)
			if (tab[i] != 0)
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      n ? ", " : "", bs_csf_cfg_kw[i].name);
		if (n == 0)
			snprintf(list, sizeof(list), "none");
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, line, col,
				   "Engine Configuration %s%s is not valid for %s; expected 0 or "
				   "one of %s",
				   bs_csf_cfg_kw[idx].name, from, bs_csf_engine_name(*eng), list);
	}
	*cfg = tab[idx];
	return 0;
}

/* An optional argument whose only valid value is `want` (Certificate/Signature Format). */
static int fixed_keyword(struct csf_ctx *ctx, const struct csf_section *s, int id,
			 const char *want, const char *what)
{
	const struct csf_arg *a = s->arg[id];
	if (a == NULL)
		return 0;
	struct csf_kwbuf kw;
	int rc = bs_csf_val_keyword(ctx, a, &kw);
	if (rc != 0)
		return rc;
	if (strcmp(kw.norm, want) != 0)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
				   "unsupported %s '%s'; expected %s", what, kw.orig, want);
	return 0;
}

static int certfmt(struct csf_ctx *ctx, const struct csf_section *s)
{
	return fixed_keyword(ctx, s, CSF_ARG_CERTFMT, "X509", "Certificate Format");
}

static int sigfmt(struct csf_ctx *ctx, const struct csf_section *s)
{
	return fixed_keyword(ctx, s, CSF_ARG_SIGFMT, "CMS", "Signature Format");
}

static int number_in(struct csf_ctx *ctx, const struct csf_section *s, int id, uint32_t lo,
		     uint32_t hi, uint32_t *out)
{
	const struct csf_arg *a = s->arg[id];
	int rc = bs_csf_val_number(ctx, a, out);
	if (rc != 0)
		return rc;
	if (*out < lo || *out > hi)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, a->v[0].line, a->v[0].col,
				   "'%s' = %u is out of range; expected %u to %u",
				   bs_csf_arg_name(a->id), *out, lo, hi); /* as written */
	return 0;
}

static int blocks_arg(struct csf_ctx *ctx, const struct csf_arg *a, bool decrypt,
		      struct bs_csf_cmd *cmd)
{
	size_t pos = 0, n = 0;
	struct csf_item it;
	int rc;
	struct bs_csf_block *b = calloc(BS_CSF_BLOCKS_MAX, sizeof(*b));
	if (b == NULL)
		return bs_csf_fail(ctx, BS_ERR_NOMEM, ARG_POS(a), "out of memory; expected less");
	cmd->blocks = b;
	while ((rc = bs_csf_val_next_item(ctx, a, &pos, &it)) > 0) {
		const struct csf_token *t = it.t;
		if (it.n != 4 || t[0].type != CSF_TOK_NUM || t[1].type != CSF_TOK_NUM ||
		    t[2].type != CSF_TOK_NUM || t[3].type != CSF_TOK_STR)
			return bs_csf_fail(ctx, BS_ERR_SYNTAX, t[0].line, t[0].col,
					   "bad block in 'Blocks'; expected ADDRESS OFFSET "
					   "LENGTH \"file\"");
		for (int i = 0; i < 3; i++)
			if (t[i].minus)
				return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t[i].line, t[i].minus_col,
						   "negative number in 'Blocks'; expected 0 to "
						   "0xFFFFFFFF");
		if (n >= BS_CSF_BLOCKS_MAX)
			return bs_csf_fail(ctx, BS_ERR_LIMIT, t[0].line, t[0].col,
					   "more than %u blocks; expected at most %u",
					   (unsigned)BS_CSF_BLOCKS_MAX, (unsigned)BS_CSF_BLOCKS_MAX);
		if ((uint64_t)t[1].num + t[2].num > UINT32_MAX)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t[1].line, t[1].col,
					   "block offset 0x%x + length 0x%x passes 4 GiB; expected "
					   "a range inside the file",
					   t[1].num, t[2].num);
		if (decrypt && t[2].num % 16 != 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t[2].line, t[2].col,
					   "Decrypt Data block length 0x%x is not a multiple of "
					   "16; expected a multiple of 16",
					   t[2].num);
		b[n].addr = t[0].num;
		b[n].offset = t[1].num;
		b[n].length = t[2].num;
		b[n].line = t[0].line;
		b[n].col = t[0].col;
		if ((rc = bs_csf_val_string_tok(ctx, a, &t[3], false, &b[n].file)) != 0)
			return rc;
		cmd->nblocks = ++n;
	}
	return rc;
}

/* Blocks one hash operation of an engine can take (HAB4.md 4.4); ANY/SW: no limit. */
static int engine_block_limit(struct csf_ctx *ctx, const struct csf_section *s,
			      const struct bs_csf_cmd *cmd)
{
	size_t max;
	switch (cmd->engine) {
	case HAB_ENG_SAHARA: max = 12; break;
	case HAB_ENG_DCP: max = 6; break;
	case HAB_ENG_CAAM: max = 8; break;
	case HAB_ENG_RTIC: max = 2; break;
	default: return 0;
	}
	if (cmd->nblocks <= max)
		return 0;
	const struct csf_arg *a = s->arg[CSF_ARG_BLOCKS];
	if (ctx->strict)
		return bs_csf_fail(ctx, BS_ERR_LIMIT, ARG_POS(a),
				   "%zu blocks for engine %s, which hashes at most %zu; expected "
				   "fewer blocks or Engine = ANY",
				   cmd->nblocks, bs_csf_engine_name(cmd->engine), max);
	bs_csf_warn(ctx, ARG_POS(a), "%zu blocks for engine %s, which hashes at most %zu",
		    cmd->nblocks, bs_csf_engine_name(cmd->engine), max);
	return 0;
}

static int add_bytes(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
		     size_t n)
{
	st->cmd_bytes += n;
	if (st->cmd_bytes > HAB_CSF_CMDS_MAX)
		return bs_csf_fail(ctx, BS_ERR_LIMIT, HDR_POS(s),
				   "[%s] makes the command region %zu bytes; expected at most %u",
				   kind_name(s->kind), st->cmd_bytes, (unsigned)HAB_CSF_CMDS_MAX);
	return 0;
}

/* ---- sections ---- */

static int do_header(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
		     struct bs_csf_cmd *cmd)
{
	int rc;
	uint32_t major, minor;
	struct csf_kwbuf kw;
	const struct csf_arg *a;
	if ((a = s->arg[CSF_ARG_TARGET]) != NULL) {
		if ((rc = bs_csf_val_keyword(ctx, a, &kw)) != 0)
			return rc;
		if (strcmp(kw.norm, "HAB") != 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
					   "unknown Target '%s'; expected HAB", kw.orig);
	}
	if ((rc = need(ctx, s, CSF_ARG_VERSION, "4.1")) != 0)
		return rc;
	a = s->arg[CSF_ARG_VERSION];
	if ((rc = bs_csf_val_pair(ctx, a, &major, &minor)) != 0)
		return rc;
	if (major != 4 || minor > 15)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, a->v[0].line, a->v[0].col,
				   "Version %u.%u is not a HAB4 version; expected 4.0 to 4.15",
				   major, minor);
	cmd->version = (uint8_t)(major << 4 | minor);
	if ((a = s->arg[CSF_ARG_MODE]) != NULL) {
		if ((rc = bs_csf_val_keyword(ctx, a, &kw)) != 0)
			return rc;
		if (strcmp(kw.norm, "HSM") != 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
					   "unknown Mode '%s'; expected HSM", kw.orig);
		cmd->mode_hsm = true;
	}
	cmd->hash_alg = HAB_ALG_SHA256;
	if (s->arg[CSF_ARG_HASH] && (rc = hash_arg(ctx, s->arg[CSF_ARG_HASH], &cmd->hash_alg)) != 0)
		return rc;
	if ((rc = engine_cfg(ctx, st, s, HAB_ENG_ANY, 0, &cmd->engine, &cmd->engine_cfg,
			     &st->cfg_index)) != 0)
		return rc;
	if ((rc = certfmt(ctx, s)) != 0 || (rc = sigfmt(ctx, s)) != 0)
		return rc;
	cmd->cert_format = HAB_PCL_X509;
	if ((a = s->arg[CSF_ARG_SIGSIZE]) != NULL) {
		if ((rc = number_in(ctx, s, CSF_ARG_SIGSIZE, 1, 4096, &cmd->signature_size)) != 0)
			return rc;
		if (!cmd->mode_hsm)
			bs_csf_warn(ctx, ARG_POS(a),
				    "'Signature Size' only matters with Mode = HSM; ignored");
	}
	st->version = cmd->version;
	st->hash = cmd->hash_alg;
	st->engine = cmd->engine;
	st->header_line = s->line;
	return add_bytes(ctx, st, s, 4);
}

static int do_install_srk(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			  struct bs_csf_cmd *cmd)
{
	int rc;
	uint32_t idx;
	const struct csf_arg *a;
	if ((a = s->arg[CSF_ARG_CERTFMT]) != NULL)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, ARG_POS(a),
				   "'Certificate Format' is not allowed in [Install SRK] (the SRK "
				   "table has its own format); expected File, Source Index, Hash "
				   "Algorithm, Source Set");
	if ((rc = need(ctx, s, CSF_ARG_FILE, "\"SRK_table.bin\"")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_VFYIDX, "0")) != 0)
		return rc;
	if ((rc = bs_csf_val_string(ctx, s->arg[CSF_ARG_FILE], false, &cmd->file)) != 0)
		return rc;
	cmd->file_line = s->arg[CSF_ARG_FILE]->line;
	cmd->file_col = s->arg[CSF_ARG_FILE]->col;
	if ((rc = number_in(ctx, s, CSF_ARG_VFYIDX, 0, HAB_SRK_RECORDS_MAX - 1, &idx)) != 0)
		return rc;
	cmd->src = (uint8_t)idx;
	cmd->hash_alg = st->hash;
	if (s->arg[CSF_ARG_HASH] && (rc = hash_arg(ctx, s->arg[CSF_ARG_HASH], &cmd->hash_alg)) != 0)
		return rc;
	st->srk_slot = HAB_SLOT_SRK;
	st->csfk_slot = HAB_SLOT_CSFK;
	if ((a = s->arg[CSF_ARG_SRCSET]) != NULL) {
		struct csf_kwbuf kw;
		if ((rc = bs_csf_val_keyword(ctx, a, &kw)) != 0)
			return rc;
		if (strcmp(kw.norm, "NXP") == 0) {
			st->srk_slot = HAB_SLOT_SRK_NXP;
			st->csfk_slot = HAB_SLOT_CSFK_NXP;
		} else if (strcmp(kw.norm, "OEM") != 0) {
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw.line, kw.col,
					   "unknown Source Set '%s'; expected OEM or NXP", kw.orig);
		}
	}
	cmd->tgt = st->srk_slot;
	st->key_installed[st->srk_slot] = true;
	return add_bytes(ctx, st, s, 12);
}

static int do_install_csfk(struct csf_ctx *ctx, struct csf_state *st,
			   const struct csf_section *s, struct bs_csf_cmd *cmd)
{
	int rc;
	bool nocak = s->kind == BS_CSF_INSTALL_NOCAK;
	if ((rc = need(ctx, s, CSF_ARG_FILE, "\"CSF1_crt.pem\"")) != 0 ||
	    (rc = bs_csf_val_string(ctx, s->arg[CSF_ARG_FILE], true, &cmd->file)) != 0 ||
	    (rc = certfmt(ctx, s)) != 0)
		return rc;
	cmd->file_line = s->arg[CSF_ARG_FILE]->line;
	cmd->file_col = s->arg[CSF_ARG_FILE]->col;
	cmd->cert_format = HAB_PCL_X509;
	cmd->src = st->srk_slot;
	cmd->tgt = nocak ? HAB_SLOT_CSFK : st->csfk_slot;
	st->nocak = nocak;
	st->key_installed[cmd->tgt] = true;
	return add_bytes(ctx, st, s, nocak ? 0 : 12);
}

static int do_auth_csf(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
		       struct bs_csf_cmd *cmd)
{
	int rc;
	if ((rc = engine_cfg(ctx, st, s, st->engine, st->cfg_index, &cmd->engine,
			     &cmd->engine_cfg, NULL)) != 0 ||
	    (rc = sigfmt(ctx, s)) != 0)
		return rc;
	cmd->tgt = st->nocak ? HAB_SLOT_CSFK : st->csfk_slot;
	return add_bytes(ctx, st, s, 12);
}

static int do_install_key(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			  struct bs_csf_cmd *cmd)
{
	int rc;
	uint32_t src, tgt;
	if (st->nocak)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
				   "[Install Key] cannot be used with [Install NOCAK] (CST would "
				   "sign with the NOCAK key anyway); expected [Authenticate Data] "
				   "with Verification Index = 0");
	if ((rc = need(ctx, s, CSF_ARG_FILE, "\"IMG1_crt.pem\"")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_VFYIDX, "0")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_TGTIDX, "2")) != 0 ||
	    (rc = bs_csf_val_string(ctx, s->arg[CSF_ARG_FILE], true, &cmd->file)) != 0 ||
	    (rc = certfmt(ctx, s)) != 0 ||
	    (rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_VFYIDX], &src)) != 0 ||
	    (rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_TGTIDX], &tgt)) != 0)
		return rc;
	cmd->file_line = s->arg[CSF_ARG_FILE]->line;
	cmd->file_col = s->arg[CSF_ARG_FILE]->col;
	const struct csf_token *sv = &s->arg[CSF_ARG_VFYIDX]->v[0];
	const struct csf_token *tv = &s->arg[CSF_ARG_TGTIDX]->v[0];
	if (src != 0 && (src < 2 || src > 4))
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, sv->line, sv->col,
				   "Verification Index %u cannot verify a key; expected 0 (SRK) "
				   "or 2-4 (an installed key)",
				   src);
	if (src != 0 && !st->key_installed[src])
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, sv->line, sv->col,
				   "Verification Index %u holds no key; expected 0 (SRK) or the "
				   "Target Index of an earlier [Install Key]",
				   src);
	if (tgt >= HAB_KEY_SLOTS)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, tv->line, tv->col,
				   "Target Index %u exceeds the %d key slots; expected 2, 3, 4 or 7",
				   tgt, HAB_KEY_SLOTS);
	if (tgt == HAB_SLOT_SRK || tgt == HAB_SLOT_CSFK || tgt == HAB_SLOT_SRK_NXP ||
	    tgt == HAB_SLOT_CSFK_NXP)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, tv->line, tv->col,
				   "Target Index %u is reserved for the SRK or CSF key; expected "
				   "2, 3, 4 or 7",
				   tgt);
	if (tgt == src)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, tv->line, tv->col,
				   "Target Index %u equals Verification Index; expected another "
				   "slot",
				   tgt);
	if (st->key_installed[tgt] && st->key_file[tgt] != NULL &&
	    strcmp(st->key_file[tgt], cmd->file) != 0)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, tv->line, tv->col,
				   "Target Index %u already holds \"%s\"; expected a free slot",
				   tgt, st->key_file[tgt]);
	const struct csf_arg *ah = s->arg[CSF_ARG_HASH];
	if (ah != NULL) {
		if ((rc = hash_arg(ctx, ah, &cmd->hash_alg)) != 0)
			return rc;
		if (ctx->strict)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, ARG_POS(ah),
					   "'Hash Algorithm' in [Install Key] sets the alg byte "
					   "without a certificate hash (CST 4.0.1), which HAB "
					   "rejects; expected no Hash Algorithm here");
		bs_csf_warn(ctx, ARG_POS(ah),
			    "'Hash Algorithm' in [Install Key] only sets the alg byte, as CST "
			    "4.0.1 does (no certificate hash); HAB probably rejects this");
	}
	cmd->cert_format = HAB_PCL_X509;
	cmd->src = (uint8_t)src;
	cmd->tgt = (uint8_t)tgt;
	st->key_installed[tgt] = true;
	st->key_file[tgt] = cmd->file;
	st->any_install_key = true;
	return add_bytes(ctx, st, s, 12);
}

static int do_auth_data(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			struct bs_csf_cmd *cmd)
{
	int rc;
	uint32_t idx;
	if (!st->nocak && !st->any_install_key)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
				   "[Authenticate Data] needs a key; expected an earlier [Install "
				   "Key]");
	if ((rc = need(ctx, s, CSF_ARG_VFYIDX, st->nocak ? "0" : "2")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_BLOCKS, "0x877ff400 0x0 0x1000 \"img.bin\"")) != 0 ||
	    (rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_VFYIDX], &idx)) != 0)
		return rc;
	const struct csf_token *iv = &s->arg[CSF_ARG_VFYIDX]->v[0];
	if (st->nocak && idx != 0)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, iv->line, iv->col,
				   "Verification Index %u with [Install NOCAK]: the NOCAK key signs "
				   "everything; expected 0",
				   idx);
	if (!st->nocak && (idx < 2 || idx > 4))
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, iv->line, iv->col,
				   "Verification Index %u cannot sign data; expected 2, 3 or 4 "
				   "(an image key)",
				   idx);
	if (!st->nocak && !st->key_installed[idx])
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, iv->line, iv->col,
				   "Verification Index %u holds no key; expected the Target Index "
				   "of an earlier [Install Key]",
				   idx);
	const struct csf_arg *ah = s->arg[CSF_ARG_HASH];
	if (ah != NULL) {
		uint8_t h = 0;
		if ((rc = hash_arg(ctx, ah, &h)) != 0)
			return rc;
		if (h != st->hash)
			bs_csf_warn(ctx, ARG_POS(ah),
				    "'Hash Algorithm' in [Authenticate Data] is ignored (as in "
				    "CST); the [Header] hash is used");
	}
	if ((rc = engine_cfg(ctx, st, s, st->engine, st->cfg_index, &cmd->engine,
			     &cmd->engine_cfg, NULL)) != 0 ||
	    (rc = sigfmt(ctx, s)) != 0 ||
	    (rc = blocks_arg(ctx, s->arg[CSF_ARG_BLOCKS], false, cmd)) != 0)
		return rc;
	cmd->tgt = (uint8_t)idx;
	if ((rc = engine_block_limit(ctx, s, cmd)) != 0)
		return rc;
	return add_bytes(ctx, st, s, 12 + 8 * cmd->nblocks);
}

static int need_v41(struct csf_ctx *ctx, const struct csf_state *st, const struct csf_section *s)
{
	if (st->version > 0x40)
		return 0;
	return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
			   "[%s] needs HAB 4.1 or later but [Header] says Version 4.%u; "
			   "expected Version = 4.1 or higher",
			   kind_name(s->kind), st->version & 0x0F);
}

static int do_secret_key(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			 struct bs_csf_cmd *cmd)
{
	int rc;
	uint32_t kek = 0, slot, bits = 128, addr;
	if ((rc = need_v41(ctx, st, s)) != 0 || (rc = need(ctx, s, CSF_ARG_KEY, "\"dek.bin\"")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_TGTIDX, "0")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_BLOBADDR, "0x27831000")) != 0 ||
	    (rc = bs_csf_val_string(ctx, s->arg[CSF_ARG_KEY], false, &cmd->file)) != 0 ||
	    (rc = number_in(ctx, s, CSF_ARG_TGTIDX, 0, 5, &slot)) != 0 ||
	    (rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_BLOBADDR], &addr)) != 0)
		return rc;
	cmd->file_line = s->arg[CSF_ARG_KEY]->line;
	cmd->file_col = s->arg[CSF_ARG_KEY]->col;
	if (s->arg[CSF_ARG_VFYIDX] && (rc = number_in(ctx, s, CSF_ARG_VFYIDX, 0, 3, &kek)) != 0)
		return rc;
	if (s->arg[CSF_ARG_KEYLEN] != NULL) {
		if ((rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_KEYLEN], &bits)) != 0)
			return rc;
		if (bits != 128 && bits != 192 && bits != 256)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, s->arg[CSF_ARG_KEYLEN]->v[0].line,
					   s->arg[CSF_ARG_KEYLEN]->v[0].col,
					   "Key Length %u; expected 128, 192 or 256", bits);
	}
	if (addr == 0)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, s->arg[CSF_ARG_BLOBADDR]->v[0].line,
				   s->arg[CSF_ARG_BLOBADDR]->v[0].col,
				   "Blob Address 0; expected the absolute address of the DEK blob");
	if (st->secret[slot] == 1)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, s->arg[CSF_ARG_TGTIDX]->v[0].line,
				   s->arg[CSF_ARG_TGTIDX]->v[0].col,
				   "secret key slot %u already holds an unused key; expected another "
				   "Target Index",
				   slot);
	st->secret[slot] = 1;
	st->any_secret_key = true;
	cmd->src = (uint8_t)kek;
	cmd->tgt = (uint8_t)slot;
	cmd->key_length = bits;
	cmd->blob_address = addr;
	return add_bytes(ctx, st, s, 12);
}

static int do_decrypt(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
		      struct bs_csf_cmd *cmd)
{
	int rc;
	uint32_t slot, mac = 16;
	if ((rc = need_v41(ctx, st, s)) != 0)
		return rc;
	if (!st->any_secret_key)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
				   "[Decrypt Data] needs a key; expected an earlier [Install Secret "
				   "Key]");
	if ((rc = need(ctx, s, CSF_ARG_VFYIDX, "0")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_BLOCKS, "0x27800800 0x400 0x1000 \"img.bin\"")) != 0 ||
	    (rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_VFYIDX], &slot)) != 0)
		return rc;
	const struct csf_token *iv = &s->arg[CSF_ARG_VFYIDX]->v[0];
	if (slot > 5 || st->secret[slot] != 1)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, iv->line, iv->col,
				   "Verification Index %u holds no %ssecret key; expected the "
				   "Target Index of an earlier [Install Secret Key]",
				   slot, slot <= 5 && st->secret[slot] == 2 ? "unused " : "");
	if (s->arg[CSF_ARG_MACBYTES] != NULL) {
		if ((rc = bs_csf_val_number(ctx, s->arg[CSF_ARG_MACBYTES], &mac)) != 0)
			return rc;
		if (mac < 4 || mac > 16 || mac % 2 != 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, s->arg[CSF_ARG_MACBYTES]->v[0].line,
					   s->arg[CSF_ARG_MACBYTES]->v[0].col,
					   "MAC Bytes %u; expected an even number from 4 to 16", mac);
	}
	if ((rc = engine_cfg(ctx, st, s, st->engine, st->cfg_index, &cmd->engine,
			     &cmd->engine_cfg, NULL)) != 0 ||
	    (rc = blocks_arg(ctx, s->arg[CSF_ARG_BLOCKS], true, cmd)) != 0)
		return rc;
	st->secret[slot] = 2;
	cmd->tgt = (uint8_t)slot;
	cmd->mac_bytes = mac;
	return add_bytes(ctx, st, s, 12 + 8 * cmd->nblocks);
}

static int do_set_engine(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			 struct bs_csf_cmd *cmd)
{
	int rc;
	if ((rc = need(ctx, s, CSF_ARG_HASH, "sha256")) != 0 ||
	    (rc = need(ctx, s, CSF_ARG_ENGINE, "CAAM")) != 0 ||
	    (rc = hash_arg(ctx, s->arg[CSF_ARG_HASH], &cmd->hash_alg)) != 0 ||
	    (rc = engine_cfg(ctx, st, s, st->engine, st->cfg_index, &cmd->engine,
			     &cmd->engine_cfg, NULL)) != 0)
		return rc;
	return add_bytes(ctx, st, s, 8);
}

int bs_csf_validate_section(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			    struct bs_csf_cmd *cmd)
{
	const char *name = kind_name(s->kind);
	if (st->stage == ST_NONE && s->kind != BS_CSF_HEADER)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
				   "[%s] before [Header]; expected [Header] as the first section",
				   name);
	switch (s->kind) {
	case BS_CSF_HEADER:
		if (st->stage != ST_NONE)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
					   "second [Header] (first at line %u); expected one "
					   "[Header]",
					   st->header_line);
		st->stage = ST_HEADER;
		return do_header(ctx, st, s, cmd);
	case BS_CSF_INSTALL_SRK:
		if (st->stage > ST_HEADER)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
					   "[Install SRK] again or after [Install CSFK]/[Install "
					   "NOCAK]; expected one [Install SRK] before them");
		st->stage = ST_SRK;
		return do_install_srk(ctx, st, s, cmd);
	case BS_CSF_INSTALL_CSFK:
	case BS_CSF_INSTALL_NOCAK:
		if (st->stage < ST_SRK)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
					   "[%s] before [Install SRK]; expected [Install SRK] "
					   "first",
					   name);
		if (st->stage > ST_SRK)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
					   "second CSF key section [%s]; expected one [Install "
					   "CSFK] or [Install NOCAK]",
					   name);
		st->stage = ST_CSFK;
		return do_install_csfk(ctx, st, s, cmd);
	case BS_CSF_AUTH_CSF:
		if (st->stage < ST_CSFK)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
					   "[Authenticate CSF] before the CSF key; expected "
					   "[Install CSFK] or [Install NOCAK] first");
		if (st->stage > ST_CSFK)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
					   "second [Authenticate CSF]; expected one");
		st->stage = ST_AUTH;
		return do_auth_csf(ctx, st, s, cmd);
	case BS_CSF_NOP:
		return add_bytes(ctx, st, s, 4);
	case BS_CSF_SET_ENGINE:
		return do_set_engine(ctx, st, s, cmd);
	default:
		break;
	}
	if (st->stage < ST_AUTH)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, HDR_POS(s),
				   "[%s] before [Authenticate CSF]; expected it after "
				   "[Authenticate CSF]",
				   name);
	switch (s->kind) {
	case BS_CSF_INSTALL_KEY: return do_install_key(ctx, st, s, cmd);
	case BS_CSF_AUTH_DATA: return do_auth_data(ctx, st, s, cmd);
	case BS_CSF_INSTALL_SECRET_KEY: return do_secret_key(ctx, st, s, cmd);
	case BS_CSF_DECRYPT_DATA: return do_decrypt(ctx, st, s, cmd);
	case BS_CSF_UNLOCK:
	case BS_CSF_INIT: {
		int rc = bs_csf_validate_unlock(ctx, st, s, cmd);
		if (rc != 0)
			return rc;
		return add_bytes(ctx, st, s, 4 + (cmd->has_features ? 4 : 0) + cmd->uid_len);
	}
	default: break;
	}
	return bs_csf_fail(ctx, BS_ERR_INTERNAL, HDR_POS(s), "unhandled section [%s]; expected none",
			   name);
}

int bs_csf_validate_end(struct csf_ctx *ctx, struct csf_state *st, unsigned line, unsigned col)
{
	static const char *const missing[] = {
		"[Header]", "[Install SRK]", "[Install CSFK] or [Install NOCAK]",
		"[Authenticate CSF]"};
	if (st->stage < ST_AUTH)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, line, col,
				   "end of file without %s; expected %s", missing[st->stage],
				   missing[st->stage]);
	st->auto_unlock = st->engine == HAB_ENG_CAAM && !st->rng_seen;
	if (st->auto_unlock && st->cmd_bytes + 8 > HAB_CSF_CMDS_MAX)
		return bs_csf_fail(ctx, BS_ERR_LIMIT, line, col,
				   "the automatic Unlock CAAM RNG makes the command region %zu "
				   "bytes; expected at most %u",
				   st->cmd_bytes + 8, (unsigned)HAB_CSF_CMDS_MAX);
	return 0;
}
