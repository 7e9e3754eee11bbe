/* Shared by the two halves of the key process's server side (keys/keyproc_client.c: the
 * socket, requests and their replies; keys/keyproc_rkey.c: the stub keys). Not an API. */
#ifndef BS_KEYS_KEYPROC_CLIENT_INT_H
#define BS_KEYS_KEYPROC_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "keys/keyproc_client.h"
#include "keys/keyproc_msg.h"

/* A reply: the received buffer (fields point into it). */
struct reply {
	uint8_t *buf;
	size_t len;
	struct bs_kp_msg m;
};

void bs_kpc_reply_free(struct reply *r);
/* A request of type t with the next sequence number, started in e. */
void bs_kpc_start(struct bs_kpc *c, struct bs_kp_enc *e, enum bs_kp_type t);
/* (lease, allow_token, name): the start of KEY, CERT and their bundle forms */
void bs_kpc_start_named(struct bs_kpc *c, struct bs_kp_enc *e, enum bs_kp_type t,
			uint64_t lease, bool allow_token, const char *name);
/* Send e (finished and freed here) and wait for its reply: at most ms (bs_kpc_call_within)
 * or a signing request's time (bs_kpc_call, bs_kpc_timeout). BS_KP_OK in *r, or the error. */
int bs_kpc_call_within(struct bs_kpc *c, struct bs_kp_enc *e, struct reply *r, uint64_t ms,
		       struct bs_error *err);
int bs_kpc_call(struct bs_kpc *c, struct bs_kp_enc *e, struct reply *r, struct bs_error *err);
/* KEY_FREE / LEASE_CLOSE of id, never blocking (kept while the socket is full). */
void bs_kpc_send_close(struct bs_kpc *c, enum bs_kp_type t, uint64_t id);
uint64_t bs_kpc_timeout(const struct bs_kpc *c);
/* How many times the key process died (BS_KP_DIED) so far. */
unsigned long bs_kpc_deaths(struct bs_kpc *c);

#endif
