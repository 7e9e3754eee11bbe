/* PKCS#11 module handle, token session pools, fault recovery.
 *
 * Why p11-kit + the raw PKCS#11 function list rather than libp11: libp11 hides the
 * sessions it opens and folds CKR_* codes into generic failures. The YubiHSM 2 has 16
 * sessions, reclaims idle ones after 30 s and serialises operations, so we must own the
 * session pool (bounded, reused, kept alive) and we must see the exact CKR code to tell a
 * dead session (re-open, re-login, retry once) from a wrong PIN (never retry: retries lock
 * the token). p11-kit gives us what libp11 would have: module loading (managed mode, so
 * several handles on one module coexist) and RFC 7512 URI parsing and matching; the rest
 * is a few dozen direct C_* calls.
 *
 * See pkcs11_int.h for the threading model (one worker thread per pooled session, callers
 * wait with a deadline, stuck sessions are quarantined). */
#include <dlfcn.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/secmem.h"
#include "core/util.h"
#include "keys/pkcs11_int.h"

/* ---- time ---- */

static void deadline_ts(struct timespec *ts, uint64_t deadline_ms)
{
	ts->tv_sec = (time_t)(deadline_ms / 1000u);
	ts->tv_nsec = (long)(deadline_ms % 1000u) * 1000000L;
}

static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* ---- token (re)initialisation, runs on a worker ---- */

/* Append "'label'" to the list of present tokens (for a "no such token" message). */
static void note_present(char *list, size_t cap, const CK_TOKEN_INFO *ti)
{
	char label[33];
	p11_blank_to_str(label, sizeof(label), ti->label, sizeof(ti->label));
	size_t used = strlen(list);
	int k = snprintf(list + used, cap - used, "%s'%s'", used ? ", " : "", label);
	if (k < 0 || (size_t)k >= cap - used)
		list[used] = '\0';
}

static CK_RV find_slot_once(struct p11_tok *t, CK_SLOT_ID *slot)
{
	CK_FUNCTION_LIST *f = t->p11->f;
	CK_SLOT_ID ids[BS_P11_SLOTS_MAX];
	CK_ULONG n = BS_ARRAY_SIZE(ids);
	char present[P11_PRESENT_MAX] = "";
	CK_RV rv = f->C_GetSlotList(CK_TRUE, ids, &n);
	if (rv != CKR_OK)
		return rv;
	size_t found = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		if (ti.flags & CKF_TOKEN_INITIALIZED)
			note_present(present, sizeof(present), &ti);
		if (!p11_kit_uri_match_token_info(t->match, &ti))
			continue;
		if (t->have_serial) {
			char serial[17];
			p11_blank_to_str(serial, sizeof(serial), ti.serialNumber,
					 sizeof(ti.serialNumber));
			if (strcmp(serial, t->serial) != 0)
				continue;
		} else {
			p11_blank_to_str(t->serial, sizeof(t->serial), ti.serialNumber,
					 sizeof(ti.serialNumber));
		}
		*slot = ids[i];
		found++;
	}
	if (found == 0) {
		pthread_mutex_lock(&t->p11->lock);
		memcpy(t->present, present, sizeof(present));
		pthread_mutex_unlock(&t->p11->lock);
		return CKR_TOKEN_NOT_PRESENT;
	}
	if (found > 1)
		return P11_RV_AMBIGUOUS;
	return CKR_OK;
}

static CK_RV find_slot(struct p11_tok *t, CK_SLOT_ID *slot)
{
	CK_RV rv = find_slot_once(t, slot);
	if (rv == CKR_TOKEN_NOT_PRESENT && p11_rescan(t->p11))
		rv = find_slot_once(t, slot);
	return rv;
}

/* Find the slot, open a session (unless `have`: reuse *out) and log in. */
static CK_RV tok_init(struct p11_worker *w, CK_SESSION_HANDLE *out, bool have, int *where)
{
	struct p11_tok *t = w->tok;
	struct bs_p11 *p = t->p11;
	CK_SLOT_ID slot = 0;
	*where = P11_STEP_FIND_TOKEN;
	CK_RV rv = find_slot(t, &slot);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&p->lock);
	t->slot = slot;
	if (t->serial[0] != '\0')
		t->have_serial = true;
	pthread_mutex_unlock(&p->lock);
	*where = P11_STEP_OPEN;
	CK_SESSION_HANDLE s = *out;
	if (!have) {
		rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					 &s);
		if (rv != CKR_OK)
			return rv;
	}
	if (p->pin != NULL) {
		*where = P11_STEP_LOGIN;
		rv = p->f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)p->pin, (CK_ULONG)p->pin_len);
		if (rv == CKR_USER_ALREADY_LOGGED_IN)
			rv = CKR_OK;
		if (rv != CKR_OK) {
			if (!have)
				(void)p->f->C_CloseSession(s);
			return rv;
		}
	}
	*out = s;
	return CKR_OK;
}

