/*
 * cache_tables.h: the base tables of the primary, as the query cache's
 * reader account sees them (issue 30): an allowlist.
 *
 * The cache keeps a SELECT's answer only when every table it reads is in
 * this set. The binary log names the base tables a write changed, never
 * the views over them, so an answer read through a view would never be
 * dropped; a temporary table or a system table is not in the binary log
 * either. information_schema shows only what the reader account may see,
 * so a list of views would miss some: a name that is not known to be a
 * base table is never cached. The set is filled from
 * information_schema.TABLES (TABLE_TYPE = 'BASE TABLE') by cache_follow.c
 * and loaded again after each DDL the binary log shows.
 *
 * Names are "schema.table", compared without regard to case. Pure, no
 * locking: tested in tests/unit/test_cache_tables.c.
 */
#ifndef HALYARD_CACHE_TABLES_H
#define HALYARD_CACHE_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

struct cache_tables;

/* An empty set; NULL when out of memory. */
struct cache_tables *cache_tables_create(void);
void cache_tables_destroy(struct cache_tables *t);

/* schema.table added. A system schema's table (mysql, information_schema,
 * performance_schema, sys) is never added: HY_OK, nothing kept.
 * HY_ERROR for a name too long, HY_NOMEM. */
hy_status_t cache_tables_add(struct cache_tables *t, const char *schema,
                             const char *table) HY_MUSTCHECK;

/* Whether `name` ("schema.table") is in the set. */
bool cache_tables_has(const struct cache_tables *t, const char *name);

size_t cache_tables_count(const struct cache_tables *t);

/* FNV-1a of a name, lower-cased (cache_store.c hashes its tables so too). */
uint64_t cache_tables_hash(const char *name);

#endif /* HALYARD_CACHE_TABLES_H */
