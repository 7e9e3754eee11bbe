/* keys/keyproc_sandbox.c: the key process's seccomp filter, loaded in a forked child that
 * then tries what the filter denies (it must die of SIGSYS, or get EPERM) and what it
 * must allow (threads, AF_UNIX, AF_INET with key_process_network); and the secure heap
 * lock (core/secmem.c) with a parsed private key's numbers in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "core/secmem.h"
#include "keys/keyproc_sandbox.h"
#include "keys/store.h"

/* Child exit codes: 0 = every check passed; CHILD_NO_FILTER = the filter did not load;
 * other values name the failed step. */
#define CHILD_NO_FILTER 90

/* Fork; the child loads the filter and runs fn, which _exits (never exit(): sanitizer
 * leak checks at exit use ptrace). Returns the wait status. */
static int in_child(bool network, void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bs_error err = {0};
		if (bs_keyproc_filter_load(network, &err) != 0) {
			fprintf(stderr, "filter: %s\n", err.msg);
			_exit(CHILD_NO_FILTER);
		}
		fn();
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return status;
}

static void assert_killed(int status)
{
	if (WIFEXITED(status))
		fail_msg("child exited %d instead of dying of SIGSYS", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void assert_passed(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void do_execve(void)
{
	char *const argv[] = {(char *)"true", NULL};
	char *const envp[] = {NULL};
	execve("/bin/true", argv, envp);
	_exit(1); /* refused without being killed */
}

static void do_ptrace(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	_exit(1);
}

static void do_vm_readv(void)
{
	char src[8] = "secret!", dst[8];
	struct iovec l = {dst, sizeof(dst)}, r = {src, sizeof(src)};
	(void)process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	_exit(1);
}

static void do_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	(void)syscall(SYS_io_uring_setup, 4, &p);
	_exit(1);
}

static void do_personality(void)
{
	if (personality(0xffffffff) < 0) /* the query stays allowed */
		_exit(2);
	(void)personality(PER_LINUX32);
	_exit(1);
}

static void do_mount(void)
{
	(void)syscall(SYS_mount, "none", "/mnt", "tmpfs", 0ul, NULL);
	_exit(1);
}

static void test_keyproc_sandbox__kills_what_it_denies(void **state)
{
	(void)state;
	void (*const denied[])(void) = {do_execve, do_ptrace, do_vm_readv, do_io_uring,
					do_personality, do_mount};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		assert_killed(in_child(false, denied[i]));
	assert_killed(in_child(true, do_execve)); /* network changes nothing else */
}

/* bind/listen/accept: EPERM; AF_UNIX sockets work. */
static void do_no_serving(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		_exit(2);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(3);
	struct sockaddr_un {
		sa_family_t f;
		char p[108];
	} a = {AF_UNIX, "\0bootsign-sandbox-test"};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EPERM)
		_exit(4);
	if (listen(fd, 1) == 0 || errno != EPERM)
		_exit(5);
	if (accept(fd, NULL, NULL) >= 0 || errno != EPERM)
		_exit(6);
	if (accept4(fd, NULL, NULL, 0) >= 0 || errno != EPERM)
		_exit(7);
	_exit(0);
}

static bool refused(long domain)
{
	long fd = syscall(SYS_socket, domain, (long)SOCK_STREAM, 0L);
	if (fd >= 0)
		close((int)fd);
	return fd < 0 && errno == EPERM;
}

static void do_no_network(void)
{
	if (!refused(AF_INET) || !refused(AF_INET6) || !refused(AF_NETLINK) ||
	    !refused(AF_PACKET) || !refused(AF_UNSPEC) || !refused(200))
		_exit(2);
	/* the kernel reads an int: high bits must not get AF_INET past the filter */
	if (!refused((long)(1ull << 32 | AF_INET)))
		_exit(3);
	_exit(0);
}

static void do_network(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(2);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* connect is allowed (yubihsm-connector): refused by nobody listening, not EPERM */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EPERM)
		_exit(3);
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 && errno == EPERM)
		_exit(4);
	if (fd >= 0)
		close(fd);
	if (!refused(AF_NETLINK) || !refused(AF_PACKET))
		_exit(5);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET};
	if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) == 0 || errno != EPERM)
		_exit(6);
	_exit(0);
}

