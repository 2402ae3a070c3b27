/*
 * test_config_check.c: what `halyard -t` reports (config_check.c): every
 * error of one load, each with its line and key, "did you mean" for a
 * misspelt key, and the warnings about what is legal but probably a
 * mistake. Texts are loaded with config_load_string_report (name
 * "t.conf"); the checks that look at file modes write temp files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/config/config.h"

#define HASH "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3" /* password "app" */

#define LISTENERS "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; } );\n"
#define USERS     "users = ( { name = \"app\"; password_hash = \"" HASH "\"; } );\n"
#define BKD(name, port, role)                                                                      \
    "{ name = \"" name "\"; address = \"127.0.0.1\"; port = " port "; role = \"" role "\"; }"
#define THREE                                                                                      \
    "backends = ( " BKD("db1", "3310", "primary") ", " BKD("db2", "3311", "replica") ", " BKD(     \
        "db3", "3312", "replica") " );\n"
#define MON "monitor = { user = \"mon\"; };\n"
/* Two groups of two, the groups on line 5. */
#define TWO_GROUPS                                                                                 \
    "backends = ( " BKD("a1", "1", "primary") ", " BKD("a2", "2", "replica") ", " BKD(             \
        "b1", "3",                                                                                 \
        "primary") ", " BKD("b2", "4",                                                             \
                            "replica") " );\n"                                                     \
                                       "groups = ( { name = \"a\"; backends = [ \"a1\", \"a2\" "   \
                                       "]; },\n"                                                   \
                                       "  { name = \"b\"; backends = [ \"b1\", \"b2\" ]; } );\n"
/* A config -t finds nothing to say about. */
#define CLEAN LISTENERS USERS THREE MON

static struct config *load_report(const char *text, struct config_report *rep)
{
    struct config *cfg = NULL;
    hy_status_t rc = config_load_string_report(text, "t.conf", &cfg, rep);
    assert_int_equal(rc == HY_OK, cfg != NULL);
    return cfg;
}

/* Is `want` in one of the messages, and on which line? */
static const struct config_msg *find(const struct config_msg *v, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++) {
        if (strstr(v[i].text, want) != NULL)
            return &v[i];
    }
    return NULL;
}

static void print_report(const struct config_report *rep)
{
    for (size_t i = 0; i < rep->n_errors; i++)
        print_message("error:   %s\n", rep->errors[i].text);
    for (size_t i = 0; i < rep->n_warnings; i++)
        print_message("warning: %s\n", rep->warnings[i].text);
}

static void expect_error(const char *text, const char *want)
{
    struct config_report rep;
    struct config *cfg = load_report(text, &rep);
    if (cfg != NULL || find(rep.errors, rep.n_errors, want) == NULL) {
        print_report(&rep);
        print_error("expected the error: %s\n", want);
    }
    assert_null(cfg);
    assert_non_null(find(rep.errors, rep.n_errors, want));
    config_report_free(&rep);
}

/* The config loads, with the warning `want` (NULL: with no warning). */
static void expect_warning(const char *text, const char *want)
{
    struct config_report rep;
    struct config *cfg = load_report(text, &rep);
    bool ok = cfg != NULL && (want == NULL ? rep.n_warnings == 0
                                           : find(rep.warnings, rep.n_warnings, want) != NULL);
    if (!ok) {
        print_report(&rep);
        print_error("expected %s%s\n", want != NULL ? "the warning: " : "no warning",
                    want != NULL ? want : "");
    }
    assert_true(ok);
    assert_int_equal(rep.n_errors, 0);
    config_put(cfg);
    config_report_free(&rep);
}

static void test_clean(void **state)
{
    (void)state;
    expect_warning(CLEAN, NULL);
}

static void test_did_you_mean(void **state)
{
    (void)state;
    expect_error("log_levle = \"debug\";\n" CLEAN,
                 "t.conf:1: log_levle: unknown key; did you mean \"log_level\"?");
    expect_error(CLEAN "monitor_user = \"x\";\n", "monitor_user: unknown key");
    /* in a list element and in a group: the keys of that group */
    expect_error(LISTENERS USERS MON "backends = ( { name = \"db1\"; address = \"h\";\n"
                                     " prot = 3306; port = 1; role = \"primary\"; } );\n",
                 "t.conf:5: backends.[0].prot: unknown key; did you mean \"port\"?");
    expect_error(LISTENERS USERS THREE "monitor = { user = \"m\";\n intervl_ms = 500; };\n",
                 "t.conf:5: monitor.intervl_ms: unknown key; did you mean \"interval_ms\"?");
    /* a key of another group */
    expect_error(CLEAN "password_hash = \"\";\n",
                 "password_hash: unknown key; \"password_hash\" is a key of users.[], not of the "
                 "top level");
    /* nothing close: no guess */
    struct config_report rep;
    assert_null(load_report(CLEAN "frobnicate = 1;\n", &rep));
    assert_int_equal(rep.n_errors, 1);
    assert_string_equal(rep.errors[0].text, "t.conf:5: frobnicate: unknown key");
    config_report_free(&rep);
}

