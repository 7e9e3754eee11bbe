/* `bootsign ahab verify|dump`: offline AHAB verification against the SRK fuse value, and
 * a readable listing of a container set. Also the AHAB branch of `bootsign hab sign`. */
#include "cli/cmd_ahab.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_srk.h"
#include "cli/commands.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"
#include "formats/ahab/csf.h"
#include "formats/ahab/sign.h"
#include "formats/ahab/verify.h"


static int fd_pread(void *ctx, void *buf, size_t len, uint64_t off, struct bs_error *err)
{
	struct bs_cli_fd_reader *fr = ctx;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fr->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bs_error_set(err, BS_ERR_IO, "%s: read failed: %s", fr->path,
					    strerror(errno));
		if (n == 0)
			return bs_error_set(err, BS_ERR_FORMAT, "%s: ends before offset 0x%llx",
					    fr->path, (unsigned long long)(off + len));
		done += (size_t)n;
	}
	return 0;
}

int bs_cli_fd_open(struct bs_ahab_reader *r, struct bs_cli_fd_reader *fr, const char *path,
		   struct bs_error *err)
{
	struct stat st;
	fr->path = path;
	fr->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fr->fd < 0)
		return bs_error_set(err, errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
				    "%s: %s", path, strerror(errno));
	if (fstat(fr->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fr->fd);
		fr->fd = -1;
		return bs_error_set(err, BS_ERR_IO, "%s: not a regular file", path);
	}
	r->pread = fd_pread;
	r->size = (uint64_t)st.st_size;
	r->ctx = fr;
	return 0;
}

void bs_cli_fd_close(struct bs_cli_fd_reader *fr)
{
	if (fr != NULL && fr->fd >= 0)
		close(fr->fd);
	if (fr != NULL)
		fr->fd = -1;
}

