/*
 * clock.c: see clock.h.
 */
#include "halyard/core/clock.h"

static struct timespec read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts;
}

/* A reading in each unit: the clocks below differ only in which clock. */
static int64_t ts_us(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t ts_ms(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double ts_s(struct timespec ts)
{
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t hy_mono_us(void)
{
    return ts_us(read_clock(CLOCK_MONOTONIC));
}

int64_t hy_mono_ms(void)
{
    return ts_ms(read_clock(CLOCK_MONOTONIC));
}

double hy_mono_s(void)
{
    return ts_s(read_clock(CLOCK_MONOTONIC));
}

int64_t hy_now_ns(void)
{
    struct timespec ts = read_clock(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hy_now_us(void)
{
    return ts_us(read_clock(CLOCK_REALTIME));
}

int64_t hy_now_ms(void)
{
    return ts_ms(read_clock(CLOCK_REALTIME));
}

double hy_now_s(void)
{
    return ts_s(read_clock(CLOCK_REALTIME));
}

struct timespec hy_mono_ts(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

struct timespec hy_now_ts(void)
{
    return read_clock(CLOCK_REALTIME);
}

struct timespec hy_ts_add_ms(struct timespec t, int64_t ms)
{
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

struct timespec hy_deadline_ms(int64_t ms)
{
    return hy_ts_add_ms(read_clock(CLOCK_REALTIME), ms);
}
