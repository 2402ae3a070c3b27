/*
 * shard_learn.c: the learned schema map's snapshots and their loader on
 * the monitor's loop (see shard_learn.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/cluster/backend.h"
#include "halyard/config/group.h"
#include "halyard/cluster/primary_client.h"
#include "halyard/core/log.h"
#include "halyard/cluster/shard_learn.h"
#include "halyard/protocol/sqlclient.h"

#define LEARN_GROUPS 64

struct shard_snap {
    _Atomic unsigned refs;
    uint64_t gen;
    struct config *root; /* reference: the group indexes are its */
    struct shard_map map;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shard_snap *snap_cur; /* under snap_lock; holds one reference */
static _Atomic uint64_t snap_gen;

static void snap_put(struct shard_snap *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    shard_map_free(&s->map);
    config_put(s->root);
    free(s);
}

const struct shard_map *shard_snap_map(struct shard_snap **held, const struct config *root,
                                       bool keep)
{
    struct shard_snap *h = *held;
    if (h != NULL && h->root == root &&
        (keep || h->gen == atomic_load_explicit(&snap_gen, memory_order_acquire)))
        return &h->map;
    pthread_mutex_lock(&snap_lock);
    struct shard_snap *c = snap_cur;
    if (c != NULL)
        atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&snap_lock);
    snap_put(h);
    *held = c;
    return c != NULL && c->root == root ? &c->map : &root->shards;
}

const struct shard_map *shard_snap_peek(const struct shard_snap *held, const struct config *root)
{
    return held != NULL && held->root == root ? &held->map : &root->shards;
}

void shard_snap_release(struct shard_snap **held)
{
    snap_put(*held);
    *held = NULL;
}

/* `map` (taken over) becomes the map for sessions of `root`; NULL: none. */
static void publish(struct config *root, struct shard_map *map)
{
    struct shard_snap *s = NULL;
    if (root != NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL) {
            shard_map_free(map);
            return;
        }
        atomic_init(&s->refs, 1);
        s->root = config_get(root);
        s->map = *map;
    }
    pthread_mutex_lock(&snap_lock);
    struct shard_snap *old = snap_cur;
    snap_cur = s;
    uint64_t gen = atomic_load(&snap_gen) + 1;
    if (s != NULL)
        s->gen = gen;
    atomic_store_explicit(&snap_gen, gen, memory_order_release);
    pthread_mutex_unlock(&snap_lock);
    snap_put(old);
}

/* ---- the loader -------------------------------------------------------------- */

struct shard_loader {
    struct ev_loop *loop;
    ev_timer timer;
    struct config *cfg;
    struct sqlclient *sc;
    size_t g; /* the group being read */
    bool busy;
    char backend[64];
    char **lists[LEARN_GROUPS]; /* per group of cfg: its last SHOW DATABASES; NULL = none yet */
    size_t n[LEARN_GROUPS];
    bool failing[LEARN_GROUPS];
    size_t last_n, last_conflicts; /* logged when they change */
};

static void lists_clear(struct shard_loader *l)
{
    for (size_t g = 0; g < LEARN_GROUPS; g++) {
        for (size_t i = 0; l->lists[g] != NULL && i < l->n[g]; i++)
            free(l->lists[g][i]);
        free(l->lists[g]);
        l->lists[g] = NULL;
        l->n[g] = 0;
    }
}

static void group_start(struct shard_loader *l);

/* Every group read (or failed): the merged map published. */
static void round_end(struct shard_loader *l)
{
    l->busy = false;
    size_t ng = l->cfg->n_groups < LEARN_GROUPS ? l->cfg->n_groups : LEARN_GROUPS;
    struct shard_map m;
    if (shard_map_merge(&l->cfg->shards, l->lists, l->n, ng, &m) != HY_OK) {
        hy_log_error("shards: out of memory merging the schemas");
        return;
    }
    size_t conflicts = 0;
    char names[512] = "";
    for (size_t i = 0; i < m.n; i++) {
        const struct shard_schema *e = &m.v[i];
        if (e->other == SHARD_NO_GROUP)
            continue;
        conflicts++;
        size_t k = strlen(names);
        snprintf(names + k, sizeof(names) - k, "%s%s on %s and %s", k ? ", " : "", e->name,
                 l->cfg->groups[e->group].name, l->cfg->groups[e->other].name);
    }
    if (m.n != l->last_n || conflicts != l->last_conflicts) {
        if (conflicts > 0)
            hy_log_warn("shards: %zu schemas on the groups; %zu on two groups, refused until "
                        "resolved: %s",
                        m.n, conflicts, names);
        else
            hy_log_info("shards: %zu schemas on the groups", m.n);
    }
    l->last_n = m.n;
    l->last_conflicts = conflicts;
    publish(l->cfg, &m);
}

