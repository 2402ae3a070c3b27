"""An error halyard answers a statement with itself (a refusal by key, a
refusal of a transaction crossing groups, a rule's block...) is the
session's diagnostics area afterwards, as the error of a server that ran
the statement would be: SHOW WARNINGS and SHOW ERRORS list it alone,
@@warning_count and @@error_count are 1, GET DIAGNOSTICS reads it, until a
statement that reaches a backend replaces it. Before, SHOW WARNINGS went to
the session's connection and listed an older statement's warnings.

Each sequence is also run on a server directly, with an error the server
raises itself in place of halyard's, and the answers compared.
The groups and tables are test_key_shards.py's (customer 8 on a, 7 on b).
"""
import struct

import pymysql

from rawmysql import MySQLError, RawConn
from test_key_shards import keyed  # noqa: F401 (fixture)
from test_shards import refused
from util import APP_PASSWORD, APP_USER, rows


def area(cur):
    """What a client can read of the diagnostics area, each form once (each
    keeps the area as it is)."""
    got = {
        "warnings": rows(cur, "SHOW WARNINGS"),
        "errors": rows(cur, "SHOW ERRORS"),
        "count": rows(cur, "SHOW COUNT(*) WARNINGS") + rows(cur, "SHOW COUNT(*) ERRORS"),
        "vars": rows(cur, "SELECT @@warning_count, @@error_count"),
    }
    # GET DIAGNOSTICS assigns user variables halyard does not follow: read
    # in the same request (a multi-statement), on the same connection
    got["number"] = multi(cur, "GET DIAGNOSTICS @n = NUMBER; SELECT @n")
    if got["number"][0][0]:
        got["cond"] = multi(cur, "GET DIAGNOSTICS CONDITION 1 @c = MYSQL_ERRNO, "
                                 "@m = MESSAGE_TEXT, @s = RETURNED_SQLSTATE; SELECT @c, @m, @s")
    return got


def multi(cur, sql):
    cur.execute(sql)
    assert cur.nextset()
    return [tuple(r) for r in cur.fetchall()]


MULTI = pymysql.constants.CLIENT.MULTI_STATEMENTS


def one_error(code, msg, state="HY000"):
    return {"warnings": [("Error", code, msg)], "errors": [("Error", code, msg)],
            "count": [(1,), (1,)], "vars": [(1, 1)], "number": [(1,)],
            "cond": [(code, msg, state)]}


def direct(cluster):
    return cluster.connect(0, database="shop", autocommit=True, client_flag=MULTI)


def test_a_refusal_by_key_is_the_diagnostics(keyed, cluster):
    h, _, _ = keyed
    c = h.connect(client_flag=MULTI)
    with c.cursor() as cur:
        # a warning of a statement on one group first: the area is that
        cur.execute("SELECT CAST('x' AS SIGNED)")
        assert rows(cur, "SHOW WARNINGS")[0][1] == 1292
        code, msg = refused(cur, "UPDATE shop.orders SET amount = 1")
        assert code == 1105 and "customer_id" in msg
        assert area(cur) == one_error(1105, msg)
        # statements that keep the area (no table, nothing raised) keep it
        cur.execute("SELECT 1")
        cur.execute("SET @x = 2")
        assert rows(cur, "SHOW WARNINGS") == [("Error", 1105, msg)]
        # one that uses a table replaces it, as on a server
        cur.execute("SELECT id FROM shop.orders WHERE customer_id = 8")
        assert area(cur) == {"warnings": [], "errors": [], "count": [(0,), (0,)],
                             "vars": [(0, 0)], "number": [(0,)]}
        # a warning raised after the refusal replaces it too
        refused(cur, "DELETE FROM shop.orders")
        cur.execute("SELECT CAST('y' AS SIGNED)")
        w = rows(cur, "SHOW WARNINGS")
        assert [x[:2] for x in w] == [("Warning", 1292)], w
    # The same sequence on a server, its own error in place of the refusal
    d = direct(cluster)
    with d.cursor() as cur:
        cur.execute("SELECT CAST('x' AS SIGNED)")
        code, smsg = refused(cur, "SELECT nope FROM shop.orders")
        assert area(cur) == one_error(code, smsg, "42S22")
        cur.execute("SELECT 1")
        cur.execute("SET @x = 2")
        assert rows(cur, "SHOW WARNINGS") == [("Error", code, smsg)]


def test_a_refused_crossing_in_a_transaction_is_the_diagnostics(keyed):
    h, _, _ = keyed
    c = h.connect(client_flag=MULTI)
    with c.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (31, 8)")  # a
        cur.execute("SELECT CAST('x' AS SIGNED)")
        code, msg = refused(cur, "INSERT INTO shop.orders (id, customer_id) VALUES (32, 7)")
        assert code != 0
        assert area(cur) == one_error(code, msg)
        # the transaction is still open on a, and goes on
        assert rows(cur, "SELECT COUNT(*) FROM shop.orders WHERE customer_id = 8") == [(1,)]
        cur.execute("ROLLBACK")


def test_a_statement_that_keeps_the_area_after_a_scatter_then_a_refusal(keyed):
    """The area halyard keeps after a statement on every group (session_diag.c)
    and the one it keeps for its own error take turns."""
    h, _, _ = keyed
    c = h.connect(client_flag=MULTI)
    with c.cursor() as cur:
        cur.execute("SELECT id, amount / 0 FROM shop.orders WHERE id IN (1, 2, 3)")
        cur.fetchall()
        code, msg = refused(cur, "DELETE FROM shop.orders")
        # every form, GET DIAGNOSTICS too (refused while the fan-out's
        # conditions are halyard's)
        assert area(cur) == one_error(code, msg)
        cur.execute("SELECT id FROM shop.orders WHERE customer_id = 7")  # replaces it
        assert rows(cur, "SHOW WARNINGS") == []
        code2, msg2 = refused(cur, "UPDATE shop.orders SET amount = 2")
        assert area(cur) == one_error(code2, msg2)


def com_sequence(port):
    """A warning, then commands halyard answers itself for an unknown
    statement id (as MariaDB does, 1243), each followed by SHOW WARNINGS."""
    out = []
    with RawConn("127.0.0.1", port) as r:
        r.login(APP_USER, APP_PASSWORD, db="shop")
        for cmd, arg in ((0x17, struct.pack("<IBI", 999, 0, 1)),  # COM_STMT_EXECUTE
                         (0x1A, struct.pack("<I", 999)),          # COM_STMT_RESET
                         (0x1C, struct.pack("<II", 999, 1))):     # COM_STMT_FETCH
            r.query("SELECT CAST('x' AS SIGNED)")
            try:
                r.command(cmd, arg)
                out.append("no error")
            except MySQLError as e:
                out.append(str(e))
            out.append([res.rows for res in r.query("SHOW WARNINGS")])
    return out


def test_commands_halyard_answers_as_the_server(keyed, cluster):
    """COM_STMT_EXECUTE, COM_STMT_RESET and COM_STMT_FETCH of an unknown
    statement: halyard answers them itself (the statement is not on any
    backend); the server makes such an error its diagnostics (checked on
    10.11), and so does halyard now. The same sequence directly on a
    server gives the same answers."""
    h, _, _ = keyed
    got = com_sequence(h.port)
    assert got == com_sequence(cluster.nodes[0]["port"]), got
    assert got[1] == [[("Error", "1243", "Unknown prepared statement handler (999) given to "
                        "mysqld_stmt_execute")]], got
