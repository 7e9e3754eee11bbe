/* CSF argument values: shape checks (number, pair, string, keyword, lists, blocks) and
 * the keyword tables. Shape errors are BS_ERR_SYNTAX, bad values BS_ERR_SEMANTIC. */
#include "formats/hab/csf_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int shape(struct csf_ctx *ctx, const struct csf_arg *a, const char *want)
{
	const struct csf_token *t = a->nv ? &a->v[0] : NULL;
	return bs_csf_fail(ctx, BS_ERR_SYNTAX, t ? t->line : a->line, t ? t->col : a->col,
			   "bad value for '%s'; expected %s", bs_csf_arg_name(a->id), want);
}

static int check_sign(struct csf_ctx *ctx, const struct csf_arg *a, const struct csf_token *t)
{
	if (t->minus)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->minus_col,
				   "negative number in '%s'; expected a value from 0 to "
				   "0xFFFFFFFF",
				   bs_csf_arg_name(a->id));
	return 0;
}

int bs_csf_val_number(struct csf_ctx *ctx, const struct csf_arg *a, uint32_t *out)
{
	if (a->nv != 1 || a->v[0].type != CSF_TOK_NUM)
		return shape(ctx, a, "a single number");
	int rc = check_sign(ctx, a, &a->v[0]);
	if (rc != 0)
		return rc;
	*out = a->v[0].num;
	return 0;
}

int bs_csf_val_pair(struct csf_ctx *ctx, const struct csf_arg *a, uint32_t *first,
		    uint32_t *second)
{
	const struct csf_token *v = a->v;
	bool dotted = a->nv == 3 && v[0].type == CSF_TOK_NUM && v[1].type == CSF_TOK_DOT &&
		      v[2].type == CSF_TOK_NUM;
	bool spaced = a->nv == 2 && v[0].type == CSF_TOK_NUM && v[1].type == CSF_TOK_NUM;
	if (!dotted && !spaced)
		return shape(ctx, a, "major.minor such as 4.1");
	int rc = check_sign(ctx, a, &v[0]);
	if (rc == 0)
		rc = check_sign(ctx, a, &v[a->nv - 1]);
	if (rc != 0)
		return rc;
	*first = v[0].num;
	*second = v[a->nv - 1].num;
	return 0;
}

static bool is_uri(const char *s, size_t len)
{
	return len >= 7 && strncasecmp(s, "pkcs11:", 7) == 0;
}

int bs_csf_val_string_tok(struct csf_ctx *ctx, const struct csf_arg *a,
			  const struct csf_token *t, bool allow_uri, char **out)
{
	if (t->len == 0)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
				   "empty name in '%s'; expected a file name", bs_csf_arg_name(a->id));
	if (t->text[0] == ' ' || t->text[t->len - 1] == ' ')
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
				   "name in '%s' starts or ends with a space; expected a name "
				   "without surrounding spaces",
				   bs_csf_arg_name(a->id));
	bool uri = is_uri(t->text, t->len);
	if (uri && !allow_uri)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, t->line, t->col,
				   "'%s' must name a file, not a PKCS#11 URI; expected a file "
				   "name",
				   bs_csf_arg_name(a->id));
	char *s = malloc(t->len + 1);
	if (s == NULL)
		return bs_csf_fail(ctx, BS_ERR_NOMEM, t->line, t->col, "out of memory; expected less");
	memcpy(s, t->text, t->len);
	s[t->len] = '\0';
	if (!uri)
		for (char *c = s; *c; c++)
			if (*c == '\\')
				*c = '/';
	*out = s;
	return 0;
}

int bs_csf_val_string(struct csf_ctx *ctx, const struct csf_arg *a, bool allow_uri, char **out)
{
	if (a->nv != 1 || a->v[0].type != CSF_TOK_STR)
		return shape(ctx, a, "one quoted name such as \"file.bin\"");
	return bs_csf_val_string_tok(ctx, a, &a->v[0], allow_uri, out);
}

int bs_csf_val_next_item(struct csf_ctx *ctx, const struct csf_arg *a, size_t *pos,
			 struct csf_item *item)
{
	if (*pos > a->nv)
		return 0;
	size_t i = *pos;
	size_t start = i;
	while (i < a->nv && a->v[i].type != CSF_TOK_COMMA)
		i++;
	if (i == start) {
		const struct csf_token *t = i < a->nv ? &a->v[i] : &a->v[i - 1];
		return bs_csf_fail(ctx, BS_ERR_SYNTAX, t->line, t->col,
				   "empty element in the list of '%s'; expected a value %s ','",
				   bs_csf_arg_name(a->id), i < a->nv ? "before" : "after");
	}
	item->t = &a->v[start];
	item->n = i - start;
	*pos = i + 1;
	return 1;
}

