/*
 * session_kill.h: KILL statements halyard answers itself (session_kill.c;
 * session_kill_parse.c reads them, session_kill_chain.c runs one in a text).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_KILL_H
#define HALYARD_SESSION_KILL_H

#include "halyard/sql/quote.h"

#include "session_int.h"

/* ---- session_kill.c: the KILL statements run by halyard's ids ---------
 * KILL [QUERY|CONNECTION] `id` (COM_PROCESS_KILL's too), KILL QUERY ID, KILL
 * USER, and the end of the sessions a KILL USER killed (`killed` threads
 * on the primary). `len`: the command's payload bytes. */
struct kill_stmt;
struct kill_user;
void command_kill(struct session *s, uint32_t len, uint32_t id, bool query, const char *modifier,
                  bool as_com_process_kill);
void command_kill_qid(struct session *s, uint32_t len, const char *sql, const struct kill_stmt *k);
void command_kill_user(struct session *s, uint32_t len, const struct kill_user *ku);
void command_kill_user_answered(struct session *s, uint64_t killed);
/* Our KILL no longer holds its target: answered (`accepted`: not refused
 * for no such thread or not the owner), or never to be. */
void command_kill_unhold(struct session *s, bool accepted);
/* A KILL statement halyard answers itself. */
enum kill_kind {
    KILL_NONE, /* not one: routed as it is (KILL QUERY ID, CURRENT_USER...) */
    KILL_ID,   /* KILL [HARD|SOFT] [QUERY|CONNECTION] id: k->id, k->query */
    KILL_USER, /* KILL [HARD|SOFT] [CONNECTION] USER name[@host]: k->user */
    KILL_QID,  /* KILL [HARD|SOFT] QUERY ID expr: k->qid (a number), else k->expr */
};
struct kill_stmt {
    const char *modifier; /* "", "HARD " or "SOFT " */
    bool query;
    uint32_t id;
    struct kill_user user;
    bool qid_number;             /* KILL_QID: the id is a number, k->qid */
    uint64_t qid;                /* ... */
    uint32_t expr_off, expr_len; /* ... else the expression, in the text */
};
enum kill_kind parse_kill(const char *sql, size_t len, unsigned lex_opts, struct kill_stmt *k);
/* com_handlers[] (session.c): COM_PROCESS_KILL, and a COM_QUERY that is a
 * KILL by a halyard id (any other statement is routed) */
enum next_step com_process_kill(struct session *s, const struct next_cmd *c);
enum next_step com_query(struct session *s, const struct next_cmd *c);
/* A multi-statement text (lexed with `opts`, CLO_*) that runs KILL <id>
 * statements among others, each of them a KILL_ID, is run a part at a
 * time (session_kill_chain.c): true, with the first part sql[0,
 * *first_len) (the first KILL alone, or the statements before it) and
 * the rest from *rest_off. False for a text of one statement, without a
 * KILL, with another KILL form, or with a statement that may hold
 * semicolons of its own (a compound statement, CREATE, PREPARE...). */
bool kill_split(const char *sql, size_t len, unsigned opts, size_t *first_len, size_t *rest_off);
/* Our own KILL (command_kill) is answered by the backend in terms of its
 * thread id; when it refuses, the client must read the id it gave. False
 * while the whole answer packet is not there yet; s->io.resp_done when it
 * was answered here. session_filter.h's kill_filter runs it. */
bool command_kill_answer(struct session *s, uint32_t len);
/* A KILL USER's answer, from its first packet in `down`, as
 * command_kill_answer: to a reader with PROCESS that may not kill another
 * account's threads, 1095 if it has a thread not halyard's or a halyard
 * session, else OK. */
bool command_kill_user_answer(struct session *s, uint32_t len);
/* The answer to a KILL QUERY ID passed on to the primary, whose query's
 * thread serves session kill.qid_mark: an OK marks that session
 * (registry_mark_killed). false: its first byte is not there yet. */
bool command_kill_qid_ok(struct session *s, uint32_t len);
/* What KILL USER reads first on the primary: the account's threads
 * that are not halyard's, and SHOW GRANTS when a role may give the kill
 * privilege. */
extern const struct internal_cmd int_kill_user, int_kill_grant;
/* What KILL QUERY ID reads first: the value of its expression. */
extern const struct internal_cmd int_kill_qid;

/* KILL USER of another account: what it asks the primary first, in one
 * value: the account `user`'s threads there (from client host `host`
 * when not NULL) that are none of halyard's (`threads`, its n
 * connections there), whether the reader sees other
 * accounts' threads (PROCESS), whether it may kill them (SUPER or
 * CONNECTION ADMIN granted to it), whether it has a role enabled (whose
 * privileges only SHOW GRANTS tells). It is read on the sender's
 * connection: the names are quoted for its sql_mode (`mode`). malloc'd;
 * NULL when the name cannot be quoted. */
