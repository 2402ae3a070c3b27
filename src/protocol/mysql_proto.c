/*
 * mysql_proto.c: see mysql_proto.h.
 *
 * Every decoder here reads through struct mysql_rd, whose reads never pass
 * `end` and whose `bad` flag is sticky: once a read fails, every later read
 * fails too, so a decoder reads a whole structure and checks `bad` where it
 * matters. That is what makes the decoders safe on arbitrary bytes (they are
 * fuzzed): no pointer is ever formed past the end of the payload, and
 * lengths taken from the wire are compared with what is left before use.
 *
 * Leniency follows the clients we must accept: a field that is missing at
 * the very end of a packet is reported absent (NULL/0), but a field that
 * starts and is cut short is an error.
 *
 * The response tracker at the bottom is on the hot path. It keeps one small
 * state per command and looks at no more than the first MYSQL_RESP_PEEK
 * bytes of a packet; it never loops over a payload and never allocates.
 */
#include <string.h>

#include "halyard/core/text.h"
#include "halyard/protocol/mysql_proto.h"

/* ---- primitive readers -------------------------------------------------- */

void mysql_rd_init(struct mysql_rd *rd, const uint8_t *payload, size_t len)
{
    rd->p = payload;
    /* NULL + 0 is still undefined in C (UBSan says so); a NULL payload is
     * simply empty. */
    rd->end = payload ? payload + len : payload;
    rd->bad = false;
}

size_t mysql_rd_left(const struct mysql_rd *rd)
{
    return rd->bad ? 0 : (size_t)(rd->end - rd->p);
}

/* The n bytes at the cursor, advancing past them; NULL (and `bad`) if fewer
 * are left. Every other reader goes through here. */
static const uint8_t *rd_take(struct mysql_rd *rd, size_t n)
{
    if (rd->bad || n > (size_t)(rd->end - rd->p)) {
        rd->bad = true;
        return NULL;
    }
    const uint8_t *at = rd->p;
    rd->p += n;
    return at;
}

uint8_t mysql_rd_u8(struct mysql_rd *rd)
{
    const uint8_t *b = rd_take(rd, 1);
    return b ? b[0] : 0;
}

uint16_t mysql_rd_u16(struct mysql_rd *rd)
{
    const uint8_t *b = rd_take(rd, 2);
    return b ? (uint16_t)(b[0] | (b[1] << 8)) : 0;
}

uint32_t mysql_rd_u24(struct mysql_rd *rd)
{
    const uint8_t *b = rd_take(rd, 3);
    return b ? (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) : 0;
}

