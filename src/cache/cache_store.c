/*
 * cache_store.c: see cache_store.h.
 *
 * Entries sit in a chained hash table by key (FNV-1a), on one LRU list,
 * and on the list of each table they read (a link per table, embedded in
 * the entry). A table's record keeps the sequence number and time of its
 * last invalidation for the fills in flight; schemas have such records
 * too, and the store one for everything. Records of tables without
 * entries are forgotten when there are too many: their numbers are folded
 * into a floor that every fill is checked against, so forgetting only
 * ever refuses more.
 *
 * A point lookup (a fill with keys) sits on its table's `points` list,
 * not on `head`, and on the key index: a chained hash table from key
 * hash to the lookups of that key (a link per key, embedded in the
 * entry). A row event read per row drops `head` and, per key value its
 * images carry, that key's chain: its cost is the event's rows, not the
 * entries. Its fills in flight are checked against `key_inv`, a fixed
 * array of invalidation records indexed by key hash (a shared slot only
 * refuses more), and the table's `whole` record (a whole-table drop);
 * other fills against the table's `inv` (any change).
 *
 * Hits come from any thread without the caller's mutex (cache_store_get):
 * the key table's chains are split in STRIPES by hash, each with its own
 * lock, which the store takes where it links or unlinks an entry of that
 * stripe (all of them to grow the table) and where it changes what a hit
 * reads of an entry (its expiry, rule, used mark). Everything else (the
 * LRU list, tables, keys, counts) is the caller's mutex's alone. An
 * answer is shared, counted: an entry dropped while a hit still sends it
 * frees only its reference. A hit does not move its entry on the LRU list
 * (that is the mutex's): it marks it used, and eviction moves a used tail
 * to the head once instead of dropping it (CLOCK's second chance).
 * Not a store sharded by key: every invalidation (a row event, a DDL, a
 * failover) is applied in the reader's order against table and key records
 * that span every key, so the reader would take every shard per event; one
 * mutex for the store's writers keeps that order, and a hit touches only
 * its stripe's lock and its answer's count.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/cache/cache_store.h"
#include "halyard/cache/cache_tables.h"
#include "halyard/core/hash.h"

#define TABLE_BUCKETS  1024
#define TABLES_KEEP    4096 /* table records past which empty ones are forgotten */
#define SCHEMAS_KEEP   256
#define ENTRY_OVERHEAD 256  /* bookkeeping counted per entry */
#define KEY_INV_SLOTS  4096 /* key invalidation records (a power of two) */
#define STRIPES        64   /* locks of the key table (a power of two, at most its buckets) */

struct centry;
struct ctable;

struct clink {
    struct clink *prev, *next;
    struct centry *e;
    struct ctable *t;
    bool point; /* on t->points, else on t->head */
};

struct klink {
    struct klink *prev, *next;
    struct centry *e;
    uint64_t hash;
};

struct centry {
    uint64_t hash;
    struct centry *hnext;
    struct centry *lru_prev, *lru_next;
    uint8_t *key;
    size_t key_len;
    struct cache_answer *ans; /* the store's reference */
    size_t data_len;
    size_t cost;
    bool used; /* hit since eviction last passed it (under its stripe's lock) */
    uint64_t stamp;
    double expires;
    double filled;                        /* when it was stored */
    double sent_at;                       /* when its fill was sent (cache_fill.sent_at) */
    struct centry *fill_prev, *fill_next; /* by `filled`, the newest first */
    uint32_t rule;
    unsigned nt;
    struct clink links[CACHE_MAX_TABLES];
    unsigned nk;
    struct klink klinks[CACHE_MAX_KEYS];
};

struct inval {
    uint64_t seq;
    double at;
};

struct ctable {
    struct ctable *hnext;
    char name[CACHE_NAME_MAX]; /* "schema.table", lower case */
    size_t schema_len;
    struct inval inv;     /* any change */
    struct inval whole;   /* a change of any row, not told per key */
    struct clink *head;   /* entries that are not point lookups */
    struct clink *points; /* point lookups */
};

struct cschema {
    char name[65];
    struct inval inv;
};

/* One lock of the key table, on its own cache line. */
struct stripe {
    pthread_mutex_t mu;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
};

