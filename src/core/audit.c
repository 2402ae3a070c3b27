/*
 * audit.c: the audit log and the query log. See audit.h.
 *
 * Design
 * ------
 * Each log is a `struct alog`: a descriptor, an on/off flag, and a
 * lock-free list of formatted lines (newest first, pushed with a CAS loop
 * as worker_call does). Producers (any thread) format a line into a heap
 * node's textbuf, reserve its bytes in `queued` (over AUDIT_QUEUE_MAX: drop and
 * count), and push it. The writer thread wakes every WRITER_PERIOD or when
 * poked through an eventfd (an audit line, or a query log past
 * WAKE_BYTES), takes each list whole with one atomic exchange, restores
 * its order and writes it with writev.
 *
 * The descriptors never change number while the writer runs: a new file
 * (reload with another path, SIGUSR1 after logrotate) is opened by the main
 * thread and dup2()'d onto the old descriptor, as log.c does for the log
 * file, so the writer writes to the old file or the new one, never to a
 * closed or reused descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/audit.h"
#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"

#define WRITER_PERIOD_MS 100
#define WAKE_BYTES       (256u << 10)
#define WRITE_BATCH      64 /* lines per writev */

struct aline {
    struct aline *next;
    struct textbuf text; /* one JSON object and its newline */
};

struct alog {
    const char *key; /* config key, for messages */
    _Atomic(struct aline *) head;
    atomic_size_t queued; /* bytes pushed and not yet written */
    atomic_int fd;        /* -1 until first opened; fixed afterwards (dup2) */
    atomic_bool on;
    _Atomic uint64_t lines, dropped;
    char path[4096]; /* main thread */
};

static struct alog audit_log = {.key = "audit_log", .fd = -1};
static struct alog query_log = {.key = "query_log", .fd = -1};
static atomic_int_fast64_t query_min_us;
static int wake_fd = -1;
static pthread_t writer;
static bool writer_running;
static atomic_bool writer_stop;

/* ---- escaping ---------------------------------------------------------- */

bool audit_json_escape(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
    size_t n = hy_json_escape(NULL, s, len);
    if (n > cap - *pos)
        return false;
    *pos += hy_json_escape(out + *pos, s, len);
    return true;
}

/* ---- building a line --------------------------------------------------- */

/* ,"key": */
static void line_key(struct aline *l, const char *key)
{
    textbuf_puts(&l->text, ",\"");
    textbuf_puts(&l->text, key);
    textbuf_puts(&l->text, "\":");
}

static void line_strn(struct aline *l, const char *key, const char *s, size_t n)
{
    line_key(l, key);
    if (s == NULL)
        textbuf_puts(&l->text, "null");
    else
        textbuf_json_strn(&l->text, s, n);
}

static void line_str(struct aline *l, const char *key, const char *s)
{
    line_strn(l, key, s, s != NULL ? strlen(s) : 0);
}

static void line_u64(struct aline *l, const char *key, uint64_t v)
{
    line_key(l, key);
    textbuf_printf(&l->text, "%" PRIu64, v);
}

static void line_bool(struct aline *l, const char *key, bool v)
{
    line_key(l, key);
    textbuf_puts(&l->text, v ? "true" : "false");
}

static void line_free(struct aline *l)
{
    textbuf_free(&l->text);
    free(l);
}

/* {"time":"...","event":"..." ; NULL when out of memory. */
static struct aline *line_begin(const char *event)
{
    struct aline *l = malloc(sizeof(*l));
    if (l == NULL)
        return NULL;
    l->next = NULL;
    textbuf_init(&l->text, AUDIT_QUEUE_MAX); /* a longer line is dropped anyway */
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    textbuf_printf(&l->text, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"event\":\"%s\"",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   (int)(tv.tv_usec / 1000), event);
    return l;
}

