/*
 * classify_memo.c: a worker's memo of classifications (classify_memo.h
 * says what an entry holds and when a text may be answered from one).
 *
 * Why it is exact: a text T1 answered from the entry of T0 has T0's bytes
 * but at the bytes of T0's anonymous numbers, where both have digits.
 * The lexer reads T1 as it read T0 up to the first such number (the same
 * bytes), reads the number as the same token (a run of digits between
 * those bytes is read by their class, never their value: number_note() in
 * classify.c), and so on to the end: the same tokens, at the same offsets.
 * The classifier reads a token's type, keyword and offsets; the only text
 * of a number it reads is autocommit's value, noted as number_read, and
 * spans into the text (SET values, CONNECTION_ID() calls) keep a result
 * out of the memo. The digest prints every number `?`. So classify(T1)
 * would give T0's result and digest, which the entry holds. lo_words
 * too: it looks for an L or an O in the comments (the same bytes) and in
 * tokens (a number's digits have none) and at keywords (the same words).
 *
 * The cost: a compare of its words with the entry that answered last,
 * else a hash of the text's first and last 16 bytes and a compare with
 * its slot's, against the classifier's few hundred instructions a token;
 * a text the memo does not answer costs the hash and little more
 * (memo_miss()).
 * tests/unit/test_classify_memo.c checks it against classify() on texts
 * of a grammar that puts digits everywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "classify_int.h"
#include "halyard/core/core.h"
#include "halyard/core/stats.h"
#include "halyard/core/text.h"
#include "halyard/sql/classify_memo.h"

#define MEMO_MASK_BYTES (CLASSIFY_MEMO_TEXT_MAX / 8)
_Static_assert(MEMO_MASK_BYTES <= 32, "memo_entry.masked has a bit a mask byte");

struct memo_entry {
    uint64_t hash;  /* memo_hash() of the text kept, when used */
    uint64_t seen;  /* memo_hash() of the last text that missed here, not kept */
    uint64_t never; /* memo_hash() of a shape not to keep (memo_miss()) */
    bool used;
    bool answered; /* a text since it was kept */
    bool has_digest;
    bool clears_diag;
    bool lo_words;
    int8_t autocommit;
    uint8_t kind;
    uint16_t len;
    unsigned opts;
    uint32_t flags;
    uint32_t kinds;
    uint32_t nstmt;
    uint32_t dlen;
    uint64_t dhash;
    uint32_t masked;                            /* bit j: mask[j] is not 0 */
    uint8_t mask[MEMO_MASK_BYTES];              /* bit i: byte i is an anonymous number's */
    unsigned char text[CLASSIFY_MEMO_TEXT_MAX]; /* T0, zero-padded to a multiple of 8 */
    char digest[CLASSIFY_MEMO_DIGEST_MAX];
};

struct classify_memo {
    struct worker_stats *stats; /* where hits, misses and stores count: the worker's, or own */
    struct worker_stats own;
    struct memo_entry *last; /* the entry that answered last: asked first */
    struct memo_entry e[CLASSIFY_MEMO_ENTRIES];
};

struct classify_memo *classify_memo_create(struct worker_stats *stats)
{
    struct classify_memo *m = calloc(1, sizeof(struct classify_memo));
    if (m != NULL)
        m->stats = stats != NULL ? stats : &m->own;
    return m;
}

void classify_memo_destroy(struct classify_memo *m)
{
    free(m);
}

size_t classify_memo_bytes(void)
{
    return sizeof(struct classify_memo);
}

uint64_t classify_memo_hits(const struct classify_memo *m)
{
    return m != NULL ? stat_get(&m->stats->classify_memo_hits) : 0;
}

uint64_t classify_memo_misses(const struct classify_memo *m)
{
    return m != NULL ? stat_get(&m->stats->classify_memo_misses) : 0;
}

