/* The signing daemon: libmicrohttpd setup, routing (/sign/<signer>, /healthz), the
 * connection lifecycle (streaming multipart -> spool -> signer -> response) and clean
 * shutdown. */
#ifndef BS_HTTP_SERVER_H
#define BS_HTTP_SERVER_H

#include "core/config.h"
#include "core/error.h"
#include "http/spool.h"
#include "sign/keycache.h"

struct bs_server;

/* Start listening on cfg->address:cfg->port with a thread pool. cfg, keys and spool
 * must outlive the server. */
int bs_server_start(struct bs_server **out, const struct bs_config *cfg,
		    struct bs_keycache *keys, struct bs_spool *spool,
		    struct bs_error *err) BS_WUR;
/* The bound port (useful with port 0). */
unsigned bs_server_port(const struct bs_server *srv);
/* Stop accepting, let in-flight requests finish (up to grace_ms), stop, free. */
void bs_server_stop(struct bs_server *srv, unsigned grace_ms);

#endif
