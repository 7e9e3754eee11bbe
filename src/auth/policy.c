/* Access policy (policy.h): parsing, first-match evaluation, rate and usage counters. */
#include "auth/policy.h"

#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tokens.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"

struct counter {
	char client[BS_JOB_PRINCIPAL_MAX];
	uint64_t uses;
	double bucket;    /* rate tokens left */
	uint64_t last_ms; /* last refill */
};

enum { DIGEST_ANY = 0, DIGEST_YES = 1, DIGEST_NO = 2 };

struct rule {
	bool allow;
	char client[BS_POLICY_PATTERN_MAX];
	char endpoint[BS_POLICY_PATTERN_MAX];
	char subject[BS_POLICY_PATTERN_MAX];
	char key[BS_POLICY_PATTERN_MAX];
	unsigned rate;    /* per minute, 0 = none */
	uint64_t max;     /* 0 = none */
	int digest;       /* DIGEST_ANY, or the rule matches only digest-only (YES) or only
			   * full-upload (NO) requests */
	char text[BS_POLICY_LINE_MAX]; /* normalised rule text (carry-over key) */
	char where[BS_CONFIG_WHERE_MAX];
	struct counter *c;
	size_t nc;
};

struct bs_policy {
	atomic_int refs;
	pthread_mutex_t lock; /* counters */
	struct rule *r;
	size_t n;
	bool allow_all;
};

static int new_policy(struct bs_policy **out, struct bs_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	atomic_init(&(*out)->refs, 1);
	pthread_mutex_init(&(*out)->lock, NULL);
	return 0;
}

static int parse_option(struct rule *r, const char *opt, const char *where, struct bs_error *err)
{
	if (strncmp(opt, "rate=", 5) == 0) {
		char num[24];
		const char *slash = strstr(opt + 5, "/min");
		size_t n = slash != NULL ? (size_t)(slash - (opt + 5)) : 0;
		if (slash == NULL || strcmp(slash, "/min") != 0 || n == 0 || n >= sizeof(num))
			return bs_error_set(err, BS_ERR_SYNTAX, "%s: rate: expected rate=N/min",
					    where);
		memcpy(num, opt + 5, n);
		num[n] = '\0';
		char what[BS_CONFIG_WHERE_MAX + 8];
		snprintf(what, sizeof(what), "%s: rate", where);
		return bs_parse_uint(&r->rate, num, 10, 1, 1000000, what, err) != 0
			       ? bs_error_recode(err, BS_ERR_SYNTAX)
			       : 0;
	}
	if (strncmp(opt, "max=", 4) == 0) {
		char what[BS_CONFIG_WHERE_MAX + 8];
		snprintf(what, sizeof(what), "%s: max", where);
		return bs_parse_u64(&r->max, opt + 4, 10, 1, UINT64_MAX / 2, what, err) != 0
			       ? bs_error_recode(err, BS_ERR_SYNTAX)
			       : 0;
	}
	if (strcmp(opt, "digest-only=yes") == 0 || strcmp(opt, "digest-only=no") == 0) {
		r->digest = opt[12] == 'y' ? DIGEST_YES : DIGEST_NO;
		return 0;
	}
	char shown[64];
	bs_text_sanitize(shown, sizeof(shown), opt);
	return bs_error_set(err, BS_ERR_SYNTAX, "%s: unknown option '%s' (rate=N/min, max=N, "
			    "digest-only=yes|no)", where, shown);
}

