/*
 * test_config.c: config loading, table-driven.
 *
 * Each row of `cases` is a config text and either NULL (it loads) or the
 * error it must produce, as a substring of the message; the rows spell out
 * the whole "FILE:LINE: KEY: why" so a wrong line or key fails. Texts are
 * loaded with config_load_string(name "t.conf"); the file cases write temp
 * files. Run under ASan/LSan: every error path must free what it built.
 */
#include <dirent.h>
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
#include "halyard/core/events.h"

#define HASH "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3" /* password "app" */

/* One element of each list; the arguments are raw libconfig values. */
#define LST(name, addr, port, extra)                                                               \
    "{ name = " name "; address = " addr "; port = " port "; " extra "}"
#define USR(name, hash, extra) "{ name = " name "; password_hash = " hash "; " extra "}"
#define BKD(name, addr, port, role, extra)                                                         \
    "{ name = " name "; address = " addr "; port = " port "; role = " role "; " extra "}"

#define L_OK LST("\"main\"", "\"127.0.0.1\"", "6033", "")
#define U_OK USR("\"app\"", "\"" HASH "\"", "")
#define B_OK BKD("\"db1\"", "\"127.0.0.1\"", "3310", "\"primary\"", "")

/* Each list on one line. */
#define LISTENERS "listeners = ( " L_OK " );\n"
#define USERS     "users = ( " U_OK " );\n"
#define BACKENDS  "backends = ( " B_OK " );\n"
#define BASE      LISTENERS USERS BACKENDS

/* A text whose line 1 is a listener, user or backend list with one element
 * built from `elem`; the other two lists follow. */
#define WITH_L(elem) "listeners = ( " elem " );\n" USERS BACKENDS
#define WITH_U(elem) LISTENERS "users = ( " elem " );\n" BACKENDS
#define WITH_B(elem) "backends = ( " elem " );\n" LISTENERS USERS

/* Two replication groups of two backends each (line 1); groups on line 6
 * (G2: each group's extra settings). */
#define G_BACKENDS                                                                                 \
    "backends = ( " BKD("\"a1\"", "\"h\"", "1", "\"primary\"", "") ", " BKD(                       \
        "\"a2\"", "\"h\"", "2", "\"replica\"",                                                     \
        "") ", " BKD("\"b1\"", "\"h\"", "3", "\"primary\"",                                        \
                     "") ", " BKD("\"b2\"", "\"h\"", "4", "\"replica\"", "") " );\n"
#define G_LISTENERS                                                                                \
    "listeners = ( " LST("\"e\"", "\"127.0.0.1\"", "6033", "group = \"e\";") ", " LST(             \
        "\"w\"", "\"127.0.0.1\"", "6034", "group = \"w\";") " );\n"
#define MON "monitor = { user = \"monitor\"; };\n"
#define G2(e, w)                                                                                   \
    "groups = ( { name = \"e\"; backends = [ \"a1\", \"a2\" ]; " e " },\n"                         \
    "  { name = \"w\"; backends = [ \"b1\", \"b2\" ]; " w " } );\n"

struct config_case {
    const char *name;
    const char *text;
    const char *expect; /* NULL = loads; else a substring of the error */
};

