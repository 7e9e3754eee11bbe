/* Unit tests for src/auth/audit: records carry the fields, chain and seal; the verifier
 * finds editing, deletion, reordering and truncation at the record; an unwritable log is
 * BS_ERR_IO; reopening continues the chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/audit.h"
#include "keys/keyring.h"
#include "core/util.h"
#include "testutil.h"

static char *g_dir;
static char g_log[512], g_key[512];

static void digest(void *ctx, size_t i, const char **what, const char **alg, const char **hex)
{
	(void)ctx;
	*what = i == 0 ? "sw-description" : "bad|what;x";
	*alg = "sha256";
	*hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
}

static int setup(void **state)
{
	(void)state;
	g_dir = bs_tmpdir();
	snprintf(g_log, sizeof(g_log), "%s/audit.log", g_dir);
	snprintf(g_key, sizeof(g_key), "%s/audit.key", g_dir);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f = fopen(g_key, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	chmod(g_key, 0600);
	EVP_PKEY_free(k);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bs_tmpdir_free(g_dir);
	return 0;
}

static EVP_PKEY *pub_key(void)
{
	FILE *f = fopen(g_key, "r");
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static void append(struct bs_audit *a, unsigned i)
{
	char reqid[16];
	snprintf(reqid, sizeof(reqid), "r%u", i);
	const struct bs_audit_entry e = {
		.reqid = reqid, .client = "token:ci", .source = "127.0.0.1:5000",
		.endpoint = "swupdate", .subject = "distro\tx", .result = "granted",
		.status = 200, .keys = "swupdate/swupdate-key.pem", .reason = "ok",
		.ndigests = 2, .digest = digest,
	};
	struct bs_error err = {0};
	assert_int_equal(bs_audit_append(a, &e, &err), 0);
}

static int verify_file(const char *path, EVP_PKEY *pub, struct bs_audit_summary *s,
		       struct bs_error *err)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int rc = bs_audit_verify(s, f, "log", pub, err);
	fclose(f);
	return rc;
}

/* n lines of the log, each malloc'd */
static size_t read_lines(char **lines, size_t cap)
{
	FILE *f = fopen(g_log, "r");
	size_t n = 0, sz = 0;
	char *l = NULL;
	while (n < cap && getline(&l, &sz, f) > 0) {
		lines[n++] = l;
		l = NULL;
	}
	free(l);
	fclose(f);
	return n;
}

static void write_lines(const char *path, char **lines, size_t n)
{
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		fputs(lines[i], f);
	fclose(f);
}

/* The audit key as the server gets it: keys/keyring.c bs_keyring_service_key. */
static int service_key(struct bs_key **out, const char *path, struct bs_error *err)
{
	struct bs_keyring *kr = NULL;
	const struct bs_keyring_opts o = {.audit_key = path};
	int rc = bs_keyring_new(&kr, &o, err);
	if (rc == 0)
		rc = bs_keyring_service_key(out, kr, "audit_key", err);
	bs_keyring_free(kr);
	return rc;
}

static struct bs_key *audit_key(void)
{
	struct bs_key *k = NULL;
	struct bs_error err = {0};
	assert_int_equal(service_key(&k, g_key, &err), 0);
	return k;
}