uint32_t mysql_rd_u32(struct mysql_rd *rd)
{
    const uint8_t *b = rd_take(rd, 4);
    if (!b)
        return 0;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

uint64_t mysql_rd_u64(struct mysql_rd *rd)
{
    const uint8_t *b = rd_take(rd, 8);
    if (!b)
        return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

uint64_t mysql_rd_lenenc(struct mysql_rd *rd)
{
    uint8_t first = mysql_rd_u8(rd);
    if (first < 0xfb)
        return first;
    switch (first) {
    case 0xfc:
        return mysql_rd_u16(rd);
    case 0xfd:
        return mysql_rd_u24(rd);
    case 0xfe:
        return mysql_rd_u64(rd);
    default:
        /* 0xfb is NULL, which is a value in a row but never a length;
         * 0xff is not an integer prefix at all. */
        rd->bad = true;
        return 0;
    }
}

const uint8_t *mysql_rd_bytes(struct mysql_rd *rd, size_t n)
{
    return rd_take(rd, n);
}

const char *mysql_rd_cstr(struct mysql_rd *rd, size_t *len)
{
    *len = 0;
    if (rd->bad || rd->p == rd->end) {
        rd->bad = true;
        return NULL;
    }
    const uint8_t *nul = memchr(rd->p, 0, (size_t)(rd->end - rd->p));
    if (!nul) {
        rd->bad = true;
        return NULL;
    }
    size_t n = (size_t)(nul - rd->p);
    const char *s = (const char *)rd_take(rd, n + 1);
    *len = n;
    return s;
}

const uint8_t *mysql_rd_lenenc_str(struct mysql_rd *rd, size_t *len)
{
    *len = 0;
    uint64_t n = mysql_rd_lenenc(rd);
    /* Compare in 64 bits before narrowing: on a 32-bit size_t a huge wire
     * length must not wrap into a small one. */
    if (rd->bad || n > (uint64_t)(rd->end - rd->p)) {
        rd->bad = true;
        return NULL;
    }
    *len = (size_t)n;
    return rd_take(rd, (size_t)n);
}

/* ---- primitive writers -------------------------------------------------- */

void mysql_wr_init(struct mysql_wr *wr, uint8_t *out, size_t cap)
{
    wr->p = out;
    wr->start = out;
    wr->end = out ? out + cap : out;
    wr->bad = false;
}

size_t mysql_wr_len(const struct mysql_wr *wr)
{
    return wr->bad ? 0 : (size_t)(wr->p - wr->start);
}

/* Room for n more bytes, advancing past them; NULL (and `bad`) if full. */
static uint8_t *wr_take(struct mysql_wr *wr, size_t n)
{
    if (wr->bad || n > (size_t)(wr->end - wr->p)) {
        wr->bad = true;
        return NULL;
    }
    uint8_t *at = wr->p;
    wr->p += n;
    return at;
}

static void wr_le(struct mysql_wr *wr, uint64_t v, size_t n)
{
    uint8_t *b = wr_take(wr, n);
    if (!b)
        return;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

void mysql_wr_u8(struct mysql_wr *wr, uint8_t v)
{
    wr_le(wr, v, 1);
}

void mysql_wr_u16(struct mysql_wr *wr, uint16_t v)
{
    wr_le(wr, v, 2);
}

void mysql_wr_u24(struct mysql_wr *wr, uint32_t v)
{
    wr_le(wr, v, 3);
}

void mysql_wr_u32(struct mysql_wr *wr, uint32_t v)
{
    wr_le(wr, v, 4);
}

void mysql_wr_lenenc(struct mysql_wr *wr, uint64_t v)
{
    if (v < 0xfb) {
        wr_le(wr, v, 1);
    } else if (v <= 0xffff) {
        mysql_wr_u8(wr, 0xfc);
        wr_le(wr, v, 2);
    } else if (v <= 0xffffff) {
        mysql_wr_u8(wr, 0xfd);
        wr_le(wr, v, 3);
    } else {
        mysql_wr_u8(wr, 0xfe);
        wr_le(wr, v, 8);
    }
}

void mysql_wr_bytes(struct mysql_wr *wr, const void *b, size_t n)
{
    uint8_t *dst = wr_take(wr, n);
    /* n == 0 with b == NULL is legal for callers; memcpy(NULL) is not. */
    if (dst && n)
        memcpy(dst, b, n);
}

void mysql_wr_cstr(struct mysql_wr *wr, const char *s, size_t n)
{
    mysql_wr_bytes(wr, s, n);
    mysql_wr_u8(wr, 0);
}

void mysql_wr_lenenc_str(struct mysql_wr *wr, const void *s, size_t n)
{
    mysql_wr_lenenc(wr, n);
    mysql_wr_bytes(wr, s, n);
}

void mysql_wr_zero(struct mysql_wr *wr, size_t n)
{
    uint8_t *dst = wr_take(wr, n);
    if (dst)
        memset(dst, 0, n);
}

/* ---- handshake v10 ------------------------------------------------------ */

#define HANDSHAKE_V10  10
#define SCRAMBLE_PART1 8
#define SCRAMBLE_PART2 (MYSQL_SCRAMBLE_LEN - SCRAMBLE_PART1)
/* auth-plugin-data-len we announce: 20 scramble bytes + the NUL. */
#define AUTH_DATA_LEN (MYSQL_SCRAMBLE_LEN + 1)

size_t mysql_handshake_encode(const struct mysql_handshake *hs, uint8_t *out, size_t cap)
{
    struct mysql_wr wr;
    bool plugin_auth = hs->caps & CLIENT_PLUGIN_AUTH;

    mysql_wr_init(&wr, out, cap);
    mysql_wr_u8(&wr, HANDSHAKE_V10);
    mysql_wr_cstr(&wr, hs->server_version, hs->server_version_len);
    mysql_wr_u32(&wr, hs->conn_id);
    mysql_wr_bytes(&wr, hs->scramble, SCRAMBLE_PART1);
    mysql_wr_u8(&wr, 0);
    mysql_wr_u16(&wr, (uint16_t)hs->caps);
    mysql_wr_u8(&wr, hs->charset);
    mysql_wr_u16(&wr, hs->status);
    mysql_wr_u16(&wr, (uint16_t)(hs->caps >> 16));
    mysql_wr_u8(&wr, plugin_auth ? AUTH_DATA_LEN : 0);
    /* Reserved; MariaDB's extended capabilities in the last 4 bytes. */
    mysql_wr_zero(&wr, 6);
    mysql_wr_u32(&wr, (hs->caps & CLIENT_MYSQL) ? 0 : hs->ext_caps);
    mysql_wr_bytes(&wr, hs->scramble + SCRAMBLE_PART1, SCRAMBLE_PART2);
    mysql_wr_u8(&wr, 0);
    if (plugin_auth)
        mysql_wr_cstr(&wr, hs->plugin, hs->plugin_len);
    return mysql_wr_len(&wr);
}

size_t mysql_greeting_encode(uint8_t *out, size_t cap, const char *server_version, uint32_t conn_id,
                             const uint8_t scramble[MYSQL_SCRAMBLE_LEN], uint32_t caps,
                             uint32_t ext_caps, const char *plugin)
{
    struct mysql_handshake hs = {0};
    hs.protocol = 10;
    hs.server_version = server_version;
    hs.server_version_len = strlen(server_version);
    hs.conn_id = conn_id;
    memcpy(hs.scramble, scramble, sizeof(hs.scramble));
    hs.caps = caps;
    hs.ext_caps = ext_caps;
    hs.charset = 45; /* utf8mb4_general_ci */
    hs.status = SERVER_STATUS_AUTOCOMMIT;
    hs.plugin = plugin;
    hs.plugin_len = strlen(plugin);
    return mysql_handshake_encode(&hs, out, cap);
}

hy_status_t mysql_handshake_decode(const uint8_t *payload, size_t len, struct mysql_handshake *hs)
{
    struct mysql_rd rd;

    memset(hs, 0, sizeof(*hs));
    mysql_rd_init(&rd, payload, len);
    hs->protocol = mysql_rd_u8(&rd);
    if (rd.bad || hs->protocol != HANDSHAKE_V10)
        return HY_ERROR; /* includes an ERR packet (0xff) sent instead of a greeting */
    hs->server_version = mysql_rd_cstr(&rd, &hs->server_version_len);
    hs->conn_id = mysql_rd_u32(&rd);
    const uint8_t *part1 = mysql_rd_bytes(&rd, SCRAMBLE_PART1);
    (void)mysql_rd_u8(&rd); /* filler */
    uint32_t caps = mysql_rd_u16(&rd);
    hs->charset = mysql_rd_u8(&rd);
    hs->status = mysql_rd_u16(&rd);
    caps |= (uint32_t)mysql_rd_u16(&rd) << 16;
    uint8_t auth_len = mysql_rd_u8(&rd);
    (void)mysql_rd_bytes(&rd, 6); /* reserved */
    uint32_t ext = mysql_rd_u32(&rd);
    if (rd.bad || !(caps & CLIENT_SECURE_CONNECTION))
        return HY_ERROR; /* no room for a 20-byte scramble */
    hs->caps = caps;
    hs->ext_caps = (caps & CLIENT_MYSQL) ? 0 : ext;

    /* Part 2 is max(13, auth_len - 8) bytes; the scramble is its first 12. */
    size_t part2_len = auth_len > SCRAMBLE_PART1 + 13 ? auth_len - SCRAMBLE_PART1 : 13;
    const uint8_t *part2 = mysql_rd_bytes(&rd, part2_len);
    if (rd.bad)
        return HY_ERROR;
    memcpy(hs->scramble, part1, SCRAMBLE_PART1);
    memcpy(hs->scramble + SCRAMBLE_PART1, part2, SCRAMBLE_PART2);

    if ((caps & CLIENT_PLUGIN_AUTH) && mysql_rd_left(&rd) > 0) {
        /* Some old servers (5.5.7-5.5.9) did not NUL-terminate the name:
         * then it runs to the end of the packet. */
        if (memchr(rd.p, 0, mysql_rd_left(&rd))) {
            hs->plugin = mysql_rd_cstr(&rd, &hs->plugin_len);
        } else {
            hs->plugin_len = mysql_rd_left(&rd);
            hs->plugin = (const char *)mysql_rd_bytes(&rd, hs->plugin_len);
        }
    }
    return HY_OK;
}

/* ---- handshake response ------------------------------------------------- */

#define LOGIN_FIXED_LEN 32 /* caps, max_packet, charset, 23 filler: also the SSLRequest */

/* The auth-response field, in whichever of three encodings `caps` selects. */
static const uint8_t *rd_auth(struct mysql_rd *rd, uint32_t caps, size_t *len)
{
    if (caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
        return mysql_rd_lenenc_str(rd, len);
    if (caps & CLIENT_SECURE_CONNECTION) {
        *len = mysql_rd_u8(rd);
        const uint8_t *b = mysql_rd_bytes(rd, *len);
        if (!b)
            *len = 0;
        return b;
    }
    return (const uint8_t *)mysql_rd_cstr(rd, len);
}

hy_status_t mysql_login_decode(const uint8_t *payload, size_t len, struct mysql_login *lg)
{
    struct mysql_rd rd;

    memset(lg, 0, sizeof(*lg));
    mysql_rd_init(&rd, payload, len);
    lg->caps = mysql_rd_u32(&rd);
    lg->max_packet = mysql_rd_u32(&rd);
    lg->charset = mysql_rd_u8(&rd);
    /* Filler; a MariaDB client puts its extended caps in the last 4 bytes. */
    (void)mysql_rd_bytes(&rd, 19);
    uint32_t ext = mysql_rd_u32(&rd);
    if (rd.bad || !(lg->caps & CLIENT_PROTOCOL_41))
        return HY_ERROR;
    lg->ext_caps = (lg->caps & CLIENT_MYSQL) ? 0 : ext;
    if (len == LOGIN_FIXED_LEN) {
        if (!(lg->caps & CLIENT_SSL))
            return HY_ERROR; /* a login without even a user name */
        lg->ssl_request = true;
        return HY_OK;
    }

    lg->user = mysql_rd_cstr(&rd, &lg->user_len);
    if (rd.bad)
        return HY_ERROR;

    /* From here on each field may be missing at the end of the packet. */
    if (mysql_rd_left(&rd) == 0)
        return HY_OK;
    lg->auth = rd_auth(&rd, lg->caps, &lg->auth_len);
    if (rd.bad)
        return HY_ERROR;

    if ((lg->caps & CLIENT_CONNECT_WITH_DB) && mysql_rd_left(&rd) > 0) {
        lg->db = mysql_rd_cstr(&rd, &lg->db_len);
        if (rd.bad)
            return HY_ERROR;
    }
    if ((lg->caps & CLIENT_PLUGIN_AUTH) && mysql_rd_left(&rd) > 0) {
        lg->plugin = mysql_rd_cstr(&rd, &lg->plugin_len);
        if (rd.bad)
            return HY_ERROR;
    }
    if ((lg->caps & CLIENT_CONNECT_ATTRS) && mysql_rd_left(&rd) > 0) {
        lg->attrs = mysql_rd_lenenc_str(&rd, &lg->attrs_len);
        if (rd.bad)
            return HY_ERROR;
    }
    /* Anything after (MySQL 8's zstd level byte, say) is ignored. */
    return HY_OK;
}

size_t mysql_login_encode(const struct mysql_login *lg, uint8_t *out, size_t cap)
{
    struct mysql_wr wr;

    mysql_wr_init(&wr, out, cap);
    mysql_wr_u32(&wr, lg->caps);
    mysql_wr_u32(&wr, lg->max_packet);
    mysql_wr_u8(&wr, lg->charset);
    mysql_wr_zero(&wr, 19);
    mysql_wr_u32(&wr, (lg->caps & CLIENT_MYSQL) ? 0 : lg->ext_caps);
    if (lg->ssl_request)
        return mysql_wr_len(&wr);

    mysql_wr_cstr(&wr, lg->user, lg->user_len);
    if (lg->caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        mysql_wr_lenenc_str(&wr, lg->auth, lg->auth_len);
    } else {
        if (lg->auth_len > 0xff)
            return 0; /* does not fit a 1-byte length */
        mysql_wr_u8(&wr, (uint8_t)lg->auth_len);
        mysql_wr_bytes(&wr, lg->auth, lg->auth_len);
    }
    if (lg->caps & CLIENT_CONNECT_WITH_DB)
        mysql_wr_cstr(&wr, lg->db, lg->db_len);
    if (lg->caps & CLIENT_PLUGIN_AUTH)
        mysql_wr_cstr(&wr, lg->plugin, lg->plugin_len);
    if (lg->caps & CLIENT_CONNECT_ATTRS)
        mysql_wr_lenenc_str(&wr, lg->attrs, lg->attrs_len);
    return mysql_wr_len(&wr);
}

/* ---- COM_CHANGE_USER ---------------------------------------------------- */

hy_status_t mysql_change_user_decode(const uint8_t *payload, size_t len, uint32_t caps,
                                     struct mysql_change_user *cu)
{
    struct mysql_rd rd;

    memset(cu, 0, sizeof(*cu));
    mysql_rd_init(&rd, payload, len);
    if (mysql_rd_u8(&rd) != COM_CHANGE_USER)
        return HY_ERROR;
    cu->user = mysql_rd_cstr(&rd, &cu->user_len);
    if (rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&rd) == 0)
        return HY_OK;
    /* Unlike the login, COM_CHANGE_USER never uses a lenenc auth field. */
    cu->auth = rd_auth(&rd, caps & ~CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, &cu->auth_len);
    if (rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&rd) == 0)
        return HY_OK;
    cu->db = mysql_rd_cstr(&rd, &cu->db_len);
    if (rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&rd) == 0)
        return HY_OK;
    cu->charset = mysql_rd_u16(&rd);
    if (rd.bad)
        return HY_ERROR;
    if ((caps & CLIENT_PLUGIN_AUTH) && mysql_rd_left(&rd) > 0) {
        cu->plugin = mysql_rd_cstr(&rd, &cu->plugin_len);
        if (rd.bad)
            return HY_ERROR;
    }
    if ((caps & CLIENT_CONNECT_ATTRS) && mysql_rd_left(&rd) > 0) {
        cu->attrs = mysql_rd_lenenc_str(&rd, &cu->attrs_len);
        if (rd.bad)
            return HY_ERROR;
    }
    return HY_OK;
}

/* ---- auth switch -------------------------------------------------------- */

size_t mysql_auth_switch_encode(const char *plugin, const uint8_t *data, size_t data_len,
                                uint8_t *out, size_t cap)
{
    struct mysql_wr wr;

    mysql_wr_init(&wr, out, cap);
    mysql_wr_u8(&wr, MYSQL_AUTH_SWITCH);
    mysql_wr_cstr(&wr, plugin, plugin ? strlen(plugin) : 0);
    mysql_wr_bytes(&wr, data, data_len);
    return mysql_wr_len(&wr);
}

hy_status_t mysql_auth_switch_decode(const uint8_t *payload, size_t len, const char **plugin,
                                     size_t *plugin_len, const uint8_t **data, size_t *data_len)
{
    struct mysql_rd rd;

    *plugin = NULL;
    *plugin_len = 0;
    *data = NULL;
    *data_len = 0;
    mysql_rd_init(&rd, payload, len);
    if (mysql_rd_u8(&rd) != MYSQL_AUTH_SWITCH)
        return HY_ERROR;
    /* A bare 0xfe is the pre-4.1 "use the old password hash" request, which
     * we never support: it fails here like any malformed switch. */
    const char *name = mysql_rd_cstr(&rd, plugin_len);
    if (rd.bad)
        return HY_ERROR;
    size_t n = mysql_rd_left(&rd);
    const uint8_t *d = mysql_rd_bytes(&rd, n);
    if (n > 0 && d[n - 1] == 0)
        n--;
    *plugin = name;
    *data = d;
    *data_len = n;
    return HY_OK;
}

hy_status_t mysql_auth_switch_native(const uint8_t *payload, size_t len, const char **plugin,
                                     size_t *plugin_len, const uint8_t **scramble)
{
    static const char native[] = "mysql_native_password";
    size_t data_len;

    if (mysql_auth_switch_decode(payload, len, plugin, plugin_len, scramble, &data_len) != HY_OK)
        return HY_ERROR;
    if (*plugin_len != sizeof(native) - 1 || memcmp(*plugin, native, *plugin_len) != 0 ||
        data_len < MYSQL_SCRAMBLE_LEN)
        return HY_ERROR;
    return HY_OK;
}

/* ---- OK / ERR / EOF ----------------------------------------------------- */

/* The fixed part of an OK (header, affected rows, insert id, status,
 * warnings): what the response tracker needs too, and all of it lies within
 * the first 23 bytes, so within MYSQL_RESP_PEEK. */
static void rd_ok_head(struct mysql_rd *rd, uint32_t caps, struct mysql_ok *ok)
{
    (void)mysql_rd_u8(rd);
    ok->affected_rows = mysql_rd_lenenc(rd);
    ok->last_insert_id = mysql_rd_lenenc(rd);
    if (caps & CLIENT_PROTOCOL_41) {
        ok->status = mysql_rd_u16(rd);
        ok->warnings = mysql_rd_u16(rd);
    } else if (caps & CLIENT_TRANSACTIONS) {
        ok->status = mysql_rd_u16(rd);
    }
}

hy_status_t mysql_ok_decode(const uint8_t *payload, size_t len, uint32_t caps, struct mysql_ok *ok)
{
    struct mysql_rd rd;

    memset(ok, 0, sizeof(*ok));
    if (len == 0 || (payload[0] != MYSQL_OK && payload[0] != MYSQL_EOF))
        return HY_ERROR;
    mysql_rd_init(&rd, payload, len);
    rd_ok_head(&rd, caps, ok);
    if (rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&rd) == 0)
        return HY_OK;

    if (!(caps & CLIENT_SESSION_TRACK)) {
        ok->info_len = mysql_rd_left(&rd);
        ok->info = mysql_rd_bytes(&rd, ok->info_len);
        return HY_OK;
    }
    ok->info = mysql_rd_lenenc_str(&rd, &ok->info_len);
    if (rd.bad)
        return HY_ERROR;
    if ((ok->status & SERVER_SESSION_STATE_CHANGED) && mysql_rd_left(&rd) > 0) {
        ok->session_state = mysql_rd_lenenc_str(&rd, &ok->session_state_len);
        if (rd.bad)
            return HY_ERROR;
    }
    return HY_OK;
}

