/* CSF grammar: sections and argument lines (names in csf_names.c); drives the semantic
 * pass (csf_validate.c) section by section. */
#include "formats/hab/csf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/util.h"
#include "formats/hab/csf_int.h"

struct parser {
	struct csf_ctx *ctx;
	struct csf_lexer lx;
	struct csf_token tok;
	/* value tokens of the current section, and its argument lines */
	struct csf_token *pool;
	size_t npool, cappool;
	struct csf_arg argv[BS_CSF_ARGS_MAX];
	size_t argstart[BS_CSF_ARGS_MAX];
	size_t nargs;
	/* source text of the last name (first physical line), for messages */
	const char *name_text;
	size_t name_len;
};

#define NAME_SHOWN(p) (int)((p)->name_len > 60 ? 60 : (p)->name_len), (p)->name_text

static int advance(struct parser *p)
{
	return bs_csf_lex_next(&p->lx, &p->tok);
}

static int expected(struct parser *p, const char *what)
{
	char b[64];
	return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, p->tok.line, p->tok.col,
			   "unexpected %s; expected %s", bs_csf_tok_desc(&p->tok, b, sizeof(b)),
			   what);
}

/* A multi-word name: a word followed by words and numbers, joined without separator
 * (numbers as their decimal value, like CST). `norm` is upper-cased. */
static int parse_name(struct parser *p, char *norm, size_t cap, unsigned *line, unsigned *col)
{
	size_t n = 0;
	*line = p->tok.line;
	*col = p->tok.col;
	p->name_text = p->tok.text;
	p->name_len = 0;
	while (p->tok.type == CSF_TOK_WORD || (n > 0 && p->tok.type == CSF_TOK_NUM)) {
		char numbuf[16];
		const char *s = p->tok.text;
		size_t len = p->tok.len;
		if (p->tok.type == CSF_TOK_NUM) {
			len = (size_t)snprintf(numbuf, sizeof(numbuf), "%u", p->tok.num);
			s = numbuf;
		}
		if (n + len >= cap)
			return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, *line, *col,
					   "name longer than %zu characters; expected a section "
					   "or argument name",
					   cap - 1);
		for (size_t i = 0; i < len; i++) {
			char c = s[i];
			norm[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
		}
		if (p->tok.line == *line)
			p->name_len = (size_t)(p->tok.text + p->tok.len - p->name_text);
		int rc = advance(p);
		if (rc != 0)
			return rc;
	}
	norm[n] = '\0';
	return 0;
}

/* Sections and arguments CST used to accept: a hint for the error message. */
static const char *removed_hint(const char *norm)
{
	static const char *const removed[] = {"WRITEDATA",     "CLEARMASK",	"SETMASK",
					      "CHECKDATA",     "CHECKALLCLEAR", "CHECKALLSET",
					      "CHECKANYCLEAR", "CHECKANYSET",	"SETMID",
					      "SECURITYCONFIGURATION"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(removed); i++)
		if (strcmp(norm, removed[i]) == 0)
			return " (removed from CST since 2.3.3)";
	if (strcmp(norm, "INSTALLCERTIFICATE") == 0)
		return " (AHAB only)";
	return "";
}

