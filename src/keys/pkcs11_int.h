/* Internals of the PKCS#11 layer shared by pkcs11*.c (not a public interface).
 *
 * Threading model: every pooled session belongs to one worker thread, and every token
 * call that needs a session runs on that worker as a "job". The caller posts the job and
 * waits on a condition variable until it completes or the deadline passes; on timeout the
 * caller gives up (BS_ERR_TIMEOUT) and the worker is quarantined: the job's memory belongs
 * to the worker from then on, and when the stuck call finally returns the worker closes
 * that session and becomes available again with a fresh one. Jobs therefore carry copies
 * of their inputs and their own output buffers, never pointers into the caller's stack. */
#ifndef BS_KEYS_PKCS11_INT_H
#define BS_KEYS_PKCS11_INT_H

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"
#include "keys/pkcs11.h"

#define P11_POOL_DEFAULT 4
#define P11_TIMEOUT_DEFAULT_MS 30000u
#define P11_KEEPALIVE_MS 20000u

struct p11_tok;
struct p11_worker;

/* A job function runs on a worker thread with a logged-in session (w->sess). It returns
 * the PKCS#11 result; CKR_OK with a BS error stored in the job argument is how a job
 * reports non-token failures (object not found...). */
typedef CK_RV (*p11_job_fn)(struct p11_worker *w, void *arg);

struct p11_job {
	p11_job_fn fn;
	void *arg;
	void (*arg_free)(void *arg);
	CK_RV rv;
	int where; /* which step failed: P11_STEP_* */
	bool done;
	bool abandoned;
	pthread_cond_t cond;
};

enum { P11_STEP_OP = 0, P11_STEP_FIND_TOKEN, P11_STEP_OPEN, P11_STEP_LOGIN };

enum p11_wstate { W_IDLE, W_BUSY, W_QUARANTINED, W_DEAD };

struct p11_worker {
	struct p11_tok *tok;
	pthread_t thread;
	bool started;
	enum p11_wstate state;
	struct p11_job *job;
	pthread_cond_t cond; /* job posted or stop */
	CK_SESSION_HANDLE sess;
	bool has_sess;
	uint64_t sess_gen;
	uint64_t last_used_ms;
};

#define P11_PRESENT_MAX 256     /* "'A', 'B'" list of token labels for messages */
#define P11_RESCAN_MIN_MS 1000u /* at most one module re-initialisation per second */

struct p11_tok {
	struct bs_p11 *p11;
	struct p11_tok *next;
	P11KitUri *match;     /* token attributes of the URI that created this pool */
	char name[80];        /* log-safe: token label (or serial) */
	char serial[17];      /* learnt at first find; re-finds must match it */
	bool have_serial;
	CK_SLOT_ID slot;
	bool ready;           /* slot found and logged in for generation `gen` */
	bool initing;
	bool pin_failed;      /* sticky: a wrong PIN is never retried */
	CK_RV pin_rv;
	uint64_t gen;
	char present[P11_PRESENT_MAX]; /* labels the module had at the last miss */
	size_t nworkers;
	unsigned waiting;     /* callers waiting for an idle worker (under p11->lock) */
	struct p11_worker w[BS_P11_POOL_MAX];
};

/* A token the handle may use (bs_p11_opts.tokens): by label or by serial. */
struct p11_allowed {
	char label[33];
	char serial[17];
};

struct bs_p11 {
	CK_FUNCTION_LIST *f;
	struct p11_allowed allowed[BS_P11_TOKENS_MAX];
	size_t nallowed;      /* 0: any token (no list configured) */
	char *module;
	char *pin;
	size_t pin_len;
	size_t pool_size;
	unsigned op_timeout_ms;
	unsigned keepalive_ms; /* touch sessions idle this long; 0 = never */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a worker became idle, a token (re)init finished */
	struct p11_tok *toks;
	unsigned refs;        /* the handle itself + one per live token key */
	uint64_t last_rescan_ms; /* last module re-initialisation on a token miss */
	bool closing;
	bool stop;
	/* statistics (tests, bench) */
	unsigned long n_recoveries;
	unsigned long n_timeouts;
};

/* Token pool for the token named by a URI (created on first use). Borrowed. */
int p11_tok_get(struct bs_p11 *p11, P11KitUri *uri, const char *uri_text,
		struct p11_tok **out, struct bs_error *err) BS_WUR;
/* Parse bs_p11_opts.tokens into p->allowed (pkcs11_tokens.c). BS_ERR_CONFIG on a bad
 * list. */
