"""Session state changed inside a transaction (issue 41, item 9).

A replay brings the session's state, as it is at the time of the replay,
onto the new connection before it runs the transaction's statements. A
`SET` (or a `USE`) inside the transaction changed that state after the
statements before it ran: run again, they would run under the new value (a
TIMESTAMP literal stored as another instant, a row written into another
schema's table). Such a transaction is not replayable: the client's next
statement gets 1927, as without transaction_replay, and nothing of it is
committed.

    SET time_zone = '+00:00'; BEGIN; INSERT of a TIMESTAMP literal;
    SET time_zone = '+05:00'; the primary killed; a read; COMMIT
    USE rb; BEGIN; INSERT into an unqualified table; USE rb2; the primary
    killed; a read; COMMIT

Each is first run directly on the primary, where the row holds the first
value (the instant 2026-01-01 00:00 UTC; the table of rb).
"""
import pymysql
import pytest

from test_replay_bounds import failed_over_in_transaction, fresh

CASES = {
    "time_zone": (["SET time_zone = '+00:00'", "BEGIN",
                   "INSERT INTO rb.ts VALUES (1, '2026-01-01 00:00:00')",
                   "SET time_zone = '+05:00'"],
                  "SELECT UNIX_TIMESTAMP(t) FROM rb.ts", [(1767225600,)]),
    "schema": (["USE rb", "BEGIN", "INSERT INTO ts VALUES (1, NULL)", "USE rb2"],
               "SELECT 'rb', id FROM rb.ts UNION ALL SELECT 'rb2', id FROM rb2.ts",
               [("rb", 1)]),
}


def tables(cluster):
    fresh(cluster)
    for db in ("rb", "rb2"):
        cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {db}")
        cluster.sql(0, f"DROP TABLE IF EXISTS {db}.ts")
        cluster.sql(0, f"CREATE TABLE {db}.ts (id INT PRIMARY KEY, t TIMESTAMP NULL)"
                       " ENGINE=InnoDB")
    cluster.sync()


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_transaction_that_changed_the_session_s_state_is_not_replayed(
        cluster, start_halyard, tmp_path, case):
    stmts, check, want = CASES[case]
    tables(cluster)
    direct = pymysql.connect(**cluster.conn_params(0, autocommit=True))
    with direct.cursor() as cur:
        for q in stmts + ["COMMIT"]:
            cur.execute(q)
    direct.close()
    assert [tuple(r) for r in cluster.sql(0, check)] == want  # directly
    tables(cluster)
    h, c, cur = failed_over_in_transaction(cluster, start_halyard, tmp_path, stmts)
    try:
        try:
            cur.execute("SELECT 1 FROM rb.t")  # a replay would run first
            cur.execute("COMMIT")
        except pymysql.MySQLError as e:
            assert e.args[0] == 1927, e.args
        else:
            pytest.fail(f"replayed: {h.sql(f'/* halyard: primary */ {check}')} where directly {want}")
    finally:
        c.close()
    # lost with the old primary, not run again on the new one
    assert h.sql(f"/* halyard: primary */ {check}") == []
