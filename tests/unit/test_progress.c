/*
 * test_progress.c: the progress reporter of halyardctl's long commands
 * (progress.h):
 *   - bytes and durations as people read them, at each unit's edges;
 *   - the terminal line: with a total (percentage, rate, time left),
 *     without one (no percentage, no time left), no rate before half a
 *     second or before a byte, done past the total held at the total, a
 *     long phase name cut to the width;
 *   - the reporter into a file: one line per phase, the totals line,
 *     nothing when quiet, and a terminal's \r redraw erased at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/core/progress.h"

static void test_bytes(void **state)
{
    (void)state;
    char b[32];
    progress_fmt_bytes(0, b, sizeof(b));
    assert_string_equal(b, "0 B");
    progress_fmt_bytes(1023, b, sizeof(b));
    assert_string_equal(b, "1023 B");
    progress_fmt_bytes(1024, b, sizeof(b));
    assert_string_equal(b, "1.0 KiB");
    progress_fmt_bytes(1536 * 1024, b, sizeof(b));
    assert_string_equal(b, "1.5 MiB");
    progress_fmt_bytes(40ull << 20, b, sizeof(b));
    assert_string_equal(b, "40.0 MiB");
    progress_fmt_bytes(3ull << 30, b, sizeof(b));
    assert_string_equal(b, "3.00 GiB");
    progress_fmt_bytes(5000ull << 40, b, sizeof(b));
    assert_string_equal(b, "5000.0 TiB");
}

static void test_duration(void **state)
{
    (void)state;
    char d[32];
    progress_fmt_duration(0, d, sizeof(d));
    assert_string_equal(d, "0s");
    progress_fmt_duration(-3, d, sizeof(d));
    assert_string_equal(d, "0s");
    progress_fmt_duration(59.4, d, sizeof(d));
    assert_string_equal(d, "59s");
    progress_fmt_duration(185, d, sizeof(d));
    assert_string_equal(d, "3m05s");
    progress_fmt_duration(2 * 3600 + 7 * 60 + 30, d, sizeof(d));
    assert_string_equal(d, "2h07m");
}

static void test_line(void **state)
{
    (void)state;
    char l[PROGRESS_WIDTH + 1];
    /* 12 MiB of 40 in 3 s: 4 MiB/s, 28 MiB left, 7 s */
    progress_fmt_line("loading the dump", 12ull << 20, 40ull << 20, 3.0, l, sizeof(l));
    assert_string_equal(l, "loading the dump: 12.0 MiB of 40.0 MiB (30%), 4.0 MiB/s, 7s left");
    /* no total: no percentage, no time left */
    progress_fmt_line("replaying binlogs", 3ull << 20, 0, 2.0, l, sizeof(l));
    assert_string_equal(l, "replaying binlogs: 3.0 MiB, 1.5 MiB/s");
    /* too early for a rate */
    progress_fmt_line("loading the dump", 1000, 4000, 0.2, l, sizeof(l));
    assert_string_equal(l, "loading the dump: 1000 B of 3.9 KiB (25%)");
    /* no byte yet: no rate, however long */
    progress_fmt_line("checking", 0, 4096, 10, l, sizeof(l));
    assert_string_equal(l, "checking: 0 B of 4.0 KiB (0%)");
    /* done past the total (a file grew): held at the total, no time left */
    progress_fmt_line("reading the archive", 5000, 4096, 2, l, sizeof(l));
    assert_string_equal(l, "reading the archive: 4.0 KiB of 4.0 KiB (100%), 2.0 KiB/s");
    /* never wider than the terminal line */
    char name[64];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    progress_fmt_line(name, 1ull << 30, 2ull << 30, 10, l, sizeof(l));
    assert_int_equal(strlen(l), PROGRESS_WIDTH);
}

/* What the reporter wrote into a temporary file. */
static char *run(enum progress_mode mode)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct progress p;
    progress_init(&p, f, mode);
    progress_phase(&p, "reading the archive", 2048);
    progress_update(&p, 1024);
    progress_update(&p, 2048);
    progress_end(&p);
    progress_phase(&p, "loading the dump", 0);
    progress_update(&p, 1024);
    progress_finish(&p, true);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static void test_reporter(void **state)
{
    (void)state;
    char *s = run(PROGRESS_LINES);
    assert_string_equal(s, "phase: reading the archive (2.0 KiB)\n"
                           "phase: loading the dump\n"
                           "progress: done after 2 phases, 3.0 KiB in 0s\n");
    free(s);
    s = run(PROGRESS_QUIET);
    assert_string_equal(s, "");
    free(s);
    /* a terminal: the first update of each phase draws (the second of the
     * first phase comes within PROGRESS_REDRAW_S: not drawn), each phase's
     * line erased as it ends, then the totals */
    s = run(PROGRESS_TTY);
    assert_string_equal(s, "\rreading the archive: 1.0 KiB of 2.0 KiB (50%)\033[K"
                           "\r\033[K"
                           "\rloading the dump: 1.0 KiB\033[K"
                           "\r\033[K"
                           "progress: done after 2 phases, 3.0 KiB in 0s\n");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_reporter),
    };
    return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
