/* Logging: one line per event, to stderr (or a configured fd), every line carrying a
 * request id ("-" outside requests). Messages pass through bs_log_redact() so that
 * PINs (the values of `pin-value` and `pin-source` URI attributes), Authorization headers and configured secret
 * strings never reach the log. */
#ifndef BS_CORE_LOG_H
#define BS_CORE_LOG_H

#include <stddef.h>

#include "core/error.h"

enum bs_log_level { BS_LOG_DEBUG, BS_LOG_INFO, BS_LOG_WARN, BS_LOG_ERROR };

void bs_log_set_level(enum bs_log_level level);
void bs_log_set_fd(int fd);

/* Register a secret (e.g. the HSM PIN) whose every occurrence is replaced by "***" in
 * log lines. At most a handful; the string is copied (and wiped at exit). */
void bs_log_add_secret(const char *secret);
void bs_log_clear_secrets(void);

/* Log a line: "<time> <level> [<reqid>] <message>". reqid may be NULL. */
void bs_log(enum bs_log_level level, const char *reqid, const char *fmt, ...) BS_PRINTF(3, 4);

/* Redact in place: values of pin-value=/pin-source=/password=/Authorization:, and every
 * registered secret, are replaced with "***" (the string may shrink, never grow beyond
 * cap). Returns s. Exposed for unit tests. */
char *bs_log_redact(char *s, size_t cap);

#endif
