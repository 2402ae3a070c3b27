/*
 * buf.h: fixed-size I/O buffers from a per-worker free list.
 *
 * A session holds a buffer for a direction only while bytes are in flight
 * in that direction; an idle session holds none, so ten thousand idle
 * clients cost no buffer memory. Buffers never cross threads, so the pool
 * takes no lock (twemproxy nc_mbuf, pgbouncer iobuf).
 */
#ifndef HALYARD_BUF_H
#define HALYARD_BUF_H

#include "halyard/core/core.h"

struct buf {
    struct buf *next; /* free-list link while pooled */
    uint32_t cap;
    uint8_t data[];
};

struct buf_pool {
    struct buf *free;
    uint32_t size; /* capacity of every buffer */
    uint32_t n_free;
    uint32_t max_free; /* keep at most this many pooled, free the rest */
    uint64_t n_alloc;  /* buffers currently handed out (gauge) */
};

void buf_pool_init(struct buf_pool *pool, uint32_t size, uint32_t max_free);
void buf_pool_destroy(struct buf_pool *pool);
/* A buffer of pool->size bytes, or NULL when memory is exhausted. */
struct buf *buf_get(struct buf_pool *pool);
/* A buffer of at least cap bytes: the pool's own when cap fits in one, else
 * one of exactly cap bytes, freed (not pooled) when put back. */
struct buf *buf_get_cap(struct buf_pool *pool, uint32_t cap);
void buf_put(struct buf_pool *pool, struct buf *b);

/*
 * A byte stream through one buffer:
 *   [0, head)      already sent on
 *   [head, scan)   parsed and ready to send on
 *   [scan, tail)   read but not yet parsed (a partial packet header)
 *   [tail, cap)    free
 */
struct stream {
    struct buf *b;
    uint32_t head;
    uint32_t scan;
    uint32_t tail;
};

static inline uint32_t stream_pending(const struct stream *st)
{
    return st->scan - st->head;
}

static inline uint32_t stream_unparsed(const struct stream *st)
{
    return st->tail - st->scan;
}

static inline bool stream_empty(const struct stream *st)
{
    return st->head == st->tail;
}

/* Make sure a buffer is attached; HY_NOMEM if the pool cannot give one. */
hy_status_t stream_reserve(struct stream *st, struct buf_pool *pool) HY_MUSTCHECK;
/* Move [head, tail) to the start of the buffer, making room at the end. */
void stream_compact(struct stream *st);
/* Give the buffer back when nothing is left in it. */
void stream_release_if_empty(struct stream *st, struct buf_pool *pool);
void stream_release(struct stream *st, struct buf_pool *pool);
/* Free room at the end, compacting first when that is what it takes. */
uint32_t stream_room(struct stream *st);

#endif /* HALYARD_BUF_H */
