/*
 * inflight.c: see inflight.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "halyard/core/text.h"
#include "halyard/protocol/binlog.h"
#include "halyard/replay/inflight.h"
#include "halyard/sql/quote.h"

/* `v` in decimal at `out`; its length. */
static size_t put_dec(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* By hand, not snprintf: it runs for every write (snprintf took ~1,800
 * instructions a write, this ~150). */
size_t inflight_mark(char *out, uint64_t boot, uint32_t session, uint64_t seq)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    memcpy(out, "/*hy:", 5);
    n = 5;
    for (int i = 15; i >= 0; i--)
        out[n++] = hex[(boot >> (4 * i)) & 0xf];
    out[n++] = '-';
    n += put_dec(out + n, session);
    out[n++] = '-';
    n += put_dec(out + n, seq);
    memcpy(out + n, "*/ ", 4); /* with its NUL: 5+16+1+10+1+20+3 < INFLIGHT_MARK_MAX */
    return n + 3;
}

hy_status_t inflight_boot_new(uint64_t *out)
{
    uint64_t v = 0;
    while (v == 0) {
        ssize_t n = getrandom(&v, sizeof(v), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(v))
            return HY_ERROR;
    }
    *out = v;
    return HY_OK;
}

bool inflight_info_has(const char *info, const char *mark, size_t mark_len)
{
    if (info == NULL || mark_len == 0)
        return false;
    /* the mark ends with its own "*\/": seq 1 never matches seq 12 */
    for (const char *p = strchr(info, mark[0]); p != NULL; p = strchr(p + 1, mark[0]))
        if (strncmp(p, mark, mark_len) == 0)
            return true;
    return false;
}

bool inflight_file_began_before(const char *info, const struct gtid_pos *before)
{
    if (info == NULL)
        return false;
    const char *open = strchr(info, '[');
    const char *close = open != NULL ? strchr(open, ']') : NULL;
    if (close == NULL)
        return false;
    struct gtid_pos st;
    if (close == open + 1)
        return true; /* "[]": the first file, before any transaction */
    if (gtid_state_parse(open + 1, (size_t)(close - open - 1), &st) != HY_OK)
        return false;
    for (uint32_t i = 0; i < st.n; i++)
        if (st.g[i].seq > gtid_pos_seq(before, st.g[i].domain))
            return false;
    return true;
}

uint64_t inflight_insert_id(const char *info)
{
    static const char key[] = "INSERT_ID=";
    if (info == NULL || strncmp(info, key, sizeof(key) - 1) != 0)
        return 0;
    uint64_t id;
    return hy_str_u64(info + sizeof(key) - 1, UINT64_MAX, &id) ? id : 0; /* else: none */
}

/* ---- the row events of a write found committed */

struct inflight_map {
    uint64_t id;
    char db[68], table[68];
    struct binlog_cols cols;
};

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A TABLE_MAP's id, names and columns kept (replacing one of the same id). */
static void take_map(struct inflight_rows *r, const uint8_t *ev, size_t end)
{
    size_t off = BINLOG_HEADER_LEN + 8; /* table_id 6, flags 2 */
    struct inflight_map m;
    memset(&m, 0, sizeof(m));
    if (off + 1 > end)
        goto bad;
    m.id = le(ev + BINLOG_HEADER_LEN, 6);
    char *names[2] = {m.db, m.table};
    for (int k = 0; k < 2; k++) {
        size_t n = ev[off];
        if (off + 1 + n + 1 > end || n >= sizeof(m.db))
            goto bad;
        memcpy(names[k], ev + off + 1, n);
        names[k][n] = '\0';
        off += 1 + n + 1;
    }
    if (binlog_table_map_cols(ev, end, &m.cols) != HY_OK)
        goto bad;
    for (size_t i = 0; i < r->n_maps; i++)
        if (r->maps[i].id == m.id) {
            r->maps[i] = m;
            return;
        }
    struct inflight_map *b = realloc(r->maps, (r->n_maps + 1) * sizeof(*b));
    if (b == NULL)
        goto bad;
    r->maps = b;
    r->maps[r->n_maps++] = m;
    return;
bad:
    r->failed = r->done = true;
}

