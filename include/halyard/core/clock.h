/*
 * clock.h: the one place halyard reads a clock. Two clocks: the monotonic
 * one (CLOCK_MONOTONIC) for every interval, timeout and rate, and the wall
 * clock (CLOCK_REALTIME) for what is shown to people, written to disk or
 * compared with another machine's time, and for pthread_cond_timedwait's
 * deadlines (a condition variable's default clock). Any thread.
 */
#ifndef HALYARD_CLOCK_H
#define HALYARD_CLOCK_H

#include <time.h>

#include "halyard/core/core.h"

/* The monotonic clock, in microseconds, milliseconds and seconds. */
int64_t hy_mono_us(void);
int64_t hy_mono_ms(void);
double hy_mono_s(void);

/* The wall clock (since the epoch), in nanoseconds, microseconds,
 * milliseconds and seconds (libev's ev_time() reads this clock). */
int64_t hy_now_ns(void);
int64_t hy_now_us(void);
int64_t hy_now_ms(void);
double hy_now_s(void);

/* Each clock as a timespec, for a condition variable set to that clock. */
struct timespec hy_mono_ts(void);
struct timespec hy_now_ts(void);

/* t plus ms milliseconds (ms >= 0), normalised. */
struct timespec hy_ts_add_ms(struct timespec t, int64_t ms);

/* The wall clock `ms` milliseconds from now, as the absolute deadline
 * pthread_cond_timedwait (default clock) and pthread_timedjoin_np take. */
struct timespec hy_deadline_ms(int64_t ms);

#endif /* HALYARD_CLOCK_H */
