/* `bootsign ahab` (verify, dump) and the AHAB branch of `bootsign hab sign`. */
#ifndef BS_CLI_CMD_AHAB_H
#define BS_CLI_CMD_AHAB_H

#include <stddef.h>

#include "core/error.h"
#include "crypto/key.h"
#include "formats/ahab/ahab.h"

/* A reader over an open file descriptor (pread). */
struct bs_cli_fd_reader {
	int fd;
	const char *path;
};
/* Open path read-only and fill r (r->ctx = fr). Close with bs_cli_fd_close. */
int bs_cli_fd_open(struct bs_ahab_reader *r, struct bs_cli_fd_reader *fr, const char *path,
		   struct bs_error *err) BS_WUR;
void bs_cli_fd_close(struct bs_cli_fd_reader *fr);

struct bs_ahab_csf;
/* Sign a parsed AHAB CSF and write the signed image to `output` atomically: the
 * Authenticate Data file (relative to the working directory, as cst) with the new
 * container in place. Returns 0 or a negative code with err set. */
int bs_cli_ahab_sign(const struct bs_ahab_csf *csf, const char *output,
		     const struct bs_key_source *keys, struct bs_error *err) BS_WUR;

/* Write the SRK's signature over the CSF's [Install Certificate] to `output` (raw bytes,
 * atomically, 0644): the file a signing server's CSF names as the certificate Signature. */
int bs_cli_ahab_cert_signature(const struct bs_ahab_csf *csf, const char *output,
			       const struct bs_key_source *keys, struct bs_error *err) BS_WUR;

#endif
