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
 * not) where the statement's result is an answer to the client: in a
 * SELECT, or the SELECT part of INSERT, REPLACE or CREATE TABLE; never in
 * CREATE VIEW, CREATE TABLE ... LIKE, DESCRIBE, SHOW or a stored body,
 * which the server stores or describes as the client wrote it. sysview_rewrite() puts a derived
 * table of the caller's in place of each reference, keeping the name the client's statement uses
 * for it (its alias, or the table's own name as an alias). In SHOW [scope] STATUS WHERE ...,
 * each column reference `Value` is a reference too (SYSVIEW_STATUS_VALUE), for the caller's
 * expression of the values it shows: the rows of SHOW STATUS are changed on their way back, after
 * the server's WHERE chose them. Pure: no I/O.
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
    SYSVIEW__COUNT,
    /* not a table: a `Value` in SHOW STATUS's WHERE, which must read the
     * value the client is shown, not the server's */
    SYSVIEW_STATUS_VALUE = SYSVIEW__COUNT,
    SYSVIEW__REFS
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
    bool show_full; /* SHOW FULL PROCESSLIST: Info is not cut to 100 characters */
    /* The text also names the server's other views keyed by its thread
     * ids (InnoDB's transactions and locks, the metadata locks,
     * performance_schema): its process list stays the server's, so that
     * a join on thread ids still matches. */
    bool thread_views;
    bool overflow; /* more than SYSVIEW_REFS_MAX references: none rewritten */
    /* a SHOW PROCESSLIST or SHOW STATUS after the text's first statement
     * (not in a stored object's body), whose rows halyard does not map */
    bool show_later;
    uint32_t n;
    struct sysview_ref ref[SYSVIEW_REFS_MAX];
};

/* `lex_opts`: the classifier's CLO_* (ANSI_QUOTES, NO_BACKSLASH_ESCAPES). */
void sysview_scan(const char *sql, size_t len, unsigned lex_opts, struct sysview_scan *out);

/* Whether the text may name any of them (a cheap look first). */
bool sysview_mentioned(const char *sql, size_t len);

/* The text with each reference in `sc` of a table whose derived[table] is
 * not NULL replaced by `(derived[table])`, followed by ` AS NAME` when the
 * client gave it no alias (a `Value` of SHOW STATUS: none). Writes at
 * most `cap` bytes; returns the length of the whole rewrite (more than
 * `cap`: it did not fit). */
size_t sysview_rewrite(const char *sql, size_t len, const struct sysview_scan *sc,
                       const char *const derived[SYSVIEW__REFS], char *out, size_t cap);

/* Query ids (the process list's QUERY_ID, KILL QUERY ID) are each
 * server's own, one sequence per server. Through halyard the primary's
 * are shown as they are; a statement's on another backend (a read on a
 * replica) is shown as SYSVIEW_QID_BASE + the backend's index times
 * SYSVIEW_QID_STRIDE + its server's query id, which KILL QUERY ID maps
 * back to that backend and id. A server's ids past SYSVIEW_QID_STRIDE are
 * shown as NULL there (no id that KILL could take for another's). */
#define SYSVIEW_QID_BASE     (1ULL << 62)
#define SYSVIEW_QID_STRIDE   (1ULL << 48)
#define SYSVIEW_QID_BACKENDS 4096u /* 2^62 + 4096 * 2^48 < 2^63: a positive BIGINT */

/* Backend `idx`'s query id `qid` as halyard shows it; 0 when it has none
 * (qid past the stride, or idx past SYSVIEW_QID_BACKENDS). */
static inline uint64_t sysview_qid_encode(uint32_t idx, uint64_t qid)
{
    if (idx >= SYSVIEW_QID_BACKENDS || qid >= SYSVIEW_QID_STRIDE)
        return 0;
    return SYSVIEW_QID_BASE + (uint64_t)idx * SYSVIEW_QID_STRIDE + qid;
}

/* A query id a client gave: true, with the backend and its id there, when
 * it is one sysview_qid_encode() made; false for a server's own. */
static inline bool sysview_qid_decode(uint64_t v, uint32_t *idx, uint64_t *qid)
{
    if (v < SYSVIEW_QID_BASE || v >= SYSVIEW_QID_BASE + SYSVIEW_QID_BACKENDS * SYSVIEW_QID_STRIDE)
        return false;
    *idx = (uint32_t)((v - SYSVIEW_QID_BASE) / SYSVIEW_QID_STRIDE);
    *qid = (v - SYSVIEW_QID_BASE) % SYSVIEW_QID_STRIDE;
    return true;
}

#endif /* HALYARD_SYSVIEW_H */