static const struct config_case cases[] = {
    /* ---- valid ---- */
    {"minimal", BASE, NULL},
    {"backup section",
     BASE "backup = { dir = \"/var/lib/halyard/archive\"; user = \"repl\"; "
          "password = \"x\"; binlog_retention = \"36h\"; binlog_sync_ms = 20; server_id = "
          "4000000000; };\n",
     NULL},
    {"backup without dir: off", BASE "backup = { user = \"repl\"; };\n", NULL},
    {"backup dir relative", BASE "backup = {\n dir = \"archive\"; };\n",
     "t.conf:5: backup.dir: must be an absolute path"},
    {"backup retention without unit",
     BASE "backup = { dir = \"/a\";\n binlog_retention = \"7\"; };\n",
     "t.conf:5: backup.binlog_retention: \"7\" is not a duration"},
    {"backup retention unit", BASE "backup = { dir = \"/a\"; binlog_retention = \"7w\"; };\n",
     "backup.binlog_retention: \"7w\" is not a duration"},
    {"backup two passwords",
     BASE "backup = { dir = \"/a\"; password = \"x\"; password_env = \"X\"; };\n",
     "backup.password: give one of password, password_file and password_env"},
    {"backup sync_ms 0", BASE "backup = { dir = \"/a\"; binlog_sync_ms = 0; };\n",
     "backup.binlog_sync_ms"},
    {"backup full_every without unit", BASE "backup = { dir = \"/a\";\n full_every = \"24\"; };\n",
     "t.conf:5: backup.full_every: \"24\" is not a duration"},
    {"backup incr_every without unit", BASE "backup = { dir = \"/a\";\n incr_every = \"1\"; };\n",
     "t.conf:5: backup.incr_every: \"1\" is not a duration"},
    {"backup incr_every with mariadb-dump",
     BASE "backup = { dir = \"/a\";\n incr_every = \"1h\"; };\n",
     "t.conf:5: backup.incr_every: incremental and differential backups need backup.method = "
     "\"mariadb-backup\""},
    {"backup diff_every without %i",
     BASE "backup = { dir = \"/a\"; method = \"mariadb-backup\";\n diff_every = \"6h\";\n"
          " mariadb_backup_command = \"mariadb-backup --backup --stream=xbstream\"; };\n",
     "t.conf:5: backup.diff_every: backup.mariadb_backup_command has no %i"},
    {"backup full_max_age unit", BASE "backup = { dir = \"/a\"; full_max_age = \"2y\"; };\n",
     "backup.full_max_age: \"2y\" is not a duration"},
    {"backup window malformed", BASE "backup = { dir = \"/a\";\n full_window = \"1:00-5:00\"; };\n",
     "t.conf:5: backup.full_window: \"1:00-5:00\" is not a daily window"},
    {"backup window hour 24", BASE "backup = { dir = \"/a\"; full_window = \"22:00-24:00\"; };\n",
     "backup.full_window: \"22:00-24:00\" is not a daily window"},
    {"backup window empty", BASE "backup = { dir = \"/a\"; full_window = \"03:00-03:00\"; };\n",
     "backup.full_window"},
    {"backup window trailing", BASE "backup = { dir = \"/a\"; full_window = \"03:00-04:00x\"; };\n",
     "backup.full_window"},
    {"backup copy_to_dir relative", BASE "backup = { dir = \"/a\";\n copy_to_dir = \"b\"; };\n",
     "t.conf:5: backup.copy_to_dir: must be an absolute path"},
    {"backup two copy targets",
     BASE "backup = { dir = \"/a\"; copy_to_dir = \"/b\";\n copy_command = \"cp %f /c\"; };\n",
     "t.conf:5: backup.copy_command: give one of copy_to_dir and copy_command"},
    {"backup copy_to_dir is dir", BASE "backup = { dir = \"/a/b\";\n copy_to_dir = \"/a/b\"; };\n",
     "t.conf:5: backup.copy_to_dir: is backup.dir or inside it: not a second place"},
    {"backup copy_to_dir inside dir",
     BASE "backup = { dir = \"/a/b\"; copy_to_dir = \"/a/b/copy\"; };\n",
     "backup.copy_to_dir: is backup.dir or inside it"},
    {"backup copy_command unknown %",
     BASE "backup = { dir = \"/a\";\n copy_command = \"cp %f /x/%d\"; };\n",
     "t.conf:5: backup.copy_command: %d: only %f (the file), %n (its name), %s (its sha256)"},
    {"backup copy_verify_command trailing %",
     BASE "backup = { dir = \"/a\"; copy_command = \"cp %f /x/ # 100%%\"; "
          "copy_verify_command = \"test -s /x/%n %\"; };\n",
     "backup.copy_verify_command: % : only"},
    {"backup verify without command",
     BASE "backup = { dir = \"/a\"; copy_verify_command = \"true\"; };\n",
     "backup.copy_verify_command: needs backup.copy_command"},
    {"backup verify_into without a port",
     BASE "backup = { dir = \"/a\"; verify_into = \"db9\"; };\n",
     "backup.verify_into: \"db9\" is not HOST:PORT"},
    {"backup verify_into port 0", BASE "backup = { dir = \"/a\"; verify_into = \"db9:0\"; };\n",
     "backup.verify_into: \"db9:0\" is not HOST:PORT"},
    {"backup verify_into port too large",
     BASE "backup = { dir = \"/a\"; verify_into = \"db9:123456\"; };\n",
     "backup.verify_into: \"db9:123456\" is not HOST:PORT"},
    {"minimal, lists first in another order", BACKENDS USERS LISTENERS, NULL},
    {"every key",
     "workers = 4; log_level = \"debug\"; server_version = \"8.0.99-halyard\";\n"
     "connect_timeout_ms = 10; login_timeout_ms = 600000; shutdown_timeout_ms = 0;\n"
     "buffer_size = 1048576; max_client_connections = 1000000;\n"
     "listeners = ( " LST("\"a\"", "\"::1\"", "1", "backlog = 65535;") ", " LST(
         "\"b\"", "\"0.0.0.0\"", "65535",
         "backlog = 1;") " );\n" USERS
                         "backends = ( " BKD(
                             "\"p\"", "\"db.example\"", "65535", "\"primary\"",
                             "weight = 0; max_connections = 1000000;") ", " BKD("\"r\"", "\"h\"",
                                                                                "1", "\"replica\"",
                                                                                "weight = "
                                                                                "1000;") " );\n",
     NULL},
    {"bounds inclusive at the low end",
     "workers = 0; connect_timeout_ms = 10; login_timeout_ms = 10; shutdown_timeout_ms = 0;\n"
     "buffer_size = 4096; max_client_connections = 0;\n" BASE,
     NULL},
    {"bounds inclusive at the high end",
     "workers = 256; connect_timeout_ms = 600000; login_timeout_ms = 600000;\n"
     "shutdown_timeout_ms = 3600000; buffer_size = 1048576; max_client_connections = 1000000;\n"
     "server_version = \"123456789012345678901234567890123456789012345678901234567890\";\n" BASE,
     NULL},
    {"64-bit literal in range", "workers = 8L;\n" BASE, NULL},
    {"hex literal", "buffer_size = 0x4000;\n" BASE, NULL},
    {"digits in strings and comments are left alone",
     "server_version = \"99999999999\"; # 99999999999\n// 4294970602\n/* 0xFFFFFFFFFF */\n" BASE,
     NULL},
    {"no password", WITH_U(USR("\"app\"", "\"\"", "")), NULL},
    {"lower-case hash", WITH_U(USR("\"app\"", "\"*5bcb3e6ac345b435c7c2e6b7949a04ce6f6563d3\"", "")),
     NULL},
    {"comments and blank lines", "# halyard\n\n// c++ style\n/* block\n comment */\n" BASE, NULL},

    /* ---- syntax ---- */
    {"syntax error", "workers = 4;\nlog_level = ;\n" BASE, "t.conf:2: syntax error"},
    {"unclosed list", BASE "tls = ( { name = \"x\"; }\n\nworkers = 1;\n", "t.conf:6: syntax error"},
    {"duplicate setting", "workers = 4;\n" BASE "workers = 5;\n",
     "t.conf:5: duplicate setting name"},
    {"empty text", "", "t.conf: listeners: required key is missing"},
    {"@include is refused", "workers = 1;\n  @include \"/tmp\"\n" BASE,
     "t.conf:2: @include is not supported; keep the configuration in one file"},
    {"lines counted through strings and comments",
     "server_version = \"a\nb\";\n/* c\n d */ # e\n// f\n@include \"x\"\n" BASE,
     "t.conf:6: @include is not supported"},
    {"@include in a string or comment is text", "server_version = \"@include\"; # @include\n" BASE,
     NULL},
    {"float where an integer goes", "workers = 1e3;\n" BASE,
     "t.conf:1: workers: expected an integer, got a float"},

    /* ---- unknown keys ---- */
    {"unknown top-level key", "workers = 1;\nlistners = 1;\n" BASE,
     "t.conf:2: listners: unknown key"},
    {"unknown top-level group", BASE "tls = { cert = \"x\"; };\n", "t.conf:4: tls: unknown key"},
    {"unknown key in a listener", WITH_L(LST("\"m\"", "\"h\"", "1", "nme = \"x\";")),
     "t.conf:1: listeners.[0].nme: unknown key"},
    {"unknown key in a user", WITH_U(USR("\"u\"", "\"\"", "password = \"app\";")),
     "t.conf:2: users.[0].password: unknown key"},
    {"unknown key in a backend",
     "backends = (\n  " B_OK
     ",\n  " BKD("\"db2\"", "\"h\"", "1", "\"replica\"", "hostgroup = 2;") "\n);\n" LISTENERS USERS,
     "t.conf:3: backends.[1].hostgroup: unknown key"},
    {"keys are case-sensitive", "Workers = 1;\n" BASE, "t.conf:1: Workers: unknown key"},

    /* ---- out of bounds: every int key below and above ---- */
    {"workers < 0", "workers = -1;\n" BASE, "t.conf:1: workers: -1 is out of range 0..256"},
    {"workers > 256", "workers = 257;\n" BASE, "t.conf:1: workers: 257 is out of range 0..256"},
    {"connect_timeout_ms low", "connect_timeout_ms = 9;\n" BASE,
     "t.conf:1: connect_timeout_ms: 9 is out of range 10..600000"},
    {"connect_timeout_ms high", "connect_timeout_ms = 600001;\n" BASE,
     "t.conf:1: connect_timeout_ms: 600001 is out of range 10..600000"},
    {"login_timeout_ms low", "login_timeout_ms = 9;\n" BASE,
     "t.conf:1: login_timeout_ms: 9 is out of range 10..600000"},
    {"login_timeout_ms high", "login_timeout_ms = 600001;\n" BASE,
     "t.conf:1: login_timeout_ms: 600001 is out of range 10..600000"},
    {"shutdown_timeout_ms low", "shutdown_timeout_ms = -1;\n" BASE,
     "t.conf:1: shutdown_timeout_ms: -1 is out of range 0..3600000"},
    {"shutdown_timeout_ms high", "shutdown_timeout_ms = 3600001;\n" BASE,
     "t.conf:1: shutdown_timeout_ms: 3600001 is out of range 0..3600000"},
    {"buffer_size low", "buffer_size = 4095;\n" BASE,
     "t.conf:1: buffer_size: 4095 is out of range 4096..1048576"},
    {"buffer_size high", "buffer_size = 1048577;\n" BASE,
     "t.conf:1: buffer_size: 1048577 is out of range 4096..1048576"},
    {"max_client_connections low", "max_client_connections = -1;\n" BASE,
     "t.conf:1: max_client_connections: -1 is out of range 0..1000000"},
    {"max_client_connections high", "max_client_connections = 1000001;\n" BASE,
     "t.conf:1: max_client_connections: 1000001 is out of range 0..1000000"},
    {"listener port 0", WITH_L(LST("\"m\"", "\"h\"", "0", "")),
     "t.conf:1: listeners.[0].port: 0 is out of range 1..65535"},
    {"listener port 65536", WITH_L(LST("\"m\"", "\"h\"", "65536", "")),
     "t.conf:1: listeners.[0].port: 65536 is out of range 1..65535"},
    {"listener backlog 0", WITH_L(LST("\"m\"", "\"h\"", "1", "backlog = 0;")),
     "t.conf:1: listeners.[0].backlog: 0 is out of range 1..65535"},
    {"listener backlog 65536", WITH_L(LST("\"m\"", "\"h\"", "1", "backlog = 65536;")),
     "t.conf:1: listeners.[0].backlog: 65536 is out of range 1..65535"},
    {"backend port 0", WITH_B(BKD("\"b\"", "\"h\"", "0", "\"primary\"", "")),
     "t.conf:1: backends.[0].port: 0 is out of range 1..65535"},
    {"backend port 70000, second element, own line",
     "\nbackends = (\n  " B_OK
     ",\n  " BKD("\"db2\"", "\"h\"", "70000", "\"replica\"", "") "\n);\n" LISTENERS USERS,
     "t.conf:4: backends.[1].port: 70000 is out of range 1..65535"},
    {"backend weight -1", WITH_B(BKD("\"b\"", "\"h\"", "1", "\"primary\"", "weight = -1;")),
     "t.conf:1: backends.[0].weight: -1 is out of range 0..1000"},
    {"backend weight 1001", WITH_B(BKD("\"b\"", "\"h\"", "1", "\"primary\"", "weight = 1001;")),
     "t.conf:1: backends.[0].weight: 1001 is out of range 0..1000"},
    {"backend max_connections -1",
     WITH_B(BKD("\"b\"", "\"h\"", "1", "\"primary\"", "max_connections = -1;")),
     "t.conf:1: backends.[0].max_connections: -1 is out of range 0..1000000"},
    {"backend max_connections 1000001",
     WITH_B(BKD("\"b\"", "\"h\"", "1", "\"primary\"", "max_connections = 1000001;")),
     "t.conf:1: backends.[0].max_connections: 1000001 is out of range 0..1000000"},
    /* libconfig 1.5 would read these modulo 2^32: 4294970602 as 3306. */
    {"port past 32 bits", WITH_B(BKD("\"b\"", "\"h\"", "4294970602", "\"primary\"", "")),
     "t.conf:1: backends.[0].port: 4294970602 is out of range 1..65535"},
    {"hex past 32 bits", "workers = 0x100000004;\n" BASE,
     "t.conf:1: workers: 4294967300 is out of range 0..256"},
    {"negative past 32 bits", "workers = -4294967295;\n" BASE,
     "t.conf:1: workers: -4294967295 is out of range 0..256"},
    {"past 64 bits", "workers = 99999999999999999999999;\n" BASE,
     "t.conf:1: workers: 9223372036854775807 is out of range 0..256"},
    {"64-bit literal out of range", "workers = 300L;\n" BASE,
     "t.conf:1: workers: 300 is out of range 0..256"},

    /* ---- string lengths and choices ---- */
    {"server_version 61 characters",
     "server_version = \"1234567890123456789012345678901234567890123456789012345678901\";\n" BASE,
     "t.conf:1: server_version: length 61 is out of range 0..60"},
    {"listener name empty", WITH_L(LST("\"\"", "\"h\"", "1", "")),
     "t.conf:1: listeners.[0].name: length 0 is out of range 1..64"},
    {"listener address empty", WITH_L(LST("\"m\"", "\"\"", "1", "")),
     "t.conf:1: listeners.[0].address: length 0 is out of range 1..255"},
    {"user name empty", WITH_U(USR("\"\"", "\"\"", "")),
     "t.conf:2: users.[0].name: length 0 is out of range 1..80"},
    {"user name 81 characters",
     WITH_U(USR("\"1234567890123456789012345678901234567890123456789012345678901234567890"
                "12345678901\"",
                "\"\"", "")),
     "t.conf:2: users.[0].name: length 81 is out of range 1..80"},
    {"backend name 65 characters",
     WITH_B(BKD("\"12345678901234567890123456789012345678901234567890123456789012345\"", "\"h\"",
                "1", "\"primary\"", "")),
     "t.conf:1: backends.[0].name: length 65 is out of range 1..64"},
    {"backend address empty", WITH_B(BKD("\"b\"", "\"\"", "1", "\"primary\"", "")),
     "t.conf:1: backends.[0].address: length 0 is out of range 1..255"},
    {"bad log level", "log_level = \"verbose\";\n" BASE,
     "t.conf:1: log_level: \"verbose\" is not one of error|warn|info|debug"},
    {"log level is case-sensitive", "log_level = \"INFO\";\n" BASE,
     "t.conf:1: log_level: \"INFO\" is not one of error|warn|info|debug"},
    {"log level with a control byte", "log_level = \"in\\nfo\";\n" BASE,
     "t.conf:1: log_level: \"in?fo\" is not one of error|warn|info|debug"},
    {"bad role", WITH_B(BKD("\"b\"", "\"h\"", "1", "\"master\"", "")),
     "t.conf:1: backends.[0].role: \"master\" is not one of primary|replica"},

    /* ---- wrong types: every key ---- */
    {"workers string", "workers = \"4\";\n" BASE,
     "t.conf:1: workers: expected an integer, got a string"},
    {"workers bool", "workers = true;\n" BASE,
     "t.conf:1: workers: expected an integer, got a boolean"},
    {"log_level int", "log_level = 3;\n" BASE,
     "t.conf:1: log_level: expected a string, got an integer"},
    {"server_version int", "server_version = 10;\n" BASE,
     "t.conf:1: server_version: expected a string, got an integer"},
    {"connect_timeout_ms float", "connect_timeout_ms = 2.5;\n" BASE,
     "t.conf:1: connect_timeout_ms: expected an integer, got a float"},
    {"login_timeout_ms string", "login_timeout_ms = \"5s\";\n" BASE,
     "t.conf:1: login_timeout_ms: expected an integer, got a string"},
    {"shutdown_timeout_ms array", "shutdown_timeout_ms = [1];\n" BASE,
     "t.conf:1: shutdown_timeout_ms: expected an integer, got an array [ ... ]"},
    {"buffer_size group", "buffer_size = { size = 1; };\n" BASE,
     "t.conf:1: buffer_size: expected an integer, got a group { ... }"},
    {"max_client_connections list", "max_client_connections = (1);\n" BASE,
     "t.conf:1: max_client_connections: expected an integer, got a list ( ... )"},
    {"listeners group", "listeners = " L_OK ";\n" USERS BACKENDS,
     "t.conf:1: listeners: expected a list of groups ( { ... }, ... ), got a group { ... }"},
    {"listeners array", "listeners = [ 1, 2 ];\n" USERS BACKENDS,
     "t.conf:1: listeners: expected a list of groups ( { ... }, ... ), got an array [ ... ]"},
    {"users string", LISTENERS "users = \"app\";\n" BACKENDS,
     "t.conf:2: users: expected a list of groups ( { ... }, ... ), got a string"},
    {"backends int", "backends = 1;\n" LISTENERS USERS,
     "t.conf:1: backends: expected a list of groups ( { ... }, ... ), got an integer"},
    {"listener element int", "listeners = ( " L_OK ", 1 );\n" USERS BACKENDS,
     "t.conf:1: listeners.[1]: expected a group { ... }, got an integer"},
    {"user element list", LISTENERS "users = ( ( \"app\" ) );\n" BACKENDS,
     "t.conf:2: users.[0]: expected a group { ... }, got a list ( ... )"},
    {"backend element string", "backends = ( \"db1\" );\n" LISTENERS USERS,
     "t.conf:1: backends.[0]: expected a group { ... }, got a string"},
    {"listener name int", WITH_L(LST("1", "\"h\"", "1", "")),
     "t.conf:1: listeners.[0].name: expected a string, got an integer"},
    {"listener address int", WITH_L(LST("\"m\"", "127", "1", "")),
     "t.conf:1: listeners.[0].address: expected a string, got an integer"},
    {"listener port string", WITH_L(LST("\"m\"", "\"h\"", "\"6033\"", "")),
     "t.conf:1: listeners.[0].port: expected an integer, got a string"},
    {"listener backlog float", WITH_L(LST("\"m\"", "\"h\"", "1", "backlog = 1.0;")),
     "t.conf:1: listeners.[0].backlog: expected an integer, got a float"},
    {"user name bool", WITH_U(USR("false", "\"\"", "")),
     "t.conf:2: users.[0].name: expected a string, got a boolean"},
    {"user password_hash int", WITH_U(USR("\"u\"", "0", "")),
     "t.conf:2: users.[0].password_hash: expected a string, got an integer"},
    {"backend name int", WITH_B(BKD("7", "\"h\"", "1", "\"primary\"", "")),
     "t.conf:1: backends.[0].name: expected a string, got an integer"},
    {"backend address list", WITH_B(BKD("\"b\"", "( \"h\" )", "1", "\"primary\"", "")),
     "t.conf:1: backends.[0].address: expected a string, got a list ( ... )"},
    {"backend port float", WITH_B(BKD("\"b\"", "\"h\"", "3306.0", "\"primary\"", "")),
     "t.conf:1: backends.[0].port: expected an integer, got a float"},
    {"backend role int", WITH_B(BKD("\"b\"", "\"h\"", "1", "0", "")),
     "t.conf:1: backends.[0].role: expected a string, got an integer"},
    {"backend weight string", WITH_B(BKD("\"b\"", "\"h\"", "1", "\"primary\"", "weight = \"1\";")),
     "t.conf:1: backends.[0].weight: expected an integer, got a string"},
    {"backend max_connections bool",
     WITH_B(BKD("\"b\"", "\"h\"", "1", "\"primary\"", "max_connections = true;")),
     "t.conf:1: backends.[0].max_connections: expected an integer, got a boolean"},

    /* ---- required keys ---- */
    {"no listeners", USERS BACKENDS, "t.conf: listeners: required key is missing"},
    {"no users", LISTENERS BACKENDS,
     "t.conf: users: no user: list at least one, or set users_source = \"backends\""},
    {"no backends", LISTENERS USERS, "t.conf: backends: required key is missing"},
    {"empty listeners", "listeners = ();\n" USERS BACKENDS,
     "t.conf:1: listeners: has 0 elements, at least 1 required"},
    {"empty users", LISTENERS "users = ();\n" BACKENDS,
     "t.conf:2: users: no user: list at least one, or set users_source = \"backends\""},
    {"users_source without monitor", "users_source = \"backends\";\n" LISTENERS BACKENDS,
     "t.conf:1: users_source: reading the accounts from the primary needs an account to read "
     "them as: set monitor.user"},
    {"users_source bad word", "users_source = \"servers\";\n" LISTENERS USERS BACKENDS,
     "t.conf:1: users_source:"},
    {"empty backends", LISTENERS USERS "backends = ();\n",
     "t.conf:3: backends: has 0 elements, at least 1 required"},
    {"listener without name", WITH_L("{ address = \"h\"; port = 1; }"),
     "t.conf:1: listeners.[0].name: required key is missing"},
    {"listener without address", WITH_L("{ name = \"m\"; port = 1; }"),
     "t.conf:1: listeners.[0].address: required key is missing"},
    {"listener without port, second, own line",
     "listeners = (\n  " L_OK ",\n  { name = \"m2\";\n    address = \"h\"; }\n);\n" USERS BACKENDS,
     "t.conf:3: listeners.[1].port: required key is missing"},
    {"user without name", WITH_U("{ password_hash = \"\"; }"),
     "t.conf:2: users.[0].name: required key is missing"},
    {"user without password_hash", WITH_U("{ name = \"u\"; }"),
     "t.conf:2: users.[0].password_hash: required key is missing"},
    {"backend without name", WITH_B("{ address = \"h\"; port = 1; role = \"primary\"; }"),
     "t.conf:1: backends.[0].name: required key is missing"},
    {"backend without address", WITH_B("{ name = \"b\"; port = 1; role = \"primary\"; }"),
     "t.conf:1: backends.[0].address: required key is missing"},
    {"backend without port", WITH_B("{ name = \"b\"; address = \"h\"; role = \"primary\"; }"),
     "t.conf:1: backends.[0].port: required key is missing"},
    {"backend without role", WITH_B("{ name = \"b\"; address = \"h\"; port = 1; }"),
     "t.conf:1: backends.[0].role: required key is missing"},

    /* ---- rules across keys ---- */
    {"duplicate listener",
     "listeners = (\n  " L_OK ",\n  " LST("\"main\"", "\"h\"", "2", "") "\n);\n" USERS BACKENDS,
     "t.conf:3: listeners.[1].name: duplicate listener name \"main\" (first defined at line 2)"},
    {"duplicate user",
     LISTENERS "users = (\n  " U_OK ",\n  " USR("\"other\"", "\"\"", "") ",\n  " USR(
         "\"app\"", "\"\"", "") "\n);\n" BACKENDS,
     "t.conf:5: users.[2].name: duplicate user name \"app\" (first defined at line 3)"},
    {"duplicate backend",
     "backends = (\n  " B_OK
     ",\n  " BKD("\"db1\"", "\"h\"", "2", "\"replica\"", "") "\n);\n" LISTENERS USERS,
     "t.conf:3: backends.[1].name: duplicate backend name \"db1\" (first defined at line 2)"},
    {"user names are case-sensitive", WITH_U(U_OK ", " USR("\"APP\"", "\"\"", "")), NULL},
    {"no primary",
     "\nbackends = ( " BKD("\"r1\"", "\"h\"", "1", "\"replica\"", "") " );\n" LISTENERS USERS,
     "t.conf:2: backends: no backend has role \"primary\", exactly one backend must have it"},
    {"two primaries",
     "backends = (\n  " B_OK ",\n  " BKD("\"db2\"", "\"h\"", "2", "\"replica\"", "") ",\n  " BKD(
         "\"db3\"", "\"h\"", "3", "\"primary\"", "") "\n);\n" LISTENERS USERS,
     "t.conf:4: backends.[2].role: second primary; \"db1\" (line 2) is already the primary"},

    /* ---- failover and the replication password ---- */
    {"failover auto",
     BASE "failover = \"auto\"; failover_delay_ms = 0; auto_rejoin = true;\n"
          "monitor = { user = \"monitor\"; };\n",
     NULL},
    {"failover auto without monitor", BASE "failover = \"auto\";\n",
     "t.conf:4: failover: failover = \"auto\" needs the health checks: set monitor.user"},
    {"failover bad word", BASE "failover = \"on\";\n", "t.conf:4: failover: "},
    {"witnesses", BASE "witnesses = ( { name = \"w1\"; address = \"10.0.0.9\"; port = 3306; } );\n",
     NULL},
    {"witness without a port", BASE "witnesses = ( { name = \"w1\"; address = \"10.0.0.9\"; } );\n",
     "t.conf:4: witnesses.[0].port: "},
    {"two witnesses of one name",
     BASE "witnesses = (\n { name = \"w\"; address = \"a\"; port = 1; },\n"
          " { name = \"w\"; address = \"b\"; port = 1; }\n);\n",
     "t.conf:6: witnesses.[1].name: duplicate witness name \"w\" (first defined at line 5)"},
    {"a backend as its own witness",
     BASE "witnesses = ( { name = \"w\"; address = \"127.0.0.1\"; port = 3310; } );\n",
     "t.conf:4: witnesses.[0].address: 127.0.0.1:3310 is backend \"db1\": a witness is a "
     "server outside the cluster"},

    /* ---- cluster = galera ---- */
    {"galera",
     BASE "cluster = \"galera\"; max_writers = 2; writer_is_also_reader = true;\n"
          "monitor = { user = \"monitor\"; };\n",
     NULL},
    {"galera without monitor", BASE "cluster = \"galera\";\n",
     "t.conf:4: cluster: cluster = \"galera\" needs the health checks (the writer is picked "
     "from the nodes' wsrep state): set monitor.user"},
    {"galera with failover auto",
     BASE "cluster = \"galera\";\nmonitor = { user = \"monitor\"; };\nfailover = \"auto\";\n",
     "t.conf:6: failover: failover = \"auto\" does not apply to cluster = \"galera\""},
    {"galera with auto_rejoin",
     BASE "cluster = \"galera\";\nmonitor = { user = \"monitor\"; };\nauto_rejoin = true;\n",
     "t.conf:6: auto_rejoin: does not apply to cluster = \"galera\""},
    /* ---- cluster = dual-master ---- */
    {"dual-master",
     LISTENERS USERS "backends = ( " B_OK ", " BKD(
         "\"db2\"", "\"127.0.0.1\"", "3311", "\"replica\"",
         "") " );\n"
             "cluster = \"dual-master\";\nmonitor = { user = \"monitor\"; };\nfailover = "
             "\"auto\";\n"
             "witnesses = ( { name = \"w\"; address = \"127.0.0.1\"; port = 3312; } );\n",
     NULL},
    {"dual-master with one backend",
     BASE "cluster = \"dual-master\";\nmonitor = { user = \"monitor\"; };\n",
     "t.conf:4: cluster: cluster = \"dual-master\" needs exactly two backends, not 1"},
    {"dual-master without monitor",
     LISTENERS USERS "backends = ( " B_OK ", " BKD("\"db2\"", "\"h\"", "1", "\"replica\"",
                                                   "") " );\ncluster = \"dual-master\";\n",
     "t.conf:4: cluster: cluster = \"dual-master\" needs the health checks (the active is the "
     "backend with read_only off): set monitor.user"},
    {"dual-master failover without a witness",
     LISTENERS USERS "backends = ( " B_OK
                     ", " BKD("\"db2\"", "\"h\"", "1", "\"replica\"",
                              "") " );\ncluster = \"dual-master\";\n"
                                  "monitor = { user = \"monitor\"; };\nfailover = \"auto\";\n",
     "t.conf:6: failover: failover = \"auto\" with cluster = \"dual-master\" needs a witness: "
     "two servers alone are never a majority once one is lost"},
    {"cluster bad word", BASE "cluster = \"multi\";\n", "t.conf:4: cluster: "},
    /* ---- groups ---- */
    {"two groups", G_BACKENDS G_LISTENERS USERS MON G2("", ""), NULL},
    {"groups with overrides",
     G_BACKENDS G_LISTENERS USERS MON
     "witnesses = ( { name = \"w\"; address = \"h\"; port = 99; } );\n" G2(
         "cluster = \"replication\"; failover = \"auto\"; failover_delay_ms = 0; auto_rejoin = "
         "true; monitor = { rise = 1; fall = 9; };",
         "cluster = \"dual-master\"; failover = \"off\";"),
     NULL},
    {"group: its own monitor account and timing",
     G_BACKENDS G_LISTENERS USERS MON G2(
         "", "monitor = { user = \"m2\"; password_env = \"HOME\"; interval_ms = 300; "
             "timeout_ms = 900; };"),
     NULL},
    {"group: galera checked by its own account only",
     G_BACKENDS G_LISTENERS USERS G2("", "cluster = \"galera\"; monitor = { user = \"g\"; };"),
     NULL},
    {"group: a monitor password without its user",
     G_BACKENDS G_LISTENERS USERS MON G2("", "monitor = { password = \"x\"; };"),
     "t.conf:6: groups.[1].monitor: a password without the group's monitor.user: give the user "
     "too"},
    {"group: two monitor passwords",
     G_BACKENDS G_LISTENERS USERS MON G2(
         "monitor = { user = \"u\"; password = \"x\"; password_env = \"HOME\"; };", ""),
     "t.conf:5: groups.[0].monitor.password: give one of password, password_file and "
     "password_env"},
    {"group: monitor interval under 50",
     G_BACKENDS G_LISTENERS USERS MON G2("monitor = { interval_ms = 10; };", ""),
     "t.conf:5: groups.[0].monitor.interval_ms: "},
    {"galera group beside a replication one",
     G_BACKENDS G_LISTENERS USERS MON G2(
         "", "cluster = \"galera\"; max_writers = 2; writer_is_also_reader = true;"),
     NULL},
    {"group: unknown backend",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a1\", \"zz\" ]; } );\n",
     "t.conf:5: groups.[0].backends: \"zz\" is not the name of a backend"},
    {"group: backend in two groups",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a1\", \"a2\" ]; },\n"
     "  { name = \"w\"; backends = [ \"b1\", \"a2\", \"b2\" ]; } );\n",
     "t.conf:6: groups.[1].backends: backend \"a2\" is already in group \"e\" (line 5); a backend "
     "belongs to exactly one group"},
    {"group: backend listed twice",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a1\", \"a1\" ]; } );\n",
     "t.conf:5: groups.[0].backends: \"a1\" is listed twice"},
    {"group: backend in no group",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a1\", \"a2\" ]; },\n"
     "  { name = \"w\"; backends = [ \"b1\" ]; } );\n",
     "t.conf:1: backends.[3].name: backend \"b2\" is in no group; with groups, list every "
     "backend in one"},
    {"group: unknown cluster type", G_BACKENDS G_LISTENERS USERS MON G2("cluster = \"multi\";", ""),
     "t.conf:5: groups.[0].cluster: "},
    {"group: empty",
     G_BACKENDS G_LISTENERS USERS MON "groups = ( { name = \"e\"; backends = [ ]; } );\n",
     "t.conf:5: groups.[0].backends: "},
    {"group: duplicate name",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a1\", \"a2\" ]; },\n"
     "  { name = \"e\"; backends = [ \"b1\", \"b2\" ]; } );\n",
     "t.conf:6: groups.[1].name: duplicate group name \"e\" (first defined at line 5)"},
    {"group: no primary",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a2\" ]; },\n"
     "  { name = \"w\"; backends = [ \"a1\", \"b1\", \"b2\" ]; } );\n",
     "t.conf:5: groups.[0].backends: no backend of group \"e\" has role \"primary\""},
    {"group: two primaries",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; backends = [ \"a1\", \"b1\", \"a2\" ]; },\n"
     "  { name = \"w\"; backends = [ \"b2\" ]; } );\n",
     "t.conf:5: groups.[0].backends: second primary \"b1\"; \"a1\" is already the group's primary"},
    {"group: dual-master of three",
     G_BACKENDS G_LISTENERS USERS MON
     "groups = ( { name = \"e\"; cluster = \"dual-master\"; backends = [ \"a1\", \"a2\", \"b2\" ]; "
     "},\n  { name = \"w\"; backends = [ \"b1\" ]; } );\n",
     "t.conf:5: groups.[0].cluster: cluster = \"dual-master\" needs exactly two backends, not 3"},
    {"group: galera with failover auto",
     G_BACKENDS G_LISTENERS USERS MON G2("", "cluster = \"galera\"; failover = \"auto\";"),
     "t.conf:6: groups.[1].failover: failover = \"auto\" does not apply to cluster = \"galera\""},
    {"group: inherits failover auto onto galera",
     G_BACKENDS G_LISTENERS USERS MON "failover = \"auto\";\n" G2("", "cluster = \"galera\";"),
     "t.conf:5: failover: failover = \"auto\" does not apply to cluster = \"galera\""},
    {"group: galera without monitor", G_BACKENDS G_LISTENERS USERS G2("", "cluster = \"galera\";"),
     "t.conf:5: groups.[1].cluster: cluster = \"galera\" needs the health checks"},
    {"group: unknown key", G_BACKENDS G_LISTENERS USERS MON G2("weight = 1;", ""),
     "t.conf:5: groups.[0].weight: unknown key"},
    {"listener: unknown group",
     G_BACKENDS "listeners = ( " LST("\"m\"", "\"127.0.0.1\"", "6033",
                                     "group = \"nope\";") " );\n" USERS MON G2("", ""),
     "t.conf:2: listeners.[0].group: \"nope\" is not the name of a group"},
    {"listener: group without groups", BASE "listeners2 = 1;\n",
     "t.conf:4: listeners2: unknown key"},
    {"listener: the implicit group by name",
     "listeners = ( " LST("\"m\"", "\"127.0.0.1\"", "6033",
                          "group = \"default\";") " );\n" USERS BACKENDS,
     NULL},
    {"max_writers 0", BASE "max_writers = 0;\n", "t.conf:4: max_writers: 0 is out of range 1..64"},
    {"priority negative",
     WITH_B("{ name = \"b\"; address = \"h\"; port = 1; role = \"primary\"; "
            "priority = -1; }"),
     "t.conf:1: backends.[0].priority: -1 is out of range 0..1000000"},
    {"switchover timeout too small", BASE "switchover_timeout_ms = 99;\n",
     "t.conf:4: switchover_timeout_ms: 99 is out of range 100..3600000"},
    {"replication password file and env",
     BASE "replication_user = \"repl\";\nreplication_password_file = \"/dev/null\";\n"
          "replication_password_env = \"HOME\";\n",
     "t.conf:6: replication_password_env: give replication_password_file or "
     "replication_password_env, not both"},
    {"replication password file missing",
     BASE "replication_user = \"repl\";\nreplication_password_file = \"/nonexistent/pw\";\n",
     "t.conf:5: replication_password_file: cannot read /nonexistent/pw: No such file or "
     "directory"},
    {"replication password env unset",
     BASE "replication_user = \"repl\";\n"
          "replication_password_env = \"HALYARD_TEST_SURELY_UNSET_VARIABLE\";\n",
     "t.conf:5: replication_password_env: environment variable "
     "HALYARD_TEST_SURELY_UNSET_VARIABLE is not set"},
    {"replication password without user", BASE "replication_password_file = \"/dev/null\";\n",
     "t.conf:4: replication_password_file: a replication password needs replication_user"},

    /* ---- password hashes ---- */
    {"hash without star", WITH_U(USR("\"u\"", "\"5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3\"", "")),
     "t.conf:2: users.[0].password_hash: not a password hash"},
    {"hash too short", WITH_U(USR("\"u\"", "\"*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D\"", "")),
     "t.conf:2: users.[0].password_hash: not a password hash"},
    {"hash too long", WITH_U(USR("\"u\"", "\"" HASH "0\"", "")),
     "t.conf:2: users.[0].password_hash: not a password hash"},
    {"hash not hex", WITH_U(USR("\"u\"", "\"*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563DZ\"", "")),
     "t.conf:2: users.[0].password_hash: not a password hash"},
    {"plaintext password", WITH_U(USR("\"u\"", "\"app\"", "")),
     "t.conf:2: users.[0].password_hash: not a password hash"},
    {"bad hash in the second user, own line",
     LISTENERS "users = (\n  " U_OK ",\n  " USR("\"b\"", "\"*\"", "") "\n);\n" BACKENDS,
     "t.conf:4: users.[1].password_hash: not a password hash"},

    /* ---- security keys ---- */
    {"user access keys",
     WITH_U(USR("\"u\"", "\"" HASH "\"",
                "sha2_hash = \"3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7\"; "
                "allow = [\"10.0.0.0/8\", \"::1\"]; max_connections = 5; firewall = \"enforce\"; "
                "firewall_allow = [\"SELECT ?\", \"00000000000000ff\"];")),
     NULL},
    {"sha2_hash short", WITH_U(USR("\"u\"", "\"" HASH "\"", "sha2_hash = \"3881\";")),
     "t.conf:2: users.[0].sha2_hash: not a caching_sha2_password hash: expected 64 hex digits, "
     "SHA256(SHA256(password)), or \"\""},
    {"sha2_hash not hex",
     WITH_U(
         USR("\"u\"", "\"" HASH "\"",
             "sha2_hash = \"3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534aeZ\";")),
     "t.conf:2: users.[0].sha2_hash: not a caching_sha2_password hash: expected 64 hex digits"},
    {"allow not a network", WITH_U(USR("\"u\"", "\"" HASH "\"", "allow = [\"10.0.0.0/33\"];")),
     "t.conf:2: users.[0].allow: \"10.0.0.0/33\": the prefix length after / must be a number "
     "from 0 to 32 for an IPv4 address"},
    {"allow bits past the prefix",
     WITH_U(USR("\"u\"", "\"" HASH "\"", "allow = [\"::1\", \"10.1.2.3/8\"];")),
     "t.conf:2: users.[0].allow: \"10.1.2.3/8\": address bits are set past the /8 prefix"},
    {"allow a string", WITH_U(USR("\"u\"", "\"" HASH "\"", "allow = \"10.0.0.0/8\";")),
     "t.conf:2: users.[0].allow: expected an array of strings"},
    {"firewall mode", WITH_U(USR("\"u\"", "\"" HASH "\"", "firewall = \"on\";")),
     "t.conf:2: users.[0].firewall: \"on\" is not one of off|learn|enforce"},
    {"listener users unknown",
     WITH_L(LST("\"main\"", "\"127.0.0.1\"", "6033", "users = [\"app\", \"bob\"];")),
     "t.conf:1: listeners.[0].users: no user \"bob\" in users"},
    {"proxy_protocol_from",
     WITH_L(LST("\"main\"", "\"127.0.0.1\"", "6033",
                "proxy_protocol_from = [\"10.0.0.0/8\", \"127.0.0.1\", \"2001:db8::/32\"];")),
     NULL},
    {"proxy_protocol_from not a network",
     WITH_L(LST("\"main\"", "\"127.0.0.1\"", "6033",
                "proxy_protocol_from = [\"10.0.0.0/8\", \"lb.example\"];")),
     "t.conf:1: listeners.[0].proxy_protocol_from: \"lb.example\": not an IPv4 or IPv6 address"},
    {"rsa key missing", "auth_rsa_private_key = \"/nonexistent/key.pem\";\n" BASE,
     "t.conf:1: auth_rsa_private_key: private key: /nonexistent/key.pem: No such file or "
     "directory"},
    {"rsa public key alone", "auth_rsa_public_key = \"/k.pem\";\n" BASE,
     "t.conf:1: auth_rsa_public_key: needs auth_rsa_private_key"},
    {"default_auth_plugin", "default_auth_plugin = \"sha256_password\";\n" BASE,
     "t.conf:1: default_auth_plugin: \"sha256_password\" is not one of "
     "mysql_native_password|caching_sha2_password"},
    {"max_packet_size too small", "max_packet_size = 100;\n" BASE,
     "t.conf:1: max_packet_size: 100 is out of range 1024..1073741824"},
    {"alerts.events",
     BASE "alerts = { events = ( { name = \"backend_lagging\"; repeat_ms = 0; "
          "severity = \"critical\"; enabled = false; } ); };\n",
     NULL},
    {"alerts.events: not an event",
     BASE "alerts = {\n events = ( { name = \"backend_gone\"; } ); };\n",
     "t.conf:5: alerts.events.[0].name: \"backend_gone\" is not an event name"},
    {"alerts.events: a name twice",
     BASE "alerts = { events = ( { name = \"backend_up\"; },\n { name = \"backend_up\"; } ); };\n",
     "t.conf:5: alerts.events.[1].name: \"backend_up\" is set twice"},
    {"alerts.events: severity",
     BASE "alerts = { events = ( { name = \"backend_up\"; "
          "severity = \"high\"; } ); };\n",
     "alerts.events.[0].severity: \"high\" is not one of default|info|warning|critical"},
    {"alerts.events: repeat_ms",
     BASE "alerts = { events = ( { name = \"backend_up\"; "
          "repeat_ms = -2; } ); };\n",
     "alerts.events.[0].repeat_ms: -2 is out of range -1..86400000"},
    {"alerts.events: name required", BASE "alerts = { events = ( { repeat_ms = 5; } ); };\n",
     "alerts.events.[0].name: required key is missing"},
    {"tracing.flush_ms low", BASE "tracing = {\n flush_ms = 9; };\n",
     "t.conf:5: tracing.flush_ms: 9 is out of range 10..600000"},
    {"tracing.flush_ms high", BASE "tracing = {\n enabled = true;\n flush_ms = 600001; };\n",
     "t.conf:6: tracing.flush_ms: 600001 is out of range 10..600000"},
};

static void run_case(void **state)
{
    const struct config_case *c = *state;
    struct config *cfg = NULL;
    char err[512] = "";
    hy_status_t rc = config_load_string(c->text, "t.conf", &cfg, err, sizeof(err));
    if (c->expect == NULL) {
        if (rc != HY_OK)
            print_error("unexpected error: %s\n", err);
        assert_int_equal(rc, HY_OK);
        assert_non_null(cfg);
        config_put(cfg);
        return;
    }
    if (rc == HY_OK)
        print_error("loaded, expected: %s\n", c->expect);
    assert_int_equal(rc, HY_ERROR);
    assert_null(cfg);
    if (strstr(err, c->expect) == NULL)
        print_error("error:    %s\nexpected: %s\n", err, c->expect);
    assert_non_null(strstr(err, c->expect));
    assert_null(strchr(err, '\n')); /* one line */
}

/* ---- values, defaults, helpers ---- */

static struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    char err[512] = "";
    hy_status_t rc = config_load_string(text, "t.conf", &cfg, err, sizeof(err));
    if (rc != HY_OK)
        print_error("%s\n", err);
    assert_int_equal(rc, HY_OK);
    return cfg;
}

