/* /sign/mender: Mender artifacts (format v3), the digsigserver request and more.
 *
 * Fields: distro, and either artifact-uri (a file:// URI inside the server's
 * mender_artifact_root: the artifact is signed in place and the answer is the text
 * "Signing successful", as digsigserver answers) or artifact (an uploaded artifact: the
 * answer is the signed artifact, nothing is kept on the server); [backend, key-uri].
 * Key: <distro>/mender/private.key (RSA or ECDSA P-256, PEM) or the token key named by
 * key-uri. The byte-level work (manifest.sig after the manifest, members copied and
 * checked) is formats/mender/artifact.h; the confined, atomic file handling is
 * sign/artifact_file.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/obj_mac.h>

#include "core/util.h"
#include "formats/mender/artifact.h"
#include "sign/artifact_file.h"
#include "sign/job.h"
#include "sign/keychoice.h"
#include "sign/signer.h"

#define KEY_FILE "mender/private.key"
#define URI_FIELD "artifact-uri"
#define UPLOAD_FIELD "artifact"
#define DEFAULT_NAME "artifact.mender"
#define ANSWER_TEXT "Signing successful"

static const struct bs_field_spec g_fields[] = {
	{.name = "distro", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = URI_FIELD, .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN, .max = BS_PATH_MAX,
	 .help = "file:// URI of an artifact inside the server's mender_artifact_root"},
	{.name = UPLOAD_FIELD, .store = BS_FIELD_SPOOL, .file_upload = true,
	 .help = "the artifact itself (instead of artifact-uri): the answer is the signed one"},
	BS_KEYCHOICE_FIELDS,
};

/* ---- where the artifact comes from and goes to ------------------------------------- */

static int input_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	return bs_input_read(ctx, buf, cap, got, err);
}

static int fd_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	const struct bs_artifact_file *af = ctx;
	ssize_t r;
	do
		r = read(bs_artifact_file_fd(af), buf, cap);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return bs_error_set(err, BS_ERR_IO, "reading %s: %s", bs_artifact_file_name(af),
				    strerror(errno));
	*got = (size_t)r;
	return 0;
}

struct out {
	struct bs_job *job;
	struct bs_sink *sink;           /* upload: the answer */
	struct bs_artifact_file *file;  /* artifact-uri: the file replaced */
};

static int out_write(void *ctx, const void *buf, size_t n, struct bs_error *err)
{
	struct out *o = ctx;
	int rc = bs_job_check_deadline(o->job, err);
	if (rc != 0)
		return rc;
	return o->sink != NULL ? bs_sink_write(o->sink, buf, n, err)
			       : bs_artifact_file_write(o->file, buf, n, err);
}

/* ---- signing -------------------------------------------------------------------------- */

static int get_key(struct bs_key **out, struct bs_job *job, struct bs_error *err)
{
	char kname[BS_KEYCHOICE_NAME_MAX];
	bool token = false;
	int rc = bs_keychoice(kname, sizeof(kname), &token, job, KEY_FILE, err);
	return rc != 0 ? rc : bs_job_key(out, job, kname, NULL, err);
}

static int resign(struct bs_job *job, bs_tar_read_fn read, void *rctx, struct out *o,
		  const char *what, struct bs_error *err)
{
	struct bs_key *key = NULL;
	uint8_t dg[BS_MENDER_DIGEST_LEN];
	int rc = get_key(&key, job, err);
	if (rc == 0) {
		rc = bs_mender_resign(dg, read, rctx, NULL, out_write, o, key, err);
		if (rc != 0 && err != NULL && strncmp(err->msg, what, strlen(what)) != 0)
			bs_error_prefix(err, "%s", what); /* the format code does not know it */
	}
	if (rc == 0)
		rc = bs_job_note_digest(job, "manifest", NID_sha256, dg, sizeof(dg), err);
	bs_key_free(key);
	return rc;
}

/* artifact-uri: sign the server-side file in place. */
static int sign_uri(struct bs_job *job, const char *uri, struct bs_error *err)
{
	struct out o = {.job = job};
	int rc = bs_artifact_file_open(&o.file, bs_job_artifact_root(job), uri, URI_FIELD, err);
	if (rc == 0)
		rc = resign(job, fd_read, o.file, &o, URI_FIELD, err);
	if (rc == 0)
		rc = bs_artifact_file_commit(o.file, err);
	if (rc == 0) {
		bs_job_log(job, "signed %s in place", bs_artifact_file_name(o.file));
		rc = bs_job_output_text(job, ANSWER_TEXT, err);
	}
	bs_artifact_file_free(o.file); /* an uncommitted new file is removed */
	return rc;
}

/* artifact: answer with the signed artifact. */
static int sign_upload(struct bs_job *job, struct bs_input *in, struct bs_error *err)
{
	struct out o = {.job = job};
	const char *name = bs_input_name(in);
	if (bs_sign_check_name(UPLOAD_FIELD, name, NULL) != 0)
		name = DEFAULT_NAME; /* the client's name only when it is a plain file name */
	int rc = bs_input_seek(in, 0, err);
	if (rc == 0)
		rc = bs_job_output_file(&o.sink, job, "application/octet-stream", name, err);
	if (rc == 0)
		rc = resign(job, input_read, in, &o, UPLOAD_FIELD, err);
	return rc;
}

static int mender_sign(struct bs_job *job, struct bs_error *err)
{
	const char *uri = bs_job_value(job, URI_FIELD);
	struct bs_input *in = bs_job_input(job, UPLOAD_FIELD);
	if ((uri == NULL) == (in == NULL))
		return bs_error_set(err, BS_ERR_INVALID,
				    "send either %s (a file:// URI) or %s (the artifact itself)",
				    URI_FIELD, UPLOAD_FIELD);
	return uri != NULL ? sign_uri(job, uri, err) : sign_upload(job, in, err);
}

const struct bs_signer bs_signer_mender = {
	.name = "mender",
	.summary = "Mender artifacts (v3): manifest.sig, in place (artifact-uri) or uploaded",
	.subject_field = "distro",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = mender_sign,
};
