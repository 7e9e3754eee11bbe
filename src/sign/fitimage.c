/* /sign/fitimage: U-Boot FIT verified boot, digsigserver's request, natively (no mkimage).
 *
 * Fields: artifact (a FIT), [dtb] (U-Boot's control DTB), [keyname] (default dev; with
 * backend=pkcs11 a pkcs11: URI, the "pkcs11:" prefix optional as mkimage takes it),
 * [algo] (mkimage -o), [external_data_offset] (-p: checked; like mkimage -F without -E it
 * moves nothing), [mark_required] (-r), [comment] (-c), [machine] (default imx),
 * [backend]. Every signature node is signed with the key its key-name-hint names:
 * <machine>/fitimagesign/<hint>.key (+ .crt when present, which must match), or on the
 * token the URI's object (or object=<hint> when the URI names none). Answer: the signed
 * FIT ("artifact.signed"), or with a dtb a tar.gz (signed-artifact.tar.gz) holding
 * fitImage and the DTB with the public keys added, under the name it was sent with. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "formats/fit/fit.h"
#include "sign/job.h"
#include "sign/signer.h"

static const char *const g_backends[] = {"ssl", "pkcs11", NULL};

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .check = BS_CHECK_NAME, .default_value = "imx"},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true,
	 .help = "the FIT image"},
	{.name = "dtb", .store = BS_FIELD_SPOOL, .file_upload = true, .max = BS_FIT_DTB_MAX,
	 .help = "U-Boot control DTB to receive the public keys"},
	{.name = "keyname", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .max = BS_FIT_KEYNAME_MAX, .default_value = "dev"},
	{.name = "algo", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN, .max = BS_FIT_ALGO_MAX},
	{.name = "external_data_offset", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .max = BS_FIT_OFFSET_FIELD_MAX},
	{.name = "mark_required", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .max = BS_FIT_BOOL_FIELD_MAX},
	{.name = "comment", .store = BS_FIELD_MEM, .check = BS_CHECK_TEXT,
	 .max = BS_FIT_COMMENT_MAX},
	{.name = "backend", .store = BS_FIELD_MEM, .check = BS_CHECK_TOKEN,
	 .choices = g_backends, .default_value = "ssl"},
};

struct fit_keys {
	struct bs_job *job;
	char uri[BS_FIT_KEYNAME_MAX + 8]; /* backend=pkcs11: the token URI, else "" */
};

static int get_key(void *ctx, const char *hint, struct bs_key **out, struct bs_error *err)
{
	struct fit_keys *k = ctx;
	char name[BS_FIT_KEYNAME_MAX + BS_FIT_NAME_MAX + 32];
	X509 *cert = NULL;
	int rc = 0;
	if (k->uri[0] != '\0') {
		bool named = strstr(k->uri, "object=") != NULL;
		snprintf(name, sizeof(name), "%s%s%s", k->uri, named ? "" : ";object=",
			 named ? "" : hint);
		return bs_job_key(out, k->job, name, NULL, err);
	}
	snprintf(name, sizeof(name), "fitimagesign/%s.crt", hint);
	if (bs_job_key_exists(k->job, name))
		rc = bs_job_cert(&cert, k->job, name, err);
	snprintf(name, sizeof(name), "fitimagesign/%s.key", hint);
	if (rc == 0)
		rc = bs_job_key(out, k->job, name, cert, err);
	X509_free(cert);
	if (rc == BS_ERR_NOT_FOUND) /* the FIT names a key the store lacks: the client's */
		rc = bs_error_recode(err, BS_ERR_INVALID);
	if (rc != 0)
		bs_error_prefix(err, "key-name-hint '%s'", hint);
	return rc;
}

static int note(void *ctx, const char *what, int md_nid, const uint8_t *d, size_t len,
		struct bs_error *err)
{
	return bs_job_note_digest(((struct fit_keys *)ctx)->job, what, md_nid, d, len, err);
}

static int parse_bool(bool *out, const char *field, const char *v, struct bs_error *err)
{
	static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false",
										   "no", "off"};
	for (size_t i = 0; i < BS_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*out = strcasecmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return bs_error_set(err, BS_ERR_INVALID, "%s: '%.16s' is not a boolean (1/0, true/false, "
			    "yes/no)", field, v);
}

/* mkimage -p: a hex offset (strtoull base 16, whole string). */
static int check_offset(const char *v, struct bs_error *err)
{
	char *end = NULL;
	unsigned long long off = strtoull(v, &end, 16);
	if (v[0] == '\0' || v[0] == '-' || *end != '\0' || off > UINT32_MAX)
		return bs_error_set(err, BS_ERR_INVALID, "external_data_offset: '%.20s' is not a "
				    "hexadecimal offset below 2^32", v);
	return 0;
}

/* A whole input in a buffer with `room` spare bytes after it. */
static int read_input(struct bs_fit_blob *b, struct bs_input *in, size_t max, size_t room,
		      struct bs_error *err)
{
	uint64_t size = bs_input_size(in);
	if (size > max)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: %llu bytes (at most %zu)",
				    bs_input_field(in), (unsigned long long)size, max);
	b->len = (size_t)size;
	b->cap = b->len + room;
	b->data = malloc(b->cap);
	if (b->data == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "%s: out of memory", bs_input_field(in));
	return bs_input_pread(in, b->data, b->len, 0, err);
}

