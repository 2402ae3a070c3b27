/*
 * readback.h: asking a backend the values a SET assigned.
 *
 * After `SET @id = LAST_INSERT_ID(), sql_mode = CONCAT(@@sql_mode, ',ANSI')`
 * succeeds on the primary, the session asks that same connection
 *
 *   SELECT @`id`, COLLATION(@`id`), CAST(@`id` AS BINARY),
 *          @@session.sql_mode, COLLATION(@@session.sql_mode), CAST(... AS BINARY)
 *
 * and keeps what comes back as values (varstate.h): the first column's type
 * (its column definition) says integer, unsigned, double, decimal or string;
 * for strings the raw bytes (CAST AS BINARY, not converted to
 * character_set_results) and the collation make the value exact. A SELECT
 * that names no table leaves the diagnostics area alone in MariaDB, so the
 * client's SHOW WARNINGS still sees the SET's warnings.
 *
 * Pure: readback_sql() writes the query, readback_feed() reads its answer
 * packet by packet into a varstate. No I/O.
 */
#ifndef HALYARD_READBACK_H
#define HALYARD_READBACK_H

#include "halyard/core/core.h"
#include "halyard/sql/varstate.h"

#define READBACK_MAX 16 /* variables one read-back asks for */
/* room for the longest read-back query readback_sql() writes */
#define READBACK_ALL_ROWS " LIMIT 18446744073709551615" /* not the session's sql_select_limit */
#define READBACK_SQL_MAX  (READBACK_MAX * (3 * (VARSTATE_NAME_MAX + 12) + 56) + 48)

struct readback_var {
    uint8_t scope; /* enum varstate_scope */
    uint8_t len;
    char name[VARSTATE_NAME_MAX + 1];
};

struct readback {
    uint32_t n;
    struct readback_var var[READBACK_MAX];
    /* the answer, as readback_feed() walks it */
    uint32_t caps;
    bool ext_meta;  /* column definitions carry MariaDB's extended metadata */
    uint32_t pkt;   /* packets fed */
    uint32_t ncols; /* columns announced */
    uint8_t type[READBACK_MAX];
    uint16_t flags[READBACK_MAX];
    bool learned; /* the row was read into the state */
    bool bad;     /* the answer was not what was asked for */
};

void readback_init(struct readback *rb);
/* Ask for a variable too (once; names compare case-insensitively).
 * HY_ERROR when the name is not valid (varstate_name_valid) or the list
 * is full. */
hy_status_t readback_add(struct readback *rb, enum varstate_scope scope, const char *name,
                         size_t len) HY_MUSTCHECK;
/* The query; returns the length it needs (0 when nothing is asked for),
 * writing at most cap-1 bytes and a NUL. */
size_t readback_sql(const struct readback *rb, char *out, size_t cap);
/* Get ready for the answer (caps: the connection's, for EOF packets;
 * ext_caps: its MariaDB extended ones, for column definitions). */
void readback_start(struct readback *rb, uint32_t caps, uint32_t ext_caps);
/* One packet of the answer, in order. `whole` false when the caller could
 * not hold all of it (the read-back then fails). The row's values go into
 * vs; what comes after the first row is passed over. */
void readback_feed(struct readback *rb, const uint8_t *p, uint32_t len, bool whole,
                   struct varstate *vs);
/* After the whole answer: HY_OK when every variable was learned. */
hy_status_t readback_done(const struct readback *rb) HY_MUSTCHECK;

#endif /* HALYARD_READBACK_H */