/* Make sure w has a session of the current generation on a ready token. */
static CK_RV ensure_session(struct p11_worker *w, int *where)
{
	struct p11_tok *t = w->tok;
	struct bs_p11 *p = t->p11;
	CK_RV rv;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (t->pin_failed) {
			*where = P11_STEP_LOGIN;
			rv = t->pin_rv;
			break;
		}
		if (w->has_sess && w->sess_gen != t->gen)
			w->has_sess = false; /* closed by the recovery's C_CloseAllSessions */
		if (t->ready && w->has_sess) {
			rv = CKR_OK;
			break;
		}
		if (t->initing) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		uint64_t gen = t->gen;
		CK_SESSION_HANDLE s = 0;
		if (!t->ready) {
			/* A session of the current generation (the token only lost its
			 * login) is reused for the login. */
			bool have = w->has_sess;
			s = w->sess;
			t->initing = true;
			pthread_mutex_unlock(&p->lock);
			rv = tok_init(w, &s, have, where);
			pthread_mutex_lock(&p->lock);
			t->initing = false;
			if (rv == CKR_OK) {
				t->ready = true;
				w->sess = s;
				w->has_sess = true;
				/* No recovery runs while initing; only a module re-scan in
				 * tok_init (find_slot) can have moved the generation on. */
				w->sess_gen = t->gen;
			} else if (p11_rv_pin_error(rv)) {
				t->pin_failed = true;
				t->pin_rv = rv;
			}
			pthread_cond_broadcast(&p->cond);
			break;
		}
		CK_SLOT_ID slot = t->slot;
		pthread_mutex_unlock(&p->lock);
		*where = P11_STEP_OPEN;
		rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					 &s);
		pthread_mutex_lock(&p->lock);
		if (rv != CKR_OK)
			break;
		w->sess = s;
		w->has_sess = true;
		w->sess_gen = gen; /* if a recovery ran meanwhile, the loop drops it */
	}
	pthread_mutex_unlock(&p->lock);
	return rv;
}

/* A recoverable error on w's session: if that session belongs to the current
 * generation, start a new one (close every session, forget the slot and the login). */
