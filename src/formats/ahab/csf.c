/* AHAB CSF grammar and values (see csf.h), on the HAB4 CSF lexer. */
#include "formats/ahab/csf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/util.h"
#include "formats/ahab/ahab.h"
#include "formats/hab/csf_lex.h"


enum sec { SEC_HEADER, SEC_SRK, SEC_CERT, SEC_DATA, SEC_SECRET, SEC_COUNT };

enum arg {
	ARG_TARGET, ARG_VERSION, ARG_MODE, ARG_FILE, ARG_SOURCE, ARG_SRCIDX, ARG_SRCSET,
	ARG_REVOKE, ARG_PERM, ARG_OFFSETS, ARG_SIGNATURE, ARG_COUNT,
};

static const struct {
	const char *norm, *name;
} arg_names[ARG_COUNT] = {
	[ARG_TARGET] = {"TARGET", "Target"},
	[ARG_VERSION] = {"VERSION", "Version"},
	[ARG_MODE] = {"MODE", "Mode"},
	[ARG_FILE] = {"FILE", "File"},
	[ARG_SOURCE] = {"SOURCE", "Source"},
	[ARG_SRCIDX] = {"SOURCEINDEX", "Source Index"},
	[ARG_SRCSET] = {"SOURCESET", "Source Set"},
	[ARG_REVOKE] = {"REVOCATIONS", "Revocations"},
	[ARG_PERM] = {"PERMISSIONS", "Permissions"},
	[ARG_OFFSETS] = {"OFFSETS", "Offsets"},
	[ARG_SIGNATURE] = {"SIGNATURE", "Signature"},
};

#define B(a) (1u << (a))

static const struct {
	const char *norm, *name;
	unsigned accepted, required;
} sections[SEC_COUNT] = {
	[SEC_HEADER] = {"HEADER", "Header", B(ARG_TARGET) | B(ARG_VERSION) | B(ARG_MODE),
			B(ARG_TARGET) | B(ARG_VERSION)},
	[SEC_SRK] = {"INSTALLSRK", "Install SRK",
		     B(ARG_FILE) | B(ARG_SOURCE) | B(ARG_SRCIDX) | B(ARG_SRCSET) | B(ARG_REVOKE),
		     B(ARG_FILE) | B(ARG_SOURCE) | B(ARG_SRCIDX) | B(ARG_SRCSET) | B(ARG_REVOKE)},
	[SEC_CERT] = {"INSTALLCERTIFICATE", "Install Certificate",
		      B(ARG_FILE) | B(ARG_PERM) | B(ARG_SIGNATURE), B(ARG_FILE) | B(ARG_PERM)},
	[SEC_DATA] = {"AUTHENTICATEDATA", "Authenticate Data",
		      B(ARG_FILE) | B(ARG_OFFSETS) | B(ARG_SIGNATURE), B(ARG_FILE) | B(ARG_OFFSETS)},
	[SEC_SECRET] = {"INSTALLSECRETKEY", "Install Secret Key", 0, 0},
};

struct parser {
	struct csf_ctx *ctx;
	struct csf_lexer lx;
	struct csf_token tok;
	struct bs_ahab_csf *out;
	int last;            /* last section seen, -1 before [Header] */
	unsigned seen_secs;  /* bit per section */
	unsigned seen_args;  /* in the current section */
};

static int advance(struct parser *p)
{
	return bs_csf_lex_next(&p->lx, &p->tok);
}

static int expected(struct parser *p, const struct csf_token *t, const char *what)
{
	char b[64];
	return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, t->line, t->col, "unexpected %s; expected %s",
			   bs_csf_tok_desc(t, b, sizeof(b)), what);
}

static int skip_eols(struct parser *p)
{
	int rc = 0;
	while (rc == 0 && p->tok.type == CSF_TOK_EOL)
		rc = advance(p);
	return rc;
}

/* Words joined, upper case ("Source Index" -> "SOURCEINDEX"). */
static int parse_name(struct parser *p, char *norm, size_t cap)
{
	size_t n = 0;
	unsigned line = p->tok.line, col = p->tok.col;
	while (p->tok.type == CSF_TOK_WORD) {
		if (n + p->tok.len >= cap)
			return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, line, col,
					   "name longer than %zu characters", cap - 1);
		for (size_t i = 0; i < p->tok.len; i++) {
			char c = p->tok.text[i];
			norm[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
		}
		int rc = advance(p);
		if (rc != 0)
			return rc;
	}
	norm[n] = '\0';
	return 0;
}

