/*
 * test_ctl_help.c: halyardctl's command list and help (ctl_help.h) against
 * the admin socket's table (admin_verbs[]):
 *   - `--help`'s list has one line for each listed row of the table and for
 *     halyardctl's own commands (restore, backup verify), each usage once;
 *   - every listed command of halyard's has an example, and every example
 *     names a command of the table;
 *   - `help COMMAND` explains it (usage, example) for each row; a prefix
 *     ("help show") explains every command it starts; an unknown one is 2;
 *   - the check before sending: each table row's words, with arguments
 *     after them, is known; a lone "show" or "frob" is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/admin/ctl_help.h"
#include "../../src/admin/admin_int.h"

/* What fn wrote into a temporary file (malloc'd). */
static char *captured(FILE *f)
{
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

/* The number of lines of `text` that start with "  USAGE  ". */
static int lines_with(const char *text, const char *usage)
{
    char want[256];
    snprintf(want, sizeof(want), "\n  %s  ", usage);
    int n = 0;
    for (const char *p = text; (p = strstr(p, want)) != NULL; p++)
        n++;
    return n;
}

static void test_list(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    fputc('\n', f); /* so the first line is found like the others */
    ctl_help_list(f);
    char *text = captured(f);
    size_t listed = 0;
    for (size_t v = 0; v < ADMIN_N_VERBS; v++) {
        const struct admin_verb_def *d = &admin_verbs[v];
        if (d->usage == NULL)
            continue;
        listed++;
        if (strcmp(d->words, "help") == 0) /* halyardctl's own help stands for it */
            continue;
        if (lines_with(text, d->usage) != 1)
            fail_msg("'%s' is listed %d times", d->usage, lines_with(text, d->usage));
        if (ctl_help_example(d->words) == NULL)
            fail_msg("'%s' has no example in ctl_help.c", d->words);
    }
    assert_int_equal(lines_with(text, "help [COMMAND]"), 1);
    assert_true(strstr(text, "\n  restore ") != NULL);
    assert_true(strstr(text, "\n  backup verify ") != NULL);
    assert_true(strstr(text, "\n  backup list ") != NULL);
    /* one line each: the listed rows and halyardctl's restore, backup verify, backup list */
    size_t lines = 0;
    for (const char *p = text + 1; *p != '\0'; p++)
        lines += *p == '\n';
    assert_int_equal(lines, listed + 3);
    free(text);
}

static int explained(const char *line, char **out)
{
    char buf[256], *words[16];
    snprintf(buf, sizeof(buf), "%s", line);
    int n = 0;
    for (char *w = strtok(buf, " "); w != NULL && n < 16; w = strtok(NULL, " "))
        words[n++] = w;
    FILE *f = tmpfile();
    assert_non_null(f);
    int rc = ctl_help_show(f, n, words, false);
    *out = captured(f);
    return rc;
}

static void test_show(void **state)
{
    (void)state;
    char *text;
    for (size_t v = 0; v < ADMIN_N_VERBS; v++) {
        const struct admin_verb_def *d = &admin_verbs[v];
        if (d->usage == NULL || strcmp(d->words, "help") == 0)
            continue;
        assert_int_equal(explained(d->words, &text), 0);
        char want[300];
        snprintf(want, sizeof(want), "] %s\n", d->usage);
        if (strstr(text, want) == NULL || strstr(text, "example:\n") == NULL)
            fail_msg("help %s: %s", d->words, text);
        free(text);
    }
    /* a prefix explains each command it starts, and only those */
    assert_int_equal(explained("show", &text), 0);
    assert_non_null(strstr(text, "] show backends [--detail]\n"));
    assert_non_null(strstr(text, "] show events [last N]\n"));
    assert_null(strstr(text, "] reload\n"));
    free(text);
    /* more words than the command's: the command, case aside */
    assert_int_equal(explained("BACKEND db1 drain", &text), 0);
    assert_non_null(strstr(text, "] backend NAME drain|maint|online\n"));
    assert_null(strstr(text, "backup"));
    free(text);
    /* "backup verify" is halyardctl's, not halyard's "backup verified" */
    assert_int_equal(explained("help", &text), 0);
    assert_non_null(strstr(text, "] help [COMMAND]\n"));
    free(text);
    assert_int_equal(explained("frobnicate", &text), 2);
    assert_string_equal(text, "");
    free(text);
}

static void test_known(void **state)
{
    (void)state;
    char *backend[] = {"backend", "db1", "drain"}, *show_st[] = {"SHOW", "status"};
    char *show[] = {"show"}, *frob[] = {"frob"}, *takeover[] = {"takeover", "finish"};
    char *verify[] = {"backup", "verify", "--keep"}, *shows[] = {"show", "nothing"};
    assert_true(ctl_help_known(3, backend));
    assert_true(ctl_help_known(2, show_st));
    assert_true(ctl_help_known(2, takeover)); /* not listed, still halyard's */
    assert_true(ctl_help_known(3, verify));
    assert_false(ctl_help_known(1, show));
    assert_false(ctl_help_known(2, shows));
    assert_false(ctl_help_known(1, frob));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_show),
        cmocka_unit_test(test_known),
    };
    return cmocka_run_group_tests_name("ctl_help", tests, NULL, NULL);
}
