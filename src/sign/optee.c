/* /sign/optee: OP-TEE Trusted Applications, the digsigserver request unchanged.
 *
 * Fields: machine, artifact (tar.gz of <uuid>.stripped.elf files, each with an optional
 * <uuid>.ta-version), [backend, key-uri]. Key: <machine>/opteesign/optee-signing-key.pem
 * (RSA) or the token key named by key-uri. Answer: the same archive with each image and its
 * version file replaced by <uuid>.ta (formats/optee/ta.h), other members unchanged.
 *
 * The archive is read twice through the hostile tar reader (formats/tar): first for the
 * member names and the small version files, then to copy and sign; nothing is extracted. */
#include <archive_entry.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "formats/optee/ta.h"
#include "formats/optee/ta_set.h"
#include "formats/tar/tar_read.h"
#include "sign/job.h"
#include "sign/keychoice.h"
#include "sign/signer.h"

#define KEY_FILE "opteesign/optee-signing-key.pem"
#define OPTEE_VERSION_FILE_MAX 4096 /* bytes of a .ta-version file */
#define OPTEE_COPY_CHUNK 65536

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true},
	BS_KEYCHOICE_FIELDS,
};

struct scan {
	char **names;        /* normalised member paths; directories end in '/' */
	uint32_t *versions;  /* per member: the parsed .ta-version (version files) */
	struct bs_optee_member *plan;
	size_t n, cap;
};

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->versions);
	free(s->plan);
}

static int input_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	return bs_input_read(ctx, buf, cap, got, err);
}

static int tar_open(struct bs_tar **t, struct bs_input *in, struct bs_error *err)
{
	int rc = bs_input_seek(in, 0, err);
	return rc != 0 ? rc : bs_tar_open(t, input_read, in, NULL, err);
}

