#include "keys/bundles.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/util.h"

struct entry {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint8_t *data;
	size_t len;
	struct bs_store *pool[BS_BUNDLE_POOL_MAX]; /* idle stores */
	size_t npool;
	size_t refs;
	bool seen;   /* leased at least once */
	bool stale;  /* detached from the table; freed when refs reach 0 */
	uint64_t used;
	struct entry *next;
};

struct bs_keylease {
	struct bs_keycache *kc;
	struct entry *e;
	struct bs_store *store;
	bool first;   /* the first lease of this bundle version */
};

struct bs_keycache {
	char *root;
	size_t max;
	pthread_mutex_t lock;
	struct entry *head;
	size_t n;
	uint64_t clock;
};

static void entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->npool; i++)
		bs_store_free(e->pool[i]);
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
			break;
		}
	}
	e->next = NULL;
	e->stale = true;
}

/* Drop least recently used idle entries until there is room (lock held). */
static void evict(struct bs_keycache *kc)
{
	while (kc->n >= kc->max) {
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
		evict(kc);
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->path = strdup(path)) == NULL) {
			free(e);
			rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
			goto fail_locked;
		}
		rc = bs_read_file(&e->data, &e->len, path, BS_STORE_BUNDLE_MAX, err);
		if (rc != 0) {
			entry_free(e);
			if (rc == BS_ERR_NOT_FOUND)
				bs_error_set(err, BS_ERR_NOT_FOUND, "no keys for '%s'", subject);
			goto fail_locked;
		}
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		e->size = st.st_size;
		e->mtime = st.st_mtim;
		e->next = kc->head;
		kc->head = e;
		kc->n++;
	}
	l->first = !e->seen;
	e->seen = true;
	e->refs++;
	e->used = ++kc->clock;
	if (e->npool > 0)
		l->store = e->pool[--e->npool];
	pthread_mutex_unlock(&kc->lock);
	l->e = e;

	if (l->store == NULL) {
		rc = bs_store_open_tgz(&l->store, e->data, e->len, err);
		if (rc != 0) {
			bs_error_prefix(err, "key bundle for '%s'", subject);
			/* A broken bundle is a server configuration problem, not the client's. */
			if (rc == BS_ERR_FORMAT || rc == BS_ERR_PATH || rc == BS_ERR_LIMIT)
				rc = bs_error_recode(err, BS_ERR_CONFIG);
			bs_keycache_release(l);
			return rc;
		}
	}
	*lease = l;
	*store = l->store;
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

void bs_keycache_release(struct bs_keylease *l)
{
	if (l == NULL)
		return;
	struct bs_keycache *kc = l->kc;
	struct entry *e = l->e;
	struct bs_store *spare = NULL;
	pthread_mutex_lock(&kc->lock);
	if (l->store != NULL) {
		if (!e->stale && e->npool < BS_BUNDLE_POOL_MAX)
			e->pool[e->npool++] = l->store;
		else
			spare = l->store;
	}
	e->refs--;
	bool drop = e->stale && e->refs == 0;
	pthread_mutex_unlock(&kc->lock);
	bs_store_free(spare);
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

void bs_keycache_free(struct bs_keycache *kc)
{
	if (kc == NULL)
		return;
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
