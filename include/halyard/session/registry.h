/*
 * registry.h: session id -> session, across workers, for KILL.
 *
 * Each session embeds a struct registry_entry, added when it starts and
 * removed when it ends. KILL <id> from any worker looks the id up under one
 * mutex: the registry is touched at session start and end, at login (the
 * user) and by KILL, never per packet. The fields a session publishes for
 * other workers (its backend thread, a kill request) are atomics.
 *
 * The registry knows nothing of struct session: a KILL that must close a
 * session with no backend marks its entry and wakes its worker through the
 * flag and async watcher the entry names (worker.h).
 *
 * Pooled connections (pool_mode = "transaction") change hands between
 * statements, so the backend thread a KILL names must still be the named
 * session's when the KILL reaches the server. A KILL sent to a backend
 * holds its target (kill_holds): while any is held, the target gives no
 * connection back to the pool, and the KILL's sender lets go once the
 * server has answered it (registry_kill_done), which wakes the target's
 * worker to give back what it kept. The target clears its published thread
 * before it reads the count (registry_release_ok), the sender counts
 * before it reads the thread: one of them sees the other (seq_cst), so a
 * KILL is only sent for a thread the target has not given away.
 */
#ifndef HALYARD_REGISTRY_H
#define HALYARD_REGISTRY_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Session ids, which clients see as their connection id, start at 2^30: far
 * above the thread ids MariaDB hands out, so KILL <id> can tell a halyard
 * session (translated to its backend thread) from a backend thread id a
 * client read with CONNECTION_ID() (passed through as it is). */
#define REGISTRY_ID_BASE 0x40000000u

struct registry_entry {
    struct registry_entry *next; /* hash chain, under the registry's mutex */
    uint32_t id;
    char user[96];    /* the logged-in user, "" before login; under the mutex */
    const char *peer; /* the client's "host:port" (KILL ... USER matches its host) */
    /* The backend connection in use: its thread id (low 32 bits, 0 =
     * none) and its backend's index (high 32 bits), one value so that a
     * KILL reads a thread and the backend it is on together (pooled, the
     * session moves between connections; registry_set_backend). */
    atomic_ullong backend;
    atomic_bool kill_req;   /* KILL CONNECTION asked this session to close */
    atomic_uint kill_holds; /* KILLs sent for its thread, not answered yet */
    atomic_uint kill_conns; /* of which KILL CONNECTIONs */
    atomic_bool fanout;     /* a statement runs on every group (session_fanout.c) */
    atomic_bool kill_query; /* KILL QUERY asked that statement to stop */
    /* For the process list (registry_idle_list): */
    char db[65];          /* its current schema, "" = none; under text_lock */
    atomic_llong idle_ms; /* ev_now() * 1000 at its login and each command's end; relaxed */
    /* A KILL QUERY found it idle without a connection: shown Killed until
     * its next command, as the server shows such a thread. */
    atomic_bool idle_killed;
    /* The backends (bit idx, idx < 64) whose thread of its a KILL was sent
     * to since its last command began. The server lists a killed thread
     * Killed until that thread's next command, which halyard may answer
     * itself or send to another backend: a Killed thread whose bit is
     * clear is a session that took a command since (registry_killed_on). */
    atomic_ullong killed_on;
    /* The client's text of the statement it runs now where halyard sent
     * another (rewritten: CONNECTION_ID(), the process list...), its first
     * REGISTRY_INFO_MAX bytes (malloc'd); NULL = none. Written by the
     * owner under text_lock (registry_set_info). */
    char *info;
    uint32_t info_len;
    /* This entry's own lock for db and info: the owner takes it to change
     * them (a rewritten statement, a schema change), a reader of the
     * process list to copy them, inside the registry's mutex. Held for a
     * copy of at most REGISTRY_INFO_MAX bytes; zero-initialised = free. */
    atomic_bool text_lock;
    /* How a KILL wakes the owner's worker (set before registry_add). */
    struct ev_loop *loop;
    ev_async *wakeup;
    atomic_bool *kill_pending; /* also: a hold ended, kept connections may go */
};

/* A new session id (wraps back to REGISTRY_ID_BASE). Any thread. */
uint32_t registry_new_id(void);

void registry_add(struct registry_entry *e);
void registry_remove(struct registry_entry *e);
void registry_set_user(struct registry_entry *e, const char *user);
/* The backend the session's commands run on now (tid 0 = none). Owner only. */
void registry_set_backend(struct registry_entry *e, uint32_t idx, uint32_t tid);
/* Owner only: a statement on every group runs (on) or ended. A KILL of
 * the session meanwhile is halyard's to carry out (KILL_MARKED): its
 * connections to the groups are not the one it publishes. */
void registry_set_fanout(struct registry_entry *e, bool on);
/* Owner only: whether a KILL QUERY asked the statement on every group to
 * stop since the last call. */
bool registry_take_kill_query(struct registry_entry *e);
/* The session is to end: a KILL CONNECTION the server accepted, or one
 * that found it without a backend thread. */
bool registry_kill_requested(const struct registry_entry *e);
/* That, or a KILL CONNECTION for its thread is on its way: a backend
 * connection lost now is taken to be that KILL's doing. */
bool registry_kill_sent(const struct registry_entry *e);

enum registry_kill {
    KILL_UNKNOWN,   /* no such session */
    KILL_NOT_OWNER, /* another user's session, and it has no backend to ask */
    KILL_MARKED,    /* no backend connection: marked to close, nothing to send */
    KILL_BACKEND,   /* *tid is the backend thread id to kill */
};

