/*
 * cache_tables.c: see cache_tables.h. An open-addressing hash table of
 * lower-cased names, grown at half full; each entry holds its key columns
 * and its foreign-key children (pointers to other entries, which stay put
 * when the table grows: the slots hold pointers).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/cache/cache_tables.h"
#include "halyard/core/hash.h"

#define NAME_MAX_LEN 129 /* 64 + 1 + 64 */

struct tent {
    char name[NAME_MAX_LEN + 1];  /* lower case */
    char exact[NAME_MAX_LEN + 1]; /* as the server spelled it */
    bool base;                    /* a base table (a parent only named by a foreign key: not) */
    bool ambiguous;               /* another table's name differs only in case */
    bool other;                   /* a view or another non-base object has the name in some case */
    bool trigger;                 /* a trigger is defined on it */
    unsigned nkeys;
    uint16_t key_pos[CACHE_KEY_COLS];
    uint8_t key_kind[CACHE_KEY_COLS]; /* enum cache_key_kind */
    char key_name[CACHE_KEY_COLS][65];
    unsigned nchildren;
    bool children_overflow;
    const struct tent *children[CACHE_FK_CHILDREN];
};

struct cache_tables {
    struct tent **slots;
    size_t nslots;       /* a power of two */
    size_t n;            /* entries */
    size_t nbase;        /* of which base tables */
    size_t nuncached;    /* base tables of user schemas never cached for their engine */
    bool triggers_known; /* every trigger was read (the reader may see them all) */
};

uint64_t cache_tables_hash(const char *s)
{
    return hy_hash64_str(HY_HASH64_INIT, s, true);
}

struct cache_tables *cache_tables_create(void)
{
    struct cache_tables *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->nslots = 64;
    t->slots = calloc(t->nslots, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void cache_tables_destroy(struct cache_tables *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nslots; i++)
        free(t->slots[i]);
    free(t->slots);
    free(t);
}

/* The slot of `name`, or the empty slot where it would go. */
static size_t slot_of(const struct cache_tables *t, const char *name)
{
    size_t i = (size_t)cache_tables_hash(name) & (t->nslots - 1);
    while (t->slots[i] != NULL && strcasecmp(t->slots[i]->name, name) != 0)
        i = (i + 1) & (t->nslots - 1);
    return i;
}

static hy_status_t grow(struct cache_tables *t)
{
    struct cache_tables bigger = {.nslots = t->nslots * 2};
    bigger.slots = calloc(bigger.nslots, sizeof(*bigger.slots));
    if (bigger.slots == NULL)
        return HY_NOMEM;
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i] != NULL)
            bigger.slots[slot_of(&bigger, t->slots[i]->name)] = t->slots[i];
    free(t->slots);
    t->slots = bigger.slots;
    t->nslots = bigger.nslots;
    return HY_OK;
}

static bool system_schema(const char *schema)
{
    static const char *const sys[] = {"mysql", "information_schema", "performance_schema", "sys"};
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
        if (strcasecmp(schema, sys[i]) == 0)
            return true;
    return false;
}

/* "schema.table" into out (as spelled, and lower case into lc); false
 * when a part is empty or it is too long. */
static bool name_make(char *out, char *lc, const char *schema, const char *table)
{
    size_t ls = strlen(schema), lt = strlen(table);
    if (ls == 0 || lt == 0 || ls + 1 + lt > NAME_MAX_LEN)
        return false;
    memcpy(out, schema, ls);
    out[ls] = '.';
    memcpy(out + ls + 1, table, lt + 1);
    for (size_t i = 0; i <= ls + lt + 1; i++)
        lc[i] = (char)tolower((unsigned char)out[i]);
    return true;
}

static const struct tent *find(const struct cache_tables *t, const char *name)
{
    if (t == NULL)
        return NULL;
    return t->slots[slot_of(t, name)];
}

static const struct tent *find2(const struct cache_tables *t, const char *schema, const char *table)
{
    char exact[NAME_MAX_LEN + 1], lc[NAME_MAX_LEN + 1];
    return name_make(exact, lc, schema, table) ? find(t, lc) : NULL;
}

/* The entry of schema.table, made when new (base or not). */
static hy_status_t get(struct cache_tables *t, const char *schema, const char *table, bool base,
                       struct tent **out)
{
    struct tent probe;
    *out = NULL;
    if (!name_make(probe.exact, probe.name, schema, table))
        return HY_ERROR;
    if (system_schema(schema))
        return HY_OK;
    if ((t->n + 1) * 2 > t->nslots && grow(t) != HY_OK)
        return HY_NOMEM;
    size_t i = slot_of(t, probe.name);
    struct tent *e = t->slots[i];
    if (e == NULL) {
        if ((e = calloc(1, sizeof(*e))) == NULL)
            return HY_NOMEM;
        memcpy(e->name, probe.name, sizeof(probe.name));
        memcpy(e->exact, probe.exact, sizeof(probe.exact));
        t->slots[i] = e;
        t->n++;
    } else if (strcmp(e->exact, probe.exact) != 0) {
        e->ambiguous = true; /* `T` and `t`: which one a row event names is not told */
        e->nkeys = 0;
    }
    if (base && !e->base) {
        e->base = true;
        t->nbase++;
    }
    *out = e;
    return HY_OK;
}

hy_status_t cache_tables_add(struct cache_tables *t, const char *schema, const char *table)
{
    struct tent *e;
    return get(t, schema, table, true, &e);
}

