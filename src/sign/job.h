/* The signing job: the one object a signer sees.
 *
 * Every request takes one path, from HTTP (http/server.c) or from the CLI (`bootsign sign`):
 *
 *   form (declared fields, see sign/signer.h) -> bs_job_new -> signer->sign(job) ->
 *   output sink -> caller sends or writes it -> bs_job_free (scratch removed, record kept
 *   by the caller for the log / audit)
 *
 * A signer reads its fields and inputs, asks the job for keys by name ("key K of the
 * subject": a file name inside the subject's key store, or a pkcs11: URI under the URI/PIN
 * policy), records the digests it signs, and writes its answer to one output sink. It never
 * sees the server, the configuration, a cache or a token: those are behind the keyring
 * (keys/keyring.h) the job was given.
 *
 * Inputs are readers: the same calls work whether an upload stayed in memory, went to the
 * spool, or is a local file named on the command line.
 *
 * Errors: 0 or a negative BS_ERR_* with a message that names the field, member or key. A
 * missing key file is BS_ERR_NOT_FOUND naming the store path relative to the key root
 * ("<subject>/kmodsign/kernel-signkey.priv"). */
#ifndef BS_SIGN_JOB_H
#define BS_SIGN_JOB_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/error.h"
#include "core/poolstats.h"
#include "crypto/key.h"
#include "sign/signer.h"

struct archive_entry;
struct bs_keyring;
struct bs_job;
struct bs_sink;


/* ---- inputs ---------------------------------------------------------------------- */

/* A reader over one received file field (or a CLI input file). Position starts at 0. */
struct bs_input;

/* The input of file field `field`, or NULL when it was not sent (optional fields). */
struct bs_input *bs_job_input(struct bs_job *job, const char *field);
/* The file name the client gave (multipart filename; CLI: basename), "" when none. */
const char *bs_input_name(const struct bs_input *in);
/* The form field it arrived in ("artifact"). */
const char *bs_input_field(const struct bs_input *in);
uint64_t bs_input_size(const struct bs_input *in);
/* Sent as a file part (with a filename)? */
bool bs_input_is_file_part(const struct bs_input *in);
/* Read up to n bytes at the current position; *got = 0 at the end. */
int bs_input_read(struct bs_input *in, void *buf, size_t n, size_t *got,
		  struct bs_error *err) BS_WUR;
int bs_input_seek(struct bs_input *in, uint64_t off, struct bs_error *err) BS_WUR;
/* Exactly n bytes at off (position unchanged); BS_ERR_FORMAT naming the input when the
 * input is shorter. */
int bs_input_pread(struct bs_input *in, void *buf, size_t n, uint64_t off,
		   struct bs_error *err) BS_WUR;
/* The whole input in a malloc'd buffer (NUL-terminated, not counted), at most max bytes
 * (BS_ERR_LIMIT naming the field otherwise). For small inputs (a sw-description). */
int bs_input_slurp(uint8_t **out, size_t *out_len, struct bs_input *in, size_t max,
		   struct bs_error *err) BS_WUR;
/* A read-only FILE over the input (fmemopen or a dup of the spool fd); caller fcloses. */
int bs_input_fopen(FILE **out, struct bs_input *in, struct bs_error *err) BS_WUR;

/* ---- fields, identity, limits ------------------------------------------------------ */

/* A small field's value (or its declared default); NULL when absent without default. */
const char *bs_job_value(const struct bs_job *job, const char *field);
/* The multipart file name a field was sent with (NULL when none). */
const char *bs_job_filename(const struct bs_job *job, const char *field);
/* Was the field sent by the client (not only defaulted)? */
bool bs_job_has(const struct bs_job *job, const char *field);
/* Machine or distro the keys belong to (the signer's subject field, already checked as a
 * name: [A-Za-z0-9._-], no ".."). */
