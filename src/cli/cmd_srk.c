/* bootsign srk: HAB4 SRK table and fuse files, accepting srktool's HAB4 command line
 * (-h 4 -t TABLE -e FUSE -d sha256 -c CERT,%CERT,... [-f 0|1]) and writing byte-identical
 * files; then prints the SRK_HASH fuse words, optionally as U-Boot `fuse prog` commands. */
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cmd_srk.h"
#include "cli/commands.h"
#include "core/limits.h"
#include "core/util.h"
#include "formats/hab/hab.h"
#include "formats/hab/soc.h"
#include "formats/hab/srk.h"

#define CERTS_MAX HAB_SRK_RECORDS_MAX

struct srk_args {
	const char *hab_ver, *table, *efuses, *digest, *certs, *format, *soc, *print_fuse;
	bool verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign srk -h 4 -t TABLE -e FUSE -d sha256 -c CERT[,CERT...] [-f 0|1]\n"
		"                    [--soc SOC] [-b]\n"
		"       bootsign srk --print-fuse FUSEFILE [--soc SOC]\n"
		"\n"
		"Build a HAB4 SRK table and its SRK_HASH fuse file, byte-identical to NXP's\n"
		"srktool (HAB4 mode); the same short and long options are accepted.\n"
		"\n"
		"  -h, --hab_ver 4          HAB version (4; for AHAB tables see bootsign srk -a --help)\n"
		"  -t, --table FILE         output SRK table\n"
		"  -e, --efuses FILE        output SRK fuse file (the SRK table hash)\n"
		"  -d, --digest ALG         fuse hash: sha256 (what HAB4 SoCs expect) or sha1\n"
		"  -c, --certs A,B,...      1 to 4 SRK certificates (PEM or DER), no spaces;\n"
		"                           %%FILE writes a hash-only entry for that certificate\n"
		"                           (it still counts in the fuse hash, but cannot be the\n"
		"                           SRK selected by a CSF)\n"
		"  -f, --fuse_format N      1 (default): raw digest; 0: each byte as 00 00 00 b\n"
		"  -b, --verbose            more detail about each table record\n"
		"  -v, --version            print the version\n"
		"      --soc SOC            also print U-Boot `fuse prog` commands for SOC:\n"
		"                           imx6 (6Q/6DL/6SX/6SL/6UL/6ULL...), imx7d, imx7ulp,\n"
		"                           imx8m (8MQ/8MM/8MN/8MP)\n"
		"      --print-fuse FILE    print the fuse words of an existing fuse file\n"
		"      --help               this text\n"
		"\n"
		"All certificates must be CA certificates (normal PKI) or all non-CA (fast\n"
		"authentication, no CSF key). Outputs are written atomically; nothing is left\n"
		"behind on error. Fuse words: SRKH[i] = little-endian bytes 4i..4i+3 of the hash.\n");
}


static void print_words(const uint8_t *fuse, size_t fuse_len, const struct bs_imx_soc *soc)
{
	size_t nwords = fuse_len / 4;
	bs_srk_print_words(fuse, fuse_len);
	if (soc == NULL)
		return;
	if (soc->family != BS_IMX_HAB4 || !soc->fuse_known) {
		printf("# %s: SRK_HASH fuse bank/word mapping not confirmed; program the words\n"
		       "# above as the SoC's fuse map and Security Reference Manual describe.\n",
		       soc->label);
		return;
	}
	if (nwords != 8) {
		printf("# %s: SRK_HASH[255:0] needs a sha256 fuse hash (8 words); this one\n"
		       "# has %zu words, so no U-Boot commands are printed.\n", soc->label, nwords);
		return;
	}
	printf("# U-Boot commands for %s, SRK_HASH[255:0].\n"
	       "# One-time programmable: check every value before burning, and close the\n"
	       "# device only after a signed image boots without HAB events.\n", soc->label);
	for (size_t i = 0; i < 8; i++)
		printf("fuse prog -y %u %u 0x%08X\n", soc->fuse_bank[i], soc->fuse_word[i],
		       bs_srk_fuse_word(fuse, i));
}

static int print_fuse_file(const char *path, const struct bs_imx_soc *soc)
{
	static const size_t lens[] = {32, 20};
	struct bs_error err = {0};
	uint8_t fuse[64];
	size_t fuse_len = 0;
	int format = -1;
	int rc = bs_srk_read_fuse(fuse, &fuse_len, &format, path, lens, 2, &err);
	if (rc != 0) /* unreadable input: like a usage error (2); not a fuse file: 1 */
		return bs_srk_fail(rc == BS_ERR_FORMAT ? 1 : 2, "%s", err.msg);
	printf("SRK fuse file: %s (%s, format %d)\n", path, fuse_len == 32 ? "sha256" : "sha1",
	       format);
	print_words(fuse, fuse_len, soc);
	return 0;
}

