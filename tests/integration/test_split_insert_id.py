"""LAST_INSERT_ID() after a multi-row INSERT that halyard splits over groups
(issue 15): as on one server, it is the first id the statement generated
(the first row, in the statement's order, that got one), the OK packet's
last insert id is the same, and a statement that generated none leaves it
as it was (its OK then carries the last row's own id). Before, the OK said
0 and LAST_INSERT_ID() gave an earlier statement's value.

The groups are test_key_shards.py's (customer 8 on a, 7 on b); shop.ai is
hashed by k the same way, its AUTO_INCREMENT id not the key, its counter
at 1000 on a and 5000 on b so that each group's ids are its own.
"""
import subprocess

import pytest

from test_key_shards import SCHEMA, TABLES
from test_shards import one, refused, start_sharded, two_groups
from test_core import client_bin
from util import APP_PASSWORD, APP_USER, free_port

AI = {"table": "shop.ai", "key": "k", "function": "hash", "buckets": 4096,
      "map": [{"group": "a", "buckets": "0-2047"}, {"group": "b", "buckets": "2048-4095"}]}
AI_SQL = "CREATE TABLE shop.ai (id BIGINT AUTO_INCREMENT PRIMARY KEY, k BIGINT NOT NULL, " \
         "v INT NOT NULL DEFAULT 0) AUTO_INCREMENT = {}"


REF_SQL = "CREATE TABLE shop.refai (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))"


def start_ai(start_halyard, cluster, dual, tmp_path, xa=False):
    for sql in SCHEMA + (AI_SQL.format(1000), REF_SQL):
        cluster.sql(0, sql)
    cluster.sync()
    for sql in SCHEMA + (AI_SQL.format(5000), REF_SQL, "GRANT ALL ON shop.* TO 'app'@'%'"):
        dual.sql(0, sql)
    dual.sync()
    port = free_port()
    s = two_groups(cluster, dual, tmp_path, port)
    s["shards"] = {"tables": TABLES + [AI], "reference": ["shop.countries", "shop.refai"]}
    if xa:
        s["shards"]["cross_group_transactions"] = "xa"
        s["shards"]["xa_log"] = str(tmp_path / "xa.log")
    return start_sharded(start_halyard, s, port)


@pytest.fixture
def aikeyed(start_halyard, cluster, dual, tmp_path):
    return start_ai(start_halyard, cluster, dual, tmp_path)


def id_of(node, v):
    """The id the group gave the row of value v."""
    return node.value(0, "SELECT id FROM shop.ai WHERE v = %s", (v,))


def lids(cur):
    return one(cur, "SELECT LAST_INSERT_ID(), @@last_insert_id, @@identity")


def test_last_insert_id_after_a_split_insert(aikeyed, cluster, dual):
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("SELECT LAST_INSERT_ID(77)")  # the client's own value first
        assert lids(cur) == (77, 77, 77)
        # one group: the server's own answer
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 1)")
        first = id_of(cluster, 1)
        assert first >= 1000 and c.insert_id() == first
        assert lids(cur) == (first,) * 3
        # split, its first row on b: b's first generated id
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (7, 2), (8, 3), (7, 4)")
        b2 = id_of(dual, 2)
        assert b2 >= 5000 and id_of(cluster, 3) >= 1000
        assert c.insert_id() == b2
        assert lids(cur) == (b2,) * 3
        # split, its first row on a
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 5), (7, 6)")
        a5 = id_of(cluster, 5)
        assert c.insert_id() == a5 and lids(cur) == (a5,) * 3
        # a statement on the session's group (a) that reads it with a table
        assert one(cur, "SELECT COUNT(*), LAST_INSERT_ID() FROM shop.ai WHERE k = 8") == (3, a5)
        # explicit ids only: unchanged; the OK has the last row's id
        cur.execute("INSERT INTO shop.ai (id, k, v) VALUES (900, 7, 7), (901, 8, 8)")
        assert c.insert_id() == 901
        assert lids(cur) == (a5,) * 3
        # explicit ids on b, generated on a: a's (the only group that generated)
        cur.execute("INSERT INTO shop.ai (id, k, v) VALUES (902, 7, 9), (NULL, 8, 10)")
        a10 = id_of(cluster, 10)
        assert c.insert_id() == a10 and lids(cur) == (a10,) * 3
        # the client sets it again: its value
        cur.execute("SELECT LAST_INSERT_ID(5)")
        assert lids(cur) == (5, 5, 5)


