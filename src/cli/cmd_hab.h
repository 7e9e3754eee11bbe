/* `bootsign hab` subcommands (sign, verify, dump) and their shared helpers. */
#ifndef BS_CLI_CMD_HAB_H
#define BS_CLI_CMD_HAB_H

#include <stdbool.h>
#include <stdint.h>

int bs_cmd_hab_sign(int argc, char **argv);
int bs_cmd_hab_verify(int argc, char **argv);
int bs_cmd_hab_dump(int argc, char **argv);

/* Parse an unsigned number (decimal, 0x hex, 0 octal as strtoull) that must be fully
 * consumed and at most max. */
bool bs_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* A --token value must be a pkcs11: URI: false (after printing "<cmd>: --token 'X' is not
 * a pkcs11: URI; did you mean --token 'pkcs11:token=X'?") otherwise. */
bool bs_cli_token_uri_ok(const char *cmd, const char *token);

#endif
