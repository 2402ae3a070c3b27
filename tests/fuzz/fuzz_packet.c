/*
 * fuzz_packet.c: libFuzzer target for the packet codec (mysql_proto.h).
 *
 * The whole input goes, as one payload, through every decoder: greeting,
 * login, COM_CHANGE_USER (under several capability sets), auth switch, OK
 * (with and without CLIENT_SESSION_TRACK), ERR, EOF, COM_STMT_PREPARE's OK,
 * COM_STMT_EXECUTE heads (types added back), and a little program of
 * primitive reads (the input's bytes pick the reader). Checked for each:
 *  - every pointer and length a decoder returns lies within the payload,
 *    and NUL-terminated fields end in their NUL;
 *  - what a decoder accepted and the matching encoder writes back decodes
 *    to the same fields (greeting, auth switch, OK, ERR, lenenc);
 *  - a reader that failed stays failed and has nothing left.
 *
 * The same input then drives the response tracker (mysql_resp_*). Byte 0
 * picks the command (low 5 bits: every COM_ value 0x01..0x1f, and 0x00
 * for MariaDB's COM_STMT_BULK_EXECUTE, 0xfa) and the
 * capabilities (0x20 CLIENT_DEPRECATE_EOF, 0x40 CLIENT_PROTOCOL_41 |
 * CLIENT_TRANSACTIONS, 0x80 CLIENT_SESSION_TRACK and the cursor flag of
 * COM_STMT_EXECUTE). The rest is a stream of packets, each a 3-byte
 * little-endian payload length L followed by the first min(L, 32) bytes of
 * the payload: all the tracker may look at (MYSQL_RESP_PEEK), so a 16 MiB
 * packet costs 35 bytes of input. Each packet is fed from an exact-size heap
 * copy of those bytes, so ASan catches a tracker that peeks further.
 * Checked: every verdict is one of the four; after DONE every further packet
 * is BAD; while a LOCAL INFILE is pending any packet is BAD; a command that
 * expects no reply accepts nothing; rows never outnumber packets; a
 * progress report (ERR code 0xffff) never ends an answer nor sets err_code.
 */
#include "fuzz.h"

#include "halyard/protocol/mysql_proto.h"

/* ---- decoders ----------------------------------------------------------- */

static void check_handshake(const uint8_t *d, size_t n)
{
    struct mysql_handshake hs, again;

    if (mysql_handshake_decode(d, n, &hs) != HY_OK)
        return;
    FUZZ_CHECK(hs.protocol == 10);
    FUZZ_CHECK(hs.caps & CLIENT_SECURE_CONNECTION);
    FUZZ_CHECK(hs.server_version != NULL);
    FUZZ_CHECK(fuzz_cstr_within(hs.server_version, hs.server_version_len, d, n));
    FUZZ_CHECK(fuzz_within(hs.plugin, hs.plugin_len, d, n));

    /* Re-encode: the fixed part is 47 bytes besides the two strings. */
    size_t cap = hs.server_version_len + hs.plugin_len + 64;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t len = mysql_handshake_encode(&hs, out, cap);
    FUZZ_CHECK(len > 0);
    uint8_t *enc = fuzz_dup(out, len);
    FUZZ_CHECK(mysql_handshake_decode(enc, len, &again) == HY_OK);
    FUZZ_CHECK(again.caps == hs.caps && again.conn_id == hs.conn_id);
    FUZZ_CHECK(again.charset == hs.charset && again.status == hs.status);
    FUZZ_CHECK(memcmp(again.scramble, hs.scramble, MYSQL_SCRAMBLE_LEN) == 0);
    FUZZ_CHECK(fuzz_same_bytes(again.server_version, again.server_version_len, hs.server_version,
                          hs.server_version_len));
    /* A plugin name absent at the end comes back empty. */
    if (hs.caps & CLIENT_PLUGIN_AUTH)
        FUZZ_CHECK(fuzz_same_bytes(again.plugin, again.plugin_len, hs.plugin, hs.plugin_len));
    else
        FUZZ_CHECK(again.plugin == NULL && hs.plugin == NULL);
    free(enc);
    free(out);
}

