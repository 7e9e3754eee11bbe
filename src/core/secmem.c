#include "core/secmem.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "core/limits.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_heap; /* CRYPTO_secure_malloc_init result: 0 none, 1 locked, 2 unlocked */
static atomic_ulong g_fallbacks;

static void heap_init(void)
{
	g_heap = CRYPTO_secure_malloc_init(BS_SECMEM_HEAP, 16);
}

int bs_secmem_protect_process(struct bs_error *err)
{
	const struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return bs_error_set(err, BS_ERR_IO, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return bs_error_set(err, BS_ERR_IO, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	pthread_once(&g_once, heap_init);
	return 0;
}

bool bs_secmem_active(void)
{
	return CRYPTO_secure_malloc_initialized() == 1;
}

bool bs_secmem_locked(void)
{
	return bs_secmem_active() && g_heap == 1;
}

/* A /proc/self/maps line is "start-end perms offset dev inode [path]". */
#define SECMEM_MAPS_LINE 512

/* The mapping of /proc/self/maps that contains addr. */
static int find_mapping(uintptr_t *out_start, uintptr_t *out_end, uintptr_t addr,
			struct bs_error *err)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return bs_error_set(err, BS_ERR_IO, "/proc/self/maps: %s", strerror(errno));
	char line[SECMEM_MAPS_LINE];
	bool line_start = true;
	bool found = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		bool at_start = line_start;
		line_start = strchr(line, '\n') != NULL; /* else: the rest of a long path */
		unsigned long long a = 0, b = 0;
		if (!at_start || sscanf(line, "%llx-%llx", &a, &b) != 2)
			continue;
		if (a <= addr && addr < b) {
			*out_start = (uintptr_t)a;
			*out_end = (uintptr_t)b;
			found = true;
			break;
		}
	}
	fclose(f);
	return found ? 0 : bs_error_set(err, BS_ERR_IO, "the secure heap is in no mapping "
					"of /proc/self/maps");
}

int bs_secmem_lock_heap(size_t *out_len, struct bs_error *err)
{
	*out_len = 0;
	if (!bs_secmem_active())
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "no secure heap");
	/* OpenSSL maps the heap on its own, between two guard pages: the mapping holding
	 * any of its chunks is the heap */
	void *probe = OPENSSL_secure_malloc(1);
	if (probe == NULL || !CRYPTO_secure_allocated(probe)) {
		OPENSSL_secure_free(probe);
		return bs_error_set(err, BS_ERR_NOMEM, "the secure heap is full");
	}
	uintptr_t addr = (uintptr_t)probe, start = 0, end = 0;
	OPENSSL_secure_free(probe);
	int rc = find_mapping(&start, &end, addr, err);
	if (rc != 0)
		return rc;
	size_t len = end - start;
	if (len > 2 * (size_t)BS_SECMEM_HEAP)
		return bs_error_set(err, BS_ERR_IO, "the mapping holding the secure heap has %zu "
				    "bytes, more than the heap's %u", len, BS_SECMEM_HEAP);
	/* as OpenSSL does: pages are locked when first touched, not all at once */
	int lrc = mlock2((void *)start, len, MLOCK_ONFAULT);
	if (lrc != 0 && errno == ENOSYS)
		lrc = mlock((void *)start, len);
	if (lrc != 0)
		return bs_error_set(err, BS_ERR_LIMIT, "mlock(%zu bytes): %s", len,
				    strerror(errno));
	*out_len = len;
	return 0;
}

unsigned long bs_secmem_fallbacks(void)
{
	return atomic_load(&g_fallbacks);
}

void *bs_secmem_malloc(size_t n)
{
	if (n == 0)
		n = 1;
	if (bs_secmem_active()) {
		void *p = OPENSSL_secure_zalloc(n);
		if (p != NULL)
			return p;
		atomic_fetch_add(&g_fallbacks, 1);
	}
	return calloc(1, n);
}

char *bs_secmem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = bs_secmem_malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}
