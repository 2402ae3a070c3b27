/*
 * xa_log.c: the recovery log of cross-group transactions (xa_log.h):
 * its records' format, the parser (pure), the appends, each fsync'd
 * before the caller goes on, and the compaction.
 *
 * Every append and the compaction hold an exclusive flock on the file,
 * so that appenders of this process (the log's writer thread, the
 * recovery, a worker without the writer) and of another one (a takeover's
 * old process finishing its commits) never interleave with a compaction:
 * a record appended to the file a compaction has read and is replacing
 * would be lost with it. A compaction renames a new file over the log; an
 * appender that waited for the lock on the old one opens the log again
 * (xa_log_open_locked).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "halyard/core/grow.h"
#include "halyard/core/clock.h"
#include "halyard/core/fileio.h"
#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"
#include "halyard/sql/xa_log.h"

bool xa_log_name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* The next space-separated word of [*p, end) into out (cap bytes with its
 * NUL); false when there is none or it does not fit. */
static bool next_word(const char **p, const char *end, char *out, size_t cap)
{
    const char *q = *p;
    while (q < end && *q == ' ')
        q++;
    const char *w = q;
    while (q < end && *q != ' ')
        q++;
    size_t n = (size_t)(q - w);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, w, n);
    out[n] = '\0';
    *p = q;
    return true;
}

/* One complete line (without its newline) into d; 'C', 'D' or 0 when it
 * is no record. */
static char parse_line(const char *p, const char *end, struct xa_decision *d)
{
    char kind[2], when[24], groups[XA_GROUPS_MAX * (XA_GROUP_MAX + 1) + 1];
    memset(d, 0, sizeof(*d));
    if (!next_word(&p, end, kind, sizeof(kind)) || (kind[0] != 'C' && kind[0] != 'D') ||
        !next_word(&p, end, d->gtrid, sizeof(d->gtrid)) || !xa_log_name_ok(d->gtrid, XA_GTRID_MAX))
        return 0;
    if (kind[0] == 'D')
        return p == end ? 'D' : 0;
    if (!next_word(&p, end, when, sizeof(when)) || !next_word(&p, end, groups, sizeof(groups)) ||
        p != end)
        return 0;
    uint64_t t;
    if (!hy_parse_u64(when, strlen(when), INT64_MAX, &t))
        return 0;
    d->when = (int64_t)t;
    for (char *g = groups;;) {
        char *comma = strchr(g, ',');
        if (comma != NULL)
            *comma = '\0';
        if (d->n_groups == XA_GROUPS_MAX || !xa_log_name_ok(g, XA_GROUP_MAX))
            return 0;
        memcpy(d->groups[d->n_groups++], g, strlen(g) + 1);
        if (comma == NULL)
            break;
        g = comma + 1;
    }
    return 'C';
}

hy_status_t xa_log_parse(const char *text, size_t len, struct xa_log_state *out)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            out->torn = true; /* written when the process died: never fsync'd */
            break;
        }
        struct xa_decision d;
        char kind = parse_line(p, nl, &d);
        p = nl + 1;
        if (kind == 0) {
            out->bad_lines++;
            continue;
        }
        size_t i = 0;
        while (i < out->n && strcmp(out->v[i].gtrid, d.gtrid) != 0)
            i++;
        if (kind == 'D') {
            if (i < out->n) {
                memmove(&out->v[i], &out->v[i + 1], (out->n - i - 1) * sizeof(*out->v));
                out->n--;
            }
            continue;
        }
        if (i < out->n) { /* the same decision again: the later one stands */
            out->v[i] = d;
            continue;
        }
        if (out->n == cap && !HY_GROW(out->v, cap, 8)) {
            xa_log_state_free(out);
            return HY_NOMEM;
        }
        out->v[out->n++] = d;
    }
    return HY_OK;
}

void xa_log_state_free(struct xa_log_state *st)
{
    free(st->v);
    st->v = NULL;
    st->n = 0;
}

bool xa_log_format_commit(const struct xa_decision *d, char *out, size_t cap)
{
    int n = snprintf(out, cap, "C %s %" PRId64 " ", d->gtrid, d->when);
    if (n < 0 || (size_t)n >= cap)
        return false;
    size_t at = (size_t)n;
    for (size_t i = 0; i < d->n_groups; i++) {
        n = snprintf(out + at, cap - at, "%s%s", i ? "," : "", d->groups[i]);
        if (n < 0 || (size_t)n >= cap - at)
            return false;
        at += (size_t)n;
    }
    if (at + 2 > cap)
        return false;
    out[at] = '\n';
    out[at + 1] = '\0';
    return true;
}

int xa_log_open_locked(const char *path)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        int rc;
        while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
            ;
        if (rc != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return fd;
        close(fd); /* replaced (compacted) or removed while we waited: again */
    }
    errno = EAGAIN;
    return -1;
}

