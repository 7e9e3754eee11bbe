/* bootsign srk -a: AHAB SRK table and fuse files, accepting srktool's AHAB command line
 * (-a [1] -t TABLE -e FUSE [-d sha256|sha512] -s sha256|sha384|sha512 -c C1,C2,C3,C4
 * [-f 0|1]) and writing byte-identical files; prints the SRK hash fuse words and, with
 * --soc, U-Boot `fuse prog` lines for the chip family (AHAB.md §5.3, §11). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cmd_srk.h"
#include "core/limits.h"
#include "core/util.h"
#include "formats/ahab/srk.h"
#include "formats/hab/soc.h"
#include "formats/hab/srk.h"


/* SRK hash fuses per family: digest, words, U-Boot `fuse prog <bank> <word>` of word 0
 * (words follow consecutively), from the U-Boot AHAB guides and public i.MX93 guides. */
struct ahab_soc {
	const char *name;  /* canonical soctype (formats/hab/soc.h) */
	const char *label;
	int md_nid;
	unsigned bank, word0;
	bool known;        /* false: fuse location not confirmed, words only */
};

static const struct ahab_soc ahab_socs[] = {
	{"mx8qxp", "i.MX8QXP (SECO)", NID_sha512, 0, 730, true},
	{"mx8qm", "i.MX8QM (SECO)", NID_sha512, 0, 722, true},
	{"mx8ulp", "i.MX8ULP (ELE)", NID_sha256, 15, 0, true},
	{"mx93", "i.MX93 (ELE)", NID_sha256, 16, 0, true},
	{"mx91", "i.MX91 (ELE)", NID_sha256, 16, 0, false},
	{"mx95", "i.MX95 A0 (ELE)", NID_sha256, 0, 0, false},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign srk -a 1 -t TABLE -e FUSE -s sha256|sha384|sha512\n"
		"                    -c SRK1,SRK2,SRK3,SRK4 [-d sha512|sha256] [-f 0|1] [--soc SOC]\n"
		"       bootsign srk -a 1 --print-fuse FUSEFILE [--soc SOC]\n"
		"\n"
		"Build an AHAB (v1) SRK table and its SRK hash fuse file, byte-identical to NXP's\n"
		"srktool -a. The fuse value is one digest over the whole table.\n"
		"\n"
		"  -a, --ahab_ver [1]       AHAB table version (1; 2 = PQC tables, not supported)\n"
		"  -t, --table FILE         output SRK table\n"
		"  -e, --efuses FILE        output fuse file (the SRK table hash)\n"
		"  -s, --sign_digest ALG    hash stored in every record: the container signature\n"
		"                           digest (sha256, sha384, sha512)\n"
		"  -d, --digest ALG         fuse digest: sha512 (default; 8QXP/8QM, 95B0) or\n"
		"                           sha256 (8ULP, 91, 93, 95A0)\n"
		"  -c, --certs A,B,C,D      exactly 4 SRK certificates (PEM or DER), no spaces\n"
		"  -f, --fuse_format N      1 (default): raw digest; 0: each byte as 00 00 00 b\n"
		"      --soc SOC            check -d against the family and print U-Boot\n"
		"                           `fuse prog` lines: imx8qxp, imx8qm, imx8ulp, imx91,\n"
		"                           imx93, imx95\n"
		"      --print-fuse FILE    print the words (and with --soc the fuse prog lines)\n"
		"                           of an existing AHAB fuse file\n"
		"Fuse words: SRKH[i] = little-endian bytes 4i..4i+3 of the digest.\n");
}

/* Names as the SoC table spells them ("i.MX93", "imx93", "mx93"). */
static const struct ahab_soc *find_ahab_soc(const char *name)
{
	const struct bs_imx_soc *s = bs_imx_soc_find(name);
	for (size_t i = 0; s != NULL && i < BS_ARRAY_SIZE(ahab_socs); i++)
		if (strcmp(ahab_socs[i].name, s->name) == 0)
			return &ahab_socs[i];
	return NULL;
}

void bs_srk_ahab_print_fuse(const uint8_t *fuse, size_t fuse_len, const char *soc_name)
{
	const struct ahab_soc *soc = soc_name != NULL ? find_ahab_soc(soc_name) : NULL;
	size_t nwords = fuse_len / 4;
	bs_srk_print_words(fuse, fuse_len);
	if (soc == NULL)
		return;
	if (!soc->known) {
		printf("# %s: SRK hash fuse location not confirmed; program the words above as\n"
		       "# the SoC's fuse map describes.\n", soc->label);
		return;
	}
	printf("# U-Boot commands for %s, SRK hash (%zu words). One-time programmable:\n"
	       "# check every value, and close the device only after a signed image boots\n"
	       "# without AHAB events (ahab_status).\n", soc->label, nwords);
	for (size_t i = 0; i < nwords; i++)
		printf("fuse prog -y %u %zu 0x%08X\n", soc->bank, soc->word0 + i,
		       bs_srk_fuse_word(fuse, i));
}

