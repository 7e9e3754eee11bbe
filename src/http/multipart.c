#include "http/multipart.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"

struct slot {
	struct bs_buf buf;   /* MEM (room for the terminator) */
	size_t max;          /* MEM: value bound */
	int fd;              /* SPOOL in a file */
	uint8_t *mem;        /* SPOOL in memory: mem_cap bytes reserved from the spool budget */
	size_t mem_cap;
	bool open;           /* SPOOL: receiving started (memory or file) */
	bool borrowed;       /* SPOOL: f->path is the caller's file: never removed */
};

struct bs_upload {
	const struct bs_signer *signer;
	struct bs_spool *spool;
	char reqid[40];
	uint64_t max_request;
	uint64_t size_hint;  /* Content-Length, 0 = unknown */
	uint64_t bytes;
	struct bs_form form;
	struct slot slots[BS_FORM_FIELDS_MAX];
	int cur;             /* field currently receiving (-1 none, -2 undeclared) */
	struct bs_error err;
	bool finished;
};

int bs_upload_new(struct bs_upload **out, const struct bs_signer *signer,
		  struct bs_spool *spool, const char *reqid, uint64_t max_request,
		  struct bs_error *err)
{
	*out = NULL;
	if (signer->nfields > BS_FORM_FIELDS_MAX)
		return bs_error_set(err, BS_ERR_INTERNAL, "signer %s declares too many fields",
				    signer->name);
	struct bs_upload *up = calloc(1, sizeof(*up));
	if (up == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	up->signer = signer;
	up->spool = spool;
	snprintf(up->reqid, sizeof(up->reqid), "%s", reqid);
	up->max_request = max_request;
	up->cur = -1;
	up->form.n = signer->nfields;
	for (size_t i = 0; i < signer->nfields; i++) {
		const struct bs_field_spec *spec = &signer->fields[i];
		up->form.f[i].spec = spec;
		up->slots[i].fd = -1;
		size_t max = spec->max;
		if (spec->store == BS_FIELD_MEM && max == 0)
			max = BS_FIELD_TEXT_MAX;
		up->slots[i].max = max;
		bs_buf_init(&up->slots[i].buf, max + 1);
	}
	*out = up;
	return 0;
}

int bs_upload_fail(struct bs_upload *up, int code, const char *msg)
{
	if (up->err.code == 0)
		bs_error_set(&up->err, code, "%s", msg);
	return up->err.code;
}

int bs_upload_error(const struct bs_upload *up, struct bs_error *err)
{
	if (up->err.code != 0 && err != NULL)
		*err = up->err;
	return up->err.code;
}

static int field_index(const struct bs_upload *up, const char *key)
{
	for (size_t i = 0; i < up->form.n; i++)
		if (strcmp(up->form.f[i].spec->name, key) == 0)
			return (int)i;
	return -2;
}

static int set_meta(struct bs_upload *up, struct bs_form_field *f, const char *filename,
		    const char *content_type)
{
	if (filename != NULL) {
		if (strlen(filename) > BS_MP_FILENAME_MAX)
			return bs_error_set(&up->err, BS_ERR_INVALID,
					    "%s: file name longer than %d bytes", f->spec->name,
					    BS_MP_FILENAME_MAX);
		if ((f->filename = strdup(filename)) == NULL)
			return bs_error_set(&up->err, BS_ERR_NOMEM, "out of memory");
	}
	if (content_type != NULL) {
		if ((f->content_type = strndup(content_type, BS_MP_CTYPE_MAX)) == NULL)
			return bs_error_set(&up->err, BS_ERR_NOMEM, "out of memory");
	}
	return 0;
}

void bs_upload_set_size_hint(struct bs_upload *up, uint64_t content_length)
{
	up->size_hint = content_length;
}

/* Chunked bodies (no Content-Length) start with this much memory and grow by doubling. */
#define MEM_SPOOL_FIRST (64u * 1024)

static void mem_drop(struct bs_upload *up, struct slot *s, size_t used)
{
	if (s->mem == NULL)
		return;
	OPENSSL_cleanse(s->mem, used);
	free(s->mem);
	bs_spool_mem_release(up->spool, s->mem_cap);
	s->mem = NULL;
	s->mem_cap = 0;
}

/* A memory buffer of cap bytes taken from the budget; false (nothing held) if refused. */
static bool mem_take(struct bs_upload *up, struct slot *s, size_t cap)
{
	if (!bs_spool_mem_reserve(up->spool, cap))
		return false;
	s->mem = malloc(cap);
	if (s->mem == NULL) {
		bs_spool_mem_release(up->spool, cap);
		return false;
	}
	s->mem_cap = cap;
	return true;
}

/* Make room for `need` bytes in memory (true), or say the field must go to a file. */
static bool mem_grow(struct bs_upload *up, struct slot *s, size_t used, uint64_t need)
{
	uint64_t max = bs_spool_mem_max(up->spool);
	if (need > max)
		return false;
	size_t cap = s->mem_cap * 2 > need ? s->mem_cap * 2 : (size_t)need;
	if (cap > max)
		cap = (size_t)max;
	struct slot bigger = {0};
	if (!mem_take(up, &bigger, cap))
		return false;
	memcpy(bigger.mem, s->mem, used);
	mem_drop(up, s, used);
	s->mem = bigger.mem;
	s->mem_cap = bigger.mem_cap;
	return true;
}

static int write_all(int fd, const char *data, size_t size);

/* Move a memory-spooled field into a new 0600 spool file. */
static int spill(struct bs_upload *up, int i)
{
	struct bs_form_field *f = &up->form.f[i];
	struct slot *s = &up->slots[i];
	int rc = bs_spool_create(up->spool, up->reqid, f->spec->name, &s->fd, &f->path,
				 &up->err);
	if (rc != 0)
		return rc;
	if (f->size > 0 && write_all(s->fd, (const char *)s->mem, (size_t)f->size) != 0)
		return bs_error_set(&up->err, BS_ERR_IO, "spool write failed: %s",
				    strerror(errno));
	mem_drop(up, s, (size_t)f->size);
	return 0;
}

/* Start receiving a new value for field i. */
static int start_field(struct bs_upload *up, int i, const char *filename,
		       const char *content_type)
{
	struct bs_form_field *f = &up->form.f[i];
	struct slot *s = &up->slots[i];
	if (f->present)
		return bs_error_set(&up->err, BS_ERR_INVALID, "%s: field given more than once",
				    f->spec->name);
	f->present = true;
	int rc = set_meta(up, f, filename, content_type);
	if (rc != 0)
		return rc;
	if (f->spec->store == BS_FIELD_SPOOL) {
		uint64_t max = bs_spool_mem_max(up->spool);
		uint64_t first = up->size_hint != 0 ? up->size_hint : MEM_SPOOL_FIRST;
		if (first > max)
			first = up->size_hint != 0 ? 0 : max; /* known too big: straight to disk */
		if (first == 0 || !mem_take(up, s, (size_t)first)) {
			rc = bs_spool_create(up->spool, up->reqid, f->spec->name, &s->fd,
					     &f->path, &up->err);
			if (rc != 0)
				return rc;
		}
		s->open = true;
	}
	return 0;
}

static int write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

int bs_upload_feed(struct bs_upload *up, const char *key, const char *filename,
		   const char *content_type, const char *data, uint64_t off, size_t size)
{
	if (up->err.code != 0)
		return up->err.code;
	up->bytes += size;
	if (up->bytes > up->max_request)
		return bs_error_set(&up->err, BS_ERR_LIMIT, "request larger than %llu bytes",
				    (unsigned long long)up->max_request);
	if (key == NULL)
		return bs_error_set(&up->err, BS_ERR_INVALID, "multipart part without a name");
	int i = field_index(up, key);
	if (i < 0) {
		/* a misspelled optional field ("methd", "hashlag") would otherwise sign with the
		 * default silently: refuse it, naming the fields this endpoint takes */
		char shown[64], known[256];
		size_t o = 0;
		known[0] = '\0';
		for (size_t k = 0; k < up->form.n && o < sizeof(known); k++) {
			int w = snprintf(known + o, sizeof(known) - o, "%s%s", k ? ", " : "",
					 up->form.f[k].spec->name);
			if (w < 0)
				break;
			o += (size_t)w;
		}
		bs_text_sanitize(shown, sizeof(shown), key);
		return bs_error_set(&up->err, BS_ERR_INVALID, "unknown field '%s' for /sign/%s "
				    "(fields: %s)", shown, up->signer->name, known);
	}
	if (off == 0) { /* always a new value: a second one of a field is refused */
		up->cur = i;
		if (i >= 0) {
			int rc = start_field(up, i, filename, content_type);
			if (rc != 0)
				return rc;
		}
	} else if (i != up->cur) {
		return bs_error_set(&up->err, BS_ERR_INVALID, "%s: malformed multipart data", key);
	}
	if (size == 0)
		return 0;
	struct bs_form_field *f = &up->form.f[i];
	struct slot *s = &up->slots[i];
	if (f->spec->store == BS_FIELD_MEM) {
		if (s->buf.len + size > s->max)
			return bs_error_set(&up->err, BS_ERR_LIMIT, "%s: larger than %zu bytes",
					    f->spec->name, s->max);
		int rc = bs_buf_append(&s->buf, data, size);
		if (rc != 0)
			return bs_error_set(&up->err, rc, "out of memory");
		f->len = s->buf.len;
		return 0;
	}
	if (f->spec->max != 0 && f->size + size > f->spec->max)
		return bs_error_set(&up->err, BS_ERR_LIMIT, "%s: larger than %zu bytes",
				    f->spec->name, f->spec->max);
	if (s->mem != NULL && f->size + size > s->mem_cap &&
	    !mem_grow(up, s, (size_t)f->size, f->size + size)) {
		int rc = spill(up, i);
		if (rc != 0)
			return rc;
	}
	if (s->mem != NULL)
		memcpy(s->mem + f->size, data, size);
	else if (write_all(s->fd, data, size) != 0)
		return bs_error_set(&up->err, BS_ERR_IO, "spool write failed: %s",
				    strerror(errno));
	f->size += size;
	return 0;
}

int bs_utf8_check(const uint8_t *p, size_t len, size_t *bad_off)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = p[i];
		size_t n;
		uint32_t cp;
		if (c == 0) {
			*bad_off = i;
			return -1;
		}
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			*bad_off = i;
			return -1;
		}
		if (i + n >= len) {
			*bad_off = i;
			return -1;
		}
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80) {
				*bad_off = i;
				return -1;
			}
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		static const uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
		if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			*bad_off = i;
			return -1;
		}
		i += n + 1;
	}
	return 0;
}

