/* Unit tests for the signing job (sign/job.h) and the keyring's load-by-name, driven with
 * a test signer: scratch directory removed on every path, outputs (memory, file, tar.gz
 * read back with libarchive), inputs identical over memory and file, key names confined
 * to the subject's store, the record, the tool runner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "keys/keyring.h"
#include "sign/job.h"
#include "sign/signer.h"
#include "testutil.h"

/* What the test signer does this time. */
enum step {
	STEP_MEMORY,        /* answer "sig" in memory */
	STEP_FILE,          /* answer the artifact copied into a file output */
	STEP_TGZ,           /* a tar.gz with a directory and two files */
	STEP_FAIL_SCRATCH,  /* write files into scratch, then fail */
	STEP_FAIL_OUTPUT,   /* start a file output, then fail */
	STEP_NO_OUTPUT,     /* succeed without an output */
	STEP_SLOW,          /* outlive the deadline */
	STEP_EXEC,          /* run a tool in scratch */
};
static enum step g_step;
static char g_scratch[4096]; /* the scratch directory the signer saw */

static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true},
};

static int note_scratch(struct bs_job *job, struct bs_error *err)
{
	const char *dir = NULL;
	int rc = bs_job_scratch(&dir, job, err);
	if (rc == 0)
		snprintf(g_scratch, sizeof(g_scratch), "%s", dir);
	return rc;
}

static int test_sign(struct bs_job *job, struct bs_error *err)
{
	struct bs_sink *s = NULL;
	struct bs_input *in = bs_job_input(job, "artifact");
	uint8_t d[32] = {1, 2, 3};
	int rc = bs_job_note_digest(job, "artifact", NID_sha256, d, sizeof(d), err);
	if (rc != 0)
		return rc;
	bs_job_note_key(job, "test/key one");
	switch (g_step) {
	case STEP_MEMORY:
		rc = bs_job_output_memory(&s, job, NULL, "x.sig", err);
		return rc ? rc : bs_sink_write(s, "sig", 3, err);
	case STEP_FILE:
		if ((rc = note_scratch(job, err)) != 0 ||
		    (rc = bs_job_output_file(&s, job, NULL, "out.bin", err)) != 0 ||
		    (rc = bs_sink_copy_input(s, in, err)) != 0)
			return rc;
		return bs_sink_pwrite(s, "X", 1, 0, err); /* patch the first byte */
	case STEP_TGZ: {
		if ((rc = note_scratch(job, err)) != 0 ||
		    (rc = bs_job_output_tgz(&s, job, "out.tar.gz", err)) != 0)
			return rc;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, "dir");
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0750);
		rc = bs_sink_tgz_entry(s, e, err);
		archive_entry_free(e);
		if (rc == 0)
			rc = bs_sink_tgz_file(s, "dir/a.ko", 0640, 1000, "module", 6, err);
		if (rc == 0)
			rc = bs_sink_tgz_file(s, "b.txt", 0644, 2000, "", 0, err);
		return rc;
	}
	case STEP_FAIL_SCRATCH: {
		if ((rc = note_scratch(job, err)) != 0)
			return rc;
		char p[4200];
		snprintf(p, sizeof(p), "%s/sub", g_scratch);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/sub/leftover", g_scratch);
		bs_write(p, "x", 1);
		return bs_error_set(err, BS_ERR_FORMAT, "member 'x': broken");
	}
	case STEP_FAIL_OUTPUT:
		if ((rc = note_scratch(job, err)) != 0 ||
		    (rc = bs_job_output_file(&s, job, NULL, "out.bin", err)) != 0 ||
		    (rc = bs_sink_write(s, "partial", 7, err)) != 0)
			return rc;
		return bs_error_set(err, BS_ERR_KEY, "key broke half way");
	case STEP_NO_OUTPUT:
		return 0;
	case STEP_SLOW:
		if ((rc = note_scratch(job, err)) != 0 ||
		    (rc = bs_job_output_memory(&s, job, NULL, NULL, err)) != 0)
			return rc;
		usleep(300 * 1000);
		return bs_sink_write(s, "late", 4, err);
	case STEP_EXEC: {
		if ((rc = note_scratch(job, err)) != 0)
			return rc;
		const char *argv[] = {"pwd", NULL};
		if ((rc = bs_job_exec(job, argv, "pwd.txt", err)) != 0)
			return rc;
		rc = bs_job_output_memory(&s, job, NULL, NULL, err);
		char p[4200];
		snprintf(p, sizeof(p), "%s/pwd.txt", g_scratch);
		uint8_t *data = NULL;
		size_t len = 0;
		if (rc == 0)
			rc = bs_read_file(&data, &len, p, 4096, err);
		if (rc == 0)
			rc = bs_sink_write(s, data, len, err);
		free(data);
		return rc;
	}
	}
	return BS_ERR_INTERNAL;
}

