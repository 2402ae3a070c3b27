/*
 * capture_format.h: the capture file (docs/rehearse.md, "The file"): a
 * 16-byte header (magic "HYCAPT\r\n", version, flags), then records, each
 * [u32 body length][u8 type][body][u32 checksum of type and body], little
 * endian: the low 32 bits of XXH3-64 (up to version 4, zlib's CRC-32).
 * A record is built whole in memory (capture_buf_begin, capture_put_*,
 * capture_rec_done), its checksum written by the writer
 * (capture_frame_sum), and read back by capture_read_next,
 * which names the offset of a truncated or corrupt record.
 *
 * The answer's rows are summed (capture_rowsum) from one XXH3-64 a row
 * (v): in order (a 64-bit chain, mix(chain + v), its low 32 bits kept)
 * and regardless of order (the sum of the v), so that tools/rehearse
 * compares a statement without ORDER BY as a multiset. tools/rehearse
 * computes the same sums from the rows it reads back, as the file's
 * version had them (4: v the mix of the length and CRC-32 of the row;
 * up to 3: a CRC-32 over each row's length and bytes in order, and the
 * sum of the mix of each row's CRC-32).
 *
 * Pure: no I/O; tested in tests/unit/test_capture.c.
 */
#ifndef HALYARD_CAPTURE_FORMAT_H
#define HALYARD_CAPTURE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

/* CAPTURE_VERSION: 2 added COMMIT, FAILOVER; 3 INFILE; 4 one CRC a row;
 * 5 XXH3 for the rows and the frames. A reader takes 1 to 5. */
#define CAPTURE_MAGIC       "HYCAPT\r\n"
#define CAPTURE_VERSION     5
#define CAPTURE_HEADER_SIZE 16
#define CAPTURE_FLAG_MASKED 0x0001u /* statement text and parameters left out */
/* A record's frame around its body: length, type, then the checksum after it. */
#define CAPTURE_FRAME_HEAD 5
#define CAPTURE_FRAME_TAIL 4
#define CAPTURE_RECORD_MAX (64u << 20) /* a reader refuses a longer body */

enum capture_type {
    CAPTURE_START = 1,    /* t_us, start GTID, primary */
    CAPTURE_LOGIN = 2,    /* sid, t_us, user, schema, client, attrs, flags */
    CAPTURE_CMD = 3,      /* sid, t_us, cmd, flags, full length, the payload kept */
    CAPTURE_ANSWER = 4,   /* sid, the answer's shape and time */
    CAPTURE_END = 5,      /* sid, t_us, flags: the session ended */
    CAPTURE_STOP = 6,     /* t_us, records, drops, why */
    CAPTURE_COMMIT = 7,   /* sid, t_us, the GTID the server reported for a commit */
    CAPTURE_FAILOVER = 8, /* t_us, old primary, new primary, kind */
    CAPTURE_INFILE = 9,   /* sid, a piece of a LOCAL INFILE's file as sent; empty: its end */
};
#define CAPTURE_TYPE_LAST CAPTURE_INFILE

/* CAPTURE_CMD's flags */
#define CAPTURE_CMD_MASKED 0x01 /* the payload was left out (capture_mask) */
#define CAPTURE_CMD_CUT    0x02 /* only the first bytes are kept */
/* CAPTURE_LOGIN's flags */
#define CAPTURE_LOGIN_JOINED  0x01 /* the session was open before the capture began */
#define CAPTURE_LOGIN_CHANGED 0x02 /* COM_CHANGE_USER's new login */
/* CAPTURE_END's flags */
#define CAPTURE_END_LOST 0x01 /* records of the session were dropped: it is incomplete */

/* CAPTURE_ANSWER's kind */
enum capture_kind {
    CAPTURE_ANS_OK = 0,
    CAPTURE_ANS_ERR = 1,
    CAPTURE_ANS_ROWS = 2, /* the last result was a result set */
    CAPTURE_ANS_NONE = 3, /* halyard answered it, or no answer came */
};
/* CAPTURE_ANSWER's flags */
#define CAPTURE_ANS_SUM_CUT 0x01 /* a row was not whole in the buffer: sums not kept */

struct capture_rowsum {
    uint64_t rows;
    uint64_t ordered;   /* chain: mix64(ordered + v); the file keeps its low 32 bits */
    uint64_t unordered; /* sum of v = XXH3-64 of the row */
};

