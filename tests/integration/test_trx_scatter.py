"""A read of every group inside a transaction (issue 15, items 4 and 5;
session_fanout.c, "a read inside a transaction across groups").

The groups and tables of test_key_shards.py: shop.orders sharded by
customer_id (7 on group b, the dual-master pair; 8 and 42 on group a, the
replication cluster), shop.countries a reference table.

With shards.cross_group_transactions = "xa" a scatter read inside BEGIN ...
COMMIT runs each group's part in the transaction's branch there (the
session's connection to the group's primary), starting the branch where
there is none yet:
- it sees the transaction's own uncommitted rows on both groups, and its
  answer matches the same read of an unsharded copy holding the same
  rows; other sessions see none of them; after ROLLBACK they are gone;
- FOR UPDATE locks the rows it reads on every group: another connection's
  UPDATE of such a row on either group waits (lock wait timeout) until
  the transaction ends;
- a deadlock in one group's part: the server's error (1213), the server
  rolled its branch back, and halyard rolls back the other group's: none
  of the transaction's rows is left;
- a lock wait timeout in one part: the server's error (1205); the
  transaction goes on as the server left it (MariaDB rolls back the
  statement, not the transaction, with innodb_rollback_on_timeout off).
Refused, with an ERR naming the table and why: a scatter read in a
transaction of the default "refuse" mode (on one group), in a plain
transaction under "xa" (START TRANSACTION READ ONLY / WITH CONSISTENT
SNAPSHOT, autocommit = 0), and a prepared scatter read inside an XA
transaction.
"""
import threading
import time

import pymysql
import pytest

import test_key_shards as ks
import test_ps_scatter as psq
from test_core import client_bin
from test_shards import refused, start_sharded
from util import free_port, result

IN_TRANS = 0x0001
ROWS = [(1, 7, 10), (2, 8, 20), (3, 42, 30), (4, 7, 5), (5, 8, 1000), (6, 42, -3)]
NEW = [(101, 7, 500), (102, 8, 7), (103, 42, 64), (104, 7, -9)]
ABOUT = "a read of sharded table orders without a usable orders.customer_id runs on every group"


def prepare(cluster, dual):
    ks.shop_schema(cluster, dual)
    values = ", ".join(f"({i}, {c}, {a})" for i, c, a in ROWS)
    for c in (cluster, dual):
        rows = [r for r in ROWS if (r[1] == 7) == (c is dual)]
        c.sql(0, "INSERT INTO shop.orders (id, customer_id, amount) VALUES "
              + ", ".join(f"({i}, {cu}, {a})" for i, cu, a in rows))
    for sql in ("DROP DATABASE IF EXISTS shopcopy", "CREATE DATABASE shopcopy",
                "CREATE TABLE shopcopy.orders LIKE shop.orders",
                f"INSERT INTO shopcopy.orders (id, customer_id, amount) VALUES {values}"):
        cluster.sql(0, sql)
    cluster.sync()
    dual.sync()


def start(start_halyard, cluster, dual, tmp_path, xa=True):
    prepare(cluster, dual)
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    if xa:
        s["shards"]["cross_group_transactions"] = "xa"
        s["shards"]["xa_log"] = str(tmp_path / "xa.log")
    return start_sharded(start_halyard, s, port)


@pytest.fixture
def xa(start_halyard, cluster, dual, tmp_path):
    return start(start_halyard, cluster, dual, tmp_path)


@pytest.fixture
def plain(start_halyard, cluster, dual, tmp_path):
    return start(start_halyard, cluster, dual, tmp_path, xa=False)


def count_direct(c, where=""):
    return c.sql(0, f"SELECT COUNT(*) FROM shop.orders {where}")[0][0]


READS = [
    "SELECT id, customer_id, amount FROM {t} ORDER BY id",
    "SELECT id, amount FROM {t} ORDER BY amount DESC, id LIMIT 5",
    "SELECT COUNT(*), SUM(amount), MIN(amount), MAX(amount) FROM {t}",
    "SELECT DISTINCT customer_id FROM {t} ORDER BY customer_id",
    "SELECT o.id, c.name FROM {t} o JOIN shop.countries c ON c.id = o.country ORDER BY 1",
]


