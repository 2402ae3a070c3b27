/*
 * backup_chain.c: see backup_chain.h.
 */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/core/text.h"
#include "halyard/core/fileio.h"
#include "halyard/backup/backup_chain.h"
#include "halyard/backup/restore_run.h"

static const char *const TYPE_NAMES[] = {"full", "incr", "diff"};

const char *backup_type_name(enum backup_type t)
{
    return (unsigned)t < 3 ? TYPE_NAMES[t] : "?";
}

bool backup_type_of(const char *name, enum backup_type *t)
{
    for (int i = 0; i < 3; i++) {
        if (strncmp(name, TYPE_NAMES[i], 4) == 0 && name[4] == '-') {
            if (t != NULL)
                *t = (enum backup_type)i;
            return true;
        }
    }
    return false;
}

bool backup_chain_ckpt_lsn(const char *text, size_t len, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0) {
            const char *v = p + kl;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            if (v < le && *v == '=') {
                v++;
                while (v < le && *v == ' ')
                    v++;
                uint64_t n = 0;
                const char *d = v;
                while (d < le && *d >= '0' && *d <= '9' && n < UINT64_MAX / 10)
                    n = n * 10 + (uint64_t)(*d++ - '0');
                if (d > v) {
                    *out = n;
                    return true;
                }
            }
        }
        p = le + 1;
    }
    return false;
}

/* One manifest read as a parent; false when it is not one halyard wrote. */
static bool read_parent(const char *dir, const char *mname, struct backup_parent *p)
{
    char path[PATH_MAX], text[8192], fin[40], lsn[32] = "";
    snprintf(path, sizeof(path), "%.3800s/%.255s", dir, mname);
    if (!fileio_read_text(path, text, sizeof(text)))
        return false;
    struct tm tm = {0};
    memset(p, 0, sizeof(*p));
    if (!backup_type_of(mname, &p->type) ||
        !restore_json_str(text, "file", p->name, sizeof(p->name)) ||
        !restore_json_str(text, "finished", fin, sizeof(fin)) ||
        strptime(fin, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
        return false;
    (void)restore_json_str(text, "source", p->source, sizeof(p->source));
    const char *l = strstr(text, "\"to_lsn\":");
    if (l != NULL)
        snprintf(lsn, sizeof(lsn), "%.20s", l + 9);
    if (!hy_parse_u64(lsn, hy_digits(lsn, strlen(lsn)), UINT64_MAX, &p->to_lsn))
        p->to_lsn = 0; /* none recorded */
    p->finished = timegm(&tm);
    p->found = true;
    return true;
}

void backup_chain_parents(const char *dir, struct backup_parent *any, struct backup_parent *full,
                          time_t *base_at)
{
    memset(any, 0, sizeof(*any));
    memset(full, 0, sizeof(*full));
    *base_at = 0;
    char fdir[PATH_MAX];
    snprintf(fdir, sizeof(fdir), "%.4000s/full", dir);
    DIR *d = opendir(fdir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        struct backup_parent p;
        if (n < 10 || strcmp(e->d_name + n - 5, ".json") != 0 || !read_parent(fdir, e->d_name, &p))
            continue;
        /* the same second: the name's stamp orders them (an incr after its parent) */
        if (!any->found || p.finished > any->finished ||
            (p.finished == any->finished && strcmp(p.name + 5, any->name + 5) > 0))
            *any = p;
        if (p.type == BACKUP_FULL &&
            (!full->found || p.finished > full->finished ||
             (p.finished == full->finished && strcmp(p.name, full->name) > 0)))
            *full = p;
        if (p.type != BACKUP_INCR && p.finished > *base_at)
            *base_at = p.finished;
    }
    closedir(d);
}

enum backup_type backup_chain_decide(enum backup_type want, const struct backup_parent *any,
                                     const struct backup_parent *full, const char *source,
                                     struct backup_parent *parent, char *why, size_t wl)
{
    memset(parent, 0, sizeof(*parent));
    why[0] = '\0';
    if (want == BACKUP_FULL)
        return BACKUP_FULL;
    const struct backup_parent *p = want == BACKUP_INCR ? any : full;
    const char *kind = want == BACKUP_INCR ? "backup" : "full backup";
    if (!p->found) {
        snprintf(why, wl, "no earlier %s to continue: a full backup instead of the %s", kind,
                 backup_type_name(want));
        return BACKUP_FULL;
    }
    if (p->to_lsn == 0) {
        snprintf(why, wl,
                 "%.200s records no LSN (a mariadb-dump backup, or one taken before halyard "
                 "recorded LSNs): a full backup instead of the %s",
                 p->name, backup_type_name(want));
        return BACKUP_FULL;
    }
    if (strcmp(p->source, source) != 0) {
        snprintf(why, wl,
                 "the source changed: %.200s was taken from %.100s, this backup would come from "
                 "%.100s, whose LSNs do not continue it: a full backup instead of the %s",
                 p->name, p->source, source, backup_type_name(want));
        return BACKUP_FULL;
    }
    *parent = *p;
    return want;
}
