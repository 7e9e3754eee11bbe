/* Token backend of the PKI ceremonies (formats/hab/pki.h): one struct bs_p11 (module +
 * login) for the whole run, keys generated inside the token (non-extractable) and
 * certificates stored beside them, offered to the ceremony as a struct bs_keygen. */
#ifndef BS_KEYS_P11_KEYGEN_H
#define BS_KEYS_P11_KEYGEN_H

#include "core/error.h"
#include "crypto/key.h"

struct bs_p11_keygen;

/* Open module (NULL = p11-kit proxy) and log in to token_uri with pin (copied, wiped). */
int bs_p11_keygen_open(struct bs_p11_keygen **out, const char *module, const char *token_uri,
		       const char *pin, struct bs_error *err) BS_WUR;
/* The generator interface (borrowed; valid until close). */
const struct bs_keygen *bs_p11_keygen_get(struct bs_p11_keygen *kg);
/* NULL is a no-op. */
void bs_p11_keygen_close(struct bs_p11_keygen *kg);

#endif
