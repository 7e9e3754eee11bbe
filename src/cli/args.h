/* Command-line argument helpers shared by the subcommands. */
#ifndef BS_CLI_ARGS_H
#define BS_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/* Parse an unsigned number (decimal, 0x hex, 0 octal as strtoull) that must be fully
 * consumed and at most max. */
bool bs_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
