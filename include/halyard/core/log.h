/*
 * log.h: levelled logging to stderr (one line per call, written with a
 * single write(2) so lines of different threads never interleave).
 *
 * hy_log_debug() compiles out unless built with -DHY_DEBUG_LOG. Session
 * scoped lines use slog_*() in session.h, which prefix the session id, user
 * and peer address.
 */
#ifndef HALYARD_LOG_H
#define HALYARD_LOG_H

#include <time.h>

#include "halyard/core/core.h"

/* The levels, from the most to the least severe (log_level). */
enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/* Read by every thread, set by the main thread (start, reload): atomic, so a
 * reload racing a thread that logs is defined (a plain load on x86). */
extern _Atomic(enum log_level) log_level_current;

void log_set_level(enum log_level level);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *s);
void log_write(enum log_level level, const char *fmt, ...) HY_PRINTF(2, 3);
/* An audit line (admin commands, reloads): written whatever the level. */
void log_audit(const char *fmt, ...) HY_PRINTF(1, 2);

/* Main thread. Send the log to file `path` ("" = the standard error halyard
 * started with) and, with `use_syslog`, to /dev/log as well. The file is
 * opened before anything changes: on failure the log stays where it was
 * and `err` says why. An unreachable /dev/log is only a warning. */
hy_status_t log_open(const char *path, bool use_syslog, char *err, size_t errlen) HY_MUSTCHECK;
/* Main thread, SIGUSR1: open the log file again under the same name (after
 * logrotate renamed it) and reconnect to syslog. */
hy_status_t log_reopen(bool use_syslog, char *err, size_t errlen) HY_MUSTCHECK;
/* The log file in use, "" for standard error. */
const char *log_current_path(void);
/* A syslog datagram (RFC 3164, facility daemon) for `msg`; returns its
 * length. Exposed for the unit tests. */
size_t log_format_syslog(char *out, size_t len, int severity, const char *msg, time_t now);

#define hy_log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define hy_log_warn(...)                                                                           \
    do {                                                                                           \
        if (log_level_current >= LOG_LEVEL_WARN)                                                   \
            log_write(LOG_LEVEL_WARN, __VA_ARGS__);                                                \
    } while (0)
#define hy_log_info(...)                                                                           \
    do {                                                                                           \
        if (log_level_current >= LOG_LEVEL_INFO)                                                   \
            log_write(LOG_LEVEL_INFO, __VA_ARGS__);                                                \
    } while (0)
#ifdef HY_DEBUG_LOG
#define hy_log_debug(...)                                                                          \
    do {                                                                                           \
        if (log_level_current >= LOG_LEVEL_DEBUG)                                                  \
            log_write(LOG_LEVEL_DEBUG, __VA_ARGS__);                                               \
    } while (0)
#else
#define hy_log_debug(...)                                                                          \
    do {                                                                                           \
    } while (0)
#endif

#endif /* HALYARD_LOG_H */
