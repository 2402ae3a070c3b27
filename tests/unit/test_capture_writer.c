/*
 * test_capture_writer.c: the capture's writer thread (capture.h) with a
 * tiny size limit.
 *
 *   - every record handed over is written or counted as dropped: 200
 *     records of 100 bytes against a 4,096-byte limit (the queue holds
 *     them all, so none is refused as queue_full): the writer stops at the
 *     limit, the records it could not write are counted under "limit",
 *     and written + dropped = taken
 *   - the file never grows past the limit, its STOP record included, and
 *     the STOP record says how many were dropped
 *   - the process-wide totals (show stats, /metrics) grew by the same count
 *   - four threads handing records over while the capture is stopped:
 *     each thread's records in its order, and every record taken is in
 *     the file (past the queue's bound a record is not taken, and
 *     counted)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/capture/capture.h"
#include "halyard/capture/capture_format.h"

/* A CMD record of `len` bytes in all, on the heap (capture_put copies it). */
static uint8_t *cmd_record(uint32_t sid, size_t len, size_t *out_len)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    struct capture_buf b;
    capture_buf_begin(&b, p, len, CAPTURE_CMD);
    capture_put_u32(&b, sid);
    capture_put_u64(&b, 1);
    capture_put_u8(&b, 0x03);
    capture_put_u8(&b, 0);
    size_t body = len - CAPTURE_FRAME_HEAD - CAPTURE_FRAME_TAIL - 18;
    capture_put_u32(&b, (uint32_t)body);
    uint8_t fill[256];
    memset(fill, 'x', sizeof(fill));
    capture_put_bytes(&b, fill, body);
    *out_len = capture_rec_done(&b);
    assert_int_equal(*out_len, len);
    return p;
}

/* `path` (a mkstemp template) made a name no file has: capture_start
 * creates it. */
static void free_name(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
}

/* The capture file at `path`, `len` bytes, read whole; its header checked
 * and its version into *version. The caller frees it. */
static uint8_t *read_capture(const char *path, size_t len, unsigned *version)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, len, f), len);
    fclose(f);
    uint16_t flags;
    char err[256];
    assert_int_equal(capture_read_header(buf, len, &flags, version, err, sizeof(err)), HY_OK);
    return buf;
}

static void test_size_limit_drops_counted(void **state)
{
    (void)state;
    char path[] = "/tmp/test_capture_writer_XXXXXX";
    free_name(path);
    uint64_t before[CAPTURE_DROP_N];
    capture_drops_total(before);
    struct capture_opts o = {
        .file = path, .max_bytes = 4096, .queue = 1024, .gtid = "0-1-7", .primary = "node0"};
    char msg[512];
    assert_int_equal(capture_start(&o, msg, sizeof(msg)), HY_OK);
    uint32_t gen = capture_now();
    assert_true(gen != 0);
    uint64_t taken = 0;
    for (int i = 0; i < 200; i++) {
        size_t len;
        uint8_t *rec = cmd_record((uint32_t)i, 100, &len);
        if (capture_put(rec, len, gen))
            taken++;
        free(rec);
    }
    for (int i = 0; i < 500 && capture_now() != 0; i++)
        usleep(10000); /* the writer ends the capture at its limit */
    assert_int_equal(capture_now(), 0);
    assert_int_equal(capture_stop(msg, sizeof(msg)), HY_OK);
    struct capture_status st;
    capture_status_get(&st);
    assert_false(st.on);
    assert_non_null(strstr(st.stopped_why, "size limit"));
    assert_int_equal(st.drops_by[CAPTURE_DROP_QUEUE_FULL], 0);
    assert_true(st.drops_by[CAPTURE_DROP_LIMIT] >= 1);
    assert_int_equal(st.drops, st.drops_by[CAPTURE_DROP_LIMIT]);
    /* START and STOP besides the CMD records written */
    assert_int_equal(st.records - 2 + st.drops, taken);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_size <= o.max_bytes);
    assert_int_equal((uint64_t)sb.st_size, st.bytes);

    /* the file reads back whole, its STOP record naming the drops */
    unsigned version = 0;
    uint8_t *buf = read_capture(path, (size_t)sb.st_size, &version);
    char err[256];
    size_t off = CAPTURE_HEADER_SIZE;
    struct capture_rec rec;
    uint64_t cmds = 0;
    uint8_t last = 0;
    hy_status_t rc;
    while ((rc = capture_read_next(buf, (size_t)sb.st_size, &off, version, &rec, err,
                                   sizeof(err))) == HY_OK) {
        cmds += rec.type == CAPTURE_CMD;
        last = rec.type;
        if (rec.type == CAPTURE_STOP)
            assert_int_equal(rec.n[1], st.drops);
    }
    assert_int_equal(rc, HY_AGAIN);
    assert_int_equal(last, CAPTURE_STOP);
    assert_int_equal(cmds + st.drops, taken);
    free(buf);
    unlink(path);

    uint64_t after[CAPTURE_DROP_N];
    capture_drops_total(after);
    assert_int_equal(after[CAPTURE_DROP_LIMIT] - before[CAPTURE_DROP_LIMIT], st.drops);
    assert_string_equal(capture_drop_name(CAPTURE_DROP_LIMIT), "limit");
}

