/*
 * capture_format.c: the capture file's records, built and read back
 * (capture_format.h; docs/rehearse.md, "The file").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* xxHash's XXH3 (libxxhash-dev), inlined: the rows' and records'
 * checksums from version 5 (a tenth of zlib's CRC-32's instructions on a
 * row of a hundred bytes). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "halyard/capture/capture_format.h"

void capture_buf_begin(struct capture_buf *b, uint8_t *mem, size_t cap, uint8_t type)
{
    b->p = mem;
    b->cap = cap;
    b->oom = cap < CAPTURE_FRAME_HEAD + CAPTURE_FRAME_TAIL;
    b->len = CAPTURE_FRAME_HEAD;
    if (!b->oom)
        b->p[4] = type;
}

void capture_put_bytes(struct capture_buf *b, const void *p, size_t n)
{
    if (b->oom || b->cap - b->len < n + CAPTURE_FRAME_TAIL) {
        b->oom = true;
        return;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Little-endian stores, and the room for `n` more bytes checked once for
 * a record's fixed fields. */
static inline void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Written out, not as loops: gcc -O2 keeps a loop of eight byte stores
 * as a loop, but merges the eight statements into one store. */
static inline void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint8_t *room(struct capture_buf *b, size_t n)
{
    if (b->oom || b->cap - b->len < n + CAPTURE_FRAME_TAIL) {
        b->oom = true;
        return NULL;
    }
    uint8_t *p = b->p + b->len;
    b->len += n;
    return p;
}

void capture_put_u8(struct capture_buf *b, uint8_t v)
{
    uint8_t *p = room(b, 1);
    if (p != NULL)
        p[0] = v;
}

void capture_put_u16(struct capture_buf *b, uint16_t v)
{
    uint8_t *p = room(b, 2);
    if (p != NULL)
        le16(p, v);
}

void capture_put_u32(struct capture_buf *b, uint32_t v)
{
    uint8_t *p = room(b, 4);
    if (p != NULL)
        le32(p, v);
}

void capture_put_u64(struct capture_buf *b, uint64_t v)
{
    uint8_t *p = room(b, 8);
    if (p != NULL)
        le64(p, v);
}

void capture_put_str(struct capture_buf *b, const char *s, size_t n)
{
    if (s == NULL)
        n = 0;
    if (n > UINT16_MAX)
        n = UINT16_MAX;
    capture_put_u16(b, (uint16_t)n);
    capture_put_bytes(b, s, n);
}

size_t capture_rec_done(struct capture_buf *b)
{
    if (b->oom)
        return 0;
    uint32_t body = (uint32_t)(b->len - CAPTURE_FRAME_HEAD);
    for (int i = 0; i < 4; i++)
        b->p[i] = (uint8_t)(body >> (8 * i));
    return b->len + CAPTURE_FRAME_TAIL;
}

/* The frame's checksum of `n` bytes (its type and body) as the file's
 * `version` has it: the low 32 bits of XXH3-64 from 5, else CRC-32. */
static uint32_t frame_sum(const uint8_t *p, size_t n, unsigned version)
{
    if (version >= 5)
        return (uint32_t)XXH3_64bits(p, n);
    return (uint32_t)crc32(0L, p, (uInt)n);
}

