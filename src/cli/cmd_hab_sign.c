/* `bootsign hab sign`: placeholder until the CSF parser and compiler are merged. */
#include <stdio.h>

#include "cli/cmd_hab.h"

int bs_cmd_hab_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "bootsign hab sign: not built yet (the CSF compiler is not merged)\n");
	return 1;
}
