/* The options every `bootsign client` subcommand shares (server, TLS, token, output). */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_client.h"
#include "core/text.h"
#include "core/util.h"

bool bs_client_cli_opt(struct bs_client_cli *cc, int opt, const char *arg)
{
	switch (opt) {
	case 0x100: cc->c.server = arg; return true;
	case 0x101: cc->c.cacert = arg; return true;
	case 0x102: cc->c.cert = arg; return true;
	case 0x103: cc->c.key = arg; return true;
	case 0x104: cc->token_file = arg; return true;
	case 0x105: {
		unsigned n = 0;
		cc->bad_retries = bs_parse_uint(&n, arg, 10, 0, BS_CLIENT_RETRIES_MAX, "--retries",
						NULL) != 0;
		cc->c.retries = (int)n;
		return true;
	}
	case 'v': cc->verbose = true; return true;
	case 'o': cc->out = arg; return true;
	default: return false;
	}
}

int bs_client_cli_fail(const char *cmd, const struct bs_error *err)
{
	fprintf(stderr, "bootsign client %s: %s\n", cmd, err->msg[0] ? err->msg : "failed");
	return 1;
}

int bs_client_cli_ready(struct bs_client_cli *cc, const char *cmd)
{
	struct bs_error err = {0};
	if (cc->bad_retries) {
		fprintf(stderr, "bootsign client %s: --retries takes 0..%d\n", cmd,
			BS_CLIENT_RETRIES_MAX);
		return 2;
	}
	if (cc->c.server == NULL || cc->out == NULL) {
		fprintf(stderr, "bootsign client %s: --server and -o are required (--help)\n", cmd);
		return 2;
	}
	if ((cc->c.cert == NULL) != (cc->c.key == NULL)) {
		fprintf(stderr, "bootsign client %s: --cert and --key go together\n", cmd);
		return 2;
	}
	cc->c.progress = true;
	if (bs_client_token(&cc->c.token, cc->token_file, &err) != 0) {
		bs_client_cli_fail(cmd, &err);
		return 2;
	}
	return 0;
}

void bs_client_cli_done(struct bs_client_cli *cc)
{
	bs_free_secret_str(cc->c.token);
	cc->c.token = NULL;
}