static void check_login(const uint8_t *d, size_t n)
{
    struct mysql_login lg;

    if (mysql_login_decode(d, n, &lg) != HY_OK)
        return;
    FUZZ_CHECK(lg.caps & CLIENT_PROTOCOL_41);
    if (lg.ssl_request) {
        FUZZ_CHECK(n == 32 && (lg.caps & CLIENT_SSL) && lg.user == NULL);
        return;
    }
    FUZZ_CHECK(lg.user != NULL && fuzz_cstr_within(lg.user, lg.user_len, d, n));
    FUZZ_CHECK(fuzz_within(lg.auth, lg.auth_len, d, n));
    FUZZ_CHECK(fuzz_cstr_within(lg.db, lg.db_len, d, n));
    FUZZ_CHECK(fuzz_cstr_within(lg.plugin, lg.plugin_len, d, n));
    FUZZ_CHECK(fuzz_within(lg.attrs, lg.attrs_len, d, n));
    FUZZ_CHECK(lg.db == NULL || (lg.caps & CLIENT_CONNECT_WITH_DB));
    FUZZ_CHECK(lg.plugin == NULL || (lg.caps & CLIENT_PLUGIN_AUTH));
    FUZZ_CHECK(lg.attrs == NULL || (lg.caps & CLIENT_CONNECT_ATTRS));
}

static int change_user_equal(const struct mysql_change_user *a, const struct mysql_change_user *b)
{
    return a->user == b->user && a->user_len == b->user_len && a->auth == b->auth &&
           a->auth_len == b->auth_len && a->db == b->db && a->db_len == b->db_len &&
           a->charset == b->charset && a->plugin == b->plugin && a->plugin_len == b->plugin_len &&
           a->attrs == b->attrs && a->attrs_len == b->attrs_len;
}

static void check_change_user(const uint8_t *d, size_t n)
{
    static const uint32_t caps_sets[] = {
        0,
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS,
    };

    for (size_t i = 0; i < sizeof(caps_sets) / sizeof(caps_sets[0]); i++) {
        struct mysql_change_user cu, lenenc;
        hy_status_t rc = mysql_change_user_decode(d, n, caps_sets[i], &cu);
        /* COM_CHANGE_USER never uses the lenenc auth field, whatever the caps. */
        hy_status_t rc2 = mysql_change_user_decode(
            d, n, caps_sets[i] | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, &lenenc);
        FUZZ_CHECK(rc == rc2);
        if (rc != HY_OK)
            continue;
        FUZZ_CHECK(change_user_equal(&cu, &lenenc));
        FUZZ_CHECK(n > 0 && d[0] == COM_CHANGE_USER);
        FUZZ_CHECK(cu.user != NULL && fuzz_cstr_within(cu.user, cu.user_len, d, n));
        FUZZ_CHECK(fuzz_within(cu.auth, cu.auth_len, d, n));
        FUZZ_CHECK(fuzz_cstr_within(cu.db, cu.db_len, d, n));
        FUZZ_CHECK(fuzz_cstr_within(cu.plugin, cu.plugin_len, d, n));
        FUZZ_CHECK(fuzz_within(cu.attrs, cu.attrs_len, d, n));
        FUZZ_CHECK(cu.plugin == NULL || (caps_sets[i] & CLIENT_PLUGIN_AUTH));
        FUZZ_CHECK(cu.attrs == NULL || (caps_sets[i] & CLIENT_CONNECT_ATTRS));
    }
}