/* Copy the input to a temporary file next to output, write the patch, rename. */
static int write_signed(const char *output, const struct bs_ahab_reader *in,
			const struct bs_ahab_patch *patch, struct bs_error *err)
{
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", output) >= sizeof(tmp))
		return bs_error_set(err, BS_ERR_INVALID, "output path too long");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return bs_error_set(err, BS_ERR_IO, "%s: %s", tmp, strerror(errno));
	uint8_t *buf = malloc(BS_COPY_CHUNK);
	int rc = buf == NULL ? bs_error_set(err, BS_ERR_NOMEM, "out of memory") : 0;
	for (uint64_t off = 0; rc == 0 && off < in->size;) {
		size_t n = in->size - off > BS_COPY_CHUNK ? BS_COPY_CHUNK : (size_t)(in->size - off);
		if ((rc = in->pread(in->ctx, buf, n, off, err)) != 0)
			break;
		if (write(fd, buf, n) != (ssize_t)n)
			rc = bs_error_set(err, BS_ERR_IO, "%s: write failed", output);
		off += n;
	}
	if (rc == 0 && pwrite(fd, patch->data, patch->len, (off_t)patch->offset) !=
			       (ssize_t)patch->len)
		rc = bs_error_set(err, BS_ERR_IO, "%s: write failed", output);
	if (rc == 0 && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", output, strerror(errno));
	free(buf);
	if (close(fd) != 0 && rc == 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", output, strerror(errno));
	if (rc == 0 && rename(tmp, output) != 0)
		rc = bs_error_set(err, BS_ERR_IO, "%s: %s", output, strerror(errno));
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int bs_cli_ahab_sign(const struct bs_ahab_csf *csf, const char *output,
		     const struct bs_key_source *keys, struct bs_error *err)
{
	struct bs_ahab_reader r;
	struct bs_cli_fd_reader fr = {.fd = -1};
	struct bs_ahab_patch patch;
	memset(&patch, 0, sizeof(patch));
	int rc = bs_cli_fd_open(&r, &fr, csf->data.name, err);
	if (rc != 0) {
		bs_error_prefix(err, "%s:%u:%u: Authenticate Data File", csf->filename,
				csf->data.line, csf->data.col);
		goto out;
	}
	if ((rc = bs_ahab_sign(&patch, csf, keys, &r, NULL, err)) != 0)
		goto out;
	if ((rc = write_signed(output, &r, &patch, err)) != 0)
		goto out;
	printf("CSF Processed successfully and signed image available in %s\n", output);
out:
	bs_ahab_patch_free(&patch);
	bs_cli_fd_close(&fr);
	return rc;
}

int bs_cli_ahab_cert_signature(const struct bs_ahab_csf *csf, const char *output,
			       const struct bs_key_source *keys, struct bs_error *err)
{
	uint8_t *sig = NULL;
	size_t len = 0;
	int rc = bs_ahab_cert_signature(&sig, &len, csf, keys, err);
	if (rc == 0)
		rc = bs_write_file(output, sig, len, 0644, false, err);
	if (rc == 0)
		printf("certificate signature (%zu bytes, permissions 0x%02x) written to %s\n", len,
		       csf->permissions, output);
	free(sig);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign ahab verify --fuse FUSE [--offset N] [--revoked MASK]\n"
		"                            [--fuse-version N] [-q] IMAGE\n"
		"       bootsign ahab dump [--offset N] IMAGE\n\n"
		"verify: check every AHAB container of IMAGE (at 0, then every 0x400 while one is\n"
		"found, or only at --offset): structure, SRK table and its hash against FUSE (the\n"
		"srktool fuse file: 32 bytes SHA-256 for 8ULP/91/93/95A0, 64 bytes SHA-512 for\n"
		"8QXP/8QM; format 0 files too), the selected SRK against --revoked (SRK_REVOKE\n"
		"fuse bits), the certificate and the container signature, each image's hash,\n"
		"and with --fuse-version the anti-rollback rule (header fuse version >= N).\n"
		"Exit 0 only if everything holds; otherwise the failing check is named.\n"
		"dump: list the containers without judging them.\n"
		"To sign, use 'bootsign hab sign -i CSF' with [Header] Target = AHAB.\n");
}

static int read_fuse(uint8_t *fuse, size_t *fuse_len, const char *path, struct bs_error *err)
{
	static const size_t lens[] = {32, 64};
	int format = 0;
	return bs_srk_read_fuse(fuse, fuse_len, &format, path, lens, 2, err);
}

static int run(int argc, char **argv, bool verify)
{
	static const struct option longopts[] = {
		{"fuse", required_argument, NULL, 'F'},
		{"offset", required_argument, NULL, 'O'},
		{"revoked", required_argument, NULL, 'R'},
		{"fuse-version", required_argument, NULL, 'V'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bs_ahab_verify_opts o = {.report = stdout};
	const char *fuse_path = NULL;
	uint64_t v = 0;
	struct bs_error perr = {0};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'F': fuse_path = optarg; break;
		case 'q': o.report = NULL; break;
		case 'O':
		case 'R':
		case 'V':
			if (bs_parse_u64(ch == 'O' ? &o.offset : &v, optarg, 0, 0,
					 ch == 'O' ? UINT64_MAX : ch == 'R' ? 0xF : 0xFF,
					 ch == 'O' ? "--offset" : ch == 'R' ? "--revoked" : "--fuse-version",
					 &perr) != 0) {
				fprintf(stderr, "bootsign ahab: %s\n", perr.msg);
				return 2;
			}
			if (ch == 'O')
				o.has_offset = true;
			else if (ch == 'R')
				o.revoked = (uint8_t)v;
			else
				o.min_fuse_version = (uint8_t)v;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 1 || (verify && fuse_path == NULL) ||
	    (!verify && (fuse_path != NULL || o.revoked != 0 || o.min_fuse_version != 0))) {
		usage(stderr);
		return 2;
	}
	struct bs_error err = {0};
	uint8_t fuse[64];
	struct bs_ahab_reader r;
	struct bs_cli_fd_reader fr = {.fd = -1};
	int rc = 0;
	if (verify && (rc = read_fuse(fuse, &o.fuse_len, fuse_path, &err)) == 0)
		o.fuse = fuse;
	if (rc == 0)
		rc = bs_cli_fd_open(&r, &fr, argv[optind], &err);
	if (rc == 0)
		rc = verify ? bs_ahab_verify(&r, &o, &err)
			    : bs_ahab_dump(stdout, &r, o.has_offset, o.offset, &err);
	bs_cli_fd_close(&fr);
	if (rc != 0) {
		fprintf(stderr, "bootsign ahab %s: %s: %s\n", verify ? "verify" : "dump",
			argv[optind], err.msg);
		return 1;
	}
	if (verify)
		printf("%s: AHAB verification OK\n", argv[optind]);
	return 0;
}

int bs_cmd_ahab(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return run(argc - 1, argv + 1, true);
	if (argc >= 2 && strcmp(argv[1], "dump") == 0)
		return run(argc - 1, argv + 1, false);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
