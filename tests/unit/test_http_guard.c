/* Unit tests for src/http/guard: the start-up rules of access control (non-loopback
 * without authentication refused, allow_anonymous loudly logged, TLS settings go in pairs,
 * private files checked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/policy.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "auth/tlskey.h"
#include "http/guard.h"
#include "keys/keyring.h"
#include "testutil.h"

static struct bs_config g_cfg;
static char *g_dir;

static int setup(void **state)
{
	(void)state;
	g_dir = bs_tmpdir();
	return bs_config_init(&g_cfg, NULL);
}

static int teardown(void **state)
{
	(void)state;
	bs_config_free(&g_cfg);
	bs_tmpdir_free(g_dir);
	bs_log_set_fd(2);
	return 0;
}

static void set(const char *key, const char *value)
{
	struct bs_error err = {0};
	if (bs_config_set(&g_cfg, key, value, "t", &err) != 0)
		fail_msg("%s", err.msg);
}

static void test_http_guard__non_loopback_needs_authentication(void **state)
{
	(void)state;
	struct bs_guard *g = NULL;
	struct bs_error err = {0};
	set("address", "0.0.0.0");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), BS_ERR_CONFIG);
	assert_null(g);
	assert_string_equal(err.msg, "refusing to listen on non-loopback address 0.0.0.0 without "
				     "client authentication: set client_ca or tokens_file (or "
				     "allow_anonymous = yes to let anyone who reaches the port sign)");
	/* loopback: the development default, anyone local may sign */
	set("address", "127.0.0.1");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), 0);
	bs_guard_free(g);
	set("address", "::1");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), 0);
	bs_guard_free(g);
}

static void test_http_guard__allow_anonymous_is_logged(void **state)
{
	(void)state;
	char path[600];
	snprintf(path, sizeof(path), "%s/log", g_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	bs_log_set_fd(fd);
	set("address", "0.0.0.0");
	set("allow_anonymous", "yes");
	struct bs_guard *g = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), 0);
	bs_guard_free(g);
	bs_log_set_fd(2);
	close(fd);
	size_t len = 0;
	uint8_t *log = NULL;
	assert_int_equal(bs_read_file(&log, &len, path, 1 << 20, &err), 0);
	assert_non_null(strstr((char *)log, "warn [-] allow_anonymous = yes on non-loopback "
					    "address 0.0.0.0: ANYONE WHO CAN REACH THIS PORT CAN SIGN"));
	free(log);
}

static void test_http_guard__settings_checked(void **state)
{
	(void)state;
	struct bs_guard *g = NULL;
	struct bs_error err = {0};
	set("tls_cert", "/nonexistent/cert.pem");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), BS_ERR_CONFIG);
	assert_string_equal(err.msg, "tls_cert and tls_key go together");
	bs_config_free(&g_cfg);
	assert_int_equal(bs_config_init(&g_cfg, NULL), 0);
	set("client_ca", "/nonexistent/ca.pem");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), BS_ERR_CONFIG);
	assert_string_equal(err.msg, "client_ca needs tls_cert and tls_key");
	bs_config_free(&g_cfg);
	assert_int_equal(bs_config_init(&g_cfg, NULL), 0);
	char p[600];
	snprintf(p, sizeof(p), "%s/tokens", g_dir);
	bs_write(p, "", 0);
	chmod(p, 0644);
	set("tokens_file", p);
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), BS_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "has mode 0644"));
	chmod(p, 0600);
	set("proxy_addresses", "10.0.0.1, bogus");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), BS_ERR_CONFIG);
	assert_string_equal(err.msg, "proxy_addresses: 'bogus' is not an IP address");
	set("proxy_addresses", "10.0.0.1");
	set("audit_key", "/nonexistent/k");
	assert_int_equal(bs_guard_new(&g, &g_cfg, NULL, &err), BS_ERR_CONFIG);
	assert_string_equal(err.msg, "audit_key without audit_log");
	assert_null(g);
}

/* TLS: the certificate chain goes to libmicrohttpd through the certificate callback with
 * the key from the keyring (never as PEM), TLS 1.2+ priorities and the client CA. */
