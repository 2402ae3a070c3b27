/*
 * admin_capture.c: `capture start [FILE]`, `capture stop` and `capture
 * status` (capture.h; docs/rehearse.md). The start reads the position of
 * the first group's primary as its monitor last read it
 * (@@gtid_current_pos), the point a rehearsal's target is restored to.
 */
#include <stdio.h>
#include <string.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/admin/status.h"
#include "halyard/capture/capture.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/core/textbuf.h"

/* capture start [FILE] */
hy_status_t admin_args_capture_start(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                     size_t errlen)
{
    if (a->n > 1 || (a->n == 1 && a->len[0] >= sizeof(cmd->arg))) {
        snprintf(err, errlen, "ERR usage: capture start [FILE] (at most %zu bytes)",
                 sizeof(cmd->arg) - 1);
        return HY_ERROR;
    }
    if (a->n == 1)
        memcpy(cmd->arg, a->tok[0], a->len[0]);
    return HY_OK;
}

/* The first group's primary: its name and position. */
static void primary_position(struct config *cfg, char *name, size_t nl, char *gtid, size_t gl)
{
    struct config *v = cfg->n_groups > 0 ? group_view(cfg, 0) : cfg;
    int p = backend_primary_index(v);
    snprintf(name, nl, "%s", p >= 0 ? v->backends[p].name : "");
    gtid[0] = '\0';
    if (p >= 0 && v->backends[p].rt != NULL) {
        struct backend_info info;
        backend_info_get(v->backends[p].rt, &info);
        snprintf(gtid, gl, "%s", info.gtid_current);
    }
}

enum admin_reply admin_run_capture_start(struct admin_req *r)
{
    struct config *cfg = r->st->cfg;
    const char *file = r->cmd->arg[0] != '\0' ? r->cmd->arg : cfg->capture_file;
    char msg[700], name[128], gtid[256];
    hy_status_t rc = HY_ERROR;
    if (file == NULL || file[0] == '\0') {
        snprintf(msg, sizeof(msg), "capture: name a file (capture start FILE) or set capture_file");
    } else {
        primary_position(cfg, name, sizeof(name), gtid, sizeof(gtid));
        struct capture_opts o = {
            .file = file,
            .max_bytes = (uint64_t)cfg->capture_max_mb << 20,
            .max_seconds = (uint32_t)cfg->capture_max_seconds,
            .queue = (uint32_t)cfg->capture_queue,
            .mask = cfg->capture_mask,
            .gtid = gtid,
            .primary = name,
        };
        rc = capture_start(&o, msg, sizeof(msg));
    }
    log_audit("admin %s: capture start: %s", r->who, msg);
    answer_result(r->out, r->cmd->json, rc, msg);
    return ADMIN_REPLY_NOW;
}

enum admin_reply admin_run_capture_stop(struct admin_req *r)
{
    char msg[700];
    hy_status_t rc = capture_stop(msg, sizeof(msg));
    log_audit("admin %s: capture stop: %s", r->who, msg);
    answer_result(r->out, r->cmd->json, rc, msg);
    return ADMIN_REPLY_NOW;
}

void admin_render_capture(struct textbuf *sb, const struct capture_status *st, bool json)
{
    struct kv kv;
    kv_begin(&kv, sb, json, "name");
    kv_bool(&kv, "on", st->on);
    kv_str(&kv, "file", st->file);
    kv_bool(&kv, "masked", st->mask);
    kv_str(&kv, "start_gtid", st->gtid);
    kv_int(&kv, "started", st->started_us / 1000000);
    kv_int(&kv, "stopped", st->on ? 0 : st->stopped_us / 1000000);
    kv_str(&kv, "stopped_why", st->on ? "" : st->stopped_why);
    kv_u64(&kv, "sessions", st->sessions);
    kv_u64(&kv, "records", st->records);
    kv_u64(&kv, "bytes", st->bytes);
    kv_u64(&kv, "drops", st->drops);
    for (int i = 0; i < CAPTURE_DROP_N; i++) {
        char name[40];
        snprintf(name, sizeof(name), "drops_%s", capture_drop_name((enum capture_drop)i));
        kv_u64(&kv, name, st->drops_by[i]);
    }
    kv_end(&kv);
}

enum admin_reply admin_run_capture_status(struct admin_req *r)
{
    struct capture_status st;
    capture_status_get(&st);
    admin_render_capture(r->out, &st, r->cmd->json);
    return ADMIN_REPLY_NOW;
}
