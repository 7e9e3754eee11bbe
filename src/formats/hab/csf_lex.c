/* CSF lexer: see csf_lex.h for the rules. */
#include "formats/hab/csf_lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bs_csf_fail(struct csf_ctx *ctx, int code, unsigned line, unsigned col, const char *fmt,
		...)
{
	if (ctx->err == NULL)
		return code;
	char what[BS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return bs_error_set(ctx->err, code, "%s:%u:%u: %s", ctx->filename, line, col, what);
}

void bs_csf_warn(struct csf_ctx *ctx, unsigned line, unsigned col, const char *fmt, ...)
{
	struct bs_csf *csf = ctx->csf;
	if (csf == NULL || csf->nwarnings >= BS_CSF_WARNINGS_MAX)
		return;
	struct bs_csf_warning *w = &csf->warnings[csf->nwarnings++];
	w->line = line;
	w->col = col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
}

void bs_csf_lex_init(struct csf_lexer *lx, struct csf_ctx *ctx, const char *text, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->ctx = ctx;
	lx->p = text;
	lx->end = text + len;
	lx->line_start = text;
	lx->line = 1;
}

static unsigned col_of(const struct csf_lexer *lx, const char *p)
{
	return (unsigned)(p - lx->line_start) + 1;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int xval(int c)
{
	if (is_digit(c))
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static void newline(struct csf_lexer *lx, const char *after)
{
	lx->line++;
	lx->line_start = after;
}

/* Describe an unexpected byte at p for an error message. */
static int bad_char(struct csf_lexer *lx, const char *p)
{
	unsigned char c = (unsigned char)*p;
	unsigned col = col_of(lx, p);
	if (c == 0xE2 && lx->end - p >= 3 && (unsigned char)p[1] == 0x80 &&
	    (unsigned char)p[2] >= 0x98 && (unsigned char)p[2] <= 0x9D)
		return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col,
				   "unexpected typographic quote (bytes 0xE2 0x80 0x%02X); "
				   "expected a plain ASCII '\"'",
				   (unsigned char)p[2]);
	if (c == '|')
		return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col,
				   "unexpected character '|'; expected a single engine "
				   "configuration flag or a ',' list");
	if (c > 0x20 && c < 0x7F)
		return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col,
				   "unexpected character '%c'; expected a name, number, "
				   "\"string\", '[', ']', '=', ',' or '#' comment",
				   c);
	return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col,
			   "unexpected byte 0x%02X; expected printable ASCII outside strings", c);
}

static int lex_string(struct csf_lexer *lx, struct csf_token *tok)
{
	const char *start = lx->p; /* the opening quote */
	const char *q = start + 1;
	while (q < lx->end && *q != '"' && *q != '\n')
		q++;
	if (q >= lx->end || *q != '"')
		return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col_of(lx, start),
				   "unterminated string; expected a closing '\"' on the same line");
	size_t len = (size_t)(q - start - 1);
	for (const char *s = start + 1; s < q; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7F)
			return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col_of(lx, s),
					   "control byte 0x%02X in string; expected printable "
					   "characters",
					   c);
	}
	if (len > BS_CSF_STRING_MAX)
		return bs_csf_fail(lx->ctx, BS_ERR_LIMIT, lx->line, col_of(lx, start),
				   "string of %zu bytes; expected at most %u", len,
				   (unsigned)BS_CSF_STRING_MAX);
	if (lx->last_str_line == lx->line)
		bs_csf_warn(lx->ctx, lx->line, col_of(lx, start),
			    "second quoted string on one line: CST 4.0.1 would merge both into "
			    "one name; put each on its own line (end lines with ', \\')");
	lx->last_str_line = lx->line;
	tok->type = CSF_TOK_STR;
	tok->text = start + 1;
	tok->len = len;
	lx->p = q + 1;
	return 0;
}