struct row_count {
    struct inflight_rows *r;
    unsigned images;
    bool first; /* keeping the first row's values */
};

static void count_cb(void *arg, unsigned want, uint8_t type, const uint8_t *v, size_t len)
{
    struct row_count *c = arg;
    if (want == 0)
        c->images++;
    if (!c->first || want >= BINLOG_COLS_MAX)
        return;
    bool integer = type == BINLOG_T_TINY || type == BINLOG_T_SHORT || type == BINLOG_T_INT24 ||
                   type == BINLOG_T_LONG || type == BINLOG_T_LONGLONG;
    c->r->first_int[want] = integer && v != NULL && len <= 8;
    if (c->r->first_int[want])
        c->r->first_val[want] = le(v, len);
}

static void take_rows(struct inflight_rows *r, const uint8_t *ev, size_t end, uint8_t type)
{
    if (end < BINLOG_HEADER_LEN + 6)
        goto bad;
    uint64_t id = le(ev + BINLOG_HEADER_LEN, 6);
    struct inflight_map *m = NULL;
    for (size_t i = 0; i < r->n_maps && m == NULL; i++)
        if (r->maps[i].id == id)
            m = &r->maps[i];
    if (m == NULL || m->cols.n == 0)
        goto bad;
    if (r->rows_table == 0)
        r->rows_table = id + 1; /* 0: none yet */
    else if (r->rows_table != id + 1)
        r->tables_many = true;
    bool write = type == BINLOG_WRITE_ROWS || type == BINLOG_WRITE_ROWS_V1;
    bool update = type == BINLOG_UPDATE_ROWS || type == BINLOG_UPDATE_ROWS_V1;
    /* the first inserted row's; failing one, the first updated row's
     * (INSERT ... ON DUPLICATE KEY UPDATE answers that row's id) */
    bool first = r->want_first &&
                 ((write && !r->first_written) || (update && r->dup_counts_2 && !r->have_first));
    unsigned cols[BINLOG_COLS_MAX];
    unsigned ncols = first ? m->cols.n : 1;
    for (unsigned i = 0; i < ncols; i++)
        cols[i] = i;
    struct row_count c = {.r = r, .first = first};
    if (first) {
        /* the first row with every column, then the event's rows counted */
        memset(r->first_int, 0, sizeof(r->first_int));
        hy_status_t st = binlog_rows_scan(ev, end, &m->cols, cols, ncols, 1, count_cb, &c);
        if (st == HY_ERROR)
            goto bad;
        r->have_first = true;
        r->first_written = write;
        r->first_n = m->cols.n;
        snprintf(r->db, sizeof(r->db), "%s", m->db);
        snprintf(r->table, sizeof(r->table), "%s", m->table);
        c.first = false;
        c.images = 0;
        ncols = 1;
    }
    if (binlog_rows_scan(ev, end, &m->cols, cols, 1, UINT32_MAX, count_cb, &c) != HY_OK)
        goto bad;
    uint64_t rows = update ? c.images / 2 : c.images;
    r->affected += update && r->dup_counts_2 ? 2 * rows : rows;
    return;
bad:
    r->failed = r->done = true;
}

void inflight_rows_event(struct inflight_rows *r, const uint8_t *ev, size_t len)
{
    if (r->done)
        return;
    if (len < BINLOG_HEADER_LEN) {
        r->failed = r->done = true;
        return;
    }
    uint8_t type = ev[4];
    if (type == BINLOG_FORMAT_DESCRIPTION) {
        r->crc = binlog_fde_checksum_alg(ev, len) == 1;
        return;
    }
    size_t end = r->crc ? len - BINLOG_CRC_LEN : len;
    if (r->crc && len < BINLOG_HEADER_LEN + BINLOG_CRC_LEN) {
        r->failed = r->done = true;
        return;
    }
    switch (type) {
    case BINLOG_TABLE_MAP:
        take_map(r, ev, end);
        return;
    case BINLOG_WRITE_ROWS_V1:
    case BINLOG_UPDATE_ROWS_V1:
    case BINLOG_DELETE_ROWS_V1:
    case BINLOG_WRITE_ROWS:
    case BINLOG_UPDATE_ROWS:
    case BINLOG_DELETE_ROWS:
        take_rows(r, ev, end, type);
        return;
    case BINLOG_XID:
    case BINLOG_GTID:
        r->done = true;
        return;
    case BINLOG_QUERY:
        /* the COMMIT of a non-transactional table's group: the body ends
         * with the statement's text */
        if (end >= BINLOG_HEADER_LEN + 6 && memcmp(ev + end - 6, "COMMIT", 6) == 0)
            r->done = true;
        return;
    default:
        if (type >= BINLOG_WRITE_ROWS_COMPRESSED_V1 && type <= BINLOG_DELETE_ROWS_COMPRESSED)
            r->failed = r->done = true;
        return;
    }
}

