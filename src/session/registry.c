/*
 * registry.c: see registry.h.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/protocol/accounts.h"
#include "halyard/protocol/conn.h"
#include "halyard/session/registry.h"

#define REG_BUCKETS 4096
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry_entry *reg_table[REG_BUCKETS];
static atomic_uint next_id = REGISTRY_ID_BASE;

/* An entry's text_lock (registry.h): no other lock is taken under it. */
static void text_lock(struct registry_entry *e)
{
    while (atomic_exchange_explicit(&e->text_lock, true, memory_order_acquire))
        sched_yield();
}

static void text_unlock(struct registry_entry *e)
{
    atomic_store_explicit(&e->text_lock, false, memory_order_release);
}

uint32_t registry_new_id(void)
{
    uint32_t id = atomic_fetch_add(&next_id, 1);
    if (id < REGISTRY_ID_BASE) { /* wrapped after 3 billion sessions */
        atomic_store(&next_id, REGISTRY_ID_BASE + 1);
        id = REGISTRY_ID_BASE;
    }
    return id;
}

void registry_add(struct registry_entry *e)
{
    pthread_mutex_lock(&reg_lock);
    struct registry_entry **b = &reg_table[e->id % REG_BUCKETS];
    e->next = *b;
    *b = e;
    pthread_mutex_unlock(&reg_lock);
}

void registry_remove(struct registry_entry *e)
{
    pthread_mutex_lock(&reg_lock);
    struct registry_entry **pp = &reg_table[e->id % REG_BUCKETS];
    while (*pp != NULL && *pp != e)
        pp = &(*pp)->next;
    if (*pp == e)
        *pp = e->next;
    free(e->info);
    e->info = NULL;
    pthread_mutex_unlock(&reg_lock);
}

void registry_set_user(struct registry_entry *e, const char *user)
{
    pthread_mutex_lock(&reg_lock);
    snprintf(e->user, sizeof(e->user), "%s", user);
    pthread_mutex_unlock(&reg_lock);
}

/* The backend value: thread `tid` on backend `idx`, 0 = none. */
static uint64_t backend_pack(uint32_t idx, uint32_t tid)
{
    return tid == 0 ? 0 : (uint64_t)idx << 32 | tid;
}

/* Called several times a statement, mostly with what is there already:
 * only a change is stored (the owner is the one writer: a relaxed load
 * reads its own last store). The thread and its backend are one value,
 * stored and read whole: a KILL never pairs one connection's thread with
 * another's backend. The handshake with registry_kill (registry.h) is
 * registry_release_ok's clearing store and load; a clearing store stays
 * seq_cst, a thread is published with a release store. */
void registry_set_backend(struct registry_entry *e, uint32_t idx, uint32_t tid)
{
    uint64_t v = backend_pack(idx, tid);
    if (atomic_load_explicit(&e->backend, memory_order_relaxed) == v)
        return;
    if (v == 0)
        atomic_store(&e->backend, 0);
    else
        atomic_store_explicit(&e->backend, v, memory_order_release);
}

void registry_set_fanout(struct registry_entry *e, bool on)
{
    atomic_store(&e->fanout, on);
    if (!on)
        atomic_store(&e->kill_query, false);
}

bool registry_take_kill_query(struct registry_entry *e)
{
    return atomic_exchange(&e->kill_query, false);
}

bool registry_take_wait_kill(struct registry_entry *e)
{
    bool idle = atomic_exchange(&e->idle_killed, false);
    bool sent = atomic_exchange(&e->killed_on, 0) != 0;
    return (idle || sent) && !atomic_load(&e->kill_req) && atomic_load(&e->kill_conns) == 0;
}

bool registry_wait_kill_pending(const struct registry_entry *e)
{
    bool sent = atomic_load(&e->killed_on) != 0 && atomic_load(&e->kill_holds) == 0;
    return (atomic_load_explicit(&e->idle_killed, memory_order_relaxed) || sent) &&
           !atomic_load(&e->kill_req) && atomic_load(&e->kill_conns) == 0;
}

bool registry_kill_requested(const struct registry_entry *e)
{
    return atomic_load(&e->kill_req);
}

bool registry_kill_sent(const struct registry_entry *e)
{
    return atomic_load(&e->kill_req) || atomic_load(&e->kill_conns) > 0;
}

/* Under the mutex: the target's worker looks at its sessions again. */
static void wake_locked(const struct registry_entry *t)
{
    atomic_store(t->kill_pending, true);
    ev_async_send(t->loop, t->wakeup);
}

