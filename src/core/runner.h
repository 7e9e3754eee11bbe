/* Running an external tool, as rauc's subprocess helpers do: an argv array (never a shell
 * string), a clean environment, the job's scratch directory as working directory, a
 * timeout, and a failure that carries the tail of the tool's stderr. */
#ifndef BS_CORE_RUNNER_H
#define BS_CORE_RUNNER_H

#include <stddef.h>

#include "core/error.h"

struct bs_run_opts {
	/* The tool and its arguments, NULL-terminated, passed to execve() as they are: no
	 * shell sees them, so "$(...)", ";" or "*" are literal arguments. argv[0] with no
	 * '/' is looked up in the PATH of `env` (not of this process); at most
	 * BS_RUN_ARGS_MAX entries. */
	const char *const *argv;
	/* Working directory of the tool (the job's scratch directory); NULL = inherit. */
	const char *cwd;
	/* The whole environment of the tool, NULL-terminated "NAME=value" strings. NULL
	 * means the minimal clean one: PATH=/usr/bin:/bin and LANG=C. Nothing of this
	 * process's environment (PINs included) is ever passed on implicitly. */
	const char *const *env;
	/* Milliseconds before the tool's process group gets SIGTERM, then SIGKILL after
	 * BS_RUN_TERM_GRACE_MS; 0 = no timeout. */
	unsigned timeout_ms;
	/* File read as stdin; NULL = /dev/null. */
	const char *stdin_path;
	/* File written with stdout (created 0600 or truncated, not through a symlink);
	 * NULL = /dev/null. It stays after a failure: put it in the job's scratch
	 * directory, which is removed on every path. */
	const char *stdout_path;
	/* Bytes at the end of stderr kept for the error message; 0 = 512, at most
	 * BS_RUN_TAIL_MAX. */
	size_t stderr_tail;
};

/* Run the tool and wait for it. The child gets a new process group, stdin/stdout as
 * above, stderr into a pipe, default signal handling, and no other open descriptor.
 *
 * Returns 0 if it exited with status 0. Otherwise:
 *   BS_ERR_TOOL     "<tool>: exit N: <stderr tail>" or "<tool>: killed by signal N: ...",
 *                   or "<tool>: cannot run: <reason>" (not found, not executable, bad cwd);
 *   BS_ERR_TIMEOUT  "<tool>: no result after N ms, stopped" (the whole group is killed);
 *   BS_ERR_IO       stdin/stdout file cannot be opened; BS_ERR_INVALID, BS_ERR_LIMIT,
 *   BS_ERR_NOMEM.
 * The stderr tail is sanitised (printable ASCII, line ends as spaces). exit_status (may
 * be NULL) receives the exit code, 128 + N for signal N, or -1 if the tool did not run
 * or timed out. */
int bs_run(const struct bs_run_opts *o, int *exit_status, struct bs_error *err) BS_WUR;

#endif