static int skip_eols(struct parser *p)
{
	while (p->tok.type == CSF_TOK_EOL) {
		int rc = advance(p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static bool ahab_target(const struct csf_token *v, size_t nv)
{
	return nv == 1 && v[0].type == CSF_TOK_WORD && v[0].len == 4 &&
	       strncasecmp(v[0].text, "AHAB", 4) == 0;
}

/* One `name = value` line; the current token is the first word of the name. */
static int parse_arg_line(struct parser *p, const struct csf_section_def *sd)
{
	char norm[BS_CSF_NAME_MAX];
	unsigned line, col;
	int rc = parse_name(p, norm, sizeof(norm), &line, &col);
	if (rc != 0)
		return rc;
	int id = bs_csf_arg_find(norm);
	if (id < 0) {
		char list[256];
		bs_csf_list_args(sd->args, list, sizeof(list));
		return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, line, col,
				   "unknown argument '%.*s'%s in [%s]; expected %s", NAME_SHOWN(p),
				   removed_hint(norm), sd->name, list);
	}
	if (p->tok.type != CSF_TOK_EQ) {
		char what[96];
		snprintf(what, sizeof(what), "'=' after '%s'", bs_csf_arg_name(id));
		return expected(p, what);
	}
	if ((rc = advance(p)) != 0)
		return rc;
	if (p->nargs >= BS_CSF_ARGS_MAX)
		return bs_csf_fail(p->ctx, BS_ERR_LIMIT, line, col,
				   "more than %d arguments in [%s]; expected each argument once",
				   BS_CSF_ARGS_MAX, sd->name);
	size_t start = p->npool;
	while (p->tok.type != CSF_TOK_EOL && p->tok.type != CSF_TOK_EOF) {
		if (p->tok.type == CSF_TOK_LBRACK || p->tok.type == CSF_TOK_RBRACK ||
		    p->tok.type == CSF_TOK_EQ) {
			char what[96];
			snprintf(what, sizeof(what), "a value for '%s' and then end of line",
				 bs_csf_arg_name(id));
			return expected(p, what);
		}
		if (p->npool - start >= BS_CSF_VALUE_TOKENS_MAX)
			return bs_csf_fail(p->ctx, BS_ERR_LIMIT, p->tok.line, p->tok.col,
					   "value of '%s' longer than %d items; expected a "
					   "shorter list",
					   bs_csf_arg_name(id), BS_CSF_VALUE_TOKENS_MAX);
		if (p->npool == p->cappool) {
			size_t cap = p->cappool ? p->cappool * 2 : 64;
			struct csf_token *np = realloc(p->pool, cap * sizeof(*np));
			if (np == NULL)
				return bs_csf_fail(p->ctx, BS_ERR_NOMEM, p->tok.line, p->tok.col,
						   "out of memory; expected less input");
			p->pool = np;
			p->cappool = cap;
		}
		p->pool[p->npool++] = p->tok;
		if ((rc = advance(p)) != 0)
			return rc;
	}
	if (p->npool == start)
		return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, p->tok.line, p->tok.col,
				   "missing value after '%s ='; expected a value",
				   bs_csf_arg_name(id));
	if (sd->kind == BS_CSF_HEADER && id == CSF_ARG_TARGET &&
	    ahab_target(p->pool + start, p->npool - start))
		return bs_csf_fail(p->ctx, BS_ERR_UNSUPPORTED, p->pool[start].line,
				   p->pool[start].col,
				   "an AHAB CSF is not a HAB4 CSF (sign it with the AHAB signer, "
				   "formats/ahab: bootsign hab sign, /sign/imx); expected Target = HAB");
	struct csf_arg *a = &p->argv[p->nargs];
	a->id = id;
	a->line = line;
	a->col = col;
	a->nv = p->npool - start;
	p->argstart[p->nargs++] = start;
	return 0;
}

/* Check which arguments the section accepts and build the by-id table. */
static int build_section(struct parser *p, const struct csf_section_def *sd, struct csf_section *s)
{
	for (size_t i = 0; i < p->nargs; i++) {
		struct csf_arg *a = &p->argv[i];
		a->v = p->pool + p->argstart[i];
		if (sd->kind == BS_CSF_NOP) {
			bs_csf_warn(p->ctx, a->line, a->col, "'%s' ignored: [NOP] takes no arguments",
				    bs_csf_arg_name(a->id));
			continue;
		}
		if (!(sd->args & CSF_ARG_BIT(a->id))) {
			char list[256];
			bs_csf_list_args(sd->args, list, sizeof(list));
			return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, a->line, a->col,
					   "'%s' is not valid in [%s]; expected %s",
					   bs_csf_arg_name(a->id), sd->name, list);
		}
		int slot = a->id == CSF_ARG_SRCIDX ? CSF_ARG_VFYIDX : a->id;
		const struct csf_arg *prev = s->arg[slot];
		if (prev == NULL) {
			s->arg[slot] = a;
			continue;
		}
		if (slot == CSF_ARG_BLOCKS && !p->ctx->strict) {
			bs_csf_warn(p->ctx, a->line, a->col,
				    "second 'Blocks' ignored: only the first (line %u) takes "
				    "effect, as in CST; join the lists with ','",
				    prev->line);
			continue;
		}
		return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, a->line, a->col,
				   "duplicate argument '%s' in [%s] (already given at line %u as "
				   "'%s'); expected each argument once",
				   bs_csf_arg_name(a->id), sd->name, prev->line, bs_csf_arg_name(prev->id));
	}
	return 0;
}

