#include "keys/bundles.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

#define SWEEP_MS 1000u /* idle entries are looked for this often */

struct entry {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint8_t *data;
	size_t len;
	struct bs_store *store; /* the one parsed copy, shared read-only (NULL until parsed) */
	size_t bytes;           /* len + what the parsed store holds */
	size_t refs;
	uint64_t serial; /* this parsed version's number (1, 2, ... per cache) */
	bool seen;   /* leased at least once */
	bool stale;  /* detached from the table; freed when refs reach 0 */
	uint64_t used;     /* LRU clock */
	uint64_t idle_since_ms;
	struct entry *next;
};

struct bs_keylease {
	struct bs_keycache *kc;
	struct entry *e;
	bool first;   /* the first lease of this bundle version */
};

struct bs_keycache {
	char *root;
	size_t max;
	size_t max_bytes;   /* 0 = no byte bound */
	unsigned idle_ms;   /* 0 = kept until evicted */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t sweeper;
	bool sweeping, stop;
	struct entry *head;
	size_t n;
	size_t bytes;
	uint64_t clock;
	uint64_t serials;
	unsigned long parses;
};

static void entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	bs_store_free(e->store);
	bs_free_secret(e->data, e->len);
	free(e->path);
	free(e);
}

int bs_keycache_new(struct bs_keycache **out, const char *root, size_t max_entries,
		    struct bs_error *err)
{
	*out = NULL;
	struct bs_keycache *kc = calloc(1, sizeof(*kc));
	if (kc == NULL || (kc->root = strdup(root)) == NULL) {
		free(kc);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	kc->max = max_entries == 0 ? 1 : max_entries;
	pthread_mutex_init(&kc->lock, NULL);
	pthread_cond_init(&kc->wake, NULL);
	*out = kc;
	return 0;
}

/* Unlink e from the table (lock held). */
static void detach(struct bs_keycache *kc, struct entry *e)
{
	for (struct entry **pp = &kc->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			kc->n--;
			kc->bytes -= e->bytes;
			break;
		}
	}
	e->next = NULL;
	e->stale = true;
}

/* Drop least recently used idle entries until there is room for `need` more bytes and
 * one more entry (lock held). */
static void evict(struct bs_keycache *kc, size_t need)
{
	while (kc->n >= kc->max ||
	       (kc->max_bytes != 0 && kc->n > 0 && kc->bytes + need > kc->max_bytes)) {
		struct entry *victim = NULL;
		for (struct entry *e = kc->head; e != NULL; e = e->next)
			if (e->refs == 0 && (victim == NULL || e->used < victim->used))
				victim = e;
		if (victim == NULL)
			return; /* all in use: the table grows temporarily */
		detach(kc, victim);
		entry_free(victim);
	}
}

