/*
 * shard.h: schema shards, the group a statement runs on (issue 15).
 *
 * A listener with `shards = true` fronts several groups (group.h). Each
 * schema lives on one group: the config's `shards.schemas` says which.
 * A schema the map does not name lives on the listener's group (its
 * *default* group), where the server answers for it as it would alone
 * (1049 for one that is not there). The system schemas (mysql,
 * information_schema, performance_schema, sys) are on every group and
 * bind a statement to none.
 *
 * A session on such a listener is on one group at a time (its view).
 * For each statement, shard_decide() says which group runs it, from the
 * schemas the statement names (classify_schemas(): qualified names the map
 * knows, USE, CREATE/DROP/ALTER DATABASE, SHOW TABLES FROM db...), else
 * the session's schema (unless the statement `stays`: COMMIT, SET, SHOW
 * WARNINGS...), else the group it is on; or why it is refused:
 *  - a schema the map puts on two groups (SHARD_CONFLICT): never routed
 *    until the config says which;
 *  - a statement naming schemas of two groups (SHARD_TWO_GROUPS);
 *  - a statement for another group while a transaction is open on the
 *    session's group (SHARD_CROSS_TRX): the transaction stays open there;
 *  - a statement for another group while the session holds state on its
 *    group that cannot move (SHARD_HELD: a temporary table, LOCK TABLES,
 *    a user lock...).
 * A statement on a key-sharded table (shard_key.h) comes with the group of
 * its key (in->by_key), which decides in place of the schemas, under the
 * same transaction rules.
 * Pure: no I/O, writes only *out. tests/unit/test_shard.c tests it.
 */
#ifndef HALYARD_SHARD_H
#define HALYARD_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/classify.h"
#include "halyard/core/core.h"

#define SHARD_NO_GROUP UINT16_MAX

/* One schema of the map: the group it is on, and a second one when the
 * map names two (a conflict, refused until resolved). */
struct shard_schema {
    char *name;
    uint16_t group;
    uint16_t other; /* SHARD_NO_GROUP, or the second group naming it */
    int line;       /* of the entry in the config file; 0 for a learned one */
    bool learned;   /* from the groups' SHOW DATABASES (shards.learn), not the config */
};

struct shard_map {
    struct shard_schema *v; /* sorted by name (strcmp: names are case-sensitive) */
    size_t n;
};

/* The entry of `name` in the map, or NULL. */
const struct shard_schema *shard_find(const struct shard_map *m, const char *name);
/* Whether `name` is a system schema (on every group). */
bool shard_is_system(const char *name);
/* Sort the map by name, then line (after the config filled it). */
void shard_map_sort(struct shard_map *m);

/* shards.learn: the map sessions use. The config's entries as they are
 * (they win, their conflicts stay); then each schema the groups list
 * (lists[g]: n[g] names from group g's SHOW DATABASES; NULL = not read)
 * that the config does not: on one group, that group's; on several, a
 * conflict of the first two, refused until resolved. System schemas are
 * skipped. *out gets copies of the names (shard_map_free). HY_NOMEM. */
hy_status_t shard_map_merge(const struct shard_map *cfg_map, char **const *lists, const size_t *n,
                            size_t n_groups, struct shard_map *out) HY_MUSTCHECK;
void shard_map_free(struct shard_map *m);

enum shard_verdict {
    SHARD_GO,         /* run it on out->group (a move when it is not in->cur) */
    SHARD_CONFLICT,   /* out->schema is on groups out->group and out->other */
    SHARD_TWO_GROUPS, /* out->schema on out->group, out->schema2 on out->other */
    SHARD_CROSS_TRX,  /* for out->group (out->schema) while a transaction is open on in->cur */
    SHARD_HELD,       /* for out->group (out->schema) while in->held keeps the session on cur */
};

#define SHARD_MAX_NAMED 16 /* schemas of one statement looked at; more are ignored */

/* A schema a statement names (classify_schemas): `sure` when the grammar
 * takes only a database there; else the first part of a dotted name,
 * which binds the statement only when the map knows it. */
struct shard_name {
    const char *name; /* NUL-terminated */
    bool sure;
};

struct shard_in {
    const struct shard_map *map;
    const struct shard_name *named;
    size_t n_named;
    bool stays;         /* a statement that never moves (COMMIT, SET, ...): runs on cur */
    const char *schema; /* the session's schema; NULL = none */
    uint16_t dflt;      /* the listener's group: unmapped schemas */
    uint16_t cur;       /* the group the session is on */
    bool in_trans;      /* a transaction is open on cur */
    const char *held;   /* why the session's state stays on cur; NULL = it may move */
    /* Key shards (shard_key.h, KEY_ONE): the group of the statement's key
     * decides, as a schema would; names of key_schema (the sharded
     * table's, on every group) bind nothing else. */
    bool by_key;
    uint16_t key_group;
    const char *key_table; /* "schema.table", for out->schema */
    const char *key_schema;
};

struct shard_out {
    enum shard_verdict verdict;
    uint16_t group;      /* SHARD_GO: where it runs; else the group concerned */
    uint16_t other;      /* SHARD_CONFLICT, SHARD_TWO_GROUPS: the second group */
    const char *schema;  /* the schema that decided (NULL: none; the session's group) */
    const char *schema2; /* SHARD_TWO_GROUPS: the schema on `other` */
    bool by_key;         /* the group is in->key_group: schema is in->key_table */
};

void shard_decide(const struct shard_in *in, struct shard_out *out);
const char *shard_verdict_to_str(enum shard_verdict v);

#endif /* HALYARD_SHARD_H */