struct cache_store {
    struct stripe stripes[STRIPES];
    size_t cap;
    double settle;
    struct centry **buckets;
    size_t nbuckets;
    struct centry *lru_head, *lru_tail; /* head: most recent */
    struct centry *fill_head;           /* the newest stored */
    struct ctable *tables[TABLE_BUCKETS];
    size_t ntables;
    struct cschema *schemas;
    size_t nschemas;
    struct inval all;   /* everything */
    struct inval floor; /* forgotten records */
    struct klink **kbuckets;
    size_t nkbuckets, nklinks;
    size_t sweep; /* the next bucket cache_store_expire_some looks at */
    struct inval key_inv[KEY_INV_SLOTS];
    struct cache_stats st;
};

static const char *const drop_names[CACHE_DROP_N] = {
    "row", "table", "fk",    "flush",  "ddl",      "all",     "failover",
    "ttl", "lru",   "write", "reload", "unlogged", "defaults"};

const char *cache_drop_name(enum cache_drop why)
{
    return why < CACHE_DROP_N ? drop_names[why] : "?";
}

uint64_t cache_key_hash(const char *name, unsigned pos, const char *val, size_t len)
{
    uint64_t h = cache_tables_hash(name);
    h = hy_hash64_byte(hy_hash64_byte(h, (uint8_t)pos), (uint8_t)(pos >> 8));
    h = hy_hash64_byte(h, 0xff); /* between the position and the value */
    return hy_hash64_add(h, val, len);
}

static void inval_raise(struct inval *to, const struct inval *from)
{
    if (from->seq > to->seq)
        to->seq = from->seq;
    if (from->at > to->at)
        to->at = from->at;
}

void cache_answer_put(struct cache_answer *a)
{
    if (a != NULL && atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
        free(a);
}

static pthread_mutex_t *stripe_lock(struct cache_store *st, uint64_t h)
{
    pthread_mutex_t *mu = &st->stripes[h & (STRIPES - 1)].mu;
    pthread_mutex_lock(mu);
    return mu;
}

struct cache_store *cache_store_create(size_t cap, double settle)
{
    struct cache_store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&st->stripes[i].mu, NULL);
    st->nbuckets = 256;
    st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
    if (st->buckets == NULL) {
        free(st);
        return NULL;
    }
    st->nkbuckets = 256;
    st->kbuckets = calloc(st->nkbuckets, sizeof(*st->kbuckets));
    if (st->kbuckets == NULL) {
        free(st->buckets);
        free(st);
        return NULL;
    }
    st->cap = cap;
    st->settle = settle;
    return st;
}

/* ---- tables and schemas -------------------------------------------------- */

/* "schema.table" lower case into out; false when it does not fit. */
static bool table_name(char *out, const char *schema, const char *table, size_t *schema_len)
{
    size_t sl = strlen(schema), tl = strlen(table);
    if (sl == 0 || tl == 0 || sl > 64 || tl > 64)
        return false;
    for (size_t i = 0; i < sl; i++)
        out[i] = (char)tolower((unsigned char)schema[i]);
    out[sl] = '.';
    for (size_t i = 0; i < tl; i++)
        out[sl + 1 + i] = (char)tolower((unsigned char)table[i]);
    out[sl + 1 + tl] = '\0';
    *schema_len = sl;
    return true;
}

