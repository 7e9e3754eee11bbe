/* Binary CSF command walker shared by the verifier and the dump (internal to src/hab).
 * Strict structural decoding of the command region: header, then each command with
 * its length checked against the fixed encodings (HAB4 notes 2.3, 3.4 step 3). No
 * semantics (order, slots) here. Messages: "CSF: header: ..." and
 * "CSF: command N at 0xOFF: ...". */
#ifndef BS_HAB_CSF_WALK_H
#define BS_HAB_CSF_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"

struct bs_hab_cmd {
	size_t index;    /* 1-based, as printed */
	size_t off;      /* offset in the CSF */
	uint8_t tag;
	uint16_t len;
	uint8_t par;     /* header parameter: flags, engine, item, ... */
	const uint8_t *p;/* the command bytes (len) */

	/* Install Key (BE) */
	uint8_t pcl, alg, src, tgt;
	uint32_t key_off;           /* blob offset (or absolute address with ABS) */
	const uint8_t *cert_hash;   /* HSH: digest bytes */
	size_t cert_hash_len;

	/* Authenticate Data (CA): flags = par, key, pcl, eng, cfg, sig_off, blocks */
	uint8_t key, eng, cfg;
	uint32_t sig_off;
	size_t nblocks;
	const uint8_t *blocks;      /* nblocks * (BE32 addr, BE32 len) */

	/* Set (B1): par = item (3 engine, 1 MID); alg, eng, cfg as above */

	/* Unlock (B2) / Init (B4): eng = par */
	bool has_features;
	uint32_t features;
	const uint8_t *uid;
	size_t uid_len;

	/* Write Data (CC) / Check Data (CF) */
	uint32_t addr, mask, count;
	bool has_count;
};

/* Check the CSF header in `p` (avail bytes known): tag D4, version 4x, 4 <= len <= max
 * (0 = HAB_CSF_CMDS_MAX), len <= avail. */
int bs_hab_csf_header(const uint8_t *p, size_t avail, size_t max, uint16_t *cmd_len,
		      uint8_t *version, struct bs_error *err) BS_WUR;

/* Decode the command at *pos (start at 4) of the command region csf[0..cmd_len); advance
 * *pos. `index` is stored in cmd->index for messages. */
int bs_hab_csf_next(struct bs_hab_cmd *cmd, const uint8_t *csf, size_t cmd_len, size_t *pos,
		    size_t index, struct bs_error *err) BS_WUR;

/* Block i of an Authenticate Data command. */
void bs_hab_cmd_block(const struct bs_hab_cmd *cmd, size_t i, uint32_t *addr, uint32_t *len);

/* "Install Key", "Authenticate Data", ... */
const char *bs_hab_cmd_name(uint8_t tag);
const char *bs_hab_pcl_name(uint8_t pcl);
/* Digest length of a HAB hash alg (0 if unknown). */
size_t bs_hab_alg_len(uint8_t alg);

#endif
