/* One signer interface for every format the server signs.
 *
 * A signer is a table entry: the endpoint name (`/sign/<name>`), the multipart fields it
 * takes (declared, so the generic HTTP code enforces presence, size limits, name syntax
 * and enumerations before the signer runs) and one function that turns the validated
 * form into a response body. Adding a format = one file `src/sign/<format>.c` defining
 * `const struct bs_signer bs_signer_<format>` + one line in the table in signers.c.
 *
 * Signers return 0 or a negative BS_ERR_* with a one-line message; the HTTP layer maps
 * the code to a status through the one table in src/http/status.c. */
#ifndef BS_SIGN_SIGNER_H
#define BS_SIGN_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define BS_FORM_FIELDS_MAX 16
#define BS_FIELD_TEXT_MAX 256          /* default bound of a small text field */
#define BS_NAME_MAX 64                 /* machine / distro names */
#define BS_SIGN_KEYS_LOG_MAX 512

enum bs_field_store {
	BS_FIELD_MEM,   /* kept in memory, NUL-terminated (max bytes, default 256) */
	BS_FIELD_SPOOL, /* streamed to a 0600 spool file (small ones may stay in bounded
			 * memory, see http/spool.h), sha256 computed on the fly */
};

enum bs_field_check {
	BS_CHECK_NONE,
	BS_CHECK_NAME,  /* [A-Za-z0-9._-]{1,64}, no ".." (machine, distro: used in paths) */
	BS_CHECK_TOKEN, /* printable ASCII without spaces, 1..max */
	BS_CHECK_TEXT,  /* UTF-8 text without NUL bytes (a CSF) */
};

struct bs_field_spec {
	const char *name;
	enum bs_field_store store;
	bool required;
	bool file_upload;            /* must be sent as a file part (carries a filename) */
	size_t max;                  /* bytes; 0 = BS_FIELD_TEXT_MAX (MEM) or request max */
	enum bs_field_check check;
	const char *const *choices;  /* NULL-terminated allowed values, or NULL */
	const char *default_value;   /* used when absent (MEM fields), or NULL */
};

/* A received field. */
struct bs_form_field {
	const struct bs_field_spec *spec;
	bool present;
	char *value;        /* MEM: contents (NUL-terminated), or the default */
	size_t len;
	char *filename;     /* multipart filename, if any */
	char *content_type; /* part content type, if any */
	char *path;         /* SPOOL: the spool file, or NULL when kept in memory */
	const uint8_t *data; /* SPOOL kept in memory: the contents (size bytes) */
	uint64_t size;      /* SPOOL: bytes received */
	char sha256[65];    /* SPOOL: hex digest of the contents */
};

struct bs_form {
	struct bs_form_field f[BS_FORM_FIELDS_MAX];
	size_t n;
};

/* The field by name, or NULL when the signer declared no such field. */
const struct bs_form_field *bs_form_get(const struct bs_form *form, const char *name);
/* The MEM value (or default), NULL when absent without default. */
const char *bs_form_value(const struct bs_form *form, const char *name);

struct bs_p11;
struct bs_keycache;
struct bs_config;

/* What the server hands to a signer. */
struct bs_sign_env {
	const struct bs_config *cfg;
	struct bs_keycache *keys;   /* parsed key bundles per machine */
	/* The shared PKCS#11 context (opened lazily); BS_ERR_CONFIG when no PIN is set. */
	int (*get_p11)(void *ctx, struct bs_p11 **out, struct bs_error *err);
	void *p11_ctx;
	const char *reqid;
};

/* What a signer produces. Exactly one of data / path is set. */
struct bs_sign_result {
	uint8_t *data;               /* malloc'd body */
	size_t len;
	char *path;                  /* or a file to send (then removed) */
	const char *content_type;    /* default application/octet-stream */
	char filename[64];           /* Content-Disposition filename */
	char keys[BS_SIGN_KEYS_LOG_MAX]; /* log-safe key ids used, comma-separated */
	char subject[80];            /* machine (or distro), logged as machine= */
};

struct bs_signer {
	const char *name;                    /* endpoint: /sign/<name> */
	const struct bs_field_spec *fields;
	size_t nfields;
	int (*sign)(const struct bs_sign_env *env, const struct bs_form *form,
		    struct bs_sign_result *res, struct bs_error *err);
};

/* Look up by endpoint name ("imx"); NULL if unknown. */
const struct bs_signer *bs_signer_find(const char *name);
/* The table, for listings. */
const struct bs_signer *const *bs_signers(size_t *n);

/* Validate a machine/distro name. */
int bs_sign_check_name(const char *field, const char *value, struct bs_error *err) BS_WUR;

void bs_sign_result_free(struct bs_sign_result *res);

#endif