const char *bs_job_subject(const struct bs_job *job);
/* Who asked ("anonymous" until access control). */
const char *bs_job_principal(const struct bs_job *job);
/* Request id (for log lines). */
const char *bs_job_reqid(const struct bs_job *job);
/* BS_ERR_TIMEOUT once the job's deadline has passed (call between expensive steps). */
int bs_job_check_deadline(const struct bs_job *job, struct bs_error *err) BS_WUR;
/* The directory file:// artifact URIs must stay inside (server config
 * mender_artifact_root); NULL when none is configured (every URI is refused). */
const char *bs_job_artifact_root(const struct bs_job *job);
/* Milliseconds left before the deadline (0 when passed). */
uint64_t bs_job_ms_left(const struct bs_job *job);
/* Signing time to use (SOURCE_DATE_EPOCH / a fixed time in tests), 0 = now. */
time_t bs_job_signing_time(const struct bs_job *job);
/* A line for the server log at info level, prefixed with the request id. */
void bs_job_log(const struct bs_job *job, const char *fmt, ...) BS_PRINTF(2, 3);

/* ---- keys -------------------------------------------------------------------------- */

/* Private key `name` of the subject: a file inside <keyroot>/<subject>/ (e.g.
 * "kmodsign/kernel-signkey.priv"; PEM or DER, PKCS#8/PKCS#1/SEC1, unencrypted or
 * with the passphrase of key_pass.txt beside it) or, when the signer allowed tokens
 * (bs_job_allow_token), a pkcs11: URI (client pin-value=password placeholder only).
 * `cert`, if given, must match the key (BS_ERR_KEY otherwise). Names are confined to the
 * subject's store: absolute, "..", symlinks out -> BS_ERR_PATH. The key id is recorded. */
int bs_job_key(struct bs_key **out, struct bs_job *job, const char *name, X509 *cert,
	       struct bs_error *err) BS_WUR;
/* Certificate `name` (PEM or DER file, or pkcs11: URI with type=cert). */
int bs_job_cert(X509 **out, struct bs_job *job, const char *name,
		struct bs_error *err) BS_WUR;
/* Does the subject's store hold file `name`? (false for URIs and bad names) */
bool bs_job_key_exists(struct bs_job *job, const char *name);
/* A tar.gz bundle inside the subject's store (e.g. "imxsign/imx-cst-keys.tar.gz") as a
 * key source for a format (CST certificate->key naming inside). Valid until the job is
 * freed; keys loaded through it are recorded. pkcs11: names resolve through the token
 * when allowed. */
int bs_job_bundle(struct bs_key_source *out, struct bs_job *job, const char *bundle,
		  struct bs_error *err) BS_WUR;
/* Member names of the bundle opened last with bs_job_bundle (borrowed), for checks on
 * what a bundle holds. */
const char *const *bs_job_bundle_members(struct bs_job *job, size_t *n);
/* Must root-of-trust private keys (SRK, CA) be refused when found in a bundle? */
bool bs_job_refuse_root_keys(const struct bs_job *job);
/* Is a bundle that carries root-of-trust keys refused outright (server setting
 * bundle_root_keys = refuse) rather than warned about? */
bool bs_job_refuse_root_bundles(const struct bs_job *job);
/* Is the bundle opened last used for the first time since it was read? */
bool bs_job_bundle_first_use(const struct bs_job *job);
/* Allow pkcs11: URIs for this job (the signer's backend=pkcs11 field). */
void bs_job_allow_token(struct bs_job *job, bool allow);

/* ---- record ------------------------------------------------------------------------ */

/* Record one digest the job signed: what it covers (a member name, "sw-description"),
 * the digest algorithm (NID_sha256...) and the bytes. */
int bs_job_note_digest(struct bs_job *job, const char *what, int md_nid,
		       const uint8_t *dgst, size_t dlen, struct bs_error *err) BS_WUR;
/* Record a key id used (bs_job_key/bs_job_bundle do it already). */
void bs_job_note_key(struct bs_job *job, const char *key_id);

/* ---- scratch and tools --------------------------------------------------------------- */

