/*
 * ps_query.c: a real libmariadb client that runs statements through the
 * binary protocol (mysql_stmt_prepare, mysql_stmt_execute with typed
 * parameters) and prints each result with its column types, for the
 * integration tests, which run it through halyard and directly against
 * one server and compare the two outputs (tests/integration/test_ps_scatter.py).
 *
 *   ps_query HOST PORT USER PASSWORD DB < statements
 *
 * One statement a line: its text, then its parameters, tab-separated:
 *   i:<n> (BIGINT)  u:<n> (BIGINT UNSIGNED)  l:<n> (INT)  t:<n> (TINYINT)
 *   d:<x> (DOUBLE)  f:<x> (FLOAT)  dec:<text> (DECIMAL)  s:<text> (VARCHAR)
 *   date:<Y-M-D>  dt:<Y-M-D h:m:s[.us]> (DATETIME)  time:<[-]h:m:s[.us]>
 *   null (a NULL of type VARCHAR)
 * A line starting with "CURSOR " executes with a read-only cursor (rows
 * fetched with COM_STMT_FETCH); "LONGDATA " sends parameter 1 (a string)
 * with mysql_stmt_send_long_data; "QUERY " runs the rest as a text query
 * (prints ok or the error); "TEXT " runs the rest as a text query and
 * prints its result as a statement's; "AGAIN\t<values>" executes the last statement
 * again with new values of the same types, without binding again (so
 * libmariadb sends no types: those of the first execution hold).
 *
 * Output, one item a line, tab-separated:
 *   stmt <n>
 *   col <name> type=<n> flags=<n> decimals=<n> charset=<n>
 *   row <v1> <v2> ...   (NULL; integers in decimal; doubles %.17g;
 *                        temporals as their MYSQL_TIME fields; strings as sent)
 *   rows=<n>
 *   error <code> <sqlstate> <message>
 *   insert_id=<n>       (after affected=, when the OK's last insert id is not 0)
 *   ok                  (a QUERY line that succeeded)
 * Exit status 0 unless the connection fails.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <inttypes.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 16
#define MAX_COLS   32
#define STR_CAP    65536

struct param {
    enum enum_field_types type;
    bool uns, null;
    long long i;
    double d;
    float f;
    int32_t l;
    int8_t t;
    MYSQL_TIME tm;
    char *s;
    char *own; /* s, the client's own copy (heap, cap bytes) */
    size_t cap;
    unsigned long len;
};

static void parse_time(const char *v, MYSQL_TIME *tm, enum enum_field_types type)
{
    memset(tm, 0, sizeof(*tm));
    if (type == MYSQL_TYPE_TIME) {
        if (*v == '-') {
            tm->neg = 1;
            v++;
        }
        sscanf(v, "%u:%u:%u.%lu", &tm->hour, &tm->minute, &tm->second, &tm->second_part);
        tm->time_type = MYSQL_TIMESTAMP_TIME;
        return;
    }
    sscanf(v, "%u-%u-%u %u:%u:%u.%lu", &tm->year, &tm->month, &tm->day, &tm->hour, &tm->minute,
           &tm->second, &tm->second_part);
    tm->time_type = type == MYSQL_TYPE_DATE ? MYSQL_TIMESTAMP_DATE : MYSQL_TIMESTAMP_DATETIME;
}

