/*
 * global_pos.c: consistency = "global"'s shared position per group (see
 * global_pos.h for what each part means and who writes it).
 *
 * The registry is a list the main thread appends to under a mutex (the
 * first time a group name is seen) and never shortens before exit; the
 * data path reaches an entry through its config_group, never the list.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/cluster/global_pos.h"
#include "halyard/config/group.h"
#include "halyard/core/gtid.h"

/* Backends of one group whose applied counter is kept; a backend past
 * these is always asked (MASTER_GTID_WAIT), which is slower, never wrong. */
#define GLOBAL_POS_BACKENDS 64

struct applied_slot {
    const struct backend_rt *_Atomic rt; /* claimed once, never released */
    _Atomic uint64_t at;
};

struct global_pos {
    struct global_pos *next; /* the registry */
    char *name;              /* the group's */
    _Atomic uint64_t commits;
    pthread_mutex_t lock; /* known, known_at */
    uint64_t known_at;    /* 0: nothing known */
    char known[GLOBAL_POS_MAX];
    struct applied_slot applied[GLOBAL_POS_BACKENDS];
    _Atomic(const struct backend_rt *) writer; /* of the last commit_on, NULL: none */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct global_pos *registry;

static struct global_pos *global_pos_get(const char *name)
{
    pthread_mutex_lock(&registry_lock);
    struct global_pos *g = registry;
    while (g != NULL && strcmp(g->name, name) != 0)
        g = g->next;
    if (g == NULL && (g = calloc(1, sizeof(*g))) != NULL) {
        if ((g->name = strdup(name)) == NULL) {
            free(g);
            g = NULL;
        } else {
            pthread_mutex_init(&g->lock, NULL);
            /* 1, not 0: writes made before halyard started (or through a
             * halyard that ran before) are waited for too, once. */
            atomic_init(&g->commits, 1);
            g->next = registry;
            registry = g;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return g;
}

hy_status_t global_pos_attach(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_groups; i++) {
        struct config_group *grp = &cfg->groups[i];
        if ((grp->gpos = global_pos_get(grp->name)) == NULL)
            return HY_NOMEM;
    }
    return HY_OK;
}

void global_pos_free_all(void)
{
    pthread_mutex_lock(&registry_lock);
    while (registry != NULL) {
        struct global_pos *g = registry;
        registry = g->next;
        pthread_mutex_destroy(&g->lock);
        free(g->name);
        free(g);
    }
    pthread_mutex_unlock(&registry_lock);
}

void global_pos_commit(struct global_pos *g)
{
    /* release: a read that sees the new value sees what came before */
    atomic_fetch_add_explicit(&g->commits, 1, memory_order_acq_rel);
}

void global_pos_commit_on(struct global_pos *g, const struct backend_rt *rt)
{
    if (rt != NULL) /* before the count: a read that sees the count sees it */
        atomic_store_explicit(&g->writer, rt, memory_order_relaxed);
    global_pos_commit(g);
}

bool global_pos_written_on(struct global_pos *g, const struct backend_rt *rt)
{
    const struct backend_rt *w = atomic_load_explicit(&g->writer, memory_order_acquire);
    return w == NULL || w == rt;
}

uint64_t global_pos_need(const struct global_pos *g)
{
    return atomic_load_explicit(&g->commits, memory_order_acquire);
}

bool global_pos_known(struct global_pos *g, uint64_t need, char *out, size_t cap, uint64_t *at)
{
    bool ok = false;
    pthread_mutex_lock(&g->lock);
    size_t n = strlen(g->known);
    if (g->known_at >= need && n < cap) {
        memcpy(out, g->known, n + 1);
        *at = g->known_at;
        ok = true;
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void global_pos_publish(struct global_pos *g, uint64_t at, const char *pos)
{
    size_t n = strlen(pos);
    if (n >= sizeof(g->known))
        return;
    pthread_mutex_lock(&g->lock);
    if (at > g->known_at) {
        memcpy(g->known, pos, n + 1);
        g->known_at = at;
    }
    pthread_mutex_unlock(&g->lock);
}

/* The slot of rt, claimed when `claim` and there is none; NULL if none. */
static struct applied_slot *applied_slot(struct global_pos *g, const struct backend_rt *rt,
                                         bool claim)
{
    for (size_t i = 0; i < GLOBAL_POS_BACKENDS; i++) {
        struct applied_slot *sl = &g->applied[i];
        const struct backend_rt *cur = atomic_load_explicit(&sl->rt, memory_order_acquire);
        if (cur == rt)
            return sl;
        if (cur != NULL)
            continue;
        if (!claim)
            return NULL; /* slots are claimed in order: rt has none */
        if (atomic_compare_exchange_strong(&sl->rt, &cur, rt) || cur == rt)
            return sl;
    }
    return NULL;
}

uint64_t global_pos_applied(struct global_pos *g, const struct backend_rt *rt)
{
    struct applied_slot *sl = rt != NULL ? applied_slot(g, rt, false) : NULL;
    return sl != NULL ? atomic_load_explicit(&sl->at, memory_order_acquire) : 0;
}

void global_pos_applied_set(struct global_pos *g, const struct backend_rt *rt, uint64_t at)
{
    struct applied_slot *sl = rt != NULL ? applied_slot(g, rt, true) : NULL;
    if (sl == NULL)
        return;
    uint64_t cur = atomic_load_explicit(&sl->at, memory_order_relaxed);
    while (cur < at && !atomic_compare_exchange_weak(&sl->at, &cur, at))
        ;
}

void global_pos_replica_seen(struct global_pos *g, const struct backend_rt *rt,
                             const char *current_pos)
{
    struct gtid_pos replica, known;
    if (gtid_pos_parse(current_pos, strlen(current_pos), &replica) != HY_OK)
        return;
    pthread_mutex_lock(&g->lock);
    uint64_t at = g->known_at;
    bool has = at > 0 && gtid_pos_parse(g->known, strlen(g->known), &known) == HY_OK &&
               gtid_pos_covers(&replica, &known);
    pthread_mutex_unlock(&g->lock);
    if (has)
        global_pos_applied_set(g, rt, at);
}

bool global_pos_primary_seen(struct global_pos *g, const char *binlog_pos)
{
    struct gtid_pos primary, known;
    if (gtid_pos_parse(binlog_pos, strlen(binlog_pos), &primary) != HY_OK)
        return false;
    pthread_mutex_lock(&g->lock);
    /* Nothing known yet: the first read fetches anyway (commits starts
     * past known_at); bumping would only make every check bump. */
    bool behind = g->known_at > 0 && (gtid_pos_parse(g->known, strlen(g->known), &known) != HY_OK ||
                                      !gtid_pos_covers(&known, &primary));
    pthread_mutex_unlock(&g->lock);
    if (behind)
        global_pos_commit(g);
    return behind;
}
