/* Every fixed maximum of bootsign, named once (as curl keeps its DYN_* list).
 *
 * A bound on untrusted or operator input lives here with a line saying what it bounds and
 * why the value is enough; code uses the name, never a bare 512 or 4096. Defaults that the
 * configuration may change stay in core/config.h. */
#ifndef BS_CORE_LIMITS_H
#define BS_CORE_LIMITS_H

/* ---- core ---- */
#define BS_ERROR_MSG_MAX 512                /* one error message, NUL included */
#define BS_LOG_LINE_MAX 2048                /* one formatted log message before the prefix */
#define BS_SECRET_FILE_MAX 4096u            /* a PIN / passphrase file (first line used) */
#define BS_PATH_MAX 4096u                   /* a path we build (PATH_MAX on Linux) */
#define BS_CONFIG_LINE_MAX 1024             /* one line of the server configuration */
#define BS_CONFIG_FILE_MAX (64u * 1024)     /* the whole server configuration file */
#define BS_CONFIG_WHERE_MAX 300             /* "file:line" naming a configuration setting */
#define BS_NUMBER_SHOWN_MAX 32              /* a rejected number quoted in a message */
#define BS_RUN_ARGS_MAX 256                 /* argv entries of an external tool */
#define BS_RUN_TAIL_MAX 4096u               /* stderr bytes of a failed tool kept */
#define BS_RUN_TERM_GRACE_MS 1000u          /* SIGTERM -> SIGKILL grace of a timed-out tool */

#endif
