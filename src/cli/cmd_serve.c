/* bootsign serve: the digsigserver-compatible signing daemon. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "formats/hab/srk.h"
#include "formats/hab/pki.h"
#include "keys/store.h"
#include <unistd.h>
#include "http/server.h"
#include "http/spool.h"
#include "keys/keyring.h"

/* Token objects found by URI are reused this long (keys/tokcache.h). */
#define TOKEN_CACHE_MS 10000
#define SHUTDOWN_GRACE_MS 30000

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootsign serve [--address A] [--port P] [--config FILE] [--keys URI]\n"
		"                      [--state-dir DIR] [--spool-dir DIR] [--threads N]\n"
		"                      [--max-request-size SIZE] [--log-level LEVEL]\n"
		"\n"
		"Runs the signing server (digsigserver-compatible REST API: POST /sign/imx,\n"
		"GET /healthz). Defaults: 127.0.0.1:9999, 600 MB max request.\n"
		"Configuration: defaults < --config file < environment\n"
		"(DIGSIGSERVER_KEYFILE_URI, DIGSIGSERVER_REQUEST_MAX_SIZE, YUBIHSM_PASSWORD)\n"
		"< command-line flags. Without a key store a demo PKI for machine 'demo' is\n"
		"created in the state directory ($XDG_STATE_HOME/bootsign).\n");
}

static bool is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 || strcmp(a, "localhost") == 0;
}

/* ---- embedded default: a demo key store for machine "demo" ---- */

#define DEMO_IMAGE_SIZE 0x2000u
#define DEMO_LOAD_ADDR 0x87800000u

struct demo {
	char dir[2048];     /* state directory */
	char csf[2200];
	char image[2200];
	char fuse_hex[129];
	char fuse_words[200];
	char fuse_path[2300];
};

