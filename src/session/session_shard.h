/*
 * session_shard.h: sessions of a listener with shards = true (session_shard.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_SHARD_H
#define HALYARD_SESSION_SHARD_H

#include "session_int.h"

/* session_shard.c: sessions of a listener with shards = true */
/* The groups part (s->feat.groups): made at accept for a listener with
 * shards = true (false when out of memory; true, none made, for another
 * listener), freed with the session. Read through session_groups(): an
 * empty part for a session without one. */
bool session_groups_make(struct session *s);
/* on_view (session_view_move): before the session moves to `to`, its part
 * is made if a reload turned shards on for its listener (false when out of
 * memory: it does not move), and the learned map it holds goes when `to`
 * is another config. */
bool session_groups_view(struct session *s, const struct config *to);
void session_groups_free(struct session *s);
extern const struct sess_groups session_no_groups;
static inline const struct sess_groups *session_groups(const struct session *s)
{
    return s->feat.groups != NULL ? s->feat.groups : &session_no_groups;
}
/* The group the statement (`len` bytes of `text`) runs on: the session
 * moves there and UINT32_MAX is returned, or ROUTE_SHARD
 * (s->feat.groups->shard_ref). Out of memory: the session is closing. */
enum shard_text {
    SHARD_DB = 1u << 0,       /* the text is a database name: COM_INIT_DB, the login's */
    SHARD_STAYS = 1u << 1,    /* COMMIT, SET...: not moved by the session's schema */
    SHARD_PREPARE = 1u << 2,  /* a COM_STMT_PREPARE's text, whose key, if in parameters, is
                               * read at each EXECUTE: only a refusal by key applies to it */
    SHARD_FANOUT_OK = 1u << 3 /* a whole COM_QUERY, which may run on every group: ROUTE_FANOUT */
};
uint32_t session_shard_route(struct session *s, const char *text, size_t len, unsigned how);
/* The route stage (on_route, session_hooks.c), a listener with shards: a
 * COM_INIT_DB (hr->r NULL) to its database's group, a statement to its
 * group (session_shard_route); HOOK_PASS when it stays where it is. */
enum hook_verdict session_shard_route_stmt(struct session *s, const struct hook_route *hr,
                                           uint32_t *to);
/* (`how`: enum shard_text's bits.)
 * The same for a prepared statement's text, `schema` (its PREPARE's)
 * standing for the session's; `key`, when not NULL, is the statement's
 * key decision already made (shard_key.h, its parameters read), in place
 * of one from the text. */
struct key_out;
uint32_t session_shard_route_schema(struct session *s, const char *text, size_t len,
                                    const char *schema, const struct key_out *key);
/* A sharded listener's EXECUTE (or bulk execute) of statement st: its key
 * decision (shard_key.h) into *ko, made from the text once per config and
 * kept in st, its key parameters read from the packet (`p`, `len` bytes,
 * `avail` at hand): PS_KEY_OK (*ko for session_shard_route_schema; a
 * refusal in it too), PS_KEY_WAIT (the rest of the packet is coming),
 * PS_KEY_NOMEM. */
enum ps_key { PS_KEY_OK, PS_KEY_WAIT, PS_KEY_NOMEM };
/* The character set (enum key_cs) of the string literals of the session's
 * statement texts now, for a PREPARE to keep (pstmt.h text_cs). */
uint8_t session_shard_text_cs(const struct session *s);
struct pstmt;
struct mysql_stmt_exec;
enum ps_key session_shard_ps_key(struct session *s, struct pstmt *st, const uint8_t *p,
                                 uint32_t len, uint32_t avail, bool bulk, struct key_out *ko);
/* Answer the statement session_shard_route() refused. */
void session_shard_refuse(struct session *s);
/* At login (and COM_CHANGE_USER), to the login schema's group; false
 * when refused (the ERR sent with `seq`, the session closing). */
bool session_shard_login(struct session *s, uint8_t seq);
/* Whether `schema` (NULL: none) lives on the session's group; true for a
 * session of an unsharded listener. */
bool session_schema_here(const struct session *s, const char *schema);
/* The schema backend connections log in to: the login's when it lives on
 * the session's group, else none. */
const char *session_login_db(const struct session *s);

#endif /* HALYARD_SESSION_SHARD_H */
