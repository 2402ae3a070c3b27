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
 * A table's key is `type = "int"` (default) or "string".
 *
 * Integer keys (the values of an integer column): a literal 7, -7, '7' or
 * '007' is the value 7, whose canonical text is "7". A literal the server
 * would compare otherwise (7.5, '7abc', ' 7', 0x07, NULL, an expression)
 * is not a usable key. Values fit a signed 64-bit integer.
 *
 * String keys (a CHAR/VARCHAR/BINARY/VARBINARY/TEXT/BLOB column): hashed
 * as the bytes of the value in the column's character set, which is the
 * server's CRC32(key). The config states the column's collation, and only
 * collations whose equality is byte equality are accepted: `binary` and
 * `<charset>_nopad_bin` (hash CRC32(key)), and the PAD SPACE
 * `<charset>_bin`, where 'abc' = 'abc  ': trailing spaces are stripped
 * before hashing (hash CRC32(RTRIM(key))). A literal is a usable key when
 * its bytes are the column's for it: a string literal (escapes decoded as
 * the server does, NO_BACKSLASH_ESCAPES heeded) in the connection's
 * character set or its introducer's (`_latin1'..'`, `N'..'`), when that
 * converts to the column's character set unchanged (the same character
 * set, utf8mb3 into utf8mb4, ASCII text between ASCII-based sets, any
 * bytes into binary); `_binary'..'`, X'..' and 0x.. (binary strings, their
 * bytes). A number is not (the server compares a string column with a
 * number as numbers: '7', '07' and ' 7' all equal 7). A range map on a
 * string key orders values as the server orders the column under those
 * collations: by bytes (which for UTF-8 is by code points), and under a
 * PAD SPACE one as if the shorter were padded with spaces ('a' = 'a ',
 * 'a\t' < 'a').
 *
 * shard_key_decide() reads one statement's tokens with the classifier's
 * lexer (lexer.h) and says where it runs (enum key_verdict); SQL `PREPARE
 * name FROM '...'` and `EXECUTE IMMEDIATE '...'` by the statement in their
 * string (a PREPARE naming a sharded table, or one from a user variable,
 * refused). Pure: no I/O, no allocation, writes only *out.
 * tests/unit/test_shard_key.c tests it.
 */
#ifndef HALYARD_SHARD_KEY_H
#define HALYARD_SHARD_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

enum key_fn { KEY_FN_HASH, KEY_FN_RANGE };

/* One entry of a table's map: buckets lo..hi (hash), or the values below
 * `below` not taken by an earlier entry (range; has_below false: the rest).
 * A string key's bound is below_s (below_n bytes in the column's character
 * set), compared under the column's collation (shard_key_str_cmp);
 * below_text is the config's spelling of it. */
struct key_span {
    uint16_t group;
    uint32_t lo, hi;
    int64_t below;
    bool has_below;
    uint8_t *below_s;
    size_t below_n;
    char *below_text;
};

/* A character set, as far as routing string keys needs to know it. */
enum key_cs {
    KEY_CS_UNKNOWN, /* a client character set halyard does not know: ASCII-based */
    KEY_CS_WIDE,    /* ucs2, utf16, utf32: nothing converts byte for byte */
    KEY_CS_BINARY,
    KEY_CS_UTF8MB4,
    KEY_CS_UTF8MB3,
    KEY_CS_LATIN1,
    KEY_CS_ASCII,
};

enum key_type { KEY_TYPE_INT, KEY_TYPE_STRING };

#define KEY_STR_MAX 1024 /* bytes of a string key value looked at; a longer one is no key */