uint64_t classify_memo_stores(const struct classify_memo *m)
{
    return m != NULL ? stat_get(&m->stats->classify_memo_stores) : 0;
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The 8 bytes at s + i (fewer at the text's end, zero-padded): the end
 * of a text of 8 bytes or more is its last 8 bytes shifted, no copy. */
static inline uint64_t word_at(const unsigned char *s, size_t len, size_t i)
{
    if (i + 8 <= len)
        return hy_load_le64(s + i);
    if (len >= 8)
        return hy_load_le64(s + len - 8) >> (8 * (i + 8 - len));
    uint64_t w = 0;
    for (size_t k = len; k > i; k--)
        w = w << 8 | s[k - 1];
    return w;
}

/* High bit of each byte of x that is an ASCII letter. */
static inline uint64_t letters(uint64_t x)
{
    x |= 0x20 * ONES; /* lower case: A..Z and a..z are 0x61..0x7A, nothing else is */
    uint64_t ge = ((x | HIGHS) - 0x61 * ONES) & HIGHS;            /* x & 0x7F >= 0x61 */
    uint64_t le = ((0x7A * ONES | HIGHS) - (x & ~HIGHS)) & HIGHS; /* x & 0x7F <= 0x7A */
    return ge & le & ~x & HIGHS;
}

/* w with each byte 0x30..0x3F (the digits, and a few others) made 0x30,
 * but one right after an ASCII letter (`prev`: the bytes before w's, w
 * shifted by one). A digit after a letter is a name's (sbtest1), never an
 * anonymous number's (those follow a byte that is no identifier's, or a
 * digit of the same number): every text of an entry's shape has the same
 * byte there, and texts that differ there are other shapes, which would
 * otherwise share a slot (four tables' point selects: three in four
 * missed). */
static inline uint64_t digits_as_zero(uint64_t w, uint64_t prev)
{
    uint64_t hi = ((w ^ 0x30 * ONES) >> 4) & 0x0F * ONES; /* 0 where the high nibble is 3 */
    uint64_t three = ~((hi + 0x7F * ONES) & HIGHS) & HIGHS;
    if (three != 0) /* most words of a text have no digit */
        three &= ~letters(prev);
    return w & ~((three >> 7) * 0x0F);
}

static inline uint64_t memo_mix(uint64_t h, uint64_t w, uint64_t prev)
{
    return (h ^ digits_as_zero(w, prev)) * 0x9e3779b97f4a7c15ull;
}

/* The hash of a text's length, options and words, digits read as '0'
 * but after a letter: of its first and last 16 bytes when it is longer
 * than 32 (a constant cost: memo_matches() compares the rest, and
 * memo_miss() deals with the texts of one hash that differ between). Its
 * top bits are its slot. */
static inline uint64_t memo_hash(const unsigned char *s, size_t len, unsigned opts)
{
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)opts << 32) ^ len;
    if (len <= 32) {
        for (size_t i = 0; i < len; i += 8) {
            uint64_t w = word_at(s, len, i);
            h = memo_mix(h, w, w << 8 | (i > 0 ? s[i - 1] : 0));
        }
    } else {
        uint64_t w0 = hy_load_le64(s);
        h = memo_mix(h, w0, w0 << 8);
        h = memo_mix(h, hy_load_le64(s + 8), hy_load_le64(s + 7));
        h = memo_mix(h, hy_load_le64(s + len - 16), hy_load_le64(s + len - 17));
        h = memo_mix(h, hy_load_le64(s + len - 8), hy_load_le64(s + len - 9));
    }
    h ^= h >> 31;
    return h * 0xff51afd7ed558ccdull;
}

static inline size_t memo_slot(uint64_t h)
{
    return (size_t)(h >> 56) & (CLASSIFY_MEMO_ENTRIES - 1);
}

/* Eight mask bits as eight bytes 0xFF or 0x00 (bit k: byte k), one load. */
#define MB(n, k) (((n) >> (k)&1) ? 0xFFull << (8 * (k)) : 0)
#define MB8(n)                                                                                     \
    (MB(n, 0) | MB(n, 1) | MB(n, 2) | MB(n, 3) | MB(n, 4) | MB(n, 5) | MB(n, 6) | MB(n, 7))
#define MB_4(n)  MB8(n), MB8(n + 1), MB8(n + 2), MB8(n + 3)
#define MB_16(n) MB_4(n), MB_4(n + 4), MB_4(n + 8), MB_4(n + 12)
#define MB_64(n) MB_16(n), MB_16(n + 16), MB_16(n + 32), MB_16(n + 48)
static const uint64_t mask_bytes[256] = {MB_64(0), MB_64(64), MB_64(128), MB_64(192)};
#undef MB
#undef MB8
#undef MB_4
#undef MB_16
#undef MB_64

