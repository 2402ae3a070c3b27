"""Texts of several statements inside START TRANSACTION READ ONLY, which
halyard runs on a replica: each answered as the server answers it, its
status flags too (found by tools/server-check's multi-statement steps,
2026-11-29), run through halyard and directly on the primary.
"""

import pytest

from rawmysql import CLIENT_MULTI_STATEMENTS, DEFAULT_CAPS, MySQLError, RawConn
from util import APP_PASSWORD, APP_USER, schema_with_table


def login(port):
    c = RawConn("127.0.0.1", port, timeout=10)
    c.login(APP_USER, APP_PASSWORD, caps=DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS)
    return c


def answer(c, sql):
    """Each result's ('ok', flags) or ('rows', rows, flags), or the error."""
    try:
        return [("ok", r.status & 0x2003) if not r.columns else ("rows", r.rows, r.status & 0x2003)
                for r in c.query(sql)]
    except MySQLError as e:
        return [("error", e.code, e.sqlstate)]


# tools/server-check's texts of several statements (MULTI), on this test's table
TEXTS = [
    "INSERT INTO hy_rt.tt (v) VALUES (1); SELECT LAST_INSERT_ID()",
    "INSERT INTO hy_rt.t (v) VALUES (3); SELECT LAST_INSERT_ID() > 0; SELECT ROW_COUNT()",
    "CREATE TEMPORARY TABLE IF NOT EXISTS hy_rt.tt (id INT AUTO_INCREMENT PRIMARY KEY, v INT); "
    "INSERT INTO hy_rt.tt (v) VALUES (2); SELECT COUNT(*), LAST_INSERT_ID() FROM hy_rt.tt",
    "BEGIN; UPDATE hy_rt.t SET v = v + 1 WHERE id = 1; SELECT @@in_transaction; COMMIT",
    "SELECT v FROM hy_rt.t WHERE id = 2; COMMIT; SELECT @@in_transaction",
    "ROLLBACK; SELECT @@in_transaction; UPDATE hy_rt.t SET v = v + 1 WHERE id = 1",
    "SELECT SQL_CALC_FOUND_ROWS id FROM hy_rt.t LIMIT 1; SELECT FOUND_ROWS()",
    "UPDATE hy_rt.t SET v = v + 1 WHERE id = 1; SELECT ROW_COUNT(); SELECT FOUND_ROWS()",
    "SET @p = 2; EXECUTE hy_rt USING @p; DEALLOCATE PREPARE hy_rt",
    "SELECT LAST_INSERT_ID(7); SELECT LAST_INSERT_ID(), @@last_insert_id",
    "DO 1 / 0; SHOW WARNINGS; SELECT @@warning_count",
    "SELECT GET_LOCK('hy_rt_l{port}', 0) AS got; SELECT IS_FREE_LOCK('hy_rt_l{port}') AS free",
]

# ... and those that set session state halyard does not read back from a
# text there: refused whole (1235, compatibility.md), the transaction going on;
# an SQL PREPARE too (its statement would live on the transaction's replica,
# and the session's EXECUTEs after it run on the primary: since 2026-11-30)
REFUSED = [
    "PREPARE hy_rt FROM 'SELECT ? + 1 AS n'; EXECUTE hy_rt USING 5",
    "PREPARE hy_rt FROM 'SELECT ? + 1 AS n, @v AS v'; EXECUTE hy_rt USING 5",
    "SELECT @v; SET @v = @v + 1; SELECT @v",
    "SET @v = 9; SELECT @v",
    "SELECT 1; SET time_zone = '+01:00'; SELECT @@time_zone",
    "SELECT id FROM hy_rt.t WHERE id < 10; SET sql_select_limit = 3; SELECT id FROM hy_rt.t",
]


def run(halyard, cluster, text):
    schema_with_table(cluster, "hy_rt", "v INT NOT NULL DEFAULT 0")
    cluster.sql(0, "INSERT IGNORE INTO hy_rt.t (id) VALUES (1), (2)")
    cluster.sync()
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            out.append([answer(c, sql) for sql in (
                "START TRANSACTION READ ONLY", "SELECT v FROM hy_rt.t WHERE id = 2", text.format(port=port),
                "SELECT @@in_transaction, @@tx_read_only", "COMMIT",
                "SELECT @@in_transaction")])
        finally:
            c.close()
    return out


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_in_a_read_only_transaction(halyard, cluster, text):
    """Found by tools/server-check (--with-known, 2026-11-29), fixed since:
    `BEGIN; UPDATE ...` refused whole with 1792, where the server commits
    the read-only transaction at the BEGIN and runs the rest; `SELECT ...;
    COMMIT; SELECT ...` run on the primary, its reads before the COMMIT
    answered as outside the transaction."""
    h, d = run(halyard, cluster, text)
    assert h == d, (h, d)


@pytest.mark.parametrize("text", REFUSED)
def test_a_text_setting_state_in_a_read_only_transaction_is_refused(halyard, cluster, text):
    """Refused before it runs, as compatibility.md says; the transaction
    goes on as on the server, where the text ran."""
    h, d = run(halyard, cluster, text)
    assert h[2] == [("error", 1235, "42000")]
    assert h[:2] + h[3:] == d[:2] + d[3:], (h, d)  # the transaction went on