static int parse_sections(struct parser *p, struct bs_csf *csf, struct csf_state *st)
{
	int rc;
	if ((rc = advance(p)) != 0 || (rc = skip_eols(p)) != 0)
		return rc;
	while (p->tok.type != CSF_TOK_EOF) {
		if (p->tok.type != CSF_TOK_LBRACK)
			return expected(p, csf->ncmds ? "an argument name or '['"
						      : "'[Header]' to start the file");
		unsigned line = p->tok.line, col = p->tok.col;
		if ((rc = advance(p)) != 0)
			return rc;
		if (p->tok.type != CSF_TOK_WORD)
			return expected(p, "a section name such as Header");
		char norm[BS_CSF_NAME_MAX];
		unsigned nl, nc;
		if ((rc = parse_name(p, norm, sizeof(norm), &nl, &nc)) != 0)
			return rc;
		if (p->tok.type != CSF_TOK_RBRACK)
			return expected(p, "']' after the section name");
		const struct csf_section_def *sd = bs_csf_section_find(norm);
		if (sd == NULL) {
			char list[400];
			bs_csf_list_sections(list, sizeof(list));
			return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, nl, nc,
					   "unknown section [%.*s]%s; expected one of %s",
					   NAME_SHOWN(p), removed_hint(norm), list);
		}
		if ((rc = advance(p)) != 0)
			return rc;
		if (p->tok.type != CSF_TOK_EOL && p->tok.type != CSF_TOK_EOF)
			return expected(p, "end of line after ']'");
		if (csf->ncmds >= BS_CSF_CMDS_MAX)
			return bs_csf_fail(p->ctx, BS_ERR_LIMIT, line, col,
					   "more than %u sections; expected at most %u",
					   (unsigned)BS_CSF_CMDS_MAX, (unsigned)BS_CSF_CMDS_MAX);
		p->npool = 0;
		p->nargs = 0;
		if ((rc = skip_eols(p)) != 0)
			return rc;
		while (p->tok.type != CSF_TOK_EOF && p->tok.type != CSF_TOK_LBRACK) {
			if (p->tok.type != CSF_TOK_WORD)
				return expected(p, "an argument name or '['");
			if ((rc = parse_arg_line(p, sd)) != 0 || (rc = skip_eols(p)) != 0)
				return rc;
		}
		struct csf_section s;
		memset(&s, 0, sizeof(s));
		s.kind = sd->kind;
		s.line = line;
		s.col = col;
		if ((rc = build_section(p, sd, &s)) != 0)
			return rc;
		struct bs_csf_cmd *cmd = &csf->cmds[csf->ncmds++];
		cmd->kind = sd->kind;
		cmd->line = line;
		cmd->col = col;
		if ((rc = bs_csf_validate_section(p->ctx, st, &s, cmd)) != 0)
			return rc;
	}
	return bs_csf_validate_end(p->ctx, st, p->tok.line, p->tok.col);
}

static void text_position(const char *text, size_t at, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int bs_csf_parse(struct bs_csf **out, const char *text, size_t len, const char *filename,
		 const struct bs_csf_parse_opts *opts, struct bs_error *err)
{
	int rc;
	struct parser p;
	struct csf_state st;
	struct csf_ctx ctx;
	memset(&p, 0, sizeof(p));
	memset(&st, 0, sizeof(st));
	if (out == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "bs_csf_parse: out is NULL");
	*out = NULL;
	if (text == NULL && len > 0)
		return bs_error_set(err, BS_ERR_INVALID, "bs_csf_parse: text is NULL");
	struct bs_csf *csf = calloc(1, sizeof(*csf));
	if (csf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	csf->filename = bs_strdup(filename != NULL ? filename : "<csf>");
	csf->cmds = calloc(BS_CSF_CMDS_MAX, sizeof(*csf->cmds));
	if (csf->filename == NULL || csf->cmds == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	ctx.filename = csf->filename;
	ctx.strict = opts != NULL && opts->strict;
	ctx.csf = csf;
	ctx.err = err;
	p.ctx = &ctx;
	if (len > BS_CSF_TEXT_MAX) {
		unsigned line, col;
		text_position(text, BS_CSF_TEXT_MAX, &line, &col);
		rc = bs_csf_fail(&ctx, BS_ERR_LIMIT, line, col,
				 "CSF text is %zu bytes; expected at most %u", len,
				 (unsigned)BS_CSF_TEXT_MAX);
		goto fail;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		/* UTF-8 byte order mark from Windows editors: CST drops it silently */
		bs_csf_warn(&ctx, 1, 1, "UTF-8 byte order mark ignored");
		text += 3;
		len -= 3;
	}
	bs_csf_lex_init(&p.lx, &ctx, text != NULL ? text : "", len);
	rc = parse_sections(&p, csf, &st);
	if (rc != 0)
		goto fail;
	csf->auto_unlock_caam_rng = st.auto_unlock;
	csf->nocak = st.nocak;
	free(p.pool);
	*out = csf;
	return 0;
fail:
	free(p.pool);
	bs_csf_free(csf);
	return rc;
}

void bs_csf_free(struct bs_csf *csf)
{
	if (csf == NULL)
		return;
	if (csf->cmds != NULL) {
		for (size_t i = 0; i < BS_CSF_CMDS_MAX; i++) {
			struct bs_csf_cmd *c = &csf->cmds[i];
			free(c->file);
			for (size_t j = 0; j < c->nblocks; j++)
				free(c->blocks[j].file);
			free(c->blocks);
		}
	}
	free(csf->cmds);
	free(csf->filename);
	free(csf);
}
