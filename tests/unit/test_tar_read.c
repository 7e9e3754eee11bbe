/* Unit tests for src/formats/tar/tar_read.c: the hostile-input tar reader. Archives are
 * built in memory with libarchive's writer (which can write links, devices and names no
 * tar(1) would), then read back through a chunked read callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/tar/tar_read.h"
#include "testutil.h"

/* ---- building archives ---- */

struct spec {
	const char *name;
	unsigned type;      /* AE_IFREG (0 = regular), AE_IFDIR, AE_IFLNK, ... */
	size_t size;        /* regular: bytes of data ('A' + offset pattern, or zeros) */
	const char *link;   /* symlink target */
	const char *hard;   /* hard link target */
	unsigned mode;      /* 0 = 0644 / 0755 */
	bool zeros;
};

#define membuf bs_test_membuf

static la_ssize_t mb_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	return bs_test_membuf_put(ud, buf, n) == 0 ? (la_ssize_t)n : -1;
}

static uint8_t byte_at(size_t i)
{
	return (uint8_t)('A' + (i * 7 + i / 251) % 26);
}

static uint8_t *make_tar(size_t *len, bool gz, const struct spec *s, size_t n)
{
	struct membuf m = {0};
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (gz)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &m, NULL, mb_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		unsigned type = s[i].type ? s[i].type : AE_IFREG;
		archive_entry_set_pathname(e, s[i].name);
		archive_entry_set_filetype(e, type);
		archive_entry_set_perm(e, s[i].mode ? s[i].mode : type == AE_IFDIR ? 0755 : 0644);
		archive_entry_set_mtime(e, 1700000000 + (time_t)i, 0);
		if (s[i].link)
			archive_entry_set_symlink(e, s[i].link);
		if (s[i].hard)
			archive_entry_set_hardlink(e, s[i].hard);
		if (type == AE_IFCHR || type == AE_IFBLK)
			archive_entry_set_rdev(e, 0x0103);
		archive_entry_set_size(e, type == AE_IFREG && !s[i].hard ? (la_int64_t)s[i].size : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (type == AE_IFREG && !s[i].hard) {
			uint8_t chunk[4096];
			for (size_t off = 0; off < s[i].size; off += sizeof(chunk)) {
				size_t k = s[i].size - off < sizeof(chunk) ? s[i].size - off :
					   sizeof(chunk);
				for (size_t j = 0; j < k; j++)
					chunk[j] = s[i].zeros ? 0 : byte_at(off + j);
				assert_int_equal(archive_write_data(a, chunk, k), (la_ssize_t)k);
			}
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*len = m.n;
	return m.d;
}

/* ---- reading through a callback ---- */

struct src {
	const uint8_t *d;
	size_t n, off;
	size_t step;  /* bytes per callback (0 = as many as asked) */
	int fail_at;  /* fail once off >= fail_at (0 = never) with BS_ERR_TIMEOUT */
};

static int src_read(void *ctx, void *buf, size_t cap, size_t *got, struct bs_error *err)
{
	struct src *s = ctx;
	if (s->fail_at && s->off >= (size_t)s->fail_at)
		return bs_error_set(err, BS_ERR_TIMEOUT, "artifact: upload timed out");
	size_t k = s->n - s->off;
	if (k > cap)
		k = cap;
	if (s->step && k > s->step)
		k = s->step;
	memcpy(buf, s->d + s->off, k);
	s->off += k;
	*got = k;
	return 0;
}

/* Read every member; return the first error (0 if none) and its message. */
static int read_all(const uint8_t *d, size_t n, const struct bs_tar_limits *lim,
		    struct bs_error *err, size_t *members)
{
	struct src s = {.d = d, .n = n, .step = 777};
	struct bs_tar *t = NULL;
	int rc = bs_tar_open(&t, src_read, &s, lim, err);
	assert_int_equal(rc, 0);
	size_t count = 0;
	for (;;) {
		const struct bs_tar_member *m = NULL;
		rc = bs_tar_next(&m, t, err);
		if (rc != 0 || m == NULL)
			break;
		count++;
		uint8_t buf[1000];
		size_t got;
		do {
			rc = bs_tar_read(t, buf, sizeof(buf), &got, err);
		} while (rc == 0 && got > 0);
		if (rc != 0)
			break;
	}
	if (members)
		*members = count;
	/* An error sticks. */
	if (rc != 0) {
		struct bs_error again = {0};
		const struct bs_tar_member *m = NULL;
		assert_int_equal(bs_tar_next(&m, t, &again), rc);
		assert_null(m);
		assert_string_equal(again.msg, err->msg);
	}
	bs_tar_free(t);
	return rc;
}

static void expect_refused(const struct spec *sp, size_t n, int code, const char *needle)
{
	size_t len;
	uint8_t *d = make_tar(&len, true, sp, n);
	struct bs_error err = {0};
	int rc = read_all(d, len, NULL, &err, NULL);
	if (rc != code)
		fail_msg("%s: code %d, message \"%s\"", sp[n - 1].name, rc, err.msg);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" does not name \"%s\"", err.msg, needle);
	free(d);
}

/* ---- cases ---- */

static void test_tar_read__tree_members_and_data(void **state)
{
	(void)state;
	const struct spec sp[] = {
		{.name = "./", .type = AE_IFDIR},
		{.name = "./lib/", .type = AE_IFDIR, .mode = 0750},
		{.name = "./lib/a.ko", .size = 100000},
		{.name = "./lib/modules.dep", .size = 3, .mode = 0600},
		{.name = "lib/empty", .size = 0},
	};
	for (int gz = 0; gz < 2; gz++) {
		size_t len;
		uint8_t *d = make_tar(&len, gz, sp, 5);
		struct src s = {.d = d, .n = len, .step = 333};
		struct bs_tar *t = NULL;
		struct bs_error err = {0};
		assert_int_equal(bs_tar_open(&t, src_read, &s, NULL, &err), 0);
		const struct bs_tar_member *m = NULL;

		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_non_null(m);
		assert_string_equal(m->name, "./");
		assert_string_equal(m->path, "");
		assert_int_equal(m->type, BS_TAR_DIR);

		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_string_equal(m->path, "lib");
		assert_int_equal(m->mode, 0750);
		assert_int_equal(m->mtime, 1700000001);
		assert_non_null(m->entry);
		assert_string_equal(archive_entry_pathname(m->entry), "./lib/");

		/* data in small chunks equals what was written */
		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_string_equal(m->name, "./lib/a.ko");
		assert_string_equal(m->path, "lib/a.ko");
		assert_int_equal(m->type, BS_TAR_FILE);
		assert_int_equal(m->size, 100000);
		assert_int_equal(m->mode, 0644);
		size_t total = 0, got = 0;
		uint8_t buf[999];
		do {
			assert_int_equal(bs_tar_read(t, buf, sizeof(buf), &got, &err), 0);
			for (size_t i = 0; i < got; i++)
				assert_int_equal(buf[i], byte_at(total + i));
			total += got;
		} while (got > 0);
		assert_int_equal(total, 100000);

		/* slurp, then a member whose data is never read (skipped) */
		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_int_equal(m->mode, 0600);
		uint8_t *data = NULL;
		size_t dlen = 0;
		assert_int_equal(bs_tar_slurp(&data, &dlen, t, 16, &err), 0);
		assert_int_equal(dlen, 3);
		assert_memory_equal(data, "AHO", 3);
		free(data);
		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_string_equal(m->path, "lib/empty");
		assert_int_equal(m->size, 0);
		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_null(m);
		assert_int_equal(bs_tar_count(t), 5);
		/* the end stays the end */
		assert_int_equal(bs_tar_next(&m, t, &err), 0);
		assert_null(m);
		bs_tar_free(t);
		free(d);
	}
}

static void test_tar_read__refuses_absolute_and_dotdot(void **state)
{
	(void)state;
	const struct spec abs[] = {{.name = "lib/", .type = AE_IFDIR}, {.name = "/etc/passwd", .size = 1}};
	expect_refused(abs, 2, BS_ERR_INVALID, "/etc/passwd: absolute name");
	const struct spec dd[] = {{.name = "lib/../../x.ko", .size = 1}};
	expect_refused(dd, 1, BS_ERR_INVALID, "lib/../../x.ko: '..'");
	const struct spec dd2[] = {{.name = "a/..", .type = AE_IFDIR}};
	expect_refused(dd2, 1, BS_ERR_INVALID, "a/../: '..'");
	const struct spec ctl[] = {{.name = "a\033[2Jb", .size = 1}};
	expect_refused(ctl, 1, BS_ERR_INVALID, "control character");
}

static void test_tar_read__refuses_links_and_devices(void **state)
{
	(void)state;
	const struct spec sym[] = {{.name = "x.ko", .size = 1},
				   {.name = "lib/y.ko", .type = AE_IFLNK, .link = "../x.ko"}};
	expect_refused(sym, 2, BS_ERR_INVALID, "lib/y.ko: symlink");
	const struct spec hard[] = {{.name = "x.ko", .size = 1}, {.name = "y.ko", .hard = "x.ko"}};
	expect_refused(hard, 2, BS_ERR_INVALID, "y.ko: hard link");
	const struct spec chr[] = {{.name = "dev/null", .type = AE_IFCHR}};
	expect_refused(chr, 1, BS_ERR_INVALID, "dev/null: character device");
	const struct spec blk[] = {{.name = "sda", .type = AE_IFBLK}};
	expect_refused(blk, 1, BS_ERR_INVALID, "sda: block device");
	const struct spec fifo[] = {{.name = "p", .type = AE_IFIFO}};
	expect_refused(fifo, 1, BS_ERR_INVALID, "p: fifo");
}

static void test_tar_read__refuses_duplicates_and_outside_tree(void **state)
{
	(void)state;
	const struct spec dup[] = {{.name = "lib/a.ko", .size = 1}, {.name = "./lib//a.ko", .size = 2}};
	expect_refused(dup, 2, BS_ERR_INVALID, "./lib//a.ko: duplicate name");
	const struct spec dupdir[] = {{.name = "lib/", .type = AE_IFDIR}, {.name = "lib", .size = 1}};
	expect_refused(dupdir, 2, BS_ERR_INVALID, "lib: duplicate name");
	const struct spec below[] = {{.name = "a.ko", .size = 1}, {.name = "a.ko/b", .size = 1}};
	expect_refused(below, 2, BS_ERR_INVALID, "a.ko/b: outside the tree");
	const struct spec root[] = {{.name = ".", .size = 1}};
	expect_refused(root, 1, BS_ERR_INVALID, "root");
	/* a repeated "./" directory entry is a duplicate of nothing: fine */
	const struct spec ok[] = {{.name = "./", .type = AE_IFDIR}, {.name = ".", .type = AE_IFDIR},
				  {.name = "a/", .type = AE_IFDIR}, {.name = "a/b", .size = 1}};
	size_t len, count = 0;
	uint8_t *d = make_tar(&len, true, ok, 4);
	struct bs_error err = {0};
	assert_int_equal(read_all(d, len, NULL, &err, &count), 0);
	assert_int_equal(count, 4);
	free(d);
}

static void test_tar_read__empty_and_garbage(void **state)
{
	(void)state;
	struct bs_error err = {0};
	size_t len;
	uint8_t *d = make_tar(&len, true, NULL, 0);
	assert_int_equal(read_all(d, len, NULL, &err, NULL), BS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "empty"));
	free(d);
	assert_int_not_equal(read_all((const uint8_t *)"", 0, NULL, &err, NULL), 0);
	assert_true(err.code == BS_ERR_INVALID || err.code == BS_ERR_FORMAT);
	static const char junk[] = "this is not a tar archive, not gzip either; just text.\n";
	assert_int_equal(read_all((const uint8_t *)junk, sizeof(junk) - 1, NULL, &err, NULL),
			 BS_ERR_FORMAT);
	/* truncated inside a member's data, plain and gzip'd */
	const struct spec sp[] = {{.name = "a.ko", .size = 50000}};
	d = make_tar(&len, false, sp, 1);
	assert_int_equal(read_all(d, 512 * 3 + 1000, NULL, &err, NULL), BS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "a.ko"));
	free(d);
	d = make_tar(&len, true, sp, 1);
	assert_int_equal(read_all(d, 100, NULL, &err, NULL), BS_ERR_FORMAT);
	free(d);
}