/* The bytes of a lenenc integer of value v. */
static size_t lenenc_size(uint64_t v)
{
    return v < 251 ? 1 : v < 0x10000 ? 3 : v < 0x1000000 ? 4 : 9;
}

/* Whether the session-state entry of `type` whose body is body[len] goes
 * (mysql_ok_track_filter's `drop`). */
static bool track_dropped(uint8_t type, const uint8_t *body, size_t len, uint32_t drop)
{
    if (type < 31 && (drop & (1u << type)))
        return true;
    if (type != MYSQL_TRACK_SYSTEM_VARIABLES || !(drop & MYSQL_TRACK_DROP_LAST_GTID) ||
        body == NULL)
        return false;
    struct mysql_rd rd;
    size_t n = 0;
    mysql_rd_init(&rd, body, len);
    const uint8_t *name = mysql_rd_lenenc_str(&rd, &n);
    return !rd.bad && name != NULL && n == 9 && memcmp(name, "last_gtid", 9) == 0;
}

bool mysql_track_vars_last_gtid(const char *vars, size_t n)
{
    return hy_list_has(vars, n, "last_gtid") || hy_list_has(vars, n, "*");
}

size_t mysql_ok_track_filter(uint8_t *p, size_t len, bool client_tracks, uint32_t drop)
{
    struct mysql_rd rd;
    if (len < 1 || (p[0] != MYSQL_OK && p[0] != MYSQL_EOF))
        return len;
    mysql_rd_init(&rd, p, len);
    (void)mysql_rd_u8(&rd);
    (void)mysql_rd_lenenc(&rd);
    (void)mysql_rd_lenenc(&rd);
    uint8_t *status = (uint8_t *)rd.p;
    uint16_t st = mysql_rd_u16(&rd);
    (void)mysql_rd_u16(&rd);
    if (rd.bad || !(st & SERVER_SESSION_STATE_CHANGED) || (client_tracks && drop == 0))
        return len;
    size_t info_len = 0;
    const uint8_t *info = mysql_rd_lenenc_str(&rd, &info_len);
    uint8_t *info_end = (uint8_t *)rd.p;
    size_t block_len = 0;
    const uint8_t *block = mysql_rd_lenenc_str(&rd, &block_len);
    if (rd.bad || info == NULL || block == NULL)
        return len; /* not the layout this was asked for: passed as it is */
    /* What of the block the client gets: every entry but those of the
     * types in `drop` when it tracks, none when it does not. */
    size_t kept = 0;
    struct mysql_rd e;
    mysql_rd_init(&e, block, block_len);
    while (client_tracks && mysql_rd_left(&e) > 0) {
        const uint8_t *at = e.p;
        uint8_t type = mysql_rd_u8(&e);
        size_t body_len = 0;
        const uint8_t *body = mysql_rd_lenenc_str(&e, &body_len);
        if (e.bad)
            return len; /* malformed: passed as it is */
        if (!track_dropped(type, body, body_len, drop))
            kept += (size_t)(e.p - at);
    }
    uint8_t *w;
    if (kept == 0) {
        /* as a server sends an OK without state changes: the info only
         * when there is one */
        p[status - p] = (uint8_t)(st & ~SERVER_SESSION_STATE_CHANGED);
        p[status - p + 1] = (uint8_t)((st & ~SERVER_SESSION_STATE_CHANGED) >> 8);
        w = info_len > 0 ? info_end : status + 4;
        return (size_t)(w - p);
    }
    w = info_end;
    struct mysql_wr wr;
    mysql_wr_init(&wr, w, lenenc_size(kept));
    mysql_wr_lenenc(&wr, kept);
    w += mysql_wr_len(&wr);
    mysql_rd_init(&e, block, block_len);
    while (mysql_rd_left(&e) > 0) {
        const uint8_t *at = e.p;
        uint8_t type = mysql_rd_u8(&e);
        size_t body_len = 0;
        const uint8_t *body = mysql_rd_lenenc_str(&e, &body_len);
        size_t n = (size_t)(e.p - at);
        if (!track_dropped(type, body, body_len, drop)) {
            memmove(w, at, n); /* leftwards: w never passes `at` */
            w += n;
        }
    }
    return (size_t)(w - p);
}

