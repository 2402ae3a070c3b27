/*
 * cache_tables.c: see cache_tables.h. An open-addressing hash set of
 * lower-cased names, grown at half full.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/cache/cache_tables.h"

#define NAME_MAX_LEN 129 /* 64 + 1 + 64 */

struct cache_tables {
    char **slots;
    size_t nslots; /* a power of two */
    size_t n;
};

uint64_t cache_tables_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)tolower((unsigned char)*s)) * 1099511628211ULL;
    return h;
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
    while (t->slots[i] != NULL && strcasecmp(t->slots[i], name) != 0)
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
            bigger.slots[slot_of(&bigger, t->slots[i])] = t->slots[i];
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

hy_status_t cache_tables_add(struct cache_tables *t, const char *schema, const char *table)
{
    size_t ls = strlen(schema), lt = strlen(table);
    if (ls == 0 || lt == 0 || ls + 1 + lt > NAME_MAX_LEN)
        return HY_ERROR;
    if (system_schema(schema))
        return HY_OK;
    char name[NAME_MAX_LEN + 1];
    for (size_t i = 0; i < ls; i++)
        name[i] = (char)tolower((unsigned char)schema[i]);
    name[ls] = '.';
    for (size_t i = 0; i < lt; i++)
        name[ls + 1 + i] = (char)tolower((unsigned char)table[i]);
    name[ls + 1 + lt] = '\0';
    if ((t->n + 1) * 2 > t->nslots && grow(t) != HY_OK)
        return HY_NOMEM;
    size_t i = slot_of(t, name);
    if (t->slots[i] != NULL)
        return HY_OK;
    if ((t->slots[i] = strdup(name)) == NULL)
        return HY_NOMEM;
    t->n++;
    return HY_OK;
}

bool cache_tables_has(const struct cache_tables *t, const char *name)
{
    return t != NULL && t->slots[slot_of(t, name)] != NULL;
}

size_t cache_tables_count(const struct cache_tables *t)
{
    return t != NULL ? t->n : 0;
}
