"""Session variables a statement moves without a SET, replayed on the
session's other connections: insert_id (forgotten by the statement that
generates an id with it) and rand_seed1/rand_seed2 (RAND()'s state, moved on
by each RAND()). halyard reads them back after each statement while the
session's state holds them; before, it replayed them as set: the next
connection gave the same id again (a duplicate key, or a wrong id) and the
same random numbers again.

Each sequence runs directly on one server and through halyard, and the
answers must be the same: on a sharded listener (two groups: the session's
connection to each group is one of its connections, in both pool modes) and
on a pooled one (pool_mode = "transaction", another session holding the
connection the first one used).
"""
import subprocess

import pymysql
from pymysql.constants import CLIENT
import pytest

from test_core import client_bin
from test_shards import make_schemas, settings, start_sharded
from util import APP_PASSWORD, APP_USER, free_port, no_app_threads

AI = "CREATE TABLE {}.ai (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)"
RND = "CREATE TABLE {}.r (id INT PRIMARY KEY)"


def run(conn, steps):
    """Each step's answer: the rows of a query, or ('ERR', code); an INSERT's
    row as (its insert id,)."""
    out = []
    with conn.cursor() as cur:
        for sql in steps:
            try:
                cur.execute(sql)
                rows = cur.fetchall()
                if sql.startswith("INSERT"):
                    rows = ((cur.lastrowid,),)
                out.append((sql, tuple(tuple(r) for r in rows)))
            except pymysql.MySQLError as e:
                out.append((sql, ("ERR", e.args[0])))
    return out


def norm(out, a, b):
    """The answers with schemas a and b named X and Y (error messages too)."""
    return repr(out).replace(f"{a}.", "X.").replace(f"{b}.", "Y.")


def direct(cluster, db1, db2):
    """A connection to group a's primary, with tables ai and r made afresh in
    schemas db1 and db2 there (the whole sequence on one server)."""
    for db in (db1, db2):
        cluster.sql(0, f"DROP DATABASE IF EXISTS {db}")
        cluster.sql(0, f"CREATE DATABASE {db}")
        cluster.sql(0, AI.format(db))
        cluster.sql(0, RND.format(db))
        cluster.sql(0, f"INSERT INTO {db}.r VALUES (1)")
    return pymysql.connect(host="127.0.0.1", port=cluster.primary_port, user=APP_USER,
                           password=APP_PASSWORD, autocommit=True)


def insert_id_steps(a, b):
    """insert_id set, then used on `a`'s table, then `b`'s; explicit ids,
    a failed INSERT, a SELECT in between, read back after each."""
    return [
        # group b is a dual-master pair (ids 2 apart): the same everywhere
        "SET auto_increment_increment = 2, auto_increment_offset = 1",
        "SET insert_id = 100", "SELECT @@insert_id",
        f"SELECT COUNT(*) FROM {a}.ai", "SELECT @@insert_id",
        f"INSERT INTO {a}.ai (v) VALUES (1)", "SELECT @@insert_id, LAST_INSERT_ID()",
        f"INSERT INTO {b}.ai (v) VALUES (2)", "SELECT @@insert_id, LAST_INSERT_ID()",
        # explicit ids do not use it: still there for b
        "SET insert_id = 200", f"INSERT INTO {a}.ai (id, v) VALUES (5, 3)",
        "SELECT @@insert_id", f"INSERT INTO {b}.ai (v) VALUES (4), (5)",
        "SELECT @@insert_id, LAST_INSERT_ID()", f"INSERT INTO {a}.ai (v) VALUES (6)",
        # a failed INSERT that generated it: used all the same
        "SET insert_id = 100", f"INSERT INTO {a}.ai (v) VALUES (7)", "SELECT @@insert_id",
        f"INSERT INTO {b}.ai (v) VALUES (8)", "SELECT @@insert_id, LAST_INSERT_ID()",
        # INSERT ... SELECT
        "SET insert_id = 300", f"INSERT INTO {b}.ai (v) SELECT 9", "SELECT @@insert_id",
        f"INSERT INTO {a}.ai (v) VALUES (10)",
        f"SELECT id, v FROM {a}.ai ORDER BY id", f"SELECT id, v FROM {b}.ai ORDER BY id",
    ]