/* The job's private scratch directory (0700, created on first use, removed with
 * everything in it when the job is freed, on every path). Borrowed. */
int bs_job_scratch(const char **out, struct bs_job *job, struct bs_error *err) BS_WUR;
/* Run an external tool (argv array, never a shell) in the scratch directory with the
 * clean environment of core/runner.h and the time left before the job's deadline;
 * stdout_name (may be NULL) is a file created in the scratch directory. BS_ERR_TOOL
 * carries the tail of its stderr; BS_ERR_TIMEOUT when the deadline passes. */
int bs_job_exec(struct bs_job *job, const char *const *argv, const char *stdout_name,
		struct bs_error *err) BS_WUR;

/* ---- output -------------------------------------------------------------------------- */

/* One output per job, chosen by the signer:
 *  memory: small answers (a signature, a CSF blob), held in a bounded buffer;
 *  file:   a file in the scratch directory, sent from its descriptor (large images);
 *  tgz:    a tar.gz written through libarchive into a scratch file, entry by entry.
 * content_type NULL = application/octet-stream (tgz: application/gzip); filename is the
 * Content-Disposition name. The sink belongs to the job. */
int bs_job_output_memory(struct bs_sink **out, struct bs_job *job, const char *content_type,
			 const char *filename, struct bs_error *err) BS_WUR;
int bs_job_output_file(struct bs_sink **out, struct bs_job *job, const char *content_type,
		       const char *filename, struct bs_error *err) BS_WUR;
int bs_job_output_tgz(struct bs_sink **out, struct bs_job *job, const char *filename,
		      struct bs_error *err) BS_WUR;
/* The same with gzip level 0 (stored) .. 9: members that are already compressed (a FIT's
 * kernel and initramfs) cost seconds to deflate and shrink by nothing. */
int bs_job_output_tgz_level(struct bs_sink **out, struct bs_job *job, const char *filename,
			    int level, struct bs_error *err) BS_WUR;
/* Append bytes (memory, file, or the current tgz entry). */
int bs_sink_write(struct bs_sink *s, const void *data, size_t n, struct bs_error *err) BS_WUR;
/* Overwrite bytes already written (memory and file sinks), e.g. patch a header. */
int bs_sink_pwrite(struct bs_sink *s, const void *data, size_t n, uint64_t off,
		   struct bs_error *err) BS_WUR;
/* Append a whole input (copied in chunks). */
int bs_sink_copy_input(struct bs_sink *s, struct bs_input *in, struct bs_error *err) BS_WUR;
/* tgz: start a member described by a libarchive entry (name, type, mode, mtime, owner,
 * size); following bs_sink_write calls are its data, exactly `size` bytes. */
int bs_sink_tgz_entry(struct bs_sink *s, struct archive_entry *entry,
		      struct bs_error *err) BS_WUR;
/* tgz: a regular file member with mode and mtime in one call. */
int bs_sink_tgz_file(struct bs_sink *s, const char *name, unsigned mode, time_t mtime,
		     const void *data, size_t n, struct bs_error *err) BS_WUR;
/* Bytes written so far. */
uint64_t bs_sink_size(const struct bs_sink *s);
/* A plain-text status answer instead of data (mender artifact-uri: "Signing successful"). */
int bs_job_output_text(struct bs_job *job, const char *text, struct bs_error *err) BS_WUR;

/* ========================================================================================
 * The caller's side (http/server.c, cli/cmd_sign.c, tests). Signers do not use these. */

