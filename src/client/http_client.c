/* libcurl transport for `bootsign client` (see http_client.h). */
#include "client/http_client.h"

#include <curl/curl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/secret.h"
#include "core/text.h"
#include "core/util.h"

struct sink {
	CURL *h;
	FILE *fp;           /* 2xx bodies when set */
	uint8_t *buf;
	size_t len, cap, max;
	bool over;          /* a memory answer exceeded max */
	uint64_t written;   /* bytes written to fp */
	bool io_failed;
	char reqid[BS_CLIENT_REQID_MAX];
};

struct progress {
	bool on;
	uint64_t last_ms;
	bool shown;
};

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init = CURLE_OK;

static void curl_init_once(void)
{
	g_curl_init = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool is_ok(long status)
{
	return status >= 200 && status < 300;
}

static int sink_mem(struct sink *s, const char *p, size_t n, size_t max)
{
	if (s->len + n > max) {
		s->over = true;
		n = max > s->len ? max - s->len : 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		uint8_t *nb = realloc(s->buf, cap);
		if (nb == NULL)
			return -1;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (is_ok(status) && s->fp != NULL) {
		if (fwrite(p, 1, n, s->fp) != n) {
			s->io_failed = true;
			return 0;
		}
		s->written += n;
		return n;
	}
	size_t max = is_ok(status) ? s->max : BS_CLIENT_ERROR_BODY_MAX;
	if (sink_mem(s, p, n, max) != 0) {
		s->io_failed = true;
		return 0;
	}
	if (s->over && is_ok(status))
		return 0; /* abort: the answer is larger than the caller accepts */
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;
	static const char name[] = "x-request-id:";
	if (n > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		const char *v = p + sizeof(name) - 1;
		size_t vl = n - (sizeof(name) - 1);
		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		bs_text_sanitize_n(s->reqid, sizeof(s->reqid), v, vl);
	}
	return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct progress *pr = ctx;
	if (!pr->on || ultotal < (curl_off_t)BS_CLIENT_PROGRESS_MIN)
		return 0;
	uint64_t now = bs_now_ms();
	if (now - pr->last_ms < 250 && ulnow != ultotal)
		return 0;
	pr->last_ms = now;
	pr->shown = true;
	fprintf(stderr, "\rbootsign: uploading %llu / %llu MiB (%u%%)  ",
		(unsigned long long)(ulnow >> 20), (unsigned long long)(ultotal >> 20),
		(unsigned)(ulnow * 100 / ultotal));
	return 0;
}

static int status_code(long status)
{
	switch (status) {
	case 400: case 405: case 409: case 422: return BS_ERR_INVALID;
	case 401: case 403: return BS_ERR_POLICY;
	case 404: return BS_ERR_NOT_FOUND;
	case 413: return BS_ERR_LIMIT;
	case 503: return BS_ERR_BUSY;
	case 504: return BS_ERR_TIMEOUT;
	default: return status >= 400 && status < 500 ? BS_ERR_INVALID : BS_ERR_IO;
	}
}

static int build_form(curl_mime **out, CURL *h, const struct bs_client_part *parts,
		      size_t nparts, struct bs_error *err)
{
	curl_mime *m = curl_mime_init(h);
	if (m == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < nparts; i++) {
		const struct bs_client_part *p = &parts[i];
		curl_mimepart *mp = curl_mime_addpart(m);
		CURLcode cc = mp ? curl_mime_name(mp, p->name) : CURLE_OUT_OF_MEMORY;
		if (cc == CURLE_OK && p->path != NULL) {
			cc = curl_mime_filedata(mp, p->path);
			if (cc == CURLE_OK && p->filename != NULL)
				cc = curl_mime_filename(mp, p->filename);
		} else if (cc == CURLE_OK && p->data != NULL) {
			cc = curl_mime_data(mp, (const char *)p->data, p->len);
			if (cc == CURLE_OK)
				cc = curl_mime_filename(mp, p->filename ? p->filename : p->name);
		} else if (cc == CURLE_OK) {
			cc = curl_mime_data(mp, p->value ? p->value : "", CURL_ZERO_TERMINATED);
		}
		if (cc != CURLE_OK) {
			curl_mime_free(m);
			return bs_error_set(err, cc == CURLE_READ_ERROR ? BS_ERR_NOT_FOUND : BS_ERR_IO,
					    "form field '%s'%s%s: %s", p->name,
					    p->path ? " from " : "", p->path ? p->path : "",
					    curl_easy_strerror(cc));
		}
	}
	*out = m;
	return 0;
}

static int setup(CURL *h, const struct bs_client *c, const char *url, curl_mime *form,
		 struct sink *s, struct progress *pr, struct bs_error *err)
{
	CURLcode cc = CURLE_OK;
#define SET(opt, val) \
	if (cc == CURLE_OK) \
	cc = curl_easy_setopt(h, opt, val)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_MIMEPOST, form);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, s);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, s);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, 30L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_USERAGENT, "bootsign-client/" BS_VERSION);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, pr);
	SET(CURLOPT_NOPROGRESS, pr->on ? 0L : 1L);
	if (c->cacert != NULL)
		SET(CURLOPT_CAINFO, c->cacert);
	if (c->cert != NULL)
		SET(CURLOPT_SSLCERT, c->cert);
	if (c->key != NULL)
		SET(CURLOPT_SSLKEY, c->key);
	if (c->token != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SET(CURLOPT_XOAUTH2_BEARER, c->token);
	}
#undef SET
	if (cc != CURLE_OK)
		return bs_error_set(err, BS_ERR_INTERNAL, "libcurl: %s", curl_easy_strerror(cc));
	return 0;
}

