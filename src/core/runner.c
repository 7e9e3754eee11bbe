#include "core/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"

#define DEFAULT_TAIL 512u
#define POLL_STEP_MS 20

static const char *const g_clean_env[] = {"PATH=/usr/bin:/bin", "LANG=C", NULL};

/* What the child reports through the exec pipe when it cannot start the tool. */
struct child_failure {
	int stage; /* 0 = chdir, 1 = execve, 2 = set-up */
	int error;
};

/* Last `cap` bytes of stderr, as a ring. */
struct tail {
	char *buf;
	size_t cap, len, start;
};

static void tail_add(struct tail *t, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t->len < t->cap) {
			t->buf[(t->start + t->len++) % t->cap] = data[i];
		} else {
			t->buf[t->start] = data[i];
			t->start = (t->start + 1) % t->cap;
		}
	}
}

/* The tail as one printable line (line ends as spaces, trailing space trimmed). */
static void tail_text(char *out, size_t cap, const struct tail *t)
{
	char raw[BS_RUN_TAIL_MAX + 1];
	size_t n = 0;
	for (size_t i = 0; i < t->len; i++) {
		char c = t->buf[(t->start + i) % t->cap];
		raw[n++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
	}
	while (n > 0 && raw[n - 1] == ' ')
		n--;
	size_t skip = 0;
	while (skip < n && raw[skip] == ' ')
		skip++;
	bs_text_sanitize_n(out, cap, raw + skip, n - skip);
}

/* BS_ERR_TOOL "<prefix>: <stderr tail>", keeping the end of the tail when the message
 * has no room for all of it. */
BS_PRINTF(3, 4) static int tool_failed(struct bs_error *err, const struct tail *t,
				       const char *fmt, ...)
{
	if (err == NULL)
		return BS_ERR_TOOL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = BS_ERR_TOOL;
	char text[BS_RUN_TAIL_MAX + 1];
	tail_text(text, sizeof(text), t);
	size_t used = strlen(err->msg), n = strlen(text);
	if (n == 0 || used + 3 >= sizeof(err->msg))
		return BS_ERR_TOOL;
	size_t room = sizeof(err->msg) - used - 3;
	const char *shown = n > room ? text + (n - room) : text;
	snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", shown);
	return BS_ERR_TOOL;
}

/* PATH of the child's environment. */
static const char *env_path(const char *const *env)
{
	for (size_t i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			return env[i] + 5;
	return "/usr/bin:/bin";
}

/* Resolve the tool before forking (the child must not allocate). */
static int resolve(char **out, const char *tool, const char *const *env, const char *shown,
		   struct bs_error *err)
{
	*out = NULL;
	if (strchr(tool, '/') != NULL) {
		*out = strdup(tool);
		return *out != NULL ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	const char *p = env_path(env);
	while (*p != '\0') {
		size_t n = strcspn(p, ":");
		if (n > 0 && n + strlen(tool) + 2 <= BS_PATH_MAX) {
			char cand[BS_PATH_MAX];
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, tool);
			if (cand[0] == '/' && access(cand, X_OK) == 0) {
				*out = strdup(cand);
				return *out != NULL ? 0
						    : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return bs_error_set(err, BS_ERR_TOOL, "%s: cannot run: not found in PATH=%s", shown,
			    env_path(env));
}

/* In the child: only async-signal-safe calls from here to execve. */
__attribute__((noreturn)) static void child(const char *path, const struct bs_run_opts *o,
					    const char *const *env, int in_fd, int out_fd,
					    int err_fd, int report_fd)
{
	struct child_failure f = {.stage = 2, .error = 0};
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL); /* ignored dispositions survive execve */
	if (setpgid(0, 0) != 0)
		goto fail;
	if (o->cwd != NULL && chdir(o->cwd) != 0) {
		f.stage = 0;
		goto fail;
	}
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	/* Everything above 2 closes at execve, the report pipe included (that is how the
	 * parent learns the exec worked). */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		struct rlimit rl;
		int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
				  ? (int)rl.rlim_cur
				  : 65536;
		for (int fd = 3; fd < max; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	execve(path, (char *const *)o->argv, (char *const *)env);
	f.stage = 1;
fail:
	f.error = errno;
	if (write(report_fd, &f, sizeof(f)) < 0) {
		/* nothing more to say */
	}
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what stderr has now (non-blocking); false at EOF or error. */
static bool drain(int fd, struct tail *t)
{
	char buf[1024];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			tail_add(t, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

/* Wait up to ms milliseconds (reading stderr meanwhile) for pid to end, without reaping
 * it: while it is a zombie its process group id cannot be reused. True if it ended. */
static bool wait_for(pid_t pid, unsigned ms, bool forever, int *err_rd, struct tail *t)
{
	uint64_t deadline = bs_now_ms() + ms;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		if ((r == 0 && si.si_pid == pid) || (r < 0 && errno != EINTR))
			return true;
		uint64_t now = bs_now_ms();
		if (!forever && now >= deadline)
			return false;
		int step = POLL_STEP_MS;
		if (!forever && deadline - now < (uint64_t)step)
			step = (int)(deadline - now);
		if (*err_rd >= 0) {
			struct pollfd p = {.fd = *err_rd, .events = POLLIN};
			if (poll(&p, 1, step) > 0 && !drain(*err_rd, t))
				close_fd(err_rd);
		} else {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
}

int bs_run(const struct bs_run_opts *o, int *exit_status, struct bs_error *err)
{
	if (exit_status != NULL)
		*exit_status = -1;
	if (o == NULL || o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "run: no tool given");
	size_t argc = 0;
	while (o->argv[argc] != NULL)
		if (++argc > BS_RUN_ARGS_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "run: more than %d arguments",
					    BS_RUN_ARGS_MAX);
	char tool[128];
	bs_text_sanitize(tool, sizeof(tool), o->argv[0]);
	const char *const *env = o->env != NULL ? o->env : g_clean_env;
	size_t tail_cap = o->stderr_tail == 0 ? DEFAULT_TAIL : o->stderr_tail;
	if (tail_cap > BS_RUN_TAIL_MAX)
		tail_cap = BS_RUN_TAIL_MAX;

	char *path = NULL;
	int in_fd = -1, out_fd = -1, err_rd = -1, err_wr = -1, rep_rd = -1, rep_wr = -1;
	struct tail t = {.cap = tail_cap};
	int rc = resolve(&path, o->argv[0], env, tool, err);
	if (rc != 0)
		return rc;
	t.buf = malloc(tail_cap);
	if (t.buf == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	const char *in_path = o->stdin_path != NULL ? o->stdin_path : "/dev/null";
	in_fd = open(in_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in_fd < 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: stdin %s: %s", tool, in_path, strerror(errno));
		goto out;
	}
	if (o->stdout_path != NULL)
		out_fd = open(o->stdout_path,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	else
		out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out_fd < 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: stdout %s: %s", tool,
				  o->stdout_path != NULL ? o->stdout_path : "/dev/null",
				  strerror(errno));
		goto out;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: pipe: %s", tool, strerror(errno));
		goto out;
	}
	err_rd = p[0];
	err_wr = p[1];
	if (pipe2(p, O_CLOEXEC) != 0) {
		rc = bs_error_set(err, BS_ERR_IO, "%s: pipe: %s", tool, strerror(errno));
		goto out;
	}
	rep_rd = p[0];
	rep_wr = p[1];

	pid_t pid = fork();
	if (pid < 0) {
		rc = bs_error_set(err, BS_ERR_BUSY, "%s: fork: %s", tool, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(path, o, env, in_fd, out_fd, err_wr, rep_wr);
	(void)setpgid(pid, pid); /* either side may win the race; both ask the same */
	close_fd(&in_fd);
	close_fd(&out_fd);
	close_fd(&err_wr);
	close_fd(&rep_wr);
	(void)fcntl(err_rd, F_SETFL, O_NONBLOCK);

	/* EOF on the report pipe: the exec worked. A record: it did not. */
	struct child_failure f;
	ssize_t n;
	do
		n = read(rep_rd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	int status = 0;
	if (n == (ssize_t)sizeof(f)) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (f.stage == 0)
			rc = bs_error_set(err, BS_ERR_TOOL, "%s: cannot run: working directory %s: %s",
					  tool, o->cwd, strerror(f.error));
		else
			rc = bs_error_set(err, BS_ERR_TOOL, "%s: cannot run: %s", tool,
					  strerror(f.error));
		goto out;
	}

	if (!wait_for(pid, o->timeout_ms, o->timeout_ms == 0, &err_rd, &t)) {
		(void)kill(-pid, SIGTERM);
		(void)wait_for(pid, BS_RUN_TERM_GRACE_MS, false, &err_rd, &t);
		(void)kill(-pid, SIGKILL); /* the tool, or what it left of its group */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = bs_error_set(err, BS_ERR_TIMEOUT, "%s: no result after %u ms, stopped",
				  tool, o->timeout_ms);
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (err_rd >= 0)
		(void)drain(err_rd, &t);
	if (WIFEXITED(status)) {
		if (exit_status != NULL)
			*exit_status = WEXITSTATUS(status);
		if (WEXITSTATUS(status) != 0)
			rc = tool_failed(err, &t, "%s: exit %d", tool, WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		if (exit_status != NULL)
			*exit_status = 128 + WTERMSIG(status);
		rc = tool_failed(err, &t, "%s: killed by signal %d", tool, WTERMSIG(status));
	} else {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "%s: unexpected wait status %d", tool,
				  status);
	}
out:
	close_fd(&in_fd);
	close_fd(&out_fd);
	close_fd(&err_rd);
	close_fd(&err_wr);
	close_fd(&rep_rd);
	close_fd(&rep_wr);
	free(t.buf);
	free(path);
	return rc;
}
