/*
 * test_capture.c: the capture file (capture_format.h).
 *
 *   - round trip: a record of each type built, framed, CRC'd and read back
 *     field by field, after the header
 *   - bad input: a file cut anywhere inside a record is "truncated" at that
 *     record's offset; any byte flipped inside a record fails its CRC at
 *     its offset; a wrong magic or version is refused; a record that does
 *     not fit its buffer is not built
 *   - the rows' sums: the values tools/rehearse computes for the same rows
 *     (pinned), order-insensitive but not order-blind
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "halyard/capture/capture_format.h"

/* A file of a header and one record of each type; its length. */
static size_t build_file(uint8_t *out, size_t cap, size_t *offsets)
{
    size_t at = CAPTURE_HEADER_SIZE, n;
    capture_header(out, 0);
    struct capture_buf b;
    int k = 0;

    capture_buf_begin(&b, out + at, cap - at, CAPTURE_START);
    capture_put_u64(&b, 1700000000000000ull);
    capture_put_str(&b, "0-1-42", 6);
    capture_put_str(&b, "node0", 5);
    offsets[k++] = at;
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(out + at, n);
    at += n;

    capture_buf_begin(&b, out + at, cap - at, CAPTURE_LOGIN);
    capture_put_u32(&b, 7);
    capture_put_u64(&b, 1700000000000100ull);
    capture_put_u8(&b, CAPTURE_LOGIN_JOINED);
    capture_put_str(&b, "app", 3);
    capture_put_str(&b, "shop", 4);
    capture_put_str(&b, "127.0.0.1:5000", 14);
    capture_put_str(&b, "", 0);
    offsets[k++] = at;
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(out + at, n);
    at += n;

    capture_buf_begin(&b, out + at, cap - at, CAPTURE_CMD);
    capture_put_u32(&b, 7);
    capture_put_u64(&b, 1700000000000200ull);
    capture_put_u8(&b, 0x03);
    capture_put_u8(&b, 0);
    capture_put_u32(&b, 8);
    capture_put_bytes(&b, "SELECT 1", 8);
    offsets[k++] = at;
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(out + at, n);
    at += n;

    struct capture_answer a = {.sid = 7,
                               .dur_us = 321,
                               .kind = CAPTURE_ANS_ROWS,
                               .warnings = 2,
                               .status = 2,
                               .affected = 0,
                               .insert_id = 99,
                               .stmt_id = 5};
    capture_rowsum_begin(&a.sum);
    capture_rowsum_row(&a.sum,
                       (const uint8_t *)"\x01"
                                        "1",
                       2);
    capture_buf_begin(&b, out + at, cap - at, CAPTURE_ANSWER);
    capture_put_answer(&b, &a);
    offsets[k++] = at;
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(out + at, n);
    at += n;

    capture_buf_begin(&b, out + at, cap - at, CAPTURE_END);
    capture_put_u32(&b, 7);
    capture_put_u64(&b, 1700000000000300ull);
    capture_put_u8(&b, CAPTURE_END_LOST);
    offsets[k++] = at;
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(out + at, n);
    at += n;

    capture_buf_begin(&b, out + at, cap - at, CAPTURE_STOP);
    capture_put_u64(&b, 1700000000000400ull);
    capture_put_u64(&b, 6);
    capture_put_u64(&b, 1);
    capture_put_str(&b, "stopped", 7);
    offsets[k++] = at;
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(out + at, n);
    at += n;
    offsets[k] = at;
    return at;
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t f[2048];
    size_t off[8];
    size_t len = build_file(f, sizeof(f), off);
    uint16_t flags = 1;
    unsigned version = 0;
    char err[200];
    assert_int_equal(capture_read_header(f, len, &flags, &version, err, sizeof(err)), HY_OK);
    assert_int_equal(version, CAPTURE_VERSION);
    assert_int_equal(flags, 0);
    size_t at = CAPTURE_HEADER_SIZE;
    struct capture_rec r;

    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_START);
    assert_int_equal(r.t_us, 1700000000000000ull);
    assert_int_equal(r.s_len[0], 6);
    assert_memory_equal(r.s[0], "0-1-42", 6);
    assert_memory_equal(r.s[1], "node0", 5);

    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_LOGIN);
    assert_int_equal(r.sid, 7);
    assert_int_equal(r.flags, CAPTURE_LOGIN_JOINED);
    assert_memory_equal(r.s[0], "app", 3);
    assert_memory_equal(r.s[1], "shop", 4);
    assert_int_equal(r.s_len[2], 14);
    assert_int_equal(r.s_len[3], 0);

    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_CMD);
    assert_int_equal(r.cmd, 0x03);
    assert_int_equal(r.full, 8);
    assert_int_equal(r.data_len, 8);
    assert_memory_equal(r.data, "SELECT 1", 8);
    assert_int_equal(r.at, off[2]);

    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_ANSWER);
    assert_int_equal(r.ans.sid, 7);
    assert_int_equal(r.ans.dur_us, 321);
    assert_int_equal(r.ans.kind, CAPTURE_ANS_ROWS);
    assert_int_equal(r.ans.warnings, 2);
    assert_int_equal(r.ans.insert_id, 99);
    assert_int_equal(r.ans.stmt_id, 5);
    assert_int_equal(r.ans.sum.rows, 1);

    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_END);
    assert_int_equal(r.flags, CAPTURE_END_LOST);

    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_STOP);
    assert_int_equal(r.n[0], 6);
    assert_int_equal(r.n[1], 1);
    assert_memory_equal(r.s[0], "stopped", 7);
    assert_int_equal(capture_read_next(f, len, &at, version, &r, err, sizeof(err)), HY_AGAIN);
}

