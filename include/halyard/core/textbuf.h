/*
 * textbuf.h: halyard's one growable buffer, with a hard size limit: the
 * answers of the admin socket and the metrics endpoint, the audit and
 * query log lines, the SQL a session writes for a backend (a process list
 * rewritten, the SETs that restore a pooled connection's variables). One
 * buffer belongs to one thread at a time; nothing in it is shared.
 *
 * Appending never fails visibly: past `limit` bytes, or when memory runs
 * out, the buffer stops growing and `overflow` is set, and the caller
 * decides once, at the end, what to answer instead. The text is always
 * NUL-terminated when `data` is not NULL.
 *
 * (Not "strbuf": libconfig exports strbuf_append() and strbuf_release(),
 * and a function of ours by that name would replace its own.)
 */
#ifndef HALYARD_TEXTBUF_H
#define HALYARD_TEXTBUF_H

#include "halyard/core/core.h"

struct textbuf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;  /* len never exceeds this */
    bool overflow; /* something was dropped: limit reached or out of memory */
};

void textbuf_init(struct textbuf *sb, size_t limit);
void textbuf_free(struct textbuf *sb);
/* Empty it, keeping the memory. */
void textbuf_reset(struct textbuf *sb);
/* Back to its first `len` bytes (len <= sb->len), forgetting an overflow
 * since: for a caller that drops whole an item that did not fit. */
void textbuf_truncate(struct textbuf *sb, size_t len);
/* n more bytes at the end, for the caller to fill (n + 1 are writable:
 * the NUL after them too); NULL, with overflow set, when they do not fit. */
char *textbuf_extend(struct textbuf *sb, size_t n);
/* For a reader that receives into the buffer: room for n more bytes at the
 * end, not counted yet (the caller writes up to n there, then commits what
 * it wrote); NULL, with overflow set, when they do not fit. The pointer
 * is good until the next call that may grow the buffer. */
char *textbuf_room(struct textbuf *sb, size_t n);
/* Count n more bytes, written into textbuf_room's room (n <= that room). */
void textbuf_commit(struct textbuf *sb, size_t n);
/* Drop the first n bytes (n <= sb->len), moving the rest to the front:
 * for a reader that consumes what it received from the front. */
void textbuf_consume(struct textbuf *sb, size_t n);
/* Empty it, zeroing the bytes it held (explicit_bzero): for a buffer
 * that held a secret, a password's token. */
void textbuf_wipe(struct textbuf *sb);

void textbuf_append(struct textbuf *sb, const void *p, size_t n);
void textbuf_puts(struct textbuf *sb, const char *s);
void textbuf_putc(struct textbuf *sb, char c);
void textbuf_printf(struct textbuf *sb, const char *fmt, ...) HY_PRINTF(2, 3);
/* n spaces */
void textbuf_pad(struct textbuf *sb, size_t n);

/* `s` as a JSON string, quotes included, escaped by hy_json_escape (text.h:
 * bytes that are not valid UTF-8 become \ufffd), so the output is always
 * valid JSON whatever a client put in a user or schema name. NULL becomes
 * null. */
void textbuf_json_str(struct textbuf *sb, const char *s);
/* The same for the n bytes at s (NULs included), never NULL. */
void textbuf_json_strn(struct textbuf *sb, const char *s, size_t n);
/* `s` for one cell of a text table: printable ASCII and valid UTF-8 as
 * they are, anything else (newlines, other control bytes, invalid UTF-8)
 * as \xHH, so a value can never break a line or forge one. NULL becomes
 * "-". Returns the number of columns written (UTF-8 sequences count one). */
size_t textbuf_cell(struct textbuf *sb, const char *s);
/* Columns textbuf_cell() would write for `s`. */
size_t textbuf_cell_width(const char *s);

/* Send what is left of `sb` from *off to the non-blocking socket `fd`,
 * advancing *off: HY_OK when all of it is sent, HY_AGAIN when the socket
 * is full (wait for EV_WRITE), HY_ERROR when the peer is gone. */
hy_status_t textbuf_send(const struct textbuf *sb, size_t *off, int fd) HY_MUSTCHECK;

#endif /* HALYARD_TEXTBUF_H */
