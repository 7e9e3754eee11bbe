/* bootsign audit verify|show: check and read the audit log (auth/audit.h). */
#include <fnmatch.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "cli/commands.h"
#include "core/limits.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: bootsign audit verify LOG [--key PUB.pem]\n"
		     "       bootsign audit show LOG [--client C] [--key-id GLOB] [--since TIME]\n"
		     "                               [--until TIME] [--result R]\n"
		     "\n"
		     "verify checks sequence, record hashes, chain and (with --key) the seals,\n"
		     "and names the first broken record. show prints matching records; TIME is\n"
		     "UTC ISO 8601 (2026-11-29T18:00:00Z; a prefix such as 2026-11-29 works).\n");
}

static int verify(int argc, char **argv)
{
	const char *pubpath = NULL;
	static const struct option lo[] = {{"key", required_argument, NULL, 'k'},
					   {NULL, 0, NULL, 0}};
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "k:", lo, NULL)) != -1) {
		if (c != 'k') {
			usage(stderr);
			return 2;
		}
		pubpath = optarg;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	const char *log = argv[optind];
	EVP_PKEY *pub = NULL;
	if (pubpath != NULL) {
		FILE *kf = fopen(pubpath, "r");
		pub = kf != NULL ? PEM_read_PUBKEY(kf, NULL, NULL, NULL) : NULL;
		if (kf != NULL)
			fclose(kf);
		if (pub == NULL) {
			fprintf(stderr, "bootsign audit verify: %s: not a PEM public key\n", pubpath);
			return 1;
		}
	}
	FILE *f = fopen(log, "r");
	if (f == NULL) {
		perror(log);
		EVP_PKEY_free(pub);
		return 1;
	}
	struct bs_audit_summary s;
	struct bs_error err = {0};
	int rc = bs_audit_verify(&s, f, log, pub, &err);
	fclose(f);
	EVP_PKEY_free(pub);
	if (rc != 0) {
		printf("FAILED: %s\n", err.msg);
		return 1;
	}
	printf("OK: %llu record(s), %llu seal(s)", (unsigned long long)s.records,
	       (unsigned long long)s.seals);
	if (pubpath != NULL)
		printf(", %llu seal signature(s) verified", (unsigned long long)s.seals_checked);
	else
		printf(" (seal signatures not checked: no --key)");
	if (s.after_last_seal > 0)
		printf("; %llu record(s) after the last seal", (unsigned long long)s.after_last_seal);
	printf("\n");
	return 0;
}

static int show(int argc, char **argv)
{
	const char *client = NULL, *key = NULL, *since = NULL, *until = NULL, *result = NULL;
	static const struct option lo[] = {
		{"client", required_argument, NULL, 'c'}, {"key-id", required_argument, NULL, 'k'},
		{"since", required_argument, NULL, 's'},  {"until", required_argument, NULL, 'u'},
		{"result", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:k:s:u:r:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': client = optarg; break;
		case 'k': key = optarg; break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'r': result = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	FILE *f = fopen(argv[optind], "r");
	if (f == NULL) {
		perror(argv[optind]);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	char v[BS_AUDIT_FIELD_MAX + 1], t[64];
	while (getline(&line, &cap, f) > 0) {
		if (bs_audit_field(v, sizeof(v), line, "seal") == 0)
			continue;
		if (bs_audit_field(t, sizeof(t), line, "time") != 0)
			continue;
		if (since != NULL && strncmp(t, since, strlen(since)) < 0)
			continue;
		if (until != NULL && strncmp(t, until, strlen(until)) > 0)
			continue;
		if (client != NULL && (bs_audit_field(v, sizeof(v), line, "client") != 0 ||
				       fnmatch(client, v, 0) != 0))
			continue;
		if (result != NULL && (bs_audit_field(v, sizeof(v), line, "result") != 0 ||
				       strcmp(v, result) != 0))
			continue;
		if (key != NULL) {
			if (bs_audit_field(v, sizeof(v), line, "keys") != 0)
				continue;
			bool hit = false;
			for (char *save = NULL, *k = strtok_r(v, ",", &save); k && !hit;
			     k = strtok_r(NULL, ",", &save))
				hit = fnmatch(key, k, 0) == 0;
			if (!hit)
				continue;
		}
		static const char *const shown[] = {"seq", "time", "client", "source", "endpoint",
						    "subject", "result", "status", "keys", "reason"};
		for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
			if (bs_audit_field(v, sizeof(v), line, shown[i]) == 0)
				printf("%s%s=%s", i ? " " : "", shown[i], v);
		}
		printf("\n");
	}
	free(line);
	fclose(f);
	return 0;
}

int bs_cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return verify(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return show(argc, argv);
	usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
