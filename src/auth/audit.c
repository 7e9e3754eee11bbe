/* Audit log writer (audit.h): hash-chained records, sealed, fdatasync'd. */
#include "auth/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "auth/audit_int.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/text.h"
#include "core/util.h"
#include "crypto/key.h"

struct bs_audit {
	pthread_mutex_t lock;
	int fd;
	char path[BS_PATH_MAX];
	struct bs_key *key;
	char keyid[17];
	uint64_t seq;       /* of the last line written */
	char prev[65];      /* its hash */
	unsigned since_seal;
};

/* "\tkey=value" with every byte outside printable ASCII (and tab) shown as '?'. */
static int put_field(struct bs_buf *b, const char *key, const char *value, size_t max)
{
	int rc = bs_buf_printf(b, "\t%s=", key);
	size_t n = 0;
	for (const char *p = value != NULL ? value : ""; rc == 0 && *p && n < max; p++, n++) {
		char c = *p >= ' ' && *p <= '~' ? *p : '?';
		rc = bs_buf_append(b, &c, 1);
	}
	if (rc == 0 && (value == NULL || value[0] == '\0'))
		rc = bs_buf_append(b, "-", 1);
	return rc;
}

static void now_iso(char *out, size_t cap)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char s[32];
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

/* Finish the line (hash field, newline), write it with one write(), fdatasync. */
static int write_line(struct bs_audit *a, struct bs_buf *b, struct bs_error *err)
{
	char h[65];
	bs_audit_hash(h, b->data, b->len);
	if (bs_buf_printf(b, "\thash=%s\n", h) != 0)
		return bs_error_set(err, BS_ERR_LIMIT, "audit record longer than %u bytes",
				    BS_AUDIT_LINE_MAX);
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(a->fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			/* a partial line must not stay as the start of the next one */
			if (off > 0 && ftruncate(a->fd, lseek(a->fd, 0, SEEK_END) - (off_t)off) != 0)
				bs_log(BS_LOG_ERROR, NULL, "audit log %s: cannot remove a torn record",
				       a->path);
			return bs_error_set(err, BS_ERR_IO, "audit log %s: write: %s", a->path,
					    strerror(e));
		}
		off += (size_t)n;
	}
	if (fdatasync(a->fd) != 0 && errno != EINVAL)
		return bs_error_set(err, BS_ERR_IO, "audit log %s: fdatasync: %s", a->path,
				    strerror(errno));
	a->seq++;
	memcpy(a->prev, h, sizeof(a->prev));
	return 0;
}

static int seal(struct bs_audit *a, struct bs_error *err)
{
	if (a->key == NULL)
		return 0;
	struct bs_buf b;
	bs_buf_init(&b, BS_AUDIT_FIELD_MAX * 8);
	char t[40];
	now_iso(t, sizeof(t));
	int rc = bs_buf_printf(&b, "seq=%llu\ttime=%s\tprev=%s", (unsigned long long)a->seq + 1, t,
			       a->prev);
	uint8_t md[32];
	unsigned mdlen = 0;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	if (rc != 0 || EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1)
		rc = bs_error_set(err, BS_ERR_CRYPTO, "audit seal: digest");
	else
		rc = bs_key_sign_digest(a->key, NID_sha256, BS_SIG_DEFAULT, md, sizeof(md), &sig,
					&siglen, err);
	if (rc == 0 && siglen > BS_AUDIT_SIG_MAX)
		rc = bs_error_set(err, BS_ERR_CRYPTO, "audit seal: signature too long");
	if (rc == 0) {
		char hex[2 * BS_AUDIT_SIG_MAX + 1];
		bs_hex(hex, sig, siglen);
		if (bs_buf_printf(&b, "\tseal=%s\tkeyid=%s", hex, a->keyid) != 0)
			rc = bs_error_set(err, BS_ERR_LIMIT, "audit seal too long");
	}
	if (rc == 0)
		rc = write_line(a, &b, err);
	if (rc == 0)
		a->since_seal = 0;
	OPENSSL_free(sig);
	bs_buf_free(&b);
	return rc;
}

/* seq and hash of the last line of an existing log. */
static int read_tail(struct bs_audit *a, struct bs_error *err)
{
	struct stat st;
	if (fstat(a->fd, &st) != 0)
		return bs_error_set(err, BS_ERR_IO, "audit log %s: %s", a->path, strerror(errno));
	memset(a->prev, '0', 64);
	a->prev[64] = '\0';
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return 0;
	size_t want = st.st_size < (off_t)BS_AUDIT_LINE_MAX ? (size_t)st.st_size : BS_AUDIT_LINE_MAX;
	char *buf = malloc(want + 1);
	if (buf == NULL)
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	ssize_t n = pread(a->fd, buf, want, st.st_size - (off_t)want);
	int rc = 0;
	if (n != (ssize_t)want) {
		rc = bs_error_set(err, BS_ERR_IO, "audit log %s: cannot read its end", a->path);
		goto out;
	}
	buf[want] = '\0';
	if (buf[want - 1] != '\n') {
		rc = bs_error_set(err, BS_ERR_FORMAT, "audit log %s: the last record is torn "
				  "(check it with bootsign audit verify)", a->path);
		goto out;
	}
	buf[want - 1] = '\0';
	char *last = strrchr(buf, '\n');
	last = last != NULL ? last + 1 : buf;
	char seq[24], hash[80];
	uint64_t s = 0;
	if (bs_audit_field(seq, sizeof(seq), last, "seq") != 0 ||
	    bs_audit_field(hash, sizeof(hash), last, "hash") != 0 || strlen(hash) != 64 ||
	    bs_parse_u64(&s, seq, 10, 1, UINT64_MAX - 1, "seq", NULL) != 0) {
		rc = bs_error_set(err, BS_ERR_FORMAT, "audit log %s: the last record is malformed "
				  "(check it with bootsign audit verify)", a->path);
		goto out;
	}
	a->seq = s;
	memcpy(a->prev, hash, 65);
out:
	free(buf);
	return rc;
}