static void group_end(struct shard_loader *l, bool ok, const char *why)
{
    if (l->sc != NULL) {
        sqlclient_destroy(l->sc);
        l->sc = NULL;
    }
    const char *group = l->cfg->groups[l->g].name;
    if (!ok && !l->failing[l->g])
        hy_log_warn("shards: cannot read the schemas of group %s from %s: %s (its last list "
                    "stays)",
                    group, l->backend, why);
    else if (ok && l->failing[l->g])
        hy_log_info("shards: the schemas of group %s are read from %s again", group, l->backend);
    l->failing[l->g] = !ok;
    if (++l->g < l->cfg->n_groups && l->g < LEARN_GROUPS) {
        group_start(l);
        return;
    }
    round_end(l);
}

static void rows_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct shard_loader *l = arg;
    char why[300];
    if (!res->ok) {
        snprintf(why, sizeof(why), "%.256s (%u)", res->err_msg, res->err_code);
        group_end(l, false, why);
        return;
    }
    if (res->n_cols != 1) {
        group_end(l, false, "unexpected columns in the answer");
        return;
    }
    char **list = calloc(res->n_rows ? res->n_rows : 1, sizeof(*list));
    size_t n = 0;
    for (size_t r = 0; list != NULL && r < res->n_rows; r++) {
        if (res->rows[r][0] == NULL)
            continue;
        if ((list[n] = strdup(res->rows[r][0])) == NULL)
            break;
        n++;
    }
    if (list == NULL || n < res->n_rows) {
        for (size_t i = 0; list != NULL && i < n; i++)
            free(list[i]);
        free(list);
        group_end(l, false, "out of memory");
        return;
    }
    for (size_t i = 0; l->lists[l->g] != NULL && i < l->n[l->g]; i++)
        free(l->lists[l->g][i]);
    free(l->lists[l->g]);
    l->lists[l->g] = list;
    l->n[l->g] = n;
    group_end(l, true, NULL);
}

static void connected_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct shard_loader *l = arg;
    if (!res->ok) {
        group_end(l, false, res->err_msg);
        return;
    }
    if (sqlclient_query(c, "SHOW DATABASES", rows_cb, l) != HY_OK)
        group_end(l, false, "the query could not start");
}

/* Read group l->g's schemas from its primary, as its monitor account. */
static void group_start(struct shard_loader *l)
{
    const char *why = NULL;
    l->sc = primary_client_create(l->loop, group_view(l->cfg, l->g), l->backend, sizeof(l->backend),
                                  &why);
    if (l->sc == NULL) {
        group_end(l, false, why);
        return;
    }
    if (sqlclient_connect(l->sc, connected_cb, l) != HY_OK)
        group_end(l, false, "the connect could not start");
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct shard_loader *l = container_of(t, struct shard_loader, timer);
    if (l->busy || !l->cfg->shards_learn || l->cfg->n_groups == 0)
        return;
    l->busy = true;
    l->g = 0;
    group_start(l);
}

struct shard_loader *shard_loader_create(struct ev_loop *loop, struct config *cfg)
{
    struct shard_loader *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->loop = loop;
    ev_init(&l->timer, timer_cb);
    shard_loader_configure(l, cfg);
    return l;
}

void shard_loader_configure(struct shard_loader *l, struct config *cfg)
{
    /* A read under way is for the old config's groups: dropped. */
    if (l->sc != NULL) {
        sqlclient_destroy(l->sc);
        l->sc = NULL;
    }
    l->busy = false;
    lists_clear(l);
    memset(l->failing, 0, sizeof(l->failing));
    struct config *old = l->cfg;
    l->cfg = config_get(cfg);
    config_put(old);
    ev_timer_stop(l->loop, &l->timer);
    if (!cfg->shards_learn) {
        publish(NULL, NULL);
        return;
    }
    /* at once, then every refresh_ms; until the first read, sessions use
     * the config's map */
    ev_timer_set(&l->timer, 0., cfg->shards_refresh_ms / 1000.0);
    ev_timer_start(l->loop, &l->timer);
}

void shard_loader_destroy(struct shard_loader *l)
{
    if (l == NULL)
        return;
    sqlclient_destroy(l->sc);
    ev_timer_stop(l->loop, &l->timer);
    lists_clear(l);
    config_put(l->cfg);
    free(l);
    publish(NULL, NULL);
}
