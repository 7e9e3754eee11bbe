/* Unit tests for core/runner: the external-tool runner (timeout, clean environment, no
 * shell, stderr tail, working directory, exit codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/runner.h"
#include "core/util.h"
#include "testutil.h"

/* Whole file as a string (caller frees). */
static char *slurp(const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct bs_error err = {0};
	assert_int_equal(bs_read_file(&data, &len, path, 1u << 20, &err), 0);
	return (char *)data;
}

static void test_core__runner_timeout_kills_the_tool(void **state)
{
	(void)state;
	const char *argv[] = {"sleep", "5", NULL};
	struct bs_run_opts o = {.argv = argv, .timeout_ms = 200};
	struct bs_error err = {0};
	int status = 0;
	uint64_t t0 = bs_now_ms();
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TIMEOUT);
	uint64_t took = bs_now_ms() - t0;
	assert_true(took >= 200);
	assert_true(took < 2000);
	assert_int_equal(status, -1);
	assert_int_equal(err.code, BS_ERR_TIMEOUT);
	assert_non_null(strstr(err.msg, "sleep: no result after 200 ms"));
}

static void test_core__runner_clean_environment(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/env.txt", dir);
	assert_int_equal(setenv("BS_SECRET_TEST", "x", 1), 0);
	const char *argv[] = {"/usr/bin/env", NULL};
	struct bs_run_opts o = {.argv = argv, .stdout_path = out, .timeout_ms = 5000};
	struct bs_error err = {0};
	int status = -1;
	assert_int_equal(bs_run(&o, &status, &err), 0);
	assert_int_equal(status, 0);
	char *text = slurp(out);
	assert_string_equal(text, "PATH=/usr/bin:/bin\nLANG=C\n");
	free(text);
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* an explicit environment is the whole environment */
	const char *env[] = {"ONLY=1", NULL};
	o.env = env;
	const char *argv2[] = {"/usr/bin/env", NULL};
	o.argv = argv2;
	assert_int_equal(bs_run(&o, &status, &err), 0);
	text = slurp(out);
	assert_string_equal(text, "ONLY=1\n");
	free(text);
	unsetenv("BS_SECRET_TEST");
	bs_tmpdir_free(dir);
}

static void test_core__runner_no_shell_interpretation(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char out[PATH_MAX], marker[PATH_MAX];
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	const char *argv[] = {"printf", "[%s]\\n", "$(touch marker)", ";", "*", "`touch marker`",
			      "a b", "> marker", "&& touch marker", NULL};
	struct bs_run_opts o = {.argv = argv, .cwd = dir, .stdout_path = out,
				.timeout_ms = 5000};
	struct bs_error err = {0};
	assert_int_equal(bs_run(&o, NULL, &err), 0);
	char *text = slurp(out);
	assert_string_equal(text, "[$(touch marker)]\n[;]\n[*]\n[`touch marker`]\n[a b]\n"
				  "[> marker]\n[&& touch marker]\n");
	free(text);
	assert_int_equal(access(marker, F_OK), -1);
	bs_tmpdir_free(dir);
}

static void test_core__runner_stderr_tail_in_message(void **state)
{
	(void)state;
	const char *argv[] = {"ls", "/nonexistent-bs-runner", NULL};
	struct bs_run_opts o = {.argv = argv, .timeout_ms = 5000};
	struct bs_error err = {0};
	int status = 0;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_int_equal(status, 2);
	assert_int_equal(strncmp(err.msg, "ls: exit 2: ", 12), 0);
	assert_non_null(strstr(err.msg, "/nonexistent-bs-runner"));
	assert_null(strchr(err.msg, '\n'));

	/* only the tail is kept */
	o.stderr_tail = 14;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_string_equal(err.msg, "ls: exit 2: or directory");
}

static void test_core__runner_cwd_honoured(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char out[PATH_MAX], real[PATH_MAX], expect[PATH_MAX + 2];
	snprintf(out, sizeof(out), "%s/pwd.txt", dir);
	assert_non_null(realpath(dir, real));
	snprintf(expect, sizeof(expect), "%s\n", real);
	const char *argv[] = {"pwd", NULL};
	struct bs_run_opts o = {.argv = argv, .cwd = dir, .stdout_path = out};
	struct bs_error err = {0};
	assert_int_equal(bs_run(&o, NULL, &err), 0);
	char *text = slurp(out);
	assert_string_equal(text, expect);
	free(text);

	/* a missing working directory: the tool never runs */
	o.cwd = "/nonexistent-bs-runner";
	int status = 0;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_int_equal(status, -1);
	assert_non_null(strstr(err.msg, "pwd: cannot run: working directory /nonexistent"));
	bs_tmpdir_free(dir);
}

static void test_core__runner_exit_code_reported(void **state)
{
	(void)state;
	const char *f[] = {"false", NULL}, *t[] = {"true", NULL};
	struct bs_run_opts o = {.argv = f};
	struct bs_error err = {0};
	int status = 0;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_int_equal(status, 1);
	assert_string_equal(err.msg, "false: exit 1");
	o.argv = t;
	bs_error_clear(&err);
	assert_int_equal(bs_run(&o, &status, &err), 0);
	assert_int_equal(status, 0);
	assert_int_equal(err.code, 0);
}

static void test_core__runner_cannot_run(void **state)
{
	(void)state;
	const char *a[] = {"/nonexistent-bs-runner/tool", NULL};
	const char *b[] = {"bs-no-such-tool", NULL};
	char *dir = bs_tmpdir();
	char plain[PATH_MAX];
	snprintf(plain, sizeof(plain), "%s/not-executable", dir);
	bs_write(plain, "#!/bin/sh\n", 10);
	assert_int_equal(chmod(plain, 0644), 0);
	const char *c[] = {plain, NULL};
	struct bs_run_opts o = {.argv = a};
	struct bs_error err = {0};
	int status = 0;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_int_equal(status, -1);
	assert_non_null(strstr(err.msg, "cannot run: No such file"));
	o.argv = b;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_non_null(strstr(err.msg, "bs-no-such-tool: cannot run: not found in PATH"));
	o.argv = c;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_TOOL);
	assert_non_null(strstr(err.msg, "cannot run: Permission denied"));
	const char *empty[] = {NULL};
	o.argv = empty;
	assert_int_equal(bs_run(&o, &status, &err), BS_ERR_INVALID);
	bs_tmpdir_free(dir);
}

static void test_core__runner_closes_other_fds(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/fds.txt", dir);
	int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 77), 77);
	const char *argv[] = {"ls", "/proc/self/fd", NULL};
	struct bs_run_opts o = {.argv = argv, .stdout_path = out};
	struct bs_error err = {0};
	assert_int_equal(bs_run(&o, NULL, &err), 0);
	char *text = slurp(out);
	/* 0, 1, 2 and the directory ls itself reads */
	assert_null(strstr(text, "77"));
	assert_string_equal(text, "0\n1\n2\n3\n");
	free(text);
	close(77);
	close(fd);
	bs_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core__runner_timeout_kills_the_tool),
		cmocka_unit_test(test_core__runner_clean_environment),
		cmocka_unit_test(test_core__runner_no_shell_interpretation),
		cmocka_unit_test(test_core__runner_stderr_tail_in_message),
		cmocka_unit_test(test_core__runner_cwd_honoured),
		cmocka_unit_test(test_core__runner_exit_code_reported),
		cmocka_unit_test(test_core__runner_cannot_run),
		cmocka_unit_test(test_core__runner_closes_other_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