/* Look up session `id` for a KILL issued by `by`; `connection`: KILL
 * CONNECTION (the target must end), else KILL QUERY. *tid and *idx are set
 * when the target was found. `hold`: the KILL is sent now; on KILL_BACKEND
 * the target is held (keeps its connections) until registry_kill_done(),
 * which the caller must call once the server has answered the KILL, or it
 * will not be. Without `hold` a KILL_BACKEND answer only says where to send
 * the KILL. KILL_MARKED: a KILL CONNECTION marks the target to end; a
 * KILL QUERY marks it idle-killed, and either wakes its worker: a
 * statement it has read that waits inside halyard (a limit's queue, a
 * primary, a pooled connection) is interrupted at once (session.h,
 * session_kill_wait). */
enum registry_kill registry_kill(const struct registry_entry *by, uint32_t id, bool connection,
                                 bool hold, uint32_t *tid, uint32_t *idx);
/* KILL [CONNECTION] USER `user`[@`host`] that the server accepted: every
 * session logged in as `user` from client host `host` (NULL = any; the
 * address as text, or 'localhost' for a loopback client when
 * `name_resolve`, compared as the server compares its clients' host: as
 * it is, no pattern), the issuing session among them (the server ends
 * its own connection too, after the OK), is marked to end and its worker
 * woken. Returns how many were. */
unsigned registry_kill_user(const char *user, const char *host, bool name_resolve);
/* The logged-in sessions of `user` from client host `host` (NULL = any),
 * matched as registry_kill_user matches them. Any thread. */
unsigned registry_count_user(const char *user, const char *host, bool name_resolve);
/* The KILL that held session `id` is answered (or will never be): a KILL
 * CONNECTION (`connection`) the server `accepted` marks the target to end;
 * one it refused (no such thread, not the owner) leaves it be, and takes
 * back the mark it left on backend `idx` (killed_on; the *idx
 * registry_kill gave): a statement of the target's that waits is not
 * interrupted by it, nor is its thread listed Killed. */
void registry_kill_done(uint32_t id, uint32_t idx, bool connection, bool accepted);
/* Owner only, between statements, before it gives a connection back to the
 * pool: clears the published thread, and true when no KILL holds the
 * session (else it must keep its connections and wait for its worker's
 * wakeup; its thread is published again when a statement starts). */
bool registry_release_ok(struct registry_entry *e);

/* The process list's INFO is the statement's first 65,535 characters
 * (MariaDB's PROCESS_LIST_INFO_WIDTH): as many bytes are kept. */
#define REGISTRY_INFO_MAX 65535u

/* Owner only: the client's text of the statement it sends now, which
 * halyard rewrote (NULL: none, or it ended). */
void registry_set_info(struct registry_entry *e, const char *text, size_t len);
/* A copy of session `id`'s info (malloc'd, *len its length), NULL when
 * it has none. Any thread. */
char *registry_info_dup(uint32_t id, size_t *len);

/* Owner only: its current schema changed (NULL: none). */
void registry_set_db(struct registry_entry *e, const char *db);

/* Owner only, at its login and each command's end (ev_now()). */
static inline void registry_note_idle(struct registry_entry *e, double now)
{
    atomic_store_explicit(&e->idle_ms, (long long)(now * 1000.0), memory_order_relaxed);
}

/* Owner only, as it takes a client's command: what a KILL QUERY of it
 * idle showed (idle_killed) ends, as the server resets a thread's. */
static inline void registry_note_command(struct registry_entry *e)
{
    if (atomic_load_explicit(&e->idle_killed, memory_order_relaxed))
        atomic_store_explicit(&e->idle_killed, false, memory_order_relaxed);
    if (atomic_load_explicit(&e->killed_on, memory_order_relaxed) != 0)
        atomic_store_explicit(&e->killed_on, 0, memory_order_relaxed);
}

/* Owner only, as it takes again a command that waited (for a connection,
 * a primary...): whether a KILL QUERY reached the session meanwhile,
 * finding it without a thread (idle_killed) or sent to a thread of its
 * that had no statement of its then (killed_on), not as part of a KILL
 * CONNECTION. The server interrupts a statement it has read, waiting or
 * running, with 1317, and lists the thread Sleep after, not Killed: both
 * marks are cleared. */
bool registry_take_wait_kill(struct registry_entry *e);
/* Owner only, woken: whether registry_take_wait_kill would say so now,
 * without taking the marks; a KILL sent to its thread counts once the
 * server has answered it (no hold left). */
bool registry_wait_kill_pending(const struct registry_entry *e);

/* A KILL the session did not send through registry_kill (KILL QUERY ID,
 * passed on as it is) reached session `id`'s thread on backend `idx`: it
 * is marked as registry_kill marks (killed_on). Any thread. */
void registry_mark_killed(uint32_t id, uint32_t idx);

/* Session `id`'s killed_on: the backends whose thread of its a KILL was
 * sent to since its last command began (0: none, or no such session).
 * Any thread. */
uint64_t registry_killed_on(uint32_t id);

/* A logged-in session as the process list shows it when no server lists
 * it (session_sysview.c): Sleep (Killed: idle_killed), idle since its last
 * command's end. */
struct registry_idle {
    uint32_t id;
    char user[96];
    char host[64];
    char db[65];
    long long idle_ms;
    int backend; /* the backend of the connection it holds, -1 = none */
    bool killed; /* idle_killed */
};

/* The logged-in sessions other than `self` (and those whose statement
 * runs on every group), up to max of them into out, their idle time as
 * of `now` (ev_now()); how many there are. Any thread. */
size_t registry_idle_list(uint32_t self, double now, struct registry_idle *out, size_t max);

#endif /* HALYARD_REGISTRY_H */