static void parse_param(char *spec, struct param *p, MYSQL_BIND *b)
{
    memset(p, 0, sizeof(*p));
    memset(b, 0, sizeof(*b));
    char *v = strchr(spec, ':');
    if (v != NULL)
        *v++ = '\0';
    if (strcmp(spec, "null") == 0) {
        p->null = true;
        b->buffer_type = MYSQL_TYPE_VAR_STRING;
        b->is_null = (my_bool *)&p->null;
        return;
    }
    if (v == NULL) {
        fprintf(stderr, "ps_query: bad parameter %s\n", spec);
        exit(2);
    }
    if (strcmp(spec, "i") == 0 || strcmp(spec, "u") == 0) {
        p->uns = spec[0] == 'u';
        p->i = p->uns ? (long long)strtoull(v, NULL, 10) : strtoll(v, NULL, 10);
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &p->i;
        b->is_unsigned = p->uns;
    } else if (strcmp(spec, "l") == 0) {
        p->l = (int32_t)strtol(v, NULL, 10);
        b->buffer_type = MYSQL_TYPE_LONG;
        b->buffer = &p->l;
    } else if (strcmp(spec, "t") == 0) {
        p->t = (int8_t)strtol(v, NULL, 10);
        b->buffer_type = MYSQL_TYPE_TINY;
        b->buffer = &p->t;
    } else if (strcmp(spec, "d") == 0) {
        p->d = strtod(v, NULL);
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &p->d;
    } else if (strcmp(spec, "f") == 0) {
        p->f = strtof(v, NULL);
        b->buffer_type = MYSQL_TYPE_FLOAT;
        b->buffer = &p->f;
    } else if (strcmp(spec, "dec") == 0 || strcmp(spec, "s") == 0) {
        p->cap = strlen(v) + 256;
        p->s = p->own = malloc(p->cap);
        if (p->s == NULL)
            exit(2);
        memcpy(p->s, v, strlen(v) + 1);
        p->len = (unsigned long)strlen(v);
        b->buffer_type = spec[0] == 'd' ? MYSQL_TYPE_NEWDECIMAL : MYSQL_TYPE_VAR_STRING;
        b->buffer = p->s;
        b->buffer_length = p->len;
        b->length = &p->len;
    } else if (strcmp(spec, "date") == 0 || strcmp(spec, "dt") == 0 || strcmp(spec, "time") == 0) {
        enum enum_field_types t = spec[1] == 'a'   ? MYSQL_TYPE_DATE
                                  : spec[1] == 't' ? MYSQL_TYPE_DATETIME
                                                   : MYSQL_TYPE_TIME;
        parse_time(v, &p->tm, t);
        b->buffer_type = t;
        b->buffer = &p->tm;
    } else {
        fprintf(stderr, "ps_query: bad parameter type %s\n", spec);
        exit(2);
    }
}

static bool is_int(enum enum_field_types t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_LONG ||
           t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

static bool is_time(enum enum_field_types t)
{
    return t == MYSQL_TYPE_DATE || t == MYSQL_TYPE_DATETIME || t == MYSQL_TYPE_TIMESTAMP ||
           t == MYSQL_TYPE_TIME;
}

static void print_error(MYSQL_STMT *stmt)
{
    printf("error\t%u\t%s\t%s\n", mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt),
           mysql_stmt_error(stmt));
}

/* The last statement prepared, kept open for "AGAIN" lines. */
static MYSQL_STMT *last;
static struct param last_params[MAX_PARAMS];
static MYSQL_BIND last_binds[MAX_PARAMS];
static int last_n;

static void results(MYSQL_STMT *stmt);

/* "AGAIN\t<values>": the last statement executed again with new values
 * of the same types, without binding again (libmariadb then sends no
 * types: the server uses those of the first execution). */
static void again(char *line, int n)
{
    printf("stmt\t%d\n", n);
    int i = 0;
    strtok(line, "\t");
    for (char *tok = strtok(NULL, "\t"); tok != NULL && i < last_n; tok = strtok(NULL, "\t"), i++) {
        char *v = strchr(tok, ':');
        v = v != NULL ? v + 1 : tok;
        struct param *p = &last_params[i];
        switch (last_binds[i].buffer_type) {
        case MYSQL_TYPE_LONGLONG:
            p->i = p->uns ? (long long)strtoull(v, NULL, 10) : strtoll(v, NULL, 10);
            break;
        case MYSQL_TYPE_DOUBLE:
            p->d = strtod(v, NULL);
            break;
        case MYSQL_TYPE_VAR_STRING:
        case MYSQL_TYPE_NEWDECIMAL:
            /* in place: libmariadb keeps its own copy of the binds */
            if (strlen(v) >= p->cap) {
                fprintf(stderr, "ps_query: AGAIN: a string longer than the first\n");
                exit(2);
            }
            memcpy(p->s, v, strlen(v) + 1);
            p->len = (unsigned long)strlen(v);
            break;
        default:
            fprintf(stderr, "ps_query: AGAIN takes integers, doubles and strings\n");
            exit(2);
        }
    }
    if (mysql_stmt_execute(last)) {
        printf("error\t%u\t%s\t%s\n", mysql_stmt_errno(last), mysql_stmt_sqlstate(last),
               mysql_stmt_error(last));
        return;
    }
    results(last);
}

