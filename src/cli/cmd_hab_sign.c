/* `bootsign hab sign`: a drop-in for NXP's `cst` (same flags; -i/-o/-b/-h/-v, long forms,
 * and the old `--i/--o` spellings through getopt abbreviations). Reads the CSF text,
 * parses it (warnings as file:line:col: warning: ...), resolves certificates and keys
 * from a key store (confined with --keys, else CST-like from the working directory),
 * signs and writes the binary CSF atomically. Nothing is left behind on failure. */
#include <getopt.h>
#include <p11-kit/uri.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd_ahab.h"
#include "cli/protect.h"
#include "cli/cmd_hab.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"
#include "formats/ahab/csf.h"
#include "formats/hab/csf.h"
#include "formats/hab/csf_sign.h"
#include "keys/pkcs11.h"
#include "keys/store.h"


static void sign_usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign hab sign -i CSF.txt -o CSF.bin [options]\n\n"
		"Compile and sign a HAB4 CSF exactly as NXP cst 4.0.1 lays it out. Certificate,\n"
		"key and SRK table names in the CSF resolve in the key store; Blocks files\n"
		"relative to the working directory (as cst does).\n"
		"An AHAB CSF ([Header] Target = AHAB) signs the container at its Offsets in the\n"
		"Authenticate Data file; -o then receives the whole signed image (docs/ahab.md).\n"
		"      --ahab-cert-signature  AHAB: write the SRK's signature over the CSF's\n"
		"                          [Install Certificate] to -o instead (where the SRK key\n"
		"                          lives); a server CSF names that file as the\n"
		"                          certificate's Signature and needs no SRK key\n\n"
		"  -i, --input FILE        CSF description (text)\n"
		"  -o, --output FILE       binary CSF to write (atomically)\n"
		"  -b, --backend ssl|pkcs11  key backend (default ssl: key files)\n"
		"      --keys DIR|FILE.tar.gz  key store, names confined to it (default: the\n"
		"                          working directory, any readable path, like cst)\n"
		"      --strict            reject constructs cst accepts but HAB likely refuses\n"
		"      --signing-time UNIX fixed CMS signingTime (reproducible output)\n"
		"      --allow-unbootable  skip the key chain checks (certificate issuers, CA\n"
		"                          flags, fast authentication, RSA-PSS, hash-only SRK):\n"
		"                          writes a CSF the boot ROM will refuse, on purpose\n"
		"  -d, --dek, -c, --cert   encrypted boot (not supported)\n"
		"  -v, --version           print the version\n"
		"  -h, --help              this text\n\n"
		"With -b pkcs11, certificate names are pkcs11: URIs (token objects; the key is\n"
		"the private key with the same label/id). The module is --module, else\n"
		"PKCS11_MODULE_PATH, else the p11-kit proxy. The user PIN is the first line of\n"
		"--pin-file, else (as cst) the pin-value of the first URI in the CSF.\n"
		"      --module PATH       PKCS#11 module (with -b pkcs11)\n"
		"      --pin-file FILE     token user PIN, first line (with -b pkcs11)\n");
}

struct sign_args {
	const char *input, *output, *keys, *module, *pin_file;
	bool strict, pkcs11, allow_unbootable;
	bool ahab_cert_sig; /* AHAB: write the certificate's SRK signature, not an image */
	time_t signing_time;
};

static int open_store(struct bs_store **store, const struct sign_args *a, struct bs_error *err)
{
	if (a->keys == NULL)
		return bs_store_open_dir(store, ".", false, err);
	if (bs_ends_with_ci(a->keys, ".tar.gz") || bs_ends_with_ci(a->keys, ".tgz"))
		return bs_store_open_tgz_file(store, a->keys, err);
	return bs_store_open_dir(store, a->keys, true, err);
}

#define URIS_MAX BS_CSF_CMDS_MAX

/* The file names of a CSF (HAB4 commands, or AHAB Source and certificate) that may be
 * pkcs11: URIs; the pointers are the CSF's own strings. */
struct uri_list {
	char *v[URIS_MAX];
	size_t n;
};

/* cst passes the URI to libp11, which logs in with its pin-value: do the same with the
 * first pkcs11: URI of the CSF that carries one. *out malloc'd (NULL if none). */
