/*
 * binlog.c: see binlog.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "halyard/protocol/binlog.h"

#define QUERY_POST_HEADER 13 /* thread_id 4, exec_time 4, db_len 1, error_code 2, status_len 2 */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

hy_status_t binlog_header_parse(const uint8_t *ev, size_t len, struct binlog_header *h)
{
    if (len < BINLOG_HEADER_LEN)
        return HY_ERROR;
    h->timestamp = rd32(ev);
    h->type = ev[4];
    h->server_id = rd32(ev + 5);
    h->size = rd32(ev + 9);
    h->log_pos = rd32(ev + 13);
    h->flags = rd16(ev + 17);
    return h->size == len ? HY_OK : HY_ERROR;
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* zlib takes uInt lengths */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

bool binlog_crc_ok(const uint8_t *ev, size_t len)
{
    if (len < BINLOG_HEADER_LEN + BINLOG_CRC_LEN)
        return false;
    return crc_of(ev, len - BINLOG_CRC_LEN) == rd32(ev + len - BINLOG_CRC_LEN);
}

void binlog_crc_set(uint8_t *ev, size_t len)
{
    wr32(ev + len - BINLOG_CRC_LEN, crc_of(ev, len - BINLOG_CRC_LEN));
}

void binlog_set_pos_flags(uint8_t *ev, uint32_t log_pos, uint16_t flags)
{
    wr32(ev + 13, log_pos);
    wr16(ev + 17, flags);
}

int binlog_fde_checksum_alg(const uint8_t *ev, size_t len)
{
    /* version 2, server version 50, create time 4, header length 1, then
     * the post-header lengths, the algorithm and the CRC. */
    if (len < BINLOG_HEADER_LEN + 57 + 1 + BINLOG_CRC_LEN)
        return -1;
    return ev[len - BINLOG_CRC_LEN - 1];
}

hy_status_t binlog_gtid_parse(const uint8_t *ev, size_t len, struct gtid *g, uint8_t *flags)
{
    if (len < BINLOG_HEADER_LEN + 13)
        return HY_ERROR;
    const uint8_t *b = ev + BINLOG_HEADER_LEN;
    g->server_id = rd32(ev + 5);
    g->seq = rd64(b);
    g->domain = rd32(b + 8);
    *flags = b[12];
    return HY_OK;
}

hy_status_t binlog_rotate_parse(const uint8_t *ev, size_t body_end, char *name, size_t cap,
                                uint64_t *pos)
{
    if (body_end < BINLOG_HEADER_LEN + 8 || cap == 0)
        return HY_ERROR;
    *pos = rd64(ev + BINLOG_HEADER_LEN);
    size_t n = body_end - BINLOG_HEADER_LEN - 8;
    if (n == 0 || n >= cap)
        return HY_ERROR;
    memcpy(name, ev + BINLOG_HEADER_LEN + 8, n);
    name[n] = '\0';
    if (strlen(name) != n || strchr(name, '/') != NULL)
        return HY_ERROR;
    return HY_OK;
}

hy_status_t binlog_gtid_list_parse(const uint8_t *ev, size_t body_end, struct gtid_pos *out)
{
    memset(out, 0, sizeof(*out));
    if (body_end < BINLOG_HEADER_LEN + 4)
        return HY_ERROR;
    uint32_t n = rd32(ev + BINLOG_HEADER_LEN) & 0x0fffffffu; /* the top bits are flags */
    if ((size_t)n * 16 != body_end - BINLOG_HEADER_LEN - 4)
        return HY_ERROR;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = ev + BINLOG_HEADER_LEN + 4 + 16 * i;
        struct gtid g = {.domain = rd32(e), .server_id = rd32(e + 4), .seq = rd64(e + 8)};
        if (gtid_pos_seq(out, g.domain) <= g.seq && binlog_pos_apply(out, &g) != HY_OK)
            return HY_ERROR;
    }
    return HY_OK;
}

static void header_write(uint8_t *out, uint8_t type, uint32_t timestamp, uint32_t server_id,
                         uint32_t size, uint32_t at)
{
    wr32(out, timestamp);
    out[4] = type;
    wr32(out + 5, server_id);
    wr32(out + 9, size);
    wr32(out + 13, at + size);
    wr16(out + 17, 0);
}

