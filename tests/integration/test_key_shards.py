"""Key shards (shard_key.h, issue 15 item 3): one listener in front of two
groups, a statement on a sharded table sent to the group of its key.

The groups, as in test_shards.py: "a", the replication cluster (node0
primary), and "b", the dual-master pair (its node0 active). Schema shop is
on both. The tables:
- shop.orders, hashed by customer_id into 4096 buckets: 0-2047 on a,
  2048-4095 on b (CRC32('7') % 4096 = 2690: b; CRC32('8') % 4096 = 1811: a;
  CRC32('42') % 4096 = 136: a);
- shop.events, by range of id: below 1000 on a, the rest on b;
- shop.countries, a reference table (the same rows on both).
Each routing is checked by reading each group directly: the row is on the
group of its key and not on the other.
"""
import re
import subprocess

import pytest

from test_failover import ctl
from test_shards import one, refused, start_sharded, two_groups
from test_core import ps_client_bin  # noqa: F401 (fixture)
from util import APP_PASSWORD, APP_USER, admin_json, free_port, metric

TABLES = [
    {"table": "shop.orders", "key": "customer_id", "function": "hash", "buckets": 4096,
     "map": [{"group": "a", "buckets": "0-2047"}, {"group": "b", "buckets": "2048-4095"}]},
    {"table": "shop.events", "key": "id", "function": "range",
     "map": [{"group": "a", "below": 1000}, {"group": "b"}]},
]


def settings(cluster, dual, tmp_path, port):
    s = two_groups(cluster, dual, tmp_path, port)
    s["shards"] = {"tables": TABLES, "reference": ["shop.countries"]}
    return s


SCHEMA = ("DROP DATABASE IF EXISTS shop", "CREATE DATABASE shop",
          "CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, "
          "amount INT NOT NULL DEFAULT 0, country INT NOT NULL DEFAULT 1)",
          "CREATE TABLE shop.events (id BIGINT PRIMARY KEY, w INT NOT NULL DEFAULT 0)",
          "CREATE TABLE shop.countries (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)",
          "INSERT INTO shop.countries VALUES (1, 'France'), (2, 'Japan')")


@pytest.fixture
def keyed(start_halyard, cluster, dual, tmp_path):
    for sql in SCHEMA:
        cluster.sql(0, sql)
    cluster.sync()
    for sql in SCHEMA + ("GRANT ALL ON shop.* TO 'app'@'%'",):
        dual.sql(0, sql)
    dual.sync()
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    h = start_sharded(start_halyard, s, port)
    sock = s["admin_socket"]
    return h, s, sock


def on_a(cluster, sql):
    return cluster.sql(0, sql)


def on_b(dual, sql):
    return dual.sql(0, sql)


def ids(rows):
    return {r[0] for r in rows}


def test_hash_routing(keyed, cluster, dual):
    h, _, _ = keyed
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    conn = h.connect()
    with conn.cursor() as cur:
        # INSERT rows by the column list: 7 is b's, 8 and 42 a's.
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (1, 7, 10)")
        cur.execute("INSERT INTO shop.orders (customer_id, id, amount) VALUES (8, 2, 20), "
                    "('42', 3, 30)")
        cur.execute("REPLACE INTO shop.orders (id, customer_id, amount) VALUES (4, '007', 40)")
        cur.execute("INSERT INTO shop.orders SET id = 5, customer_id = 42, amount = 50")
    assert ids(on_b(dual, "SELECT id FROM shop.orders")) == {1, 4}
    assert ids(on_a(cluster, "SELECT id FROM shop.orders")) == {2, 3, 5}
    with conn.cursor() as cur:
        # WHERE key = literal, in its several spellings
        assert one(cur, "SELECT SUM(amount), @@port FROM shop.orders WHERE customer_id = 7")[1] \
            in b_ports
        assert one(cur, "SELECT SUM(amount) FROM shop.orders WHERE customer_id = 7")[0] == 50
        assert one(cur, "SELECT SUM(amount) FROM shop.orders WHERE '7' = customer_id")[0] == 50
        assert one(cur, "SELECT SUM(amount) FROM shop.orders o WHERE o.amount > 0 AND "
                        "o.customer_id = '007'")[0] == 50
        assert one(cur, "SELECT amount, @@port FROM shop.orders WHERE customer_id = 8")[0] == 20
        assert one(cur, "SELECT @@port FROM shop.orders WHERE customer_id = 8")[0] in a_ports
        # IN, every value on one group
        assert one(cur, "SELECT COUNT(*), MIN(@@port) FROM shop.orders WHERE customer_id IN "
                        "(8, 42)")[0] == 3
        # unqualified, by the session's schema; a join with the reference table
        cur.execute("USE shop")
        assert one(cur, "SELECT SUM(amount) FROM orders WHERE customer_id = 7")[0] == 50
        assert one(cur, "SELECT o.amount, c.name FROM orders o JOIN countries c ON c.id = "
                        "o.country WHERE o.customer_id = 8") == (20, "France")
        # writes by key
        cur.execute("UPDATE orders SET amount = amount + 1 WHERE customer_id = 7")
        assert cur.rowcount == 2
        cur.execute("DELETE FROM shop.orders WHERE customer_id IN (8, 42) AND id = 3")
        assert cur.rowcount == 1
        # the reference table reads from any group
        assert one(cur, "SELECT name FROM shop.countries WHERE id = 2")[0] == "Japan"
    assert sorted(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(1, 11), (4, 41)]
    assert sorted(on_a(cluster, "SELECT id, amount FROM shop.orders")) == [(2, 20), (5, 50)]