/* Split the -c list: up to HAB_SRK_RECORDS_MAX names, a leading % marks a hash-only entry. */
static int split_certs(char **names, size_t *n, uint32_t *mask, char *list)
{
	*n = 0;
	*mask = 0;
	char *s = list;
	for (;;) {
		char *comma = strchr(s, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*n == HAB_SRK_RECORDS_MAX)
			return bs_srk_fail(2, "more than %d certificates given to -c (an SRK table holds "
				    "at most %d)", HAB_SRK_RECORDS_MAX, HAB_SRK_RECORDS_MAX);
		if (s[0] == '%') {
			*mask |= 1u << *n;
			s++;
		}
		if (s[0] == '\0')
			return bs_srk_fail(2, "empty certificate name in -c (names are separated by ',' "
				    "with no spaces)");
		names[(*n)++] = s;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

static const char *key_desc(char *buf, size_t len, const struct bs_srk_entry *e)
{
	if (e->tag == HAB_TAG_KEY_HASH) {
		snprintf(buf, len, "hash-only (%s)", bs_hab_alg_name(e->hash_alg));
		return buf;
	}
	int bits = EVP_PKEY_get_bits(e->pub);
	if (e->sig_alg == HAB_ALG_ECDSA)
		snprintf(buf, len, "EC P-%d%s", bits, e->ca ? ", CA" : "");
	else
		snprintf(buf, len, "RSA-%d %s%s", bits,
			 e->sig_alg == HAB_ALG_RSA_PSS ? "(PSS)" : "(PKCS#1)", e->ca ? ", CA" : "");
	return buf;
}

/* If msg starts with "certificate N", the file name behind N. */
static const char *cert_in_msg(const char *msg, char *const *names, size_t n)
{
	size_t idx = 0;
	if (sscanf(msg, "certificate %zu", &idx) == 1 && idx >= 1 && idx <= n)
		return names[idx - 1];
	return NULL;
}

static int build(const struct srk_args *a, const struct bs_imx_soc *soc)
{
	struct bs_srk_build_opts opts = {0};
	if (strcasecmp(a->digest, "sha256") == 0)
		opts.md_nid = NID_sha256;
	else if (strcasecmp(a->digest, "sha1") == 0)
		opts.md_nid = NID_sha1;
	else
		return bs_srk_fail(2, "unsupported digest '%s' for -d (sha256 or sha1)", a->digest);
	int format = 1;
	if (bs_srk_check_outputs(&format, a->format, a->table, a->efuses) != 0)
		return 2;

	char *list = bs_strdup(a->certs);
	char *names[HAB_SRK_RECORDS_MAX];
	X509 *certs[HAB_SRK_RECORDS_MAX] = {0};
	size_t n = 0;
	uint8_t *table = NULL, *ff = NULL;
	size_t table_len = 0, ff_len = 0;
	struct bs_srk_table *parsed = NULL;
	struct bs_error err = {0};
	int rc = 1;
	if (list == NULL) {
		rc = bs_srk_fail(1, "out of memory");
		goto out;
	}
	if ((rc = split_certs(names, &n, &opts.hash_only_mask, list)) != 0)
		goto out;
	rc = 1;
	for (size_t i = 0; i < n; i++)
		if ((certs[i] = bs_srk_load_cert(names[i], &rc)) == NULL)
			goto out;
	uint8_t fuse[64];
	size_t fuse_len = 0;
	if (bs_srk_table_build(&table, &table_len, fuse, &fuse_len, certs, n, &opts, &err) != 0) {
		const char *file = cert_in_msg(err.msg, names, n);
		if (file != NULL)
			bs_srk_fail(1, "%s: %s", file, err.msg);
		else
			bs_srk_fail(1, "%s", err.msg);
		goto out;
	}
	/* Self-check: the table we are about to write parses back to the same fuse hash. */
	uint8_t check[64];
	size_t check_len = 0;
	if (bs_srk_table_parse(&parsed, table, table_len, &err) != 0 ||
	    bs_srk_table_fuse(parsed, opts.md_nid, check, &check_len, &err) != 0 ||
	    check_len != fuse_len || memcmp(check, fuse, fuse_len) != 0) {
		bs_srk_fail(1, "internal error: built SRK table does not verify: %s", err.msg);
		goto out;
	}
	if (bs_srk_fuse_file(&ff, &ff_len, fuse, fuse_len, format, &err) != 0) {
		bs_srk_fail(1, "%s", err.msg);
		goto out;
	}
	if (bs_srk_write_outputs(a->table, table, table_len, a->efuses, ff, ff_len) != 0)
		goto out;
	printf("SRK table: %s (%zu bytes, %zu entries)\n", a->table, table_len, n);
	for (size_t i = 0; i < n; i++) {
		char desc[64];
		printf("  SRK%zu: %-26s %s\n", i + 1, key_desc(desc, sizeof(desc), &parsed->e[i]),
		       names[i]);
		if (a->verbose)
			printf("         record %zu bytes, fuse input %s\n", parsed->e[i].rec_len,
			       parsed->e[i].tag == HAB_TAG_KEY_HASH ? "embedded digest"
								    : "hash of the record");
	}
	printf("SRK fuse file: %s (%s, format %d)\n", a->efuses,
	       opts.md_nid == NID_sha1 ? "sha1" : "sha256", format);
	print_words(fuse, fuse_len, soc);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
	bs_srk_table_free(parsed);
	free(table);
	free(ff);
	free(list);
	return rc;
}

enum { OPT_SOC = 1000, OPT_PRINT_FUSE, OPT_HELP };

int bs_cmd_srk(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"hab_ver", required_argument, NULL, 'h'},
		{"table", required_argument, NULL, 't'},
		{"efuses", required_argument, NULL, 'e'},
		{"digest", required_argument, NULL, 'd'},
		{"certs", required_argument, NULL, 'c'},
		{"fuse_format", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'b'},
		{"version", no_argument, NULL, 'v'},
		{"license", no_argument, NULL, 'l'},
		{"ahab_ver", no_argument, NULL, 'a'},
		{"sign_digest", required_argument, NULL, 's'},
		{"soc", required_argument, NULL, OPT_SOC},
		{"print-fuse", required_argument, NULL, OPT_PRINT_FUSE},
		{"print_fuse", required_argument, NULL, OPT_PRINT_FUSE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-a") == 0 || strncmp(argv[i], "--ahab_ver", 10) == 0)
			return bs_cmd_srk_ahab(argc, argv);
	struct srk_args a = {0};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h:t:e:d:c:f:bvlas:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': a.hab_ver = optarg; break;
		case 't': a.table = optarg; break;
		case 'e': a.efuses = optarg; break;
		case 'd': a.digest = optarg; break;
		case 'c': a.certs = optarg; break;
		case 'f': a.format = optarg; break;
		case 'b': a.verbose = true; break;
		case OPT_SOC: a.soc = optarg; break;
		case OPT_PRINT_FUSE: a.print_fuse = optarg; break;
		case 'v':
		case 'l':
			printf("bootsign srk %s: HAB4 SRK table tool, srktool-compatible "
			       "(bootsign's own implementation, not NXP code)\n", BS_VERSION);
			return 0;
		case OPT_HELP: usage(stdout); return 0;
		case 'a':
		case 's':
			return bs_srk_fail(2, "-s/--sign_digest goes with -a (AHAB SRK tables)");
		case ':':
			if (optopt != 0 && optopt < OPT_SOC)
				return bs_srk_fail(2, "option -%c needs a value (see --help)", optopt);
			return bs_srk_fail(2, "option %s needs a value (see --help)", argv[optind - 1]);
		default:
			if (optopt != 0 && optopt < OPT_SOC)
				return bs_srk_fail(2, "unknown option -%c (see --help)", optopt);
			return bs_srk_fail(2, "unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bs_srk_fail(2, "unexpected argument '%s' (see --help)", argv[optind]);
	const struct bs_imx_soc *soc = NULL;
	if (a.soc != NULL && (soc = bs_imx_soc_find(a.soc)) == NULL)
		return bs_srk_fail(2, "unknown SoC '%s' for --soc (imx6, imx6ul, imx7d, imx7ulp, imx8m, "
			    "imx8mm, imx8mn, imx8mp, imx8mq, ...)", a.soc);
	if (a.print_fuse != NULL) {
		if (a.hab_ver || a.table || a.efuses || a.digest || a.certs || a.format)
			return bs_srk_fail(2, "--print-fuse takes only a fuse file (and --soc)");
		return print_fuse_file(a.print_fuse, soc);
	}
	if (a.hab_ver == NULL && a.table == NULL && a.certs == NULL) {
		usage(stderr);
		return 2;
	}
	if (a.hab_ver == NULL)
		return bs_srk_fail(2, "missing -h 4 (HAB version)");
	if (strcmp(a.hab_ver, "4") != 0)
		return bs_srk_fail(2, "unsupported HAB version '%s' for -h (only 4)", a.hab_ver);
	if (a.table == NULL)
		return bs_srk_fail(2, "missing -t TABLE (output SRK table file)");
	if (a.efuses == NULL)
		return bs_srk_fail(2, "missing -e FUSE (output SRK fuse file)");
	if (a.digest == NULL)
		return bs_srk_fail(2, "missing -d sha256 (fuse digest)");
	if (a.certs == NULL)
		return bs_srk_fail(2, "missing -c CERT[,CERT...] (SRK certificates)");
	return build(&a, soc);
}