static void test_auth_audit__records_chain_and_seals(void **state)
{
	(void)state;
	struct bs_audit *a = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_audit_open(&a, g_log, audit_key(), &err), 0);
	for (unsigned i = 0; i < 20; i++)
		append(a, i);
	bs_audit_close(a);
	/* reopening continues the chain */
	assert_int_equal(bs_audit_open(&a, g_log, audit_key(), &err), 0);
	append(a, 20);
	bs_audit_close(a);
	struct stat st;
	assert_int_equal(stat(g_log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	char *lines[64];
	size_t n = read_lines(lines, 64);
	/* open seal, 16 records, seal, 4 records, close seal, open seal, 1 record, close seal */
	assert_int_equal(n, 21 + 5);
	char v[256];
	assert_int_equal(bs_audit_field(v, sizeof(v), lines[1], "client"), 0);
	assert_string_equal(v, "token:ci");
	assert_int_equal(bs_audit_field(v, sizeof(v), lines[1], "subject"), 0);
	assert_string_equal(v, "distro?x"); /* a tab cannot add a field */
	assert_int_equal(bs_audit_field(v, sizeof(v), lines[1], "digests"), 0);
	assert_string_equal(v, "sw-description|sha256|00112233445566778899aabbccddeeff00112233445"
			       "566778899aabbccddeeff;bad_what_x|sha256|0011223344556677889"
			       "9aabbccddeeff00112233445566778899aabbccddeeff");
	assert_int_equal(bs_audit_field(v, sizeof(v), lines[0], "seal"), 0);
	assert_int_equal(bs_audit_field(v, sizeof(v), lines[1], "nope"), -1);

	EVP_PKEY *pub = pub_key();
	struct bs_audit_summary s;
	assert_int_equal(verify_file(g_log, pub, &s, &err), 0);
	assert_int_equal(s.records, 21);
	assert_int_equal(s.seals, 5);
	assert_int_equal(s.seals_checked, 5);
	assert_int_equal(s.after_last_seal, 0);
	/* another key: the first seal fails */
	EVP_PKEY *other = EVP_EC_gen("P-256");
	assert_int_equal(verify_file(g_log, other, &s, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "log:1: record 1: sealed by key"));
	EVP_PKEY_free(other);

	char path[600];
	snprintf(path, sizeof(path), "%s/t.log", g_dir);
	/* edit record at line 5 */
	char *saved = lines[4];
	lines[4] = strdup(saved);
	char *p = strstr(lines[4], "status=200");
	p[7] = '4';
	write_lines(path, lines, n);
	assert_int_equal(verify_file(path, NULL, &s, &err), BS_ERR_VERIFY);
	assert_string_equal(err.msg, "log:5: record 5: record hash does not match its content "
				     "(edited)");
	free(lines[4]);
	lines[4] = saved;
	/* delete line 5 */
	write_lines(path, lines, 4);
	FILE *f = fopen(path, "a");
	for (size_t i = 5; i < n; i++)
		fputs(lines[i], f);
	fclose(f);
	assert_int_equal(verify_file(path, NULL, &s, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "log:5: record 5: sequence number 6 where 5 was expected"));
	/* swap lines 5 and 6 */
	lines[4] = lines[5];
	lines[5] = saved;
	write_lines(path, lines, n);
	assert_int_equal(verify_file(path, NULL, &s, &err), BS_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "log:5: record 5: sequence number 6"));
	lines[5] = lines[4];
	lines[4] = saved;
	/* truncate the last line */
	write_lines(path, lines, n);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 10), 0);
	assert_int_equal(verify_file(path, NULL, &s, &err), BS_ERR_VERIFY);
	char want[64];
	snprintf(want, sizeof(want), "log:%zu: record %zu: truncated", n, n);
	assert_non_null(strstr(err.msg, want));
	/* intact copy verifies; without a key the seals are counted, not checked */
	write_lines(path, lines, n);
	assert_int_equal(verify_file(path, NULL, &s, &err), 0);
	assert_int_equal(s.seals_checked, 0);
	/* a torn last line stops the writer from appending after it */
	assert_int_equal(truncate(g_log, st.st_size - 10), 0);
	assert_int_equal(bs_audit_open(&a, g_log, NULL, &err), BS_ERR_FORMAT);
	assert_null(a);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	EVP_PKEY_free(pub);
}

static void test_auth_audit__unwritable_is_io(void **state)
{
	(void)state;
	struct bs_audit *a = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_audit_open(&a, "/dev/full", NULL, &err), 0);
	const struct bs_audit_entry e = {.reqid = "r", .client = "c", .result = "granted",
					 .status = 200};
	assert_int_equal(bs_audit_append(a, &e, &err), BS_ERR_IO);
	assert_non_null(strstr(err.msg, "audit log /dev/full: write:"));
	bs_audit_close(a);
	assert_int_equal(bs_audit_open(&a, "/nonexistent/dir/audit.log", NULL, &err),
			 BS_ERR_CONFIG);
	/* the sealing key comes from the keyring (bs_keyring_service_key): errors name the
	 * setting and are configuration errors */
	struct bs_key *k = NULL;
	assert_int_equal(service_key(&k, "/nonexistent/key", &err), BS_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "audit_key"));
	assert_null(k);
	chmod(g_key, 0644);
	assert_int_equal(service_key(&k, g_key, &err), BS_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "audit_key"));
	assert_int_equal(service_key(&k, NULL, &err), BS_ERR_CONFIG);
	assert_string_equal(err.msg, "audit_key is not set");
	struct stat st;
	assert_int_not_equal(stat(g_log, &st), 0); /* nothing created */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_audit__records_chain_and_seals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_auth_audit__unwritable_is_io, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