int bs_audit_open(struct bs_audit **out, const char *path, struct bs_key *key,
		  struct bs_error *err)
{
	*out = NULL;
	struct bs_audit *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		bs_key_free(key);
		return bs_error_set(err, BS_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&a->lock, NULL);
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	int rc = 0;
	if (a->fd < 0)
		rc = bs_error_set(err, BS_ERR_CONFIG, "audit log %s: %s", path, strerror(errno));
	if (rc == 0)
		rc = read_tail(a, err);
	if (rc == 0 && key != NULL && bs_audit_keyid(a->keyid, bs_key_public(key)) != 0)
		rc = bs_error_ssl(err, BS_ERR_KEY, "audit key: public key");
	a->key = key;
	if (rc == 0)
		rc = seal(a, err);
	if (rc != 0) {
		bs_key_free(a->key);
		a->key = NULL;
		bs_audit_close(a);
		return rc;
	}
	openlog("bootsign", LOG_PID, LOG_AUTH);
	*out = a;
	return 0;
}

int bs_audit_append(struct bs_audit *a, const struct bs_audit_entry *e, struct bs_error *err)
{
	struct bs_buf b;
	bs_buf_init(&b, BS_AUDIT_LINE_MAX - 100);
	char t[40], status[16];
	now_iso(t, sizeof(t));
	snprintf(status, sizeof(status), "%u", e->status);
	pthread_mutex_lock(&a->lock);
	int rc = bs_buf_printf(&b, "seq=%llu\ttime=%s\tprev=%s", (unsigned long long)a->seq + 1,
			       t, a->prev);
	const char *fields[][2] = {
		{"reqid", e->reqid}, {"client", e->client}, {"source", e->source},
		{"endpoint", e->endpoint}, {"subject", e->subject}, {"result", e->result},
		{"status", status}, {"keys", e->keys},
	};
	for (size_t i = 0; rc == 0 && i < BS_ARRAY_SIZE(fields); i++)
		rc = put_field(&b, fields[i][0], fields[i][1], BS_AUDIT_FIELD_MAX);
	if (rc == 0)
		rc = bs_buf_printf(&b, "\tdigests=%s", e->ndigests == 0 ? "-" : "");
	for (size_t i = 0; rc == 0 && i < e->ndigests; i++) {
		const char *what = "", *alg = "", *hex = "";
		e->digest(e->ctx, i, &what, &alg, &hex);
		char w[BS_JOB_WHAT_MAX];
		snprintf(w, sizeof(w), "%s", what);
		for (char *p = w; *p; p++)
			if (*p < '!' || *p > '~' || *p == '|' || *p == ';')
				*p = '_';
		rc = bs_buf_printf(&b, "%s%s|%s|%s", i ? ";" : "", w, alg, hex);
	}
	if (rc == 0)
		rc = put_field(&b, "reason", e->reason, BS_AUDIT_FIELD_MAX);
	if (rc != 0)
		rc = bs_error_set(err, BS_ERR_LIMIT, "audit record longer than %u bytes",
				  BS_AUDIT_LINE_MAX);
	if (rc == 0)
		rc = write_line(a, &b, err);
	if (rc == 0 && ++a->since_seal >= BS_AUDIT_SEAL_EVERY) {
		struct bs_error serr = {0};
		if (seal(a, &serr) != 0)
			bs_log(BS_LOG_ERROR, e->reqid, "audit seal: %s", serr.msg);
	}
	uint64_t seq = a->seq;
	pthread_mutex_unlock(&a->lock);
	if (rc == 0)
		syslog(LOG_INFO, "audit seq=%llu reqid=%s client=%s source=%s endpoint=%s "
		       "subject=%s result=%s status=%u keys=%s digests=%zu",
		       (unsigned long long)seq, e->reqid, e->client, e->source, e->endpoint,
		       e->subject ? e->subject : "-", e->result, e->status,
		       e->keys && e->keys[0] ? e->keys : "-", e->ndigests);
	else
		syslog(LOG_ERR, "audit log %s cannot be written: %s", a->path, err ? err->msg : "");
	bs_buf_free(&b);
	return rc;
}

void bs_audit_close(struct bs_audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0) {
		struct bs_error err = {0};
		if (a->key != NULL && seal(a, &err) != 0)
			bs_log(BS_LOG_ERROR, NULL, "audit seal at close: %s", err.msg);
		close(a->fd);
	}
	bs_key_free(a->key);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