def test_the_server_does_the_same(cluster):
    """The rule above, on one server: explicit ids leave LAST_INSERT_ID()
    and the OK carries the last row's id; the first generated id wins."""
    # shop may not be there yet: each of the suite's workers runs some files only
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS shop")
    c = cluster.connect(0, database="shop", autocommit=True)
    with c.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS shop.ai1")
        cur.execute("CREATE TABLE shop.ai1 (id BIGINT AUTO_INCREMENT PRIMARY KEY, k BIGINT) "
                    "AUTO_INCREMENT = 100")
        cur.execute("SELECT LAST_INSERT_ID(77)")
        cur.execute("INSERT INTO shop.ai1 (id, k) VALUES (900, 7), (901, 8)")
        assert c.insert_id() == 901 and lids(cur) == (77, 77, 77)
        cur.execute("INSERT INTO shop.ai1 (id, k) VALUES (902, 7), (NULL, 8), (NULL, 9)")
        assert c.insert_id() == 903 and lids(cur) == (903,) * 3
        cur.execute("DROP TABLE shop.ai1")


def test_the_auto_increment_column_given(aikeyed, cluster, dual):
    """The INSERT names the auto-increment column: NULL and DEFAULT
    generate an id, a plain integer does not; halyard reads which row came
    first from the text (after asking the group which column it is)."""
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.ai (id, k, v) VALUES (NULL, 7, 21), (NULL, 8, 22)")
        b21 = id_of(dual, 21)
        assert c.insert_id() == b21 and lids(cur) == (b21,) * 3
        # a's row 0 gives its id; b's row 1 is the first to generate one
        cur.execute("INSERT INTO shop.ai (id, k, v) VALUES (903, 8, 24), (DEFAULT, 7, 25), "
                    "(NULL, 8, 26)")
        b25 = id_of(dual, 25)
        assert id_of(cluster, 24) == 903 and id_of(cluster, 26) > 903
        assert c.insert_id() == b25 and lids(cur) == (b25,) * 3


def test_not_known_is_refused_not_wrong(aikeyed, cluster, dual):
    """Rows on both groups generate ids and the first of them gives 0 (which
    generates one unless the sql_mode has NO_AUTO_VALUE_ON_ZERO): which row
    got the first id is not known to halyard, so a read of LAST_INSERT_ID()
    is refused until a statement generates one; the OK says 0."""
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 20)")
        cur.execute("INSERT INTO shop.ai (id, k, v) VALUES (0, 7, 21), (NULL, 8, 22)")
        assert c.insert_id() == 0
        code, msg = refused(cur, "SELECT LAST_INSERT_ID()")
        assert code == 1105 and "not known" in msg, msg
        refused(cur, "SELECT @@identity")
        cur.execute("SELECT 1")  # the session goes on
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 23)")
        assert lids(cur) == (id_of(cluster, 23),) * 3


def test_not_known_is_refused_to_a_prepared_statement(aikeyed, cluster, dual):
    """The same refusal for a SELECT LAST_INSERT_ID() prepared before and
    executed then (before, it read the older value)."""
    lines = ["QUERY INSERT INTO ai (k, v) VALUES (8, 24)",
             "SELECT LAST_INSERT_ID(), ?\ti:1",
             "QUERY INSERT INTO ai (id, k, v) VALUES (0, 7, 25), (NULL, 8, 26)",
             "AGAIN\ti:2",
             "QUERY INSERT INTO ai (k, v) VALUES (8, 27)", "AGAIN\ti:3"]
    r = subprocess.run([client_bin("ps_query"), "127.0.0.1", str(aikeyed.port), APP_USER,
                        APP_PASSWORD, "shop"],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    i = out.index("stmt\t4")
    assert f"row\t{id_of(cluster, 24)}\t1" in out[:i], out
    assert out[i + 1].startswith("error\t1105\tHY000\thalyard: LAST_INSERT_ID() is not known"), out
    assert out[-2:] == [f"row\t{id_of(cluster, 27)}\t3", "rows=1"], out


def test_a_write_naming_last_insert_id_on_several_groups_is_refused(aikeyed, cluster, dual):
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 30)")
        code, msg = refused(cur, "INSERT INTO shop.ai (k, v) VALUES (7, LAST_INSERT_ID()), "
                                 "(8, LAST_INSERT_ID())")
        assert code == 1105 and "LAST_INSERT_ID" in msg, msg
        assert dual.value(0, "SELECT COUNT(*) FROM shop.ai") == 0
        # on one group it runs there, with the session's value
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, LAST_INSERT_ID())")
        assert cluster.value(0, "SELECT MAX(v) FROM shop.ai") == id_of(cluster, 30)


