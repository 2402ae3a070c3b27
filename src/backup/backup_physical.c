/*
 * backup_physical.c: see backup_physical.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_physical.h"
#include "halyard/core/gtid.h"
#include "halyard/core/spawn.h"

#define XB_MAGIC     "XBSTCK01"
#define XB_FIXED     14 /* magic, flags, type, path length */
#define XB_PAYLOAD_H 20 /* payload length, offset, checksum */

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static bool scan_fail(struct xbstream_scan *s, const char *why)
{
    s->bad = true;
    snprintf(s->error, sizeof(s->error), "not an xbstream after %llu chunks: %s",
             (unsigned long long)s->chunks, why);
    return false;
}

/* The chunk's path is one of the two names a file has (xtrabackup_X in
 * MariaDB 10, mariadb_backup_X in 11). */
static bool path_is(const uint8_t *path, size_t n, const char *const names[2])
{
    for (size_t i = 0; i < 2; i++)
        if (n == strlen(names[i]) && memcmp(path, names[i], n) == 0)
            return true;
    return false;
}

static const char *const BINLOG_INFO[2] = {"xtrabackup_binlog_info", "mariadb_backup_binlog_info"};
static const char *const CHECKPOINTS[2] = {"xtrabackup_checkpoints", "mariadb_backup_checkpoints"};

/* Up to cap - 1 bytes of a kept payload, NUL-terminated. */
static void keep(char *buf, size_t cap, size_t *len, const uint8_t *p, size_t k)
{
    size_t room = cap - 1 - *len;
    size_t c = k < room ? k : room;
    memcpy(buf + *len, p, c);
    *len += c;
    buf[*len] = '\0';
}

bool xbstream_scan_feed(struct xbstream_scan *s, const uint8_t *p, size_t n)
{
    while (n > 0 && !s->bad) {
        if (s->left > 0) { /* inside a payload */
            size_t k = s->left < n ? (size_t)s->left : n;
            if (s->capture_ckpt)
                keep(s->ckpt, sizeof(s->ckpt), &s->ckpt_len, p, k);
            if (s->capture)
                keep(s->info, sizeof(s->info), &s->info_len, p, k);
            s->left -= k;
            p += k;
            n -= k;
            continue;
        }
        /* a header: how much of it is needed depends on what is read */
        size_t need = XB_FIXED;
        if (s->have >= XB_FIXED) {
            if (memcmp(s->hdr, XB_MAGIC, 8) != 0)
                return scan_fail(s, "no XBSTCK01 magic where a chunk starts");
            uint64_t pl = le(s->hdr + 10, 4);
            if (pl == 0 || pl > XBSTREAM_PATH_MAX)
                return scan_fail(s, "a chunk's path length out of range");
            char type = (char)s->hdr[9];
            if (type != 'P' && type != 'E')
                return scan_fail(s, "a chunk type neither P (payload) nor E (end of file)");
            need = XB_FIXED + (size_t)pl + (type == 'P' ? XB_PAYLOAD_H : 0);
        }
        if (s->have < need) {
            size_t k = need - s->have < n ? need - s->have : n;
            memcpy(s->hdr + s->have, p, k);
            s->have += k;
            p += k;
            n -= k;
            if (s->have < need || need == XB_FIXED)
                continue;
        }
        /* a whole header */
        size_t pl = (size_t)le(s->hdr + 10, 4);
        s->chunks++;
        s->have = 0;
        if (s->hdr[9] == 'P') {
            s->left = le(s->hdr + XB_FIXED + pl, 8);
            s->capture = path_is(s->hdr + XB_FIXED, pl, BINLOG_INFO) && s->left > 0;
            if (s->capture)
                s->info_len = 0;
            s->capture_ckpt = path_is(s->hdr + XB_FIXED, pl, CHECKPOINTS) && s->left > 0;
            if (s->capture_ckpt)
                s->ckpt_len = 0;
        }
    }
    return !s->bad;
}

bool xbstream_scan_complete(const struct xbstream_scan *s)
{
    return !s->bad && s->chunks > 0 && s->have == 0 && s->left == 0;
}

bool backup_physical_gtid(const char *info, size_t len, char *out, size_t cap)
{
    const char *t1 = memchr(info, '\t', len);
    const char *t2 = t1 != NULL ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - info)) : NULL;
    if (t2 == NULL || cap == 0)
        return false;
    const char *g = t2 + 1, *end = info + len;
    size_t gl = 0;
    while (g + gl < end && g[gl] != '\n' && g[gl] != '\r' && g[gl] != '\t')
        gl++;
    struct gtid_pos pos;
    if (gl == 0 || gl >= cap || gtid_pos_parse(g, gl, &pos) != HY_OK)
        return false;
    memcpy(out, g, gl);
    out[gl] = '\0';
    return true;
}

bool backup_physical_start(const struct config *cfg, const struct config_backend *b,
                           uint64_t incr_lsn, const char *errpath, int *out_fd, pid_t *pid,
                           char *why, size_t wl)
{
    const struct config_backup *bk = &cfg->backup;
    bool own = bk->user[0] != '\0';
    char port[16];
    snprintf(port, sizeof(port), "%d", b->port);
    char incr[48];
    snprintf(incr, sizeof(incr), "--incremental-lsn=%llu", (unsigned long long)incr_lsn);
    const char *const values[] = {b->address, port, own ? bk->user : cfg->monitor.user,
                                  incr_lsn > 0 ? incr : NULL};
    static char cmd[8192];
    if (backup_expand(bk->mariadb_backup_command, "hpui", values, cmd, sizeof(cmd)) != HY_OK) {
        snprintf(why, wl,
                 "backup.mariadb_backup_command does not expand (an unknown %%x, or too long)");
        return false;
    }
    char pw[300], home[PATH_MAX + 8];
    snprintf(pw, sizeof(pw), "MYSQL_PWD=%s", own ? bk->password : cfg->monitor.password);
    const char *h = getenv("HOME");
    snprintf(home, sizeof(home), "HOME=%.4000s", h != NULL ? h : "/");
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", home, pw,
                    NULL};
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    hy_status_t rc = spawn_reader("/bin/sh", argv, envp, false, errpath, pid, out_fd, why, wl);
    explicit_bzero(pw, sizeof(pw));
    return rc == HY_OK;
}
