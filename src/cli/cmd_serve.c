/* bootsign serve: the digsigserver-compatible signing daemon. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cli/protect.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/privdrop.h"
#include "core/util.h"
#include "cli/demo.h"
#include "http/server.h"
#include "http/spool.h"
#include "keys/keyproc.h"
#include "keys/keyring.h"
#include "core/secmem.h"
#include "sign/signer.h"

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
		"Runs the signing server (digsigserver-compatible REST API, multipart/form-data):\n");
	size_t n = 0;
	const struct bs_signer *const *all = bs_signers(&n);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  POST /sign/%-12s %s\n", all[i]->name,
			all[i]->summary != NULL ? all[i]->summary : "");
	fprintf(out,
		"  GET  /signers           the endpoints and their fields (JSON)\n"
		"  GET  /healthz           liveness (key store and spool usable)\n"
		"Defaults: 127.0.0.1:9999, 600 MB max request.\n"
		"Configuration: defaults < --config file < environment\n"
		"(DIGSIGSERVER_KEYFILE_URI, DIGSIGSERVER_REQUEST_MAX_SIZE, YUBIHSM_PASSWORD)\n"
		"< command-line flags; docs/server.md and docs/security.md list the settings.\n"
		"Without a key store a demo key store for machine and distro 'demo' (keys for\n"
		"every format) is created in the state directory ($XDG_STATE_HOME/bootsign).\n");
}

/* What the process that parses requests needs once it is no longer root. */
struct serve_drop {
	const struct bs_privdrop *pd;
	const struct bs_config *cfg;
	struct bs_keyring *kr;
	const char *spool;
};

/* bs_server_start's hook: the port is bound and the access-control files are read; no
 * server thread runs yet. Become `user` and check it can do its work. */
/* After the drop: a file the user needs later (not at start, as root) it cannot use is a
 * warning now rather than a surprise on the first SIGHUP or mender request. */
static void warn_access(const char *user, const char *setting, const char *path, int mode,
			const char *then)
{
	if (path == NULL || access(path, mode) == 0)
		return;
	bs_log(BS_LOG_WARN, NULL, "user = %s cannot %s %s %s (%s): %s", user,
	       mode & W_OK ? "write" : "read", setting, path, strerror(errno), then);
}

static int drop_root(void *arg, struct bs_error *err)
{
	const struct serve_drop *d = arg;
	const struct bs_privdrop *pd = d->pd;
	if (!pd->active)
		return 0;
	int rc = bs_privdrop_switch(pd, err);
	if (rc != 0)
		return rc;
	if (access(d->spool, W_OK | X_OK) != 0)
		return bs_error_set(err, BS_ERR_CONFIG, "user = %s: cannot write its spool %s: %s "
				    "(spool_dir must be searchable by %s)", pd->name, d->spool,
				    strerror(errno), pd->name);
	if (!d->cfg->key_isolation) {
		rc = bs_keyring_check(d->kr, err);
		if (rc != 0)
			return bs_error_prefix(err, "user = %s: with key_isolation = no this user "
					       "reads the keys", pd->name);
	} else if (access(d->cfg->keyfile_root, R_OK) == 0) {
		bs_log(BS_LOG_WARN, NULL, "user = %s can read the key store %s: with "
		       "key_isolation = yes only the key process (root) needs to", pd->name,
		       d->cfg->keyfile_root);
	}
	warn_access(pd->name, "policy_file", d->cfg->policy_file, R_OK,
		    "SIGHUP cannot reload it (make it owned by that user, mode 0600)");
	warn_access(pd->name, "tokens_file", d->cfg->tokens_file, R_OK,
		    "SIGHUP cannot reload it (make it owned by that user, mode 0600)");
	warn_access(pd->name, "mender_artifact_root", d->cfg->mender_artifact_root,
		    R_OK | W_OK | X_OK, "/sign/mender with a file:// artifact-uri fails");
	bs_log(BS_LOG_INFO, NULL, "user = %s: requests are parsed as uid %lu gid %lu, without "
	       "capabilities, with no_new_privs", pd->name, (unsigned long)pd->uid,
	       (unsigned long)pd->gid);
	return 0;
}

/* The running binary's real path, for hints that run as pasted. */
static const char *self_path(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	if (n <= 0)
		return "bootsign";
	buf[n] = '\0';
	return buf;
}

