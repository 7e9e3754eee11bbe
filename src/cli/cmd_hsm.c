/* bootsign hsm: PKCS#11 token provisioning.
 *   import  write a CST PKI key (encrypted PKCS#8) + certificate into a token as a
 *           sensitive, non-extractable signing key, its public key and the certificate;
 *   list    print the token's objects (label, id, type, key size, usage).
 * The token PIN comes from --pin-file, the environment (BOOTSIGN_PIN) or a tty prompt,
 * never from the command line. Key material is only held in (wiped) memory. */
#include <fcntl.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cmd_hab.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"
#include "crypto/x509.h"
#include "keys/pkcs11.h"

static void usage_import(FILE *f)
{
	fprintf(f,
		"usage: bootsign hsm import --token URI --cert CRT --key KEY --label L --id HEX\n"
		"                           [--pass-file F] [--module PATH] [--pin-file F]\n"
		"Writes KEY (PEM or DER PKCS#8, possibly encrypted) into the token as a sensitive,\n"
		"non-extractable signing key, plus its public key and the certificate CRT (PEM if\n"
		"the name ends in .pem, else DER), all under label L and id HEX. The passphrase is\n"
		"the first line of --pass-file, else of key_pass.txt beside KEY (CST layout), else\n"
		"asked on the terminal. The token PIN is the first line of --pin-file, else\n"
		"$BOOTSIGN_PIN, else asked on the terminal; it is never taken from the command\n"
		"line. Existing objects with the same label or id are not overwritten.\n"
		"URI example: pkcs11:token=YubiHSM   (module default: %s)\n",
		BS_P11_DEFAULT_MODULE);
}

static void usage_list(FILE *f)
{
	fprintf(f,
		"usage: bootsign hsm list --token URI [--module PATH] [--pin-file F]\n"
		"Prints the token's objects: type, key type and size, usage, id and label.\n"
		"PIN: --pin-file, $BOOTSIGN_PIN or a terminal prompt (never the command line).\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bootsign hsm import|list [options]   ('bootsign hsm import --help')\n");
}

/* Read a line from the terminal without echo. */
static int prompt_tty(char **out, const char *prompt)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* nothing: the prompt is a courtesy */
	}
	char *buf = calloc(1, BS_PROMPT_MAX);
	size_t n = 0;
	while (buf != NULL && n < BS_PROMPT_MAX - 1) {
		char c;
		if (read(fd, &c, 1) != 1 || c == '\n' || c == '\r')
			break;
		buf[n++] = c;
	}
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* ignore */
	}
	close(fd);
	if (buf == NULL || n == 0) {
		bs_free_secret(buf, BS_PROMPT_MAX);
		return -1;
	}
	*out = buf;
	return 0;
}

