#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"
#include "http/conns.h"
#include "http/formdata.h"
#include "http/guard.h"
#include "http/metrics.h"
#include "http/multipart.h"
#include "http/request.h"
#include "http/catalog.h"
#include "http/netaddr.h"
#include "http/response.h"
#include "http/status.h"
#include "core/text.h"
#include "sign/job.h"
#include "sign/signer.h"


struct bs_server {
	const struct bs_config *cfg;
	struct bs_keyring *keyring;
	struct bs_spool *spool;
	struct MHD_Daemon *mhd;
	struct bs_conns *conns;
	unsigned port;
	struct bs_guard *guard;     /* access control: identity, policy, audit (guard.h) */
	struct bs_metrics *metrics;
	atomic_int active; /* requests between first callback and completion */
};


struct request {
	char id[BS_HTTP_REQID_LEN + 1];
	char client[64];
	char method[8];
	char endpoint[48];
	const struct bs_signer *signer;
	struct bs_formdata *form;
	struct bs_upload *up;
	uint64_t start_ms;
	uint64_t received;
	bool discard;     /* body is read and dropped (error already recorded) */
	bool over_limit;  /* a chunked body went past max_request: answered 413 */
	bool refused;     /* 503 for a limit: logged through the refusal rate limit */
	bool responded;
	unsigned status;
	char result[BS_ERROR_MSG_MAX];
	char keys[BS_HTTP_LOG_KEYS_MAX];
	char digests[400];
	char subject[BS_NAME_MAX + 1];
	const char *allow; /* 405: methods the path takes */
	/* access control */
	struct bs_identity who;
	char principal[BS_JOB_PRINCIPAL_MAX];
	char peer_ip[64];
	const char *label; /* metrics endpoint label */
};

/* Queue a status without a BS_ERR code (routing, media type). */
static enum MHD_Result respond_status(struct MHD_Connection *conn, struct request *rq,
				      unsigned status, const char *msg)
{
	rq->status = status;
	rq->responded = true;
	snprintf(rq->result, sizeof(rq->result), "%s", msg);
	return bs_http_text(conn, rq->id, status, msg, rq->allow);
}

/* Queue the response for an error code through the one status table. */
static enum MHD_Result respond_error(struct MHD_Connection *conn, struct request *rq, int code,
				     const struct bs_error *err)
{
	unsigned status = bs_http_status(code);
	const char *detail = err != NULL && err->msg[0] ? err->msg : bs_err_name(code);
	char msg[BS_ERROR_MSG_MAX + 96];
	if (bs_http_status_hides_detail(code)) {
		bs_log(BS_LOG_ERROR, rq->id, "%s failed (%s): %s", rq->endpoint, bs_err_name(code),
		       detail);
		if (code == BS_ERR_CONFIG)
			snprintf(msg, sizeof(msg), "server configuration error (request id %s)",
				 rq->id);
		else if (code == BS_ERR_TOKEN)
			snprintf(msg, sizeof(msg), "signing token failure (request id %s)", rq->id);
		else
			snprintf(msg, sizeof(msg), "internal error (request id %s)", rq->id);
	} else {
		snprintf(msg, sizeof(msg), "%s", detail);
	}
	rq->status = status;
	rq->responded = true;
	snprintf(rq->result, sizeof(rq->result), "%s", detail);
	return bs_http_text(conn, rq->id, status, msg, NULL);
}

static struct bs_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* Every connection is accounted for from accept to close (http/conns.c). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct bs_server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		char host[BS_CONNS_HOST_MAX + 1];
		bs_http_peer_host(conn, host, sizeof(host));
		*socket_context = ci != NULL ? bs_conns_add(srv->conns, ci->connect_fd, host) : NULL;
	} else {
		bs_conns_remove(srv->conns, *socket_context);
		*socket_context = NULL;
	}
}

static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	bool bad = false;
	struct bs_conn *c = conn_of(conn);
	if (c != NULL) {
		c->path = s;
		c->path_raw_len = strlen(s);
	}
	size_t n = bs_request_unescape(s, &bad);
	if (bad && c != NULL)
		c->bad_target = true;
	return n;
}

/* libmicrohttpd ends the target at a raw NUL byte: the path it unescaped last must reach
 * the space before the HTTP version (which also refuses a query string: no endpoint
 * takes one). */