static void sink_reset(struct sink *s)
{
	s->len = 0;
	s->over = false;
	s->io_failed = false;
	s->reqid[0] = '\0';
	/* Only 2xx bodies reach fp and a 2xx is never retried, so this is a safety net. */
	if (s->fp != NULL && s->written > 0) {
		rewind(s->fp);
		if (ftruncate(fileno(s->fp), 0) != 0)
			s->io_failed = true;
		s->written = 0;
	}
}

static int answer_error(const struct sink *s, const char *endpoint, long status,
			struct bs_error *err)
{
	char text[BS_CLIENT_ERROR_BODY_MAX];
	size_t len = s->len;
	while (len > 0 && (s->buf[len - 1] == ' ' || s->buf[len - 1] == '\n' ||
			   s->buf[len - 1] == '\r'))
		len--;
	bs_text_sanitize_n(text, sizeof(text), s->buf ? (const char *)s->buf : "", len);
	size_t n = strlen(text);
	return bs_error_set(err, status_code(status),
			    "%s: server answered %ld (request id %s): %s", endpoint, status,
			    s->reqid[0] ? s->reqid : "-", n ? text : "(no text)");
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int bs_client_post(struct bs_client_result *res, const struct bs_client *c,
		   const char *endpoint, const struct bs_client_part *parts, size_t nparts,
		   FILE *out_fp, size_t max, struct bs_error *err)
{
	memset(res, 0, sizeof(*res));
	pthread_once(&g_curl_once, curl_init_once);
	if (g_curl_init != CURLE_OK)
		return bs_error_set(err, BS_ERR_INTERNAL, "libcurl: %s",
				    curl_easy_strerror(g_curl_init));
	char url[BS_CLIENT_URL_MAX];
	size_t sl = strlen(c->server);
	while (sl > 0 && c->server[sl - 1] == '/')
		sl--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s/sign/%s", (int)sl, c->server, endpoint) >=
	    sizeof(url))
		return bs_error_set(err, BS_ERR_LIMIT, "server URL too long");
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return bs_error_set(err, BS_ERR_INVALID, "--server %s: expected http:// or https://",
				    c->server);

	struct sink s = {.fp = out_fp, .max = max};
	struct progress pr = {.on = c->progress && isatty(STDERR_FILENO)};
	curl_mime *form = NULL;
	CURL *h = curl_easy_init();
	int rc = h ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	s.h = h;
	if (rc == 0)
		rc = build_form(&form, h, parts, nparts, err);
	if (rc == 0)
		rc = setup(h, c, url, form, &s, &pr, err);
	uint64_t wait_ms = c->retry_base_ms ? c->retry_base_ms : 1000;
	unsigned retries = c->retries < 0 ? BS_CLIENT_RETRIES_DEFAULT : (unsigned)c->retries;
	for (unsigned attempt = 0; rc == 0; attempt++) {
		sink_reset(&s);
		CURLcode cc = curl_easy_perform(h);
		if (pr.shown) {
			fputc('\n', stderr);
			pr.shown = false;
		}
		long status = 0;
		curl_off_t up = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
		res->status = status;
		res->sent = (uint64_t)up;
		snprintf(res->reqid, sizeof(res->reqid), "%s", s.reqid);
		if (s.io_failed) {
			rc = bs_error_set(err, BS_ERR_IO, "%s: cannot store the answer", endpoint);
			break;
		}
		if (s.over && is_ok(status)) {
			rc = bs_error_set(err, BS_ERR_LIMIT,
					  "%s: the answer is larger than %zu bytes (request id %s)",
					  endpoint, max, s.reqid[0] ? s.reqid : "-");
			break;
		}
		if (cc != CURLE_OK) {
			rc = bs_error_set(err, BS_ERR_IO, "%s: %s: %s", endpoint, url,
					  curl_easy_strerror(cc));
			break;
		}
		curl_off_t after = -1;
		curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after);
		if (status == 503 && after > 0 && attempt < retries) {
			uint64_t ms = (uint64_t)after * 1000;
			if (ms < wait_ms)
				ms = wait_ms;
			if (ms > BS_CLIENT_RETRY_WAIT_MAX_S * 1000ull)
				ms = BS_CLIENT_RETRY_WAIT_MAX_S * 1000ull;
			fprintf(stderr, "bootsign: %s: server busy (503, request id %s), retrying in "
				"%llu ms\n", endpoint, s.reqid[0] ? s.reqid : "-",
				(unsigned long long)ms);
			sleep_ms(ms);
			wait_ms *= 2;
			res->retries++;
			continue;
		}
		if (!is_ok(status)) {
			rc = answer_error(&s, endpoint, status, err);
			break;
		}
		if (out_fp == NULL) {
			res->body = s.buf ? s.buf : calloc(1, 1);
			res->len = s.len;
			s.buf = NULL;
			if (res->body == NULL)
				rc = bs_error_set(err, BS_ERR_NOMEM, "out of memory");
		}
		break;
	}
	free(s.buf);
	curl_mime_free(form);
	curl_easy_cleanup(h);
	return rc;
}

int bs_client_token(char **out, const char *token_file, struct bs_error *err)
{
	*out = NULL;
	if (token_file != NULL)
		return bs_secret_read_file(out, token_file, "token", err);
	const char *env = getenv("BOOTSIGN_TOKEN");
	if (env == NULL || env[0] == '\0')
		return 0;
	*out = bs_strdup(env);
	return *out ? 0 : bs_error_set(err, BS_ERR_NOMEM, "out of memory");
}
