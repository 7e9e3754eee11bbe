/* Shared between the audit writer and verifier. */
#ifndef BS_AUTH_AUDIT_INT_H
#define BS_AUTH_AUDIT_INT_H

#include <openssl/evp.h>
#include <stddef.h>

/* Lower-case hex SHA-256 of data. */
void bs_audit_hash(char out[65], const void *data, size_t len);
/* First 16 hex digits of the SHA-256 of the public key's DER. 0 or -1. */
int bs_audit_keyid(char out[17], EVP_PKEY *pub);

/* (bs_audit_field is declared in audit.h) */

#endif
