/*
 * cache_visible.c: see cache_visible.h.
 */
#include <string.h>

#include "halyard/cache/cache_visible.h"
#include "halyard/core/text.h"
#include "halyard/protocol/binlog.h"

bool cache_binlog_file_number(const char *name, uint64_t *file)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return false;
    size_t len = strlen(dot + 1);
    return len > 0 && hy_digits(dot + 1, len) == len &&
           hy_parse_u64(dot + 1, len, UINT64_MAX, file);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool at_le(struct cache_binlog_at a, struct cache_binlog_at b)
{
    return a.file < b.file || (a.file == b.file && a.pos <= b.pos);
}

static unsigned slot(const struct cache_visible *v, unsigned i)
{
    return (v->head + i) % CACHE_VISIBLE_MAX;
}

void cache_visible_reset(struct cache_visible *v, uint64_t seq)
{
    v->head = 0;
    v->n = 1;
    v->note[0].seq = seq;
    v->note[0].at = (struct cache_binlog_at){0, 0};
    v->start_open = true;
    v->cur = (struct cache_binlog_at){0, 0};
}

/* The note of an event that gave sequence numbers from `seq` on, ending
 * at `at`; when full, the newest note takes it (it then waits for the
 * later coordinate: only ever later than it could have been). */
static void note_add(struct cache_visible *v, uint64_t seq, struct cache_binlog_at at)
{
    if (v->n == CACHE_VISIBLE_MAX) {
        v->note[slot(v, v->n - 1)].at = at;
        return;
    }
    unsigned i = slot(v, v->n++);
    v->note[i].seq = seq;
    v->note[i].at = at;
}

static void start_known(struct cache_visible *v, uint64_t pos)
{
    if (!v->start_open)
        return;
    v->note[v->head].at = (struct cache_binlog_at){v->cur.file, pos};
    v->start_open = false;
}

void cache_visible_event(struct cache_visible *v, const uint8_t *ev, size_t body_end,
                         uint64_t before, uint64_t after)
{
    if (body_end < BINLOG_HEADER_LEN) {
        if (after > before) /* no coordinate: visible once anything after it is */
            note_add(v, before + 1, (struct cache_binlog_at){v->cur.file, v->cur.pos + 1});
        return;
    }
    /* the header as binlog.h lays it out (its checksum is not in body_end) */
    struct binlog_header h = {
        .type = ev[4],
        .size = le32(ev + 9),
        .log_pos = le32(ev + 13),
        .flags = (uint16_t)(ev[17] | ev[18] << 8),
    };
    bool artificial = (h.flags & BINLOG_F_ARTIFICIAL) != 0;
    if (h.type == BINLOG_ROTATE) {
        char name[256];
        uint64_t pos, file;
        if (binlog_rotate_parse(ev, body_end, name, sizeof(name), &pos) == HY_OK &&
            cache_binlog_file_number(name, &file))
            v->cur = (struct cache_binlog_at){file, 0};
    } else if (h.type == BINLOG_GTID_LIST && artificial && h.log_pos > 0) {
        /* where the primary begins sending: the end of the starting GTID */
        start_known(v, h.log_pos);
        v->cur.pos = h.log_pos;
    } else if (h.type == BINLOG_GTID && !artificial && h.log_pos >= h.size) {
        /* the first group streamed begins after the starting GTID */
        start_known(v, h.log_pos - h.size);
    }
    if (!artificial && h.log_pos > 0 && h.type != BINLOG_ROTATE)
        v->cur.pos = h.log_pos;
    if (after > before)
        note_add(v, before + 1,
                 !artificial && h.log_pos > 0
                     ? (struct cache_binlog_at){v->cur.file, h.log_pos}
                     : (struct cache_binlog_at){v->cur.file, v->cur.pos + 1});
}

void cache_visible_seen(struct cache_visible *v, struct cache_binlog_at at)
{
    while (v->n > 0 && !v->start_open && at_le(v->note[v->head].at, at)) {
        v->head = slot(v, 1);
        v->n--;
    }
}

uint64_t cache_visible_seq(const struct cache_visible *v, uint64_t applied)
{
    return v->n == 0 ? applied : v->note[v->head].seq - 1;
}
