"""Statements on every group, answers merged (scatter_plan.h, scatter_merge.h,
session_fanout.c; issue 15): SHOW DATABASES on a listener with
`shards = true` lists the union of every group's.

The groups, as in test_shards.py: "a", the replication cluster (node0
primary), and "b", the dual-master pair (dm0 active). Schemas: sa and ua on
a only, sb on b only, shared on both.

- SHOW DATABASES / SHOW SCHEMAS, with LIKE and WHERE: every group's names,
  each once (the system schemas too), in the server's order, under the
  server's column name; checked against each group's own answer
- an error of the statement is the server's own
- the answer framed as the client asked (CLIENT_DEPRECATE_EOF or not,
  extended metadata); a prepared SHOW DATABASES refused
- the session goes on after it: its next statements run on its group as
  before
- kill -9 of group a's primary: every SHOW DATABASES answers at once (the
  union, or a 1105 naming group a) until a has failed over, then the union
"""
import pymysql
import pytest

from test_shards import make_schemas, refused, settings, start_sharded
from test_groups import groups
from util import APP_PASSWORD, APP_USER, admin_json, free_port, result


@pytest.fixture
def sharded(start_halyard, cluster, dual, tmp_path):
    make_schemas(cluster, dual)
    # a schema listed before information_schema (the servers sort by bytes)
    for sql in ("CREATE DATABASE IF NOT EXISTS ab_first", "GRANT ALL ON ab_first.* TO 'app'@'%'"):
        dual.sql(0, sql)
    dual.sync()
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    h = start_sharded(start_halyard, s, port)
    sock = s["admin_socket"]
    return h, s, sock


def server_order(name):
    """How MariaDB lists SHOW DATABASES: by the names' bytes, information_schema
    among the others (a schema "fo" comes before it)."""
    return name.encode()