def test_prepared_split_insert(aikeyed, cluster, dual):
    binary = client_bin("ps_query")
    lines = ["INSERT INTO ai (k, v) VALUES (?, ?), (?, ?)\ti:7\tl:40\ti:8\tl:41",
             "SELECT LAST_INSERT_ID()",
             "INSERT INTO ai (k, v) VALUES (?, ?), (?, ?)\ti:8\tl:42\ti:7\tl:43",
             "SELECT LAST_INSERT_ID()"]
    r = subprocess.run([binary, "127.0.0.1", str(aikeyed.port), APP_USER, APP_PASSWORD, "shop"],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    b40, a42 = id_of(dual, 40), id_of(cluster, 42)
    i = out.index("stmt\t2")
    assert out[1:3] == ["affected=2", f"insert_id={b40}"], out
    assert out[i + 2] == f"row\t{b40}", out
    j = out.index("stmt\t4")
    assert f"insert_id={a42}" in out[i:j], out
    assert out[j + 2] == f"row\t{a42}", out


def test_in_a_session_that_moves_between_groups(aikeyed, cluster, dual):
    """Statements on a, then on b, then the split: each connection the
    session has gets the value before its next statement. With
    pool_mode = "session" a move closes the connection that held the value
    (docs/sharding.md, Schema shards): it is read back before (the statement using it
    ended the session with 1927 before)."""
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 50)")   # a
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (7, 51)")   # b
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 52), (7, 53)")
        a52 = id_of(cluster, 52)
        assert one(cur, "SELECT v FROM shop.ai WHERE k = 7 AND v = 51") == (51,)  # on b
        assert lids(cur) == (a52,) * 3
        move = "SELECT v, LAST_INSERT_ID() FROM shop.ai WHERE k = 8 AND v = 50"
        assert one(cur, move) == (50, a52)



def test_xa_mode(start_halyard, cluster, dual, tmp_path):
    """With cross_group_transactions = "xa" the split runs as one XA
    transaction (a branch per group): LAST_INSERT_ID() after it is the
    same. Inside a transaction a split is refused, as any statement on
    several groups in one is, and LAST_INSERT_ID() stays the session's."""
    h = start_ai(start_halyard, cluster, dual, tmp_path, xa=True)
    c = h.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (7, 60), (8, 61)")
        b60 = id_of(dual, 60)
        assert c.insert_id() == b60 and lids(cur) == (b60,) * 3
        cur.execute("BEGIN")
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (8, 62)")
        code, msg = refused(cur, "INSERT INTO shop.ai (k, v) VALUES (7, 63), (8, 64)")
        assert code == 1105, msg
        got = lids(cur)
        cur.execute("COMMIT")
        a62 = id_of(cluster, 62)
        assert got == (a62,) * 3
        assert dual.value(0, "SELECT COUNT(*) FROM shop.ai WHERE v IN (63, 64)") == 0


def test_a_split_after_set_insert_id_is_refused(aikeyed, cluster, dual):
    """SET insert_id = N names the next generated id: each group's
    connection gets the session's variables, so each group would give N to
    its first row (one server gives N, N+1...). Refused, not run."""
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("SET insert_id = 7000")
        code, msg = refused(cur, "INSERT INTO shop.ai (k, v) VALUES (7, 70), (8, 71)")
        assert code == 1105 and "insert_id" in msg, msg
        assert cluster.value(0, "SELECT COUNT(*) FROM shop.ai") == 0
        assert dual.value(0, "SELECT COUNT(*) FROM shop.ai") == 0
        cur.execute("SET insert_id = 0")
        cur.execute("INSERT INTO shop.ai (k, v) VALUES (7, 70), (8, 71)")
        b70 = id_of(dual, 70)
        assert b70 < 7000 and lids(cur) == (b70,) * 3


def test_a_reference_tables_write(aikeyed, cluster, dual):
    """A write to a reference table runs on every group, each generating
    its own ids for the copies: LAST_INSERT_ID() is theirs when they agree,
    else not known (refused). Group a counts by 1, group b (the dual-master
    pair, auto_increment_increment 2, offset 1 on its active) by 2: the
    first row gets 1 on both, the second 2 on a and 3 on b."""
    c = aikeyed.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.refai (name) VALUES ('x')")
        assert cluster.value(0, "SELECT id FROM shop.refai WHERE name = 'x'") == 1
        assert dual.value(0, "SELECT id FROM shop.refai WHERE name = 'x'") == 1
        assert c.insert_id() == 1 and lids(cur) == (1, 1, 1)
        cur.execute("INSERT INTO shop.refai (name) VALUES ('y')")
        ids = (cluster.value(0, "SELECT id FROM shop.refai WHERE name = 'y'"),
               dual.value(0, "SELECT id FROM shop.refai WHERE name = 'y'"))
        assert ids == (2, 3), ids
        assert c.insert_id() == 0
        code, msg = refused(cur, "SELECT LAST_INSERT_ID()")
        assert code == 1105 and "different ids" in msg, msg
