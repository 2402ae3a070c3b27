/*
 * session_ps.h: prepared statements (session_ps.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_PS_H
#define HALYARD_SESSION_PS_H

#include "session_int.h"

/* ---- session_ps.c: prepared statements */
void ps_backend_gone(struct session *s, uint32_t idx);
void ps_conn_open(struct session *s, struct bconn *bc);
void ps_conn_gone(struct session *s, struct bconn *bc);
void ps_clear(struct session *s);
bool ps_create(struct session *s);
void ps_abandon(struct session *s);
void ps_done(struct session *s);
/* The statements' command kinds (struct cmd_kind), in session_hooks.c's
 * kind table: COM_STMT_PREPARE; COM_STMT_EXECUTE and BULK_EXECUTE;
 * COM_STMT_FETCH, RESET and SEND_LONG_DATA; COM_STMT_CLOSE. */
extern const struct cmd_kind ps_kind_prepare, ps_kind_execute, ps_kind_follow, ps_kind_close;
/* session_hooks.c's between: HOOK_WAIT while a dropped request's rest
 * is still coming (it is dropped as it comes) */
enum hook_verdict ps_between(struct session *s);
void ps_close(struct session *s, const uint8_t *p, uint32_t len);
/* The digest of the text of the statement an EXECUTE (p, len) names, in
 * *digest and *digest_len (NULL, 0 when unknown: no such statement, its
 * text not kept, out of memory); the statement keeps it. */
void ps_exec_digest(struct session *s, const uint8_t *p, uint32_t len, const char **digest,
                    size_t *digest_len);
void ps_prepare_send(struct session *s);

bool ps_cache_fill(struct session *s, struct bconn *bc);
/* The commands an EXECUTE waits for where it lands: the statement's
 * schema, its sql_mode and character set, its PREPARE; a COM_STMT_RESET
 * on a backend other than the one answering. */
extern const struct internal_cmd int_ps_use, int_ps_env, int_ps_prepare, int_ps_reset;
void ps_thread_exit(void);
void ps_refuse(struct session *s, uint32_t len, uint16_t code, const char *sqlstate,
               const char *fmt, ...) HY_PRINTF(5, 6);
struct ps_backend **ps_remap_alloc(struct session *s, size_t n);
void ps_remap_apply(struct session *s, struct ps_backend **nbe, const struct config *to);

#endif /* HALYARD_SESSION_PS_H */
