/*
 * shard_key.h: key shards (issue 15 item 3): the group a statement on a
 * sharded table runs on, from the key values it names.
 *
 * A sharded table (config `shards.tables`) names its key column and a
 * function: `hash` (zlib's crc32 of the key's canonical text modulo
 * `buckets`, equal to MariaDB's own CRC32(key) % buckets, and buckets to
 * groups) or `range` (ascending bounds to groups). A reference table
 * (`shards.reference`) is a copy on every group.
 *
 * Keys are integers (the values of an integer column): a literal 7, -7,
 * '7' or '007' is the value 7, whose canonical text is "7". A literal the
 * server would compare otherwise (7.5, '7abc', ' 7', 0x07, NULL, an
 * expression) is not a usable key. Values fit a signed 64-bit integer.
 *
 * shard_key_decide() reads one statement's tokens with the classifier's
 * lexer (lexer.h) and says where it runs (enum key_verdict). Pure: no I/O,
 * no allocation, writes only *out. tests/unit/test_shard_key.c tests it.
 */
#ifndef HALYARD_SHARD_KEY_H
#define HALYARD_SHARD_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core.h"

enum key_fn { KEY_FN_HASH, KEY_FN_RANGE };

/* One entry of a table's map: buckets lo..hi (hash), or the values below
 * `below` not taken by an earlier entry (range; has_below false: the rest). */
struct key_span {
    uint16_t group;
    uint32_t lo, hi;
    int64_t below;
    bool has_below;
};

struct shard_table {
    char *schema, *table, *key; /* names as the server spells them */
    enum key_fn fn;
    uint32_t buckets;       /* hash */
    uint16_t *bucket_group; /* hash: buckets entries, the group of each bucket */
    struct key_span *spans; /* as configured, in order */
    size_t n_spans;
    int line; /* of the entry in the config file */
};

struct shard_ref_table {
    char *schema, *table;
};

struct shard_tables {
    struct shard_table *v;
    size_t n;
    struct shard_ref_table *ref;
    size_t n_ref;
};

void shard_tables_free(struct shard_tables *t);

/* The canonical text of an integer key value (what CRC32() hashes). */
size_t shard_key_text(int64_t v, char *buf, size_t cap);
/* The group of key value v in table t. */
uint16_t shard_key_group(const struct shard_table *t, int64_t v);
/* hash tables: the bucket of v (crc32 of its canonical text % buckets). */
uint32_t shard_key_bucket(const struct shard_table *t, int64_t v);
/* A literal's key value: the text of a number or string literal token as
 * written (`7`, `'007'`), with `neg` for a leading unary minus. false: not
 * a usable key (7.5, '7abc', NULL...). */
bool shard_key_literal(const char *lit, size_t len, bool neg, int64_t *v);
/* A string value (a prepared statement's string parameter, its bytes): a
 * key when it is decimal digits with an optional '-', below 2^53. */
bool shard_key_string(const char *s, size_t len, int64_t *v);

enum key_verdict {
    KEY_NONE,    /* names no sharded or reference table: schema routing as before */
    KEY_ONE,     /* every key resolves to one group: out->group */
    KEY_SCATTER, /* a read of a sharded table without a usable key: every group, merged */
    KEY_ALL,     /* DDL on a sharded table, a write to a reference table: every group */
    KEY_SPLIT,   /* a multi-row INSERT whose rows span groups: one INSERT per group */
    KEY_REFUSE,  /* out->why: the ERR 1105 text */
    KEY_PARAMS,  /* prepared: the key is in parameters out->params (shard_key_params) */
};

#define KEY_MAX_PARAMS 64 /* key parameters of one prepared statement looked at */

struct key_in {
    const struct shard_tables *tables;
    const char *sql;
    size_t len;
    unsigned opts;      /* CLO_* (classify.h) */
    const char *schema; /* the session's schema (NULL = none) */
    bool prepared;      /* a PREPARE's text: `?` may be a key (KEY_PARAMS) */
};

/* Where the key values of a prepared statement are: each key `?` (its
 * position among the statement's parameters), or a literal's value; the
 * statement's group is that of every value (KEY_ONE), else it spans
 * groups (a read: KEY_SCATTER; a write: KEY_REFUSE; INSERT rows: KEY_SPLIT). */
struct key_params {
    uint16_t n;
    bool any_of; /* the values are alternatives (one conjunct's IN list): spanning
                  * groups is a scatter for a read; false: INSERT rows, or `=` */
    uint16_t param[KEY_MAX_PARAMS]; /* UINT16_MAX: a literal, value in lit[] */
    int64_t lit[KEY_MAX_PARAMS];
};

struct key_out {
    enum key_verdict verdict;
    uint16_t group;           /* KEY_ONE */
    int table;                /* index in tables->v of the sharded table named, -1: none */
    int ref;                  /* index in tables->ref of a reference table named, -1: none */
    bool write;               /* INSERT, REPLACE, UPDATE, DELETE */
    const char *verb;         /* the statement's first word (SELECT, UPDATE...), static */
    char why[256];            /* KEY_REFUSE; else a short text naming the table for the caller */
    struct key_params params; /* KEY_PARAMS */
    bool ref_join;            /* a read joining the sharded table with reference tables only (no
                               * outer join keeping rows without a sharded row): scattered, each
                               * group's join is its part of the whole (scatter_plan joins_ok) */
};

void shard_key_decide(const struct key_in *in, struct key_out *out);

/* KEY_PARAMS at COM_STMT_EXECUTE: the values of the key parameters
 * (vals[i] for out->params.param[i]; ok[i] false: not a usable key, e.g.
 * NULL or 7.5) decide the statement as shard_key_decide would with them
 * written in: out->verdict becomes KEY_ONE, KEY_SCATTER, KEY_SPLIT or
 * KEY_REFUSE. */
void shard_key_params(const struct shard_tables *tables, struct key_out *out, const int64_t *vals,
                      const bool *ok);

/* KEY_SPLIT: the INSERT of `in` with only the rows for `group`, written to
 * buf (cap bytes); its length, 0 when no row is for `group`, or when it
 * does not fit (*fits false). */
size_t shard_key_split(const struct key_in *in, uint16_t group, char *buf, size_t cap, bool *fits);

const char *shard_key_verdict_to_str(enum key_verdict v);

#endif /* HALYARD_SHARD_KEY_H */
