/*
 * test_cache_visible.c: which invalidations the primary has made visible
 * (cache_visible.h), from events laid out as the primary sends them.
 *
 *   - a file's name gives its number; a name without digits none
 *   - at a start nothing is visible until the start's coordinate (the
 *     artificial Gtid_list) is known and the visible coordinate reached it
 *   - an invalidating event waits for the visible coordinate to reach its
 *     end; the ones before it do not wait for it; a later file is later
 *   - without the artificial Gtid_list, the first GTID event's start is
 *     the start; the file's own header events are not
 *   - more notes than kept: the newest waits for the latest coordinate
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_visible.h"
#include "halyard/protocol/binlog.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* An event's header (and a body of `body` bytes) into ev; its length. */
static size_t event(uint8_t *ev, uint8_t type, uint32_t size, uint32_t log_pos, uint16_t flags,
                    size_t body)
{
    memset(ev, 0, BINLOG_HEADER_LEN + body);
    ev[4] = type;
    put32(ev + 9, size);
    put32(ev + 13, log_pos);
    ev[17] = (uint8_t)flags;
    ev[18] = (uint8_t)(flags >> 8);
    return BINLOG_HEADER_LEN + body;
}

static size_t rotate(uint8_t *ev, const char *name, uint16_t flags)
{
    size_t n = strlen(name);
    size_t len = event(ev, BINLOG_ROTATE, (uint32_t)(BINLOG_HEADER_LEN + 8 + n), 0, flags, 8 + n);
    ev[BINLOG_HEADER_LEN] = 4;
    memcpy(ev + BINLOG_HEADER_LEN + 8, name, n);
    return len;
}

static void feed(struct cache_visible *v, uint8_t type, uint32_t size, uint32_t log_pos,
                 uint16_t flags, uint64_t before, uint64_t after)
{
    uint8_t ev[64];
    size_t len = event(ev, type, size, log_pos, flags, 4);
    cache_visible_event(v, ev, len, before, after);
}

static void seen(struct cache_visible *v, uint64_t file, uint64_t pos)
{
    cache_visible_seen(v, (struct cache_binlog_at){file, pos});
}

/* The start of a stream of binlog.000001 from GTID 0-1-5 (ending at 1257):
 * the fake Rotate, the file's header events, the artificial Gtid_list. */
static void start(struct cache_visible *v, uint64_t seq)
{
    uint8_t ev[64];
    cache_visible_reset(v, seq);
    size_t len = rotate(ev, "binlog.000001", BINLOG_F_ARTIFICIAL);
    cache_visible_event(v, ev, len, seq, seq);
    feed(v, BINLOG_FORMAT_DESCRIPTION, 252, 256, 0, seq, seq);
    feed(v, BINLOG_GTID_LIST, 29, 285, 0, seq, seq);
    feed(v, BINLOG_GTID_LIST, 43, 1257, BINLOG_F_ARTIFICIAL, seq, seq);
}

static void test_file_numbers(void **state)
{
    (void)state;
    uint64_t f = 0;
    assert_true(cache_binlog_file_number("binlog.000042", &f));
    assert_int_equal(f, 42);
    assert_true(cache_binlog_file_number("my.host-bin.1000000", &f));
    assert_int_equal(f, 1000000);
    assert_false(cache_binlog_file_number("binlog", &f));
    assert_false(cache_binlog_file_number("binlog.", &f));
    assert_false(cache_binlog_file_number("binlog.00a1", &f));
}

static void test_nothing_visible_until_the_start_is(void **state)
{
    (void)state;
    struct cache_visible v = {0};
    assert_int_equal(cache_visible_seq(&v, 7), 7); /* never started: nothing noted */
    cache_visible_reset(&v, 10);
    seen(&v, 9, 1u << 30); /* the start's coordinate is not known: no help */
    assert_int_equal(cache_visible_seq(&v, 10), 9);
    start(&v, 10);
    seen(&v, 1, 1256);
    assert_int_equal(cache_visible_seq(&v, 10), 9);
    seen(&v, 1, 1257);
    assert_int_equal(cache_visible_seq(&v, 10), 10);
}

