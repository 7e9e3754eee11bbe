/* Binary CSF command walker: structural decoding of the command region. */
#include "formats/hab/csf_walk.h"

#include <string.h>

#include "core/buf.h"
#include "formats/hab/hab.h"

size_t bs_hab_alg_len(uint8_t alg)
{
	switch (alg) {
	case HAB_ALG_SHA1: return 20;
	case HAB_ALG_SHA256: return 32;
	case HAB_ALG_SHA384: return 48;
	case HAB_ALG_SHA512: return 64;
	default: return 0;
	}
}

const char *bs_hab_cmd_name(uint8_t tag)
{
	switch (tag) {
	case HAB_CMD_SET: return "Set";
	case HAB_CMD_INS_KEY: return "Install Key";
	case HAB_CMD_AUT_DAT: return "Authenticate Data";
	case HAB_CMD_WRT_DAT: return "Write Data";
	case HAB_CMD_CHK_DAT: return "Check Data";
	case HAB_CMD_NOP: return "NOP";
	case HAB_CMD_INIT: return "Init";
	case HAB_CMD_UNLK: return "Unlock";
	default: return "unknown";
	}
}

const char *bs_hab_pcl_name(uint8_t pcl)
{
	switch (pcl) {
	case HAB_PCL_SRK: return "SRK";
	case HAB_PCL_X509: return "X509";
	case HAB_PCL_CMS: return "CMS";
	case HAB_PCL_BLOB: return "BLOB";
	case HAB_PCL_AEAD: return "AEAD";
	default: return "unknown";
	}
}

int bs_hab_csf_header(const uint8_t *p, size_t avail, size_t max, uint16_t *cmd_len,
		      uint8_t *version, struct bs_error *err)
{
	if (max == 0)
		max = HAB_CSF_CMDS_MAX;
	if (avail < 4)
		return bs_error_set(err, BS_ERR_FORMAT, "CSF: header: only %zu bytes", avail);
	uint16_t len = bs_get_be16(p + 1);
	if (p[0] != HAB_TAG_CSF || (p[3] & 0xF0) != 0x40)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "CSF: header: %02x %02x %02x %02x (want D4 <len> 4x)", p[0],
				    p[1], p[2], p[3]);
	if (len < 4 || len > max)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "CSF: header: command region length %u not in [4, %zu]", len,
				    max);
	if (len > avail)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "CSF: header: command region length %u runs past the end of "
				    "the file (%zu bytes left)", len, avail);
	*cmd_len = len;
	*version = p[3];
	return 0;
}

void bs_hab_cmd_block(const struct bs_hab_cmd *cmd, size_t i, uint32_t *addr, uint32_t *len)
{
	*addr = bs_get_be32(cmd->blocks + 8 * i);
	*len = bs_get_be32(cmd->blocks + 8 * i + 4);
}

#define BAD(...) bad(err, cmd, __VA_ARGS__)

static int bad(struct bs_error *err, const struct bs_hab_cmd *cmd, const char *what,
	       unsigned v)
{
	return bs_error_set(err, BS_ERR_FORMAT, "CSF: command %zu at 0x%zx: %s %s (0x%x)",
			    cmd->index, cmd->off, bs_hab_cmd_name(cmd->tag), what, v);
}

static int decode_ins_key(struct bs_hab_cmd *cmd, struct bs_error *err)
{
	const uint8_t *p = cmd->p;
	if (cmd->len < 12)
		return BAD("length too short", cmd->len);
	cmd->pcl = p[4];
	cmd->alg = p[5];
	cmd->src = p[6];
	cmd->tgt = p[7];
	cmd->key_off = bs_get_be32(p + 8);
	size_t want = 12;
	if (cmd->par & HAB_CMD_INS_KEY_HSH) {
		size_t d = bs_hab_alg_len(cmd->alg);
		if (d == 0)
			return BAD("HSH flag with unknown hash algorithm", cmd->alg);
		want += d;
		cmd->cert_hash = p + 12;
		cmd->cert_hash_len = d;
	}
	if (cmd->len != want)
		return BAD("length does not match its flags: length", cmd->len);
	return 0;
}

