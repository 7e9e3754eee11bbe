/* Socket-level facts for the server: the peer of a connection, and why a listen failed. */
#ifndef BS_HTTP_NETADDR_H
#define BS_HTTP_NETADDR_H

#include <microhttpd.h>
#include <stddef.h>

/* "host:port" of the client (IPv4 or IPv6), "?" when unknown. */
void bs_http_peer_address(struct MHD_Connection *conn, char *out, size_t cap);
/* Why listening on address:port failed, found by binding it ourselves (libmicrohttpd
 * does not report errno): "the port is in use by another process ...", or strerror.
 * Returns a static string. */
const char *bs_http_bind_problem(const char *address, const char *port);

#endif
