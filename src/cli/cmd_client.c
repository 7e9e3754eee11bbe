/* bootsign client: the build-side front end of the signing server (dispatch and the
 * subcommand table; the shared options are in client_opts.c). */
#include "cli/cmd_client.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign client <imx|sign> --server URL [options] ...\n\n"
		"  imx   sign an i.MX HAB4 image: one request per CSF, each blob put at its\n"
		"        IVT's CSF pointer, optionally verified (bootsign client imx --help)\n"
		"  sign  any server endpoint with fields and files, the answer to a file\n"
		"        (bootsign client sign --help)\n");
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
