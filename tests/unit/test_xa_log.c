/*
 * test_xa_log.c: the recovery log of cross-group transactions (xa_log.h):
 * records formatted and parsed back, decisions marked done dropped, a torn
 * last line and lines that are no record skipped, appends on disk, the
 * compaction (alone, and racing appenders of other threads).
 */
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
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

#include "halyard/admin/admin.h"
#include "halyard/core/textbuf.h"
#include "halyard/sql/xa_log.h"
#include "halyard/cluster/xa_recover.h"

static void test_format_parse(void **state)
{
    (void)state;
    struct xa_decision d = {
        .gtrid = "halyard-0a1b2c3d-1700000000-7-1", .when = 1700000123, .n_groups = 2};
    strcpy(d.groups[0], "a");
    strcpy(d.groups[1], "grp_b.2");
    char rec[512];
    assert_true(xa_log_format_commit(&d, rec, sizeof(rec)));
    assert_string_equal(rec, "C halyard-0a1b2c3d-1700000000-7-1 1700000123 a,grp_b.2\n");
    char small[20];
    assert_false(xa_log_format_commit(&d, small, sizeof(small)));
    struct xa_log_state st;
    assert_int_equal(xa_log_parse(rec, strlen(rec), &st), HY_OK);
    assert_int_equal(st.n, 1);
    assert_false(st.torn);
    assert_int_equal(st.bad_lines, 0);
    assert_string_equal(st.v[0].gtrid, d.gtrid);
    assert_int_equal(st.v[0].when, 1700000123);
    assert_int_equal(st.v[0].n_groups, 2);
    assert_string_equal(st.v[0].groups[1], "grp_b.2");
    xa_log_state_free(&st);
}

static void test_done_torn_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *in_doubt; /* gtrids left, space-separated */
        size_t bad;
        bool torn;
    } T[] = {
        {"", "", 0, false},
        {"C x1 10 a,b\nD x1\n", "", 0, false},
        {"C x1 10 a,b\nC x2 11 a,b\nD x1\n", "x2", 0, false},
        /* a torn last line: a C never fsync'd, or a D half written */
        {"C x1 10 a,b\nC x2 11 a", "x1", 0, true},
        {"C x1 10 a,b\nD x", "x1", 0, true},
        {"C x1 10 a,b\nD x1", "x1", 0, true},
        /* complete lines that are no record: skipped, counted */
        {"garbage\nC x1 10 a,b\nC x2 -1 a\nC x3 10\nC x4 10 a,,b\nD x1 extra\nC x5 10 a\n", "x1 x5",
         5, false},
        {"C x'1 10 a\nC x6 10 a;b\n", "", 2, false},
        /* the time is digits only: a sign or an overflow is no record */
        {"C x1 +10 a\nC x2 99999999999999999999 a\nC x3 10 a\n", "x3", 2, false},
        /* the same decision twice: one entry */
        {"C x1 10 a\nC x1 12 a,b\n", "x1", 0, false},
        /* D for a decision never logged: nothing */
        {"D x9\n", "", 0, false},
    };
    for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++) {
        struct xa_log_state st;
        assert_int_equal(xa_log_parse(T[i].text, strlen(T[i].text), &st), HY_OK);
        char got[256] = "";
        for (size_t j = 0; j < st.n; j++) {
            strcat(got, j ? " " : "");
            strcat(got, st.v[j].gtrid);
        }
        if (strcmp(got, T[i].in_doubt) != 0 || st.bad_lines != T[i].bad || st.torn != T[i].torn)
            fail_msg("case %zu: got \"%s\" bad %zu torn %d", i, got, st.bad_lines, st.torn);
        xa_log_state_free(&st);
    }
    struct xa_log_state st;
    const char *dup = "C x1 10 a\nC x1 12 a,b\n";
    assert_int_equal(xa_log_parse(dup, strlen(dup), &st), HY_OK);
    assert_int_equal(st.v[0].when, 12);
    assert_int_equal(st.v[0].n_groups, 2);
    xa_log_state_free(&st);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(xa_log_name_ok("a-b_c.9", 40));
    assert_false(xa_log_name_ok("", 40));
    assert_false(xa_log_name_ok("a b", 40));
    assert_false(xa_log_name_ok("a'b", 40));
    assert_false(xa_log_name_ok("abc", 2));
}

