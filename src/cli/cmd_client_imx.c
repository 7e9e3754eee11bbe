/* bootsign client imx: sign an i.MX HAB4 image through the server, one request per CSF,
 * and put each returned blob where its IVT's CSF pointer says (client/imx_plan.h). */
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_client.h"
#include "client/imx_plan.h"
#include "client/outfile.h"
#include "core/limits.h"
#include "core/util.h"
#include "formats/ahab/ahab.h"
#include "formats/ahab/csf.h"
#include "formats/ahab/verify.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign client imx --server URL --machine M [--soctype S]\n"
		"                           --csf FILE [--csf FILE ...] [--fuse FUSE]\n"
		"                           [--digest-only] -o OUT IMAGE\n\n"
		"Sends one POST /sign/imx per CSF (the CSF and IMAGE, or with --digest-only\n"
		"only the CSF and the SHA-256 of its blocks), puts each returned CSF blob at\n"
		"the file offset of the CSF pointer of the IVT the CSF signs, and writes the\n"
		"result to OUT. Refused: Blocks naming another file than IMAGE, a blob larger\n"
		"than the space before the next data. With --fuse (SRK_fuse.bin) every IVT is\n"
		"verified offline before OUT is written. IMAGE is never modified.\n"
		"An AHAB CSF ([Header] Target = AHAB, soctype mx8qxp, mx8ulp, mx93, ...) is\n"
		"sent with the image and the server answers the whole signed image; with\n"
		"--fuse (32- or 64-byte SRK hash) every container is verified before OUT is\n"
		"written.\n\n"
		"  --machine M       whose keys (the server's key store)\n"
		"  --soctype S       mx8m (default), mx8mm, mx6, ...\n"
		"  --cstversion V    CST version field (default 3.3.1)\n"
		"  --backend B       ssl (default) or pkcs11\n"
		"  --csf FILE        a CSF whose Blocks name IMAGE's file name (repeat)\n"
		"  --fuse FILE       verify the result against this SRK fuse hash\n"
		"  --digest-only     send digests instead of the image (docs/server.md)\n"
		BS_CLIENT_USAGE_COMMON
		"\nExit status: 0 written, 1 failed (nothing written), 2 usage error.\n");
}

struct imx_args {
	const char *machine, *soctype, *cstversion, *backend, *fuse;
	const char *csfs[BS_CLIENT_CSFS_MAX];
	size_t ncsfs;
	bool digest_only;
};

static int sign_one(struct bs_client_result *res, const struct bs_client_cli *cc,
		    const struct imx_args *a, const struct bs_imx_plan *p, size_t i,
		    struct bs_error *err)
{
	const struct bs_imx_slot *s = &p->slot[i];
	const char *slash = strrchr(s->csf_path, '/');
	struct bs_client_part parts[8] = {
		{.name = "machine", .value = a->machine},
		{.name = "soctype", .value = a->soctype},
		{.name = "cstversion", .value = a->cstversion},
		{.name = "csf", .data = (const uint8_t *)s->csf_text, .len = s->csf_len,
		 .filename = slash ? slash + 1 : s->csf_path},
	};
	size_t n = 4;
	if (a->digest_only)
		parts[n++] = (struct bs_client_part){.name = "digests", .value = s->digests};
	else
		parts[n++] = (struct bs_client_part){.name = "artifact", .path = p->image,
						     .filename = p->image_name};
	if (a->backend != NULL)
		parts[n++] = (struct bs_client_part){.name = "backend", .value = a->backend};
	int rc = bs_client_post(res, &cc->c, "imx", parts, n, NULL, BS_CSF_OUT_MAX, err);
	if (rc != 0)
		return bs_error_prefix(err, "%s", s->csf_path);
	if (cc->verbose)
		fprintf(stderr, "bootsign client imx: %s: request id %s, sent %" PRIu64
			" bytes, blob %zu bytes for the IVT at 0x%" PRIx64 " -> offset 0x%" PRIx64
			"\n", s->csf_path, res->reqid[0] ? res->reqid : "-", res->sent, res->len,
			s->ivt_off, s->csf_off);
	return bs_imx_plan_check_fit(p, i, res->len, err);
}

