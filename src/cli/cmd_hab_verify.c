/* `bootsign hab verify`: offline HAB4 verification of a signed image, every IVT in it
 * (an i.MX8M flash.bin has the SPL's and the FIT's). Exit 0 only if every check holds,
 * 1 if a check fails (the message names it), 2 on usage errors and unreadable inputs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cmd_hab.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"
#include "formats/hab/csf.h"
#include "formats/hab/hab.h"
#include "formats/hab/image.h"
#include "formats/hab/soc.h"
#include "formats/hab/verify.h"

#define BLOCKS_FILES_MAX 4
#define BLOCK_MAP_MAX 256

/* The Blocks lines of CSF texts: where parts loaded away from the IVT's base sit. */
static int load_block_map(struct bs_hab_block_map *map, size_t *n, const char *const *files,
			  size_t nfiles)
{
	*n = 0;
	for (size_t f = 0; f < nfiles; f++) {
		uint8_t *text = NULL;
		size_t len = 0;
		struct bs_csf *csf = NULL;
		struct bs_error err = {0};
		struct bs_csf_parse_opts po = {0};
		if (bs_read_file(&text, &len, files[f], BS_CSF_TEXT_MAX, &err) != 0 ||
		    bs_csf_parse(&csf, (const char *)text, len, files[f], &po, &err) != 0) {
			free(text);
			fprintf(stderr, "bootsign hab verify: --blocks: %s\n", err.msg);
			return 2;
		}
		free(text);
		for (size_t i = 0; i < csf->ncmds; i++) {
			const struct bs_csf_cmd *c = &csf->cmds[i];
			for (size_t b = 0; c->kind == BS_CSF_AUTH_DATA && b < c->nblocks; b++) {
				if (*n == BLOCK_MAP_MAX) {
					bs_csf_free(csf);
					fprintf(stderr, "bootsign hab verify: --blocks: more than %d "
						"blocks\n", BLOCK_MAP_MAX);
					return 2;
				}
				map[(*n)++] = (struct bs_hab_block_map){ c->blocks[b].addr,
					c->blocks[b].offset, c->blocks[b].length };
			}
		}
		bs_csf_free(csf);
	}
	return 0;
}

static void verify_usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign hab verify --fuse SRK_fuse.bin [options] IMAGE\n\n"
		"Verify a HAB4-signed image the way the boot ROM would: IVT and boot data, CSF\n"
		"commands, SRK table hash against the fuse value, CSFK and image key certificate\n"
		"chain, every CMS signature over the signed bytes, and that the IVT, DCD, boot\n"
		"data and entry point lie inside authenticated blocks. Every IVT in the file\n"
		"is verified (SPL, FIT, ...), one result line each; an IVT whose CSF area is\n"
		"empty fails. Prints each check.\n\n"
		"  --fuse FILE       expected SRK hash: raw digest (srktool -f 1) or the\n"
		"                    4-bytes-per-byte expansion (srktool -f 0)\n"
		"  --ivt-offset N    verify only the IVT at this file offset (default: all)\n"
		"  --blocks CSF.txt  read signed parts that SPL loads away from the IVT's base\n"
		"                    (FIT images) where the CSF's Blocks lines say (file\n"
		"                    offsets); up to 4 times\n"
		"  --soc SOC         what the ROM checks: boot data asserted over 12 bytes on\n"
		"                    i.MX8M (mx8m, mx8mm, ...; default), 1 byte on mx6*/mx7*\n"
		"  --revoked MASK    SRK revocation fuse bits (bit i = index i revoked)\n"
		"  --csf-max N       largest command region accepted (default 768, as CST)\n"
		"  -q, --quiet       print nothing on success, only the failed check\n"
		"  -h, --help        this text\n\n"
		"Exit status: 0 verified, 1 a check failed, 2 usage error or unreadable input.\n");
}

