/*
 * failover_int.h: what the failover thread's files share, and nobody else
 * includes (like session_int.h).
 *
 *   failover_exec.c   the thread: requests, the tick, the replication
 *                     procedures (failover, switchover, rejoin, the fence of
 *                     a cut-off primary)
 *   failover_dual.c   cluster = "dual-master": its tick and procedures
 *   failover_cutoff.c the fence of a primary cut off from the majority, and
 *                     its return (both cluster types)
 *   failover_steps.c  what procedures are made of: links to the servers,
 *                     the survey, the lock, promotion and fencing steps, the
 *                     log of steps and the audit record
 *
 * Calls go downward: failover_exec.c -> failover_dual.c -> failover_cutoff.c
 * -> failover_steps.c.
 */
#ifndef HALYARD_FAILOVER_INT_H
#define HALYARD_FAILOVER_INT_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/audit.h"
#include "halyard/config/config.h"
#include "halyard/cluster/failover.h"
#include "halyard/cluster/failover_exec.h"
#include "halyard/cluster/proof.h"
#include "halyard/core/gtid.h"
#include "halyard/core/log.h"

#define REPORT_MAX 16384

struct fx;

/* One connection of the failover thread to one backend, and the last
 * answer it got. */
struct link {
    struct fx *fx;
    size_t idx; /* in cfg->backends; witness idx - n_backends after them */
    struct sqlclient *c;
    bool connected;
    bool busy; /* an operation is in flight */
    /* the last answer */
    bool ok;
    uint16_t err_code;
    char err[256];
    size_t n_rows, n_cols;
    char **cols;  /* n_cols */
    char **cells; /* n_rows * n_cols; NULL for SQL NULL */
};

/* What the thread keeps per group (group.h) between ticks; fx->cfg is the
 * group's view while it looks at one. */
struct fx_group {
    char name[72];
    size_t n_members;
    int down_idx;            /* the primary we saw unreachable; -1 = none */
    uint64_t down_since_ms;  /* since when */
    uint64_t *last_fence_ms; /* per backend: rate limits */
    uint64_t *last_rejoin_ms;
    bool *held; /* per backend: held fenced, its event sent (run_rejoin) */
    size_t n_rate;
    uint64_t next_try_ms; /* after a failed attempt, no new one before this */
    bool no_majority;
    bool blocked_said;        /* a failover due but impossible was logged (tick_group) */
    int cut_off_idx;          /* the primary fx_cut_off_check() fenced; -1 = none */
    uint64_t last_cut_off_ms; /* its last look */
    size_t last_got, last_voters;
};

struct fx {
    pthread_t thread;
    bool running;
    struct ev_loop *loop;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool notified;
    struct config *cfg_new; /* handed over by failover_exec_set_config */
    bool req_pending;
    enum failover_request req_kind;
    char req_target[128];
    failover_done_fn req_done;
    void *req_arg;

    /* the thread's own */
    struct config *root;     /* the loaded config (a reference) */
    struct fx_group *groups; /* root->n_groups */
    size_t n_groups;
    struct fx_group *g;      /* the group being looked at */
    char lock_name[80];      /* its failover lock: halyard_failover[:GROUP] */
    struct config *cfg;      /* its view (group.h) */
    struct link *links;      /* cfg->n_backends, then cfg->n_witnesses, during a procedure */
    size_t n_links;          /* the backends' */
    size_t n_all;            /* and the witnesses' */
    char report[REPORT_MAX]; /* the steps of the procedure, for an admin request */
    size_t report_len;
    uint64_t t0_ms; /* the procedure's start */
    unsigned seed;  /* for the jitter of next_try_ms */
    /* The last automatic attempt found no majority for the lock: the
     * same attempt again logs at debug level (quiet) until the count of
     * grants changes (last_got, last_voters). */
    bool quiet;
    bool vetoed; /* the procedure that just ran was vetoed by alerts.pre_failover */
};

/* What a procedure reads the servers into (cfg order), with the links it
 * reads them over. fx_survey_end() undoes fx_survey_begin(), whatever it returned. */
struct survey {
    struct failover_node *nodes;
    struct gtid_pos *states;
};

/* ---- failover_steps.c ---- */

/* One line of the procedure: logged, and kept for the admin answer. */
void fx_step(struct fx *fx, enum log_level lvl, const char *fmt, ...) HY_PRINTF(3, 4);
/* The procedure that just ended, as one audit record (and an event when it
 * changed something). */
void fx_audit(const struct fx *fx, struct audit_procedure *p);