/* Close the line and queue it; `wake`: poke the writer now. */
static void line_push(struct alog *log, struct aline *l, bool wake)
{
    if (l == NULL) {
        atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
        return;
    }
    textbuf_puts(&l->text, "}\n");
    if (l->text.overflow) {
        line_free(l);
        atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
        return;
    }
    size_t len = l->text.len;
    size_t before = atomic_fetch_add_explicit(&log->queued, len, memory_order_relaxed);
    if (before + len > AUDIT_QUEUE_MAX) {
        atomic_fetch_sub_explicit(&log->queued, len, memory_order_relaxed);
        atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
        line_free(l);
        return;
    }
    struct aline *head = atomic_load_explicit(&log->head, memory_order_relaxed);
    do {
        l->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&log->head, &head, l, memory_order_release,
                                                    memory_order_relaxed));
    if (wake || before + len >= WAKE_BYTES) {
        uint64_t one = 1;
        ssize_t w HY_UNUSED = write(wake_fd, &one, sizeof(one)); /* non-blocking eventfd */
    }
}

static bool log_on(struct alog *log)
{
    return atomic_load_explicit(&log->on, memory_order_relaxed);
}

/* ---- the audit events -------------------------------------------------- */

void audit_login(bool ok, uint32_t session, const char *user, const char *client,
                 const char *listener, const char *reason)
{
    if (!log_on(&audit_log))
        return;
    struct aline *l = line_begin(ok ? "login" : "login_failed");
    if (l != NULL) {
        line_u64(l, "session", session);
        line_str(l, "user", user);
        line_str(l, "client", client);
        line_str(l, "listener", listener);
        if (!ok)
            line_str(l, "reason", reason);
    }
    line_push(&audit_log, l, true);
}

void audit_admin(const char *who, const char *command, const char *result)
{
    if (!log_on(&audit_log))
        return;
    struct aline *l = line_begin("admin");
    if (l != NULL) {
        line_str(l, "by", who);
        line_str(l, "command", command);
        line_str(l, "result", result);
    }
    line_push(&audit_log, l, true);
}

void audit_reload(bool ok, const char *by, const char *message)
{
    if (!log_on(&audit_log))
        return;
    struct aline *l = line_begin("reload");
    if (l != NULL) {
        line_str(l, "by", by);
        line_str(l, "result", ok ? "ok" : "error");
        line_str(l, "message", message);
    }
    line_push(&audit_log, l, true);
}

void audit_backend(enum audit_backend_change what, const char *backend, const char *from,
                   const char *to, const char *reason)
{
    static const char *const events[] = {
        [AUDIT_BACKEND_STATE] = "backend_state",
        [AUDIT_BACKEND_ROLE] = "backend_role",
        [AUDIT_BACKEND_FENCED] = "backend_fenced",
    };
    if (!log_on(&audit_log))
        return;
    struct aline *l = line_begin(events[what]);
    if (l != NULL) {
        line_str(l, "backend", backend);
        line_str(l, "from", from);
        line_str(l, "to", to);
        line_str(l, "reason", reason);
    }
    line_push(&audit_log, l, true);
}

void audit_block(uint32_t session, const char *user, const char *client, const char *rule,
                 const char *digest)
{
    if (!log_on(&audit_log))
        return;
    struct aline *l = line_begin("blocked");
    if (l != NULL) {
        line_u64(l, "session", session);
        line_str(l, "user", user);
        line_str(l, "client", client);
        line_str(l, "rule", rule);
        line_str(l, "digest", digest);
    }
    line_push(&audit_log, l, true);
}

/* ,"key":["line","line",...] from lines each ending in "\n" (the last
 * one may lack it). */
static void line_lines(struct aline *l, const char *key, const char *s, size_t len)
{
    line_key(l, key);
    textbuf_putc(&l->text, '[');
    for (size_t i = 0, n = 0; i < len; n++) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - s) : len;
        if (n > 0)
            textbuf_putc(&l->text, ',');
        textbuf_json_strn(&l->text, s + i, end - i);
        i = end + 1;
    }
    textbuf_putc(&l->text, ']');
}

void audit_procedure(const struct audit_procedure *p)
{
    if (!log_on(&audit_log))
        return;
    struct aline *l = line_begin(p->event);
    if (l != NULL) {
        line_str(l, "trigger", p->trigger);
        line_str(l, "backend", p->backend);
        line_str(l, "from", p->from);
        line_str(l, "to", p->to);
        line_str(l, "reason", p->reason);
        line_bool(l, "ok", p->ok);
        line_str(l, "result", p->result);
        line_u64(l, "duration_ms", p->duration_ms);
        line_lines(l, "steps", p->steps, p->steps_len);
    }
    line_push(&audit_log, l, true);
}

