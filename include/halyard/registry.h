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
    char user[96];           /* the logged-in user, "" before login; under the mutex */
    atomic_uint backend_tid; /* thread id of the backend connection in use, 0 = none */
    atomic_uint backend_idx; /* and its backend */
    atomic_bool kill_req;    /* KILL CONNECTION asked this session to close */
    /* How a KILL wakes the owner's worker (set before registry_add). */
    struct ev_loop *loop;
    ev_async *wakeup;
    atomic_bool *kill_pending;
};

/* A new session id (wraps back to REGISTRY_ID_BASE). Any thread. */
uint32_t registry_new_id(void);

void registry_add(struct registry_entry *e);
void registry_remove(struct registry_entry *e);
void registry_set_user(struct registry_entry *e, const char *user);
/* The backend the session's commands run on now (tid 0 = none). Owner only. */
void registry_set_backend(struct registry_entry *e, uint32_t idx, uint32_t tid);
bool registry_kill_requested(const struct registry_entry *e);

enum registry_kill {
    KILL_UNKNOWN,   /* no such session */
    KILL_NOT_OWNER, /* another user's session, and it has no backend to ask */
    KILL_MARKED,    /* no backend connection: marked to close, nothing to send */
    KILL_BACKEND,   /* *tid is the backend thread id to kill */
};

/* Look up session `id` for a KILL issued by `by`; `connection`: KILL
 * CONNECTION (the target must end), else KILL QUERY. *tid and *idx are set
 * when the target was found. */
enum registry_kill registry_kill(const struct registry_entry *by, uint32_t id, bool connection,
                                 uint32_t *tid, uint32_t *idx);

#endif /* HALYARD_REGISTRY_H */