#define KILL_USER_CONNS_MAX 4096u
char *kill_user_sql(const char *user, const char *host, const struct connreg_row *threads, size_t n,
                    enum sql_quote_mode mode);
/* Its answer, "N,P,K,R": true when it reads as that. */
bool kill_user_read(const char *value, uint64_t *threads, bool *process, bool *may_kill,
                    bool *roles);
/* A line of SHOW GRANTS (len bytes, the first column's value): true when
 * it grants on *.* a privilege that kills other accounts' threads
 * (ALL PRIVILEGES, SUPER, CONNECTION ADMIN). SHOW GRANTS lists the
 * grants of the roles enabled too, which information_schema does not. */
bool kill_grants_line(const char *line, size_t len);
/* Nothing goes back to the pool while a KILL for this session is on its
 * way to the server (registry.h): the thread it names must still be this
 * session's when it lands. False: the idle session keeps its connections
 * (the worker's wakeup tries again, session_kill_released); true: its
 * thread is unpublished (backend_release publishes it again). A session
 * KILL CONNECTION named gives nothing back: it ends. */
bool session_kill_may_release(struct session *s);

/* session_kill_chain.c: a KILL in a multi-statement text, run a part at a
 * time. The COM_QUERY at up.scan (payload p, *len bytes, whole and
 * alone in `up`) is cut down to its first part when it is such a text. */
void kill_chain_begin(struct session *s, uint8_t *p, uint32_t *len);
/* A part's answer is over and nothing waits in `up`: the next part is
 * put there, or the text is over (an error ended it, or the last part was
 * answered): HY_OK either way; HY_NOMEM when no buffer could hold the next
 * part (the text is dropped, and the caller ends the session). */
hy_status_t kill_chain_step(struct session *s);
/* The KILL text's next part between commands (the hooks' between, its
 * kill-chain row). */
enum hook_verdict kill_chain_between(struct session *s);
/* The sequence id an answer halyard makes itself goes out with, given
 * `seq` (1 for its first packet): moved on past the parts answered before
 * inside such a text, else `seq`. */
uint8_t kill_chain_seq(const struct session *s, uint8_t seq);
/* An OK halyard makes itself goes out with sequence id `seq`: inside such
 * a text, SERVER_MORE_RESULTS_EXISTS when more parts follow (its flags
 * get the value returned), else 0. */
uint16_t kill_chain_ok(struct session *s, uint8_t seq);
/* The last packet of a part's answer from a backend (payload pl, `avail`
 * of its bytes in the buffer), just fed to the tracker: its OK or EOF
 * says more results follow when more parts do. */
void kill_chain_answer_end(struct session *s, uint8_t *pl, uint32_t avail);
void kill_chain_free(struct session *s);
/* A command ended (on_done, session_hooks.c): the process list shows no
 * text of its from now on; answered without command_kill_answer, its
 * KILL's hold on the target is broken. */
void command_kill_done(struct session *s);
/* A command goes to its backend (on_begin, session_hooks.c): the KILL
 * state of the one before (its ids, a hold, a KILL USER's wait) goes. */
void command_kill_begin(struct session *s);
/* The session ends (on_leave, session_hooks.c): a KILL's hold on its
 * target and a KILL USER's wait let go, its chain of KILLs dropped, and
 * it leaves the registry (no other worker finds it from here on). */
void command_kill_leave(struct session *s);
/* The session begins (on_create, session_hooks.c): its id, and its entry
 * in the registry that KILL and the process list read, published. */
bool command_kill_join(struct session *s);
/* Whether a KILL CONNECTION marked the session to end (killed,
 * session_hooks.c): between commands, or at a worker's shutdown. */
bool command_kill_requested(const struct session *s);
/* A command taken again after its wait (interrupted, session_hooks.c):
 * true when a KILL QUERY reached it while it waited (the mark taken), and
 * no KILL CONNECTION is on its way (that one ends the session). */
bool command_kill_interrupted(struct session *s);
/* A new command (on_take): a leftover text of one answered here leaves
 * the process list. Not when the command runs again after halyard's own
 * read for it (the process list's rows read on another backend,
 * int_syspeer): its client's text stays published, or another worker
 * reading the list at that moment would show the text halyard sent there
 * in its place. */
void command_kill_take(struct session *s, const struct hook_cmd *hc);
/* A command sent (on_send): one halyard rewrote (its CONNECTION_ID(), a
 * process list's names) shows the client's text in the process list, not
 * the one sent (until command_kill_done). */
void command_kill_send(struct session *s, const struct hook_cmd *hc);

#endif /* HALYARD_SESSION_KILL_H */