static int mkdir_p(const char *path, unsigned mode, struct bs_error *err)
{
	char tmp[2200];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return bs_error_set(err, BS_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return bs_error_set(err, BS_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

/* First crts/<prefix>*_crt.pem of the PKI. */
static int find_cert(char *out, size_t cap, const char *pki, const char *prefix,
		     struct bs_error *err)
{
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/crts", pki);
	DIR *d = opendir(dir);
	if (d == NULL)
		return bs_error_set(err, BS_ERR_IO, "%s: %s", dir, strerror(errno));
	struct dirent *e;
	int rc = bs_error_set(err, BS_ERR_NOT_FOUND, "%s: no %s certificate", dir, prefix);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    bs_ends_with_ci(e->d_name, "_crt.pem")) {
			snprintf(out, cap, "crts/%s", e->d_name);
			rc = 0;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* An 8 KiB image with an IVT at offset 0, loaded at DEMO_LOAD_ADDR, CSF right after. */
static int write_demo_image(const char *path, struct bs_error *err)
{
	uint8_t *img = calloc(1, DEMO_IMAGE_SIZE);
	if (img == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	const uint32_t ivt[8] = {0x412000D1u, DEMO_LOAD_ADDR + 0x100, 0, 0, DEMO_LOAD_ADDR + 0x20,
				 DEMO_LOAD_ADDR, DEMO_LOAD_ADDR + DEMO_IMAGE_SIZE, 0};
	for (size_t i = 0; i < 8; i++)
		for (size_t b = 0; b < 4; b++)
			img[4 * i + b] = (uint8_t)(ivt[i] >> (8 * b));
	/* boot data: start, length (image + 8 KiB CSF area), plugin */
	const uint32_t boot[3] = {DEMO_LOAD_ADDR, DEMO_IMAGE_SIZE + 0x2000, 0};
	for (size_t i = 0; i < 3; i++)
		for (size_t b = 0; b < 4; b++)
			img[0x20 + 4 * i + b] = (uint8_t)(boot[i] >> (8 * b));
	for (size_t i = 0x100; i < DEMO_IMAGE_SIZE; i++)
		img[i] = (uint8_t)(i * 7 + 3);
	int rc = bs_write_file(path, img, DEMO_IMAGE_SIZE, 0644, false, err);
	free(img);
	return rc;
}

static int write_demo_csf(const char *path, const char *pki, struct bs_error *err)
{
	char csfk[512], imgk[512], text[2048];
	int rc = find_cert(csfk, sizeof(csfk), pki, "CSF1_", err);
	if (rc == 0)
		rc = find_cert(imgk, sizeof(imgk), pki, "IMG1_", err);
	if (rc != 0)
		return rc;
	int n = snprintf(text, sizeof(text),
			 "[Header]\n    Version = 4.1\n    Hash Algorithm = sha256\n"
			 "    Engine = ANY\n    Engine Configuration = 0\n"
			 "    Certificate Format = X509\n    Signature Format = CMS\n\n"
			 "[Install SRK]\n    File = \"crts/SRK_1_2_3_4_table.bin\"\n"
			 "    Source index = 0\n\n"
			 "[Install CSFK]\n    File = \"%s\"\n\n[Authenticate CSF]\n\n"
			 "[Install Key]\n    Verification index = 0\n    Target index = 2\n"
			 "    File = \"%s\"\n\n"
			 "[Authenticate Data]\n    Verification index = 2\n"
			 "    Blocks = 0x%08x 0x0 0x%x \"demo-image.bin\"\n",
			 csfk, imgk, DEMO_LOAD_ADDR, DEMO_IMAGE_SIZE);
	return bs_write_file(path, text, (size_t)n, 0644, false, err);
}

static int demo_setup(struct bs_config *cfg, struct demo *demo, struct bs_error *err)
{
	char *state = NULL;
	int rc;
	if (cfg->state_dir != NULL)
		state = strdup(cfg->state_dir);
	else if ((rc = bs_config_default_state_dir(&state, err)) != 0)
		return rc;
	if (state == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	snprintf(demo->dir, sizeof(demo->dir), "%s", state);
	free(state);
	char pki[2200], keys[2200], bundle_dir[2300], bundle[2400], tgz[2300], fuse[2300];
	snprintf(pki, sizeof(pki), "%s/pki", demo->dir);
	snprintf(keys, sizeof(keys), "%s/keys", demo->dir);
	snprintf(bundle_dir, sizeof(bundle_dir), "%s/demo/imxsign", keys);
	snprintf(bundle, sizeof(bundle), "%s/imx-cst-keys.tar.gz", bundle_dir);
	snprintf(tgz, sizeof(tgz), "%s/imx-cst-keys.tar.gz", pki);
	snprintf(fuse, sizeof(fuse), "%s/crts/SRK_1_2_3_4_fuse.bin", pki);
	snprintf(demo->csf, sizeof(demo->csf), "%s/demo.csf", demo->dir);
	snprintf(demo->image, sizeof(demo->image), "%s/demo-image.bin", demo->dir);
	if ((rc = mkdir_p(demo->dir, 0700, err)) != 0)
		return rc;
	if (access(bundle, F_OK) != 0) {
		if (access(pki, F_OK) == 0)
			return bs_error_set(err, BS_ERR_CONFIG,
					    "%s exists but the demo key store is incomplete; remove "
					    "it and start again", pki);
		bs_log(BS_LOG_INFO, NULL, "creating a demo HAB4 PKI (RSA-2048) in %s", pki);
		struct bs_pki_opts o = {.outdir = pki, .keytype = BS_PKI_RSA2048, .nsrk = 4,
					.validity_days = 3650, .write_tgz = true};
		uint8_t *data = NULL;
		size_t len = 0;
		if ((rc = bs_pki_create(&o, err)) != 0 ||
		    (rc = mkdir_p(bundle_dir, 0700, err)) != 0 ||
		    (rc = write_demo_image(demo->image, err)) != 0 ||
		    (rc = write_demo_csf(demo->csf, pki, err)) != 0 ||
		    (rc = bs_read_file(&data, &len, tgz, BS_STORE_BUNDLE_MAX, err)) != 0)
			return rc;
		rc = bs_write_file(bundle, data, len, 0600, true, err);
		bs_free_secret(data, len);
		if (rc != 0)
			return rc;
	}
	uint8_t *f = NULL;
	size_t flen = 0;
	if ((rc = bs_read_file(&f, &flen, fuse, 64, err)) != 0)
		return rc;
	bs_hex(demo->fuse_hex, f, flen);
	snprintf(demo->fuse_path, sizeof(demo->fuse_path), "%s", fuse);
	size_t off = 0;
	for (size_t i = 0; i + 4 <= flen && off < sizeof(demo->fuse_words); i += 4)
		off += (size_t)snprintf(demo->fuse_words + off, sizeof(demo->fuse_words) - off,
					"%s0x%08x", i ? " " : "", bs_srk_fuse_word(f, i / 4));
	free(f);
	free(cfg->keyfile_root);
	cfg->keyfile_root = strdup(keys);
	if (cfg->keyfile_root == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	return 0;
}

static void demo_banner(const struct demo *demo, const char *address, unsigned port)
{
	printf("bootsign demo key store (machine 'demo'): %s\n"
	       "  SRK fuse hash (SHA-256): %s\n"
	       "  fuse words (SRK_HASH[0..7]): %s\n"
	       "  sign the sample image:\n"
	       "    curl --silent --fail -X POST -F machine=demo -F soctype=mx8m "
	       "-F cstversion=3.3.2 -F \"csf=@%s;type=text/plain\" -F \"artifact=@%s\" "
	       "--output csf.bin http://%s:%u/sign/imx\n"
	       "  then place csf.bin at offset 0x%x of the image (the IVT's CSF pointer) and\n"
	       "  check the result the way the boot ROM would:\n"
	       "    cp %s signed.bin && dd if=csf.bin of=signed.bin bs=1 seek=%u "
	       "conv=notrunc status=none\n"
	       "    bootsign hab verify --fuse %s signed.bin\n",
	       demo->dir, demo->fuse_hex, demo->fuse_words, demo->csf, demo->image, address,
	       port, DEMO_IMAGE_SIZE, demo->image, DEMO_IMAGE_SIZE, demo->fuse_path);
	fflush(stdout);
}

int bs_cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"address", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'},
		{"keys", required_argument, NULL, 'k'},
		{"state-dir", required_argument, NULL, 's'},
		{"spool-dir", required_argument, NULL, 'S'},
		{"threads", required_argument, NULL, 't'},
		{"max-request-size", required_argument, NULL, 'm'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const keys_for[] = {
		['a'] = "address", ['p'] = "port", ['k'] = "keyfile_uri", ['s'] = "state_dir",
		['S'] = "spool_dir", ['t'] = "threads", ['m'] = "max_request_size",
		['l'] = "log_level",
	};
	struct bs_config cfg;
	struct bs_error err = {0};
	struct bs_spool *spool = NULL;
	struct bs_keyring *kr = NULL;
	struct bs_server *srv = NULL;
	const char *config_path = NULL;
	char *flag_keys[16] = {0};
	char *flag_vals[16] = {0};
	size_t nflags = 0;
	int ret = 1;

	if (bs_config_init(&cfg, &err) != 0) {
		fprintf(stderr, "bootsign serve: %s\n", err.msg);
		return 1;
	}
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "a:p:c:k:s:S:t:m:l:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			bs_config_free(&cfg);
			return 0;
		}
		if (c == 'c') {
			config_path = optarg;
			continue;
		}
		if (c == '?' || c < 0 || (size_t)c >= BS_ARRAY_SIZE(keys_for) ||
		    keys_for[c] == NULL || nflags >= BS_ARRAY_SIZE(flag_keys)) {
			usage(stderr);
			bs_config_free(&cfg);
			return 2;
		}
		flag_keys[nflags] = (char *)keys_for[c];
		flag_vals[nflags++] = optarg;
	}
	if (optind != argc) {
		usage(stderr);
		bs_config_free(&cfg);
		return 2;
	}
	/* defaults < file < environment < flags */
	if ((config_path != NULL && bs_config_load_file(&cfg, config_path, &err) != 0) ||
	    bs_config_load_env(&cfg, &err) != 0)
		goto fail;
	for (size_t i = 0; i < nflags; i++)
		if (bs_config_set(&cfg, flag_keys[i], flag_vals[i], "command line", &err) != 0)
			goto fail;
	bs_log_set_level((enum bs_log_level)cfg.log_level);
	if (cfg.p11_pin != NULL)
		bs_log_add_secret(cfg.p11_pin);
	if (cfg.cst_base_ignored)
		bs_log(BS_LOG_INFO, NULL,
		       "DIGSIGSERVER_IMX_CST_BASE is ignored: bootsign signs without NXP's cst");
	if (!is_loopback(cfg.address))
		bs_log(BS_LOG_WARN, NULL,
		       "listening on non-loopback address %s without authentication: anyone who "
		       "can reach this port can sign with these keys", cfg.address);

	struct demo demo;
	bool use_demo = cfg.keyfile_root == NULL;
	if (use_demo && demo_setup(&cfg, &demo, &err) != 0)
		goto fail;
	struct stat st;
	if (stat(cfg.keyfile_root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		bs_error_set(&err, BS_ERR_CONFIG, "key store %s is not a directory",
			     cfg.keyfile_root);
		goto fail;
	}
	const struct bs_keyring_opts ko = {
		.root = cfg.keyfile_root,
		.bundle_cache = cfg.key_cache_size,
		.p11_module = cfg.p11_module,
		.p11_pin = cfg.p11_pin,
		.p11_pool_size = cfg.p11_pool_size,
		.p11_timeout_ms = cfg.p11_timeout_ms,
		.token_cache_ms = TOKEN_CACHE_MS,
	};
	if (bs_spool_open(&spool, cfg.spool_dir, &err) != 0 ||
	    bs_keyring_new(&kr, &ko, &err) != 0)
		goto fail;

	/* Signals go to this thread only (sigwait); the MHD threads inherit the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (bs_server_start(&srv, &cfg, kr, spool, &err) != 0)
		goto fail;
	bs_log(BS_LOG_INFO, NULL, "key store %s, spool %s", cfg.keyfile_root,
	       bs_spool_dir(spool));
	if (use_demo)
		demo_banner(&demo, cfg.address, bs_server_port(srv));
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			bs_log(BS_LOG_INFO, NULL, "SIGHUP: key bundles are re-read when they change");
			continue;
		}
		bs_log(BS_LOG_INFO, NULL, "%s: shutting down", strsignal(sig));
		break;
	}
	bs_server_stop(srv, SHUTDOWN_GRACE_MS);
	srv = NULL;
	bs_log(BS_LOG_INFO, NULL, "stopped");
	ret = 0;
	goto out;
fail:
	bs_log(BS_LOG_ERROR, NULL, "serve: %s", err.msg);
	fprintf(stderr, "bootsign serve: %s\n", err.msg);
out:
	bs_server_stop(srv, 0);
	bs_keyring_free(kr);
	bs_spool_close(spool);
	bs_log_clear_secrets();
	bs_config_free(&cfg);
	return ret;
}
