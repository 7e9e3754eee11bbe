/* Socket-level helpers of the server (netaddr.h). */
#include "http/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void bs_http_peer_address(struct MHD_Connection *conn, char *out, size_t cap)
{
	snprintf(out, cap, "?");
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	char host[INET6_ADDRSTRLEN];
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	} else {
		return;
	}
	snprintf(out, cap, "%s:%u", host, port);
}

int bs_http_listen(int *out_fd, const struct addrinfo *ai, const char *address,
		   const char *port, struct bs_error *err)
{
	*out_fd = -1;
	const int one = 1;
	const char *why = NULL;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0))
		why = strerror(errno);
	else if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		why = errno == EADDRINUSE ? "the port is in use by another process (another "
					    "bootsign serve?)"
					  : strerror(errno);
	else if (listen(fd, SOMAXCONN) != 0)
		why = strerror(errno);
	if (why != NULL) {
		if (fd >= 0)
			close(fd);
		return bs_error_set(err, BS_ERR_IO, "cannot listen on %s port %s: %s", address,
				    port, why);
	}
	*out_fd = fd;
	return 0;
}

void bs_http_peer_host(struct MHD_Connection *conn, char *out, size_t cap)
{
	char hp[64];
	bs_http_peer_address(conn, hp, sizeof(hp));
	char *colon = strrchr(hp, ':');
	if (colon != NULL && colon != hp)
		*colon = '\0';
	snprintf(out, cap, "%s", hp);
}