def direct(node, sql):
    """(column name, names) of `sql` run as app on one server."""
    conn = pymysql.connect(**node)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.description[0][0], [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def nodes(cluster, dual):
    return cluster.conn_params(0), dual.conn_params(0)


def through(h, sql):
    conn = h.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.description[0][0], [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("sql", ["SHOW DATABASES", "show schemas", "SHOW DATABASES LIKE 's%'",
                                 "SHOW SCHEMAS WHERE `Database` IN ('sa', 'sb', 'mysql', 'nope')",
                                 "/* c */ SHOW DATABASES LIKE '%a%';"])
def test_show_databases_is_the_union(sharded, cluster, dual, sql):
    h, _, _ = sharded
    a, b = nodes(cluster, dual)
    col_a, names_a = direct(a, sql)
    col_b, names_b = direct(b, sql)
    # The servers list their names in the order halyard merges by.
    assert names_a == sorted(names_a, key=server_order)
    assert names_b == sorted(names_b, key=server_order)
    col, names = through(h, sql)
    assert col == col_a == col_b
    assert names == sorted(set(names_a) | set(names_b), key=server_order)
    assert len(names) == len(set(names))


def test_show_databases_lists_both_groups(sharded):
    h, _, _ = sharded
    _, names = through(h, "SHOW DATABASES")
    # sa and ua live on a only, sb on b only: the old answer (group a's
    # alone) had no sb; every system schema is there once.
    assert {"ab_first", "sa", "ua", "sb", "shared"} <= set(names)
    for system in ("information_schema", "mysql", "performance_schema"):
        assert names.count(system) == 1, names
    assert names == sorted(names, key=server_order)


def test_show_databases_error_is_the_servers(sharded):
    h, _, _ = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        code, msg = refused(cur, "SHOW DATABASES WHERE nosuch = 1")
        assert code == 1054 and "nosuch" in msg, (code, msg)
        # the session goes on, on its group
        cur.execute("SELECT w FROM sa.t WHERE id = 1")
        assert cur.fetchone()[0] == 1


def test_session_goes_on_after_the_union(sharded, cluster, dual):
    h, _, sock = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("USE sb")
        cur.execute("SET @@session.sql_mode = 'ANSI_QUOTES'")
        cur.execute("SHOW DATABASES")
        names = [r[0] for r in cur.fetchall()]
        assert "sa" in names and "sb" in names
        cur.execute("SELECT DATABASE(), @@session.sql_mode, COUNT(*) FROM t")
        assert cur.fetchone() == ("sb", "ANSI_QUOTES", 1)
        # again, a few times: nothing is left behind
        for _ in range(5):
            cur.execute("SHOW SCHEMAS LIKE 'sb'")
            assert cur.fetchall() == (("sb",),)
    conn.close()
    # show shards counts the statements each group ran for a fan-out
    shards = admin_json(sock, "show shards")
    counts = {g["group"]: g["scatters"] for g in shards["groups"]}
    assert counts["a"] >= 6 and counts["b"] >= 6, counts


def test_failover_in_one_group_never_hangs_the_union(sharded, cluster):
    """kill -9 of group a's primary: each SHOW DATABASES answers at once,
    the union or a 1105 naming group a; once a has failed over (node1 the
    new primary), the union again."""
    import time

    from test_failover import kill_now

    h, _, sock = sharded
    _, before = through(h, "SHOW DATABASES")
    kill_now(cluster, 0)
    outcomes, t_end = [], time.monotonic() + 30
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        try:
            _, names = through(h, "SHOW DATABASES")
            outcomes.append(("ok", time.monotonic() - t0))
            if groups(h, sock)["a"]["writer"] == "node1":
                assert names == before
                break
        except pymysql.MySQLError as e:
            code, msg = e.args[0], e.args[1]
            assert code == 1105 and (msg == "halyard: group a: no usable primary" or
                                    msg.startswith("halyard: group a (node0): ")), (code, msg)
            outcomes.append(("err", time.monotonic() - t0))
        time.sleep(0.1)
    assert groups(h, sock)["a"]["writer"] == "node1", outcomes
    assert outcomes[-1][0] == "ok", outcomes
    # none waited: a group without a usable primary fails its part at once
    assert max(d for _, d in outcomes) < 5, outcomes


@pytest.mark.parametrize("deprecate_eof, ext_meta", [(False, False), (True, False), (True, True)])
def test_union_in_the_clients_framing(sharded, cluster, dual, deprecate_eof, ext_meta):
    """The merged answer is framed as the client asked (CLIENT_DEPRECATE_EOF
    or not; MariaDB's extended metadata in the column definitions); a
    prepared SHOW DATABASES is refused rather than list one group's."""
    import rawmysql as rm

    h, _, _ = sharded
    a, b = nodes(cluster, dual)
    _, want_a = direct(a, "SHOW DATABASES")
    _, want_b = direct(b, "SHOW DATABASES")
    caps = rm.DEFAULT_CAPS | (rm.CLIENT_DEPRECATE_EOF if deprecate_eof else 0)
    ext = rm.MARIADB_CLIENT_EXTENDED_METADATA if ext_meta else 0
    with rm.RawConn("127.0.0.1", h.port) as c:
        c.login(APP_USER, APP_PASSWORD, caps=caps, ext_caps=ext)
        res = c.query("SHOW DATABASES")
        assert len(res) == 1
        assert [r[0] for r in res[0].rows] == sorted(set(want_a) | set(want_b), key=server_order)
        assert res[0].names == ["Database"]
        assert res[0].status & 0x0002  # autocommit, as the session's
        with pytest.raises(rm.MySQLError) as e:
            c.command(0x16, b"SHOW DATABASES")  # COM_STMT_PREPARE
        assert (e.value.code, e.value.message) == (
            1105, "halyard: SHOW DATABASES lists every group's schemas as a plain query only, "
                  "not as a prepared statement")
        assert c.value("SELECT 7") == "7"


# ---- key shards: reads without a key, every-group statements, split INSERTs --
#
# The tables of test_key_shards.py: shop.orders hashed by customer_id (0-2047
# on a, 2048-4095 on b: customer 7 is b's, 8 and 42 a's), shop.countries a
# reference table. Each merged read is checked against the same query on an
# unsharded copy of the rows: schema shopcopy on group a only, read directly.

import test_key_shards as ks  # noqa: E402

ROWS = [(i, c, amt) for i, (c, amt) in enumerate(
    [(7, 10), (8, 20), (42, 30), (7, 5), (8, 1000), (42, -3), (7, 70), (8, 70), (42, 9),
     (7, 100), (8, 11), (42, 12)], start=1)]
IN_TRX_READ = ("halyard: a read of sharded table orders without a usable orders.customer_id runs "
               "on every group, inside a transaction (or with autocommit off): a transaction is "
               "on one group (shards.cross_group_transactions = \"refuse\"), so the other "
               "groups' parts would run outside it: run it outside the transaction (or with "
               "autocommit = 1), or set cross_group_transactions = \"xa\"")
PREFIX = ("halyard: a read of sharded table orders without a usable orders.customer_id runs on "
          "every group, whose answers halyard cannot merge exactly: ")


@pytest.fixture
def keyed(start_halyard, cluster, dual, tmp_path):
    ks.shop_schema(cluster, dual)
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    h = start_sharded(start_halyard, s, port)
    sock = s["admin_socket"]
    for sql in ("DROP DATABASE IF EXISTS shopcopy", "CREATE DATABASE shopcopy",
                "CREATE TABLE shopcopy.orders LIKE shop.orders"):
        cluster.sql(0, sql)
    values = ", ".join(f"({i}, {c}, {a})" for i, c, a in ROWS)
    cluster.sql(0, f"INSERT INTO shopcopy.orders (id, customer_id, amount) VALUES {values}")
    return h, s, sock


def load(h, cluster=None, dual=None):
    """The rows through halyard: one split INSERT (rows for both groups);
    with the clusters given, their replicas caught up after it."""
    conn = h.connect()
    with conn.cursor() as cur:
        values = ", ".join(f"({i}, {c}, {a})" for i, c, a in ROWS)
        n = cur.execute(f"INSERT INTO shop.orders (id, customer_id, amount) VALUES {values}")
    conn.close()
    for c in (cluster, dual):
        if c is not None:
            c.sync()
    return n


def test_split_insert_puts_each_row_on_its_group(keyed, cluster, dual):
    h, _, _ = keyed
    assert load(h) == len(ROWS)
    on_a = sorted(cluster.sql(0, "SELECT id, customer_id, amount FROM shop.orders"))
    on_b = sorted(dual.sql(0, "SELECT id, customer_id, amount FROM shop.orders"))
    assert on_b == [r for r in ROWS if r[1] == 7]
    assert on_a == [r for r in ROWS if r[1] != 7]


@pytest.mark.parametrize("sql", [
    "SELECT id, customer_id, amount FROM {t} ORDER BY id",
    "SELECT id, amount FROM {t} ORDER BY amount DESC, id LIMIT 5",
    "SELECT id, amount FROM {t} ORDER BY 2, 1 LIMIT 4, 3",
    "SELECT id AS k, amount FROM {t} WHERE amount > 10 ORDER BY k DESC LIMIT 3 OFFSET 2",
    "SELECT customer_id, id FROM {t} WHERE customer_id IN (7, 8) ORDER BY customer_id, id",
    "SELECT COUNT(*), SUM(amount), MIN(amount), MAX(amount), COUNT(customer_id) FROM {t}",
    "SELECT COUNT(*), SUM(amount), MIN(id), MAX(id) FROM {t} WHERE amount > 5000",
    "SELECT SUM(amount) AS total FROM {t} WHERE customer_id IN (7, 8)",
    "SELECT DISTINCT amount FROM {t} ORDER BY amount",
    "SELECT DISTINCT amount FROM {t} ORDER BY amount DESC LIMIT 2, 3",
    "SELECT CAST(amount AS CHAR) COLLATE utf8mb4_bin AS t, id FROM {t} ORDER BY t, id",
    "SELECT CAST(amount AS BINARY) AS b, id FROM {t} ORDER BY b DESC, id",
    "SELECT MIN(CAST(amount AS BINARY)), MAX(CAST(amount AS BINARY)) FROM {t}",
])
def test_scatter_read_matches_unsharded(keyed, cluster, dual, sql):
    h, _, _ = keyed
    load(h, cluster, dual)  # a read of another session's may go to a replica
    want_desc, want = result(cluster.connect(0), sql.format(t="shopcopy.orders"))
    conn = h.connect()
    got_desc, got = result(conn, sql.format(t="shop.orders"))
    assert got == want
    assert [d[:2] for d in got_desc] == [d[:2] for d in want_desc]
    conn.close()


def test_scatter_concat_is_every_row(keyed, cluster, dual):
    h, _, _ = keyed
    load(h, cluster, dual)
    _, want = result(cluster.connect(0), "SELECT id, customer_id, amount FROM shopcopy.orders")
    _, got = result(h.connect(), "SELECT id, customer_id, amount FROM shop.orders")
    assert sorted(got) == sorted(want) and len(got) == len(ROWS)
    # LIMIT without ORDER BY: that many rows, each a real one
    _, got = result(h.connect(), "SELECT id, customer_id, amount FROM shop.orders LIMIT 4")
    assert len(got) == 4 and set(got) <= set(want)


@pytest.mark.parametrize("sql, why", [
    ("SELECT customer_id, COUNT(*) FROM shop.orders GROUP BY customer_id",
     "GROUP BY: the rows of one group of values may be on several groups"),
    ("SELECT AVG(amount) FROM shop.orders", "AVG(): only COUNT, SUM, MIN and MAX combine exactly"),
    ("SELECT COUNT(DISTINCT amount) FROM shop.orders",
     "COUNT(DISTINCT ...): a value may be on several groups"),
    ("SELECT id, amount FROM shop.orders ORDER BY amount + 1",
     "ORDER BY amount + 1: a sort key must be a selected column (by name, alias or position)"),
    ("SELECT id, COUNT(*) FROM shop.orders",
     "COUNT, SUM, MIN and MAX combine only without other columns (a GROUP BY would be needed)"),
    ("SELECT DISTINCT amount FROM shop.orders",
     "DISTINCT without an ORDER BY on every selected column: a value may be on several groups"),
    ("SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM shop.orders",
     "a window function sees one group's rows only"),
    ("SELECT id FROM shop.orders WHERE amount > @x", "a user variable (each group has its own)"),
    ("SELECT id FROM shop.orders ORDER BY id FOR UPDATE",
     "a locking read would lock rows on every group"),
])
def test_scatter_refusals(keyed, cluster, dual, sql, why):
    h, _, _ = keyed
    load(h, cluster, dual)  # the key read below may go to a replica
    conn = h.connect()
    with conn.cursor() as cur:
        assert refused(cur, sql) == (1105, PREFIX + why)
        # the session goes on
        assert cur.execute("SELECT id FROM shop.orders WHERE customer_id = 7 ORDER BY id") == 4


def test_scatter_refusals_from_the_answers(keyed):
    h, _, _ = keyed
    load(h)
    conn = h.connect()
    with conn.cursor() as cur:
        code, msg = refused(cur, "SELECT CAST(amount AS CHAR) AS t FROM shop.orders ORDER BY t")
        assert code == 1105
        assert msg.startswith("halyard: cannot merge a read of every group: column t is a string "
                              "in character set id "), msg
        assert msg.endswith("halyard compares only binary strings and strings COLLATEd to "
                            "utf8mb4_bin, utf8mb3_bin, latin1_bin or ascii_bin in the select "
                            "list"), msg
        code, msg = refused(cur, "SELECT SUM(amount * 1.5e0) FROM shop.orders")
        assert code == 1105 and "FLOAT or DOUBLE" in msg, msg


def test_scatter_in_a_transaction_refused(keyed):
    h, _, _ = keyed
    load(h)
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT amount FROM shop.orders WHERE customer_id = 8 AND id = 2")
        assert refused(cur, "SELECT COUNT(*) FROM shop.orders") == (1105, IN_TRX_READ)
        assert refused(cur, "INSERT INTO shop.orders (id, customer_id) VALUES (50, 7), (51, 8)") \
            == (1105, "halyard: a statement on several groups inside a transaction (or with "
                      "autocommit off): cross-group transactions are refused")
        cur.execute("ROLLBACK")
        assert cur.execute("SELECT COUNT(*) FROM shop.orders") == 1
        assert cur.fetchone()[0] == len(ROWS)
        # autocommit off: the read would begin a transaction, refused too
        cur.execute("SET autocommit = 0")
        assert refused(cur, "SELECT COUNT(*) FROM shop.orders") == (1105, IN_TRX_READ)
        cur.execute("SET autocommit = 1")
        assert cur.execute("SELECT COUNT(*) FROM shop.orders") == 1


def test_ddl_on_every_group(keyed, cluster, dual):
    h, _, sock = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE shop.orders ADD COLUMN z INT NOT NULL DEFAULT 5")
    for srv in (cluster, dual):
        assert "z" in {r[0] for r in srv.sql(0, "SHOW COLUMNS FROM shop.orders")}
    # a failure on one group, reported per group
    dual.sql(0, "ALTER TABLE shop.orders ADD COLUMN y INT")
    with conn.cursor() as cur:
        assert refused(cur, "ALTER TABLE shop.orders ADD COLUMN y INT") == (
            1105, "halyard: the statement ran on every group: a: OK, 0 rows; b: ERROR 1060 "
                  "(42S21): Duplicate column name 'y' (not transactional: the groups that "
                  "succeeded keep the change)")
    assert "y" in {r[0] for r in cluster.sql(0, "SHOW COLUMNS FROM shop.orders")}
    shards = admin_json(sock, "show shards")
    counts = {g["group"]: g["scatters"] for g in shards["groups"]}
    assert counts["a"] >= 2 and counts["b"] >= 2, counts


def test_reference_table_write_reaches_every_group(keyed, cluster, dual):
    h, _, _ = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        # copies of the same rows: the count is one group's, as one server says
        assert cur.execute("INSERT INTO shop.countries VALUES (3, 'Peru'), (5, 'Chad')") == 2
        assert cur.execute("UPDATE shop.countries SET name = 'PERU' WHERE id = 3") == 1
    for srv in (cluster, dual):
        assert sorted(srv.sql(0, "SELECT id, name FROM shop.countries")) == [
            (1, "France"), (2, "Japan"), (3, "PERU"), (5, "Chad")]
    # a failure on one group: rolled back on every group
    dual.sql(0, "INSERT INTO shop.countries VALUES (4, 'Mali')")
    with conn.cursor() as cur:
        assert refused(cur, "INSERT INTO shop.countries VALUES (4, 'Mali'), (6, 'Fiji')") == (
            1105, "halyard: the statement ran on every group: a: OK, 2 rows; b: ERROR 1062 "
                  "(23000): Duplicate entry '4' for key 'PRIMARY' (rolled back on every group)")
    assert {r[0] for r in cluster.sql(0, "SELECT id FROM shop.countries")} == {1, 2, 3, 5}
    assert {r[0] for r in dual.sql(0, "SELECT id FROM shop.countries")} == {1, 2, 3, 4, 5}


def test_split_insert_failing_on_one_group_rolls_back_everywhere(keyed, cluster, dual):
    h, _, _ = keyed
    cluster.sql(0, "INSERT INTO shop.orders (id, customer_id, amount) VALUES (101, 8, 0)")
    conn = h.connect()
    with conn.cursor() as cur:
        assert refused(cur, "INSERT INTO shop.orders (id, customer_id, amount) VALUES "
                            "(100, 7, 1), (101, 8, 1), (102, 42, 1)") == (
            1105, "halyard: the statement ran on every group: a: ERROR 1062 (23000): Duplicate "
                  "entry '101' for key 'PRIMARY'; b: OK, 1 row (rolled back on every group)")
        # the session goes on, autocommit as before
        assert cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES "
                           "(100, 7, 1), (102, 42, 1)") == 2
    assert sorted(dual.sql(0, "SELECT id, amount FROM shop.orders")) == [(100, 1)]
    assert sorted(cluster.sql(0, "SELECT id, amount FROM shop.orders")) == [(101, 0), (102, 1)]


def test_causal_read_sees_a_write_on_every_group(start_halyard, cluster, dual, tmp_path):
    """consistency = causal: a reference-table write run on every group is
    the session's write like any other: its next read, on a lagging replica
    of its group, still sees it."""
    from test_routing import delay_replicas

    ks.shop_schema(cluster, dual)
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    s["consistency"] = "causal"
    s["causal_timeout_ms"] = 200
    h = start_sharded(start_halyard, s, port)
    conn = h.connect()
    delay_replicas(cluster, 2)
    with conn.cursor() as cur:
        for i in range(3, 6):
            assert cur.execute(f"INSERT INTO shop.countries VALUES ({i}, 'c{i}')") == 1
            cur.execute(f"SELECT name FROM shop.countries WHERE id = {i}")
            assert cur.fetchall() == ((f"c{i}",),), i
    delay_replicas(cluster, 0)
    conn.close()


def test_fanout_inside_an_xa_transaction(start_halyard, cluster, dual, tmp_path):
    """cross_group_transactions = "xa": BEGIN is answered by halyard, the
    transaction is open before any group has it; a read of every group
    runs in it (each group's part in its branch: test_trx_scatter.py); a
    write on several groups is refused in it, and the transaction goes
    on."""
    ks.shop_schema(cluster, dual)
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    s["shards"]["cross_group_transactions"] = "xa"
    s["shards"]["xa_log"] = str(tmp_path / "xa.log")
    h = start_sharded(start_halyard, s, port)
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert cur.execute("SELECT COUNT(*) FROM shop.orders") == 1
        assert cur.fetchone()[0] == 0
        assert refused(cur, "INSERT INTO shop.countries VALUES (9, 'Oman')") == (
            1105, "halyard: a statement on several groups inside a transaction (or with "
                  "autocommit off): cross-group transactions are refused")
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (1, 7), (2, 7)")
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (3, 8)")
        cur.execute("COMMIT")
    assert sorted(r[0] for r in dual.sql(0, "SELECT id FROM shop.orders")) == [1, 2]
    assert sorted(r[0] for r in cluster.sql(0, "SELECT id FROM shop.orders")) == [3]
    assert {r[0] for r in dual.sql(0, "SELECT id FROM shop.countries")} == {1, 2}