/* Every error of one load, sorted by line; config_load's one line says how
 * many more there are. */
static void test_every_error(void **state)
{
    (void)state;
    struct config_report rep;
    /* two bad values on different lines (the key check goes on) */
    assert_null(load_report(CLEAN "workers = 999;\nmetrics_port = 70000;\n", &rep));
    assert_int_equal(rep.n_errors, 2);
    assert_string_equal(rep.errors[0].text, "t.conf:5: workers: 999 is out of range 0..256");
    assert_string_equal(rep.errors[1].text,
                        "t.conf:6: metrics_port: 70000 is out of range 0..65535");
    config_report_free(&rep);

    /* an unknown key, and errors of three parts filled after the keys */
    const char *text = "alerts = { exec = \"cmd\"; };\n" LISTENERS
                       "users = ( { name = \"app\";\n password_hash = \"*NOTAHASH\"; } );\n" THREE
                       "monitor = { user = \"m\"; password_file = \"/nonexistent/pw\"; };\n"
                       "log_levle = \"info\";\n";
    assert_null(load_report(text, &rep));
    if (rep.n_errors != 4)
        print_report(&rep);
    assert_int_equal(rep.n_errors, 4);
    assert_int_equal(rep.errors[0].line, 1);
    assert_non_null(strstr(rep.errors[0].text, "t.conf:1: alerts.exec: must be an absolute path"));
    assert_non_null(strstr(rep.errors[1].text, "t.conf:4: users.[0].password_hash: not a"));
    assert_non_null(strstr(rep.errors[2].text, "t.conf:6: monitor.password_file: cannot read"));
    assert_non_null(strstr(rep.errors[3].text, "t.conf:7: log_levle: unknown key; did you mean"));
    config_report_free(&rep);

    struct config *cfg = NULL;
    char err[1024];
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    assert_null(cfg);
    /* the first found (the keys are checked first), and the count */
    assert_non_null(strstr(err, "t.conf:7: log_levle: unknown key"));
    assert_non_null(strstr(err, "; and 3 more errors"));
    assert_null(strchr(err, '\n'));

    /* a part that needs one that failed is not run: no second-hand error */
    assert_null(load_report(LISTENERS "users = ();\n" THREE MON
                                      "rules = ( { name = \"r\"; user = \"nobody\"; } );\n",
                            &rep));
    assert_int_equal(rep.n_errors, 1);
    assert_non_null(strstr(rep.errors[0].text, "users: no user"));
    config_report_free(&rep);

    /* a syntax error: libconfig stops there; its line and text */
    assert_null(load_report(CLEAN "workers = = 1;\n", &rep));
    assert_int_equal(rep.n_errors, 1);
    assert_string_equal(rep.errors[0].text, "t.conf:5: syntax error, in: workers = = 1;");
    config_report_free(&rep);
}

