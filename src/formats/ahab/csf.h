/* The AHAB CSF (CST 4.0.1 `[Header] Target = AHAB`, AHAB.md §10), through the HAB4 CSF
 * lexer (formats/hab/csf_lex.h: same names, comments, strings and numbers). Sections, in
 * this order: [Header] (Target = AHAB, Version = 1.0, Mode), [Install SRK] (File, Source,
 * Source Index, Source Set, Revocations), optional [Install Certificate] (File,
 * Permissions, Signature), [Authenticate Data] (File, Offsets). [Install Secret Key],
 * Version 2.0, Mode = HSM and a pre-made container Signature answer BS_ERR_UNSUPPORTED
 * ("not supported yet"). Errors: "<file>:<line>:<col>: ..." with BS_ERR_SYNTAX (grammar, names, value
 * shapes), BS_ERR_SEMANTIC (values, missing or repeated arguments and sections, order). */
#ifndef BS_AHAB_CSF_H
#define BS_AHAB_CSF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "formats/hab/csf.h"

struct bs_ahab_csf_file {
	char *name; /* as written (string contents; pkcs11: URIs verbatim) */
	unsigned line, col;
};

struct bs_ahab_csf {
	char *filename;
	struct bs_ahab_csf_file srk_table;   /* Install SRK File */
	struct bs_ahab_csf_file source;      /* Install SRK Source: SRK certificate / URI */
	uint8_t source_index;                /* 0..3 */
	uint8_t source_set;                  /* BS_AHAB_SRK_SET_OEM or _NXP */
	uint8_t revocations;                 /* 0..0xF */
	bool has_cert;
	struct bs_ahab_csf_file cert;        /* Install Certificate File */
	uint8_t permissions;
	struct bs_ahab_csf_file cert_sig;    /* Install Certificate Signature: the certificate's
					      * SRK signature made beforehand (raw bytes), so
					      * signing needs no SRK private key; NULL name = none */
	struct bs_ahab_csf_file data;        /* Authenticate Data File */
	uint32_t offsets[2];                 /* container header, signature block (file) */
	unsigned offsets_line, offsets_col;
	struct bs_csf_warning warnings[BS_CSF_WARNINGS_MAX];
	size_t nwarnings;
};

/* True if the text's [Header] says Target = AHAB (lexing stops at the first problem or
 * the next section). Used to choose between the HAB4 and AHAB parsers. */
bool bs_ahab_csf_detect(const char *text, size_t len);

int bs_ahab_csf_parse(struct bs_ahab_csf **out, const char *text, size_t len,
		      const char *filename, struct bs_error *err) BS_WUR;
void bs_ahab_csf_free(struct bs_ahab_csf *csf);

#endif