static int lex_number(struct csf_lexer *lx, struct csf_token *tok)
{
	const char *start = lx->p, *q = start;
	unsigned col = col_of(lx, start);
	uint64_t v = 0, dec = 0;
	bool big = false, octal = false;
	if (q[0] == '0' && q + 1 < lx->end && (q[1] == 'x' || q[1] == 'X')) {
		q += 2;
		if (q >= lx->end || !is_xdigit((unsigned char)*q))
			return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col,
					   "'0x' without hex digits; expected e.g. 0x1000");
		while (q < lx->end && is_xdigit((unsigned char)*q)) {
			v = v * 16 + (uint64_t)xval((unsigned char)*q++);
			if (v > UINT32_MAX)
				big = true, v = UINT32_MAX + 1ull;
		}
	} else {
		octal = q[0] == '0';
		while (q < lx->end && is_digit((unsigned char)*q)) {
			int d = *q++ - '0';
			if (octal && d > 7)
				return bs_csf_fail(lx->ctx, BS_ERR_SEMANTIC, lx->line, col,
						   "'%.*s' has a leading zero (octal, as CST reads "
						   "it) but digit %d; expected a decimal number "
						   "without leading zeros or 0x hex",
						   (int)(q - start < 24 ? q - start : 24), start,
						   d);
			v = v * (octal ? 8 : 10) + (uint64_t)d;
			dec = dec * 10 + (uint64_t)d;
			if (v > UINT32_MAX || dec > UINT32_MAX)
				big = true, v = UINT32_MAX + 1ull, dec = v;
		}
	}
	if (q < lx->end && (is_alpha((unsigned char)*q) || *q == '"'))
		return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col_of(lx, q),
				   "unexpected '%c' right after a number; expected a space, ',' "
				   "or end of line",
				   *q);
	int shown = (int)(q - start < 24 ? q - start : 24);
	if (big)
		return bs_csf_fail(lx->ctx, BS_ERR_SEMANTIC, lx->line, col,
				   "number %.*s%s does not fit in 32 bits; expected at most "
				   "0xFFFFFFFF",
				   shown, start, q - start > 24 ? "..." : "");
	if (octal && v != dec) {
		if (lx->ctx->strict)
			return bs_csf_fail(lx->ctx, BS_ERR_SEMANTIC, lx->line, col,
					   "'%.*s' has a leading zero and would be read as "
					   "octal (%llu); expected a decimal number without "
					   "leading zeros or 0x hex",
					   shown, start, (unsigned long long)v);
		bs_csf_warn(lx->ctx, lx->line, col,
			    "'%.*s' has a leading zero: read as octal %llu, as CST does; write "
			    "%llu or 0x%llx to make it clear",
			    shown, start, (unsigned long long)v, (unsigned long long)v,
			    (unsigned long long)v);
	}
	tok->type = CSF_TOK_NUM;
	tok->text = start;
	tok->len = (size_t)(q - start);
	tok->num = (uint32_t)v;
	lx->p = q;
	return 0;
}

/* Skip a C comment starting at lx->p ("/ *"). */
static int skip_c_comment(struct csf_lexer *lx)
{
	unsigned line = lx->line, col = col_of(lx, lx->p);
	const char *q = lx->p + 2;
	while (q + 1 < lx->end && !(q[0] == '*' && q[1] == '/')) {
		if (*q == '\n')
			newline(lx, q + 1);
		q++;
	}
	if (q + 1 >= lx->end)
		return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, line, col,
				   "unterminated '/*' comment; expected '*/'");
	bs_csf_warn(lx->ctx, line, col,
		    "C-style comment: accepted here, but CST 4.0.1 reads the words inside as "
		    "part of the value; use '#'");
	lx->p = q + 2;
	return 0;
}

/* '\' continuation: ignore the rest of the line and its newline. */
static int skip_continuation(struct csf_lexer *lx)
{
	const char *bs = lx->p;
	const char *q = bs + 1;
	const char *junk = NULL;
	while (q < lx->end && *q != '\n') {
		if (*q == '#')
			break;
		if (junk == NULL && *q != ' ' && *q != '\t' && *q != '\r')
			junk = q;
		q++;
	}
	while (q < lx->end && *q != '\n')
		q++;
	if (junk != NULL) {
		if (lx->ctx->strict)
			return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, col_of(lx, junk),
					   "text after '\\' would be ignored; expected '\\' "
					   "at the end of the line");
		bs_csf_warn(lx->ctx, lx->line, col_of(lx, junk),
			    "text after '\\' is ignored (line continuation), as CST does");
	}
	if (q < lx->end) {
		newline(lx, q + 1);
		q++;
	}
	lx->p = q;
	return 0;
}