static int check_token(const char *name, const char *v, struct bs_error *err)
{
	if (v[0] == '\0')
		return bs_error_set(err, BS_ERR_INVALID, "%s: empty", name);
	for (const char *p = v; *p; p++)
		if (*p <= ' ' || *p > '~')
			return bs_error_set(err, BS_ERR_INVALID,
					    "%s: invalid character at position %zu", name,
					    (size_t)(p - v) + 1);
	return 0;
}

static int check_field(struct bs_form_field *f, struct bs_error *err)
{
	const struct bs_field_spec *spec = f->spec;
	if (spec->file_upload && f->filename == NULL)
		return bs_error_set(err, BS_ERR_INVALID,
				    "%s: must be sent as a file upload (-F %s=@FILE)", spec->name,
				    spec->name);
	if (spec->store != BS_FIELD_MEM)
		return 0;
	const char *v = f->value;
	if (memchr(v, '\0', f->len) != NULL && spec->check != BS_CHECK_TEXT)
		return bs_error_set(err, BS_ERR_INVALID, "%s: contains a NUL byte", spec->name);
	switch (spec->check) {
	case BS_CHECK_NONE:
		break;
	case BS_CHECK_NAME: {
		int rc = bs_sign_check_name(spec->name, v, err);
		if (rc != 0)
			return rc;
		break;
	}
	case BS_CHECK_TOKEN: {
		int rc = check_token(spec->name, v, err);
		if (rc != 0)
			return rc;
		break;
	}
	case BS_CHECK_TEXT: {
		size_t bad = 0;
		if (f->len == 0)
			return bs_error_set(err, BS_ERR_INVALID, "%s: empty", spec->name);
		if (bs_utf8_check((const uint8_t *)v, f->len, &bad) != 0)
			return bs_error_set(err, BS_ERR_INVALID,
					    "%s: not UTF-8 text (bad byte 0x%02x at offset %zu)",
					    spec->name, (unsigned)(uint8_t)v[bad], bad);
		break;
	}
	}
	if (spec->choices != NULL) {
		for (const char *const *c = spec->choices; *c != NULL; c++)
			if (strcmp(*c, v) == 0)
				return 0;
		char list[200] = "";
		for (const char *const *c = spec->choices; *c != NULL; c++) {
			size_t n = strlen(list);
			snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *c);
		}
		char shown[40];
		bs_text_sanitize(shown, sizeof(shown), v);
		return bs_error_set(err, BS_ERR_INVALID, "%s: '%s' is not one of: %s", spec->name,
				    shown, list);
	}
	return 0;
}