/* First line of a 0600 secret file; -1 after a message. */
static int read_secret_file(char **out, const char *path, const char *what)
{
	struct bs_error err = {0};
	if (bs_secret_read_file(out, path, what, &err) != 0) {
		fprintf(stderr, "bootsign hsm: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int get_pin(char **out, const char *pin_file)
{
	if (pin_file != NULL)
		return read_secret_file(out, pin_file, "PIN");
	const char *env = getenv("BOOTSIGN_PIN");
	if (env != NULL && env[0] != '\0') {
		*out = bs_strdup(env);
		return *out != NULL ? 0 : -1;
	}
	if (prompt_tty(out, "Token user PIN: ") == 0)
		return 0;
	fprintf(stderr, "bootsign hsm: no PIN: use --pin-file F, $BOOTSIGN_PIN or a terminal\n");
	return -1;
}

static int open_token(struct bs_p11 **out, const char *module, const char *pin_file)
{
	char *pin = NULL;
	if (get_pin(&pin, pin_file) != 0)
		return -1;
	struct bs_p11_opts o = {.module = module, .pin = pin, .pool_size = 1,
				.op_timeout_ms = 600000};
	struct bs_error err = {0};
	int rc = bs_p11_open(out, &o, &err);
	bs_free_secret_str(pin);
	if (rc != 0) {
		fprintf(stderr, "bootsign hsm: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	const char *pass = u;
	if (pass == NULL)
		return -1;
	size_t n = strlen(pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

static EVP_PKEY *parse_key(const uint8_t *data, size_t len, const char *pass)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	EVP_PKEY *k = NULL;
	if (bio == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, (void *)pass);
	if (k == NULL) {
		(void)BIO_reset(bio);
		k = d2i_PKCS8PrivateKey_bio(bio, NULL, pass_cb, (void *)pass);
	}
	if (k == NULL) {
		(void)BIO_reset(bio);
		k = d2i_PrivateKey_bio(bio, NULL);
	}
	BIO_free(bio);
	return k;
}

/* The key, with the passphrase from --pass-file, key_pass.txt beside it, or the tty. */
static EVP_PKEY *load_key(const char *path, const char *pass_file)
{
	struct bs_error err = {0};
	uint8_t *data = NULL;
	size_t len = 0;
	char *pass = NULL;
	EVP_PKEY *k = NULL;
	if (bs_read_file(&data, &len, path, BS_KEY_FILE_MAX, &err) != 0) {
		fprintf(stderr, "bootsign hsm: key: %s\n", err.msg);
		return NULL;
	}
	if (pass_file != NULL) {
		if (read_secret_file(&pass, pass_file, "passphrase") != 0)
			goto out;
	} else {
		char beside[BS_PATH_MAX];
		const char *slash = strrchr(path, '/');
		int dl = slash != NULL ? (int)(slash - path) : 1;
		snprintf(beside, sizeof(beside), "%.*s/key_pass.txt", dl,
			 slash != NULL ? path : ".");
		if (access(beside, R_OK) == 0 &&
		    read_secret_file(&pass, beside, "passphrase") != 0)
			goto out;
	}
	ERR_set_mark();
	k = parse_key(data, len, pass);
	if (k == NULL && pass == NULL && prompt_tty(&pass, "Key passphrase: ") == 0)
		k = parse_key(data, len, pass);
	ERR_pop_to_mark();
	if (k == NULL)
		fprintf(stderr, "bootsign hsm: cannot read private key %s (wrong passphrase or "
			"not a PEM/DER PKCS#8 key)\n", path);
out:
	bs_free_secret(data, len);
	bs_free_secret_str(pass);
	return k;
}

static X509 *load_cert(const char *path)
{
	struct bs_error err = {0};
	uint8_t *data = NULL;
	size_t len = 0;
	if (bs_read_file(&data, &len, path, BS_KEY_FILE_MAX, &err) != 0) {
		fprintf(stderr, "bootsign hsm: certificate: %s\n", err.msg);
		return NULL;
	}
	X509 *x = NULL;
	if (bs_x509_from_bytes(&x, data, len, bs_ends_with_ci(path, ".pem"), path, NULL) != 0)
		fprintf(stderr, "bootsign hsm: %s is not a %s X.509 certificate\n", path,
			bs_ends_with_ci(path, ".pem") ? "PEM" : "DER");
	free(data);
	return x;
}

/* "3001" or "0x3001": the token object id bytes. */
static int parse_hex(uint8_t *out, size_t *out_len, const char *hex)
{
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	size_t n = strlen(hex);
	if (n == 0 || n % 2 != 0 || n / 2 > BS_P11_ID_MAX)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
		if (strspn(two, "0123456789abcdefABCDEF") != 2 || sscanf(two, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*out_len = n / 2;
	return 0;
}

enum { O_TOKEN = 1, O_CERT, O_KEY, O_PASS, O_LABEL, O_ID, O_MODULE, O_PINFILE, O_PIN, O_HELP };

static const struct option g_opts[] = {
	{"token", required_argument, NULL, O_TOKEN},   {"cert", required_argument, NULL, O_CERT},
	{"key", required_argument, NULL, O_KEY},       {"pass-file", required_argument, NULL, O_PASS},
	{"label", required_argument, NULL, O_LABEL},   {"id", required_argument, NULL, O_ID},
	{"module", required_argument, NULL, O_MODULE}, {"pin-file", required_argument, NULL, O_PINFILE},
	{"pin", required_argument, NULL, O_PIN},       {"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0},
};

struct args {
	const char *token, *cert, *key, *pass, *label, *id, *module, *pin_file;
	bool help;
};

static int parse_args(struct args *a, int argc, char **argv)
{
	int c;
	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", g_opts, NULL)) != -1) {
		switch (c) {
		case O_TOKEN: a->token = optarg; break;
		case O_CERT: a->cert = optarg; break;
		case O_KEY: a->key = optarg; break;
		case O_PASS: a->pass = optarg; break;
		case O_LABEL: a->label = optarg; break;
		case O_ID: a->id = optarg; break;
		case O_MODULE: a->module = optarg; break;
		case O_PINFILE: a->pin_file = optarg; break;
		case O_PIN:
			/* Do not echo it. */
			fprintf(stderr, "bootsign hsm: a PIN is never accepted on the command line; "
				"use --pin-file F, $BOOTSIGN_PIN or the terminal prompt\n");
			return -1;
		case 'h':
		case O_HELP: a->help = true; break;
		default: {
			/* Name only: an unknown --xyz=VALUE might carry a secret. */
			const char *o = argv[optind - 1];
			int nl = (int)strcspn(o, "=");
			fprintf(stderr, "bootsign hsm: unknown or incomplete option '%.*s'\n",
				nl > 40 ? 40 : nl, o);
			return -1;
		}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bootsign hsm: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int cmd_import(int argc, char **argv)
{
	struct args a;
	if (parse_args(&a, argc, argv) != 0) {
		usage_import(stderr);
		return 2;
	}
	if (a.help) {
		usage_import(stdout);
		return 0;
	}
	uint8_t id[BS_P11_ID_MAX];
	size_t id_len = 0;
	if (a.token == NULL || a.cert == NULL || a.key == NULL || a.label == NULL ||
	    a.id == NULL) {
		fprintf(stderr, "bootsign hsm import: --token, --cert, --key, --label and --id are "
			"required\n");
		usage_import(stderr);
		return 2;
	}
	if (parse_hex(id, &id_len, a.id) != 0) {
		fprintf(stderr, "bootsign hsm import: --id must be 1..%d bytes of hex (0x "
			"allowed)\n", BS_P11_ID_MAX);
		return 2;
	}
	if (!bs_cli_token_uri_ok("bootsign hsm import", a.token))
		return 2;
	X509 *cert = load_cert(a.cert);
	EVP_PKEY *key = cert != NULL ? load_key(a.key, a.pass) : NULL;
	struct bs_p11 *p11 = NULL;
	int ret = 1;
	if (key != NULL && X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		fprintf(stderr, "bootsign hsm import: certificate and key do not match (%s, %s)\n",
			a.cert, a.key);
		EVP_PKEY_free(key);
		key = NULL;
	}
	if (key == NULL || open_token(&p11, a.module, a.pin_file) != 0)
		goto out;
	struct bs_error err = {0};
	if (bs_p11_import(p11, a.token, key, cert, a.label, id, id_len, &err) != 0) {
		fprintf(stderr, "bootsign hsm import: %s\n", err.msg);
		goto out;
	}
	char hex[2 * BS_P11_ID_MAX + 1];
	printf("imported '%s' (id %s): private key (sensitive, non-extractable), public key, "
	       "certificate\n", a.label, bs_hex(hex, id, id_len));
	ret = 0;
out:
	bs_p11_close(p11);
	EVP_PKEY_free(key);
	X509_free(cert);
	return ret;
}

/* hsm list order: by label, then id, then object type. */
static int info_cmp(const void *a, const void *b)
{
	const struct bs_p11_object_info *x = a, *y = b;
	int c = strcmp(x->label, y->label);
	if (c == 0)
		c = strcmp(x->id_hex, y->id_hex);
	return c != 0 ? c : strcmp(x->type, y->type);
}

static int cmd_list(int argc, char **argv)
{
	struct args a;
	if (parse_args(&a, argc, argv) != 0) {
		usage_list(stderr);
		return 2;
	}
	if (a.help) {
		usage_list(stdout);
		return 0;
	}
	if (a.token == NULL || a.cert || a.key || a.label || a.id || a.pass) {
		fprintf(stderr, "bootsign hsm list: takes --token URI [--module] [--pin-file] only\n");
		usage_list(stderr);
		return 2;
	}
	if (!bs_cli_token_uri_ok("bootsign hsm list", a.token))
		return 2;
	struct bs_p11 *p11 = NULL;
	if (open_token(&p11, a.module, a.pin_file) != 0)
		return 1;
	struct bs_p11_object_info *objs = NULL;
	size_t n = 0;
	struct bs_error err = {0};
	int ret = 0;
	if (bs_p11_list(p11, a.token, &objs, &n, &err) != 0) {
		fprintf(stderr, "bootsign hsm list: %s\n", err.msg);
		ret = 1;
	} else {
		qsort(objs, n, sizeof(*objs), info_cmp);
		printf("%-8s %-10s %-28s %-16s %s\n", "TYPE", "KEY", "USAGE", "ID", "LABEL");
		for (size_t i = 0; i < n; i++) {
			char key[32] = "-";
			/* labels come from the token: no control bytes to the terminal */
			bs_text_sanitize_inplace(objs[i].label);
			if (objs[i].keytype[0] != '\0')
				snprintf(key, sizeof(key), "%s-%u", objs[i].keytype, objs[i].bits);
			printf("%-8s %-10s %-28s %-16s %s\n", objs[i].type, key,
			       objs[i].usage[0] ? objs[i].usage : "-",
			       objs[i].id_hex[0] ? objs[i].id_hex : "-", objs[i].label);
		}
	}
	free(objs);
	bs_p11_close(p11);
	return ret;
}

int bs_cmd_hsm(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	fprintf(stderr, "bootsign hsm: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
