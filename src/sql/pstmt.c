/*
 * pstmt.c: a session's prepared statements, as data (see pstmt.h).
 */
#include "halyard/sql/pstmt.h"

#include <stdlib.h>
#include <string.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/varstate.h"

struct pstmt *pstmt_new(uint32_t n_backends)
{
    struct pstmt *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->be = calloc(n_backends, sizeof(st->be[0]));
    if (st->be == NULL) {
        free(st);
        return NULL;
    }
    st->cursor_idx = st->ld_idx = st->once_idx = -1;
    return st;
}

uint32_t pstmt_exec_id(const struct pstmt *st, uint32_t idx)
{
    return st->once_idx == (int)idx ? st->once_id : st->be[idx].id;
}

void pstmt_free(struct pstmt *st)
{
    if (st == NULL)
        return;
    free(st->sql);
    free(st->digest_text);
    free(st->calls);
    varstate_destroy(st->env);
    free(st->env_key);
    free(st->db);
    free(st->types);
    free(st->key);
    free(st->hint_backend);
    free(st->be);
    free(st);
}

uint32_t pstmt_id_next(struct pstmt_map *m)
{
    if (++m->next_id == MYSQL_STMT_ID_LAST)
        m->next_id = 1;
    return m->next_id;
}

hy_status_t pstmt_insert(struct pstmt_map *m, struct pstmt *st)
{
    if (m->count >= m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 16;
        struct pstmt **tab = calloc(cap, sizeof(*tab));
        if (tab == NULL)
            return HY_NOMEM;
        for (uint32_t i = 0; i < m->cap; i++) {
            struct pstmt *e = m->tab[i];
            while (e != NULL) {
                struct pstmt *next = e->next;
                e->next = tab[e->id & (cap - 1)];
                tab[e->id & (cap - 1)] = e;
                e = next;
            }
        }
        free(m->tab);
        m->tab = tab;
        m->cap = cap;
    }
    struct pstmt **b = &m->tab[st->id & (m->cap - 1)];
    st->next = *b;
    *b = st;
    m->count++;
    m->last = st->id;
    return HY_OK;
}

struct pstmt *pstmt_find(const struct pstmt_map *m, uint32_t id)
{
    if (id == MYSQL_STMT_ID_LAST)
        id = m->last;
    if (id == 0 || m->tab == NULL)
        return NULL;
    for (struct pstmt *st = m->tab[id & (m->cap - 1)]; st != NULL; st = st->next) {
        if (st->id == id)
            return st;
    }
    return NULL;
}

void pstmt_remove(struct pstmt_map *m, struct pstmt *st)
{
    struct pstmt **pp = &m->tab[st->id & (m->cap - 1)];
    while (*pp != NULL && *pp != st)
        pp = &(*pp)->next;
    if (*pp == st) {
        *pp = st->next;
        m->count--;
    }
    if (m->last == st->id)
        m->last = 0;
    pstmt_free(st);
}

void pstmt_clear(struct pstmt_map *m)
{
    for (uint32_t i = 0; i < m->cap; i++) {
        struct pstmt *e = m->tab[i];
        while (e != NULL) {
            struct pstmt *next = e->next;
            pstmt_free(e);
            e = next;
        }
    }
    free(m->tab);
    m->tab = NULL;
    m->cap = m->count = 0;
    m->last = 0;
}

void pstmt_backend_gone(struct pstmt_map *m, uint32_t idx)
{
    for (uint32_t i = 0; i < m->cap; i++) {
        for (struct pstmt *st = m->tab[i]; st != NULL; st = st->next) {
            if (st->once_idx == (int)idx) {
                st->once_idx = -1;
                st->once_marked = false;
                st->once_id = 0;
                if (st->cursor_idx == (int)idx)
                    st->cursor_idx = -1;
            }
            if (st->be[idx].id == 0)
                continue;
            st->be[idx].id = 0;
            st->be[idx].types_gen = 0;
            if (st->cursor_idx == (int)idx)
                st->cursor_idx = -1;
            if (st->ld_idx == (int)idx) {
                st->ld_idx = -1;
                st->ld_lost = true;
            }
        }
    }
}

bool pstmt_backend_bound(const struct pstmt_map *m, uint32_t idx)
{
    for (uint32_t i = 0; i < m->cap; i++) {
        for (const struct pstmt *st = m->tab[i]; st != NULL; st = st->next) {
            if (st->cursor_idx == (int)idx || st->ld_idx == (int)idx ||
                (st->home_only && st->home == idx && st->be[idx].id != 0))
                return true;
        }
    }
    return false;
}

hy_status_t pstmt_types_remember(struct pstmt *st, const uint8_t *types)
{
    size_t n = 2 * (size_t)st->n_params;
    if (st->types != NULL && memcmp(st->types, types, n) == 0)
        return HY_OK;
    if (st->types == NULL) {
        st->types = malloc(n);
        if (st->types == NULL)
            return HY_NOMEM;
    }
    memcpy(st->types, types, n);
    if (++st->types_gen == 0)
        st->types_gen = 1;
    return HY_OK;
}
