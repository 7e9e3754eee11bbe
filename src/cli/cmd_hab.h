/* `bootsign hab` subcommands (sign, verify, dump). */
#ifndef BS_CLI_CMD_HAB_H
#define BS_CLI_CMD_HAB_H

int bs_cmd_hab_sign(int argc, char **argv);
int bs_cmd_hab_verify(int argc, char **argv);
int bs_cmd_hab_dump(int argc, char **argv);

#endif