/* Whether T1's word b may stand where T0's word t (at byte i) is, the two
 * differing: only at masked bytes, each a digit in T1 (high nibble 3, low
 * nibble at most 9). */
static inline bool memo_word_ok(const struct memo_entry *e, size_t i, uint64_t t, uint64_t b)
{
    if (!(e->masked >> (i / 8) & 1))
        return false;
    uint64_t m = mask_bytes[e->mask[i / 8]];
    if (((t ^ b) & ~m) != 0)
        return false;
    uint64_t c = b & m;
    return (c & 0xF0 * ONES) == (0x30 * ONES & m) &&
           (((c & 0x0F * ONES) + (0x06 * ONES & m)) & 0x10 * ONES) == 0;
}

/* Whether T1 (s, len, opts) has e's shape: T0's bytes, any digit at masked
 * ones. Most words are T0's bytes (digits or not): one compare each. */
static bool memo_matches(const struct memo_entry *e, const unsigned char *s, size_t len,
                         unsigned opts)
{
    if (!e->used || e->len != len || e->opts != opts)
        return false;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t b = hy_load_le64(s + i), t = hy_load_le64(e->text + i);
        if (b != t && !memo_word_ok(e, i, t, b))
            return false;
    }
    if (i == len)
        return true;
    uint64_t b = word_at(s, len, i), t = hy_load_le64(e->text + i); /* zero-padded both */
    return b == t || memo_word_ok(e, i, t, b);
}

/* Whether a result may be kept: it holds nothing of its text (see classify_memo.h). */
static bool memo_keeps(const struct classify_result *res, const struct classify_digest *dg,
                       const struct classify_numbers *nums, size_t len)
{
    const uint32_t text_flags = CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_HINT_INVALID |
                                CLF_TEMP_TABLE_CREATED | CLF_USE | CLF_AUTOCOMMIT | CLF_SET_NAMES |
                                CLF_VARS_TRUNCATED;
    if (len == 0 || len > CLASSIFY_MEMO_TEXT_MAX || nums->number_read)
        return false;
    if (res->nstmt != 1 || (res->flags & text_flags) != 0 || res->nvars != 0)
        return false;
    if (res->hint != CLH_NONE || res->hint_consistency != CLC_NONE || res->hint_backend[0] != '\0')
        return false;
    if (res->schema[0] != '\0' || res->temp_table[0] != '\0' || res->temp_schema[0] != '\0')
        return false;
    if (res->connid.n != 0 || res->connid.n_connid != 0 || res->connid.nalias != 0 ||
        res->connid_overflow)
        return false;
    if (res->sysview_names || res->kill_word)
        return false;
    /* a digest the caller's buffer holds whole, that the entry holds too */
    return dg == NULL ||
           (dg->buf != NULL && dg->len < dg->cap && dg->len <= CLASSIFY_MEMO_DIGEST_MAX);
}

static void memo_store(struct memo_entry *e, uint64_t h, const unsigned char *s, size_t len,
                       unsigned opts, const struct classify_result *res,
                       const struct classify_digest *dg, const uint8_t *mask)
{
    e->used = true;
    e->answered = false;
    e->hash = h;
    e->len = (uint16_t)len;
    e->opts = opts;
    memcpy(e->text, s, len);
    memset(e->text + len, 0, HY_MIN(CLASSIFY_MEMO_TEXT_MAX, (len + 7) & ~(size_t)7) - len);
    memcpy(e->mask, mask, MEMO_MASK_BYTES);
    e->masked = 0;
    for (size_t j = 0; j < MEMO_MASK_BYTES; j++)
        e->masked |= (uint32_t)(mask[j] != 0) << j;
    e->kind = (uint8_t)res->kind;
    e->flags = res->flags;
    e->clears_diag = res->clears_diag;
    e->kinds = res->kinds;
    e->nstmt = res->nstmt;
    e->autocommit = (int8_t)res->autocommit;
    e->lo_words = res->lo_words;
    e->has_digest = dg != NULL;
    if (dg != NULL) {
        e->dlen = (uint32_t)dg->len;
        e->dhash = dg->hash;
        memcpy(e->digest, dg->buf, dg->len);
    }
}

