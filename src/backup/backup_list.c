/*
 * backup_list.c: `halyardctl backup list` (backup_list.h). The backups and
 * the archive are read as restore reads them (restore_run.h), and each
 * backup's reach is restore's own plan to the end of time from that backup
 * alone (restore.h): what restore would apply is what the window shows.
 */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "halyard/backup/backup_list.h"
#include "halyard/backup/backup_stream.h"
#include "halyard/backup/restore.h"
#include "halyard/backup/restore_run.h"
#include "halyard/core/textbuf.h"

/* next starts inside prev: by time, or (prev reaching the archive's end,
 * its last transaction logged the second before next's backup ended) by
 * GTID, next's at or before where prev ends in every domain. */
static bool starts_within(const struct backup_span *prev, const struct backup_span *next)
{
    if (next->from <= prev->to)
        return true;
    if (prev->why[0] != '\0')
        return false;
    struct gtid_pos f, t;
    if (gtid_pos_parse(next->from_gtid, strlen(next->from_gtid), &f) != HY_OK ||
        gtid_pos_parse(prev->to_gtid, strlen(prev->to_gtid), &t) != HY_OK)
        return false;
    for (uint32_t i = 0; i < f.n; i++)
        if (f.g[i].seq > gtid_pos_seq(&t, f.g[i].domain))
            return false;
    return true;
}

size_t backup_list_merge(struct backup_span *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && starts_within(&s[k - 1], &s[i])) {
            if (s[i].to > s[k - 1].to) { /* it goes on further: the stretch grows */
                s[k - 1].to = s[i].to;
                memcpy(s[k - 1].to_gtid, s[i].to_gtid, sizeof(s[i].to_gtid));
                memcpy(s[k - 1].why, s[i].why, sizeof(s[i].why));
            }
            continue;
        }
        if (k != i)
            s[k] = s[i];
        k++;
    }
    return k;
}

static bool key_held(const char *id)
{
    size_t n = 0;
    const struct backup_crypt_key *k = backup_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].id_hex, id) == 0)
            return true;
    return false;
}

/* One line per backup; false when one needs a key this config lacks. */
static bool print_backups(const char *dir, const struct restore_backup *b, size_t n)
{
    bool keys_ok = true;
    printf("backups in %s/full: %zu\n", dir, n);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], ts[32], gs[GTID_STR_MAX], enc[96] = "clear";
        snprintf(path, sizeof(path), "%.3700s/full/%.255s", dir, b[i].name);
        struct stat sb;
        double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
        restore_fmt_time(b[i].finished, ts, sizeof(ts));
        gtid_pos_format(&b[i].gtid, gs, sizeof(gs));
        if (b[i].key_id[0] != '\0') {
            bool held = key_held(b[i].key_id);
            keys_ok = keys_ok && held;
            snprintf(enc, sizeof(enc), "aes-256-gcm key %s %s", b[i].key_id,
                     held ? "(held)" : "(MISSING: not in this config's keys)");
        }
        printf("  %s  %s  %s  %.1f MB  %s  GTID %s  source %s  %s%s%s\n", b[i].name,
               backup_type_name(b[i].type), b[i].method, mb, ts, gs,
               b[i].source[0] ? b[i].source : "?", enc, b[i].parent[0] ? "  parent " : "",
               b[i].parent);
    }
    return keys_ok;
}

static void json_time(struct textbuf *tb, int64_t t)
{
    char when[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    textbuf_json_str(tb, when);
}

/* --json: the backups as print_backups says them, one object each. */
static void json_backups(struct textbuf *tb, const char *dir, const struct restore_backup *b,
                         size_t n)
{
    textbuf_puts(tb, "{\"dir\":");
    textbuf_json_str(tb, dir);
    textbuf_puts(tb, ",\"backups\":[");
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], gs[GTID_STR_MAX];
        snprintf(path, sizeof(path), "%.3700s/full/%.255s", dir, b[i].name);
        struct stat sb;
        gtid_pos_format(&b[i].gtid, gs, sizeof(gs));
        textbuf_puts(tb, i ? ",{\"name\":" : "{\"name\":");
        textbuf_json_str(tb, b[i].name);
        textbuf_puts(tb, ",\"type\":");
        textbuf_json_str(tb, backup_type_name(b[i].type));
        textbuf_puts(tb, ",\"parent\":");
        textbuf_json_str(tb, b[i].parent[0] ? b[i].parent : NULL);
        textbuf_puts(tb, ",\"method\":");
        textbuf_json_str(tb, b[i].method);
        textbuf_printf(tb, ",\"bytes\":%lld,\"finished\":",
                       stat(path, &sb) == 0 ? (long long)sb.st_size : 0LL);
        json_time(tb, b[i].finished);
        textbuf_puts(tb, ",\"gtid\":");
        textbuf_json_str(tb, gs);
        textbuf_puts(tb, ",\"source\":");
        textbuf_json_str(tb, b[i].source[0] ? b[i].source : NULL);
        textbuf_puts(tb, ",\"key_id\":");
        textbuf_json_str(tb, b[i].key_id[0] ? b[i].key_id : NULL);
        textbuf_printf(tb, ",\"key_held\":%s}",
                       b[i].key_id[0] == '\0' || key_held(b[i].key_id) ? "true" : "false");
    }
    textbuf_putc(tb, ']');
}