def rand_steps(a, b):
    """RAND() after SET rand_seed1/rand_seed2, on one table and then the
    other: one sequence, as on one connection."""
    return [
        "SET rand_seed1 = 5, rand_seed2 = 7",
        f"SELECT RAND() FROM {a}.r", f"SELECT RAND() FROM {b}.r",
        "SELECT @@rand_seed1, @@rand_seed2", f"SELECT RAND() FROM {a}.r",
        "SET rand_seed1 = 5, rand_seed2 = 7", f"SELECT RAND() FROM {b}.r",
        f"SELECT RAND() FROM {a}.r",
    ]


def lid_steps(a, b):
    """LAST_INSERT_ID() read where the other table is, after ids generated
    on one and the other (in session mode on two groups, the connection to
    the group left was closed with the value unread: the session ended with
    1927; its next group's connection gave its own value)."""
    return [
        "SET auto_increment_increment = 2, auto_increment_offset = 1",
        f"INSERT INTO {a}.ai (v) VALUES (1)", f"SELECT LAST_INSERT_ID() FROM {b}.r",
        f"INSERT INTO {b}.ai (v) VALUES (2)", "SELECT LAST_INSERT_ID(), @@identity",
        f"SELECT LAST_INSERT_ID() FROM {a}.r",
        f"INSERT INTO {a}.ai (id, v) VALUES (51, 3)", f"SELECT LAST_INSERT_ID() FROM {b}.r",
        f"SELECT LAST_INSERT_ID(40) FROM {b}.r", f"SELECT LAST_INSERT_ID() FROM {a}.r",
        f"INSERT INTO {a}.ai (v) VALUES (4), (5)", f"SELECT LAST_INSERT_ID() FROM {b}.r",
        # set as variables (identity is its other name): until the next id
        "SET last_insert_id = 5", f"SELECT LAST_INSERT_ID() FROM {b}.r",
        f"INSERT INTO {b}.ai (v) VALUES (6)", f"SELECT LAST_INSERT_ID() FROM {a}.r",
        "SET identity = 9", f"SELECT @@last_insert_id, @@identity FROM {a}.r",
        f"INSERT INTO {a}.ai (v) VALUES (7)", f"SELECT LAST_INSERT_ID() FROM {b}.r",
    ]


def diag_steps(a, b):
    """GET DIAGNOSTICS assigns user variables (halyard did not see them: the
    next connection had them NULL), read back on the other table's
    connection."""
    return [
        f"SELECT * FROM {a}.nosuch",
        "GET DIAGNOSTICS @n = NUMBER, @rc = ROW_COUNT",
        "GET DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT, @e = MYSQL_ERRNO, @st = RETURNED_SQLSTATE",
        f"SELECT @n, @rc, @m, @e, @st FROM {b}.r",
        f"SELECT @n, @m FROM {a}.r",
        f"SELECT 1 FROM {a}.nosuch2",
        "GET CURRENT DIAGNOSTICS CONDITION @n @`m` = MESSAGE_TEXT, @e = MYSQL_ERRNO",
        f"SELECT @m, @e FROM {b}.r",
        # a condition that is not there: an error, the variables as they were
        "GET DIAGNOSTICS CONDITION 2 @m = MESSAGE_TEXT",
        f"SELECT @m FROM {b}.r",
    ]


@pytest.fixture
def sharded_ai(start_halyard, cluster, dual, tmp_path):
    make_schemas(cluster, dual)
    cluster.sql(0, AI.format("sa"))
    cluster.sql(0, RND.format("sa"))
    cluster.sql(0, "INSERT INTO sa.r VALUES (1)")
    cluster.sync()
    dual.sql(0, AI.format("sb"))
    dual.sql(0, RND.format("sb"))
    dual.sql(0, "INSERT INTO sb.r VALUES (1)")
    dual.sync()
    port = free_port()
    return start_sharded(start_halyard, settings(cluster, dual, tmp_path, port), port)


