#include "http/conns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

struct bs_conns {
	struct bs_conns_opts o;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	struct bs_conn *e;
	unsigned total;
	unsigned long expired;
	struct limiter {
		uint64_t last_ms;
		unsigned long unlogged;
	} refusals, expiries; /* log lines, each kind at most once a period */
};

/* One event: true if it may be logged now (c->lock held). */
static bool log_ok_locked(struct limiter *l, unsigned long *suppressed)
{
	uint64_t now = bs_now_ms();
	if (l->last_ms == 0 || now - l->last_ms >= BS_CONNS_LOG_EVERY_MS) {
		*suppressed = l->unlogged;
		l->unlogged = 0;
		l->last_ms = now;
		return true;
	}
	l->unlogged++;
	return false;
}

/* Deadline checks: shut down what is late (the connection's own thread then closes it). */
static void *watchdog(void *arg)
{
	struct bs_conns *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		uint64_t now = bs_now_ms();
		for (unsigned i = 0; i < c->o.max; i++) {
			struct bs_conn *e = &c->e[i];
			if (!e->in_use || e->phase == 2 || e->deadline_ms == 0 || now < e->deadline_ms)
				continue;
			shutdown(e->fd, SHUT_RDWR);
			e->deadline_ms = 0;
			c->expired++;
			unsigned long more = 0;
			if (log_ok_locked(&c->expiries, &more))
				bs_log(BS_LOG_WARN, NULL, "connection from %s closed: request %s not "
				       "received within its time limit (%s; %lu more since the last "
				       "line)", e->host, e->phase == 0 ? "head" : "body",
				       e->over ? "over the per-client connection limit" :
				       e->phase == 0 ? "header_timeout" : "body_timeout", more);
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)BS_CONNS_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->wake, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int bs_conns_new(struct bs_conns **out, const struct bs_conns_opts *o, struct bs_error *err)
{
	*out = NULL;
	struct bs_conns *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->e = calloc(o->max, sizeof(*c->e))) == NULL) {
		free(c);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	c->o = *o;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, watchdog, c) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		free(c->e);
		free(c);
		return bs_error_set(err, BS_ERR_NOMEM, "cannot start the connection watchdog");
	}
	*out = c;
	return 0;
}

void bs_conns_free(struct bs_conns *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c);
}

static unsigned count_host(const struct bs_conns *c, const char *host)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->o.max; i++)
		if (c->e[i].in_use && strcmp(c->e[i].host, host) == 0)
			n++;
	return n;
}

struct bs_conn *bs_conns_add(struct bs_conns *c, int fd, const char *host)
{
	struct bs_conn *e = NULL;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->o.max && e == NULL; i++)
		if (!c->e[i].in_use)
			e = &c->e[i];
	if (e != NULL) {
		memset(e, 0, sizeof(*e));
		e->in_use = true;
		e->fd = fd;
		snprintf(e->host, sizeof(e->host), "%s", host);
		e->over = count_host(c, host) > c->o.per_client; /* e included */
		e->deadline_ms = bs_now_ms() + (e->over ? BS_CONNS_OVER_MS : c->o.header_ms);
		c->total++;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

void bs_conns_remove(struct bs_conns *c, struct bs_conn *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	e->in_use = false;
	e->fd = -1;
	c->total--;
	pthread_mutex_unlock(&c->lock);
}

static void set_phase(struct bs_conns *c, struct bs_conn *e, int phase, unsigned ms)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if (e->deadline_ms != 0 || phase != 1) { /* an expired connection stays expired */
		e->phase = phase;
		e->deadline_ms = phase == 2 ? 0 : bs_now_ms() + ms;
	}
	pthread_mutex_unlock(&c->lock);
}

void bs_conns_head_done(struct bs_conns *c, struct bs_conn *e)
{
	set_phase(c, e, 1, c->o.body_ms);
}

void bs_conns_body_done(struct bs_conns *c, struct bs_conn *e)
{
	set_phase(c, e, 2, 0);
}

void bs_conns_request_done(struct bs_conns *c, struct bs_conn *e)
{
	set_phase(c, e, 0, c->o.header_ms);
}

unsigned bs_conns_of_client(struct bs_conns *c, const struct bs_conn *e)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = count_host(c, e->host);
	pthread_mutex_unlock(&c->lock);
	return n;
}

unsigned bs_conns_total(struct bs_conns *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = c->total;
	pthread_mutex_unlock(&c->lock);
	return n;
}

unsigned long bs_conns_expired(struct bs_conns *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned long n = c->expired;
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool bs_conns_log_refusal(struct bs_conns *c, unsigned long *suppressed)
{
	pthread_mutex_lock(&c->lock);
	bool ok = log_ok_locked(&c->refusals, suppressed);
	pthread_mutex_unlock(&c->lock);
	return ok;
}