/* --json: the window's stretches (merged), each with why it ends; whether
 * it is one stretch to the archive's end. */
static bool json_window(struct textbuf *tb, struct backup_span *sp, size_t n)
{
    size_t k = n > 0 ? backup_list_merge(sp, n) : 0;
    textbuf_puts(tb, ",\"window\":[");
    for (size_t i = 0; i < k; i++) {
        textbuf_puts(tb, i ? ",{\"from\":" : "{\"from\":");
        json_time(tb, sp[i].from);
        textbuf_puts(tb, ",\"from_gtid\":");
        textbuf_json_str(tb, sp[i].from_gtid);
        textbuf_puts(tb, ",\"to\":");
        json_time(tb, sp[i].to);
        textbuf_puts(tb, ",\"to_gtid\":");
        textbuf_json_str(tb, sp[i].to_gtid);
        textbuf_puts(tb, ",\"then\":");
        textbuf_json_str(tb, sp[i].why[0] ? sp[i].why : NULL);
        textbuf_putc(tb, '}');
    }
    /* between two stretches: not restorable, and why */
    textbuf_puts(tb, "],\"gaps\":[");
    for (size_t i = 0; i + 1 < k; i++) {
        textbuf_puts(tb, i ? ",{\"from\":" : "{\"from\":");
        json_time(tb, sp[i].to);
        textbuf_puts(tb, ",\"from_gtid\":");
        textbuf_json_str(tb, sp[i].to_gtid);
        textbuf_puts(tb, ",\"to\":");
        json_time(tb, sp[i + 1].from);
        textbuf_puts(tb, ",\"to_gtid\":");
        textbuf_json_str(tb, sp[i + 1].from_gtid);
        textbuf_puts(tb, ",\"why\":");
        textbuf_json_str(tb, sp[i].why[0] ? sp[i].why : NULL);
        textbuf_putc(tb, '}');
    }
    bool whole = k == 1 && sp[0].why[0] == '\0';
    textbuf_printf(tb, "],\"restorable\":%s}\n", whole ? "true" : "false");
    return whole;
}

/* Each backup's stretch: restore's plan from it alone to the end of time. */
static void spans_make(const struct restore_backup *b, size_t n, const struct restore_archive *ar,
                       struct backup_span *sp)
{
    const struct restore_target end = {.by_time = true, .time = INT64_MAX};
    for (size_t i = 0; i < n; i++) {
        struct restore_plan pl;
        struct backup_span *s = &sp[i];
        memset(s, 0, sizeof(*s));
        s->from = b[i].finished;
        gtid_pos_format(&b[i].gtid, s->from_gtid, sizeof(s->from_gtid));
        /* an incr or diff restores as its chain does: from its own GTID on
         * when the chain is whole, nothing otherwise */
        size_t chain[RESTORE_CHAIN_MAX];
        struct restore_backup one = b[i];
        one.type = BACKUP_FULL;
        if (restore_chain(b, n, i, chain, s->why, sizeof(s->why)) == 0) {
            s->to = s->from;
            snprintf(s->to_gtid, sizeof(s->to_gtid), "%s", s->from_gtid);
            continue;
        }
        if (restore_plan_make(&one, 1, ar->files, ar->n, &end, &pl, s->why, sizeof(s->why)) ==
            HY_OK)
            s->why[0] = '\0';
        s->to = pl.n_trx > 0 && (int64_t)pl.last_when > s->from ? (int64_t)pl.last_when : s->from;
        gtid_pos_format(pl.n_trx > 0 ? &pl.to : &b[i].gtid, s->to_gtid, sizeof(s->to_gtid));
    }
}

