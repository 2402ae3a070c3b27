/*
 * restore.c: the plan of a point-in-time restore (restore.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/protocol/binlog.h"
#include "halyard/backup/restore.h"

/* The backup holds nothing past the target. */
static bool before_target(const struct restore_backup *b, const struct restore_target *t)
{
    if (t->by_time)
        return b->finished < t->time;
    if (!t->by_pos)
        return gtid_pos_seq(&b->gtid, t->gtid.domain) <= t->gtid.seq;
    for (uint32_t k = 0; k < b->gtid.n; k++) {
        if (b->gtid.g[k].seq > gtid_pos_seq(&t->pos, b->gtid.g[k].domain))
            return false;
    }
    return true;
}

/* The target's GTID in `domain` that a transaction there must be when it
 * has the target's sequence number: the one GTID's, or the position's;
 * NULL when the target names none there. */
static const struct gtid *target_gtid(const struct restore_target *t, uint32_t domain)
{
    if (t->by_time)
        return NULL;
    if (!t->by_pos)
        return t->gtid.domain == domain ? &t->gtid : NULL;
    for (uint32_t k = 0; k < t->pos.n; k++) {
        if (t->pos.g[k].domain == domain)
            return &t->pos.g[k];
    }
    return NULL;
}

/* Whether `pos` is at the target (not by time): the one GTID's sequence
 * number reached in its domain, or every domain of the position. */
static bool at_target(const struct gtid_pos *pos, const struct restore_target *t)
{
    if (!t->by_pos)
        return gtid_pos_seq(pos, t->gtid.domain) >= t->gtid.seq;
    return gtid_pos_covers(pos, &t->pos);
}

size_t restore_chain(const struct restore_backup *backups, size_t n, size_t last,
                     size_t out[RESTORE_CHAIN_MAX], char *err, size_t errlen)
{
    size_t rev[RESTORE_CHAIN_MAX], k = 0;
    for (size_t cur = last;;) {
        if (k == RESTORE_CHAIN_MAX) {
            snprintf(err, errlen, "the chain of %s is longer than %d backups", backups[last].name,
                     RESTORE_CHAIN_MAX);
            return 0;
        }
        rev[k++] = cur;
        if (backups[cur].type == BACKUP_FULL)
            break;
        size_t p = n;
        for (size_t i = 0; i < n && p == n; i++)
            if (i != cur && strcmp(backups[i].name, backups[cur].parent) == 0)
                p = i;
        if (p == n) {
            snprintf(err, errlen, "%s's parent %s is missing: its chain is broken",
                     backups[cur].name, backups[cur].parent[0] ? backups[cur].parent : "(none)");
            return 0;
        }
        cur = p;
    }
    for (size_t i = 0; i < k; i++)
        out[i] = rev[k - 1 - i];
    return k;
}

int restore_pick_backup(const struct restore_backup *backups, size_t n,
                        const struct restore_target *t)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        size_t chain[RESTORE_CHAIN_MAX];
        char why[8];
        if (!before_target(&backups[i], t) ||
            restore_chain(backups, n, i, chain, why, sizeof(why)) == 0)
            continue;
        if (best < 0)
            best = (int)i;
        else {
            const struct restore_backup *b = &backups[i], *o = &backups[best];
            enum gtid_order ord = gtid_pos_compare(&b->gtid, &o->gtid);
            /* the newer: further by GTID; by time when they are level or diverged */
            if (ord == GTID_AHEAD || (ord != GTID_BEHIND && b->finished > o->finished))
                best = (int)i;
        }
    }
    return best;
}

void restore_fmt_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    /* a time past what struct tm or `out` holds (strftime's 0: its bytes
     * are then undefined) is written as its seconds */
    if (localtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, cap, "@%lld", (long long)t);
}

static void fmt_target(const struct restore_target *t, char *out, size_t cap)
{
    if (t->by_time) {
        char ts[32];
        restore_fmt_time(t->time, ts, sizeof(ts));
        snprintf(out, cap, "time %s", ts);
    } else if (t->by_pos) {
        char ps[GTID_STR_MAX];
        gtid_pos_format(&t->pos, ps, sizeof(ps));
        snprintf(out, cap, "position %s", ps);
    } else {
        snprintf(out, cap, "GTID %u-%u-%llu", t->gtid.domain, t->gtid.server_id,
                 (unsigned long long)t->gtid.seq);
    }
}