static int parse_client(struct rule *r, const char *s, const char *where, struct bs_error *err)
{
	if (strcmp(s, "*") == 0 || strcmp(s, "anonymous") == 0)
		goto ok;
	if (strncmp(s, "cn:", 3) == 0) {
		if (s[3] == '\0')
			return bs_error_set(err, BS_ERR_SYNTAX, "%s: empty cn:", where);
		goto ok;
	}
	if (strncmp(s, "sha256:", 7) == 0) {
		char fp[65];
		size_t o = 0;
		for (const char *p = s + 7; *p; p++) {
			if (*p == ':')
				continue;
			if (!isxdigit((unsigned char)*p) || o >= 64)
				return bs_error_set(err, BS_ERR_SYNTAX, "%s: sha256: expects the 64 "
						    "hex digits of a certificate fingerprint", where);
			fp[o++] = (char)tolower((unsigned char)*p);
		}
		if (o != 64)
			return bs_error_set(err, BS_ERR_SYNTAX, "%s: sha256: expects the 64 hex "
					    "digits of a certificate fingerprint", where);
		fp[o] = '\0';
		snprintf(r->client, sizeof(r->client), "sha256:%s", fp);
		return 0;
	}
	if (bs_auth_check_name(s, "client (token name)", err) != 0) {
		bs_error_prefix(err, "%s", where);
		return bs_error_recode(err, BS_ERR_SYNTAX);
	}
ok:
	snprintf(r->client, sizeof(r->client), "%s", s);
	return 0;
}

static int parse_rule(struct rule *r, char *line, const char *where, struct bs_error *err)
{
	char *tok[12];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t", &save); t != NULL;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == BS_ARRAY_SIZE(tok))
			return bs_error_set(err, BS_ERR_SYNTAX, "%s: too many words", where);
		if (strlen(t) >= BS_POLICY_PATTERN_MAX)
			return bs_error_set(err, BS_ERR_SYNTAX, "%s: a word longer than %d bytes",
					    where, BS_POLICY_PATTERN_MAX - 1);
		tok[n++] = t;
	}
	if (n < 5 || (strcmp(tok[0], "allow") != 0 && strcmp(tok[0], "deny") != 0))
		return bs_error_set(err, BS_ERR_SYNTAX, "%s: expected 'allow|deny CLIENT ENDPOINT "
				    "SUBJECT KEY [rate=N/min] [max=N] [digest-only=yes|no]'", where);
	memset(r, 0, sizeof(*r));
	r->allow = tok[0][0] == 'a';
	snprintf(r->where, sizeof(r->where), "%s", where);
	int rc = parse_client(r, tok[1], where, err);
	if (rc != 0)
		return rc;
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", tok[2]);
	snprintf(r->subject, sizeof(r->subject), "%s", tok[3]);
	snprintf(r->key, sizeof(r->key), "%s", tok[4]);
	for (size_t i = 5; i < n; i++)
		if ((rc = parse_option(r, tok[i], where, err)) != 0)
			return rc;
	if (!r->allow && (r->rate || r->max))
		return bs_error_set(err, BS_ERR_SYNTAX, "%s: rate= and max= apply to allow rules",
				    where);
	snprintf(r->text, sizeof(r->text), "%s %s %s %s %s rate=%u max=%llu d=%d", tok[0],
		 r->client, r->endpoint, r->subject, r->key, r->rate, (unsigned long long)r->max,
		 r->digest);
	return 0;
}

