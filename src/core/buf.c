/*
 * buf.c: see buf.h.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/core/buf.h"

void buf_pool_init(struct buf_pool *pool, uint32_t size, uint32_t max_free)
{
    memset(pool, 0, sizeof(*pool));
    pool->size = size;
    pool->max_free = max_free;
}

void buf_pool_destroy(struct buf_pool *pool)
{
    while (pool->free != NULL) {
        struct buf *b = pool->free;
        pool->free = b->next;
        free(b);
    }
    pool->n_free = 0;
}

struct buf *buf_get(struct buf_pool *pool)
{
    struct buf *b = pool->free;
    if (b != NULL) {
        pool->free = b->next;
        pool->n_free--;
    } else {
        b = malloc(sizeof(*b) + pool->size);
        if (b == NULL)
            return NULL;
        b->cap = pool->size;
    }
    b->next = NULL;
    pool->n_alloc++;
    return b;
}

struct buf *buf_get_cap(struct buf_pool *pool, uint32_t cap)
{
    if (cap <= pool->size)
        return buf_get(pool);
    struct buf *b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    b->cap = cap;
    b->next = NULL;
    pool->n_alloc++;
    return b;
}

void buf_put(struct buf_pool *pool, struct buf *b)
{
    pool->n_alloc--;
    /* A buffer of another size (the size changed on reload) is not pooled. */
    if (pool->n_free >= pool->max_free || b->cap != pool->size) {
        free(b);
        return;
    }
    b->next = pool->free;
    pool->free = b;
    pool->n_free++;
}

hy_status_t stream_reserve(struct stream *st, struct buf_pool *pool)
{
    if (st->b != NULL)
        return HY_OK;
    st->b = buf_get(pool);
    if (st->b == NULL)
        return HY_NOMEM;
    st->head = st->scan = st->tail = 0;
    return HY_OK;
}

void stream_compact(struct stream *st)
{
    if (st->head == 0)
        return;
    uint32_t n = st->tail - st->head;
    if (n > 0)
        memmove(st->b->data, st->b->data + st->head, n);
    st->scan -= st->head;
    st->tail = n;
    st->head = 0;
}

void stream_release(struct stream *st, struct buf_pool *pool)
{
    if (st->b != NULL)
        buf_put(pool, st->b);
    st->b = NULL;
    st->head = st->scan = st->tail = 0;
}

void stream_release_if_empty(struct stream *st, struct buf_pool *pool)
{
    if (st->b != NULL && st->head == st->tail)
        stream_release(st, pool);
}

uint32_t stream_room(struct stream *st)
{
    if (st->head == st->tail && st->head != 0)
        st->head = st->scan = st->tail = 0;
    if (st->tail == st->b->cap)
        stream_compact(st);
    return st->b->cap - st->tail;
}
