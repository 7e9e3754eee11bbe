/* Unit tests for src/auth/tokens: add (printed once, stored hashed, 0600), check in
 * constant time, revoke, and every malformed file refused with the exact code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/identity.h"
#include "auth/tokens.h"
#include "core/util.h"
#include "testutil.h"

static char g_path[512];
static char *g_dir;

static int setup(void **state)
{
	(void)state;
	g_dir = bs_tmpdir();
	snprintf(g_path, sizeof(g_path), "%s/tokens", g_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bs_tmpdir_free(g_dir);
	return 0;
}

static void write_tokens(const char *text, unsigned mode)
{
	bs_write(g_path, text, strlen(text));
	chmod(g_path, mode);
}

static void test_auth_tokens__add_check_revoke(void **state)
{
	(void)state;
	struct bs_error err = {0};
	char *t1 = NULL, *t2 = NULL;
	assert_int_equal(bs_tokens_add(&t1, g_path, "ci", &err), 0);
	assert_int_equal(bs_tokens_add(&t2, g_path, "release.bot", &err), 0);
	assert_int_equal(strlen(t1), 4 + 64);
	assert_memory_equal(t1, "bst_", 4);
	assert_string_not_equal(t1, t2);
	struct stat st;
	assert_int_equal(stat(g_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	size_t len = 0;
	uint8_t *text = NULL;
	assert_int_equal(bs_read_file(&text, &len, g_path, 1 << 20, &err), 0);
	assert_null(strstr((char *)text, t1 + 4));
	free(text);

	struct bs_tokens *t = NULL;
	char name[64];
	assert_int_equal(bs_tokens_load(&t, g_path, &err), 0);
	assert_int_equal(bs_tokens_count(t), 2);
	assert_int_equal(bs_tokens_check(name, sizeof(name), t, t1, &err), 0);
	assert_string_equal(name, "ci");
	assert_int_equal(bs_tokens_check(name, sizeof(name), t, t2, &err), 0);
	assert_string_equal(name, "release.bot");
	t1[10] ^= 1;
	assert_int_equal(bs_tokens_check(name, sizeof(name), t, t1, &err), BS_ERR_AUTH);
	assert_string_equal(err.msg, "unknown or revoked bearer token");
	assert_string_equal(name, "");
	t1[10] ^= 1;
	assert_int_equal(bs_tokens_check(name, sizeof(name), t, "", &err), BS_ERR_AUTH);
	bs_tokens_free(t);

	char *t3 = NULL;
	assert_int_equal(bs_tokens_add(&t3, g_path, "ci", &err), BS_ERR_INVALID);
	assert_null(t3);
	assert_int_equal(bs_tokens_revoke(g_path, "ci", &err), 0);
	assert_int_equal(bs_tokens_revoke(g_path, "ci", &err), BS_ERR_NOT_FOUND);
	assert_int_equal(bs_tokens_load(&t, g_path, &err), 0);
	assert_int_equal(bs_tokens_check(name, sizeof(name), t, t1, &err), BS_ERR_AUTH);
	assert_int_equal(bs_tokens_check(name, sizeof(name), t, t2, &err), 0);
	bs_tokens_free(t);
	bs_free_secret_str(t1);
	bs_free_secret_str(t2);
}

static void test_auth_tokens__bad_names_refused(void **state)
{
	(void)state;
	struct bs_error err = {0};
	char *tok = NULL;
	assert_int_equal(bs_tokens_add(&tok, g_path, "cn:x", &err), BS_ERR_INVALID);
	assert_null(tok);
	assert_int_equal(bs_tokens_add(&tok, g_path, "", &err), BS_ERR_INVALID);
	assert_int_equal(bs_tokens_add(&tok, g_path, "a b", &err), BS_ERR_INVALID);
	struct stat st;
	assert_int_not_equal(stat(g_path, &st), 0); /* nothing written */
}

static void test_auth_tokens__file_checks(void **state)
{
	(void)state;
	struct bs_error err = {0};
	struct bs_tokens *t = NULL;
	const char *good = "ci 00112233445566778899aabbccddeeff "
			   "0000000000000000000000000000000000000000000000000000000000000000\n";
	write_tokens(good, 0644);
	assert_int_equal(bs_tokens_load(&t, g_path, &err), BS_ERR_CONFIG);
	assert_null(t);
	write_tokens(good, 0600);
	assert_int_equal(bs_tokens_load(&t, g_path, &err), 0);
	bs_tokens_free(t);
	write_tokens("# c\n\nci 0011 00\n", 0600);
	assert_int_equal(bs_tokens_load(&t, g_path, &err), BS_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "tokens:3: expected 'NAME SALT_HEX SHA256_HEX'"));
	char twice[512];
	snprintf(twice, sizeof(twice), "%s%s", good, good);
	write_tokens(twice, 0600);
	assert_int_equal(bs_tokens_load(&t, g_path, &err), BS_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, ":2: token name 'ci' used twice"));
	assert_null(t);
	assert_int_equal(bs_tokens_revoke("/nonexistent/tokens", "ci", &err), BS_ERR_NOT_FOUND);
}

static void test_auth_tokens__principal(void **state)
{
	(void)state;
	char out[128];
	struct bs_identity id = {.kind = BS_IDENT_CERT, .name = "builder"};
	memset(id.fp, 'a', 64);
	bs_identity_principal(&id, out, sizeof(out));
	assert_string_equal(out, "cn:builder(sha256:aaaaaaaaaaaaaaaa)");
	id = (struct bs_identity){.kind = BS_IDENT_TOKEN, .name = "ci\n"};
	bs_identity_principal(&id, out, sizeof(out));
	assert_string_equal(out, "token:ci?");
	id = (struct bs_identity){0};
	bs_identity_principal(&id, out, sizeof(out));
	assert_string_equal(out, "anonymous");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_tokens__add_check_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_tokens__bad_names_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_tokens__file_checks, setup, teardown),
		cmocka_unit_test(test_auth_tokens__principal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
