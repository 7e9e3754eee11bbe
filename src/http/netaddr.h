/* Socket-level helpers of the server: the peer of a connection, the listening socket. */
#ifndef BS_HTTP_NETADDR_H
#define BS_HTTP_NETADDR_H

#include <microhttpd.h>
#include <netdb.h>
#include <stddef.h>

#include "core/error.h"

/* "host:port" of the client (IPv4 or IPv6), "?" when unknown. */
void bs_http_peer_address(struct MHD_Connection *conn, char *out, size_t cap);
/* The peer's address without the port (the key of the per-client connection count). */
void bs_http_peer_host(struct MHD_Connection *conn, char *out, size_t cap);
/* A listening socket (SO_REUSEADDR; IPv6 only for an IPv6 address, as libmicrohttpd
 * does) bound to ai, which getaddrinfo made from address:port (named in messages).
 * BS_ERR_IO "cannot listen on A port P: the port is in use by another process ...". */
int bs_http_listen(int *out_fd, const struct addrinfo *ai, const char *address,
		   const char *port, struct bs_error *err) BS_WUR;

#endif
