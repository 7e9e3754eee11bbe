/* Hostile-input tar reader over libarchive (see tar_read.h for what is refused). */
#include "formats/tar/tar_read.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


#define NAME_KEY_LEN 16 /* bytes of SHA-256(name) kept per member name */

/* One name seen: a truncated SHA-256 of the normalised path (collisions are not a
 * practical concern at 128 bits) and whether it is a file. */
struct name_slot {
	uint8_t key[NAME_KEY_LEN];
	uint8_t used;
	uint8_t is_file;
};

struct bs_tar {
	struct archive *a;
	bs_tar_read_fn read;
	void *ctx;
	struct bs_tar_limits lim;
	uint8_t *chunk;              /* BS_TAR_CHUNK bytes handed to libarchive */
	uint64_t fed;                /* compressed bytes handed to libarchive */
	uint64_t declared;           /* sum of member sizes from headers */
	uint64_t count;
	bool opened;
	bool ended;
	int failed;                  /* sticky error code (0 = none) */
	struct bs_error fail_err;    /* its message */
	struct bs_error cb_err;      /* error raised inside the read callback */
	bool cb_failed;
	struct name_slot *names;
	size_t names_cap;            /* power of two */
	size_t names_used;
	char *path;                  /* normalised name of the current member */
	struct bs_tar_member cur;
};

static void fill_limits(struct bs_tar_limits *l, const struct bs_tar_limits *in)
{
	static const struct bs_tar_limits def = {
		.members = BS_TAR_MEMBERS_MAX, .name = BS_TAR_NAME_MAX,
		.unpacked = BS_TAR_UNPACKED_MAX, .ratio = BS_TAR_RATIO_MAX,
		.ratio_floor = BS_TAR_RATIO_FLOOR,
	};
	*l = def;
	if (in == NULL)
		return;
	if (in->members)
		l->members = in->members;
	if (in->name)
		l->name = in->name;
	if (in->unpacked)
		l->unpacked = in->unpacked;
	if (in->ratio)
		l->ratio = in->ratio;
	if (in->ratio_floor)
		l->ratio_floor = in->ratio_floor;
}

/* Keep the first error; later calls return it again. */
static int fail(struct bs_tar *t, struct bs_error *err)
{
	if (t->failed == 0) {
		t->failed = err && err->code ? err->code : BS_ERR_INTERNAL;
		if (err)
			t->fail_err = *err;
		else
			bs_error_set(&t->fail_err, t->failed, "tar: error");
	}
	return t->failed;
}

static int sticky(struct bs_tar *t, struct bs_error *err)
{
	if (err)
		*err = t->fail_err;
	return t->failed;
}

/* Unpacked stream size and compression ratio so far. */
static int check_stream(struct bs_tar *t, const char *member, struct bs_error *err)
{
	if (!t->opened)
		return 0;
	la_int64_t pos = archive_filter_bytes(t->a, 0);
	uint64_t unpacked = pos > 0 ? (uint64_t)pos : 0;
	const char *sep = member ? ": " : "";
	if (member == NULL)
		member = "";
	if (unpacked > t->lim.unpacked)
		return bs_error_set(err, BS_ERR_LIMIT, "archive%s%s: unpacks to more than %llu "
				    "bytes", sep, member, (unsigned long long)t->lim.unpacked);
	if (unpacked > t->lim.ratio_floor && t->fed > 0 && unpacked / t->fed >= t->lim.ratio)
		return bs_error_set(err, BS_ERR_LIMIT, "archive%s%s: compression ratio above "
				    "%llu:1 (%llu bytes from %llu)", sep, member,
				    (unsigned long long)t->lim.ratio,
				    (unsigned long long)unpacked, (unsigned long long)t->fed);
	return 0;
}

