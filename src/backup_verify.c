/*
 * backup_verify.c: the last `backup verify` result reported to halyard
 * (backup_verify.h), behind a mutex.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/backup_verify.h"
#include "halyard/log.h"

static struct {
    pthread_mutex_t mu;
    struct backup_verify_status st;
} V = {.mu = PTHREAD_MUTEX_INITIALIZER, .st = {.result = "none"}};

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v > UINT32_MAX)
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

void backup_verify_record(const struct backup_verify_status *r, time_t now)
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