/* The offset of the record holding byte `i`. */
static size_t record_of(const size_t *off, size_t i)
{
    size_t k = 0;
    while (off[k + 1] <= i)
        k++;
    return off[k];
}

/* Read all records; the status of the first failure (HY_AGAIN: none). */
static hy_status_t read_all(const uint8_t *f, size_t len, char *err, size_t errlen)
{
    size_t at = CAPTURE_HEADER_SIZE;
    struct capture_rec r;
    hy_status_t rc;
    while ((rc = capture_read_next(f, len, &at, CAPTURE_VERSION, &r, err, errlen)) == HY_OK)
        ;
    return rc;
}

static void test_truncated_anywhere(void **state)
{
    (void)state;
    uint8_t f[2048];
    size_t off[8];
    size_t len = build_file(f, sizeof(f), off);
    char err[200], want[64];
    for (size_t cut = CAPTURE_HEADER_SIZE; cut < len; cut++) {
        bool boundary = false;
        for (int k = 0; k < 7; k++)
            boundary = boundary || off[k] == cut;
        hy_status_t rc = read_all(f, cut, err, sizeof(err));
        if (boundary) { /* a file cut between records reads as a shorter one */
            assert_int_equal(rc, HY_AGAIN);
            continue;
        }
        assert_int_equal(rc, HY_ERROR);
        snprintf(want, sizeof(want), "truncated record at offset %zu:", record_of(off, cut));
        assert_non_null(strstr(err, want));
    }
}

static void test_corrupt_anywhere(void **state)
{
    (void)state;
    uint8_t f[2048];
    size_t off[8];
    size_t len = build_file(f, sizeof(f), off);
    char err[200], want[64];
    for (size_t i = CAPTURE_HEADER_SIZE; i < len; i++) {
        f[i] ^= 0x20;
        assert_int_equal(read_all(f, len, err, sizeof(err)), HY_ERROR);
        snprintf(want, sizeof(want), "record at offset %zu:", record_of(off, i));
        assert_non_null(strstr(err, want));
        f[i] ^= 0x20;
    }
    assert_int_equal(read_all(f, len, err, sizeof(err)), HY_AGAIN);
}

static void test_header_refused(void **state)
{
    (void)state;
    uint8_t h[CAPTURE_HEADER_SIZE];
    uint16_t flags;
    unsigned version = 0;
    char err[200];
    capture_header(h, CAPTURE_FLAG_MASKED);
    assert_int_equal(capture_read_header(h, sizeof(h), &flags, &version, err, sizeof(err)), HY_OK);
    assert_int_equal(flags, CAPTURE_FLAG_MASKED);
    assert_int_equal(capture_read_header(h, 8, &flags, &version, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "not a capture file"));
    h[8] = 9;
    assert_int_equal(capture_read_header(h, sizeof(h), &flags, &version, err, sizeof(err)),
                     HY_ERROR);
    assert_non_null(strstr(err, "version 9"));
    h[8] = CAPTURE_VERSION;
    h[0] = 'X';
    assert_int_equal(capture_read_header(h, sizeof(h), &flags, &version, err, sizeof(err)),
                     HY_ERROR);
}

