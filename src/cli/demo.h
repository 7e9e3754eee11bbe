/* The embedded default of `bootsign serve`: a demo key store (machine and distro "demo")
 * in the state directory, created on first start, with keys for every format the server
 * signs and ready-to-paste commands. */
#ifndef BS_CLI_DEMO_H
#define BS_CLI_DEMO_H

#include "core/config.h"
#include "core/error.h"
#include "core/limits.h"

struct demo {
	char dir[2048];     /* state directory */
	char csf[2200];
	char image[2200];
	char fuse_hex[2 * BS_SRK_DIGEST_MAX + 1];
	char fuse_words[200];
	char fuse_path[2300];
};

/* Create (or complete) the demo key store and point cfg->keyfile_root at it. */
int demo_setup(struct bs_config *cfg, struct demo *demo, struct bs_error *err);
/* The same, with the keys made in a child process that exits afterwards: under key
 * isolation the server process never has the demo's private keys in its memory (it only
 * reads the public parts: fuse hash, paths). Call before any thread starts. */
int demo_setup_apart(struct bs_config *cfg, struct demo *demo, struct bs_error *err);
/* Print the fuse hash and the sign / insert / verify commands; `self` is the path of
 * the running binary (so the verify command runs as pasted). */
void demo_banner(const struct demo *demo, const char *address, unsigned port,
		 const char *self);

#endif