static void test_tar_read__bounds(void **state)
{
	(void)state;
	const struct spec sp[] = {{.name = "a", .size = 10}, {.name = "b", .size = 10},
				  {.name = "c", .size = 5000}};
	size_t len;
	uint8_t *d = make_tar(&len, true, sp, 3);
	struct bs_error err = {0};
	struct bs_tar_limits lim = {.members = 2};
	assert_int_equal(read_all(d, len, &lim, &err, NULL), BS_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "more than 2 members"));
	lim = (struct bs_tar_limits){.name = 1};
	assert_int_equal(read_all(d, len, &lim, &err, NULL), 0);
	lim = (struct bs_tar_limits){.unpacked = 4096};
	assert_int_equal(read_all(d, len, &lim, &err, NULL), BS_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "archive member c: 5000 bytes"));
	free(d);

	char longname[BS_TAR_NAME_MAX + 2];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const struct spec ln[] = {{.name = longname, .size = 1}};
	expect_refused(ln, 1, BS_ERR_LIMIT, "name of 1025 bytes");

	/* slurp bound */
	d = make_tar(&len, false, sp + 2, 1);
	struct src s = {.d = d, .n = len};
	struct bs_tar *t = NULL;
	assert_int_equal(bs_tar_open(&t, src_read, &s, NULL, &err), 0);
	const struct bs_tar_member *m = NULL;
	assert_int_equal(bs_tar_next(&m, t, &err), 0);
	uint8_t *data = (uint8_t *)"x";
	size_t dlen = 1;
	assert_int_equal(bs_tar_slurp(&data, &dlen, t, 4999, &err), BS_ERR_LIMIT);
	assert_null(data);
	assert_int_equal(dlen, 0);
	bs_tar_free(t);
	free(d);
}

