/*
 * admin_table.c: the admin socket's output shapes: text tables, name/value
 * answers (a two-column table or one JSON object), lists of groups within
 * them, and the note on workers that did not answer. admin_int.h declares
 * them for admin.c, admin_parse.c and admin_render.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "halyard/core/grow.h"
#include "halyard/admin/admin.h"

void table_init(struct table *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

static void table_add(struct table *t, char *owned)
{
    if (t->n == t->cap && !HY_GROW(t->cells, t->cap, 64)) {
        free(owned);
        return; /* the row comes out short; the renderer stops there */
    }
    t->cells[t->n++] = owned;
}

void table_cell(struct table *t, const char *s)
{
    table_add(t, strdup(s != NULL ? s : "-"));
}

void table_cellf(struct table *t, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    table_add(t, s);
}

void table_render(const struct table *t, struct textbuf *sb)
{
    size_t rows = t->n / t->ncols;
    size_t *width = calloc(t->ncols, sizeof(*width));
    if (width == NULL) {
        sb->overflow = true;
        return;
    }
    for (size_t i = 0; i < rows * t->ncols; i++) {
        const char *c = t->cells[i] != NULL ? t->cells[i] : "?";
        width[i % t->ncols] = HY_MAX(width[i % t->ncols], textbuf_cell_width(c));
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t col = 0; col < t->ncols; col++) {
            const char *c = t->cells[r * t->ncols + col];
            size_t w = textbuf_cell(sb, c != NULL ? c : "?");
            if (col + 1 < t->ncols)
                textbuf_pad(sb, width[col] - w + 2);
        }
        textbuf_putc(sb, '\n');
    }
    free(width);
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n = t->cap = 0;
}

void kv_begin(struct kv *kv, struct textbuf *sb, bool json, const char *keyname)
{
    kv->sb = sb;
    kv->json = json;
    kv->first = true;
    if (json) {
        textbuf_putc(sb, '{');
    } else {
        table_init(&kv->t, 2);
        table_cell(&kv->t, keyname);
        table_cell(&kv->t, "value");
    }
}

void kv_key(struct kv *kv, const char *key)
{
    if (!kv->first)
        textbuf_putc(kv->sb, ',');
    kv->first = false;
    textbuf_json_str(kv->sb, key);
    textbuf_putc(kv->sb, ':');
}

void kv_str(struct kv *kv, const char *key, const char *v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_json_str(kv->sb, v);
    } else {
        table_cell(&kv->t, key);
        table_cell(&kv->t, v == NULL ? "-" : v[0] == '\0' ? "\"\"" : v);
    }
}

void kv_u64(struct kv *kv, const char *key, uint64_t v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_printf(kv->sb, "%" PRIu64, v);
    } else {
        table_cell(&kv->t, key);
        table_cellf(&kv->t, "%" PRIu64, v);
    }
}

void kv_int(struct kv *kv, const char *key, long long v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_printf(kv->sb, "%lld", v);
    } else {
        table_cell(&kv->t, key);
        table_cellf(&kv->t, "%lld", v);
    }
}

void kv_bool(struct kv *kv, const char *key, bool v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_puts(kv->sb, v ? "true" : "false");
    } else {
        table_cell(&kv->t, key);
        table_cell(&kv->t, v ? "true" : "false");
    }
}

void kv_time(struct kv *kv, const char *key, long long unix_time)
{
    char when[32];
    if (unix_time == 0) {
        kv_str(kv, key, NULL);
        return;
    }
    status_format_time((time_t)unix_time, when, sizeof(when));
    kv_str(kv, key, when);
}

void json_ok_begin(struct textbuf *sb, const char *message)
{
    textbuf_puts(sb, "{\"ok\":true,\"message\":");
    textbuf_json_str(sb, message);
}

void answer_result(struct textbuf *sb, bool json, hy_status_t rc, const char *message)
{
    if (json && rc == HY_OK) {
        json_ok_begin(sb, message);
        textbuf_puts(sb, "}\n");
    } else {
        textbuf_puts(sb, rc == HY_OK ? "OK " : "ERR ");
        textbuf_cell(sb, message);
        textbuf_putc(sb, '\n');
    }
}

void kv_end(struct kv *kv)
{
    if (kv->json) {
        textbuf_puts(kv->sb, "}\n");
    } else {
        table_render(&kv->t, kv->sb);
        table_free(&kv->t);
    }
}

void list_begin(struct kv_list *l, struct kv *kv, const char *name)
{
    l->kv = kv;
    l->name = name;
    l->i = 0;
    if (kv->json) {
        kv_key(kv, name);
        textbuf_putc(kv->sb, '[');
    }
}

void elem_begin(struct kv_list *l)
{
    snprintf(l->prefix, sizeof(l->prefix), "%s.[%zu].", l->name, l->i);
    if (l->kv->json) {
        textbuf_puts(l->kv->sb, l->i ? ",{" : "{");
        l->kv->first = true;
    }
}

/* Key of a member: plain in JSON, prefixed in a table. */
const char *elem_key(struct kv_list *l, const char *key, char *buf, size_t len)
{
    if (l->kv->json)
        return key;
    snprintf(buf, len, "%s%s", l->prefix, key);
    return buf;
}

void elem_end(struct kv_list *l)
{
    if (l->kv->json)
        textbuf_putc(l->kv->sb, '}');
    l->i++;
}

void list_end(struct kv_list *l)
{
    if (l->kv->json) {
        textbuf_putc(l->kv->sb, ']');
        l->kv->first = false;
    }
}

/* The end of a job's JSON answer: the workers that did not answer, then
 * the closing brackets. */
void json_missing_end(struct textbuf *sb, const int *missing, size_t n_missing)
{
    textbuf_puts(sb, ",\"missing_workers\":[");
    for (size_t i = 0; i < n_missing; i++)
        textbuf_printf(sb, "%s%d", i ? "," : "", missing[i]);
    textbuf_puts(sb, "]}\n");
}

bool json_prototype(const struct admin_cmd *cmd, size_t n)
{
    return cmd->sql && n == 0;
}

void json_prototype_mark(struct textbuf *sb, size_t at)
{
    json_prototype_mark_lists(sb, at, "true");
}

void json_prototype_mark_lists(struct textbuf *sb, size_t at, const char *lists)
{
    char mark[128];
    int k = snprintf(mark, sizeof(mark), "\"prototype\":%s,", lists);
    if (k < 0 || (size_t)k >= sizeof(mark))
        return;
    const size_t n = (size_t)k;
    if (sb->overflow || sb->len <= at || sb->data[at] != '{')
        return;
    size_t tail = sb->len - at - 1;
    textbuf_append(sb, mark, n);
    if (sb->overflow)
        return; /* cut short: the SQL port refuses the answer as it is */
    memmove(sb->data + at + 1 + n, sb->data + at + 1, tail);
    memcpy(sb->data + at + 1, mark, n);
}

/* ... and of its text answer: a comment line per worker missing. */
void text_missing(struct textbuf *sb, const int *missing, size_t n_missing, const char *what)
{
    for (size_t i = 0; i < n_missing; i++)
        textbuf_printf(sb, "# worker %d did not answer within %.1f s; its %s are missing\n",
                       missing[i], ADMIN_GATHER_TIMEOUT, what);
}