static const struct bs_signer g_signer = {
	.name = "test",
	.summary = "test signer",
	.subject_field = "machine",
	.fields = g_fields,
	.nfields = BS_ARRAY_SIZE(g_fields),
	.sign = test_sign,
};

struct fx {
	char *dir;          /* scratch parent + key root + inputs */
	char keys[4200];
	char art[4200];
	struct bs_keyring *kr;
	struct bs_form form;
	uint8_t data[100];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = bs_tmpdir();
	snprintf(fx->keys, sizeof(fx->keys), "%s/keys", fx->dir);
	snprintf(fx->art, sizeof(fx->art), "%s/art.bin", fx->dir);
	for (size_t i = 0; i < sizeof(fx->data); i++)
		fx->data[i] = (uint8_t)(i * 7 + 1);
	bs_write(fx->art, fx->data, sizeof(fx->data));
	mkdir(fx->keys, 0700);
	struct bs_keyring_opts ko = {.root = fx->keys};
	assert_int_equal(bs_keyring_new(&fx->kr, &ko, NULL), 0);
	fx->form.n = 2;
	fx->form.f[0] = (struct bs_form_field){.spec = &g_fields[0], .present = true,
					       .value = (char *)"m1", .len = 2};
	fx->form.f[1] = (struct bs_form_field){.spec = &g_fields[1], .present = true,
					       .filename = (char *)"art.bin", .path = fx->art,
					       .size = sizeof(fx->data)};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	bs_keyring_free(fx->kr);
	bs_tmpdir_free(fx->dir);
	free(fx);
	return 0;
}

/* Entries directly in dir other than keys/ and art.bin (scratch leftovers). */
static int leftovers(const struct fx *fx)
{
	DIR *d = opendir(fx->dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "keys") && strcmp(e->d_name, "art.bin"))
			n++;
	closedir(d);
	return n;
}

static int run(struct fx *fx, enum step step, uint64_t timeout_ms, struct bs_job **out,
	       struct bs_error *err)
{
	g_step = step;
	g_scratch[0] = '\0';
	const struct bs_job_opts o = {.signer = &g_signer, .form = &fx->form,
				      .keyring = fx->kr, .reqid = "r1",
				      .scratch_parent = fx->dir, .timeout_ms = timeout_ms};
	int rc = bs_job_new(out, &o, err);
	if (rc == 0)
		rc = bs_job_run(*out, err);
	return rc;
}

static void test_sign_job__memory_output_and_record(void **state)
{
	struct fx *fx = *state;
	struct bs_job *job = NULL;
	struct bs_error err = {0};
	assert_int_equal(run(fx, STEP_MEMORY, 0, &job, &err), 0);
	struct bs_job_output o;
	assert_int_equal(bs_job_take_output(job, &o, &err), 0);
	assert_int_equal(o.fd, -1);
	assert_int_equal(o.len, 3);
	assert_memory_equal(o.data, "sig", 3);
	assert_string_equal(o.filename, "x.sig");
	assert_string_equal(o.content_type, "application/octet-stream");
	const struct bs_job_record *r = bs_job_record(job);
	assert_string_equal(r->signer, "test");
	assert_string_equal(r->subject, "m1");
	assert_string_equal(r->principal, "anonymous");
	assert_int_equal(r->result, 0);
	assert_int_equal(r->ndigests, 1);
	assert_string_equal(r->digests[0].alg, "sha256");
	assert_string_equal(r->digests[0].what, "artifact");
	assert_int_equal(strncmp(r->digests[0].hex, "010203000000", 12), 0);
	char keys[64];
	bs_job_record_keys(r, keys, sizeof(keys));
	assert_string_equal(keys, "test/key_one"); /* log-safe */
	bs_job_free(job);
	assert_int_equal(leftovers(fx), 0);
}