static bool target_ok(const struct bs_conn *c, const char *url, const char *version)
{
	return c != NULL && !c->bad_target && c->path == url &&
	       url + c->path_raw_len + 1 == version;
}

struct header_list {
	struct bs_header h[BS_REQUEST_HEADERS_MAX + 1];
	size_t n;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct header_list *l = cls;
	(void)kind;
	if (l->n < BS_ARRAY_SIZE(l->h))
		l->h[l->n++] = (struct bs_header){key, value != NULL ? value : ""};
	return MHD_YES;
}

/* Framing of a request with a body, from every header line the client sent. */
static int check_framing(struct MHD_Connection *conn, const char **out_clen,
			 struct bs_error *err)
{
	struct header_list l = {.n = 0};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &l);
	return bs_request_framing(out_clen, l.h, l.n, err);
}

static enum MHD_Result healthz(struct bs_server *srv, struct MHD_Connection *conn,
			       struct request *rq)
{
	struct bs_error err = {0};
	if (access(bs_spool_dir(srv->spool), W_OK | X_OK) != 0) {
		bs_log(BS_LOG_WARN, rq->id, "healthz: spool %s: %s", bs_spool_dir(srv->spool),
		       strerror(errno));
		return respond_status(conn, rq, 503, "spool directory not writable");
	}
	if (bs_job_keys_ready(srv->keyring, &err) != 0) {
		bs_log(BS_LOG_WARN, rq->id, "healthz: %s", err.msg);
		return respond_status(conn, rq, 503, "key store not readable");
	}
	return respond_status(conn, rq, 200, "ok");
}

/* A 200 with b's bytes (freed here); rq->result says what was sent. */
static enum MHD_Result respond_buf(struct MHD_Connection *conn, struct request *rq,
				   struct bs_buf *b, const char *content_type)
{
	rq->status = 200;
	rq->responded = true;
	enum MHD_Result ret = bs_http_copy(conn, rq->id, b->data, b->len, content_type, NULL);
	bs_buf_free(b);
	return ret;
}

/* GET /signers: every endpoint with its fields, from the signer table (catalog.c). */
static enum MHD_Result signers_json(struct MHD_Connection *conn, struct request *rq)
{
	struct bs_buf b;
	size_t n = 0;
	if (bs_http_signers_json(&b, &n) != 0)
		return respond_status(conn, rq, 500, "cannot list the signers");
	snprintf(rq->result, sizeof(rq->result), "ok (%zu signers)", n);
	return respond_buf(conn, rq, &b, "application/json");
}

/* ---- access control (guard.h): identity, policy, audit; see docs/security.md ---- */

/* Who is asking, and may they use this endpoint at all (before the body is read)? On
 * failure a 401/403 is queued and, for signer endpoints, audited (returns nonzero). */
static int authenticate(struct bs_server *srv, struct MHD_Connection *conn, struct request *rq)
{
	struct bs_error err = {0};
	int rc = bs_guard_identify(srv->guard, conn, rq->peer_ip, &rq->who, &err);
	bs_identity_principal(&rq->who, rq->principal, sizeof(rq->principal));
	if (rc != 0) {
		snprintf(rq->principal, sizeof(rq->principal), "unauthenticated");
	} else {
		struct bs_policy *pol = bs_guard_policy(srv->guard);
		rc = bs_policy_endpoint(pol, &rq->who, rq->label, &err);
		bs_policy_free(pol);
	}
	if (rc == 0)
		return 0;
	respond_error(conn, rq, rc, &err);
	const struct bs_guard_attempt a = {.reqid = rq->id, .principal = rq->principal,
					   .source = rq->client, .endpoint = rq->label,
					   .subject = "-", .reason = err.msg, .status = rq->status};
	struct bs_error aerr = {0};
	if (rq->signer != NULL && bs_guard_record(srv->guard, &a, &aerr) != 0)
		bs_log(BS_LOG_ERROR, rq->id, "audit: %s", aerr.msg);
	return rc;
}