static void test_append_load(void **state)
{
    (void)state;
    char path[] = "/tmp/test_xa_log.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct xa_log_state st;
    assert_int_equal(xa_log_load(path, &st), HY_OK); /* missing: empty */
    assert_int_equal(st.n, 0);
    const char *c = "C g1 5 a,b\n";
    assert_int_equal(xa_log_append(path, c, strlen(c)), HY_OK);
    assert_int_equal(xa_log_append(path, "C g2 6 a,b\nD g1\n", 16), HY_OK);
    assert_int_equal(xa_log_append(path, "C g3 7", 6), HY_OK); /* as a crash would leave it */
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.v[0].gtrid, "g2");
    assert_true(st.torn);
    xa_log_state_free(&st);
    unlink(path);
    assert_int_equal(xa_log_append("/nonexistent-dir/xa.log", c, strlen(c)), HY_ERROR);
}

/* A log of 10,000 records (about 200 KB: several of the loader's reads)
 * loads whole: every decision not done, in order, and a torn last line. */
static void test_load_large(void **state)
{
    (void)state;
    char path[] = "/tmp/test_xa_log.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char rec[64];
    for (int i = 0; i < 10000; i++) {
        int n = i % 2 == 0 ? snprintf(rec, sizeof(rec), "C gtrid-%06d %d a,b\n", i, i)
                           : snprintf(rec, sizeof(rec), "D gtrid-%06d\n", i - 1);
        assert_int_equal(write(fd, rec, (size_t)n), n);
    }
    assert_int_equal(write(fd, "C torn", 6), 6);
    close(fd);
    struct xa_log_state st;
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_int_equal(st.n, 0); /* each C has its D */
    assert_true(st.torn);
    assert_int_equal(st.bad_lines, 0);
    xa_log_state_free(&st);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(rec, sizeof(rec), "C gtrid-%06d %d a,b\n", i, i);
        assert_int_equal(write(fd, rec, (size_t)n), n);
    }
    close(fd);
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_int_equal(st.n, 10000);
    assert_string_equal(st.v[0].gtrid, "gtrid-000000");
    assert_string_equal(st.v[9999].gtrid, "gtrid-009999");
    assert_false(st.torn);
    xa_log_state_free(&st);
    unlink(path);
}

