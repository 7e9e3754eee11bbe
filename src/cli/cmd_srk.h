/* bootsign srk: the AHAB mode (cmd_srk_ahab.c), entered from cmd_srk.c on -a. */
#ifndef BS_CLI_CMD_SRK_H
#define BS_CLI_CMD_SRK_H

#include <stddef.h>
#include <stdint.h>

/* argv[0] = "srk"; the whole srktool-style command line. */
int bs_cmd_srk_ahab(int argc, char **argv);

/* Print SRKH[i] words and, for a known AHAB SoC name, U-Boot fuse prog lines. */
void bs_srk_ahab_print_fuse(const uint8_t *fuse, size_t fuse_len, const char *soc_name);

#endif