static void test_http_guard__tls_key_from_keyring(void **state)
{
	(void)state;
	char key[600], crt[600], ca[600];
	snprintf(key, sizeof(key), "%s/tls.key", g_dir);
	snprintf(crt, sizeof(crt), "%s/tls.crt", g_dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", g_dir);
	const char *argv[] = {"openssl", "req", "-x509", "-nodes", "-days", "2", "-subj",
			      "/CN=127.0.0.1", "-newkey", "ec", "-pkeyopt",
			      "ec_paramgen_curve:P-256", "-keyout", key, "-out", crt, NULL};
	bs_test_run_ok(argv);
	chmod(key, 0600);
	bs_write(ca, "", 0);
	set("tls_cert", crt);
	set("tls_key", key);
	struct bs_keyring *kr = NULL;
	struct bs_error err = {0};
	const struct bs_keyring_opts ko = {.tls_key = key};
	assert_int_equal(bs_keyring_new(&kr, &ko, &err), 0);
	struct bs_guard *g = NULL, *g2 = NULL;
	assert_int_equal(bs_guard_new(&g, &g_cfg, kr, &err), 0);
	struct MHD_OptionItem opts[3];
	unsigned flags = 0;
	assert_int_equal(bs_guard_mhd_options(g, opts, 3, &flags), 2);
	assert_true(flags & MHD_USE_TLS);
	assert_int_equal(opts[0].option, MHD_OPTION_HTTPS_CERT_CALLBACK);
	assert_ptr_equal(opts[0].ptr_value, (void *)(intptr_t)bs_tlskey_retrieve);
	assert_int_equal(opts[1].option, MHD_OPTION_HTTPS_PRIORITIES);
	assert_string_equal(opts[1].ptr_value, BS_TLS_PRIORITIES);
	/* one HTTPS server's key per process */
	assert_int_equal(bs_guard_new(&g2, &g_cfg, kr, &err), BS_ERR_BUSY);
	assert_null(g2);
	bs_guard_free(g);
	/* the key file is checked like any secret file; the error names the setting */
	chmod(key, 0644);
	assert_int_equal(bs_guard_new(&g, &g_cfg, kr, &err), BS_ERR_CONFIG);
	assert_null(g);
	assert_true(strncmp(err.msg, "tls_key file ", 13) == 0);
	assert_non_null(strstr(err.msg, "has mode 0644"));
	chmod(key, 0600);
	set("client_ca", ca);
	assert_int_equal(bs_guard_new(&g, &g_cfg, kr, &err), 0);
	flags = 0;
	assert_int_equal(bs_guard_mhd_options(g, opts, 3, &flags), 3);
	assert_int_equal(opts[2].option, MHD_OPTION_HTTPS_MEM_TRUST);
	bs_guard_free(g);
	bs_keyring_free(kr);
}

/* A policy whose key rules for a request do not fit the key filter is the server's
 * configuration (500), never the client's request (413), and the message says so. */
static void test_http_guard__key_filter_too_long_is_configuration(void **state)
{
	(void)state;
	static const char text[] = "deny * imx * keys/SRK*\nallow * imx * *\n";
	struct bs_policy *p = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_policy_parse(&p, text, strlen(text), "pol", &err), 0);
	const struct bs_identity id = {.kind = BS_IDENT_TOKEN, .name = "ci"};
	struct bs_guard_check c = {.policy = p, .id = &id, .endpoint = "imx", .subject = "m"};
	char f[32];
	assert_int_equal(bs_guard_key_filter(&c, f, sizeof(f), &err), BS_ERR_CONFIG);
	assert_string_equal(f, "");
	assert_non_null(strstr(err.msg, "policy: the key rules"));
	assert_int_equal(bs_guard_key_filter(&c, f, 4, &err), BS_ERR_CONFIG);
	bs_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http_guard__non_loopback_needs_authentication,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_guard__allow_anonymous_is_logged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_guard__settings_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_guard__tls_key_from_keyring, setup,
						teardown),
		cmocka_unit_test(test_http_guard__key_filter_too_long_is_configuration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