/* ---- the query log ----------------------------------------------------- */

bool query_log_enabled(void)
{
    return log_on(&query_log);
}

bool query_log_wants(uint64_t duration_us)
{
    return log_on(&query_log) &&
           (int64_t)duration_us >= atomic_load_explicit(&query_min_us, memory_order_relaxed);
}

void query_log_write(const struct query_log_entry *e)
{
    if (!query_log_wants(e->limit_wait_us + e->duration_us))
        return;
    struct aline *l = line_begin("query");
    if (l != NULL) {
        char hash[20];
        line_u64(l, "session", e->session);
        line_str(l, "user", e->user);
        line_str(l, "client", e->client);
        line_str(l, "schema", e->schema);
        line_str(l, "backend", e->backend);
        if (e->digest != 0) {
            snprintf(hash, sizeof(hash), "%016" PRIx64, e->digest);
            line_str(l, "digest", hash);
        } else {
            line_str(l, "digest", NULL);
        }
        line_u64(l, "duration_us", e->duration_us);
        if (e->limit_wait_us > 0)
            line_u64(l, "limit_wait_us", e->limit_wait_us);
        line_u64(l, "rows", e->rows);
        line_u64(l, "affected", e->affected);
        line_u64(l, "error", e->error);
        size_t n = HY_MIN(e->text_len, (size_t)QUERY_LOG_TEXT_MAX);
        line_strn(l, "query", e->text, n);
        if (n < e->text_len)
            line_bool(l, "query_truncated", true);
    }
    line_push(&query_log, l, false);
}

void audit_get_stats(struct audit_stats *out)
{
    out->audit_lines = atomic_load_explicit(&audit_log.lines, memory_order_relaxed);
    out->audit_dropped = atomic_load_explicit(&audit_log.dropped, memory_order_relaxed);
    out->query_lines = atomic_load_explicit(&query_log.lines, memory_order_relaxed);
    out->query_dropped = atomic_load_explicit(&query_log.dropped, memory_order_relaxed);
}

/* ---- the writer thread ------------------------------------------------- */

/* Write the lines in order; a line that cannot be written is dropped. */
static void write_lines(struct alog *log, struct aline *fifo)
{
    int fd = atomic_load(&log->fd);
    while (fifo != NULL) {
        struct iovec iov[WRITE_BATCH];
        struct aline *batch[WRITE_BATCH];
        int n = 0;
        size_t total = 0;
        for (; fifo != NULL && n < WRITE_BATCH; fifo = fifo->next, n++) {
            batch[n] = fifo;
            iov[n] = (struct iovec){fifo->text.data, fifo->text.len};
            total += fifo->text.len;
        }
        /* Write the batch whole, resuming after short writes. */
        int first = 0;
        size_t written = 0;
        while (first < n && fd >= 0) {
            ssize_t w = writev(fd, iov + first, n - first);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            written += (size_t)w;
            while (first < n && (size_t)w >= iov[first].iov_len) {
                w -= (ssize_t)iov[first].iov_len;
                first++;
            }
            if (first < n) {
                iov[first].iov_base = (char *)iov[first].iov_base + w;
                iov[first].iov_len -= (size_t)w;
            }
        }
        atomic_fetch_add_explicit(&log->lines, (uint64_t)first, memory_order_relaxed);
        atomic_fetch_add_explicit(&log->dropped, (uint64_t)(n - first), memory_order_relaxed);
        atomic_fetch_sub_explicit(&log->queued, total, memory_order_relaxed);
        (void)written;
        for (int i = 0; i < n; i++)
            line_free(batch[i]);
    }
}

static void drain(struct alog *log)
{
    struct aline *l = atomic_exchange_explicit(&log->head, NULL, memory_order_acquire),
                 *fifo = NULL;
    while (l != NULL) {
        struct aline *next = l->next;
        l->next = fifo;
        fifo = l;
        l = next;
    }
    write_lines(log, fifo);
}