/* An AHAB fuse file (SHA-256 or SHA-512, format 1 or 0): its words and fuse prog lines. */
static int print_fuse_file(const char *path, const char *soc_name)
{
	static const size_t lens[] = {32, 64};
	struct bs_error err = {0};
	uint8_t fuse[64];
	size_t fuse_len = 0;
	int format = 0;
	int rc = bs_srk_read_fuse(fuse, &fuse_len, &format, path, lens, 2, &err);
	if (rc != 0)
		return bs_srk_fail(rc == BS_ERR_FORMAT ? 1 : 2, "%s", err.msg);
	const struct ahab_soc *soc = soc_name != NULL ? find_ahab_soc(soc_name) : NULL;
	if (soc_name != NULL && soc == NULL)
		return bs_srk_fail(2, "unknown AHAB SoC '%s' for --soc", soc_name);
	if (soc != NULL && (fuse_len == 64) != (soc->md_nid == NID_sha512))
		return bs_srk_fail(1, "%s holds a %s SRK hash; %s fuses hold %s", path,
				   fuse_len == 64 ? "SHA-512" : "SHA-256", soc->label,
				   OBJ_nid2sn(soc->md_nid));
	printf("SRK fuse file: %s (%s, format %d)\n", path, fuse_len == 64 ? "sha512" : "sha256",
	       format);
	bs_srk_ahab_print_fuse(fuse, fuse_len, soc_name);
	return 0;
}

static int hash_code(const char *s)
{
	if (strcasecmp(s, "sha256") == 0)
		return BS_AHAB_HASH_SHA256;
	if (strcasecmp(s, "sha384") == 0)
		return BS_AHAB_HASH_SHA384;
	if (strcasecmp(s, "sha512") == 0)
		return BS_AHAB_HASH_SHA512;
	return -1;
}

struct ahab_args {
	const char *ver, *table, *efuses, *digest, *sign, *certs, *format, *soc, *print_fuse;
};

