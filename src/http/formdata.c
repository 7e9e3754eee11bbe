#include "http/formdata.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DELIM_MAX (BS_FORMDATA_BOUNDARY_MAX + 4) /* "\r\n--" boundary */

enum state {
	ST_PREAMBLE, /* before the first delimiter (ignored text) */
	ST_AFTER,    /* after a delimiter: CRLF (a part follows) or "--" (the end) */
	ST_HEADERS,  /* part header lines up to an empty line */
	ST_BODY,     /* part bytes up to the next delimiter */
	ST_DONE,     /* after the closing delimiter (epilogue ignored) */
};

struct bs_formdata {
	struct bs_upload *up;
	enum state st;
	char delim[DELIM_MAX + 1];
	size_t dlen;
	size_t m;        /* delimiter bytes matched so far */
	char after[2];   /* ST_AFTER: bytes seen */
	size_t nafter;
	char line[BS_FORMDATA_HEADER_MAX + 1];
	size_t llen;
	unsigned nlines;
	/* the current part */
	char name[BS_FORMDATA_HEADER_MAX + 1];
	char filename[BS_FORMDATA_HEADER_MAX + 1];
	char ctype[BS_FORMDATA_HEADER_MAX + 1];
	bool have_cd, have_filename, have_ctype, have_cte;
	bool reported; /* the part went to the upload (its first bytes at offset 0) */
	uint64_t off;
};

__attribute__((format(printf, 2, 3))) static int fail(struct bs_formdata *fd, const char *fmt,
						      ...)
{
	char msg[BS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bs_upload_fail(fd->up, BS_ERR_INVALID, msg);
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or quoted-string value at *pp into out (cap bytes); NULL on a syntax error. */
static const char *param_value(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return NULL;
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 >= cap)
				return NULL;
			out[n++] = *p;
		}
		p++;
	} else {
		for (; is_tchar(*p); p++) {
			if (n + 1 >= cap)
				return NULL;
			out[n++] = *p;
		}
		if (n == 0)
			return NULL;
	}
	out[n] = '\0';
	return p;
}

/* One "; key=value" parameter: key into k, value into v; NULL on a syntax error. */
static const char *next_param(const char *p, char *k, size_t kcap, char *v, size_t vcap)
{
	p = skip_ows(p);
	if (*p != ';')
		return NULL;
	p = skip_ows(p + 1);
	size_t n = 0;
	for (; is_tchar(*p); p++) {
		if (n + 1 >= kcap)
			return NULL;
		k[n++] = *p;
	}
	k[n] = '\0';
	if (n == 0 || *p != '=')
		return NULL;
	return param_value(p + 1, v, vcap);
}

static bool bchars_ok(const char *b)
{
	size_t n = strlen(b);
	if (n == 0 || n > BS_FORMDATA_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (const char *p = b; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("'()+_,-./:=? ", *p) != NULL))
			return false;
	return true;
}

int bs_formdata_boundary(char out[BS_FORMDATA_BOUNDARY_MAX + 1], const char *content_type,
			 struct bs_error *err)
{
	static const char want[] = "multipart/form-data";
	out[0] = '\0';
	const char *p = skip_ows(content_type);
	size_t tl = 0;
	while (is_tchar(p[tl]) || p[tl] == '/')
		tl++;
	if (tl != sizeof(want) - 1 || strncasecmp(p, want, tl) != 0)
		return bs_error_set(err, BS_ERR_UNSUPPORTED, "expected a multipart/form-data body");
	p += tl;
	bool seen = false;
	while (*skip_ows(p) != '\0') {
		char k[32], v[BS_FORMDATA_BOUNDARY_MAX + 2];
		const char *q = next_param(p, k, sizeof(k), v, sizeof(v));
		if (q == NULL)
			return bs_error_set(err, BS_ERR_INVALID,
					    "malformed multipart/form-data Content-Type parameters");
		p = q;
		if (strcasecmp(k, "boundary") != 0)
			continue;
		if (seen)
			return bs_error_set(err, BS_ERR_INVALID,
					    "Content-Type: boundary given more than once");
		if (!bchars_ok(v))
			return bs_error_set(err, BS_ERR_INVALID,
					    "Content-Type: the boundary must be 1 to %d letters, "
					    "digits or '()+_,-./:=? ", BS_FORMDATA_BOUNDARY_MAX);
		seen = true;
		memcpy(out, v, strlen(v) + 1);
	}
	if (!seen)
		return bs_error_set(err, BS_ERR_INVALID,
				    "malformed multipart/form-data Content-Type (missing boundary)");
	return 0;
}