static int want_string(struct parser *p, const struct csf_token *v, size_t nv,
		       const char *what, struct bs_ahab_csf_file *out)
{
	if (nv != 1 || v[0].type != CSF_TOK_STR)
		return expected(p, &v[nv != 1 && nv > 0 ? 1 : 0], what);
	if (v[0].len == 0)
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, v[0].line, v[0].col,
				   "empty file name; expected %s", what);
	free(out->name);
	if ((out->name = malloc(v[0].len + 1)) == NULL)
		return bs_csf_fail(p->ctx, BS_ERR_NOMEM, v[0].line, v[0].col, "out of memory");
	memcpy(out->name, v[0].text, v[0].len);
	out->name[v[0].len] = '\0';
	out->line = v[0].line;
	out->col = v[0].col;
	return 0;
}

static int want_number(struct parser *p, const struct csf_token *v, size_t nv, uint32_t max,
		       const char *name, uint32_t *out)
{
	char what[96];
	snprintf(what, sizeof(what), "a number 0 to 0x%x for '%s'", max, name);
	if (nv != 1 || v[0].type != CSF_TOK_NUM)
		return expected(p, &v[nv != 1 && nv > 0 ? 1 : 0], what);
	if (v[0].minus || v[0].num > max)
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, v[0].line, v[0].col,
				   "%s%u is out of range; expected %s", v[0].minus ? "-" : "",
				   v[0].num, what);
	*out = v[0].num;
	return 0;
}

static int header_arg(struct parser *p, int id, const struct csf_token *v, size_t nv)
{
	if (id == ARG_TARGET) {
		if (nv != 1 || v[0].type != CSF_TOK_WORD || v[0].len != 4 ||
		    strncasecmp(v[0].text, "AHAB", 4) != 0)
			return expected(p, &v[0], "AHAB (this is an AHAB CSF)");
		return 0;
	}
	if (id == ARG_MODE) {
		if (nv == 1 && v[0].type == CSF_TOK_WORD && v[0].len == 3 &&
		    strncasecmp(v[0].text, "HSM", 3) == 0)
			return bs_csf_fail(p->ctx, BS_ERR_UNSUPPORTED, v[0].line, v[0].col,
					   "Mode = HSM is not supported yet (bootsign signs with "
					   "token keys directly: give Source as a pkcs11: URI)");
		return expected(p, &v[0], "HSM");
	}
	/* Version = major.minor */
	if (nv != 3 || v[0].type != CSF_TOK_NUM || v[1].type != CSF_TOK_DOT ||
	    v[2].type != CSF_TOK_NUM)
		return expected(p, &v[nv > 0 && v[0].type == CSF_TOK_NUM ? (nv > 1 ? 1 : 0) : 0],
				"a version such as 1.0");
	if (v[0].num == 2 && v[2].num == 0)
		return bs_csf_fail(p->ctx, BS_ERR_UNSUPPORTED, v[0].line, v[0].col,
				   "AHAB Version 2.0 is not supported yet: v2 containers (i.MX95 "
				   "B0, i.MX943) carry an SRK table array, an optional second "
				   "(PQC) signature and 2-byte certificate permissions; expected "
				   "1.0 (i.MX8QXP/8QM/8ULP/91/93/95 A0)");
	if (v[0].num != 1 || v[2].num != 0)
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, v[0].line, v[0].col,
				   "AHAB Version %u.%u unknown; expected 1.0", v[0].num, v[2].num);
	return 0;
}

