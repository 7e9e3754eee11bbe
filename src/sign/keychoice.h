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

#define BS_KEY_URI_MAX 1024                  /* bytes of a key-uri field */
#define BS_KEYCHOICE_NAME_MAX (BS_KEY_URI_MAX + 16) /* a key name or rewritten URI */

extern const char *const bs_keychoice_backends[]; /* "ssl", "pkcs11", NULL */

#define BS_KEYCHOICE_FIELDS                                                               \
	{.name = "backend", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,                \
	 .choices = bs_keychoice_backends, .default_value = "ssl"},                        \
	{.name = "key-uri", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,                \
	 .max = BS_KEY_URI_MAX}

/* out (cap bytes) = the key name for bs_job_key: with backend=pkcs11 the key-uri without
 * its type= attribute (the token key is found by object/id; a type=private there would
 * stop the certificate lookup beside it), tokens then allowed for the job; otherwise
 * `file` (the key-store name). *token says which. BS_ERR_INVALID naming key-uri when
 * backend=pkcs11 comes without one, a key-uri without backend=pkcs11 or one that is not
 * a pkcs11: URI; BS_ERR_LIMIT when it does not fit. */
int bs_keychoice(char *out, size_t cap, bool *token, struct bs_job *job, const char *file,
		 struct bs_error *err) BS_WUR;

/* The certificate object beside a token key: the same URI with type=cert (replacing the
 * key URI's type= or added to its path; query attributes kept). BS_ERR_INVALID for a
 * non-pkcs11: URI, BS_ERR_LIMIT when it does not fit cap bytes. */
int bs_keychoice_cert_uri(char *out, size_t cap, const char *key_uri,
			  struct bs_error *err) BS_WUR;

#endif