int bs_csf_val_item_keyword(struct csf_ctx *ctx, const struct csf_arg *a,
			    const struct csf_item *it, struct csf_kwbuf *kw)
{
	size_t n = 0;
	if (it->t[0].type != CSF_TOK_WORD)
		return bs_csf_fail(ctx, BS_ERR_SYNTAX, it->t[0].line, it->t[0].col,
				   "bad value for '%s'; expected a keyword", bs_csf_arg_name(a->id));
	kw->line = it->t[0].line;
	kw->col = it->t[0].col;
	for (size_t i = 0; i < it->n; i++) {
		const struct csf_token *t = &it->t[i];
		char numbuf[16];
		const char *s = t->text;
		size_t len = t->len;
		if (t->type == CSF_TOK_NUM) {
			len = (size_t)snprintf(numbuf, sizeof(numbuf), "%u", t->num);
			s = numbuf;
		} else if (t->type != CSF_TOK_WORD) {
			return bs_csf_fail(ctx, BS_ERR_SYNTAX, t->line, t->col,
					   "unexpected %s in the value of '%s'; expected a "
					   "keyword, then ',' or end of line",
					   t->type == CSF_TOK_STR ? "string" : "'.'",
					   bs_csf_arg_name(a->id));
		}
		if (n + len >= sizeof(kw->orig))
			return bs_csf_fail(ctx, BS_ERR_SYNTAX, kw->line, kw->col,
					   "keyword too long in '%s'; expected a known keyword",
					   bs_csf_arg_name(a->id));
		memcpy(kw->orig + n, s, len);
		n += len;
	}
	kw->orig[n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		char c = kw->orig[i];
		kw->norm[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	return 0;
}

int bs_csf_val_keyword(struct csf_ctx *ctx, const struct csf_arg *a, struct csf_kwbuf *kw)
{
	size_t pos = 0;
	struct csf_item it;
	int rc = bs_csf_val_next_item(ctx, a, &pos, &it);
	if (rc < 0)
		return rc;
	if (pos <= a->nv) {
		const struct csf_token *t = &a->v[pos - 1];
		return bs_csf_fail(ctx, BS_ERR_SYNTAX, t->line, t->col,
				   "'%s' takes one value; expected a single keyword without ','",
				   bs_csf_arg_name(a->id));
	}
	return bs_csf_val_item_keyword(ctx, a, &it, kw);
}

int bs_csf_val_engine(struct csf_ctx *ctx, const struct csf_arg *a, const char *expected,
		      const struct csf_kw **out, struct csf_kwbuf *kw)
{
	*out = NULL;
	int rc = bs_csf_val_keyword(ctx, a, kw);
	if (rc != 0)
		return rc;
	*out = bs_csf_kw_find(bs_csf_engine_kw, BS_CSF_ENGINE_KW, kw->norm);
	if (*out == NULL)
		return bs_csf_fail(ctx, BS_ERR_SEMANTIC, kw->line, kw->col,
				   "unknown engine '%s'; expected %s", kw->orig, expected);
	return 0;
}

const struct csf_kw *bs_csf_kw_find(const struct csf_kw *tab, size_t n, const char *norm)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].norm, norm) == 0)
			return &tab[i];
	return NULL;
}

const struct csf_kw bs_csf_hash_kw[BS_CSF_HASH_KW] = {
	{"SHA256", "sha256", HAB_ALG_SHA256},   {"SHA1", "sha1", HAB_ALG_SHA1},
	{"SHA512", "sha512", HAB_ALG_SHA512},   {"HABRSASHA1", "HABRSASHA1", HAB_ALG_SHA1},
	{"HABRSASHA256", "HABRSASHA256", HAB_ALG_SHA256},
};