int p11_allowed_parse(struct bs_p11 *p, const char *list, struct bs_error *err) BS_WUR;
/* Does token info ti name an allowed token? */
bool p11_allowed_match(const struct bs_p11 *p, const CK_TOKEN_INFO *ti);
/* With a token list: the one listed token present in the module that the URI's token
 * attributes match (*out filled from C_GetTokenInfo). Errors as bs_p11_opts.tokens says;
 * nothing is allocated and no session is opened. */
int p11_allowed_select(struct bs_p11 *p, P11KitUri *uri, CK_TOKEN_INFO *out,
		       struct bs_error *err) BS_WUR;
/* Same from the URI text (parsed with p11_uri_parse). */
int p11_tok_get_text(struct bs_p11 *p11, const char *uri_text, struct p11_tok **out,
		     struct bs_error *err) BS_WUR;
/* Run fn(arg) on a pooled, logged-in session with the recovery policy. The job takes
 * ownership of arg (freed with arg_free) on every path; on success *arg is still valid
 * until p11_job_release. Returns 0 or BS_ERR_*; rv_out gets the final CK_RV. */
int p11_run(struct p11_tok *t, p11_job_fn fn, void *arg, void (*arg_free)(void *),
	    struct p11_job **job_out, const char *what, struct bs_error *err) BS_WUR;
/* Same with an explicit deadline (0 = op_timeout_ms), e.g. for key generation. */
int p11_run_timeout(struct p11_tok *t, p11_job_fn fn, void *arg, void (*arg_free)(void *),
		    struct p11_job **job_out, const char *what, unsigned timeout_ms,
		    struct bs_error *err) BS_WUR;
void p11_job_release(struct bs_p11 *p11, struct p11_job *job);

/* Wrap a token private key (handle h valid for generation gen) as a struct bs_key. Takes
 * the reference to pub. */
int p11_key_make(struct bs_p11 *p11, struct p11_tok *t, const char *label, const uint8_t *id,
		 size_t id_len, CK_KEY_TYPE ktype, EVP_PKEY *pub, CK_OBJECT_HANDLE h,
		 uint64_t gen, struct bs_key **out, struct bs_error *err) BS_WUR;

/* Vendor code for "several tokens match the URI". */
#define P11_RV_AMBIGUOUS (CKR_VENDOR_DEFINED | 0x0b5001u)

/* Module loading (pkcs11_module.c): sets p->f from p->module. */
int p11_module_load(struct bs_p11 *p, struct bs_error *err) BS_WUR;
/* C_Finalize + C_Initialize, so that the module re-reads its slots and tokens (SoftHSM2
 * and others list tokens only at C_Initialize). Every session of the module is gone
 * afterwards: callers make sure none is open. Not for the shared p11-kit proxy. */
CK_RV p11_module_reinit(struct bs_p11 *p);
/* A token was not found: re-initialise the module (at most once a second, only while no
 * session is open) so that a token created after start-up is seen. True if it did. */
bool p11_rescan(struct bs_p11 *p);
void p11_module_unload(struct bs_p11 *p);

/* CK_RV helpers. */
const char *p11_rv_name(CK_RV rv);
bool p11_rv_recoverable(CK_RV rv);
bool p11_rv_pin_error(CK_RV rv);

/* URI helpers (pkcs11_uri.c). */
int p11_uri_parse(P11KitUri **out, const char *uri, struct bs_error *err) BS_WUR;
/* object label and id from a URI (label may be empty, id_len may be 0). */
int p11_uri_object(P11KitUri *uri, char *label, size_t label_cap, uint8_t *id,
		   size_t *id_len, CK_OBJECT_CLASS *cls, bool *has_cls,
		   struct bs_error *err) BS_WUR;
void p11_blank_to_str(char *out, size_t cap, const CK_UTF8CHAR *in, size_t n);

/* Reference counting of the handle (token keys keep it alive). */
void p11_ref(struct bs_p11 *p11);
void p11_unref(struct bs_p11 *p11);

/* Find objects of class cls with label (may be "") and id (may be len 0); up to max
 * handles, *n = how many found (capped). Runs on a worker. */
CK_RV p11_find(struct p11_worker *w, CK_OBJECT_CLASS cls, const char *label,
	       const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, size_t max,
	       size_t *n);
/* Read one attribute into a malloc'd buffer (*out, *len). */
CK_RV p11_get_attr(struct p11_worker *w, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
		   uint8_t **out, size_t *len);

#endif