size_t mysql_ok_encode(uint8_t *out, size_t cap, uint64_t affected, uint64_t insert_id,
                       uint16_t status, uint16_t warnings)
{
    struct mysql_wr wr;

    mysql_wr_init(&wr, out, cap);
    mysql_wr_u8(&wr, MYSQL_OK);
    mysql_wr_lenenc(&wr, affected);
    mysql_wr_lenenc(&wr, insert_id);
    mysql_wr_u16(&wr, status);
    mysql_wr_u16(&wr, warnings);
    return mysql_wr_len(&wr);
}

void mysql_track_init(struct mysql_track_it *it, const uint8_t *block, size_t len)
{
    mysql_rd_init(&it->rd, block, len);
}

/* One body of a known type: every field it holds, and nothing after them. */
static void track_body(struct mysql_rd *body, struct mysql_track *t)
{
    switch (t->type) {
    case MYSQL_TRACK_SYSTEM_VARIABLES:
        t->a = mysql_rd_lenenc_str(body, &t->a_len);
        t->b = mysql_rd_lenenc_str(body, &t->b_len);
        break;
    case MYSQL_TRACK_GTIDS:
        t->spec = mysql_rd_u8(body);
        t->a = mysql_rd_lenenc_str(body, &t->a_len);
        break;
    case MYSQL_TRACK_STATE_CHANGE:
        /* MariaDB 10.11 sends the flag itself, "1" (02 01 31, measured);
         * a lenenc string holding it is read too */
        if (mysql_rd_left(body) == 1) {
            t->a_len = 1;
            t->a = mysql_rd_bytes(body, 1);
            break;
        }
        t->a = mysql_rd_lenenc_str(body, &t->a_len);
        break;
    case MYSQL_TRACK_SCHEMA:
    case MYSQL_TRACK_TRX_CHARACTERISTICS:
    case MYSQL_TRACK_TRX_STATE:
        t->a = mysql_rd_lenenc_str(body, &t->a_len);
        break;
    default:
        break;
    }
}

hy_status_t mysql_track_next(struct mysql_track_it *it, struct mysql_track *t)
{
    struct mysql_rd body;
    const uint8_t *p;
    size_t n;

    memset(t, 0, sizeof(*t));
    if (it->rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&it->rd) == 0)
        return HY_AGAIN;
    t->type = mysql_rd_u8(&it->rd);
    p = mysql_rd_lenenc_str(&it->rd, &n);
    if (it->rd.bad)
        return HY_ERROR;
    if (t->type > MYSQL_TRACK_TRX_STATE) {
        t->a = p;
        t->a_len = n;
        return HY_OK;
    }
    mysql_rd_init(&body, p, n);
    track_body(&body, t);
    if (body.bad || mysql_rd_left(&body) != 0) {
        it->rd.bad = true;
        return HY_ERROR;
    }
    return HY_OK;
}

#define SQLSTATE_LEN 5

hy_status_t mysql_err_decode(const uint8_t *payload, size_t len, struct mysql_err *err)
{
    struct mysql_rd rd;

    memset(err, 0, sizeof(*err));
    memcpy(err->sqlstate, "HY000", sizeof(err->sqlstate));
    mysql_rd_init(&rd, payload, len);
    if (mysql_rd_u8(&rd) != MYSQL_ERR)
        return HY_ERROR;
    err->code = mysql_rd_u16(&rd);
    if (rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&rd) > 0 && rd.p[0] == '#') {
        (void)mysql_rd_u8(&rd);
        const uint8_t *state = mysql_rd_bytes(&rd, SQLSTATE_LEN);
        if (rd.bad)
            return HY_ERROR;
        memcpy(err->sqlstate, state, SQLSTATE_LEN);
        err->sqlstate[SQLSTATE_LEN] = '\0';
    }
    err->msg_len = mysql_rd_left(&rd);
    err->msg = (const char *)mysql_rd_bytes(&rd, err->msg_len);
    return HY_OK;
}

