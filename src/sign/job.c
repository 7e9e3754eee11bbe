/* The signing job (job.h): fields, inputs, keys, record, scratch directory. */
#include "sign/job.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/runner.h"
#include "core/text.h"
#include "core/util.h"
#include "keys/keyring.h"
#include "sign/job_int.h"


struct bs_input {
	const struct bs_form_field *f;
	uint64_t pos;
	int fd;                  /* spool/CLI file, opened on first read; -1 */
};

struct bs_job {
	const struct bs_signer *signer;
	const struct bs_form *form;
	struct bs_keyring *keyring;
	struct bs_keyring_lease *lease;
	char reqid[40];
	char principal[BS_JOB_PRINCIPAL_MAX];
	char *scratch_parent;
	char *artifact_root;     /* NULL = no file:// URIs */
	char *scratch;           /* created on first use */
	uint64_t deadline_ms;
	time_t signing_time;
	bool refuse_root_keys;
	bool refuse_root_bundles;
	int (*authorize_key)(void *ctx, const char *key_id, struct bs_error *err);
	int (*key_filter)(void *ctx, char *out, size_t cap, struct bs_error *err);
	void *authorize_ctx;
	struct bs_input inputs[BS_FORM_FIELDS_MAX];
	struct bs_sink *sink;
	struct bs_job_record rec;
	struct bs_job_digest *digests;
	size_t digests_cap;
	/* bundle key source wrapper: records key ids */
	struct bs_key_source bundle;
};

/* ---- inputs ---------------------------------------------------------------------- */

struct bs_input *bs_job_input(struct bs_job *job, const char *field)
{
	for (size_t i = 0; i < job->form->n; i++) {
		const struct bs_form_field *f = &job->form->f[i];
		if (f->spec->store == BS_FIELD_SPOOL && strcmp(f->spec->name, field) == 0)
			return f->present ? &job->inputs[i] : NULL;
	}
	return NULL;
}

const char *bs_input_name(const struct bs_input *in)
{
	return in->f->filename != NULL ? in->f->filename : "";
}

const char *bs_input_field(const struct bs_input *in)
{
	return in->f->spec->name;
}

uint64_t bs_input_size(const struct bs_input *in)
{
	return in->f->size;
}

bool bs_input_is_file_part(const struct bs_input *in)
{
	return in->f->filename != NULL;
}