/* Record member m (and parse it if it is a version file). */
static int scan_member(struct scan *s, struct bs_tar *t, const struct bs_tar_member *m,
		       struct bs_error *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **nm = realloc(s->names, cap * sizeof(*nm));
		if (nm != NULL)
			s->names = nm;
		uint32_t *v = realloc(s->versions, cap * sizeof(*v));
		if (v != NULL)
			s->versions = v;
		if (nm == NULL || v == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		s->cap = cap;
	}
	size_t l = strlen(m->path), i = s->n;
	s->names[i] = malloc(l + 2);
	if (s->names[i] == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	snprintf(s->names[i], l + 2, "%s%s", m->path, m->type == BS_TAR_DIR ? "/" : "");
	s->versions[i] = 0;
	s->n++;
	size_t sl = strlen(BS_OPTEE_VERSION_SUFFIX);
	if (m->type != BS_TAR_FILE || l < sl ||
	    strcmp(m->path + l - sl, BS_OPTEE_VERSION_SUFFIX) != 0)
		return 0; /* the same test as bs_optee_plan's */
	uint8_t *text = NULL;
	size_t len = 0;
	int rc = bs_tar_slurp(&text, &len, t, OPTEE_VERSION_FILE_MAX, err);
	if (rc == 0) {
		char what[BS_TAR_NAME_MAX + 32];
		snprintf(what, sizeof(what), "artifact: member \"%s\"", m->path);
		rc = bs_optee_version_parse(&s->versions[i], text, len, what, err);
	}
	free(text);
	return rc;
}

/* Pass 1: names, version files, the plan. */
static int scan_archive(struct scan *s, struct bs_input *in, struct bs_error *err)
{
	struct bs_tar *t = NULL;
	int rc = tar_open(&t, in, err);
	const struct bs_tar_member *m = NULL;
	while (rc == 0 && (rc = bs_tar_next(&m, t, err)) == 0 && m != NULL)
		rc = scan_member(s, t, m, err);
	bs_tar_free(t);
	if (rc != 0 && err != NULL && strncmp(err->msg, "artifact", 8) != 0)
		bs_error_prefix(err, "artifact"); /* the tar reader does not know the field */
	if (rc != 0)
		return rc;
	s->plan = calloc(s->n ? s->n : 1, sizeof(*s->plan));
	if (s->plan == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	return bs_optee_plan(s->plan, (const char *const *)s->names, s->n, "artifact", err);
}

static int copy_member(struct bs_sink *sink, struct bs_tar *t, const struct bs_tar_member *m,
		       uint8_t *buf, struct bs_error *err)
{
	int rc = bs_sink_tgz_entry(sink, m->entry, err);
	for (size_t got = 1; rc == 0 && m->type == BS_TAR_FILE && got > 0;) {
		rc = bs_tar_read(t, buf, OPTEE_COPY_CHUNK, &got, err);
		if (rc == 0 && got > 0)
			rc = bs_sink_write(sink, buf, got, err);
	}
	return rc;
}

static int sign_member(struct bs_job *job, struct bs_sink *sink, struct bs_tar *t,
		       const struct bs_tar_member *m, const struct scan *s, size_t i,
		       struct bs_key *key, struct bs_error *err)
{
	const struct bs_optee_member *pm = &s->plan[i];
	uint32_t version = pm->pair != BS_OPTEE_NO_PAIR ? s->versions[pm->pair] : 0;
	char name[BS_TAR_NAME_MAX + 64];
	uint8_t *img = NULL, *hdr = NULL, dg[BS_OPTEE_HASH_LEN];
	struct archive_entry *e = NULL;
	size_t ilen = 0, hlen = 0;
	int rc = bs_optee_ta_name(name, sizeof(name), m->path, pm->uuid, err);
	if (rc == 0)
		rc = bs_tar_slurp(&img, &ilen, t, BS_OPTEE_IMG_MAX, err);
	if (rc == 0)
		rc = bs_optee_ta_sign(&hdr, &hlen, dg, key, pm->uuid, version, img, ilen, err);
	/* the image's entry (mode, mtime, owner) under the .ta name and size */
	if (rc == 0 && (e = archive_entry_clone(m->entry)) == NULL)
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		archive_entry_set_pathname(e, name);
		archive_entry_set_size(e, (la_int64_t)(hlen + ilen));
		rc = bs_sink_tgz_entry(sink, e, err);
	}
	if (rc == 0)
		rc = bs_sink_write(sink, hdr, hlen, err);
	if (rc == 0 && ilen > 0)
		rc = bs_sink_write(sink, img, ilen, err);
	if (rc == 0)
		rc = bs_job_note_digest(job, name, NID_sha256, dg, sizeof(dg), err);
	if (rc == 0)
		bs_job_log(job, "signed %s -> %s (version %u, %zu bytes)", m->path, name,
			   version, ilen);
	archive_entry_free(e);
	free(hdr);
	free(img);
	return rc;
}

/* Pass 2: copy other members, sign images, drop version files. */
static int write_archive(struct bs_job *job, struct bs_input *in, const struct scan *s,
			 struct bs_key *key, struct bs_error *err)
{
	struct bs_sink *sink = NULL;
	struct bs_tar *t = NULL;
	uint8_t *buf = malloc(OPTEE_COPY_CHUNK);
	int rc = buf ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = bs_job_output_tgz(&sink, job, "signed-artifact.tar.gz", err);
	if (rc == 0)
		rc = tar_open(&t, in, err);
	const struct bs_tar_member *m = NULL;
	size_t i = 0;
	while (rc == 0 && (rc = bs_tar_next(&m, t, err)) == 0 && m != NULL) {
		if (i >= s->n) {
			rc = bs_error_set(err, BS_ERR_INTERNAL, "artifact changed while signing");
			break;
		}
		if (s->plan[i].role == BS_OPTEE_OTHER)
			rc = copy_member(sink, t, m, buf, err);
		else if (s->plan[i].role == BS_OPTEE_IMAGE)
			rc = sign_member(job, sink, t, m, s, i, key, err);
		if (rc == 0)
			rc = bs_job_check_deadline(job, err);
		i++;
	}
	if (rc == 0 && i != s->n)
		rc = bs_error_set(err, BS_ERR_INTERNAL, "artifact changed while signing");
	bs_tar_free(t);
	free(buf);
	return rc;
}

static int optee_sign(struct bs_job *job, struct bs_error *err)
{
	struct bs_input *in = bs_job_input(job, "artifact");
	if (in == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "artifact: missing");
	struct scan s = {0};
	struct bs_key *key = NULL;
	char kname[BS_KEYCHOICE_NAME_MAX];
	bool token = false;
	int rc = scan_archive(&s, in, err);
	if (rc == 0)
		rc = bs_keychoice(kname, sizeof(kname), &token, job, KEY_FILE, err);
	if (rc == 0)
		rc = bs_job_key(&key, job, kname, NULL, err);
	if (rc == 0)
		rc = write_archive(job, in, &s, key, err);
	bs_key_free(key);
	scan_free(&s);
	return rc;
}

const struct bs_signer bs_signer_optee = {
	.name = "optee",
	.summary = "OP-TEE Trusted Applications (tar.gz of <uuid>.stripped.elf), signed .ta",
	.subject_field = "machine",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = optee_sign,
};