void capture_frame_sum(uint8_t *rec, size_t len)
{
    uint32_t c = frame_sum(rec + 4, len - 4 - CAPTURE_FRAME_TAIL, CAPTURE_VERSION);
    for (int i = 0; i < 4; i++)
        rec[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

void capture_put_cmd(struct capture_buf *b, uint32_t sid, uint64_t t_us, uint8_t cmd, uint8_t flags,
                     uint32_t full)
{
    uint8_t *p = room(b, 18);
    if (p == NULL)
        return;
    le32(p, sid);
    le64(p + 4, t_us);
    p[12] = cmd;
    p[13] = flags;
    le32(p + 14, full);
}

void capture_put_answer(struct capture_buf *b, const struct capture_answer *a)
{
    uint8_t *p = room(b, CAPTURE_ANSWER_SIZE);
    if (p == NULL)
        return;
    le32(p, a->sid);
    le64(p + 4, a->dur_us);
    p[12] = a->kind;
    p[13] = a->flags;
    le16(p + 14, a->err);
    le16(p + 16, a->warnings);
    le16(p + 18, a->status);
    le64(p + 20, a->affected);
    le64(p + 28, a->insert_id);
    le32(p + 36, a->stmt_id);
    le64(p + 40, a->sum.rows);
    le32(p + 48, (uint32_t)a->sum.ordered);
    le64(p + 52, a->sum.unordered);
}

void capture_header(uint8_t out[CAPTURE_HEADER_SIZE], uint16_t flags)
{
    memset(out, 0, CAPTURE_HEADER_SIZE);
    memcpy(out, CAPTURE_MAGIC, 8);
    out[8] = CAPTURE_VERSION & 0xff;
    out[9] = CAPTURE_VERSION >> 8;
    out[10] = (uint8_t)flags;
    out[11] = (uint8_t)(flags >> 8);
}

/* splitmix64's finalizer */
uint64_t capture_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void capture_rowsum_begin(struct capture_rowsum *s)
{
    s->rows = 0;
    s->ordered = 0;
    s->unordered = 0;
}

/* One XXH3-64 a row (it mixes in the length): the unordered sum adds
 * it, the ordered chain mixes it into what came before. */
void capture_rowsum_row(struct capture_rowsum *s, const uint8_t *row, size_t len)
{
    uint64_t v = XXH3_64bits(row, len);
    s->ordered = capture_mix64(s->ordered + v);
    s->unordered += v;
    s->rows++;
}

/* ---- reading ---------------------------------------------------------------- */

struct rd {
    const uint8_t *p;
    size_t len, at;
    bool short_;
};

static uint64_t get_le(struct rd *r, size_t n)
{
    if (r->len - r->at < n) {
        r->short_ = true;
        r->at = r->len;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r->p[r->at + i] << (8 * i);
    r->at += n;
    return v;
}

static const char *get_str(struct rd *r, uint16_t *n)
{
    *n = (uint16_t)get_le(r, 2);
    if (r->len - r->at < *n) {
        r->short_ = true;
        r->at = r->len;
        *n = 0;
        return "";
    }
    const char *s = (const char *)r->p + r->at;
    r->at += *n;
    return s;
}

hy_status_t capture_read_header(const uint8_t *buf, size_t len, uint16_t *flags, unsigned *version,
                                char *err, size_t errlen)
{
    if (len < CAPTURE_HEADER_SIZE || memcmp(buf, CAPTURE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a capture file: no capture header at offset 0");
        return HY_ERROR;
    }
    unsigned v = buf[8] | (unsigned)buf[9] << 8;
    if (v < 1 || v > CAPTURE_VERSION) {
        snprintf(err, errlen, "capture file version %u, this halyard reads versions 1 to %u", v,
                 CAPTURE_VERSION);
        return HY_ERROR;
    }
    *flags = (uint16_t)(buf[10] | buf[11] << 8);
    *version = v;
    return HY_OK;
}

static void read_answer(struct rd *r, struct capture_answer *a)
{
    a->sid = (uint32_t)get_le(r, 4);
    a->dur_us = get_le(r, 8);
    a->kind = (uint8_t)get_le(r, 1);
    a->flags = (uint8_t)get_le(r, 1);
    a->err = (uint16_t)get_le(r, 2);
    a->warnings = (uint16_t)get_le(r, 2);
    a->status = (uint16_t)get_le(r, 2);
    a->affected = get_le(r, 8);
    a->insert_id = get_le(r, 8);
    a->stmt_id = (uint32_t)get_le(r, 4);
    a->sum.rows = get_le(r, 8);
    a->sum.ordered = (uint32_t)get_le(r, 4);
    a->sum.unordered = get_le(r, 8);
}

/* The body of a record of `type` into *rec; false if it is short. */
static bool read_body(struct rd *r, uint8_t type, struct capture_rec *rec)
{
    switch (type) {
    case CAPTURE_START:
        rec->t_us = get_le(r, 8);
        rec->s[0] = get_str(r, &rec->s_len[0]);
        rec->s[1] = get_str(r, &rec->s_len[1]);
        break;
    case CAPTURE_LOGIN:
        rec->sid = (uint32_t)get_le(r, 4);
        rec->t_us = get_le(r, 8);
        rec->flags = (uint8_t)get_le(r, 1);
        for (int i = 0; i < 4; i++)
            rec->s[i] = get_str(r, &rec->s_len[i]);
        break;
    case CAPTURE_CMD:
        rec->sid = (uint32_t)get_le(r, 4);
        rec->t_us = get_le(r, 8);
        rec->cmd = (uint8_t)get_le(r, 1);
        rec->flags = (uint8_t)get_le(r, 1);
        rec->full = (uint32_t)get_le(r, 4);
        rec->data = r->p + r->at;
        rec->data_len = (uint32_t)(r->len - r->at);
        r->at = r->len;
        break;
    case CAPTURE_ANSWER:
        read_answer(r, &rec->ans);
        rec->sid = rec->ans.sid;
        break;
    case CAPTURE_END:
        rec->sid = (uint32_t)get_le(r, 4);
        rec->t_us = get_le(r, 8);
        rec->flags = (uint8_t)get_le(r, 1);
        break;
    case CAPTURE_STOP:
        rec->t_us = get_le(r, 8);
        rec->n[0] = get_le(r, 8);
        rec->n[1] = get_le(r, 8);
        rec->s[0] = get_str(r, &rec->s_len[0]);
        break;
    case CAPTURE_COMMIT:
        rec->sid = (uint32_t)get_le(r, 4);
        rec->t_us = get_le(r, 8);
        rec->s[0] = get_str(r, &rec->s_len[0]);
        break;
    case CAPTURE_FAILOVER:
        rec->t_us = get_le(r, 8);
        for (int i = 0; i < 3; i++)
            rec->s[i] = get_str(r, &rec->s_len[i]);
        break;
    case CAPTURE_INFILE:
        rec->sid = (uint32_t)get_le(r, 4);
        rec->data = r->p + r->at;
        rec->data_len = (uint32_t)(r->len - r->at);
        r->at = r->len;
        break;
    default:
        return false;
    }
    return !r->short_;
}

hy_status_t capture_read_next(const uint8_t *buf, size_t len, size_t *off, unsigned version,
                              struct capture_rec *rec, char *err, size_t errlen)
{
    size_t at = *off;
    if (at >= len)
        return HY_AGAIN;
    memset(rec, 0, sizeof(*rec));
    rec->at = at;
    if (len - at < CAPTURE_FRAME_HEAD + CAPTURE_FRAME_TAIL) {
        snprintf(err, errlen, "truncated record at offset %zu: %zu bytes left of its frame", at,
                 len - at);
        return HY_ERROR;
    }
    uint32_t body = buf[at] | (uint32_t)buf[at + 1] << 8 | (uint32_t)buf[at + 2] << 16 |
                    (uint32_t)buf[at + 3] << 24;
    if (body > CAPTURE_RECORD_MAX) {
        snprintf(err, errlen, "corrupt record at offset %zu: length %" PRIu32 " past the limit", at,
                 body);
        return HY_ERROR;
    }
    size_t whole = CAPTURE_FRAME_HEAD + (size_t)body + CAPTURE_FRAME_TAIL;
    if (len - at < whole) {
        snprintf(err, errlen, "truncated record at offset %zu: %zu bytes of its %zu", at, len - at,
                 whole);
        return HY_ERROR;
    }
    const uint8_t *crcp = buf + at + whole - 4;
    uint32_t want =
        crcp[0] | (uint32_t)crcp[1] << 8 | (uint32_t)crcp[2] << 16 | (uint32_t)crcp[3] << 24;
    if (frame_sum(buf + at + 4, (size_t)body + 1, version) != want) {
        snprintf(err, errlen, "corrupt record at offset %zu: its %s does not match", at,
                 version >= 5 ? "checksum" : "CRC");
        return HY_ERROR;
    }
    rec->type = buf[at + 4];
    struct rd r = {.p = buf + at + CAPTURE_FRAME_HEAD, .len = body};
    if (!read_body(&r, rec->type, rec)) {
        snprintf(err, errlen, "corrupt record at offset %zu: type %u %s", at, rec->type,
                 rec->type >= CAPTURE_START && rec->type <= CAPTURE_TYPE_LAST
                     ? "shorter than its fields"
                     : "unknown");
        return HY_ERROR;
    }
    *off = at + whole;
    return HY_OK;
}