struct bs_job_opts {
	const struct bs_signer *signer;
	const struct bs_form *form;      /* validated fields (borrowed for the job's life) */
	struct bs_keyring *keyring;      /* where keys come from (borrowed) */
	const char *reqid;               /* request id ("cli" for the CLI) */
	const char *principal;           /* NULL = "anonymous" */
	const char *scratch_parent;      /* directory for the job's scratch dir; NULL = $TMPDIR */
	uint64_t timeout_ms;             /* 0 = 600000 (digsigserver's response timeout) */
	time_t signing_time;             /* 0 = now (or SOURCE_DATE_EPOCH when set) */
	bool refuse_root_keys;           /* HAB: never load SRK/CA private keys from bundles */
	bool refuse_root_bundles;        /* HAB: refuse bundles that hold SRK/CA keys at all */
	const char *artifact_root;       /* file:// artifact URIs only inside it; NULL = none */
	/* Access policy at the key boundary (NULL = every key): asked with the key id of
	 * every key bs_job_key / a bundle loads, before the signer gets it; a nonzero return
	 * (BS_ERR_DENIED) fails the load, the key id is still recorded. */
	int (*authorize_key)(void *ctx, const char *key_id, struct bs_error *err);
	/* The same policy's decision on keys for this request as a key filter
	 * (keys/keyring.h bs_key_filter_allows), asked once when the job first needs a key
	 * (the subject is known then) and applied where the keys are: in the key process
	 * under key isolation, so a key the policy refuses never leaves it as a handle.
	 * NULL = no filter. */
	int (*key_filter)(void *ctx, char *out, size_t cap, struct bs_error *err);
	void *authorize_ctx;
};

int bs_job_new(struct bs_job **out, const struct bs_job_opts *o, struct bs_error *err) BS_WUR;
/* The server's own key of setting `name` ("audit_key", "tls_key"), from the keyring:
 * in the key process under key isolation (keys/keyring.h bs_keyring_service_key). */
int bs_job_service_key(struct bs_key **out, struct bs_keyring *kr, const char *name,
		       struct bs_error *err) BS_WUR;
/* The token session pools (keys/keyring.h bs_keyring_pool_stats), for /metrics. */
size_t bs_job_pool_stats(struct bs_keyring *kr, struct bs_pool_stats *out, size_t max);
/* Can jobs get keys from this keyring (key store readable)? For /healthz. */
int bs_job_keys_ready(struct bs_keyring *kr, struct bs_error *err) BS_WUR;
/* Run the signer; records result and timings. On failure nothing is kept in the sink. */
int bs_job_run(struct bs_job *job, struct bs_error *err) BS_WUR;

/* The finished output. Exactly one of data / fd is set (text answers are data). */
struct bs_job_output {
	const uint8_t *data; /* memory: borrowed until bs_job_free */
	size_t len;
	int fd;              /* file/tgz: -1, or a descriptor the caller now owns (rewound) */
	uint64_t size;
	const char *content_type;
	const char *filename;
};
int bs_job_take_output(struct bs_job *job, struct bs_job_output *out,
		       struct bs_error *err) BS_WUR;

/* The job record (for the one-line request log and the audit log). */
struct bs_job_digest {
	char what[BS_JOB_WHAT_MAX];
	char alg[16];       /* "sha256" */
	char hex[129];
};
struct bs_job_record {
	const char *signer;
	const char *subject;
	const char *principal;
	const char *reqid;
	char keys[BS_JOB_KEYS_MAX][BS_JOB_KEY_ID_MAX];
	size_t nkeys;
	const struct bs_job_digest *digests;
	size_t ndigests;
	int result;             /* 0 or BS_ERR_* */
	char reason[BS_ERROR_MSG_MAX];
	uint64_t start_ms;      /* monotonic */
	uint64_t keys_ms;       /* time spent getting keys */
	uint64_t total_ms;
	uint64_t out_bytes;
};
const struct bs_job_record *bs_job_record(const struct bs_job *job);
/* "k1,k2" into out (log-safe), truncated with "..." */
void bs_job_record_keys(const struct bs_job_record *r, char *out, size_t cap);
/* "sha256:<hex>[,...]" of the first n digests (+N more) into out */
void bs_job_record_digests(const struct bs_job_record *r, char *out, size_t cap, size_t n);

/* Removes the scratch directory (and every file in it), wipes and frees. NULL is a no-op. */
void bs_job_free(struct bs_job *job);

#endif
