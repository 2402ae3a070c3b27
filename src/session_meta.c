/*
 * session_meta.c: MARIADB_CLIENT_CACHE_METADATA toward the client.
 *
 * The backends are asked without it (BACKEND_EXT_CAPS), so every answer
 * comes with whole column definitions and no metadata_follows byte. For a
 * client that took it, down_parse() hands this file two kinds of packet
 * before the response tracker sees them:
 *
 *  - every result set's column count: the client's gets the
 *    metadata_follows byte, so it is sent from conn.out (send_local) once
 *    what came before it is out, and left out of `down`; down_forward()
 *    sends nothing more from `down` until conn.out is empty. For the first
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

#include "halyard/colmeta.h"
#include "halyard/mysql_proto.h"
#include "halyard/pstmt.h"
#include "halyard/session.h"
#include "halyard/session_err.h"
#include "session_int.h"

/* The statement the command in flight prepares or executes, or NULL. */
static struct pstmt *meta_stmt(struct session *s)
{
    return s->meta_ps_id != 0 ? pstmt_find(&s->ps, s->meta_ps_id) : NULL;
}

/* A COM_STMT_PREPARE's column definitions start at down.scan. */
static enum meta_rc meta_prepare_cols(struct session *s, struct pstmt *st)
{
    struct stream *down = &s->down;
    struct colmeta_scan sc;
    enum colmeta_rc cr = colmeta_defs_scan(down->b->data + down->scan, stream_unparsed(down),
                                           s->resp.prep_cols, down->b->cap, &sc);
    if (cr == COLMETA_MORE) {
        s->meta_flush = down->head < down->scan;
        return META_WAIT;
    }
    st->meta.known = cr == COLMETA_OK;
    if (st->meta.known)
        memcpy(st->meta.sig, sc.sig, COLMETA_SIG_LEN);
    return META_PASS;
}

/* A result set's column count (`len` bytes) is at down.scan. */
static enum meta_rc meta_colcount(struct session *s, struct pstmt *st, uint32_t len)
{
    struct stream *down = &s->down;
    if (down->head < down->scan) {
        s->meta_flush = true; /* it goes from conn.out: what is before it first */
        return META_WAIT;
    }
    if (conn_has_local(&s->client))
        return META_WAIT; /* client_write_cb comes back once it is out */
    const uint8_t *count = down->b->data + down->scan + MYSQL_HEADER_SIZE;
    struct mysql_rd rd;
    mysql_rd_init(&rd, count, len);
    uint64_t cols = mysql_rd_lenenc(&rd);
    bool mine = st != NULL && (s->cmd == COM_STMT_EXECUTE || s->cmd == COM_STMT_BULK_EXECUTE);
    bool cacheable = mine && s->cmd == COM_STMT_EXECUTE && s->resp.results == 0 && st->n_cols > 0 &&
                     !rd.bad && cols > 0;
    struct colmeta_scan sc;
    enum colmeta_rc cr = COLMETA_BIG;
    if (cacheable) {
        uint32_t at = MYSQL_HEADER_SIZE + len;
        cr = colmeta_defs_scan(count + len, stream_unparsed(down) - at, cols, down->b->cap - at,
                               &sc);
        if (cr == COLMETA_MORE)
            return META_WAIT;
    }
    bool skip = cr == COLMETA_OK && colmeta_skip(&st->meta, sc.sig);
    if (mysql_resp_feed(&s->resp, count, len) == MYSQL_RESP_BAD)
        return META_BROKEN;
    uint8_t pkt[MYSQL_HEADER_SIZE + 10];
    size_t n = colmeta_count_packet(count, len, !skip, s->rdown.seq, pkt, sizeof(pkt));
    if (n == 0)
        return META_BROKEN; /* a count of more than 9 bytes: the tracker took it */
    down->scan += MYSQL_HEADER_SIZE + len;
    down->head = down->scan;
    s->down_sent = true;
    send_local(s, pkt, n);
    if (mine) {
        st->meta.known = cr == COLMETA_OK;
        if (st->meta.known)
            memcpy(st->meta.sig, sc.sig, COLMETA_SIG_LEN);
    }
    if (!skip)
        return META_DONE;
    /* The client has these: the tracker reads them, the client does not. */
    const uint8_t *p = down->b->data + down->scan;
    for (uint64_t i = 0; i < cols; i++) {
        uint32_t dlen = mysql_hdr_len(p);
        if (mysql_resp_feed(&s->resp, p + MYSQL_HEADER_SIZE, dlen) == MYSQL_RESP_BAD) {
            down->scan = down->head = (uint32_t)(p - down->b->data);
            return META_BROKEN;
        }
        p += MYSQL_HEADER_SIZE + dlen;
    }
    down->scan += (uint32_t)sc.len;
    down->head = down->scan;
    s->rdown.shift = (uint8_t)(s->rdown.shift + cols);
    return META_DONE;
}

enum meta_rc meta_down(struct session *s, uint32_t len)
{
    if (!(s->ext_caps & MARIADB_CLIENT_CACHE_METADATA) || s->internal != INT_NONE)
        return META_PASS;
    const uint8_t *p = s->down.b->data + s->down.scan + MYSQL_HEADER_SIZE;
    if (mysql_resp_colcount_next(&s->resp, p, len))
        return meta_colcount(s, meta_stmt(s), len);
    if (s->cmd == COM_STMT_PREPARE && mysql_resp_prep_cols_first(&s->resp)) {
        struct pstmt *st = meta_stmt(s);
        return st != NULL ? meta_prepare_cols(s, st) : META_PASS;
    }
    return META_PASS;
}