/* The record of a signature about to be delivered: durable first, or no signature (503). */
static int audit_granted(struct bs_server *srv, struct request *rq, struct bs_job *job,
			 struct bs_job_output *out, struct bs_error *err)
{
	const struct bs_job_record *r = bs_job_record(job);
	const struct bs_guard_attempt a = {.reqid = rq->id, .principal = rq->principal,
					   .source = rq->client, .endpoint = rq->label,
					   .subject = r->subject, .reason = "ok", .status = 200,
					   .rec = r};
	int rc = bs_guard_record(srv->guard, &a, err);
	if (rc != 0) {
		bs_log(BS_LOG_ERROR, rq->id, "audit log unavailable, signature withheld: %s",
		       err->msg);
		if (out->fd >= 0)
			close(out->fd);
		out->fd = -1;
		return bs_error_set(err, BS_ERR_BUSY, "audit log unavailable: signing is stopped "
				    "(request id %s)", rq->id);
	}
	for (size_t i = 0; i < r->nkeys; i++)
		bs_metrics_signature(srv->metrics, r->keys[i]);
	return 0;
}

/* The record of a refused or failed attempt (after its response is queued). */
static void audit_refused(struct bs_server *srv, struct request *rq, const struct bs_job *job)
{
	const struct bs_guard_attempt a = {.reqid = rq->id, .principal = rq->principal,
					   .source = rq->client, .endpoint = rq->label,
					   .subject = job != NULL ? bs_job_record(job)->subject : "-",
					   .reason = rq->result, .status = rq->status,
					   .rec = job != NULL ? bs_job_record(job) : NULL};
	struct bs_error err = {0};
	if (rq->status != 503 || strstr(rq->result, "audit log") == NULL)
		if (bs_guard_record(srv->guard, &a, &err) != 0)
			bs_log(BS_LOG_ERROR, rq->id, "audit: %s", err.msg);
}

/* GET /metrics, under the policy (endpoint "metrics"). */
static enum MHD_Result metrics(struct bs_server *srv, struct MHD_Connection *conn,
			       struct request *rq)
{
	if (authenticate(srv, conn, rq) != 0)
		return MHD_YES;
	struct bs_error err = {0};
	struct bs_policy *pol = bs_guard_policy(srv->guard);
	int rc = bs_policy_admit(pol, &rq->who, "metrics", "-", bs_now_ms(), &err);
	bs_policy_free(pol);
	if (rc != 0)
		return respond_error(conn, rq, rc, &err);
	struct bs_pool_stats pools[BS_P11_TOKENS_MAX];
	size_t npools = bs_job_pool_stats(srv->keyring, pools, BS_ARRAY_SIZE(pools));
	struct bs_buf b;
	bs_buf_init(&b, 1u << 20);
	if (bs_metrics_render(srv->metrics, pools, npools, &b) != 0) {
		bs_buf_free(&b);
		return respond_status(conn, rq, 500, "cannot render the metrics");
	}
	snprintf(rq->result, sizeof(rq->result), "ok");
	return respond_buf(conn, rq, &b, "text/plain; version=0.0.4");
}