def test_read_sees_the_transactions_own_rows(xa, cluster, dual):
    h = xa
    conn = h.connect()
    copy = cluster.connect(0)
    values = ", ".join(f"({i}, {c}, {a})" for i, c, a in NEW)
    with copy.cursor() as cc:
        cc.execute(f"INSERT INTO shopcopy.orders (id, customer_id, amount) VALUES {values}")
        cc.execute("UPDATE shopcopy.orders SET amount = amount * 2 WHERE customer_id = 7")
        cc.execute("COMMIT")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        # rows for both groups (one XA branch each), a change on group b
        for c in (7, 8, 42):  # one group each (a split INSERT is refused in a transaction)
            cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES "
                        + ", ".join(f"({i}, {cu}, {a})" for i, cu, a in NEW if cu == c))
        cur.execute("UPDATE shop.orders SET amount = amount * 2 WHERE customer_id = 7")
        for sql in READS:
            want_desc, want = result(copy.cursor(), sql.format(t="shopcopy.orders"))
            got_desc, got = result(cur, sql.format(t="shop.orders"))
            assert got == want, sql
            assert [d[:2] for d in got_desc] == [d[:2] for d in want_desc], sql
            assert conn.server_status & IN_TRANS, sql
        # nobody else sees them yet
        assert count_direct(cluster) + count_direct(dual) == len(ROWS)
        cur.execute("ROLLBACK")
        assert not conn.server_status & IN_TRANS
        # gone: through halyard (outside a transaction now) and on each group
        assert result(cur, "SELECT COUNT(*), SUM(amount) FROM shop.orders")[1] == \
            [(len(ROWS), sum(r[2] for r in ROWS))]
    assert count_direct(cluster) + count_direct(dual) == len(ROWS)
    assert count_direct(dual, "WHERE amount = 20") == 0  # (1, 7, 10) doubled, rolled back
    assert cluster.sql(0, "XA RECOVER") == [] and dual.sql(0, "XA RECOVER") == []


def test_read_starts_the_branches_it_needs(xa, cluster, dual):
    """A scatter read as the transaction's first statement starts a branch
    on every group; a write after it runs in the same branch, and COMMIT
    commits on both (two-phase)."""
    h = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert result(cur, "SELECT COUNT(*) FROM shop.orders")[1] == [(len(ROWS),)]
        # both groups have an XA transaction of this session open
        for c in (cluster, dual):
            n = c.sql(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                      "WHERE USER = 'app' AND COMMAND <> 'Daemon'")[0][0]
            assert n >= 1
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (201, 7, 1)")
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (202, 8, 2)")
        assert result(cur, "SELECT COUNT(*) FROM shop.orders")[1] == [(len(ROWS) + 2,)]
        cur.execute("COMMIT")
    assert count_direct(dual, "WHERE id = 201") == 1
    assert count_direct(cluster, "WHERE id = 202") == 1


def test_for_update_locks_rows_on_every_group(xa, cluster, dual):
    h = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        _, got = result(cur, "SELECT id, amount FROM shop.orders ORDER BY id FOR UPDATE")
        assert got == [(i, a) for i, _, a in ROWS]
        for c, rid in ((cluster, 2), (dual, 1)):
            other = c.connect(0)
            with other.cursor() as oc:
                oc.execute("SET SESSION innodb_lock_wait_timeout = 1")
                with pytest.raises(pymysql.MySQLError) as e:
                    oc.execute(f"UPDATE shop.orders SET amount = amount + 1 WHERE id = {rid}")
                assert e.value.args[0] == 1205, (c, e.value.args)
            other.close()
        cur.execute("COMMIT")
    # released: the same UPDATEs go through now
    for c, rid in ((cluster, 2), (dual, 1)):
        other = c.connect(0)
        with other.cursor() as oc:
            oc.execute("SET SESSION innodb_lock_wait_timeout = 5")
            assert oc.execute(f"UPDATE shop.orders SET amount = amount + 1 WHERE id = {rid}") == 1
            oc.execute("COMMIT")
        other.close()