/* "transactions D-A to D-B are" / "transaction D-A is" */
static void missing(uint32_t domain, uint64_t a, uint64_t b, char *out, size_t cap)
{
    if (a == b)
        snprintf(out, cap, "transaction %u-%llu is", domain, (unsigned long long)a);
    else
        snprintf(out, cap, "transactions %u-%llu to %u-%llu are", domain, (unsigned long long)a,
                 domain, (unsigned long long)b);
}

hy_status_t restore_plan_make(const struct restore_backup *backups, size_t n_backups,
                              const struct restore_file *files, size_t n_files,
                              const struct restore_target *t, struct restore_plan *out, char *err,
                              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char tgt[GTID_STR_MAX + 32];
    fmt_target(t, tgt, sizeof(tgt));
    if (n_backups == 0) {
        snprintf(err, errlen, "no full backup (halyardctl backup full) to restore from");
        return HY_ERROR;
    }
    int bi = restore_pick_backup(backups, n_backups, t);
    if (bi < 0) {
        /* the first backup, for the message */
        size_t first = 0;
        for (size_t i = 1; i < n_backups; i++) {
            if (backups[i].finished < backups[first].finished)
                first = i;
        }
        char gs[GTID_STR_MAX], ts[32];
        gtid_pos_format(&backups[first].gtid, gs, sizeof(gs));
        restore_fmt_time(backups[first].finished, ts, sizeof(ts));
        snprintf(err, errlen,
                 "the target (%s) is before the first full backup (%s, GTID %s, finished %s): "
                 "nothing to restore from",
                 tgt, backups[first].name, gs, ts);
        return HY_ERROR;
    }
    const struct restore_backup *b = &backups[bi];
    out->backup = (size_t)bi;
    out->n_chain = restore_chain(backups, n_backups, (size_t)bi, out->chain, err, errlen);
    out->from = b->gtid;
    struct gtid_pos pos = b->gtid;
    bool done = false;
    size_t first_file = 0, last_file = 0;
    char gs[GTID_STR_MAX], ps[GTID_STR_MAX];
    if (!t->by_time) {
        for (uint32_t k = 0; k < pos.n; k++) {
            const struct gtid *g = &pos.g[k], *want = target_gtid(t, g->domain);
            if (want == NULL || g->seq != want->seq || g->server_id == want->server_id)
                continue;
            snprintf(err, errlen, "the backup %s is at GTID %u-%u-%llu, not %s", b->name, g->domain,
                     g->server_id, (unsigned long long)g->seq, tgt);
            return HY_ERROR;
        }
        done = at_target(&pos, t); /* the backup is at the target: nothing to apply */
    }
    for (size_t i = 0; i < n_files && !done; i++) {
        const struct restore_file *f = &files[i];
        if (!f->have_list) {
            snprintf(err, errlen, "%s: %s", f->name,
                     f->error[0] ? f->error : "no GTID_LIST event: not a file of the archive");
            return HY_ERROR;
        }
        for (uint32_t k = 0; k < f->start.n; k++) {
            const struct gtid *g = &f->start.g[k];
            uint64_t have = gtid_pos_seq(&pos, g->domain);
            if (g->seq <= have)
                continue;
            char before[96];
            if (i == 0)
                snprintf(before, sizeof(before), "the backup reaches");
            else
                snprintf(before, sizeof(before), "the backup and %s before it reach",
                         files[i - 1].name);
            gtid_pos_format(&f->start, gs, sizeof(gs));
            gtid_pos_format(&pos, ps, sizeof(ps));
            char miss[96];
            missing(g->domain, have + 1, g->seq, miss, sizeof(miss));
            snprintf(err, errlen,
                     "the archive has a gap: %s missing before %s, which starts at %s while "
                     "%s %s; cannot restore to %s",
                     miss, f->name, gs, before, ps[0] ? ps : "nothing", tgt);
            out->to = pos;
            return HY_ERROR;
        }
        for (size_t k = 0; k < f->n_trx && !done; k++) {
            const struct restore_trx *x = &f->trx[k];
            enum binlog_gtid_order o = binlog_gtid_order(&pos, &x->gtid);
            if (o == BINLOG_GTID_OLD)
                continue; /* in the backup already */
            if (t->by_pos && x->gtid.seq > gtid_pos_seq(&t->pos, x->gtid.domain))
                continue; /* past the position in its domain: not applied (mariadb-binlog's
                           * --stop-position leaves it out too) */
            if (o == BINLOG_GTID_GAP) {
                uint64_t have = gtid_pos_seq(&pos, x->gtid.domain);
                char miss[96];
                missing(x->gtid.domain, have + 1, x->gtid.seq - 1, miss, sizeof(miss));
                snprintf(err, errlen,
                         "the archive has a gap in %s: GTID %u-%u-%llu follows %u-%llu, %s "
                         "missing; cannot restore to %s",
                         f->name, x->gtid.domain, x->gtid.server_id,
                         (unsigned long long)x->gtid.seq, x->gtid.domain, (unsigned long long)have,
                         miss, tgt);
                out->to = pos;
                return HY_ERROR;
            }
            if (t->by_time && (int64_t)x->when >= t->time) {
                done = true;
                break;
            }
            const struct gtid *want = target_gtid(t, x->gtid.domain);
            if (want != NULL && x->gtid.server_id != want->server_id && x->gtid.seq == want->seq) {
                snprintf(err, errlen,
                         "the archive's transaction %u-%llu (in %s) is GTID %u-%u-%llu, not %s",
                         x->gtid.domain, (unsigned long long)x->gtid.seq, f->name, x->gtid.domain,
                         x->gtid.server_id, (unsigned long long)x->gtid.seq, tgt);
                return HY_ERROR;
            }
            if (binlog_pos_apply(&pos, &x->gtid) != HY_OK) {
                snprintf(err, errlen, "%s: more than %d GTID domains", f->name, GTID_MAX);
                return HY_ERROR;
            }
            if (out->n_trx == 0) {
                first_file = i;
                out->first = x->gtid;
            }
            last_file = i;
            out->n_trx++;
            out->last = x->gtid;
            out->last_when = x->when;
            if (!t->by_time && at_target(&pos, t))
                done = true;
        }
        if (!done && f->error[0] != '\0') {
            snprintf(err, errlen,
                     "%s cannot be read past its last whole transaction (%s); "
                     "cannot restore to %s",
                     f->name, f->error, tgt);
            out->to = pos;
            return HY_ERROR;
        }
    }
    if (!done && !t->by_time) {
        gtid_pos_format(&pos, ps, sizeof(ps));
        snprintf(err, errlen, "%s is past the end of the archive, which reaches %s%s%s", tgt, ps,
                 n_files > 0 ? " in " : " (no archive file)",
                 n_files > 0 ? files[n_files - 1].name : "");
        return HY_ERROR;
    }
    out->past_end = !done;
    out->to = pos;
    if (out->n_trx > 0) {
        out->first_file = first_file;
        out->n_files = last_file - first_file + 1;
    }
    return HY_OK;
}

