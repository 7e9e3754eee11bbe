#include "core/error.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 0))) static void vset(struct bs_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int bs_error_set(struct bs_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int bs_error_ssl(struct bs_error *err, int code, const char *fmt, ...)
{
	if (err == NULL) {
		ERR_clear_error();
		return code;
	}
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	unsigned long e;
	int first = 1;
	while ((e = ERR_get_error()) != 0) {
		size_t len = strlen(err->msg);
		if (len + 4 >= sizeof(err->msg))
			continue; /* keep draining */
		char buf[256];
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err->msg + len, sizeof(err->msg) - len, "%s%s", first ? ": " : "; ",
			 buf);
		first = 0;
	}
	return code;
}

int bs_error_prefix(struct bs_error *err, const char *fmt, ...)
{
	if (err == NULL)
		return BS_ERR_INTERNAL;
	char prefix[BS_ERROR_MSG_MAX];
	char old[BS_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

int bs_error_recode(struct bs_error *err, int code)
{
	if (err != NULL)
		err->code = code;
	return code;
}

void bs_error_clear(struct bs_error *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

const char *bs_err_name(int code)
{
	switch (code) {
	case BS_OK: return "ok";
	case BS_ERR_NOMEM: return "nomem";
	case BS_ERR_IO: return "io";
	case BS_ERR_INVALID: return "invalid";
	case BS_ERR_SYNTAX: return "syntax";
	case BS_ERR_SEMANTIC: return "semantic";
	case BS_ERR_LIMIT: return "limit";
	case BS_ERR_NOT_FOUND: return "not-found";
	case BS_ERR_PATH: return "path";
	case BS_ERR_UNSUPPORTED: return "unsupported";
	case BS_ERR_CRYPTO: return "crypto";
	case BS_ERR_KEY: return "key";
	case BS_ERR_FORMAT: return "format";
	case BS_ERR_VERIFY: return "verify";
	case BS_ERR_TOKEN: return "token";
	case BS_ERR_TIMEOUT: return "timeout";
	case BS_ERR_CONFIG: return "config";
	case BS_ERR_POLICY: return "policy";
	case BS_ERR_INTERNAL: return "internal";
	case BS_ERR_BUSY: return "busy";
	case BS_ERR_TOOL: return "tool";
	case BS_ERR_AUTH: return "auth";
	case BS_ERR_DENIED: return "denied";
	case BS_ERR_RATE: return "rate";
	default: return "unknown";
	}
}
