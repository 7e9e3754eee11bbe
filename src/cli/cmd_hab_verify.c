/* `bootsign hab verify`: offline HAB4 verification of a signed image. Exit 0 only if
 * every check holds, 1 if a check fails (the message names it), 2 on usage errors. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cmd_hab.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"
#include "formats/hab/hab.h"
#include "formats/hab/verify.h"

static void verify_usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign hab verify --fuse SRK_fuse.bin [options] IMAGE\n\n"
		"Verify a HAB4-signed image the way the boot ROM would: IVT and boot data, CSF\n"
		"commands, SRK table hash against the fuse value, CSFK and image key certificate\n"
		"chain, every CMS signature over the signed bytes, and that the IVT, DCD, boot\n"
		"data and entry point lie inside authenticated blocks. Prints each check.\n\n"
		"  --fuse FILE       expected SRK hash: raw digest (srktool -f 1) or the\n"
		"                    4-bytes-per-byte expansion (srktool -f 0)\n"
		"  --ivt-offset N    file offset of the IVT (default: scan for it)\n"
		"  --revoked MASK    SRK revocation fuse bits (bit i = index i revoked)\n"
		"  --csf-max N       largest command region accepted (default 768, as CST)\n"
		"  -q, --quiet       print nothing on success, only the failed check\n"
		"  -h, --help        this text\n\n"
		"Exit status: 0 verified, 1 a check failed, 2 usage error.\n");
}

int bs_cmd_hab_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"fuse", required_argument, NULL, 'f'},
		{"ivt-offset", required_argument, NULL, 'O'},
		{"revoked", required_argument, NULL, 'r'},
		{"csf-max", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bs_hab_verify_opts opts = {0};
	const char *fuse_path = NULL;
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
	uint8_t *fuse = NULL;
	size_t fuse_len = 0;
	if (bs_read_file(&fuse, &fuse_len, fuse_path, BS_FUSE_FILE_MAX, &err) != 0) {
		fprintf(stderr, "bootsign hab verify: fuse file: %s\n", err.msg);
		return 2;
	}
	opts.fuse = fuse;
	opts.fuse_len = fuse_len;
	opts.log = quiet ? NULL : stdout;
	int rc = bs_hab_verify_image(image, &opts, &err);
	free(fuse);
	fflush(stdout);
	if (rc != 0) {
		fprintf(stderr, "bootsign hab verify: %s: %s\n", image, err.msg);
		return 1;
	}
	if (!quiet)
		printf("OK: %s verifies against the SRK fuse hash\n", image);
	return 0;

bad_number:
	fprintf(stderr, "bootsign hab verify: bad number: %s\n", perr.msg);
	return 2;
}
