/*
 * track.h: what a backend's session tracking says changed.
 *
 * A backend that tracks sql_mode (session_track_system_variables) reports
 * each change in the session-state block of the OK that ends the statement
 * (mysql_track_next() walks the block). track_parse() reads such a block and
 * returns the changes halyard acts on; it calls nothing back: the session
 * decides what to do with them.
 */
#ifndef HALYARD_TRACK_H
#define HALYARD_TRACK_H

#include "halyard/core/core.h"

struct track_changes {
    bool sql_mode;     /* the block reports sql_mode */
    unsigned lex_opts; /* with sql_mode: classify_sql_mode() of the last value */
    bool schema;       /* the block reports a new default schema */
    const uint8_t *db; /* with schema: the name, pointing into the block */
    size_t db_len;
};

/* Read a session-state block. HY_OK with *out filled (all false when the
 * block reports nothing halyard uses); HY_ERROR when the block is malformed,
 * *out then holding what came before the fault. */
hy_status_t track_parse(const uint8_t *block, size_t len, struct track_changes *out) HY_MUSTCHECK;

#endif /* HALYARD_TRACK_H */