static int srk_arg(struct parser *p, int id, const struct csf_token *v, size_t nv)
{
	struct bs_ahab_csf *c = p->out;
	uint32_t n = 0;
	int rc;
	switch (id) {
	case ARG_FILE:
		return want_string(p, v, nv, "the SRK table file as a \"string\"", &c->srk_table);
	case ARG_SOURCE:
		return want_string(p, v, nv, "the SRK certificate file or pkcs11: URI as a "
				   "\"string\"", &c->source);
	case ARG_SRCIDX:
		rc = want_number(p, v, nv, 3, "Source Index", &n);
		c->source_index = (uint8_t)n;
		return rc;
	case ARG_REVOKE:
		rc = want_number(p, v, nv, 0xF, "Revocations", &n);
		c->revocations = (uint8_t)n;
		return rc;
	default: /* ARG_SRCSET */
		if (nv == 1 && v[0].type == CSF_TOK_WORD && v[0].len == 3 &&
		    strncasecmp(v[0].text, "OEM", 3) == 0) {
			c->source_set = BS_AHAB_SRK_SET_OEM;
			return 0;
		}
		if (nv == 1 && v[0].type == CSF_TOK_WORD && v[0].len == 3 &&
		    strncasecmp(v[0].text, "NXP", 3) == 0) {
			c->source_set = BS_AHAB_SRK_SET_NXP;
			return 0;
		}
		return expected(p, &v[0], "OEM or NXP");
	}
}

static int cert_data_arg(struct parser *p, enum sec s, int id, const struct csf_token *v,
			 size_t nv)
{
	struct bs_ahab_csf *c = p->out;
	uint32_t n = 0;
	int rc;
	if (id == ARG_SIGNATURE && s == SEC_CERT)
		return want_string(p, v, nv, "the certificate signature file as a \"string\"",
				   &c->cert_sig);
	if (id == ARG_SIGNATURE)
		return bs_csf_fail(p->ctx, BS_ERR_UNSUPPORTED, v[0].line, v[0].col,
				   "a pre-made container Signature (CST's HSM flow) is not "
				   "supported yet; bootsign signs with the key itself");
	if (id == ARG_FILE)
		return want_string(p, v, nv, s == SEC_CERT ? "the certificate file as a \"string\""
				   : "the image file as a \"string\"",
				   s == SEC_CERT ? &c->cert : &c->data);
	if (id == ARG_PERM) {
		rc = want_number(p, v, nv, 0xFF, "Permissions", &n);
		c->permissions = (uint8_t)n;
		return rc;
	}
	/* Offsets = first second (an optional ',' between) */
	size_t k = 0;
	for (size_t i = 0; i < nv; i++) {
		if (v[i].type == CSF_TOK_COMMA && k == 1 && i == 1)
			continue;
		if (v[i].type != CSF_TOK_NUM || k == 2)
			return expected(p, &v[i], "two numbers: the container header offset and the "
					"signature block offset in the file");
		if (v[i].minus)
			return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, v[i].line, v[i].col,
					   "negative offset; expected a file offset");
		c->offsets[k++] = v[i].num;
	}
	if (k != 2)
		return expected(p, &v[nv - 1], "a second number: the signature block offset");
	c->offsets_line = v[0].line;
	c->offsets_col = v[0].col;
	if (c->offsets[1] <= c->offsets[0])
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, v[0].line, v[0].col,
				   "Offsets 0x%x 0x%x: the signature block must come after the "
				   "container header", c->offsets[0], c->offsets[1]);
	return 0;
}

static int parse_arg_line(struct parser *p, enum sec s)
{
	char norm[BS_CSF_NAME_MAX];
	unsigned line = p->tok.line, col = p->tok.col;
	int rc = parse_name(p, norm, sizeof(norm));
	if (rc != 0)
		return rc;
	int id = -1;
	for (int i = 0; i < ARG_COUNT; i++)
		if (strcmp(norm, arg_names[i].norm) == 0)
			id = i;
	if (id < 0 || !(sections[s].accepted & B(id)))
		return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, line, col,
				   "%s argument '%s' in [%s]; expected one of the AHAB arguments "
				   "of this section", id < 0 ? "unknown" : "unexpected",
				   id < 0 ? norm : arg_names[id].name, sections[s].name);
	if (p->seen_args & B(id))
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, line, col,
				   "duplicate argument '%s' in [%s]; expected each argument once",
				   arg_names[id].name, sections[s].name);
	p->seen_args |= B(id);
	if (p->tok.type != CSF_TOK_EQ)
		return expected(p, &p->tok, "'=' after the argument name");
	if ((rc = advance(p)) != 0)
		return rc;
	struct csf_token v[BS_AHAB_CSF_VALUE_TOKENS_MAX + 1];
	size_t nv = 0;
	while (p->tok.type != CSF_TOK_EOL && p->tok.type != CSF_TOK_EOF) {
		if (nv == BS_AHAB_CSF_VALUE_TOKENS_MAX)
			return expected(p, &p->tok, "end of line");
		v[nv++] = p->tok;
		if ((rc = advance(p)) != 0)
			return rc;
	}
	if (nv == 0)
		return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, p->tok.line, p->tok.col,
				   "missing value after '%s ='", arg_names[id].name);
	v[nv] = p->tok;
	switch (s) {
	case SEC_HEADER: return header_arg(p, id, v, nv);
	case SEC_SRK: return srk_arg(p, id, v, nv);
	default: return cert_data_arg(p, s, id, v, nv);
	}
}

