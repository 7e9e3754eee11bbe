/* Connection accounting: who holds how many connections, and deadlines that trickling
 * bytes cannot extend.
 *
 * Every accepted connection gets an entry (its socket, its client address). A watchdog
 * thread shuts down (shutdown(2), so libmicrohttpd closes it) a connection whose request
 * head did not arrive within `header_ms` of the connection or of its previous request,
 * or whose body did not arrive within `body_ms` of its head. libmicrohttpd's own timeout
 * only measures inactivity; these deadlines are absolute. A connection accepted while its
 * client already held `per_client` others gets `over_ms` for its head: it is answered 503
 * as soon as the head is in, or closed. Refusals are logged at most once a second (with
 * the number left unlogged). */
#ifndef BS_HTTP_CONNS_H
#define BS_HTTP_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define BS_CONNS_HOST_MAX 46       /* an IPv6 address in text */
#define BS_CONNS_TICK_MS 100u      /* watchdog period */
#define BS_CONNS_OVER_MS 2000u     /* head deadline of a connection over its client's cap */
#define BS_CONNS_LOG_EVERY_MS 1000u /* refusal log lines at most this often */

struct bs_conns_opts {
	unsigned max;        /* entries (the listener's connection limit) */
	unsigned per_client; /* connections one address may hold */
	unsigned header_ms;
	unsigned body_ms;
};

struct bs_conn {
	/* request-target checks (http/server.c) */
	bool bad_target;
	const char *path;
	size_t path_raw_len;
	/* owned by conns.c */
	bool in_use;
	int fd;
	char host[BS_CONNS_HOST_MAX + 1];
	bool over;           /* accepted over its client's cap */
	int phase;           /* 0 head, 1 body, 2 no deadline */
	uint64_t deadline_ms;
};

struct bs_conns;

int bs_conns_new(struct bs_conns **out, const struct bs_conns_opts *o,
		 struct bs_error *err) BS_WUR;
/* Stops the watchdog. NULL is a no-op. */
void bs_conns_free(struct bs_conns *c);
/* A new connection (socket fd, client host): its entry, or NULL if the table is full
 * (the caller closes the connection). */
struct bs_conn *bs_conns_add(struct bs_conns *c, int fd, const char *host);
void bs_conns_remove(struct bs_conns *c, struct bs_conn *e);
/* The request head is in: the body deadline starts. */
void bs_conns_head_done(struct bs_conns *c, struct bs_conn *e);
/* The body is in (the request is being answered): no deadline. */
void bs_conns_body_done(struct bs_conns *c, struct bs_conn *e);
/* The request was answered: the next head's deadline starts. */
void bs_conns_request_done(struct bs_conns *c, struct bs_conn *e);
/* Connections of e's client (e included), and of everyone. */
unsigned bs_conns_of_client(struct bs_conns *c, const struct bs_conn *e);
unsigned bs_conns_total(struct bs_conns *c);
/* Connections closed by a deadline so far. */
unsigned long bs_conns_expired(struct bs_conns *c);
/* May a refusal be logged now? *suppressed = refusals not logged since the last line. */
bool bs_conns_log_refusal(struct bs_conns *c, unsigned long *suppressed);

#endif
