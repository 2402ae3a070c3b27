"""The diagnostics of a statement that ran on every group (issue 15):
SHOW WARNINGS, SHOW ERRORS, SHOW COUNT(*) WARNINGS, @@warning_count and
@@error_count after a scatter read or an every-group write tell that
statement's conditions, from every group, as one server holding all the
rows would; not those of an earlier statement that ran on one group.

The groups and tables are test_key_shards.py's: shop.orders hashed by
customer_id over a and b (customer 8 on a, 7 on b).
"""
import pymysql

import rawmysql
from rawmysql import RawConn
from test_key_shards import keyed  # noqa: F401 (fixture)
from test_shards import refused
from util import APP_PASSWORD, APP_USER, rows


def fill(h):
    c = h.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (1, 8, 10)")
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (2, 7, 20)")
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (3, 7, 30)")
    return c


def test_warnings_after_a_scatter_read_are_its_own(keyed):
    h, _, _ = keyed
    c = fill(h)
    with c.cursor() as cur:
        # a warning of a statement on one group first
        cur.execute("SELECT CAST('x' AS SIGNED)")
        assert rows(cur, "SHOW WARNINGS")[0][1] == 1292
        # a scatter read without conditions: nothing to show
        assert sorted(rows(cur, "SELECT id FROM shop.orders WHERE id IN (1, 2, 3)")) == \
            [(1,), (2,), (3,)]
        assert rows(cur, "SHOW WARNINGS") == []
        assert rows(cur, "SELECT @@warning_count") == [(0,)]
        # a scatter read whose rows each warn: every group's warnings, in
        # group order (a's first), counted in the answer too
        cur.execute("SELECT id, amount / 0 FROM shop.orders WHERE id IN (1, 2, 3) ORDER BY id")
        assert cur.fetchall() == ((1, None), (2, None), (3, None))
        assert c._result.warning_count == 3  # the count the answer carried
        w = rows(cur, "SHOW WARNINGS")
        assert w == [("Warning", 1365, "Division by 0")] * 3, w
        assert rows(cur, "SHOW COUNT(*) WARNINGS") == [(3,)]
        assert rows(cur, "SELECT @@warning_count") == [(3,)]
        assert rows(cur, "SELECT @@session.warning_count") == [(3,)]
        assert rows(cur, "SHOW WARNINGS LIMIT 1") == [("Warning", 1365, "Division by 0")]
        assert rows(cur, "SHOW WARNINGS LIMIT 1, 5") == [("Warning", 1365, "Division by 0")] * 2
        assert rows(cur, "SHOW ERRORS") == []
        assert rows(cur, "SELECT @@error_count") == [(0,)]
        # a statement that keeps the diagnostics (no table, nothing raised)
        cur.execute("SELECT 1")
        cur.execute("SET @x = 1")
        assert rows(cur, "SHOW COUNT(*) WARNINGS") == [(3,)]
        # a statement on one group with a table clears them, as on a server
        cur.execute("SELECT id FROM shop.orders WHERE customer_id = 8")
        assert rows(cur, "SHOW WARNINGS") == []


def test_an_error_of_a_scatter_read_is_the_diagnostics(keyed):
    h, _, _ = keyed
    c = fill(h)
    with c.cursor() as cur:
        cur.execute("SELECT CAST('x' AS SIGNED)")
        try:
            cur.execute("SELECT nope FROM shop.orders")
            raise AssertionError("no error")
        except pymysql.err.OperationalError as e:
            assert e.args[0] == 1054
        w = rows(cur, "SHOW WARNINGS")
        assert len(w) == 1 and w[0][:2] == ("Error", 1054), w
        assert rows(cur, "SHOW ERRORS") == w
        assert rows(cur, "SHOW COUNT(*) ERRORS") == [(1,)]
        assert rows(cur, "SELECT @@error_count") == [(1,)]


def test_warnings_after_a_write_on_every_group(keyed):
    h, _, _ = keyed
    c = fill(h)
    with c.cursor() as cur:
        cur.execute("SELECT CAST('x' AS SIGNED)")
        # a multi-row INSERT split over both groups, a truncation on each
        cur.execute("INSERT IGNORE INTO shop.orders (id, customer_id, amount) "
                    "VALUES (11, 8, 99999999999), (12, 7, 99999999999)")
        assert c._result.warning_count == 2
        w = rows(cur, "SHOW WARNINGS")
        assert [x[:2] for x in w] == [("Warning", 1264)] * 2, w
        assert rows(cur, "SELECT @@warning_count") == [(2,)]


def test_an_error_halyard_answers_replaces_them(keyed):
    h, _, _ = keyed
    c = fill(h)
    with c.cursor() as cur:
        cur.execute("SELECT id, amount / 0 FROM shop.orders WHERE id IN (1, 2, 3)")
        cur.fetchall()
        code, msg = refused(cur, "UPDATE shop.orders SET amount = 1")
        assert code == 1105
        assert rows(cur, "SHOW WARNINGS") == [("Error", 1105, msg)]
        assert rows(cur, "SELECT @@error_count") == [(1,)]


def test_other_diagnostics_forms_are_refused_not_wrong(keyed):
    h, _, _ = keyed
    c = fill(h)
    with c.cursor() as cur:
        cur.execute("SELECT id, amount / 0 FROM shop.orders WHERE id IN (1, 2, 3)")
        cur.fetchall()
        refused(cur, "GET DIAGNOSTICS @n = NUMBER")


def test_row_count_and_found_rows_after_a_statement_on_every_group(keyed):
    """ROW_COUNT() and FOUND_ROWS() tell the statement that ran on every
    group, as a server tells its last statement."""
    h, _, _ = keyed
    c = fill(h)
    with c.cursor() as cur:
        cur.execute("SELECT id FROM shop.orders WHERE customer_id = 8")  # 1 row, on a
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (21, 8), (22, 7), (23, 7)")
        assert rows(cur, "SELECT ROW_COUNT()") == [(3,)]
        assert sorted(rows(cur, "SELECT id FROM shop.orders WHERE id IN (1, 2, 3, 21, 22)")) == \
            [(1,), (2,), (3,), (21,), (22,)]
        assert rows(cur, "SELECT FOUND_ROWS()") == [(5,)]
        cur.execute("SELECT id FROM shop.orders WHERE id IN (1, 2)")
        assert rows(cur, "SELECT ROW_COUNT()") == [(-1,)]


def test_a_reset_drops_what_a_scatter_read_left(keyed):
    """COM_RESET_CONNECTION starts the server's session afresh: its
    diagnostics area empty, as after a reset directly. What a scatter read
    left is held by halyard (not on a connection): the reset drops it too
    (the diagnostics' own on_renew hook; the pool's reset did it by name)."""
    h, _, _ = keyed
    fill(h).close()
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD)
    try:
        c.query("SELECT id, amount / 0 FROM shop.orders WHERE id IN (1, 2, 3) ORDER BY id")
        assert c.value("SHOW COUNT(*) WARNINGS") == "3"
        assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
        assert c.value("SHOW COUNT(*) WARNINGS") == "0"
        assert c.value("SELECT @@warning_count") == "0"
        assert c.query("SHOW WARNINGS")[0].rows == []
    finally:
        c.close()