static struct ctable *table_find(const struct cache_store *st, const char *name)
{
    for (struct ctable *t = st->tables[cache_tables_hash(name) % TABLE_BUCKETS]; t != NULL;
         t = t->hnext)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static struct cschema *schema_find(const struct cache_store *st, const char *name, size_t len)
{
    for (size_t i = 0; i < st->nschemas; i++)
        if (strlen(st->schemas[i].name) == len && strncasecmp(st->schemas[i].name, name, len) == 0)
            return &st->schemas[i];
    return NULL;
}

/* Forget the records of tables without entries (their numbers go to the floor). */
static void tables_prune(struct cache_store *st)
{
    for (size_t b = 0; b < TABLE_BUCKETS; b++) {
        struct ctable **pp = &st->tables[b];
        while (*pp != NULL) {
            struct ctable *t = *pp;
            if (t->head != NULL || t->points != NULL) {
                pp = &t->hnext;
                continue;
            }
            inval_raise(&st->floor, &t->inv);
            inval_raise(&st->floor, &t->whole);
            *pp = t->hnext;
            free(t);
            st->ntables--;
        }
    }
}

static struct ctable *table_get(struct cache_store *st, const char *name, size_t schema_len)
{
    struct ctable *t = table_find(st, name);
    if (t != NULL)
        return t;
    if (st->ntables >= TABLES_KEEP)
        tables_prune(st);
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return NULL;
    memcpy(t->name, name, strlen(name) + 1);
    t->schema_len = schema_len;
    size_t b = cache_tables_hash(name) % TABLE_BUCKETS;
    t->hnext = st->tables[b];
    st->tables[b] = t;
    st->ntables++;
    return t;
}

/* ---- entries ------------------------------------------------------------- */

static void lru_unlink(struct cache_store *st, struct centry *e)
{
    if (e->lru_prev != NULL)
        e->lru_prev->lru_next = e->lru_next;
    else
        st->lru_head = e->lru_next;
    if (e->lru_next != NULL)
        e->lru_next->lru_prev = e->lru_prev;
    else
        st->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct cache_store *st, struct centry *e)
{
    e->lru_prev = NULL;
    e->lru_next = st->lru_head;
    if (st->lru_head != NULL)
        st->lru_head->lru_prev = e;
    st->lru_head = e;
    if (st->lru_tail == NULL)
        st->lru_tail = e;
}

static void entry_drop(struct cache_store *st, struct centry *e, enum cache_drop why)
{
    pthread_mutex_t *mu = stripe_lock(st, e->hash);
    struct centry **pp = &st->buckets[e->hash & (st->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    pthread_mutex_unlock(mu);
    lru_unlink(st, e);
    if (e->fill_prev != NULL)
        e->fill_prev->fill_next = e->fill_next;
    else
        st->fill_head = e->fill_next;
    if (e->fill_next != NULL)
        e->fill_next->fill_prev = e->fill_prev;
    for (unsigned i = 0; i < e->nt; i++) {
        struct clink *l = &e->links[i];
        if (l->prev != NULL)
            l->prev->next = l->next;
        else if (l->point)
            l->t->points = l->next;
        else
            l->t->head = l->next;
        if (l->next != NULL)
            l->next->prev = l->prev;
    }
    for (unsigned i = 0; i < e->nk; i++) {
        struct klink *k = &e->klinks[i];
        if (k->prev != NULL)
            k->prev->next = k->next;
        else
            st->kbuckets[k->hash & (st->nkbuckets - 1)] = k->next;
        if (k->next != NULL)
            k->next->prev = k->prev;
        st->nklinks--;
    }
    if (e->nk > 0)
        st->st.point_entries--;
    st->st.entries--;
    st->st.bytes -= e->cost;
    st->st.dropped[why]++;
    free(e->key);
    cache_answer_put(e->ans); /* a hit being sent keeps it */
    free(e);
}

static struct centry *entry_find(const struct cache_store *st, const uint8_t *key, size_t len,
                                 uint64_t h)
{
    for (struct centry *e = st->buckets[h & (st->nbuckets - 1)]; e != NULL; e = e->hnext)
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static void buckets_grow(struct cache_store *st)
{
    size_t n = st->nbuckets * 2;
    struct centry **nb = calloc(n, sizeof(*nb));
    if (nb == NULL)
        return;                          /* longer chains, still correct */
    for (size_t i = 0; i < STRIPES; i++) /* in order: nothing else takes two */
        pthread_mutex_lock(&st->stripes[i].mu);
    for (size_t b = 0; b < st->nbuckets; b++) {
        struct centry *e = st->buckets[b];
        while (e != NULL) {
            struct centry *next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(st->buckets);
    st->buckets = nb;
    st->nbuckets = n;
    for (size_t i = STRIPES; i-- > 0;)
        pthread_mutex_unlock(&st->stripes[i].mu);
}

/* The key index doubled (entry_make linked the new entry's keys already). */
static void kbuckets_grow(struct cache_store *st)
{
    size_t n = st->nkbuckets * 2;
    struct klink **nb = calloc(n, sizeof(*nb));
    if (nb == NULL)
        return; /* longer chains, still correct */
    for (size_t b = 0; b < st->nkbuckets; b++) {
        struct klink *k = st->kbuckets[b];
        while (k != NULL) {
            struct klink *next = k->next;
            struct klink **to = &nb[k->hash & (n - 1)];
            k->prev = NULL;
            k->next = *to;
            if (*to != NULL)
                (*to)->prev = k;
            *to = k;
            k = next;
        }
    }
    free(st->kbuckets);
    st->kbuckets = nb;
    st->nkbuckets = n;
}

/* Whether e was hit since eviction last passed it; the mark cleared. */
static bool used_take(struct cache_store *st, struct centry *e)
{
    pthread_mutex_t *mu = stripe_lock(st, e->hash);
    bool used = e->used;
    e->used = false;
    pthread_mutex_unlock(mu);
    return used;
}

static void evict_to(struct cache_store *st, size_t cap)
{
    while (st->st.bytes > cap && st->lru_tail != NULL) {
        struct centry *e = st->lru_tail;
        if (used_take(st, e)) { /* a second chance: each entry once, so this ends */
            lru_unlink(st, e);
            lru_push(st, e);
        } else {
            entry_drop(st, e, CACHE_DROP_LRU);
        }
    }
}

void cache_store_resize(struct cache_store *st, size_t cap, double settle)
{
    st->cap = cap;
    st->settle = settle;
    evict_to(st, cap);
}

bool cache_store_get(struct cache_store *st, const uint8_t *key, size_t key_len, double now,
                     struct cache_answer **ans, uint64_t *stamp, uint32_t *rule)
{
    uint64_t h = hy_hash64(key, key_len);
    pthread_mutex_t *mu = stripe_lock(st, h);
    struct centry *e = entry_find(st, key, key_len, h);
    bool hit = e != NULL && now < e->expires;
    if (hit) {
        atomic_fetch_add_explicit(&e->ans->refs, 1, memory_order_relaxed);
        e->used = true;
        *ans = e->ans;
        *stamp = e->stamp;
        *rule = e->rule;
    }
    pthread_mutex_unlock(mu);
    return hit;
}

/* The latest invalidation that concerns table `name` (its own, its
 * schema's, everything's, the forgotten ones'): for a point lookup, only
 * its whole-table ones (its keys' are checked apart). */
static struct inval table_last_inval(const struct cache_store *st, const char *name,
                                     size_t schema_len, bool point)
{
    struct inval v = st->all;
    inval_raise(&v, &st->floor);
    const struct ctable *t = table_find(st, name);
    if (t != NULL)
        inval_raise(&v, point ? &t->whole : &t->inv);
    const struct cschema *sc = schema_find(st, name, schema_len);
    if (sc != NULL)
        inval_raise(&v, &sc->inv);
    return v;
}

static bool fill_raced(const struct cache_store *st, const struct cache_fill *f,
                       char names[][CACHE_NAME_MAX], const size_t *schema_len)
{
    struct inval v = st->all;
    inval_raise(&v, &st->floor);
    for (unsigned i = 0; i < f->ntables; i++) {
        struct inval tv = table_last_inval(st, names[i], schema_len[i], f->nkeys > 0);
        inval_raise(&v, &tv);
    }
    for (unsigned i = 0; i < f->nkeys; i++)
        inval_raise(&v, &st->key_inv[f->keys[i] & (KEY_INV_SLOTS - 1)]);
    /* by order: an invalidation applied after the stamp; by time (settle,
     * when set): one applied just before it, whose rows may not have been
     * visible yet when the statement was read */
    return v.seq > f->stamp || (st->settle > 0 && v.at + st->settle > f->sent_at);
}

/* A new entry for f, linked to its tables; NULL when out of memory. */
static struct centry *entry_make(struct cache_store *st, const struct cache_fill *f, uint64_t h,
                                 char names[][CACHE_NAME_MAX], const size_t *schema_len,
                                 size_t cost, double now)
{
    struct centry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->key = malloc(f->key_len);
    e->ans = malloc(sizeof(*e->ans) + f->data_len);
    struct ctable *tabs[CACHE_MAX_TABLES];
    bool ok = e->key != NULL && e->ans != NULL;
    for (unsigned i = 0; ok && i < f->ntables; i++)
        ok = (tabs[i] = table_get(st, names[i], schema_len[i])) != NULL;
    if (!ok) {
        free(e->key);
        free(e->ans);
        free(e);
        return NULL;
    }
    memcpy(e->key, f->key, f->key_len);
    atomic_init(&e->ans->refs, 1);
    e->ans->len = f->data_len;
    memcpy(e->ans->data, f->data, f->data_len);
    e->key_len = f->key_len;
    e->data_len = f->data_len;
    e->hash = h;
    e->cost = cost;
    e->stamp = f->stamp;
    e->expires = f->expires_at;
    /* never before the newest: cache_store_drop_sent_within walks them so */
    e->filled = st->fill_head != NULL && st->fill_head->filled > now ? st->fill_head->filled : now;
    e->sent_at = f->sent_at;
    e->fill_prev = NULL;
    e->fill_next = st->fill_head;
    if (st->fill_head != NULL)
        st->fill_head->fill_prev = e;
    st->fill_head = e;
    e->rule = f->rule;
    e->nt = f->ntables;
    for (unsigned i = 0; i < f->ntables; i++) {
        struct clink *l = &e->links[i];
        struct clink **list = f->nkeys > 0 ? &tabs[i]->points : &tabs[i]->head;
        l->e = e;
        l->t = tabs[i];
        l->point = f->nkeys > 0;
        l->prev = NULL;
        l->next = *list;
        if (*list != NULL)
            (*list)->prev = l;
        *list = l;
    }
    e->nk = f->nkeys;
    for (unsigned i = 0; i < f->nkeys; i++) {
        struct klink *k = &e->klinks[i];
        struct klink **b = &st->kbuckets[f->keys[i] & (st->nkbuckets - 1)];
        k->e = e;
        k->hash = f->keys[i];
        k->prev = NULL;
        k->next = *b;
        if (*b != NULL)
            (*b)->prev = k;
        *b = k;
        st->nklinks++;
    }
    return e;
}

enum cache_fill_rc cache_store_fill(struct cache_store *st, const struct cache_fill *f, double now)
{
    char names[CACHE_MAX_TABLES][CACHE_NAME_MAX];
    size_t schema_len[CACHE_MAX_TABLES];
    if (f->ntables == 0 || f->ntables > CACHE_MAX_TABLES || f->nkeys > CACHE_MAX_KEYS ||
        (f->nkeys > 0 && f->ntables != 1))
        return CACHE_FILL_UNMAPPED; /* not attributable: never stored */
    for (unsigned i = 0; i < f->ntables; i++) {
        const char *dot = strchr(f->tables[i], '.');
        char schema[65];
        if (dot == NULL || (size_t)(dot - f->tables[i]) >= sizeof(schema))
            return CACHE_FILL_UNMAPPED;
        memcpy(schema, f->tables[i], (size_t)(dot - f->tables[i]));
        schema[dot - f->tables[i]] = '\0';
        if (!table_name(names[i], schema, dot + 1, &schema_len[i]))
            return CACHE_FILL_UNMAPPED;
    }
    if (fill_raced(st, f, names, schema_len)) {
        st->st.refused_race++;
        return CACHE_FILL_RACED;
    }
    size_t cost = f->key_len + f->data_len + ENTRY_OVERHEAD;
    if (cost > st->cap) {
        st->st.refused_big++;
        return CACHE_FILL_TOO_BIG;
    }
    uint64_t h = hy_hash64(f->key, f->key_len);
    struct centry *old = entry_find(st, f->key, f->key_len, h);
    if (old != NULL)
        entry_drop(st, old, now >= old->expires ? CACHE_DROP_TTL : CACHE_DROP_LRU);
    evict_to(st, st->cap - cost);
    struct centry *e = entry_make(st, f, h, names, schema_len, cost, now);
    if (e == NULL)
        return CACHE_FILL_NOMEM;
    if (st->st.entries >= st->nbuckets)
        buckets_grow(st);
    if (st->nklinks + e->nk > st->nkbuckets)
        kbuckets_grow(st);
    pthread_mutex_t *mu = stripe_lock(st, h);
    size_t b = h & (st->nbuckets - 1);
    e->hnext = st->buckets[b];
    st->buckets[b] = e;
    pthread_mutex_unlock(mu);
    lru_push(st, e);
    st->st.entries++;
    st->st.point_entries += e->nk > 0;
    st->st.bytes += cost;
    st->st.fills++;
    return CACHE_FILL_STORED;
}

/* ---- invalidation -------------------------------------------------------- */

static size_t table_drop_entries(struct cache_store *st, struct ctable *t, enum cache_drop why)
{
    size_t n = 0;
    while (t->head != NULL) {
        entry_drop(st, t->head->e, why);
        n++;
    }
    while (t->points != NULL) {
        entry_drop(st, t->points->e, why);
        n++;
    }
    return n;
}

size_t cache_store_invalidate_table(struct cache_store *st, const char *schema, const char *table,
                                    enum cache_drop why, uint64_t seq, double now)
{
    char name[CACHE_NAME_MAX];
    size_t sl;
    struct inval v = {seq, now};
    if (!table_name(name, schema, table, &sl)) {
        /* a name no fill can have, but be safe: everything */
        return cache_store_invalidate_all(st, why, seq, now);
    }
    struct ctable *t = table_find(st, name);
    if (t == NULL) {
        /* no entry reads it: only fills in flight care */
        if ((t = table_get(st, name, sl)) == NULL) {
            inval_raise(&st->floor, &v);
            return cache_store_invalidate_all(st, why, seq, now);
        }
    }
    inval_raise(&t->inv, &v);
    inval_raise(&t->whole, &v);
    return table_drop_entries(st, t, why);
}

size_t cache_store_invalidate_rows(struct cache_store *st, const char *schema, const char *table,
                                   uint64_t seq, double now)
{
    char name[CACHE_NAME_MAX];
    size_t sl;
    struct inval v = {seq, now};
    struct ctable *t = table_name(name, schema, table, &sl) ? table_get(st, name, sl) : NULL;
    if (t == NULL) /* no room for its record: as a whole-table change */
        return cache_store_invalidate_table(st, schema, table, CACHE_DROP_TABLE, seq, now);
    inval_raise(&t->inv, &v);
    size_t n = 0;
    while (t->head != NULL) {
        entry_drop(st, t->head->e, CACHE_DROP_TABLE);
        n++;
    }
    return n;
}

size_t cache_store_invalidate_key(struct cache_store *st, uint64_t key, uint64_t seq, double now)
{
    struct inval v = {seq, now};
    inval_raise(&st->key_inv[key & (KEY_INV_SLOTS - 1)], &v);
    size_t n = 0;
    struct klink *k = st->kbuckets[key & (st->nkbuckets - 1)];
    while (k != NULL) {
        struct klink *next = k->next;
        if (k->hash == key) {
            /* the entry's other links may be `next`: start the chain again */
            entry_drop(st, k->e, CACHE_DROP_ROW);
            n++;
            next = st->kbuckets[key & (st->nkbuckets - 1)];
        }
        k = next;
    }
    return n;
}

size_t cache_store_invalidate_schema(struct cache_store *st, const char *schema, uint64_t seq,
                                     double now)
{
    struct inval v = {seq, now};
    size_t len = strlen(schema);
    struct cschema *sc = schema_find(st, schema, len);
    if (sc == NULL && len < sizeof(sc->name)) {
        if (st->nschemas >= SCHEMAS_KEEP) {
            for (size_t i = 0; i < st->nschemas; i++)
                inval_raise(&st->floor, &st->schemas[i].inv);
            st->nschemas = 0;
        }
        struct cschema *ns = realloc(st->schemas, (st->nschemas + 1) * sizeof(*ns));
        if (ns != NULL) {
            st->schemas = ns;
            sc = &ns[st->nschemas++];
            memcpy(sc->name, schema, len + 1);
            sc->inv = (struct inval){0, 0};
        }
    }
    if (sc == NULL)
        return cache_store_invalidate_all(st, CACHE_DROP_DDL, seq, now);
    inval_raise(&sc->inv, &v);
    size_t n = 0;
    for (size_t b = 0; b < TABLE_BUCKETS; b++)
        for (struct ctable *t = st->tables[b]; t != NULL; t = t->hnext)
            if (t->schema_len == len && strncasecmp(t->name, schema, len) == 0)
                n += table_drop_entries(st, t, CACHE_DROP_DDL);
    return n;
}

size_t cache_store_invalidate_all(struct cache_store *st, enum cache_drop why, uint64_t seq,
                                  double now)
{
    struct inval v = {seq, now};
    inval_raise(&st->all, &v);
    size_t n = 0;
    while (st->lru_tail != NULL) {
        entry_drop(st, st->lru_tail, why);
        n++;
    }
    return n;
}

size_t cache_store_drop_sent_within(struct cache_store *st, double from, double to)
{
    size_t n = 0;
    struct centry *e = st->fill_head;
    while (e != NULL && e->filled > from) { /* sent before it was stored */
        struct centry *next = e->fill_next;
        if (e->sent_at > from && e->sent_at < to) {
            entry_drop(st, e, CACHE_DROP_WRITE);
            n++;
        }
        e = next;
    }
    return n;
}

size_t cache_store_drop_filled_after(struct cache_store *st, double t, enum cache_drop why)
{
    size_t n = 0;
    struct centry *e = st->lru_tail;
    while (e != NULL) {
        struct centry *prev = e->lru_prev;
        if (e->filled > t) {
            entry_drop(st, e, why);
            n++;
        }
        e = prev;
    }
    return n;
}

void cache_store_fence(struct cache_store *st, uint64_t seq, double now)
{
    struct inval v = {seq, now};
    inval_raise(&st->floor, &v);
}

size_t cache_store_remap(struct cache_store *st, const struct cache_rule_map *map, size_t n)
{
    size_t dropped = 0;
    struct centry *e = st->lru_tail;
    while (e != NULL) {
        struct centry *prev = e->lru_prev;
        const struct cache_rule_map *m = e->rule < n ? &map[e->rule] : NULL;
        if (m == NULL || !m->keep || e->data_len > m->max_bytes) {
            entry_drop(st, e, CACHE_DROP_RELOAD);
            dropped++;
        } else {
            pthread_mutex_t *mu = stripe_lock(st, e->hash); /* what a hit reads */
            e->rule = m->to;
            if (e->sent_at + m->ttl_s < e->expires)
                e->expires = e->sent_at + m->ttl_s;
            pthread_mutex_unlock(mu);
        }
        e = prev;
    }
    return dropped;
}

size_t cache_store_expire_some(struct cache_store *st, double now, size_t buckets)
{
    size_t n = 0;
    if (buckets > st->nbuckets)
        buckets = st->nbuckets;
    /* the chains change only under the caller's mutex, held: read as they are */
    for (size_t i = 0; i < buckets; i++) {
        struct centry *e = st->buckets[st->sweep++ & (st->nbuckets - 1)];
        while (e != NULL) {
            struct centry *next = e->hnext;
            if (now >= e->expires) {
                entry_drop(st, e, CACHE_DROP_TTL);
                n++;
            }
            e = next;
        }
    }
    return n;
}

size_t cache_store_buckets(const struct cache_store *st)
{
    return st->nbuckets;
}

void cache_store_stats(const struct cache_store *st, struct cache_stats *out)
{
    *out = st->st;
}

void cache_store_destroy(struct cache_store *st)
{
    if (st == NULL)
        return;
    while (st->lru_tail != NULL)
        entry_drop(st, st->lru_tail, CACHE_DROP_ALL);
    for (size_t b = 0; b < TABLE_BUCKETS; b++) {
        struct ctable *t = st->tables[b];
        while (t != NULL) {
            struct ctable *next = t->hnext;
            free(t);
            t = next;
        }
    }
    free(st->schemas);
    free(st->buckets);
    free(st->kbuckets);
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&st->stripes[i].mu);
    free(st);
}