/* Threads handing records over while the capture is stopped under them
 * (the lanes, the queue, the writer's last sweep). */
#define PUTTERS 4
#define PER     20000

struct putter {
    pthread_t t;
    uint32_t sid, gen;
    uint64_t taken;
};

static void *put_many(void *arg)
{
    struct putter *p = arg;
    for (uint64_t i = 0; i < PER; i++) {
        struct capture_buf b;
        if (!capture_rec_begin(&b, 64, CAPTURE_CMD, p->gen))
            continue;
        capture_put_cmd(&b, p->sid, i, 0x03, 0, 4);
        capture_put_bytes(&b, "ping", 4);
        if (capture_rec_put(&b))
            p->taken++;
    }
    return NULL;
}

static void test_threads_stopped_under_them(void **state)
{
    (void)state;
    char path[] = "/tmp/test_capture_writer_XXXXXX";
    free_name(path);
    struct capture_opts o = {.file = path, .queue = 64, .gtid = "", .primary = "node0"};
    char msg[512];
    assert_int_equal(capture_start(&o, msg, sizeof(msg)), HY_OK);
    struct putter ps[PUTTERS];
    for (int i = 0; i < PUTTERS; i++) {
        ps[i] = (struct putter){.sid = (uint32_t)i + 1, .gen = capture_now()};
        assert_int_equal(pthread_create(&ps[i].t, NULL, put_many, &ps[i]), 0);
    }
    usleep(20000);
    assert_int_equal(capture_stop(msg, sizeof(msg)), HY_OK); /* while they put */
    uint64_t taken = 0;
    for (int i = 0; i < PUTTERS; i++) {
        pthread_join(ps[i].t, NULL);
        taken += ps[i].taken;
    }
    struct capture_status st;
    capture_status_get(&st);
    assert_int_equal(st.drops, st.drops_by[CAPTURE_DROP_QUEUE_FULL]);

    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    unsigned version = 0;
    uint8_t *buf = read_capture(path, (size_t)sb.st_size, &version);
    char err[256];
    size_t off = CAPTURE_HEADER_SIZE;
    struct capture_rec rec;
    uint64_t cmds = 0, next[PUTTERS + 1] = {0};
    hy_status_t rc;
    while ((rc = capture_read_next(buf, (size_t)sb.st_size, &off, version, &rec, err,
                                   sizeof(err))) == HY_OK) {
        if (rec.type != CAPTURE_CMD)
            continue;
        assert_true(rec.sid >= 1 && rec.sid <= PUTTERS);
        assert_true(rec.t_us >= next[rec.sid]); /* each thread's in its order */
        next[rec.sid] = rec.t_us + 1;
        cmds++;
    }
    assert_int_equal(rc, HY_AGAIN);
    /* what was taken is in the file: nothing lost quietly at the stop */
    assert_int_equal(cmds, taken);
    assert_int_equal(cmds, st.records - 2);
    assert_true(taken > 0);
    free(buf);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_limit_drops_counted),
        cmocka_unit_test(test_threads_stopped_under_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
