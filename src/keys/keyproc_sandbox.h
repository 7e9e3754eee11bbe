/* The key process's sandbox (key_isolation = yes, keys/keyproc.h): its memory lock and
 * its seccomp filter.
 *
 * Memory locks are not inherited across fork, so the secure heap the server set up
 * (core/secmem.h: the PIN, passphrases, key file bytes and the private key numbers
 * OpenSSL decodes) is unlocked in the key process until bs_keyproc_lock_memory locks it
 * again.
 *
 * The filter is a deny-list, not an allow-list: the key process runs vendor PKCS#11
 * modules (SoftHSM2, opensc, yubihsm_pkcs11 talking HTTP to yubihsm-connector) whose
 * system calls we do not know. It kills the process (SIGSYS) on the calls that read or
 * change another process, run a program or change the kernel: ptrace,
 * process_vm_readv/writev, execve/execveat, kexec_load/kexec_file_load, bpf,
 * perf_event_open, mount and the new mount API, umount2, pivot_root, chroot,
 * init/finit/delete_module, keyctl/add_key/request_key, personality (except the
 * 0xffffffff query), userfaultfd, io_uring_setup/enter/register (whose requests no filter
 * sees). It answers EPERM to bind, listen, accept, accept4 (the key process serves nobody)
 * and to socket() for every family except AF_UNIX, plus AF_INET/AF_INET6 when
 * network is true (config key_process_network = yes: a YubiHSM 2 through
 * yubihsm-connector). clone is left alone: modules start threads. */
#ifndef BS_KEYS_KEYPROC_SANDBOX_H
#define BS_KEYS_KEYPROC_SANDBOX_H

#include <stdbool.h>

#include "core/error.h"

/* Load the filter into every thread of the process (TSYNC); threads started later
 * inherit it. Sets PR_SET_NO_NEW_PRIVS first (seccomp needs it without CAP_SYS_ADMIN).
 * BS_ERR_UNSUPPORTED when the kernel or libseccomp refuses, with why. */
int bs_keyproc_filter_load(bool network, struct bs_error *err) BS_WUR;

/* Key process start-up: lock the secure heap in memory, logging how much, or a warning
 * naming RLIMIT_MEMLOCK and going on. */
void bs_keyproc_lock_memory(void);
/* Key process start-up, before the first request: load the filter and log one line
 * saying it is on, or why not (the process goes on without it). */
void bs_keyproc_sandbox(bool network);

#endif