size_t mysql_err_encode(uint8_t *out, size_t cap, uint16_t code, const char *sqlstate,
                        const char *msg, size_t msg_len)
{
    struct mysql_wr wr;

    if (!sqlstate || strlen(sqlstate) != SQLSTATE_LEN)
        sqlstate = "HY000";
    mysql_wr_init(&wr, out, cap);
    mysql_wr_u8(&wr, MYSQL_ERR);
    mysql_wr_u16(&wr, code);
    mysql_wr_u8(&wr, '#');
    mysql_wr_bytes(&wr, sqlstate, SQLSTATE_LEN);
    mysql_wr_bytes(&wr, msg, msg_len);
    return mysql_wr_len(&wr);
}

#define EOF_MAX_LEN 9 /* an EOF is shorter than this; a 0xfe row or OK is not */

hy_status_t mysql_eof_decode(const uint8_t *payload, size_t len, uint16_t *warnings,
                             uint16_t *status)
{
    struct mysql_rd rd;

    *warnings = 0;
    *status = 0;
    if (len >= EOF_MAX_LEN)
        return HY_ERROR;
    mysql_rd_init(&rd, payload, len);
    if (mysql_rd_u8(&rd) != MYSQL_EOF)
        return HY_ERROR;
    uint16_t w = mysql_rd_u16(&rd);
    uint16_t s = mysql_rd_u16(&rd);
    if (rd.bad)
        return HY_ERROR;
    *warnings = w;
    *status = s;
    return HY_OK;
}

bool mysql_is_eof(uint8_t first, uint32_t len, bool deprecate_eof)
{
    if (first != MYSQL_EOF)
        return false;
    return deprecate_eof ? len < MYSQL_MAX_PAYLOAD : len < EOF_MAX_LEN;
}

/* ---- column definitions ---------------------------------------------------- */

/* A column definition's catalog: "def", in the character set of the
 * session's character_set_results, which the server converts the names
 * of the definition to. ucs2, utf16 and utf32 (big-endian) and utf16le
 * may be set there (not as character_set_client), where "def" takes 6 or
 * 12 bytes. */
static bool catalog_is_def(const uint8_t *p, size_t n)
{
    static const uint8_t wide[][12] = {
        {0, 'd', 0, 'e', 0, 'f'},
        {'d', 0, 'e', 0, 'f', 0},
        {0, 0, 0, 'd', 0, 0, 0, 'e', 0, 0, 0, 'f'},
    };
    switch (n) {
    case 3:
        return memcmp(p, "def", 3) == 0;
    case 6:
        return memcmp(p, wide[0], 6) == 0 || memcmp(p, wide[1], 6) == 0;
    case 12:
        return memcmp(p, wide[2], 12) == 0;
    default:
        return false;
    }
}

hy_status_t mysql_coldef_decode(const uint8_t *payload, size_t len, bool ext_meta,
                                struct mysql_coldef *cd)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, payload, len);
    size_t n = 0;
    const uint8_t *catalog = mysql_rd_lenenc_str(&rd, &n);
    if (rd.bad || !catalog_is_def(catalog, n))
        return HY_ERROR;
    (void)mysql_rd_lenenc_str(&rd, &n); /* schema */
    (void)mysql_rd_lenenc_str(&rd, &n); /* table */
    (void)mysql_rd_lenenc_str(&rd, &n); /* org_table */
    cd->name = mysql_rd_lenenc_str(&rd, &cd->name_len);
    (void)mysql_rd_lenenc_str(&rd, &n); /* org_name */
    if (ext_meta)
        (void)mysql_rd_lenenc_str(&rd, &n); /* extended metadata: type and format names */
    uint64_t fixed = mysql_rd_lenenc(&rd);
    if (rd.bad || fixed < 0x0c || mysql_rd_left(&rd) < 0x0c)
        return HY_ERROR;
    cd->charset = mysql_rd_u16(&rd);
    cd->length = mysql_rd_u32(&rd);
    cd->type = mysql_rd_u8(&rd);
    cd->flags = mysql_rd_u16(&rd);
    cd->decimals = mysql_rd_u8(&rd);
    return rd.bad ? HY_ERROR : HY_OK;
}

/* ---- response tracking -------------------------------------------------- */

/* Where the tracker is in an answer: what the next packet may be. */
enum resp_state {
    RS_NONE = 0,     /* no answer expected (or mysql_resp_start not called) */
    RS_SIMPLE,       /* one packet: OK | ERR | EOF */
    RS_STATS,        /* one packet: COM_STATISTICS' string */
    RS_FIRST,        /* first packet of a result: OK | ERR | INFILE | column count */
    RS_COLDEFS,      /* `left` column definitions to come */
    RS_COLDEFS_EOF,  /* the EOF after the column definitions (no DEPRECATE_EOF) */
    RS_ROWS,         /* rows until a terminator */
    RS_INFILE,       /* the client is sending the file: nothing to feed yet */
    RS_INFILE_REPLY, /* the server's OK | ERR after the file */
    RS_FIELDS,       /* COM_FIELD_LIST: definitions until a terminator */
    RS_PREP_OK,      /* COM_STMT_PREPARE: OK | ERR */
    RS_PREP_PARAMS,  /* `params_left` parameter definitions to come */
    RS_PREP_PARAMS_EOF,
    RS_PREP_COLS, /* `left` column definitions to come */
    RS_PREP_COLS_EOF,
    RS_DONE, /* the answer is complete: any further packet is BAD */
};

bool mysql_resp_expects_reply(uint8_t cmd)
{
    return cmd != COM_QUIT && cmd != COM_STMT_CLOSE && cmd != COM_STMT_SEND_LONG_DATA;
}

void mysql_resp_start(struct mysql_resp *r, uint8_t cmd, uint32_t caps, uint8_t exec_flags)
{
    memset(r, 0, sizeof(*r));
    r->caps = caps;
    r->cmd = cmd;
    /* SERVER_STATUS_CURSOR_EXISTS alone does not say that this result's
     * rows come by COM_STMT_FETCH: inside a stored routine with a cursor
     * of its own open, the server sets it on the results the routine's
     * SELECTs send, rows and all. Only an execute that asked for a cursor
     * can get one. */
    r->cursor_asked = cmd == COM_STMT_EXECUTE && (exec_flags & CURSOR_TYPE_READ_ONLY);
    switch (cmd) {
    case COM_QUERY:
    case COM_STMT_EXECUTE:
    case COM_STMT_BULK_EXECUTE: /* an OK, or the rows of INSERT ... RETURNING */
    case COM_PROCESS_INFO:      /* answered with a SHOW PROCESSLIST result set */
        r->state = RS_FIRST;
        break;
    case COM_STMT_FETCH:
        r->state = RS_ROWS;
        break;
    case COM_STMT_PREPARE:
        r->state = RS_PREP_OK;
        break;
    case COM_FIELD_LIST:
        r->state = RS_FIELDS;
        break;
    case COM_STATISTICS:
        r->state = RS_STATS;
        break;
    default:
        r->state = mysql_resp_expects_reply(cmd) ? RS_SIMPLE : RS_NONE;
        break;
    }
}

void mysql_resp_infile_done(struct mysql_resp *r)
{
    if (r->state == RS_INFILE)
        r->state = RS_INFILE_REPLY;
}

/* An ERR: the answer ends, except for MariaDB's progress reports
 * (MARIADB_CLIENT_PROGRESS): ERR packets with code 0xffff that a
 * long statement (ALTER TABLE, LOAD DATA, CREATE INDEX...) sends every
 * progress_report_time seconds while it runs, each with a sequence number
 * of its own, before its answer. They are part of the answer: passed on,
 * and the state stays where it was. */
