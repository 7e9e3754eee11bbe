/* Unit tests for src/core/config: file syntax, layering with the environment, keyfile
 * URIs, sizes, PIN handling (never left in the environment, registered for redaction). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "testutil.h"

static int load(struct bs_config *cfg, const char *text, struct bs_error *err)
{
	return bs_config_load_text(cfg, text, strlen(text), "t.conf", err);
}

static void test_config__defaults(void **state)
{
	(void)state;
	struct bs_config cfg;
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_string_equal(cfg.address, "127.0.0.1");
	assert_int_equal(cfg.port, 9999);
	assert_true(cfg.max_request == 600000000ull);
	assert_null(cfg.keyfile_root);
	assert_null(cfg.p11_pin);
	bs_config_free(&cfg);
}

/* Signing deadline and the root-key bundle setting (issue 7, issue 10). */
static void test_config__sign_timeout_and_bundle_root_keys(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_int_equal(cfg.sign_timeout_ms, 600000);
	assert_false(cfg.refuse_root_bundles);
	assert_int_equal(load(&cfg, "sign_timeout = 30\nbundle_root_keys = refuse\n", &err), 0);
	assert_int_equal(cfg.sign_timeout_ms, 30000);
	assert_true(cfg.refuse_root_bundles);
	assert_int_equal(load(&cfg, "bundle_root_keys = warn\n", &err), 0);
	assert_false(cfg.refuse_root_bundles);
	assert_int_equal(load(&cfg, "bundle_root_keys = maybe\n", &err), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1: bundle_root_keys: 'maybe'"));
	assert_int_equal(load(&cfg, "sign_timeout = 0\n", &err), BS_ERR_INVALID);
	bs_config_free(&cfg);
}

static void test_config__file_sets_values(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_int_equal(load(&cfg,
			      "# comment\n\n  address = 0.0.0.0 \nport=8443\r\n"
			      "keyfile_uri = \"file:///srv/keys/\"\nmax_request_size = 10M\n"
			      "threads = 3\nlog_level = debug\n",
			      &err),
			 0);
	assert_string_equal(cfg.address, "0.0.0.0");
	assert_int_equal(cfg.port, 8443);
	assert_string_equal(cfg.keyfile_root, "/srv/keys");
	assert_true(cfg.max_request == 10ull * 1024 * 1024);
	assert_int_equal(cfg.threads, 3);
	assert_int_equal(cfg.log_level, BS_LOG_DEBUG);
	bs_config_free(&cfg);
}

static void test_config__errors_name_line(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_int_equal(load(&cfg, "port = 1\nbogus = 2\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:2: unknown setting 'bogus'");
	assert_int_equal(load(&cfg, "\n\nno equals sign\n", &err), BS_ERR_SYNTAX);
	assert_string_equal(err.msg, "t.conf:3: expected 'key = value'");
	assert_int_equal(load(&cfg, "port = 70000\n", &err), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1: port"));
	assert_int_equal(load(&cfg, "port = 12x\n", &err), BS_ERR_INVALID);
	assert_int_equal(load(&cfg, "log_level = loud\n", &err), BS_ERR_INVALID);
	assert_int_equal(load(&cfg, "keyfile_uri = s3://bucket/keys\n", &err),
			 BS_ERR_UNSUPPORTED);
	assert_int_equal(load(&cfg, "max_request_size = 12Q\n", &err), BS_ERR_INVALID);
	assert_int_equal(cfg.port, 1); /* the failed lines changed nothing */
	bs_config_free(&cfg);
}

static void test_config__mender_artifact_root(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_null(cfg.mender_artifact_root); /* unset: every artifact-uri is refused */
	assert_int_equal(load(&cfg, "mender_artifact_root = relative/dir\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg,
			    "t.conf:1: mender_artifact_root: 'relative/dir' is not an absolute path");
	assert_null(cfg.mender_artifact_root);
	assert_int_equal(load(&cfg, "mender_artifact_root = /srv/artifacts\n", &err), 0);
	assert_string_equal(cfg.mender_artifact_root, "/srv/artifacts");
	assert_int_equal(load(&cfg, "mender_artifact_root = /srv/other\n", &err), 0);
	assert_string_equal(cfg.mender_artifact_root, "/srv/other");
	bs_config_free(&cfg);
}

static void test_config__sizes(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(bs_config_parse_size(&v, "600MB", NULL), 0);
	assert_true(v == 600000000ull);
	assert_int_equal(bs_config_parse_size(&v, "64K", NULL), 0);
	assert_true(v == 65536);
	assert_int_equal(bs_config_parse_size(&v, "1G", NULL), 0);
	assert_true(v == 1073741824ull);
	assert_int_equal(bs_config_parse_size(&v, "-1", NULL), BS_ERR_INVALID);
	assert_int_equal(bs_config_parse_size(&v, "99999999999999999999", NULL), BS_ERR_INVALID);
	assert_int_equal(bs_config_parse_size(&v, "18446744073709551615G", NULL), BS_ERR_INVALID);
}

static void test_config__keyfile_uris(void **state)
{
	(void)state;
	char *p = NULL;
	assert_int_equal(bs_config_keyfile_path(&p, "file:///a/b", NULL), 0);
	assert_string_equal(p, "/a/b");
	free(p);
	assert_int_equal(bs_config_keyfile_path(&p, "relative/dir//", NULL), 0);
	assert_string_equal(p, "relative/dir");
	free(p);
	assert_int_equal(bs_config_keyfile_path(&p, "file://host/x", NULL), BS_ERR_INVALID);
	assert_null(p);
	assert_int_equal(bs_config_keyfile_path(&p, "s3://b/k", NULL), BS_ERR_UNSUPPORTED);
	assert_null(p);
}

static void test_config__env_layer_and_pin_removed(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_int_equal(load(&cfg, "keyfile_uri = /from/file\n", &err), 0);
	setenv("DIGSIGSERVER_KEYFILE_URI", "file:///from/env", 1);
	setenv("DIGSIGSERVER_IMX_CST_BASE", "/opt/NXP", 1);
	setenv("YUBIHSM_PASSWORD", "0001password", 1);
	assert_int_equal(bs_config_load_env(&cfg, &err), 0);
	assert_string_equal(cfg.keyfile_root, "/from/env");
	assert_true(cfg.cst_base_ignored);
	assert_string_equal(cfg.p11_pin, "0001password");
	assert_null(getenv("YUBIHSM_PASSWORD"));
	unsetenv("DIGSIGSERVER_KEYFILE_URI");
	unsetenv("DIGSIGSERVER_IMX_CST_BASE");
	bs_config_free(&cfg);
}

/* unsetenv() alone leaves the value in the environment block (/proc/<pid>/environ shows
 * the initial one): the bytes themselves must be overwritten. */
static void test_config__env_pin_bytes_wiped(void **state)
{
	(void)state;
	static char var1[] = "DIGSIGSERVER_YUBIHSM_PASSWORD=0001password";
	static char var2[] = "YUBIHSM_PASSWORD=0002other";
	assert_int_equal(putenv(var1), 0);
	assert_int_equal(putenv(var2), 0);
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_int_equal(bs_config_load_env(&cfg, &err), 0);
	assert_string_equal(cfg.p11_pin, "0001password"); /* the digsigserver name wins */
	assert_null(getenv("DIGSIGSERVER_YUBIHSM_PASSWORD"));
	assert_null(getenv("YUBIHSM_PASSWORD"));
	const char *name1 = "DIGSIGSERVER_YUBIHSM_PASSWORD=", *name2 = "YUBIHSM_PASSWORD=";
	assert_memory_equal(var1, name1, strlen(name1));
	assert_memory_equal(var2, name2, strlen(name2));
	for (size_t i = strlen(name1); i < sizeof(var1); i++)
		assert_int_equal(var1[i], 0);
	for (size_t i = strlen(name2); i < sizeof(var2); i++)
		assert_int_equal(var2[i], 0);
	bs_config_free(&cfg);
}

static void test_config__pin_file_must_be_private(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char path[4096], line[4200];
	snprintf(path, sizeof(path), "%s/pin", dir);
	struct bs_error err = {0};
	assert_int_equal(bs_write_file(path, "1234\n", 5, 0644, false, &err), 0);
	struct bs_config cfg;
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	snprintf(line, sizeof(line), "pkcs11_pin_file = %s\n", path);
	assert_int_equal(load(&cfg, line, &err), BS_ERR_CONFIG);
	assert_null(cfg.p11_pin);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(load(&cfg, line, &err), 0);
	assert_string_equal(cfg.p11_pin, "1234");
	/* The PIN registered as a log secret never appears in a log line. */
	bs_log_add_secret(cfg.p11_pin);
	char msg[128] = "token login with 1234 failed; pin=1234";
	bs_log_redact(msg, sizeof(msg));
	assert_null(strstr(msg, "1234"));
	bs_log_clear_secrets();
	bs_config_free(&cfg);
	bs_tmpdir_free(dir);
}

static void test_config__access_control_keys(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_false(cfg.allow_anonymous);
	assert_null(cfg.tls_cert);
	assert_int_equal(load(&cfg,
			      "tls_cert = /etc/bootsign/server.crt\ntls_key = /etc/bootsign/server.key\n"
			      "client_ca = /etc/bootsign/clients-ca.crt\ntokens_file = /etc/bootsign/tokens\n"
			      "policy_file = /etc/bootsign/policy\naudit_log = /var/log/bootsign/audit.log\n"
			      "audit_key = /etc/bootsign/audit.key\nallow_anonymous = yes\n"
			      "proxy_addresses = 10.0.0.5,10.0.0.6\nproxy_header = X-SSL-Client-DN\n",
			      &err),
			 0);
	assert_string_equal(cfg.tls_cert, "/etc/bootsign/server.crt");
	assert_string_equal(cfg.tls_key, "/etc/bootsign/server.key");
	assert_string_equal(cfg.client_ca, "/etc/bootsign/clients-ca.crt");
	assert_string_equal(cfg.tokens_file, "/etc/bootsign/tokens");
	assert_string_equal(cfg.policy_file, "/etc/bootsign/policy");
	assert_string_equal(cfg.audit_log, "/var/log/bootsign/audit.log");
	assert_string_equal(cfg.audit_key, "/etc/bootsign/audit.key");
	assert_string_equal(cfg.proxy_addresses, "10.0.0.5,10.0.0.6");
	assert_string_equal(cfg.proxy_header, "X-SSL-Client-DN");
	assert_true(cfg.allow_anonymous);
	assert_int_equal(load(&cfg, "allow_anonymous = no\n", &err), 0);
	assert_false(cfg.allow_anonymous);
	assert_true(cfg.key_isolation); /* default: the key process */
	assert_int_equal(load(&cfg, "key_isolation = no\n", &err), 0);
	assert_false(cfg.key_isolation);
	assert_int_equal(load(&cfg, "key_isolation = yes\n", &err), 0);
	assert_true(cfg.key_isolation);
	assert_int_equal(load(&cfg, "key_isolation = on\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: key_isolation: 'on' is not yes or no");
	assert_true(cfg.key_isolation);
	bs_config_free(&cfg);
}

static void test_config__sandbox_keys(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_false(cfg.key_process_network); /* default: no network in the key process */
	assert_null(cfg.user);
	assert_int_equal(load(&cfg, "key_process_network = yes\nuser = bootsign\n", &err), 0);
	assert_true(cfg.key_process_network);
	assert_string_equal(cfg.user, "bootsign");
	assert_int_equal(load(&cfg, "key_process_network = 1\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: key_process_network: '1' is not yes or no");
	assert_int_equal(load(&cfg, "user =\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: user: '' is not a user name (1 to 64 bytes)");
	char line[128];
	snprintf(line, sizeof(line), "user = %065d\n", 0);
	assert_int_equal(load(&cfg, line, &err), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1: user: '000"));
	assert_string_equal(cfg.user, "bootsign"); /* a refused value changes nothing */
	bs_config_free(&cfg);
}

static void test_config__access_control_errors(void **state)
{
	(void)state;
	struct bs_config cfg;
	struct bs_error err = {0};
	assert_int_equal(bs_config_init(&cfg, NULL), 0);
	assert_int_equal(load(&cfg, "\nallow_anonymous = maybe\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:2: allow_anonymous: 'maybe' is not yes or no");
	assert_false(cfg.allow_anonymous);
	assert_int_equal(load(&cfg, "policy_file = \"\"\n", &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: policy_file: empty value");
	assert_null(cfg.policy_file);
	bs_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__defaults),
		cmocka_unit_test(test_config__sign_timeout_and_bundle_root_keys),
		cmocka_unit_test(test_config__file_sets_values),
		cmocka_unit_test(test_config__errors_name_line),
		cmocka_unit_test(test_config__mender_artifact_root),
		cmocka_unit_test(test_config__sizes),
		cmocka_unit_test(test_config__keyfile_uris),
		cmocka_unit_test(test_config__env_layer_and_pin_removed),
		cmocka_unit_test(test_config__env_pin_bytes_wiped),
		cmocka_unit_test(test_config__pin_file_must_be_private),
		cmocka_unit_test(test_config__access_control_keys),
		cmocka_unit_test(test_config__access_control_errors),
		cmocka_unit_test(test_config__sandbox_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