hy_status_t xa_log_append(const char *path, const char *rec, size_t len)
{
    int fd = xa_log_open_locked(path);
    if (fd < 0)
        return HY_ERROR;
    if (!fileio_write_all(fd, rec, len) || fdatasync(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return HY_ERROR;
    }
    return close(fd) == 0 ? HY_OK : HY_ERROR;
}

/* The whole file fd from its start into a malloc'd *buf (NULL when
 * empty), *n bytes. HY_ERROR with errno. */
static hy_status_t read_all(int fd, char **buf, size_t *n)
{
    struct textbuf b;
    textbuf_init(&b, SIZE_MAX / 2); /* no limit but memory */
    for (;;) {
        size_t at = b.len;
        char *room = textbuf_extend(&b, 65536);
        if (room == NULL) {
            textbuf_free(&b);
            errno = ENOMEM;
            return HY_ERROR;
        }
        ssize_t r = pread(fd, room, 65536, (off_t)at);
        int e = errno;
        textbuf_truncate(&b, at + (r > 0 ? (size_t)r : 0));
        if (r < 0 && e == EINTR)
            continue;
        if (r < 0) {
            textbuf_free(&b);
            errno = e;
            return HY_ERROR;
        }
        if (r == 0)
            break;
    }
    if (b.len == 0)
        textbuf_free(&b); /* empty: NULL */
    *buf = b.data;
    *n = b.len;
    return HY_OK;
}

/* fsync the directory holding `path` (a rename in it made durable). */
static hy_status_t sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : (size_t)(slash - path);
    if (n >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return HY_ERROR;
    }
    if (n == 0)
        snprintf(dir, sizeof(dir), "%s", slash == NULL ? "." : "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return HY_ERROR;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc == 0 ? HY_OK : HY_ERROR;
}

/* The C records of st into a new file at tmp, fsync'd. */
static hy_status_t write_compacted(const char *tmp, const struct xa_log_state *st)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return HY_ERROR;
    char rec[XA_GROUPS_MAX * (XA_GROUP_MAX + 1) + 128];
    for (size_t i = 0; i < st->n; i++) {
        if (!xa_log_format_commit(&st->v[i], rec, sizeof(rec)) ||
            !fileio_write_all(fd, rec, strlen(rec))) {
            int e = errno ? errno : ENAMETOOLONG;
            close(fd);
            errno = e;
            return HY_ERROR;
        }
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return HY_ERROR;
    }
    return close(fd) == 0 ? HY_OK : HY_ERROR;
}

hy_status_t xa_log_compact(const char *path, size_t *before, size_t *kept)
{
    char tmp[4096 + 16];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.compact", path) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return HY_ERROR;
    }
    int fd = xa_log_open_locked(path);
    if (fd < 0)
        return HY_ERROR;
    char *buf = NULL;
    size_t n = 0;
    struct xa_log_state st = {0};
    hy_status_t rc = read_all(fd, &buf, &n);
    if (rc == HY_OK) {
        rc = xa_log_parse(buf != NULL ? buf : "", n, &st);
        if (rc != HY_OK)
            errno = ENOMEM;
    }
    free(buf);
    /* the lock is held until the new file is in place: nothing is appended
     * to the old one after it was read */
    if (rc == HY_OK)
        rc = write_compacted(tmp, &st);
    if (rc == HY_OK && rename(tmp, path) != 0)
        rc = HY_ERROR;
    if (rc != HY_OK) {
        int e = errno;
        (void)unlink(tmp);
        errno = e;
    } else if (sync_dir(path) != HY_OK) {
        rc = HY_ERROR; /* the new file is in place; the rename may not be durable yet */
    }
    int e = errno;
    if (before != NULL)
        *before = n;
    if (kept != NULL)
        *kept = st.n;
    xa_log_state_free(&st);
    close(fd);
    errno = e;
    return rc;
}

hy_status_t xa_log_load(const char *path, struct xa_log_state *out)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? HY_OK : HY_ERROR;
    char *buf = NULL;
    size_t n = 0;
    hy_status_t rc = read_all(fd, &buf, &n);
    int e = errno;
    close(fd);
    if (rc != HY_OK) {
        errno = e;
        return HY_ERROR;
    }
    rc = xa_log_parse(buf != NULL ? buf : "", n, out);
    free(buf);
    if (rc != HY_OK)
        errno = ENOMEM;
    return rc == HY_OK ? HY_OK : HY_ERROR;
}

void xa_log_prefix(const char *path, char *out, size_t cap)
{
    char host[256] = "";
    (void)gethostname(host, sizeof(host) - 1);
    uLong c = crc32(0L, (const Bytef *)host, (uInt)strlen(host));
    c = crc32(c, (const Bytef *)path, (uInt)strlen(path));
    snprintf(out, cap, "halyard-%08lx-", (unsigned long)(c & 0xffffffffUL));
}

int64_t xa_log_process_start(void)
{
    static _Atomic int64_t start;
    int64_t v = atomic_load(&start);
    if (v == 0) {
        int64_t now = hy_now_ms();
        if (!atomic_compare_exchange_strong(&start, &v, now))
            return v;
        v = now;
    }
    return v;
}
