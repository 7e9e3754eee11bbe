/* bs_pki_pack_tgz: pack a directory tree (a CST PKI tree) into a gzip'd tar in memory
 * with libarchive. Entries are named relative to the tree root ("crts/...", "keys/...")
 * in sorted order; only directories and regular files are accepted. */
#include "core/limits.h"
#include "formats/hab/pki.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "formats/hab/bundle.h"

struct tgz {
	struct archive *a;
	struct bs_buf out;
	size_t entries;
	size_t total;
	time_t now;
	bool bundle;     /* a server bundle: only bs_hab_bundle_member_wanted files */
	size_t skipped;  /* files left out of a bundle */
	struct bs_error *err;
};

static la_ssize_t tgz_write_cb(struct archive *a, void *ctx, const void *data, size_t len)
{
	struct tgz *t = ctx;
	if (bs_buf_append(&t->out, data, len) != 0) {
		archive_set_error(a, ENOMEM, "tar.gz exceeds %u bytes", BS_PKI_TGZ_MAX);
		return -1;
	}
	return (la_ssize_t)len;
}

static int tgz_add(struct tgz *t, const char *path, const char *rel, const struct stat *st)
{
	if (++t->entries > BS_PKI_TGZ_ENTRIES_MAX)
		return bs_error_set(t->err, BS_ERR_LIMIT, "%s: more than %d entries", path,
				    BS_PKI_TGZ_ENTRIES_MAX);
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = 0;
	if (S_ISREG(st->st_mode)) {
		if ((rc = bs_read_file(&data, &len, path, BS_PKI_TGZ_FILE_MAX, t->err)) != 0)
			return rc;
		t->total += len;
		if (t->total > BS_PKI_TGZ_MAX) {
			rc = bs_error_set(t->err, BS_ERR_LIMIT, "%s: tree exceeds %u bytes", path,
					  BS_PKI_TGZ_MAX);
			goto out;
		}
	}
	struct archive_entry *e = archive_entry_new();
	if (e == NULL) {
		rc = bs_error_set(t->err, BS_ERR_NOMEM, "out of memory");
		goto out;
	}
	archive_entry_set_pathname(e, rel);
	archive_entry_set_filetype(e, S_ISDIR(st->st_mode) ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, st->st_mode & 07777);
	archive_entry_set_size(e, S_ISREG(st->st_mode) ? (la_int64_t)len : 0);
	archive_entry_set_mtime(e, t->now, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(t->a, e) != ARCHIVE_OK ||
	    (len > 0 && archive_write_data(t->a, data, len) != (la_ssize_t)len))
		rc = bs_error_set(t->err, BS_ERR_IO, "tar.gz: %s: %s", rel,
				  archive_error_string(t->a));
	archive_entry_free(e);
out:
	bs_free_secret(data, len); /* key_pass.txt lives in this tree */
	return rc;
}

static int tgz_walk(struct tgz *t, const char *dir, const char *rel, int depth)
{
	if (depth > BS_PKI_TGZ_DEPTH_MAX)
		return bs_error_set(t->err, BS_ERR_LIMIT, "%s: deeper than %d levels", dir,
				    BS_PKI_TGZ_DEPTH_MAX);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return bs_error_set(t->err, BS_ERR_IO, "%s: %s", dir, strerror(errno));
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (rc != 0 || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		char path[BS_PATH_MAX], rpath[BS_PATH_MAX];
		int l1 = snprintf(path, sizeof(path), "%s/%s", dir, nm);
		int l2 = rel[0] != '\0' ? snprintf(rpath, sizeof(rpath), "%s/%s", rel, nm)
					: snprintf(rpath, sizeof(rpath), "%s", nm);
		if (l1 < 0 || (size_t)l1 >= sizeof(path) || l2 < 0 || (size_t)l2 >= sizeof(rpath)) {
			rc = bs_error_set(t->err, BS_ERR_LIMIT, "%s: path too long", dir);
			continue;
		}
		struct stat st;
		if (lstat(path, &st) != 0) {
			rc = bs_error_set(t->err, BS_ERR_IO, "%s: %s", path, strerror(errno));
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			rc = bs_error_set(t->err, BS_ERR_INVALID, "%s: not a file or directory",
					  path);
			continue;
		}
		if (t->bundle && S_ISREG(st.st_mode) &&
		    !bs_hab_bundle_member_wanted(rpath, false)) {
			t->skipped++;
			continue;
		}
		/* A bundle holds files only: their folders come with their names. */
		if (!t->bundle || S_ISREG(st.st_mode))
			rc = tgz_add(t, path, rpath, &st);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = tgz_walk(t, path, rpath, depth + 1);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int pack(uint8_t **out, size_t *out_len, const char *dir, bool bundle, size_t *skipped,
		struct bs_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (dir == NULL)
		return bs_error_set(err, BS_ERR_INVALID, "tar.gz: no directory");
	struct stat st;
	if (stat(dir, &st) != 0)
		return bs_error_set(err, errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
				    "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return bs_error_set(err, BS_ERR_INVALID, "%s: not a directory", dir);

	struct tgz t = { .now = time(NULL), .bundle = bundle, .err = err };
	bs_buf_init(&t.out, BS_PKI_TGZ_MAX);
	int rc = 0;
	t.a = archive_write_new();
	if (t.a == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(t.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t.a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t.a, &t, NULL, tgz_write_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = bs_error_set(err, BS_ERR_IO, "tar.gz: %s", archive_error_string(t.a));
		goto fail;
	}
	if ((rc = tgz_walk(&t, dir, "", 0)) != 0)
		goto fail;
	if (archive_write_close(t.a) != ARCHIVE_OK) {
		rc = bs_error_set(err, BS_ERR_IO, "tar.gz: %s", archive_error_string(t.a));
		goto fail;
	}
	archive_write_free(t.a);
	if (bundle && t.entries == 0) {
		bs_buf_free(&t.out);
		return bs_error_set(err, BS_ERR_NOT_FOUND,
				    "%s: no crts/ or keys/ files (not a CST PKI tree)", dir);
	}
	if (skipped != NULL)
		*skipped = t.skipped;
	*out = bs_buf_steal(&t.out, out_len);
	return 0;
fail:
	archive_write_free(t.a);
	bs_buf_free(&t.out);
	return rc;
}

int bs_pki_pack_tgz(uint8_t **out, size_t *out_len, const char *dir, struct bs_error *err)
{
	return pack(out, out_len, dir, false, NULL, err);
}

int bs_pki_pack_bundle(uint8_t **out, size_t *out_len, const char *dir, size_t *skipped,
		       struct bs_error *err)
{
	return pack(out, out_len, dir, true, skipped, err);
}