static bool same_file(const struct entry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int bs_keycache_acquire(struct bs_keycache *kc, const char *subject, const char *signtype,
			const char *file, struct bs_keylease **lease, struct bs_store **store,
			struct bs_error *err)
{
	*lease = NULL;
	*store = NULL;
	char path[BS_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s/%s/%s", kc->root, subject, signtype, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return bs_error_set(err, BS_ERR_LIMIT, "key bundle path too long");
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return bs_error_set(err, BS_ERR_NOT_FOUND,
					    "no keys for '%s' (%s/%s not in the key store)", subject,
					    signtype, file);
		return bs_error_set(err, BS_ERR_IO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return bs_error_set(err, BS_ERR_CONFIG, "%s: not a regular file", path);

	struct bs_keylease *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	l->kc = kc;

	pthread_mutex_lock(&kc->lock);
	struct entry *e;
	for (e = kc->head; e != NULL; e = e->next)
		if (strcmp(e->path, path) == 0)
			break;
	if (e != NULL && !same_file(e, &st)) {
		detach(kc, e);
		if (e->refs == 0)
			entry_free(e);
		e = NULL;
	}
	int rc = 0;
	if (e == NULL) {
		evict(kc, (size_t)st.st_size);
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->path = strdup(path)) == NULL) {
			free(e);
			rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
			goto fail_locked;
		}
		rc = bs_read_file(&e->data, &e->len, path, BS_STORE_BUNDLE_MAX, err);
		if (rc == 0)
			rc = bs_store_open_tgz(&e->store, e->data, e->len, err);
		if (rc != 0) {
			entry_free(e);
			if (rc == BS_ERR_NOT_FOUND)
				bs_error_set(err, BS_ERR_NOT_FOUND, "no keys for '%s'", subject);
			bs_error_prefix(err, "key bundle for '%s'", subject);
			/* A broken bundle is a server configuration problem, not the client's. */
			if (rc == BS_ERR_FORMAT || rc == BS_ERR_PATH || rc == BS_ERR_LIMIT)
				rc = bs_error_recode(err, BS_ERR_CONFIG);
			goto fail_locked;
		}
		e->serial = ++kc->serials;
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		e->size = st.st_size;
		e->mtime = st.st_mtim;
		e->bytes = e->len + bs_store_bytes(e->store);
		e->next = kc->head;
		kc->head = e;
		kc->n++;
		kc->bytes += e->bytes;
		kc->parses++;
		bs_log(BS_LOG_INFO, NULL, "key bundle %s/%s/%s parsed (%zu bytes; cache: %zu "
		       "bundles, %zu bytes)", subject, signtype, file, e->bytes, kc->n, kc->bytes);
	}
	l->first = !e->seen;
	e->seen = true;
	e->refs++;
	e->used = ++kc->clock;
	pthread_mutex_unlock(&kc->lock);
	l->e = e;
	*lease = l;
	*store = e->store;
	return 0;
fail_locked:
	pthread_mutex_unlock(&kc->lock);
	free(l);
	return rc;
}

bool bs_keycache_first_use(const struct bs_keylease *l)
{
	return l != NULL && l->first;
}

uint64_t bs_keycache_serial(const struct bs_keylease *l)
{
	return l != NULL ? l->e->serial : 0;
}

void bs_keycache_release(struct bs_keylease *l)
{
	if (l == NULL)
		return;
	struct bs_keycache *kc = l->kc;
	struct entry *e = l->e;
	pthread_mutex_lock(&kc->lock);
	e->refs--;
	if (e->refs == 0)
		e->idle_since_ms = bs_now_ms();
	bool drop = e->stale && e->refs == 0;
	if (!drop && e->refs == 0 && kc->max_bytes != 0 && kc->bytes > kc->max_bytes)
		evict(kc, 0); /* over budget while it was in use */
	pthread_mutex_unlock(&kc->lock);
	if (drop)
		entry_free(e);
	free(l);
}

int bs_keycache_check(struct bs_keycache *kc, struct bs_error *err)
{
	if (access(kc->root, R_OK | X_OK) != 0)
		return bs_error_set(err, BS_ERR_CONFIG, "key store %s is not readable: %s",
				    kc->root, strerror(errno));
	return 0;
}

const char *bs_keycache_root(const struct bs_keycache *kc)
{
	return kc->root;
}

size_t bs_keycache_size(struct bs_keycache *kc)
{
	pthread_mutex_lock(&kc->lock);
	size_t n = kc->n;
	pthread_mutex_unlock(&kc->lock);
	return n;
}

/* Free entries nobody used for idle_ms, and give the memory back to the system. */
static void *sweeper(void *arg)
{
	struct bs_keycache *kc = arg;
	pthread_mutex_lock(&kc->lock);
	while (!kc->stop) {
		uint64_t now = bs_now_ms();
		bool freed = false;
		for (struct entry *e = kc->head, *next; e != NULL; e = next) {
			next = e->next;
			if (e->refs != 0 || now - e->idle_since_ms < kc->idle_ms)
				continue;
			bs_log(BS_LOG_INFO, NULL, "key bundle %s released (idle %u s)", e->path,
			       kc->idle_ms / 1000);
			detach(kc, e);
			entry_free(e);
			freed = true;
		}
		if (freed)
			malloc_trim(0);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SWEEP_MS / 1000;
		pthread_cond_timedwait(&kc->wake, &kc->lock, &ts);
	}
	pthread_mutex_unlock(&kc->lock);
	return NULL;
}

int bs_keycache_set_limits(struct bs_keycache *kc, size_t max_bytes, unsigned idle_ms,
			   struct bs_error *err)
{
	pthread_mutex_lock(&kc->lock);
	kc->max_bytes = max_bytes;
	kc->idle_ms = idle_ms;
	bool start = idle_ms != 0 && !kc->sweeping;
	pthread_mutex_unlock(&kc->lock);
	if (start) {
		if (pthread_create(&kc->sweeper, NULL, sweeper, kc) != 0)
			return bs_error_set(err, BS_ERR_NOMEM, "cannot start the bundle sweeper");
		kc->sweeping = true;
	}
	return 0;
}

unsigned long bs_keycache_parses(struct bs_keycache *kc)
{
	pthread_mutex_lock(&kc->lock);
	unsigned long n = kc->parses;
	pthread_mutex_unlock(&kc->lock);
	return n;
}

void bs_keycache_free(struct bs_keycache *kc)
{
	if (kc == NULL)
		return;
	if (kc->sweeping) {
		pthread_mutex_lock(&kc->lock);
		kc->stop = true;
		pthread_cond_signal(&kc->wake);
		pthread_mutex_unlock(&kc->lock);
		pthread_join(kc->sweeper, NULL);
	}
	pthread_cond_destroy(&kc->wake);
	struct entry *e = kc->head;
	while (e != NULL) {
		struct entry *next = e->next;
		entry_free(e);
		e = next;
	}
	pthread_mutex_destroy(&kc->lock);
	free(kc->root);
	free(kc);
}