static void test_warnings(void **state)
{
    (void)state;
    expect_warning(LISTENERS USERS THREE,
                   "t.conf: warning: monitor.user: not set: no health checks will run");
    expect_warning(LISTENERS USERS THREE "monitor = { interval_ms = 500; };\n",
                   "t.conf:4: warning: monitor.user: not set");
    /* the status page, or its login or TLS, without the listener it is on */
    expect_warning(LISTENERS USERS THREE MON "metrics_status_page = true;\n",
                   "t.conf:5: warning: metrics_status_page: metrics_port is 0: no listener "
                   "serves it");
    expect_warning(LISTENERS USERS THREE MON "metrics_port = 9104;\nmetrics_status_page = true;\n",
                   NULL);
    /* a group's own account is enough */
    expect_warning(LISTENERS USERS THREE
                   "groups = ( { name = \"g\"; backends = [ \"db1\", "
                   "\"db2\", \"db3\" ];\n monitor = { user = \"m\"; }; } );\n",
                   NULL);
    expect_warning(LISTENERS USERS MON "backends = ( " BKD("db1", "3310", "primary") " );\n",
                   "t.conf:4: warning: backends: one backend only (\"db1\")");
    expect_warning(LISTENERS USERS MON "backends = ( " BKD("db1", "3310", "primary") ",\n " BKD(
                       "db2", "3311", "replica") ",\n " BKD("db3", "3310", "replica") " );\n",
                   "t.conf:6: warning: backends.[2]: \"db3\" is 127.0.0.1:3310, as \"db1\" (line "
                   "4) is: one server listed twice");
    expect_warning(LISTENERS USERS MON "failover = \"auto\";\nbackends = ( " BKD(
                       "db1", "3310", "primary") ", " BKD("db2", "3311", "replica") " );\n",
                   "t.conf:4: warning: failover: \"auto\" with 2 voters");
    /* a witness makes three */
    expect_warning(LISTENERS USERS MON
                   "failover = \"auto\";\nbackends = ( " BKD("db1", "3310", "primary") ", " BKD(
                       "db2", "3311", "replica") " );\n"
                                                 "witnesses = ( { name = \"w\"; address = "
                                                 "\"127.0.0.1\"; port = 3320; } );\n",
                   NULL);
    expect_warning(LISTENERS "users = ( { name = \"app\";\n password_hash = \"\"; } );\n" THREE MON,
                   "t.conf:3: warning: users.[0].password_hash: \"\": user \"app\" logs in "
                   "without a password");
    expect_warning(CLEAN "shards = { cross_group_transactions = \"refuse\"; };\n", NULL);
    expect_warning(LISTENERS USERS MON TWO_GROUPS "shards = { cross_group_transactions = \"xa\";\n"
                                                  " xa_log = \"/nonexistent/dir/xa.log\"; };\n",
                   "t.conf:8: warning: shards.xa_log: its directory /nonexistent/dir is not there");
}

/* The checks that look at files: a private key or a password file others
 * can read, a password in clear text in a config file others can read. */
static void test_file_modes(void **state)
{
    (void)state;
    char dir[] = "/tmp/halyard-test-check.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1024], path[256], text[2048];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=t 2>/dev/null && "
             "echo secret > pw && chmod 600 key.pem pw",
             dir);
    assert_int_equal(system(cmd), 0);

    snprintf(text, sizeof(text),
             CLEAN "tls_cert = \"%s/cert.pem\";\ntls_key = \"%s/key.pem\";\n"
                   "backup = { dir = \"/a\";\n password_file = \"%s/pw\"; };\n",
             dir, dir, dir);
    expect_warning(text, NULL);
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    assert_int_equal(chmod(path, 0644), 0);
    snprintf(cmd, sizeof(cmd),
             "t.conf:6: warning: tls_key: the private key %s is readable by "
             "others (mode 0644): chmod o-r %s",
             path, path);
    expect_warning(text, cmd);
    assert_int_equal(chmod(path, 0640), 0); /* the group: root:halyard 0640 is how it is run */
    expect_warning(text, NULL);
    snprintf(path, sizeof(path), "%s/pw", dir);
    assert_int_equal(chmod(path, 0604), 0);
    expect_warning(text, "t.conf:8: warning: backup.password_file: the password file");

    /* a password in the file itself */
    snprintf(path, sizeof(path), "%s/halyard.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(LISTENERS USERS THREE "monitor = { user = \"mon\";\n password = \"s3cret\"; };\n", f);
    fclose(f);
    struct config_report rep;
    struct config *cfg = NULL;
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(config_load_report(path, &cfg, &rep), HY_OK);
    assert_int_equal(rep.n_warnings, 0);
    config_put(cfg);
    config_report_free(&rep);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(config_load_report(path, &cfg, &rep), HY_OK);
    assert_int_equal(rep.n_warnings, 1);
    snprintf(text, sizeof(text),
             "%s:5: warning: monitor.password: a password in clear text, in a file others can "
             "read (mode 0644): chmod o-r %s, or give it in password_file",
             path, path);
    assert_string_equal(rep.warnings[0].text, text);
    config_put(cfg);
    config_report_free(&rep);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),       cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_every_error), cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_file_modes),
    };
    return cmocka_run_group_tests_name("config_check", tests, NULL, NULL);
}
