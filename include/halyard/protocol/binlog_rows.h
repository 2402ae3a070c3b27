/*
 * binlog_rows.h: the row images of MariaDB's ROWS events, as data (the
 * query cache's per-row invalidation, cache_inval.h).
 *
 * A TABLE_MAP event gives, after its names, the column count, one type
 * byte per column and each type's metadata (0, 1 or 2 bytes); those say
 * how long each value of a row image is. A ROWS event (v1 23-25, v2
 * 30-32) gives after its table id and flags (and v2's extra data) the
 * column count, a bitmap of the columns its images carry (UPDATE: a second
 * one for the after image), then its rows: each image a NULL bitmap over
 * the columns it carries and the values of those not NULL, in column
 * order. With binlog_row_image = FULL every image carries every column.
 *
 * binlog_rows_scan walks every image of every row and hands over the
 * value of the columns asked for. It refuses (HY_ERROR) rather than guess:
 * a malformed event, a compressed one, a column type whose length it
 * cannot compute, a column asked for that an image does not carry, a
 * TABLE_MAP of another column count. No I/O, no allocation: tested in
 * tests/unit/test_binlog_rows.c.
 */
#ifndef HALYARD_BINLOG_ROWS_H
#define HALYARD_BINLOG_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

#define BINLOG_COLS_MAX 256 /* tables with more columns are not read per row */

/* MariaDB's column type codes (those the integer keys use). */
enum binlog_col_type {
    BINLOG_T_TINY = 1,
    BINLOG_T_SHORT = 2,
    BINLOG_T_LONG = 3,
    BINLOG_T_LONGLONG = 8,
    BINLOG_T_INT24 = 9,
};

struct binlog_cols {
    unsigned n;
    uint8_t type[BINLOG_COLS_MAX];
    uint16_t meta[BINLOG_COLS_MAX];
};

/* A TABLE_MAP event's column types and metadata. HY_ERROR when malformed
 * or over BINLOG_COLS_MAX columns. */
hy_status_t binlog_table_map_cols(const uint8_t *ev, size_t body_end,
                                  struct binlog_cols *c) HY_MUSTCHECK;

/* Called for each wanted column of each image of each row: `want` its
 * index in the `cols` array passed to binlog_rows_scan, `v` its value's
 * bytes (NULL when the value is NULL), `len` their count. */
typedef void (*binlog_rows_fn)(void *arg, unsigned want, uint8_t type, const uint8_t *v,
                               size_t len);

/* Every row image of the ROWS event `ev` (`body_end`: less the checksum)
 * of a table with columns `tc`: the values of columns `cols[0..ncols)`
 * (0-based) handed to fn. At most `max_rows` rows (an UPDATE's row is
 * its two images): HY_AGAIN past that, after some calls. HY_ERROR as
 * above; fn may have been called before. */
hy_status_t binlog_rows_scan(const uint8_t *ev, size_t body_end, const struct binlog_cols *tc,
                             const unsigned *cols, unsigned ncols, unsigned max_rows,
                             binlog_rows_fn fn, void *arg) HY_MUSTCHECK;

#endif /* HALYARD_BINLOG_ROWS_H */
