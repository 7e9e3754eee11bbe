/* The key process's message table (openssh monitor shape): the only things that cross
 * the socket between the process that parses requests and the process that holds the
 * keys and the token PIN.
 *
 * Wire format (one SOCK_SEQPACKET datagram per message, at most BS_KEYPROC_MSG_MAX):
 *   u16 type, u16 field count, u32 sequence number (big-endian),
 *   then per field: u32 length, bytes.
 * Each request type has a fixed field count and a maximum per field; anything else is
 * refused by bs_kp_decode. Numbers travel as 8-byte big-endian fields. */
#ifndef BS_KEYS_KEYPROC_MSG_H
#define BS_KEYS_KEYPROC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/poolstats.h"
#include "core/limits.h"

enum bs_kp_type {
	BS_KP_CHECK = 1,       /* () -> () */
	BS_KP_LEASE_OPEN,      /* (subject, key filter: the policy decision) -> (lease) */
	BS_KP_LEASE_CLOSE,     /* (lease) -> () */
	BS_KP_KEY,             /* (lease, allow_token, name, cert DER) -> (handle, pub, id) */
	BS_KP_CERT,            /* (lease, allow_token, name) -> (cert DER) */
	BS_KP_EXISTS,          /* (lease, name) -> (bool) */
	BS_KP_BUNDLE,          /* (lease, name) -> (first_use, serial, members NUL-separated) */
	BS_KP_BUNDLE_READ,     /* (lease, name, max) -> (bytes; never a private key) */
	BS_KP_BUNDLE_CERT,     /* (lease, allow_token, name) -> (cert DER) */
	BS_KP_BUNDLE_KEY,      /* (lease, allow_token, cert name, cert DER) -> (handle, pub, id) */
	BS_KP_SIGN,            /* (handle, md nid, scheme, salt, ecdsa_raw, digest) -> (sig) */
	BS_KP_SIGN_MSG,        /* (handle, md nid, scheme, salt, ecdsa_raw, message) -> (sig) */
	BS_KP_KEY_FREE,        /* (handle) -> () */
	BS_KP_SERVICE_KEY,     /* (setting name) -> (handle, pub, id): the server's own keys */
	BS_KP_POOL_STATS,      /* () -> (records: token[80], sessions, in use, waiting u32 BE) */
	BS_KP_REQUEST_END,
	BS_KP_OK = 100,        /* reply: fields as above */
	BS_KP_ERR = 101,       /* reply: (code, message) */
	BS_KP_DIED = 102,      /* from the supervisor: the key process died (seq 0) */
};

struct bs_kp_field {
	const uint8_t *p; /* borrowed from the decoded buffer */
	size_t len;
};

struct bs_kp_msg {
	uint16_t type;
	uint32_t seq;
	size_t nf;
	struct bs_kp_field f[BS_KEYPROC_FIELDS_MAX];
};

/* Parse and check one message against the table (field count and each field's
 * maximum). BS_ERR_FORMAT for anything malformed. */
int bs_kp_decode(struct bs_kp_msg *out, const uint8_t *buf, size_t len,
		 struct bs_error *err) BS_WUR;

/* Field accessors: BS_ERR_FORMAT when the field is missing or of the wrong shape. */
int bs_kp_get_u64(uint64_t *out, const struct bs_kp_msg *m, size_t i,
		  struct bs_error *err) BS_WUR;
/* A text field (no NUL inside, < cap bytes) copied NUL-terminated into out. */
int bs_kp_get_str(char *out, size_t cap, const struct bs_kp_msg *m, size_t i,
		  struct bs_error *err) BS_WUR;

/* A message being built (malloc'd buffer, grows up to BS_KEYPROC_MSG_MAX). */
struct bs_kp_enc {
	uint8_t *buf;
	size_t len, cap;
	uint16_t nf;
	bool failed; /* out of memory or over a limit: bs_kp_enc_end reports it */
};

void bs_kp_enc_start(struct bs_kp_enc *e, uint16_t type, uint32_t seq);
void bs_kp_put(struct bs_kp_enc *e, const void *p, size_t len);
void bs_kp_put_str(struct bs_kp_enc *e, const char *s);
void bs_kp_put_u64(struct bs_kp_enc *e, uint64_t v);
/* Finish (writes the field count); BS_ERR_LIMIT/NOMEM if a put failed. */
int bs_kp_enc_end(struct bs_kp_enc *e, struct bs_error *err) BS_WUR;
/* Frees (and wipes) the buffer. */
void bs_kp_enc_free(struct bs_kp_enc *e);

/* One token pool in a POOL_STATS reply: the label (NUL-padded), then sessions, in use and
 * waiting as big-endian u32. */
#define BS_KP_POOL_RECORD (BS_POOL_NAME_MAX + 12)
void bs_kp_pool_record(uint8_t *rec, const struct bs_pool_stats *s);
/* false when the record is malformed (no NUL in the label, counts over the pool size). */
bool bs_kp_pool_parse(struct bs_pool_stats *s, const uint8_t *rec);

#endif