/* Version 2's records (COMMIT, FAILOVER) and version 3's (INFILE, a
 * piece of a file and the empty end) read back; version 1 to 4 files are
 * still read (4 sums rows otherwise, 5 checks frames and sums rows with
 * XXH3, with the same records). */
static void test_commit_failover_records(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t at = CAPTURE_HEADER_SIZE, n;
    capture_header(buf, 0);
    assert_int_equal(buf[8], 5);
    struct capture_buf b;
    capture_buf_begin(&b, buf + at, sizeof(buf) - at, CAPTURE_COMMIT);
    capture_put_u32(&b, 9);
    capture_put_u64(&b, 1700000000000300ull);
    capture_put_str(&b, "0-1-43", 6);
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(buf + at, n);
    at += n;
    capture_buf_begin(&b, buf + at, sizeof(buf) - at, CAPTURE_FAILOVER);
    capture_put_u64(&b, 1700000000000400ull);
    capture_put_str(&b, "node0", 5);
    capture_put_str(&b, "node1", 5);
    capture_put_str(&b, "primary changed", 15);
    assert_true((n = capture_rec_done(&b)) > 0);
    capture_frame_sum(buf + at, n);
    at += n;
    for (int k = 0; k < 2; k++) { /* a piece of the file, then its end */
        capture_buf_begin(&b, buf + at, sizeof(buf) - at, CAPTURE_INFILE);
        capture_put_u32(&b, 9);
        capture_put_bytes(&b, "1,a\n", k == 0 ? 4 : 0);
        assert_true((n = capture_rec_done(&b)) > 0);
        capture_frame_sum(buf + at, n);
        at += n;
    }
    uint16_t flags;
    unsigned version = 0;
    char err[200];
    buf[8] = 1; /* a version 1 file reads as before */
    assert_int_equal(capture_read_header(buf, at, &flags, &version, err, sizeof(err)), HY_OK);
    buf[8] = 2;
    assert_int_equal(capture_read_header(buf, at, &flags, &version, err, sizeof(err)), HY_OK);
    buf[8] = 3;
    assert_int_equal(capture_read_header(buf, at, &flags, &version, err, sizeof(err)), HY_OK);
    assert_int_equal(version, 3);
    buf[8] = 4;
    assert_int_equal(capture_read_header(buf, at, &flags, &version, err, sizeof(err)), HY_OK);
    buf[8] = 6;
    assert_int_equal(capture_read_header(buf, at, &flags, &version, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "versions 1 to 5"));
    size_t off = CAPTURE_HEADER_SIZE;
    struct capture_rec r;
    assert_int_equal(capture_read_next(buf, at, &off, CAPTURE_VERSION, &r, err, sizeof(err)),
                     HY_OK);
    assert_int_equal(r.type, CAPTURE_COMMIT);
    assert_int_equal(r.sid, 9);
    assert_int_equal(r.t_us, 1700000000000300ull);
    assert_int_equal(r.s_len[0], 6);
    assert_memory_equal(r.s[0], "0-1-43", 6);
    assert_int_equal(capture_read_next(buf, at, &off, CAPTURE_VERSION, &r, err, sizeof(err)),
                     HY_OK);
    assert_int_equal(r.type, CAPTURE_FAILOVER);
    assert_int_equal(r.t_us, 1700000000000400ull);
    assert_memory_equal(r.s[0], "node0", 5);
    assert_memory_equal(r.s[1], "node1", 5);
    assert_memory_equal(r.s[2], "primary changed", 15);
    assert_int_equal(capture_read_next(buf, at, &off, CAPTURE_VERSION, &r, err, sizeof(err)),
                     HY_OK);
    assert_int_equal(r.type, CAPTURE_INFILE);
    assert_int_equal(r.sid, 9);
    assert_int_equal(r.data_len, 4);
    assert_memory_equal(r.data, "1,a\n", 4);
    assert_int_equal(capture_read_next(buf, at, &off, CAPTURE_VERSION, &r, err, sizeof(err)),
                     HY_OK);
    assert_int_equal(r.type, CAPTURE_INFILE);
    assert_int_equal(r.data_len, 0);
    assert_int_equal(capture_read_next(buf, at, &off, CAPTURE_VERSION, &r, err, sizeof(err)),
                     HY_AGAIN);
}