def test_hash_is_the_servers_crc32(keyed, cluster, dual):
    """halyard's bucket of a key is the server's own CRC32(key) % 4096: each
    row is on the group whose buckets hold its CRC32 bucket, so a DBA can
    list a bucket's rows in SQL."""
    h, _, _ = keyed
    conn = h.connect()
    keys = list(range(-5, 60)) + [4294967296, 9007199254740993]
    with conn.cursor() as cur:
        for i, k in enumerate(keys):
            cur.execute(f"INSERT INTO shop.orders (id, customer_id) VALUES ({i}, {k})")
    a = on_a(cluster, "SELECT customer_id, CRC32(customer_id) % 4096 FROM shop.orders")
    b = on_b(dual, "SELECT customer_id, CRC32(customer_id) % 4096 FROM shop.orders")
    assert sorted(k for k, _ in a + b) == sorted(keys), "each row once"
    assert a and b
    assert all(0 <= int(bucket) <= 2047 for _, bucket in a), a
    assert all(2048 <= int(bucket) <= 4095 for _, bucket in b), b
    # and each row is read back through halyard by its key
    with conn.cursor() as cur:
        for i, k in enumerate(keys):
            assert one(cur, f"SELECT id FROM shop.orders WHERE customer_id = {k}")[0] == i, k


def test_range_routing(keyed, cluster, dual):
    h, _, _ = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.events (id, w) VALUES (5, 1), (999, 2)")
        cur.execute("INSERT INTO shop.events (id, w) VALUES (1000, 3)")
        cur.execute("INSERT INTO shop.events (id, w) VALUES (-3, 4)")
        assert one(cur, "SELECT w FROM shop.events WHERE id = 1000")[0] == 3
        assert one(cur, "SELECT w FROM shop.events WHERE id = 999")[0] == 2
        cur.execute("UPDATE shop.events SET w = 30 WHERE id = 1000")
    assert ids(on_a(cluster, "SELECT id FROM shop.events")) == {-3, 5, 999}
    assert sorted(on_b(dual, "SELECT id, w FROM shop.events")) == [(1000, 30)]


