/*
 * progress.c: the progress reporter of halyardctl's long commands
 * (progress.h). The line's text is made by pure functions; the reporter
 * only decides when to print it and how (redrawn in place, or one line a
 * phase).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/core/progress.h"

struct progress *progress_main(void)
{
    static struct progress p; /* mode 0: PROGRESS_QUIET */
    return &p;
}

enum progress_mode progress_mode_for(int fd, bool quiet)
{
    if (quiet)
        return PROGRESS_QUIET;
    return isatty(fd) ? PROGRESS_TTY : PROGRESS_LINES;
}

void progress_init(struct progress *p, FILE *out, enum progress_mode mode)
{
    *p = (struct progress){.out = out, .mode = mode};
}

/* ---- pure ---------------------------------------------------------------- */

void progress_fmt_bytes(uint64_t n, char *out, size_t cap)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(out, cap, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < HY_ARRAY_SIZE(unit)) {
        v /= 1024;
        u++;
    }
    /* two decimals only where the first would hide most of the change */
    snprintf(out, cap, u >= 2 && v < 10 ? "%.2f %s" : "%.1f %s", v, unit[u]);
}

void progress_fmt_duration(double s, char *out, size_t cap)
{
    if (!(s >= 0))
        s = 0;
    unsigned long long t = (unsigned long long)(s + 0.5);
    if (t < 60)
        snprintf(out, cap, "%llus", t);
    else if (t < 3600)
        snprintf(out, cap, "%llum%02llus", t / 60, t % 60);
    else
        snprintf(out, cap, "%lluh%02llum", t / 3600, t / 60 % 60);
}

void progress_fmt_line(const char *phase, uint64_t done, uint64_t total, double elapsed, char *out,
                       size_t cap)
{
    char d[32], t[32], r[32], left[32];
    if (total > 0 && done > total)
        done = total;
    progress_fmt_bytes(done, d, sizeof(d));
    char line[256];
    int n;
    if (total > 0) {
        progress_fmt_bytes(total, t, sizeof(t));
        n = snprintf(line, sizeof(line), "%s: %s of %s (%d%%)", phase, d, t,
                     (int)((double)done * 100 / (double)total));
    } else {
        n = snprintf(line, sizeof(line), "%s: %s", phase, d);
    }
    /* a rate from less than half a second, or no byte, says nothing */
    if (elapsed >= 0.5 && done > 0 && n > 0 && (size_t)n < sizeof(line)) {
        double rate = (double)done / elapsed;
        progress_fmt_bytes((uint64_t)rate, r, sizeof(r));
        n += snprintf(line + n, sizeof(line) - (size_t)n, ", %s/s", r);
        if (total > 0 && done < total && (size_t)n < sizeof(line)) {
            progress_fmt_duration((double)(total - done) / rate, left, sizeof(left));
            n += snprintf(line + n, sizeof(line) - (size_t)n, ", %s left", left);
        }
    }
    size_t len = strlen(line);
    if (len > PROGRESS_WIDTH)
        len = PROGRESS_WIDTH;
    snprintf(out, cap, "%.*s", (int)len, line);
}

/* ---- the reporter -------------------------------------------------------- */

static void draw(struct progress *p, double now)
{
    char line[PROGRESS_WIDTH + 1];
    progress_fmt_line(p->phase, p->done, p->total, now - p->phase_start, line, sizeof(line));
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->drawn_at = now;
}

void progress_end(struct progress *p)
{
    if (p->mode == PROGRESS_QUIET || p->phase[0] == '\0')
        return;
    if (p->mode == PROGRESS_TTY && p->drawn_at > 0) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn_at = 0;
    p->bytes += p->done;
    p->phase[0] = '\0';
}

void progress_phase(struct progress *p, const char *name, uint64_t total)
{
    if (p->mode == PROGRESS_QUIET)
        return;
    progress_end(p);
    double now = hy_mono_s();
    if (p->phases++ == 0)
        p->start = now;
    snprintf(p->phase, sizeof(p->phase), "%s", name);
    p->done = 0;
    p->total = total;
    p->phase_start = now;
    if (p->mode == PROGRESS_TTY)
        return; /* drawn by the first update: a phase without bytes leaves the screen alone */
    char t[32];
    progress_fmt_bytes(total, t, sizeof(t));
    if (total > 0)
        fprintf(p->out, "phase: %s (%s)\n", name, t);
    else
        fprintf(p->out, "phase: %s\n", name);
    fflush(p->out);
}

void progress_update(struct progress *p, uint64_t done)
{
    if (p->mode == PROGRESS_QUIET || p->phase[0] == '\0')
        return;
    p->done = p->total > 0 && done > p->total ? p->total : done;
    if (p->mode != PROGRESS_TTY)
        return;
    double now = hy_mono_s();
    if (now - p->drawn_at >= PROGRESS_REDRAW_S)
        draw(p, now);
}

void progress_finish(struct progress *p, bool ok)
{
    if (p->mode == PROGRESS_QUIET || p->phases == 0)
        return;
    progress_end(p);
    char b[32], d[32];
    progress_fmt_bytes(p->bytes, b, sizeof(b));
    progress_fmt_duration(hy_mono_s() - p->start, d, sizeof(d));
    fprintf(p->out, "progress: %s after %u phase%s, %s in %s\n", ok ? "done" : "stopped", p->phases,
            p->phases == 1 ? "" : "s", b, d);
    fflush(p->out);
}

/* The bytes process `pid` has read so far (rchar of /proc/PID/io); 0 when
 * that cannot be read. */
static uint64_t child_read(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "re");
    uint64_t v = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "rchar: %" SCNu64, &v) == 1)
            break;
    }
    fclose(f);
    return v;
}

void progress_follow_child(struct progress *p, pid_t pid)
{
    if (p->mode == PROGRESS_QUIET || p->phase[0] == '\0')
        return;
    for (;;) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != 0)
            return; /* exited (left for the caller to reap), or not our child */
        uint64_t n = child_read(pid);
        if (n > 0)
            progress_update(p, n);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a signal cuts it short: the loop asks again */
    }
}