static int pin_from_uris(char **out, const struct uri_list *u, struct bs_error *err)
{
	*out = NULL;
	for (size_t i = 0; i < u->n; i++) {
		const char *f = u->v[i];
		if (f == NULL || strncmp(f, "pkcs11:", 7) != 0)
			continue;
		/* p11-kit parses the URI and percent-decodes the PIN. */
		P11KitUri *uri = p11_kit_uri_new();
		if (uri == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		const char *v = NULL;
		if (p11_kit_uri_parse(f, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK)
			v = p11_kit_uri_get_pin_value(uri);
		bool found = v != NULL;
		char *pin = found ? bs_strdup(v) : NULL;
		p11_kit_uri_free(uri);
		if (!found)
			continue;
		if (pin == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		*out = pin;
		return 0;
	}
	return 0;
}

/* Remove every pin-value attribute from a pkcs11: URI in place (wiping the freed tail):
 * the PIN goes to the token login, and the key layer refuses URIs that carry one. */
static void strip_pin(char *uri)
{
	char *p;
	size_t len = strlen(uri);
	while ((p = strstr(uri + 7, "pin-value=")) != NULL) {
		char sep = p[-1];
		char *start = p, *end = p + strcspn(p, ";?&");
		if (sep == ';' || sep == '&')
			start = p - 1;
		else if (*end == ';' || *end == '&')
			end++;
		else if (sep == '?')
			start = p - 1;
		else if (sep != ':')
			break; /* "xpin-value=" inside another attribute: leave it */
		memmove(start, end, strlen(end) + 1);
		size_t now = strlen(uri);
		OPENSSL_cleanse(uri + now, len - now);
		len = now;
	}
}

static void strip_pins(const struct uri_list *u)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i] != NULL && strncmp(u->v[i], "pkcs11:", 7) == 0)
			strip_pin(u->v[i]);
}

static int open_p11(struct bs_p11 **p11, const struct sign_args *a, const struct uri_list *u,
		    struct bs_error *err)
{
	char *pin = NULL;
	int rc = a->pin_file ? bs_secret_read_file(&pin, a->pin_file, "PIN", err)
			     : pin_from_uris(&pin, u, err);
	if (rc != 0)
		return rc;
	if (pin == NULL)
		return bs_error_set(err, BS_ERR_INVALID,
				    "backend pkcs11: no PIN (give --pin-file, or a pin-value "
				    "attribute in the pkcs11: URIs as for cst)");
	const char *module = a->module ? a->module : getenv("PKCS11_MODULE_PATH");
	strip_pins(u);
	struct bs_p11_opts o = {.module = module, .pin = pin, .pool_size = 1};
	rc = bs_p11_open(p11, &o, err);
	bs_free_secret_str(pin);
	return rc;
}

/* [Header] Target = AHAB: the AHAB CSF, signed into a whole image (cmd_ahab.c). */
static int do_sign_ahab(const struct sign_args *a)
{
	struct bs_error err;
	bs_error_clear(&err);
	uint8_t *text = NULL;
	size_t text_len = 0;
	struct bs_ahab_csf *csf = NULL;
	struct bs_store *store = NULL;
	struct bs_p11 *p11 = NULL;
	int status = 1;
	if (bs_read_file(&text, &text_len, a->input, BS_CSF_TEXT_MAX, &err) != 0 ||
	    bs_ahab_csf_parse(&csf, (const char *)text, text_len, a->input, &err) != 0)
		goto out;
	for (size_t i = 0; i < csf->nwarnings; i++)
		fprintf(stderr, "%s:%u:%u: warning: %s\n", a->input, csf->warnings[i].line,
			csf->warnings[i].col, csf->warnings[i].msg);
	struct uri_list uris = {.v = {csf->source.name, csf->cert.name}, .n = 2};
	if (a->pkcs11 && open_p11(&p11, a, &uris, &err) != 0)
		goto out;
	if (!a->pkcs11 && (strncmp(csf->source.name, "pkcs11:", 7) == 0 ||
			   (csf->cert.name != NULL && strncmp(csf->cert.name, "pkcs11:", 7) == 0))) {
		bs_error_set(&err, BS_ERR_INVALID, "%s: pkcs11: URIs need -b pkcs11", a->input);
		goto out;
	}
	if (open_store(&store, a, &err) != 0)
		goto out;
	if (p11 != NULL)
		bs_store_set_uri_loader(store, &bs_p11_uri_loader, p11);
	struct bs_key_source keys = bs_store_key_source(store);
	if ((a->ahab_cert_sig ? bs_cli_ahab_cert_signature(csf, a->output, &keys, &err)
			      : bs_cli_ahab_sign(csf, a->output, &keys, &err)) != 0)
		goto out;
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "bootsign hab sign: %s\n", err.msg);
	bs_store_free(store);
	bs_p11_close(p11);
	bs_ahab_csf_free(csf);
	if (text != NULL)
		bs_free_secret(text, text_len);
	return status;
}

