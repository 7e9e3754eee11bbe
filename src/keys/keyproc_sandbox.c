/* The key process's memory lock and seccomp filter (see keys/keyproc_sandbox.h). */
#include "keys/keyproc_sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/secmem.h"
#include "core/util.h"

/* Calls that kill the key process: reading or writing another process, running a
 * program, changing the kernel, the mount table or keyrings; io_uring, whose requests
 * bypass the filter. Names unknown on this architecture are skipped. */
static const char *const g_kill[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "execve", "execveat",
	"kexec_load", "kexec_file_load", "bpf", "perf_event_open", "mount", "umount",
	"umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
	"move_mount", "open_tree", "mount_setattr", "init_module", "finit_module",
	"delete_module", "keyctl", "add_key", "request_key", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
};

/* Calls answered EPERM: the key process never serves, and never enters namespaces. */
static const char *const g_eperm[] = {
	"bind", "listen", "accept", "accept4", "unshare", "setns",
};

/* socket() families below this are enumerated; anything at or above is refused. */
#define SANDBOX_AF_LIMIT 64

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
		    unsigned ncmp, const struct scmp_arg_cmp *cmp, struct bs_error *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call on this architecture */
	int rc = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
	if (rc != 0)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "seccomp rule for %s: %s", name,
				    strerror(-rc));
	return 0;
}

static bool family_allowed(int af, bool network)
{
	return af == AF_UNIX || (network && (af == AF_INET || af == AF_INET6));
}

static int build(scmp_filter_ctx ctx, bool network, struct bs_error *err)
{
	/* kernel < 4.14 has no "kill the whole process": the thread is the next best */
	uint32_t kill = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_KILL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < BS_ARRAY_SIZE(g_kill); i++)
		rc = add_rule(ctx, kill, g_kill[i], 0, NULL, err);
	for (size_t i = 0; rc == 0 && i < BS_ARRAY_SIZE(g_eperm); i++)
		rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), g_eperm[i], 0, NULL, err);
	/* personality(0xffffffff) only reads the persona (sanitizer runtimes ask) */
	const struct scmp_arg_cmp query = SCMP_A0_32(SCMP_CMP_NE, 0xffffffffu);
	if (rc == 0)
		rc = add_rule(ctx, kill, "personality", 1, &query, err);
	/* socket(): compared as 32 bits, as the kernel reads the int */
	for (int af = 0; rc == 0 && af < SANDBOX_AF_LIMIT; af++) {
		if (family_allowed(af, network))
			continue;
		const struct scmp_arg_cmp c = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)af);
		rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &c, err);
	}
	const struct scmp_arg_cmp high = SCMP_A0_32(SCMP_CMP_GE, SANDBOX_AF_LIMIT);
	if (rc == 0)
		rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &high, err);
	return rc;
}

int bs_keyproc_filter_load(bool network, struct bs_error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "prctl(PR_SET_NO_NEW_PRIVS): %s",
				    strerror(errno));
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "seccomp_init failed (libseccomp "
				    "%u.%u.%u)", seccomp_version()->major,
				    seccomp_version()->minor, seccomp_version()->micro);
	/* every thread (the bundle sweeper is already running), or none */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc != 0)
		rc = bs_error_set(err, BS_ERR_UNSUPPORTED, "seccomp thread sync: %s",
				  strerror(-rc));
	if (rc == 0)
		rc = build(ctx, network, err);
	if (rc == 0) {
		int lrc = seccomp_load(ctx);
		if (lrc != 0)
			rc = bs_error_set(err, BS_ERR_UNSUPPORTED, "seccomp_load: %s%s",
					  strerror(-lrc), lrc == -EPERM || lrc == -EACCES
					  ? " (a seccomp filter of the service manager "
					    "refuses seccomp()?)" : "");
	}
	seccomp_release(ctx);
	return rc;
}

void bs_keyproc_lock_memory(void)
{
	size_t len = 0;
	struct bs_error err = {0};
	if (bs_secmem_lock_heap(&len, &err) == 0) {
		bs_log(BS_LOG_INFO, NULL, "key process: secure heap locked in memory (%zu KiB)",
		       len >> 10);
		return;
	}
	struct rlimit rl = {0, 0};
	(void)getrlimit(RLIMIT_MEMLOCK, &rl);
	char lim[32] = "unlimited";
	if (rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu KiB", (unsigned long long)rl.rlim_cur >> 10);
	bs_log(BS_LOG_WARN, NULL, "key process: secure heap not locked in memory: %s "
	       "(RLIMIT_MEMLOCK is %s; it needs %u KiB: raise LimitMEMLOCK= or ulimit -l): "
	       "keys and PIN may reach swap", err.msg, lim, BS_SECMEM_HEAP >> 10);
}

void bs_keyproc_sandbox(bool network)
{
	struct bs_error err = {0};
	if (bs_keyproc_filter_load(network, &err) != 0) {
		bs_log(BS_LOG_WARN, NULL, "key process: seccomp filter NOT loaded: %s", err.msg);
		return;
	}
	bs_log(BS_LOG_INFO, NULL, "key process: seccomp filter on (deny-list: no ptrace, "
	       "exec, mount, modules, keyrings, bpf, io_uring; no bind/listen/accept; sockets: "
	       "%s)", network ? "AF_UNIX, AF_INET, AF_INET6 (key_process_network = yes)"
			      : "AF_UNIX only");
}
