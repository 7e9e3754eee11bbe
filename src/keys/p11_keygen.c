#include "keys/p11_keygen.h"

#include <stdlib.h>

#include "core/util.h"
#include "keys/pkcs11.h"

struct bs_p11_keygen {
	struct bs_keygen gen;
	struct bs_p11 *p11;
	char *uri;
};

static int kg_generate(void *ctx, const char *keytype, const char *label, const uint8_t *id,
		       size_t id_len, struct bs_key **out, struct bs_error *err)
{
	struct bs_p11_keygen *t = ctx;
	int rc = bs_p11_generate(t->p11, t->uri, keytype, label, id, id_len, out, err);
	if (rc != 0)
		return bs_error_prefix(err, "pki: generating %s in the token", label);
	return 0;
}

static int kg_write_cert(void *ctx, X509 *cert, const char *label, const uint8_t *id,
			 size_t id_len, struct bs_error *err)
{
	struct bs_p11_keygen *t = ctx;
	int rc = bs_p11_write_cert(t->p11, t->uri, cert, label, id, id_len, err);
	if (rc != 0)
		return bs_error_prefix(err, "pki: storing the %s certificate in the token", label);
	return 0;
}

int bs_p11_keygen_open(struct bs_p11_keygen **out, const char *module, const char *token_uri,
		       const char *pin, struct bs_error *err)
{
	*out = NULL;
	if (token_uri == NULL || pin == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "pki: token mode needs a token URI and "
				    "a user PIN");
	struct bs_p11_keygen *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->uri = bs_strdup(token_uri)) == NULL) {
		free(t);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	/* one session is enough: the ceremony is sequential */
	struct bs_p11_opts o = {.module = module, .pin = pin, .pool_size = 1};
	int rc = bs_p11_open(&t->p11, &o, err);
	if (rc != 0) {
		bs_p11_keygen_close(t);
		return bs_error_prefix(err, "pki: opening the token");
	}
	t->gen = (struct bs_keygen){.generate = kg_generate, .write_cert = kg_write_cert,
				    .ctx = t};
	*out = t;
	return 0;
}

const struct bs_keygen *bs_p11_keygen_get(struct bs_p11_keygen *kg)
{
	return &kg->gen;
}

void bs_p11_keygen_close(struct bs_p11_keygen *kg)
{
	if (kg == NULL)
		return;
	bs_p11_close(kg->p11);
	free(kg->uri);
	free(kg);
}
