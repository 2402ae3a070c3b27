/*
 * backup_verify.c: the last `backup verify` result reported to halyard
 * (backup_verify.h), behind a mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/backup/backup_verify.h"
#include "halyard/config/config.h"
#include "halyard/core/text.h"
#include "halyard/core/fileio.h"
#include "halyard/core/log.h"

#define LAST_FILE "verify.last"

static struct {
    pthread_mutex_t mu;
    struct backup_verify_status st;
} V = {.mu = PTHREAD_MUTEX_INITIALIZER, .st = {.result = "none"}};

static bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!hy_parse_u64(s, strlen(s), UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

hy_status_t backup_verify_parse(const char *words, struct backup_verify_status *out, char *err,
                                size_t errlen)
{
    char result[16], gtid[GTID_STR_MAX], tables[16], differ[16], extra[2];
    memset(out, 0, sizeof(*out));
    if (sscanf(words, "%15s %127s %15s %15s %1s", result, gtid, tables, differ, extra) != 4) {
        snprintf(err, errlen, "want: backup verified ok|differ|failed GTID|- TABLES DIFFER");
        return HY_ERROR;
    }
    if (strcmp(result, "ok") != 0 && strcmp(result, "differ") != 0 &&
        strcmp(result, "failed") != 0) {
        snprintf(err, errlen, "the result is ok, differ or failed, not %s", result);
        return HY_ERROR;
    }
    if (!parse_u32(tables, &out->tables) || !parse_u32(differ, &out->differ) ||
        out->differ > out->tables) {
        snprintf(err, errlen, "TABLES and DIFFER are counts, DIFFER at most TABLES");
        return HY_ERROR;
    }
    if ((strcmp(result, "ok") == 0) != (out->differ == 0) && strcmp(result, "failed") != 0) {
        snprintf(err, errlen, "%s with %u tables differing", result, out->differ);
        return HY_ERROR;
    }
    struct gtid_pos p;
    if (strcmp(gtid, "-") != 0 && gtid_pos_parse(gtid, strlen(gtid), &p) != HY_OK) {
        snprintf(err, errlen, "%s is not a GTID position", gtid);
        return HY_ERROR;
    }
    snprintf(out->result, sizeof(out->result), "%.7s", result);
    snprintf(out->gtid, sizeof(out->gtid), "%s", strcmp(gtid, "-") == 0 ? "" : gtid);
    return HY_OK;
}

/* dir/verify.last, written whole (a temporary file renamed over it). */
static void write_last(const struct backup_verify_status *r, time_t now, const char *dir)
{
    char path[PATH_MAX], tmp[PATH_MAX], line[GTID_STR_MAX + 96];
    snprintf(path, sizeof(path), "%.4000s/" LAST_FILE, dir);
    snprintf(tmp, sizeof(tmp), "%.4000s/" LAST_FILE ".tmp", dir);
    int n = snprintf(line, sizeof(line), "%lld %s %s %u %u\n", (long long)now, r->result,
                     r->gtid[0] ? r->gtid : "-", r->tables, r->differ);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    bool ok = fd >= 0 && fileio_write_all(fd, line, (size_t)n) && fsync(fd) == 0;
    int err = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        hy_log_error("backup verify: cannot write %s: %s (a restart forgets this result)", path,
                     strerror(err));
        unlink(tmp);
    }
}

void backup_verify_seed(const struct config *cfg)
{
    if (!cfg->backup.enabled)
        return;
    char path[PATH_MAX], line[GTID_STR_MAX + 96], err[200];
    snprintf(path, sizeof(path), "%.4000s/" LAST_FILE, cfg->backup.dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    bool got = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    int64_t t = 0;
    struct backup_verify_status r;
    line[got ? strcspn(line, "\n") : 0] = '\0';
    size_t nd = hy_digits(line, strlen(line));
    const char *words = line + nd;
    if (!got || !hy_parse_i64(line, nd, 1, INT64_MAX, &t) || *words != ' ' ||
        backup_verify_parse(words + 1, &r, err, sizeof(err)) != HY_OK) {
        hy_log_warn("backup verify: %s is not a result halyard wrote; ignored", path);
        return;
    }
    pthread_mutex_lock(&V.mu);
    if (V.st.time == 0) {
        snprintf(V.st.result, sizeof(V.st.result), "%s", r.result);
        snprintf(V.st.gtid, sizeof(V.st.gtid), "%s", r.gtid);
        V.st.time = (time_t)t;
        V.st.tables = r.tables;
        V.st.differ = r.differ;
    }
    pthread_mutex_unlock(&V.mu);
}

void backup_verify_record(const struct backup_verify_status *r, time_t now, const char *dir)
{
    pthread_mutex_lock(&V.mu);
    struct backup_verify_status *s = &V.st;
    snprintf(s->result, sizeof(s->result), "%s", r->result);
    snprintf(s->gtid, sizeof(s->gtid), "%s", r->gtid);
    s->time = now;
    s->tables = r->tables;
    s->differ = r->differ;
    if (strcmp(r->result, "ok") == 0)
        s->ok_total++;
    else if (strcmp(r->result, "differ") == 0)
        s->differ_total++;
    else
        s->failed_total++;
    pthread_mutex_unlock(&V.mu);
    if (dir != NULL)
        write_last(r, now, dir);
    if (strcmp(r->result, "ok") == 0)
        hy_log_info("backup verify: at GTID %s %u tables identical", r->gtid, r->tables);
    else
        hy_log_error("backup verify %s: at GTID %s %u of %u tables differ", r->result,
                     r->gtid[0] ? r->gtid : "-", r->differ, r->tables);
}

void backup_verify_status(struct backup_verify_status *out)
{
    pthread_mutex_lock(&V.mu);
    *out = V.st;
    pthread_mutex_unlock(&V.mu);
}
