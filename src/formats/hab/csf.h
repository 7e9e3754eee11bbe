/* The CSF text language (HAB4): parsed, validated and resolved into a list of commands
 * ready for the compiler. The parser does all language work: lexing, grammar, value
 * shapes, defaults taken from [Header], engine-configuration translation to cfg bits,
 * feature validation, command ordering and index rules. The compiler only encodes,
 * resolves files and signs.
 *
 * Errors (BS_ERR_SYNTAX for the grammar, BS_ERR_SEMANTIC for values and order,
 * BS_ERR_LIMIT for bounds, BS_ERR_UNSUPPORTED for AHAB) carry a message of the form
 * "<file>:<line>:<col>: <what was wrong / what was expected>".
 *
 * In detail: BS_ERR_SYNTAX = characters, strings, comments, section/argument lines,
 * unknown section or argument names, an argument the section does not accept,
 * duplicate arguments, value shapes (number vs keyword vs "string", Version pair,
 * Blocks quadruples). BS_ERR_SEMANTIC = bad values (unknown keywords, ranges,
 * numbers over 32 bits, negative or invalid octal numbers), missing required
 * arguments, command order, key slots and indices, NOCAK rules (Auth Data index 0,
 * no Install Key: CST's nocak/n2.csf is refused), Unlock/Init features and UID.
 * BS_ERR_LIMIT = BS_CSF_* bounds and the 768-byte command region (HAB_CSF_CMDS_MAX,
 * counting the automatic Unlock CAAM RNG). On error *out is NULL.
 *
 * The language is a strict-but-friendly superset of CST 4.0.1 (see hab/csf_lex.h):
 * everything CST accepts with a sensible meaning is accepted with the same meaning;
 * CST traps give a warning (csf->warnings) or, where CST silently does something
 * else, an error. */
#ifndef BS_HAB_CSF_H
#define BS_HAB_CSF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"

enum bs_csf_kind {
	BS_CSF_HEADER,
	BS_CSF_INSTALL_SRK,
	BS_CSF_INSTALL_CSFK,
	BS_CSF_INSTALL_NOCAK,
	BS_CSF_AUTH_CSF,
	BS_CSF_INSTALL_KEY,
	BS_CSF_AUTH_DATA,
	BS_CSF_INSTALL_SECRET_KEY,
	BS_CSF_DECRYPT_DATA,
	BS_CSF_NOP,
	BS_CSF_SET_ENGINE,
	BS_CSF_UNLOCK,
	BS_CSF_INIT,
};

struct bs_csf_block {
	uint32_t addr;   /* load address at boot (goes into the command) */
	uint32_t offset; /* byte range of `file` that is signed */
	uint32_t length;
	char *file;      /* as written in the CSF (backslashes turned into '/') */
	unsigned line, col;
};

/* One section, with every default resolved. Fields not meaningful for a kind are 0/NULL. */
struct bs_csf_cmd {
	enum bs_csf_kind kind;
	unsigned line, col; /* position of the section header */

	/* HEADER */
	uint8_t version;        /* (major << 4) | minor, e.g. 0x41 */
	bool mode_hsm;
	uint32_t signature_size;
	uint8_t cert_format;    /* 0x09 (X509) */

	/* hash alg (HAB code): HEADER default hash; INSTALL_SRK alg byte; SET_ENGINE;
	 * INSTALL_KEY alg byte (0 unless CST-compat quirk). */
	uint8_t hash_alg;
	/* engine and translated cfg bits: HEADER defaults, AUTH_CSF, AUTH_DATA,
	 * DECRYPT_DATA, SET_ENGINE, UNLOCK, INIT (cfg unused for the last two). */
	uint8_t engine;
	uint8_t engine_cfg;

	/* INSTALL_SRK, INSTALL_CSFK, INSTALL_NOCAK, INSTALL_KEY: certificate file, SRK
	 * table file, or pkcs11: URI (kept verbatim). INSTALL_SECRET_KEY: the Key file. */
	char *file;
	unsigned file_line, file_col;

	/* Resolved key slots:
	 *  INSTALL_SRK: src = table index, tgt = 0 or 5
	 *  INSTALL_CSFK: src = SRK slot (0/5), tgt = CSFK slot (1/6)
	 *  INSTALL_NOCAK: src = SRK slot, tgt = 1
	 *  AUTH_CSF: tgt = key slot (1 or 6)
	 *  INSTALL_KEY: src = verification index, tgt = target index
	 *  AUTH_DATA: tgt = verification index (the key slot)
	 *  INSTALL_SECRET_KEY: src = KEK index, tgt = secret slot
	 *  DECRYPT_DATA: tgt = secret slot */
	uint8_t src;
	uint8_t tgt;

	/* AUTH_DATA, DECRYPT_DATA */
	struct bs_csf_block *blocks;
	size_t nblocks;

	/* UNLOCK, INIT */
	bool has_features;
	uint32_t features;
	uint8_t uid[8];
	size_t uid_len;

	/* INSTALL_SECRET_KEY, DECRYPT_DATA */
	uint32_t key_length;   /* bits */
	uint32_t blob_address;
	uint32_t mac_bytes;
};

struct bs_csf_warning {
	unsigned line, col;
	char msg[200];
};

struct bs_csf {
	char *filename;            /* for messages */
	struct bs_csf_cmd *cmds;   /* in file order; cmds[0] is the HEADER */
	size_t ncmds;
	/* Header engine is CAAM and no RNG Unlock/Init is present: CST appends
	 * `Unlock CAAM RNG` after the last command. */
	bool auto_unlock_caam_rng;
	bool nocak;                /* fast authentication (Install NOCAK) */
	struct bs_csf_warning warnings[BS_CSF_WARNINGS_MAX];
	size_t nwarnings;
};

struct bs_csf_parse_opts {
	/* Reject constructs CST accepts but HAB would likely refuse or that are surely
	 * mistakes (Install Key `Hash Algorithm` without binding, octal numbers, silently
	 * dropped characters). When false (default), they are accepted as CST does and a
	 * warning is recorded. */
	bool strict;
};

/* Parse `len` bytes of CSF text. `filename` is used in messages only. */
int bs_csf_parse(struct bs_csf **out, const char *text, size_t len, const char *filename,
		 const struct bs_csf_parse_opts *opts, struct bs_error *err) BS_WUR;

void bs_csf_free(struct bs_csf *csf);

/* Name of a kind as written in CSF ("Install SRK"). */
const char *bs_csf_kind_name(enum bs_csf_kind kind);

#endif