static void test_sign_job__file_output_sent_from_fd_after_scratch_is_gone(void **state)
{
	struct fx *fx = *state;
	struct bs_job *job = NULL;
	struct bs_error err = {0};
	assert_int_equal(run(fx, STEP_FILE, 0, &job, &err), 0);
	struct stat st;
	assert_int_equal(stat(g_scratch, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	struct bs_job_output o;
	assert_int_equal(bs_job_take_output(job, &o, &err), 0);
	assert_true(o.fd >= 0);
	assert_int_equal(o.size, sizeof(fx->data));
	bs_job_free(job);
	assert_int_not_equal(stat(g_scratch, &st), 0); /* scratch removed */
	uint8_t got[200];
	assert_int_equal(read(o.fd, got, sizeof(got)), sizeof(fx->data));
	close(o.fd);
	assert_int_equal(got[0], 'X');
	assert_memory_equal(got + 1, fx->data + 1, sizeof(fx->data) - 1);
	assert_int_equal(leftovers(fx), 0);
}

static void test_sign_job__tgz_output_reads_back_with_libarchive(void **state)
{
	struct fx *fx = *state;
	struct bs_job *job = NULL;
	struct bs_error err = {0};
	assert_int_equal(run(fx, STEP_TGZ, 0, &job, &err), 0);
	struct bs_job_output o;
	assert_int_equal(bs_job_take_output(job, &o, &err), 0);
	assert_string_equal(o.content_type, "application/gzip");
	bs_job_free(job);
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, o.fd, 4096), ARCHIVE_OK);
	assert_int_equal(archive_filter_code(a, 0), ARCHIVE_FILTER_GZIP);
	struct archive_entry *e;
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(e), "dir/"); /* tar writes dirs with a slash */
	assert_int_equal(archive_entry_filetype(e), AE_IFDIR);
	assert_int_equal(archive_entry_perm(e), 0750);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(e), "dir/a.ko");
	assert_int_equal(archive_entry_perm(e), 0640);
	assert_int_equal(archive_entry_mtime(e), 1000);
	char buf[16];
	assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "module", 6);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(e), "b.txt");
	assert_int_equal(archive_entry_size(e), 0);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
	archive_read_free(a);
	close(o.fd);
	assert_int_equal(leftovers(fx), 0);
}

static void test_sign_job__scratch_removed_on_every_failure(void **state)
{
	struct fx *fx = *state;
	static const struct {
		enum step step;
		int code;
		const char *msg;
	} cases[] = {
		{STEP_FAIL_SCRATCH, BS_ERR_FORMAT, "member 'x'"},
		{STEP_FAIL_OUTPUT, BS_ERR_KEY, "half way"},
		{STEP_NO_OUTPUT, BS_ERR_INTERNAL, "produced no output"},
		{STEP_SLOW, BS_ERR_TIMEOUT, "longer than the server allows"},
	};
	for (size_t i = 0; i < BS_ARRAY_SIZE(cases); i++) {
		struct bs_job *job = NULL;
		struct bs_error err = {0};
		assert_int_equal(run(fx, cases[i].step, 100, &job, &err), cases[i].code);
		assert_non_null(strstr(err.msg, cases[i].msg));
		struct bs_job_output o;
		assert_int_equal(bs_job_take_output(job, &o, NULL), BS_ERR_INTERNAL);
		const struct bs_job_record *r = bs_job_record(job);
		assert_int_equal(r->result, cases[i].code);
		assert_non_null(strstr(r->reason, cases[i].msg));
		bs_job_free(job);
		struct stat st;
		if (g_scratch[0] != '\0')
			assert_int_not_equal(stat(g_scratch, &st), 0);
		assert_int_equal(leftovers(fx), 0);
	}
}

