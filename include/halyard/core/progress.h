/*
 * progress.h: what a long command of halyardctl (restore, backup verify)
 * is doing, for the operator watching it.
 *
 * A command goes through phases ("reading the archive", "loading the
 * dump", ...), each with the bytes done so far and, when known, its total.
 * Three modes, chosen once by halyardctl (progress_mode_for):
 *
 *   PROGRESS_TTY    stdout is a terminal: one line redrawn in place ("\r",
 *                   erased with "\033[K") at most every PROGRESS_REDRAW_S:
 *                   the phase, bytes done of the total, the percentage,
 *                   the rate and, with a total, the time left; drawn from
 *                   the phase's first update, erased when it ends, so the
 *                   lines the command prints itself stay readable.
 *   PROGRESS_LINES  stdout is a pipe or a file: one plain line as each
 *                   phase starts ("phase: loading the dump (4.1 MiB)").
 *   PROGRESS_QUIET  --quiet, and halyard itself: nothing.
 *
 * Either way but quiet, progress_finish() prints one last line with the
 * totals. A command's code reports to progress_main(), the process's one
 * reporter (quiet until halyardctl sets it up), so the backup code needs
 * no new parameters. Not thread-safe: halyardctl's commands report from
 * their one thread.
 *
 * The formatting functions are pure (tested in tests/unit/test_progress.c).
 */
#ifndef HALYARD_PROGRESS_H
#define HALYARD_PROGRESS_H

#include <stdio.h>
#include <sys/types.h>

#include "halyard/core/core.h"

#define PROGRESS_REDRAW_S 0.25 /* a terminal line is redrawn at most 4 times a second */
#define PROGRESS_WIDTH    79   /* a terminal line is cut to this many columns */

enum progress_mode { PROGRESS_QUIET, PROGRESS_LINES, PROGRESS_TTY };

struct progress {
    FILE *out;
    enum progress_mode mode;
    char phase[64];     /* "" before the first phase */
    uint64_t done;      /* bytes of this phase so far */
    uint64_t total;     /* its bytes in all; 0: not known */
    double phase_start; /* CLOCK_MONOTONIC seconds */
    double start;       /* of the first phase */
    double drawn_at;    /* when the terminal line was last drawn; 0: none on screen */
    unsigned phases;
    uint64_t bytes; /* of the phases that ended */
};

/* The process's reporter; quiet until progress_init() is called on it. */
struct progress *progress_main(void);

/* PROGRESS_QUIET when quiet, else PROGRESS_TTY when `fd` is a terminal,
 * else PROGRESS_LINES. */
enum progress_mode progress_mode_for(int fd, bool quiet);

void progress_init(struct progress *p, FILE *out, enum progress_mode mode);

/* A new phase (the one before ends): its name and total bytes (0: not
 * known). Prints its line (PROGRESS_LINES). */
void progress_phase(struct progress *p, const char *name, uint64_t total);
/* The phase's bytes so far (not beyond its total); a terminal line is
 * redrawn when PROGRESS_REDRAW_S passed since the last. */
void progress_update(struct progress *p, uint64_t done);
/* Wait until the child `pid` has exited, without reaping it (the caller's
 * waitpid still gets its status), the bytes it read so far (/proc/PID/io:
 * for a tool reading files, how far it is) as the phase's done, every
 * 100 ms. Returns at once when quiet or outside a phase. */
void progress_follow_child(struct progress *p, pid_t pid);
/* The phase ended: its bytes are counted, its terminal line erased (call
 * before printing anything else while a phase runs). */
void progress_end(struct progress *p);
/* The command ended (ok or not): the last phase ended, and one line with
 * the phases, bytes and time in all (not quiet). */
void progress_finish(struct progress *p, bool ok);

/* ---- pure ---- */

/* `n` bytes as "512 B", "4.0 KiB", "12.3 MiB", "1.50 GiB". */
void progress_fmt_bytes(uint64_t n, char *out, size_t cap);
/* `s` seconds as "42s", "3m05s", "2h07m". */
void progress_fmt_duration(double s, char *out, size_t cap);
/* The terminal line of a phase `elapsed` seconds in, at most PROGRESS_WIDTH
 * columns: "loading the dump: 12.3 MiB of 40.0 MiB (30%), 4.1 MiB/s, 7s left".
 * Without a total: no percentage and no time left; before a second has
 * passed or a byte came: no rate. */
void progress_fmt_line(const char *phase, uint64_t done, uint64_t total, double elapsed, char *out,
                       size_t cap);

#endif /* HALYARD_PROGRESS_H */