static void recover(struct p11_worker *w)
{
	struct p11_tok *t = w->tok;
	struct bs_p11 *p = t->p11;
	bool close_all = false;
	CK_SLOT_ID slot = 0;
	pthread_mutex_lock(&p->lock);
	/* A session of an older generation means someone else already recovered. */
	if (t->ready && !t->initing && (!w->has_sess || w->sess_gen == t->gen)) {
		t->gen++;
		t->ready = false;
		/* Hold off (re)initialisation until the old sessions are gone, or the close
		 * below could kill a session another worker has just opened. */
		t->initing = true;
		slot = t->slot;
		close_all = true;
		p->n_recoveries++;
	}
	w->has_sess = false;
	pthread_mutex_unlock(&p->lock);
	if (close_all) {
		bs_log(BS_LOG_WARN, NULL, "pkcs11: token '%s' lost its sessions; re-opening",
		       t->name);
		(void)p->f->C_CloseAllSessions(slot);
		pthread_mutex_lock(&p->lock);
		t->initing = false;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
}

static void run_job(struct p11_worker *w, struct p11_job *j)
{
	CK_RV rv = CKR_OK;
	int where = P11_STEP_OP;
	for (int attempt = 0; attempt < 2; attempt++) {
		rv = ensure_session(w, &where);
		if (rv == CKR_OK) {
			where = P11_STEP_OP;
			rv = j->fn(w, j->arg);
		}
		if (rv == CKR_OK || p11_rv_pin_error(rv))
			break;
		/* A session closed under the call by a recovery in another worker can fail
		 * with any code (SoftHSM: CKR_GENERAL_ERROR): retry that too. */
		pthread_mutex_lock(&w->tok->p11->lock);
		bool stale = w->has_sess && w->sess_gen != w->tok->gen;
		pthread_mutex_unlock(&w->tok->p11->lock);
		if (!p11_rv_recoverable(rv) && !stale)
			break;
		if (attempt == 0)
			recover(w);
	}
	j->rv = rv;
	j->where = where;
}

static void job_free(struct p11_job *j)
{
	if (j == NULL)
		return;
	if (j->arg_free != NULL)
		j->arg_free(j->arg);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void *worker_main(void *a)
{
	struct p11_worker *w = a;
	struct p11_tok *t = w->tok;
	struct bs_p11 *p = t->p11;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (w->job == NULL) {
			uint64_t now = bs_now_ms();
			unsigned ka = p->keepalive_ms;
			if (w->has_sess && w->state == W_IDLE && ka > 0 &&
			    now - w->last_used_ms >= ka) {
				/* YubiHSM reclaims sessions idle for 30 s: touch them. */
				CK_SESSION_HANDLE s = w->sess;
				w->state = W_BUSY;
				pthread_mutex_unlock(&p->lock);
				CK_SESSION_INFO si;
				CK_RV rv = p->f->C_GetSessionInfo(s, &si);
				pthread_mutex_lock(&p->lock);
				if (rv != CKR_OK)
					w->has_sess = false;
				w->last_used_ms = bs_now_ms();
				w->state = W_IDLE;
				pthread_cond_broadcast(&p->cond);
				continue;
			}
			struct timespec ts;
			if (ka == 0 || !w->has_sess) { /* nothing to keep alive: wait for work
							 * (a deadline already past would spin) */
				pthread_cond_wait(&w->cond, &p->lock);
				continue;
			}
			deadline_ts(&ts, w->last_used_ms + ka + 10);
			pthread_cond_timedwait(&w->cond, &p->lock, &ts);
			continue;
		}
		struct p11_job *j = w->job;
		pthread_mutex_unlock(&p->lock);
		run_job(w, j);
		pthread_mutex_lock(&p->lock);
		j->done = true;
		w->job = NULL;
		w->last_used_ms = bs_now_ms();
		if (j->abandoned) {
			/* The caller gave up: never reuse the session that got stuck. */
			bool had = w->has_sess && w->sess_gen == t->gen;
			CK_SESSION_HANDLE s = w->sess;
			w->has_sess = false;
			job_free(j);
			if (had) {
				pthread_mutex_unlock(&p->lock);
				(void)p->f->C_CloseSession(s);
				pthread_mutex_lock(&p->lock);
				/* If that was the last session the token logged us out: the
				 * next job re-checks the slot and logs in again (sessions of
				 * other workers stay valid; CKR_USER_ALREADY_LOGGED_IN is ok). */
				if (t->gen == w->sess_gen && !t->initing)
					t->ready = false;
			}
		} else {
			pthread_cond_signal(&j->cond);
		}
		w->state = W_IDLE;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- public-ish: run a job ---- */

static int rv_to_err(struct p11_tok *t, CK_RV rv, int where, const char *what,
		     struct bs_error *err)
{
	if (p11_rv_pin_error(rv)) {
		if (rv == CKR_PIN_LOCKED)
			return bs_error_set(err, BS_ERR_CONFIG,
					    "token '%s' login failed: PIN locked (CKR_PIN_LOCKED; "
					    "not retried)", t->name);
		return bs_error_set(err, BS_ERR_CONFIG,
				    "token '%s' login failed: wrong PIN (not retried, to avoid "
				    "locking the token)", t->name);
	}
	if (where == P11_STEP_FIND_TOKEN) {
		if (rv == P11_RV_AMBIGUOUS)
			return bs_error_set(err, BS_ERR_CONFIG,
					    "several tokens match '%s': add token= or serial= to "
					    "the URI", t->name);
		char present[P11_PRESENT_MAX];
		pthread_mutex_lock(&t->p11->lock);
		bool seen = t->have_serial; /* found once: now gone is a device fault */
		memcpy(present, t->present, sizeof(present));
		pthread_mutex_unlock(&t->p11->lock);
		if (rv == CKR_TOKEN_NOT_PRESENT && !seen) {
			/* A label the module never had: the client's mistake, not a fault. */
			return bs_error_set(err, BS_ERR_NOT_FOUND,
					    "token '%s' not present: the PKCS#11 module has no "
					    "token with that label (tokens: %s)", t->name,
					    present[0] ? present : "none");
		}
		return bs_error_set(err, BS_ERR_TOKEN, "token '%s' not present (%s)", t->name,
				    p11_rv_name(rv));
	}
	static const char *const steps[] = {"", " opening a session", " finding the token",
					    " opening a session", " logging in"};
	return bs_error_set(err, BS_ERR_TOKEN, "token '%s': %s failed%s: %s (0x%lx)", t->name,
			    what, steps[where], p11_rv_name(rv), (unsigned long)rv);
}

int p11_run(struct p11_tok *t, p11_job_fn fn, void *arg, void (*arg_free)(void *),
	    struct p11_job **job_out, const char *what, struct bs_error *err)
{
	return p11_run_timeout(t, fn, arg, arg_free, job_out, what, 0, err);
}

int p11_run_timeout(struct p11_tok *t, p11_job_fn fn, void *arg, void (*arg_free)(void *),
		    struct p11_job **job_out, const char *what, unsigned timeout_ms,
		    struct bs_error *err)
{
	struct bs_p11 *p = t->p11;
	if (timeout_ms == 0)
		timeout_ms = p->op_timeout_ms;
	*job_out = NULL;
	struct p11_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		if (arg_free != NULL)
			arg_free(arg);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	j->fn = fn;
	j->arg = arg;
	j->arg_free = arg_free;
	cond_init_mono(&j->cond);
	uint64_t deadline = bs_now_ms() + timeout_ms;
	struct timespec ts;
	deadline_ts(&ts, deadline);

	pthread_mutex_lock(&p->lock);
	struct p11_worker *w = NULL;
	t->waiting++;
	for (;;) {
		struct p11_worker *any = NULL;
		for (size_t i = 0; i < t->nworkers && w == NULL; i++) {
			struct p11_worker *c = &t->w[i];
			if (c->state != W_IDLE)
				continue;
			if (c->has_sess && c->sess_gen == t->gen)
				w = c;
			else if (any == NULL)
				any = c;
		}
		if (w == NULL)
			w = any;
		if (w != NULL)
			break;
		if (bs_now_ms() >= deadline ||
		    pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT) {
			t->waiting--;
			pthread_mutex_unlock(&p->lock);
			job_free(j);
			return bs_error_set(err, BS_ERR_BUSY,
					    "token '%s': all %zu sessions busy for %u ms", t->name,
					    t->nworkers, timeout_ms);
		}
	}
	t->waiting--;
	w->state = W_BUSY;
	w->job = j;
	pthread_cond_signal(&w->cond);
	while (!j->done) {
		if (pthread_cond_timedwait(&j->cond, &p->lock, &ts) == ETIMEDOUT && !j->done) {
			j->abandoned = true;
			w->state = W_QUARANTINED;
			p->n_timeouts++;
			pthread_mutex_unlock(&p->lock);
			bs_log(BS_LOG_WARN, NULL,
			       "pkcs11: token '%s' did not answer within %u ms; session quarantined",
			       t->name, timeout_ms);
			return bs_error_set(err, BS_ERR_TIMEOUT,
					    "token '%s': %s timed out after %u ms", t->name, what,
					    timeout_ms);
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (j->rv != CKR_OK) {
		int rc = rv_to_err(t, j->rv, j->where, what, err);
		job_free(j);
		return rc;
	}
	*job_out = j;
	return 0;
}

void p11_job_release(struct bs_p11 *p11, struct p11_job *job)
{
	(void)p11;
	job_free(job);
}

/* ---- token pools ---- */

static bool same_token(P11KitUri *a, P11KitUri *b)
{
	CK_TOKEN_INFO *x = p11_kit_uri_get_token_info(a);
	CK_TOKEN_INFO *y = p11_kit_uri_get_token_info(b);
	return memcmp(x->label, y->label, sizeof(x->label)) == 0 &&
	       memcmp(x->manufacturerID, y->manufacturerID, sizeof(x->manufacturerID)) == 0 &&
	       memcmp(x->model, y->model, sizeof(x->model)) == 0 &&
	       memcmp(x->serialNumber, y->serialNumber, sizeof(x->serialNumber)) == 0;
}

static void tok_stop_free(struct bs_p11 *p, struct p11_tok *t)
{
	for (size_t i = 0; i < t->nworkers; i++) {
		if (t->w[i].started)
			pthread_join(t->w[i].thread, NULL);
		pthread_cond_destroy(&t->w[i].cond);
	}
	if (t->ready)
		(void)p->f->C_CloseAllSessions(t->slot);
	p11_kit_uri_free(t->match);
	free(t);
}

/* With a token list (bs_p11_opts.tokens): the pool of the one listed physical token the
 * URI selects, keyed by its serial (or label), created at most once per listed token. */
static int tok_pool(struct bs_p11 *p11, P11KitUri *uri, struct p11_tok **out,
		    struct bs_error *err);

static int tok_get_listed(struct bs_p11 *p11, P11KitUri *uri, struct p11_tok **out,
			  struct bs_error *err)
{
	CK_TOKEN_INFO ti;
	int rc = p11_allowed_select(p11, uri, &ti, err);
	if (rc != 0)
		return rc;
	P11KitUri *phys = p11_kit_uri_new();
	if (phys == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	CK_TOKEN_INFO *pi = p11_kit_uri_get_token_info(phys);
	memcpy(pi->label, ti.label, sizeof(ti.label));
	memcpy(pi->serialNumber, ti.serialNumber, sizeof(ti.serialNumber));
	rc = tok_pool(p11, phys, out, err);
	p11_kit_uri_free(phys);
	return rc;
}

int p11_tok_get(struct bs_p11 *p11, P11KitUri *uri, const char *uri_text,
		struct p11_tok **out, struct bs_error *err)
{
	(void)uri_text;
	*out = NULL;
	if (p11->nallowed > 0)
		return tok_get_listed(p11, uri, out, err);
	return tok_pool(p11, uri, out, err);
}

/* The pool for the token description uri (created on first use, at most
 * BS_P11_TOKENS_MAX). */
static int tok_pool(struct bs_p11 *p11, P11KitUri *uri, struct p11_tok **out,
		    struct bs_error *err)
{
	pthread_mutex_lock(&p11->lock);
	size_t ntoks = 0;
	for (struct p11_tok *t = p11->toks; t != NULL; t = t->next, ntoks++) {
		if (same_token(t->match, uri)) {
			*out = t;
			pthread_mutex_unlock(&p11->lock);
			return 0;
		}
	}
	/* Each distinct token description costs a pool (threads, sessions): URIs come from
	 * clients, so bound them. */
	if (ntoks >= BS_P11_TOKENS_MAX) {
		pthread_mutex_unlock(&p11->lock);
		return bs_error_set(err, BS_ERR_LIMIT, "more than %d distinct tokens named in "
				    "pkcs11 URIs (token/serial/model/manufacturer)", BS_P11_TOKENS_MAX);
	}
	struct p11_tok *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->match = p11_kit_uri_new()) == NULL) {
		free(t);
		pthread_mutex_unlock(&p11->lock);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	t->p11 = p11;
	memcpy(p11_kit_uri_get_token_info(t->match), p11_kit_uri_get_token_info(uri),
	       sizeof(CK_TOKEN_INFO));
	CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(uri);
	p11_blank_to_str(t->name, sizeof(t->name), ti->label, sizeof(ti->label));
	if (t->name[0] == '\0')
		p11_blank_to_str(t->name, sizeof(t->name), ti->serialNumber,
				 sizeof(ti->serialNumber));
	if (t->name[0] == '\0')
		memcpy(t->name, "(any)", 6);
	t->nworkers = p11->pool_size;
	int rc = 0;
	for (size_t i = 0; i < t->nworkers; i++) {
		struct p11_worker *w = &t->w[i];
		w->tok = t;
		w->state = W_IDLE;
		w->last_used_ms = bs_now_ms();
		cond_init_mono(&w->cond);
	}
	for (size_t i = 0; i < t->nworkers; i++) {
		if (pthread_create(&t->w[i].thread, NULL, worker_main, &t->w[i]) != 0) {
			rc = bs_error_set(err, BS_ERR_NOMEM, "cannot start a session thread");
			break;
		}
		t->w[i].started = true;
	}
	if (rc != 0) {
		/* Stop the threads that did start; they only wait for jobs. */
		p11->stop = true;
		for (size_t i = 0; i < t->nworkers; i++)
			pthread_cond_signal(&t->w[i].cond);
		pthread_mutex_unlock(&p11->lock);
		tok_stop_free(p11, t);
		pthread_mutex_lock(&p11->lock);
		p11->stop = false;
		pthread_mutex_unlock(&p11->lock);
		return rc;
	}
	t->next = p11->toks;
	p11->toks = t;
	*out = t;
	pthread_mutex_unlock(&p11->lock);
	return 0;
}

int p11_tok_get_text(struct bs_p11 *p11, const char *uri_text, struct p11_tok **out,
		     struct bs_error *err)
{
	*out = NULL;
	P11KitUri *u = NULL;
	int rc = p11_uri_parse(&u, uri_text, err);
	if (rc != 0)
		return rc;
	rc = p11_tok_get(p11, u, uri_text, out, err);
	p11_kit_uri_free(u);
	return rc;
}

/* ---- open / close ---- */

int bs_p11_open(struct bs_p11 **out, const struct bs_p11_opts *opts, struct bs_error *err)
{
	*out = NULL;
	size_t pool = opts->pool_size == 0 ? P11_POOL_DEFAULT : opts->pool_size;
	if (pool > BS_P11_POOL_MAX)
		return bs_error_set(err, BS_ERR_CONFIG, "pkcs11 pool_size %zu exceeds %d", pool,
				    BS_P11_POOL_MAX);
	struct bs_p11 *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	cond_init_mono(&p->cond);
	p->refs = 1;
	p->keepalive_ms = P11_KEEPALIVE_MS;
	p->pool_size = pool;
	p->op_timeout_ms = opts->op_timeout_ms == 0 ? P11_TIMEOUT_DEFAULT_MS : opts->op_timeout_ms;
	int rc;
	p->module = bs_strdup(opts->module != NULL ? opts->module : BS_P11_DEFAULT_MODULE);
	if (p->module == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (opts->pin != NULL) {
		p->pin_len = strlen(opts->pin);
		p->pin = bs_secmem_strdup(opts->pin);
		if (p->pin == NULL) {
			rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
			goto fail;
		}
		bs_log_add_secret(p->pin);
	}
	if ((rc = p11_allowed_parse(p, opts->tokens, err)) != 0 ||
	    (rc = p11_module_load(p, err)) != 0)
		goto fail;
	*out = p;
	return 0;
fail:
	bs_free_secret_str(p->pin);
	free(p->module);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return rc;
}

static void p11_destroy(struct bs_p11 *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	for (struct p11_tok *t = p->toks; t != NULL; t = t->next)
		for (size_t i = 0; i < t->nworkers; i++)
			pthread_cond_signal(&t->w[i].cond);
	struct p11_tok *toks = p->toks;
	p->toks = NULL;
	pthread_mutex_unlock(&p->lock);
	while (toks != NULL) {
		struct p11_tok *next = toks->next;
		tok_stop_free(p, toks);
		toks = next;
	}
	p11_module_unload(p);
	bs_free_secret(p->pin, p->pin_len);
	free(p->module);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void p11_ref(struct bs_p11 *p11)
{
	pthread_mutex_lock(&p11->lock);
	p11->refs++;
	pthread_mutex_unlock(&p11->lock);
}

void p11_unref(struct bs_p11 *p11)
{
	if (p11 == NULL)
		return;
	pthread_mutex_lock(&p11->lock);
	unsigned left = --p11->refs;
	pthread_mutex_unlock(&p11->lock);
	if (left == 0)
		p11_destroy(p11);
}

void bs_p11_close(struct bs_p11 *p11)
{
	p11_unref(p11);
}

void bs_p11_set_keepalive(struct bs_p11 *p11, unsigned ms)
{
	pthread_mutex_lock(&p11->lock);
	p11->keepalive_ms = ms;
	for (struct p11_tok *t = p11->toks; t != NULL; t = t->next)
		for (size_t i = 0; i < t->nworkers; i++)
			pthread_cond_signal(&t->w[i].cond);
	pthread_mutex_unlock(&p11->lock);
}

size_t bs_p11_pool_stats(const struct bs_p11 *p11, struct bs_pool_stats *out, size_t max)
{
	struct bs_p11 *p = (struct bs_p11 *)p11;
	size_t n = 0;
	pthread_mutex_lock(&p->lock);
	for (struct p11_tok *t = p->toks; t != NULL && n < max; t = t->next) {
		struct bs_pool_stats *s = &out[n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->token, sizeof(s->token), "%s", t->name);
		s->sessions = (unsigned)t->nworkers;
		s->waiting = t->waiting;
		for (size_t i = 0; i < t->nworkers; i++)
			s->in_use += t->w[i].state == W_BUSY || t->w[i].state == W_QUARANTINED;
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

void bs_p11_stats(const struct bs_p11 *p11, unsigned long *recoveries, unsigned long *timeouts)
{
	struct bs_p11 *p = (struct bs_p11 *)p11;
	pthread_mutex_lock(&p->lock);
	if (recoveries != NULL)
		*recoveries = p->n_recoveries;
	if (timeouts != NULL)
		*timeouts = p->n_timeouts;
	pthread_mutex_unlock(&p->lock);
}