static void test_tar_read__gzip_bomb_is_a_limit(void **state)
{
	(void)state;
	/* 40 MiB of zeros gzip to ~40 KiB: past the default 16 MiB floor at ~1000:1. */
	const struct spec bomb[] = {{.name = "lib/", .type = AE_IFDIR},
				    {.name = "lib/bomb.ko", .size = 40u << 20, .zeros = true}};
	size_t len;
	uint8_t *d = make_tar(&len, true, bomb, 2);
	assert_true(len < (1u << 20));
	struct bs_error err = {0};
	assert_int_equal(read_all(d, len, NULL, &err, NULL), BS_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "compression ratio"));
	assert_non_null(strstr(err.msg, "lib/bomb.ko"));
	/* skipped without reading: still caught */
	struct src s = {.d = d, .n = len};
	struct bs_tar *t = NULL;
	assert_int_equal(bs_tar_open(&t, src_read, &s, NULL, &err), 0);
	const struct bs_tar_member *m = NULL;
	assert_int_equal(bs_tar_next(&m, t, &err), 0);
	assert_int_equal(bs_tar_next(&m, t, &err), 0);
	assert_int_equal(bs_tar_next(&m, t, &err), BS_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "lib/bomb.ko"));
	bs_tar_free(t);
	/* a plain tar of the same is not compressed at all: ratio 1 */
	struct bs_tar_limits lim = {.ratio_floor = 1};
	free(d);
	const struct spec small[] = {{.name = "z", .size = 1u << 20, .zeros = true}};
	d = make_tar(&len, false, small, 1);
	assert_int_equal(read_all(d, len, &lim, &err, NULL), 0);
	free(d);
}