const struct csf_kw bs_csf_engine_kw[BS_CSF_ENGINE_KW] = {
	{"ANY", "ANY", HAB_ENG_ANY},     {"SCC", "SCC", HAB_ENG_SCC},
	{"RTIC", "RTIC", HAB_ENG_RTIC},  {"SAHARA", "SAHARA", HAB_ENG_SAHARA},
	{"CSU", "CSU", HAB_ENG_CSU},     {"SRTC", "SRTC", HAB_ENG_SRTC},
	{"SJC", "SJC", 0x0F},            {"WDOG", "WDOG", 0x11},
	{"SRC", "SRC", 0x12},            {"SPBA", "SPBA", 0x14},
	{"IIM", "IIM", 0x17},            {"IOMUX", "IOMUX", 0x18},
	{"DCP", "DCP", HAB_ENG_DCP},     {"CAAM", "CAAM", HAB_ENG_CAAM},
	{"SNVS", "SNVS", HAB_ENG_SNVS},  {"OCOTP", "OCOTP", HAB_ENG_OCOTP},
	{"DTCP", "DTCP", HAB_ENG_DTCP},  {"HDCP", "HDCP", HAB_ENG_HDCP},
	{"ROM", "ROM", HAB_ENG_ROM},     {"RTL", "RTL", HAB_ENG_RTL},
	{"SW", "SW", HAB_ENG_SW},
};

/* Engine configuration keywords by CST index (0 = default, written as the number 0). */
const struct csf_kw bs_csf_cfg_kw[BS_CSF_CFG_KW] = {
	{"", "0", 0},
	{"INSWAP8", "IN SWAP8", 1},
	{"INSWAP16", "IN SWAP16", 2},
	{"INSWAP32", "IN SWAP32", 3},
	{"OUTSWAP8", "OUT SWAP8", 4},
	{"OUTSWAP16", "OUT SWAP16", 5},
	{"OUTSWAP32", "OUT SWAP32", 6},
	{"DSCSWAP8", "DSC SWAP8", 7},
	{"DSCSWAP16", "DSC SWAP16", 8},
	{"DSCBE816", "DSC BE8_16", 9},
	{"DSCBE832", "DSC BE8_32", 10},
	{"KEEP", "KEEP", 11},
};

/* cfg bits by engine and index (HAB4.md 4.4); 0 where not allowed (index 0 is 0). */
static const uint8_t cfg_sahara[BS_CSF_CFG_KW] = {0, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0x10, 0x20, 0};
static const uint8_t cfg_caam[BS_CSF_CFG_KW] = {0, 0x01, 0x02, 0, 0x08, 0x10, 0, 0x40, 0x80, 0, 0, 0};
static const uint8_t cfg_dcp[BS_CSF_CFG_KW] = {0, 0x01, 0, 0x04, 0x08, 0, 0x20, 0, 0, 0, 0, 0};
static const uint8_t cfg_rtic[BS_CSF_CFG_KW] = {0, 0x01, 0x02, 0, 0x08, 0, 0, 0, 0, 0, 0, 0x80};

const uint8_t *bs_csf_cfg_table(uint8_t engine)
{
	switch (engine) {
	case HAB_ENG_SAHARA: return cfg_sahara;
	case HAB_ENG_CAAM: return cfg_caam;
	case HAB_ENG_DCP: return cfg_dcp;
	case HAB_ENG_RTIC: return cfg_rtic;
	default: return NULL;
	}
}

const char *bs_csf_engine_name(uint8_t eng)
{
	for (size_t i = 0; i < BS_CSF_ENGINE_KW; i++)
		if (bs_csf_engine_kw[i].val == eng)
			return bs_csf_engine_kw[i].name;
	return "?";
}

const struct csf_feature bs_csf_features[] = {
	{HAB_ENG_CAAM, "MID", "MID", HAB_CAAM_MID},
	{HAB_ENG_CAAM, "RNG", "RNG", HAB_CAAM_RNG},
	{HAB_ENG_CAAM, "MFG", "MFG", HAB_CAAM_MFG},
	{HAB_ENG_SNVS, "LPSWR", "LP SWR", HAB_SNVS_LP_SWR},
	{HAB_ENG_SNVS, "ZMKWRITE", "ZMK WRITE", HAB_SNVS_ZMK_WRITE},
	{HAB_ENG_OCOTP, "FIELDRETURN", "FIELD RETURN", HAB_OCOTP_FIELD_RETURN},
	{HAB_ENG_OCOTP, "SRKREVOKE", "SRK REVOKE", HAB_OCOTP_SRK_REVOKE},
	{HAB_ENG_OCOTP, "SCS", "SCS", HAB_OCOTP_SCS},
	{HAB_ENG_OCOTP, "JTAG", "JTAG", HAB_OCOTP_JTAG},
	{0, NULL, NULL, 0},
};