/* Links: one connection per backend, then per witness. */
bool fx_links_open(struct fx *fx);
void fx_links_close(struct fx *fx);
void fx_link_query(struct link *l, const char *sql, int timeout_ms);
void fx_wait(struct fx *fx);
bool fx_link_run(struct fx *fx, struct link *l, const char *sql, int timeout_ms);
const char *fx_link_get(const struct link *l, size_t row, const char *name);
const char *fx_link_cell(const struct link *l, size_t i);
bool fx_link_votes(const struct fx *fx, const struct failover_node *nodes, size_t i);

/* The topology, from the servers or from the monitor. */
bool fx_parse_pos(const char *s, struct gtid_pos *out);
bool fx_survey_begin(struct fx *fx, struct survey *sv);
void fx_survey_end(struct fx *fx, struct survey *sv);
void fx_probe(struct fx *fx, struct failover_node *nodes, struct gtid_pos *states);
void fx_view_from_monitor(const struct config *cfg, struct failover_node *nodes);
int fx_current_primary(const struct config *cfg);
void fx_track_primary(struct fx *fx, int p, bool reachable, uint64_t now);

/* Steps. */
bool fx_take_lock(struct fx *fx, const struct failover_node *nodes, bool strict);
bool fx_repoint(struct fx *fx, struct link *l, size_t to, const char *use_gtid,
                bool with_credentials);
/* `final`: their source is dead. Without log_slave_updates on `to`, a
 * replica that has not applied what `to` applied stays where it is. */
void fx_repoint_others(struct fx *fx, const struct failover_node *nodes, size_t to, int skip1,
                       int skip2, bool final);
/* Wait (bounded by wait_ms) until backend c has applied wait_pos. */
bool fx_apply_relay_log(struct fx *fx, const struct failover_node *nodes, size_t c,
                        const char *wait_pos, int wait_ms);
/* Candidate c first takes what replica d has and it lacks (bounded by wait_ms). */
bool fx_catch_up(struct fx *fx, const struct failover_node *nodes, size_t c, size_t d, int wait_ms);
bool fx_make_primary(struct fx *fx, const struct failover_node *nodes, size_t c,
                     const char *wait_pos, int wait_ms);
void fx_publish_primary(struct fx *fx, size_t c, int old, const char *why,
                        enum proof_promotion how);
void fx_publish_done(struct fx *fx, const char *procedure, size_t c, int old, const char *what,
                     enum proof_promotion how);
bool fx_pre_failover_allows(struct fx *fx, const char *procedure, bool manual, int old, size_t c,
                            const char *reason);
/* A switchover's verdict (`promote`: to candidate c, `reason`), logged as a
 * step: true when it promotes and alerts.pre_failover lets it go on. */
bool fx_switchover_allowed(struct fx *fx, bool promote, const char *reason, int old, size_t c);
void fx_wait_quiet(const struct config *cfg, size_t i, int ms);
void fx_retry_later(struct fx *fx);

/* How a failover or switchover ended, for fx_procedure_end(). */
struct fx_outcome {
    bool switchover; /* else a failover */
    bool manual;     /* asked by the admin socket */
    bool attempted;  /* it got as far as changing something: counted */
    bool record;     /* audited */
    bool ok;
    int to, from;       /* backends; -1 = none */
    const char *target; /* the name asked for, when `to` is none */
    const char *reason;
};
bool fx_procedure_end(struct fx *fx, struct survey *sv, const struct fx_outcome *o);
bool fx_switchover_end(struct fx *fx, struct survey *sv, bool attempted, bool ok, int to, int from,
                       const char *target, const char *reason);
bool fx_pause_writes(struct fx *fx, const struct failover_node *nodes, size_t old, char *pos,
                     size_t poslen);
void fx_resume_writes(struct fx *fx, const struct failover_node *nodes, size_t old);
bool fx_read_only_procedure(struct fx *fx, size_t i, bool on, struct audit_procedure *ap);

/* ---- failover_cutoff.c ---- */

bool fx_cut_off_check(struct fx *fx, const struct failover_node *mon, int p, uint64_t now);

/* ---- failover_dual.c ---- */

/* cluster = "dual-master": one look at the pair after a monitor round. */
void fx_dual_tick(struct fx *fx);
/* Admin requests for the pair; true when done. */
bool fx_dual_switchover(struct fx *fx, const char *target);
bool fx_dual_failover(struct fx *fx, bool manual, uint64_t down_ms);

#endif /* HALYARD_FAILOVER_INT_H */
