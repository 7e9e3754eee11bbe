/* Command-line argument helpers shared by the subcommands. */
#ifndef BS_CLI_ARGS_H
#define BS_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/* Parse an unsigned number (decimal, 0x hex, 0 octal as strtoull) that must be fully
 * consumed and at most max. */
bool bs_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* First step of every command that holds key material or the PIN: no core dumps, the
 * secure heap (core/secmem.h); a heap that cannot be locked is logged once. Returns 0, or
 * 1 after printing why to stderr. */
int bs_cli_protect_secrets(const char *cmd);

#endif
