/*
 * test_cache_store.c: the query cache's entries as data (cache_store.h).
 *
 *   - a fill is found by its exact key, another key misses
 *   - a row event of one of its tables drops it, one of another table not;
 *     names compared without regard to case
 *   - the fill race: an invalidation past the stamp, or just before the
 *     fill was sent (settle), refuses it; after both it is stored
 *   - schema and whole-store invalidations, and a fill of that schema in
 *     flight refused
 *   - TTL: an expired entry is not served and counted
 *   - the byte bound: least recently used evicted first, a get refreshes
 *     (a second chance)
 *   - a hit's answer is shared: it outlives its entry's drop or
 *     replacement until put; hits from threads while the store changes
 *     (run under make asan for the lifetimes)
 *   - unmappable fills are never stored
 *   - many tables: forgotten records still refuse a raced fill (the floor)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_store.h"

static enum cache_fill_rc fill(struct cache_store *st, const char *key, const char *data,
                               const char *t1, const char *t2, uint64_t stamp, double sent)
{
    const char *tabs[2] = {t1, t2};
    struct cache_fill f = {
        .key = (const uint8_t *)key,
        .key_len = strlen(key),
        .data = (const uint8_t *)data,
        .data_len = strlen(data),
        .tables = tabs,
        .ntables = t2 != NULL   ? 2
                   : t1 != NULL ? 1
                                : 0,
        .stamp = stamp,
        .sent_at = sent,
        .expires_at = sent + 100,
        .rule = 3,
    };
    return cache_store_fill(st, &f, sent);
}

static bool has(struct cache_store *st, const char *key, double now)
{
    struct cache_answer *a;
    uint64_t stamp;
    uint32_t rule;
    bool hit = cache_store_get(st, (const uint8_t *)key, strlen(key), now, &a, &stamp, &rule);
    if (hit)
        cache_answer_put(a);
    return hit;
}

static void test_hit_and_row_invalidation(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0.01);
    assert_non_null(st);
    assert_int_equal(fill(st, "k1", "answer1", "db.t1", NULL, 0, 10), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "k2", "answer2", "db.t1", "db.t2", 0, 10), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "k3", "answer3", "db.T3", NULL, 0, 10), CACHE_FILL_STORED);
    struct cache_answer *a;
    uint64_t stamp;
    uint32_t rule;
    assert_true(cache_store_get(st, (const uint8_t *)"k1", 2, 11, &a, &stamp, &rule));
    assert_int_equal(a->len, 7);
    assert_memory_equal(a->data, "answer1", 7);
    assert_int_equal(rule, 3);
    cache_answer_put(a);
    assert_false(has(st, "k", 11));
    assert_false(has(st, "k10", 11));
    /* a row of db.t2 drops k2 only */
    assert_int_equal(cache_store_invalidate_table(st, "db", "t2", CACHE_DROP_ROW, 1, 12), 1);
    assert_true(has(st, "k1", 12));
    assert_false(has(st, "k2", 12));
    /* case does not matter */
    assert_int_equal(cache_store_invalidate_table(st, "DB", "t3", CACHE_DROP_ROW, 2, 12), 1);
    assert_false(has(st, "k3", 12));
    /* another schema's table of the same name does nothing */
    assert_int_equal(cache_store_invalidate_table(st, "db2", "t1", CACHE_DROP_ROW, 3, 12), 0);
    assert_true(has(st, "k1", 12));
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.dropped[CACHE_DROP_ROW], 2);
    assert_int_equal(s.fills, 3);
    cache_store_destroy(st);
}

static void test_fill_race(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0.05);
    /* t1 changed at seq 5, time 100 */
    assert_int_equal(cache_store_invalidate_table(st, "db", "t1", CACHE_DROP_ROW, 5, 100), 0);
    /* stamped before it: refused */
    assert_int_equal(fill(st, "a", "x", "db.t1", NULL, 4, 101), CACHE_FILL_RACED);
    /* stamped after it but sent within the settle time: refused */
    assert_int_equal(fill(st, "a", "x", "db.t1", NULL, 5, 100.01), CACHE_FILL_RACED);
    /* the second table raced, the first did not */
    assert_int_equal(fill(st, "a", "x", "db.t0", "db.t1", 4, 101), CACHE_FILL_RACED);
    /* stamped after it and sent after the settle time: stored */
    assert_int_equal(fill(st, "a", "x", "db.t1", NULL, 5, 100.1), CACHE_FILL_STORED);
    /* another table's change does not refuse a fill of t1 */
    assert_int_equal(cache_store_invalidate_table(st, "db", "t9", CACHE_DROP_ROW, 6, 200), 0);
    assert_int_equal(fill(st, "b", "y", "db.t1", NULL, 5, 200.001), CACHE_FILL_STORED);
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_int_equal(s.refused_race, 3);
    assert_int_equal(s.entries, 2);
    cache_store_destroy(st);
}

