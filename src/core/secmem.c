#include "core/secmem.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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
