/* One signer interface for every format the server signs.
 *
 * A signer is a table entry: the endpoint name (`/sign/<name>`), the multipart fields it
 * takes (declared, so the generic code enforces presence, size limits, name syntax and
 * enumerations before the signer runs) and one function that runs a signing job
 * (sign/job.h): fields and inputs in, keys by name, one output out. Adding a format =
 * one file `src/sign/<format>.c` defining `const struct bs_signer bs_signer_<format>`
 * (byte-level code in src/formats/<format>/) + one line in the table in signers.c. The
 * HTTP routes, GET /signers and `bootsign sign <format>` come from the table.
 *
 * Signers return 0 or a negative BS_ERR_* with a one-line message; the HTTP layer maps
 * the code to a status through the one table in src/http/status.c. */
#ifndef BS_SIGN_SIGNER_H
#define BS_SIGN_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"


enum bs_field_store {
	BS_FIELD_MEM,   /* kept in memory, NUL-terminated (max bytes, default 256) */
	BS_FIELD_SPOOL, /* streamed to a 0600 spool file (small ones may stay in bounded
			 * memory, see http/spool.h); hashed only by the signer, once */
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
	const char *help;            /* one line for GET /signers (optional) */
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
};

struct bs_form {
	struct bs_form_field f[BS_FORM_FIELDS_MAX];
	size_t n;
};

/* The field by name, or NULL when the signer declared no such field. */
const struct bs_form_field *bs_form_get(const struct bs_form *form, const char *name);
/* The MEM value (or default), NULL when absent without default. */
const char *bs_form_value(const struct bs_form *form, const char *name);

struct bs_job;

struct bs_signer {
	const char *name;                    /* endpoint: /sign/<name> ("tegra/uefi") */
	const char *summary;                 /* one line for GET /signers and --help */
	const char *subject_field;           /* "machine" or "distro": whose keys */
	const struct bs_field_spec *fields;
	size_t nfields;
	/* Sign: read fields and inputs from the job, get keys from it, write one output.
	 * 0 or a negative BS_ERR_* with a message naming the field/member/key. */
	int (*sign)(struct bs_job *job, struct bs_error *err);
};

/* Look up by endpoint name ("imx"); NULL if unknown. */
const struct bs_signer *bs_signer_find(const char *name);
/* The table, for listings. */
const struct bs_signer *const *bs_signers(size_t *n);

/* Validate a machine/distro name. */
int bs_sign_check_name(const char *field, const char *value, struct bs_error *err) BS_WUR;

#endif