static int decode_aut_dat(struct bs_hab_cmd *cmd, struct bs_error *err)
{
	const uint8_t *p = cmd->p;
	if (cmd->len < 12 || (cmd->len - 12) % 8 != 0)
		return BAD("length is not 12 + 8n:", cmd->len);
	cmd->key = p[4];
	cmd->pcl = p[5];
	cmd->eng = p[6];
	cmd->cfg = p[7];
	cmd->sig_off = bs_get_be32(p + 8);
	cmd->nblocks = (size_t)(cmd->len - 12) / 8;
	cmd->blocks = p + 12;
	if (cmd->nblocks > BS_HAB_AUTH_BLOCKS_MAX)
		return BAD("has too many blocks:", (unsigned)cmd->nblocks);
	return 0;
}

static int decode_unlock_init(struct bs_hab_cmd *cmd, struct bs_error *err)
{
	const uint8_t *p = cmd->p;
	cmd->eng = cmd->par;
	if (cmd->len == 4)
		return 0;
	if (cmd->len < 8)
		return BAD("length", cmd->len);
	cmd->has_features = true;
	cmd->features = bs_get_be32(p + 4);
	if (cmd->len > 8) {
		if (cmd->tag == HAB_CMD_INIT)
			return BAD("carries a UID; length", cmd->len);
		cmd->uid = p + 8;
		cmd->uid_len = cmd->len - 8u;
	}
	return 0;
}

int bs_hab_csf_next(struct bs_hab_cmd *cmd, const uint8_t *csf, size_t cmd_len, size_t *pos,
		    size_t index, struct bs_error *err)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->index = index;
	cmd->off = *pos;
	if (*pos > cmd_len || cmd_len - *pos < 4)
		return bs_error_set(err, BS_ERR_FORMAT,
				    "CSF: command %zu at 0x%zx: truncated command header", index,
				    *pos);
	const uint8_t *p = csf + *pos;
	cmd->p = p;
	cmd->tag = p[0];
	cmd->len = bs_get_be16(p + 1);
	cmd->par = p[3];
	if (cmd->len < 4 || cmd->len > cmd_len - *pos)
		return BAD("length outside the command region:", cmd->len);
	if (cmd->len % 4 != 0)
		return BAD("length is not a multiple of 4:", cmd->len);
	int rc = 0;
	switch (cmd->tag) {
	case HAB_CMD_INS_KEY:
		rc = decode_ins_key(cmd, err);
		break;
	case HAB_CMD_AUT_DAT:
		rc = decode_aut_dat(cmd, err);
		break;
	case HAB_CMD_SET:
		if (cmd->len != 8)
			return BAD("length is not 8:", cmd->len);
		cmd->alg = p[5];
		cmd->eng = p[6];
		cmd->cfg = p[7];
		break;
	case HAB_CMD_NOP:
		if (cmd->len != 4)
			return BAD("length is not 4:", cmd->len);
		break;
	case HAB_CMD_UNLK:
	case HAB_CMD_INIT:
		rc = decode_unlock_init(cmd, err);
		break;
	case HAB_CMD_WRT_DAT:
		if ((cmd->len - 4) % 8 != 0)
			return BAD("length is not 4 + 8n:", cmd->len);
		cmd->blocks = p + 4;
		cmd->nblocks = (size_t)(cmd->len - 4) / 8;
		break;
	case HAB_CMD_CHK_DAT:
		if (cmd->len != 12 && cmd->len != 16)
			return BAD("length is not 12 or 16:", cmd->len);
		cmd->addr = bs_get_be32(p + 4);
		cmd->mask = bs_get_be32(p + 8);
		cmd->has_count = cmd->len == 16;
		if (cmd->has_count)
			cmd->count = bs_get_be32(p + 12);
		break;
	default:
		return bs_error_set(err, BS_ERR_FORMAT,
				    "CSF: command %zu at 0x%zx: unknown command tag 0x%02x", index,
				    *pos, cmd->tag);
	}
	if (rc != 0)
		return rc;
	*pos += cmd->len;
	return 0;
}
