/*
 * admin_backup.c: `show backup`, the binlog archive's state
 * (binlog_archive.h), the last full backup's (backup_full.h) and the last
 * verify's (backup_verify.h) as a
 * name/value table or one JSON object. Pure: the status comes in as copies.
 */
#include <stdio.h>
#include <string.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/backup/backup_verify.h"
#include "halyard/backup/binlog_archive.h"

static void kv_secs(struct kv *kv, const char *key, double v)
{
    char buf[32];
    if (v < 0) {
        if (kv->json) {
            kv_key(kv, key);
            textbuf_puts(kv->sb, "null");
        } else {
            kv_str(kv, key, "-");
        }
        return;
    }
    snprintf(buf, sizeof(buf), "%.3f", v);
    if (kv->json) {
        kv_key(kv, key);
        textbuf_puts(kv->sb, buf);
    } else {
        kv_str(kv, key, buf);
    }
}

/* The schedule, the second copy's totals, then each file with its copy. */
static void render_copies(struct kv *kv, const struct backup_copy_status *c,
                          const struct backup_sched_status *sc)
{
    if (sc != NULL) {
        kv_str(kv, "full_schedule", sc->state);
        kv_time(kv, "full_next", (long long)sc->next);
        kv_u64(kv, "full_scheduled", sc->started);
        kv_int(kv, "full_max_age_s", (long long)sc->max_age_s);
        kv_bool(kv, "full_too_old", sc->too_old);
        if (sc->watch.checked) { /* backup_watch.h */
            kv_u64(kv, "chains_broken", sc->watch.chains_broken);
            kv_u64(kv, "archive_keys_missing", sc->watch.keys_missing);
            kv_int(kv, "window_s", (long long)sc->watch.window_s);
            kv_str(kv, "window_from", sc->watch.window_from);
            kv_int(kv, "window_promised_s", (long long)sc->watch.promised_s);
            kv_bool(kv, "window_short", sc->watch.window_short);
        }
    }
    if (c == NULL)
        return;
    kv_str(kv, "copy_target", c->target);
    kv_str(kv, "copy_to", c->target_to);
    kv_u64(kv, "copies_pending", c->pending + c->copying);
    kv_u64(kv, "copies_sent", c->sent);
    kv_u64(kv, "copies_safe", c->safe);
    kv_u64(kv, "copies_failed", c->failed);
    kv_u64(kv, "copy_failures", c->failures_total);
    kv_str(kv, "copy_last_error", c->last_error);
    kv_time(kv, "copy_last_error_time", (long long)c->last_error_time);
    struct kv_list l;
    char k[160];
    list_begin(&l, kv, "copies");
    for (size_t i = 0; i < c->n_items; i++) {
        const struct backup_copy_item *it = &c->items[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), it->name);
        kv_str(kv, elem_key(&l, "kind", k, sizeof(k)), it->kind);
        kv_u64(kv, elem_key(&l, "bytes", k, sizeof(k)), it->size);
        kv_str(kv, elem_key(&l, "copy", k, sizeof(k)), it->state);
        kv_str(kv, elem_key(&l, "sha256", k, sizeof(k)), it->sha256);
        kv_u64(kv, elem_key(&l, "attempts", k, sizeof(k)), it->attempts);
        kv_time(kv, elem_key(&l, "done", k, sizeof(k)), (long long)it->done);
        kv_str(kv, elem_key(&l, "error", k, sizeof(k)), it->error);
        elem_end(&l);
    }
    list_end(&l);
}

void admin_render_backup(struct textbuf *sb, const struct binlog_archive_status *s,
                         const struct backup_full_status *f, const struct backup_copy_status *c,
                         const struct backup_sched_status *sc, const struct backup_verify_status *v,
                         bool json)
{
    struct kv kv;
    kv_begin(&kv, sb, json, "name");
    kv_str(&kv, "archive_state", s->enabled ? s->state : "off");
    kv_str(&kv, "dir", s->dir);
    kv_str(&kv, "source", s->source);
    kv_str(&kv, "source_file", s->source_file);
    kv_str(&kv, "file", s->file);
    kv_str(&kv, "archived_gtid", s->gtid);
    kv_str(&kv, "primary_gtid", s->primary_gtid);
    kv_secs(&kv, "lag_s", s->lag_seconds);
    kv_int(&kv, "lag_transactions", s->lag_transactions);
    kv_secs(&kv, "lag_p50_s", s->lag_p50);
    kv_secs(&kv, "lag_p99_s", s->lag_p99);
    kv_secs(&kv, "lag_max_s", s->lag_max);
    kv_u64(&kv, "lag_samples", s->lag_samples);
    kv_u64(&kv, "transactions", s->transactions);
    kv_u64(&kv, "events", s->events);
    kv_u64(&kv, "bytes", s->bytes);
    kv_u64(&kv, "files_opened", s->files);
    kv_u64(&kv, "files_removed", s->files_removed);
    kv_u64(&kv, "streams", s->reconnects);
    kv_u64(&kv, "corrupt_events", s->corrupt);
    kv_u64(&kv, "gaps", s->gaps);
    kv_u64(&kv, "lost_transactions", s->lost_trx);
    kv_str(&kv, "last_gap", s->last_gap);
    kv_str(&kv, "last_error", s->last_error);
    kv_time(&kv, "last_error_time", (long long)s->last_error_time);
    kv_str(&kv, "full_state", f->state);
    kv_str(&kv, "full_type", f->type);
    kv_str(&kv, "full_chain_note", f->chain_note);
    kv_u64(&kv, "full_to_lsn", f->to_lsn);
    kv_str(&kv, "full_source", f->source);
    kv_bool(&kv, "full_source_is_primary", f->source_is_primary);
    kv_str(&kv, "full_account", f->account);
    kv_time(&kv, "full_started", (long long)f->started);
    kv_time(&kv, "full_finished", (long long)f->finished);
    kv_str(&kv, "full_file", f->file);
    kv_str(&kv, "full_gtid", f->gtid);
    kv_u64(&kv, "full_bytes", f->size);
    kv_u64(&kv, "full_schemas", f->schemas);
    kv_str(&kv, "full_sha256", f->sha256);
    kv_str(&kv, "full_error", f->error);
    kv_u64(&kv, "full_ok", f->ok);
    kv_u64(&kv, "full_failed", f->failed);
    if (v != NULL) {
        kv_str(&kv, "verify_result", v->result);
        kv_time(&kv, "verify_time", (long long)v->time);
        kv_str(&kv, "verify_gtid", v->gtid);
        kv_u64(&kv, "verify_tables", v->tables);
        kv_u64(&kv, "verify_differ", v->differ);
        kv_bool(&kv, "verify_ok", strcmp(v->result, "ok") == 0);
        kv_u64(&kv, "verify_ok_total", v->ok_total);
        kv_u64(&kv, "verify_failed_total", v->differ_total + v->failed_total);
    }
    render_copies(&kv, c, sc);
    kv_end(&kv);
}