static enum mysql_resp_rc resp_err(struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    if (len < 3)
        return MYSQL_RESP_BAD;
    uint16_t code = (uint16_t)(p[1] | (p[2] << 8));
    if (code == MYSQL_PROGRESS_CODE)
        return MYSQL_RESP_MORE;
    r->err_code = code;
    r->state = RS_DONE;
    return MYSQL_RESP_DONE;
}

/* Status (and affected rows) of an OK, or of an OK-shaped terminator. */
static bool resp_ok(struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    struct mysql_rd rd;
    struct mysql_ok ok = {0};

    mysql_rd_init(&rd, p, HY_MIN(len, MYSQL_RESP_PEEK));
    rd_ok_head(&rd, r->caps, &ok);
    if (rd.bad)
        return false;
    r->status = ok.status;
    r->status_seen = true;
    if (r->caps & (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS)) /* after it: warnings, or nothing */
        r->status_at = (uint8_t)(rd.p - p - ((r->caps & CLIENT_PROTOCOL_41) ? 4 : 2));
    r->db_dropped |= (ok.status & SERVER_STATUS_DB_DROPPED) != 0;
    r->warnings = HY_MAX(r->warnings, ok.warnings);
    if (p[0] == MYSQL_OK) { /* a result set's terminator does not count */
        r->affected = ok.affected_rows;
        r->insert_id_seen |= ok.last_insert_id != 0;
    }
    return true;
}

/* Status of a terminator: an EOF, or an OK with header 0xfe under
 * DEPRECATE_EOF. The caller has checked mysql_is_eof(). */
static bool resp_term(struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    uint16_t warnings;

    if (r->caps & CLIENT_DEPRECATE_EOF)
        return resp_ok(r, p, len);
    if (mysql_eof_decode(p, len, &warnings, &r->status) != HY_OK)
        return false;
    r->status_seen = true;
    r->status_at = 3; /* 0xfe, the warnings, the status */
    r->db_dropped |= (r->status & SERVER_STATUS_DB_DROPPED) != 0;
    r->warnings = HY_MAX(r->warnings, warnings);
    return true;
}

/* A result ended on a packet whose status resp_ok/resp_term recorded:
 * another result follows only if the server says so. */
static enum mysql_resp_rc resp_result_end(struct mysql_resp *r)
{
    if (r->status & SERVER_MORE_RESULTS_EXISTS) {
        r->state = RS_FIRST;
        return MYSQL_RESP_MORE;
    }
    r->state = RS_DONE;
    return MYSQL_RESP_DONE;
}

/* COM_STMT_PREPARE: where to go once the parameters are done. */
static enum mysql_resp_rc resp_prep_cols(struct mysql_resp *r)
{
    if (r->left == 0) {
        r->state = RS_DONE;
        return MYSQL_RESP_DONE;
    }
    r->state = RS_PREP_COLS;
    return MYSQL_RESP_MORE;
}

/* COM_STMT_PREPARE's OK: 0x00, stmt_id u32, columns u16, params u16, then a
 * filler and warnings u16 which MariaDB may leave out. */
static enum mysql_resp_rc resp_prep_ok(struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    if (len < 9)
        return MYSQL_RESP_BAD;
    r->stmt_id =
        (uint32_t)p[1] | ((uint32_t)p[2] << 8) | ((uint32_t)p[3] << 16) | ((uint32_t)p[4] << 24);
    r->left = r->prep_cols = (uint16_t)(p[5] | (p[6] << 8));
    r->params_left = (uint16_t)(p[7] | (p[8] << 8));
    if (r->params_left > 0) {
        r->state = RS_PREP_PARAMS;
        return MYSQL_RESP_MORE;
    }
    return resp_prep_cols(r);
}

/* A column (or parameter) definition starts with its catalog, which is
 * always "def" (catalog_is_def): checking it catches a tracker that lost
 * count at once, where counting on would wait for packets that never come. */
static bool resp_is_coldef(const uint8_t *p, uint32_t len)
{
    return len >= 1 && len >= 1u + p[0] && catalog_is_def(p + 1, p[0]);
}

/* Whether a terminator straight after the column definitions means that
 * a cursor was opened: asked for, flagged, and the last result (a routine's
 * results, which come with rows, are followed by its final OK). */
static bool resp_cursor_opened(const struct mysql_resp *r)
{
    return r->cursor_asked && (r->status & SERVER_STATUS_CURSOR_EXISTS) &&
           !(r->status & SERVER_MORE_RESULTS_EXISTS);
}

/* The first packet of a result. A column count is a lenenc integer >= 1;
 * 0x00 is an OK, 0xfb the LOCAL INFILE request, 0xff an ERR, and 0xfe is
 * never a first packet. */
static enum mysql_resp_rc resp_first(struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    struct mysql_rd rd;

    switch (p[0]) {
    case MYSQL_OK:
        if (!resp_ok(r, p, len))
            return MYSQL_RESP_BAD;
        r->rs_last = false;
        return resp_result_end(r);
    case MYSQL_LOCAL_INFILE: /* a LOAD DATA LOCAL, as text or prepared */
        if (r->cmd != COM_QUERY && r->cmd != COM_STMT_EXECUTE)
            return MYSQL_RESP_BAD;
        r->state = RS_INFILE;
        return MYSQL_RESP_INFILE;
    case MYSQL_EOF:
        return MYSQL_RESP_BAD;
    default:
        mysql_rd_init(&rd, p, HY_MIN(len, MYSQL_RESP_PEEK));
        r->left = mysql_rd_lenenc(&rd);
        if (rd.bad || r->left == 0)
            return MYSQL_RESP_BAD;
        r->rs_last = true;
        r->rs_rows = 0;
        r->results++;
        r->state = RS_COLDEFS;
        return MYSQL_RESP_MORE;
    }
}

bool mysql_resp_err_fits(const struct mysql_resp *r)
{
    switch (r->state) {
    case RS_SIMPLE:
    case RS_STATS:
    case RS_FIRST:
    case RS_ROWS:
    case RS_INFILE_REPLY:
    case RS_PREP_OK:
        return true;
    default:
        return false;
    }
}

bool mysql_resp_colcount_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    /* resp_first's other cases: OK, LOCAL INFILE, EOF (never first), and
     * ERR (a progress report among them) */
    return r->state == RS_FIRST && len > 0 && p[0] != MYSQL_OK && p[0] != MYSQL_LOCAL_INFILE &&
           p[0] != MYSQL_EOF && p[0] != MYSQL_ERR;
}

bool mysql_resp_prep_cols_first(const struct mysql_resp *r)
{
    return r->state == RS_PREP_COLS && r->left == r->prep_cols;
}

bool mysql_resp_row_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    return r->state == RS_ROWS && len > 0 && p[0] != MYSQL_ERR &&
           !mysql_is_eof(p[0], len, (r->caps & CLIENT_DEPRECATE_EOF) != 0);
}

bool mysql_resp_ok_fits(const struct mysql_resp *r)
{
    return r->state == RS_SIMPLE || r->state == RS_FIRST || r->state == RS_INFILE_REPLY;
}

bool mysql_resp_rows_end_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    return r->state == RS_ROWS && len > 0 &&
           mysql_is_eof(p[0], len, (r->caps & CLIENT_DEPRECATE_EOF) != 0);
}

bool mysql_resp_ok_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    if (len == 0)
        return false;
    if (p[0] == MYSQL_OK)
        return mysql_resp_ok_fits(r);
    return (r->caps & CLIENT_DEPRECATE_EOF) && mysql_is_eof(p[0], len, true) &&
           (r->state == RS_SIMPLE || r->state == RS_ROWS || r->state == RS_FIELDS);
}