static void tmp_log(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/test_xa_log.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_compact(void **state)
{
    (void)state;
    char path[64], tmp[80];
    tmp_log(path, sizeof(path));
    const char *text = "C g1 5 a,b\nD g1\nC g2 6 a,b\nnot a record\nC g3 7 b,c\nD g3\n"
                       "C g4 8 a,c\nC g5 9 a";
    assert_int_equal(xa_log_append(path, text, strlen(text)), HY_OK);
    size_t before = 0, kept = 0;
    assert_int_equal(xa_log_compact(path, &before, &kept), HY_OK);
    assert_int_equal(before, strlen(text));
    assert_int_equal(kept, 2);
    /* only the decisions in doubt, in order; the done ones, the bad line and
     * the torn one (never fsync'd) are gone */
    assert_string_equal(slurp(path), "C g2 6 a,b\nC g4 8 a,c\n");
    snprintf(tmp, sizeof(tmp), "%s.compact", path);
    struct stat sb;
    assert_int_equal(stat(tmp, &sb), -1);
    /* appends go on after it; a second compaction keeps what is in doubt */
    assert_int_equal(xa_log_append(path, "D g2\nC g6 10 b\n", 15), HY_OK);
    assert_int_equal(xa_log_compact(path, &before, &kept), HY_OK);
    assert_string_equal(slurp(path), "C g4 8 a,c\nC g6 10 b\n");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    unlink(path);
    assert_int_equal(xa_log_compact("/nonexistent-dir/xa.log", NULL, NULL), HY_ERROR);
}

#define RACERS      3
#define RACE_WRITES 60

struct racer {
    const char *path;
    int id;
};

/* Appends C records, every other one followed by its D, each fsync'd. */
static void *racer_main(void *arg)
{
    const struct racer *r = arg;
    for (int i = 0; i < RACE_WRITES; i++) {
        char rec[96];
        int n = snprintf(rec, sizeof(rec), "C r%d-%d 1 a,b\n", r->id, i);
        if (xa_log_append(r->path, rec, (size_t)n) != HY_OK)
            return (void *)1;
        if (i % 2 == 1) {
            n = snprintf(rec, sizeof(rec), "D r%d-%d\n", r->id, i);
            if (xa_log_append(r->path, rec, (size_t)n) != HY_OK)
                return (void *)1;
        }
    }
    return NULL;
}

/* Compactions while other threads append: no record is lost (without the
 * lock, a record appended between a compaction's read and its rename
 * would be). */
static void test_compact_races_appends(void **state)
{
    (void)state;
    char path[64];
    tmp_log(path, sizeof(path));
    pthread_t t[RACERS];
    struct racer r[RACERS];
    for (int k = 0; k < RACERS; k++) {
        r[k] = (struct racer){.path = path, .id = k};
        assert_int_equal(pthread_create(&t[k], NULL, racer_main, &r[k]), 0);
    }
    int compactions = 0;
    bool joined[RACERS] = {false};
    for (int busy = RACERS; busy > 0;) {
        assert_int_equal(xa_log_compact(path, NULL, NULL), HY_OK);
        compactions++;
        usleep(2000); /* the appenders' turn (flock is not fair) */
        busy = 0;
        for (int k = 0; k < RACERS; k++) {
            void *rc = NULL;
            if (!joined[k] && pthread_tryjoin_np(t[k], &rc) == 0) {
                joined[k] = true;
                assert_null(rc);
            }
            busy += !joined[k];
        }
    }
    assert_true(compactions > 1);
    struct xa_log_state st;
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_int_equal(st.n, RACERS * RACE_WRITES / 2);
    assert_int_equal(st.bad_lines, 0);
    assert_false(st.torn);
    for (size_t i = 0; i < st.n; i++) {
        int id, n;
        assert_int_equal(sscanf(st.v[i].gtrid, "r%d-%d", &id, &n), 2);
        assert_int_equal(n % 2, 0); /* the in-doubt ones are the even ones, each once */
    }
    xa_log_state_free(&st);
    unlink(path);
}

static void test_render(void **state)
{
    (void)state;
    struct xa_in_doubt v[2] = {
        {.gtrid = "halyard-0a1b2c3d-1-1", .groups = "a,b", .commit = true, .since = 100},
        {.gtrid = "halyard-0a1b2c3d-1-2",
         .groups = "b",
         .commit = false,
         .since = 130,
         .note = "group b unreachable: \"x\""},
    };
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_xa(&sb, v, 2, 160, true);
    textbuf_putc(&sb, '\0');
    assert_string_equal(
        sb.data, "{\"in_doubt\":[{\"xid\":\"halyard-0a1b2c3d-1-1\",\"groups\":[\"a\",\"b\"],"
                 "\"decision\":\"commit\",\"age_s\":60,\"note\":\"\"},"
                 "{\"xid\":\"halyard-0a1b2c3d-1-2\",\"groups\":[\"b\"],\"decision\":"
                 "\"rollback\",\"age_s\":30,\"note\":\"group b unreachable: \\\"x\\\"\"}]}\n");
    textbuf_reset(&sb);
    admin_render_xa(&sb, v, 0, 160, false);
    textbuf_putc(&sb, '\0');
    assert_string_equal(sb.data, "no transaction in doubt\n");
    textbuf_reset(&sb);
    admin_render_xa(&sb, v, 1, 160, false);
    textbuf_putc(&sb, '\0');
    assert_string_equal(sb.data, "xid                   groups  decision  age_s  note\n"
                                 "halyard-0a1b2c3d-1-1  a,b     commit    60     -\n");
    textbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_done_torn_bad),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_append_load),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_compact_races_appends),
        cmocka_unit_test(test_load_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
