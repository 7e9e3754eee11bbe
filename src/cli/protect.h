/* Secrets out of core dumps for the CLI commands that hold key material or the PIN. */
#ifndef BS_CLI_PROTECT_H
#define BS_CLI_PROTECT_H

/* First step of every command that holds key material or the PIN: no core dumps, the
 * secure heap (core/secmem.h); a heap that cannot be locked is logged once. Returns 0, or
 * 1 after printing why to stderr. */
int bs_cli_protect_secrets(const char *cmd);

#endif
