#include "core/log.h"

#include "core/limits.h"
#include "core/text.h"
#include "core/util.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum bs_log_level g_level = BS_LOG_INFO;
static int g_fd = 2;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_secrets[BS_LOG_SECRETS_MAX];

void bs_log_set_level(enum bs_log_level level)
{
	g_level = level;
}

void bs_log_set_fd(int fd)
{
	g_fd = fd;
}

void bs_log_add_secret(const char *secret)
{
	if (secret == NULL || secret[0] == '\0')
		return;
	pthread_mutex_lock(&g_lock);
	for (int i = 0; i < BS_LOG_SECRETS_MAX; i++) {
		if (g_secrets[i] == NULL) {
			g_secrets[i] = strdup(secret);
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
}

void bs_log_clear_secrets(void)
{
	pthread_mutex_lock(&g_lock);
	for (int i = 0; i < BS_LOG_SECRETS_MAX; i++) {
		if (g_secrets[i] != NULL) {
			OPENSSL_cleanse(g_secrets[i], strlen(g_secrets[i]));
			free(g_secrets[i]);
			g_secrets[i] = NULL;
		}
	}
	pthread_mutex_unlock(&g_lock);
}

/* Replace s[start, end) by "***". */
static void splice(char *s, size_t start, size_t end)
{
	static const char mask[] = "***";
	size_t tail = strlen(s + end);
	if (end - start < 3) {
		/* growing: only possible when the cap allows; callers use a big buffer and
		 * a value shorter than 3 chars is masked to the same length instead. */
		memset(s + start, '*', end - start);
		return;
	}
	memcpy(s + start, mask, 3);
	memmove(s + start + 3, s + end, tail + 1);
}

static const char *const g_keys[] = {"pin-value=", "pin-source=", "password=",
				     "authorization:", "pin=", "passphrase="};

/* Length of the text at s spelling `key` (case-insensitive, any character possibly
 * percent-encoded, as in "pin%2Dvalue="), or 0 if it does not. */
static size_t match_key(const char *s, const char *key)
{
	size_t i = 0;
	for (const char *k = key; *k != '\0'; k++) {
		int c = (unsigned char)s[i];
		size_t step = 1;
		int hi = c == '%' ? bs_hex_digit((unsigned char)s[i + 1]) : -1;
		int lo = hi >= 0 ? bs_hex_digit((unsigned char)s[i + 2]) : -1;
		if (lo >= 0) {
			c = hi * 16 + lo;
			step = 3;
		}
		if (c == '\0' || tolower(c) != tolower((unsigned char)*k))
			return 0;
		i += step;
	}
	return i;
}

char *bs_log_redact(char *s, size_t cap)
{
	(void)cap;
	/* key=value forms: the value runs to ; & " ' whitespace or end. */
	for (size_t k = 0; k < sizeof(g_keys) / sizeof(g_keys[0]); k++) {
		int header = g_keys[k][strlen(g_keys[k]) - 1] == ':';
		size_t pos = 0;
		while (s[pos] != '\0') {
			size_t klen = match_key(s + pos, g_keys[k]);
			if (klen == 0) {
				pos++;
				continue;
			}
			size_t start = pos + klen;
			if (header)
				while (s[start] == ' ')
					start++;
			size_t end = start;
			while (s[end] && s[end] != ';' && s[end] != '&' && s[end] != '"' &&
			       s[end] != '\'' && s[end] != '\n' && (header || s[end] != ' '))
				end++;
			if (end > start && !(end - start == 3 && strncmp(s + start, "***", 3) == 0))
				splice(s, start, end);
			/* past the mask ("***", or as many '*' as a shorter value had) */
			pos = start + (end - start < 3 ? end - start : 3);
		}
	}
	pthread_mutex_lock(&g_lock);
	for (int i = 0; i < BS_LOG_SECRETS_MAX; i++) {
		if (g_secrets[i] == NULL)
			continue;
		size_t slen = strlen(g_secrets[i]);
		char *p = s;
		while ((p = strstr(p, g_secrets[i])) != NULL) {
			size_t at = (size_t)(p - s);
			splice(s, at, at + slen);
			/* resume after the mask: a secret made of '*' must not match it again */
			p = s + at + (slen < 3 ? slen : 3);
		}
	}
	pthread_mutex_unlock(&g_lock);
	return s;
}

void bs_log(enum bs_log_level level, const char *reqid, const char *fmt, ...)
{
	if (level < g_level)
		return;
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char msg[BS_LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bs_log_redact(msg, sizeof(msg));
	/* One line per event: fold embedded newlines; no other control byte (terminal
	 * escapes from a client's file name) reaches the log either. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	bs_text_sanitize_inplace(msg);
	char ts[32];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	char line[BS_LOG_LINE_MAX + 96];
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %s [%s] %s\n", ts,
			 now.tv_nsec / 1000000, names[level], reqid ? reqid : "-", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	pthread_mutex_lock(&g_lock);
	ssize_t w = write(g_fd, line, (size_t)n);
	(void)w;
	pthread_mutex_unlock(&g_lock);
}
