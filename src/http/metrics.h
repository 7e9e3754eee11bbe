/* /metrics: Prometheus text counters (requests by endpoint and status, signatures by key,
 * signing latency histogram) and gauges (token session pools: size, in use, waiting).
 * Labels come from fixed names (signer names, key ids already made log-safe by the job,
 * token labels made log-safe by keys/pkcs11.c), never from raw URLs; no secrets. */
#ifndef BS_HTTP_METRICS_H
#define BS_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/poolstats.h"

struct bs_metrics;

struct bs_metrics *bs_metrics_new(void);
void bs_metrics_free(struct bs_metrics *m);
/* One finished request: endpoint label ("imx", "healthz", "other"), status, duration. */
void bs_metrics_request(struct bs_metrics *m, const char *endpoint, unsigned status,
			uint64_t ms);
/* One signature made with key key_id. */
void bs_metrics_signature(struct bs_metrics *m, const char *key_id);
/* The text exposition into b, with the token pools' occupancy now. 0 or -1 (b full). */
int bs_metrics_render(struct bs_metrics *m, const struct bs_pool_stats *pools, size_t npools,
		      struct bs_buf *b);

#endif
