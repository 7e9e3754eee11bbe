/* core/privdrop.c: `user = NAME` of bootsign serve. The switch itself runs in a forked
 * child (root only) with a thread started before it, which must lose root too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "core/privdrop.h"

static void test_privdrop__unknown_user(void **state)
{
	(void)state;
	struct bs_privdrop pd;
	struct bs_error err = {0};
	assert_int_equal(bs_privdrop_prepare(&pd, "bootsign-no-such-user", &err), BS_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "user = bootsign-no-such-user: no such user"));
	assert_false(pd.active);
}

static void test_privdrop__unset_and_self(void **state)
{
	(void)state;
	struct bs_privdrop pd;
	struct bs_error err = {0};
	assert_int_equal(bs_privdrop_prepare(&pd, NULL, &err), 0);
	assert_false(pd.set);
	assert_false(pd.active);
	assert_int_equal(pd.root_without_user, geteuid() == 0);
	struct passwd *me = getpwuid(geteuid());
	assert_non_null(me);
	char name[BS_PRIVDROP_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", me->pw_name);
	assert_int_equal(bs_privdrop_prepare(&pd, name, &err), 0);
	assert_true(pd.set);
	assert_false(pd.active); /* becoming oneself is no switch */
	assert_int_equal(bs_privdrop_switch(&pd, &err), 0);
}

static int wait_child(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

static bool no_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	for (int i = 0; i < 2; i++)
		if (d[i].effective != 0 || d[i].permitted != 0 || d[i].inheritable != 0)
			return false;
	return prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 &&
	       prctl(PR_CAPBSET_READ, CAP_NET_BIND_SERVICE, 0, 0, 0) == 0;
}

static int g_go[2];
static uid_t g_uid;

/* Started after bs_privdrop_limit, before the switch: checks its own credentials. */
static void *worker(void *arg)
{
	(void)arg;
	char c;
	if (read(g_go[0], &c, 1) != 1)
		return (void *)1;
	if ((uid_t)syscall(SYS_geteuid) != g_uid || (uid_t)syscall(SYS_getuid) != g_uid)
		return (void *)2;
	if (!no_caps() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return (void *)3;
	return NULL;
}

static void test_privdrop__switch(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	g_uid = pw->pw_uid;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bs_privdrop pd;
		struct bs_error err = {0};
		pthread_t t;
		if (bs_privdrop_prepare(&pd, "nobody", &err) != 0 || !pd.active)
			_exit(2);
		if (bs_privdrop_limit(&pd, &err) != 0 || pipe(g_go) != 0 ||
		    pthread_create(&t, NULL, worker, NULL) != 0)
			_exit(3);
		if (bs_privdrop_switch(&pd, &err) != 0) {
			fprintf(stderr, "switch: %s\n", err.msg);
			_exit(4);
		}
		if (getuid() != g_uid || geteuid() != g_uid || getgid() != pw->pw_gid ||
		    setuid(0) == 0 || !no_caps() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(5);
		void *ret = (void *)9;
		if (write(g_go[1], "x", 1) != 1 || pthread_join(t, &ret) != 0)
			_exit(6);
		_exit(ret == NULL ? 0 : 10 + (int)(intptr_t)ret);
	}
	assert_int_equal(wait_child(pid), 0);
}

/* Not root: another user is a start-up error naming the setting. */
static void test_privdrop__not_root(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		struct bs_privdrop pd;
		struct bs_error err = {0};
		assert_int_equal(bs_privdrop_prepare(&pd, "root", &err), BS_ERR_CONFIG);
		assert_non_null(strstr(err.msg, "user = root: bootsign serve runs as uid"));
		return;
	}
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			_exit(2);
		struct bs_privdrop pd;
		struct bs_error err = {0};
		if (bs_privdrop_prepare(&pd, "root", &err) != BS_ERR_CONFIG ||
		    strstr(err.msg, "user = root: bootsign serve runs as uid") == NULL)
			_exit(3);
		if (bs_privdrop_prepare(&pd, "nobody", &err) != 0 || pd.active)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_privdrop__unknown_user),
		cmocka_unit_test(test_privdrop__unset_and_self),
		cmocka_unit_test(test_privdrop__switch),
		cmocka_unit_test(test_privdrop__not_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
