/* Internal to the CSF parser: argument value helpers and keyword tables (csf_value.c). */
#ifndef BS_HAB_CSF_VALUE_H
#define BS_HAB_CSF_VALUE_H

#include "formats/hab/csf_int.h"
#include "formats/hab/hab.h"

struct csf_kw {
	const char *norm; /* upper case, no separators */
	const char *name; /* for messages */
	uint8_t val;
};

struct csf_feature {
	uint8_t engine;
	const char *spelling; /* exact, case-sensitive, separators removed */
	const char *name;
	uint32_t bit;
};

/* One comma-separated element of a value. */
struct csf_item {
	const struct csf_token *t;
	size_t n;
};

/* A keyword item joined like a name: `orig` as written, `norm` upper-cased. */
struct csf_kwbuf {
	char orig[64];
	char norm[64];
	unsigned line, col;
};

#define BS_CSF_HASH_KW 5
#define BS_CSF_ENGINE_KW 21
#define BS_CSF_CFG_KW 12
extern const struct csf_kw bs_csf_hash_kw[BS_CSF_HASH_KW];
extern const struct csf_kw bs_csf_engine_kw[BS_CSF_ENGINE_KW];
extern const struct csf_kw bs_csf_cfg_kw[BS_CSF_CFG_KW];
extern const struct csf_feature bs_csf_features[]; /* ends with name == NULL */

const struct csf_kw *bs_csf_kw_find(const struct csf_kw *tab, size_t n, const char *norm);
/* cfg bits by index for a hash engine with options (SAHARA, CAAM, DCP, RTIC), or NULL. */
const uint8_t *bs_csf_cfg_table(uint8_t engine);
const char *bs_csf_engine_name(uint8_t eng);

int bs_csf_val_number(struct csf_ctx *ctx, const struct csf_arg *a, uint32_t *out) BS_WUR;
int bs_csf_val_pair(struct csf_ctx *ctx, const struct csf_arg *a, uint32_t *first,
		    uint32_t *second) BS_WUR;
/* A single quoted name; `\` becomes `/` except in pkcs11: URIs (allowed if allow_uri). */
int bs_csf_val_string(struct csf_ctx *ctx, const struct csf_arg *a, bool allow_uri,
		      char **out) BS_WUR;
int bs_csf_val_string_tok(struct csf_ctx *ctx, const struct csf_arg *a,
			  const struct csf_token *t, bool allow_uri, char **out) BS_WUR;
/* Iterate list elements: returns 1 with *item, 0 at the end, <0 on an empty element.
 * Start with *pos = 0. */
int bs_csf_val_next_item(struct csf_ctx *ctx, const struct csf_arg *a, size_t *pos,
			 struct csf_item *item) BS_WUR;
int bs_csf_val_item_keyword(struct csf_ctx *ctx, const struct csf_arg *a,
			    const struct csf_item *it, struct csf_kwbuf *kw) BS_WUR;
/* Exactly one keyword (no list). */
int bs_csf_val_keyword(struct csf_ctx *ctx, const struct csf_arg *a, struct csf_kwbuf *kw) BS_WUR;
/* Exactly one engine keyword; an unknown name fails with "unknown engine '<kw>'; expected
 * <expected>". *out points into bs_csf_engine_kw. */
int bs_csf_val_engine(struct csf_ctx *ctx, const struct csf_arg *a, const char *expected,
		      const struct csf_kw **out, struct csf_kwbuf *kw) BS_WUR;

/* [Unlock] and [Init] (csf_unlock.c): engine, features, UID rules. */
int bs_csf_validate_unlock(struct csf_ctx *ctx, struct csf_state *st, const struct csf_section *s,
			   struct bs_csf_cmd *cmd) BS_WUR;

#endif