int bs_csf_lex_next(struct csf_lexer *lx, struct csf_token *tok)
{
	bool minus = false;
	unsigned minus_col = 0;
	memset(tok, 0, sizeof(*tok));
	for (;;) {
		if (lx->p >= lx->end) {
			tok->type = CSF_TOK_EOF;
			tok->line = lx->line;
			tok->col = col_of(lx, lx->p);
			return 0;
		}
		char c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '_') {
			lx->p++;
			continue;
		}
		if (c == '-') {
			minus = true;
			minus_col = col_of(lx, lx->p);
			lx->p++;
			continue;
		}
		if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			int rc = skip_c_comment(lx);
			if (rc != 0)
				return rc;
			continue;
		}
		if (c == '\\') {
			int rc = skip_continuation(lx);
			if (rc != 0)
				return rc;
			minus = false; /* a sign does not carry over to the next line */
			continue;
		}
		break;
	}
	char c = *lx->p;
	if (minus && !is_alpha((unsigned char)c) && !is_digit((unsigned char)c)) {
		/* a '-' that neither joins words nor signs a number: CST drops it */
		if (lx->ctx->strict)
			return bs_csf_fail(lx->ctx, BS_ERR_SYNTAX, lx->line, minus_col,
					   "stray '-'; expected '-' only between words of a name");
		bs_csf_warn(lx->ctx, lx->line, minus_col, "stray '-' ignored, as CST does");
	}
	tok->line = lx->line;
	tok->col = col_of(lx, lx->p);
	tok->text = lx->p;
	tok->len = 1;
	switch (c) {
	case '\n':
		tok->type = CSF_TOK_EOL;
		lx->p++;
		newline(lx, lx->p);
		return 0;
	case '[': tok->type = CSF_TOK_LBRACK; lx->p++; return 0;
	case ']': tok->type = CSF_TOK_RBRACK; lx->p++; return 0;
	case '=': tok->type = CSF_TOK_EQ; lx->p++; return 0;
	case ',': tok->type = CSF_TOK_COMMA; lx->p++; return 0;
	case '.': tok->type = CSF_TOK_DOT; lx->p++; return 0;
	case '"': return lex_string(lx, tok);
	default: break;
	}
	if (is_digit((unsigned char)c)) {
		int rc = lex_number(lx, tok);
		tok->minus = minus;
		tok->minus_col = minus_col;
		return rc;
	}
	if (is_alpha((unsigned char)c)) {
		const char *q = lx->p;
		while (q < lx->end && (is_alpha((unsigned char)*q) || is_digit((unsigned char)*q)))
			q++;
		tok->type = CSF_TOK_WORD;
		tok->len = (size_t)(q - lx->p);
		lx->p = q;
		return 0;
	}
	return bad_char(lx, lx->p);
}

const char *bs_csf_tok_desc(const struct csf_token *tok, char *buf, size_t cap)
{
	switch (tok->type) {
	case CSF_TOK_EOF: return "end of file";
	case CSF_TOK_EOL: return "end of line";
	case CSF_TOK_LBRACK: return "'['";
	case CSF_TOK_RBRACK: return "']'";
	case CSF_TOK_EQ: return "'='";
	case CSF_TOK_COMMA: return "','";
	case CSF_TOK_DOT: return "'.'";
	case CSF_TOK_WORD:
		snprintf(buf, cap, "'%.*s'", (int)(tok->len > 40 ? 40 : tok->len), tok->text);
		return buf;
	case CSF_TOK_NUM:
		snprintf(buf, cap, "number %.*s", (int)(tok->len > 40 ? 40 : tok->len), tok->text);
		return buf;
	case CSF_TOK_STR:
		snprintf(buf, cap, "string \"%.*s\"", (int)(tok->len > 40 ? 40 : tok->len),
			 tok->text);
		return buf;
	}
	return "token";
}