static void check_auth_switch(const uint8_t *d, size_t n)
{
    const char *plugin, *plugin2;
    const uint8_t *data, *data2;
    size_t plugin_len, data_len, plugin2_len, data2_len;

    if (mysql_auth_switch_decode(d, n, &plugin, &plugin_len, &data, &data_len) != HY_OK)
        return;
    FUZZ_CHECK(n > 0 && d[0] == MYSQL_AUTH_SWITCH);
    FUZZ_CHECK(plugin != NULL && fuzz_cstr_within(plugin, plugin_len, d, n));
    FUZZ_CHECK(fuzz_within(data, data_len, d, n));
    /* The data runs to the end of the payload, less one trailing NUL. */
    size_t tail = n - (size_t)(data - d) - data_len;
    FUZZ_CHECK(tail == 0 || (tail == 1 && d[n - 1] == 0));

    size_t cap = n + 2;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t len = mysql_auth_switch_encode(plugin, data, data_len, out, cap);
    FUZZ_CHECK(len == 1 + plugin_len + 1 + data_len);
    uint8_t *enc = fuzz_dup(out, len);
    FUZZ_CHECK(mysql_auth_switch_decode(enc, len, &plugin2, &plugin2_len, &data2, &data2_len) ==
               HY_OK);
    FUZZ_CHECK(fuzz_same_bytes(plugin2, plugin2_len, plugin, plugin_len));
    /* Data that itself ends in a NUL loses it once more. */
    if (data_len == 0 || data[data_len - 1] != 0)
        FUZZ_CHECK(fuzz_same_bytes(data2, data2_len, data, data_len));
    free(enc);
    free(out);
}

/* Every entry of a session-state block lies inside it, in order, and the
 * walk ends (at the end, or on an error that stays an error). */
static void check_track(const uint8_t *b, size_t n)
{
    struct mysql_track_it it;
    struct mysql_track t;
    hy_status_t rc;
    size_t entries = 0;

    mysql_track_init(&it, b, n);
    while ((rc = mysql_track_next(&it, &t)) == HY_OK) {
        FUZZ_CHECK(fuzz_within(t.a, t.a_len, b, n));
        FUZZ_CHECK(fuzz_within(t.b, t.b_len, b, n));
        FUZZ_CHECK(t.b == NULL || t.type == MYSQL_TRACK_SYSTEM_VARIABLES);
        FUZZ_CHECK(++entries <= n / 2); /* each entry takes two bytes at least */
    }
    FUZZ_CHECK(rc == HY_AGAIN || rc == HY_ERROR);
    FUZZ_CHECK(mysql_track_next(&it, &t) == rc);
}

static void check_ok(const uint8_t *d, size_t n)
{
    static const uint32_t caps_sets[] = {
        0,
        CLIENT_TRANSACTIONS,
        CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS,
        CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SESSION_TRACK,
    };

    for (size_t i = 0; i < sizeof(caps_sets) / sizeof(caps_sets[0]); i++) {
        uint32_t caps = caps_sets[i];
        struct mysql_ok ok, again;
        if (mysql_ok_decode(d, n, caps, &ok) != HY_OK)
            continue;
        FUZZ_CHECK(n > 0 && (d[0] == MYSQL_OK || d[0] == MYSQL_EOF));
        FUZZ_CHECK(fuzz_within(ok.info, ok.info_len, d, n));
        FUZZ_CHECK(fuzz_within(ok.session_state, ok.session_state_len, d, n));
        if (!(caps & CLIENT_SESSION_TRACK)) {
            /* Without session tracking the info is the rest of the packet. */
            FUZZ_CHECK(ok.session_state == NULL);
            FUZZ_CHECK(ok.info == NULL || ok.info + ok.info_len == d + n);
        }
        FUZZ_CHECK(ok.session_state == NULL || (ok.status & SERVER_SESSION_STATE_CHANGED));
        check_track(ok.session_state, ok.session_state_len);
        if (!(caps & CLIENT_PROTOCOL_41))
            continue;
        uint8_t out[32];
        size_t len = mysql_ok_encode(out, sizeof(out), ok.affected_rows, ok.last_insert_id,
                                     ok.status, ok.warnings);
        FUZZ_CHECK(len > 0);
        uint8_t *enc = fuzz_dup(out, len);
        FUZZ_CHECK(mysql_ok_decode(enc, len, caps, &again) == HY_OK);
        FUZZ_CHECK(again.affected_rows == ok.affected_rows);
        FUZZ_CHECK(again.last_insert_id == ok.last_insert_id);
        FUZZ_CHECK(again.status == ok.status && again.warnings == ok.warnings);
        FUZZ_CHECK(again.info == NULL && again.session_state == NULL);
        free(enc);
    }
}