static bool is_get(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* Connection limits, checked once the head is in (so the answer is a 503 with
 * Retry-After, never a reset): a connection accepted while its client already held
 * connections_per_client, or while connection_limit were open. /healthz is exempt. True
 * if the request was refused. */
static bool over_limit(struct bs_server *srv, struct MHD_Connection *conn, struct request *rq)
{
	const struct bs_conn *c = conn_of(conn);
	char msg[160];
	unsigned total = bs_conns_total(srv->conns);
	if (c != NULL && c->over) /* accepted while its client held the most it may */
		snprintf(msg, sizeof(msg), "too many connections from %s (limit %u): retry "
			 "later", c->host, srv->cfg->connections_per_client);
	else if (c == NULL || total > srv->cfg->connection_limit)
		snprintf(msg, sizeof(msg), "server busy (%u connections, limit %u): retry later",
			 total, srv->cfg->connection_limit);
	else
		return false;
	unsigned long more = 0;
	if (bs_conns_log_refusal(srv->conns, &more))
		bs_log(BS_LOG_WARN, rq->id, "refused %s %s from %s: %s (%lu more refusals since "
		       "the last line)", rq->method, rq->endpoint, rq->client, msg, more);
	rq->refused = true;
	respond_status(conn, rq, 503, msg);
	return true;
}

/* First callback: route from the signer table and decide whether the body is wanted. */
static enum MHD_Result begin(struct bs_server *srv, struct MHD_Connection *conn,
			     struct request *rq, const char *url, const char *method,
			     const char *version)
{
	char msg[768];
	if (!target_ok(conn_of(conn), url, version))
		return respond_status(conn, rq, 400, "bad request target (NUL or control "
				      "character, or a query string)");
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/health") == 0) {
		rq->allow = "GET, HEAD";
		rq->label = "healthz";
		if (!is_get(method))
			return respond_status(conn, rq, 405, "use GET");
		return healthz(srv, conn, rq);
	}
	if (over_limit(srv, conn, rq))
		return MHD_YES;
	if (strcmp(url, "/signers") == 0) {
		rq->allow = "GET, HEAD";
		if (!is_get(method))
			return respond_status(conn, rq, 405, "use GET");
		return signers_json(conn, rq);
	}
	if (strcmp(url, "/metrics") == 0) {
		rq->allow = "GET, HEAD";
		rq->label = "metrics";
		if (!is_get(method))
			return respond_status(conn, rq, 405, "use GET");
		return metrics(srv, conn, rq);
	}
	if (strncmp(url, "/sign/", 6) != 0 || (rq->signer = bs_signer_find(url + 6)) == NULL) {
		char list[512], shown[64];
		bs_http_endpoint_list(list, sizeof(list));
		bs_text_sanitize(shown, sizeof(shown), url);
		snprintf(msg, sizeof(msg), "unknown endpoint %s (supported: %s; GET /signers lists "
			 "their fields)", shown, list);
		return respond_status(conn, rq, 404, msg);
	}
	rq->allow = "POST";
	rq->label = rq->signer->name;
	if (strcmp(method, "POST") != 0)
		return respond_status(conn, rq, 405, "use POST with multipart/form-data");
	if (authenticate(srv, conn, rq) != 0)
		return MHD_YES; /* 401/403 queued and audited */

	struct bs_error err = {0};
	const char *clen = NULL;
	if (check_framing(conn, &clen, &err) != 0)
		return respond_error(conn, rq, BS_ERR_INVALID, &err);
	uint64_t n = 0;
	if (clen != NULL) {
		struct bs_error cerr = {0};
		if (bs_parse_u64(&n, clen, 10, 0, UINT64_MAX, "Content-Length", &cerr) != 0)
			return respond_status(conn, rq, 400, cerr.msg);
		if (n > srv->cfg->max_request) {
			snprintf(msg, sizeof(msg),
				 "request body of %llu bytes exceeds the limit of %llu bytes",
				 (unsigned long long)n, (unsigned long long)srv->cfg->max_request);
			return respond_status(conn, rq, 413, msg);
		}
	}
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE);
	char boundary[BS_FORMDATA_BOUNDARY_MAX + 1];
	int rc = bs_formdata_boundary(boundary, ctype != NULL ? ctype : "", &err);
	if (rc == BS_ERR_UNSUPPORTED) {
		char shown[64];
		bs_text_sanitize(shown, sizeof(shown), ctype != NULL ? ctype : "none");
		snprintf(msg, sizeof(msg), "expected a multipart/form-data body (Content-Type: %s)",
			 shown);
		/* 400 (issue 14: strict request parsing): the request is malformed for every
		 * endpoint here, which take nothing but multipart/form-data */
		return respond_status(conn, rq, 400, msg);
	}
	if (rc != 0)
		return respond_error(conn, rq, rc, &err);
	rc = bs_upload_new(&rq->up, rq->signer, srv->spool, rq->id, srv->cfg->max_request,
			   &err);
	if (rc == 0)
		rc = bs_formdata_new(&rq->form, boundary, rq->up, &err);
	if (rc != 0)
		return respond_error(conn, rq, rc, &err);
	bs_upload_set_size_hint(rq->up, n);
	return MHD_YES;
}

/* Keep what the request line needs from the job record. */
static void take_record(struct request *rq, const struct bs_job *job)
{
	const struct bs_job_record *r = bs_job_record(job);
	snprintf(rq->subject, sizeof(rq->subject), "%s", r->subject);
	bs_job_record_keys(r, rq->keys, sizeof(rq->keys));
	bs_job_record_digests(r, rq->digests, sizeof(rq->digests), BS_HTTP_LOG_DIGESTS);
}