/* AHAB: one request with the CSF and the image; the answer is the signed image. */
static int run_ahab(const struct bs_client_cli *cc, const struct imx_args *a, const char *image,
		    const char *csf_text, size_t csf_len, struct bs_error *err)
{
	if (a->ncsfs != 1 || a->digest_only)
		return bs_error_set(err, BS_ERR_INVALID, "an AHAB image is signed with one CSF and "
				    "the image itself (no second --csf, no --digest-only)");
	struct stat st;
	if (stat(image, &st) != 0)
		return bs_error_set(err, BS_ERR_NOT_FOUND, "%s: %s", image, strerror(errno));
	const char *islash = strrchr(image, '/'), *cslash = strrchr(a->csfs[0], '/');
	struct bs_client_part parts[6] = {
		{.name = "machine", .value = a->machine},
		{.name = "soctype", .value = a->soctype},
		{.name = "cstversion", .value = a->cstversion},
		{.name = "csf", .data = (const uint8_t *)csf_text, .len = csf_len,
		 .filename = cslash ? cslash + 1 : a->csfs[0]},
		{.name = "artifact", .path = image, .filename = islash ? islash + 1 : image},
	};
	size_t n = 5;
	if (a->backend != NULL)
		parts[n++] = (struct bs_client_part){.name = "backend", .value = a->backend};
	struct bs_client_result res;
	memset(&res, 0, sizeof(res));
	/* the signature block is inserted inside the container area: the answer is about
	 * the image's size */
	size_t max = (size_t)st.st_size + BS_CSF_OUT_MAX;
	int rc = bs_client_post(&res, &cc->c, "imx", parts, n, NULL, max, err);
	if (rc != 0)
		return bs_error_prefix(err, "%s", a->csfs[0]);
	if (a->fuse != NULL) {
		uint8_t *fuse = NULL;
		size_t flen = 0;
		struct bs_ahab_mem mem = {.data = res.body, .len = res.len};
		struct bs_ahab_reader r;
		bs_ahab_reader_mem(&r, &mem);
		rc = bs_read_file(&fuse, &flen, a->fuse, BS_FUSE_FILE_MAX, err);
		if (rc == 0 && flen != 32 && flen != 64)
			rc = bs_error_set(err, BS_ERR_INVALID, "%s: an AHAB SRK hash is 32 or 64 "
					  "bytes, not %zu", a->fuse, flen);
		struct bs_ahab_verify_opts vo = {.fuse = fuse, .fuse_len = flen};
		if (rc == 0 && (rc = bs_ahab_verify(&r, &vo, err)) != 0)
			bs_error_prefix(err, "the signed image does not verify (nothing written)");
		free(fuse);
	}
	struct bs_outfile of = {0};
	if (rc == 0)
		rc = bs_outfile_open(&of, cc->out, err);
	if (rc == 0 && fwrite(res.body, 1, res.len, of.fp) != res.len)
		rc = bs_error_set(err, BS_ERR_IO, "%s: write failed", cc->out);
	if (rc == 0)
		rc = bs_outfile_commit(&of, err);
	bs_outfile_abort(&of);
	free(res.body);
	return rc;
}

static int run(const struct bs_client_cli *cc, const struct imx_args *a, const char *image,
	       struct bs_error *err)
{
	uint8_t *first = NULL;
	size_t first_len = 0;
	int arc = bs_read_file(&first, &first_len, a->csfs[0], BS_CSF_TEXT_MAX, err);
	if (arc != 0)
		return arc;
	bool ahab = bs_ahab_csf_detect((const char *)first, first_len);
	if (ahab)
		arc = run_ahab(cc, a, image, (const char *)first, first_len, err);
	free(first);
	if (ahab)
		return arc;

	struct bs_imx_plan *p = NULL;
	struct bs_client_result res[BS_CLIENT_CSFS_MAX];
	const uint8_t *blobs[BS_CLIENT_CSFS_MAX];
	size_t lens[BS_CLIENT_CSFS_MAX];
	memset(res, 0, sizeof(res));
	int rc = bs_imx_plan_new(&p, image, a->csfs, a->ncsfs, err);
	if (rc == 0 && a->digest_only)
		rc = bs_imx_plan_digests(p, err);
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		rc = sign_one(&res[i], cc, a, p, i, err);
		blobs[i] = res[i].body;
		lens[i] = res[i].len;
	}
	if (rc == 0)
		rc = bs_imx_plan_write(p, blobs, lens, cc->out, a->fuse, err);
	for (size_t i = 0; i < BS_CLIENT_CSFS_MAX; i++)
		free(res[i].body);
	bs_imx_plan_free(p);
	return rc;
}

int bs_cmd_client_imx(int argc, char **argv)
{
	static const struct option longopts[] = {
		BS_CLIENT_LONGOPTS,
		{"machine", required_argument, NULL, 'm'},
		{"soctype", required_argument, NULL, 's'},
		{"cstversion", required_argument, NULL, 'V'},
		{"backend", required_argument, NULL, 'b'},
		{"csf", required_argument, NULL, 'c'},
		{"fuse", required_argument, NULL, 'f'},
		{"digest-only", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct bs_client_cli cc = {.c.retries = -1};
	struct imx_args a = {.soctype = "mx8m", .cstversion = "3.3.1"};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
		if (bs_client_cli_opt(&cc, opt, optarg))
			continue;
		switch (opt) {
		case 'm': a.machine = optarg; break;
		case 's': a.soctype = optarg; break;
		case 'V': a.cstversion = optarg; break;
		case 'b': a.backend = optarg; break;
		case 'f': a.fuse = optarg; break;
		case 'd': a.digest_only = true; break;
		case 'c':
			if (a.ncsfs == BS_CLIENT_CSFS_MAX) {
				fprintf(stderr, "bootsign client imx: at most %d --csf\n",
					BS_CLIENT_CSFS_MAX);
				return 2;
			}
			a.csfs[a.ncsfs++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (a.machine == NULL || a.ncsfs == 0 || optind != argc - 1) {
		fprintf(stderr, "bootsign client imx: --machine, --csf and one IMAGE are required "
			"(--help)\n");
		return 2;
	}
	int st = bs_client_cli_ready(&cc, "imx");
	if (st != 0)
		return st;
	struct bs_error err = {0};
	int rc = run(&cc, &a, argv[optind], &err);
	bs_client_cli_done(&cc);
	return rc == 0 ? 0 : bs_client_cli_fail("imx", &err);
}