size_t binlog_make_gtid_list(uint8_t *out, size_t cap, const struct gtid_pos *pos,
                             uint32_t timestamp, uint32_t server_id, uint32_t at)
{
    size_t size = BINLOG_HEADER_LEN + 4 + 16 * (size_t)pos->n + BINLOG_CRC_LEN;
    if (size > cap)
        return 0;
    header_write(out, BINLOG_GTID_LIST, timestamp, server_id, (uint32_t)size, at);
    wr32(out + BINLOG_HEADER_LEN, pos->n);
    for (uint32_t i = 0; i < pos->n; i++) {
        uint8_t *e = out + BINLOG_HEADER_LEN + 4 + 16 * i;
        wr32(e, pos->g[i].domain);
        wr32(e + 4, pos->g[i].server_id);
        wr64(e + 8, pos->g[i].seq);
    }
    binlog_crc_set(out, size);
    return size;
}

size_t binlog_make_rotate(uint8_t *out, size_t cap, const char *next_file, uint32_t timestamp,
                          uint32_t server_id, uint32_t at)
{
    size_t n = strlen(next_file);
    size_t size = BINLOG_HEADER_LEN + 8 + n + BINLOG_CRC_LEN;
    if (size > cap)
        return 0;
    header_write(out, BINLOG_ROTATE, timestamp, server_id, (uint32_t)size, at);
    wr64(out + BINLOG_HEADER_LEN, BINLOG_MAGIC_LEN);
    memcpy(out + BINLOG_HEADER_LEN + 8, next_file, n);
    binlog_crc_set(out, size);
    return size;
}

/* The text of a QUERY event, or NULL. */
static const char *query_text(const uint8_t *ev, size_t body_end, size_t *len)
{
    if (body_end < BINLOG_HEADER_LEN + QUERY_POST_HEADER)
        return NULL;
    const uint8_t *b = ev + BINLOG_HEADER_LEN;
    size_t db_len = b[8];
    size_t status_len = rd16(b + 11);
    size_t off = BINLOG_HEADER_LEN + QUERY_POST_HEADER + status_len + db_len + 1;
    if (off > body_end)
        return NULL;
    *len = body_end - off;
    return (const char *)ev + off;
}

static bool starts_with(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && strncasecmp(s, word, n) == 0 &&
           (len == n || s[n] == ' ' || s[n] == ';' || s[n] == '\t' || s[n] == '\n' || s[n] == '\r');
}

/* "ROLLBACK [WORK] TO [SAVEPOINT] sp" (len bytes at s, which start with
 * ROLLBACK): it undoes part of the transaction, which goes on. */
static bool to_savepoint(const char *s, size_t len)
{
    size_t i = 8; /* past ROLLBACK */
    for (int word = 0; word < 2; word++) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (starts_with(s + i, len - i, "TO") || (len - i > 3 && strncasecmp(s + i, "TO`", 3) == 0))
            return true;
        if (!starts_with(s + i, len - i, "WORK"))
            return false;
        i += 4;
    }
    return false;
}

enum binlog_group_step binlog_group_feed(struct binlog_group *g, const uint8_t *ev, size_t body_end)
{
    if (body_end < BINLOG_HEADER_LEN)
        return BINLOG_OUTSIDE;
    uint8_t type = ev[4];
    if (type == BINLOG_GTID) {
        uint8_t flags = 0;
        struct gtid id = {0};
        if (binlog_gtid_parse(ev, body_end, &id, &flags) != HY_OK)
            return BINLOG_OUTSIDE;
        g->open = true;
        g->standalone = (flags & BINLOG_GTID_STANDALONE) != 0;
        g->gtid = id;
        return BINLOG_BEGIN;
    }
    if (!g->open)
        return BINLOG_OUTSIDE;
    switch (type) {
    case BINLOG_ANNOTATE_ROWS:
        return BINLOG_INSIDE;
    case BINLOG_XID:
    case BINLOG_XA_PREPARE:
        g->open = false;
        return BINLOG_END;
    case BINLOG_QUERY: {
        size_t n = 0;
        const char *q = query_text(ev, body_end, &n);
        if (g->standalone ||
            (q != NULL && (starts_with(q, n, "COMMIT") ||
                           (starts_with(q, n, "ROLLBACK") && !to_savepoint(q, n)) ||
                           starts_with(q, n, "XA COMMIT") || starts_with(q, n, "XA ROLLBACK")))) {
            g->open = false;
            return BINLOG_END;
        }
        return BINLOG_INSIDE;
    }
    default:
        if (g->standalone) {
            g->open = false;
            return BINLOG_END;
        }
        return BINLOG_INSIDE;
    }
}

