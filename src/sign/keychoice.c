/* backend / key-uri fields shared by signers (see keychoice.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sign/keychoice.h"

const char *const bs_keychoice_backends[] = {"ssl", "pkcs11", NULL};

/* uri with its path attribute type= replaced by `type` ("cert"), or dropped (NULL);
 * other attributes and the query (pin-value=...) kept in order. */
static int retype(char *out, size_t cap, const char *uri, const char *type,
		  struct bs_error *err)
{
	if (strncasecmp(uri, "pkcs11:", 7) != 0)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: not a pkcs11: URI");
	const char *q = strchr(uri, '?');
	size_t path_end = q ? (size_t)(q - uri) : strlen(uri);
	int w = snprintf(out, cap, "pkcs11:");
	size_t o = w > 0 ? (size_t)w : cap, nseg = 0;
	for (size_t i = 7; o < cap && i <= path_end;) {
		size_t j = i;
		while (j < path_end && uri[j] != ';')
			j++;
		const char *seg = uri + i;
		size_t len = j - i;
		i = j + 1;
		if (len == 0 || (len >= 5 && strncmp(seg, "type=", 5) == 0))
			continue;
		w = snprintf(out + o, cap - o, "%s%.*s", nseg++ ? ";" : "", (int)len, seg);
		o = w >= 0 ? o + (size_t)w : cap;
	}
	if (o < cap && type != NULL) {
		w = snprintf(out + o, cap - o, "%stype=%s", nseg ? ";" : "", type);
		o = w >= 0 ? o + (size_t)w : cap;
	}
	if (o < cap) {
		w = snprintf(out + o, cap - o, "%s", q ? q : "");
		o = w >= 0 ? o + (size_t)w : cap;
	}
	if (o >= cap)
		return bs_error_set(err, BS_ERR_LIMIT, "key-uri: too long");
	return 0;
}

int bs_keychoice(char *out, size_t cap, bool *token, struct bs_job *job, const char *file,
		 struct bs_error *err)
{
	const char *uri = bs_job_value(job, "key-uri");
	const char *backend = bs_job_value(job, "backend");
	bool tok = backend != NULL && strcmp(backend, "pkcs11") == 0;
	if (tok && uri == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: needed with backend=pkcs11");
	if (!tok && uri != NULL)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: only with backend=pkcs11");
	bs_job_allow_token(job, tok);
	*token = tok;
	if (tok)
		return retype(out, cap, uri, NULL, err);
	int w = snprintf(out, cap, "%s", file);
	if (w < 0 || (size_t)w >= cap)
		return bs_error_set(err, BS_ERR_LIMIT, "key file name too long");
	return 0;
}

int bs_keychoice_cert_uri(char *out, size_t cap, const char *key_uri, struct bs_error *err)
{
	return retype(out, cap, key_uri, "cert", err);
}
