/* Public bundle members by (bundle serial, kind, name, limit): keys/keyproc_pubcache.h. */
#include "keys/keyproc_pubcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

struct item {
	uint64_t serial; /* 0 = empty */
	char kind;
	size_t max;
	char *name;
	uint8_t *data;
	size_t len;
	uint64_t used;
};

struct bs_kp_pubcache {
	pthread_mutex_t lock;
	struct item items[BS_KP_PUBCACHE_ENTRIES];
	uint64_t clock;
};

struct bs_kp_pubcache *bs_kp_pubcache_new(void)
{
	struct bs_kp_pubcache *pc = calloc(1, sizeof(*pc));
	if (pc != NULL)
		pthread_mutex_init(&pc->lock, NULL);
	return pc;
}

static void item_clear(struct item *it)
{
	free(it->name);
	free(it->data);
	memset(it, 0, sizeof(*it));
}

void bs_kp_pubcache_free(struct bs_kp_pubcache *pc)
{
	if (pc == NULL)
		return;
	for (size_t i = 0; i < BS_KP_PUBCACHE_ENTRIES; i++)
		item_clear(&pc->items[i]);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

static struct item *find_locked(struct bs_kp_pubcache *pc, uint64_t serial, char kind,
				const char *name, size_t max)
{
	for (size_t i = 0; i < BS_KP_PUBCACHE_ENTRIES; i++) {
		struct item *it = &pc->items[i];
		if (it->serial == serial && it->kind == kind && it->max == max &&
		    strcmp(it->name, name) == 0)
			return it;
	}
	return NULL;
}

bool bs_kp_pubcache_get(struct bs_kp_pubcache *pc, uint64_t serial, char kind, const char *name,
			size_t max, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (pc == NULL || serial == 0)
		return false;
	pthread_mutex_lock(&pc->lock);
	struct item *it = find_locked(pc, serial, kind, name, max);
	if (it != NULL && (*out = malloc(it->len + 1)) != NULL) {
		memcpy(*out, it->data, it->len);
		(*out)[it->len] = '\0';
		*len = it->len;
		it->used = ++pc->clock;
	}
	pthread_mutex_unlock(&pc->lock);
	return *out != NULL;
}

void bs_kp_pubcache_put(struct bs_kp_pubcache *pc, uint64_t serial, char kind, const char *name,
			size_t max, const uint8_t *data, size_t len)
{
	if (pc == NULL || serial == 0 || len > BS_KP_PUBCACHE_ITEM_MAX)
		return;
	char *n = strdup(name);
	uint8_t *d = malloc(len > 0 ? len : 1);
	if (n == NULL || d == NULL) {
		free(n);
		free(d);
		return;
	}
	memcpy(d, data, len);
	pthread_mutex_lock(&pc->lock);
	struct item *it = find_locked(pc, serial, kind, name, max);
	if (it == NULL) {
		it = &pc->items[0];
		for (size_t i = 1; i < BS_KP_PUBCACHE_ENTRIES && it->serial != 0; i++)
			if (pc->items[i].serial == 0 || pc->items[i].used < it->used)
				it = &pc->items[i];
	}
	item_clear(it);
	*it = (struct item){.serial = serial, .kind = kind, .max = max, .name = n, .data = d,
			    .len = len, .used = ++pc->clock};
	pthread_mutex_unlock(&pc->lock);
}
