/*
 * session_fanout_int.h: what session_fanout.c (a statement on every group)
 * and session_fanout_xa.c (its "xa" parts: the two-phase commit of a write
 * on several groups, and a read inside a transaction across groups) share.
 * Internal to the session module; nothing else includes it.
 */
#ifndef HALYARD_SESSION_FANOUT_INT_H
#define HALYARD_SESSION_FANOUT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/classify.h"
#include "halyard/route/scatter_merge.h"
#include "halyard/route/scatter_plan.h"
#include "halyard/sql/varstate.h"
#include "halyard/sql/xa_log.h"
#include "halyard/cluster/xa_log_writer.h"
#include "session_int.h"

#define SCATTER_MAX_BUFFER         (64u << 20) /* bytes of all groups' answers */
#define SCATTER_DEFAULT_TIMEOUT_MS 60000

enum fanout_mode {
    FANOUT_READ,  /* the plan's text on every group, answers merged */
    FANOUT_WRITE, /* a text per group (the same, or a split INSERT's rows), reported per group */
};

struct fanout;

struct fanout_leg {
    struct fanout *f;
    struct sqlclient *c;
    char group[48];
    char be[64];
    const struct config *view; /* the group's */
    int idx;                   /* the backend it runs on, in view */
    int primary;               /* the group's usable primary, or -1 */
    const char *text;          /* what it runs: the plan's, or its own (owned) */
    size_t text_len;
    bool own_text;
    bool skip;     /* no text for this group (a split INSERT without its rows) */
    uint32_t step; /* setup commands run */
    bool done;     /* its statement answered (or failed) */
    bool in_trx;   /* START TRANSACTION answered OK: COMMIT or ROLLBACK follows */
    char err[400]; /* halyard's own failure; "" = none */
    size_t why_at; /* in err: where the failure is said, after "halyard: group X (be): " */
    struct scatter_part part;
    int read_ms;
    /* what its connection says of the statement's conditions (finish) */
    struct sqlclient *killer; /* KILL QUERY of its statement, on a connection of its own */
    bool sent;                /* its statement is on its way or running */
    /* "xa" (f->xa): its branch */
    int xstep;                 /* of the phase's commands (xa_phase) */
    bool xprepared;            /* XA PREPARE answered OK */
    bool xcommitted;           /* XA COMMIT answered OK */
    bool dwant;                /* asked: it has some, or the definitions are wanted */
    struct scatter_part dlist; /* its SHOW WARNINGS answer */
    uint64_t dcount[3];        /* @@warning_count, @@error_count, @@max_error_count */
    /* LAST_INSERT_ID() after its part (f->lid_want) */
    bool lid_read;        /* read back */
    uint64_t lid;         /* its value there (the connection began with 0) */
    char ai_col[65];      /* the table's auto-increment column ("": none, or not asked) */
    uint32_t first, last; /* where its rows are among the statement's */
};

struct fanout {
    struct session *s;
    enum fanout_mode mode;
    struct scatter_plan plan;
    bool running;
    bool setup_state; /* bring each connection to the session's state first */
    bool trx;         /* FANOUT_WRITE of DML: one transaction per group, all commit or none */
    bool sum;         /* FANOUT_WRITE: each group's own rows (affected rows summed), not copies */
    bool ending;      /* COMMIT or ROLLBACK sent */
    bool committed;   /* ... COMMIT */
    bool diag_asked;  /* the groups' conditions asked for (ask_diag) */
    bool replicas;    /* a scatter read: each group reads where a read would (leg_reader) */
    enum classify_hint hint;                 /* the statement's */
    char hint_backend[CLASSIFY_BACKEND_MAX]; /* with CLH_BACKEND */
    char diag_lost[256];                     /* ... and not all told: why */
    bool binary;     /* a COM_STMT_EXECUTE's: the merged rows go in binary (ps_text.h) */
    bool own_groups; /* s->feat.groups made for it (no shards): freed with it */
    bool killed;     /* KILL QUERY: no group starts its part any more */
    /* A read inside a transaction across groups (session_fanout_xa_wait):
     * each group's part on the session's connection holding its branch */
    bool xread;
    bool xdone;       /* every part is in, or one failed: to be answered */
    size_t xat;       /* the group whose part is next (or runs) */
    uint16_t xhome;   /* the session's group before it: it goes back there */
    uint16_t xrolled; /* a part's error rolled its branch back (1213) */
    bool xanswer;     /* being answered (session_fanout_start follows) */
    /* A write on several groups in "xa" mode: one XA branch per group,
     * two-phase commit with the decision in shards.xa_log (xa_end_trx) */
    bool xa;
    char gtrid[XA_GTRID_MAX + 1];
    enum { FX_PREPARE, FX_COMMIT, FX_ROLLBACK } xop;
    bool decided;            /* the decision to commit is durable */
    bool logging;            /* ... is with the log's writer */
    struct xa_log_wait logw; /* its wait; data = the fan-out */
    /* A write whose LAST_INSERT_ID() is the session's after it
     * (session_fanout_want_lid): each group's read after its part */
    bool lid_want;
    bool lid_asked;
    bool lid_copies; /* the same rows on each group (a reference table's write) */
    bool lid_ai;     /* lid_sql also asks for the table's auto-increment column */
    char *lid_text;  /* the whole INSERT (a split's) */
    size_t lid_len;
    char lid_sql[400];
    size_t budget;
    size_t pending;
    struct varstate_cmds setup;
    size_t n;
    struct fanout_leg *legs;
};

/* session_fanout.c */
/* The session's group (its index in its config). */
uint16_t fanout_cur_group(const struct session *s);
/* l fails with halyard's own reason (the first one said is kept). */
void fanout_leg_note(struct fanout_leg *l, const char *fmt, ...) HY_PRINTF(2, 3);
/* The merged answer of a read (or the first failure) to the client. */
void fanout_answer_read(struct fanout *f);
/* Every group is done: the answer, the conditions, the connections closed
 * (from_loop: called from a connection's callback, not the session's). */
void fanout_finish(struct fanout *f, bool from_loop);

/* session_fanout_xa.c */
/* A write's parts all answered in "xa" mode (all_ok: each succeeded):
 * PREPARE on every branch, the decision, COMMIT; else ROLLBACK on every
 * branch; fanout_finish once done. */
void fanout_xa_end_trx(struct fanout *f, bool all_ok);
/* A read inside a transaction across groups: every part in (or one
 * failed): the session back on its group, the answer to the client. */
void fanout_xa_read_answer(struct fanout *f);

#endif /* HALYARD_SESSION_FANOUT_INT_H */