/* A record framed as up to version 4 (zlib's CRC-32 of its type and
 * body) reads back as such, and is corrupt to a reader of version 5
 * (whose frames carry XXH3's low 32 bits); one of version 5 is corrupt
 * to a reader of version 4. */
static void test_frame_sum_by_version(void **state)
{
    (void)state;
    uint8_t rec[64];
    struct capture_buf b;
    capture_buf_begin(&b, rec, sizeof(rec), CAPTURE_END);
    capture_put_u32(&b, 7);
    capture_put_u64(&b, 1700000000000500ull);
    capture_put_u8(&b, 0);
    size_t n = capture_rec_done(&b);
    assert_true(n > 0);
    uint32_t c = (uint32_t)crc32(0L, rec + 4, (uInt)(n - 8));
    for (int i = 0; i < 4; i++)
        rec[n - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
    size_t off = 0;
    struct capture_rec r;
    char err[200];
    assert_int_equal(capture_read_next(rec, n, &off, 4, &r, err, sizeof(err)), HY_OK);
    assert_int_equal(r.type, CAPTURE_END);
    assert_int_equal(r.sid, 7);
    off = 0;
    assert_int_equal(capture_read_next(rec, n, &off, 5, &r, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "corrupt record at offset 0: its checksum does not match"));
    capture_frame_sum(rec, n);
    assert_int_equal(capture_read_next(rec, n, &off, 5, &r, err, sizeof(err)), HY_OK);
    off = 0;
    assert_int_equal(capture_read_next(rec, n, &off, 4, &r, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "its CRC does not match"));
}

static void test_record_too_big(void **state)
{
    (void)state;
    uint8_t mem[32];
    struct capture_buf b;
    capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_CMD);
    capture_put_bytes(&b, "0123456789012345678901234567890123456789", 40);
    assert_int_equal(capture_rec_done(&b), 0);
}

static void test_rowsum(void **state)
{
    (void)state;
    struct capture_rowsum a, b;
    capture_rowsum_begin(&a);
    capture_rowsum_row(&a,
                       (const uint8_t *)"\x03"
                                        "abc",
                       4);
    capture_rowsum_row(&a, (const uint8_t *)"\xfb\x01x", 3);
    capture_rowsum_row(&a, (const uint8_t *)"", 0);
    /* tools/rehearse's Answer(5).row() on the same rows (its chain; the
     * file keeps the low 32 bits, 0x4ea9c6e7) */
    assert_int_equal(a.rows, 3);
    assert_int_equal(a.ordered, 0xb5b8c6954ea9c6e7ull);
    assert_int_equal(a.unordered, 0x5b54da46ceade864ull);
    capture_rowsum_begin(&b);
    capture_rowsum_row(&b, (const uint8_t *)"", 0);
    capture_rowsum_row(&b, (const uint8_t *)"\xfb\x01x", 3);
    capture_rowsum_row(&b,
                       (const uint8_t *)"\x03"
                                        "abc",
                       4);
    assert_int_equal(b.unordered, a.unordered);
    assert_int_not_equal(b.ordered, a.ordered);
    /* a row's bytes moved between rows changes both */
    capture_rowsum_begin(&b);
    capture_rowsum_row(&b,
                       (const uint8_t *)"\x03"
                                        "ab",
                       3);
    capture_rowsum_row(&b, (const uint8_t *)"c\xfb\x01x", 4);
    capture_rowsum_row(&b, (const uint8_t *)"", 0);
    assert_int_not_equal(b.unordered, a.unordered);
    assert_int_not_equal(b.ordered, a.ordered);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_truncated_anywhere),
        cmocka_unit_test(test_corrupt_anywhere), cmocka_unit_test(test_header_refused),
        cmocka_unit_test(test_record_too_big),   cmocka_unit_test(test_commit_failover_records),
        cmocka_unit_test(test_rowsum),           cmocka_unit_test(test_frame_sum_by_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