static void *writer_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd pfd = {.fd = wake_fd, .events = POLLIN};
        if (poll(&pfd, 1, WRITER_PERIOD_MS) > 0) {
            uint64_t v;
            ssize_t r HY_UNUSED = read(wake_fd, &v, sizeof(v));
        }
        bool stop = atomic_load(&writer_stop);
        drain(&audit_log);
        drain(&query_log);
        if (stop)
            return NULL;
    }
}

/* ---- opening ----------------------------------------------------------- */

static int open_file(const char *key, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        snprintf(err, errlen, "%s: cannot open %s: %s", key, path, strerror(errno));
    return fd;
}

/* Put the freshly opened `fd` under the log's descriptor number. */
static void install(struct alog *log, int fd, const char *path)
{
    int cur = atomic_load(&log->fd);
    if (cur < 0) {
        atomic_store(&log->fd, fd);
    } else {
        dup2(fd, cur);
        close(fd);
    }
    snprintf(log->path, sizeof(log->path), "%s", path);
}

hy_status_t audit_open(const char *audit_path, const char *query_path, int query_min_duration_ms,
                       char *err, size_t errlen)
{
    struct alog *logs[2] = {&audit_log, &query_log};
    const char *paths[2] = {audit_path, query_path};
    int fds[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        bool again = paths[i][0] != '\0' &&
                     (strcmp(paths[i], logs[i]->path) != 0 || !atomic_load(&logs[i]->on));
        if (again && (fds[i] = open_file(logs[i]->key, paths[i], err, errlen)) < 0) {
            if (i == 1 && fds[0] >= 0)
                close(fds[0]);
            return HY_ERROR;
        }
    }
    if (!writer_running) {
        atomic_store(&writer_stop, false);
        wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        /* The writer takes no signal (SIGHUP, SIGTERM... are the main
         * loop's): it starts with every signal blocked. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int prc = wake_fd < 0 ? -1 : pthread_create(&writer, NULL, writer_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (prc != 0) {
            snprintf(err, errlen, "audit: cannot start the log writer: %s", strerror(errno));
            for (int i = 0; i < 2; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
            if (wake_fd >= 0)
                close(wake_fd);
            wake_fd = -1;
            return HY_ERROR;
        }
        writer_running = true;
    }
    atomic_store(&query_min_us, (int_fast64_t)query_min_duration_ms * 1000);
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            install(logs[i], fds[i], paths[i]);
        if (paths[i][0] == '\0')
            logs[i]->path[0] = '\0';
        atomic_store(&logs[i]->on, paths[i][0] != '\0');
    }
    return HY_OK;
}

hy_status_t audit_reopen(char *err, size_t errlen)
{
    struct alog *logs[2] = {&audit_log, &query_log};
    int fds[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        if (!atomic_load(&logs[i]->on))
            continue;
        if ((fds[i] = open_file(logs[i]->key, logs[i]->path, err, errlen)) < 0) {
            if (i == 1 && fds[0] >= 0)
                close(fds[0]);
            return HY_ERROR;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            install(logs[i], fds[i], logs[i]->path);
    }
    return HY_OK;
}

void audit_flush(void)
{
    if (!writer_running)
        return;
    uint64_t one = 1;
    ssize_t w HY_UNUSED = write(wake_fd, &one, sizeof(one));
    for (int i = 0; i < 1000; i++) {
        if (atomic_load(&audit_log.queued) == 0 && atomic_load(&query_log.queued) == 0)
            return;
        usleep(1000);
    }
}

void audit_shutdown(void)
{
    if (writer_running) {
        atomic_store(&writer_stop, true);
        uint64_t one = 1;
        ssize_t w HY_UNUSED = write(wake_fd, &one, sizeof(one));
        pthread_join(writer, NULL);
        writer_running = false;
        close(wake_fd);
        wake_fd = -1;
    }
    struct alog *logs[2] = {&audit_log, &query_log};
    for (int i = 0; i < 2; i++) {
        atomic_store(&logs[i]->on, false);
        drain(logs[i]); /* lines pushed after the writer's last look */
        int fd = atomic_exchange(&logs[i]->fd, -1);
        if (fd >= 0)
            close(fd);
        logs[i]->path[0] = '\0';
    }
}