/* ---- XA transactions ---------------------------------------------------- */

#define XA_PREPARE_FIXED 13 /* one_phase 1, formatID 4, gtrid_length 4, bqual_length 4 */

hy_status_t binlog_xa_prepared(const uint8_t *ev, size_t body_end, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    if (body_end < BINLOG_HEADER_LEN + XA_PREPARE_FIXED || ev[4] != BINLOG_XA_PREPARE)
        return HY_ERROR;
    const uint8_t *b = ev + BINLOG_HEADER_LEN;
    uint32_t glen = rd32(b + 5), blen = rd32(b + 9);
    if (b[0] != 0 || glen > 64 || blen > 64 ||
        BINLOG_HEADER_LEN + XA_PREPARE_FIXED + glen + blen > body_end)
        return HY_ERROR;
    const uint8_t *data = b + XA_PREPARE_FIXED;
    char text[BINLOG_XID_TEXT_MAX];
    size_t o = 0;
    for (int part = 0; part < 2; part++) {
        const uint8_t *p = part == 0 ? data : data + glen;
        uint32_t n = part == 0 ? glen : blen;
        text[o++] = 'X';
        text[o++] = '\'';
        for (uint32_t i = 0; i < n; i++) {
            text[o++] = hex[p[i] >> 4];
            text[o++] = hex[p[i] & 15];
        }
        text[o++] = '\'';
        text[o++] = ',';
    }
    /* formatID is a signed long to the server */
    int w = snprintf(text + o, sizeof(text) - o, "%" PRId32, (int32_t)rd32(b + 1));
    if (w < 0 || o + (size_t)w >= cap)
        return HY_ERROR;
    memcpy(out, text, o + (size_t)w + 1);
    return HY_OK;
}

hy_status_t binlog_xa_ended(const uint8_t *ev, size_t body_end, char *out, size_t cap)
{
    size_t n = 0;
    const char *q;
    if (body_end < BINLOG_HEADER_LEN || ev[4] != BINLOG_QUERY ||
        (q = query_text(ev, body_end, &n)) == NULL)
        return HY_ERROR;
    size_t skip;
    if (starts_with(q, n, "XA COMMIT"))
        skip = 9;
    else if (starts_with(q, n, "XA ROLLBACK"))
        skip = 11;
    else
        return HY_ERROR;
    q += skip;
    n -= skip;
    while (n > 0 && (*q == ' ' || *q == '\n' || *q == '\t')) {
        q++;
        n--;
    }
    while (n > 0 && (q[n - 1] == ' ' || q[n - 1] == '\n' || q[n - 1] == '\t' || q[n - 1] == ';'))
        n--;
    if (n == 0 || n >= cap)
        return HY_ERROR;
    memcpy(out, q, n);
    out[n] = '\0';
    return HY_OK;
}

/* ---- what an event changes --------------------------------------------- */

#define ROWS_POST_HEADER 8 /* table_id 6, flags 2 */

static bool rows_type(uint8_t type)
{
    return (type >= BINLOG_WRITE_ROWS_V1 && type <= BINLOG_DELETE_ROWS_V1) ||
           (type >= BINLOG_WRITE_ROWS && type <= BINLOG_DELETE_ROWS) ||
           (type >= BINLOG_WRITE_ROWS_COMPRESSED_V1 && type <= BINLOG_DELETE_ROWS_COMPRESSED);
}

