/* Access control for the server: TLS material, client identity (certificate, bearer
 * token, trusted proxy header), the policy (reloaded on SIGHUP), the audit log.
 * Built from the configuration by bs_server_start; docs/security.md describes it. */
#ifndef BS_HTTP_GUARD_H
#define BS_HTTP_GUARD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/audit.h"
#include "auth/identity.h"
#include "auth/policy.h"
#include "core/config.h"
#include "core/error.h"

struct bs_guard;

struct bs_keyring;

/* Load TLS files, tokens, policy, audit log and its sealing key (audit_key, from kr).
 * Refuses (BS_ERR_CONFIG) a non-loopback address without authentication unless
 * allow_anonymous is set. */
int bs_guard_new(struct bs_guard **out, const struct bs_config *cfg, struct bs_keyring *kr,
		 struct bs_error *err) BS_WUR;
void bs_guard_free(struct bs_guard *g);
/* Add the TLS options (and MHD_USE_TLS to *flags) when TLS is configured; returns the
 * number of options written to opts (capacity cap). */
size_t bs_guard_mhd_options(const struct bs_guard *g, struct MHD_OptionItem *opts, size_t cap,
			    unsigned *flags);
/* Who is asking: 0 with *out filled, or BS_ERR_AUTH (message for the 401 body). peer_ip is
 * the connection's address without port. */
int bs_guard_identify(struct bs_guard *g, struct MHD_Connection *conn, const char *peer_ip,
		      struct bs_identity *out, struct bs_error *err) BS_WUR;
/* The current policy (a reference: bs_policy_free it). */
struct bs_policy *bs_guard_policy(struct bs_guard *g);
/* The audit log, or NULL when none is configured. */
struct bs_audit *bs_guard_audit(struct bs_guard *g);
/* SIGHUP: re-read tokens and policy; a file that fails to load keeps the old one (logged). */
void bs_guard_reload(struct bs_guard *g);

/* The per-request policy context handed to the signing job (bs_job_opts.authorize_key). */
struct bs_guard_check {
	struct bs_policy *policy;
	const struct bs_identity *id;
	const char *endpoint;
	const char *subject;
};
int bs_guard_authorize_key(void *ctx, const char *key_id, struct bs_error *err);
/* bs_job_opts.key_filter over a struct bs_guard_check (the same decision, for the keys) */
int bs_guard_key_filter(void *ctx, char *out, size_t cap, struct bs_error *err);


/* One signing attempt for the audit log (a no-op without audit_log). rec may be NULL
 * (refused before a job existed). status decides the result: 200 granted, 401/403/429
 * denied, others failed. BS_ERR_IO when the record could not be made durable. */
struct bs_job_record;
struct bs_guard_attempt {
	const char *reqid, *principal, *source, *endpoint, *subject, *reason;
	unsigned status;
	const struct bs_job_record *rec;
};
int bs_guard_record(struct bs_guard *g, const struct bs_guard_attempt *a,
		    struct bs_error *err) BS_WUR;

#endif