/* backup: off when absent; durations; a server_id derived when 0. */
static void test_backup_section(void **state)
{
    (void)state;
    struct config *cfg = load_ok(BASE);
    assert_false(cfg->backup.enabled);
    config_put(cfg);
    cfg = load_ok(BASE "backup = { dir = \"\"; user = \"repl\"; };\n");
    assert_false(cfg->backup.enabled);
    config_put(cfg);
    cfg = load_ok(BASE "backup = { dir = \"/srv/archive\"; };\n");
    assert_true(cfg->backup.enabled);
    assert_string_equal(cfg->backup.dir, "/srv/archive");
    assert_int_equal(cfg->backup.dir_line, 4);
    assert_int_equal(cfg->backup.retention_s, 7 * 86400); /* the default, 7d */
    assert_int_equal(cfg->backup.binlog_sync_ms, 100);
    assert_string_equal(cfg->backup.user, "");
    assert_true(cfg->backup.server_id >= 0x80000000u); /* derived from instance_name */
    uint32_t derived = cfg->backup.server_id;
    config_put(cfg);
    cfg = load_ok(BASE "backup = { dir = \"/srv/archive\"; };\n");
    assert_int_equal(cfg->backup.server_id, derived); /* stable */
    config_put(cfg);
    static const struct {
        const char *text;
        int64_t s;
    } d[] = {{"0", 0}, {"90s", 90}, {"15m", 900}, {"36h", 129600}, {"2d", 172800}};
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 BASE "backup = { dir = \"/a\"; binlog_retention = \"%s\"; "
                      "server_id = 77; };\n",
                 d[i].text);
        cfg = load_ok(text);
        assert_int_equal(cfg->backup.retention_s, d[i].s);
        assert_int_equal(cfg->backup.server_id, 77);
        config_put(cfg);
    }
    /* the schedule and the copy: off by default; a window in minutes */
    cfg = load_ok(BASE "backup = { dir = \"/a\"; };\n");
    assert_int_equal(cfg->backup.full_every_s, 0);
    assert_int_equal(cfg->backup.full_window_from, -1);
    assert_int_equal(cfg->backup.full_max_age_s, 0);
    assert_string_equal(cfg->backup.copy_to_dir, "");
    assert_string_equal(cfg->backup.copy_command, "");
    config_put(cfg);
    cfg = load_ok(BASE "backup = { dir = \"/a\"; full_every = \"24h\"; full_window = "
                       "\"22:30-04:15\";\n full_max_age = \"36h\"; copy_to_dir = \"/b\"; };\n");
    assert_int_equal(cfg->backup.full_every_s, 86400);
    assert_int_equal(cfg->backup.full_window_from, 22 * 60 + 30);
    assert_int_equal(cfg->backup.full_window_to, 4 * 60 + 15);
    assert_int_equal(cfg->backup.full_max_age_s, 36 * 3600);
    assert_string_equal(cfg->backup.copy_to_dir, "/b");
    assert_int_equal(cfg->backup.copy_to_dir_line, 5);
    config_put(cfg);
    cfg = load_ok(BASE "backup = { dir = \"/a\"; copy_command = \"cp %f /c/\"; "
                       "copy_verify_command = \"test -f /c/x\"; };\n");
    assert_string_equal(cfg->backup.copy_command, "cp %f /c/");
    assert_string_equal(cfg->backup.copy_verify_command, "test -f /c/x");
    assert_string_equal(cfg->backup.verify_into, "");
    config_put(cfg);
    cfg = load_ok(BASE "backup = { dir = \"/a\"; verify_into = \"10.0.0.9:3306\"; };\n");
    assert_string_equal(cfg->backup.verify_into, "10.0.0.9:3306");
    config_put(cfg);
}