static int do_sign(const struct sign_args *a)
{
	struct bs_error err;
	bs_error_clear(&err);
	uint8_t *text = NULL, *out = NULL;
	size_t text_len = 0, out_len = 0;
	struct bs_csf *csf = NULL;
	struct bs_store *store = NULL;
	struct bs_p11 *p11 = NULL;
	int status = 1;
	if (bs_read_file(&text, &text_len, a->input, BS_CSF_TEXT_MAX, &err) != 0)
		goto out;
	if (bs_ahab_csf_detect((const char *)text, text_len)) {
		free(text);
		return do_sign_ahab(a);
	}
	struct bs_csf_parse_opts popts = {.strict = a->strict};
	int rc = bs_csf_parse(&csf, (const char *)text, text_len, a->input, &popts, &err);
	if (csf != NULL)
		for (size_t i = 0; i < csf->nwarnings; i++)
			fprintf(stderr, "%s:%u:%u: warning: %s\n", a->input, csf->warnings[i].line,
				csf->warnings[i].col, csf->warnings[i].msg);
	if (rc != 0)
		goto out;
	struct uri_list uris = {.n = 0};
	for (size_t i = 0; i < csf->ncmds && uris.n < URIS_MAX; i++)
		uris.v[uris.n++] = csf->cmds[i].file;
	if (a->pkcs11 && open_p11(&p11, a, &uris, &err) != 0)
		goto out;
	if (open_store(&store, a, &err) != 0)
		goto out;
	if (p11 != NULL)
		bs_store_set_uri_loader(store, &bs_p11_uri_loader, p11);
	struct bs_hab_sign_opts sopts = {
		.keys = bs_store_key_source(store),
		.data = bs_data_source_cwd,
		.signing_time = a->signing_time,
		.allow_unbootable = a->allow_unbootable,
	};
	struct bs_hab_sign_report report;
	memset(&report, 0, sizeof(report));
	if (bs_hab_sign(&out, &out_len, csf, &sopts, &report, &err) != 0)
		goto out;
	if (bs_write_file(a->output, out, out_len, 0644, false, &err) != 0)
		goto out;
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "bootsign hab sign: %s\n", err.msg);
	free(out);
	bs_store_free(store);
	bs_p11_close(p11);
	bs_csf_free(csf);
	free(text);
	return status;
}

int bs_cmd_hab_sign(int argc, char **argv)
{
	if (bs_cli_protect_secrets("hab sign") != 0)
		return 1;
	static const struct option longopts[] = {
		{"input", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"backend", required_argument, NULL, 'b'},
		{"dek", required_argument, NULL, 'd'},
		{"cert", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{"keys", required_argument, NULL, 'K'},
		{"strict", no_argument, NULL, 'S'},
		{"signing-time", required_argument, NULL, 'T'},
		{"module", required_argument, NULL, 'M'},
		{"pin-file", required_argument, NULL, 'P'},
		{"allow-unbootable", no_argument, NULL, 'U'},
		{"ahab-cert-signature", no_argument, NULL, 'A'},
		{NULL, 0, NULL, 0},
	};
	struct sign_args a = {0};
	uint64_t t;
	struct bs_error perr = {0};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "i:o:b:d:c:hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			a.input = optarg;
			break;
		case 'A':
			a.ahab_cert_sig = true;
			break;
		case 'o':
			a.output = optarg;
			break;
		case 'b':
			if (strcmp(optarg, "ssl") == 0) {
				a.pkcs11 = false;
			} else if (strcmp(optarg, "pkcs11") == 0) {
				a.pkcs11 = true;
			} else {
				fprintf(stderr, "bootsign hab sign: unknown backend '%s' "
					"(ssl or pkcs11)\n", optarg);
				return 2;
			}
			break;
		case 'd':
		case 'c':
			fprintf(stderr, "bootsign hab sign: -%c/--%s: encrypted boot (Install Secret "
				"Key / Decrypt Data) is not supported\n", ch,
				ch == 'd' ? "dek" : "cert");
			return 1;
		case 'K':
			a.keys = optarg;
			break;
		case 'S':
			a.strict = true;
			break;
		case 'U':
			a.allow_unbootable = true;
			break;
		case 'M':
			a.module = optarg;
			break;
		case 'P':
			a.pin_file = optarg;
			break;
		case 'T':
			if (bs_parse_u64(&t, optarg, 0, 1, 0xFFFFFFFFull, "--signing-time", &perr)
			    != 0) {
				fprintf(stderr, "bootsign hab sign: %s (seconds since 1970)\n",
					perr.msg);
				return 2;
			}
			a.signing_time = (time_t)t;
			break;
		case 'v':
			printf("bootsign %s (CST 4.0.1 compatible)\n", BS_VERSION);
			return 0;
		case 'h':
			sign_usage(stdout);
			return 0;
		default:
			sign_usage(stderr);
			return 2;
		}
	}
	if (!a.pkcs11 && (a.module != NULL || a.pin_file != NULL)) {
		fprintf(stderr, "bootsign hab sign: --module/--pin-file go with -b pkcs11\n");
		return 2;
	}
	if (optind != argc || a.input == NULL || a.output == NULL) {
		fprintf(stderr, "bootsign hab sign: %s\n\n",
			optind != argc ? "unexpected argument" : "-i and -o are required");
		sign_usage(stderr);
		return 2;
	}
	return do_sign(&a);
}
