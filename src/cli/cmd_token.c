/* bootsign token: bearer tokens for clients that cannot do mTLS (auth/tokens.h). */
#include <stdio.h>
#include <string.h>

#include "auth/tokens.h"
#include "cli/commands.h"
#include "core/util.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: bootsign token add --tokens FILE NAME\n"
		     "       bootsign token revoke --tokens FILE NAME\n"
		     "\n"
		     "add prints a new token once on stdout and stores only its salted hash in\n"
		     "FILE (created 0600). revoke deletes it. Send the server SIGHUP afterwards.\n");
}

int bs_cmd_token(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 5 || strcmp(argv[2], "--tokens") != 0 ||
	    (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "revoke") != 0)) {
		usage(stderr);
		return 2;
	}
	struct bs_error err = {0};
	if (strcmp(argv[1], "revoke") == 0) {
		if (bs_tokens_revoke(argv[3], argv[4], &err) != 0) {
			fprintf(stderr, "bootsign token revoke: %s\n", err.msg);
			return 1;
		}
		fprintf(stderr, "token '%s' revoked; send the server SIGHUP\n", argv[4]);
		return 0;
	}
	char *token = NULL;
	if (bs_tokens_add(&token, argv[3], argv[4], &err) != 0) {
		fprintf(stderr, "bootsign token add: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", token);
	fflush(stdout);
	bs_free_secret_str(token);
	fprintf(stderr, "token '%s' added to %s (shown once; the file keeps only its hash). "
		"Clients send: -H 'Authorization: Bearer <token>'\n", argv[4], argv[3]);
	return 0;
}
