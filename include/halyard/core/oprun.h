/*
 * oprun.h: one of halyard's own operations that ran (a reload, a backup),
 * told at its end to whoever listens: the trace exporter (trace_export.c)
 * makes a span of it while tracing.enabled is on. The layer that runs the
 * operation (main.c's reload, backup/'s thread) fills a struct oprun on
 * its stack and calls oprun_done(); it names no trace code, and nothing is
 * done without a listener.
 *
 * The strings are borrowed for the call: the listener copies what it keeps.
 */
#ifndef HALYARD_OPRUN_H
#define HALYARD_OPRUN_H

#include <stdint.h>

#include "halyard/core/core.h"

enum oprun_type { OPRUN_STR, OPRUN_INT, OPRUN_BOOL };

struct oprun_attr {
    const char *key; /* a literal: "halyard.backup.bytes" */
    enum oprun_type type;
    const char *s; /* OPRUN_STR: NULL or "" is left out */
    int64_t i;     /* OPRUN_INT, OPRUN_BOOL (0 or 1) */
};

#define OPRUN_ATTRS_MAX 32u

struct oprun {
    const char *name;         /* the span's: "halyard.reload", "halyard.backup" */
    int64_t start_ns, end_ns; /* wall clock, nanoseconds since the epoch */
    bool ok;
    const char *error; /* why not ok: the span's status message */
    struct oprun_attr attrs[OPRUN_ATTRS_MAX];
    size_t n_attrs; /* past OPRUN_ATTRS_MAX, further ones are left out */
};

/* Attributes, in order (past OPRUN_ATTRS_MAX: left out). */
void oprun_str(struct oprun *r, const char *key, const char *v);
void oprun_int(struct oprun *r, const char *key, int64_t v);
void oprun_bool(struct oprun *r, const char *key, bool v);

typedef void (*oprun_fn)(const struct oprun *r);
/* The listener (NULL: none). Any thread. */
void oprun_set_fn(oprun_fn fn);
/* Whether one is set: a caller may skip gathering without. */
bool oprun_wanted(void);
/* `r` ended: told to the listener, in the caller's thread. */
void oprun_done(const struct oprun *r);

#endif /* HALYARD_OPRUN_H */