static void check_err(const uint8_t *d, size_t n)
{
    struct mysql_err err, again;

    if (mysql_err_decode(d, n, &err) != HY_OK)
        return;
    FUZZ_CHECK(n >= 3 && d[0] == MYSQL_ERR);
    FUZZ_CHECK(err.code == (uint16_t)(d[1] | (d[2] << 8)));
    FUZZ_CHECK(err.sqlstate[5] == '\0');
    FUZZ_CHECK(fuzz_within(err.msg, err.msg_len, d, n));
    FUZZ_CHECK(err.msg != NULL && (const uint8_t *)err.msg + err.msg_len == d + n);
    if (strlen(err.sqlstate) != 5)
        return; /* a NUL inside the SQLSTATE: the encoder writes HY000 instead */

    size_t cap = n + 8;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t len = mysql_err_encode(out, cap, err.code, err.sqlstate, err.msg, err.msg_len);
    FUZZ_CHECK(len == 9 + err.msg_len);
    uint8_t *enc = fuzz_dup(out, len);
    FUZZ_CHECK(mysql_err_decode(enc, len, &again) == HY_OK);
    FUZZ_CHECK(again.code == err.code && strcmp(again.sqlstate, err.sqlstate) == 0);
    FUZZ_CHECK(fuzz_same_bytes(again.msg, again.msg_len, err.msg, err.msg_len));
    free(enc);
    free(out);
}

static void check_eof(const uint8_t *d, size_t n)
{
    uint16_t warnings, status;

    if (mysql_eof_decode(d, n, &warnings, &status) != HY_OK)
        return;
    FUZZ_CHECK(n >= 5 && n < 9 && d[0] == MYSQL_EOF);
    FUZZ_CHECK(warnings == (uint16_t)(d[1] | (d[2] << 8)));
    FUZZ_CHECK(status == (uint16_t)(d[3] | (d[4] << 8)));
    FUZZ_CHECK(mysql_is_eof(d[0], (uint32_t)n, false) && mysql_is_eof(d[0], (uint32_t)n, true));
}

/* Primitive reads, each chosen by the next input byte, to the end. */
/* COM_STMT_PREPARE's OK and the head of a COM_STMT_EXECUTE, for statements
 * of a few parameter counts: what is decoded lies within the payload, and
 * a head given its types back decodes as bound with those types and the
 * new statement id, the rest unchanged. */