/* The window and its gaps; false when there is a gap. */
static bool print_window(struct backup_span *sp, size_t n)
{
    size_t k = backup_list_merge(sp, n);
    char a[32], z[32];
    restore_fmt_time(sp[0].from, a, sizeof(a));
    restore_fmt_time(sp[k - 1].to, z, sizeof(z));
    printf("restorable window: %s (GTID %s) to %s (GTID %s)%s\n", a, sp[0].from_gtid, z,
           sp[k - 1].to_gtid, k > 1 ? ", with gaps" : "");
    for (size_t i = 0; i < k; i++) {
        restore_fmt_time(sp[i].from, a, sizeof(a));
        restore_fmt_time(sp[i].to, z, sizeof(z));
        printf("  restorable: %s (GTID %s) to %s (GTID %s)\n", a, sp[i].from_gtid, z,
               sp[i].to_gtid);
        if (i + 1 < k) {
            restore_fmt_time(sp[i + 1].from, a, sizeof(a));
            printf("  gap: to %s, the next backup's end: %s\n", a, sp[i].why);
        } else if (sp[i].why[0] != '\0') {
            printf("  then not restorable: %s\n", sp[i].why);
        }
    }
    return k == 1 && sp[k - 1].why[0] == '\0';
}

/* The backups a config can read, moved to the front; how many. */
static size_t readable(struct restore_backup *b, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].key_id[0] == '\0' || key_held(b[i].key_id))
            b[m++] = b[i];
    return m;
}

/* backup list --json: one object on stdout; frees b and ar. */
static int list_json(const char *dir, struct restore_backup *b, size_t n,
                     struct restore_archive *ar)
{
    struct textbuf tb;
    textbuf_init(&tb, 16u << 20);
    json_backups(&tb, dir, b, n);
    textbuf_printf(&tb, ",\"archive_files\":%zu,\"archive_first\":", ar->n);
    textbuf_json_str(&tb, ar->n ? ar->files[0].name : NULL);
    textbuf_puts(&tb, ",\"archive_last\":");
    textbuf_json_str(&tb, ar->n ? ar->files[ar->n - 1].name : NULL);
    size_t m = readable(b, n);
    struct backup_span *sp = m > 0 ? calloc(m, sizeof(*sp)) : NULL;
    if (sp != NULL)
        spans_make(b, m, ar, sp);
    bool ok = json_window(&tb, sp, sp != NULL ? m : 0) && m == n;
    if (tb.data != NULL)
        fputs(tb.data, stdout);
    textbuf_free(&tb);
    free(sp);
    restore_archive_free(ar);
    free(b);
    return ok ? 0 : 1;
}

int backup_list_main(int argc, char **argv, const struct config *cfg)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = cfg != NULL && cfg->backup.enabled ? cfg->backup.dir : NULL;
    int c;
    bool json = false;
    optind = 2; /* after "backup" "list" */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'j') {
            json = true;
        } else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: halyardctl -c CONFIG backup list [--dir DIR] [--json]\n"
                    "  the backups in DIR (backup.dir: full, diff, incr, each with its parent) "
                    "and the restorable window\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind < argc || dir == NULL || dir[0] == '\0') {
        fprintf(stderr, "halyardctl backup list: %s\n",
                optind < argc
                    ? "unexpected argument"
                    : "no backup directory: give -c CONFIG (its backup.dir) or --dir DIR");
        return 2;
    }
    size_t n = 0;
    struct restore_backup *b = restore_backups_read(dir, &n);
    struct restore_archive ar;
    if (!restore_archive_read(dir, &ar)) {
        restore_archive_free(&ar);
        free(b);
        return 1;
    }
    if (json)
        return list_json(dir, b, n, &ar);
    bool ok = print_backups(dir, b, n);
    printf("archive: %zu files%s%s%s%s\n", ar.n, ar.n ? ", " : "", ar.n ? ar.files[0].name : "",
           ar.n > 1 ? " to " : "", ar.n > 1 ? ar.files[ar.n - 1].name : "");
    /* A backup whose key this config lacks restores nothing: left out. */
    size_t m = readable(b, n);
    struct backup_span *sp = m > 0 ? calloc(m, sizeof(*sp)) : NULL;
    if (sp == NULL) {
        printf("restorable window: none (%s)\n", n == 0   ? "no full backup"
                                                 : m == 0 ? "no backup this config can read"
                                                          : "out of memory");
        ok = false;
    } else {
        spans_make(b, m, &ar, sp);
        ok = print_window(sp, m) && ok;
    }
    free(sp);
    restore_archive_free(&ar);
    free(b);
    return ok ? 0 : 1;
}
