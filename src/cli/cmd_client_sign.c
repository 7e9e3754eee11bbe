/* bootsign client sign: any endpoint of the server, its multipart fields from the command
 * line, the answer to a file (a scriptable replacement for the curl recipes). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_client.h"
#include "client/outfile.h"
#include "core/limits.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign client sign <endpoint> --server URL [--field name=value ...]\n"
		"                            [--file name=PATH ...] -o OUT\n\n"
		"POSTs to <server>/sign/<endpoint> (imx, tegra/uefi, optee, swupdate, ...;\n"
		"GET /signers lists each endpoint's fields) and writes the answer to OUT\n"
		"('-' = standard output). A --file is sent as a file part named after PATH's\n"
		"file name. Server errors are shown with their status and request id.\n\n"
		"  --field name=value  a text field (repeat)\n"
		"  --file name=PATH    a file field (repeat)\n"
		BS_CLIENT_USAGE_COMMON
		"\nExit status: 0 written, 1 failed (nothing written), 2 usage error.\n");
}

static int split(struct bs_client_part *p, const char *arg, bool file, struct bs_error *err)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= 64)
		return bs_error_set(err, BS_ERR_INVALID, "--%s %s: expected name=%s",
				    file ? "file" : "field", arg, file ? "PATH" : "value");
	char *name = strndup(arg, (size_t)(eq - arg));
	if (name == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	*p = (struct bs_client_part){.name = name};
	if (file) {
		const char *slash = strrchr(eq + 1, '/');
		p->path = eq + 1;
		p->filename = slash ? slash + 1 : eq + 1;
	} else {
		p->value = eq + 1;
	}
	return 0;
}

static int post_to(const struct bs_client_cli *cc, const char *endpoint,
		   const struct bs_client_part *parts, size_t n, struct bs_error *err)
{
	struct bs_client_result res;
	if (strcmp(cc->out, "-") == 0) {
		int rc = bs_client_post(&res, &cc->c, endpoint, parts, n, stdout, 0, err);
		if (rc == 0 && fflush(stdout) != 0)
			rc = bs_error_set(err, BS_ERR_IO, "writing standard output failed");
		return rc;
	}
	struct bs_outfile of;
	int rc = bs_outfile_open(&of, cc->out, err);
	if (rc != 0)
		return rc;
	rc = bs_client_post(&res, &cc->c, endpoint, parts, n, of.fp, 0, err);
	if (rc == 0)
		rc = bs_outfile_commit(&of, err);
	bs_outfile_abort(&of);
	if (rc == 0 && cc->verbose)
		fprintf(stderr, "bootsign client sign: %s: request id %s, sent %" PRIu64 " bytes\n",
			endpoint, res.reqid[0] ? res.reqid : "-", res.sent);
	return rc;
}

int bs_cmd_client_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		BS_CLIENT_LONGOPTS,
		{"field", required_argument, NULL, 'F'},
		{"file", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	struct bs_client_cli cc = {.c.retries = -1};
	struct bs_client_part parts[BS_CLI_FIELDS_MAX];
	size_t n = 0;
	struct bs_error err = {0};
	int opt, rc = 0, st = 0;
	optind = 1;
	while (rc == 0 && (opt = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
		if (bs_client_cli_opt(&cc, opt, optarg))
			continue;
		if ((opt == 'F' || opt == 'f') && n == BS_CLI_FIELDS_MAX) {
			rc = bs_error_set(&err, BS_ERR_LIMIT, "at most %d fields and files",
					  BS_CLI_FIELDS_MAX);
			break;
		}
		switch (opt) {
		case 'F':
		case 'f':
			rc = split(&parts[n], optarg, opt == 'f', &err);
			n += rc == 0;
			break;
		case 'h': usage(stdout); goto out;
		default: usage(stderr); st = 2; goto out;
		}
	}
	if (rc != 0) {
		st = 2;
		bs_client_cli_fail("sign", &err);
		goto out;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "bootsign client sign: one <endpoint> is required (--help)\n");
		st = 2;
		goto out;
	}
	st = bs_client_cli_ready(&cc, "sign");
	if (st == 0 && post_to(&cc, argv[optind], parts, n, &err) != 0)
		st = bs_client_cli_fail("sign", &err);
out:
	for (size_t i = 0; i < n; i++)
		free((char *)parts[i].name);
	bs_client_cli_done(&cc);
	return st;
}
