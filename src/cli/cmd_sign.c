/* bootsign sign <format>: the server's signing job, offline. The same signer table, the
 * same field checks (http/multipart.c validates the form exactly as for a request), the
 * same keyring (a key root laid out like the server's: <keys>/<machine>/<signtype>/...)
 * and the same job; only the transport differs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/protect.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/secret.h"
#include "core/util.h"
#include "client/outfile.h"
#include "http/multipart.h"
#include "http/spool.h"
#include "keys/keyring.h"
#include "sign/job.h"
#include "sign/signer.h"


static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign sign <format> --keys DIR [--machine M | --distro D]\n"
		"                     [--field name=value | name=@file ...] [--file name=PATH ...]\n"
		"                     [--pin-file F] [--module PATH] -o OUT [INPUT...]\n\n"
		"Runs the server's signer for <format> offline: the fields are the endpoint's\n"
		"multipart fields (POST /sign/<format>), checked the same way; INPUT files fill\n"
		"the format's file fields in order (or name them with --file). Keys come from\n"
		"DIR/<machine or distro>/<signtype>/... as on the server, or from a PKCS#11 token\n"
		"(backend=pkcs11; the PIN from --pin-file, a 0600 file, or $YUBIHSM_PASSWORD).\n"
		"OUT is written atomically ('-' = standard output).\n\nformats:\n");
	size_t n = 0;
	const struct bs_signer *const *all = bs_signers(&n);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "  %-12s %s\n", all[i]->name, all[i]->summary ? all[i]->summary : "");
		fprintf(out, "  %-12s fields:", "");
		for (size_t f = 0; f < all[i]->nfields; f++)
			fprintf(out, " %s%s%s%s", all[i]->fields[f].required ? "" : "[",
				all[i]->fields[f].name,
				all[i]->fields[f].store == BS_FIELD_SPOOL ? "=FILE" : "",
				all[i]->fields[f].required ? "" : "]");
		fprintf(out, "\n");
	}
}

/* Feed one name=value (or name=@file) into the form. */
static int add_field(struct bs_upload *up, const char *arg, struct bs_error *err)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg)
		return bs_error_set(err, BS_ERR_INVALID, "--field %s: expected name=value", arg);
	char name[64];
	size_t nl = (size_t)(eq - arg);
	if (nl >= sizeof(name))
		return bs_error_set(err, BS_ERR_INVALID, "--field: name too long");
	memcpy(name, arg, nl);
	name[nl] = '\0';
	const char *value = eq + 1;
	if (value[0] != '@') {
		if (bs_upload_feed(up, name, NULL, NULL, value, 0, strlen(value)) != 0)
			return bs_upload_error(up, err);
		return 0;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_read_file(&data, &len, value + 1, BS_CLI_FIELD_FILE_MAX, err);
	if (rc != 0)
		return rc;
	char *copy = bs_strdup(value + 1);
	if (copy == NULL) {
		free(data);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	rc = bs_upload_feed(up, name, basename(copy), NULL, (const char *)data, 0, len);
	free(copy);
	free(data);
	return rc != 0 ? bs_upload_error(up, err) : 0;
}

static int add_file(struct bs_upload *up, const char *field, const char *path,
		    struct bs_error *err)
{
	/* a text field sent as a file part (curl -F "csf=@flash.csf") is read like
	 * --field csf=@flash.csf */
	const struct bs_form_field *f = bs_form_get(bs_upload_form(up), field);
	if (f != NULL && f->spec->store == BS_FIELD_MEM) {
		size_t n = strlen(field) + strlen(path) + 3;
		char *arg = malloc(n);
		if (arg == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		snprintf(arg, n, "%s=@%s", field, path);
		int rc = add_field(up, arg, err);
		free(arg);
		return rc;
	}
	char *copy = bs_strdup(path);
	if (copy == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = bs_upload_attach_file(up, field, path, basename(copy), err);
	free(copy);
	return rc;
}

/* The output to OUT: a temporary file beside it, renamed over it at the end. */
/* The output to OUT ("-" = standard output): written atomically (client/outfile.h: a
 * temporary file beside it, fsync, rename). */
static int write_output(const char *out_path, const struct bs_job_output *o,
			struct bs_error *err)
{
	struct bs_outfile of = {0};
	bool to_stdout = strcmp(out_path, "-") == 0;
	FILE *fp = stdout;
	int rc = 0;
	if (!to_stdout) {
		if ((rc = bs_outfile_open(&of, out_path, err)) != 0)
			return rc;
		fp = of.fp;
	}
	if (o->fd < 0) {
		if (fwrite(o->data, 1, o->len, fp) != o->len)
			rc = bs_error_set(err, BS_ERR_IO, "%s: write failed", out_path);
	} else {
		uint8_t buf[BS_COPY_CHUNK];
		ssize_t r;
		while (rc == 0 && (r = read(o->fd, buf, sizeof(buf))) > 0)
			if (fwrite(buf, 1, (size_t)r, fp) != (size_t)r)
				rc = bs_error_set(err, BS_ERR_IO, "%s: write failed", out_path);
	}
	if (to_stdout)
		return rc == 0 && fflush(stdout) != 0
			       ? bs_error_set(err, BS_ERR_IO, "writing standard output failed")
			       : rc;
	if (rc == 0)
		rc = bs_outfile_commit(&of, err);
	bs_outfile_abort(&of);
	return rc;
}

struct sign_args {
	const struct bs_signer *signer;
	const char *keys, *subject, *out, *pin_file, *module;
	const char *fields[BS_CLI_FIELDS_MAX];
	size_t nfields;
	const char *files[BS_CLI_FIELDS_MAX];
	size_t nfiles;
};

static int run(const struct sign_args *a, char **inputs, int ninputs, struct bs_error *err)
{
	struct bs_spool *spool = NULL;
	struct bs_upload *up = NULL;
	struct bs_keyring *kr = NULL;
	struct bs_job *job = NULL;
	char *root = NULL, *pin = NULL;
	int rc = bs_spool_open(&spool, NULL, err);
	if (rc == 0)
		rc = bs_upload_new(&up, a->signer, spool, "cli", UINT64_MAX, err);
	const char *sf = a->signer->subject_field;
	if (rc == 0 && a->subject != NULL && sf != NULL &&
	    bs_upload_feed(up, sf, NULL, NULL, a->subject, 0, strlen(a->subject)) != 0)
		rc = bs_upload_error(up, err);
	for (size_t i = 0; rc == 0 && i < a->nfields; i++)
		rc = add_field(up, a->fields[i], err);
	for (size_t i = 0; rc == 0 && i < a->nfiles; i++) {
		const char *eq = strchr(a->files[i], '=');
		char name[64];
		size_t nl = eq != NULL ? (size_t)(eq - a->files[i]) : 0;
		if (nl == 0 || nl >= sizeof(name)) {
			rc = bs_error_set(err, BS_ERR_INVALID, "--file %s: expected name=PATH",
					  a->files[i]);
			break;
		}
		memcpy(name, a->files[i], nl);
		name[nl] = '\0';
		rc = add_file(up, name, eq + 1, err);
	}
	/* positional inputs fill the file fields not named with --file, in declared order */
	int next = 0;
	const struct bs_form *form = bs_upload_form(up != NULL ? up : NULL);
	for (size_t f = 0; rc == 0 && up != NULL && f < a->signer->nfields && next < ninputs;
	     f++) {
		if (a->signer->fields[f].store != BS_FIELD_SPOOL || form->f[f].present)
			continue;
		rc = add_file(up, a->signer->fields[f].name, inputs[next++], err);
	}
	if (rc == 0 && next < ninputs)
		rc = bs_error_set(err, BS_ERR_INVALID, "%s: more inputs than the format has file "
				  "fields", inputs[next]);
	if (rc == 0)
		rc = bs_upload_finish(up, err);
	if (rc == 0 && a->keys != NULL)
		rc = bs_config_keyfile_path(&root, a->keys, err);
	struct stat kst;
	if (rc == 0 && root != NULL && (stat(root, &kst) != 0 || !S_ISDIR(kst.st_mode)))
		rc = bs_error_set(err, BS_ERR_NOT_FOUND, "--keys %s: no such key store directory "
				  "(it holds <machine or distro>/<signtype>/...)", root);
	if (rc == 0 && a->pin_file != NULL)
		rc = bs_secret_read_file(&pin, a->pin_file, "PIN", err);
	if (rc == 0 && pin == NULL && getenv("YUBIHSM_PASSWORD") != NULL &&
	    (pin = bs_strdup(getenv("YUBIHSM_PASSWORD"))) == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	const struct bs_keyring_opts ko = {.root = root, .p11_module = a->module, .p11_pin = pin,
					   .p11_pool_size = 1};
	if (rc == 0)
		rc = bs_keyring_new(&kr, &ko, err);
	const struct bs_job_opts jo = {.signer = a->signer, .form = form, .keyring = kr,
				       .reqid = "cli", .principal = "cli"};
	if (rc == 0)
		rc = bs_job_new(&job, &jo, err);
	if (rc == 0)
		rc = bs_job_run(job, err);
	struct bs_job_output o = {.fd = -1};
	if (rc == 0)
		rc = bs_job_take_output(job, &o, err);
	if (rc == 0)
		rc = write_output(a->out, &o, err);
	if (o.fd >= 0)
		close(o.fd);
	if (rc == 0 && strcmp(a->out, "-") != 0) {
		const struct bs_job_record *r = bs_job_record(job);
		char keys[512];
		bs_job_record_keys(r, keys, sizeof(keys));
		fprintf(stderr, "%s: %s signed (%zu signature%s, keys %s)\n", a->out,
			a->signer->name, r->ndigests, r->ndigests == 1 ? "" : "s",
			keys[0] ? keys : "-");
	}
	bs_job_free(job);
	bs_keyring_free(kr);
	bs_upload_free(up);
	bs_spool_close(spool);
	bs_free_secret_str(pin);
	free(root);
	return rc;
}

int bs_cmd_sign(int argc, char **argv)
{
	if (bs_cli_protect_secrets("sign") != 0)
		return 1;
	static const struct option opts[] = {
		{"keys", required_argument, NULL, 'k'},
		{"machine", required_argument, NULL, 'm'},
		{"distro", required_argument, NULL, 'd'},
		{"field", required_argument, NULL, 'F'},
		{"file", required_argument, NULL, 'f'},
		{"pin-file", required_argument, NULL, 'P'},
		{"module", required_argument, NULL, 'M'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	struct sign_args a = {.signer = bs_signer_find(argv[1])};
	if (a.signer == NULL) {
		fprintf(stderr, "bootsign sign: unknown format '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	optind = 1;
	int c;
	while ((c = getopt_long(argc - 1, argv + 1, "k:m:d:F:f:P:M:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': a.keys = optarg; break;
		case 'm':
		case 'd': a.subject = optarg; break;
		case 'F':
		case 'f':
			if ((c == 'F' ? a.nfields : a.nfiles) >= BS_CLI_FIELDS_MAX) {
				fprintf(stderr, "bootsign sign: too many fields\n");
				return 2;
			}
			if (c == 'F')
				a.fields[a.nfields++] = optarg;
			else
				a.files[a.nfiles++] = optarg;
			break;
		case 'P': a.pin_file = optarg; break;
		case 'M': a.module = optarg; break;
		case 'o': a.out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (a.out == NULL) {
		fprintf(stderr, "bootsign sign: -o OUT is required\n");
		return 2;
	}
	struct bs_error err = {0};
	int rc = run(&a, argv + 1 + optind, argc - 1 - optind, &err);
	if (rc != 0) {
		fprintf(stderr, "bootsign sign %s: %s (%s)\n", a.signer->name, err.msg,
			bs_err_name(rc));
		return rc == BS_ERR_INVALID || rc == BS_ERR_NOT_FOUND || rc == BS_ERR_SYNTAX ||
				       rc == BS_ERR_PATH
			       ? 2
			       : 1;
	}
	return 0;
}