static void test_schema_and_all(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_int_equal(fill(st, "a", "x", "s1.t1", NULL, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "b", "x", "s1.t2", "s2.t1", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "c", "x", "s2.t1", NULL, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "d", "x", "s10.t1", NULL, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(cache_store_invalidate_schema(st, "S1", 7, 2), 2);
    assert_false(has(st, "a", 2));
    assert_false(has(st, "b", 2));
    assert_true(has(st, "c", 2));
    assert_true(has(st, "d", 2)); /* s10 is not s1 */
    /* a fill of a table of s1 not seen before, stamped before: refused */
    assert_int_equal(fill(st, "e", "x", "s1.new", NULL, 6, 3), CACHE_FILL_RACED);
    assert_int_equal(fill(st, "e", "x", "s1.new", NULL, 7, 3), CACHE_FILL_STORED);
    assert_int_equal(cache_store_invalidate_all(st, CACHE_DROP_ALL, 9, 4), 3);
    assert_false(has(st, "c", 4));
    assert_int_equal(fill(st, "f", "x", "s3.t", NULL, 8, 5), CACHE_FILL_RACED);
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.bytes, 0);
    assert_int_equal(s.dropped[CACHE_DROP_DDL], 2);
    assert_int_equal(s.dropped[CACHE_DROP_ALL], 3);
    cache_store_destroy(st);
}

static void test_ttl(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_int_equal(fill(st, "a", "x", "s.t", NULL, 0, 1), CACHE_FILL_STORED);  /* expires 101 */
    assert_int_equal(fill(st, "b", "x", "s.t", NULL, 0, 50), CACHE_FILL_STORED); /* 150 */
    assert_true(has(st, "a", 100.9));
    assert_false(has(st, "a", 101));
    /* a lookup drops nothing (it takes no lock of the lists): the sweep,
     * a fill of its key or eviction does */
    assert_int_equal(cache_store_expire_some(st, 149, cache_store_buckets(st)), 1);
    assert_int_equal(cache_store_expire_some(st, 150, cache_store_buckets(st)), 1);
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_int_equal(s.dropped[CACHE_DROP_TTL], 2);
    assert_int_equal(s.entries, 0);
    cache_store_destroy(st);
}

static void test_hit_outlives_its_entry(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_int_equal(fill(st, "k1", "answer1", "db.t1", NULL, 0, 10), CACHE_FILL_STORED);
    struct cache_answer *a, *b;
    uint64_t stamp;
    uint32_t rule;
    assert_true(cache_store_get(st, (const uint8_t *)"k1", 2, 11, &a, &stamp, &rule));
    /* dropped while it is being sent: the hit still holds the bytes */
    assert_int_equal(cache_store_invalidate_table(st, "db", "t1", CACHE_DROP_TABLE, 1, 12), 1);
    assert_false(has(st, "k1", 12));
    assert_int_equal(a->len, 7);
    assert_memory_equal(a->data, "answer1", 7);
    /* filled again, then replaced: each hit keeps the answer it got */
    assert_int_equal(fill(st, "k1", "answer2", "db.t1", NULL, 1, 20), CACHE_FILL_STORED);
    assert_true(cache_store_get(st, (const uint8_t *)"k1", 2, 21, &b, &stamp, &rule));
    assert_int_equal(fill(st, "k1", "answer3!", "db.t1", NULL, 1, 20), CACHE_FILL_STORED);
    assert_memory_equal(a->data, "answer1", 7);
    assert_memory_equal(b->data, "answer2", 7);
    cache_answer_put(a);
    cache_store_destroy(st); /* b outlives the store too */
    assert_memory_equal(b->data, "answer2", 7);
    cache_answer_put(b);
    cache_answer_put(NULL);
}

#define THREAD_KEYS 512

struct hitter {
    struct cache_store *st;
    unsigned seed;
    unsigned hits, wrong;
};

static void key_of(char *out, size_t n, unsigned i)
{
    snprintf(out, n, "key-%u", i % THREAD_KEYS);
}

/* Lookups without the caller's mutex while the store changes: every hit
 * is its key's answer ("v" and the key). */
static void *hitter_main(void *arg)
{
    struct hitter *h = arg;
    for (unsigned n = 0; n < 200000; n++) {
        char key[32], want[40];
        h->seed = h->seed * 1103515245u + 12345u;
        key_of(key, sizeof(key), h->seed >> 8);
        snprintf(want, sizeof(want), "v%s", key);
        struct cache_answer *a;
        uint64_t stamp;
        uint32_t rule;
        if (cache_store_get(h->st, (const uint8_t *)key, strlen(key), 11, &a, &stamp, &rule)) {
            h->hits++;
            h->wrong += a->len != strlen(want) || memcmp(a->data, want, a->len) != 0;
            cache_answer_put(a);
        }
    }
    return NULL;
}

static void test_hits_from_threads(void **state)
{
    (void)state;
    /* small buckets grow under the hits, and the bound evicts */
    struct cache_store *st = cache_store_create(300 * 300, 0);
    struct hitter h[4];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++) {
        h[i] = (struct hitter){.st = st, .seed = i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, hitter_main, &h[i]), 0);
    }
    /* the caller's side, as under cache.c's mutex: one thread */
    for (unsigned n = 0; n < 20000; n++) {
        char key[32], val[40];
        key_of(key, sizeof(key), n * 7919u);
        snprintf(val, sizeof(val), "v%s", key);
        (void)fill(st, key, val, n % 2 ? "db.t1" : "db.t2", NULL, n, 10);
        if (n % 97 == 0)
            (void)cache_store_invalidate_table(st, "db", n % 2 ? "t2" : "t1", CACHE_DROP_TABLE, n,
                                               9);
        if (n % 1001 == 0)
            cache_store_resize(st, (n % 2 ? 100 : 300) * 300, 0);
    }
    unsigned hits = 0;
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(h[i].wrong, 0);
        hits += h[i].hits;
    }
    (void)hits; /* how many depends on the scheduling */
    cache_store_destroy(st);
}

