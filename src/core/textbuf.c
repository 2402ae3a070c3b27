/*
 * textbuf.c: see textbuf.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"

hy_status_t textbuf_send(const struct textbuf *sb, size_t *off, int fd)
{
    while (*off < sb->len) {
        ssize_t n = send(fd, sb->data + *off, sb->len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return HY_AGAIN;
        if (n <= 0)
            return HY_ERROR;
        *off += (size_t)n;
    }
    return HY_OK;
}

void textbuf_init(struct textbuf *sb, size_t limit)
{
    memset(sb, 0, sizeof(*sb));
    sb->limit = limit;
}

void textbuf_free(struct textbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->overflow = false;
}

void textbuf_reset(struct textbuf *sb)
{
    sb->len = 0;
    sb->overflow = false;
    if (sb->data != NULL)
        sb->data[0] = '\0';
}

void textbuf_truncate(struct textbuf *sb, size_t len)
{
    if (len > sb->len)
        return;
    sb->len = len;
    sb->overflow = false;
    if (sb->data != NULL)
        sb->data[len] = '\0';
}

/* Room for n more bytes and the NUL; false (and overflow set) if not. */
static bool reserve(struct textbuf *sb, size_t n)
{
    if (sb->overflow)
        return false;
    if (n > sb->limit - sb->len) {
        sb->overflow = true;
        return false;
    }
    if (sb->len + n + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + n + 1)
        cap *= 2;
    if (cap > sb->limit + 1)
        cap = sb->limit + 1;
    char *p = realloc(sb->data, cap);
    if (p == NULL) {
        sb->overflow = true;
        return false;
    }
    sb->data = p;
    sb->cap = cap;
    return true;
}

void textbuf_append(struct textbuf *sb, const void *p, size_t n)
{
    if (!reserve(sb, n))
        return;
    memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

char *textbuf_extend(struct textbuf *sb, size_t n)
{
    if (!reserve(sb, n))
        return NULL;
    char *p = sb->data + sb->len;
    sb->len += n;
    sb->data[sb->len] = '\0';
    return p;
}

char *textbuf_room(struct textbuf *sb, size_t n)
{
    return reserve(sb, n) ? sb->data + sb->len : NULL;
}

void textbuf_commit(struct textbuf *sb, size_t n)
{
    if (sb->data == NULL || n > sb->cap - 1 - sb->len)
        return; /* more than textbuf_room gave: nothing was written there */
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void textbuf_consume(struct textbuf *sb, size_t n)
{
    if (n == 0 || n > sb->len)
        return;
    memmove(sb->data, sb->data + n, sb->len - n);
    textbuf_truncate(sb, sb->len - n);
}

void textbuf_wipe(struct textbuf *sb)
{
    if (sb->data != NULL)
        explicit_bzero(sb->data, sb->len);
    textbuf_reset(sb);
}

void textbuf_puts(struct textbuf *sb, const char *s)
{
    textbuf_append(sb, s, strlen(s));
}

void textbuf_putc(struct textbuf *sb, char c)
{
    textbuf_append(sb, &c, 1);
}

void textbuf_printf(struct textbuf *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        textbuf_append(sb, small, (size_t)n);
        return;
    }
    if (!reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void textbuf_pad(struct textbuf *sb, size_t n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = HY_MIN(n, sizeof(spaces) - 1);
        textbuf_append(sb, spaces, k);
        n -= k;
    }
}

void textbuf_json_str(struct textbuf *sb, const char *s)
{
    if (s == NULL) {
        textbuf_puts(sb, "null");
        return;
    }
    textbuf_json_strn(sb, s, strlen(s));
}

void textbuf_json_strn(struct textbuf *sb, const char *s, size_t len)
{
    size_t n = hy_json_escape(NULL, s, len);
    char *p = textbuf_extend(sb, n + 2);
    if (p == NULL)
        return;
    p[0] = '"';
    if (n == len) /* nothing to escape: one copy (traces' attributes, mostly) */
        memcpy(p + 1, s, len);
    else
        hy_json_escape(p + 1, s, len);
    p[n + 1] = '"';
}

/* Writes `s` as a table cell into sb, or only counts when sb is NULL. */
static size_t cell(struct textbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (s == NULL)
        s = "-";
    size_t cols = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            if (sb != NULL)
                textbuf_putc(sb, (char)*p);
            p++;
            cols++;
            continue;
        }
        size_t n = hy_utf8_len(p, 4); /* stops at the NUL */
        if (n > 0) {
            if (sb != NULL)
                textbuf_append(sb, p, n);
            p += n;
            cols++;
        } else if (*p == '\\') {
            if (sb != NULL)
                textbuf_puts(sb, "\\\\");
            p++;
            cols += 2;
        } else {
            if (sb != NULL) {
                char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
                textbuf_append(sb, esc, 4);
            }
            p++;
            cols += 4;
        }
    }
    return cols;
}

size_t textbuf_cell(struct textbuf *sb, const char *s)
{
    return cell(sb, s);
}

size_t textbuf_cell_width(const char *s)
{
    return cell(NULL, s);
}
