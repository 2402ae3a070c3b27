/*
 * classify_memo.h: a worker's memo of classifications, so that a statement
 * whose shape came before is not lexed again (issue 44: the classifier's
 * pass was about 3,500 instructions of a point select's 11,600).
 *
 * An entry is a text T0 that classify() read whole, its lexer options, its
 * result and its digest, and a mask of the bytes of T0's anonymous
 * numbers: number tokens of digits alone, between bytes that neither
 * continue nor start a name or a number, whose text the classifier never
 * read and which the digest prints `?`. A text T1 is answered from the
 * entry when it has the same length and options and every byte equal to
 * T0's but at masked bytes, where T1 has any decimal digit: then T1 lexes
 * into the same tokens as T0, and classify() gives it the same result and
 * digest. Only results that hold nothing of the text itself are kept: one
 * statement, no SET assignment, no CONNECTION_ID() and like calls, no
 * hint, no USE schema or temporary table, neither of the flags that send
 * the session to the scans for KILL and the process list (kill_word,
 * sysview_names; lo_words, the same for every text of a shape, is kept), a
 * text of at most CLASSIFY_MEMO_TEXT_MAX bytes whose digest fits
 * CLASSIFY_MEMO_DIGEST_MAX. Anything else is classified every time.
 *
 * A direct-mapped table of CLASSIFY_MEMO_ENTRIES entries (a store replaces
 * what the slot held), found by a hash of the text's length and first and
 * last 16 bytes, its digits read as '0' but those right after a letter
 * (a name's: sbtest1 and sbtest2 are two shapes, in two slots). A shape is
 * kept on its second
 * miss in a row in its slot, so a text that comes once costs classify()
 * and the hash, and pushes nothing out; a shape that cannot be kept, or
 * whose texts differ where the mask does not cover (a string of random
 * content), is noted as such in the slot and goes to classify() after the
 * hash. The entry that answered last is asked before the hash (a
 * worker's sessions often send one shape after another); a hit there is
 * decided by the same compare. One per worker, used by that worker's
 * thread alone: no lock.
 * About 150 KB a worker (classify_memo_bytes()).
 */
#ifndef HALYARD_CLASSIFY_MEMO_H
#define HALYARD_CLASSIFY_MEMO_H

#include "halyard/sql/classify.h"

#define CLASSIFY_MEMO_ENTRIES    256u /* a power of two */
#define CLASSIFY_MEMO_TEXT_MAX   256u /* a multiple of 8 */
#define CLASSIFY_MEMO_DIGEST_MAX 256u

struct classify_memo;
struct worker_stats;

/* NULL when out of memory. Its hits, misses and stores are counted in
 * `stats` (the worker's classify_memo_* counters, read by any thread), or
 * in counters of its own when `stats` is NULL. */
struct classify_memo *classify_memo_create(struct worker_stats *stats);
void classify_memo_destroy(struct classify_memo *m);
size_t classify_memo_bytes(void);

/*
 * classify(sql, len, opts, res, dg), answered from the memo when it holds
 * the text's shape, else classified and (if it may be) kept. *res and *dg
 * come out as classify() leaves them. m may be NULL: classify() alone.
 */
void classify_memo_classify(struct classify_memo *m, const char *sql, size_t len, unsigned opts,
                            struct classify_result *res, struct classify_digest *dg);

/* Texts answered from the memo, texts classified, and texts kept, since
 * its creation. */
uint64_t classify_memo_hits(const struct classify_memo *m);
uint64_t classify_memo_misses(const struct classify_memo *m);
uint64_t classify_memo_stores(const struct classify_memo *m);

#endif /* HALYARD_CLASSIFY_MEMO_H */
