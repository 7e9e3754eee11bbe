/* bootsign client: the build-side front end of the signing server (dispatch and the
 * options every client subcommand shares). */
#include "cli/cmd_client.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign client <imx|sign> --server URL [options] ...\n\n"
		"  imx   sign an i.MX HAB4 image: one request per CSF, each blob put at its\n"
		"        IVT's CSF pointer, optionally verified (bootsign client imx --help)\n"
		"  sign  any server endpoint with fields and files, the answer to a file\n"
		"        (bootsign client sign --help)\n");
}

bool bs_client_cli_opt(struct bs_client_cli *cc, int opt, const char *arg)
{
	switch (opt) {
	case 0x100: cc->c.server = arg; return true;
	case 0x101: cc->c.cacert = arg; return true;
	case 0x102: cc->c.cert = arg; return true;
	case 0x103: cc->c.key = arg; return true;
	case 0x104: cc->token_file = arg; return true;
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

int bs_cmd_client(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "imx") == 0)
		return bs_cmd_client_imx(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return bs_cmd_client_sign(argc - 1, argv + 1);
	fprintf(stderr, "bootsign client: unknown subcommand '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