struct shard_table {
    char *schema, *table, *key; /* names as the server spells them */
    enum key_type type;
    enum key_cs cs;  /* string: the column's character set (from its collation) */
    bool pad;        /* string: a PAD SPACE collation (<charset>_bin): trailing spaces ignored */
    char *collation; /* string: as configured */
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
    bool any_string; /* a table's key is a string (the session's character set matters) */
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

/* The character set of a name ("utf8mb4", "latin1", "binary"...), or of a
 * collation id (a handshake's); KEY_CS_UNKNOWN for another. */
enum key_cs shard_key_cs_by_name(const char *name, size_t len);
enum key_cs shard_key_cs_by_id(unsigned id);
/* A collation's name as a string key's config gives it: whether routing
 * by bytes is exact under it (*cs and *pad filled); false for another
 * (a _ci, _cs or accent-insensitive one, an unknown character set). */
bool shard_key_collation(const char *name, enum key_cs *cs, bool *pad);
/* String tables: the bucket (hash) and group (hash or range) of a value
 * given as the column's bytes (hash: trailing spaces stripped when t->pad). */
uint32_t shard_key_str_bucket(const struct shard_table *t, const uint8_t *s, size_t n);
uint16_t shard_key_str_group(const struct shard_table *t, const uint8_t *s, size_t n);
/* The order of column values a and b under t's collation, as the server's
 * comparison gives it (<0, 0, >0): bytes, and when t->pad the shorter one
 * compared as if padded with spaces. */
int shard_key_str_cmp(const struct shard_table *t, const uint8_t *a, size_t an, const uint8_t *b,
                      size_t bn);
/* A range bound as the config writes it (UTF-8 text, or any bytes for a
 * binary key) into the column's bytes (buf, cap bytes, *n); false with
 * *why (static text) when it is no value of the column's character set
 * halyard can say the bytes of. */
bool shard_key_str_bound(const struct shard_table *t, const char *text, uint8_t *buf, size_t cap,
                         size_t *n, const char **why);
/* Whether bytes s in character set `from` compare with the column of t as
 * those same bytes (the server's conversion changes nothing); false: not
 * a usable key. */
bool shard_key_str_exact(const struct shard_table *t, enum key_cs from, const uint8_t *s, size_t n);
/* A string literal token's text as written (`'a\'b'`, `_latin1'x'`,
 * `N'x'`, `X'616263'`, `0x61`): its bytes into buf (cap bytes) and their
 * character set (`conn` when it has no introducer; KEY_CS_BINARY for a
 * hex literal). false: not a string literal, or longer than cap. */
bool shard_key_str_literal(const char *lit, size_t len, unsigned lex_opts, enum key_cs conn,
                           uint8_t *buf, size_t cap, size_t *n, enum key_cs *cs);

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
    /* The character set of the text's string literals without introducer:
     * character_set_connection when character_set_client is the same;
     * KEY_CS_UNKNOWN (ASCII text only) otherwise or when not known. */
    enum key_cs text_cs;
};

/* Where the key values of a prepared statement are: each key `?` (its
 * position among the statement's parameters), or a literal's value; the
 * statement's group is that of every value (KEY_ONE), else it spans
 * groups (a read: KEY_SCATTER; a write: KEY_REFUSE; INSERT rows: KEY_SPLIT). */
struct key_params {
    uint16_t n;
    bool any_of; /* the values are alternatives (one conjunct's IN list): spanning
                  * groups is a scatter for a read; false: INSERT rows, or `=` */
    uint16_t param[KEY_MAX_PARAMS]; /* UINT16_MAX: a literal, its group in lit[] */
    uint16_t lit[KEY_MAX_PARAMS];
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
/* The same with each key parameter's group (groups[i]; integer or string
 * tables alike). */
void shard_key_params_groups(const struct shard_tables *tables, struct key_out *out,
                             const uint16_t *groups, const bool *ok);

/* KEY_SPLIT: the INSERT of `in` with only the rows for `group`, written to
 * buf (cap bytes); its length, 0 when no row is for `group`, or when it
 * does not fit (*fits false). */
size_t shard_key_split(const struct key_in *in, uint16_t group, char *buf, size_t cap, bool *fits);
/* The same, with where the group's rows are among the statement's (from
 * 0): its first row's index and its last's. */
size_t shard_key_split_rows(const struct key_in *in, uint16_t group, char *buf, size_t cap,
                            bool *fits, uint32_t *first, uint32_t *last);
/* Which rows of the INSERT of `in` (a column list, VALUES) make the server
 * generate an id for AUTO_INCREMENT column `column`, in order: KEY_GEN_NO,
 * none (each gives a plain integer other than 0); else *row is the first
 * row that does not, and KEY_GEN_YES says it generates one (the column is
 * not in the list, or it gives NULL or DEFAULT), KEY_GEN_UNSURE that it may
 * (0, an expression, a parameter...). */
enum key_gen { KEY_GEN_NO, KEY_GEN_YES, KEY_GEN_UNSURE };
/* The group of row `row` (from 0) of the INSERT of `in` by its key;
 * UINT16_MAX when it has no such row or no usable key. */
uint16_t shard_key_row_group(const struct key_in *in, uint32_t row);
enum key_gen shard_key_insert_gen(const struct key_in *in, const char *column, uint32_t *row);

const char *shard_key_verdict_to_str(enum key_verdict v);

#endif /* HALYARD_SHARD_KEY_H */