static void check_stmt(const uint8_t *d, size_t n)
{
    struct mysql_prepare_ok ok;
    if (mysql_prepare_ok_decode(d, n, &ok) == HY_OK)
        FUZZ_CHECK(n >= 9 && d[0] == MYSQL_OK && ok.stmt_id == mysql_stmt_id_get(d));

    static const uint16_t counts[] = {0, 1, 7, 8, 9, 300};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        uint16_t np = counts[i];
        struct mysql_stmt_exec ex, again;
        if (mysql_stmt_exec_decode(d, n, np, &ex) != HY_OK)
            continue;
        FUZZ_CHECK(ex.head_len <= n && ex.head_len <= mysql_stmt_exec_head_max(np));
        FUZZ_CHECK(fuzz_within(ex.null_bitmap, ex.null_len, d, n));
        FUZZ_CHECK(ex.types == NULL || fuzz_within(ex.types, 2 * (size_t)np, d, n));
        FUZZ_CHECK(ex.new_params_bound == (ex.types != NULL));
        FUZZ_CHECK(np > 0 || (ex.head_len == 10 && ex.null_bitmap == NULL));
        if (np == 0 || ex.new_params_bound)
            continue;
        uint8_t types[600];
        for (size_t k = 0; k < 2 * (size_t)np; k++)
            types[k] = (uint8_t)(k * 7);
        size_t cap = ex.head_len + 2 * (size_t)np;
        uint8_t *out = malloc(cap);
        FUZZ_CHECK(out != NULL);
        size_t len = mysql_stmt_exec_bind_types(d, &ex, np, types, 0x01020304u, out, cap);
        FUZZ_CHECK(len == cap);
        uint8_t *enc = fuzz_dup(out, len);
        FUZZ_CHECK(mysql_stmt_exec_bind_types(d, &ex, np, types, 1, out, cap - 1) == 0);
        FUZZ_CHECK(mysql_stmt_exec_decode(enc, len, np, &again) == HY_OK);
        FUZZ_CHECK(again.new_params_bound && again.head_len == len);
        FUZZ_CHECK(again.stmt_id == 0x01020304u && again.flags == ex.flags &&
                   again.iterations == ex.iterations);
        FUZZ_CHECK(memcmp(again.types, types, 2 * (size_t)np) == 0);
        FUZZ_CHECK(memcmp(again.null_bitmap, ex.null_bitmap, ex.null_len) == 0);
        free(enc);
        free(out);
    }
}

static void check_readers(const uint8_t *d, size_t n)
{
    struct mysql_rd rd;

    mysql_rd_init(&rd, d, n);
    while (!rd.bad && mysql_rd_left(&rd) > 0) {
        const uint8_t *before = rd.p;
        uint8_t op = mysql_rd_u8(&rd);
        const void *got = NULL;
        size_t len = 0;
        switch (op % 9) {
        case 0:
            (void)mysql_rd_u16(&rd);
            break;
        case 1:
            (void)mysql_rd_u24(&rd);
            break;
        case 2:
            (void)mysql_rd_u32(&rd);
            break;
        case 3:
            (void)mysql_rd_u64(&rd);
            break;
        case 4: {
            const uint8_t *at = rd.p;
            uint64_t v = mysql_rd_lenenc(&rd);
            if (rd.bad)
                break;
            /* The shortest encoding of v reads back as v, and no input
             * encodes it in fewer bytes. */
            uint8_t buf[9];
            struct mysql_wr wr;
            struct mysql_rd back;
            mysql_wr_init(&wr, buf, sizeof(buf));
            mysql_wr_lenenc(&wr, v);
            size_t wlen = mysql_wr_len(&wr);
            FUZZ_CHECK(wlen > 0 && wlen <= (size_t)(rd.p - at));
            mysql_rd_init(&back, buf, wlen);
            FUZZ_CHECK(mysql_rd_lenenc(&back) == v && !back.bad && mysql_rd_left(&back) == 0);
            break;
        }
        case 5:
            got = mysql_rd_bytes(&rd, op / 9);
            len = got != NULL ? op / 9 : 0;
            break;
        case 6:
            got = mysql_rd_cstr(&rd, &len);
            FUZZ_CHECK(got == NULL || fuzz_cstr_within(got, len, d, n));
            break;
        case 7:
            got = mysql_rd_lenenc_str(&rd, &len);
            break;
        case 8:
            (void)mysql_rd_left(&rd);
            break;
        }
        FUZZ_CHECK(fuzz_within(got, got ? len : 0, d, n));
        FUZZ_CHECK(got != NULL || len == 0);
        if (rd.bad) {
            /* Failure is sticky and leaves nothing to read. */
            FUZZ_CHECK(mysql_rd_left(&rd) == 0);
            FUZZ_CHECK(mysql_rd_u8(&rd) == 0 && rd.bad);
            FUZZ_CHECK(mysql_rd_bytes(&rd, 0) == NULL);
        } else {
            FUZZ_CHECK(rd.p > before && rd.p <= d + n);
            FUZZ_CHECK(mysql_rd_left(&rd) == (size_t)(d + n - rd.p));
        }
    }
}

