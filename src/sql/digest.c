/*
 * digest.c: the per-worker digest table. See digest.h.
 *
 * Layout: `slots` (the statistics), `text` (DIGEST_TEXT_MAX bytes per
 * slot, same index) and `buckets`, a power-of-two array of slot indices
 * heading chains linked through slot.next. A hash's bucket comes from its
 * high bits after one multiply (classify's hash is FNV-like; its low bits
 * alone would spread worse). There are at least as many buckets as slots,
 * so chains stay short.
 *
 * Slots fill in index order; once all are used, a new digest takes the
 * slot of the sampled victim, which is first unlinked from its chain. The
 * sample comes from a xorshift generator seeded per table: eviction is
 * deterministic for a given sequence of statements, which the unit tests
 * rely on.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/sql/digest.h"

#define NO_SLOT UINT32_MAX

struct digest_slot {
    uint64_t hash;
    uint64_t calls, errors, rows, total_usec, max_usec;
    uint64_t served[2];
    uint32_t next; /* in the bucket's chain */
    uint32_t text_len;
    bool text_truncated;
};

struct digest_table {
    struct digest_slot *slots;
    char *text;
    uint32_t *buckets;
    uint32_t cap, used;
    unsigned shift; /* 64 - log2(buckets) */
    uint64_t evictions;
    uint64_t rng;
};

hy_status_t digest_create(uint32_t max_entries, struct digest_table **out)
{
    *out = NULL;
    if (max_entries == 0)
        return HY_OK;
    if (max_entries > (1u << 31))
        return HY_NOMEM;
    unsigned bits = 1;
    while ((1u << bits) < max_entries)
        bits++;
    struct digest_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return HY_NOMEM;
    t->slots = calloc(max_entries, sizeof(*t->slots));
    t->text = malloc((size_t)max_entries * DIGEST_TEXT_MAX);
    t->buckets = malloc(sizeof(*t->buckets) << bits);
    if (t->slots == NULL || t->text == NULL || t->buckets == NULL) {
        digest_destroy(t);
        return HY_NOMEM;
    }
    memset(t->buckets, 0xFF, sizeof(*t->buckets) << bits); /* NO_SLOT */
    t->cap = max_entries;
    t->shift = 64 - bits;
    t->rng = 0x9E3779B97F4A7C15ull ^ max_entries;
    *out = t;
    return HY_OK;
}

void digest_destroy(struct digest_table *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t->text);
    free(t->buckets);
    free(t);
}

static uint32_t *bucket_of(struct digest_table *t, uint64_t hash)
{
    return &t->buckets[(hash * 0x9E3779B97F4A7C15ull) >> t->shift];
}

/* xorshift64*: a number in [0, n). */
static uint32_t random_below(struct digest_table *t, uint32_t n)
{
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    uint64_t r = (t->rng * 0x2545F4914F6CDD1Dull) >> 32;
    return (uint32_t)((r * n) >> 32);
}

/* The slot to reuse when the table is full, unlinked from its chain. */
static uint32_t evict(struct digest_table *t)
{
    uint32_t victim = random_below(t, t->cap);
    for (unsigned i = 1; i < DIGEST_SAMPLE; i++) {
        uint32_t c = random_below(t, t->cap);
        const struct digest_slot *a = &t->slots[c], *b = &t->slots[victim];
        if (a->total_usec < b->total_usec ||
            (a->total_usec == b->total_usec && a->calls < b->calls))
            victim = c;
    }
    uint32_t *pp = bucket_of(t, t->slots[victim].hash);
    while (*pp != victim)
        pp = &t->slots[*pp].next;
    *pp = t->slots[victim].next;
    t->evictions++;
    return victim;
}

/* At most `max` bytes of `text`, not ending inside a UTF-8 sequence. */
static size_t cut_utf8(const char *text, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* Back up over continuation bytes (10xxxxxx) to a sequence's start,
     * and drop that start too; at most 3 back for valid UTF-8. */
    size_t k = 0;
    while (k < 3 && n > k && ((unsigned char)text[n - k] & 0xC0) == 0x80)
        k++;
    if (k > 0 && ((unsigned char)text[n - k] & 0xC0) == 0xC0)
        n -= k;
    return n;
}

