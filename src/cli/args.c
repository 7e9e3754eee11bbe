/* Command-line argument helpers shared by the subcommands. */
#include "cli/args.h"

#include <errno.h>
#include <stdlib.h>

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