static la_ssize_t cb_read(struct archive *a, void *ud, const void **buf)
{
	struct bs_tar *t = ud;
	*buf = t->chunk;
	if (t->cb_failed)
		return -1;
	size_t got = 0;
	int rc = check_stream(t, t->cur.path, &t->cb_err);
	if (rc == 0)
		rc = t->read(t->ctx, t->chunk, BS_TAR_CHUNK, &got, &t->cb_err);
	if (rc != 0) {
		if (t->cb_err.code == 0)
			bs_error_set(&t->cb_err, rc, "archive: read failed");
		t->cb_failed = true;
		archive_set_error(a, EIO, "%s", t->cb_err.msg);
		return -1;
	}
	if (got > BS_TAR_CHUNK)
		got = BS_TAR_CHUNK;
	t->fed += got;
	return (la_ssize_t)got;
}

/* A libarchive failure: the callback's own error if it raised one, else BS_ERR_FORMAT. */
static int archive_fail(struct bs_tar *t, const char *member, struct bs_error *err)
{
	if (t->cb_failed) {
		if (err)
			*err = t->cb_err;
		return fail(t, err);
	}
	const char *why = archive_error_string(t->a);
	if (member && member[0])
		bs_error_set(err, BS_ERR_FORMAT, "archive member %s: %s", member,
			     why ? why : "unreadable");
	else
		bs_error_set(err, BS_ERR_FORMAT, "archive: %s", why ? why : "unreadable");
	return fail(t, err);
}

