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
