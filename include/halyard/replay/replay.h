/*
 * replay.h: an open transaction's record, so that it can be run again on a
 * new primary and shown to give the client the same answers.
 *
 * While a transaction is open the session adds each statement the client
 * sent (replay_add: the command byte and its payload, as the client sent
 * it) and, once its answer has gone to the client, that answer's checksum
 * (replay_answer, from a replay_sum fed every packet of the answer). After
 * the primary died, the session runs the statements again, one by one, on
 * the new primary (replay_stmt), feeds each answer to a new replay_sum and
 * asks replay_check whether it equals the first: all equal, the
 * transaction goes on; any different, it is rolled back and the client
 * told. A record past `max` bytes, or one holding a statement halyard
 * cannot run twice, is not replayable (replay_ok false); it keeps nothing
 * more.
 *
 * The checksum covers the result set (column definitions and rows), and
 * for an OK the affected rows and insert id, for an ERR its code; with
 * `result_only` an OK's insert id and the column definitions (but not
 * their number) do not count: an OK is still not an ERR, nor another
 * error code, nor another count of affected rows (MaxScale's
 * transaction_replay_checksum = result_only leaves out every OK). Status flags,
 * warnings counts, info strings and session-tracking blocks never count:
 * they may differ from one server to another for the same outcome. The sum
 * is 128 bits of two independent 64-bit mixes (not a cryptographic hash: a
 * server gives these answers, not an adversary).
 *
 * Pure: no I/O, no session; tested in tests/unit/test_replay.c.
 */
#ifndef HALYARD_REPLAY_H
#define HALYARD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/core/textbuf.h"

/* What a packet of an answer is (the session's answer tracker knows). */
enum replay_pkt {
    REPLAY_PKT_OK,     /* an OK (or an EOF-as-OK ending a result) */
    REPLAY_PKT_ERR,    /* an ERR */
    REPLAY_PKT_COLDEF, /* the column count or a column definition */
    REPLAY_PKT_ROW,    /* a result row, text or binary */
    REPLAY_PKT_OTHER,  /* an EOF between definitions and rows, a progress report */
};

/* The checksum of one answer, built packet by packet. */
struct replay_sum {
    uint64_t a, b;
    bool result_only;
};

/* One recorded statement: where its packet is in `buf`, its answer's sum. */
struct replay_stmt {
    size_t off;
    uint32_t len;
    bool answered;
    uint64_t sum_a, sum_b;
};

struct replay_log {
    struct textbuf buf; /* the statements' packets (command byte + payload), back to back */
    struct replay_stmt *st;
    uint32_t n, n_cap;
    size_t max;       /* replay_max_size: bytes of statements kept at most */
    bool result_only; /* the sums leave out insert ids and column definitions */
    bool over;        /* not replayable: past `max`, or a statement that cannot run twice */
};

/* An empty record; `max` bytes at most. */
void replay_init(struct replay_log *l, size_t max, bool result_only);
/* Forget every statement (the transaction ended); memory is kept for the next. */
void replay_reset(struct replay_log *l);
void replay_free(struct replay_log *l);
/* Keep the statement `pkt` (`len` bytes: command byte and payload). Past
 * `max`, the record stops being replayable and frees what it held. Returns
 * HY_NOMEM (and the record is not replayable) when memory is short. */
hy_status_t replay_add(struct replay_log *l, const uint8_t *pkt, uint32_t len) HY_MUSTCHECK;
/* The record cannot be replayed (a statement that cannot run twice). */
void replay_refuse(struct replay_log *l);
/* The last statement added got its answer, whose sum is `s`. */
void replay_answer(struct replay_log *l, const struct replay_sum *s);
/* Forget the last statement if it has no answer yet (the one in flight
 * when the primary died, which is sent again after the replay instead). */
void replay_pop(struct replay_log *l);
/* Keep the last statement alone, with its answer (it began the
 * transaction now open); false when it has none, or nothing is kept. */
bool replay_keep_last(struct replay_log *l);
/* Whether every statement is kept and answered: a replay may start. */
bool replay_ok(const struct replay_log *l);
/* Statement `i` (0 = the first): its packet. False past the last. */
bool replay_stmt(const struct replay_log *l, uint32_t i, const uint8_t **pkt, uint32_t *len);
/* Whether statement `i`'s answer on the new primary (`s`) is the first one's. */
bool replay_check(const struct replay_log *l, uint32_t i, const struct replay_sum *s);

/* A new sum for one answer, with the record's `result_only`. */
void replay_sum_begin(struct replay_sum *s, bool result_only);
/* Add one packet of the answer (`payload`, `len` bytes, of kind `kind`). */
void replay_sum_packet(struct replay_sum *s, enum replay_pkt kind, const uint8_t *payload,
                       size_t len);

/* The name of the first function in the SQL text `sql` (`len` bytes,
 * lexed with the classifier's options `opts`) whose value is not the same
 * when the statement runs again on another server (NOW(), RAND(), UUID(),
 * CONNECTION_ID()...: the list is sqlfunc_nondeterministic's, in
 * src/sql/sqlfunc.c, and docs/failover.md), or
 * NULL when it calls none. A statement calling one is not replayable. */
const char *replay_nondeterministic(const char *sql, size_t len, unsigned opts);

#endif
