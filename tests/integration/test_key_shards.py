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


def shop_schema(cluster, dual, extra=()):
    """shop (SCHEMA, then the statements of `extra`) on the replication
    group (a) and the dual-master group (b), app granted it on b,
    replicated within each group."""
    for sql in SCHEMA + tuple(extra):
        cluster.sql(0, sql)
    cluster.sync()
    for sql in SCHEMA + tuple(extra) + ("GRANT ALL ON shop.* TO 'app'@'%'",):
        dual.sql(0, sql)
    dual.sync()


@pytest.fixture
def keyed(start_halyard, cluster, dual, tmp_path):
    shop_schema(cluster, dual)
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
        # the transaction runs on the group of its first statement: a
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
    g = {r["group"]: r for r in sh["groups"]}
    assert (g["a"]["by_key"], g["b"]["by_key"]) == (2, 3), g
    assert (g["a"]["scatters"], g["b"]["scatters"]) == (1, 1), g
    assert sh["tables"] == [
        {"table": "shop.orders", "key": "customer_id", "type": "int", "collation": "",
         "function": "hash", "buckets": 4096,
         "map": [{"group": "a", "first": 0, "last": 2047},
                 {"group": "b", "first": 2048, "last": 4095}]},
        {"table": "shop.events", "key": "id", "type": "int", "collation": "",
         "function": "range", "buckets": 0,
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


IN_TRANS = 1  # SERVER_STATUS_IN_TRANS


def test_begin_runs_on_the_group_of_the_first_statement(keyed, cluster, dual):
    """USE shop (on group a), BEGIN, then statements by a key on group b:
    the BEGIN is answered by halyard and runs on b just before the first
    statement; the transaction commits there only (issue 15 item 5)."""
    h, _, _ = keyed
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    conn = h.connect(database="shop")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert conn.server_status & IN_TRANS
        cur.execute("INSERT INTO orders (customer_id, id, amount) VALUES (7, 1, 10)")  # b
        assert conn.server_status & IN_TRANS
        # (a statement naming no table would go to shop's group, a: refused)
        assert one(cur, "SELECT @@in_transaction, @@port FROM orders WHERE customer_id = 7")[0] == 1
        assert one(cur, "SELECT @@port FROM orders WHERE customer_id = 7")[0] in b_ports
        cur.execute("UPDATE orders SET amount = 11 WHERE customer_id = 7")
        # not committed yet: nobody else sees it
        assert list(on_b(dual, "SELECT id FROM shop.orders")) == []
        cur.execute("COMMIT")
        assert not conn.server_status & IN_TRANS
        assert one(cur, "SELECT @@in_transaction")[0] == 0
    assert list(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(1, 11)]
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []
    # START TRANSACTION with its characteristics, the same way
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE")
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (2, 7)")  # b
        on_b(dual, "INSERT INTO shop.orders (id, customer_id) VALUES (3, 7)")  # after it began
        cur.execute("SELECT id FROM orders WHERE customer_id = 7")
        assert ids(cur.fetchall()) == {1, 2}  # its snapshot: not 3
        cur.execute("COMMIT")
        cur.execute("START TRANSACTION READ ONLY")
        assert one(cur, "SELECT COUNT(*) FROM orders WHERE customer_id = 7")[0] == 3  # b
        assert refused(cur, "DELETE FROM orders WHERE customer_id = 7") == (
            1792, "Cannot execute statement in a READ ONLY transaction")
        cur.execute("ROLLBACK")
    assert ids(on_b(dual, "SELECT id FROM shop.orders")) == {1, 2, 3}


def test_begin_then_rollback_or_nothing(keyed, cluster, dual):
    """ROLLBACK undoes the transaction on its group; COMMIT or ROLLBACK
    right after BEGIN ends it with nothing run; a statement refused in it
    leaves it open on no group; BEGIN again replaces an empty one."""
    h, _, _ = keyed
    conn = h.connect(database="shop")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (1, 7)")  # b
        cur.execute("ROLLBACK")
        assert not conn.server_status & IN_TRANS
        for end in ("COMMIT", "ROLLBACK", "COMMIT WORK"):
            cur.execute("BEGIN")
            assert conn.server_status & IN_TRANS
            cur.execute(end)
            assert not conn.server_status & IN_TRANS
        cur.execute("BEGIN")
        # refused by key: the transaction stays open, on no group yet
        assert refused(cur, "UPDATE orders SET amount = 1")[0] == 1105
        assert conn.server_status & IN_TRANS
        cur.execute("BEGIN WORK")
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (2, 7)")  # b
        # a savepoint inside it, on b
        cur.execute("SAVEPOINT s1")
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (3, 7)")
        cur.execute("ROLLBACK TO SAVEPOINT s1")
        cur.execute("COMMIT")
    assert ids(on_b(dual, "SELECT id FROM shop.orders")) == {2}
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []
    # a SAVEPOINT (or any statement that stays) as the first statement
    # begins the transaction on the group the session is on: shop's, a
    with h.connect(database="shop").cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SAVEPOINT s0")
        assert refused(cur, "INSERT INTO orders (id, customer_id) VALUES (4, 7)")[0] == 1105
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (5, 8)")  # a
        cur.execute("ROLLBACK TO SAVEPOINT s0")
        cur.execute("COMMIT")
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []


def test_isolation_level_set_before_begin(keyed, cluster, dual):
    """SET TRANSACTION ISOLATION LEVEL (the next transaction only) before
    BEGIN applies to the transaction, on the group where it runs, and to
    that one only: a transaction after it, on a new connection, has the
    session's level again. Checked by behaviour: under READ COMMITTED a
    read sees a row another session committed meanwhile, under REPEATABLE
    READ (the default) it does not."""
    h, _, _ = keyed
    conn = h.connect(database="shop")

    def count(cur):
        return one(cur, "SELECT COUNT(*) FROM orders WHERE customer_id = 7")[0]  # b

    with conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cur.execute("BEGIN")
        assert count(cur) == 0
        on_b(dual, "INSERT INTO shop.orders (id, customer_id) VALUES (1, 7)")
        assert count(cur) == 1  # READ COMMITTED
        cur.execute("COMMIT")
        # to group a and back: the next transaction on b is on a new
        # connection, brought to the session's state
        one(cur, "SELECT COUNT(*) FROM orders WHERE customer_id = 8")
        cur.execute("BEGIN")
        assert count(cur) == 1
        on_b(dual, "INSERT INTO shop.orders (id, customer_id) VALUES (2, 7)")
        assert count(cur) == 1  # REPEATABLE READ
        cur.execute("COMMIT")
        assert count(cur) == 2


def test_a_deferred_transaction_crossing_over_is_refused(keyed, cluster, dual):
    """Bound to its first statement's group (b), the transaction is refused
    at the statement that crosses over to a, and stays open on b."""
    h, _, _ = keyed
    conn = h.connect(database="shop")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO orders (id, customer_id, amount) VALUES (1, 7, 10)")  # b
        assert refused(cur, "INSERT INTO orders (id, customer_id) VALUES (2, 8)") == (
            1105, "halyard: a transaction is open on group b; this statement is for group a (by "
                  "the key of table shop.orders): cross-group transactions are refused; the "
                  "transaction stays open on b")
        assert conn.server_status & IN_TRANS
        assert one(cur, "SELECT amount FROM orders WHERE customer_id = 7")[0] == 10
        assert list(on_b(dual, "SELECT id FROM shop.orders")) == []
        cur.execute("COMMIT")
    assert list(on_b(dual, "SELECT id FROM shop.orders")) == [(1,)]
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []


def test_begin_then_a_prepared_statement(keyed, cluster, dual, ps_client_bin):
    """BEGIN, then PREPARE (on the group the session is on, a) and EXECUTE
    with a key on b: the PREPARE does not begin the transaction, the
    EXECUTE does, on b."""
    h, _, _ = keyed
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "shop",
                        "keys_trx"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ps_client keys_trx failed: {r.stderr}\n{r.stdout}"
    assert r.stdout.splitlines() == ["ins\t200\t1"]
    assert list(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(200, 70)]
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == []


def test_begin_inside_a_transaction_commits_it(keyed, cluster, dual):
    """BEGIN inside a transaction open on a commits it there (the server's
    implicit commit); the next transaction begins on the group of its own
    first statement, b. With autocommit = 0 too."""
    h, _, _ = keyed
    conn = h.connect(database="shop")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (1, 8)")  # a
        cur.execute("START TRANSACTION")
        assert conn.server_status & IN_TRANS
        assert list(on_a(cluster, "SELECT id FROM shop.orders")) == [(1,)]  # committed
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (2, 7)")  # b
        cur.execute("COMMIT")
        assert not conn.server_status & IN_TRANS
    assert list(on_b(dual, "SELECT id FROM shop.orders")) == [(2,)]
    conn2 = h.connect(database="shop", autocommit=False)
    with conn2.cursor() as cur:
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (3, 7)")  # b
        cur.execute("BEGIN")
        assert list(on_b(dual, "SELECT id FROM shop.orders")) == [(2,), (3,)]
        cur.execute("INSERT INTO orders (id, customer_id) VALUES (4, 8)")  # a
        cur.execute("ROLLBACK")
    assert list(on_a(cluster, "SELECT id FROM shop.orders")) == [(1,)]


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
    before = {r["group"]: r["scatters"] for r in admin_json(sock, "show shards")["groups"]}
    conn = h.connect()
    with conn.cursor() as cur:
        # with the key: that group alone (no scatter)
        r = one(cur, "SELECT COUNT(*), MIN(@@port) FROM shop.orders o JOIN shop.countries c "
                     "ON c.id = o.country WHERE o.customer_id = 7")
        assert r[0] == 3 and r[1] in b_ports, r
        sh = {r["group"]: r["scatters"] for r in admin_json(sock, "show shards")["groups"]}
        assert sh == before, (sh, before)
        # without: every group
        assert one(cur, "SELECT COUNT(*) FROM shop.orders o JOIN shop.countries c "
                        "ON c.id = o.country")[0] == 7
        sh = {r["group"]: r["scatters"] for r in admin_json(sock, "show shards")["groups"]}
        assert sh == {g: n + 1 for g, n in before.items()}, (sh, before)
        # a table after STRAIGHT_JOIN is seen (it ran on one group, its rows only)
        assert one(cur, "SELECT COUNT(*) FROM shop.countries c STRAIGHT_JOIN shop.orders o "
                        "ON c.id = o.country")[0] == 7
        # STRAIGHT_JOIN is a join too: with a reference table merged...
        sql = ("SELECT COUNT(*), SUM(o.amount) FROM {o} o STRAIGHT_JOIN {c} c "
               "ON c.id = o.country WHERE o.customer_id IN (7, 8)")
        want = cluster.sql(0, sql.format(o="shopcopy.orders", c="shopcopy.countries"))
        got = one(cur, sql.format(o="shop.orders", c="shop.countries"))
        assert [tuple(str(v) for v in got)] == [tuple(str(v) for v in r) for r in want]
        for sql, msg in [
            # ... with another table (shopcopy is on group a only) refused
            ("SELECT COUNT(*) FROM shop.orders o STRAIGHT_JOIN shopcopy.countries c "
             "ON c.id = o.country",
             "halyard: a read of sharded table orders without a usable orders.customer_id runs "
             "on every group, whose answers halyard cannot merge exactly: a join: rows on "
             "different groups never meet"),
            ("SELECT c.name, o.id FROM shop.countries c LEFT JOIN shop.orders o "
             "ON o.country = c.id",
             "halyard: SELECT joining sharded table orders with reference table countries by an "
             "outer join that keeps countries rows without a matching orders row would repeat them on "
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
             "change countries, a copy on every group: write only the columns of orders, qualified "
             "(orders.column or its alias)"),
            ("DELETE o, c FROM shop.orders o JOIN shop.countries c ON c.id = o.country "
             "WHERE o.customer_id = 7",
             "halyard: DELETE naming sharded table orders and reference table countries may "
             "change countries, a copy on every group: write only the columns of orders, qualified "
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


# ---- string keys ----------------------------------------------------------
#
# shop.users by name, VARCHAR utf8mb4_bin (PAD SPACE: 'abc' = 'abc  ', so
# hashed as CRC32(RTRIM(name))); shop.codes by code, VARBINARY (binary:
# CRC32(code)); shop.tags by tag, utf8mb4_nopad_bin (CRC32(tag)). Each 4096
# buckets, 0-2047 on a, the rest on b, like shop.orders.

import zlib  # noqa: E402

from conftest import halyard_bin  # noqa: E402

STR_TABLES = [
    {"table": "shop.users", "key": "name", "type": "string", "collation": "utf8mb4_bin",
     "buckets": 4096,
     "map": [{"group": "a", "buckets": "0-2047"}, {"group": "b", "buckets": "2048-4095"}]},
    {"table": "shop.codes", "key": "code", "type": "string", "collation": "binary",
     "buckets": 4096,
     "map": [{"group": "a", "buckets": "0-2047"}, {"group": "b", "buckets": "2048-4095"}]},
    {"table": "shop.tags", "key": "tag", "type": "string", "collation": "utf8mb4_nopad_bin",
     "buckets": 4096,
     "map": [{"group": "a", "buckets": "0-2047"}, {"group": "b", "buckets": "2048-4095"}]},
]
STR_SCHEMA = (
    "CREATE TABLE shop.users (id BIGINT PRIMARY KEY, name VARCHAR(64) CHARACTER SET utf8mb4 "
    "COLLATE utf8mb4_bin NOT NULL, v INT NOT NULL DEFAULT 0)",
    "CREATE TABLE shop.codes (id BIGINT PRIMARY KEY, code VARBINARY(64) NOT NULL)",
    "CREATE TABLE shop.tags (id BIGINT PRIMARY KEY, tag VARCHAR(64) CHARACTER SET utf8mb4 "
    "COLLATE utf8mb4_nopad_bin NOT NULL)",
)
# many values: ASCII, case, trailing spaces, quotes and backslashes, and
# non-ASCII (2-, 3- and 4-byte UTF-8)
STR_VALUES = ([f"user{i}" for i in range(60)] +
              ["abc", "ABC", "abc  ", " abc", "O'Brien", 'say "hi"', "back\\slash", "tab\there",
               "pct\\%", "nul\0byte", "é", "Zoë", "naïve  ", "Ærøskøbing", "中文", "日本語 ",
               "😀", "emoji😀x", "ß", "İstanbul", "x" * 64])


def str_settings(cluster, dual, tmp_path, port):
    s = two_groups(cluster, dual, tmp_path, port, consistency="causal")
    s["shards"] = {"tables": TABLES + STR_TABLES, "reference": ["shop.countries"]}
    return s


def start_str(start_halyard, cluster, dual, tmp_path, settings):
    """shop with its string-keyed tables on both groups, and halyard in
    front of them with settings(cluster, dual, tmp_path, port)."""
    shop_schema(cluster, dual, STR_SCHEMA)
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    h = start_sharded(start_halyard, s, port)
    return h, s, s["admin_socket"]


@pytest.fixture
def strkeyed(start_halyard, cluster, dual, tmp_path):
    return start_str(start_halyard, cluster, dual, tmp_path, str_settings)


def insert_strings(conn, values, cluster, dual):
    """Row i of shop.users, shop.codes (its UTF-8 bytes) and shop.tags holds
    values[i], inserted through halyard on conn; replicated within each
    group. pymysql writes the literals with backslash escapes ('O\\'Brien')."""
    with conn.cursor() as cur:
        for i, v in enumerate(values):
            cur.execute("INSERT INTO shop.users (id, name) VALUES (%s, %s)", (i, v))
            cur.execute("INSERT INTO shop.codes (id, code) VALUES (%s, %s)",
                        (i, v.encode("utf-8")))
            cur.execute("INSERT INTO shop.tags (id, tag) VALUES (%s, %s)", (i, v))
    cluster.sync()
    dual.sync()


def bucket(b, pad):
    return zlib.crc32(b.rstrip(b" ") if pad else b) % 4096


def test_string_keys_hash_as_the_servers_crc32(strkeyed, cluster, dual):
    """Every value inserted through halyard is on the group whose buckets
    hold the server's own CRC32 of it (CRC32(RTRIM(name)) under the PAD
    SPACE utf8mb4_bin, CRC32(code) for binary and nopad), once; read back
    through halyard by its key, it is found (with its PAD SPACE equals)."""
    h, _, _ = strkeyed
    conn = h.connect()
    insert_strings(conn, STR_VALUES, cluster, dual)
    for table, col, rtrim in (("users", "name", True), ("codes", "code", False),
                              ("tags", "tag", False)):
        expr = f"CRC32(RTRIM({col})) % 4096" if rtrim else f"CRC32({col}) % 4096"
        a = on_a(cluster, f"SELECT id, {expr} FROM shop.{table}")
        b = on_b(dual, f"SELECT id, {expr} FROM shop.{table}")
        assert sorted(i for i, _ in a + b) == list(range(len(STR_VALUES))), table
        assert a and b, table
        assert all(int(k) <= 2047 for _, k in a), (table, a)
        assert all(int(k) >= 2048 for _, k in b), (table, b)
        # halyard's own hash agrees with the server's, value by value
        for i, k in a + b:
            v = STR_VALUES[i].encode("utf-8")
            assert bucket(v, rtrim) == int(k), (table, STR_VALUES[i])
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    sock = strkeyed[2]
    scatters = sum(g["scatters"] for g in admin_json(sock, "show shards")["groups"])
    with conn.cursor() as cur:
        for v in STR_VALUES:
            b = v.encode("utf-8")
            ports = a_ports if bucket(b, True) < 2048 else b_ports
            # PAD SPACE: 'abc', 'abc  ' (and 'abc ' written) are equal
            same = sum(1 for w in STR_VALUES if w.rstrip(" ") == v.rstrip(" "))
            n, port = one(cur, "SELECT COUNT(*), MAX(@@port) FROM shop.users WHERE name = %s",
                          (v + " ",))
            assert n == same and port in ports, (v, n, same, port)
            ports = a_ports if bucket(b, False) < 2048 else b_ports
            n, port = one(cur, "SELECT COUNT(*), MAX(@@port) FROM shop.tags WHERE tag = %s", (v,))
            assert n == 1 and port in ports, (v, n, port)
            n, port = one(cur, f"SELECT COUNT(*), MAX(@@port) FROM shop.codes WHERE code = "
                               f"X'{b.hex()}'")
            assert n == 1 and port in ports, (v, n, port)
            # pymysql writes bytes as _binary'...' (backslash escapes)
            n, port = one(cur, "SELECT COUNT(*), MAX(@@port) FROM shop.tags WHERE tag = %s", (b,))
            assert n == 1 and port in ports, (v, n, port)
    # each of those reads ran on one group, by its key (none on every group)
    assert sum(g["scatters"] for g in admin_json(sock, "show shards")["groups"]) == scatters
    # show shards names the key's type and collation
    t = {x["table"]: x for x in admin_json(sock, "show shards")["tables"]}
    assert (t["shop.users"]["type"], t["shop.users"]["collation"]) == ("string", "utf8mb4_bin")
    assert (t["shop.codes"]["type"], t["shop.codes"]["collation"]) == ("string", "binary")
    text = ctl(sock, "show shards").stdout
    assert re.search(r"shop\.users\s+name \(utf8mb4_bin\)\s+hash 4096\s+a\s+buckets 0-2047",
                     text), text


def test_string_key_literals(strkeyed, cluster, dual):
    """Escapes, NO_BACKSLASH_ESCAPES, introducers, another connection
    character set, numbers on a string key and strings on an integer key:
    each gives the rows the server's comparison gives, by key when halyard
    can say the bytes, else by a read of every group (a write refused)."""
    h, _, sock = strkeyed
    conn = h.connect()
    # 'Ã©' is on a (CRC32 % 4096 = 1453), 'é' (bytes C3 A9) on b (3390)
    rows = [(1, "a\\b"), (2, "a'b"), (3, "é"), (4, "42"), (5, "abc"), (6, "Ã©"),
            (7, "pct\\%"), (8, "nul\0\t\x1a")]
    with conn.cursor() as cur:
        for i, v in rows:
            cur.execute("INSERT INTO shop.users (id, name) VALUES (%s, %s)", (i, v))
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (1, 42)")
    cluster.sync()
    dual.sync()

    def scatters():
        return sum(g["scatters"] for g in admin_json(sock, "show shards")["groups"])

    def check(cur, sql, want_id, keyed=True):
        before = scatters()
        assert one(cur, sql) == (want_id,), sql
        assert (scatters() == before) == keyed, (sql, keyed)

    with conn.cursor() as cur:
        check(cur, "SELECT id FROM shop.users WHERE name = 'a\\\\b'", 1)
        check(cur, "SELECT id FROM shop.users WHERE name = 'a\\'b'", 2)
        check(cur, "SELECT id FROM shop.users WHERE name = 'a''b'", 2)
        check(cur, "SELECT id FROM shop.users WHERE name = 'pct\\%'", 7)  # \% keeps its \\
        check(cur, "SELECT id FROM shop.users WHERE name = 'nul\\0\\t\\Z'", 8)
        check(cur, "SELECT id FROM shop.users WHERE name = \"a'b\"", 2)
        check(cur, "SELECT id FROM shop.users WHERE name = _utf8mb4'é'", 3)
        check(cur, "SELECT id FROM shop.users WHERE name = X'C3A9'", 3)
        check(cur, "SELECT id FROM shop.users WHERE name = 0x616263", 5)
        check(cur, "SELECT id FROM shop.users WHERE name = _binary'abc  '", 5)
        # a number compares with a string column as a number: every group
        check(cur, "SELECT id FROM shop.users WHERE name = 42", 4, keyed=False)
        # a string on the integer key is its number ('042' = 42)
        check(cur, "SELECT id FROM shop.orders WHERE customer_id = '042'", 1)
        cur.execute("SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
        check(cur, "SELECT id FROM shop.users WHERE name = 'a\\b'", 1)
        cur.execute("SET sql_mode = DEFAULT")
        assert refused(cur, "UPDATE shop.users SET v = 1 WHERE name = 42") == (
            1105, "halyard: UPDATE on sharded table users needs users.name")
        assert refused(cur, "INSERT INTO shop.users (id, name) VALUES (9, 7)") == (
            1105, "halyard: INSERT on sharded table users needs users.name as a string literal "
                  "in every row")
    # a latin1 connection: 'é' is sent as the byte E9 and converted by the
    # server; halyard does not hash that byte, it reads every group
    lat = h.connect(charset="latin1")
    with lat.cursor() as cur:
        check(cur, "SELECT id FROM shop.users WHERE name = 'é'", 3, keyed=False)
        # sent as C3 A9, which the server reads as latin1 'Ã©': hashing those
        # bytes as utf8mb4 ('é') would look on b, where no row matches
        check(cur, "SELECT id FROM shop.users WHERE name = 'Ã©'", 6, keyed=False)
        check(cur, "SELECT id FROM shop.users WHERE name = 'abc'", 5)
        assert refused(cur, "DELETE FROM shop.users WHERE name = 'é'") == (
            1105, "halyard: DELETE on sharded table users needs users.name")
    # the same in a utf8mb4 session after SET NAMES latin1
    with conn.cursor() as cur:
        cur.execute("SET NAMES latin1")
    conn.encoding = "latin1"
    with conn.cursor() as cur:
        check(cur, "SELECT id FROM shop.users WHERE name = 'é'", 3, keyed=False)
        check(cur, "SELECT id FROM shop.users WHERE name = 'Ã©'", 6, keyed=False)
    assert ids(on_a(cluster, "SELECT id FROM shop.users")) | \
        ids(on_b(dual, "SELECT id FROM shop.users")) == {1, 2, 3, 4, 5, 6, 7, 8}
    assert 6 in ids(on_a(cluster, "SELECT id FROM shop.users"))


def test_string_key_prepared_parameters(strkeyed, cluster, dual, ps_client_bin):
    """COM_STMT_EXECUTE with a string key parameter (MYSQL_TYPE_STRING in
    the session's character set, MYSQL_TYPE_BLOB as bytes) runs on the
    group of its bytes' CRC32; an integer parameter on a string key is no
    key (a write is refused)."""
    h, _, _ = strkeyed
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    vals = [("s", v) for v in STR_VALUES if "\0" not in v] + \
        [("b", v) for v in ("blob1", "zoë", "x  ")]
    stdin = "".join(f"{k} {v.encode('utf-8').hex()}\n" for k, v in vals)
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "shop",
                        "strkeys"], input=stdin, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ps_client strkeys failed: {r.stderr}\n{r.stdout}"
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    sel = [x for x in lines if x[0] == "sel"]
    assert len(sel) == len(vals)
    for (_, v), (_, n, count, port) in zip(vals, sel):
        b = v.encode("utf-8")
        same = sum(1 for _, w in vals[:int(n)] if w.rstrip(" ") == v.rstrip(" "))
        assert int(count) == same, (v, count, same)
        assert int(port) in (a_ports if bucket(b, True) < 2048 else b_ports), (v, port)
    assert [x[1:] for x in lines if x[0] == "error"] == [
        ["1105", "HY000", "halyard: DELETE on sharded table users needs a string users.name in "
                          "its parameter 1"]], r.stdout
    # each row on its group
    a = on_a(cluster, "SELECT id, CRC32(RTRIM(name)) % 4096 FROM shop.users")
    b = on_b(dual, "SELECT id, CRC32(RTRIM(name)) % 4096 FROM shop.users")
    assert len(a) + len(b) == len(vals) and a and b
    assert all(int(k) <= 2047 for _, k in a) and all(int(k) >= 2048 for _, k in b)


def test_string_key_literals_in_prepared_text(strkeyed, cluster, dual, ps_client_bin):
    """A key literal written in a prepared statement's text is read as the
    server read the text at its PREPARE: 'a\\b' prepared under
    NO_BACKSLASH_ESCAPES is the bytes a, \\, b though first executed after
    SET sql_mode = DEFAULT; a non-ASCII 'é' is a key (an UPDATE by it runs
    on its group, a SELECT reads there alone) while the session's
    character set is the PREPARE's, and is refused after SET NAMES latin1
    (MariaDB may read the text again in the new set), a key again after
    SET NAMES utf8mb4."""
    h, _, sock = strkeyed
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    conn = h.connect()
    with conn.cursor() as cur:
        # 'a\b' (CRC32 % 4096 = 2601) and 'é' (3390) are b's; 'a\x08' (43) and
        # latin1 'Ã©' (1453) a's
        for i, v in [(1, "a\\b"), (2, "é"), (3, "a\b"), (4, "Ã©")]:
            cur.execute("INSERT INTO shop.users (id, name) VALUES (%s, %s)", (i, v))
    cluster.sync()
    dual.sync()
    assert ids(on_b(dual, "SELECT id FROM shop.users")) == {1, 2}

    def scatters():
        return sum(g["scatters"] for g in admin_json(sock, "show shards")["groups"])

    before = scatters()
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "shop",
                        "strlits"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ps_client strlits failed: {r.stderr}\n{r.stdout}"
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    bs = [x for x in lines if x[0] == "bs"]
    assert len(bs) == 1 and bs[0][1] == "1" and int(bs[0][2]) in b_ports, lines
    assert [x for x in lines if x[0] == "upd"] == [["upd", "1"]], lines
    sel = [x for x in lines if x[0] == "sel"]
    assert len(sel) == 2, lines
    for x in sel:
        assert (x[1], int(x[2]) in b_ports, x[3]) == ("1", True, "1"), lines
    msg = ("halyard: sharded table users: the prepared statement's name literal is not ASCII and "
           "the character set changed since its PREPARE: prepare it again")
    assert [x[1:] for x in lines if x[0] == "error"] == [["1105", "HY000", msg]] * 2, lines
    assert scatters() == before, "each by its key, none on every group"
    assert sorted(on_b(dual, "SELECT id, v FROM shop.users")) == [(1, 0), (2, 1)]
    assert sorted(on_a(cluster, "SELECT id, v FROM shop.users")) == [(3, 0), (4, 0)]


def test_sql_prepare_and_execute_immediate(strkeyed, cluster, dual):
    """SQL PREPARE ... FROM and EXECUTE IMMEDIATE are decided by the
    statement in their string: EXECUTE IMMEDIATE by one key runs on its
    group, without a key is refused as the statement would be; a PREPARE
    naming a sharded table is refused (its EXECUTE ... USING @v would not
    go by the key; before, it ran on the session's group: a keyless DELETE
    there, a read of the wrong group), and so is one from a user variable,
    whose text halyard cannot see; one of a reference table's read runs."""
    h, _, _ = strkeyed
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.users (id, name) VALUES (1, 'é')")  # b
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (1, 7, 10)")  # b
        # the session is left on a
        cur.execute("INSERT INTO shop.orders (id, customer_id, amount) VALUES (2, 8, 20)")
        cur.execute("EXECUTE IMMEDIATE 'UPDATE shop.orders SET amount = 70 WHERE customer_id = 7'")
        assert cur.rowcount == 1
        assert one(cur, "EXECUTE IMMEDIATE 'SELECT amount, @@port FROM shop.orders WHERE "
                        "customer_id = ''007'''")[1] in b_ports
        for sql, msg in [
            ("EXECUTE IMMEDIATE 'DELETE FROM shop.orders'",
             "halyard: DELETE on sharded table orders needs orders.customer_id"),
            ("EXECUTE IMMEDIATE 'SELECT COUNT(*) FROM shop.orders'",
             "halyard: EXECUTE IMMEDIATE on sharded table orders would run on every group, "
             "which it does not do: send the statement itself"),
            ("PREPARE s FROM 'SELECT COUNT(*) FROM shop.users WHERE name = ''é'''",
             "halyard: PREPARE ... FROM naming sharded table users is not supported: its "
             "EXECUTE would not go by the key; use the binary protocol's prepared statements "
             "(COM_STMT_PREPARE)"),
            ("PREPARE d FROM 'DELETE FROM shop.orders WHERE customer_id = ?'",
             "halyard: PREPARE ... FROM naming sharded table orders is not supported: its "
             "EXECUTE would not go by the key; use the binary protocol's prepared statements "
             "(COM_STMT_PREPARE)"),
        ]:
            assert refused(cur, sql) == (1105, msg), sql
        # nothing was prepared: the server does not know s
        assert refused(cur, "EXECUTE s")[0] == 1243
        cur.execute("SET @q = 'DELETE FROM shop.orders'")
        assert refused(cur, "PREPARE d FROM @q") == (
            1105, "halyard: PREPARE ... FROM a user variable, an expression or a text longer "
                  "than 8192 bytes is not supported on a listener with sharded tables: halyard "
                  "cannot see the tables it names; write the text as a string literal")
        cur.execute("PREPARE c FROM 'SELECT name FROM shop.countries WHERE id = 2'")
        assert one(cur, "EXECUTE c") == ("Japan",)
    assert sorted(on_b(dual, "SELECT id, amount FROM shop.orders")) == [(1, 70)]
    assert sorted(on_a(cluster, "SELECT id, amount FROM shop.orders")) == [(2, 20)]


def test_string_key_collation_refused_at_load_and_reload(strkeyed, cluster, dual, tmp_path):
    """A collation under which other bytes compare equal is refused, with
    file, line and key, at reload (the running map kept) and at load."""
    h, s, sock = strkeyed
    conf = open(h.conf_path).read()
    assert conf.count('collation = "utf8mb4_bin"') == 1
    lines = conf.splitlines()
    at = next(i for i, line in enumerate(lines) if 'collation = "utf8mb4_bin"' in line)
    for bad in ("utf8mb4_general_ci", "utf8mb4_unicode_ci", "latin1_swedish_ci",
                "utf8mb4_unicode_nopad_ci"):
        with open(h.conf_path, "w") as f:
            f.write(conf.replace('collation = "utf8mb4_bin"', f'collation = "{bad}"'))
        r = ctl(sock, "reload")
        got = r.stdout + r.stderr
        assert r.returncode == 1, got
        assert (f"{h.conf_path}:{at + 1}: shards.tables.[2].collation: \"{bad}\" is not a "
                "collation halyard can route by: under it values with other bytes may be equal "
                "('a' = 'A'...), and would be on other groups; use binary, <charset>_bin or "
                "<charset>_nopad_bin (charset utf8mb4, utf8mb3, latin1 or ascii)") in got, got
    # the running map is kept
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.users (id, name) VALUES (1, 'abc')")
    assert ids(on_a(cluster, "SELECT id FROM shop.users")) == {1}  # CRC32('abc') % 4096 = 450
    # at load
    path = tmp_path / "bad.conf"
    path.write_text(conf.replace('collation = "utf8mb4_bin"', 'collation = "utf8mb4_general_ci"'))
    r = subprocess.run([halyard_bin(), "-t", "-c", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert f"{path}:{at + 1}: shards.tables.[2].collation: \"utf8mb4_general_ci\" is not a " \
        "collation halyard can route by" in r.stdout + r.stderr, r.stdout + r.stderr


# ---- range maps on string keys ---------------------------------------------
#
# The same tables as above (STR_SCHEMA), by range: shop.users (utf8mb4_bin,
# PAD SPACE: 'a' = 'a ', 'a\t' < 'a', '\t' < ''), shop.tags
# (utf8mb4_nopad_bin: 'a' < 'a\t' < 'a '), shop.codes (VARBINARY: bytes).

RANGE_BOUNDS = {  # table: (key, collation, [(group, below), ..., (group, None)])
    "users": ("name", "utf8mb4_bin",
              [("a", ""), ("b", "a"), ("a", "m"), ("b", "é"), ("a", "中"), ("b", None)]),
    "tags": ("tag", "utf8mb4_nopad_bin", [("a", "a "), ("b", "n"), ("a", None)]),
    "codes": ("code", "binary", [("a", "m"), ("b", "é"), ("a", None)]),
}
RANGE_TABLES = [
    {"table": f"shop.{t}", "key": k, "type": "string", "collation": coll, "function": "range",
     "map": [{"group": g, "below": b} if b is not None else {"group": g} for g, b in spans]}
    for t, (k, coll, spans) in RANGE_BOUNDS.items()]
# the bounds themselves, around them, trailing spaces, control characters,
# the empty string, non-ASCII
RANGE_VALUES = STR_VALUES + [v for v in (
    "", " ", "   ", "\t", " \t", "\x1f", "!", "a", "a ", "a  ", "a\t", "a\x01", "Z", "lzzz", "m",
    "m ", "m\t", "n", "n ", "è", "é", "é ", "é\t", "ê", "中", "中 ", "丫", "\x7f", "~~")
    if v not in STR_VALUES]


def pad_count(*keys):
    """Rows of RANGE_VALUES equal to one of keys under PAD SPACE."""
    return sum(1 for w in RANGE_VALUES if w.rstrip(" ") in {k.rstrip(" ") for k in keys})


def str_range_settings(cluster, dual, tmp_path, port):
    s = two_groups(cluster, dual, tmp_path, port, consistency="causal")
    s["shards"] = {"tables": TABLES + RANGE_TABLES, "reference": ["shop.countries"]}
    return s


@pytest.fixture
def strranged(start_halyard, cluster, dual, tmp_path):
    return start_str(start_halyard, cluster, dual, tmp_path, str_range_settings)


def lit(table, b):
    """A value as an SQL literal of the column's character set and collation."""
    _, coll, _ = RANGE_BOUNDS[table]
    if coll == "binary":
        return f"_binary X'{b.hex()}'"
    return f"_utf8mb4 X'{b.hex()}' COLLATE {coll}"


def server_group(srv, table, b):
    """The group of value bytes b by the server's own comparison with the
    bounds under the column's collation (the first entry it is below)."""
    _, _, spans = RANGE_BOUNDS[table]
    whens = " ".join(f"WHEN {lit(table, b)} < {lit(table, bound.encode())} THEN {i}"
                     for i, (_, bound) in enumerate(spans) if bound is not None)
    i = int(srv.sql(0, f"SELECT CASE {whens} ELSE {len(spans) - 1} END")[0][0])
    return spans[i][0]


def span_sql(table, i):
    """The DBA's selection of map entry i's rows (docs/sharding.md: Key shards)."""
    col, _, spans = RANGE_BOUNDS[table]
    lo = spans[i - 1][1] if i > 0 else None
    hi = spans[i][1]
    conds = ([f"{col} >= {lit(table, lo.encode())}"] if lo is not None else []) + \
            ([f"{col} < {lit(table, hi.encode())}"] if hi is not None else [])
    return f"SELECT id FROM shop.{table} WHERE " + " AND ".join(conds)


def test_string_range_maps_follow_the_servers_order(strranged, cluster, dual):
    """Every value inserted through halyard is on the group of the map entry
    the server's own comparison under the column's collation puts it in
    (CASE WHEN v < bound ...), once; the DBA's `key >= lo AND key < hi`
    on each group selects exactly its rows; each is read back by its key on
    that group alone, and IN on one entry runs there too."""
    h, _, sock = strranged
    conn = h.connect()
    insert_strings(conn, RANGE_VALUES, cluster, dual)
    srv = {"a": lambda sql: on_a(cluster, sql), "b": lambda sql: on_b(dual, sql)}
    for table in RANGE_BOUNDS:
        on = {g: ids(srv[g](f"SELECT id FROM shop.{table}")) for g in ("a", "b")}
        assert not on["a"] & on["b"], table
        assert on["a"] | on["b"] == set(range(len(RANGE_VALUES))), table
        assert on["a"] and on["b"], table
        for i, v in enumerate(RANGE_VALUES):
            want = server_group(cluster, table, v.encode("utf-8"))
            assert i in on[want], (table, v, want)
        # the documented selection of an entry's rows, on its group
        _, _, spans = RANGE_BOUNDS[table]
        for g in ("a", "b"):
            got = set()
            for i, (sg, _) in enumerate(spans):
                if sg == g:
                    got |= ids(srv[g](span_sql(table, i)))
            assert got == on[g], (table, g)
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    ports = {"a": a_ports, "b": b_ports}

    def scatters():
        return sum(g["scatters"] for g in admin_json(sock, "show shards")["groups"])

    before = scatters()
    with conn.cursor() as cur:
        for v in RANGE_VALUES:
            b = v.encode("utf-8")
            g = server_group(cluster, "users", b)
            same = pad_count(v)
            n, port = one(cur, "SELECT COUNT(*), MAX(@@port) FROM shop.users WHERE name = %s",
                          (v,))
            assert n == same and port in ports[g], (v, n, same, port, g)
            g = server_group(cluster, "tags", b)
            n, port = one(cur, "SELECT COUNT(*), MAX(@@port) FROM shop.tags WHERE tag = %s", (v,))
            assert n == 1 and port in ports[g], (v, n, port, g)
            g = server_group(cluster, "codes", b)
            n, port = one(cur, f"SELECT COUNT(*), MAX(@@port) FROM shop.codes WHERE code = "
                               f"X'{b.hex()}'")
            assert n == 1 and port in ports[g], (v, n, port, g)
        # IN with every value in one entry: that group
        n, port = one(cur, "SELECT COUNT(*), MAX(@@port) FROM shop.users WHERE name IN "
                           "('b', 'lzzz', 'a  ')")
        assert (n, port in a_ports) == (pad_count("b", "lzzz", "a"), True)
    assert scatters() == before, "each read by its key on one group"
    with conn.cursor() as cur:
        # values of two entries: every group, merged; a write is refused
        assert one(cur, "SELECT COUNT(*) FROM shop.users WHERE name IN ('b', 'n')")[0] == \
            pad_count("b", "n")
        assert scatters() > before
        assert refused(cur, "DELETE FROM shop.users WHERE name IN ('b', 'n')") == (
            1105, "halyard: DELETE on sharded table users: its users.name values are on more "
                  "than one group")
        # a range predicate is no key (as for integer range maps): every group
        assert one(cur, "SELECT COUNT(*) FROM shop.users WHERE name >= 'a' AND name < 'm'")[0] \
            == len(ids(on_a(cluster, span_sql("users", 2))))
        # a multi-row INSERT across entries is split by group
        cur.execute("INSERT INTO shop.users (id, name) VALUES (1000, 'b'), (1001, 'n')")
    assert 1000 in ids(on_a(cluster, "SELECT id FROM shop.users"))
    assert 1001 in ids(on_b(dual, "SELECT id FROM shop.users"))
    # show shards: each bound as configured (text), its bytes (--json)
    t = {x["table"]: x for x in admin_json(sock, "show shards")["tables"]}
    m = t["shop.users"]["map"]
    assert t["shop.users"]["function"] == "range"
    assert [(e["group"], e.get("below")) for e in m] == [
        (g, b) for g, b in RANGE_BOUNDS["users"][2]]
    assert m[3]["below_hex"] == "c3a9"
    text = ctl(sock, "show shards").stdout
    assert re.search(r"shop\.users\s+name \(utf8mb4_bin\)\s+range\s+b\s+below 'é'", text), text


def test_string_range_prepared_parameters(strranged, cluster, dual, ps_client_bin):
    """COM_STMT_EXECUTE with a string key parameter on a range-mapped key
    runs on the group of the entry the server's comparison puts it in."""
    h, _, _ = strranged
    ports = {"a": {n["port"] for n in cluster.nodes},
             "b": {dual.nodes[0]["port"], dual.nodes[1]["port"]}}
    vals = [("s", v) for v in RANGE_VALUES if "\0" not in v] + \
        [("b", v) for v in ("blob1", "zoë", "a  ", "")]
    stdin = "".join(f"{k} {v.encode('utf-8').hex()}\n" for k, v in vals)
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "shop",
                        "strkeys"], input=stdin, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ps_client strkeys failed: {r.stderr}\n{r.stdout}"
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    sel = [x for x in lines if x[0] == "sel"]
    assert len(sel) == len(vals)
    for (_, v), (_, n, count, port) in zip(vals, sel):
        same = sum(1 for _, w in vals[:int(n)] if w.rstrip(" ") == v.rstrip(" "))
        assert int(count) == same, (v, count, same)
        g = server_group(cluster, "users", v.encode("utf-8"))
        assert int(port) in ports[g], (v, port, g)
    assert [x[1:] for x in lines if x[0] == "error"] == [
        ["1105", "HY000", "halyard: DELETE on sharded table users needs a string users.name in "
                          "its parameter 1"]], r.stdout
    a = ids(on_a(cluster, "SELECT id FROM shop.users"))
    b = ids(on_b(dual, "SELECT id FROM shop.users"))
    assert len(a) + len(b) == len(vals) and a and b and not a & b


def test_string_range_bounds_refused_at_load_and_reload(strranged, cluster, dual, tmp_path):
    """A bound not above the previous one under the collation ('a  ' after
    '' and before 'm' is 'a' under PAD SPACE: equal to the bound before),
    or not text of the column's character set, is refused with file, line
    and key at reload (the running map kept) and at load."""
    h, _, sock = strranged
    conf = open(h.conf_path).read()
    lines = conf.splitlines()
    at = next(i for i, line in enumerate(lines) if 'below = "m"' in line)
    assert conf.count('below = "m"') == 2  # users (map entry 2), codes (entry 0)
    cases = [
        (conf.replace('below = "m"', 'below = "a  "', 1),
         f'{h.conf_path}:{at + 1}: shards.tables.[2].map.[2].below: "a  " is not above the '
         'previous bound "a" under utf8mb4_bin (PAD SPACE: trailing spaces do not count)'),
        (conf.replace('below = "m"', 'below = 5', 1),
         f"{h.conf_path}:{at + 1}: shards.tables.[2].map.[2].below: a string key's bound is a "
         "string in the column's character set (utf8mb4_bin), e.g. below = \"m\""),
        (conf.replace('collation = "utf8mb4_bin"', 'collation = "ascii_bin"', 1),
         ": shards.tables.[2].map.[3].below: \"??\" is no value of the key column (ascii_bin): "
         "not ASCII"),
    ]
    for text, want in cases:
        with open(h.conf_path, "w") as f:
            f.write(text)
        r = ctl(sock, "reload")
        got = r.stdout + r.stderr
        assert r.returncode == 1, got
        assert want in got, got
    # the running map is kept: 'n' is b's
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop.users (id, name) VALUES (1, 'n')")
    assert ids(on_b(dual, "SELECT id FROM shop.users")) == {1}
    path = tmp_path / "bad.conf"
    path.write_text(cases[0][0])
    r = subprocess.run([halyard_bin(), "-t", "-c", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert f'{path}:{at + 1}: shards.tables.[2].map.[2].below: "a  " is not above' in \
        r.stdout + r.stderr, r.stdout + r.stderr
