/* Output sinks of a signing job (job.h): memory, scratch file, tar.gz through libarchive.
 * A file or tar.gz output lives in the job's scratch directory; the HTTP layer sends it
 * from a descriptor, so a large answer is never held in memory. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/util.h"
#include "sign/job_int.h"


/* Bytes per write(2) of a tar.gz answer: libarchive's default (10 KiB) made a 64 MiB FIT
 * answer 6,500 writes. Only the blocking of the output changes, never its bytes (the last
 * block is not padded). */
#define BS_SINK_TGZ_BLOCK (64 * 1024)

struct bs_sink {
	enum bs_sink_kind kind;
	char content_type[64];
	char filename[BS_SINK_NAME_MAX];
	struct bs_buf mem;        /* MEMORY, TEXT */
	int fd;                   /* FILE, TGZ */
	char *path;
	struct archive *ar;       /* TGZ */
	uint64_t size;            /* bytes written (FILE: end of file; TGZ: member data) */
	uint64_t entry_left;      /* TGZ: data bytes the current member still expects */
	bool in_entry;
	bool closed;
};

static int write_all(int fd, const void *data, size_t n, off_t off, bool at,
		     struct bs_error *err)
{
	const uint8_t *p = data;
	while (n > 0) {
		ssize_t w = at ? pwrite(fd, p, n, off) : write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return bs_error_set(err, BS_ERR_IO, "writing the output failed: %s",
					    w < 0 ? strerror(errno) : "short write");
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static la_ssize_t ar_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct bs_sink *s = ctx;
	if (write_all(s->fd, buf, n, 0, false, NULL) != 0) {
		archive_set_error(a, EIO, "write failed");
		return -1;
	}
	return (la_ssize_t)n;
}

static int sink_create(struct bs_sink **out, enum bs_sink_kind k, const char *scratch,
		const char *content_type, const char *filename, int level, struct bs_error *err)
{
	*out = NULL;
	struct bs_sink *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	s->kind = k;
	s->fd = -1;
	bs_buf_init(&s->mem, BS_SINK_MEMORY_MAX);
	snprintf(s->content_type, sizeof(s->content_type), "%s",
		 content_type != NULL ? content_type
				      : k == BS_SINK_TGZ ? "application/gzip"
				      : k == BS_SINK_TEXT ? "text/plain; charset=utf-8"
							  : "application/octet-stream");
	snprintf(s->filename, sizeof(s->filename), "%s", filename != NULL ? filename : "");
	if (k == BS_SINK_FILE || k == BS_SINK_TGZ) {
		size_t n = strlen(scratch) + 16;
		if ((s->path = malloc(n)) == NULL) {
			bs_sink_free(s);
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		}
		snprintf(s->path, n, "%s/output", scratch);
		s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (s->fd < 0) {
			int e = errno;
			free(s->path);
			s->path = NULL;
			bs_sink_free(s);
			return bs_error_set(err, BS_ERR_IO, "cannot create the output file: %s",
					    strerror(e));
		}
	}
	if (k == BS_SINK_TGZ) {
		s->ar = archive_write_new();
		if (s->ar == NULL || archive_write_set_format_pax_restricted(s->ar) != ARCHIVE_OK ||
		    archive_write_add_filter_gzip(s->ar) != ARCHIVE_OK ||
		    (level >= 0 && archive_write_set_filter_option(s->ar, "gzip",
				"compression-level", (char[]){(char)('0' + level), '\0'}) !=
				ARCHIVE_OK) ||
		    archive_write_set_bytes_per_block(s->ar, BS_SINK_TGZ_BLOCK) != ARCHIVE_OK ||
		    archive_write_set_bytes_in_last_block(s->ar, 1) != ARCHIVE_OK ||
		    archive_write_open(s->ar, s, NULL, ar_write, NULL) != ARCHIVE_OK) {
			int rc = bs_error_set(err, BS_ERR_INTERNAL, "tar.gz writer: %s",
					      s->ar ? archive_error_string(s->ar) : "no memory");
			bs_sink_free(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

int bs_sink_new(struct bs_sink **out, enum bs_sink_kind k, const char *scratch,
		const char *content_type, const char *filename, struct bs_error *err)
{
	return sink_create(out, k, scratch, content_type, filename, -1, err);
}

int bs_sink_new_tgz(struct bs_sink **out, const char *scratch, const char *filename, int level,
		    struct bs_error *err)
{
	if (level < 0 || level > 9)
		return bs_error_set(err, BS_ERR_INTERNAL, "gzip level %d", level);
	return sink_create(out, BS_SINK_TGZ, scratch, NULL, filename, level, err);
}

int bs_sink_write(struct bs_sink *s, const void *data, size_t n, struct bs_error *err)
{
	if (s->closed)
		return bs_error_set(err, BS_ERR_INTERNAL, "output already closed");
	switch (s->kind) {
	case BS_SINK_MEMORY:
	case BS_SINK_TEXT: {
		int rc = bs_buf_append(&s->mem, data, n);
		if (rc == BS_ERR_LIMIT)
			return bs_error_set(err, rc, "answer larger than %u bytes", BS_SINK_MEMORY_MAX);
		if (rc != 0)
			return bs_error_set(err, rc, "out of memory");
		break;
	}
	case BS_SINK_FILE: {
		int rc = write_all(s->fd, data, n, 0, false, err);
		if (rc != 0)
			return rc;
		break;
	}
	case BS_SINK_TGZ:
		if (!s->in_entry || n > s->entry_left)
			return bs_error_set(err, BS_ERR_INTERNAL, "tar.gz: %zu data bytes outside "
					    "a member's declared size", n);
		if (n > 0 && archive_write_data(s->ar, data, n) != (la_ssize_t)n)
			return bs_error_set(err, BS_ERR_IO, "tar.gz: %s",
					    archive_error_string(s->ar));
		s->entry_left -= n;
		break;
	}
	s->size += n;
	return 0;
}

int bs_sink_pwrite(struct bs_sink *s, const void *data, size_t n, uint64_t off,
		   struct bs_error *err)
{
	if (off > s->size || n > s->size - off)
		return bs_error_set(err, BS_ERR_INTERNAL, "patch beyond the written output");
	if (s->kind == BS_SINK_MEMORY) {
		memcpy(s->mem.data + off, data, n);
		return 0;
	}
	if (s->kind == BS_SINK_FILE)
		return write_all(s->fd, data, n, (off_t)off, true, err);
	return bs_error_set(err, BS_ERR_INTERNAL, "this output cannot be patched");
}

static int end_entry(struct bs_sink *s, struct bs_error *err)
{
	if (s->in_entry && s->entry_left != 0)
		return bs_error_set(err, BS_ERR_INTERNAL, "tar.gz: member %llu bytes short",
				    (unsigned long long)s->entry_left);
	s->in_entry = false;
	return 0;
}

int bs_sink_tgz_entry(struct bs_sink *s, struct archive_entry *entry, struct bs_error *err)
{
	if (s->kind != BS_SINK_TGZ || s->closed)
		return bs_error_set(err, BS_ERR_INTERNAL, "not an open tar.gz output");
	int rc = end_entry(s, err);
	if (rc != 0)
		return rc;
	if (archive_write_header(s->ar, entry) != ARCHIVE_OK)
		return bs_error_set(err, BS_ERR_IO, "tar.gz: %s: %s",
				    archive_entry_pathname(entry), archive_error_string(s->ar));
	s->in_entry = true;
	s->entry_left = archive_entry_filetype(entry) == AE_IFREG &&
					archive_entry_size_is_set(entry)
				? (uint64_t)archive_entry_size(entry)
				: 0;
	return 0;
}

int bs_sink_tgz_file(struct bs_sink *s, const char *name, unsigned mode, time_t mtime,
		     const void *data, size_t n, struct bs_error *err)
{
	struct archive_entry *e = archive_entry_new();
	if (e == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, mode & 07777);
	archive_entry_set_mtime(e, mtime, 0);
	archive_entry_set_size(e, (la_int64_t)n);
	int rc = bs_sink_tgz_entry(s, e, err);
	archive_entry_free(e);
	if (rc == 0)
		rc = bs_sink_write(s, data, n, err);
	return rc;
}

uint64_t bs_sink_size(const struct bs_sink *s)
{
	return s->kind == BS_SINK_MEMORY || s->kind == BS_SINK_TEXT ? s->mem.len : s->size;
}

int bs_sink_close(struct bs_sink *s, struct bs_error *err)
{
	if (s->closed)
		return 0;
	if (s->kind == BS_SINK_TGZ) {
		int rc = end_entry(s, err);
		if (rc != 0)
			return rc;
		if (archive_write_close(s->ar) != ARCHIVE_OK)
			return bs_error_set(err, BS_ERR_IO, "tar.gz: %s",
					    archive_error_string(s->ar));
		struct stat st;
		if (fstat(s->fd, &st) != 0)
			return bs_error_set(err, BS_ERR_IO, "output: %s", strerror(errno));
		s->size = (uint64_t)st.st_size;
	}
	s->closed = true;
	return 0;
}

int bs_sink_output(struct bs_sink *s, struct bs_job_output *out, struct bs_error *err)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->content_type = s->content_type;
	out->filename = s->filename;
	if (!s->closed)
		return bs_error_set(err, BS_ERR_INTERNAL, "output not finished");
	if (s->kind == BS_SINK_MEMORY || s->kind == BS_SINK_TEXT) {
		out->data = s->mem.data != NULL ? s->mem.data : (const uint8_t *)"";
		out->len = s->mem.len;
		out->size = s->mem.len;
		return 0;
	}
	int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return bs_error_set(err, BS_ERR_IO, "output: %s", strerror(errno));
	out->fd = fd;
	out->size = s->size;
	return 0;
}

void bs_sink_free(struct bs_sink *s)
{
	if (s == NULL)
		return;
	if (s->ar != NULL)
		archive_write_free(s->ar);
	if (s->fd >= 0)
		close(s->fd);
	if (s->path != NULL) {
		unlink(s->path);
		free(s->path);
	}
	bs_buf_free(&s->mem);
	free(s);
}