def test_refusals(keyed, cluster, dual):
    h, _, _ = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (1, 7, 10)")
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (2, 8, 20)")
        for sql, msg in [
            ("UPDATE shop.orders SET amount = 0",
             "halyard: UPDATE on sharded table orders needs orders.customer_id"),
            ("DELETE FROM shop.orders WHERE amount = 10",
             "halyard: DELETE on sharded table orders needs orders.customer_id"),
            ("UPDATE shop.orders SET amount = 0 WHERE customer_id = 7 OR customer_id = 8",
             "halyard: UPDATE on sharded table orders needs orders.customer_id"),
            ("DELETE FROM shop.orders WHERE customer_id = 7.5",
             "halyard: DELETE on sharded table orders needs orders.customer_id"),
            ("DELETE FROM shop.orders WHERE customer_id IN (7, 8)",
             "halyard: DELETE on sharded table orders: its orders.customer_id values are on "
             "more than one group"),
            ("UPDATE shop.orders SET customer_id = 8 WHERE customer_id = 7",
             "halyard: UPDATE on sharded table orders changes its key orders.customer_id: a row "
             "does not move between groups"),
            ("INSERT INTO shop.orders VALUES (3, 7, 0, 1)",
             "halyard: INSERT on sharded table orders needs a column list naming "
             "orders.customer_id"),
            ("INSERT INTO shop.orders (id, customer_id) VALUES (3, 7 + 1)",
             "halyard: INSERT on sharded table orders needs orders.customer_id as an integer "
             "literal in every row"),
            ("SELECT * FROM shop.orders a JOIN shop.orders b ON a.id = b.id WHERE "
             "a.customer_id = 7",
             "halyard: SELECT names sharded table orders twice: a self-join or subquery on it "
             "crosses groups"),
        ]:
            assert refused(cur, sql) == (1105, msg), sql
        # nothing changed anywhere
    assert sorted(on_b(dual, "SELECT id, customer_id, amount FROM shop.orders")) == [(1, 7, 10)]
    assert sorted(on_a(cluster, "SELECT id, customer_id, amount FROM shop.orders")) == [(2, 8, 20)]
    assert ids(on_a(cluster, "SELECT id FROM shop.countries")) == {1, 2}
    assert ids(on_b(dual, "SELECT id FROM shop.countries")) == {1, 2}
    # reads without a key, DDL, reference-table writes and INSERTs spanning
    # groups run on every group: test_scatter.py


def test_transaction_crossing_groups_by_key(keyed, cluster, dual):
    h, _, _ = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (1, 7, 10)")
        # BEGIN opens the transaction on the group the session is on: a
        cur.execute("SELECT 1 FROM shop.orders WHERE customer_id = 8")
        cur.execute("BEGIN")
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (2, 8, 20)")  # a
        assert refused(cur, "UPDATE shop.orders SET amount = 11 WHERE customer_id = 7") == (
            1105, "halyard: a transaction is open on group a; this statement is for group b (by "
                  "the key of table shop.orders): cross-group transactions are refused; the "
                  "transaction stays open on a")
        # still open on a: it sees its own row, others do not
        assert one(cur, "SELECT amount FROM shop.orders WHERE customer_id = 8")[0] == 20
        assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []
        # a statement by a key of the same group runs in it
        cur.execute("UPDATE shop.orders SET amount = 21 WHERE customer_id = 42")
        cur.execute("ROLLBACK")
        # outside the transaction, both groups serve again
        cur.execute("UPDATE shop.orders SET amount = 12 WHERE customer_id = 7")
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []
    assert list(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(1, 12)]
    # autocommit = 0, in schema shop (on the listener's group, a): the first
    # keyed statement begins the transaction on its own group, b
    conn2 = h.connect(autocommit=False, database="shop")
    with conn2.cursor() as cur:
        cur.execute("UPDATE orders SET amount = 13 WHERE customer_id = 7")
        assert refused(cur, "SELECT * FROM orders WHERE customer_id = 8") == (
            1105, "halyard: a transaction is open on group b; this statement is for group a (by "
                  "the key of table shop.orders): cross-group transactions are refused; the "
                  "transaction stays open on b")
        assert one(cur, "SELECT amount FROM orders WHERE customer_id = 7")[0] == 13
    conn2.commit()
    assert list(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(1, 13)]


def test_prepared_statement_parameters(keyed, cluster, dual, ps_client_bin):
    """COM_STMT_EXECUTE goes to the group of its key parameter's value, read
    from the packet (types from it, or those bound at the first execution)."""
    h, _, _ = keyed
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "shop",
                        "keys"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ps_client keys failed: {r.stderr}\n{r.stdout}"
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    assert [x for x in lines if x[0] == "ins"] == [["ins", str(i), "1"] for i in (100, 101, 102)]
    sel = {x[1]: (int(x[2]), int(x[3])) for x in lines if x[0] == "sel"}
    assert sel["007"][0] == 10 and sel["007"][1] in b_ports, sel
    assert sel["8"][0] == 20 and sel["8"][1] in a_ports, sel
    assert sel["42"][0] == 30 and sel["42"][1] in a_ports, sel
    assert ["upd", "2"] in lines, r.stdout
    errors = [x[1:] for x in lines if x[0] == "error"]
    assert errors == [
        ["1105", "HY000", "halyard: UPDATE on sharded table orders: its orders.customer_id values "
                          "are on more than one group"],
        ["1105", "HY000", "halyard: DELETE on sharded table orders needs an integer "
                          "orders.customer_id in its parameter 1"],
    ], r.stdout
    assert sorted(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(100, 10)]
    assert sorted(on_a(cluster, "SELECT id, amount FROM shop.orders")) == [(101, 21), (102, 31)]