def test_deadlock_in_one_part_rolls_back_the_transaction(xa, cluster, dual):
    """Group b: the halyard transaction holds row 1; another connection
    (heavier: it changed rows 4 and 104) holds row 4 and waits for row 1;
    the scatter read FOR UPDATE then wants row 4 on b: a deadlock, and
    InnoDB rolls back the lighter transaction, halyard's branch. The
    client gets the server's 1213; halyard rolls back the branch on a too
    (the row it inserted there is gone) and the session is out of the
    transaction."""
    h = xa
    dual.sql(0, "INSERT INTO shop.orders (id, customer_id, amount) VALUES (104, 7, 0)")
    conn = h.connect()
    other = dual.connect(0)
    t = None
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (301, 8, 1)")
            cur.execute("SELECT amount FROM shop.orders WHERE customer_id = 7 AND id = 1 "
                        "FOR UPDATE")
            with other.cursor() as oc:
                oc.execute("SET SESSION innodb_lock_wait_timeout = 30")
                oc.execute("BEGIN")
                oc.execute("UPDATE shop.orders SET amount = amount + 1 WHERE id IN (4, 104)")
            waiter_err = []

            def wait_for_row_1():
                try:
                    with other.cursor() as oc:
                        oc.execute("UPDATE shop.orders SET amount = amount + 1 WHERE id = 1")
                except pymysql.MySQLError as e:  # pragma: no cover (it is halyard's that dies)
                    waiter_err.append(e.args)

            t = threading.Thread(target=wait_for_row_1)
            t.start()
            deadline = time.time() + 10
            while time.time() < deadline:
                n = dual.sql(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE "
                             "INFO = 'UPDATE shop.orders SET amount = amount + 1 WHERE id = 1' "
                             "AND STATE LIKE '%lock%'")[0][0]
                if n:
                    break
                time.sleep(0.1)
            code, msg = refused(cur, "SELECT id FROM shop.orders ORDER BY id FOR UPDATE")
            assert code == 1213, msg
            assert "Deadlock" in msg, msg
            t.join(15)
            assert not t.is_alive() and waiter_err == []
            with other.cursor() as oc:
                oc.execute("COMMIT")
            # out of the transaction: the branch on a was rolled back too
            assert result(cur, "SELECT @@in_transaction")[1] == [(0,)]
            cur.execute("COMMIT")  # nothing to commit: OK, as the server answers it
            assert not conn.server_status & IN_TRANS
            assert count_direct(cluster, "WHERE id = 301") == 0
            assert cluster.sql(0, "XA RECOVER") == [] and dual.sql(0, "XA RECOVER") == []
            # the session goes on
            assert result(cur, "SELECT COUNT(*) FROM shop.orders")[1] == [(len(ROWS) + 1,)]
    finally:  # on a failure, nothing left holding locks for the next test
        conn.close()
        if t is not None:
            t.join(30)
        other.close()


def test_lock_wait_timeout_in_one_part_is_the_servers(xa, cluster, dual):
    h = xa
    other = dual.connect(0)
    conn = h.connect()
    try:
        with other.cursor() as oc:
            oc.execute("BEGIN")
            oc.execute("SELECT amount FROM shop.orders WHERE id = 4 FOR UPDATE")
        with conn.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
            cur.execute("BEGIN")
            cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (401, 8, 1)")
            code, msg = refused(cur, "SELECT id FROM shop.orders ORDER BY id FOR UPDATE")
            assert code == 1205, msg
            with other.cursor() as oc:
                oc.execute("ROLLBACK")
            # as on one server: the statement failed, the transaction goes on
            assert conn.server_status & IN_TRANS
            _, got = result(cur, "SELECT id FROM shop.orders ORDER BY id FOR UPDATE")
            assert [r[0] for r in got] == sorted([r[0] for r in ROWS] + [401])
            cur.execute("COMMIT")
    finally:
        conn.close()
        other.close()
    assert count_direct(cluster, "WHERE id = 401") == 1


def test_refused_in_a_one_group_transaction(plain):
    """Default "refuse": a transaction is on one group; the read would see
    the other groups outside it."""
    h = plain
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT amount FROM shop.orders WHERE customer_id = 8 AND id = 2")
        code, msg = refused(cur, "SELECT COUNT(*) FROM shop.orders")
        assert code == 1105
        assert msg == (f"halyard: {ABOUT}, inside a transaction (or with autocommit off): a "
                       "transaction is on one group (shards.cross_group_transactions = "
                       "\"refuse\"), so the other groups' parts would run outside it: run it "
                       "outside the transaction (or with autocommit = 1), or set "
                       "cross_group_transactions = \"xa\""), msg
        assert "orders" in msg
        cur.execute("ROLLBACK")
        assert result(cur, "SELECT COUNT(*) FROM shop.orders")[1] == [(len(ROWS),)]


