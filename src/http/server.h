/* The signing daemon: libmicrohttpd setup, routing from the signer table, the
 * connection lifecycle (streaming multipart -> spool -> signer -> response) and clean
 * shutdown. */
#ifndef BS_HTTP_SERVER_H
#define BS_HTTP_SERVER_H

#include "core/config.h"
#include "core/error.h"
#include "http/spool.h"

struct bs_server;

struct bs_keyring;

/* Called by bs_server_start once the access-control files are read and the port is
 * bound, before the first server thread starts (bootsign serve drops root there).
 * Non-zero (with err set) stops the start. */
struct bs_server_hook {
	int (*before_threads)(void *arg, struct bs_error *err);
	void *arg;
};

/* Start listening on cfg->address:cfg->port. cfg, keyring and spool must outlive the
 * server; hook may be NULL. Routes come from the signer table (sign/signer.h):
 * POST /sign/<name>, GET /signers (JSON list with fields), GET /healthz. */
int bs_server_start(struct bs_server **out, const struct bs_config *cfg,
		    struct bs_keyring *keyring, struct bs_spool *spool,
		    const struct bs_server_hook *hook, struct bs_error *err) BS_WUR;
/* The bound port (useful with port 0). */
unsigned bs_server_port(const struct bs_server *srv);
/* SIGHUP: re-read the policy and tokens files (a broken file keeps the old one). */
void bs_server_reload(struct bs_server *srv);
/* Stop accepting, let in-flight requests finish (up to grace_ms), stop, free. */
void bs_server_stop(struct bs_server *srv, unsigned grace_ms);

#endif
