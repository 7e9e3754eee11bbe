/* The CST PKI tree as a tar.gz bundle, read entirely in memory with libarchive.
 *
 * Nothing is extracted to disk. Every entry name is normalised ("./" and empty components
 * dropped); absolute names, ".." components, and symlinks or hardlinks whose target leaves
 * the bundle are refused (BS_ERR_PATH) when the bundle is opened, so a bad bundle fails
 * early and as a whole. If every entry sits under one top-level directory that is not
 * itself "crts" or "keys" (`tar czf x.tgz cst-tree/`), that directory is stripped so
 * "crts/..." resolves either way (and "<dir>/crts/..." still does too). Bounded by
 * BS_STORE_BUNDLE_MAX (uncompressed total), BS_STORE_ENTRIES_MAX and BS_STORE_FILE_MAX. */
#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "keys/store.h"
#include "keys/store_int.h"

enum entry_type { E_FILE, E_SYMLINK, E_HARDLINK };

struct entry {
	char *name;      /* normalised */
	enum entry_type type;
	char *target;    /* symlink: normalised absolute-in-bundle path; hardlink: name */
	uint8_t *data;
	size_t len;
};

struct bs_bundle {
	struct entry *e;
	size_t n;
	size_t cap;
	char *stripped; /* "<dir>/" removed from every name, or NULL */
};

/* Append the '/'-separated components of `path` to the normalised name res[0..*o):
 * empty and "." components are skipped; ".." drops the last component when `dotdot` is
 * allowed. False when ".." is not allowed or has nothing left to drop. `res` must hold
 * *o + strlen(path) + 2 bytes. */
static bool append_path(char *res, size_t *o, const char *path, bool dotdot)
{
	const char *p = path;
	while (*p != '\0') {
		const char *s = strchr(p, '/');
		size_t cl = s ? (size_t)(s - p) : strlen(p);
		if (cl == 2 && p[0] == '.' && p[1] == '.') {
			if (!dotdot || *o == 0)
				return false;
			while (*o > 0 && res[*o - 1] != '/')
				(*o)--;
			if (*o > 0)
				(*o)--; /* drop the separator */
		} else if (cl > 0 && !(cl == 1 && p[0] == '.')) {
			if (*o > 0)
				res[(*o)++] = '/';
			memcpy(res + *o, p, cl);
			*o += cl;
		}
		p += cl;
		if (*p == '/')
			p++;
	}
	return true;
}

int bs_store_norm_name(char **out, const char *name, struct bs_error *err)
{
	*out = NULL;
	if (name == NULL || name[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "empty file name");
	size_t len = strlen(name);
	if (len >= BS_STORE_NAME_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "file name too long (%zu bytes)", len);
	if (name[0] == '/')
		return bs_error_set(err, BS_ERR_PATH, "%s: absolute names are not allowed", name);
	char *res = malloc(len + 1);
	if (res == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	size_t o = 0;
	if (!append_path(res, &o, name, false)) {
		free(res);
		return bs_error_set(err, BS_ERR_PATH, "%s: '..' is not allowed", name);
	}
	res[o] = '\0';
	if (o == 0) {
		free(res);
		return bs_error_set(err, BS_ERR_INVALID, "%s: names no file", name);
	}
	*out = res;
	return 0;
}

/* Resolve a symlink target lexically against the link's directory. ".." may climb, but
 * not above the bundle root. Result is a normalised bundle name. */
static int resolve_link(char **out, const char *link, const char *target,
			struct bs_error *err)
{
	*out = NULL;
	if (target[0] == '/')
		return bs_error_set(err, BS_ERR_PATH, "%s: symlink to absolute path %s leaves the "
				    "bundle", link, target);
	size_t ll = strlen(link), tl = strlen(target);
	if (ll + tl + 2 >= BS_STORE_NAME_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "%s: symlink target too long", link);
	char *res = malloc(ll + tl + 2);
	if (res == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	/* Start with the link's directory. */
	const char *slash = strrchr(link, '/');
	size_t o = slash ? (size_t)(slash - link) : 0;
	memcpy(res, link, o);
	if (!append_path(res, &o, target, true)) {
		free(res);
		return bs_error_set(err, BS_ERR_PATH, "%s: symlink target %s leaves the bundle",
				    link, target);
	}
	res[o] = '\0';
	if (o == 0) {
		free(res);
		return bs_error_set(err, BS_ERR_PATH, "%s: symlink target %s is the bundle root",
				    link, target);
	}
	*out = res;
	return 0;
}

static const struct entry *find(const struct bs_bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->e[i].name, name) == 0)
			return &b->e[i];
	return NULL;
}

void bs_bundle_free(struct bs_bundle *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].name);
		free(b->e[i].target);
		bs_free_secret(b->e[i].data, b->e[i].len);
	}
	free(b->e);
	free(b->stripped);
	free(b);
}

