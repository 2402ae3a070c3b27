/*
 * test_session_err.c: the one table of the ERRs a session sends of its own
 * (session_err.h). Each reason, with its call site's arguments, gives the
 * code, SQLSTATE and text MariaDB (or halyard, for backends) gives clients:
 * the packets are decoded back with mysql_err_decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session_err.h"

static void assert_err(const uint8_t *pkt, size_t n, uint8_t seq, uint16_t code,
                       const char *sqlstate, const char *msg)
{
    assert_true(n > MYSQL_HEADER_SIZE);
    assert_int_equal(mysql_hdr_len(pkt), n - MYSQL_HEADER_SIZE);
    assert_int_equal(mysql_hdr_seq(pkt), seq);
    struct mysql_err e;
    assert_int_equal(mysql_err_decode(pkt + MYSQL_HEADER_SIZE, n - MYSQL_HEADER_SIZE, &e), HY_OK);
    assert_int_equal(e.code, code);
    assert_memory_equal(e.sqlstate, sqlstate, 5);
    assert_int_equal(e.msg_len, strlen(msg));
    assert_memory_equal(e.msg, msg, e.msg_len);
}

#define CHECK(seq, code, state, msg, ...)                                                          \
    do {                                                                                           \
        uint8_t pkt[700];                                                                          \
        size_t n = session_err_encode(pkt, sizeof(pkt), seq, __VA_ARGS__);                         \
        assert_err(pkt, n, seq, code, state, msg);                                                 \
    } while (0)

static void test_table(void **state)
{
    (void)state;
    CHECK(0, 1040, "08004", "Too many connections", SERR_TOO_MANY);
    CHECK(0, 1129, "HY000",
          "Host '10.0.0.7' is blocked because of many connection errors; unblock with "
          "'halyardctl unblock 10.0.0.7'",
          SERR_HOST_BLOCKED, "10.0.0.7", "10.0.0.7");
    CHECK(2, 1043, "08S01", "Bad handshake", SERR_BAD_HANDSHAKE);
    CHECK(2, 1045, "28000", "Access denied for user 'app'@'127.0.0.1' (using password: YES)",
          SERR_ACCESS_DENIED, 3, "app", "127.0.0.1", "YES");
    CHECK(2, 1226, "42000",
          "User 'app' has exceeded the 'max_user_connections' resource (current value: 2)",
          SERR_USER_LIMIT, "app", 2);
    CHECK(1, 4031, "HY000",
          "The client was disconnected by the server because of inactivity. See wait_timeout "
          "and interactive_timeout for configuring this behavior.",
          SERR_IDLE_TIMEOUT);
    CHECK(1, 1156, "08S01", "Got packets out of order", SERR_PACKETS_OUT_OF_ORDER);
    CHECK(1, 1047, "08S01", "Unknown command", SERR_UNKNOWN_COMMAND);
    CHECK(1, 1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes",
          SERR_PACKET_TOO_LARGE);
    CHECK(1, 1047, "08S01", "Malformed COM_CHANGE_USER packet", SERR_BAD_CHANGE_USER);
    CHECK(1, 1047, "08S01", "COM_CHANGE_USER packet too large", SERR_CHANGE_USER_TOO_LARGE);
    CHECK(1, 1235, "42000",
          "halyard does not forward COM_BINLOG_DUMP: connect to the server "
          "directly",
          SERR_NOT_FORWARDED, "COM_BINLOG_DUMP");
    CHECK(1, 1094, "HY000", "Unknown thread id: 1073741830", SERR_NO_SUCH_THREAD, 1073741830u);
    CHECK(1, 1095, "HY000", "You are not owner of thread 1073741830", SERR_KILL_DENIED,
          1073741830u);
    CHECK(1, 1429, "HY000", "No primary available: backend 'db1' is DOWN (x)", SERR_NO_BACKEND,
          "No primary available: backend 'db1' is DOWN (x)");
    CHECK(1, 1429, "HY000", "No replica can serve this read (replica_fallback = error)",
          SERR_NO_REPLICA);
    CHECK(1, 1429, "HY000", "No primary available within failover_write_wait_ms (3000 ms)",
          SERR_NO_PRIMARY_IN_TIME, 3000, "", "");
    CHECK(1, 1429, "HY000", "Can't connect to backend 'db1' (127.0.0.1:3306): connect timed out",
          SERR_CANT_CONNECT, "db1", "127.0.0.1", 3306, "connect timed out");
    CHECK(3, 1927, "70100", "Lost connection to backend 'db2' during query", SERR_BACKEND_LOST,
          "db2", "query");
    CHECK(1, 1927, "70100",
          "Lost connection to backend 'db2' during the transaction; it was rolled back",
          SERR_TRX_LOST, "db2");
    CHECK(1, 1927, "70100",
          "Lost connection to backend 'db2' during the transaction; it was rolled back, except "
          "its changes to non-transactional tables (MyISAM, Aria...), which stay",
          SERR_TRX_LOST_NONTRX, "db2");
    CHECK(1, 1927, "70100",
          "Lost connection to backend 'db2' during the transaction; it was rolled back, except "
          "any change it made to a non-transactional table (MyISAM, Aria...), which stays",
          SERR_TRX_LOST_MAYBE_NONTRX, "db2");
    CHECK(3, 1927, "70100", "Connection was killed", SERR_KILLED);
    CHECK(4, 1927, "70100", "Backend 'db2' broke the protocol answering COM_QUERY",
          SERR_ANSWER_ABANDONED, "Backend 'db2' broke the protocol answering COM_QUERY");
    CHECK(1, 1142, "42000",
          "statement blocked by halyard firewall: not in the allow-list of user 'app'",
          SERR_FIREWALL, "app");
}

static void test_every_row_filled(void **state)
{
    (void)state;
    for (int i = 0; i < SERR__COUNT; i++) {
        assert_true(session_err_table[i].code >= 1000);
        assert_int_equal(strlen(session_err_table[i].sqlstate), 5);
        assert_non_null(session_err_table[i].fmt);
    }
}

static void test_custom_and_limits(void **state)
{
    (void)state;
    uint8_t pkt[700];
    size_t n = session_err_encode_custom(pkt, sizeof(pkt), 1, 1142, "42000", "blocked by rule");
    assert_err(pkt, n, 1, 1142, "42000", "blocked by rule");
    /* no room: nothing, never a cut packet */
    assert_int_equal(session_err_encode(pkt, 10, 1, SERR_TOO_MANY), 0);
    assert_int_equal(session_err_encode(pkt, sizeof(pkt), 1, SERR__COUNT), 0);
    /* a long argument is cut at 511 bytes of message, as MariaDB's 512 */
    char longwhy[900];
    memset(longwhy, 'x', sizeof(longwhy) - 1);
    longwhy[sizeof(longwhy) - 1] = '\0';
    n = session_err_encode(pkt, sizeof(pkt), 1, SERR_NO_BACKEND, longwhy);
    struct mysql_err e;
    assert_int_equal(mysql_err_decode(pkt + MYSQL_HEADER_SIZE, n - MYSQL_HEADER_SIZE, &e), HY_OK);
    assert_int_equal(e.msg_len, 511);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_every_row_filled),
        cmocka_unit_test(test_custom_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
