/* Who is asking: the client identity that access control, the policy and the audit log
 * share. Filled by the HTTP layer (certificate, bearer token, trusted proxy header). */
#ifndef BS_AUTH_IDENTITY_H
#define BS_AUTH_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"

enum bs_ident_kind {
	BS_IDENT_ANONYMOUS = 0, /* no credentials (only where allowed) */
	BS_IDENT_TOKEN,         /* bearer token: name = the token's name */
	BS_IDENT_CERT,          /* client certificate: name = subject CN, fp = SHA-256 */
	BS_IDENT_PROXY,         /* trusted proxy header: name = CN it names */
};

struct bs_identity {
	enum bs_ident_kind kind;
	char name[BS_AUTH_NAME_MAX];
	char fp[65]; /* lower-case hex SHA-256 of the certificate (DER); "" otherwise */
	/* What this request asks, once its form is in: digests instead of the artifact
	 * (POST /sign/imx with `digests`), for rules with digest-only=yes|no. */
	bool digest_only;
};

/* The principal string recorded in the job, the logs and the audit log (log-safe):
 * "token:ci", "cn:builder(sha256:<first 16 hex>)", "proxy-cn:builder", "anonymous". */
void bs_identity_principal(const struct bs_identity *id, char *out, size_t cap);

#endif
