/* Access control for the server (guard.h). */
#include "http/guard.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/tlskey.h"
#include "auth/tokens.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/text.h"
#include "core/util.h"
#include "sign/job.h"

#define GUARD_PROXIES_MAX 16
#define GUARD_PEM_MAX (1u << 20)

struct bs_guard {
	const struct bs_config *cfg;
	struct bs_tlskey *tls;     /* certificate chain + the key (in the key process when
				    * isolated): NULL = plain HTTP */
	char *ca_pem;
	pthread_mutex_t lock; /* policy, tokens */
	struct bs_policy *policy;
	struct bs_tokens *tokens;
	struct bs_audit *audit;
	bool anonymous_ok;
	char proxies[GUARD_PROXIES_MAX][INET6_ADDRSTRLEN];
	size_t nproxies;
};

static bool is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 || strcmp(a, "localhost") == 0;
}

static int load_pem(char **out, size_t *out_len, const char *path, const char *what,
		    struct bs_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	if (bs_read_file(&data, &len, path, GUARD_PEM_MAX, err) != 0)
		return bs_error_prefix(err, "%s", what);
	*out = (char *)data;
	if (out_len != NULL)
		*out_len = len;
	return 0;
}

/* The server certificate (tls_cert) and its key, the keyring's service key "tls_key" (a
 * file or token key; a stub of the key process's under key isolation): this process
 * never reads the private key. */
static int load_tls(struct bs_guard *g, const struct bs_config *cfg, struct bs_keyring *kr,
		    struct bs_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	struct bs_key *key = NULL;
	if (kr == NULL)
		return bs_error_set(err, BS_ERR_INTERNAL, "tls_key: no keyring");
	int rc = load_pem(&pem, &len, cfg->tls_cert, "tls_cert", err);
	if (rc == 0)
		rc = bs_job_service_key(&key, kr, "tls_key", err);
	if (rc == 0)
		rc = bs_tlskey_new(&g->tls, pem, len, cfg->tls_cert, key, err);
	if (rc == 0)
		rc = bs_tlskey_install(g->tls, err);
	free(pem);
	return rc;
}

static int parse_proxies(struct bs_guard *g, const char *list, struct bs_error *err)
{
	char copy[GUARD_PROXIES_MAX * INET6_ADDRSTRLEN];
	snprintf(copy, sizeof(copy), "%s", list);
	char *save = NULL;
	for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		unsigned char a[16];
		if (inet_pton(AF_INET, t, a) != 1 && inet_pton(AF_INET6, t, a) != 1)
			return bs_error_set(err, BS_ERR_CONFIG, "proxy_addresses: '%s' is not an IP "
					    "address", t);
		if (g->nproxies == GUARD_PROXIES_MAX)
			return bs_error_set(err, BS_ERR_CONFIG, "proxy_addresses: more than %d",
					    GUARD_PROXIES_MAX);
		snprintf(g->proxies[g->nproxies++], INET6_ADDRSTRLEN, "%s", t);
	}
	return 0;
}

static int load_policy(struct bs_policy **out, const struct bs_config *cfg, struct bs_error *err)
{
	if (cfg->policy_file == NULL)
		return bs_policy_allow_all(out, err);
	return bs_policy_load(out, cfg->policy_file, err);
}

int bs_guard_new(struct bs_guard **out, const struct bs_config *cfg, struct bs_keyring *kr,
		 struct bs_error *err)
{
	*out = NULL;
	struct bs_guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&g->lock, NULL);
	g->cfg = cfg;
	int rc = 0;
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		rc = bs_error_set(err, BS_ERR_CONFIG, "tls_cert and tls_key go together");
	else if (cfg->client_ca != NULL && cfg->tls_cert == NULL)
		rc = bs_error_set(err, BS_ERR_CONFIG, "client_ca needs tls_cert and tls_key");
	if (rc == 0 && cfg->tls_cert != NULL)
		rc = load_tls(g, cfg, kr, err);
	if (rc == 0 && cfg->client_ca != NULL)
		rc = load_pem(&g->ca_pem, NULL, cfg->client_ca, "client_ca", err);
	if (rc == 0 && cfg->tokens_file != NULL)
		rc = bs_tokens_load(&g->tokens, cfg->tokens_file, err);
	if (rc == 0 && cfg->proxy_addresses != NULL)
		rc = parse_proxies(g, cfg->proxy_addresses, err);
	if (rc == 0)
		rc = load_policy(&g->policy, cfg, err);
	if (rc == 0 && cfg->audit_log != NULL) {
		struct bs_key *akey = NULL; /* the sealing key: in the key process when isolated */
		if (cfg->audit_key != NULL)
			rc = bs_job_service_key(&akey, kr, "audit_key", err);
		if (rc == 0)
			rc = bs_audit_open(&g->audit, cfg->audit_log, akey, err);
	}
	if (rc == 0 && cfg->audit_key != NULL && cfg->audit_log == NULL)
		rc = bs_error_set(err, BS_ERR_CONFIG, "audit_key without audit_log");
	bool auth = g->ca_pem != NULL || g->tokens != NULL || g->nproxies > 0;
	g->anonymous_ok = !auth || cfg->allow_anonymous;
	if (rc == 0 && !is_loopback(cfg->address) && !auth && !cfg->allow_anonymous)
		rc = bs_error_set(err, BS_ERR_CONFIG,
				  "refusing to listen on non-loopback address %s without client "
				  "authentication: set client_ca or tokens_file (or allow_anonymous = "
				  "yes to let anyone who reaches the port sign)", cfg->address);
	if (rc != 0) {
		bs_guard_free(g);
		return rc;
	}
	if (!is_loopback(cfg->address) && cfg->allow_anonymous)
		bs_log(BS_LOG_WARN, NULL,
		       "allow_anonymous = yes on non-loopback address %s: ANYONE WHO CAN REACH "
		       "THIS PORT CAN SIGN (subject to the policy's 'anonymous' rules)",
		       cfg->address);
	if (!is_loopback(cfg->address) && g->tokens != NULL && g->tls == NULL &&
	    g->nproxies == 0)
		bs_log(BS_LOG_WARN, NULL, "bearer tokens on %s without TLS travel in clear text",
		       cfg->address);
	bs_log(BS_LOG_INFO, NULL, "access control: %s, %s%s, %zu token(s), policy %s (%zu "
	       "rule(s)), audit %s%s", g->tls ? "TLS" : "plain HTTP",
	       g->ca_pem ? "client certificates, " : "",
	       g->anonymous_ok ? "anonymous allowed" : "authentication required",
	       bs_tokens_count(g->tokens), cfg->policy_file ? cfg->policy_file : "none (allow all)",
	       bs_policy_rules(g->policy), cfg->audit_log ? cfg->audit_log : "off",
	       cfg->audit_key ? " (sealed)" : "");
	*out = g;
	return 0;
}