/* The same bytes through every reader call, kept in memory or in a file. */
static void test_sign_job__inputs_same_over_memory_and_file(void **state)
{
	struct fx *fx = *state;
	for (int mem = 0; mem < 2; mem++) {
		fx->form.f[1].path = mem ? NULL : fx->art;
		fx->form.f[1].data = mem ? fx->data : NULL;
		struct bs_job *job = NULL;
		struct bs_error err = {0};
		g_step = STEP_MEMORY;
		const struct bs_job_opts o = {.signer = &g_signer, .form = &fx->form,
					      .keyring = fx->kr, .reqid = "r"};
		assert_int_equal(bs_job_new(&job, &o, &err), 0);
		struct bs_input *in = bs_job_input(job, "artifact");
		assert_non_null(in);
		assert_null(bs_job_input(job, "machine"));
		assert_string_equal(bs_input_name(in), "art.bin");
		assert_string_equal(bs_input_field(in), "artifact");
		assert_true(bs_input_is_file_part(in));
		assert_int_equal(bs_input_size(in), 100);
		uint8_t buf[64];
		size_t got = 0;
		assert_int_equal(bs_input_read(in, buf, 60, &got, &err), 0);
		assert_int_equal(got, 60);
		assert_memory_equal(buf, fx->data, 60);
		assert_int_equal(bs_input_read(in, buf, 64, &got, &err), 0);
		assert_int_equal(got, 40);
		assert_memory_equal(buf, fx->data + 60, 40);
		assert_int_equal(bs_input_read(in, buf, 64, &got, &err), 0);
		assert_int_equal(got, 0);
		assert_int_equal(bs_input_seek(in, 99, &err), 0);
		assert_int_equal(bs_input_read(in, buf, 64, &got, &err), 0);
		assert_int_equal(got, 1);
		assert_int_equal(bs_input_seek(in, 101, &err), BS_ERR_FORMAT);
		assert_int_equal(bs_input_pread(in, buf, 10, 90, &err), 0);
		assert_memory_equal(buf, fx->data + 90, 10);
		assert_int_equal(bs_input_pread(in, buf, 11, 90, &err), BS_ERR_FORMAT);
		assert_non_null(strstr(err.msg, "art.bin"));
		uint8_t *all = NULL;
		size_t len = 0;
		assert_int_equal(bs_input_slurp(&all, &len, in, 100, &err), 0);
		assert_int_equal(len, 100);
		assert_memory_equal(all, fx->data, 100);
		free(all);
		assert_int_equal(bs_input_slurp(&all, &len, in, 99, &err), BS_ERR_LIMIT);
		assert_null(all);
		FILE *f = NULL;
		assert_int_equal(bs_input_fopen(&f, in, &err), 0);
		assert_int_equal(fread(buf, 1, 64, f), 64);
		assert_memory_equal(buf, fx->data, 64);
		fclose(f);
		bs_job_free(job);
	}
}

static void make_key(const char *path)
{
	const char *argv[] = {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
			      "ec_paramgen_curve:P-256", "-out", path, NULL};
	bs_test_run_ok(argv);
}

/* Keys by name stay inside <root>/<subject>: "..", absolute names and symlinks out are
 * refused; a missing key names its store path relative to the key root. */
static void test_sign_job__key_names_confined_to_subject(void **state)
{
	struct fx *fx = *state;
	char p[4400], q[4400];
	snprintf(p, sizeof(p), "%s/m1/kmodsign", fx->keys);
	const char *mk[] = {"mkdir", "-p", p, NULL};
	bs_test_run_ok(mk);
	snprintf(p, sizeof(p), "%s/m1/kmodsign/k.pem", fx->keys);
	make_key(p);
	snprintf(p, sizeof(p), "%s/m2", fx->keys);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/m2/other.pem", fx->keys);
	make_key(p);
	snprintf(p, sizeof(p), "%s/outside.pem", fx->dir);
	make_key(p);
	snprintf(q, sizeof(q), "%s/m1/kmodsign/link.pem", fx->keys);
	assert_int_equal(symlink(p, q), 0);

	struct bs_job *job = NULL;
	struct bs_error err = {0};
	g_step = STEP_MEMORY;
	const struct bs_job_opts o = {.signer = &g_signer, .form = &fx->form, .keyring = fx->kr,
				      .reqid = "r"};
	assert_int_equal(bs_job_new(&job, &o, &err), 0);
	struct bs_key *k = NULL;
	assert_int_equal(bs_job_key(&k, job, "kmodsign/k.pem", NULL, &err), 0);
	assert_non_null(k);
	bs_key_free(k);
	assert_true(bs_job_key_exists(job, "kmodsign/k.pem"));
	assert_false(bs_job_key_exists(job, "../m2/other.pem"));
	assert_int_equal(bs_job_key(&k, job, "../m2/other.pem", NULL, &err), BS_ERR_PATH);
	assert_null(k);
	assert_int_equal(bs_job_key(&k, job, p, NULL, &err), BS_ERR_PATH); /* absolute */
	assert_int_equal(bs_job_key(&k, job, "kmodsign/link.pem", NULL, &err), BS_ERR_PATH);
	assert_int_equal(bs_job_key(&k, job, "kmodsign/none.pem", NULL, &err), BS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'m1/kmodsign/none.pem'"));
	/* a pkcs11: URI needs backend=pkcs11 (the signer's allow_token) */
	assert_int_equal(bs_job_key(&k, job, "pkcs11:object=x;type=private", NULL, &err),
			 BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "backend=pkcs11"));
	X509 *c = NULL;
	assert_int_equal(bs_job_cert(&c, job, "kmodsign/none.crt", &err), BS_ERR_NOT_FOUND);
	char keys[128];
	bs_job_record_keys(bs_job_record(job), keys, sizeof(keys));
	assert_string_equal(keys, "kmodsign/k.pem");
	bs_job_free(job);
}

