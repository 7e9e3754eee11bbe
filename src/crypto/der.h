/* A small DER writer for structures OpenSSL cannot build for us (CMS signed by a bs_key,
 * format-specific blobs): values are encoded bottom-up into bounded bs_bufs, definite
 * lengths only, SET OF sorted as X.690 11.6 requires. */
#ifndef BS_CRYPTO_DER_H
#define BS_CRYPTO_DER_H

#include <openssl/asn1.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"

#define BS_DER_INTEGER 0x02
#define BS_DER_OCTET 0x04
#define BS_DER_NULL 0x05
#define BS_DER_OID 0x06
#define BS_DER_UTCTIME 0x17
#define BS_DER_GENTIME 0x18
#define BS_DER_SEQ 0x30
#define BS_DER_SET 0x31
#define BS_DER_CTX0 0xA0 /* [n] constructed */
#define BS_DER_CTX1 0xA1
#define BS_DER_CTX2 0xA2
#define BS_DER_CTXP0 0x80 /* [0] primitive (IMPLICIT over a primitive type) */

/* Append tag + definite length + content. BS_ERR_LIMIT beyond BS_DER_LEN_MAX or the
 * buffer's maximum. */
int bs_der_tlv(struct bs_buf *out, uint8_t tag, const uint8_t *content, size_t len) BS_WUR;
/* Wrap all of `in` in one TLV appended to `out`; `in` is emptied (also on failure). */
int bs_der_wrap(struct bs_buf *out, uint8_t tag, struct bs_buf *in) BS_WUR;
/* OBJECT IDENTIFIER of a NID / an object. BS_ERR_UNSUPPORTED if it has no encoding. */
int bs_der_oid(struct bs_buf *out, int nid) BS_WUR;
int bs_der_obj(struct bs_buf *out, const ASN1_OBJECT *obj) BS_WUR;
/* AlgorithmIdentifier { oid [, NULL] }. */
int bs_der_algid(struct bs_buf *out, int nid, bool null_params) BS_WUR;
/* Non-negative INTEGER. */
int bs_der_uint(struct bs_buf *out, uint64_t v) BS_WUR;
/* UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280/5652 rule). */
int bs_der_time(struct bs_buf *out, int64_t t) BS_WUR;
/* Sort n encoded elements of a SET OF (X.690 11.6) in place and append them to out. */
int bs_der_append_set_of(struct bs_buf *out, struct bs_buf *items, size_t n) BS_WUR;
/* Whether der[0..len) is exactly one TLV with the given tag (definite length, minimal
 * length octets). Does not look inside. */
bool bs_der_is_one(const uint8_t *der, size_t len, uint8_t tag);

#endif