static int check_order(struct parser *p, enum sec s, unsigned line, unsigned col)
{
	if (p->seen_secs & B(s))
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, line, col,
				   "second [%s]; expected each section once", sections[s].name);
	if (s == SEC_SECRET)
		return bs_csf_fail(p->ctx, BS_ERR_UNSUPPORTED, line, col,
				   "[Install Secret Key] (AHAB image encryption) is not supported "
				   "yet");
	if (p->last < 0 && s != SEC_HEADER)
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, line, col,
				   "[%s] before [Header]; expected [Header] first", sections[s].name);
	if ((s == SEC_SRK && p->last != SEC_HEADER) ||
	    (s == SEC_CERT && p->last != SEC_SRK) ||
	    (s == SEC_DATA && p->last != SEC_SRK && p->last != SEC_CERT))
		return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, line, col,
				   "[%s] after [%s]; expected [Header], [Install SRK], optional "
				   "[Install Certificate], [Authenticate Data] in this order",
				   sections[s].name, sections[p->last].name);
	p->seen_secs |= B(s);
	p->last = (int)s;
	return 0;
}

static int end_section(struct parser *p, enum sec s, unsigned line, unsigned col)
{
	unsigned missing = sections[s].required & ~p->seen_args;
	for (int i = 0; i < ARG_COUNT; i++)
		if (missing & B(i))
			return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, line, col,
					   "[%s] without '%s'; expected it (required)",
					   sections[s].name, arg_names[i].name);
	if (s == SEC_CERT)
		p->out->has_cert = true;
	if (s == SEC_SRK && (p->out->revocations >> p->out->source_index) & 1)
		bs_csf_warn(p->ctx, line, col,
			    "Revocations = 0x%x asks the enclave to revoke SRK %u, the SRK this "
			    "container is signed with (CST allows it; the image stops booting once "
			    "the revocation is committed)", p->out->revocations,
			    p->out->source_index);
	return 0;
}

static int parse_sections(struct parser *p)
{
	int rc;
	if ((rc = advance(p)) != 0 || (rc = skip_eols(p)) != 0)
		return rc;
	while (p->tok.type != CSF_TOK_EOF) {
		if (p->tok.type != CSF_TOK_LBRACK)
			return expected(p, &p->tok, p->last < 0 ? "'[Header]' to start the file"
							  : "an argument name or '['");
		unsigned line = p->tok.line, col = p->tok.col;
		if ((rc = advance(p)) != 0)
			return rc;
		char norm[BS_CSF_NAME_MAX];
		unsigned nl = p->tok.line, nc = p->tok.col;
		if (p->tok.type != CSF_TOK_WORD)
			return expected(p, &p->tok, "a section name such as Header");
		if ((rc = parse_name(p, norm, sizeof(norm))) != 0)
			return rc;
		if (p->tok.type != CSF_TOK_RBRACK)
			return expected(p, &p->tok, "']' after the section name");
		int s = -1;
		for (int i = 0; i < SEC_COUNT; i++)
			if (strcmp(norm, sections[i].norm) == 0)
				s = i;
		if (s < 0)
			return bs_csf_fail(p->ctx, BS_ERR_SYNTAX, nl, nc,
					   "unknown section [%s] in an AHAB CSF; expected [Header], "
					   "[Install SRK], [Install Certificate] or [Authenticate Data]",
					   norm);
		if ((rc = check_order(p, (enum sec)s, line, col)) != 0 || (rc = advance(p)) != 0)
			return rc;
		if (p->tok.type != CSF_TOK_EOL && p->tok.type != CSF_TOK_EOF)
			return expected(p, &p->tok, "end of line after ']'");
		p->seen_args = 0;
		if ((rc = skip_eols(p)) != 0)
			return rc;
		while (p->tok.type == CSF_TOK_WORD) {
			if ((rc = parse_arg_line(p, (enum sec)s)) != 0 || (rc = skip_eols(p)) != 0)
				return rc;
		}
		if ((rc = end_section(p, (enum sec)s, line, col)) != 0)
			return rc;
	}
	for (int s = SEC_HEADER; s <= SEC_DATA; s++)
		if (s != SEC_CERT && !(p->seen_secs & B(s)))
			return bs_csf_fail(p->ctx, BS_ERR_SEMANTIC, p->tok.line, p->tok.col,
					   "end of file without [%s]; expected it", sections[s].name);
	return 0;
}