/* The DTB's name in the tar.gz: its upload name when it is a plain file name. */
static const char *dtb_name(struct bs_job *job)
{
	const char *n = bs_job_filename(job, "dtb");
	bool ok = n != NULL && n[0] != '\0' && n[0] != '.' && strlen(n) <= BS_NAME_MAX &&
		  strcmp(n, "fitImage") != 0;
	for (const char *p = n; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("._+-", *p) != NULL;
	return ok ? n : "u-boot.dtb";
}

static int write_output(struct bs_job *job, struct bs_fit_blob *fit, struct bs_fit_blob *dtb,
			struct bs_error *err)
{
	struct bs_sink *sink = NULL;
	int rc;
	if (dtb == NULL) {
		rc = bs_job_output_file(&sink, job, "application/octet-stream", "artifact.signed",
					err);
		return rc != 0 ? rc : bs_sink_write(sink, fit->data, fit->len, err);
	}
	time_t t = bs_job_signing_time(job);
	t = t != 0 ? t : time(NULL);
	/* stored, not deflated: FIT payloads are compressed already (Image.gz, cpio.xz) and
	 * deflating 64 MiB of them takes seconds for nothing */
	rc = bs_job_output_tgz_level(&sink, job, "signed-artifact.tar.gz", 0, err);
	if (rc == 0)
		rc = bs_sink_tgz_file(sink, "fitImage", 0644, t, fit->data, fit->len, err);
	if (rc == 0)
		rc = bs_sink_tgz_file(sink, dtb_name(job), 0644, t, dtb->data, dtb->len, err);
	return rc;
}

static int fitimage_sign(struct bs_job *job, struct bs_error *err)
{
	struct fit_keys k = {.job = job};
	struct bs_fit_blob fit = {0}, dtb = {0};
	struct bs_fit_opts o = {.timestamp = bs_job_signing_time(job)};
	const char *keyname = bs_job_value(job, "keyname");
	bool pkcs11 = strcmp(bs_job_value(job, "backend"), "pkcs11") == 0;
	int rc = 0;

	if (bs_job_has(job, "mark_required"))
		rc = parse_bool(&o.require, "mark_required", bs_job_value(job, "mark_required"), err);
	if (rc == 0 && bs_job_has(job, "external_data_offset"))
		rc = check_offset(bs_job_value(job, "external_data_offset"), err);
	if (rc == 0 && bs_job_has(job, "algo")) {
		o.algo = bs_job_value(job, "algo");
		if (!bs_fit_algo_known(o.algo))
			rc = bs_error_set(err, BS_ERR_INVALID, "algo: '%s' is not a FIT signature "
					  "algorithm U-Boot knows (e.g. sha256,rsa2048)", o.algo);
	}
	if (bs_job_has(job, "comment"))
		o.comment = bs_job_value(job, "comment");
	if (rc == 0 && pkcs11) {
		bs_job_allow_token(job, true);
		snprintf(k.uri, sizeof(k.uri), "%s%s", strncmp(keyname, "pkcs11:", 7) ? "pkcs11:" : "",
			 keyname);
	} else if (rc == 0 && strncmp(keyname, "pkcs11:", 7) == 0) {
		rc = bs_error_set(err, BS_ERR_INVALID, "keyname: a pkcs11: URI needs backend=pkcs11");
	} else if (rc == 0 && !bs_fit_key_name_ok(keyname)) {
		rc = bs_error_set(err, BS_ERR_INVALID, "keyname: '%.64s' is not a key name "
				  "([A-Za-z0-9._+-], at most %d bytes)", keyname, BS_FIT_NAME_MAX);
	} else if (rc == 0) {
		struct bs_key *key = NULL; /* the named key must exist, as digsigserver checks */
		rc = get_key(&k, keyname, &key, err);
		bs_key_free(key);
	}
	if (rc == 0)
		rc = read_input(&fit, bs_job_input(job, "artifact"), BS_FIT_SIZE_MAX, BS_FIT_SLACK,
				err);
	struct bs_input *din = bs_job_input(job, "dtb");
	if (rc == 0 && din != NULL)
		rc = read_input(&dtb, din, BS_FIT_DTB_MAX, BS_FIT_GROW_MAX, err);
	if (rc == 0) {
		struct bs_fit_keys keys = {.get = get_key, .note = note, .ctx = &k};
		rc = bs_fit_sign(&fit, din ? &dtb : NULL, &o, &keys, err);
	}
	if (rc == 0)
		rc = write_output(job, &fit, din ? &dtb : NULL, err);
	bs_fit_blob_free(&fit);
	bs_fit_blob_free(&dtb);
	return rc;
}

const struct bs_signer bs_signer_fitimage = {
	.name = "fitimage",
	.summary = "U-Boot FIT verified boot: signed FIT (+ control DTB with the public keys)",
	.subject_field = "machine",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = fitimage_sign,
};