/* The entry of `hash`, created (with `text`) when there is none. */
static struct digest_slot *slot_get(struct digest_table *t, uint64_t hash, const char *text,
                                    size_t len)
{
    uint32_t *head = bucket_of(t, hash);
    uint32_t i = *head;
    while (i != NO_SLOT && t->slots[i].hash != hash)
        i = t->slots[i].next;
    if (i == NO_SLOT) {
        i = t->used < t->cap ? t->used++ : evict(t);
        struct digest_slot *s = &t->slots[i];
        memset(s, 0, sizeof(*s));
        s->hash = hash;
        size_t keep = text != NULL ? cut_utf8(text, len, DIGEST_TEXT_MAX) : 0;
        if (keep > 0)
            memcpy(t->text + (size_t)i * DIGEST_TEXT_MAX, text, keep);
        s->text_len = (uint32_t)keep;
        s->text_truncated = text != NULL && keep < len;
        s->next = *head; /* read after evict(), which may have changed this chain */
        *head = i;
    }
    return &t->slots[i];
}

void digest_note(struct digest_table *t, uint64_t hash, const char *text, size_t len)
{
    if (t != NULL)
        slot_get(t, hash, text, len);
}

void digest_record(struct digest_table *t, uint64_t hash, const char *text, size_t len, bool error,
                   uint64_t rows, uint64_t usec, enum backend_role role)
{
    if (t == NULL)
        return;
    struct digest_slot *s = slot_get(t, hash, text, len);
    s->calls++;
    s->errors += error;
    s->rows += rows;
    s->total_usec += usec;
    if (usec > s->max_usec)
        s->max_usec = usec;
    s->served[role == ROLE_REPLICA]++;
}

uint32_t digest_count(const struct digest_table *t)
{
    return t != NULL ? t->used : 0;
}

uint32_t digest_capacity(const struct digest_table *t)
{
    return t != NULL ? t->cap : 0;
}

uint64_t digest_evictions(const struct digest_table *t)
{
    return t != NULL ? t->evictions : 0;
}

hy_status_t digest_snapshot(const struct digest_table *t, struct digest_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    if (t == NULL || t->used == 0) {
        out->capacity = digest_capacity(t);
        out->evictions = digest_evictions(t);
        return HY_OK;
    }
    size_t text_bytes = 0;
    for (uint32_t i = 0; i < t->used; i++)
        text_bytes += t->slots[i].text_len + 1; /* also for the skipped: an upper bound */
    struct digest_row *rows = calloc(t->used, sizeof(*rows));
    char *text = malloc(text_bytes);
    if (rows == NULL || text == NULL) {
        free(rows);
        free(text);
        return HY_NOMEM;
    }
    char *p = text;
    size_t n = 0;
    for (uint32_t i = 0; i < t->used; i++) {
        const struct digest_slot *s = &t->slots[i];
        if (s->calls == 0) /* noted, not recorded yet */
            continue;
        struct digest_row *r = &rows[n++];
        r->hash = s->hash;
        r->calls = s->calls;
        r->errors = s->errors;
        r->rows = s->rows;
        r->total_usec = s->total_usec;
        r->max_usec = s->max_usec;
        r->served[0] = s->served[0];
        r->served[1] = s->served[1];
        memcpy(p, t->text + (size_t)i * DIGEST_TEXT_MAX, s->text_len);
        p[s->text_len] = '\0';
        r->text = p;
        r->text_len = s->text_len;
        r->text_truncated = s->text_truncated;
        p += s->text_len + 1;
    }
    out->rows = rows;
    out->n = n;
    out->text = text;
    out->capacity = t->cap;
    out->evictions = t->evictions;
    return HY_OK;
}

void digest_snapshot_free(struct digest_snapshot *s)
{
    free(s->rows);
    free(s->text);
    memset(s, 0, sizeof(*s));
}

static int by_hash(const void *x, const void *y)
{
    const struct digest_row *a = x, *b = y;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

static int by_total(const void *x, const void *y)
{
    const struct digest_row *a = x, *b = y;
    if (a->total_usec != b->total_usec)
        return a->total_usec > b->total_usec ? -1 : 1;
    if (a->calls != b->calls)
        return a->calls > b->calls ? -1 : 1;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

size_t digest_merge(struct digest_row *rows, size_t n)
{
    if (n == 0)
        return 0;
    qsort(rows, n, sizeof(*rows), by_hash);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        struct digest_row *a = &rows[k];
        const struct digest_row *b = &rows[i];
        if (b->hash != a->hash) {
            rows[++k] = *b;
            continue;
        }
        a->calls += b->calls;
        a->errors += b->errors;
        a->rows += b->rows;
        a->total_usec += b->total_usec;
        a->max_usec = HY_MAX(a->max_usec, b->max_usec);
        a->served[0] += b->served[0];
        a->served[1] += b->served[1];
    }
    n = k + 1;
    qsort(rows, n, sizeof(*rows), by_total);
    return n;
}