int bs_upload_finish(struct bs_upload *up, struct bs_error *err)
{
	if (up->err.code != 0)
		return bs_upload_error(up, err);
	up->finished = true;
	for (size_t i = 0; i < up->form.n; i++) {
		struct bs_form_field *f = &up->form.f[i];
		struct slot *s = &up->slots[i];
		if (f->spec->store != BS_FIELD_SPOOL || !s->open)
			continue;
		if (s->fd >= 0) {
			int c = close(s->fd);
			s->fd = -1;
			if (c != 0)
				return bs_error_set(err, BS_ERR_IO, "spool close failed");
		}
		f->data = s->mem;
	}
	for (size_t i = 0; i < up->form.n; i++) {
		struct bs_form_field *f = &up->form.f[i];
		struct slot *s = &up->slots[i];
		if (f->spec->store == BS_FIELD_MEM) {
			if (f->present) {
				if (bs_buf_append_u8(&s->buf, 0) != 0)
					return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
				f->value = (char *)s->buf.data;
			} else if (f->spec->default_value != NULL) {
				f->value = (char *)f->spec->default_value;
				f->len = strlen(f->value);
				continue;
			}
		}
		if (!f->present) {
			if (f->spec->required)
				return bs_error_set(err, BS_ERR_INVALID, "missing field '%s'",
						    f->spec->name);
			continue;
		}
		if (f->spec->store == BS_FIELD_SPOOL && f->size == 0 && f->spec->required)
			return bs_error_set(err, BS_ERR_INVALID, "%s: empty", f->spec->name);
		int rc = check_field(f, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int bs_upload_attach_file(struct bs_upload *up, const char *field, const char *path,
			  const char *filename, struct bs_error *err)
{
	for (size_t i = 0; i < up->form.n; i++) {
		struct bs_form_field *f = &up->form.f[i];
		if (strcmp(f->spec->name, field) != 0)
			continue;
		if (f->spec->store != BS_FIELD_SPOOL)
			return bs_error_set(err, BS_ERR_INVALID, "%s: not a file field", field);
		if (f->present)
			return bs_error_set(err, BS_ERR_INVALID, "%s: field given more than once",
					    field);
		struct stat st;
		if (stat(path, &st) != 0)
			return bs_error_set(err, errno == ENOENT ? BS_ERR_NOT_FOUND : BS_ERR_IO,
					    "%s: %s", path, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return bs_error_set(err, BS_ERR_INVALID, "%s: not a regular file", path);
		if ((f->path = bs_strdup(path)) == NULL ||
		    (f->filename = bs_strdup(filename)) == NULL)
			return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		up->slots[i].borrowed = true;
		f->present = true;
		f->size = (uint64_t)st.st_size;
		return 0;
	}
	return bs_error_set(err, BS_ERR_INVALID, "signer %s has no field '%s'",
			    up->signer->name, field);
}

const struct bs_form *bs_upload_form(const struct bs_upload *up)
{
	return &up->form;
}

uint64_t bs_upload_bytes(const struct bs_upload *up)
{
	return up->bytes;
}

void bs_upload_free(struct bs_upload *up)
{
	if (up == NULL)
		return;
	for (size_t i = 0; i < up->form.n; i++) {
		struct bs_form_field *f = &up->form.f[i];
		struct slot *s = &up->slots[i];
		if (s->fd >= 0)
			close(s->fd);
		mem_drop(up, s, (size_t)f->size);
		f->data = NULL;
		if (f->path != NULL) {
			if (!s->borrowed)
				unlink(f->path);
			free(f->path);
		}
		free(f->filename);
		free(f->content_type);
		bs_buf_free(&s->buf);
	}
	free(up);
}