static void test_tar_read__callback_error_passes_through(void **state)
{
	(void)state;
	const struct spec sp[] = {{.name = "a.ko", .size = 300000}};
	size_t len;
	uint8_t *d = make_tar(&len, false, sp, 1);
	struct src s = {.d = d, .n = len, .fail_at = 100000};
	struct bs_tar *t = NULL;
	struct bs_error err = {0};
	assert_int_equal(bs_tar_open(&t, src_read, &s, NULL, &err), 0);
	const struct bs_tar_member *m = NULL;
	assert_int_equal(bs_tar_next(&m, t, &err), 0);
	uint8_t *data = NULL;
	size_t dlen = 0;
	assert_int_equal(bs_tar_slurp(&data, &dlen, t, 1u << 20, &err), BS_ERR_TIMEOUT);
	assert_string_equal(err.msg, "artifact: upload timed out");
	assert_null(data);
	assert_int_equal(bs_tar_next(&m, t, &err), BS_ERR_TIMEOUT);
	bs_tar_free(t);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tar_read__tree_members_and_data),
		cmocka_unit_test(test_tar_read__refuses_absolute_and_dotdot),
		cmocka_unit_test(test_tar_read__refuses_links_and_devices),
		cmocka_unit_test(test_tar_read__refuses_duplicates_and_outside_tree),
		cmocka_unit_test(test_tar_read__empty_and_garbage),
		cmocka_unit_test(test_tar_read__bounds),
		cmocka_unit_test(test_tar_read__gzip_bomb_is_a_limit),
		cmocka_unit_test(test_tar_read__callback_error_passes_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
