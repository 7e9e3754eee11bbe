/* Token backend of the PKI ceremony: one bs_p11 (module + login) for the whole run; keys
 * are generated inside the token (non-extractable) and certificates stored beside them. */
#include "keys/pki_int.h"

#include <stdlib.h>

#include "core/util.h"
#include "keys/pkcs11.h"

struct bs_pki_token {
	struct bs_p11 *p11;
	char *uri;
};

int bs_pki_token_open(struct bs_pki_token **out, const char *module, const char *token_uri,
		      const char *pin, struct bs_error *err)
{
	*out = NULL;
	struct bs_pki_token *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->uri = bs_strdup(token_uri)) == NULL) {
		free(t);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	/* one session is enough: the ceremony is sequential */
	struct bs_p11_opts o = { .module = module, .pin = pin, .pool_size = 1 };
	int rc = bs_p11_open(&t->p11, &o, err);
	if (rc != 0) {
		bs_pki_token_close(t);
		return bs_error_prefix(err, "pki: opening the token");
	}
	*out = t;
	return 0;
}

int bs_pki_token_generate(struct bs_pki_token *t, const char *keytype, const char *label,
			  const uint8_t *id, size_t id_len, struct bs_key **out,
			  struct bs_error *err)
{
	int rc = bs_p11_generate(t->p11, t->uri, keytype, label, id, id_len, out, err);
	if (rc != 0)
		return bs_error_prefix(err, "pki: generating %s in the token", label);
	return 0;
}

int bs_pki_token_write_cert(struct bs_pki_token *t, X509 *cert, const char *label,
			    const uint8_t *id, size_t id_len, struct bs_error *err)
{
	int rc = bs_p11_write_cert(t->p11, t->uri, cert, label, id, id_len, err);
	if (rc != 0)
		return bs_error_prefix(err, "pki: storing the %s certificate in the token", label);
	return 0;
}

void bs_pki_token_close(struct bs_pki_token *t)
{
	if (t == NULL)
		return;
	bs_p11_close(t->p11);
	free(t->uri);
	free(t);
}