static int build(const struct ahab_args *a)
{
	int sign = hash_code(a->sign);
	if (sign < 0)
		return bs_srk_fail(2, "unsupported signature digest '%s' for -s (sha256, sha384, sha512)",
			    a->sign);
	int md = NID_sha512;
	if (a->digest != NULL) {
		int d = hash_code(a->digest);
		if (d != BS_AHAB_HASH_SHA256 && d != BS_AHAB_HASH_SHA512)
			return bs_srk_fail(2, "unsupported fuse digest '%s' for -d (sha512 or sha256)",
				    a->digest);
		md = bs_ahab_hash_nid((unsigned)d);
	}
	const struct ahab_soc *soc = NULL;
	if (a->soc != NULL) {
		if ((soc = find_ahab_soc(a->soc)) == NULL)
			return bs_srk_fail(2, "unknown AHAB SoC '%s' for --soc (imx8qxp, imx8qm, "
				    "imx8ulp, imx91, imx93, imx95)", a->soc);
		if (a->digest == NULL)
			md = soc->md_nid;
		else if (md != soc->md_nid)
			return bs_srk_fail(2, "-d %s does not fit %s, whose fuses hold a %s SRK hash",
				    a->digest, soc->label, OBJ_nid2sn(soc->md_nid));
	}
	int format = 1;
	if (bs_srk_check_outputs(&format, a->format, a->table, a->efuses) != 0)
		return 2;
	char *list = bs_strdup(a->certs);
	char *names[BS_AHAB_SRK_RECORDS + 1];
	X509 *certs[BS_AHAB_SRK_RECORDS] = {0};
	size_t n = 0;
	uint8_t *table = NULL, *ff = NULL;
	size_t table_len = 0, ff_len = 0;
	struct bs_ahab_srk_table *parsed = NULL;
	struct bs_error err = {0};
	int rc = 1;
	if (list == NULL)
		return bs_srk_fail(1, "out of memory");
	for (char *s = list, *tok; (tok = strsep(&s, ",")) != NULL;) {
		if (n == BS_AHAB_SRK_RECORDS || tok[0] == '\0') {
			rc = bs_srk_fail(2, "-c needs exactly 4 certificate names separated by ',' with no "
				  "spaces");
			goto out;
		}
		names[n++] = tok;
	}
	if (n != BS_AHAB_SRK_RECORDS) {
		rc = bs_srk_fail(2, "AHAB SRK tables hold exactly 4 certificates, %zu given to -c", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((certs[i] = bs_srk_load_cert(names[i], &rc)) == NULL)
			goto out;
	uint8_t fuse[64];
	size_t fuse_len = 0;
	if (bs_ahab_srk_table_build(&table, &table_len, certs, n, (uint8_t)sign, &err) != 0 ||
	    bs_ahab_srk_table_parse(&parsed, table, table_len, false, &err) != 0 ||
	    bs_ahab_srk_fuse(fuse, &fuse_len, table, table_len, md, &err) != 0 ||
	    bs_srk_fuse_file(&ff, &ff_len, fuse, fuse_len, format, &err) != 0) {
		bs_srk_fail(1, "%s", err.msg);
		goto out;
	}
	if (bs_srk_write_outputs(a->table, table, table_len, a->efuses, ff, ff_len) != 0)
		goto out;
	printf("AHAB SRK table: %s (%zu bytes, 4 records)\n", a->table, table_len);
	for (size_t i = 0; i < n; i++) {
		char desc[64];
		printf("  SRK%zu: %-30s %s\n", i + 1,
		       bs_ahab_srk_desc(&parsed->e[i], desc, sizeof(desc)), names[i]);
	}
	printf("SRK fuse file: %s (%s, format %d)\n", a->efuses, OBJ_nid2sn(md), format);
	bs_srk_ahab_print_fuse(fuse, fuse_len, a->soc);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
	bs_ahab_srk_table_free(parsed);
	free(table);
	free(ff);
	free(list);
	return rc;
}

int bs_cmd_srk_ahab(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"ahab_ver", optional_argument, NULL, 'a'},
		{"table", required_argument, NULL, 't'},
		{"efuses", required_argument, NULL, 'e'},
		{"digest", required_argument, NULL, 'd'},
		{"sign_digest", required_argument, NULL, 's'},
		{"certs", required_argument, NULL, 'c'},
		{"fuse_format", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'b'},
		{"soc", required_argument, NULL, 'S'},
		{"print-fuse", required_argument, NULL, 'F'},
		{"print_fuse", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	/* srktool 4.x writes `-a 1`, 3.x a bare `-a`: join a following version number so
	 * that getopt's optional argument sees it. */
	char *av[BS_CLI_ARGS_MAX];
	char joined[2][32];
	int ac = 0, nj = 0;
	if (argc >= BS_CLI_ARGS_MAX)
		return bs_srk_fail(2, "too many arguments");
	for (int i = 0; i < argc; i++) {
		bool is_a = strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--ahab_ver") == 0;
		if (is_a && i + 1 < argc && nj < 2 && strlen(argv[i + 1]) == 1 &&
		    isdigit((unsigned char)argv[i + 1][0])) {
			snprintf(joined[nj], sizeof(joined[nj]), "%s%s%s", argv[i],
				 argv[i][1] == '-' ? "=" : "", argv[i + 1]);
			av[ac++] = joined[nj++];
			i++;
			continue;
		}
		av[ac++] = argv[i];
	}
	av[ac] = NULL;
	struct ahab_args a = {.ver = "1"};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(ac, av, ":a::t:e:d:s:c:f:b", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': a.ver = optarg != NULL ? optarg : "1"; break;
		case 't': a.table = optarg; break;
		case 'e': a.efuses = optarg; break;
		case 'd': a.digest = optarg; break;
		case 's': a.sign = optarg; break;
		case 'c': a.certs = optarg; break;
		case 'f': a.format = optarg; break;
		case 'b': break;
		case 'S': a.soc = optarg; break;
		case 'F': a.print_fuse = optarg; break;
		case 'H': usage(stdout); return 0;
		case ':': return bs_srk_fail(2, "option %s needs a value (see --help)", av[optind - 1]);
		default: return bs_srk_fail(2, "unknown option %s (see --help)", av[optind - 1]);
		}
	}
	if (optind < ac)
		return bs_srk_fail(2, "unexpected argument '%s' (see --help)", av[optind]);
	if (strcmp(a.ver, "2") == 0)
		return bs_srk_fail(1, "AHAB v2 SRK table arrays (-a 2, PQC/hybrid) are not supported yet; "
			    "use -a 1 for i.MX8QXP/8QM/8ULP/91/93/95A0");
	if (strcmp(a.ver, "1") != 0)
		return bs_srk_fail(2, "unsupported AHAB version '%s' for -a (1)", a.ver);
	if (a.print_fuse != NULL) {
		if (a.table || a.efuses || a.sign || a.certs || a.digest || a.format)
			return bs_srk_fail(2, "--print-fuse takes only a fuse file (and --soc)");
		return print_fuse_file(a.print_fuse, a.soc);
	}
	if (a.table == NULL || a.efuses == NULL || a.sign == NULL || a.certs == NULL)
		return bs_srk_fail(2, "missing %s (see --help)",
			    a.table == NULL ? "-t TABLE" : a.efuses == NULL ? "-e FUSE"
			    : a.sign == NULL ? "-s DIGEST" : "-c CERTS");
	return build(&a);
}