static void test_an_invalidation_waits_for_its_end(void **state)
{
    (void)state;
    struct cache_visible v = {0};
    start(&v, 10);
    seen(&v, 1, 1257);
    /* BEGIN GTID 0-1-6, a table map, an update (seq 11), its Xid (seq 12) */
    feed(&v, BINLOG_GTID, 42, 1299, 0, 10, 10);
    feed(&v, BINLOG_TABLE_MAP, 42, 1393, 0, 10, 10);
    feed(&v, BINLOG_UPDATE_ROWS_V1, 52, 1445, 0, 10, 11);
    feed(&v, BINLOG_XID, 31, 1476, 0, 11, 12);
    assert_int_equal(cache_visible_seq(&v, 12), 10); /* written, not committed */
    seen(&v, 1, 1257);
    assert_int_equal(cache_visible_seq(&v, 12), 10);
    seen(&v, 1, 1476); /* committed in the engine: both visible */
    assert_int_equal(cache_visible_seq(&v, 12), 12);
    /* a flush (seq 13) with nothing waiting: visible at once */
    assert_int_equal(cache_visible_seq(&v, 13), 13);
    /* the next file: later than any offset of the one before */
    uint8_t ev[64];
    size_t len = rotate(ev, "binlog.000002", 0);
    cache_visible_event(&v, ev, len, 13, 13);
    feed(&v, BINLOG_QUERY, 100, 400, 0, 13, 14);
    seen(&v, 1, 1u << 30);
    assert_int_equal(cache_visible_seq(&v, 14), 13);
    seen(&v, 2, 400);
    assert_int_equal(cache_visible_seq(&v, 14), 14);
}

static void test_the_first_gtid_starts_when_no_gtid_list_came(void **state)
{
    (void)state;
    struct cache_visible v = {0};
    uint8_t ev[64];
    cache_visible_reset(&v, 5);
    size_t len = rotate(ev, "binlog.000003", BINLOG_F_ARTIFICIAL);
    cache_visible_event(&v, ev, len, 5, 5);
    feed(&v, BINLOG_FORMAT_DESCRIPTION, 252, 256, 0, 5, 5); /* the file's header: not the start */
    seen(&v, 3, 256);
    assert_int_equal(cache_visible_seq(&v, 5), 4);
    feed(&v, BINLOG_GTID, 42, 2042, 0, 5, 5); /* begins at 2000 */
    seen(&v, 3, 1999);
    assert_int_equal(cache_visible_seq(&v, 5), 4);
    seen(&v, 3, 2000);
    assert_int_equal(cache_visible_seq(&v, 5), 5);
}

static void test_more_notes_than_kept(void **state)
{
    (void)state;
    struct cache_visible v = {0};
    start(&v, 1);
    seen(&v, 1, 1257);
    uint64_t seq = 1;
    for (uint32_t i = 0; i < CACHE_VISIBLE_MAX + 10; i++, seq++)
        feed(&v, BINLOG_WRITE_ROWS_V1, 40, 2000 + 40 * i, 0, seq, seq + 1);
    uint32_t last = 2000 + 40 * (CACHE_VISIBLE_MAX + 9);
    seen(&v, 1, 2000 + 40 * (CACHE_VISIBLE_MAX - 2));
    assert_int_equal(cache_visible_seq(&v, seq), CACHE_VISIBLE_MAX); /* the merged note waits */
    seen(&v, 1, last - 1);
    assert_int_equal(cache_visible_seq(&v, seq), CACHE_VISIBLE_MAX);
    seen(&v, 1, last);
    assert_int_equal(cache_visible_seq(&v, seq), seq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_numbers),
        cmocka_unit_test(test_nothing_visible_until_the_start_is),
        cmocka_unit_test(test_an_invalidation_waits_for_its_end),
        cmocka_unit_test(test_the_first_gtid_starts_when_no_gtid_list_came),
        cmocka_unit_test(test_more_notes_than_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
