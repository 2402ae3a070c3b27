/*
 * session_colmeta.c: MARIADB_CLIENT_CACHE_METADATA toward the client.
 *
 * The backends are asked without it (BACKEND_EXT_CAPS), so every answer
 * comes with whole column definitions and no metadata_follows byte. For a
 * client that took it, down_parse() hands this file two kinds of packet
 * before the response tracker sees them:
 *
 *  - every result set's column count: the client's gets the
 *    metadata_follows byte, written in place in `down` (meta_colcount says
 *    how; from conn.out in the one case it cannot, and then down_forward()
 *    sends nothing more from `down` until conn.out is empty). For the first
 *    result of a COM_STMT_EXECUTE of a statement whose PREPARE announced
 *    columns (a CALL's results come from a routine, whose definitions a
 *    server always sends), the definitions are waited for, whole, in
 *    `down`; when their signature is the one the client holds for the
 *    statement (pstmt.meta) they are fed to the tracker and dropped, and
 *    every later packet of the answer has its sequence id lowered by as
 *    many (relay_down.shift). Otherwise they go on with metadata_follows =
 *    1 and their signature is what the client holds now. Definitions that
 *    would not fit in a buffer always go on, and the client's are then
 *    unknown to halyard: never left out until sent again whole.
 *    A query cache fill (session_cache.c) records the client's count
 *    packet, the one written here, not the server's: the hooks'
 *    on_relayed shows it to the features.
 *  - the first column definition of a COM_STMT_PREPARE's answer: the
 *    client keeps those too, as a server counts them sent. Their signature
 *    is taken the same way (unknown when they do not fit).
 *
 * Any other result set of an EXECUTE or BULK_EXECUTE (a routine's, the
 * OUT parameters') leaves the statement's definitions unknown. Whichever
 * backend, pooled connection or re-preparation served the statement, the
 * client only ever reads definitions halyard sent it, so what halyard
 * believes it holds is what it holds.
 */
#include <string.h>

#include "halyard/protocol/colmeta.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/pstmt.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "session_int.h"
#include "session_colmeta.h"

/* The statement the command in flight prepares or executes, or NULL. */
static struct pstmt *meta_stmt(struct session *s)
{
    return s->prep.meta_ps_id != 0 ? pstmt_find(&s->prep.map, s->prep.meta_ps_id) : NULL;
}

/* A COM_STMT_PREPARE's column definitions start at down.scan. */
static enum hook_verdict meta_prepare_cols(struct session *s, struct pstmt *st)
{
    struct stream *down = &s->io.down;
    struct colmeta_scan sc;
    enum colmeta_rc cr = colmeta_defs_scan(down->b->data + down->scan, stream_unparsed(down),
                                           s->io.resp.prep_cols, down->b->cap, &sc);
    if (cr == COLMETA_MORE) {
        s->io.down_flush = down->head < down->scan;
        return HOOK_WAIT;
    }
    st->meta.known = cr == COLMETA_OK;
    if (st->meta.known)
        memcpy(st->meta.sig, sc.sig, COLMETA_SIG_LEN);
    return HOOK_PASS;
}

/* Write the client's column count packet (`count`, `len` bytes, and the
 * metadata_follows byte) at `at` in `down`. */
static void meta_count_write(struct session *s, uint32_t at, const uint8_t *count, uint32_t len,
                             bool follows)
{
    (void)colmeta_count_packet(count, len, follows, s->io.rdown.seq, s->io.down.b->data + at,
                               MYSQL_HEADER_SIZE + len + 1);
}

/* The client's column count packet (payload pl, len), relayed in place of
 * the server's: the features that keep what the client gets (the query
 * cache's fill) see it through the hooks, as on_packet shows the others. */
static void relayed(struct session *s, const uint8_t *pl, uint32_t len)
{
    struct hook_packet pk = {.pl = pl, .len = len, .whole = true};
    session_hooks_relayed(s, &pk);
}

/* A result set's column count (`len` bytes) is at down.scan. The client's
 * is one byte longer: written in place, in room made by moving what is
 * before it one byte back (or what follows one byte on), or, when the
 * definitions are left out, at the end of the bytes they leave free; from
 * conn.out only when the buffer is full from its first byte. */