/* A statement that only frames a transaction. */
static bool framing_statement(const char *q, size_t n)
{
    static const char *const words[] = {"BEGIN",       "COMMIT",    "ROLLBACK",         "XA START",
                                        "XA BEGIN",    "XA END",    "XA PREPARE",       "XA COMMIT",
                                        "XA ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT"};
    while (n > 0 && (*q == ' ' || *q == '\n' || *q == '\t')) {
        q++;
        n--;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (starts_with(q, n, words[i]))
            return true;
    return false;
}

enum binlog_change binlog_change_of(const uint8_t *ev, size_t body_end)
{
    if (body_end < BINLOG_HEADER_LEN)
        return BINLOG_CHANGES_UNKNOWN;
    uint8_t type = ev[4];
    if (rows_type(type))
        return BINLOG_CHANGES_ROWS;
    switch (type) {
    case BINLOG_TABLE_MAP:
        return BINLOG_CHANGES_TABLE_MAP;
    case BINLOG_QUERY: {
        size_t n = 0;
        const char *q = query_text(ev, body_end, &n);
        return q != NULL && framing_statement(q, n) ? BINLOG_CHANGES_NOTHING
                                                    : BINLOG_CHANGES_STATEMENT;
    }
    case BINLOG_ROTATE:
    case BINLOG_INTVAR:
    case BINLOG_RAND:
    case BINLOG_USER_VAR:
    case BINLOG_FORMAT_DESCRIPTION:
    case BINLOG_XID:
    case BINLOG_HEARTBEAT:
    case BINLOG_XA_PREPARE:
    case BINLOG_ANNOTATE_ROWS:
    case BINLOG_CHECKPOINT:
    case BINLOG_GTID:
    case BINLOG_GTID_LIST:
    case BINLOG_START_ENCRYPTION:
        return BINLOG_CHANGES_NOTHING;
    default:
        return BINLOG_CHANGES_UNKNOWN; /* QUERY_COMPRESSED, INCIDENT, ... */
    }
}

static uint64_t rd48(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd16(p + 4) << 32;
}

hy_status_t binlog_table_map_parse(const uint8_t *ev, size_t body_end, struct binlog_table *t)
{
    size_t off = BINLOG_HEADER_LEN + ROWS_POST_HEADER;
    if (body_end < off + 1 || ev[4] != BINLOG_TABLE_MAP)
        return HY_ERROR;
    t->id = rd48(ev + BINLOG_HEADER_LEN);
    size_t sl = ev[off];
    if (sl > 64 || off + 1 + sl + 2 > body_end)
        return HY_ERROR;
    memcpy(t->schema, ev + off + 1, sl);
    t->schema[sl] = '\0';
    off += 1 + sl + 1; /* the name's NUL */
    size_t tl = ev[off];
    if (tl > 64 || off + 1 + tl > body_end)
        return HY_ERROR;
    memcpy(t->table, ev + off + 1, tl);
    t->table[tl] = '\0';
    return sl > 0 && tl > 0 ? HY_OK : HY_ERROR;
}

hy_status_t binlog_rows_table_id(const uint8_t *ev, size_t body_end, uint64_t *id)
{
    if (body_end < BINLOG_HEADER_LEN + ROWS_POST_HEADER || !rows_type(ev[4]))
        return HY_ERROR;
    *id = rd48(ev + BINLOG_HEADER_LEN);
    return HY_OK;
}

hy_status_t binlog_query_parse(const uint8_t *ev, size_t body_end, char *db, size_t cap,
                               const char **sql, size_t *sql_len)
{
    if (body_end < BINLOG_HEADER_LEN + QUERY_POST_HEADER || ev[4] != BINLOG_QUERY || cap == 0)
        return HY_ERROR;
    const uint8_t *b = ev + BINLOG_HEADER_LEN;
    size_t db_len = b[8];
    size_t status_len = rd16(b + 11);
    size_t db_off = BINLOG_HEADER_LEN + QUERY_POST_HEADER + status_len;
    if (db_off + db_len + 1 > body_end)
        return HY_ERROR;
    size_t n = db_len < cap - 1 ? db_len : cap - 1;
    memcpy(db, ev + db_off, n);
    db[n] = '\0';
    *sql = (const char *)ev + db_off + db_len + 1;
    *sql_len = body_end - (db_off + db_len + 1);
    return HY_OK;
}

enum binlog_gtid_order binlog_gtid_order(const struct gtid_pos *pos, const struct gtid *g)
{
    uint64_t last = gtid_pos_seq(pos, g->domain);
    if (g->seq <= last)
        return BINLOG_GTID_OLD;
    return g->seq == last + 1 ? BINLOG_GTID_NEXT : BINLOG_GTID_GAP;
}

hy_status_t binlog_pos_apply(struct gtid_pos *pos, const struct gtid *g)
{
    uint32_t i = 0;
    while (i < pos->n && pos->g[i].domain < g->domain)
        i++;
    if (i < pos->n && pos->g[i].domain == g->domain) {
        pos->g[i] = *g;
        return HY_OK;
    }
    if (pos->n == GTID_MAX)
        return HY_ERROR;
    memmove(&pos->g[i + 1], &pos->g[i], (pos->n - i) * sizeof(pos->g[0]));
    pos->g[i] = *g;
    pos->n++;
    return HY_OK;
}

uint32_t binlog_file_number(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.')
        return 0;
    const char *d = name + pl + 1;
    size_t n = strlen(d);
    if (n < 6 || n > 9)
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(d[i] - '0');
    }
    return v;
}
