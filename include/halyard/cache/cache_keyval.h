/*
 * cache_keyval.h: the values of a point lookup's key column as one
 * canonical text, from the lookup's constant and from a row image alike
 * (the query cache's per-row invalidation, issue 30).
 *
 * A lookup `col = V` is dropped by a row event whose image carries a
 * value of col that the server would find equal to V. Both sides are
 * written as a text, hashed with cache_key_hash, so two values the server
 * finds equal must give the same text: a text may merge values the server
 * tells apart (the lookup is then dropped for nothing), never split two it
 * finds equal (that would keep a stale answer). What cannot be written so
 * for sure is refused: a lookup then is not one (its table's row events
 * drop it), a row image's value makes its event drop the whole table.
 *
 * By the column's kind, from information_schema (cache_keyval_kind):
 *   - INT (TINYINT ... BIGINT): a number literal compared exactly (an
 *     integer or a DECIMAL literal), as cache_sql_number writes it;
 *     the image's integer is written as signed and, top bit set, as
 *     unsigned too (cache_inval.c);
 *   - DECIMAL: a number literal, compared exactly; the image's packed
 *     decimal is decoded and written the same way (1.0 = 1.00 = 1);
 *   - STRING (CHAR, VARCHAR) of a collation of the list below: a string
 *     literal whose bytes are all printable ASCII but `\` and `~` (they
 *     differ in some client character sets), lower-cased, its trailing
 *     spaces dropped (PAD SPACE: 'abc' = 'ABC  '). Under each listed
 *     collation two such strings are equal only if equal so folded (each
 *     printable ASCII character weighs alone, the case pairs alike; the
 *     _bin and NO PAD ones tell more apart: more is dropped, never less).
 *     Any other byte (accents: 'àbc' = 'abc' under _general_ci; control
 *     characters, ignorable in the UCA collations) is refused: the lookup
 *     is not one, the image's event drops its table. Another collation
 *     (latin1_swedish_ci, a language's contractions) is not a key kind;
 *   - DATE: a string 'YYYY-MM-DD' (exactly so), written as that date at
 *     midnight; the image's 3-byte date likewise;
 *   - DATETIME: a string 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' with
 *     optional decimals that are all zero, written 'YYYY-MM-DD HH:MM:SS';
 *     the image's DATETIME2 (MariaDB's default layout) with its
 *     fractional seconds when they are not zero (then no lookup text can
 *     equal it, as no lookup is of a non-zero fraction).
 * TIMESTAMP (its image is UTC seconds, the lookup in the session's
 * time_zone), TIME, FLOAT, DOUBLE, ENUM, SET, BINARY, the BLOBs and TEXTs
 * are not key kinds. Pure: tested in tests/unit/test_cache_keyval.c.
 */
#ifndef HALYARD_CACHE_KEYVAL_H
#define HALYARD_CACHE_KEYVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cache_key_kind {
    CACHE_KEY_NONE = 0, /* not a key kind */
    CACHE_KEY_INT,
    CACHE_KEY_DECIMAL,
    CACHE_KEY_STRING,
    CACHE_KEY_DATE,
    CACHE_KEY_DATETIME,
};

#define CACHE_KEYVAL_MAX 80 /* a canonical text and its NUL */

/* The kind of a column by information_schema.COLUMNS' DATA_TYPE and
 * COLLATION_NAME (NULL when none). */
enum cache_key_kind cache_keyval_kind(const char *data_type, const char *collation);

/* A lookup's value (cache_sql.h's key_vals: a number, or "'" and a
 * string's content) as the text of kind k into out (CACHE_KEYVAL_MAX
 * bytes). False when it is not one for sure. */
bool cache_keyval_from_sql(enum cache_key_kind k, const char *val, char *out);

/* A row image's value (binlog_rows.h: the column's TABLE_MAP type and
 * metadata, its bytes) of a column of kind k (not INT) as that text into
 * out (CACHE_KEYVAL_MAX bytes). False when it cannot be written for sure
 * (then the event's table goes whole), or the type is not of kind k. */
bool cache_keyval_from_image(enum cache_key_kind k, uint8_t type, uint16_t meta, const uint8_t *v,
                             size_t len, char *out);

/* Whether a column of TABLE_MAP type `type` may hold kind k's values
 * (the layout read is the one the schema said). */
bool cache_keyval_type_ok(enum cache_key_kind k, uint8_t type, uint16_t meta);

#endif /* HALYARD_CACHE_KEYVAL_H */
