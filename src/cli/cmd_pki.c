/* PLACEHOLDER: replaced by the module that implements 'bootsign pki'. */
#include <stdio.h>

#include "cli/commands.h"

int bs_cmd_pki(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "bootsign %s: not built yet\n", argv[0]);
	return 1;
}