const char *bs_bundle_name(const struct bs_bundle *b, size_t i)
{
	return i < b->n ? b->e[i].name : NULL;
}

size_t bs_bundle_count(const struct bs_bundle *b)
{
	return b ? b->n : 0;
}

static int read_data(struct archive *a, const char *name, uint8_t **out, size_t *out_len,
		     size_t *total, struct bs_error *err)
{
	struct bs_buf buf;
	bs_buf_init(&buf, BS_STORE_FILE_MAX);
	uint8_t chunk[8192];
	int rc = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			rc = bs_error_set(err, BS_ERR_FORMAT, "bundle entry %s: %s", name,
					  archive_error_string(a));
			goto out;
		}
		if (*total + (size_t)n > BS_STORE_BUNDLE_MAX) {
			rc = bs_error_set(err, BS_ERR_LIMIT, "bundle larger than %u bytes "
					  "uncompressed", BS_STORE_BUNDLE_MAX);
			goto out;
		}
		*total += (size_t)n;
		if (bs_buf_append(&buf, chunk, (size_t)n) != 0) {
			rc = bs_error_set(err, buf.len + (size_t)n > BS_STORE_FILE_MAX ?
					  BS_ERR_LIMIT : BS_ERR_NOMEM,
					  "bundle entry %s: larger than %u bytes", name,
					  BS_STORE_FILE_MAX);
			goto out;
		}
	}
	*out = bs_buf_steal(&buf, out_len);
out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	bs_buf_free(&buf);
	return rc;
}

