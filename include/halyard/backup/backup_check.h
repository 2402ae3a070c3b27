/*
 * backup_check.h: a full backup is never quietly partial.
 *
 * mariadb-dump does not fail on what its account may not read: it dumps
 * only the schemas SHOW DATABASES shows it, and without TRIGGER it leaves
 * the triggers out, exiting 0 either way. So backup_full.c asks two
 * questions here.
 *
 * Before the dump, as the account that dumps (so its default role is
 * enabled as it will be for mariadb-dump): SHOW GRANTS, which lists the
 * account's grants and those of its enabled roles, nested roles included.
 * The privileges below must be held ON *.* by one of them (ALL PRIVILEGES
 * counts). Measured on MariaDB 10.11 with --single-transaction --gtid
 * --master-data=2 --routines --events --triggers --all-databases:
 *
 *   SELECT     without it the dump fails (SHOW FIELDS FROM mysql.user)
 *   SHOW VIEW  without it the dump fails (SHOW CREATE TABLE mysql.user)
 *   EVENT      without it the dump fails (SHOW EVENTS in mysql)
 *   TRIGGER    without it the dump exits 0 with every trigger missing
 *
 * RELOAD, LOCK TABLES and BINLOG MONITOR are not needed: with a binary log
 * the server gives the dump's snapshot position (Binlog_snapshot_file) and
 * mariadb-dump takes no global read lock. Then SHOW DATABASES (which, with
 * global SELECT, lists every schema): the source's schemas.
 *
 * After the dump: every schema the source had must have its CREATE
 * DATABASE line in the dump, but information_schema, performance_schema
 * and sys, which mariadb-dump never dumps. A schema missing from the dump
 * fails the backup unless it was dropped meanwhile, which a second check
 * (the privileges again, then SHOW DATABASES) tells.
 */
#ifndef HALYARD_BACKUP_CHECK_H
#define HALYARD_BACKUP_CHECK_H

#include <stddef.h>

#include "halyard/core/core.h"

struct sqlclient_target;

/* The global privileges a full backup's account needs, as bits. */
enum {
    BACKUP_PRIV_SELECT = 1u << 0,
    BACKUP_PRIV_SHOW_VIEW = 1u << 1,
    BACKUP_PRIV_TRIGGER = 1u << 2,
    BACKUP_PRIV_EVENT = 1u << 3,
    BACKUP_PRIV_ALL = (1u << 4) - 1,
};

/* A set of schema names (heap strings), in insertion order. */
struct backup_schemas {
    char **names;
    size_t n, cap;
};

hy_status_t backup_schemas_add(struct backup_schemas *s, const char *name, size_t len) HY_MUSTCHECK;
bool backup_schemas_has(const struct backup_schemas *s, const char *name);
void backup_schemas_free(struct backup_schemas *s);

/* The bits of BACKUP_PRIV_ALL one SHOW GRANTS line grants ON *.* (0 for a
 * role grant, a grant on a schema or table, USAGE). Pure. */
unsigned backup_check_grant_line(const char *line);
/* "SELECT, TRIGGER": the privileges of BACKUP_PRIV_ALL not in `have`. */
void backup_check_missing(unsigned have, char *out, size_t cap);

/* The dump's schemas, from its CREATE DATABASE lines, fed chunk by chunk
 * (a line may be cut between two chunks). */
struct backup_dump_scan {
    char line[512]; /* the start of the current line */
    size_t len;     /* bytes of the current line seen (may exceed sizeof(line)) */
    struct backup_schemas found;
    bool nomem;
};

void backup_dump_scan_feed(struct backup_dump_scan *s, const char *p, size_t n);
/* The name in a line `CREATE DATABASE ... `name` ...` (`` unescaped) into
 * out; false when the line is not one. Pure. */
bool backup_dump_create_database(const char *line, size_t len, char *out, size_t cap);

/* Whether mariadb-dump --all-databases dumps schema `name` (not
 * information_schema, performance_schema, sys). */
bool backup_schema_dumped(const char *name);
/* The schemas of `source` (that mariadb-dump dumps) absent from `dump`,
 * "`a`, `b`" into out (cut at cap, with "..."); the count. Pure. */
size_t backup_schemas_missing(const struct backup_schemas *source,
                              const struct backup_schemas *dump, char *out, size_t cap);

/* What one check of the account found. */
struct backup_account {
    char account[160];             /* as the server names it: "bk@%" */
    char missing[96];              /* the privileges it lacks, "" = none */
    unsigned have;                 /* BACKUP_PRIV_* held globally */
    struct backup_schemas schemas; /* SHOW DATABASES */
};

/* Log in to `t` (blocking, on a loop of its own; timeout_ms per step), run
 * SHOW GRANTS and SHOW DATABASES. HY_ERROR: `err` says what failed (the
 * login, a statement); `out` is then empty. The caller frees out->schemas. */
hy_status_t backup_account_check(const struct sqlclient_target *t, int timeout_ms,
                                 struct backup_account *out, char *err, size_t errlen) HY_MUSTCHECK;

#endif /* HALYARD_BACKUP_CHECK_H */
