/*
 * log.c: see log.h. Lines look like
 *   2026-11-21T20:30:01.123Z halyard[1234] INFO message
 *
 * Every thread writes to descriptor 2 with one write(2) per line. A log file
 * is opened and dup2()'d onto descriptor 2, and so is its replacement on
 * SIGUSR1: dup2 swaps the file under the same descriptor number atomically,
 * so a thread writing at that moment writes to the old file or the new one,
 * never to a descriptor that was closed and reused for a client socket.
 * Syslog lines go the same way through a datagram socket connected to
 * /dev/log, sent with MSG_DONTWAIT: when syslog does not keep up a line is
 * dropped rather than a worker blocked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/log.h"

_Atomic(enum log_level) log_level_current = LOG_LEVEL_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
/* syslog severities of the levels: err, warning, info, debug */
static const int level_syslog[] = {3, 4, 6, 7};
#define SYSLOG_NOTICE 5
#define SYSLOG_DAEMON (3 << 3)

/* Main thread only. */
static char log_path[4096];  /* "" = standard error */
static int orig_stderr = -1; /* the standard error halyard started with */

/* Read by every thread. */
static atomic_int syslog_fd = -1; /* fixed once created; reconnects dup2 onto it */
static atomic_bool syslog_on;

void log_set_level(enum log_level level)
{
    log_level_current = level;
}

int log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(names); i++) {
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    }
    return -1;
}

size_t log_format_syslog(char *out, size_t len, int severity, const char *msg, time_t now)
{
    struct tm tm;
    char stamp[32];
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    int n = snprintf(out, len, "<%d>%s halyard[%d]: %s", SYSLOG_DAEMON | severity, stamp,
                     (int)getpid(), msg);
    if (n < 0)
        return 0;
    return HY_MIN((size_t)n, len - 1);
}

static void log_vwrite(const char *tag, int severity, const char *fmt, va_list ap)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ halyard[%d] %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), (int)getpid(), tag);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : HY_MIN((size_t)m, sizeof(line) - (size_t)n - 2));
    line[len++] = '\n';
    ssize_t w HY_UNUSED = write(STDERR_FILENO, line, len);

    if (atomic_load_explicit(&syslog_on, memory_order_acquire)) {
        char dgram[2100];
        line[len - 1] = '\0';
        /* The message keeps its level word: "INFO listening on ...". */
        size_t dlen = log_format_syslog(dgram, sizeof(dgram), severity, line + n - strlen(tag) - 1,
                                        tv.tv_sec);
        /* A datagram syslog does not take is lost: the line is in the log already. */
        ssize_t sent HY_UNUSED =
            send(atomic_load(&syslog_fd), dgram, dlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

void log_write(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level_names[level], level_syslog[level], fmt, ap);
    va_end(ap);
}

void log_audit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite("AUDIT", SYSLOG_NOTICE, fmt, ap);
    va_end(ap);
}

/* Connect a fresh datagram socket to /dev/log and put it under syslog_fd. */
static hy_status_t syslog_connect(char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", "/dev/log");
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "syslog: socket: %s", strerror(errno));
        return HY_ERROR;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        snprintf(err, errlen, "syslog: cannot connect to /dev/log: %s", strerror(errno));
        close(fd);
        return HY_ERROR;
    }
    int cur = atomic_load(&syslog_fd);
    if (cur < 0) {
        atomic_store(&syslog_fd, fd);
    } else {
        dup2(fd, cur);
        close(fd);
    }
    return HY_OK;
}

/* Open `path` for appending and put it under descriptor 2. */
static hy_status_t file_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
        return HY_ERROR;
    }
    if (orig_stderr < 0)
        orig_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd != STDERR_FILENO) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    return HY_OK;
}

hy_status_t log_open(const char *path, bool use_syslog, char *err, size_t errlen)
{
    if (path[0] != '\0' && strcmp(path, log_path) != 0) {
        if (file_open(path, err, errlen) != HY_OK)
            return HY_ERROR;
    } else if (path[0] == '\0' && log_path[0] != '\0' && orig_stderr >= 0) {
        dup2(orig_stderr, STDERR_FILENO);
    }
    snprintf(log_path, sizeof(log_path), "%s", path);

    if (!use_syslog) {
        atomic_store(&syslog_on, false);
        return HY_OK;
    }
    if (!atomic_load(&syslog_on)) {
        char why[256];
        if (syslog_connect(why, sizeof(why)) != HY_OK) {
            /* Not fatal: syslog may come up later; SIGUSR1 tries again. */
            hy_log_warn("%s; log lines go to %s only until SIGUSR1 or a reload", why,
                        log_path[0] ? log_path : "standard error");
            return HY_OK;
        }
        atomic_store_explicit(&syslog_on, true, memory_order_release);
    }
    return HY_OK;
}

hy_status_t log_reopen(bool use_syslog, char *err, size_t errlen)
{
    if (log_path[0] != '\0' && file_open(log_path, err, errlen) != HY_OK)
        return HY_ERROR;
    if (use_syslog) {
        char why[256];
        if (syslog_connect(why, sizeof(why)) == HY_OK)
            atomic_store_explicit(&syslog_on, true, memory_order_release);
        else
            hy_log_warn("%s", why);
    }
    return HY_OK;
}

const char *log_current_path(void)
{
    return log_path;
}