void bs_guard_free(struct bs_guard *g)
{
	if (g == NULL)
		return;
	bs_audit_close(g->audit);
	bs_policy_free(g->policy);
	bs_tokens_free(g->tokens);
	bs_tlskey_free(g->tls);
	free(g->ca_pem);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

size_t bs_guard_mhd_options(const struct bs_guard *g, struct MHD_OptionItem *opts, size_t cap,
			    unsigned *flags)
{
	size_t n = 0;
	if (g == NULL || g->tls == NULL || cap < 3)
		return 0;
	*flags |= MHD_USE_TLS;
	/* the certificate and the external key come from the callback (auth/tlskey.h) */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
					    (void *)(intptr_t)bs_tlskey_retrieve};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
					    (void *)BS_TLS_PRIORITIES};
	/* with a trust list, libmicrohttpd asks for a client certificate (not requires) */
	if (g->ca_pem != NULL)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, g->ca_pem};
	return n;
}

/* The client certificate of a TLS connection: 1 found (identity filled), 0 none, <0 refused. */
static int peer_certificate(struct bs_guard *g, struct MHD_Connection *conn,
			    struct bs_identity *out, struct bs_error *err)
{
	if (g->ca_pem == NULL)
		return 0;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	gnutls_session_t s = (gnutls_session_t)ci->tls_session;
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	if (peers == NULL || n == 0)
		return 0;
	unsigned status = 0;
	if (gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0) {
		const char *why = (status & GNUTLS_CERT_EXPIRED) ? "expired"
				  : (status & GNUTLS_CERT_NOT_ACTIVATED) ? "not yet valid"
				  : (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
					  ? "not issued by the server's client CA"
				  : (status & GNUTLS_CERT_REVOKED) ? "revoked" : "not valid";
		return bs_error_set(err, BS_ERR_AUTH, "client certificate refused: %s", why);
	}
	const unsigned char *p = peers[0].data;
	X509 *x = d2i_X509(NULL, &p, peers[0].size);
	char cn[BS_AUTH_NAME_MAX] = "";
	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
						     sizeof(cn)) <= 0) {
		X509_free(x);
		return bs_error_set(err, BS_ERR_AUTH, "client certificate refused: no subject CN");
	}
	X509_free(x);
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_Digest(peers[0].data, peers[0].size, md, &mdlen, EVP_sha256(), NULL);
	out->kind = BS_IDENT_CERT;
	bs_text_sanitize(out->name, sizeof(out->name), cn);
	bs_hex(out->fp, md, sizeof(md));
	return 1;
}

static bool from_proxy(const struct bs_guard *g, const char *peer_ip)
{
	for (size_t i = 0; i < g->nproxies; i++)
		if (strcmp(g->proxies[i], peer_ip) == 0)
			return true;
	return false;
}