enum registry_kill registry_kill(const struct registry_entry *by, uint32_t id, bool connection,
                                 bool hold, uint32_t *tid, uint32_t *idx)
{
    enum registry_kill rc = KILL_UNKNOWN;
    pthread_mutex_lock(&reg_lock);
    for (struct registry_entry *t = reg_table[id % REG_BUCKETS]; t != NULL; t = t->next) {
        if (t->id != id)
            continue;
        if (atomic_load(&t->fanout)) {
            /* Its statement runs on connections of its own to every
             * group: its worker kills them (session_fanout_kill). Only
             * its user may: no server checks a privilege here. */
            if (strcmp(t->user, by->user) != 0) {
                rc = KILL_NOT_OWNER;
            } else {
                rc = KILL_MARKED;
                atomic_store(connection ? &t->kill_req : &t->kill_query, true);
                wake_locked(t);
            }
            break;
        }
        /* Count first, then read the thread (registry.h): a thread read
         * after the count is one the target cannot give away before
         * registry_kill_done. */
        if (hold)
            atomic_fetch_add(&t->kill_holds, 1);
        uint64_t backend = atomic_load(&t->backend); /* once: a thread and its backend */
        *tid = (uint32_t)backend;
        *idx = (uint32_t)(backend >> 32);
        if (hold && *tid == 0 && atomic_fetch_sub(&t->kill_holds, 1) == 1)
            wake_locked(t); /* it may have kept its connections for this count */
        if (*tid != 0) {
            rc = KILL_BACKEND;     /* the backend checks the privileges */
            if (hold && *idx < 64) /* sent now: its thread is listed Killed */
                atomic_fetch_or(&t->killed_on, 1ull << *idx);
            /* The backend connection it kills must take the session with
             * it (a lost connection alone no longer ends a session): lost
             * while the KILL is on its way, it is the KILL's doing; the
             * session is marked once the server accepts it. */
            if (connection && hold)
                atomic_fetch_add(&t->kill_conns, 1);
        } else if (strcmp(t->user, by->user) != 0) {
            rc = KILL_NOT_OWNER;
        } else {
            rc = KILL_MARKED;
            if (connection) {
                atomic_store(&t->kill_req, true);
                /* Under the mutex: the target cannot be freed
                 * (registry_remove waits). */
                wake_locked(t);
            } else {
                /* Shown Killed while idle; a statement it has read and
                 * that waits inside halyard (a limit, a primary, a pooled
                 * connection) ends now with 1317: its worker looks. */
                atomic_store_explicit(&t->idle_killed, true, memory_order_relaxed);
                wake_locked(t);
            }
        }
        break;
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

/* Whether session t is `user`'s from client host `host` (NULL: any host),
 * as registry_kill_user compares them. Under reg_lock. */
static bool user_at_host(const struct registry_entry *t, const char *user, const char *host,
                         bool name_resolve)
{
    if (strcmp(t->user, user) != 0)
        return false;
    if (host == NULL)
        return true;
    /* the server compares the text as it is, no pattern */
    char ip[64];
    net_name_host(t->peer != NULL ? t->peer : "", ip, sizeof(ip));
    const char *h = name_resolve && accounts_loopback(ip) ? "localhost" : ip;
    return strcmp(host, h) == 0;
}

unsigned registry_kill_user(const char *user, const char *host, bool name_resolve)
{
    unsigned n = 0;
    pthread_mutex_lock(&reg_lock);
    for (size_t b = 0; b < REG_BUCKETS; b++) {
        for (struct registry_entry *t = reg_table[b]; t != NULL; t = t->next) {
            if (!user_at_host(t, user, host, name_resolve))
                continue;
            atomic_store(&t->kill_req, true);
            wake_locked(t);
            n++;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}

unsigned registry_count_user(const char *user, const char *host, bool name_resolve)
{
    unsigned n = 0;
    pthread_mutex_lock(&reg_lock);
    for (size_t b = 0; b < REG_BUCKETS; b++)
        for (const struct registry_entry *t = reg_table[b]; t != NULL; t = t->next)
            n += user_at_host(t, user, host, name_resolve);
    pthread_mutex_unlock(&reg_lock);
    return n;
}

void registry_kill_done(uint32_t id, uint32_t idx, bool connection, bool accepted)
{
    pthread_mutex_lock(&reg_lock);
    for (struct registry_entry *t = reg_table[id % REG_BUCKETS]; t != NULL; t = t->next) {
        if (t->id != id)
            continue;
        bool wake = false;
        /* Refused: nothing was killed there (a mark another KILL of that
         * thread left since the session's command began goes with it) */
        if (!accepted && idx < 64)
            atomic_fetch_and(&t->killed_on, ~(1ull << idx));
        if (connection && atomic_load(&t->kill_conns) > 0) {
            atomic_fetch_sub(&t->kill_conns, 1);
            if (accepted) {
                atomic_store(&t->kill_req, true);
                wake = true; /* ends now if idle, its thread gone or not */
            }
        }
        if (atomic_load(&t->kill_holds) > 0 && atomic_fetch_sub(&t->kill_holds, 1) == 1)
            wake = true;
        if (wake)
            wake_locked(t);
        break;
    }
    pthread_mutex_unlock(&reg_lock);
}

void registry_mark_killed(uint32_t id, uint32_t idx)
{
    if (idx >= 64)
        return;
    pthread_mutex_lock(&reg_lock);
    for (struct registry_entry *t = reg_table[id % REG_BUCKETS]; t != NULL; t = t->next) {
        if (t->id == id) {
            atomic_fetch_or(&t->killed_on, 1ull << idx);
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

uint64_t registry_killed_on(uint32_t id)
{
    uint64_t on = 0;
    pthread_mutex_lock(&reg_lock);
    for (const struct registry_entry *t = reg_table[id % REG_BUCKETS]; t != NULL; t = t->next) {
        if (t->id == id) {
            on = atomic_load(&t->killed_on);
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return on;
}

void registry_set_info(struct registry_entry *e, const char *text, size_t len)
{
    if (text == NULL && e->info == NULL)
        return; /* the owner's own field: no lock to read it */
    len = len < REGISTRY_INFO_MAX ? len : REGISTRY_INFO_MAX;
    char *copy = text != NULL ? malloc(len + 1) : NULL;
    if (copy != NULL) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    text_lock(e);
    char *old = e->info;
    e->info = copy; /* out of memory: none (the server's text is shown) */
    e->info_len = copy != NULL ? (uint32_t)len : 0;
    text_unlock(e);
    free(old);
}

char *registry_info_dup(uint32_t id, size_t *len)
{
    char *out = NULL;
    pthread_mutex_lock(&reg_lock);
    for (struct registry_entry *t = reg_table[id % REG_BUCKETS]; t != NULL; t = t->next) {
        if (t->id == id) {
            text_lock(t);
            if (t->info != NULL && (out = malloc(t->info_len + 1)) != NULL) {
                memcpy(out, t->info, t->info_len + 1);
                *len = t->info_len;
            }
            text_unlock(t);
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return out;
}

void registry_set_db(struct registry_entry *e, const char *db)
{
    text_lock(e);
    snprintf(e->db, sizeof(e->db), "%s", db != NULL ? db : "");
    text_unlock(e);
}

bool registry_release_ok(struct registry_entry *e)
{
    atomic_store(&e->backend, 0);
    return atomic_load(&e->kill_holds) == 0;
}

size_t registry_idle_list(uint32_t self, double now, struct registry_idle *out, size_t max)
{
    size_t n = 0;
    long long now_ms = (long long)(now * 1000.0);
    pthread_mutex_lock(&reg_lock);
    for (size_t b = 0; b < REG_BUCKETS; b++) {
        for (struct registry_entry *t = reg_table[b]; t != NULL; t = t->next) {
            if (t->id == self || t->user[0] == '\0' || atomic_load(&t->fanout))
                continue;
            if (n < max) {
                struct registry_idle *r = &out[n];
                r->id = t->id;
                snprintf(r->user, sizeof(r->user), "%s", t->user);
                snprintf(r->host, sizeof(r->host), "%s", t->peer != NULL ? t->peer : "");
                text_lock(t);
                snprintf(r->db, sizeof(r->db), "%s", t->db);
                text_unlock(t);
                long long since = atomic_load_explicit(&t->idle_ms, memory_order_relaxed);
                r->idle_ms = now_ms > since ? now_ms - since : 0;
                uint64_t backend = atomic_load(&t->backend);
                r->backend = backend != 0 ? (int)(backend >> 32) : -1;
                r->killed = atomic_load_explicit(&t->idle_killed, memory_order_relaxed);
            }
            n++;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}
