/* The key fields digsigserver's signers share: backend (ssl | pkcs11, default ssl) and
 * key-uri (a pkcs11: URI, only with backend=pkcs11). A signer declares them with
 * BS_KEYCHOICE_FIELDS and asks bs_keychoice for the key name to give bs_job_key. */
#ifndef BS_SIGN_KEYCHOICE_H
#define BS_SIGN_KEYCHOICE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "sign/job.h"
#include "sign/signer.h"

#define BS_KEY_URI_MAX 1024 /* bytes of a key-uri field */

extern const char *const bs_keychoice_backends[]; /* "ssl", "pkcs11", NULL */

#define BS_KEYCHOICE_FIELDS                                                               \
	{.name = "backend", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,                \
	 .choices = bs_keychoice_backends, .default_value = "ssl"},                        \
	{.name = "key-uri", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,                \
	 .max = BS_KEY_URI_MAX}

/* *out = the key-uri (backend=pkcs11; tokens are then allowed for the job) or `file` (the
 * key-store name); *token says which. BS_ERR_INVALID naming key-uri when backend=pkcs11
 * comes without one, or a key-uri without backend=pkcs11. */
int bs_keychoice(const char **out, bool *token, struct bs_job *job, const char *file,
		 struct bs_error *err) BS_WUR;

/* The certificate object beside a token key: the same URI with type=cert (replacing the
 * key URI's type= or added to its path; query attributes kept). BS_ERR_INVALID for a
 * non-pkcs11: URI, BS_ERR_LIMIT when it does not fit cap bytes. */
int bs_keychoice_cert_uri(char *out, size_t cap, const char *key_uri,
			  struct bs_error *err) BS_WUR;

#endif
