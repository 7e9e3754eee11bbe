/* Access policy: who may sign what. Default deny.
 *
 * One rule per line, first match wins, no match = deny ('#' comments, blank lines):
 *   allow|deny CLIENT ENDPOINT SUBJECT KEY [rate=N/min] [max=N] [digest-only=yes|no]
 * CLIENT   a token name, cn:<certificate CN>, sha256:<certificate fingerprint, hex>,
 *          `anonymous` (no credentials, where the server allows them) or * (any
 *          authenticated client)
 * ENDPOINT a signer name (imx, modules, ...), `metrics`, or *
 * SUBJECT  a glob over the machine / distro name
 * KEY      a glob over key ids (key-store names, token object labels)
 * rate=N/min  at most N requests per minute per client under this rule (HTTP 429)
 * max=N       at most N requests per client under this rule while this policy is loaded
 *             (counters carry over a reload for rules whose text is unchanged)
 * digest-only=yes  the rule matches only requests that send digests instead of the
 *                  artifact (/sign/imx with `digests`); digest-only=no only full uploads.
 *                  `deny ci imx * * digest-only=yes` forbids client ci digest-only signing.
 *
 * Checks, all first-match:
 *  - endpoint (bs_policy_endpoint), before the request body is read;
 *  - admission (bs_policy_admit), when the job is created: the rules that match client,
 *    endpoint and subject; an allow (limits counted here) admits; a deny whose KEY is *
 *    refuses; deny rules naming particular keys wait for the key check;
 *  - each key (bs_policy_key), at the job/keyring boundary: all four fields.
 * A refusal names the rule of this client that refused (file:line) or says no rule
 * allowed it, never another client's rules. */
#ifndef BS_AUTH_POLICY_H
#define BS_AUTH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "auth/identity.h"
#include "core/error.h"

struct bs_policy;

/* Parse a policy text (name = file name for messages). BS_ERR_SYNTAX naming file:line. */
int bs_policy_parse(struct bs_policy **out, const char *text, size_t len, const char *name,
		    struct bs_error *err) BS_WUR;
int bs_policy_load(struct bs_policy **out, const char *path, struct bs_error *err) BS_WUR;
/* A policy that allows everything (no policy file: loopback / development servers). */
int bs_policy_allow_all(struct bs_policy **out, struct bs_error *err) BS_WUR;
size_t bs_policy_rules(const struct bs_policy *p);
/* Copy the rate/usage counters of rules with the same text from old (reload). */
void bs_policy_carry_counters(struct bs_policy *p, const struct bs_policy *old);

/* Admission: 0, BS_ERR_DENIED, or BS_ERR_RATE (rate=N/min reached). now_ms: monotonic. */
int bs_policy_admit(struct bs_policy *p, const struct bs_identity *id, const char *endpoint,
		    const char *subject, uint64_t now_ms, struct bs_error *err) BS_WUR;
/* Before the body is read: could any rule let this client use this endpoint (for some
 * subject)? 0, or BS_ERR_DENIED (a deny for every subject and key, or no rule at all). No
 * limits are counted. */
int bs_policy_endpoint(const struct bs_policy *p, const struct bs_identity *id,
		       const char *endpoint, struct bs_error *err) BS_WUR;
/* The policy's decision on keys for one request, for the key process to apply on its own
 * (keys/keyring.h bs_key_filter_allows): the key globs of the rules that match (client,
 * endpoint, subject), in order, one per line, "+glob" for allow and "-glob" for deny;
 * nothing after "+*"/"-*". The first line that matches a key id decides; none: refused.
 * An allow-everything policy gives "+*". BS_ERR_LIMIT when over cap bytes (with NUL). */
int bs_policy_key_filter(const struct bs_policy *p, const struct bs_identity *id,
			 const char *endpoint, const char *subject, char *out, size_t cap,
			 struct bs_error *err) BS_WUR;
/* May key key_id be used for this request? 0 or BS_ERR_DENIED. */
int bs_policy_key(const struct bs_policy *p, const struct bs_identity *id, const char *endpoint,
		  const char *subject, const char *key_id, struct bs_error *err) BS_WUR;

/* Shared ownership: a reload replaces the server's policy while requests keep theirs. */
struct bs_policy *bs_policy_ref(struct bs_policy *p);
void bs_policy_free(struct bs_policy *p); /* drops one reference; NULL is a no-op */

#endif