def test_show_shards_and_metrics(keyed, cluster, dual):
    h, s, sock = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        for i in range(3):  # b
            cur.execute(f"INSERT INTO shop.orders (id, customer_id) VALUES ({i}, 7)")
        for i in range(2):  # a
            cur.execute(f"SELECT * FROM shop.orders WHERE customer_id = {8 + 34 * i}")
        # a read without a key runs on every group: a scatter there, not by key
        assert cur.execute("SELECT id FROM shop.orders") == 3
    sh = admin_json(sock, "show shards")
    g = {r["name"]: r for r in sh["groups"]}
    assert (g["a"]["by_key"], g["b"]["by_key"]) == (2, 3), g
    assert (g["a"]["scatters"], g["b"]["scatters"]) == (1, 1), g
    assert sh["tables"] == [
        {"table": "shop.orders", "key": "customer_id", "function": "hash", "buckets": 4096,
         "map": [{"group": "a", "first": 0, "last": 2047},
                 {"group": "b", "first": 2048, "last": 4095}]},
        {"table": "shop.events", "key": "id", "function": "range", "buckets": 0,
         "map": [{"group": "a", "below": 1000}, {"group": "b", "below": None}]},
    ], sh["tables"]
    assert sh["reference"] == ["shop.countries"]
    text = ctl(sock, "show shards").stdout
    assert "shop.orders     customer_id  hash 4096  b      buckets 2048-4095" in text, text
    assert "shop.events     id           range      b      the rest" in text, text
    assert "shop.countries  -            reference  every  all" in text, text
    mp = s["metrics_port"]
    assert metric(mp, 'halyard_shard_key_routed_total{group="b"}') == 3
    assert metric(mp, 'halyard_shard_key_routed_total{group="a"}') == 2
    assert metric(mp, 'halyard_shard_scatter_total{group="b"}') == 1