/* alerts.events lands per event type; the rest keep their own. */
static void test_alert_events(void **state)
{
    (void)state;
    struct config *cfg = load_ok(BASE "alerts = { events = ( { name = \"backend_lagging\"; "
                                      "repeat_ms = 600000; severity = \"info\"; },\n"
                                      "{ name = \"fenced\"; enabled = false; } ); };\n");
    const struct config_alerts *a = &cfg->alerts;
    assert_int_equal(a->n_events, 2);
    assert_int_equal(a->event_repeat_ms[EVENT_BACKEND_LAGGING], 600000);
    assert_int_equal(a->event_severity[EVENT_BACKEND_LAGGING], EVENT_INFO);
    assert_int_equal(a->event_repeat_ms[EVENT_FENCED], -1);
    assert_int_equal(a->event_severity[EVENT_FENCED], -1);
    assert_true(a->disabled_mask & (1ull << EVENT_FENCED));
    assert_false(a->disabled_mask & (1ull << EVENT_BACKEND_LAGGING));
    assert_int_equal(a->event_repeat_ms[EVENT_BACKEND_DOWN], -1);
    config_put(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = load_ok(BASE);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(cfg->workers, cores < 1 ? 1 : (cores > 256 ? 256 : cores));
    assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
    assert_string_equal(cfg->server_version, ""); /* the primary's greeting */
    assert_int_equal(cfg->connect_timeout_ms, 2000);
    assert_int_equal(cfg->login_timeout_ms, 5000);
    assert_int_equal(cfg->shutdown_timeout_ms, 10000);
    assert_int_equal(cfg->buffer_size, 16384);
    assert_int_equal(cfg->max_client_connections, 0);
    assert_string_equal(cfg->path, "t.conf");
    assert_false(cfg->failover_auto);
    assert_int_equal(cfg->failover_delay_ms, 1000);
    assert_int_equal(cfg->failover_write_wait_ms, 5000);
    assert_int_equal(cfg->switchover_timeout_ms, 10000);
    assert_false(cfg->auto_rejoin);
    assert_string_equal(cfg->replication_user, "");
    assert_string_equal(cfg->replication_password, "");

    assert_int_equal(cfg->n_listeners, 1);
    assert_string_equal(cfg->listeners[0].name, "main");
    assert_string_equal(cfg->listeners[0].address, "127.0.0.1");
    assert_int_equal(cfg->listeners[0].port, 6033);
    assert_int_equal(cfg->listeners[0].backlog, 1024);

    assert_int_equal(cfg->n_users, 1);
    assert_string_equal(cfg->users[0].name, "app");
    assert_false(cfg->users[0].no_password);
    static const uint8_t h2[MYSQL_SHA1_LEN] = {0x5B, 0xCB, 0x3E, 0x6A, 0xC3, 0x45, 0xB4,
                                               0x35, 0xC7, 0xC2, 0xE6, 0xB7, 0x94, 0x9A,
                                               0x04, 0xCE, 0x6F, 0x65, 0x63, 0xD3};
    assert_memory_equal(cfg->users[0].h2, h2, sizeof(h2));

    assert_int_equal(cfg->n_backends, 1);
    assert_string_equal(cfg->backends[0].name, "db1");
    assert_string_equal(cfg->backends[0].address, "127.0.0.1");
    assert_int_equal(cfg->backends[0].port, 3310);
    assert_int_equal(cfg->backends[0].role, ROLE_PRIMARY);
    assert_int_equal(cfg->backends[0].weight, 1);
    assert_int_equal(cfg->backends[0].max_connections, 0);
    config_put(cfg);
}

static void test_every_value(void **state)
{
    (void)state;
    struct config *cfg = load_ok(
        "workers = 3; log_level = \"warn\"; server_version = \"5.7.99-x\";\n"
        "connect_timeout_ms = 11; login_timeout_ms = 12; shutdown_timeout_ms = 13;\n"
        "buffer_size = 8192; max_client_connections = 14;\n"
        "listeners = ( " LST("\"a\"", "\"::1\"", "7001", "backlog = 15;") ", " LST(
            "\"b\"", "\"0.0.0.0\"", "7002",
            "") " );\n"
                "users = ( " U_OK ", " USR(
                    "\"nopw\"", "\"\"",
                    "") " );\n"
                        "backends = ( " BKD(
                            "\"r\"", "\"10.0.0.2\"", "3307", "\"replica\"",
                            "weight = 0; max_connections = 16;") ", " BKD("\"p\"", "\"10.0.0.1\"",
                                                                          "3306", "\"primary\"",
                                                                          "") " );\n");
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
    assert_string_equal(cfg->server_version, "5.7.99-x");
    assert_int_equal(cfg->connect_timeout_ms, 11);
    assert_int_equal(cfg->login_timeout_ms, 12);
    assert_int_equal(cfg->shutdown_timeout_ms, 13);
    assert_int_equal(cfg->buffer_size, 8192);
    assert_int_equal(cfg->max_client_connections, 14);
    assert_int_equal(cfg->n_listeners, 2);
    assert_string_equal(cfg->listeners[0].address, "::1");
    assert_int_equal(cfg->listeners[0].backlog, 15);
    assert_int_equal(cfg->listeners[1].port, 7002);
    assert_int_equal(cfg->listeners[1].backlog, 1024);
    assert_int_equal(cfg->n_users, 2);
    assert_true(cfg->users[1].no_password);
    assert_int_equal(cfg->n_backends, 2);
    assert_int_equal(cfg->backends[0].role, ROLE_REPLICA);
    assert_int_equal(cfg->backends[0].weight, 0);
    assert_int_equal(cfg->backends[0].max_connections, 16);
    assert_int_equal(cfg->backends[1].role, ROLE_PRIMARY);
    assert_int_equal(cfg->backends[1].weight, 1);

    const struct config_backend *p = config_primary(cfg);
    assert_non_null(p);
    assert_string_equal(p->name, "p");
    assert_string_equal(backend_role_to_str(ROLE_PRIMARY), "primary");
    assert_string_equal(backend_role_to_str(ROLE_REPLICA), "replica");

    /* Names are not NUL-terminated on the wire. */
    const char wire[] = "nopwXYZ";
    const struct config_user *u = config_find_user(cfg, wire, 4);
    assert_non_null(u);
    assert_string_equal(u->name, "nopw");
    assert_null(config_find_user(cfg, "ap", 2));
    assert_null(config_find_user(cfg, "apps", 4));
    assert_null(config_find_user(cfg, "APP", 3));
    assert_non_null(config_find_user(cfg, "app", 3));
    config_put(cfg);

    /* The config make install puts in /etc: valid as installed, in front
     * of the server on this machine, no password in it. */
    struct config_report rep;
    cfg = NULL;
    if (config_load_report("conf/halyard.production.conf", &cfg, &rep) != HY_OK)
        print_error("%s\n", rep.n_errors > 0 ? rep.errors[0].text : "?");
    assert_non_null(cfg);
    assert_int_equal(rep.n_errors, 0);
    assert_string_equal(config_primary(cfg)->address, "127.0.0.1");
    assert_int_equal(config_primary(cfg)->port, 3306);
    assert_int_equal(cfg->users_source, USERS_BACKENDS);
    assert_string_equal(cfg->monitor.password, "");
    assert_string_equal(cfg->admin_socket, "/run/halyard/admin.sock");
    config_report_free(&rep);
    config_put(cfg);
}

static void test_refcount(void **state)
{
    (void)state;
    struct config *cfg = load_ok(BASE);
    assert_ptr_equal(config_get(cfg), cfg);
    assert_ptr_equal(config_get(cfg), cfg);
    assert_int_equal(atomic_load(&cfg->refs), 3);
    config_put(cfg);
    config_put(cfg);
    assert_int_equal(atomic_load(&cfg->refs), 1);
    config_put(cfg); /* frees; LSan reports a leak otherwise */
    config_put(NULL);
}

/* The error buffer may be absent or tiny; nothing may overflow. */
static void test_error_buffer(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    assert_int_equal(config_load_string("workers = 999;\n" BASE, "t.conf", &cfg, NULL, 0),
                     HY_ERROR);
    char tiny[6];
    memset(tiny, 'x', sizeof(tiny));
    assert_int_equal(config_load_string("workers = 999;\n" BASE, "t.conf", &cfg, tiny, 6),
                     HY_ERROR);
    assert_string_equal(tiny, "t.con");
    assert_int_equal(config_load_string("workers = ;", "t.conf", &cfg, tiny, 6), HY_ERROR);
    assert_string_equal(tiny, "t.con");
    char err[256];
    assert_int_equal(config_load_string(NULL, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    assert_int_equal(config_load(NULL, &cfg, err, sizeof(err)), HY_ERROR);
    assert_null(cfg);
    /* With no name the messages still say where. */
    assert_int_equal(config_load_string("workers = 999;\n" BASE, NULL, &cfg, err, sizeof(err)),
                     HY_ERROR);
    assert_string_equal(err, "<string>:1: workers: 999 is out of range 0..256");
}

/* A key name longer than any buffer is cut, not overflowed. */
static void test_long_names(void **state)
{
    (void)state;
    char text[2048], err[256];
    char name[600];
    memset(name, 'k', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(text, sizeof(text), "%s = 1;\n" BASE, name);
    struct config *cfg = NULL;
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    assert_int_equal(strncmp(err, "t.conf:1: kkkk", 14), 0);
    snprintf(text, sizeof(text), "listeners = ( { %s = 1; } );\n" USERS BACKENDS, name);
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    assert_int_equal(strncmp(err, "t.conf:1: listeners.[0].kkkk", 28), 0);
    assert_null(cfg);
}

static void test_list_limits(void **state)
{
    (void)state;
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, USERS BACKENDS "listeners = (");
    for (int i = 0; i < 65; i++)
        n +=
            (size_t)snprintf(text + n, cap - n, "%s{ name = \"l%d\"; address = \"h\"; port = %d; }",
                             i ? ", " : "", i, 1000 + i);
    snprintf(text + n, cap - n, ");\n");
    struct config *cfg = NULL;
    char err[256];
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    assert_string_equal(err, "t.conf:3: listeners: has 65 elements, at most 64 allowed");

    /* 64 is fine, and the 64th lands where it should. */
    char *last = strrchr(text, '{');
    last[-2] = ')';
    last[-1] = ';';
    last[0] = '\0';
    cfg = load_ok(text);
    assert_int_equal(cfg->n_listeners, 64);
    assert_string_equal(cfg->listeners[63].name, "l63");
    assert_int_equal(cfg->listeners[63].port, 1063);
    config_put(cfg);
    free(text);
}

/* ---- the table itself ---- */

static const struct config_key *find_key(const char *path)
{
    for (size_t i = 0; i < config_n_keys; i++) {
        if (strcmp(config_keys[i].path, path) == 0)
            return &config_keys[i];
    }
    return NULL;
}

static void test_table(void **state)
{
    (void)state;
    assert_true(config_n_keys > 0);
    for (size_t i = 0; i < config_n_keys; i++) {
        const struct config_key *k = &config_keys[i];
        assert_non_null(k->desc);
        assert_null(strchr(k->desc, '\t'));
        assert_ptr_equal(find_key(k->path), k); /* unique */
        /* An element key's list is declared. */
        const char *el = strstr(k->path, ".[].");
        if (el != NULL) {
            char parent[128];
            snprintf(parent, sizeof(parent), "%.*s", (int)(el - k->path), k->path);
            const struct config_key *p = find_key(parent);
            assert_non_null(p);
            assert_int_equal(p->type, CONFIG_LIST);
        }
        if (k->def == NULL)
            continue;
        /* A default is valid under the key's own rules. */
        if (k->type == CONFIG_INT) {
            char *end;
            long long v = strtoll(k->def, &end, 0);
            assert_int_equal(*end, '\0');
            assert_true(v >= k->min && v <= k->max);
        }
        if (k->type == CONFIG_STRING && k->max > 0) {
            assert_true(strlen(k->def) >= (size_t)k->min);
            assert_true(strlen(k->def) <= (size_t)k->max);
        }
        if (k->choices != NULL) {
            char padded[128], def[64];
            snprintf(padded, sizeof(padded), "|%s|", k->choices);
            snprintf(def, sizeof(def), "|%s|", k->def);
            assert_non_null(strstr(padded, def));
        }
    }
}

static void test_dump_keys(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_dump_keys(f);
    fclose(f);

    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        assert_true(lines < config_n_keys);
        int tabs = 0;
        for (char *p = line; *p; p++)
            tabs += *p == '\t';
        assert_int_equal(tabs, 4);
        size_t plen = strlen(config_keys[lines].path);
        assert_int_equal(strncmp(line, config_keys[lines].path, plen), 0);
        assert_int_equal(line[plen], '\t');
        lines++;
    }
    assert_int_equal(lines, config_n_keys);
    free(buf);

    /* Spot checks of the columns. */
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_dump_keys(f);
    fclose(f);
    assert_non_null(strstr(buf, "workers\tint\t0\t0..256\t"));
    assert_non_null(strstr(buf, "log_level\tstring\tinfo\terror|warn|info|debug\t"));
    assert_non_null(strstr(buf, "server_version\tstring\t\tlength 0..60\t"));
    assert_non_null(strstr(buf, "listeners\tlist\t(required)\t1..64 elements\t"));
    assert_non_null(strstr(buf, "backends.[].port\tint\t(required)\t1..65535\t"));
    assert_non_null(strstr(buf, "users.[].password_hash\tstring\t(required)\t-\t"));
    free(buf);
}

/* ---- files ---- */

struct tmpdir {
    char path[64];
};

static void tmp_write(const char *dir, const char *name, const char *text, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int tmpdir_setup(void **state)
{
    struct tmpdir *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    snprintf(t->path, sizeof(t->path), "/tmp/halyard-test-config.XXXXXX");
    if (mkdtemp(t->path) == NULL) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int tmpdir_teardown(void **state)
{
    struct tmpdir *t = *state;
    DIR *d = opendir(t->path);
    if (d != NULL) {
        struct dirent *e;
        char path[320];
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", t->path, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    int rc = rmdir(t->path);
    free(t);
    return rc;
}

/* `path` holding BASE, then a comment padding it to `size` bytes, and a
 * NUL byte among them when `nul`. */
static void padded_file(const char *dir, const char *name, size_t size, bool nul, char *path,
                        size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    size_t base = strlen(BASE);
    assert_true(size > base + 2);
    char *text = malloc(size);
    assert_non_null(text);
    memcpy(text, BASE, base);
    memset(text + base, 'x', size - base);
    text[base] = '#';
    text[size - 1] = '\n';
    if (nul)
        text[base + 1] = '\0';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, size, f), size);
    fclose(f);
    free(text);
}

/* A file is read whole up to 16 MiB; one byte more, or a NUL byte, is
 * refused with the file's name and why. */
static void test_file_text(void **state)
{
    struct tmpdir *t = *state;
    char path[256], want[1024], err[1024];
    struct config *cfg = NULL;
    const size_t max = 16u << 20;

    padded_file(t->path, "max.conf", max, false, path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_OK);
    config_put(cfg);
    cfg = NULL;

    padded_file(t->path, "over.conf", max + 1, false, path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s: larger than 16777216 bytes", path);
    assert_string_equal(err, want);

    padded_file(t->path, "twice.conf", 2 * max + 5, false, path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s: larger than 16777216 bytes", path);
    assert_string_equal(err, want);

    padded_file(t->path, "nul.conf", 100000, true, path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s: contains a NUL byte; not a text file", path);
    assert_string_equal(err, want);
    unlink(path);
}

static void test_files(void **state)
{
    struct tmpdir *t = *state;
    char path[256], want[1024], err[1024];
    struct config *cfg = NULL;

    tmp_write(t->path, "ok.conf", "# sample\n" BASE, path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_OK);
    assert_string_equal(cfg->path, path);
    config_put(cfg);
    cfg = NULL;

    tmp_write(t->path, "range.conf", BASE "\nworkers = 999;\n", path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s:5: workers: 999 is out of range 0..256", path);
    assert_string_equal(err, want);

    tmp_write(t->path, "syntax.conf", BASE "workers = = 1;\n", path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s:4: syntax error, in: workers = = 1;", path);
    assert_string_equal(err, want);

    snprintf(path, sizeof(path), "%s/nonexistent.conf", t->path);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);

    assert_int_equal(config_load(t->path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s: cannot read: Is a directory", t->path);
    assert_string_equal(err, want);

    /* @include is refused before libconfig sees it: on a directory,
     * libconfig 1.5 would exit() the process. */
    tmp_write(t->path, "main.conf", BASE "@include \"/tmp\"\n", path, sizeof(path));
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want), "%s:4: @include is not supported", path);
    assert_non_null(strstr(err, want));

    /* 64 KiB of comments: the reader grows its buffer. */
    size_t big = 64 * 1024;
    char *text = malloc(big + sizeof(BASE));
    assert_non_null(text);
    memset(text, '.', big);
    for (size_t i = 0; i < big; i += 64) {
        text[i] = '#';
        text[i + 63] = '\n';
    }
    memcpy(text + big, BASE, sizeof(BASE));
    tmp_write(t->path, "big.conf", text, path, sizeof(path));
    free(text);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_OK);
    config_put(cfg);
    cfg = NULL;

    /* The replication password: first line of a file, or the environment. */
    char pwfile[256], text2[1024];
    tmp_write(t->path, "repl.pw", "s3cret\nignored\n", pwfile, sizeof(pwfile));
    snprintf(text2, sizeof(text2),
             BASE "replication_user = \"repl\";\nreplication_password_file = \"%s\";\n", pwfile);
    cfg = load_ok(text2);
    assert_string_equal(cfg->replication_user, "repl");
    assert_string_equal(cfg->replication_password, "s3cret");
    config_put(cfg);
    setenv("HALYARD_TEST_REPL_PW", "from-env", 1);
    cfg = load_ok(BASE "replication_user = \"repl\";\n"
                       "replication_password_env = \"HALYARD_TEST_REPL_PW\";\n");
    assert_string_equal(cfg->replication_password, "from-env");
    config_put(cfg);
    unsetenv("HALYARD_TEST_REPL_PW");
    cfg = NULL;

    /* Keys of backups at rest: 64 hex digits, mode 0600 checked. */
    char kf[256], kf2[256];
    tmp_write(t->path, "backup.key",
              "  00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n", kf,
              sizeof(kf));
    tmp_write(t->path, "old.key",
              "ff00000000000000000000000000000000000000000000000000000000000001", kf2, sizeof(kf2));
    assert_int_equal(chmod(kf, 0600), 0);
    assert_int_equal(chmod(kf2, 0400), 0);
    snprintf(text2, sizeof(text2),
             BASE "backup = { dir = \"/a\"; compression = \"zstd\";\n encryption_key_file = "
                  "\"%s\";\n decryption_key_files = [ \"%s\" ]; };\n",
             kf, kf2);
    cfg = load_ok(text2);
    assert_int_equal(cfg->backup.compression, 1);
    assert_int_equal(cfg->backup.n_keys, 2);
    assert_int_equal(cfg->backup.keys[0][0], 0x00);
    assert_int_equal(cfg->backup.keys[0][31], 0xff);
    assert_int_equal(cfg->backup.keys[1][0], 0xff);
    assert_int_equal(cfg->backup.keys[1][31], 0x01);
    config_put(cfg);
    cfg = NULL;
    assert_int_equal(chmod(kf, 0640), 0);
    snprintf(text2, sizeof(text2),
             BASE "backup = { dir = \"/a\";\n encryption_key_file = \"%s\"; };\n", kf);
    assert_int_equal(config_load_string(text2, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want),
             "t.conf:5: backup.encryption_key_file: %s has mode 0640: a key file must be "
             "readable by its owner alone (chmod 600 %s)",
             kf, kf);
    assert_string_equal(err, want);
    assert_int_equal(chmod(kf, 0600), 0);
    tmp_write(t->path, "short.key", "00112233\n", kf, sizeof(kf));
    assert_int_equal(chmod(kf, 0600), 0);
    snprintf(text2, sizeof(text2),
             BASE "backup = { dir = \"/a\";\n decryption_key_files = [ \"%s\" ]; };\n", kf);
    assert_int_equal(config_load_string(text2, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    snprintf(want, sizeof(want),
             "t.conf:5: backup.decryption_key_files: %s does not hold a 256-bit key as 64 hex "
             "digits (openssl rand -hex 32)",
             kf);
    assert_string_equal(err, want);
    cfg = load_ok(BASE "backup = { dir = \"/a\"; };\n");
    assert_int_equal(cfg->backup.compression, 0);
    assert_int_equal(cfg->backup.n_keys, 0);
    config_put(cfg);
    cfg = NULL;

    /* A binary file is refused, not half-read. */
    snprintf(path, sizeof(path), "%s/nul.conf", t->path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite("workers = 1;\0", 1, 13, f);
    fclose(f);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "contains a NUL byte"));
    assert_null(cfg);
}

/* The shipped configs load (tests run from the repository root). */
static void test_sample_config(void **state)
{
    (void)state;
    struct stat st;
    if (stat("conf/halyard.demo.conf", &st) != 0)
        skip();
    struct config *cfg = NULL;
    char err[512];
    if (config_load("conf/halyard.demo.conf", &cfg, err, sizeof(err)) != HY_OK)
        print_error("%s\n", err);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_backends, 3);
    assert_string_equal(config_primary(cfg)->name, "db1");
    assert_non_null(config_find_user(cfg, "app", 3));
    config_put(cfg);
}

/* ---- TLS keys: certificates made with the openssl CLI in a temp dir ---- */

static void tls_make(const char *dir)
{
    char cmd[1024];
    /* a CA, a certificate it signed (key "key.pem"), and a stranger's key */
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=ca 2>/dev/null && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout key.pem -out c.csr -subj /CN=127.0.0.1 2>/dev/null && "
             "openssl x509 -req -in c.csr -CA ca.pem -CAkey ca-key.pem -set_serial 2 -days 2 "
             "-out cert.pem 2>/dev/null && "
             "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-out other-key.pem 2>/dev/null && echo junk > junk.pem && rm c.csr",
             dir);
    assert_int_equal(system(cmd), 0);
}

static void tls_expect(const char *text, const char *expect)
{
    struct config *cfg = NULL;
    char err[768] = "";
    hy_status_t rc = config_load_string(text, "t.conf", &cfg, err, sizeof(err));
    if (expect == NULL) {
        if (rc != HY_OK)
            print_error("unexpected error: %s\n", err);
        assert_int_equal(rc, HY_OK);
        config_put(cfg);
        return;
    }
    if (rc == HY_OK || strstr(err, expect) == NULL)
        print_error("error:    %s\nexpected: %s\n", err, expect);
    assert_int_equal(rc, HY_ERROR);
    assert_non_null(strstr(err, expect));
    assert_null(strchr(err, '\n'));
}

static void test_tls_keys(void **state)
{
    struct tmpdir *t = *state;
    const char *d = t->path;
    char text[4096], want[1024];
    tls_make(d);

#define TLS_TEXT(...) snprintf(text, sizeof(text), __VA_ARGS__)
    /* client side: a full setup loads and builds a context */
    TLS_TEXT(
        "tls_cert = \"%s/cert.pem\";\ntls_key = \"%s/key.pem\";\ntls_ca = \"%s/ca.pem\";\n"
        "listeners = ( " LST(
            "\"main\"", "\"127.0.0.1\"", "6033",
            "require_tls = true;") " );\n"
                                   "users = ( " USR("\"app\"", "\"" HASH "\"",
                                                    "tls_subject = \"/CN=app\";") " );\n" BACKENDS,
        d, d, d);
    struct config *cfg = load_ok(text);
    assert_non_null(cfg->tls_server);
    assert_true(cfg->tls_verify_clients);
    assert_true(cfg->listeners[0].require_tls);
    assert_string_equal(cfg->users[0].tls_subject, "/CN=app");
    assert_int_equal(cfg->backends[0].tls, TLS_OFF);
    assert_null(cfg->backends[0].tls_ctx);
    config_put(cfg);

    TLS_TEXT("tls_cert = \"%s/cert.pem\";\n" BASE, d);
    tls_expect(text, "t.conf:1: tls_cert: tls_cert and tls_key go together");
    TLS_TEXT("\n\ntls_key = \"%s/key.pem\";\n" BASE, d);
    tls_expect(text, "t.conf:3: tls_key: tls_cert and tls_key go together");
    TLS_TEXT("tls_cert = \"%s/missing.pem\";\ntls_key = \"%s/key.pem\";\n" BASE, d, d);
    snprintf(want, sizeof(want), "t.conf:1: tls_cert: cannot load certificate \"%s/missing.pem\"",
             d);
    tls_expect(text, want);
    TLS_TEXT("tls_cert = \"%s/junk.pem\";\ntls_key = \"%s/key.pem\";\n" BASE, d, d);
    snprintf(want, sizeof(want), "t.conf:1: tls_cert: cannot load certificate \"%s/junk.pem\"", d);
    tls_expect(text, want);
    TLS_TEXT("tls_cert = \"%s/cert.pem\";\ntls_key = \"%s/other-key.pem\";\n" BASE, d, d);
    snprintf(want, sizeof(want),
             "t.conf:2: tls_key: private key \"%s/other-key.pem\" does not match the certificate",
             d);
    tls_expect(text, want);
    TLS_TEXT(
        "tls_cert = \"%s/cert.pem\";\ntls_key = \"%s/key.pem\";\ntls_ca = \"%s/junk.pem\";\n" BASE,
        d, d, d);
    snprintf(want, sizeof(want), "t.conf:3: tls_ca: cannot load CA certificates \"%s/junk.pem\"",
             d);
    tls_expect(text, want);
    TLS_TEXT(
        "tls_cert = \"%s/cert.pem\";\ntls_key = \"%s/key.pem\";\ntls_ciphers = \"NOPE\";\n" BASE, d,
        d);
    tls_expect(text, "t.conf:3: tls_ciphers: no usable cipher in the list");
    tls_expect("tls_min_version = \"TLSv1.1\";\n" BASE,
               "t.conf:1: tls_min_version: \"TLSv1.1\" is not one of TLSv1.2|TLSv1.3");
    TLS_TEXT("tls_ca = \"%s/ca.pem\";\n" BASE, d);
    tls_expect(text,
               "t.conf:1: tls_ca: client certificates need TLS: set tls_cert and tls_key too");
    tls_expect(WITH_L(LST("\"main\"", "\"127.0.0.1\"", "6033", "require_tls = true;")),
               "t.conf: listeners.[0].require_tls: needs TLS: set tls_cert and tls_key");
    tls_expect(WITH_U(USR("\"app\"", "\"" HASH "\"", "require_tls = true;")),
               "t.conf: users.[0].require_tls: needs TLS: set tls_cert and tls_key");
    TLS_TEXT("tls_cert = \"%s/cert.pem\";\ntls_key = \"%s/key.pem\";\n" LISTENERS "users = ( " USR(
                 "\"app\"", "\"" HASH "\"", "tls_subject = \"/CN=app\";") " );\n" BACKENDS,
             d, d);
    tls_expect(text, "t.conf: users.[0].tls_subject: needs tls_ca");

    /* backend side */
    TLS_TEXT("backend_tls = \"verify-full\";\nbackend_tls_ca = \"%s/ca.pem\";\n"
             "backends = ( " B_OK
             ", " BKD("\"db2\"", "\"h\"", "2", "\"replica\"", "tls = \"off\";") ", " BKD(
                 "\"db3\"", "\"h\"", "3", "\"replica\"",
                 "tls = \"on\"; tls_ca = \"\";") " );\n" LISTENERS USERS,
             d);
    cfg = load_ok(text);
    assert_int_equal(cfg->backends[0].tls, TLS_VERIFY_FULL);
    assert_non_null(cfg->backends[0].tls_ctx);
    assert_int_equal(cfg->backends[1].tls, TLS_OFF);
    assert_null(cfg->backends[1].tls_ctx);
    assert_int_equal(cfg->backends[2].tls, TLS_ON);
    assert_non_null(cfg->backends[2].tls_ctx);
    config_put(cfg);

    tls_expect("backend_tls = \"verify-ca\";\n" BASE,
               "t.conf:1: backend_tls: verify-ca for backend \"db1\" needs the CA that signed its "
               "certificate");
    tls_expect(WITH_B(BKD("\"db1\"", "\"h\"", "1", "\"primary\"", "tls = \"verify-full\";")),
               "t.conf:1: backends.[0].tls: verify-full for backend \"db1\" needs the CA");
    tls_expect("backend_tls = \"sometimes\";\n" BASE,
               "t.conf:1: backend_tls: \"sometimes\" is not one of off|on|verify-ca|verify-full");
    TLS_TEXT("backend_tls = \"on\";\n\nbackend_tls_ca = \"%s/missing.pem\";\n" BASE, d);
    snprintf(want, sizeof(want),
             "t.conf:3: backend_tls_ca: cannot load CA certificates \"%s/missing.pem\"", d);
    tls_expect(text, want);
    TLS_TEXT("backends = ( " BKD(
                 "\"db1\"", "\"h\"", "1", "\"primary\"",
                 "tls = \"verify-ca\"; tls_ca = \"%s/junk.pem\";") " );\n" LISTENERS USERS,
             d);
    snprintf(want, sizeof(want),
             "t.conf:1: backends.[0].tls_ca: cannot load CA certificates \"%s/junk.pem\"", d);
    tls_expect(text, want);
    TLS_TEXT("backend_tls = \"on\";\nbackend_tls_cert = \"%s/cert.pem\";\n" BASE, d);
    tls_expect(text, "t.conf:2: backend_tls_cert: a client certificate and its key go together");
    TLS_TEXT("backend_tls = \"on\";\nbackend_tls_cert = \"%s/cert.pem\";\n"
             "backend_tls_key = \"%s/other-key.pem\";\n" BASE,
             d, d);
    tls_expect(text, "t.conf:3: backend_tls_key: private key");
    /* files are not read for backends without TLS */
    TLS_TEXT("backend_tls_ca = \"%s/missing.pem\";\n" BASE, d);
    tls_expect(text, NULL);
#undef TLS_TEXT
}

int main(void)
{
    struct CMUnitTest tests[HY_ARRAY_SIZE(cases) + 14];
    size_t n = 0;
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        tests[n++] = (struct CMUnitTest){.name = cases[i].name,
                                         .test_func = run_case,
                                         .setup_func = NULL,
                                         .teardown_func = NULL,
                                         .initial_state = (void *)&cases[i]};
    }
    const struct CMUnitTest more[] = {
        cmocka_unit_test(test_alert_events),
        cmocka_unit_test(test_backup_section),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_value),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_list_limits),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_dump_keys),
        cmocka_unit_test_setup_teardown(test_files, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_text, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_tls_keys, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_sample_config),
    };
    _Static_assert(HY_ARRAY_SIZE(more) == 14, "tests[] is sized for 14 more");
    for (size_t i = 0; i < HY_ARRAY_SIZE(more); i++)
        tests[n++] = more[i];
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