/* The whole body is in: validate, sign, respond. */
static enum MHD_Result finish(struct bs_server *srv, struct MHD_Connection *conn,
			      struct request *rq)
{
	struct bs_error err = {0};
	if (rq->over_limit) {
		char msg[160];
		snprintf(msg, sizeof(msg), "chunked request body exceeds the limit of %llu bytes",
			 (unsigned long long)srv->cfg->max_request);
		return respond_status(conn, rq, 413, msg);
	}
	(void)bs_formdata_end(rq->form);
	int rc = bs_upload_error(rq->up, &err);
	if (rc == 0)
		rc = bs_upload_finish(rq->up, &err);
	if (rc != 0) {
		enum MHD_Result r = respond_error(conn, rq, rc, &err);
		audit_refused(srv, rq, NULL);
		return r;
	}

	struct bs_guard_check check = {.policy = bs_guard_policy(srv->guard), .id = &rq->who,
					.endpoint = rq->signer->name};
	const struct bs_job_opts jo = {
		.principal = rq->principal,
		.authorize_key = bs_guard_authorize_key,
		.key_filter = bs_guard_key_filter,
		.authorize_ctx = &check,
		.signer = rq->signer,
		.form = bs_upload_form(rq->up),
		.keyring = srv->keyring,
		.reqid = rq->id,
		.scratch_parent = bs_spool_dir(srv->spool),
		.timeout_ms = srv->cfg->sign_timeout_ms,
		.refuse_root_keys = true,
		.refuse_root_bundles = srv->cfg->refuse_root_bundles,
		.artifact_root = srv->cfg->mender_artifact_root,
	};
	struct bs_job *job = NULL;
	rc = bs_job_new(&job, &jo, &err);
	if (rc == 0) {
		const struct bs_form_field *dg = bs_form_get(bs_upload_form(rq->up), "digests");
		rq->who.digest_only = dg != NULL && dg->present;
		check.subject = bs_job_subject(job);
		rc = bs_policy_admit(check.policy, &rq->who, rq->signer->name, check.subject,
				     bs_now_ms(), &err);
	}
	if (rc == 0)
		rc = bs_job_run(job, &err);
	struct bs_job_output out = {.fd = -1};
	if (rc == 0)
		rc = bs_job_take_output(job, &out, &err);
	if (job != NULL)
		take_record(rq, job);
	if (rc == 0)
		rc = audit_granted(srv, rq, job, &out, &err);
	bs_policy_free(check.policy);
	if (rc != 0) {
		enum MHD_Result r = respond_error(conn, rq, rc, &err);
		audit_refused(srv, rq, job);
		bs_job_free(job);
		return r;
	}
	rq->status = 200;
	rq->responded = true;
	snprintf(rq->result, sizeof(rq->result), "ok (%llu bytes)",
		 (unsigned long long)out.size);
	enum MHD_Result ret;
	if (out.fd >= 0)
		ret = bs_http_fd(conn, rq->id, out.fd, out.size, out.content_type, out.filename);
	else
		ret = bs_http_copy(conn, rq->id, out.data, out.len, out.content_type,
				   out.filename);
	/* the scratch directory goes now; an output file stays readable through its fd */
	bs_job_free(job);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct bs_server *srv = cls;
	struct request *rq = *con_cls;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		bs_http_new_reqid(rq->id);
		rq->start_ms = bs_now_ms();
		bs_http_peer_address(conn, rq->client, sizeof(rq->client));
		snprintf(rq->peer_ip, sizeof(rq->peer_ip), "%.*s",
			 (int)(strrchr(rq->client, ':') ? strrchr(rq->client, ':') - rq->client : 0),
			 rq->client);
		rq->label = "other";
		bs_text_sanitize(rq->method, sizeof(rq->method), method);
		bs_text_sanitize(rq->endpoint, sizeof(rq->endpoint), url);
		*con_cls = rq;
		atomic_fetch_add(&srv->active, 1);
		bs_conns_head_done(srv->conns, conn_of(conn));
		enum MHD_Result ret = begin(srv, conn, rq, url, method, version);
		if (rq->responded)
			bs_conns_body_done(srv->conns, conn_of(conn));
		return ret;
	}
	if (*upload_data_size > 0) {
		rq->received += *upload_data_size;
		if (!rq->responded && !rq->discard && rq->form != NULL &&
		    bs_formdata_feed(rq->form, upload_data, *upload_data_size) != 0)
			rq->discard = true;
		*upload_data_size = 0;
		if (rq->received > srv->cfg->max_request) {
			/* Only reachable without Content-Length (chunked). The rest is read and
			 * dropped (bounded: BS_HTTP_DRAIN_MAX more bytes, and body_timeout) so the
			 * client can read the 413 that follows; beyond that the connection is
			 * closed rather than read an unbounded body. */
			rq->over_limit = true;
			rq->discard = true;
			if (rq->received - srv->cfg->max_request > BS_HTTP_DRAIN_MAX) {
				rq->status = 413;
				snprintf(rq->result, sizeof(rq->result),
					 "chunked body exceeds %llu bytes: connection closed",
					 (unsigned long long)srv->cfg->max_request);
				return MHD_NO;
			}
		}
		return MHD_YES;
	}
	bs_conns_body_done(srv->conns, conn_of(conn));
	if (rq->responded)
		return MHD_YES;
	return finish(srv, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct bs_server *srv = cls;
	struct request *rq = *con_cls;
	if (rq == NULL)
		return;
	*con_cls = NULL;
	bs_formdata_free(rq->form);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->status != 413) {
		static const char *const why[] = {
			[MHD_REQUEST_TERMINATED_WITH_ERROR] = "connection error",
			[MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = "timeout",
			[MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = "server shutdown",
			[MHD_REQUEST_TERMINATED_READ_ERROR] = "client disconnected",
			[MHD_REQUEST_TERMINATED_CLIENT_ABORT] = "client aborted",
		};
		const char *w = (unsigned)toe < BS_ARRAY_SIZE(why) && why[toe] ? why[toe] : "aborted";
		snprintf(rq->result, sizeof(rq->result), "aborted: %s", w);
		if (rq->status == 0)
			rq->status = 499;
	}
	/* Keep the line's key=value structure: client-influenced text cannot close the
	 * quoted result or add fields through the endpoint. */
	for (char *p = rq->result; *p; p++)
		if (*p == '"')
			*p = '\'';
	for (char *p = rq->endpoint; *p; p++)
		if (*p == '"' || *p == ' ' || *p == '=')
			*p = '_';
	bs_conns_request_done(srv->conns, conn_of(conn));
	bs_metrics_request(srv->metrics, rq->label, rq->status, bs_now_ms() - rq->start_ms);
	if (!rq->refused)
		bs_log(rq->status >= 500 ? BS_LOG_ERROR : BS_LOG_INFO, rq->id,
	       "request client=%s principal=%s method=%s endpoint=%s machine=%s signed=%s "
	       "bytes=%llu keys=%s status=%u duration_ms=%llu result=\"%s\"",
	       rq->client, rq->principal[0] ? rq->principal : "-", rq->method, rq->endpoint, rq->subject[0] ? rq->subject : "-",
	       rq->digests[0] ? rq->digests : "-",
	       (unsigned long long)rq->received, rq->keys[0] ? rq->keys : "-", rq->status,
	       (unsigned long long)(bs_now_ms() - rq->start_ms), rq->result);
	bs_upload_free(rq->up);
	free(rq);
	atomic_fetch_sub(&srv->active, 1);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	bs_log(BS_LOG_DEBUG, NULL, "microhttpd: %s", msg);
}

/* A server that did not start: its parts freed, its socket closed; returns rc. */
static int discard(struct bs_server *srv, int lfd, int rc)
{
	if (lfd >= 0)
		close(lfd);
	bs_conns_free(srv->conns);
	bs_guard_free(srv->guard);
	bs_metrics_free(srv->metrics);
	free(srv);
	return rc;
}

int bs_server_start(struct bs_server **out, const struct bs_config *cfg,
		    struct bs_keyring *keyring, struct bs_spool *spool,
		    const struct bs_server_hook *hook, struct bs_error *err)
{
	*out = NULL;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", cfg->port);
	int gai = getaddrinfo(cfg->address, port, &hints, &ai);
	if (gai != 0)
		return bs_error_set(err, BS_ERR_CONFIG, "address '%s': %s", cfg->address,
				    gai_strerror(gai));
	struct bs_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		freeaddrinfo(ai);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	int grc = bs_guard_new(&srv->guard, cfg, keyring, err);
	srv->metrics = grc == 0 ? bs_metrics_new() : NULL;
	if (srv->metrics == NULL) {
		bs_guard_free(srv->guard);
		free(srv);
		freeaddrinfo(ai);
		return grc != 0 ? grc : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	srv->cfg = cfg;
	srv->keyring = keyring;
	srv->spool = spool;
	bs_spool_set_memory(spool, cfg->spool_mem_max, cfg->spool_mem_total);
	unsigned conn_max = cfg->connection_limit + BS_HTTP_SPARE_CONNECTIONS;
	const struct bs_conns_opts co = {
		.max = conn_max,
		.per_client = cfg->connections_per_client,
		.header_ms = cfg->header_timeout * 1000u,
		.body_ms = cfg->body_timeout * 1000u,
	};
	int crc = bs_conns_new(&srv->conns, &co, err);
	if (crc != 0) {
		freeaddrinfo(ai);
		free(srv);
		return crc;
	}
	/* Default: one thread per connection (at most connection_limit). Signing may block
	 * (a token operation waits up to the PKCS#11 timeout, an HSM signs in ~100 ms), and a
	 * blocked request must hold up only its own connection, never /healthz or file-key
	 * requests sharing an event loop. threads = N selects a pool of N event-loop threads
	 * instead, for servers that sign with file keys only. */
	unsigned threads = cfg->threads;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
			 (threads == 0 ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL
				       : MHD_USE_EPOLL);
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* bound here, not by libmicrohttpd: the hook runs between the bind and the first
	 * thread (bootsign serve drops root there, so no request is ever parsed as root) */
	int lfd = -1;
	int hrc = bs_http_listen(&lfd, ai, cfg->address, port, err);
	freeaddrinfo(ai);
	if (hrc == 0 && hook != NULL && hook->before_threads != NULL)
		hrc = hook->before_threads(hook->arg, err);
	if (hrc != 0)
		return discard(srv, lfd, hrc);
	struct MHD_OptionItem opts[] = {
		{MHD_OPTION_LISTEN_SOCKET, lfd, NULL},
		/* more than connection_limit: a client over a limit is answered 503 by the
		 * handler (never reset at accept), and /healthz finds a slot */
		{MHD_OPTION_CONNECTION_LIMIT, conn_max, NULL},
		{MHD_OPTION_CONNECTION_MEMORY_LIMIT, BS_HTTP_CONN_MEMORY, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
		{MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
		{MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, srv},
		{MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL},
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
		{threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
		{MHD_OPTION_END, 0, NULL}, /* TLS options (guard.h) */
		{MHD_OPTION_END, 0, NULL},
		{MHD_OPTION_END, 0, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	size_t nopt = 0; /* the TLS options go after the last one set */
	while (opts[nopt].option != MHD_OPTION_END)
		nopt++;
	bs_guard_mhd_options(srv->guard, opts + nopt, 3, &flags);
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY,
				    opts, MHD_OPTION_END);
	if (srv->mhd == NULL)
		return discard(srv, lfd, bs_error_set(err, BS_ERR_IO, "cannot serve on %s port %s: "
						      "libmicrohttpd refused the settings",
						      cfg->address, port));
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di != NULL ? di->port : cfg->port;
	if (threads == 0)
		bs_log(BS_LOG_INFO, NULL, "listening on %s port %u (a thread per connection, at "
		       "most %u connections, max request %llu bytes)", cfg->address, srv->port,
		       cfg->connection_limit, (unsigned long long)cfg->max_request);
	else
		bs_log(BS_LOG_INFO, NULL, "listening on %s port %u (%u event-loop threads, max "
		       "request %llu bytes)", cfg->address, srv->port, threads,
		       (unsigned long long)cfg->max_request);
	*out = srv;
	return 0;
}

void bs_server_reload(struct bs_server *srv)
{
	bs_guard_reload(srv->guard);
}

unsigned bs_server_port(const struct bs_server *srv)
{
	return srv->port;
}

void bs_server_stop(struct bs_server *srv, unsigned grace_ms)
{
	if (srv == NULL)
		return;
	MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	uint64_t deadline = bs_now_ms() + grace_ms;
	while (atomic_load(&srv->active) > 0 && bs_now_ms() < deadline) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	int left = atomic_load(&srv->active);
	if (left > 0)
		bs_log(BS_LOG_WARN, NULL, "stopping with %d request(s) still in flight", left);
	MHD_stop_daemon(srv->mhd);
	bs_conns_free(srv->conns);
	bs_guard_free(srv->guard);
	bs_metrics_free(srv->metrics);
	free(srv);
}
