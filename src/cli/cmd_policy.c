/* bootsign policy check FILE: parse an access policy (auth/policy.h). */
#include <stdio.h>
#include <string.h>

#include "auth/policy.h"
#include "cli/commands.h"

int bs_cmd_policy(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "check") != 0) {
		fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
			"usage: bootsign policy check FILE\n\nRules: allow|deny CLIENT ENDPOINT "
			"SUBJECT KEY [rate=N/min] [max=N] [digest-only=yes|no]\n(first match "
			"wins, no match = deny; docs/security.md)\n");
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	struct bs_error err = {0};
	struct bs_policy *p = NULL;
	if (bs_policy_load(&p, argv[2], &err) != 0) {
		fprintf(stderr, "bootsign policy check: %s\n", err.msg);
		return 1;
	}
	printf("%s: %zu rule(s), OK\n", argv[2], bs_policy_rules(p));
	bs_policy_free(p);
	return 0;
}