struct capture_answer {
    uint32_t sid;
    uint64_t dur_us; /* from the command's arrival to the answer's end */
    uint8_t kind;    /* enum capture_kind */
    uint8_t flags;
    uint16_t err;
    uint16_t warnings;
    uint16_t status;
    uint64_t affected;
    uint64_t insert_id;
    uint32_t stmt_id; /* COM_STMT_PREPARE's OK: the id the client got */
    struct capture_rowsum sum;
};

/* A record as read back: strings and bytes point into the buffer read. */
struct capture_rec {
    uint8_t type;
    uint64_t at;         /* its offset in the file */
    uint32_t sid;        /* LOGIN, CMD, ANSWER, END, COMMIT, INFILE */
    uint64_t t_us;       /* all but ANSWER: wall clock, microseconds */
    uint8_t cmd;         /* CMD */
    uint8_t flags;       /* LOGIN, CMD, END */
    uint32_t full;       /* CMD: the payload's length as sent */
    const uint8_t *data; /* CMD: the payload kept (after the command byte); INFILE: bytes */
    uint32_t data_len;
    const char *s[4]; /* START: gtid, primary; LOGIN: user, schema, client, attrs; STOP: why;
                         COMMIT: gtid; FAILOVER: old, new, kind */
    uint16_t s_len[4];
    uint64_t n[2];             /* STOP: records, drops */
    struct capture_answer ans; /* ANSWER */
};

/* ---- building (the sessions) ------------------------------------------- */

/* A record under construction: the frame's head is filled by
 * capture_rec_done, its checksum by the writer (capture_frame_sum). Each put
 * checks its room; past `cap` the record is marked (oom) and
 * capture_rec_done says 0. */
struct capture_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

void capture_buf_begin(struct capture_buf *b, uint8_t *mem, size_t cap, uint8_t type);
void capture_put_u8(struct capture_buf *b, uint8_t v);
void capture_put_u16(struct capture_buf *b, uint16_t v);
void capture_put_u32(struct capture_buf *b, uint32_t v);
void capture_put_u64(struct capture_buf *b, uint64_t v);
/* A string of at most 65,535 bytes (longer: cut), u16 length first. */
void capture_put_str(struct capture_buf *b, const char *s, size_t n);
void capture_put_bytes(struct capture_buf *b, const void *p, size_t n);
/* The frame's length written, room for the checksum counted: the record's
 * whole size, or 0 if it did not fit. */
size_t capture_rec_done(struct capture_buf *b);
/* The checksum of a framed record of `len` bytes (capture_rec_done's),
 * written in its last four bytes (this version's). */
void capture_frame_sum(uint8_t *rec, size_t len);

/* A CMD record's fields before its payload (sid, arrival, command byte,
 * flags, the payload's length as sent), at once. */
void capture_put_cmd(struct capture_buf *b, uint32_t sid, uint64_t t_us, uint8_t cmd, uint8_t flags,
                     uint32_t full);
#define CAPTURE_ANSWER_SIZE 60 /* an ANSWER record's body */
void capture_put_answer(struct capture_buf *b, const struct capture_answer *a);
void capture_header(uint8_t out[CAPTURE_HEADER_SIZE], uint16_t flags);

/* ---- the answer's sums ---------------------------------------------------- */

uint64_t capture_mix64(uint64_t x);
void capture_rowsum_begin(struct capture_rowsum *s);
void capture_rowsum_row(struct capture_rowsum *s, const uint8_t *row, size_t len);

/* ---- reading ---------------------------------------------------------------- */

/* The header of `buf` (`len` bytes): HY_OK with *flags and the file's
 * *version, else HY_ERROR with `err` saying what is wrong. */
hy_status_t capture_read_header(const uint8_t *buf, size_t len, uint16_t *flags, unsigned *version,
                                char *err, size_t errlen);
/* The record at *off of a file of `version` (capture_read_header's): HY_OK
 * with *rec and *off past it; HY_AGAIN at the end of the file (nothing
 * left); HY_ERROR with `err` naming the offset of a truncated, corrupt or
 * unknown record. */
hy_status_t capture_read_next(const uint8_t *buf, size_t len, size_t *off, unsigned version,
                              struct capture_rec *rec, char *err, size_t errlen);

#endif