/* *res and *dg as classify() leaves them for a text of e's shape. */
static void memo_answer(const struct memo_entry *e, struct classify_result *res,
                        struct classify_digest *dg)
{
    classify_result_init(res);
    res->kind = (enum classify_kind)e->kind;
    res->flags = e->flags;
    res->clears_diag = e->clears_diag;
    res->kinds = e->kinds;
    res->nstmt = e->nstmt;
    res->autocommit = e->autocommit;
    res->lo_words = e->lo_words;
    if (dg == NULL)
        return;
    if (dg->buf != NULL && dg->cap > 0) {
        size_t n = HY_MIN((size_t)e->dlen, dg->cap - 1);
        memcpy(dg->buf, e->digest, n);
        dg->buf[n] = '\0';
    }
    dg->len = e->dlen;
    dg->hash = e->dhash;
}

/*
 * A text the slot's entry did not answer. A shape is kept on its second
 * miss in a row in the slot (e->seen): a text seen once (a statement of
 * its own) costs classify() and the hash alone, and does not push out what
 * the slot keeps. A hash whose texts cannot be kept (memo_keeps()), or
 * differ where the mask does not cover (the entry has the hash but other
 * bytes: digits or a string's random content, `c='83-91'`, or another
 * shape of the same length and first and last 16 bytes), is noted
 * e->never: its texts go to classify() after the hash until the slot
 * keeps another text. An entry that answered no text by then is let go
 * (a text of its own: its compare is not run again). same: the entry has
 * the text's shape but no digest, which the caller wants.
 */
static void memo_miss(struct classify_memo *m, struct memo_entry *e, uint64_t h, bool same,
                      const char *sql, size_t len, unsigned opts, struct classify_result *res,
                      struct classify_digest *dg)
{
    stat_inc(&m->stats->classify_memo_misses);
    if (!same) {
        bool admit = h == e->seen && h != e->never;
        if (e->used && h == e->hash) {
            e->never = h;
            admit = false;
            if (!e->answered) {
                e->used = false;
                e->hash = 0;
            }
        }
        e->seen = h;
        if (!admit) {
            classify(sql, len, opts, res, dg);
            return;
        }
    }
    uint8_t mask[MEMO_MASK_BYTES] = {0};
    struct classify_numbers nums = {.mask = mask, .cap = CLASSIFY_MEMO_TEXT_MAX};
    classify_noting(sql, len, opts, res, dg, &nums);
    e->seen = 0;
    if (!memo_keeps(res, dg, &nums, len)) {
        e->never = h;
        return;
    }
    stat_inc(&m->stats->classify_memo_stores);
    e->never = 0; /* what it noted was of the shapes before: they may come again */
    memo_store(e, h, (const unsigned char *)sql, len, opts, res, dg, mask);
}

void classify_memo_classify(struct classify_memo *m, const char *sql, size_t len, unsigned opts,
                            struct classify_result *res, struct classify_digest *dg)
{
    const unsigned char *s = (const unsigned char *)sql;
    if (m == NULL || sql == NULL || len == 0 || len > CLASSIFY_MEMO_TEXT_MAX) {
        classify(sql, len, opts, res, dg);
        return;
    }
    /* A worker's sessions often send one shape after another: the entry
     * that answered last is asked before the hash. memo_matches() alone
     * decides a hit; the hash only finds the slot. */
    struct memo_entry *e = m->last;
    if (e != NULL && (dg == NULL || e->has_digest) && memo_matches(e, s, len, opts)) {
        stat_inc(&m->stats->classify_memo_hits);
        e->answered = true;
        memo_answer(e, res, dg);
        return;
    }
    uint64_t h = memo_hash(s, len, opts);
    e = &m->e[memo_slot(h)];
    bool same = h == e->hash && memo_matches(e, s, len, opts);
    if (same && (dg == NULL || e->has_digest)) {
        stat_inc(&m->stats->classify_memo_hits);
        e->answered = true;
        m->last = e;
        memo_answer(e, res, dg);
        return;
    }
    memo_miss(m, e, h, same, sql, len, opts, res, dg);
}
