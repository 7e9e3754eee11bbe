/* bootsign srk: the AHAB mode (cmd_srk_ahab.c), entered from cmd_srk.c on -a. */
#ifndef BS_CLI_CMD_SRK_H
#define BS_CLI_CMD_SRK_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* argv[0] = "srk"; the whole srktool-style command line. */
int bs_cmd_srk_ahab(int argc, char **argv);

/* Print SRKH[i] words and, for a known AHAB SoC name, U-Boot fuse prog lines. */
void bs_srk_ahab_print_fuse(const uint8_t *fuse, size_t fuse_len, const char *soc_name);

/* srk_common.c: "bootsign srk: <message>" on stderr; returns code. */
int bs_srk_fail(int code, const char *fmt, ...) BS_PRINTF(2, 3);
/* -f (NULL = keep *format) and -t/-e naming different files; 0, or 2 after a message. */
int bs_srk_check_outputs(int *format, const char *format_arg, const char *table,
			 const char *efuses);
/* A PEM or DER certificate file; NULL after a message naming the file, with *code the
 * exit code (2 unreadable, 1 not a certificate). */
X509 *bs_srk_load_cert(const char *path, int *code);
/* Write the table, then the fuse file (atomically each; the table is removed again when
 * the fuse file fails). 0, or 1 after a message. */
int bs_srk_write_outputs(const char *table_path, const uint8_t *table, size_t table_len,
			 const char *fuse_path, const uint8_t *fuse_file, size_t fuse_file_len);
/* SRKH[i] = 0x... lines (word i = little-endian bytes 4i..4i+3). */
void bs_srk_print_words(const uint8_t *fuse, size_t fuse_len);
/* Read a fuse file: raw digest (format 1) of one of the n lengths digest_lens, or the
 * same digest in format 0 (each byte as 00 00 00 b). fuse holds up to 64 bytes. */
int bs_srk_read_fuse(uint8_t *fuse, size_t *fuse_len, int *format, const char *path,
		     const size_t *digest_lens, size_t n, struct bs_error *err);

#endif