@pytest.mark.parametrize("begin", ["START TRANSACTION READ ONLY",
                                   "START TRANSACTION WITH CONSISTENT SNAPSHOT",
                                   "SET autocommit = 0"])
def test_refused_in_a_plain_transaction_under_xa(xa, begin):
    h = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute(begin)
        code, msg = refused(cur, "SELECT COUNT(*) FROM shop.orders")
        assert code == 1105
        assert msg.startswith(f"halyard: {ABOUT}, inside a transaction (or with autocommit "
                              "off): "), msg
        if "autocommit" in begin:
            assert "with autocommit = 0 a transaction is a plain one on one group, not XA" in msg
            cur.execute("SET autocommit = 1")
        else:
            assert "this transaction is a plain one on one group, not XA" in msg
            cur.execute("COMMIT")
        assert result(cur, "SELECT COUNT(*) FROM shop.orders")[1] == [(len(ROWS),)]


def test_prepared_read_refused_inside_xa(xa):
    """A prepared scatter read (ps_scatter) runs on connections of its
    own: inside an XA transaction it is refused, saying so; the
    transaction goes on."""
    h = xa
    out = psq.results(psq.run(client_bin("ps_query"), h.port, "shop", [
        "QUERY BEGIN",
        "QUERY INSERT INTO orders (id, customer_id, amount) VALUES (501, 7, 1)",
        "SELECT COUNT(*) FROM orders WHERE amount > ?\ti:0",
        "SELECT amount FROM orders WHERE customer_id = ? AND id = 501\ti:7",
        "QUERY ROLLBACK",
        "SELECT COUNT(*) FROM orders WHERE amount > ?\ti:-100",
    ]))
    assert out[3] == ["error\t1105\tHY000\thalyard: " + ABOUT + ", inside a transaction (or "
                      "with autocommit off): inside a transaction across groups (XA) only a text "
                      "statement (COM_QUERY) reads every group in the transaction, not a "
                      "prepared one: run it as a text statement"], out[3]
    assert out[4][-2:] == ["row\t1", "rows=1"], out[4]
    assert out[6][-2:] == [f"row\t{len(ROWS)}", "rows=1"], out[6]


def test_a_part_whose_connection_dies_loses_the_transaction(xa, cluster, dual):
    """Group b's part is killed on its server (KILL CONNECTION) while it
    runs: the statement fails with the server's 1927, never a partial
    answer; the transaction is lost: its branch on a is rolled back too,
    nothing is left prepared, and the session goes on."""
    h = xa
    conn = h.connect()
    killed = []

    def kill_b_part():
        deadline = time.time() + 20
        while time.time() < deadline and not killed:
            for (tid,) in dual.sql(0, "SELECT ID FROM information_schema.PROCESSLIST "
                                   "WHERE USER = 'app' AND INFO LIKE 'SELECT id, SLEEP%'"):
                dual.sql(0, f"KILL CONNECTION {tid}")
                killed.append(tid)
            time.sleep(0.05)

    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (601, 8, 1)")
            t = threading.Thread(target=kill_b_part)
            t.start()
            code, msg = refused(cur, "SELECT id, SLEEP(1) FROM shop.orders")
            t.join(30)
            assert killed, "group b's part never ran"
            assert code == 1927, msg
            # what stays, as every other 1927 says it (session_trx_lost): no
            # transaction-state tracker tells whether a non-transactional
            # table was written, so not a plain "rolled back"
            assert msg.startswith("Lost connection to backend 'dm0' during the transaction; it "
                                  "was rolled back, except any change it made to a "
                                  "non-transactional table"), msg
            # lost: the ROLLBACK the client would send is answered OK
            cur.execute("ROLLBACK")
            assert not conn.server_status & IN_TRANS
            assert count_direct(cluster, "WHERE id = 601") == 0
            assert cluster.sql(0, "XA RECOVER") == [] and dual.sql(0, "XA RECOVER") == []
            assert result(cur, "SELECT COUNT(*) FROM shop.orders")[1] == [(len(ROWS),)]
    finally:
        conn.close()