int bs_guard_identify(struct bs_guard *g, struct MHD_Connection *conn, const char *peer_ip,
		      struct bs_identity *out, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	int rc = peer_certificate(g, conn, out, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	/* a server without tokens that lets everyone in ignores the header (digsigserver) */
	if (auth != NULL && (g->tokens != NULL || !g->anonymous_ok)) {
		if (strncasecmp(auth, "Bearer ", 7) != 0 || g->tokens == NULL)
			return bs_error_set(err, BS_ERR_AUTH, "unsupported Authorization header "
					    "(this server takes %s)", g->tokens != NULL
					    ? "Authorization: Bearer <token>" : "no tokens");
		pthread_mutex_lock(&g->lock);
		rc = bs_tokens_check(out->name, sizeof(out->name), g->tokens, auth + 7, err);
		pthread_mutex_unlock(&g->lock);
		if (rc == 0)
			out->kind = BS_IDENT_TOKEN;
		return rc;
	}
	const char *hdr = g->cfg->proxy_header != NULL ? g->cfg->proxy_header : "X-Client-DN";
	const char *dn = from_proxy(g, peer_ip)
				 ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, hdr)
				 : NULL;
	if (dn != NULL && dn[0] != '\0') {
		const char *cn = strstr(dn, "CN=");
		cn = cn != NULL ? cn + 3 : dn;
		size_t l = strcspn(cn, ",/");
		bs_text_sanitize_n(out->name, sizeof(out->name), cn, l);
		out->kind = BS_IDENT_PROXY;
		return 0;
	}
	if (g->anonymous_ok)
		return 0;
	return bs_error_set(err, BS_ERR_AUTH, "authentication required: present a client "
			    "certificate or Authorization: Bearer <token>");
}

struct bs_policy *bs_guard_policy(struct bs_guard *g)
{
	pthread_mutex_lock(&g->lock);
	struct bs_policy *p = bs_policy_ref(g->policy);
	pthread_mutex_unlock(&g->lock);
	return p;
}

struct bs_audit *bs_guard_audit(struct bs_guard *g)
{
	return g != NULL ? g->audit : NULL;
}

void bs_guard_reload(struct bs_guard *g)
{
	struct bs_error err = {0};
	struct bs_policy *p = NULL;
	if (load_policy(&p, g->cfg, &err) != 0) {
		bs_log(BS_LOG_ERROR, NULL, "SIGHUP: policy not reloaded, keeping the old one: %s",
		       err.msg);
	} else {
		pthread_mutex_lock(&g->lock);
		bs_policy_carry_counters(p, g->policy);
		struct bs_policy *old = g->policy;
		g->policy = p;
		pthread_mutex_unlock(&g->lock);
		bs_policy_free(old); /* requests holding it keep it until they finish */
		bs_log(BS_LOG_INFO, NULL, "SIGHUP: policy reloaded (%zu rule(s))",
		       bs_policy_rules(p));
	}
	if (g->cfg->tokens_file == NULL)
		return;
	struct bs_tokens *t = NULL;
	if (bs_tokens_load(&t, g->cfg->tokens_file, &err) != 0) {
		bs_log(BS_LOG_ERROR, NULL, "SIGHUP: tokens not reloaded, keeping the old ones: %s",
		       err.msg);
		return;
	}
	pthread_mutex_lock(&g->lock);
	struct bs_tokens *old = g->tokens;
	g->tokens = t;
	pthread_mutex_unlock(&g->lock);
	bs_tokens_free(old);
	bs_log(BS_LOG_INFO, NULL, "SIGHUP: %zu token(s) loaded", bs_tokens_count(t));
}

int bs_guard_authorize_key(void *ctx, const char *key_id, struct bs_error *err)
{
	const struct bs_guard_check *c = ctx;
	return bs_policy_key(c->policy, c->id, c->endpoint, c->subject, key_id, err);
}

int bs_guard_key_filter(void *ctx, char *out, size_t cap, struct bs_error *err)
{
	const struct bs_guard_check *c = ctx;
	int rc = bs_policy_key_filter(c->policy, c->id, c->endpoint, c->subject, out, cap, err);
	if (rc == BS_ERR_LIMIT) /* the server's policy, not the client's request (not a 413) */
		rc = bs_error_recode(err, BS_ERR_CONFIG);
	return rc;
}

static void record_digest(void *ctx, size_t i, const char **what, const char **alg,
			  const char **hex)
{
	const struct bs_job_record *r = ctx;
	*what = r->digests[i].what;
	*alg = r->digests[i].alg;
	*hex = r->digests[i].hex;
}

int bs_guard_record(struct bs_guard *g, const struct bs_guard_attempt *a, struct bs_error *err)
{
	if (g == NULL || g->audit == NULL)
		return 0;
	char keys[BS_JOB_KEYS_MAX * BS_JOB_KEY_ID_MAX];
	keys[0] = '\0';
	if (a->rec != NULL)
		bs_job_record_keys(a->rec, keys, sizeof(keys));
	const unsigned s = a->status;
	const struct bs_audit_entry e = {
		.reqid = a->reqid, .client = a->principal, .source = a->source,
		.endpoint = a->endpoint, .subject = a->subject,
		.result = s == 200 ? "granted" : s == 401 || s == 403 || s == 429 ? "denied"
									: "failed",
		.status = s, .keys = keys, .reason = a->reason,
		.ndigests = a->rec != NULL ? a->rec->ndigests : 0,
		.digest = record_digest, .ctx = (void *)a->rec,
	};
	return bs_audit_append(g->audit, &e, err);
}