enum mysql_resp_rc mysql_resp_feed(struct mysql_resp *r, const uint8_t *p, uint32_t len)
{
    bool deprecate_eof = r->caps & CLIENT_DEPRECATE_EOF;

    r->status_at = 0;
    if (hy_unlikely(len == 0)) {
        /* Only a statistics string can be empty; elsewhere the first byte
         * decides everything and an empty packet is a continuation, which
         * the caller must not feed. */
        if (r->state != RS_STATS)
            return MYSQL_RESP_BAD;
        r->state = RS_DONE;
        return MYSQL_RESP_DONE;
    }
    /* An ERR can come instead of any packet of an answer: a killed query
     * fails in the middle of its rows. No definition or row can start with
     * 0xff (it is no lenenc prefix, and binary rows start with 0x00). */
    if (p[0] == MYSQL_ERR) {
        switch (r->state) {
        case RS_NONE:
        case RS_INFILE:
        case RS_DONE:
            return MYSQL_RESP_BAD;
        default:
            return resp_err(r, p, len);
        }
    }

    switch (r->state) {
    case RS_SIMPLE:
        /* OK, or an EOF (COM_SET_OPTION and COM_DEBUG answer with one; under
         * DEPRECATE_EOF it is an OK with header 0xfe). COM_CHANGE_USER may
         * instead get an auth switch (0xfe) or more auth data (0x01): those
         * end what this tracker follows and the caller takes over. */
        r->state = RS_DONE;
        if (p[0] == MYSQL_OK)
            return resp_ok(r, p, len) ? MYSQL_RESP_DONE : MYSQL_RESP_BAD;
        if (r->cmd == COM_CHANGE_USER)
            return MYSQL_RESP_DONE;
        if (mysql_is_eof(p[0], len, deprecate_eof))
            return resp_term(r, p, len) ? MYSQL_RESP_DONE : MYSQL_RESP_BAD;
        return MYSQL_RESP_BAD;

    case RS_STATS:
        r->state = RS_DONE;
        return MYSQL_RESP_DONE;

    case RS_FIRST:
        return resp_first(r, p, len);

    case RS_COLDEFS:
        if (!resp_is_coldef(p, len))
            return MYSQL_RESP_BAD;
        if (--r->left == 0)
            r->state = deprecate_eof ? RS_ROWS : RS_COLDEFS_EOF;
        return MYSQL_RESP_MORE;

    case RS_COLDEFS_EOF:
        if (!mysql_is_eof(p[0], len, false) || !resp_term(r, p, len))
            return MYSQL_RESP_BAD;
        if (resp_cursor_opened(r))
            return resp_result_end(r); /* rows come by COM_STMT_FETCH */
        r->state = RS_ROWS;
        return MYSQL_RESP_MORE;

    case RS_ROWS:
        if (!mysql_is_eof(p[0], len, deprecate_eof)) {
            if (r->cmd != COM_QUERY && r->cmd != COM_PROCESS_INFO && p[0] != 0x00)
                return MYSQL_RESP_BAD; /* a binary row starts with 0x00 */
            r->rows++;
            r->rs_rows++;
            return MYSQL_RESP_MORE;
        }
        if (!resp_term(r, p, len))
            return MYSQL_RESP_BAD;
        if (r->cmd == COM_STMT_FETCH) {
            r->state = RS_DONE;
            return MYSQL_RESP_DONE;
        }
        /* Under DEPRECATE_EOF this also covers a terminator straight after
         * the definitions: an empty result, or a cursor opened. */
        return resp_result_end(r);

    case RS_INFILE_REPLY:
        if (p[0] != MYSQL_OK || !resp_ok(r, p, len))
            return MYSQL_RESP_BAD;
        return resp_result_end(r);

    case RS_FIELDS:
        if (!mysql_is_eof(p[0], len, deprecate_eof))
            return resp_is_coldef(p, len) ? MYSQL_RESP_MORE : MYSQL_RESP_BAD;
        r->state = RS_DONE;
        return resp_term(r, p, len) ? MYSQL_RESP_DONE : MYSQL_RESP_BAD;

    case RS_PREP_OK:
        if (p[0] != MYSQL_OK)
            return MYSQL_RESP_BAD;
        return resp_prep_ok(r, p, len);

    case RS_PREP_PARAMS:
        if (!resp_is_coldef(p, len))
            return MYSQL_RESP_BAD;
        if (--r->params_left > 0)
            return MYSQL_RESP_MORE;
        if (!deprecate_eof) {
            r->state = RS_PREP_PARAMS_EOF;
            return MYSQL_RESP_MORE;
        }
        return resp_prep_cols(r);

    case RS_PREP_PARAMS_EOF:
        if (!mysql_is_eof(p[0], len, false) || !resp_term(r, p, len))
            return MYSQL_RESP_BAD;
        return resp_prep_cols(r);

    case RS_PREP_COLS:
        if (!resp_is_coldef(p, len))
            return MYSQL_RESP_BAD;
        if (--r->left > 0)
            return MYSQL_RESP_MORE;
        if (!deprecate_eof) {
            r->state = RS_PREP_COLS_EOF;
            return MYSQL_RESP_MORE;
        }
        r->state = RS_DONE;
        return MYSQL_RESP_DONE;

    case RS_PREP_COLS_EOF:
        if (!mysql_is_eof(p[0], len, false) || !resp_term(r, p, len))
            return MYSQL_RESP_BAD;
        r->state = RS_DONE;
        return MYSQL_RESP_DONE;

    default: /* RS_NONE, RS_INFILE, RS_DONE */
        return MYSQL_RESP_BAD;
    }
}

/* ---- names -------------------------------------------------------------- */

/* ---- prepared statements -------------------------------------------------- */

hy_status_t mysql_prepare_ok_decode(const uint8_t *payload, size_t len, struct mysql_prepare_ok *ok)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, payload, len);
    memset(ok, 0, sizeof(*ok));
    if (mysql_rd_u8(&rd) != MYSQL_OK)
        return HY_ERROR;
    ok->stmt_id = mysql_rd_u32(&rd);
    ok->n_cols = mysql_rd_u16(&rd);
    ok->n_params = mysql_rd_u16(&rd);
    if (rd.bad)
        return HY_ERROR;
    if (mysql_rd_left(&rd) >= 3) {
        (void)mysql_rd_u8(&rd); /* filler */
        ok->warnings = mysql_rd_u16(&rd);
    }
    return HY_OK;
}

hy_status_t mysql_stmt_exec_decode(const uint8_t *payload, size_t len, uint16_t n_params,
                                   struct mysql_stmt_exec *ex)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, payload, len);
    memset(ex, 0, sizeof(*ex));
    if (mysql_rd_u8(&rd) != COM_STMT_EXECUTE)
        return HY_ERROR;
    ex->stmt_id = mysql_rd_u32(&rd);
    ex->flags = mysql_rd_u8(&rd);
    ex->iterations = mysql_rd_u32(&rd);
    if (rd.bad)
        return HY_ERROR;
    if (n_params > 0) {
        ex->null_len = ((size_t)n_params + 7) / 8;
        ex->null_bitmap = mysql_rd_bytes(&rd, ex->null_len);
        ex->bound_off = (size_t)(rd.p - payload);
        uint8_t bound = mysql_rd_u8(&rd);
        if (rd.bad || bound > 1)
            return HY_ERROR;
        ex->new_params_bound = bound == 1;
        if (ex->new_params_bound)
            ex->types = mysql_rd_bytes(&rd, 2 * (size_t)n_params);
        if (rd.bad)
            return HY_ERROR;
    }
    ex->head_len = (size_t)(rd.p - payload);
    return HY_OK;
}

