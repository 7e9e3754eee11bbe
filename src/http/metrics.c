/* Prometheus counters (metrics.h). */
#include "http/metrics.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/util.h"

#define METRICS_SERIES_MAX 512

static const double g_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

struct series {
	char label[BS_JOB_KEY_ID_MAX];
	unsigned status;
	uint64_t count;
};

struct bs_metrics {
	pthread_mutex_t lock;
	struct series req[METRICS_SERIES_MAX];
	size_t nreq;
	struct series sig[METRICS_SERIES_MAX];
	size_t nsig;
	uint64_t hist[BS_ARRAY_SIZE(g_buckets) + 1];
	uint64_t hist_count;
	double hist_sum;
};

struct bs_metrics *bs_metrics_new(void)
{
	struct bs_metrics *m = calloc(1, sizeof(*m));
	if (m != NULL)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void bs_metrics_free(struct bs_metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static void bump(struct series *s, size_t *n, const char *label, unsigned status)
{
	for (size_t i = 0; i < *n; i++)
		if (s[i].status == status && strcmp(s[i].label, label) == 0) {
			s[i].count++;
			return;
		}
	if (*n == METRICS_SERIES_MAX)
		return;
	snprintf(s[*n].label, sizeof(s[*n].label), "%s", label);
	for (char *p = s[*n].label; *p; p++)
		if (*p == '"' || *p == '\\' || *p < ' ' || *p > '~')
			*p = '_';
	s[*n].status = status;
	s[(*n)++].count = 1;
}

void bs_metrics_request(struct bs_metrics *m, const char *endpoint, unsigned status,
			uint64_t ms)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	bump(m->req, &m->nreq, endpoint, status);
	double sec = (double)ms / 1000.0;
	size_t b = 0;
	while (b < BS_ARRAY_SIZE(g_buckets) && sec > g_buckets[b])
		b++;
	m->hist[b]++;
	m->hist_count++;
	m->hist_sum += sec;
	pthread_mutex_unlock(&m->lock);
}

void bs_metrics_signature(struct bs_metrics *m, const char *key_id)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	bump(m->sig, &m->nsig, key_id, 0);
	pthread_mutex_unlock(&m->lock);
}

/* Token labels are log-safe already; quotes and backslashes would still end a label. */
static void label_value(char *out, size_t cap, const char *in)
{
	size_t o = 0;
	for (; *in != '\0' && o + 1 < cap; in++)
		out[o++] = *in == '"' || *in == '\\' || *in == '\n' ? '_' : *in;
	out[o] = '\0';
}

static int render_pools(const struct bs_pool_stats *p, size_t n, struct bs_buf *b)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} g[] = {
		{"bootsign_token_sessions", "Sessions in the token's pool.",
		 offsetof(struct bs_pool_stats, sessions)},
		{"bootsign_token_sessions_in_use", "Sessions running a token operation now.",
		 offsetof(struct bs_pool_stats, in_use)},
		{"bootsign_token_waiting", "Requests waiting for a free session now.",
		 offsetof(struct bs_pool_stats, waiting)},
	};
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < BS_ARRAY_SIZE(g); k++) {
		rc = bs_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", g[k].name, g[k].help,
				   g[k].name);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char tok[BS_POOL_NAME_MAX];
			label_value(tok, sizeof(tok), p[i].token);
			rc = bs_buf_printf(b, "%s{token=\"%s\"} %u\n", g[k].name, tok,
					   *(const unsigned *)((const char *)&p[i] + g[k].off));
		}
	}
	return rc;
}

int bs_metrics_render(struct bs_metrics *m, const struct bs_pool_stats *pools, size_t npools,
		      struct bs_buf *b)
{
	pthread_mutex_lock(&m->lock);
	int rc = bs_buf_printf(b, "# HELP bootsign_requests_total HTTP requests by endpoint and "
			       "status.\n# TYPE bootsign_requests_total counter\n");
	for (size_t i = 0; rc == 0 && i < m->nreq; i++)
		rc = bs_buf_printf(b, "bootsign_requests_total{endpoint=\"%s\",status=\"%u\"} %llu\n",
				   m->req[i].label, m->req[i].status,
				   (unsigned long long)m->req[i].count);
	if (rc == 0)
		rc = bs_buf_printf(b, "# HELP bootsign_signatures_total Signing requests that "
				   "succeeded, by key.\n# TYPE bootsign_signatures_total counter\n");
	for (size_t i = 0; rc == 0 && i < m->nsig; i++)
		rc = bs_buf_printf(b, "bootsign_signatures_total{key=\"%s\"} %llu\n",
				   m->sig[i].label, (unsigned long long)m->sig[i].count);
	if (rc == 0)
		rc = bs_buf_printf(b, "# HELP bootsign_request_duration_seconds Request latency.\n"
				   "# TYPE bootsign_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t i = 0; rc == 0 && i <= BS_ARRAY_SIZE(g_buckets); i++) {
		cum += m->hist[i];
		char le[16];
		if (i < BS_ARRAY_SIZE(g_buckets))
			snprintf(le, sizeof(le), "%g", g_buckets[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		rc = bs_buf_printf(b, "bootsign_request_duration_seconds_bucket{le=\"%s\"} %llu\n",
				   le, (unsigned long long)cum);
	}
	if (rc == 0)
		rc = bs_buf_printf(b, "bootsign_request_duration_seconds_sum %.3f\n"
				   "bootsign_request_duration_seconds_count %llu\n", m->hist_sum,
				   (unsigned long long)m->hist_count);
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		rc = render_pools(pools, npools, b);
	return rc;
}