hy_status_t cache_tables_add_other(struct cache_tables *t, const char *schema, const char *table)
{
    struct tent *e;
    hy_status_t st = get(t, schema, table, false, &e);
    if (st == HY_OK && e != NULL)
        e->other = true;
    return st;
}

bool cache_tables_has(const struct cache_tables *t, const char *name)
{
    const struct tent *e = find(t, name);
    return e != NULL && e->base && !e->other;
}

size_t cache_tables_count(const struct cache_tables *t)
{
    return t != NULL ? t->nbase : 0;
}

void cache_tables_note_uncached(struct cache_tables *t)
{
    t->nuncached++;
}

size_t cache_tables_uncached(const struct cache_tables *t)
{
    return t != NULL ? t->nuncached : 0;
}

hy_status_t cache_tables_add_key(struct cache_tables *t, const char *schema, const char *table,
                                 const char *column, unsigned pos)
{
    return cache_tables_add_key_kind(t, schema, table, column, pos, CACHE_KEY_INT);
}

hy_status_t cache_tables_add_key_kind(struct cache_tables *t, const char *schema, const char *table,
                                      const char *column, unsigned pos, enum cache_key_kind kind)
{
    char exact[NAME_MAX_LEN + 1], lc[NAME_MAX_LEN + 1];
    if (!name_make(exact, lc, schema, table) || strlen(column) > 64 || pos > UINT16_MAX)
        return HY_ERROR;
    struct tent *e = t->slots[slot_of(t, lc)];
    if (kind == CACHE_KEY_NONE || e == NULL || !e->base || e->ambiguous ||
        e->nkeys == CACHE_KEY_COLS)
        return HY_OK;
    for (unsigned i = 0; i < e->nkeys; i++)
        if (e->key_pos[i] == pos)
            return HY_OK;
    e->key_pos[e->nkeys] = (uint16_t)pos;
    e->key_kind[e->nkeys] = (uint8_t)kind;
    memcpy(e->key_name[e->nkeys], column, strlen(column) + 1);
    e->nkeys++;
    return HY_OK;
}

int cache_tables_key_pos(const struct cache_tables *t, const char *name, const char *column)
{
    return cache_tables_key_of(t, name, column, NULL);
}

int cache_tables_key_of(const struct cache_tables *t, const char *name, const char *column,
                        enum cache_key_kind *kind)
{
    const struct tent *e = find(t, name);
    if (e == NULL || e->ambiguous)
        return -1;
    for (unsigned i = 0; i < e->nkeys; i++)
        if (strcasecmp(e->key_name[i], column) == 0) { /* column names are never case-sensitive */
            if (kind != NULL)
                *kind = (enum cache_key_kind)e->key_kind[i];
            return e->key_pos[i];
        }
    return -1;
}

unsigned cache_tables_keys(const struct cache_tables *t, const char *schema, const char *table,
                           unsigned *pos, unsigned max)
{
    return cache_tables_keys_kind(t, schema, table, pos, NULL, max);
}

unsigned cache_tables_keys_kind(const struct cache_tables *t, const char *schema, const char *table,
                                unsigned *pos, enum cache_key_kind *kind, unsigned max)
{
    const struct tent *e = find2(t, schema, table);
    if (e == NULL || e->ambiguous)
        return 0;
    unsigned n = 0;
    for (; n < e->nkeys && n < max; n++) {
        pos[n] = e->key_pos[n];
        if (kind != NULL)
            kind[n] = (enum cache_key_kind)e->key_kind[n];
    }
    return n;
}

hy_status_t cache_tables_add_fk(struct cache_tables *t, const char *child_schema,
                                const char *child_table, const char *parent_schema,
                                const char *parent_table)
{
    struct tent *child, *parent;
    hy_status_t rc = get(t, child_schema, child_table, false, &child);
    if (rc == HY_OK)
        rc = get(t, parent_schema, parent_table, false, &parent);
    if (rc != HY_OK || child == NULL || parent == NULL)
        return rc;
    for (unsigned i = 0; i < parent->nchildren; i++)
        if (parent->children[i] == child)
            return HY_OK;
    if (parent->nchildren == CACHE_FK_CHILDREN)
        parent->children_overflow = true;
    else
        parent->children[parent->nchildren++] = child;
    return HY_OK;
}

int cache_tables_children(const struct cache_tables *t, const char *schema, const char *table,
                          const char **out)
{
    const struct tent *e = find2(t, schema, table);
    if (e == NULL)
        return 0;
    if (e->children_overflow)
        return -1;
    for (unsigned i = 0; i < e->nchildren; i++)
        out[i] = e->children[i]->name;
    return (int)e->nchildren;
}

void cache_tables_triggers_known(struct cache_tables *t)
{
    t->triggers_known = true;
}

void cache_tables_add_trigger(struct cache_tables *t, const char *schema, const char *table)
{
    char exact[NAME_MAX_LEN + 1], lc[NAME_MAX_LEN + 1];
    if (!name_make(exact, lc, schema, table))
        return; /* a name too long for any base table of the set */
    struct tent *e = t->slots[slot_of(t, lc)];
    if (e != NULL)
        e->trigger = true;
}

bool cache_tables_trigger_free(const struct cache_tables *t, const char *name)
{
    const struct tent *e = find(t, name);
    return t != NULL && t->triggers_known && e != NULL && e->base && !e->ambiguous && !e->trigger;
}