static int add_entry(struct bs_bundle *b, struct entry *e, struct bs_error *err)
{
	if (find(b, e->name) != NULL)
		return bs_error_set(err, BS_ERR_FORMAT, "bundle has %s twice", e->name);
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 32;
		struct entry *ne = realloc(b->e, nc * sizeof(*ne));
		if (ne == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		b->e = ne;
		b->cap = nc;
	}
	b->e[b->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static int read_entries(struct bs_bundle *b, struct archive *a, struct bs_error *err)
{
	size_t total = 0, count = 0;
	struct archive_entry *ae;
	for (;;) {
		int r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return bs_error_set(err, BS_ERR_FORMAT, "bundle: %s",
					    archive_error_string(a));
		if (++count > BS_STORE_ENTRIES_MAX)
			return bs_error_set(err, BS_ERR_LIMIT, "bundle has more than %d entries",
					    BS_STORE_ENTRIES_MAX);
		const char *raw = archive_entry_pathname(ae);
		if (raw == NULL)
			return bs_error_set(err, BS_ERR_FORMAT, "bundle entry %zu has no name",
					    count);
		const char *hl = archive_entry_hardlink(ae);
		mode_t ft = archive_entry_filetype(ae);
		if (hl == NULL && ft != AE_IFREG && ft != AE_IFLNK) {
			/* Directories carry nothing; other types are ignored. Still check the
			 * name so a bundle with "../x/" is rejected. */
			char *tmp = NULL;
			int rc = bs_store_norm_name(&tmp, raw, err);
			free(tmp);
			if (rc == BS_ERR_PATH || rc == BS_ERR_LIMIT)
				return rc;
			continue;
		}
		struct entry e = {0};
		int rc = bs_store_norm_name(&e.name, raw, err);
		if (rc != 0) {
			bs_error_prefix(err, "bundle entry");
			return rc;
		}
		if (hl != NULL) {
			e.type = E_HARDLINK;
			rc = bs_store_norm_name(&e.target, hl, err);
			if (rc != 0) {
				free(e.name);
				if (rc == BS_ERR_INVALID)
					return bs_error_set(err, BS_ERR_PATH, "bundle hardlink %s: "
							    "bad target", raw);
				bs_error_prefix(err, "bundle hardlink %s", raw);
				return rc;
			}
		} else if (ft == AE_IFLNK) {
			e.type = E_SYMLINK;
			const char *t = archive_entry_symlink(ae);
			rc = resolve_link(&e.target, e.name, t ? t : "", err);
			if (rc != 0) {
				free(e.name);
				return rc;
			}
		} else {
			e.type = E_FILE;
			if (archive_entry_size_is_set(ae) &&
			    archive_entry_size(ae) > (la_int64_t)BS_STORE_FILE_MAX) {
				rc = bs_error_set(err, BS_ERR_LIMIT, "bundle entry %s: %lld bytes, "
						  "limit is %u", e.name,
						  (long long)archive_entry_size(ae),
						  BS_STORE_FILE_MAX);
				free(e.name);
				return rc;
			}
			rc = read_data(a, e.name, &e.data, &e.len, &total, err);
			if (rc != 0) {
				free(e.name);
				return rc;
			}
		}
		rc = add_entry(b, &e, err);
		if (rc != 0) {
			free(e.name);
			free(e.target);
			bs_free_secret(e.data, e.len);
			return rc;
		}
	}
}

/* Drop "<dir>/" in front of `s` (in place). */
static void strip_prefix(char *s, size_t plen)
{
	memmove(s, s + plen, strlen(s + plen) + 1);
}

/* `tar czf keys.tgz mytree/` puts everything under one directory: strip it. */
static int strip_single_top_dir(struct bs_bundle *b, struct bs_error *err)
{
	if (b->n == 0)
		return 0;
	const char *first = b->e[0].name;
	const char *slash = strchr(first, '/');
	if (slash == NULL)
		return 0;
	size_t plen = (size_t)(slash - first) + 1;
	if ((plen == 5 && (strncmp(first, "crts/", 5) == 0 || strncmp(first, "keys/", 5) == 0)))
		return 0;
	for (size_t i = 1; i < b->n; i++)
		if (strncmp(b->e[i].name, first, plen) != 0)
			return 0;
	char *prefix = malloc(plen + 1);
	if (prefix == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	memcpy(prefix, first, plen);
	prefix[plen] = '\0';
	b->stripped = prefix;
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = &b->e[i];
		if (e->target != NULL) {
			if (strncmp(e->target, prefix, plen) != 0)
				return bs_error_set(err, BS_ERR_PATH, "bundle %s %s: target %s leaves "
						    "the bundle", e->type == E_HARDLINK ?
						    "hardlink" : "symlink", e->name, e->target);
			strip_prefix(e->target, plen);
		}
		strip_prefix(e->name, plen);
	}
	return 0;
}

/* Every link must end at a regular file inside the bundle within the depth bound. */
static int check_links(const struct bs_bundle *b, struct bs_error *err)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->e[i].type == E_FILE)
			continue;
		const uint8_t *d;
		size_t l;
		int rc = bs_bundle_lookup(b, b->e[i].name, &d, &l, err);
		if (rc == BS_ERR_NOT_FOUND)
			return bs_error_set(err, BS_ERR_PATH, "bundle %s %s: target %s is not in "
					    "the bundle", b->e[i].type == E_HARDLINK ? "hardlink" :
					    "symlink", b->e[i].name, b->e[i].target);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int bs_bundle_lookup(const struct bs_bundle *b, const char *name, const uint8_t **data,
		     size_t *len, struct bs_error *err)
{
	*data = NULL;
	*len = 0;
	/* A name that still carries the stripped top directory ("mytree/crts/x") is
	 * accepted too, so CSFs written against the unpacked tree keep working. */
	if (b->stripped != NULL && find(b, name) == NULL) {
		size_t pl = strlen(b->stripped);
		if (strncmp(name, b->stripped, pl) == 0 && name[pl] != '\0')
			name += pl;
	}
	const char *cur = name;
	for (int depth = 0; depth <= BS_STORE_LINK_DEPTH; depth++) {
		const struct entry *e = find(b, cur);
		if (e == NULL)
			return bs_error_set(err, BS_ERR_NOT_FOUND, "%s: not found in bundle%s%s",
					    name, cur == name ? "" : " (via link to ",
					    cur == name ? "" : cur);
		if (e->type == E_FILE) {
			*data = e->data;
			*len = e->len;
			return 0;
		}
		cur = e->target;
	}
	return bs_error_set(err, BS_ERR_PATH, "%s: more than %d levels of links", name,
			    BS_STORE_LINK_DEPTH);
}

int bs_bundle_parse(struct bs_bundle **out, const uint8_t *data, size_t len,
		    struct bs_error *err)
{
	*out = NULL;
	if (data == NULL || len == 0)
		return bs_error_set(err, BS_ERR_FORMAT, "bundle is empty");
	if (len > BS_STORE_BUNDLE_MAX)
		return bs_error_set(err, BS_ERR_LIMIT, "bundle is %zu bytes, limit is %u", len,
				    BS_STORE_BUNDLE_MAX);
	struct bs_bundle *b = calloc(1, sizeof(*b));
	struct archive *a = archive_read_new();
	int rc = 0;
	if (b == NULL || a == NULL) {
		rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK) {
		rc = bs_error_set(err, BS_ERR_INTERNAL, "libarchive: %s", archive_error_string(a));
		goto fail;
	}
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "bundle: %s", archive_error_string(a));
		goto fail;
	}
	rc = read_entries(b, a, err);
	if (rc != 0)
		goto fail;
	rc = strip_single_top_dir(b, err);
	if (rc != 0)
		goto fail;
	rc = check_links(b, err);
	if (rc != 0)
		goto fail;
	archive_read_free(a);
	*out = b;
	return 0;
fail:
	if (a != NULL)
		archive_read_free(a);
	bs_bundle_free(b);
	return rc;
}