def test_reload_moves_buckets(keyed, cluster, dual):
    """A reload with another map: a session outside a transaction goes by
    the new map from its next statement; a broken map is refused at reload
    (file, line and key named) and the running one kept."""
    h, s, sock = keyed
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (1, 7)")  # b
    conf = open(h.conf_path).read()
    # every bucket on a (as after moving b's buckets there)
    moved = re.sub(r',\s*\{\s*group = "b";\s*buckets = "2048-4095";\s*\}', "",
                   conf.replace('buckets = "0-2047"', 'buckets = "0-4095"'))
    assert moved != conf and "2048-4095" not in moved, moved
    with open(h.conf_path, "w") as f:
        f.write(moved)
    r = ctl(sock, "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (2, 7)")  # now a
    assert ids(on_a(cluster, "SELECT id FROM shop.orders")) == {2}
    assert ids(on_b(dual, "SELECT id FROM shop.orders")) == {1}
    # broken: a bucket on no group
    lines = moved.replace('buckets = "0-4095"', 'buckets = "0-4094"').splitlines()
    at = next(i for i, l in enumerate(lines) if "map = (" in l)  # the first table's
    with open(h.conf_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = ctl(sock, "reload")
    got = r.stdout + r.stderr
    assert r.returncode == 1, got
    assert f"{h.conf_path}:{at + 1}: shards.tables.[0].map: bucket 4095 is on no group: the map " \
        "must cover 0-4095" in got, got
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (3, 7)")  # still a
    assert ids(on_a(cluster, "SELECT id FROM shop.orders")) == {2, 3}


def test_a_transaction_finishes_on_the_map_it_began_with(keyed, cluster, dual):
    """A reload that moves a bucket while a session's transaction is open
    there: the transaction's statements keep going to the old group until
    it ends (its rows commit together on b), the next ones go by the new
    map."""
    h, s, sock = keyed
    conn = h.connect(database="shop")
    with conn.cursor() as cur:
        cur.execute("SET autocommit = 0")
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (11, 7)")  # b
        conf = open(h.conf_path).read()
        moved = re.sub(r',\s*\{\s*group = "b";\s*buckets = "2048-4095";\s*\}', "",
                       conf.replace('buckets = "0-2047"', 'buckets = "0-4095"'))
        assert moved != conf
        with open(h.conf_path, "w") as f:
            f.write(moved)
        r = ctl(sock, "reload")
        assert r.returncode == 0, r.stdout + r.stderr
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (12, 7)")  # still b
        assert one(cur, "SELECT COUNT(*) FROM orders WHERE customer_id = 7") == (2,)
        cur.execute("COMMIT")
        assert ids(on_b(dual, "SELECT id FROM shop.orders")) == {11, 12}
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (13, 7)")  # now a
        cur.execute("COMMIT")
    assert ids(on_a(cluster, "SELECT id FROM shop.orders")) == {13}
    assert ids(on_b(dual, "SELECT id FROM shop.orders")) == {11, 12}


# ---- joins with reference tables ----------------------------------------
#
# Every group holds the whole reference table, so a read joining it with the
# sharded table by the key runs on that key's group, and without a key on
# every group, each joining its own sharded rows (the union is the join).
# Checked against the same query on an unsharded copy (schema shopcopy on
# group a only, read directly).

JOIN_ROWS = [(1, 7, 10, 1), (2, 8, 20, 2), (3, 42, 30, 1), (4, 7, 5, 2), (5, 8, 7, 3),
             (6, 42, -3, 2), (7, 7, 70, 1), (8, 8, 70, 1), (9, 42, 9, 3)]


def load_join_rows(h, cluster, dual):
    for sql in ("DROP DATABASE IF EXISTS shopcopy", "CREATE DATABASE shopcopy",
                "CREATE TABLE shopcopy.orders LIKE shop.orders",
                "CREATE TABLE shopcopy.countries LIKE shop.countries",
                "INSERT INTO shopcopy.countries SELECT * FROM shop.countries"):
        cluster.sql(0, sql)
    values = ", ".join(f"({i}, {c}, {a}, {k})" for i, c, a, k in JOIN_ROWS)
    cluster.sql(0, f"INSERT INTO shopcopy.orders (id, customer_id, amount, country) "
                   f"VALUES {values}")
    conn = h.connect()
    with conn.cursor() as cur:  # one INSERT split over both groups
        assert cur.execute(f"INSERT INTO shop.orders (id, customer_id, amount, country) "
                           f"VALUES {values}") == len(JOIN_ROWS)
    conn.close()
    cluster.sync()  # a keyed read may be served by a replica
    dual.sync()


JOIN_READS = [
    "SELECT o.id, c.name FROM {o} o JOIN {c} c ON c.id = o.country ORDER BY 1",
    "SELECT o.id, o.amount, c.name FROM {o} o LEFT JOIN {c} c ON c.id = o.country ORDER BY 1",
    "SELECT COUNT(*), SUM(o.amount), MIN(c.id), MAX(o.id) FROM {o} o JOIN {c} c "
    "ON c.id = o.country",
    "SELECT COUNT(*) FROM {c} c, {o} o WHERE c.id = o.country AND c.name = 'Japan'",
    "SELECT COUNT(*), SUM(o.amount) FROM {c} c JOIN {o} o ON o.country = c.id",
    "SELECT o.id AS i, c.name COLLATE utf8mb4_bin AS n FROM {o} o JOIN {c} c "
    "ON c.id = o.country "
    "ORDER BY n DESC, i LIMIT 4",
    "SELECT o.id, c.name FROM {o} o STRAIGHT_JOIN {c} c ON c.id = o.country "
    "WHERE o.customer_id IN (7, 8) ORDER BY 1",
]


@pytest.mark.parametrize("sql", JOIN_READS)
def test_reads_joining_a_reference_table_match_unsharded(keyed, cluster, dual, sql):
    h, _, _ = keyed
    load_join_rows(h, cluster, dual)
    want = [tuple(r) for r in cluster.sql(0, sql.format(o="shopcopy.orders",
                                                         c="shopcopy.countries"))]
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute(sql.format(o="shop.orders", c="shop.countries"))
        got = [tuple(r) for r in cur.fetchall()]
    assert [tuple(str(v) for v in r) for r in got] == [tuple(str(v) for v in r) for r in want]
    assert got, "the join has rows"


def test_reads_joining_a_reference_table_route_and_refuse(keyed, cluster, dual):
    h, _, sock = keyed
    load_join_rows(h, cluster, dual)
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    before = {r["name"]: r["scatters"] for r in admin_json(sock, "show shards")["groups"]}
    conn = h.connect()
    with conn.cursor() as cur:
        # with the key: that group alone (no scatter)
        r = one(cur, "SELECT COUNT(*), MIN(@@port) FROM shop.orders o JOIN shop.countries c "
                     "ON c.id = o.country WHERE o.customer_id = 7")
        assert r[0] == 3 and r[1] in b_ports, r
        sh = {r["name"]: r["scatters"] for r in admin_json(sock, "show shards")["groups"]}
        assert sh == before, (sh, before)
        # without: every group
        assert one(cur, "SELECT COUNT(*) FROM shop.orders o JOIN shop.countries c "
                        "ON c.id = o.country")[0] == 7
        sh = {r["name"]: r["scatters"] for r in admin_json(sock, "show shards")["groups"]}
        assert sh == {g: n + 1 for g, n in before.items()}, (sh, before)
        for sql, msg in [
            ("SELECT c.name, o.id FROM shop.countries c LEFT JOIN shop.orders o "
             "ON o.country = c.id",
             "halyard: SELECT joining sharded table orders with reference table countries by an "
             "outer join that keeps countries rows without a orders row would repeat them on "
             "every group: name orders.customer_id, or put orders first in LEFT JOINs"),
            ("SELECT o.id FROM shop.orders o JOIN shop.countries c ON c.id = o.country "
             "ORDER BY c.id",
             "halyard: a read of sharded table orders without a usable orders.customer_id runs "
             "on every group, whose answers halyard cannot merge exactly: ORDER BY c.id in a "
             "join: a qualified name may not be the selected column of that name; order by its "
             "position or alias"),
        ]:
            assert refused(cur, sql) == (1105, msg), sql


def test_writes_joining_a_reference_table(keyed, cluster, dual):
    """A write changing only the sharded table, by its key, runs on the key's
    group (the reference table there is the whole one); one that may change
    the reference table, or has no key, is refused."""
    h, _, _ = keyed
    load_join_rows(h, cluster, dual)
    conn = h.connect(database="shop")  # a multi-table DELETE needs a schema
    with conn.cursor() as cur:
        assert cur.execute("UPDATE shop.orders o JOIN shop.countries c ON c.id = o.country "
                           "SET o.amount = o.amount + 1000 WHERE o.customer_id = 7 "
                           "AND c.name = 'France'") == 2
        assert cur.execute("DELETE o FROM shop.orders o JOIN shop.countries c "
                           "ON c.id = o.country WHERE o.customer_id = 8 AND "
                           "c.name = 'Japan'") == 1
        for sql, msg in [
            ("UPDATE shop.orders o JOIN shop.countries c ON c.id = o.country SET c.name = 'X' "
             "WHERE o.customer_id = 7",
             "halyard: UPDATE naming sharded table orders and reference table countries may "
             "change countries, a copy on every group: write only orders's columns, qualified "
             "(orders.column or its alias)"),
            ("DELETE o, c FROM shop.orders o JOIN shop.countries c ON c.id = o.country "
             "WHERE o.customer_id = 7",
             "halyard: DELETE naming sharded table orders and reference table countries may "
             "change countries, a copy on every group: write only orders's columns, qualified "
             "(orders.column or its alias)"),
            ("UPDATE shop.orders o JOIN shop.countries c ON c.id = o.country "
             "SET o.amount = 0 WHERE c.name = 'France'",
             "halyard: UPDATE on sharded table orders needs orders.customer_id"),
            # DELETE ... USING: the tables after USING are read (this one used to
            # run on the session's group alone)
            ("DELETE FROM o USING shop.orders o WHERE o.amount = 10",
             "halyard: DELETE on sharded table orders needs orders.customer_id"),
        ]:
            assert refused(cur, sql) == (1105, msg), sql
    assert sorted(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(1, 1010), (4, 5),
                                                                       (7, 1070)]
    assert sorted(on_a(cluster, "SELECT id, amount FROM shop.orders")) == [
        (3, 30), (5, 7), (6, -3), (8, 70), (9, 9)]
    for srv in (cluster, dual):
        assert sorted(srv.sql(0, "SELECT id, name FROM shop.countries")) == [
            (1, "France"), (2, "Japan")]