/* The sweep in slices: each call looks at so many buckets, from where the
 * last stopped; the calls that cover the table find every expired entry. */
static void test_ttl_sweep_in_slices(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(fill(st, key, "x", "s.t", NULL, 0, i % 2 ? 1 : 500), CACHE_FILL_STORED);
    }
    size_t nb = cache_store_buckets(st), n = 0;
    assert_true(nb >= 100);
    assert_int_equal(cache_store_expire_some(st, 200, 0), 0);
    for (size_t i = 0; i < nb; i += 16) {
        size_t k = cache_store_expire_some(st, 200, 16);
        assert_true(k <= 16 * 2); /* a slice's buckets, not the store */
        n += k;
    }
    assert_int_equal(n, 50); /* the odd ones, expired at 101 */
    assert_int_equal(cache_store_expire_some(st, 200, nb), 0);
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_int_equal(s.dropped[CACHE_DROP_TTL], 50);
    assert_int_equal(s.entries, 50);
    cache_store_destroy(st);
}

static void test_lru_bound(void **state)
{
    (void)state;
    char big[1000];
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* room for 3 entries of ~1,256 bytes */
    struct cache_store *st = cache_store_create(3 * 1300, 0);
    assert_int_equal(fill(st, "k1", big, "s.t", NULL, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "k2", big, "s.t", NULL, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "k3", big, "s.t", NULL, 0, 1), CACHE_FILL_STORED);
    assert_true(has(st, "k1", 2)); /* k2 is now the least recent */
    assert_int_equal(fill(st, "k4", big, "s.t", NULL, 0, 2), CACHE_FILL_STORED);
    assert_false(has(st, "k2", 2));
    assert_true(has(st, "k1", 2));
    assert_true(has(st, "k3", 2));
    assert_true(has(st, "k4", 2));
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_true(s.bytes <= 3 * 1300);
    assert_int_equal(s.dropped[CACHE_DROP_LRU], 1);
    /* larger than the store */
    char huge[5000];
    memset(huge, 'h', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(fill(st, "k5", huge, "s.t", NULL, 0, 2), CACHE_FILL_TOO_BIG);
    /* a smaller bound evicts */
    cache_store_resize(st, 1300, 0);
    cache_store_stats(st, &s);
    assert_int_equal(s.entries, 1);
    assert_true(has(st, "k4", 3)); /* the most recent stays */
    /* the same key again replaces */
    assert_int_equal(fill(st, "k4", "small", "s.t", NULL, 0, 3), CACHE_FILL_STORED);
    cache_store_stats(st, &s);
    assert_int_equal(s.entries, 1);
    cache_store_destroy(st);
}

static void test_unmapped(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_int_equal(fill(st, "a", "x", NULL, NULL, 0, 1), CACHE_FILL_UNMAPPED);
    assert_int_equal(fill(st, "a", "x", "notable", NULL, 0, 1), CACHE_FILL_UNMAPPED);
    assert_int_equal(fill(st, "a", "x", ".t", NULL, 0, 1), CACHE_FILL_UNMAPPED);
    assert_false(has(st, "a", 1));
    cache_store_destroy(st);
}

static void test_forgotten_tables_floor(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    /* t0 changes at seq 10, then thousands of other tables: t0's record
     * is forgotten, and a fill of t0 stamped before 10 is still refused */
    assert_int_equal(cache_store_invalidate_table(st, "s", "t0", CACHE_DROP_ROW, 10, 1), 0);
    char name[32];
    for (int i = 1; i < 5000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(cache_store_invalidate_table(st, "s", name, CACHE_DROP_ROW, 10, 1), 0);
    }
    assert_int_equal(fill(st, "a", "x", "s.t0", NULL, 9, 2), CACHE_FILL_RACED);
    assert_int_equal(fill(st, "a", "x", "s.t0", NULL, 10, 2), CACHE_FILL_STORED);
    cache_store_destroy(st);
}

/* A point lookup (key hash `h` on s.t) filled at `sent`. */
static enum cache_fill_rc fill_point(struct cache_store *st, const char *key, uint64_t h,
                                     uint64_t stamp, double sent)
{
    const char *tabs[1] = {"s.t"};
    struct cache_fill f = {.key = (const uint8_t *)key,
                           .key_len = strlen(key),
                           .data = (const uint8_t *)"r",
                           .data_len = 1,
                           .tables = tabs,
                           .ntables = 1,
                           .stamp = stamp,
                           .sent_at = sent,
                           .expires_at = sent + 100,
                           .keys = &h,
                           .nkeys = 1};
    return cache_store_fill(st, &f, sent);
}

static void test_point_lookups(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    uint64_t k1 = cache_key_hash("S.T", 0, "1", 1), k2 = cache_key_hash("s.t", 0, "2", 1);
    assert_true(k1 == cache_key_hash("s.t", 0, "1", 1)); /* names in any case */
    assert_true(k1 != cache_key_hash("s.t", 1, "1", 1)); /* another column */
    assert_int_equal(fill_point(st, "p1", k1, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill_point(st, "p2", k2, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "all", "x", "s.t", NULL, 0, 1), CACHE_FILL_STORED);
    struct cache_stats cs;
    cache_store_stats(st, &cs);
    assert_int_equal(cs.point_entries, 2);
    /* the table's rows: the plain entry goes, the point lookups stay */
    assert_int_equal(cache_store_invalidate_rows(st, "s", "t", 1, 2), 1);
    assert_true(has(st, "p1", 2) && has(st, "p2", 2));
    assert_int_equal(fill(st, "all", "x", "s.t", NULL, 0, 3), CACHE_FILL_RACED);
    assert_int_equal(fill_point(st, "p3", cache_key_hash("s.t", 0, "3", 1), 0, 3),
                     CACHE_FILL_STORED);
    /* a key: its lookup goes, and its fills in flight */
    assert_int_equal(cache_store_invalidate_key(st, k1, 2, 4), 1);
    assert_false(has(st, "p1", 4));
    assert_true(has(st, "p2", 4));
    assert_int_equal(fill_point(st, "p1", k1, 1, 5), CACHE_FILL_RACED);
    assert_int_equal(fill_point(st, "p1", k1, 2, 5), CACHE_FILL_STORED);
    /* the whole table: every entry of it, point lookups too */
    assert_int_equal(cache_store_invalidate_table(st, "s", "t", CACHE_DROP_TABLE, 3, 6), 3);
    assert_int_equal(fill_point(st, "p2", k2, 2, 7), CACHE_FILL_RACED);
    cache_store_stats(st, &cs);
    assert_int_equal(cs.point_entries, 0);
    assert_int_equal(cs.dropped[CACHE_DROP_ROW], 1);
    assert_int_equal(cs.dropped[CACHE_DROP_TABLE], 4);
    cache_store_destroy(st);
}

static void test_failover_keep(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_int_equal(fill(st, "old", "x", "s.t", NULL, 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "new", "x", "s.t", NULL, 0, 5), CACHE_FILL_STORED);
    /* the newest primary position applied was read at 3: "new" may hold
     * a transaction the new primary never got */
    assert_int_equal(cache_store_drop_filled_after(st, 3, CACHE_DROP_FAILOVER), 1);
    assert_true(has(st, "old", 6));
    assert_false(has(st, "new", 6));
    /* fills in flight from before the fence refused, no entry dropped */
    cache_store_fence(st, 10, 6);
    assert_true(has(st, "old", 6));
    assert_int_equal(fill(st, "other", "x", "s.u", NULL, 9, 7), CACHE_FILL_RACED);
    assert_int_equal(fill(st, "other", "x", "s.u", NULL, 10, 7), CACHE_FILL_STORED);
    cache_store_destroy(st);
}

/* A fill stored with a sent time and a store time of its own. */
static enum cache_fill_rc fill_at(struct cache_store *st, const char *key, double sent,
                                  double stored)
{
    const char *tabs[1] = {"s.t"};
    struct cache_fill f = {
        .key = (const uint8_t *)key,
        .key_len = strlen(key),
        .data = (const uint8_t *)"x",
        .data_len = 1,
        .tables = tabs,
        .ntables = 1,
        .sent_at = sent,
        .expires_at = sent + 100,
    };
    return cache_store_fill(st, &f, stored);
}

static void test_drop_sent_within_a_write(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_int_equal(fill_at(st, "before", 1, 2), CACHE_FILL_STORED);    /* read before it */
    assert_int_equal(fill_at(st, "during", 4, 6), CACHE_FILL_STORED);    /* read in flight */
    assert_int_equal(fill_at(st, "late", 4.5, 5), CACHE_FILL_STORED);    /* stored out of order */
    assert_int_equal(fill_at(st, "after", 8, 9), CACHE_FILL_STORED);     /* read after its OK */
    assert_int_equal(fill_at(st, "again", 2.5, 9.5), CACHE_FILL_STORED); /* sent before it */
    /* a write sent at 3, answered at 7 */
    assert_int_equal(cache_store_drop_sent_within(st, 3, 7), 2);
    assert_true(has(st, "before", 10));
    assert_false(has(st, "during", 10));
    assert_false(has(st, "late", 10));
    assert_true(has(st, "after", 10));
    assert_true(has(st, "again", 10));
    struct cache_stats cs;
    cache_store_stats(st, &cs);
    assert_int_equal(cs.dropped[CACHE_DROP_WRITE], 2);
    assert_string_equal(cache_drop_name(CACHE_DROP_WRITE), "write");
    cache_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_row_invalidation),
        cmocka_unit_test(test_fill_race),
        cmocka_unit_test(test_schema_and_all),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_ttl_sweep_in_slices),
        cmocka_unit_test(test_lru_bound),
        cmocka_unit_test(test_hit_outlives_its_entry),
        cmocka_unit_test(test_hits_from_threads),
        cmocka_unit_test(test_unmapped),
        cmocka_unit_test(test_forgotten_tables_floor),
        cmocka_unit_test(test_point_lookups),
        cmocka_unit_test(test_failover_keep),
        cmocka_unit_test(test_drop_sent_within_a_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