hy_status_t mysql_stmt_exec_param(const uint8_t *payload, size_t len,
                                  const struct mysql_stmt_exec *ex, uint16_t n_params,
                                  const uint8_t *types, uint16_t idx, struct mysql_param *out)
{
    if (idx >= n_params || types == NULL || ex->null_bitmap == NULL || ex->head_len > len)
        return HY_ERROR;
    struct mysql_rd rd;
    mysql_rd_init(&rd, payload + ex->head_len, len - ex->head_len);
    for (uint16_t i = 0; i <= idx; i++) {
        uint8_t type = types[2 * i];
        struct mysql_param v = {.kind = MP_OTHER, .type = type};
        bool uns = (types[2 * i + 1] & 0x80) != 0;
        if (ex->null_bitmap[i / 8] & (1u << (i % 8))) {
            v.kind = MP_NULL;
        } else {
            switch (type) {
            case MYSQL_TYPE_NULL:
                v.kind = MP_NULL;
                break;
            case MYSQL_TYPE_TINY: {
                uint8_t b = mysql_rd_u8(&rd);
                v.kind = uns ? MP_UINT : MP_INT;
                v.u = b;
                v.i = (int8_t)b;
                break;
            }
            case MYSQL_TYPE_SHORT:
            case 13: /* YEAR */ {
                uint16_t b = mysql_rd_u16(&rd);
                v.kind = uns ? MP_UINT : MP_INT;
                v.u = b;
                v.i = (int16_t)b;
                break;
            }
            case MYSQL_TYPE_LONG:
            case MYSQL_TYPE_INT24: {
                uint32_t b = mysql_rd_u32(&rd);
                v.kind = uns ? MP_UINT : MP_INT;
                v.u = b;
                v.i = (int32_t)b;
                break;
            }
            case MYSQL_TYPE_LONGLONG: {
                uint64_t b = mysql_rd_u64(&rd);
                v.kind = uns ? MP_UINT : MP_INT;
                v.u = b;
                v.i = (int64_t)b;
                break;
            }
            case MYSQL_TYPE_FLOAT:
                (void)mysql_rd_bytes(&rd, 4);
                break;
            case MYSQL_TYPE_DOUBLE:
                (void)mysql_rd_bytes(&rd, 8);
                break;
            case MYSQL_TYPE_TIMESTAMP:
            case MYSQL_TYPE_DATE:
            case MYSQL_TYPE_TIME:
            case MYSQL_TYPE_DATETIME:
                (void)mysql_rd_bytes(&rd, mysql_rd_u8(&rd));
                break;
            default:
                if (!mysql_type_is_lenenc(type))
                    return HY_ERROR;
                v.s = mysql_rd_lenenc_str(&rd, &v.len);
                v.kind = type == MYSQL_TYPE_BIT || type == MYSQL_TYPE_GEOMETRY ? MP_OTHER : MP_STR;
                break;
            }
        }
        if (rd.bad)
            return HY_ERROR;
        if (i == idx)
            *out = v;
    }
    return HY_OK;
}

size_t mysql_stmt_exec_bind_types(const uint8_t *payload, const struct mysql_stmt_exec *ex,
                                  uint16_t n_params, const uint8_t *types, uint32_t stmt_id,
                                  uint8_t *out, size_t cap)
{
    if (n_params == 0 || ex->new_params_bound || ex->bound_off == 0)
        return 0;
    struct mysql_wr wr;
    mysql_wr_init(&wr, out, cap);
    mysql_wr_bytes(&wr, payload, ex->bound_off);
    mysql_wr_u8(&wr, 1);
    mysql_wr_bytes(&wr, types, 2 * (size_t)n_params);
    size_t n = mysql_wr_len(&wr);
    if (n != 0)
        mysql_stmt_id_set(out, stmt_id);
    return n;
}

hy_status_t mysql_stmt_bulk_decode(const uint8_t *payload, size_t len, uint16_t n_params,
                                   struct mysql_stmt_bulk *bk)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, payload, len);
    memset(bk, 0, sizeof(*bk));
    if (mysql_rd_u8(&rd) != COM_STMT_BULK_EXECUTE)
        return HY_ERROR;
    bk->stmt_id = mysql_rd_u32(&rd);
    bk->flags = mysql_rd_u16(&rd);
    if (bk->flags & STMT_BULK_FLAG_SEND_TYPES)
        bk->types = mysql_rd_bytes(&rd, 2 * (size_t)n_params);
    if (rd.bad)
        return HY_ERROR;
    bk->head_len = (size_t)(rd.p - payload);
    return HY_OK;
}

size_t mysql_stmt_bulk_bind_types(const uint8_t *payload, const struct mysql_stmt_bulk *bk,
                                  uint16_t n_params, const uint8_t *types, uint32_t stmt_id,
                                  uint8_t *out, size_t cap)
{
    if (n_params == 0 || (bk->flags & STMT_BULK_FLAG_SEND_TYPES))
        return 0;
    struct mysql_wr wr;
    mysql_wr_init(&wr, out, cap);
    mysql_wr_u8(&wr, payload[0]);
    mysql_wr_u32(&wr, stmt_id);
    mysql_wr_u16(&wr, (uint16_t)(bk->flags | STMT_BULK_FLAG_SEND_TYPES));
    mysql_wr_bytes(&wr, types, 2 * (size_t)n_params);
    return mysql_wr_len(&wr);
}

const char *mysql_com_name(uint8_t cmd)
{
    static const char *const names[] = {
        [COM_SLEEP] = "COM_SLEEP",
        [COM_QUIT] = "COM_QUIT",
        [COM_INIT_DB] = "COM_INIT_DB",
        [COM_QUERY] = "COM_QUERY",
        [COM_FIELD_LIST] = "COM_FIELD_LIST",
        [COM_CREATE_DB] = "COM_CREATE_DB",
        [COM_DROP_DB] = "COM_DROP_DB",
        [COM_REFRESH] = "COM_REFRESH",
        [COM_SHUTDOWN] = "COM_SHUTDOWN",
        [COM_STATISTICS] = "COM_STATISTICS",
        [COM_PROCESS_INFO] = "COM_PROCESS_INFO",
        [COM_CONNECT] = "COM_CONNECT",
        [COM_PROCESS_KILL] = "COM_PROCESS_KILL",
        [COM_DEBUG] = "COM_DEBUG",
        [COM_PING] = "COM_PING",
        [COM_TIME] = "COM_TIME",
        [COM_DELAYED_INSERT] = "COM_DELAYED_INSERT",
        [COM_CHANGE_USER] = "COM_CHANGE_USER",
        [COM_BINLOG_DUMP] = "COM_BINLOG_DUMP",
        [COM_TABLE_DUMP] = "COM_TABLE_DUMP",
        [COM_CONNECT_OUT] = "COM_CONNECT_OUT",
        [COM_REGISTER_SLAVE] = "COM_REGISTER_SLAVE",
        [COM_STMT_PREPARE] = "COM_STMT_PREPARE",
        [COM_STMT_EXECUTE] = "COM_STMT_EXECUTE",
        [COM_STMT_SEND_LONG_DATA] = "COM_STMT_SEND_LONG_DATA",
        [COM_STMT_CLOSE] = "COM_STMT_CLOSE",
        [COM_STMT_RESET] = "COM_STMT_RESET",
        [COM_SET_OPTION] = "COM_SET_OPTION",
        [COM_STMT_FETCH] = "COM_STMT_FETCH",
        [COM_DAEMON] = "COM_DAEMON",
        [COM_BINLOG_DUMP_GTID] = "COM_BINLOG_DUMP_GTID",
        [COM_RESET_CONNECTION] = "COM_RESET_CONNECTION",
    };
    if (cmd < HY_ARRAY_SIZE(names) && names[cmd])
        return names[cmd];
    if (cmd == COM_STMT_BULK_EXECUTE)
        return "COM_STMT_BULK_EXECUTE";
    return "COM_UNKNOWN";
}
