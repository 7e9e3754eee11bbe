/* Unit tests for the generic request layer: streaming form reception into declared
 * fields (src/http/multipart.c), the spool (src/http/spool.c), the error -> status
 * table (src/http/status.c) and the per-machine key cache (src/sign/keycache.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "http/multipart.h"
#include "http/spool.h"
#include "http/status.h"
#include "keys/bundles.h"
#include "sign/signer.h"
#include "testutil.h"

static const char *const g_modes[] = {"ssl", "pkcs11", NULL};
static const struct bs_field_spec g_fields[] = {
	{.name = "machine", .store = BS_FIELD_MEM, .required = true, .check = BS_CHECK_NAME},
	{.name = "csf", .store = BS_FIELD_MEM, .required = true, .max = 16,
	 .check = BS_CHECK_TEXT},
	{.name = "artifact", .store = BS_FIELD_SPOOL, .required = true, .file_upload = true,
	 .max = 1000},
	{.name = "backend", .store = BS_FIELD_MEM, .choices = g_modes, .default_value = "ssl"},
};
static const struct bs_signer g_signer = {
	.name = "test", .fields = g_fields, .nfields = 4, .sign = NULL,
};

struct fx {
	char *dir;
	struct bs_spool *spool;
	struct bs_upload *up;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = bs_tmpdir();
	char sp[4200];
	snprintf(sp, sizeof(sp), "%s/spool", fx->dir);
	assert_int_equal(bs_spool_open(&fx->spool, sp, NULL), 0);
	assert_int_equal(bs_upload_new(&fx->up, &g_signer, fx->spool, "req1", 4096, NULL), 0);
	*state = fx;
	return 0;
}

static size_t spool_entries(struct fx *fx)
{
	DIR *d = opendir(bs_spool_dir(fx->spool));
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	bs_upload_free(fx->up);
	if (fx->spool != NULL)
		assert_int_equal(spool_entries(fx), 0); /* every spool file is gone */
	bs_spool_close(fx->spool);
	bs_tmpdir_remove(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static int feed(struct fx *fx, const char *key, const char *filename, const char *data,
		uint64_t off)
{
	return bs_upload_feed(fx->up, key, filename, "application/octet-stream", data, off,
			      strlen(data));
}

/* The received bytes of a file field, wherever they were kept (memory or spool file). */
static void assert_field_bytes(const struct bs_form_field *a, const char *want, size_t n)
{
	assert_int_equal(a->size, n);
	if (a->data != NULL) {
		assert_memory_equal(a->data, want, n);
		return;
	}
	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(bs_read_file(&got, &len, a->path, 1 << 20, NULL), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	free(got);
}

static void test_http_multipart__fields_and_streamed_hash(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(feed(fx, "machine", NULL, "imx8mp", 0), 0);
	assert_int_equal(feed(fx, "csf", "a.csf", "[Header]", 0), 0);
	assert_int_equal(feed(fx, "artifact", "img.bin", "a", 0), 0);
	assert_int_equal(feed(fx, "artifact", "img.bin", "bc", 1), 0);
	struct bs_error err = {0};
	assert_int_equal(bs_upload_finish(fx->up, &err), 0);
	const struct bs_form *f = bs_upload_form(fx->up);
	assert_string_equal(bs_form_value(f, "machine"), "imx8mp");
	assert_string_equal(bs_form_value(f, "backend"), "ssl"); /* default */
	const struct bs_form_field *a = bs_form_get(f, "artifact");
	assert_int_equal(a->size, 3);
	assert_string_equal(a->filename, "img.bin");
	assert_field_bytes(a, "abc", 3);
	struct stat st;
	assert_int_equal(stat(a->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(stat(bs_spool_dir(fx->spool), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(spool_entries(fx), 1);
}

static void test_http_multipart__duplicate_field(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(feed(fx, "machine", NULL, "a", 0), 0);
	assert_int_equal(feed(fx, "machine", NULL, "b", 0), BS_ERR_INVALID);
	struct bs_error err = {0};
	assert_int_equal(bs_upload_finish(fx->up, &err), BS_ERR_INVALID);
	assert_string_equal(err.msg, "machine: field given more than once");
}

static void test_http_multipart__field_limits(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(feed(fx, "csf", "a.csf", "0123456789", 0), 0);
	assert_int_equal(feed(fx, "csf", "a.csf", "0123456789", 10), BS_ERR_LIMIT);
	struct bs_error err = {0};
	assert_int_equal(bs_upload_error(fx->up, &err), BS_ERR_LIMIT);
	assert_string_equal(err.msg, "csf: larger than 16 bytes");
	/* sticky: later chunks are refused with the first error */
	assert_int_equal(feed(fx, "machine", NULL, "x", 0), BS_ERR_LIMIT);
}

static void test_http_multipart__spool_field_limit(void **state)
{
	struct fx *fx = *state;
	char big[1001];
	memset(big, 'x', 1000);
	big[1000] = 0;
	assert_int_equal(feed(fx, "artifact", "a.bin", big, 0), 0);
	assert_int_equal(feed(fx, "artifact", "a.bin", "y", 1000), BS_ERR_LIMIT);
}

static void test_http_multipart__request_limit(void **state)
{
	struct fx *fx = *state;
	/* a request limit below the artifact's own field limit (1000) */
	struct bs_upload *up = NULL;
	assert_int_equal(bs_upload_new(&up, &g_signer, fx->spool, "req3", 500, NULL), 0);
	char big[401];
	memset(big, 'x', 400);
	big[400] = 0;
	assert_int_equal(bs_upload_feed(up, "artifact", "a.bin", NULL, big, 0, 400), 0);
	assert_int_equal(bs_upload_feed(up, "artifact", "a.bin", NULL, big, 400, 200),
			 BS_ERR_LIMIT);
	struct bs_error err = {0};
	assert_int_equal(bs_upload_error(up, &err), BS_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "request larger than 500 bytes"));
	bs_upload_free(up);
}

/* A field the endpoint does not take is refused, naming it and the fields it takes: a
 * misspelled optional field must not sign with the default silently. */
static void test_http_multipart__unknown_field_refused(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(feed(fx, "machine", NULL, "imx8mp", 0), 0);
	assert_int_equal(feed(fx, "backnd", NULL, "pkcs11", 0), BS_ERR_INVALID);
	struct bs_error err = {0};
	assert_int_equal(bs_upload_error(fx->up, &err), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "unknown field 'backnd' for /sign/test (fields: machine, "));
	assert_non_null(strstr(err.msg, "backend"));
}

static void expect_finish(struct fx *fx, int code, const char *msg)
{
	struct bs_error err = {0};
	assert_int_equal(bs_upload_finish(fx->up, &err), code);
	assert_string_equal(err.msg, msg);
}

static void test_http_multipart__missing_field(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(feed(fx, "machine", NULL, "m", 0), 0);
	assert_int_equal(feed(fx, "csf", NULL, "x", 0), 0);
	expect_finish(fx, BS_ERR_INVALID, "missing field 'artifact'");
}

static void full(struct fx *fx, const char *machine, const char *csf, const char *backend,
		 const char *art_name)
{
	assert_int_equal(feed(fx, "machine", NULL, machine, 0), 0);
	assert_int_equal(bs_upload_feed(fx->up, "csf", NULL, NULL, csf, 0, strlen(csf)), 0);
	assert_int_equal(feed(fx, "artifact", art_name, "data", 0), 0);
	if (backend != NULL)
		assert_int_equal(feed(fx, "backend", NULL, backend, 0), 0);
}

static void test_http_multipart__machine_traversal(void **state)
{
	struct fx *fx = *state;
	full(fx, "../etc", "x", NULL, "a.bin");
	expect_finish(fx, BS_ERR_INVALID,
		      "machine: invalid character at position 3 (allowed: A-Z a-z 0-9 . _ -)");
}

static void test_http_multipart__machine_dotdot(void **state)
{
	struct fx *fx = *state;
	full(fx, "..", "x", NULL, "a.bin");
	expect_finish(fx, BS_ERR_INVALID, "machine: '.' and '..' are not allowed");
}

static void test_http_multipart__machine_too_long(void **state)
{
	struct fx *fx = *state;
	/* 65 characters: over the 64 limit but within the 256-byte field bound */
	full(fx, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x", NULL,
	     "a.bin");
	expect_finish(fx, BS_ERR_INVALID, "machine: must be 1 to 64 characters");
}

static void test_http_multipart__bad_choice(void **state)
{
	struct fx *fx = *state;
	full(fx, "m", "x", "tpm", "a.bin");
	expect_finish(fx, BS_ERR_INVALID, "backend: 'tpm' is not one of: ssl, pkcs11");
}

static void test_http_multipart__not_utf8(void **state)
{
	struct fx *fx = *state;
	full(fx, "m", "ab\xC3\x28", NULL, "a.bin");
	expect_finish(fx, BS_ERR_INVALID, "csf: not UTF-8 text (bad byte 0xc3 at offset 2)");
}

static void test_http_multipart__artifact_needs_filename(void **state)
{
	struct fx *fx = *state;
	full(fx, "m", "x", NULL, NULL);
	expect_finish(fx, BS_ERR_INVALID,
		      "artifact: must be sent as a file upload (-F artifact=@FILE)");
}

static void test_http_multipart__empty_artifact(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(feed(fx, "machine", NULL, "m", 0), 0);
	assert_int_equal(feed(fx, "csf", NULL, "x", 0), 0);
	assert_int_equal(feed(fx, "artifact", "a.bin", "", 0), 0);
	expect_finish(fx, BS_ERR_INVALID, "artifact: empty");
}

static void test_http_multipart__utf8_checker(void **state)
{
	(void)state;
	size_t bad = 0;
	assert_int_equal(bs_utf8_check((const uint8_t *)"gr\xC3\xBC\xC3\x9F \xE2\x82\xAC", 10, &bad),
			 0);
	assert_int_equal(bs_utf8_check((const uint8_t *)"a\0b", 3, &bad), -1);
	assert_int_equal(bad, 1);
	assert_int_equal(bs_utf8_check((const uint8_t *)"\xC0\xAF", 2, &bad), -1); /* overlong */
	assert_int_equal(bs_utf8_check((const uint8_t *)"x\xE2\x82", 3, &bad), -1); /* cut */
	assert_int_equal(bad, 1);
	assert_int_equal(bs_utf8_check((const uint8_t *)"\xED\xA0\x80", 3, &bad), -1); /* UTF-16 */
}

static void test_http_status__table(void **state)
{
	(void)state;
	assert_int_equal(bs_http_status(0), 200);
	assert_int_equal(bs_http_status(BS_ERR_SYNTAX), 400);
	assert_int_equal(bs_http_status(BS_ERR_INVALID), 400);
	assert_int_equal(bs_http_status(BS_ERR_PATH), 400);
	assert_int_equal(bs_http_status(BS_ERR_POLICY), 400);
	assert_int_equal(bs_http_status(BS_ERR_NOT_FOUND), 404);
	assert_int_equal(bs_http_status(BS_ERR_LIMIT), 413);
	assert_int_equal(bs_http_status(BS_ERR_CONFIG), 500);
	assert_int_equal(bs_http_status(BS_ERR_TIMEOUT), 503);
	assert_int_equal(bs_http_status(BS_ERR_BUSY), 503);
	assert_int_equal(bs_http_status(-999), 500);
	assert_true(bs_http_status_hides_detail(BS_ERR_CONFIG));
	assert_true(bs_http_status_hides_detail(BS_ERR_INTERNAL));
	assert_false(bs_http_status_hides_detail(BS_ERR_SYNTAX));
	/* Token failures and a stuck/busy token tell the client why (token, step, CKR). */
	assert_int_equal(bs_http_status(BS_ERR_TOKEN), 502);
	assert_false(bs_http_status_hides_detail(BS_ERR_TOKEN));
	assert_false(bs_http_status_hides_detail(BS_ERR_TIMEOUT));
	assert_false(bs_http_status_hides_detail(BS_ERR_BUSY));
	/* Every defined code maps somewhere deliberate (no accidental 200). */
	for (int code = BS_ERR_TOOL; code < 0; code++)
		assert_true(bs_http_status(code) >= 400);
}

static void test_http_spool__private_and_swept(void **state)
{
	(void)state;
	char *dir = bs_tmpdir();
	char sp[4200];
	snprintf(sp, sizeof(sp), "%s/s", dir);
	struct bs_spool *s = NULL;
	assert_int_equal(bs_spool_open(&s, sp, NULL), 0);
	int fd = -1;
	char *path = NULL;
	assert_int_equal(bs_spool_create(s, "r", "artifact", &fd, &path, NULL), 0);
	close(fd);
	bs_spool_close(s); /* removes leftovers, keeps the configured directory */
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(access(sp, F_OK), 0);
	free(path);
	/* A default spool is a fresh mkdtemp directory, removed on close. */
	assert_int_equal(bs_spool_open(&s, NULL, NULL), 0);
	char *def = strdup(bs_spool_dir(s));
	struct stat st;
	assert_int_equal(stat(def, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	bs_spool_close(s);
	assert_int_not_equal(access(def, F_OK), 0);
	free(def);
	bs_tmpdir_remove(dir);
	free(dir);
}

static void make_bundle(const char *root, const char *machine)
{
	char d[4300], tgz[4400];
	snprintf(d, sizeof(d), "%s/%s/imxsign", root, machine);
	const char *mk[] = {"mkdir", "-p", d, NULL};
	assert_int_equal(bs_test_run(mk, NULL), 0);
	snprintf(tgz, sizeof(tgz), "%s/imx-cst-keys.tar.gz", d);
	const char *tar[] = {"tar", "-C", bs_fixture("hab4-vectors/rsa"), "-czf", tgz, "crts",
			     "keys", NULL};
	assert_int_equal(bs_test_run(tar, NULL), 0);
}

static void test_http_keycache__cache_and_reload(void **state)
{
	(void)state;
	char *root = bs_tmpdir();
	make_bundle(root, "m1");
	make_bundle(root, "m2");
	struct bs_keycache *kc = NULL;
	assert_int_equal(bs_keycache_new(&kc, root, 1, NULL), 0);
	struct bs_keylease *l = NULL;
	struct bs_store *st = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_keycache_acquire(kc, "nope", "imxsign", "imx-cst-keys.tar.gz", &l,
					     &st, &err), BS_ERR_NOT_FOUND);
	assert_null(l);
	assert_null(st);
	assert_int_equal(bs_keycache_acquire(kc, "m1", "imxsign", "imx-cst-keys.tar.gz", &l,
					     &st, &err), 0);
	assert_true(bs_store_exists(st, "crts/SRK_table.bin"));
	/* a second concurrent borrower shares the one parsed copy */
	struct bs_keylease *l2 = NULL;
	struct bs_store *st2 = NULL;
	assert_int_equal(bs_keycache_acquire(kc, "m1", "imxsign", "imx-cst-keys.tar.gz", &l2,
					     &st2, &err), 0);
	assert_ptr_equal(st, st2);
	assert_int_equal(bs_keycache_parses(kc), 1);
	uint64_t serial = bs_keycache_serial(l);
	assert_true(serial != 0);
	assert_int_equal(bs_keycache_serial(l2), serial); /* one version, one number */
	bs_keycache_release(l2);
	bs_keycache_release(l);
	assert_int_equal(bs_keycache_size(kc), 1);
	/* bounded: a second machine evicts the idle first one */
	assert_int_equal(bs_keycache_acquire(kc, "m2", "imxsign", "imx-cst-keys.tar.gz", &l,
					     &st, &err), 0);
	uint64_t serial2 = bs_keycache_serial(l);
	assert_true(serial2 != serial);
	bs_keycache_release(l);
	assert_int_equal(bs_keycache_size(kc), 1);
	/* the same file parsed again (after its eviction) is a new version number: numbers
	 * are never reused within a cache, so nothing kept under an old one is served */
	assert_int_equal(bs_keycache_acquire(kc, "m1", "imxsign", "imx-cst-keys.tar.gz", &l,
					     &st, &err), 0);
	assert_true(bs_keycache_serial(l) != serial && bs_keycache_serial(l) != serial2);
	bs_keycache_release(l);
	/* a replaced bundle is picked up: an empty file is now a broken bundle */
	char tgz[4400];
	snprintf(tgz, sizeof(tgz), "%s/m2/imxsign/imx-cst-keys.tar.gz", root);
	assert_int_equal(bs_write_file(tgz, "junk", 4, 0600, false, &err), 0);
	assert_int_equal(bs_keycache_acquire(kc, "m2", "imxsign", "imx-cst-keys.tar.gz", &l,
					     &st, &err), BS_ERR_CONFIG);
	assert_null(l);
	bs_keycache_free(kc);
	bs_tmpdir_remove(root);
	free(root);
}

/* FIPS 180-2 two-block test vector (56 bytes). */
#define ABC56 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static void feed_fields(struct fx *fx)
{
	assert_int_equal(feed(fx, "machine", NULL, "imx8mp", 0), 0);
	assert_int_equal(feed(fx, "csf", "a.csf", "[Header]", 0), 0);
}

/* Without Content-Length an upload starts in memory and grows; no spool file. */
static void test_http_multipart__memory_spool_small_upload(void **state)
{
	struct fx *fx = *state;
	bs_spool_set_memory(fx->spool, 64, 1000);
	feed_fields(fx);
	assert_int_equal(feed(fx, "artifact", "img.bin", "abcdbcdecdefdefgefgh", 0), 0);
	assert_int_equal(feed(fx, "artifact", "img.bin", "fghighijhijkijkljklmklmnlmnomnopnopq", 20),
			 0);
	struct bs_error err = {0};
	assert_int_equal(bs_upload_finish(fx->up, &err), 0);
	const struct bs_form_field *a = bs_form_get(bs_upload_form(fx->up), "artifact");
	assert_null(a->path);
	assert_non_null(a->data);
	assert_int_equal(a->size, 56);
	assert_memory_equal(a->data, ABC56, 56);
	assert_field_bytes(a, ABC56, 56);
	assert_int_equal(spool_entries(fx), 0);
	assert_true(bs_spool_mem_used(fx->spool) >= 56);
	bs_upload_free(fx->up);
	fx->up = NULL;
	assert_int_equal(bs_spool_mem_used(fx->spool), 0);
}

/* Beyond the per-upload limit the bytes so far move to a 0600 spool file. */
static void test_http_multipart__memory_spool_spills_to_file(void **state)
{
	struct fx *fx = *state;
	bs_spool_set_memory(fx->spool, 16, 1000);
	feed_fields(fx);
	assert_int_equal(feed(fx, "artifact", "img.bin", "abcdbcdecdef", 0), 0);
	assert_int_equal(spool_entries(fx), 0);
	assert_int_equal(feed(fx, "artifact", "img.bin", "defgefghfghighijhijkijkljklmklmnlmnomnopnopq",
			      12), 0);
	assert_int_equal(spool_entries(fx), 1);
	assert_int_equal(bs_spool_mem_used(fx->spool), 0); /* memory given back at the spill */
	struct bs_error err = {0};
	assert_int_equal(bs_upload_finish(fx->up, &err), 0);
	const struct bs_form_field *a = bs_form_get(bs_upload_form(fx->up), "artifact");
	assert_null(a->data);
	assert_non_null(a->path);
	assert_field_bytes(a, ABC56, 56);
	struct stat st;
	assert_int_equal(stat(a->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	size_t len = 0;
	uint8_t *back = NULL;
	assert_int_equal(bs_read_file(&back, &len, a->path, 1000, NULL), 0);
	assert_int_equal(len, 56);
	assert_memory_equal(back, ABC56, 56);
	free(back);
}

/* The budget is shared: a second upload that does not fit goes to disk; a Content-Length
 * above the per-upload limit goes to disk directly; freeing returns the budget. */
static void test_http_multipart__memory_spool_budget_shared(void **state)
{
	struct fx *fx = *state;
	bs_spool_set_memory(fx->spool, 100, 150);
	bs_upload_set_size_hint(fx->up, 80);
	assert_int_equal(feed(fx, "artifact", "a.bin", ABC56, 0), 0);
	assert_int_equal(bs_spool_mem_used(fx->spool), 80);
	struct bs_upload *up2 = NULL, *up3 = NULL;
	assert_int_equal(bs_upload_new(&up2, &g_signer, fx->spool, "req2", 4096, NULL), 0);
	bs_upload_set_size_hint(up2, 80);
	assert_int_equal(bs_upload_feed(up2, "artifact", "b.bin", NULL, ABC56, 0, 56), 0);
	assert_int_equal(bs_spool_mem_used(fx->spool), 80);
	assert_int_equal(spool_entries(fx), 1);
	assert_int_equal(bs_upload_new(&up3, &g_signer, fx->spool, "req3", 4096, NULL), 0);
	bs_upload_set_size_hint(up3, 101);
	assert_int_equal(bs_upload_feed(up3, "artifact", "c.bin", NULL, "x", 0, 1), 0);
	assert_int_equal(spool_entries(fx), 2);
	/* an aborted request (no finish) frees everything */
	bs_upload_free(up2);
	bs_upload_free(up3);
	bs_upload_free(fx->up);
	fx->up = NULL;
	assert_int_equal(bs_spool_mem_used(fx->spool), 0);
	assert_int_equal(spool_entries(fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http_multipart__fields_and_streamed_hash,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__duplicate_field, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__field_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__spool_field_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__request_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__unknown_field_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__missing_field, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__machine_traversal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__machine_dotdot, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__machine_too_long, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__bad_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__not_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__artifact_needs_filename,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__empty_artifact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__memory_spool_small_upload,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__memory_spool_spills_to_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_multipart__memory_spool_budget_shared,
						setup, teardown),
		cmocka_unit_test(test_http_multipart__utf8_checker),
		cmocka_unit_test(test_http_status__table),
		cmocka_unit_test(test_http_spool__private_and_swept),
		cmocka_unit_test(test_http_keycache__cache_and_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