static int input_fd(struct bs_input *in, struct bs_error *err)
{
	if (in->fd >= 0 || in->f->path == NULL)
		return 0;
	in->fd = open(in->f->path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return bs_error_set(err, BS_ERR_IO, "%s: cannot open the received data: %s",
				    in->f->spec->name, strerror(errno));
	return 0;
}

int bs_input_pread(struct bs_input *in, void *buf, size_t n, uint64_t off,
		   struct bs_error *err)
{
	if (off > in->f->size || n > in->f->size - off)
		return bs_error_set(err, BS_ERR_FORMAT, "%s '%s': %zu bytes at offset %llu lie "
				    "beyond its end (%llu bytes)", in->f->spec->name,
				    bs_input_name(in), n, (unsigned long long)off,
				    (unsigned long long)in->f->size);
	if (n == 0)
		return 0;
	if (in->f->path == NULL) {
		memcpy(buf, in->f->data + off, n);
		return 0;
	}
	int rc = input_fd(in, err);
	if (rc != 0)
		return rc;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(in->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return bs_error_set(err, BS_ERR_IO, "%s: read failed: %s",
					    in->f->spec->name, r < 0 ? strerror(errno) : "short");
		done += (size_t)r;
	}
	return 0;
}

int bs_input_read(struct bs_input *in, void *buf, size_t n, size_t *got, struct bs_error *err)
{
	*got = 0;
	uint64_t left = in->f->size - in->pos;
	if (n > left)
		n = (size_t)left;
	int rc = bs_input_pread(in, buf, n, in->pos, err);
	if (rc != 0)
		return rc;
	in->pos += n;
	*got = n;
	return 0;
}

int bs_input_seek(struct bs_input *in, uint64_t off, struct bs_error *err)
{
	if (off > in->f->size)
		return bs_error_set(err, BS_ERR_FORMAT, "%s: seek to %llu beyond its end (%llu "
				    "bytes)", in->f->spec->name, (unsigned long long)off,
				    (unsigned long long)in->f->size);
	in->pos = off;
	return 0;
}

int bs_input_slurp(uint8_t **out, size_t *out_len, struct bs_input *in, size_t max,
		   struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (in->f->size > max)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: %llu bytes exceed the limit of %zu "
				    "bytes", in->f->spec->name, (unsigned long long)in->f->size,
				    max);
	size_t n = (size_t)in->f->size;
	uint8_t *buf = malloc(n + 1);
	if (buf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = bs_input_pread(in, buf, n, 0, err);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

int bs_input_fopen(FILE **out, struct bs_input *in, struct bs_error *err)
{
	*out = NULL;
	if (in->f->path == NULL) {
		/* fmemopen of an empty buffer fails: give an empty stream instead */
		static const uint8_t empty[1];
		const void *d = in->f->size > 0 ? (const void *)in->f->data : empty;
		*out = fmemopen((void *)d, in->f->size > 0 ? (size_t)in->f->size : 1, "rb");
		if (*out != NULL && in->f->size == 0)
			(void)fseek(*out, 1, SEEK_SET);
	} else {
		int fd = open(in->f->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (*out = fdopen(fd, "rb")) == NULL)
			close(fd);
	}
	if (*out == NULL)
		return bs_error_set(err, BS_ERR_IO, "%s: cannot open the received data: %s",
				    in->f->spec->name, strerror(errno));
	return 0;
}

/* ---- fields, identity ------------------------------------------------------------- */

const char *bs_job_value(const struct bs_job *job, const char *field)
{
	return bs_form_value(job->form, field);
}

const char *bs_job_filename(const struct bs_job *job, const char *field)
{
	const struct bs_form_field *f = bs_form_get(job->form, field);
	return f != NULL && f->present ? f->filename : NULL;
}

bool bs_job_has(const struct bs_job *job, const char *field)
{
	const struct bs_form_field *f = bs_form_get(job->form, field);
	return f != NULL && f->present;
}

const char *bs_job_subject(const struct bs_job *job)
{
	return job->rec.subject;
}

const char *bs_job_principal(const struct bs_job *job)
{
	return job->principal;
}

const char *bs_job_reqid(const struct bs_job *job)
{
	return job->reqid;
}

uint64_t bs_job_ms_left(const struct bs_job *job)
{
	uint64_t now = bs_now_ms();
	return now < job->deadline_ms ? job->deadline_ms - now : 0;
}

int bs_job_check_deadline(const struct bs_job *job, struct bs_error *err)
{
	if (bs_job_ms_left(job) == 0)
		return bs_error_set(err, BS_ERR_TIMEOUT, "%s: signing took longer than the "
				    "server allows", job->signer->name);
	return 0;
}

time_t bs_job_signing_time(const struct bs_job *job)
{
	return job->signing_time;
}

void bs_job_log(const struct bs_job *job, const char *fmt, ...)
{
	char msg[BS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bs_log(BS_LOG_INFO, job->reqid, "%s: %s", job->signer->name, msg);
}

/* ---- record ------------------------------------------------------------------------ */

void bs_job_note_key(struct bs_job *job, const char *key_id)
{
	if (key_id == NULL || key_id[0] == '\0')
		return;
	for (size_t i = 0; i < job->rec.nkeys; i++)
		if (strncmp(job->rec.keys[i], key_id, BS_JOB_KEY_ID_MAX - 1) == 0)
			return;
	if (job->rec.nkeys >= BS_JOB_KEYS_MAX)
		return;
	char *k = job->rec.keys[job->rec.nkeys++];
	snprintf(k, BS_JOB_KEY_ID_MAX, "%s", key_id);
	for (char *p = k; *p; p++)
		if (*p < '!' || *p > '~' || *p == ',' || *p == '"')
			*p = '_';
}

int bs_job_note_digest(struct bs_job *job, const char *what, int md_nid, const uint8_t *dgst,
		       size_t dlen, struct bs_error *err)
{
	if (dlen == 0 || dlen > BS_JOB_DIGEST_MAX)
		return bs_error_set(err, BS_ERR_INTERNAL, "digest of %zu bytes", dlen);
	if (job->rec.ndigests >= BS_JOB_DIGESTS_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "more than %d signatures in one request",
				    BS_JOB_DIGESTS_MAX);
	if (job->rec.ndigests == job->digests_cap) {
		size_t cap = job->digests_cap ? job->digests_cap * 2 : 8;
		struct bs_job_digest *d = realloc(job->digests, cap * sizeof(*d));
		if (d == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		job->digests = d;
		job->digests_cap = cap;
		job->rec.digests = d;
	}
	struct bs_job_digest *d = &job->digests[job->rec.ndigests++];
	memset(d, 0, sizeof(*d));
	snprintf(d->what, sizeof(d->what), "%s", what != NULL ? what : "");
	for (char *p = d->what; *p; p++)
		if (*p < ' ' || *p > '~' || *p == ',' || *p == '"')
			*p = '?';
	const char *sn = OBJ_nid2sn(md_nid);
	snprintf(d->alg, sizeof(d->alg), "%s", sn != NULL ? sn : "?");
	for (char *p = d->alg; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	bs_hex(d->hex, dgst, dlen);
	return 0;
}

const struct bs_job_record *bs_job_record(const struct bs_job *job)
{
	return &job->rec;
}

void bs_job_record_keys(const struct bs_job_record *r, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->nkeys; i++) {
		int n = snprintf(out + o, cap - o, "%s%s", i ? "," : "", r->keys[i]);
		if (n < 0 || (size_t)n >= cap - o) {
			if (cap > 4)
				memcpy(out + cap - 4, "...", 4);
			return;
		}
		o += (size_t)n;
	}
}

void bs_job_record_digests(const struct bs_job_record *r, char *out, size_t cap, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->ndigests && i < n; i++) {
		int w = snprintf(out + o, cap - o, "%s%s:%s", i ? "," : "", r->digests[i].alg,
				 r->digests[i].hex);
		if (w < 0 || (size_t)w >= cap - o) {
			out[o] = '\0';
			break;
		}
		o += (size_t)w;
	}
	if (r->ndigests > n && o + 24 < cap)
		snprintf(out + o, cap - o, "(+%zu more)", r->ndigests - n);
}

/* ---- keys -------------------------------------------------------------------------- */

static int lease(struct bs_job *job, struct bs_error *err)
{
	if (job->lease != NULL)
		return 0;
	if (job->keyring == NULL)
		return bs_error_set(err, BS_ERR_CONFIG, "no key store configured");
	if (job->key_filter == NULL)
		return bs_keyring_lease_filtered(&job->lease, job->keyring, job->rec.subject,
						 NULL, err);
	char *filter = malloc(BS_KEY_FILTER_MAX); /* tens of KiB: not on a request's stack */
	if (filter == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = job->key_filter(job->authorize_ctx, filter, BS_KEY_FILTER_MAX, err);
	if (rc == 0)
		rc = bs_keyring_lease_filtered(&job->lease, job->keyring, job->rec.subject,
					       filter[0] != '\0' ? filter : "-*\n", /* no rule
					       for any key: none */
					       err);
	free(filter);
	return rc;
}

/* Record the key, then ask the policy (bs_job_opts.authorize_key); a refused key is freed. */
static int authorize(struct bs_job *job, struct bs_key **key, struct bs_error *err)
{
	bs_job_note_key(job, bs_key_id(*key));
	if (job->authorize_key == NULL)
		return 0;
	int rc = job->authorize_key(job->authorize_ctx, bs_key_id(*key), err);
	if (rc != 0) {
		bs_key_free(*key);
		*key = NULL;
	}
	return rc;
}

void bs_job_allow_token(struct bs_job *job, bool allow)
{
	if (lease(job, NULL) == 0)
		bs_lease_allow_token(job->lease, allow);
}

int bs_job_key(struct bs_key **out, struct bs_job *job, const char *name, X509 *cert,
	       struct bs_error *err)
{
	*out = NULL;
	uint64_t t0 = bs_now_ms();
	int rc = lease(job, err);
	if (rc == 0)
		rc = bs_lease_key(out, job->lease, name, cert, err);
	if (rc == 0)
		rc = authorize(job, out, err);
	job->rec.keys_ms += bs_now_ms() - t0;
	return rc;
}

int bs_job_cert(X509 **out, struct bs_job *job, const char *name, struct bs_error *err)
{
	*out = NULL;
	uint64_t t0 = bs_now_ms();
	int rc = lease(job, err);
	if (rc == 0)
		rc = bs_lease_cert(out, job->lease, name, err);
	job->rec.keys_ms += bs_now_ms() - t0;
	return rc;
}

bool bs_job_key_exists(struct bs_job *job, const char *name)
{
	return lease(job, NULL) == 0 && bs_lease_exists(job->lease, name);
}

static int bundle_read(void *ctx, const char *name, size_t max, uint8_t **out, size_t *out_len,
		       struct bs_error *err)
{
	struct bs_job *job = ctx;
	return job->bundle.read(job->bundle.ctx, name, max, out, out_len, err);
}

static int bundle_cert(void *ctx, const char *name, X509 **out, struct bs_error *err)
{
	struct bs_job *job = ctx;
	uint64_t t0 = bs_now_ms();
	int rc = job->bundle.load_cert(job->bundle.ctx, name, out, err);
	job->rec.keys_ms += bs_now_ms() - t0;
	return rc;
}

static int bundle_key(void *ctx, const char *cert_name, X509 *cert, struct bs_key **out,
		      struct bs_error *err)
{
	struct bs_job *job = ctx;
	uint64_t t0 = bs_now_ms();
	int rc = job->bundle.load_key(job->bundle.ctx, cert_name, cert, out, err);
	if (rc == 0)
		rc = authorize(job, out, err);
	job->rec.keys_ms += bs_now_ms() - t0;
	return rc;
}

int bs_job_bundle(struct bs_key_source *out, struct bs_job *job, const char *bundle,
		  struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	uint64_t t0 = bs_now_ms();
	int rc = lease(job, err);
	if (rc == 0)
		rc = bs_lease_bundle(&job->bundle, job->lease, bundle, err);
	job->rec.keys_ms += bs_now_ms() - t0;
	if (rc != 0)
		return rc;
	*out = (struct bs_key_source){.read = bundle_read, .load_cert = bundle_cert,
				      .load_key = bundle_key, .ctx = job};
	return 0;
}

const char *const *bs_job_bundle_members(struct bs_job *job, size_t *n)
{
	*n = 0;
	return job->lease != NULL ? bs_lease_bundle_members(job->lease, n) : NULL;
}

const char *bs_job_artifact_root(const struct bs_job *job)
{
	return job->artifact_root;
}

bool bs_job_refuse_root_keys(const struct bs_job *job)
{
	return job->refuse_root_keys;
}

bool bs_job_refuse_root_bundles(const struct bs_job *job)
{
	return job->refuse_root_bundles;
}

bool bs_job_bundle_first_use(const struct bs_job *job)
{
	return job->lease != NULL && bs_lease_bundle_first_use(job->lease);
}

/* ---- scratch ----------------------------------------------------------------------- */

int bs_job_scratch_dir(struct bs_job *job, const char **out, struct bs_error *err)
{
	*out = NULL;
	if (job->scratch == NULL) {
		const char *parent = job->scratch_parent;
		if (parent == NULL) {
			parent = getenv("TMPDIR");
			if (parent == NULL || parent[0] != '/')
				parent = "/tmp";
		}
		size_t n = strlen(parent) + 64;
		char *p = malloc(n);
		if (p == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		snprintf(p, n, "%s/bootsign-job-%.16s-XXXXXX", parent, job->reqid);
		for (char *c = p + strlen(parent) + 1; *c; c++)
			if (*c == '/')
				*c = '_';
		if (mkdtemp(p) == NULL) {
			int e = errno;
			free(p);
			return bs_error_set(err, BS_ERR_IO, "cannot create a scratch directory in "
					    "%s: %s", parent, strerror(e));
		}
		job->scratch = p;
	}
	*out = job->scratch;
	return 0;
}

int bs_job_scratch(const char **out, struct bs_job *job, struct bs_error *err)
{
	return bs_job_scratch_dir(job, out, err);
}

int bs_job_exec(struct bs_job *job, const char *const *argv, const char *stdout_name,
		struct bs_error *err)
{
	const char *dir = NULL;
	int rc = bs_job_scratch_dir(job, &dir, err);
	if (rc != 0)
		return rc;
	uint64_t left = bs_job_ms_left(job);
	if (left == 0)
		return bs_job_check_deadline(job, err);
	char out_path[4096];
	if (stdout_name != NULL) {
		if (strchr(stdout_name, '/') != NULL)
			return bs_error_set(err, BS_ERR_INTERNAL, "output name '%s'", stdout_name);
		int n = snprintf(out_path, sizeof(out_path), "%s/%s", dir, stdout_name);
		if (n < 0 || (size_t)n >= sizeof(out_path))
			return bs_error_set(err, BS_ERR_LIMIT, "scratch path too long");
	}
	const struct bs_run_opts o = {
		.argv = argv,
		.cwd = dir,
		.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (unsigned)left,
		.stdout_path = stdout_name != NULL ? out_path : NULL,
	};
	return bs_run(&o, NULL, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0; /* keep going: remove as much as possible */
}

static void scratch_remove(struct bs_job *job)
{
	if (job->scratch == NULL)
		return;
	/* FTW_PHYS: never follow a symlink a tool left behind */
	(void)nftw(job->scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	(void)rmdir(job->scratch);
	free(job->scratch);
	job->scratch = NULL;
}

/* ---- life cycle -------------------------------------------------------------------- */

int bs_job_new(struct bs_job **out, const struct bs_job_opts *o, struct bs_error *err)
{
	*out = NULL;
	if (o->signer == NULL || o->form == NULL)
		return bs_error_set(err, BS_ERR_INTERNAL, "job without signer or form");
	struct bs_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	job->signer = o->signer;
	job->form = o->form;
	job->keyring = o->keyring;
	snprintf(job->reqid, sizeof(job->reqid), "%s", o->reqid != NULL ? o->reqid : "-");
	snprintf(job->principal, sizeof(job->principal), "%s",
		 o->principal != NULL ? o->principal : "anonymous");
	job->refuse_root_keys = o->refuse_root_keys;
	job->refuse_root_bundles = o->refuse_root_bundles;
	job->authorize_key = o->authorize_key;
	job->key_filter = o->key_filter;
	job->authorize_ctx = o->authorize_ctx;
	job->rec.start_ms = bs_now_ms();
	job->deadline_ms = job->rec.start_ms + (o->timeout_ms ? o->timeout_ms
							       : BS_JOB_TIMEOUT_DEFAULT_MS);
	job->signing_time = o->signing_time;
	if (job->signing_time == 0) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		uint64_t v = 0;
		if (sde != NULL && bs_parse_u64(&v, sde, 10, 1, BS_SOURCE_DATE_EPOCH_MAX,
						"SOURCE_DATE_EPOCH", NULL) == 0)
			job->signing_time = (time_t)v;
	}
	job->rec.signer = o->signer->name;
	job->rec.principal = job->principal;
	job->rec.reqid = job->reqid;
	job->rec.subject = "-";
	for (size_t i = 0; i < BS_FORM_FIELDS_MAX; i++) {
		job->inputs[i].fd = -1;
		if (i < o->form->n)
			job->inputs[i].f = &o->form->f[i];
	}
	if ((o->scratch_parent != NULL &&
	     (job->scratch_parent = bs_strdup(o->scratch_parent)) == NULL) ||
	    (o->artifact_root != NULL &&
	     (job->artifact_root = bs_strdup(o->artifact_root)) == NULL)) {
		bs_job_free(job);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	const char *sf = o->signer->subject_field;
	const char *subject = sf != NULL ? bs_form_value(o->form, sf) : NULL;
	if (subject != NULL) {
		int rc = bs_sign_check_name(sf, subject, err);
		if (rc != 0) {
			bs_job_free(job);
			return rc;
		}
		job->rec.subject = subject;
	}
	*out = job;
	return 0;
}

int bs_job_service_key(struct bs_key **out, struct bs_keyring *kr, const char *name,
		       struct bs_error *err)
{
	return bs_keyring_service_key(out, kr, name, err);
}

size_t bs_job_pool_stats(struct bs_keyring *kr, struct bs_pool_stats *out, size_t max)
{
	return bs_keyring_pool_stats(kr, out, max);
}

int bs_job_keys_ready(struct bs_keyring *kr, struct bs_error *err)
{
	return bs_keyring_check(kr, err);
}

int bs_job_set_sink(struct bs_job *job, struct bs_sink *s, struct bs_error *err)
{
	if (job->sink != NULL) {
		bs_sink_free(s);
		return bs_error_set(err, BS_ERR_INTERNAL, "%s: a second output", job->signer->name);
	}
	job->sink = s;
	return 0;
}

int bs_job_run(struct bs_job *job, struct bs_error *err)
{
	struct bs_error local = {0};
	if (err == NULL)
		err = &local;
	int rc = job->signer->sign(job, err);
	if (rc == 0 && job->sink == NULL)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "signer %s produced no output",
				  job->signer->name);
	if (rc == 0)
		rc = bs_sink_close(job->sink, err);
	if (rc == 0)
		rc = bs_job_check_deadline(job, err);
	if (rc != 0) {
		bs_sink_free(job->sink);
		job->sink = NULL;
	} else {
		job->rec.out_bytes = bs_sink_size(job->sink);
	}
	/* keys are not needed any more: give the lease back before the answer is sent */
	bs_keyring_release(job->lease);
	job->lease = NULL;
	job->rec.result = rc;
	snprintf(job->rec.reason, sizeof(job->rec.reason), "%s", rc != 0 ? err->msg : "ok");
	job->rec.total_ms = bs_now_ms() - job->rec.start_ms;
	return rc;
}

int bs_job_take_output(struct bs_job *job, struct bs_job_output *out, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (job->sink == NULL)
		return bs_error_set(err, BS_ERR_INTERNAL, "no output");
	return bs_sink_output(job->sink, out, err);
}

void bs_job_free(struct bs_job *job)
{
	if (job == NULL)
		return;
	for (size_t i = 0; i < BS_FORM_FIELDS_MAX; i++)
		if (job->inputs[i].fd >= 0)
			close(job->inputs[i].fd);
	bs_sink_free(job->sink);
	bs_keyring_release(job->lease);
	scratch_remove(job);
	free(job->scratch_parent);
	free(job->artifact_root);
	free(job->digests);
	free(job);
}

/* ---- outputs (sinks are in sink.c) ------------------------------------------------- */

static int new_output(struct bs_sink **out, struct bs_job *job, enum bs_sink_kind k,
		      const char *content_type, const char *filename, int level,
		      struct bs_error *err)
{
	*out = NULL;
	const char *scratch = NULL;
	int rc = 0;
	if (k == BS_SINK_FILE || k == BS_SINK_TGZ)
		rc = bs_job_scratch_dir(job, &scratch, err);
	struct bs_sink *s = NULL;
	if (rc == 0)
		rc = level >= 0 ? bs_sink_new_tgz(&s, scratch, filename, level, err)
				: bs_sink_new(&s, k, scratch, content_type, filename, err);
	if (rc == 0)
		rc = bs_job_set_sink(job, s, err);
	if (rc == 0)
		*out = s;
	return rc;
}

int bs_job_output_memory(struct bs_sink **out, struct bs_job *job, const char *content_type,
			 const char *filename, struct bs_error *err)
{
	return new_output(out, job, BS_SINK_MEMORY, content_type, filename, -1, err);
}

int bs_job_output_file(struct bs_sink **out, struct bs_job *job, const char *content_type,
		       const char *filename, struct bs_error *err)
{
	return new_output(out, job, BS_SINK_FILE, content_type, filename, -1, err);
}

int bs_job_output_tgz(struct bs_sink **out, struct bs_job *job, const char *filename,
		      struct bs_error *err)
{
	/* level 1: libarchive's default level 6 was ~80% of a /sign/modules request's CPU */
	return new_output(out, job, BS_SINK_TGZ, NULL, filename, BS_TGZ_LEVEL_DEFAULT, err);
}

int bs_job_output_tgz_level(struct bs_sink **out, struct bs_job *job, const char *filename,
			    int level, struct bs_error *err)
{
	return new_output(out, job, BS_SINK_TGZ, NULL, filename, level, err);
}

int bs_job_output_text(struct bs_job *job, const char *text, struct bs_error *err)
{
	struct bs_sink *s = NULL;
	int rc = new_output(&s, job, BS_SINK_TEXT, NULL, NULL, -1, err);
	if (rc == 0)
		rc = bs_sink_write(s, text, strlen(text), err);
	return rc;
}

int bs_sink_copy_input(struct bs_sink *s, struct bs_input *in, struct bs_error *err)
{
	uint8_t *buf = malloc(BS_COPY_CHUNK);
	if (buf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	uint64_t size = bs_input_size(in);
	int rc = 0;
	for (uint64_t off = 0; rc == 0 && off < size;) {
		size_t n = size - off < BS_COPY_CHUNK ? (size_t)(size - off) : BS_COPY_CHUNK;
		rc = bs_input_pread(in, buf, n, off, err);
		if (rc == 0)
			rc = bs_sink_write(s, buf, n, err);
		off += n;
	}
	free(buf);
	return rc;
}

