/* Internals shared by the PKI ceremony (pki.c), its token backend (pki_token.c) and the
 * `bootsign pki` command. Not a public interface. */
#ifndef BS_KEYS_PKI_INT_H
#define BS_KEYS_PKI_INT_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "keys/key.h"
#include "keys/pki.h"

/* "rsa2048", ..., "p521" <-> enum (BS_ERR_INVALID for an unknown name). */
const char *bs_pki_keytype_name(enum bs_pki_keytype t);
int bs_pki_keytype_parse(enum bs_pki_keytype *out, const char *name) BS_WUR;

/* Token mode: one open module + login for the whole ceremony. */
struct bs_pki_token;
int bs_pki_token_open(struct bs_pki_token **out, const char *module, const char *token_uri,
		      const char *pin, struct bs_error *err) BS_WUR;
int bs_pki_token_generate(struct bs_pki_token *t, const char *keytype, const char *label,
			  const uint8_t *id, size_t id_len, struct bs_key **out,
			  struct bs_error *err) BS_WUR;
int bs_pki_token_write_cert(struct bs_pki_token *t, X509 *cert, const char *label,
			    const uint8_t *id, size_t id_len, struct bs_error *err) BS_WUR;
void bs_pki_token_close(struct bs_pki_token *t);

#endif