/* ---- response tracker --------------------------------------------------- */

static void check_tracker(const uint8_t *d, size_t n)
{
    if (n == 0)
        return;
    uint8_t sel = d[0];
    uint8_t cmd = (sel & 0x1f) == 0 ? COM_STMT_BULK_EXECUTE : sel & 0x1f;
    uint32_t caps = 0;
    if (sel & 0x20)
        caps |= CLIENT_DEPRECATE_EOF;
    if (sel & 0x40)
        caps |= CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
    if (sel & 0x80)
        caps |= CLIENT_SESSION_TRACK;
    uint8_t exec_flags = (sel & 0x80) ? CURSOR_TYPE_READ_ONLY : 0;

    struct mysql_resp r;
    mysql_resp_start(&r, cmd, caps, exec_flags);
    FUZZ_CHECK(r.cmd == cmd && r.caps == caps);

    bool done = false, infile = false;
    uint64_t packets = 0;
    size_t at = 1;
    while (n - at >= 3) {
        uint32_t len = mysql_hdr_len(d + at);
        at += 3;
        size_t peek = len < MYSQL_RESP_PEEK ? len : MYSQL_RESP_PEEK;
        if (n - at < peek)
            break;
        uint8_t *p = fuzz_dup(d + at, peek);
        at += peek;

        if (infile) {
            /* The client's file is still coming: the server may say nothing. */
            struct mysql_resp early = r;
            FUZZ_CHECK(mysql_resp_feed(&early, p, len) == MYSQL_RESP_BAD);
            mysql_resp_infile_done(&r);
            infile = false;
        }
        enum mysql_resp_rc rc = mysql_resp_feed(&r, p, len);
        packets++;
        FUZZ_CHECK(rc == MYSQL_RESP_MORE || rc == MYSQL_RESP_DONE || rc == MYSQL_RESP_INFILE ||
                   rc == MYSQL_RESP_BAD);
        if (done || !mysql_resp_expects_reply(cmd))
            FUZZ_CHECK(rc == MYSQL_RESP_BAD);
        FUZZ_CHECK(r.rows <= packets);
        if (rc == MYSQL_RESP_DONE && len >= 3 && p[0] == MYSQL_ERR) {
            FUZZ_CHECK(r.err_code == (uint16_t)(p[1] | (p[2] << 8)));
        }
        if (len >= 3 && p[0] == MYSQL_ERR && (p[1] | (p[2] << 8)) == MYSQL_PROGRESS_CODE) {
            FUZZ_CHECK(rc != MYSQL_RESP_DONE && rc != MYSQL_RESP_INFILE);
            FUZZ_CHECK(r.err_code == 0 || done);
        }
        if (rc == MYSQL_RESP_INFILE) { /* LOAD DATA LOCAL, as text or prepared */
            FUZZ_CHECK(cmd == COM_QUERY || cmd == COM_STMT_EXECUTE);
            infile = true;
        }
        free(p);
        if (rc == MYSQL_RESP_BAD && !done)
            break; /* the caller closes the connection; the state is unspecified */
        if (rc == MYSQL_RESP_DONE)
            done = true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_handshake(data, size);
    check_login(data, size);
    check_change_user(data, size);
    check_auth_switch(data, size);
    check_ok(data, size);
    check_err(data, size);
    check_eof(data, size);
    check_readers(data, size);
    check_stmt(data, size);
    check_tracker(data, size);
    return 0;
}
