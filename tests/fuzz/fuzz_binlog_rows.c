/*
 * fuzz_binlog_rows.c: libFuzzer target for the row images of ROWS events
 * (binlog_rows.h), the query cache's per-row invalidation input.
 *
 * The input is a TABLE_MAP event and a ROWS event: its first byte says
 * how many of the bytes after it are the TABLE_MAP's (times 2), the rest
 * is the ROWS event; each is copied into a heap buffer of exactly its
 * length, so ASan catches any read past it. When the TABLE_MAP is read,
 * its first and last columns (and a column past them) are asked of the
 * ROWS event. Checked: every value handed over lies inside the event,
 * NULL values have length 0, a column past the table is refused, and the
 * row bound is kept (no more than max_rows images pairs are read).
 */
#include "fuzz.h"

#include "halyard/protocol/binlog.h"
#include "halyard/protocol/binlog_rows.h"

struct seen {
    const uint8_t *ev;
    size_t len;
    unsigned calls;
};

static void check(void *arg, unsigned want, uint8_t type, const uint8_t *v, size_t len)
{
    struct seen *s = arg;
    (void)type;
    FUZZ_CHECK(want < 2);
    if (v == NULL) {
        FUZZ_CHECK(len == 0);
    } else {
        FUZZ_CHECK(v >= s->ev && v + len <= s->ev + s->len);
    }
    s->calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return -1;
    size_t map_len = (size_t)data[0] * 2;
    if (map_len > size - 1)
        map_len = size - 1;
    uint8_t *map = malloc(map_len > 0 ? map_len : 1);
    size_t rows_len = size - 1 - map_len;
    uint8_t *rows = malloc(rows_len > 0 ? rows_len : 1);
    if (map == NULL || rows == NULL)
        abort();
    memcpy(map, data + 1, map_len);
    memcpy(rows, data + 1 + map_len, rows_len);
    struct binlog_cols *c = malloc(sizeof(*c));
    if (c == NULL)
        abort();
    if (binlog_table_map_cols(map, map_len, c) == HY_OK) {
        FUZZ_CHECK(c->n <= BINLOG_COLS_MAX);
        if (c->n > 0) {
            unsigned cols[2] = {0, c->n - 1};
            struct seen s = {.ev = rows, .len = rows_len};
            hy_status_t rc = binlog_rows_scan(rows, rows_len, c, cols, 2, 4, check, &s);
            FUZZ_CHECK(rc == HY_OK || rc == HY_ERROR || rc == HY_AGAIN);
            FUZZ_CHECK(s.calls <= 4 * 2 * 2); /* 4 rows, 2 images, 2 columns */
            unsigned past[1] = {c->n};
            FUZZ_CHECK(binlog_rows_scan(rows, rows_len, c, past, 1, 4, check, &s) == HY_ERROR);
        }
    }
    free(c);
    free(map);
    free(rows);
    return 0;
}
