/* The CSF compiler: turn a parsed CSF into the binary CSF blob exactly as NXP CST 4.0.1
 * lays it out (command encoding, blob order, 4-byte padding, offsets), with CMS
 * signatures made through the key interface. Data blocks are hashed by streaming over
 * the named files; nothing is loaded whole. */
#ifndef BS_HAB_CSF_SIGN_H
#define BS_HAB_CSF_SIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/error.h"
#include "formats/hab/csf.h"
#include "crypto/key.h"

/* Where the files named in Blocks lists come from. */
struct bs_data_source {
	/* Open `name` for reading; set *size. The compiler closes the FILE. BS_ERR_NOT_FOUND
	 * (or BS_ERR_PATH / BS_ERR_INVALID) with a message naming the file otherwise. */
	int (*open)(void *ctx, const char *name, FILE **out, uint64_t *size,
		    struct bs_error *err);
	void *ctx;
	/* Optional (digest-only signing): the digest (algorithm md_nid) of an [Authenticate
	 * Data] command's blocks, computed elsewhere; when set, `open` is not called. */
	int (*digest)(void *ctx, const struct bs_csf_cmd *cmd, int md_nid, uint8_t *out,
		      size_t *out_len, struct bs_error *err);
};

/* A data source resolving names as CST does: relative to the working directory. */
extern const struct bs_data_source bs_data_source_cwd;

/* A data source for one artifact: only `name` (compared as given, or by its last path
 * component when `match_basename`) resolves, to `path`. */
struct bs_data_single {
	const char *name;
	const char *path;
	int match_basename;
};
int bs_data_single_open(void *ctx, const char *name, FILE **out, uint64_t *size,
			struct bs_error *err);

struct bs_hab_sign_opts {
	struct bs_key_source keys;        /* SRK table, certificates, keys */
	struct bs_data_source data;       /* Blocks files */
	time_t signing_time;              /* 0 = now; fixed for reproducible tests */
	/* Skip the chain rules (formats/hab/chain.h) that otherwise refuse a CSF the ROM
	 * will certainly reject. Only the CLI's explicit --allow-unbootable sets it. */
	bool allow_unbootable;
	/* Never load an SRK or CA private key from a file or bundle (the server sets it):
	 * a signing key whose certificate is a CA, is named SRK* or CA*, or is the
	 * [Install NOCAK] key is refused with BS_ERR_POLICY unless it is a pkcs11: URI. */
	bool refuse_root_keys;
};

/* What was used, for logs. */
struct bs_hab_sign_report {
	char keys[8][160]; /* log-safe key ids, in signing order */
	size_t nkeys;
	struct {
		char what[48];     /* "CSF commands", "blocks of line 23" */
		int md_nid;
		uint8_t d[64];
		size_t len;
	} digests[16];         /* every digest signed, in signing order */
	size_t ndigests;
	size_t cmd_len;    /* command region length */
};

int bs_hab_sign(uint8_t **out, size_t *out_len, const struct bs_csf *csf,
		const struct bs_hab_sign_opts *opts, struct bs_hab_sign_report *report,
		struct bs_error *err) BS_WUR;

#endif
