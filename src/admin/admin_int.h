/*
 * admin_int.h: what the admin socket's files share (admin.c the socket and
 * its jobs, admin_cmd.c the commands, admin_parse.c the command line,
 * admin_render.c the answers, admin_table.c their shapes). Not part of any
 * other module's interface.
 */
#ifndef HALYARD_ADMIN_INT_H
#define HALYARD_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/admin/admin.h"
#include "halyard/core/core.h"
#include "halyard/core/textbuf.h"

/* A text table: the first row is the header; columns are left-aligned and
 * separated by two spaces; the last column is not padded. */
struct table {
    size_t ncols;
    char **cells; /* row-major; a NULL cell (out of memory) shows as "?" */
    size_t n;
    size_t cap;
};

void table_init(struct table *t, size_t ncols);
void table_cell(struct table *t, const char *s);
void table_cellf(struct table *t, const char *fmt, ...) HY_PRINTF(2, 3);
void table_render(const struct table *t, struct textbuf *sb);
void table_free(struct table *t);

/* Name/value output: rows of a two-column table, or members of one JSON
 * object. */
struct kv {
    struct textbuf *sb;
    struct table t;
    bool json;
    bool first;
};

void kv_begin(struct kv *kv, struct textbuf *sb, bool json, const char *keyname);
void kv_key(struct kv *kv, const char *key);
void kv_str(struct kv *kv, const char *key, const char *v);
void kv_u64(struct kv *kv, const char *key, uint64_t v);
void kv_int(struct kv *kv, const char *key, long long v);
void kv_bool(struct kv *kv, const char *key, bool v);
void kv_end(struct kv *kv);

/* A list of groups: in JSON an array of objects, in a table rows named
 * "list.[i].key". */
struct kv_list {
    struct kv *kv;
    const char *name;
    size_t i;
    char prefix[128];
};

void list_begin(struct kv_list *l, struct kv *kv, const char *name);
void elem_begin(struct kv_list *l);
const char *elem_key(struct kv_list *l, const char *key, char *buf, size_t len);
void elem_end(struct kv_list *l);
void list_end(struct kv_list *l);

/* The end of a job's answer: the workers that did not answer in time, then
 * (JSON) the closing brackets, or (text) a comment line per worker. */
void json_missing_end(struct textbuf *sb, const int *missing, size_t n_missing);
void text_missing(struct textbuf *sb, const int *missing, size_t n_missing, const char *what);

/* The line as an error message may quote it: at most 64 columns, escaped. */
void quote_line(char *out, size_t len, const char *line, size_t n);

/* ---- the commands (admin_cmd.c) ---- */

/* The words of a command line after the ones that named the command. */
struct admin_words {
    const char *const *tok;
    const size_t *len;
    size_t n;
};

struct backend_rt;

/* A command being answered: what its handler reads and fills. */
struct admin_req {
    struct status *st;
    const struct admin_cmd *cmd;
    const char *shown; /* the line, quoted (quote_line), for the log */
    unsigned uid;      /* the client */
    int pid;
    struct textbuf *out;         /* the answer */
    struct backend_rt *drain_rt; /* ADMIN_REPLY_DRAIN: the backend waited for */
};

/* How the answer of a command goes out. */
enum admin_reply {
    ADMIN_REPLY_NOW,      /* it is in req->out */
    ADMIN_REPLY_WORKERS,  /* gathered from the workers (admin.c's jobs) */
    ADMIN_REPLY_FAILOVER, /* once the failover thread is done (failover_exec.h) */
    ADMIN_REPLY_DRAIN,    /* once req->drain_rt's server is idle */
};

#define ADMIN_ARGS_ANY 255

/* One command: the words that name it, its arguments, its line in `help`,
 * and what it does (pgbouncer's cmd_list[]). */
struct admin_verb_def {
    const char *words; /* "show digests": matched word by word, case-insensitively */
    /* How many words may follow; with fewer or more the line is not this
     * command. */
    unsigned char min_args, max_args;
    /* Reads the arguments into cmd; NULL when there are none. HY_ERROR:
     * `err` holds the answer, "ERR ...". HY_AGAIN: not this command. */
    hy_status_t (*parse)(struct admin_cmd *cmd, const struct admin_words *args, char *err,
                         size_t errlen);
    enum admin_reply (*run)(struct admin_req *r);
    /* Its outcome goes to the log as an audit line (log_audit) when it is
     * known, not as the command comes in. */
    bool logs_outcome;
    const char *usage, *help; /* its line in `help`; NULL: not listed */
};

/* Indexed by enum admin_verb. */
extern const struct admin_verb_def admin_verbs[ADMIN_N_VERBS];

#endif /* HALYARD_ADMIN_INT_H */