hy_status_t restore_parse_time(const char *s, int64_t *out)
{
    struct tm tm = {0};
    char rest;
    int y, mo, d, h, mi, se;
    if (strlen(s) != 19 || (s[10] != ' ' && s[10] != 'T') ||
        sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &rest) != 6)
        return HY_ERROR;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970 || h < 0 ||
        mi < 0 || se < 0)
        return HY_ERROR;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 31 February and such */
        return HY_ERROR;
    *out = (int64_t)t;
    return HY_OK;
}

hy_status_t restore_parse_position(const char *s, struct gtid_pos *out)
{
    if (gtid_pos_parse(s, strlen(s), out) != HY_OK || out->n == 0)
        return HY_ERROR;
    for (uint32_t k = 0; k < out->n; k++) {
        if (out->g[k].seq == 0)
            return HY_ERROR;
        for (uint32_t j = 0; j < k; j++)
            if (out->g[j].domain == out->g[k].domain)
                return HY_ERROR; /* one GTID a domain */
    }
    return HY_OK;
}

hy_status_t restore_parse_gtid(const char *s, struct gtid *out)
{
    struct gtid_pos p;
    if (gtid_pos_parse(s, strlen(s), &p) != HY_OK || p.n != 1 || p.g[0].seq == 0)
        return HY_ERROR;
    *out = p.g[0];
    return HY_OK;
}
