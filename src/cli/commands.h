/* Subcommand entry points: one file per subcommand, each `int bs_cmd_<name>(argc, argv)`
 * with argv[0] = the subcommand name. Return the process exit code. */
#ifndef BS_CLI_COMMANDS_H
#define BS_CLI_COMMANDS_H

int bs_cmd_serve(int argc, char **argv);
int bs_cmd_sign(int argc, char **argv);
int bs_cmd_hab(int argc, char **argv);
int bs_cmd_srk(int argc, char **argv);
int bs_cmd_hsm(int argc, char **argv);
int bs_cmd_pki(int argc, char **argv);
int bs_cmd_token(int argc, char **argv);
int bs_cmd_policy(int argc, char **argv);
int bs_cmd_audit(int argc, char **argv);
int bs_cmd_client(int argc, char **argv);
int bs_cmd_ahab(int argc, char **argv);

#endif
