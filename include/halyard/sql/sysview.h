/*
 * sysview.h: a statement's reads of what a server says of its own clients,
 * which halyard answers in its clients' terms (issue 33): the process list
 * (SHOW [FULL] PROCESSLIST, information_schema.PROCESSLIST) and the status
 * variables (SHOW [GLOBAL|SESSION] STATUS, information_schema.SESSION_STATUS
 * and GLOBAL_STATUS).
 *
 * sysview_scan() finds them with the classifier's lexer (so a name in a
 * string or a comment is none): the SHOW forms, and each reference to one
 * of the three tables as `information_schema.NAME` (any case, quoted or
 * not). sysview_rewrite() puts a derived table of the caller's in place of
 * each reference, keeping the name the client's statement uses for it
 * (its alias, or the table's own name as an alias). Pure: no I/O.
 */
#ifndef HALYARD_SYSVIEW_H
#define HALYARD_SYSVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sysview_table {
    SYSVIEW_PROCESSLIST,
    SYSVIEW_SESSION_STATUS,
    SYSVIEW_GLOBAL_STATUS,
    SYSVIEW__COUNT
};

enum sysview_show {
    SYSVIEW_SHOW_NONE,
    SYSVIEW_SHOW_PROCESSLIST, /* SHOW [FULL] PROCESSLIST */
    SYSVIEW_SHOW_STATUS,      /* SHOW [GLOBAL | SESSION | LOCAL] STATUS [LIKE ... | WHERE ...] */
};

#define SYSVIEW_REFS_MAX 8

struct sysview_ref {
    uint32_t off, len;           /* `information_schema.NAME`, from its first byte to its last */
    uint32_t name_off, name_len; /* NAME as written (quotes included) */
    uint8_t table;               /* enum sysview_table */
    bool aliased;                /* an alias follows (AS x, or x) */
};

struct sysview_scan {
    enum sysview_show show;
    /* The text also names the server's other views keyed by its thread
     * ids (InnoDB's transactions and locks, the metadata locks,
     * performance_schema): its process list stays the server's, so that
     * a join on thread ids still matches. */
    bool thread_views;
    bool overflow; /* more than SYSVIEW_REFS_MAX references: none rewritten */
    uint32_t n;
    struct sysview_ref ref[SYSVIEW_REFS_MAX];
};

/* `lex_opts`: the classifier's CLO_* (ANSI_QUOTES, NO_BACKSLASH_ESCAPES). */
void sysview_scan(const char *sql, size_t len, unsigned lex_opts, struct sysview_scan *out);

/* Whether the text may name any of them (a cheap look first). */
bool sysview_mentioned(const char *sql, size_t len);

/* The text with each reference in `sc` of a table whose derived[table] is
 * not NULL replaced by `(derived[table])`, followed by ` AS NAME` when the
 * client gave it no alias. Writes at most `cap` bytes; returns the length
 * of the whole rewrite (more than `cap`: it did not fit). */
size_t sysview_rewrite(const char *sql, size_t len, const struct sysview_scan *sc,
                       const char *const derived[SYSVIEW__COUNT], char *out, size_t cap);

#endif /* HALYARD_SYSVIEW_H */
