/* Internal to the CSF parser (csf_lex.c, csf_parse.c, csf_validate.c): the lexer, its
 * tokens, and the context that carries the file name, the strict flag, warnings and
 * the error report.
 *
 * Lexical rules (a strict-but-friendly superset of CST 4.0.1):
 *  - words [A-Za-z][A-Za-z0-9]*; spaces, tabs, '_' and '-' separate words (so that
 *    `SRK_REVOKE` is `SRK REVOKE`); '\r' is ignored;
 *  - numbers: 0x/0X hex or decimal; a leading zero reads as octal like CST (warning,
 *    strict: error); more than 32 bits is an error;
 *  - quoted strings end at the next '"' on the same line; '\' inside becomes '/'
 *    (except in pkcs11: URIs, kept verbatim);
 *  - '#' comments run to the end of the line (also after text); C comments are
 *    accepted with a warning; '\' joins the next line (the rest of the line is ignored);
 *  - any other character is an error naming its position. */
#ifndef BS_HAB_CSF_LEX_H
#define BS_HAB_CSF_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/hab/csf.h"

enum csf_tok {
	CSF_TOK_EOF,
	CSF_TOK_EOL,
	CSF_TOK_LBRACK,
	CSF_TOK_RBRACK,
	CSF_TOK_EQ,
	CSF_TOK_COMMA,
	CSF_TOK_DOT,
	CSF_TOK_WORD,
	CSF_TOK_NUM,
	CSF_TOK_STR,
};

struct csf_token {
	enum csf_tok type;
	unsigned line, col;
	const char *text; /* WORD, NUM: the source text; STR: the bytes between the quotes */
	size_t len;
	uint32_t num;     /* NUM: value (already checked to fit in 32 bits) */
	bool minus;       /* NUM: a '-' stood right before it */
	unsigned minus_col;
};

struct csf_ctx {
	const char *filename;
	bool strict;
	struct bs_csf *csf; /* receives warnings */
	struct bs_error *err;
};

struct csf_lexer {
	struct csf_ctx *ctx;
	const char *p, *end;
	const char *line_start;
	unsigned line;
	unsigned last_str_line; /* physical line of the last string (merge warning) */
};

/* Record an error "<file>:<line>:<col>: <msg>" and return code. */
int bs_csf_fail(struct csf_ctx *ctx, int code, unsigned line, unsigned col, const char *fmt,
		...) BS_PRINTF(5, 6);
/* Record a warning (dropped silently beyond BS_CSF_WARNINGS_MAX). */
void bs_csf_warn(struct csf_ctx *ctx, unsigned line, unsigned col, const char *fmt, ...)
	BS_PRINTF(4, 5);

void bs_csf_lex_init(struct csf_lexer *lx, struct csf_ctx *ctx, const char *text, size_t len);
/* Next token. Errors: BS_ERR_SYNTAX (characters, strings, comments), BS_ERR_SEMANTIC
 * (numbers), BS_ERR_LIMIT (string length). */
int bs_csf_lex_next(struct csf_lexer *lx, struct csf_token *tok) BS_WUR;

/* Human description of a token for messages ("'='", "end of line", "number 12"). */
const char *bs_csf_tok_desc(const struct csf_token *tok, char *buf, size_t cap);

#endif