int bs_cmd_hab_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"fuse", required_argument, NULL, 'f'},
		{"ivt-offset", required_argument, NULL, 'O'},
		{"revoked", required_argument, NULL, 'r'},
		{"csf-max", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"soc", required_argument, NULL, 's'},
		{"blocks", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bs_hab_verify_opts opts = {0};
	const char *fuse_path = NULL, *soctype = "mx8m";
	const char *blocks[BLOCKS_FILES_MAX];
	size_t nblocks = 0;
	bool quiet = false;
	uint64_t v;
	struct bs_error perr = {0};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fuse_path = optarg;
			break;
		case 'O':
			if (bs_parse_u64(&v, optarg, 0, 0, UINT64_MAX, "--ivt-offset", &perr) != 0)
				goto bad_number;
			opts.has_ivt_offset = true;
			opts.ivt_offset = v;
			break;
		case 'r':
			if (bs_parse_u64(&v, optarg, 0, 0, 0xF, "--revoked", &perr) != 0)
				goto bad_number;
			opts.revoked_mask = (uint32_t)v;
			break;
		case 'm':
			if (bs_parse_u64(&v, optarg, 0, 4, 0xFFFF, "--csf-max", &perr) != 0)
				goto bad_number;
			opts.csf_max = (size_t)v;
			break;
		case 'q':
			quiet = true;
			break;
		case 's':
			soctype = optarg;
			break;
		case 'B':
			if (nblocks == BLOCKS_FILES_MAX) {
				fprintf(stderr, "bootsign hab verify: --blocks at most %d times\n",
					BLOCKS_FILES_MAX);
				return 2;
			}
			blocks[nblocks++] = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1 || fuse_path == NULL) {
		fprintf(stderr, "bootsign hab verify: %s\n\n",
			fuse_path == NULL ? "--fuse is required" : "exactly one IMAGE is required");
		verify_usage(stderr);
		return 2;
	}
	const char *image = argv[optind];
	struct bs_error err;
	bs_error_clear(&err);
	const struct bs_imx_soc *soc = NULL;
	if (bs_imx_soc_lookup(&soc, soctype, &err) != 0 || soc->family != BS_IMX_HAB4) {
		fprintf(stderr, "bootsign hab verify: --soc: %s\n",
			soc ? "that SoC boots with AHAB, not HAB4" : err.msg);
		return 2;
	}
	opts.boot_data_len = soc->boot_data_len;
	static struct bs_hab_block_map map[BLOCK_MAP_MAX];
	if (load_block_map(map, &opts.nmap, blocks, nblocks) != 0)
		return 2;
	opts.map = map;
	uint8_t *fuse = NULL;
	size_t fuse_len = 0;
	if (bs_read_file(&fuse, &fuse_len, fuse_path, BS_FUSE_FILE_MAX, &err) != 0) {
		fprintf(stderr, "bootsign hab verify: fuse file: %s\n", err.msg);
		return 2;
	}
	opts.fuse = fuse;
	opts.fuse_len = fuse_len;
	opts.log = quiet ? NULL : stdout;
	struct bs_hab_ivt_result res[BS_HAB_IVTS_MAX];
	size_t n = 0;
	int rc = bs_hab_verify_ivts(image, &opts, res, BS_HAB_IVTS_MAX, &n, &err);
	free(fuse);
	for (size_t i = 0; !quiet && i < n; i++)
		printf("IVT at 0x%llx: %s\n", (unsigned long long)res[i].off,
		       res[i].rc == 0 ? "OK" : res[i].msg);
	fflush(stdout);
	if (rc != 0) {
		fprintf(stderr, "bootsign hab verify: %s: %s\n", image, err.msg);
		return n == 0 && (rc == BS_ERR_NOT_FOUND || rc == BS_ERR_IO) ? 2 : 1;
	}
	if (!quiet)
		printf("OK: %s verifies against the SRK fuse hash\n", image);
	return 0;

bad_number:
	fprintf(stderr, "bootsign hab verify: bad number: %s\n", perr.msg);
	return 2;
}