int bs_policy_parse(struct bs_policy **out, const char *text, size_t len, const char *name,
		    struct bs_error *err)
{
	*out = NULL;
	struct bs_policy *p = NULL;
	int rc = new_policy(&p, err);
	if (rc != 0)
		return rc;
	unsigned lineno = 0;
	for (size_t pos = 0; rc == 0 && pos < len;) {
		lineno++;
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		char where[BS_CONFIG_WHERE_MAX];
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		size_t l = end - pos;
		char line[BS_POLICY_LINE_MAX];
		if (l >= sizeof(line)) {
			rc = bs_error_set(err, BS_ERR_SYNTAX, "%s: line longer than %d bytes", where,
					  BS_POLICY_LINE_MAX - 1);
			break;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', l) != NULL) {
			rc = bs_error_set(err, BS_ERR_SYNTAX, "%s: NUL byte", where);
			break;
		}
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		char *s = line + strspn(line, " \t");
		if (*s == '\0' || *s == '#')
			continue;
		if (p->n >= BS_POLICY_RULES_MAX) {
			rc = bs_error_set(err, BS_ERR_LIMIT, "%s: more than %d rules", name,
					  BS_POLICY_RULES_MAX);
			break;
		}
		struct rule *nr = realloc(p->r, (p->n + 1) * sizeof(*nr));
		if (nr == NULL) {
			rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
			break;
		}
		p->r = nr;
		rc = parse_rule(&p->r[p->n], s, where, err);
		if (rc == 0)
			p->n++;
	}
	if (rc != 0) {
		bs_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int bs_policy_load(struct bs_policy **out, const char *path, struct bs_error *err)
{
	*out = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = bs_read_file(&data, &len, path, BS_POLICY_FILE_MAX, err);
	if (rc != 0)
		return rc;
	const char *base = strrchr(path, '/');
	rc = bs_policy_parse(out, (const char *)data, len, base != NULL ? base + 1 : path, err);
	free(data);
	return rc;
}

int bs_policy_allow_all(struct bs_policy **out, struct bs_error *err)
{
	int rc = new_policy(out, err);
	if (rc == 0)
		(*out)->allow_all = true;
	return rc;
}

size_t bs_policy_rules(const struct bs_policy *p)
{
	return p->n;
}

static bool client_matches(const struct rule *r, const struct bs_identity *id)
{
	const char *c = r->client;
	if (strcmp(c, "anonymous") == 0)
		return id->kind == BS_IDENT_ANONYMOUS;
	if (id->kind == BS_IDENT_ANONYMOUS)
		return false;
	if (strcmp(c, "*") == 0)
		return true;
	if (strncmp(c, "cn:", 3) == 0)
		return (id->kind == BS_IDENT_CERT || id->kind == BS_IDENT_PROXY) &&
		       strcmp(c + 3, id->name) == 0;
	if (strncmp(c, "sha256:", 7) == 0)
		return id->kind == BS_IDENT_CERT && strcmp(c + 7, id->fp) == 0;
	return id->kind == BS_IDENT_TOKEN && strcmp(c, id->name) == 0;
}

static bool glob(const char *pattern, const char *s)
{
	return fnmatch(pattern, s != NULL ? s : "", 0) == 0;
}

static bool request_matches(const struct rule *r, const struct bs_identity *id,
			    const char *endpoint, const char *subject)
{
	if ((r->digest == DIGEST_YES && !id->digest_only) ||
	    (r->digest == DIGEST_NO && id->digest_only))
		return false;
	return client_matches(r, id) && glob(r->endpoint, endpoint) &&
	       glob(r->subject, subject);
}

static struct counter *counter_for(struct rule *r, const char *client)
{
	for (size_t i = 0; i < r->nc; i++)
		if (strcmp(r->c[i].client, client) == 0)
			return &r->c[i];
	if (r->nc >= BS_POLICY_CLIENTS_MAX)
		return NULL;
	struct counter *nc = realloc(r->c, (r->nc + 1) * sizeof(*nc));
	if (nc == NULL)
		return NULL;
	r->c = nc;
	struct counter *c = &r->c[r->nc++];
	memset(c, 0, sizeof(*c));
	snprintf(c->client, sizeof(c->client), "%s", client);
	c->bucket = -1; /* full on first use */
	return c;
}

/* Count one use of rule r by client; BS_ERR_RATE / BS_ERR_DENIED when over a limit. */
static int count_use(struct bs_policy *p, struct rule *r, const char *client, uint64_t now_ms,
		     struct bs_error *err)
{
	if (r->rate == 0 && r->max == 0)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	struct counter *c = counter_for(r, client);
	if (c == NULL) {
		rc = bs_error_set(err, BS_ERR_RATE, "too many clients counted under the rule at %s",
				  r->where);
		goto out;
	}
	if (r->max != 0 && c->uses >= r->max) {
		rc = bs_error_set(err, BS_ERR_DENIED, "usage limit: the rule at %s allows %llu "
				  "requests for client %s", r->where, (unsigned long long)r->max,
				  client);
		goto out;
	}
	if (r->rate != 0) {
		if (c->bucket < 0) {
			c->bucket = r->rate;
			c->last_ms = now_ms;
		}
		c->bucket += (double)(now_ms - c->last_ms) * r->rate / 60000.0;
		if (c->bucket > r->rate)
			c->bucket = r->rate;
		c->last_ms = now_ms;
		if (c->bucket < 1.0) {
			rc = bs_error_set(err, BS_ERR_RATE, "rate limit: the rule at %s allows %u "
					  "requests per minute for client %s", r->where, r->rate,
					  client);
			goto out;
		}
		c->bucket -= 1.0;
	}
	c->uses++;
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int bs_policy_admit(struct bs_policy *p, const struct bs_identity *id, const char *endpoint,
		    const char *subject, uint64_t now_ms, struct bs_error *err)
{
	if (p->allow_all)
		return 0;
	char who[BS_JOB_PRINCIPAL_MAX];
	bs_identity_principal(id, who, sizeof(who));
	for (size_t i = 0; i < p->n; i++) {
		struct rule *r = &p->r[i];
		if (!request_matches(r, id, endpoint, subject))
			continue;
		if (!r->allow && strcmp(r->key, "*") != 0)
			continue; /* decided per key */
		if (!r->allow)
			return bs_error_set(err, BS_ERR_DENIED, "access denied: the rule at %s "
					    "refuses client %s on endpoint %s for '%s'", r->where,
					    who, endpoint, subject);
		return count_use(p, r, who, now_ms, err);
	}
	return bs_error_set(err, BS_ERR_DENIED, "access denied: no policy rule allows client %s "
			    "on endpoint %s for '%s' (default deny)", who, endpoint, subject);
}

int bs_policy_endpoint(const struct bs_policy *p, const struct bs_identity *id,
		       const char *endpoint, struct bs_error *err)
{
	if (p->allow_all)
		return 0;
	char who[BS_JOB_PRINCIPAL_MAX];
	bs_identity_principal(id, who, sizeof(who));
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->r[i];
		if (!client_matches(r, id) || !glob(r->endpoint, endpoint))
			continue;
		if (r->allow)
			return 0; /* a digest-only=yes|no rule: admission decides with the form */
		if (r->digest != DIGEST_ANY)
			continue;
		if (strcmp(r->subject, "*") == 0 && strcmp(r->key, "*") == 0)
			return bs_error_set(err, BS_ERR_DENIED, "access denied: the rule at %s "
					    "refuses client %s on endpoint %s", r->where, who,
					    endpoint);
	}
	return bs_error_set(err, BS_ERR_DENIED, "access denied: no policy rule allows client %s "
			    "on endpoint %s (default deny)", who, endpoint);
}

/* The refusal of a key, as the text before and after the key id: the rule that refuses it
 * (r), or the default deny (r NULL). Tabs and newlines (the key filter's separators)
 * cannot appear. */
static void key_refusal(char *pre, size_t pcap, char *suf, size_t scap, const struct rule *r,
			const struct bs_identity *id, const char *endpoint, const char *subject)
{
	char who[BS_JOB_PRINCIPAL_MAX];
	bs_identity_principal(id, who, sizeof(who));
	if (r != NULL)
		snprintf(pre, pcap, "access denied: the rule at %s refuses client %s the key '",
			 r->where, who);
	else
		snprintf(pre, pcap, "access denied: no policy rule allows client %s the key '",
			 who);
	snprintf(suf, scap, "' (endpoint %s, '%s'%s)", endpoint, subject,
		 r != NULL ? "" : "; default deny");
	for (char *c = pre; *c; c++)
		*c = *c == '\t' || *c == '\n' ? '_' : *c;
	for (char *c = suf; *c; c++)
		*c = *c == '\t' || *c == '\n' ? '_' : *c;
}

int bs_policy_key_filter(const struct bs_policy *p, const struct bs_identity *id,
			 const char *endpoint, const char *subject, char *out, size_t cap,
			 struct bs_error *err)
{
	size_t o = 0;
	out[0] = '\0';
	bool all = false;
	for (size_t i = 0; i <= (p->allow_all ? 0 : p->n) && !all; i++) {
		const struct rule *r = p->allow_all || i == p->n ? NULL : &p->r[i];
		if (r != NULL && !request_matches(r, id, endpoint, subject))
			continue;
		char pre[BS_ERROR_MSG_MAX / 2] = "", suf[BS_ERROR_MSG_MAX / 2] = "";
		int w;
		if (p->allow_all) {
			w = snprintf(out + o, cap - o, "+*\n");
			all = true;
		} else if (r == NULL) { /* default deny */
			key_refusal(pre, sizeof(pre), suf, sizeof(suf), NULL, id, endpoint, subject);
			w = snprintf(out + o, cap - o, "!%s\t%s\n", pre, suf);
		} else {
			if (!r->allow)
				key_refusal(pre, sizeof(pre), suf, sizeof(suf), r, id, endpoint,
					    subject);
			w = snprintf(out + o, cap - o, "%c%s%s%s%s%s\n", r->allow ? '+' : '-', r->key,
				     r->allow ? "" : "\t", pre, r->allow ? "" : "\t", suf);
			all = strcmp(r->key, "*") == 0; /* nothing after a catch-all matches */
		}
		if (w < 0 || (size_t)w >= cap - o) {
			out[0] = '\0';
			return bs_error_set(err, BS_ERR_LIMIT, "policy: the key rules that apply "
					    "to this request (client, endpoint, subject) take more "
					    "than %zu bytes; fewer deny rules (one glob for several "
					    "keys) make them fit", cap - 1);
		}
		o += (size_t)w;
	}
	return 0;
}

int bs_policy_key(const struct bs_policy *p, const struct bs_identity *id, const char *endpoint,
		  const char *subject, const char *key_id, struct bs_error *err)
{
	if (p->allow_all)
		return 0;
	char key[BS_JOB_KEY_ID_MAX];
	bs_text_sanitize(key, sizeof(key), key_id);
	const struct rule *deny = NULL;
	size_t i = 0;
	for (; i < p->n; i++) {
		const struct rule *r = &p->r[i];
		if (!request_matches(r, id, endpoint, subject) || !glob(r->key, key_id))
			continue;
		if (r->allow)
			return 0;
		deny = r;
		break;
	}
	char pre[BS_ERROR_MSG_MAX / 2], suf[BS_ERROR_MSG_MAX / 2];
	key_refusal(pre, sizeof(pre), suf, sizeof(suf), deny, id, endpoint, subject);
	return bs_error_set(err, BS_ERR_DENIED, "%s%s%s", pre, key, suf);
}

void bs_policy_carry_counters(struct bs_policy *p, const struct bs_policy *old)
{
	if (old == NULL)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&old->lock);
	for (size_t i = 0; i < p->n; i++) {
		for (size_t j = 0; j < old->n; j++) {
			if (strcmp(p->r[i].text, old->r[j].text) != 0 || old->r[j].nc == 0)
				continue;
			struct counter *c = malloc(old->r[j].nc * sizeof(*c));
			if (c == NULL)
				break;
			memcpy(c, old->r[j].c, old->r[j].nc * sizeof(*c));
			free(p->r[i].c);
			p->r[i].c = c;
			p->r[i].nc = old->r[j].nc;
			break;
		}
	}
	pthread_mutex_unlock((pthread_mutex_t *)&old->lock);
}

struct bs_policy *bs_policy_ref(struct bs_policy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void bs_policy_free(struct bs_policy *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->r[i].c);
	free(p->r);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
