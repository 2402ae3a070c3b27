/*
 * cache_inval.c: see cache_inval.h.
 */
#include <string.h>

#include "halyard/cache/cache_inval.h"

void cache_inval_start(struct cache_inval *ci, const struct gtid_pos *from)
{
    uint64_t seq = ci->seq, gaps = ci->gaps, unknown = ci->unknown, ddl = ci->ddl;
    memset(ci, 0, sizeof(*ci));
    ci->seq = seq;
    ci->ddl = ddl;
    ci->gaps = gaps;
    ci->unknown = unknown;
    if (from != NULL) {
        ci->pos = *from;
        ci->pos_known = true;
    }
}

static const struct binlog_table *map_find(const struct cache_inval *ci, uint64_t id)
{
    for (unsigned i = 0; i < ci->nmaps; i++)
        if (ci->maps[i].id == id)
            return &ci->maps[i];
    return NULL;
}

static void map_note(struct cache_inval *ci, const struct binlog_table *t)
{
    for (unsigned i = 0; i < ci->nmaps; i++)
        if (ci->maps[i].id == t->id) {
            ci->maps[i] = *t; /* an id reused for another table */
            return;
        }
    if (ci->nmaps < CACHE_INVAL_MAPS) {
        ci->maps[ci->nmaps++] = *t;
        return;
    }
    ci->maps[ci->next_map] = *t;
    ci->next_map = (ci->next_map + 1) % CACHE_INVAL_MAPS;
}

static size_t drop_all(struct cache_inval *ci, struct cache_store *st, enum cache_drop why,
                       double now)
{
    return cache_store_invalidate_all(st, why, ++ci->seq, now);
}

static size_t drop_table_id(struct cache_inval *ci, struct cache_store *st, uint64_t id, double now)
{
    const struct binlog_table *t = map_find(ci, id);
    if (t == NULL) {
        ci->unknown++;
        return drop_all(ci, st, CACHE_DROP_ALL, now);
    }
    return cache_store_invalidate_table(st, t->schema, t->table, CACHE_DROP_ROW, ++ci->seq, now);
}

/* A ROWS event: its table now, and again at its transaction's end. */
static size_t rows(struct cache_inval *ci, struct cache_store *st, const uint8_t *ev,
                   size_t body_end, double now)
{
    uint64_t id;
    if (binlog_rows_table_id(ev, body_end, &id) != HY_OK) {
        ci->unknown++;
        return drop_all(ci, st, CACHE_DROP_ALL, now);
    }
    bool seen = false;
    for (unsigned i = 0; i < ci->ntrx && !seen; i++)
        seen = ci->trx_ids[i] == id;
    if (!seen && ci->ntrx < CACHE_INVAL_TABLES)
        ci->trx_ids[ci->ntrx++] = id;
    else if (!seen)
        ci->trx_overflow = true;
    return drop_table_id(ci, st, id, now);
}

/* The open transaction ended: its tables dropped again. */
static size_t trx_end(struct cache_inval *ci, struct cache_store *st, double now)
{
    size_t n = 0;
    if (ci->trx_overflow)
        n = drop_all(ci, st, CACHE_DROP_ALL, now);
    else
        for (unsigned i = 0; i < ci->ntrx; i++)
            n += drop_table_id(ci, st, ci->trx_ids[i], now);
    ci->ntrx = 0;
    ci->trx_overflow = false;
    if (ci->grp.gtid.seq != 0 && binlog_pos_apply(&ci->pos, &ci->grp.gtid) == HY_OK)
        ci->pos_known = true;
    return n;
}

/* A GTID event: a gap since the last one drops everything. */
static size_t gtid_seen(struct cache_inval *ci, struct cache_store *st, const uint8_t *ev,
                        size_t body_end, double now)
{
    struct gtid g;
    uint8_t flags;
    if (binlog_gtid_parse(ev, body_end, &g, &flags) != HY_OK)
        return 0;
    if (ci->pos_known && binlog_gtid_order(&ci->pos, &g) == BINLOG_GTID_GAP) {
        ci->gaps++;
        return drop_all(ci, st, CACHE_DROP_ALL, now);
    }
    return 0;
}

size_t cache_inval_feed(struct cache_inval *ci, struct cache_store *st, const uint8_t *ev,
                        size_t body_end, double now)
{
    size_t n = 0;
    if (body_end >= BINLOG_HEADER_LEN && ev[4] == BINLOG_GTID)
        n += gtid_seen(ci, st, ev, body_end, now);
    enum binlog_group_step step = binlog_group_feed(&ci->grp, ev, body_end);
    switch (binlog_change_of(ev, body_end)) {
    case BINLOG_CHANGES_NOTHING:
        break;
    case BINLOG_CHANGES_TABLE_MAP: {
        struct binlog_table t;
        if (binlog_table_map_parse(ev, body_end, &t) == HY_OK)
            map_note(ci, &t);
        else
            ci->trx_overflow = true; /* a table it cannot name: everything at the end */
        break;
    }
    case BINLOG_CHANGES_ROWS:
        n += rows(ci, st, ev, body_end, now);
        break;
    case BINLOG_CHANGES_STATEMENT:
        ci->ddl++;
        n += drop_all(ci, st, CACHE_DROP_DDL, now);
        if (ci->grp.open || step == BINLOG_END)
            ci->trx_overflow = true; /* and again once it is committed */
        break;
    case BINLOG_CHANGES_UNKNOWN:
        ci->unknown++;
        ci->ddl++;
        n += drop_all(ci, st, CACHE_DROP_ALL, now);
        ci->trx_overflow = true;
        break;
    }
    if (step == BINLOG_END)
        n += trx_end(ci, st, now);
    return n;
}
