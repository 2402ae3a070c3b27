/*
 * track.c: the changes a session-state block reports (track.h).
 *
 * Pure: reads the block through mysql_track_next() and keeps the last value
 * of each thing halyard follows, since a block may report sql_mode twice
 * (`SET sql_mode='ANSI'; SET sql_mode=''` in one text ends in one OK that
 * carries both, in order).
 */
#include <string.h>
#include <strings.h>

#include "halyard/sql/classify.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/track.h"

static bool track_is(const struct mysql_track *t, const char *name)
{
    size_t n = strlen(name);
    return t->a_len == n && strncasecmp((const char *)t->a, name, n) == 0;
}

hy_status_t track_parse(const uint8_t *block, size_t len, struct track_changes *out)
{
    struct mysql_track_it it;
    struct mysql_track t;
    hy_status_t rc;

    memset(out, 0, sizeof(*out));
    mysql_track_init(&it, block, len);
    while ((rc = mysql_track_next(&it, &t)) == HY_OK) {
        switch (t.type) {
        case MYSQL_TRACK_SYSTEM_VARIABLES:
            if (track_is(&t, "sql_mode")) {
                out->sql_mode = true;
                out->lex_opts = classify_sql_mode((const char *)t.b, t.b_len);
            }
            break;
        case MYSQL_TRACK_SCHEMA:
            out->schema = true;
            out->db = t.a;
            out->db_len = t.a_len;
            break;
        default:
            break;
        }
    }
    return rc == HY_AGAIN ? HY_OK : HY_ERROR;
}
