/* `bootsign hab`: dispatch to sign | verify | dump, and the dump subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_hab.h"
#include "cli/commands.h"
#include "core/text.h"
#include "formats/hab/verify.h"

bool bs_cli_token_uri_ok(const char *cmd, const char *token)
{
	if (strncmp(token, "pkcs11:", 7) == 0)
		return true;
	/* a bare label: show it back only if it is printable and unquoted */
	bool plain = strlen(token) <= 64 && strpbrk(token, "'\";%") == NULL;
	for (const char *c = token; plain && *c != '\0'; c++)
		plain = *c > 0x20 && *c < 0x7f;
	if (plain)
		fprintf(stderr, "%s: --token '%s' is not a pkcs11: URI; did you mean --token "
			"'pkcs11:token=%s'?\n", cmd, token, token);
	else
		fprintf(stderr, "%s: --token is not a pkcs11: URI (pkcs11:token=LABEL)\n", cmd);
	return false;
}


static void hab_usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign hab <command> [options]\n\n"
		"commands:\n"
		"  sign    compile and sign a CSF (drop-in for NXP cst)\n"
		"  verify  verify a signed image offline against the SRK fuse hash\n"
		"  dump    list a binary CSF or a signed image in readable form\n\n"
		"'bootsign hab <command> --help' describes each command.\n");
}

static void dump_usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign hab dump [--image] [--ivt-offset N] FILE\n\n"
		"List a binary CSF (as written by cst / bootsign hab sign) or, with --image, a\n"
		"signed image: IVT, boot data, DCD, each CSF command decoded, certificates\n"
		"(subject, issuer, serial), SRK table records and fuse hash, CMS signatures\n"
		"(digest, signer, signing time). Nothing is verified; see 'bootsign hab verify'.\n\n"
		"  --image          FILE is an image with an IVT (scanned for unless --ivt-offset)\n"
		"  --ivt-offset N   file offset of the IVT (implies --image)\n"
		"  -h, --help       this text\n");
}

int bs_cmd_hab_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"image", no_argument, NULL, 'I'},
		{"ivt-offset", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool image = false, has_off = false;
	uint64_t off = 0;
	struct bs_error perr = {0};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'I':
			image = true;
			break;
		case 'O':
			if (bs_parse_u64(&off, optarg, 0, 0, UINT64_MAX, "--ivt-offset", &perr) != 0) {
				fprintf(stderr, "bootsign hab dump: %s\n", perr.msg);
				return 2;
			}
			image = has_off = true;
			break;
		case 'h':
			dump_usage(stdout);
			return 0;
		default:
			dump_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		dump_usage(stderr);
		return 2;
	}
	struct bs_error err;
	bs_error_clear(&err);
	int rc = bs_hab_dump(stdout, argv[optind], image, has_off, off, &err);
	if (rc != 0) {
		fflush(stdout);
		fprintf(stderr, "bootsign hab dump: %s\n", err.msg);
		/* 2: the input could not be read at all; 1: it is not what it should be */
		return rc == BS_ERR_NOT_FOUND || rc == BS_ERR_IO ? 2 : 1;
	}
	return 0;
}

int bs_cmd_hab(int argc, char **argv)
{
	if (argc < 2) {
		hab_usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		hab_usage(stdout);
		return 0;
	}
	if (strcmp(sub, "sign") == 0)
		return bs_cmd_hab_sign(argc - 1, argv + 1);
	if (strcmp(sub, "verify") == 0)
		return bs_cmd_hab_verify(argc - 1, argv + 1);
	if (strcmp(sub, "dump") == 0)
		return bs_cmd_hab_dump(argc - 1, argv + 1);
	fprintf(stderr, "bootsign hab: unknown command '%s'\n\n", sub);
	hab_usage(stderr);
	return 2;
}