/* A text query's result: its columns, rows and count, as for a statement. */
static void text_rows(MYSQL *conn)
{
    MYSQL_RES *res = mysql_store_result(conn);
    if (res == NULL) {
        if (mysql_errno(conn) != 0)
            printf("error\t%u\t%s\t%s\n", mysql_errno(conn), mysql_sqlstate(conn),
                   mysql_error(conn));
        else
            printf("ok\n");
        return;
    }
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    for (unsigned i = 0; i < nf; i++)
        printf("col\t%s\ttype=%d\tflags=%u\tdecimals=%u\tcharset=%u\n", f[i].name, (int)f[i].type,
               f[i].flags, f[i].decimals, f[i].charsetnr);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        printf("row");
        for (unsigned i = 0; i < nf; i++)
            printf("\t%s", row[i] != NULL ? row[i] : "NULL");
        printf("\n");
    }
    printf("rows=%llu\n", (unsigned long long)mysql_num_rows(res));
    mysql_free_result(res);
}

static void run(MYSQL *conn, char *line, int n)
{
    if (strncmp(line, "AGAIN\t", 6) == 0 && last != NULL) {
        again(line, n);
        return;
    }
    bool cursor = false, longdata = false;
    if (strncmp(line, "QUERY ", 6) == 0) {
        printf("stmt\t%d\n", n);
        if (mysql_query(conn, line + 6) != 0) {
            printf("error\t%u\t%s\t%s\n", mysql_errno(conn), mysql_sqlstate(conn),
                   mysql_error(conn));
            return;
        }
        MYSQL_RES *res = mysql_store_result(conn);
        if (res != NULL)
            mysql_free_result(res);
        printf("ok\n");
        return;
    }
    if (strncmp(line, "TEXT ", 5) == 0) {
        printf("stmt\t%d\n", n);
        if (mysql_query(conn, line + 5) != 0) {
            printf("error\t%u\t%s\t%s\n", mysql_errno(conn), mysql_sqlstate(conn),
                   mysql_error(conn));
            return;
        }
        text_rows(conn);
        return;
    }
    if (strncmp(line, "CURSOR ", 7) == 0) {
        cursor = true;
        line += 7;
    } else if (strncmp(line, "LONGDATA ", 9) == 0) {
        longdata = true;
        line += 9;
    }
    char *fields[MAX_PARAMS + 1];
    int nf = 0;
    for (char *tok = strtok(line, "\t"); tok != NULL && nf <= MAX_PARAMS; tok = strtok(NULL, "\t"))
        fields[nf++] = tok;
    printf("stmt\t%d\n", n);
    if (last != NULL) {
        mysql_stmt_close(last);
        last = NULL;
    }
    for (int i = 0; i < last_n; i++)
        free(last_params[i].own);
    last_n = 0;
    MYSQL_STMT *stmt = mysql_stmt_init(conn);
    if (stmt == NULL || mysql_stmt_prepare(stmt, fields[0], (unsigned long)strlen(fields[0]))) {
        print_error(stmt);
        mysql_stmt_close(stmt);
        return;
    }
    struct param *params = last_params;
    MYSQL_BIND *pb = last_binds;
    for (int i = 1; i < nf; i++)
        parse_param(fields[i], &params[i - 1], &pb[i - 1]);
    last_n = nf - 1;
    if (nf > 1 && mysql_stmt_bind_param(stmt, pb)) {
        print_error(stmt);
        mysql_stmt_close(stmt);
        return;
    }
    if (longdata && nf > 1) {
        if (mysql_stmt_send_long_data(stmt, 0, params[0].s, params[0].len)) {
            print_error(stmt);
            mysql_stmt_close(stmt);
            return;
        }
    }
    if (cursor) {
        unsigned long type = CURSOR_TYPE_READ_ONLY;
        mysql_stmt_attr_set(stmt, STMT_ATTR_CURSOR_TYPE, &type);
    }
    last = stmt;
    if (mysql_stmt_execute(stmt)) {
        print_error(stmt);
        return;
    }
    results(stmt);
}

