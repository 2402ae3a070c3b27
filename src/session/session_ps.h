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
/* com_handlers[] (session.c): COM_STMT_PREPARE past max_prepared_stmt_count
 * is refused; COM_STMT_CLOSE, which has no answer, is done here */
enum next_step com_stmt_prepare(struct session *s, const struct next_cmd *c);
enum next_step com_stmt_close(struct session *s, const struct next_cmd *c);
void ps_close(struct session *s, const uint8_t *p, uint32_t len);
/* What a step of an execution says to the cycle (session.c's stages). */
enum ps_step {
    PS_ON,   /* the next stage goes on with it */
    PS_STOP, /* it runs (sent) or waits: the cycle stops */
    PS_NEXT, /* refused and answered, or dropped: the next command */
};
/* A statement's commands at the cycle's stages (at p, `len` bytes of
 * which `avail` are there): an execution (COM_STMT_EXECUTE,
 * COM_STMT_BULK_EXECUTE) taken at the command stage (its statement, group,
 * head; the query cache); each of them and COM_STMT_FETCH, RESET and
 * SEND_LONG_DATA routed to *idx (ps_route); in next_forward, backend idx
 * ready, the statement had there (ps_ready), and the command sent after
 * the send hooks (ps_send). */
enum ps_step ps_exec_take(struct session *s, uint8_t *p, uint32_t len, uint32_t avail);
enum ps_step ps_route(struct session *s, uint8_t *p, uint32_t len, uint32_t avail, uint32_t *idx);
enum ps_step ps_ready(struct session *s, uint8_t *p, uint32_t len, uint32_t avail, uint32_t idx);
void ps_send(struct session *s, uint8_t *p, uint32_t len, uint32_t idx);
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
void ps_prepare_ok(struct session *s, uint8_t *p, uint32_t len);
void ps_refuse(struct session *s, uint32_t len, uint16_t code, const char *sqlstate,
               const char *fmt, ...) HY_PRINTF(5, 6);
struct ps_backend **ps_remap_alloc(struct session *s, size_t n);
void ps_remap_apply(struct session *s, struct ps_backend **nbe, const struct config *to);
uint32_t ps_route_prepare(struct session *s, const uint8_t *p, uint32_t len, bool fits,
                          const struct classify_result *r);
bool request_skip_progress(struct session *s);

#endif /* HALYARD_SESSION_PS_H */