void inflight_rows_free(struct inflight_rows *r)
{
    free(r->maps);
    r->maps = NULL;
    r->n_maps = 0;
}

bool inflight_is_insert(const char *sql, size_t len)
{
    size_t i = 0;
    for (;;) {
        while (i < len && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r'))
            i++;
        if (i + 1 < len && sql[i] == '/' && sql[i + 1] == '*') {
            const char *e = memmem(sql + i + 2, len - i - 2, "*/", 2);
            if (e == NULL)
                return false;
            i = (size_t)(e - sql) + 2;
            continue;
        }
        break;
    }
    return (len - i >= 6 && strncasecmp(sql + i, "INSERT", 6) == 0) ||
           (len - i >= 7 && strncasecmp(sql + i, "REPLACE", 7) == 0);
}

/* One table's row of inflight_triggers_sql: `d` and `t` quoted. */
static int triggers_row(char *out, size_t cap, unsigned i, const char *d, const char *t)
{
    /* GRANTEE is 'user'@'host'; CURRENT_USER() is user@host */
    static const char me[] = "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
                             "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";
    return snprintf(
        out, cap,
        "%sSELECT %u, "
        "(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND "
        "TABLE_NAME = %s AND TABLE_TYPE = 'BASE TABLE'), "
        "(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = %s AND "
        "EVENT_OBJECT_TABLE = %s), "
        "(SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s AND "
        "PRIVILEGE_TYPE = 'TRIGGER') + "
        "(SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = %s AND "
        "TABLE_SCHEMA = %s AND PRIVILEGE_TYPE = 'TRIGGER') + "
        "(SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = %s AND "
        "TABLE_SCHEMA = %s AND TABLE_NAME = %s AND PRIVILEGE_TYPE = 'TRIGGER')",
        i > 0 ? " UNION ALL " : "", i, d, t, d, t, me, me, d, me, d, t);
}

size_t inflight_triggers_sql(char *out, size_t cap, const char tables[][INFLIGHT_TABLE_MAX],
                             unsigned n)
{
    size_t len = 0;
    if (n == 0 || cap == 0)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        const char *dot = strrchr(tables[i], '.');
        char schema[INFLIGHT_TABLE_MAX], d[2 * INFLIGHT_TABLE_MAX + 2],
            t[2 * INFLIGHT_TABLE_MAX + 2];
        if (dot == NULL || dot == tables[i] || dot[1] == '\0')
            return 0;
        memcpy(schema, tables[i], (size_t)(dot - tables[i]));
        schema[dot - tables[i]] = '\0';
        if (sql_quote(d, sizeof(d), schema, SQ_BACKSLASH) == 0 ||
            sql_quote(t, sizeof(t), dot + 1, SQ_BACKSLASH) == 0)
            return 0;
        int w = triggers_row(out + len, cap - len, i, d, t);
        if (w < 0 || (size_t)w >= cap - len)
            return 0;
        len += (size_t)w;
    }
    return len;
}

const char *inflight_triggers_why(long base, long triggers, long grants)
{
    if (base <= 0)
        return "is not a base table monitor.user sees (a view, or monitor.user lacks the "
               "TRIGGER privilege on it, which it needs to see the table's triggers)";
    if (triggers > 0)
        return "has triggers: a BEFORE trigger that writes a table puts its own statement "
               "in the binary log in the write's place, without the mark";
    if (grants <= 0)
        return "may have triggers monitor.user cannot see (it lacks the TRIGGER privilege "
               "on it)";
    return NULL;
}
