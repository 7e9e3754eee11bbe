/* Secrets out of core dumps and swap.
 *
 * bs_secmem_protect_process() is the first thing `serve` and every CLI command that loads
 * keys or the PIN does: the process becomes non-dumpable (PR_SET_DUMPABLE 0: no core file,
 * no ptrace by other users, /proc/<pid> owned by root), RLIMIT_CORE is 0, and OpenSSL's
 * secure heap (mlock'ed, MADV_DONTDUMP, wiped on free) is set up: private key numbers that
 * OpenSSL decodes (BN_secure_new) live there, and so do the PIN, passphrases and key file
 * bytes allocated with bs_secmem_malloc/bs_secmem_strdup. The caller logs once when the
 * heap is not locked (bs_secmem_locked); when it is full, secrets live in ordinary memory
 * (still wiped; counted by bs_secmem_fallbacks). This file logs nothing (core/log uses it).
 * Everything from bs_secmem_* is freed with bs_free_secret / bs_free_secret_str
 * (core/util.h), which wipe and return it to the right heap. */
#ifndef BS_CORE_SECMEM_H
#define BS_CORE_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Non-dumpable, no core file, secure heap. Idempotent. BS_ERR_IO if prctl/setrlimit fail. */
int bs_secmem_protect_process(struct bs_error *err) BS_WUR;
/* n bytes (zeroed) in the secure heap when possible; NULL if out of memory. */
void *bs_secmem_malloc(size_t n);
char *bs_secmem_strdup(const char *s);
/* Was the secure heap set up, and locked in memory? */
bool bs_secmem_active(void);
bool bs_secmem_locked(void);
/* Lock the secure heap's mapping (found in /proc/self/maps) in memory again: memory locks
 * are not inherited across fork, so a forked process that keeps secrets calls this.
 * *out_len = bytes locked. BS_ERR_UNSUPPORTED without a secure heap, BS_ERR_LIMIT when
 * mlock fails (RLIMIT_MEMLOCK), BS_ERR_IO when the mapping is not found. */
int bs_secmem_lock_heap(size_t *out_len, struct bs_error *err) BS_WUR;
/* Allocations that did not fit in the secure heap. */
unsigned long bs_secmem_fallbacks(void);

#endif
