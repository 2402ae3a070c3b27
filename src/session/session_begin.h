/*
 * session_begin.h: BEGIN answered by halyard on a sharded listener (session_begin.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_BEGIN_H
#define HALYARD_SESSION_BEGIN_H

#include "session_int.h"

/* session_begin.c: BEGIN answered by halyard on a sharded listener, run on
 * the group of the transaction's first statement (or, under "xa", XA START
 * on each group's) */
struct begin_form {
    char sql[64];   /* BEGIN, or START TRANSACTION with its characteristics */
    bool read_only; /* READ ONLY */
    bool snapshot;  /* WITH CONSISTENT SNAPSHOT */
};
/* BEGIN [WORK] or START TRANSACTION [characteristic, ...], alone (a ';'
 * may end it); the form, normalized. False for anything else. */
bool session_begin_parse(const char *t, size_t len, struct begin_form *f);
/* The text is the word w1 (and w2 unless NULL), then at most a ';'. */
bool session_text_is(const char *t, size_t len, const char *w1, const char *w2);
/* COMMIT [WORK] or ROLLBACK [WORK] alone; *commit says which. */
bool session_plain_end(const char *t, size_t len, bool *commit);
/* ROUTE_XA for a BEGIN halyard answers, a COMMIT or ROLLBACK of one not
 * yet bound to a group, or what session_xa_route() takes; else UINT32_MAX. */
uint32_t session_begin_route(struct session *s, const struct classify_result *r, const char *text,
                             size_t len);
/* Run ROUTE_XA's decision, its packet consumed: as session_xa_run(). */
bool session_begin_run(struct session *s);
/* The client's command's connection `bc` (backend idx) is ready (the
 * chosen hook, ensure_backend): true when the transaction is begun there
 * (or none is pending), false when a BEGIN or XA START was sent (the
 * statement runs again after it). */
bool session_begin_chosen(struct session *s, struct bconn *bc, uint32_t idx);
extern const struct internal_cmd int_begin; /* a BEGIN halyard answered, run before the statement */
extern const struct internal_cmd
    int_precommit; /* the implicit COMMIT of a BEGIN in a transaction */
/* The session ends, changes user or is reset: no BEGIN pending. */
void session_begin_forget(struct session *s);

#endif /* HALYARD_SESSION_BEGIN_H */
