/* backend / key-uri fields shared by signers (see keychoice.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sign/keychoice.h"

const char *const bs_keychoice_backends[] = {"ssl", "pkcs11", NULL};

int bs_keychoice(const char **out, bool *token, struct bs_job *job, const char *file,
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
	*out = tok ? uri : file;
	*token = tok;
	return 0;
}

int bs_keychoice_cert_uri(char *out, size_t cap, const char *uri, struct bs_error *err)
{
	if (strncasecmp(uri, "pkcs11:", 7) != 0)
		return bs_error_set(err, BS_ERR_INVALID, "key-uri: not a pkcs11: URI");
	const char *q = strchr(uri, '?');
	size_t path_end = q ? (size_t)(q - uri) : strlen(uri);
	int w = snprintf(out, cap, "pkcs11:");
	if (w < 0 || (size_t)w >= cap)
		return bs_error_set(err, BS_ERR_LIMIT, "key-uri: too long");
	size_t o = (size_t)w, nseg = 0;
	bool typed = false;
	for (size_t i = 7; i < path_end;) {
		size_t j = i;
		while (j < path_end && uri[j] != ';')
			j++;
		const char *seg = uri + i;
		size_t len = j - i;
		bool is_type = len >= 5 && strncmp(seg, "type=", 5) == 0;
		i = j + 1;
		if (len == 0 || (is_type && typed))
			continue; /* a second type= is left out: the cert is what we ask for */
		w = snprintf(out + o, cap - o, "%s%.*s", nseg ? ";" : "", is_type ? 9 : (int)len,
			     is_type ? "type=cert" : seg);
		if (w < 0 || (size_t)w >= cap - o)
			return bs_error_set(err, BS_ERR_LIMIT, "key-uri: too long");
		o += (size_t)w;
		nseg++;
		typed = typed || is_type;
	}
	w = snprintf(out + o, cap - o, "%s%s", typed ? "" : nseg ? ";type=cert" : "type=cert",
		     q ? q : "");
	if (w < 0 || (size_t)w >= cap - o)
		return bs_error_set(err, BS_ERR_LIMIT, "key-uri: too long");
	return 0;
}

