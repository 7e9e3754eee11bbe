/* [Unlock] and [Init]: engine, features (case-sensitive keywords or ORed numbers),
 * UID rules (HAB4.md 1.5.12, 4.5). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "formats/hab/csf_value.h"

static uint32_t feature_mask(uint8_t eng)
{
	uint32_t m = 0;
	for (const struct csf_feature *f = bs_csf_features; f->name != NULL; f++)
		if (f->engine == eng)
			m |= f->bit;
	return m;
}

static void feature_list(uint8_t eng, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (const struct csf_feature *f = bs_csf_features; f->name != NULL && n < cap; f++)
		if (f->engine == eng)
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", f->name);
}

static int keyword_feature(struct csf_ctx *ctx, uint8_t eng, const struct csf_kwbuf *kw,
			   uint32_t *bits)
{
	const char *ename = bs_csf_engine_name(eng);
	const struct csf_feature *f;
	for (f = bs_csf_features; f->name != NULL; f++)
		if (f->engine == eng && strcmp(f->spelling, kw->orig) == 0) {
			*bits |= f->bit;
			return 0;
		}
	if (feature_mask(eng) == 0)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw->line, kw->col,
				   "engine %s takes no feature keywords ('%s'); expected no "
				   "Features, or CAAM, SNVS or OCOTP as Engine",
				   ename, kw->orig);
	for (f = bs_csf_features; f->name != NULL; f++)
		if (f->engine == eng && strcasecmp(f->spelling, kw->orig) == 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw->line, kw->col,
					   "feature '%s' is not valid for %s (feature names are "
					   "case-sensitive); expected '%s'",
					   kw->orig, ename, f->name);
	char list[96];
	feature_list(eng, list, sizeof(list));
	for (f = bs_csf_features; f->name != NULL; f++)
		if (strcasecmp(f->spelling, kw->orig) == 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw->line, kw->col,
					   "feature '%s' belongs to %s, not %s; expected one of %s",
					   kw->orig, bs_csf_engine_name(f->engine), ename, list);
	return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw->line, kw->col,
			   "unknown feature '%s' for %s; expected one of %s", kw->orig, ename, list);
}

static int features_arg(struct csf_ctx *ctx, const struct csf_arg *a, uint8_t eng,
			uint32_t *out)
{
	size_t pos = 0;
	struct csf_item it;
	int rc;
	uint32_t bits = 0, mask = feature_mask(eng);
	while ((rc = bs_csf_val_next_item(ctx, a, &pos, &it)) > 0) {
		const struct csf_token *t = &it.t[0];
		if (t->type == CSF_TOK_WORD) {
			struct csf_kwbuf kw;
			if ((rc = bs_csf_val_item_keyword(ctx, a, &it, &kw)) != 0 ||
			    (rc = keyword_feature(ctx, eng, &kw, &bits)) != 0)
				return rc;
			continue;
		}
		if (t->type != CSF_TOK_NUM || it.n != 1)
			return bs_csf_fail(ctx, BS_ERR_SYNTAX, t->line, t->col,
					   "bad element in 'Features'; expected a feature name "
					   "or a number");
		if (t->minus)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->minus_col,
					   "negative number in 'Features'; expected feature bits");
		if (mask != 0 && (t->num & ~mask) != 0)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
					   "feature bits 0x%x are not defined for %s; expected bits "
					   "within 0x%x",
					   t->num, bs_csf_engine_name(eng), mask);
		if (mask == 0 && t->num != 0) {
			if (ctx->strict)
				return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
						   "engine %s has no documented features; "
						   "expected no Features",
						   bs_csf_engine_name(eng));
			bs_csf_warn(ctx, t->line, t->col,
				    "engine %s has no documented features; 0x%x passed as is",
				    bs_csf_engine_name(eng), t->num);
		}
		bits |= t->num;
	}
	if (rc < 0)
		return rc;
	*out = bits;
	return 0;
}

static int uid_arg(struct csf_ctx *ctx, const struct csf_arg *a, struct bs_csf_cmd *cmd)
{
	size_t pos = 0;
	struct csf_item it;
	int rc;
	while ((rc = bs_csf_val_next_item(ctx, a, &pos, &it)) > 0) {
		const struct csf_token *t = &it.t[0];
		if (t->type != CSF_TOK_NUM || it.n != 1)
			return bs_csf_fail(ctx, BS_ERR_SYNTAX, t->line, t->col,
					   "bad element in 'UID'; expected byte values separated "
					   "by ','");
		if (t->minus)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->minus_col,
					   "negative number in 'UID'; expected bytes 0 to 0xFF");
		if (t->num > 0xFF)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
					   "UID byte 0x%x does not fit in 8 bits; expected 0 to "
					   "0xFF",
					   t->num);
		if (cmd->uid_len >= sizeof(cmd->uid))
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
					   "UID longer than 8 bytes; expected exactly 8 bytes");
		cmd->uid[cmd->uid_len++] = (uint8_t)t->num;
	}
	if (rc < 0)
		return rc;
	if (cmd->uid_len != sizeof(cmd->uid))
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, a->line, a->col,
				   "UID has %zu bytes; expected exactly 8 bytes", cmd->uid_len);
	return 0;
}

int bs_csf_validate_unlock(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			   struct bs_csf_cmd *cmd)
{
	const char *name = bs_csf_kind_name(s->kind);
	const struct csf_arg *ae = s->arg[CSF_ARG_ENGINE];
	const struct csf_arg *af = s->arg[CSF_ARG_FEATURES];
	const struct csf_arg *au = s->arg[CSF_ARG_UID];
	struct csf_kwbuf kw;
	int rc;
	if (ae == NULL)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, s->line, s->col,
				   "[%s] is missing 'Engine'; expected e.g. Engine = CAAM", name);
	const struct csf_kw *k;
	if ((rc = bs_csf_val_engine(ctx, ae, "CAAM, SNVS, OCOTP, SRTC or another engine name",
				    &k, &kw)) != 0)
		return rc;
	cmd->engine = k->val;
	if (af != NULL) {
		if ((rc = features_arg(ctx, af, cmd->engine, &cmd->features)) != 0)
			return rc;
		cmd->has_features = true;
	}
	if (au != NULL) {
		if (s->kind == BS_CSF_INIT)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, au->line, au->col,
					   "'UID' is not allowed in [Init] (CST would count it "
					   "but not write it); expected no UID");
		if (cmd->engine != HAB_ENG_OCOTP)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, au->line, au->col,
					   "'UID' is only used with Engine = OCOTP; expected no UID "
					   "for %s",
					   bs_csf_engine_name(cmd->engine));
		if (af == NULL)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, au->line, au->col,
					   "'UID' without 'Features' would be read as the feature "
					   "word; expected Features = FIELD RETURN, SCS or JTAG");
		if ((rc = uid_arg(ctx, au, cmd)) != 0)
			return rc;
	}
	if (cmd->engine == HAB_ENG_OCOTP && s->kind == BS_CSF_UNLOCK && cmd->has_features) {
		uint32_t f = cmd->features;
		if ((f & (HAB_OCOTP_FIELD_RETURN | HAB_OCOTP_SCS | HAB_OCOTP_JTAG)) && au == NULL)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, af->line, af->col,
					   "OCOTP FIELD RETURN, SCS and JTAG need the device UID; "
					   "expected a UID = b0, ..., b7 line");
		if (f == HAB_OCOTP_SRK_REVOKE && au != NULL)
			return bs_csf_fail(ctx, BS_ERR_SEMANTIC, au->line, au->col,
					   "'UID' is not allowed when the only feature is SRK "
					   "REVOKE; expected no UID");
	}
	if (cmd->engine == HAB_ENG_CAAM && cmd->has_features && (cmd->features & HAB_CAAM_RNG))
		st->rng_seen = true;
	return 0;
}
