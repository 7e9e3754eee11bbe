/* bootsign client: options every client subcommand shares (server, TLS, token). */
#ifndef BS_CLI_CMD_CLIENT_H
#define BS_CLI_CMD_CLIENT_H

#include <getopt.h>
#include <stdbool.h>

#include "client/http_client.h"

/* getopt_long entries of the shared options (put first in a subcommand's table). */
#define BS_CLIENT_LONGOPTS                                         \
	{"server", required_argument, NULL, 0x100},                \
	{"cacert", required_argument, NULL, 0x101},                \
	{"cert", required_argument, NULL, 0x102},                  \
	{"key", required_argument, NULL, 0x103},                   \
	{"token-file", required_argument, NULL, 0x104},            \
	{"retries", required_argument, NULL, 0x105},               \
	{"verbose", no_argument, NULL, 'v'},                       \
	{"output", required_argument, NULL, 'o'},                  \
	{"help", no_argument, NULL, 'h'}

#define BS_CLIENT_USAGE_COMMON                                                          \
	"  --server URL      the signing server (http:// or https://)\n"                 \
	"  --cacert FILE     CA certificates that sign the server's certificate\n"        \
	"  --cert FILE       client certificate (mutual TLS); --key FILE its key\n"       \
	"  --token-file F    bearer token: first line of a 0600 file (else the\n"         \
	"                    BOOTSIGN_TOKEN environment variable; never on argv)\n"       \
	"  --retries N       retries of a 503 answer with Retry-After (default 4;\n"    \
	"                    waits Retry-After, at least 1, 2, 4 ... s)\n"             \
	"  -o, --output OUT  written atomically; nothing is written on failure\n"         \
	"  -v, --verbose     print request ids and bytes sent\n"                          \
	"  -h, --help        this text\n"

struct bs_client_cli {
	struct bs_client c;
	const char *token_file;
	const char *out;
	bool verbose;
	bool bad_retries;
};

/* Take a shared option; true when `opt` was one. */
bool bs_client_cli_opt(struct bs_client_cli *cc, int opt, const char *arg);
/* Check the shared options and read the token. Prints the error; 0 or exit status 2. */
int bs_client_cli_ready(struct bs_client_cli *cc, const char *cmd);
/* Wipe and free the token. */
void bs_client_cli_done(struct bs_client_cli *cc);
/* Print an error as "bootsign client <cmd>: <message>" and return the exit status. */
int bs_client_cli_fail(const char *cmd, const struct bs_error *err);

int bs_cmd_client_imx(int argc, char **argv);
int bs_cmd_client_sign(int argc, char **argv);

#endif
