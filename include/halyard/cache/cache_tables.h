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
 * With the set come, for per-row invalidation (cache_inval.h):
 *   - each table's key columns: the first column of each PRIMARY or
 *     UNIQUE index whose type is a key kind (cache_keyval.h: an integer,
 *     DECIMAL, DATE, DATETIME, CHAR or VARCHAR of a listed collation),
 *     not generated, with its 0-based position in the row (the binary
 *     log's column order) and its kind. A lookup `col = V` reads only
 *     rows whose col equals V, so a row event whose images do not carry
 *     such a value there cannot change it;
 *   - the foreign keys whose cascades change a child table (ON DELETE or
 *     ON UPDATE CASCADE, SET NULL, SET DEFAULT): InnoDB applies them
 *     below the binary log, so a row event of the parent is one of the
 *     children too.
 * Two tables whose names differ only in case have no key columns (a
 * name is looked up without regard to case).
 *
 * Names are "schema.table", compared without regard to case. Pure, no
 * locking: tested in tests/unit/test_cache_tables.c.
 */
#ifndef HALYARD_CACHE_TABLES_H
#define HALYARD_CACHE_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/cache/cache_keyval.h"
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

/* schema.table is a view, a sequence or another object that is not a base
 * table: a base table whose name differs from it only in case (the
 * server's lower_case_table_names = 0) is then no longer in the set, since
 * a statement's name, compared without case, could mean either. Same
 * returns as cache_tables_add. */
hy_status_t cache_tables_add_other(struct cache_tables *t, const char *schema,
                                   const char *table) HY_MUSTCHECK;

/* Whether `name` ("schema.table") is a base table of the set, and no
 * other object's name differs from it only in case. */
bool cache_tables_has(const struct cache_tables *t, const char *name);

size_t cache_tables_count(const struct cache_tables *t);
/* A base table of a user schema that is never cached for its engine (no
 * transactions: MyISAM, Aria...; or data kept elsewhere: FEDERATED,
 * CONNECT, SPIDER), counted apart so that an account that sees only such
 * tables is told so rather than "no base table" (show cache). */
void cache_tables_note_uncached(struct cache_tables *t);
size_t cache_tables_uncached(const struct cache_tables *t);

#define CACHE_KEY_COLS    4  /* key columns kept per table */
#define CACHE_FK_CHILDREN 16 /* children kept per parent; more: every table's entries */

/* `column` (0-based `pos`) of schema.table is a key column. Ignored (HY_OK)
 * for a table not in the set, or past CACHE_KEY_COLS. */
hy_status_t cache_tables_add_key(struct cache_tables *t, const char *schema, const char *table,
                                 const char *column, unsigned pos) HY_MUSTCHECK;

/* The same, of kind `kind` (cache_tables_add_key: CACHE_KEY_INT);
 * CACHE_KEY_NONE is ignored. */
hy_status_t cache_tables_add_key_kind(struct cache_tables *t, const char *schema, const char *table,
                                      const char *column, unsigned pos,
                                      enum cache_key_kind kind) HY_MUSTCHECK;

/* The position of key column `column` of `name` ("schema.table"); -1 when
 * it is not one. */
int cache_tables_key_pos(const struct cache_tables *t, const char *name, const char *column);
/* The same, and its kind into *kind (when not NULL). */
int cache_tables_key_of(const struct cache_tables *t, const char *name, const char *column,
                        enum cache_key_kind *kind);

/* The key columns' positions of schema.table into pos[] (at most max);
 * their count, 0 when none or not known. */
unsigned cache_tables_keys(const struct cache_tables *t, const char *schema, const char *table,
                           unsigned *pos, unsigned max);
/* The same, and their kinds into kind[] (when not NULL). */
unsigned cache_tables_keys_kind(const struct cache_tables *t, const char *schema, const char *table,
                                unsigned *pos, enum cache_key_kind *kind, unsigned max);

/* A foreign key of child schema.table on parent schema.table that cascades. */
hy_status_t cache_tables_add_fk(struct cache_tables *t, const char *child_schema,
                                const char *child_table, const char *parent_schema,
                                const char *parent_table) HY_MUSTCHECK;

/* The children of parent schema.table ("schema.table", pointers into the
 * set) into out[] (at most CACHE_FK_CHILDREN); their count, or -1 when the
 * parent has more than that (then every table is to be dropped). */
int cache_tables_children(const struct cache_tables *t, const char *schema, const char *table,
                          const char **out);

/* The triggers: each table one is defined on (cache_tables_add_trigger,
 * after the tables were added), and that the list is whole (the reader
 * account holds the TRIGGER privilege on *.*: information_schema shows a
 * trigger only to who holds it). */
void cache_tables_add_trigger(struct cache_tables *t, const char *schema, const char *table);
void cache_tables_triggers_known(struct cache_tables *t);
/* `name` ("schema.table") is a base table known to have no trigger (a
 * statement-format write of it changes it alone, cascades aside). */
bool cache_tables_trigger_free(const struct cache_tables *t, const char *name);

/* FNV-1a of a name, lower-cased (cache_store.c hashes its tables so too). */
uint64_t cache_tables_hash(const char *name);

#endif /* HALYARD_CACHE_TABLES_H */
