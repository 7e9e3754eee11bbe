/* bootsign: command table and dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"serve", bs_cmd_serve, "run the signing server (digsigserver-compatible REST API)"},
	{"sign", bs_cmd_sign, "run a server signer offline (imx, ...): bootsign sign --help"},
	{"hab", bs_cmd_hab, "i.MX HAB4: sign a CSF (cst-compatible), verify or dump images"},
	{"ahab", bs_cmd_ahab, "i.MX AHAB: verify or dump containers (sign: hab sign)"},
	{"srk", bs_cmd_srk, "build HAB4 / AHAB (-a) SRK tables and fuse files (srktool)"},
	{"hsm", bs_cmd_hsm, "PKCS#11 token provisioning: import keys, list objects"},
	{"pki", bs_cmd_pki, "create a complete HAB4 or AHAB PKI (files or inside a token)"},
	{"token", bs_cmd_token, "bearer tokens for clients: add (printed once), revoke"},
	{"policy", bs_cmd_policy, "check an access policy file"},
	{"audit", bs_cmd_audit, "verify or show the server's audit log"},
	{"client", bs_cmd_client, "sign through a server: i.MX images end to end, any endpoint"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: bootsign <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'bootsign <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("bootsign %s\n", BS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bootsign: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