static enum hook_verdict meta_colcount(struct session *s, struct pstmt *st, uint32_t len)
{
    struct stream *down = &s->io.down;
    uint8_t *base = down->b->data;
    if (len == 0 || len > 9)
        return HOOK_BROKEN; /* no lenenc integer is that long */
    uint8_t count[9];
    memcpy(count, base + down->scan + MYSQL_HEADER_SIZE, len);
    struct mysql_rd rd;
    mysql_rd_init(&rd, count, len);
    uint64_t cols = mysql_rd_lenenc(&rd);
    bool mine =
        st != NULL && (s->query.cmd == COM_STMT_EXECUTE || s->query.cmd == COM_STMT_BULK_EXECUTE);
    bool cacheable = mine && s->query.cmd == COM_STMT_EXECUTE && s->io.resp.results == 0 &&
                     st->n_cols > 0 && !rd.bad && cols > 0;
    uint32_t at = MYSQL_HEADER_SIZE + len; /* the definitions, from down.scan */
    struct colmeta_scan sc;
    enum colmeta_rc cr = COLMETA_BIG;
    if (cacheable) {
        cr = colmeta_defs_scan(base + down->scan + at, stream_unparsed(down) - at, cols,
                               down->b->cap - at, &sc);
        if (cr == COLMETA_MORE) {
            s->io.down_flush = down->head < down->scan; /* then the buffer can be compacted */
            return HOOK_WAIT;
        }
    }
    bool skip = cr == COLMETA_OK && colmeta_skip(&st->meta, sc.sig);
    bool from_out = !skip && down->head == 0 && down->tail == down->b->cap;
    if (from_out && (down->head < down->scan || conn_has_local(&s->client))) {
        s->io.down_flush = down->head < down->scan;
        return HOOK_WAIT;
    }
    if (mysql_resp_feed(&s->io.resp, count, len) == MYSQL_RESP_BAD)
        return HOOK_BROKEN;
    if (mine) {
        st->meta.known = cr == COLMETA_OK;
        if (st->meta.known)
            memcpy(st->meta.sig, sc.sig, COLMETA_SIG_LEN);
    }
    if (from_out) {
        uint8_t pkt[MYSQL_HEADER_SIZE + 10];
        size_t n = colmeta_count_packet(count, len, true, s->io.rdown.seq, pkt, sizeof(pkt));
        relayed(s, pkt + MYSQL_HEADER_SIZE, (uint32_t)(n - MYSQL_HEADER_SIZE));
        down->scan += at;
        down->head = down->scan;
        s->io.down_sent = true;
        send_local(s, pkt, n);
        return HOOK_TAKEN;
    }
    if (!skip) {
        if (down->head > 0) {
            memmove(base + down->head - 1, base + down->head, down->scan - down->head + at);
            down->head--;
            down->scan--;
        } else {
            uint32_t rest = down->scan + at;
            memmove(base + rest + 1, base + rest, down->tail - rest);
            down->tail++;
        }
        meta_count_write(s, down->scan, count, len, true);
        relayed(s, base + down->scan + MYSQL_HEADER_SIZE, len + 1);
        relay_down_take(&s->io.rdown, down, len + 1, MYSQL_RESP_MORE);
        return HOOK_TAKEN;
    }
    /* The client has these: the tracker reads them, the client does not. */
    const uint8_t *p = base + down->scan + at;
    for (uint64_t i = 0; i < cols; i++) {
        uint32_t dlen = mysql_hdr_len(p);
        if (mysql_resp_feed(&s->io.resp, p + MYSQL_HEADER_SIZE, dlen) == MYSQL_RESP_BAD)
            return HOOK_BROKEN;
        p += MYSQL_HEADER_SIZE + dlen;
    }
    /* The count packet goes at the end of what it and they took; what is
     * before it moves up to it. */
    uint32_t gap = (uint32_t)sc.len - 1;
    memmove(base + down->head + gap, base + down->head, down->scan - down->head);
    down->head += gap;
    down->scan += gap;
    meta_count_write(s, down->scan, count, len, false);
    relayed(s, base + down->scan + MYSQL_HEADER_SIZE, len + 1); /* one that holds them */
    relay_down_take(&s->io.rdown, down, len + 1, MYSQL_RESP_MORE);
    s->io.rdown.shift = (uint8_t)(s->io.rdown.shift + cols);
    return HOOK_TAKEN;
}

enum hook_verdict meta_colcount_at(struct session *s, uint32_t len)
{
    return meta_colcount(s, meta_stmt(s), len);
}

enum hook_verdict meta_prepare_at(struct session *s)
{
    struct pstmt *st = meta_stmt(s);
    return st != NULL ? meta_prepare_cols(s, st) : HOOK_PASS;
}
