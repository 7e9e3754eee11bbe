/* Internals shared by the PKI ceremony (pki.c), and the `bootsign pki` command. Not a public interface. */
#ifndef BS_FORMATS_HAB_PKI_INT_H
#define BS_FORMATS_HAB_PKI_INT_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/key.h"
#include "formats/hab/pki.h"

/* "rsa2048", ..., "p521" <-> enum (BS_ERR_INVALID for an unknown name). */
const char *bs_pki_keytype_name(enum bs_pki_keytype t);
int bs_pki_keytype_parse(enum bs_pki_keytype *out, const char *name) BS_WUR;


#endif
