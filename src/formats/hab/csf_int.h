/* Internal to the CSF parser: one parsed section (names resolved, values still as
 * tokens) handed from the grammar (csf_parse.c) to the semantic pass (csf_validate.c). */
#ifndef BS_HAB_CSF_INT_H
#define BS_HAB_CSF_INT_H

#include "formats/hab/csf_lex.h"

enum csf_arg_id {
	CSF_ARG_TARGET,
	CSF_ARG_VERSION,
	CSF_ARG_MODE,
	CSF_ARG_HASH,
	CSF_ARG_ENGINE,
	CSF_ARG_ENGCFG,
	CSF_ARG_CERTFMT,
	CSF_ARG_SIGFMT,
	CSF_ARG_SIGSIZE,
	CSF_ARG_FILE,
	CSF_ARG_SRCIDX, /* alias of VFYIDX where both are accepted */
	CSF_ARG_VFYIDX,
	CSF_ARG_TGTIDX,
	CSF_ARG_SRCSET,
	CSF_ARG_BLOCKS,
	CSF_ARG_FEATURES,
	CSF_ARG_UID,
	CSF_ARG_KEY,
	CSF_ARG_KEYLEN,
	CSF_ARG_BLOBADDR,
	CSF_ARG_MACBYTES,
	CSF_ARG_USED_COUNT, /* ids below are names CST knows but HAB4 cannot use */
	CSF_ARG_COUNT = CSF_ARG_USED_COUNT + 15,
};

struct csf_arg {
	int id;
	unsigned line, col;
	const struct csf_token *v; /* value tokens (no EOL) */
	size_t nv;
};

struct csf_section {
	enum bs_csf_kind kind;
	unsigned line, col;
	/* arguments by id after duplicate checks (VFYIDX also holds SRCIDX); NULL = absent */
	const struct csf_arg *arg[CSF_ARG_COUNT];
};

/* Name tables (csf_names.c). */
#define CSF_ARG_BIT(id) (1ull << (id))

struct csf_section_def {
	const char *norm; /* upper case, no separators */
	const char *name; /* as documented */
	enum bs_csf_kind kind;
	uint64_t args;    /* accepted argument ids (CSF_ARG_BIT) */
};

/* Name of an argument as written in documentation ("Verification Index"). */
const char *bs_csf_arg_name(int id);
/* Section or argument id by normalised name; NULL or -1 if unknown. */
const struct csf_section_def *bs_csf_section_find(const char *norm);
int bs_csf_arg_find(const char *norm);
/* "[Header], [Install SRK], ..." and "Engine, File, ..." (the arguments in mask), cut
 * at cap. */
void bs_csf_list_sections(char *buf, size_t cap);
void bs_csf_list_args(uint64_t mask, char *buf, size_t cap);

/* Semantic pass state (csf_validate.c). */
struct csf_state {
	int stage; /* 0 before Header, 1 Header, 2 SRK, 3 CSFK/NOCAK, 4 after Auth CSF */
	unsigned header_line;
	uint8_t version, hash, engine, cfg_index;
	uint8_t srk_slot, csfk_slot;
	bool nocak;
	const char *key_file[8]; /* public key slots: installed certificate (borrowed) */
	bool key_installed[8];
	int secret[6]; /* 0 empty, 1 installed, 2 used by Decrypt Data */
	bool any_install_key, any_secret_key, rng_seen;
	bool auto_unlock; /* set by bs_csf_validate_end */
	size_t cmd_bytes; /* encoded command region so far */
};

/* Validate one section and fill cmd (zeroed by the caller). */
int bs_csf_validate_section(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			    struct bs_csf_cmd *cmd) BS_WUR;
/* End-of-file checks (missing sections, auto Unlock, region size). */
int bs_csf_validate_end(struct csf_ctx *ctx, struct csf_state *st, unsigned line, unsigned col)
	BS_WUR;

#endif
