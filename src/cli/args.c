/* Command-line argument helpers shared by the subcommands. */
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/secmem.h"

int bs_cli_protect_secrets(const char *cmd)
{
	struct bs_error err = {0};
	if (bs_secmem_protect_process(&err) != 0) {
		fprintf(stderr, "bootsign %s: %s\n", cmd, err.msg);
		return 1;
	}
	if (!bs_secmem_locked())
		bs_log(BS_LOG_WARN, NULL, "secure memory: the secure heap is not locked in memory "
		       "(RLIMIT_MEMLOCK?): secrets may reach swap; core dumps are off");
	return 0;
}

bool bs_cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}
