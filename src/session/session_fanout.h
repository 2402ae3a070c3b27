/*
 * session_fanout.h: one statement on every group, the answers merged (session_fanout.c,
 * session_fanout_xa.c). Internal to the session module: included by the files of src/session/ that
 * use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_FANOUT_H
#define HALYARD_SESSION_FANOUT_H

#include "session_int.h"

/* session_fanout.c: one statement on every group, the answers merged */
/* The write just prepared (session_fanout_prepare_write) may generate
 * ids: each group's LAST_INSERT_ID() is read after it succeeded, and the
 * session's is what one server's would be (scatter_insert_id). first[g],
 * last[g]: where group g's rows are among those of the INSERT `text`
 * (`len` bytes, copied; a split of table `schema`.`table`); NULL for a
 * write of the same rows on every group. */
void session_fanout_want_lid(struct session *s, const uint32_t *first, const uint32_t *last,
                             const char *schema, const char *table, const char *text, size_t len);
/* Plan the statement (`len` bytes of text) into s->feat.groups->fanout: ROUTE_FANOUT
 * (a refusal is answered by session_fanout_start, naming `about`, e.g.
 * "sharded table orders without a usable orders.customer_id", when not
 * NULL). Out of memory: the session is closing. */
uint32_t session_fanout_prepare(struct session *s, const char *text, size_t len, const char *about);
/* The same for a read joining a sharded table with reference tables only
 * (shard_key.h ref_join): its join is merged like one table's rows. */
uint32_t session_fanout_prepare_joined(struct session *s, const char *text, size_t len,
                                       const char *about, bool joins_ok);
/* A statement for every group refused with `why` (a 1105's text), by
 * session_fanout_start as any refusal. ROUTE_FANOUT. */
uint32_t session_fanout_refuse(struct session *s, const char *why);
/* The route stage (on_route, session_hooks.c): a SHOW DATABASES on a
 * listener with shards is the union of every group's (ROUTE_FANOUT), or
 * refused prepared. */
enum hook_verdict session_fanout_route(struct session *s, const struct hook_route *hr,
                                       uint32_t *to);
/* `text` (len bytes, copied) on one connection of the session's user and
 * state to its group's primary, its answer the client's as it is (a read
 * the session's own connection cannot run: session_sysview_elsewhere).
 * ROUTE_FANOUT, or the primary when out of memory (the session closes). */
uint32_t session_fanout_prepare_own(struct session *s, const char *text, size_t len);
/* The fan-out just prepared answers a COM_STMT_EXECUTE: its merged rows
 * go to the client as binary rows (ps_text.h). */
void session_fanout_binary(struct session *s);
/* A write on several groups (`texts[g]`, `lens[g]` bytes, for group g of
 * the session's config; NULL: none for g), reported per group: one OK
 * (affected rows summed with `sum`, else the first group's: copies of
 * the same rows) or a 1105 naming each group's outcome. `dml`: one
 * transaction per group, committed on all when every one succeeded, else
 * rolled back on all. Takes the texts (heap; texts[g] set to NULL). Inside
 * a transaction or with autocommit off it is refused. ROUTE_FANOUT. */
uint32_t session_fanout_prepare_write(struct session *s, char **texts, const size_t *lens, bool dml,
                                      bool sum);
/* Run s->feat.groups->fanout (its request consumed): true while it runs (the client's
 * answer and the next command follow from the loop), false when it was
 * answered at once (refused, or every group failed). */
bool session_fanout_start(struct session *s);
/* A fan-out is running: the command loop waits. */
bool session_fanout_busy(const struct session *s);
/* The session ends: cancel and free its fan-out. */
void session_fanout_free(struct session *s);
/* A scatter read inside a transaction across groups ("xa", s->feat.groups->xa): each
 * group's part runs on the session's own connection holding that group's
 * branch, one group after the other, while the client's statement waits
 * in `up` and is routed again after each step (session_next_command).
 * session_fanout_xa_wait(): at ROUTE_FANOUT, ready the next group's
 * branch (ensure_backend: its connection, state, XA START) and send its
 * part (int_xread): true while the statement waits; false when every part
 * is in (or one failed): the statement is then answered as any fan-out
 * (session_fanout_start). */
bool session_fanout_xa_wait(struct session *s);
extern const struct internal_cmd int_xread; /* a group's part of the read */
/* The statement waiting in `up` is dropped (command_abandon): so is a
 * scatter read's unfinished XA run. */
void session_fanout_abandon(struct session *s);

#endif /* HALYARD_SESSION_FANOUT_H */