/* Print the result of the statement just executed. */
static void results(MYSQL_STMT *stmt)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(stmt);
    if (meta == NULL) {
        printf("affected=%llu\n", (unsigned long long)mysql_stmt_affected_rows(stmt));
        if (mysql_stmt_insert_id(stmt) != 0)
            printf("insert_id=%llu\n", (unsigned long long)mysql_stmt_insert_id(stmt));
        return;
    }
    unsigned nc = mysql_num_fields(meta);
    MYSQL_FIELD *fs = mysql_fetch_fields(meta);
    if (nc > MAX_COLS) {
        fprintf(stderr, "ps_query: too many columns\n");
        exit(2);
    }
    MYSQL_BIND rb[MAX_COLS];
    long long ints[MAX_COLS];
    double dbls[MAX_COLS];
    MYSQL_TIME tms[MAX_COLS];
    static char strs[MAX_COLS][STR_CAP];
    unsigned long lens[MAX_COLS];
    my_bool nulls[MAX_COLS], errs[MAX_COLS];
    memset(rb, 0, sizeof(rb));
    for (unsigned i = 0; i < nc; i++) {
        printf("col\t%s\ttype=%d\tflags=%u\tdecimals=%u\tcharset=%u\n", fs[i].name,
               (int)fs[i].type, fs[i].flags, fs[i].decimals, fs[i].charsetnr);
        rb[i].is_null = &nulls[i];
        rb[i].length = &lens[i];
        rb[i].error = &errs[i];
        if (is_int(fs[i].type)) {
            rb[i].buffer_type = MYSQL_TYPE_LONGLONG;
            rb[i].buffer = &ints[i];
            rb[i].is_unsigned = (fs[i].flags & UNSIGNED_FLAG) != 0;
        } else if (fs[i].type == MYSQL_TYPE_DOUBLE || fs[i].type == MYSQL_TYPE_FLOAT) {
            rb[i].buffer_type = MYSQL_TYPE_DOUBLE;
            rb[i].buffer = &dbls[i];
        } else if (is_time(fs[i].type)) {
            rb[i].buffer_type = fs[i].type;
            rb[i].buffer = &tms[i];
        } else {
            rb[i].buffer_type = MYSQL_TYPE_STRING;
            rb[i].buffer = strs[i];
            rb[i].buffer_length = STR_CAP - 1;
        }
    }
    if (mysql_stmt_bind_result(stmt, rb)) {
        print_error(stmt);
        mysql_free_result(meta);
        return;
    }
    unsigned long rows = 0;
    int rc;
    while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
        rows++;
        printf("row");
        for (unsigned i = 0; i < nc; i++) {
            if (nulls[i]) {
                printf("\tNULL");
            } else if (is_int(fs[i].type)) {
                if (rb[i].is_unsigned)
                    printf("\t%llu", (unsigned long long)ints[i]);
                else
                    printf("\t%lld", ints[i]);
            } else if (rb[i].buffer_type == MYSQL_TYPE_DOUBLE) {
                printf("\t%.17g", dbls[i]);
            } else if (is_time(fs[i].type)) {
                const MYSQL_TIME *t = &tms[i];
                printf("\t%s%04u-%02u-%02u %02u:%02u:%02u.%06lu/%d", t->neg ? "-" : "", t->year,
                       t->month, t->day, t->hour, t->minute, t->second, t->second_part,
                       (int)t->time_type);
            } else {
                unsigned long k = lens[i] < STR_CAP - 1 ? lens[i] : STR_CAP - 1;
                printf("\t%.*s", (int)k, strs[i]);
            }
        }
        printf("\n");
    }
    if (rc != MYSQL_NO_DATA)
        print_error(stmt);
    printf("rows=%lu\n", rows);
    mysql_free_result(meta);
    mysql_stmt_free_result(stmt);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: ps_query HOST PORT USER PASSWORD DB < statements\n");
        return 2;
    }
    MYSQL *conn = mysql_init(NULL);
    if (mysql_real_connect(conn, argv[1], argv[3], argv[4], argv[5], (unsigned)atoi(argv[2]),
                           NULL, 0) == NULL) {
        fprintf(stderr, "ps_query: connect: %u %s\n", mysql_errno(conn), mysql_error(conn));
        return 1;
    }
    static char line[65536];
    int n = 0;
    while (fgets(line, sizeof(line), stdin) != NULL) {
        size_t k = strlen(line);
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
            line[--k] = '\0';
        if (k == 0)
            continue;
        run(conn, line, ++n);
        fflush(stdout);
    }
    mysql_close(conn);
    return 0;
}