int bs_tar_open(struct bs_tar **out, bs_tar_read_fn read, void *ctx,
		const struct bs_tar_limits *limits, struct bs_error *err)
{
	*out = NULL;
	if (read == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "tar: no read callback");
	struct bs_tar *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	fill_limits(&t->lim, limits);
	t->read = read;
	t->ctx = ctx;
	t->chunk = malloc(BS_TAR_CHUNK);
	t->a = archive_read_new();
	int rc = 0;
	if (t->chunk == NULL || t->a == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (archive_read_support_filter_gzip(t->a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(t->a) != ARCHIVE_OK) {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "libarchive: %s",
				  archive_error_string(t->a));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	bs_tar_free(t);
	return rc;
}

/* Drop "." and empty components and a trailing '/'; refuse "..", absolute names, control
 * characters. out must hold strlen(raw) + 1 bytes. */
static int normalise(char *out, const char *raw, struct bs_error *err)
{
	if (raw[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "archive member with an empty name");
	if (raw[0] == '/')
		return bs_error_set(err, BS_ERR_INVALID, "archive member %s: absolute name", raw);
	for (const unsigned char *c = (const unsigned char *)raw; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return bs_error_set(err, BS_ERR_INVALID, "archive member %s: control "
					    "character in name", raw);
	size_t o = 0;
	const char *p = raw;
	while (*p != '\0') {
		const char *s = strchr(p, '/');
		size_t cl = s ? (size_t)(s - p) : strlen(p);
		if (cl == 2 && p[0] == '.' && p[1] == '.')
			return bs_error_set(err, BS_ERR_INVALID, "archive member %s: '..' in name",
					    raw);
		if (cl > 0 && !(cl == 1 && p[0] == '.')) {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, cl);
			o += cl;
		}
		p += cl;
		if (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

static void name_key(uint8_t key[NAME_KEY_LEN], const char *path, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(path, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < NAME_KEY_LEN)
		memset(md, 0, NAME_KEY_LEN); /* cannot happen with the default provider */
	memcpy(key, md, NAME_KEY_LEN);
}

static struct name_slot *name_find(struct bs_tar *t, const uint8_t key[NAME_KEY_LEN])
{
	if (t->names_cap == 0)
		return NULL;
	size_t i = ((size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16 |
		    (size_t)key[3] << 24) & (t->names_cap - 1);
	for (;;) {
		struct name_slot *s = &t->names[i];
		if (!s->used || memcmp(s->key, key, NAME_KEY_LEN) == 0)
			return s;
		i = (i + 1) & (t->names_cap - 1);
	}
}

static int names_grow(struct bs_tar *t, struct bs_error *err)
{
	if (t->names_used * 2 < t->names_cap)
		return 0;
	size_t ncap = t->names_cap ? t->names_cap * 2 : 256;
	struct name_slot *old = t->names;
	size_t ocap = t->names_cap;
	t->names = calloc(ncap, sizeof(*t->names));
	if (t->names == NULL) {
		t->names = old;
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	t->names_cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			*name_find(t, old[i].key) = old[i];
	free(old);
	return 0;
}

/* Record path; refuse a second use of it and a member below a file. */
static int names_add(struct bs_tar *t, const char *raw, const char *path, bool is_file,
		     struct bs_error *err)
{
	uint8_t key[NAME_KEY_LEN];
	size_t len = strlen(path);
	if (len == 0) {
		if (is_file)
			return bs_error_set(err, BS_ERR_INVALID, "archive member %s: a file at "
					    "the root of the tree", raw);
		return 0; /* "./": the root directory entry */
	}
	for (size_t i = 0; i < len; i++) {
		if (path[i] != '/')
			continue;
		name_key(key, path, i);
		struct name_slot *s = name_find(t, key);
		if (s && s->used && s->is_file)
			return bs_error_set(err, BS_ERR_INVALID, "archive member %s: outside the "
					    "tree (below the file %.*s)", raw, (int)i, path);
	}
	int rc = names_grow(t, err);
	if (rc != 0)
		return rc;
	name_key(key, path, len);
	struct name_slot *s = name_find(t, key);
	if (s->used)
		return bs_error_set(err, BS_ERR_INVALID, "archive member %s: duplicate name", raw);
	memcpy(s->key, key, NAME_KEY_LEN);
	s->used = 1;
	s->is_file = is_file;
	t->names_used++;
	return 0;
}

static const char *kind_name(mode_t ft)
{
	switch (ft) {
	case AE_IFLNK:
		return "symlink";
	case AE_IFCHR:
		return "character device";
	case AE_IFBLK:
		return "block device";
	case AE_IFIFO:
		return "fifo";
	case AE_IFSOCK:
		return "socket";
	default:
		return "member of unknown type";
	}
}

/* Check one header; fill t->cur. */
static int take_entry(struct bs_tar *t, struct archive_entry *ae, struct bs_error *err)
{
	const char *raw = archive_entry_pathname(ae);
	if (raw == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "archive member %llu has no readable "
				    "name", (unsigned long long)t->count);
	size_t rlen = strlen(raw);
	if (rlen > t->lim.name)
		return bs_error_set(err, BS_ERR_LIMIT, "archive member %.64s...: name of %zu "
				    "bytes, limit is %zu", raw, rlen, t->lim.name);
	free(t->path);
	t->path = malloc(rlen + 1);
	if (t->path == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = normalise(t->path, raw, err);
	if (rc != 0)
		return rc;
	if (archive_entry_hardlink(ae) != NULL)
		return bs_error_set(err, BS_ERR_INVALID, "archive member %s: hard link (to %s)",
				    raw, archive_entry_hardlink(ae));
	mode_t ft = archive_entry_filetype(ae);
	if (ft != AE_IFREG && ft != AE_IFDIR)
		return bs_error_set(err, BS_ERR_INVALID, "archive member %s: %s", raw,
				    kind_name(ft));
	if (archive_entry_sparse_count(ae) > 0)
		return bs_error_set(err, BS_ERR_INVALID, "archive member %s: sparse file", raw);
	uint64_t size = 0;
	if (ft == AE_IFREG) {
		la_int64_t sz = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
		if (sz < 0)
			return bs_error_set(err, BS_ERR_FORMAT, "archive member %s: bad size", raw);
		size = (uint64_t)sz;
		if (size > t->lim.unpacked - t->declared)
			return bs_error_set(err, BS_ERR_LIMIT, "archive member %s: %llu bytes "
					    "take the archive past %llu bytes unpacked", raw,
					    (unsigned long long)size,
					    (unsigned long long)t->lim.unpacked);
		t->declared += size;
	}
	rc = names_add(t, raw, t->path, ft == AE_IFREG, err);
	if (rc != 0)
		return rc;
	t->cur = (struct bs_tar_member){
		.name = raw,
		.path = t->path,
		.type = ft == AE_IFREG ? BS_TAR_FILE : BS_TAR_DIR,
		.mode = (unsigned)archive_entry_perm(ae) & 07777u,
		.mtime = archive_entry_mtime(ae),
		.size = size,
		.entry = ae,
	};
	return 0;
}

static int open_archive(struct bs_tar *t, struct bs_error *err)
{
	if (archive_read_open(t->a, t, NULL, cb_read, NULL) != ARCHIVE_OK)
		return archive_fail(t, NULL, err);
	t->opened = true;
	return 0;
}

int bs_tar_next(const struct bs_tar_member **out, struct bs_tar *t, struct bs_error *err)
{
	*out = NULL;
	if (t->failed)
		return sticky(t, err);
	if (t->ended)
		return 0;
	if (!t->opened) {
		int rc = open_archive(t, err);
		if (rc != 0)
			return rc;
	}
	/* Drain the previous member's unread data through the checked path, so a bomb
	 * that is skipped rather than read stops as early as one that is read. */
	if (t->cur.entry != NULL && t->cur.type == BS_TAR_FILE) {
		uint8_t drain[16384];
		size_t got;
		do {
			int rc = bs_tar_read(t, drain, sizeof(drain), &got, err);
			if (rc != 0)
				return rc;
		} while (got > 0);
	}
	t->cur = (struct bs_tar_member){0};
	struct archive_entry *ae = NULL;
	int r = archive_read_next_header(t->a, &ae);
	if (r == ARCHIVE_EOF) {
		t->ended = true;
		if (check_stream(t, NULL, err) != 0)
			return fail(t, err);
		if (t->count == 0) {
			bs_error_set(err, BS_ERR_INVALID, "archive is empty (no members)");
			return fail(t, err);
		}
		return 0;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return archive_fail(t, NULL, err);
	if (++t->count > t->lim.members) {
		bs_error_set(err, BS_ERR_LIMIT, "archive has more than %llu members",
			     (unsigned long long)t->lim.members);
		return fail(t, err);
	}
	int rc = take_entry(t, ae, err);
	if (rc == 0)
		rc = check_stream(t, t->cur.path, err);
	if (rc != 0)
		return fail(t, err);
	*out = &t->cur;
	return 0;
}

int bs_tar_read(struct bs_tar *t, void *buf, size_t n, size_t *got, struct bs_error *err)
{
	*got = 0;
	if (t->failed)
		return sticky(t, err);
	if (t->cur.entry == NULL || t->cur.type != BS_TAR_FILE || n == 0)
		return 0;
	la_ssize_t r = archive_read_data(t->a, buf, n);
	if (r < 0)
		return archive_fail(t, t->cur.name, err);
	int rc = check_stream(t, t->cur.path, err);
	if (rc != 0)
		return fail(t, err);
	*got = (size_t)r;
	return 0;
}

int bs_tar_slurp(uint8_t **out, size_t *out_len, struct bs_tar *t, size_t max,
		 struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (t->failed)
		return sticky(t, err);
	if (t->cur.size > max)
		return bs_error_set(err, BS_ERR_LIMIT, "archive member %s: %llu bytes, limit is "
				    "%zu", t->cur.name, (unsigned long long)t->cur.size, max);
	/* A tar member holds exactly the bytes its header declares: read into one buffer
	 * of that size (one byte more to notice a disagreement). */
	size_t size = (size_t)t->cur.size, len = 0;
	uint8_t *p = malloc(size + 1);
	if (p == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	int rc = 0;
	for (;;) {
		size_t got = 0;
		rc = bs_tar_read(t, p + len, size + 1 - len, &got, err);
		if (rc != 0)
			goto fail;
		if (got == 0)
			break;
		len += got;
		if (len > size) {
			rc = bs_error_set(err, BS_ERR_FORMAT, "archive member %s: more data than "
					  "its header declares", t->cur.name);
			goto fail;
		}
	}
	if (len != size) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "archive member %s: truncated", t->cur.name);
		goto fail;
	}
	p[len] = 0;
	*out = p;
	*out_len = len;
	return 0;
fail:
	free(p);
	return rc;
}

uint64_t bs_tar_count(const struct bs_tar *t)
{
	return t ? t->count : 0;
}

void bs_tar_free(struct bs_tar *t)
{
	if (t == NULL)
		return;
	if (t->a != NULL)
		archive_read_free(t->a);
	free(t->chunk);
	free(t->names);
	free(t->path);
	free(t);
}