@pytest.mark.parametrize("steps", [insert_id_steps, rand_steps, lid_steps, diag_steps])
def test_moved_variables_on_two_groups(sharded_ai, cluster, steps):
    want = run(direct(cluster, "mva", "mvb"), steps("mva", "mvb"))
    got = run(sharded_ai.connect(autocommit=True), steps("sa", "sb"))
    assert norm(got, "sa", "sb") == norm(want, "mva", "mvb")


@pytest.fixture
def pooled(cluster, start_halyard):
    no_app_threads(cluster)
    return start_halyard(workers=1, pool_mode="transaction", read_write_split=False)


@pytest.mark.parametrize("steps", [insert_id_steps, rand_steps, lid_steps, diag_steps])
def test_moved_variables_on_another_pooled_connection(pooled, cluster, steps):
    """Session a's statements alternate with session b's transactions,
    each holding the connection a used last: a's next statement takes
    another, brought to a's state."""
    want = run(direct(cluster, "mva", "mvb"), steps("mva", "mvb"))
    direct(cluster, "mpa", "mpb")
    cluster.sync()
    a = pooled.connect(autocommit=True)
    others = []
    got = []
    for sql in steps("mpa", "mpb"):
        got += run(a, [sql])
        # another session takes a's connection and keeps it (a transaction)
        o = pooled.connect(autocommit=True)
        with o.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT COUNT(*) FROM mpa.r")
        others.append(o)
        if len(others) > 3:
            others.pop(0).close()  # its transaction rolls back, the connection goes back
    for o in others:
        o.close()
    assert norm(got, "mpa", "mpb") == norm(want, "mva", "mvb")


def test_get_diagnostics_in_a_multi_statement(pooled, cluster):
    """Several statements at once keep the session on its connection: what
    GET DIAGNOSTICS assigned there is read there."""
    want = []
    for port in (cluster.primary_port, pooled.port):
        c = pymysql.connect(host="127.0.0.1", port=port, user=APP_USER, password=APP_PASSWORD,
                            autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS)
        with c.cursor() as cur:
            cur.execute("SELECT 1/0; GET DIAGNOSTICS CONDITION 1 @w = MESSAGE_TEXT, @c = MYSQL_ERRNO")
            while cur.nextset():
                pass
            o = pooled.connect(autocommit=True)
            with o.cursor() as ocur:
                ocur.execute("BEGIN")
                ocur.execute("SELECT 1")
            cur.execute("SELECT @w, @c")
            want.append(cur.fetchall())
            o.close()
        c.close()
    assert want[0] == want[1] == (("Division by 0", 1365),)


def ps_run(port, a, b, db):
    """LAST_INSERT_ID() set and read by prepared statements on a's table,
    then b's: ps_query's output."""
    lines = [f"SELECT LAST_INSERT_ID(77) FROM {a}.r", f"SELECT LAST_INSERT_ID() FROM {b}.r",
             f"INSERT INTO {a}.ai (v) VALUES (?)\tl:1", f"SELECT LAST_INSERT_ID() FROM {b}.r",
             f"SELECT LAST_INSERT_ID(78) FROM {b}.r", f"SELECT LAST_INSERT_ID() FROM {a}.r"]
    r = subprocess.run([client_bin("ps_query"), "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.replace(f"{a}.", "X.").replace(f"{b}.", "Y.")


def test_prepared_last_insert_id_on_two_groups(sharded_ai, cluster):
    """A prepared statement naming LAST_INSERT_ID() is followed as a text
    one is (before, `SELECT LAST_INSERT_ID(77)` prepared was not read back:
    the next group's connection got the older value)."""
    direct(cluster, "mva", "mvb").close()
    want = ps_run(cluster.primary_port, "mva", "mvb", "mva")
    got = ps_run(sharded_ai.port, "sa", "sb", "sa")
    assert "row\t77" in want and "error" not in want, want
    assert got == want
