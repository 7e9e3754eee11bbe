/* bootsign pki create: make a HAB4 PKI (CA, SRKs, CSF/IMG keys, SRK table + fuse) in the
 * CST folder layout, with file keys or keys generated inside a PKCS#11 token. */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_hab.h"
#include "cli/protect.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"
#include "formats/hab/pki.h"
#include "formats/hab/pki_int.h"
#include "keys/p11_keygen.h"


static void usage(FILE *f)
{
	fprintf(f,
		"usage: bootsign pki create --out DIR [--key rsa2048|rsa3072|rsa4096|p256|p384|p521]\n"
		"                           [--srks 1..4] [--days N] [--pass-file F] [--no-tgz]\n"
		"                           [--token URI [--module PATH] --pin-file F]\n"
		"                           [--ahab [--sgk]]\n"
		"       bootsign pki bundle --from DIR --out FILE.tar.gz\n"
		"Creates DIR with crts/ (CA, SRK, CSF and IMG certificates, PEM and DER, the SRK\n"
		"table and fuse), keys/ (encrypted PKCS#8 keys + key_pass.txt; not in token mode)\n"
		"and imx-cst-keys.tar.gz, the signing server's bundle: crts/ and the CSF/IMG keys\n"
		"with key_pass.txt only, never the SRK or CA private keys (keep those offline).\n"
		"DIR must not exist or be empty; nothing is left behind on failure.\n"
		"`pki bundle` makes such a server bundle from an existing CST tree.\n"
		"--ahab: an AHAB PKI (i.MX8QXP/8QM/8ULP/91/93/95): CA, SRK1..4, with --sgk one\n"
		"signing key per SRK (for [Install Certificate]); the AHAB SRK table, its fuse\n"
		"files crts/SRK_1_2_3_4_fuse.bin (SHA-512) and ..._fuse_sha256.bin (SHA-256).\n");
}

/* First line of a 0600 secret file (passphrase or PIN); 1 after a message. */
static int read_secret(char **out, const char *path, const char *what)
{
	struct bs_error err = { 0 };
	if (bs_secret_read_file(out, path, what, &err) != 0) {
		fprintf(stderr, "bootsign pki: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static void show_progress(void *ctx, const char *what)
{
	(void)ctx;
	fprintf(stderr, "bootsign pki: %s...\n", what);
}

static int parse_uint(unsigned *out, const char *s, unsigned lo, unsigned hi, const char *opt)
{
	struct bs_error err = { 0 };
	if (bs_parse_uint(out, s, 10, lo, hi, opt, &err) != 0) {
		fprintf(stderr, "bootsign pki: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "srks", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "pass-file", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "module", required_argument, NULL, 'm' },
		{ "pin-file", required_argument, NULL, 'P' },
		{ "no-tgz", no_argument, NULL, 'n' },
		{ "ahab", no_argument, NULL, 'A' },
		{ "sgk", no_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *token_uri = NULL, *module = NULL;
	struct bs_pki_opts o = {
		.keytype = BS_PKI_RSA2048, .nsrk = 4, .validity_days = 3650, .write_tgz = true,
		.progress = show_progress,
	};
	const char *pass_file = NULL, *pin_file = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:k:s:d:p:t:m:P:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.outdir = optarg; break;
		case 'k':
			if (bs_pki_keytype_parse(&o.keytype, optarg) != 0) {
				fprintf(stderr, "bootsign pki: unknown key type '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_uint(&o.nsrk, optarg, 1, 4, "--srks") != 0)
				return 2;
			break;
		case 'd':
			if (parse_uint(&o.validity_days, optarg, 1, 36500, "--days") != 0)
				return 2;
			break;
		case 'p': pass_file = optarg; break;
		case 't': token_uri = optarg; break;
		case 'm': module = optarg; break;
		case 'P': pin_file = optarg; break;
		case 'n': o.write_tgz = false; break;
		case 'A': o.ahab = true; break;
		case 'G': o.sgk = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || o.outdir == NULL) {
		usage(stderr);
		return 2;
	}
	if (token_uri != NULL && (pin_file == NULL || pass_file != NULL)) {
		fprintf(stderr, "bootsign pki: --token needs --pin-file and takes no --pass-file\n");
		return 2;
	}
	if (token_uri != NULL && !bs_cli_token_uri_ok("bootsign pki", token_uri))
		return 2;
	if (token_uri == NULL && (pin_file != NULL || module != NULL)) {
		fprintf(stderr, "bootsign pki: --pin-file/--module only go with --token\n");
		return 2;
	}
	char *pass = NULL, *pin = NULL;
	if (pass_file != NULL && read_secret(&pass, pass_file, "passphrase") != 0)
		return 1;
	if (pin_file != NULL && read_secret(&pin, pin_file, "PIN") != 0) {
		bs_free_secret_str(pass);
		return 1;
	}
	o.passphrase = pass;
	struct bs_error err = { 0 };
	struct bs_p11_keygen *kg = NULL;
	int rc = 0;
	if (token_uri != NULL) {
		rc = bs_p11_keygen_open(&kg, module, token_uri, pin, &err);
		if (rc == 0)
			o.keygen = bs_p11_keygen_get(kg);
	}
	if (rc == 0)
		rc = bs_pki_create(&o, &err);
	bs_p11_keygen_close(kg);
	bs_free_secret_str(pass);
	bs_free_secret_str(pin);
	if (rc != 0) {
		fprintf(stderr, "bootsign pki: %s (%s)\n", err.msg, bs_err_name(rc));
		return 1;
	}
	printf("%s: %s PKI created (%s, %u SRK%s)\n", o.outdir, o.ahab ? "AHAB" : "HAB4",
	       bs_pki_keytype_name(o.keytype), o.nsrk, o.nsrk > 1 ? "s" : "");
	return 0;
}

static int cmd_bundle(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *outpath = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 'o': outpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || from == NULL || outpath == NULL) {
		fprintf(stderr, "bootsign pki bundle: --from DIR and --out FILE are required\n");
		return 2;
	}
	struct bs_error err = { 0 };
	uint8_t *tgz = NULL;
	size_t len = 0, skipped = 0;
	int rc = bs_pki_pack_bundle(&tgz, &len, from, &skipped, &err);
	if (rc == 0)
		rc = bs_write_file(outpath, tgz, len, 0600, true, &err);
	free(tgz);
	if (rc != 0) {
		fprintf(stderr, "bootsign pki bundle: %s\n", err.msg);
		return rc == BS_ERR_NOT_FOUND || rc == BS_ERR_INVALID ? 2 : 1;
	}
	printf("%s: server bundle from %s (%zu file%s left out: SRK/CA private keys and files "
	       "outside crts/ and keys/)\n", outpath, from, skipped, skipped == 1 ? "" : "s");
	return 0;
}

int bs_cmd_pki(int argc, char **argv)
{
	if (bs_cli_protect_secrets("pki") != 0)
		return 1;
	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "bundle") == 0)
		return cmd_bundle(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
