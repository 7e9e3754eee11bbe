/* `bootsign hab` subcommands (sign, verify, dump). */
#ifndef BS_CLI_CMD_HAB_H
#define BS_CLI_CMD_HAB_H

#include <stdbool.h>

int bs_cmd_hab_sign(int argc, char **argv);
int bs_cmd_hab_verify(int argc, char **argv);
int bs_cmd_hab_dump(int argc, char **argv);

/* A --token value must be a pkcs11: URI: false (after printing "<cmd>: --token 'X' is not
 * a pkcs11: URI; did you mean --token 'pkcs11:token=X'?") otherwise. */
bool bs_cli_token_uri_ok(const char *cmd, const char *token);

#endif
