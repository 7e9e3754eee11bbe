/* Token backend of the PKI ceremony. PLACEHOLDER until the PKCS#11 layer is merged: token
 * mode reports BS_ERR_UNSUPPORTED. */
#include "keys/pki_int.h"

struct bs_pki_token {
	int unused;
};

int bs_pki_token_open(struct bs_pki_token **out, const char *module, const char *token_uri,
		      const char *pin, struct bs_error *err)
{
	(void)module;
	(void)token_uri;
	(void)pin;
	*out = NULL;
	return bs_error_set(err, BS_ERR_UNSUPPORTED, "pki: token mode is not built yet");
}

int bs_pki_token_generate(struct bs_pki_token *t, const char *keytype, const char *label,
			  const uint8_t *id, size_t id_len, struct bs_key **out,
			  struct bs_error *err)
{
	*out = NULL;
	return bs_error_set(err, BS_ERR_UNSUPPORTED, "pki: token mode is not built yet");
}

int bs_pki_token_write_cert(struct bs_pki_token *t, X509 *cert, const char *label,
			    const uint8_t *id, size_t id_len, struct bs_error *err)
{
	return bs_error_set(err, BS_ERR_UNSUPPORTED, "pki: token mode is not built yet");
}

void bs_pki_token_close(struct bs_pki_token *t)
{
	(void)t;
}