int bs_formdata_new(struct bs_formdata **out, const char *boundary, struct bs_upload *up,
		    struct bs_error *err)
{
	*out = NULL;
	if (!bchars_ok(boundary))
		return bs_error_set(err, BS_ERR_INVALID, "bad multipart boundary");
	struct bs_formdata *fd = calloc(1, sizeof(*fd));
	if (fd == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	fd->up = up;
	fd->dlen = (size_t)snprintf(fd->delim, sizeof(fd->delim), "\r\n--%s", boundary);
	fd->st = ST_PREAMBLE;
	fd->m = 2; /* the body may start with the delimiter itself */
	*out = fd;
	return 0;
}

static int header_cd(struct bs_formdata *fd, const char *v)
{
	if (fd->have_cd)
		return fail(fd, "multipart part with two Content-Disposition headers");
	fd->have_cd = true;
	v = skip_ows(v);
	if (strncasecmp(v, "form-data", 9) != 0 || is_tchar(v[9]))
		return fail(fd, "multipart part is not Content-Disposition: form-data");
	const char *p = v + 9;
	bool have_name = false;
	while (*skip_ows(p) != '\0') {
		char k[32], val[BS_FORMDATA_HEADER_MAX + 1];
		const char *q = next_param(p, k, sizeof(k), val, sizeof(val));
		if (q == NULL)
			return fail(fd, "malformed Content-Disposition parameters");
		p = q;
		char *dst = NULL;
		bool *have = NULL;
		if (strcasecmp(k, "name") == 0) {
			dst = fd->name;
			have = &have_name;
		} else if (strcasecmp(k, "filename") == 0) {
			dst = fd->filename;
			have = &fd->have_filename;
		} else if (strcasecmp(k, "filename*") == 0) {
			return fail(fd, "Content-Disposition: filename* is not supported");
		} else {
			continue;
		}
		if (*have)
			return fail(fd, "Content-Disposition: %s given more than once", k);
		*have = true;
		memcpy(dst, val, strlen(val) + 1);
	}
	if (!have_name || fd->name[0] == '\0')
		return fail(fd, "multipart part without a name");
	return 0;
}

static int header_line(struct bs_formdata *fd)
{
	if (++fd->nlines > BS_FORMDATA_HEADERS_MAX)
		return fail(fd, "multipart part with more than %d header lines",
			    BS_FORMDATA_HEADERS_MAX);
	char *l = fd->line;
	if (l[0] == ' ' || l[0] == '\t')
		return fail(fd, "folded multipart header line");
	char *colon = strchr(l, ':');
	if (colon == NULL || colon == l)
		return fail(fd, "malformed multipart header line");
	*colon = '\0';
	for (char *p = l; *p; p++)
		if (!is_tchar(*p))
			return fail(fd, "malformed multipart header name");
	const char *v = skip_ows(colon + 1);
	if (strcasecmp(l, "Content-Disposition") == 0)
		return header_cd(fd, v);
	if (strcasecmp(l, "Content-Type") == 0) {
		if (fd->have_ctype)
			return fail(fd, "multipart part with two Content-Type headers");
		fd->have_ctype = true;
		if (strncasecmp(v, "multipart/", 10) == 0)
			return fail(fd, "nested multipart parts are not supported");
		memcpy(fd->ctype, v, strlen(v) + 1);
		return 0;
	}
	if (strcasecmp(l, "Content-Transfer-Encoding") == 0) {
		if (fd->have_cte)
			return fail(fd, "multipart part with two Content-Transfer-Encoding headers");
		fd->have_cte = true;
		if (strcasecmp(v, "binary") != 0 && strcasecmp(v, "8bit") != 0 &&
		    strcasecmp(v, "7bit") != 0)
			return fail(fd, "Content-Transfer-Encoding other than binary is not supported");
	}
	return 0;
}

/* Empty line: the part's bytes follow. */
static int part_begin(struct bs_formdata *fd)
{
	if (!fd->have_cd)
		return fail(fd, "multipart part without Content-Disposition");
	fd->off = 0;
	fd->reported = false;
	fd->st = ST_BODY;
	fd->m = 0;
	return 0;
}

/* Bytes of the current part; every part is reported, an empty one at its end. */
static int part_data(struct bs_formdata *fd, const char *data, size_t n)
{
	if (n == 0 && fd->reported)
		return 0;
	fd->reported = true;
	int rc = bs_upload_feed(fd->up, fd->name, fd->have_filename ? fd->filename : NULL,
				fd->have_ctype ? fd->ctype : NULL, data, fd->off, n);
	fd->off += n;
	return rc;
}

static void part_reset(struct bs_formdata *fd)
{
	fd->st = ST_AFTER;
	fd->nafter = 0;
	fd->llen = 0;
	fd->nlines = 0;
	fd->name[0] = fd->filename[0] = fd->ctype[0] = '\0';
	fd->have_cd = fd->have_filename = fd->have_ctype = fd->have_cte = false;
}

/* Scan for the delimiter; bytes that are not part of it are part data (ST_BODY) or
 * ignored (ST_PREAMBLE). Data goes to the upload in one run per call to this function
 * (up to a delimiter or the end of `d`), not one per CR it holds: random payloads carry a
 * CR every 256 bytes, and a write per CR made a 64 MiB upload half a million syscalls.
 * Returns bytes consumed, or -1 on error. */
static long scan(struct bs_formdata *fd, const char *d, size_t len)
{
	bool body = fd->st == ST_BODY;
	size_t i = 0, run = 0; /* run: start of pending data in d */
	size_t mstart = 0;     /* where the match in progress began, when it began in d */
	bool mhere = false;
	while (i < len) {
		if (fd->m == 0) {
			const char *cr = memchr(d + i, '\r', len - i);
			if (cr == NULL) {
				i = len;
				break;
			}
			i = (size_t)(cr - d);
			mstart = i;
			mhere = true;
		}
		if (d[i] == fd->delim[fd->m]) {
			fd->m++;
			i++;
			if (fd->m == fd->dlen) {
				size_t end = mhere ? mstart : run;
				if (body && end > run && part_data(fd, d + run, end - run) != 0)
					return -1;
				if (body && part_data(fd, "", 0) != 0)
					return -1;
				part_reset(fd);
				return (long)i;
			}
			continue;
		}
		/* mismatch: the bytes matched so far were data (the delimiter's only CR is
		 * its first byte, so no later position can start a match). A match carried
		 * over from the previous call precedes everything in d: its bytes go first. */
		size_t held = fd->m;
		fd->m = 0;
		if (held > 0 && !mhere) {
			if (body && part_data(fd, fd->delim, held) != 0)
				return -1;
			run = i; /* d[0..i) were the held match's last bytes, sent just now */
		}
		mhere = false;
		if (d[i] == '\r')
			continue; /* may start a match */
		i++;
	}
	/* a match still in progress keeps its bytes until it completes or fails */
	size_t end = fd->m > 0 ? (mhere ? mstart : run) : i;
	if (body && end > run && part_data(fd, d + run, end - run) != 0)
		return -1;
	return (long)i;
}

static int feed_one(struct bs_formdata *fd, char c)
{
	switch (fd->st) {
	case ST_AFTER:
		fd->after[fd->nafter++] = c;
		if (fd->nafter < 2)
			return 0;
		if (memcmp(fd->after, "--", 2) == 0) {
			fd->st = ST_DONE;
			return 0;
		}
		if (memcmp(fd->after, "\r\n", 2) != 0)
			return fail(fd, "malformed multipart delimiter line");
		fd->st = ST_HEADERS;
		return 0;
	case ST_HEADERS:
		if (c == '\n') {
			if (fd->llen == 0 || fd->line[fd->llen - 1] != '\r')
				return fail(fd, "multipart header line without CRLF");
			fd->line[--fd->llen] = '\0';
			if (fd->llen == 0)
				return part_begin(fd);
			fd->llen = 0;
			return header_line(fd);
		}
		if ((c != '\r' && c != '\t' && (unsigned char)c < 0x20) || c == 0x7f)
			return fail(fd, "control character in a multipart header");
		if (fd->llen >= BS_FORMDATA_HEADER_MAX)
			return fail(fd, "multipart header line longer than %d bytes",
				    BS_FORMDATA_HEADER_MAX);
		fd->line[fd->llen++] = c;
		return 0;
	default:
		return 0;
	}
}

int bs_formdata_feed(struct bs_formdata *fd, const char *data, size_t len)
{
	int rc = bs_upload_error(fd->up, NULL);
	size_t i = 0;
	while (rc == 0 && i < len) {
		if (fd->st == ST_DONE)
			break; /* epilogue: ignored */
		if (fd->st == ST_PREAMBLE || fd->st == ST_BODY) {
			long n = scan(fd, data + i, len - i);
			if (n < 0)
				break;
			i += (size_t)n;
		} else {
			rc = feed_one(fd, data[i++]);
		}
		rc = bs_upload_error(fd->up, NULL);
	}
	return bs_upload_error(fd->up, NULL);
}

int bs_formdata_end(struct bs_formdata *fd)
{
	if (fd->st != ST_DONE)
		return fail(fd, "incomplete multipart/form-data body (truncated?)");
	return bs_upload_error(fd->up, NULL);
}

void bs_formdata_free(struct bs_formdata *fd)
{
	free(fd);
}