/* The policy hook (bs_job_opts.authorize_key) is asked for every key by its id; a
 * refused key never reaches the signer and is still recorded. */
static int g_asked;
static int deny_all_but_k(void *ctx, const char *key_id, struct bs_error *err)
{
	(void)ctx;
	g_asked++;
	if (strcmp(key_id, "kmodsign/k.pem") == 0)
		return 0;
	return bs_error_set(err, BS_ERR_DENIED, "denied %s", key_id);
}

static void test_sign_job__policy_hook_sees_every_key(void **state)
{
	struct fx *fx = *state;
	char p[4400];
	snprintf(p, sizeof(p), "%s/m1/kmodsign", fx->keys);
	const char *mk[] = {"mkdir", "-p", p, NULL};
	bs_test_run_ok(mk);
	snprintf(p, sizeof(p), "%s/m1/kmodsign/k.pem", fx->keys);
	make_key(p);
	snprintf(p, sizeof(p), "%s/m1/kmodsign/other.pem", fx->keys);
	make_key(p);
	struct bs_job *job = NULL;
	struct bs_error err = {0};
	const struct bs_job_opts o = {.signer = &g_signer, .form = &fx->form, .keyring = fx->kr,
				      .reqid = "r", .authorize_key = deny_all_but_k};
	g_asked = 0;
	assert_int_equal(bs_job_new(&job, &o, &err), 0);
	struct bs_key *k = NULL;
	assert_int_equal(bs_job_key(&k, job, "kmodsign/k.pem", NULL, &err), 0);
	bs_key_free(k);
	assert_int_equal(bs_job_key(&k, job, "kmodsign/other.pem", NULL, &err), BS_ERR_DENIED);
	assert_null(k);
	assert_string_equal(err.msg, "denied kmodsign/other.pem");
	assert_int_equal(g_asked, 2);
	char keys[128];
	bs_job_record_keys(bs_job_record(job), keys, sizeof(keys));
	assert_string_equal(keys, "kmodsign/k.pem,kmodsign/other.pem");
	bs_job_free(job);
}

/* A subject without a key directory is "no keys for" (404), not a server fault. */
static void test_sign_job__unknown_subject_is_not_found(void **state)
{
	struct fx *fx = *state;
	struct bs_job *job = NULL;
	struct bs_error err = {0};
	const struct bs_job_opts o = {.signer = &g_signer, .form = &fx->form, .keyring = fx->kr,
				      .reqid = "r"};
	assert_int_equal(bs_job_new(&job, &o, &err), 0);
	struct bs_key *k = NULL;
	assert_int_equal(bs_job_key(&k, job, "kmodsign/k.pem", NULL, &err), BS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "no keys for 'm1'"));
	bs_job_free(job);
	/* a bad subject name never becomes a job */
	fx->form.f[0].value = (char *)"../etc";
	assert_int_equal(bs_job_new(&job, &o, &err), BS_ERR_INVALID);
	assert_null(job);
}

/* Tools run in the scratch directory; its output file is removed with it. */
static void test_sign_job__exec_runs_in_scratch(void **state)
{
	struct fx *fx = *state;
	struct bs_job *job = NULL;
	struct bs_error err = {0};
	assert_int_equal(run(fx, STEP_EXEC, 0, &job, &err), 0);
	struct bs_job_output o;
	assert_int_equal(bs_job_take_output(job, &o, &err), 0);
	char *want = realpath(g_scratch, NULL);
	assert_non_null(want);
	assert_int_equal(o.len, strlen(want) + 1);
	assert_memory_equal(o.data, want, strlen(want));
	free(want);
	bs_job_free(job);
	assert_int_equal(leftovers(fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sign_job__memory_output_and_record, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_sign_job__file_output_sent_from_fd_after_scratch_is_gone, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__tgz_output_reads_back_with_libarchive,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__scratch_removed_on_every_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__inputs_same_over_memory_and_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__key_names_confined_to_subject, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__policy_hook_sees_every_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__unknown_subject_is_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sign_job__exec_runs_in_scratch, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