static void test_keyproc_sandbox__sockets(void **state)
{
	(void)state;
	assert_passed(in_child(false, do_no_serving));
	assert_passed(in_child(true, do_no_serving));
	assert_passed(in_child(false, do_no_network));
	assert_passed(in_child(true, do_network));
}

static void *thread_ok(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)(getpid() > 0 ? 7 : 0);
}

static void *thread_exec(void *arg)
{
	(void)arg;
	do_execve();
	return NULL;
}

/* PKCS#11 modules start threads: clone for threads works, and a thread is filtered too. */
static void do_threads(void)
{
	pthread_t t;
	void *ret = NULL;
	if (pthread_create(&t, NULL, thread_ok, NULL) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != (void *)(intptr_t)7)
		_exit(2);
	if (pthread_create(&t, NULL, thread_exec, NULL) != 0)
		_exit(3);
	pthread_join(t, NULL);
	_exit(4);
}

static void test_keyproc_sandbox__threads(void **state)
{
	(void)state;
	assert_killed(in_child(false, do_threads));
}

/* A thread that already runs when the filter is loaded is filtered too (TSYNC). */
static int g_pipe[2];

static void *early_thread(void *arg)
{
	(void)arg;
	char c;
	if (read(g_pipe[0], &c, 1) == 1)
		do_ptrace();
	return NULL;
}

static void test_keyproc_sandbox__earlier_threads(void **state)
{
	(void)state;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		if (pipe(g_pipe) != 0 || pthread_create(&t, NULL, early_thread, NULL) != 0)
			_exit(2);
		struct bs_error err = {0};
		if (bs_keyproc_filter_load(false, &err) != 0)
			_exit(CHILD_NO_FILTER);
		if (write(g_pipe[1], "x", 1) != 1)
			_exit(3);
		pthread_join(t, NULL);
		_exit(4);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_killed(status);
}

static long vmlck_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return -1;
	char line[256];
	long v = -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmLck: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* After fork the secure heap is unlocked; bs_secmem_lock_heap locks it again, and a
 * parsed private key's numbers land in it. */
static void test_keyproc_sandbox__secure_heap(void **state)
{
	(void)state;
	struct bs_error err = {0};
	assert_int_equal(bs_secmem_protect_process(&err), 0);
	assert_true(bs_secmem_active());
	const char *root = bs_fixture("hab4-vectors/rsa");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (vmlck_kib() != 0)
			_exit(2); /* memory locks are not inherited */
		size_t len = 0;
		if (bs_secmem_lock_heap(&len, &err) != 0) {
			fprintf(stderr, "lock: %s\n", err.msg);
			_exit(3);
		}
		if (len < BS_SECMEM_HEAP || vmlck_kib() < (long)(BS_SECMEM_HEAP >> 10))
			_exit(4);
		struct bs_store *s = NULL;
		struct bs_key *k = NULL;
		size_t before = CRYPTO_secure_used();
		if (bs_store_open_dir(&s, root, true, &err) != 0 ||
		    bs_store_load_key_file(s, "keys/CSF1_key.pem", NULL, &k, &err) != 0) {
			fprintf(stderr, "key: %s\n", err.msg);
			_exit(5);
		}
		size_t after = CRYPTO_secure_used();
		/* d alone is 256 bytes for RSA-2048; p, q, dp, dq, qinv as much again */
		if (after < before + 256) {
			fprintf(stderr, "secure heap: %zu -> %zu bytes\n", before, after);
			_exit(6);
		}
		bs_key_free(k);
		bs_store_free(s);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_passed(status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyproc_sandbox__kills_what_it_denies),
		cmocka_unit_test(test_keyproc_sandbox__sockets),
		cmocka_unit_test(test_keyproc_sandbox__threads),
		cmocka_unit_test(test_keyproc_sandbox__earlier_threads),
		cmocka_unit_test(test_keyproc_sandbox__secure_heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