int bs_ahab_csf_parse(struct bs_ahab_csf **out, const char *text, size_t len,
		      const char *filename, struct bs_error *err)
{
	*out = NULL;
	if (len > BS_CSF_TEXT_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: CSF text is %zu bytes; at most %u",
				    filename ? filename : "<csf>", len, (unsigned)BS_CSF_TEXT_MAX);
	struct bs_ahab_csf *c = calloc(1, sizeof(*c));
	struct bs_csf *warn = calloc(1, sizeof(*warn));
	int rc;
	if (c == NULL || warn == NULL ||
	    (c->filename = bs_strdup(filename ? filename : "<csf>")) == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	struct csf_ctx ctx = {.filename = c->filename, .csf = warn, .err = err};
	struct parser p = {.ctx = &ctx, .out = c, .last = -1};
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	bs_csf_lex_init(&p.lx, &ctx, text != NULL ? text : "", len);
	if ((rc = parse_sections(&p)) != 0)
		goto fail;
	memcpy(c->warnings, warn->warnings, sizeof(c->warnings));
	c->nwarnings = warn->nwarnings;
	free(warn);
	*out = c;
	return 0;
fail:
	free(warn);
	bs_ahab_csf_free(c);
	return rc;
}

void bs_ahab_csf_free(struct bs_ahab_csf *csf)
{
	if (csf == NULL)
		return;
	free(csf->srk_table.name);
	if (csf->source.name != NULL) /* may carry a pin-value */
		bs_free_secret_str(csf->source.name);
	if (csf->cert.name != NULL)
		bs_free_secret_str(csf->cert.name);
	free(csf->data.name);
	free(csf->cert_sig.name);
	free(csf->filename);
	free(csf);
}

bool bs_ahab_csf_detect(const char *text, size_t len)
{
	struct csf_ctx ctx = {.filename = "", .csf = NULL, .err = NULL};
	struct csf_lexer lx;
	struct csf_token t[4];
	int sections_seen = 0;
	size_t n = 0; /* tokens on the current line, up to 4 kept */
	if (text == NULL || len > BS_CSF_TEXT_MAX)
		return false;
	bs_csf_lex_init(&lx, &ctx, text, len);
	for (;;) {
		struct csf_token tok;
		if (bs_csf_lex_next(&lx, &tok) != 0)
			return false;
		if (tok.type == CSF_TOK_EOL || tok.type == CSF_TOK_EOF) {
			if (n == 3 && t[0].type == CSF_TOK_WORD && t[0].len == 6 &&
			    strncasecmp(t[0].text, "Target", 6) == 0 && t[1].type == CSF_TOK_EQ &&
			    t[2].type == CSF_TOK_WORD && t[2].len == 4 &&
			    strncasecmp(t[2].text, "AHAB", 4) == 0)
				return sections_seen == 1;
			if (tok.type == CSF_TOK_EOF)
				return false;
			n = 0;
			continue;
		}
		if (n == 0 && tok.type == CSF_TOK_LBRACK && ++sections_seen > 1)
			return false;
		if (n < 4)
			t[n] = tok;
		n++;
	}
}