int bs_cmd_serve(int argc, char **argv)
{
	if (bs_cli_protect_secrets("serve") != 0)
		return 1;
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
	/* before any thread: the limits are per thread, and threads inherit them */
	struct bs_privdrop pd;
	if (bs_privdrop_prepare(&pd, cfg.user, &err) != 0 || bs_privdrop_limit(&pd, &err) != 0)
		goto fail;
	if (pd.root_without_user)
		bs_log(BS_LOG_WARN, NULL, "running as root without `user`: the process that "
		       "parses requests keeps root and every capability; set user = NAME "
		       "(docs/security.md, \"Dropping root\")");
	if (cfg.key_process_network && !cfg.key_isolation)
		bs_log(BS_LOG_WARN, NULL, "key_process_network = yes does nothing without "
		       "key_isolation = yes");
	if (cfg.cst_base_ignored)
		bs_log(BS_LOG_INFO, NULL,
		       "DIGSIGSERVER_IMX_CST_BASE is ignored: bootsign signs without NXP's cst");
	/* non-loopback without authentication: refused by bs_server_start (http/guard.c) */

	struct demo demo;
	char self[4096];
	bool use_demo = cfg.keyfile_root == NULL;
	if (use_demo && (cfg.key_isolation ? demo_setup_apart(&cfg, &demo, &err)
					   : demo_setup(&cfg, &demo, &err)) != 0)
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
		.bundle_cache_bytes = cfg.key_cache_memory,
		.bundle_idle_ms = cfg.key_cache_idle * 1000u,
		.p11_module = cfg.p11_module,
		.p11_tokens = cfg.p11_tokens,
		.p11_pin = cfg.p11_pin,
		.p11_pool_size = cfg.p11_pool_size,
		.p11_timeout_ms = cfg.p11_timeout_ms,
		.token_cache_ms = TOKEN_CACHE_MS,
		.audit_key = cfg.audit_key,
		.tls_key = cfg.tls_key,
		.key_process_network = cfg.key_process_network,
	};
	if (cfg.key_isolation) {
		/* before any thread and any listening socket: the key process gets the PIN and
		 * the key store; this process keeps neither */
		int kfd = -1;
		if (bs_keyproc_start(&kfd, &ko, &err) != 0 ||
		    bs_keyring_new_remote(&kr, kfd, &err) != 0)
			goto fail;
		bs_free_secret_str(cfg.p11_pin);
		cfg.p11_pin = NULL;
		bs_log_clear_secrets();
		bs_log(BS_LOG_INFO, NULL, "key isolation: keys and PIN are in the key process");
		/* This process now only parses, hashes and streams: one malloc arena (glibc
		 * makes one per busy thread, each keeping its freed memory: ~0.8 MiB more at
		 * the peak of a 64 MiB FIT, bench/bench_fit.sh; throughput unchanged within
		 * noise, bench/bench_keyproc.sh). Fixed mmap/trim thresholds were tried and
		 * cost 25 % of throughput (1 MiB uploads mapped and faulted in every time).
		 * The key process, which signs from many threads, keeps glibc's defaults. */
		(void)mallopt(M_ARENA_MAX, 1);
	}
	if (bs_spool_open(&spool, cfg.spool_dir, &err) != 0 ||
	    bs_privdrop_give(&pd, bs_spool_dir(spool), &err) != 0 ||
	    (kr == NULL && bs_keyring_new(&kr, &ko, &err) != 0))
		goto fail;

	/* Signals go to this thread only (sigwait); the MHD threads inherit the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct serve_drop drop = {.pd = &pd, .cfg = &cfg, .kr = kr, .spool = bs_spool_dir(spool)};
	const struct bs_server_hook hook = {.before_threads = drop_root, .arg = &drop};
	if (bs_server_start(&srv, &cfg, kr, spool, &hook, &err) != 0)
		goto fail;
	bs_log(BS_LOG_INFO, NULL, "key store %s, spool %s", cfg.keyfile_root,
	       bs_spool_dir(spool));
	if (use_demo)
		demo_banner(&demo, cfg.address, bs_server_port(srv), self_path(self, sizeof(self)));
	(void)sd_notify(0, "READY=1"); /* Type=notify: listening (no-op outside systemd) */
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			bs_log(BS_LOG_INFO, NULL, "SIGHUP: key bundles are re-read when they change");
			bs_server_reload(srv);
			continue;
		}
		bs_log(BS_LOG_INFO, NULL, "%s: shutting down", strsignal(sig));
		break;
	}
	(void)sd_notify(0, "STOPPING=1");
	bs_server_stop(srv, SHUTDOWN_GRACE_MS);
	srv = NULL;
	bs_log(BS_LOG_INFO, NULL, "stopped");
	ret = 0;
	goto out;
fail:
	/* once: the log goes to stderr */
	bs_log(BS_LOG_ERROR, NULL, "serve: %s", err.msg);
out:
	bs_server_stop(srv, 0);
	bs_keyring_free(kr);
	bs_spool_close(spool);
	bs_log_clear_secrets();
	bs_config_free(&cfg);
	return ret;
}
