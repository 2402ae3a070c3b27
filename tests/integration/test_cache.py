"""The query cache (issue 30), against a real primary and its binary log.

A `cache` rule keeps the answers of the SELECTs it matches; the cache's
reader follows the primary's binary log and drops an answer when its table
changes, whoever changed it. These tests prove a hit by changing a row on
the primary with sql_log_bin = 0 (a change the binary log never sees, so
nothing drops the entry): the old answer coming back through halyard is
the cached one. Every other change goes through the binary log and must be
seen at once.
"""

import re
import socket
import subprocess
import threading
import time
import urllib.request

import pymysql
import pytest

from test_core import cli, client_bin
from util import (APP_PASSWORD, APP_USER, admin_json, default_halyard_settings, free_port,
                  render_conf, render_libconfig, wait_until, q)

CACHE = {"user": "backup", "password": "backup", "settle_ms": 0}
RULES = [{"name": "reads", "match_text": r"(?i)^\s*SELECT", "action": "cache", "ttl_ms": 60000}]


@pytest.fixture
def schema(cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS qc")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.t (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.t VALUES (1, 10), (2, 20)")
    cluster.sync()
    return "qc"


def silent_update(cluster, sql):
    """A change the binary log does not see, made on every server (a read
    the cache does not answer may go to a replica)."""
    for node in range(len(cluster.nodes)):
        c = cluster.root_connect(node, autocommit=True)
        try:
            q(c, "SET sql_log_bin = 0")
            q(c, sql)
        finally:
            c.close()


def cache_status(h):
    return admin_json(f"/tmp/halyard-{h.port}.sock", "show cache")


def reader_ready(h):
    """Wait until h's cache reader streams, has read the base tables,
    applied a position of the primary and knows what it applied visible
    there; return h."""
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["base_tables"] >= 1
               and cache_status(h)["lag_ms"] >= 0 and cache_status(h)["not_yet_visible"] == 0,
               what="the cache's reader streaming, the base tables read, a position applied "
                    "and known visible")
    return h


@pytest.fixture
def cached(start_halyard, schema):
    return reader_ready(start_halyard(rules=RULES, cache=CACHE))


def warm(conn, sql, want):
    """Run sql until its answer comes from the cache (a silent change on
    the primary would not show), returning the answer."""
    return wait_until(lambda: q(conn, sql) == want and q(conn, sql), what=f"{sql} answered")


def test_hit_then_a_write_through_halyard_invalidates(cached, cluster):
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    assert q(c, sql) == ((10,),)
    silent_update(cluster, "UPDATE qc.t SET v = 11 WHERE id = 1")
    # the answer comes from the cache: the silent change does not show
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    assert q(c, sql) == ((10,),)
    st = cache_status(cached)
    assert st["hits"] >= 1, st
    # a write through halyard (another session): the binary log drops it
    w = cached.connect(database="qc", autocommit=True)
    q(w, "UPDATE t SET v = 12 WHERE id = 1")
    assert q(c, sql) == ((12,),)
    assert q(w, sql) == ((12,),)


def test_a_write_direct_to_the_primary_invalidates(cached, cluster):
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 2"
    assert q(c, sql) == ((20,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    d = cluster.connect(0, database="qc", autocommit=True)
    q(d, "UPDATE t SET v = 21 WHERE id = 2")
    # seen as soon as the reader applied it: well under a second
    wait_until(lambda: q(c, sql) == ((21,),), timeout=2, what="the direct write seen")
    st = cache_status(cached)
    assert st["invalidated_row"] >= 1, st


def test_a_session_reads_its_own_write(cached, cluster):
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    for i in range(30):
        q(c, f"UPDATE t SET v = {100 + i} WHERE id = 1")
        assert q(c, sql) == ((100 + i,),)


def test_read_your_writes_session_holds_only_the_writer(start_halyard, schema, cluster):
    """cache.read_your_writes = "session": a write through halyard holds
    the hits of its own session until the reader has applied it, and no
    other session's: right after each write another session is still
    served its cached row (a silent change hides under it), while the
    writer reads its own write back every time."""
    h = start_halyard(rules=RULES, cache={**CACHE, "read_your_writes": "session"})
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["base_tables"] >= 1
               and cache_status(h)["lag_ms"] >= 0, what="the cache's reader streaming")
    assert admin_json(f"/tmp/halyard-{h.port}.sock", "show config")["cache.read_your_writes"] \
        == "session"
    r = h.connect(database="qc", autocommit=True)
    w = h.connect(database="qc", autocommit=True)
    other = "SELECT v FROM t WHERE id = 2"
    assert q(r, other) == ((20,),)
    wait_until(lambda: cache_status(h)["entries"] >= 1, what="the entry kept")
    silent_update(cluster, "UPDATE qc.t SET v = 29 WHERE id = 2")
    hits0 = cache_status(h)["hits"]
    for i in range(30):
        q(w, f"UPDATE t SET v = {100 + i} WHERE id = 1")
        assert q(r, other) == ((20,),), i  # a hit: not held by w's write
        assert q(w, "SELECT v FROM t WHERE id = 1") == ((100 + i,),), i
    assert cache_status(h)["hits"] - hits0 >= 30


def test_a_transaction_counts_as_a_write_at_its_end(cached, cluster):
    """A write inside a transaction is noted when the transaction ends
    (COMMIT, SET autocommit = 1, a BEGIN that commits it), not at each
    statement: meanwhile another session is still served its hits; from
    each end on, no session is served the answer from before it."""
    r = cached.connect(database="qc", autocommit=True)
    w = cached.connect(database="qc", autocommit=True)
    one, two = "SELECT v FROM t WHERE id = 1", "SELECT v FROM t WHERE id = 2"

    def hits_now():
        return cache_status(cached)["hits"]

    def cached_row(sql):
        """Read sql on r until its answer comes from the cache."""
        want = q(r, sql)

        def hit():
            h = hits_now()
            return q(r, sql) == want and hits_now() == h + 1
        wait_until(hit, what=f"{sql} answered from the cache")

    assert q(r, two) == ((20,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    silent_update(cluster, "UPDATE qc.t SET v = 29 WHERE id = 2")
    ends = [("BEGIN", "COMMIT"), ("SET autocommit = 0", "SET autocommit = 1"),
            ("BEGIN", "BEGIN")]
    for i, (start, end) in enumerate(ends):
        cached_row(one)
        q(w, start)
        q(w, f"UPDATE t SET v = {200 + i} WHERE id = 1")
        h = hits_now()
        # not held by a write no other session can see yet: a hit
        assert q(r, two) == ((20,),), (start, end)
        assert hits_now() == h + 1
        q(w, end)
        # the end was noted before its OK came back: never the old row
        assert q(r, one) == ((200 + i,),), (start, end)
        if end == "BEGIN":
            q(w, "COMMIT")
    assert q(w, "SELECT @@autocommit") == ((1,),)


def test_nothing_cached_in_a_transaction_and_sql_no_cache_bypasses(cached, cluster):
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    assert q(c, sql) == ((10,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    silent_update(cluster, "UPDATE qc.t SET v = 13 WHERE id = 1")
    got = q(c, sql)
    assert got == ((10,),), {k: v for k, v in cache_status(cached).items() if k != "rules"}
    # inside a transaction: the server answers
    q(c, "BEGIN")
    assert q(c, sql) == ((13,),)
    q(c, "COMMIT")
    # SQL_NO_CACHE and the hint: the server answers
    assert q(c, "SELECT SQL_NO_CACHE v FROM t WHERE id = 1") == ((13,),)
    assert q(c, "SELECT /* halyard:nocache */ v FROM t WHERE id = 1") == ((13,),)
    # autocommit off: a transaction opens at the first statement
    q(c, "SET autocommit = 0")
    assert q(c, sql) == ((13,),)
    q(c, "ROLLBACK")


def test_flush_cache(cached, cluster):
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 2"
    assert q(c, sql) == ((20,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    silent_update(cluster, "UPDATE qc.t SET v = 22 WHERE id = 2")
    got = q(c, sql)
    st = cache_status(cached)
    assert got == ((20,),), {k: st[k] for k in ("lag_ms", "entries", "hits", "misses",
                                               "streaming", "reader_resets")}
    out = admin_json(f"/tmp/halyard-{cached.port}.sock", "flush cache qc.t")
    assert out["dropped"] >= 1, out
    assert q(c, sql) == ((22,),)



def test_a_hit_is_what_each_client_would_get(cached, cluster):
    """A hit is byte for byte the server's answer to the client that asks:
    the mariadb CLI (libmariadb with MARIADB_CLIENT_CACHE_METADATA, whose
    column count packet halyard rewrites), a libmariadb program, and
    pymysql (CLIENT_DEPRECATE_EOF off), each served hits after its own
    fill, twice."""
    sql = "SELECT id, v FROM t ORDER BY id"
    first = cli(cached.port, "-e", sql, db="qc")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "1\t10\n2\t20\n"
    lib = subprocess.run([client_bin("ps_query"), "127.0.0.1", str(cached.port), APP_USER,
                          APP_PASSWORD, "qc"], input=f"TEXT {sql}\nTEXT {sql}\n",
                         capture_output=True, text=True, timeout=30)
    assert lib.returncode == 0, lib.stderr
    want = lib.stdout.split("stmt\t2\n")[1]
    assert "row\t1\t10\nrow\t2\t20\nrows=2\n" in want, lib.stdout
    py = cached.connect(database="qc", autocommit=True)
    assert q(py, sql) == ((1, 10), (2, 20))
    wait_until(lambda: cache_status(cached)["entries"] >= 3, what="each client's entry kept")
    hits = cache_status(cached)["hits"]
    silent_update(cluster, "UPDATE qc.t SET v = 14 WHERE id = 1")
    for _ in range(2):
        again = cli(cached.port, "-e", sql, db="qc")
        assert again.returncode == 0, again.stderr
        assert again.stdout == first.stdout  # the cached answer, not the silent change
        lib2 = subprocess.run([client_bin("ps_query"), "127.0.0.1", str(cached.port), APP_USER,
                               APP_PASSWORD, "qc"], input=f"TEXT {sql}\n",
                              capture_output=True, text=True, timeout=30)
        assert lib2.returncode == 0, lib2.stderr
        assert lib2.stdout == "stmt\t1\n" + want
        assert q(py, sql) == ((1, 10), (2, 20))
    assert cache_status(cached)["hits"] >= hits + 6


def ps_run(h, lines):
    """ps_query (libmariadb: mysql_stmt_prepare and mysql_stmt_execute,
    MARIADB_CLIENT_CACHE_METADATA) through halyard; its output."""
    r = subprocess.run([client_bin("ps_query"), "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD,
                        "qc"], input="".join(line + "\n" for line in lines),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_prepared_read_is_cached_by_its_parameters(cached, cluster):
    """A COM_STMT_EXECUTE of a cached rule's SELECT is kept under its
    statement and parameter values (types and values), in the binary
    protocol's own entry: a silent change hides under the hit for the
    same value, another value or a text query of the same statement is
    not that entry, and a write through halyard drops it (per row: a
    point lookup by a parameter)."""
    sql = "SELECT id, v FROM t WHERE id = ?"
    first = ps_run(cached, [f"{sql}\ti:1", "AGAIN\ti:1"])
    assert first.count("row\t1\t10\n") == 2, first
    # the same statement as text (its own entry), then both kept
    c = cached.connect(database="qc", autocommit=True)
    assert q(c, "SELECT id, v FROM t WHERE id = 1") == ((1, 10),)
    wait_until(lambda: cache_status(cached)["entries"] >= 2, what="both entries kept")
    silent_update(cluster, "UPDATE qc.t SET v = 15 WHERE id = 1")
    hits = cache_status(cached)["hits"]
    again = ps_run(cached, [f"{sql}\ti:1", "AGAIN\ti:1", "AGAIN\ti:2", f"{sql}\tl:1"])
    # the cached answer, column definitions and all, twice for BIGINT 1
    # (bound, then not: the types of the first execution); 20 for 2; INT 1
    # is another key: the server's (silently changed) row
    outs = again.split("stmt\t")
    assert outs[1].count("row\t1\t10\n") == 1 and outs[2].count("row\t1\t10\n") == 1, again
    assert "row\t2\t20\n" in outs[3] and "row\t1\t15\n" in outs[4], again
    assert first.split("row\t")[0] == again.split("row\t")[0], (first, again)  # same columns
    assert cache_status(cached)["hits"] >= hits + 2
    # a write through halyard drops the point lookup of id 1
    w = cached.connect(database="qc", autocommit=True)
    q(w, "UPDATE t SET v = 16 WHERE id = 1")
    assert "row\t1\t16\n" in ps_run(cached, [f"{sql}\ti:1"])


def test_a_view_is_never_cached_and_a_new_table_is(cached, cluster):
    """Only base tables of the primary are cached (an allowlist read from
    information_schema): a read through a view, whose base table's row
    events never name it, is not kept; a table created later is, once the
    reader has read the list again after the CREATE it applied."""
    cluster.sql(0, "CREATE OR REPLACE VIEW qc.v AS SELECT id, v FROM qc.t")
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM v WHERE id = 1"
    assert q(c, sql) == ((10,),)
    wait_until(lambda: cache_status(cached)["fills_refused_not_base"] >= 1,
               what="the view's fill refused")
    st = cache_status(cached)
    assert st["entries"] == 0, st
    # a change of the base table the binary log does not see shows at once:
    # nothing of the view was kept
    silent_update(cluster, "UPDATE qc.t SET v = 15 WHERE id = 1")
    assert q(c, sql) == ((15,),)
    # a table created after the list was read: cached once it is read again
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.n (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.n VALUES (1, 1)")
    wait_until(lambda: q(c, "SELECT v FROM n WHERE id = 1") == ((1,),)
               and cache_status(cached)["entries"] >= 1, what="the new table's entry kept")
    assert cache_status(cached)["base_tables"] >= 2


def test_a_view_named_like_a_base_table_but_for_case(start_halyard, schema, cluster):
    """lower_case_table_names = 0 (issue 42 item 9): base table qc.Orders
    and view qc.orders (over qc.o2) are two objects, which the allowlist's
    case-blind names cannot tell apart: a read of either is never kept, so
    a change of o2 shows at once through the view."""
    assert cluster.value(0, "SELECT @@lower_case_table_names") == 0
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.o2 (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.o2 VALUES (1, 10)")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.Orders (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.Orders VALUES (1, 99)")
    cluster.sql(0, "CREATE OR REPLACE VIEW qc.orders AS SELECT id, v FROM qc.o2")
    cluster.sync()
    h = reader_ready(start_halyard(rules=RULES, cache=CACHE))
    c = h.connect(database="qc", autocommit=True)
    view, base = "SELECT v FROM orders WHERE id = 1", "SELECT v FROM Orders WHERE id = 1"
    for _ in range(3):
        assert q(c, view) == ((10,),)
        assert q(c, base) == ((99,),)
    q(c, "UPDATE o2 SET v = 11 WHERE id = 1")
    assert q(c, view) == ((11,),)
    silent_update(cluster, "UPDATE qc.o2 SET v = 12 WHERE id = 1")
    assert q(c, view) == ((12,),)
    assert cache_status(h)["entries"] == 0, cache_status(h)


def served(h, conn, sql, want):
    """Wait until sql's answer, want, comes from h's cache."""
    def hit():
        n = cache_status(h)["hits"]
        return q(conn, sql) == want and cache_status(h)["hits"] == n + 1
    wait_until(hit, what=f"{sql} answered from the cache")


UNLOGGED = ["SET sql_log_bin = 0", "SET SESSION sql_log_bin = OFF",
            "SET @@session.sql_log_bin = 0, time_zone = '+00:00'"]


@pytest.mark.parametrize("how", UNLOGGED + ["SET STATEMENT"])
def test_a_write_through_halyard_with_sql_log_bin_0(cached, cluster, how):
    """A session with sql_log_bin = 0 writes rows no binary log shows
    (issue 42 item 7): halyard empties the cache after each of its writes,
    so another session reads the new row, as on the primary. With
    sql_log_bin = 1 again, writes are seen by the binary log as before."""
    cluster.sql(0, f"GRANT BINLOG ADMIN ON *.* TO '{APP_USER}'@'%'")
    try:
        r = cached.connect(database="qc", autocommit=True)
        w = cached.connect(database="qc", autocommit=True)
        sql = "SELECT v FROM t WHERE id = 1"
        served(cached, r, sql, ((10,),))
        if how == "SET STATEMENT":
            q(w, "SET STATEMENT sql_log_bin = 0 FOR UPDATE t SET v = 11 WHERE id = 1")
        else:
            q(w, how)
            q(w, "UPDATE t SET v = 11 WHERE id = 1")
        # the write holds hits until the reader has a position read after
        # it; a read then would fill the entry again: read after that
        time.sleep(1)
        d = cluster.connect(0, database="qc", autocommit=True)
        assert q(d, sql) == ((11,),)
        assert q(r, sql) == ((11,),)
        served(cached, r, sql, ((11,),))
        if how != "SET STATEMENT":  # in a transaction: at its commit
            q(w, "BEGIN")
            q(w, "UPDATE t SET v = 12 WHERE id = 1")
            q(w, "COMMIT")
            time.sleep(1)
            assert q(r, sql) == ((12,),)
            q(w, "SET sql_log_bin = 1")
            served(cached, r, sql, ((12,),))
            flushes = cache_status(cached)["invalidated_all"]
            q(w, "UPDATE t SET v = 13 WHERE id = 1")
            assert q(r, sql) == ((13,),)
            assert cache_status(cached)["invalidated_all"] == flushes
    finally:
        cluster.sql(0, f"REVOKE BINLOG ADMIN ON *.* FROM '{APP_USER}'@'%'")
        cluster.sql(0, "UPDATE qc.t SET v = 10 WHERE id = 1")


@pytest.mark.parametrize("how", ["SET sql_log_bin = 1", "SET sql_log_bin = ON, time_zone = 'bad'"])
def test_a_failed_set_of_sql_log_bin_1_leaves_the_session_unlogged(cached, cluster, how):
    """A SET of sql_log_bin = 1 that the server refuses (inside a
    transaction: 1694; or with another variable's bad value) leaves the
    session's writes out of the binary log: halyard goes on emptying the
    cache after each of them (the adversarial check's seed 6: SELECT * FROM
    adv.m and adv.t1 JOIN adv.t2 served old rows after a writer's SET
    sql_log_bin = 1 failed in its open transaction)."""
    cluster.sql(0, f"GRANT BINLOG ADMIN ON *.* TO '{APP_USER}'@'%'")
    try:
        r = cached.connect(database="qc", autocommit=True)
        w = cached.connect(database="qc", autocommit=True)
        d = cluster.connect(0, database="qc", autocommit=True)
        sql = "SELECT v FROM t WHERE id = 1"
        q(w, "SET sql_log_bin = 0")
        in_trx = how == "SET sql_log_bin = 1"
        if in_trx:
            q(w, "BEGIN")
        with pytest.raises(pymysql.MySQLError) as e:
            q(w, how)
        assert e.value.args[0] == (1694 if in_trx else 1298), e.value
        if in_trx:
            q(w, "ROLLBACK")
        served(cached, r, sql, ((10,),))
        q(w, "UPDATE t SET v = 11 WHERE id = 1")
        time.sleep(1)  # past the writer's hold: the reader has a position read after it
        assert q(d, sql) == ((11,),)
        assert q(r, sql) == ((11,),)
    finally:
        cluster.sql(0, f"REVOKE BINLOG ADMIN ON *.* FROM '{APP_USER}'@'%'")
        cluster.sql(0, "UPDATE qc.t SET v = 10 WHERE id = 1")


def test_a_refused_set_of_sql_log_bin_0_leaves_the_session_logged(cached, cluster):
    """SET sql_log_bin = 0 refused inside a transaction (1694) leaves the
    session's writes in the binary log: they go by their rows, as any
    other, and do not empty the cache (invalidated_unlogged does not move;
    the adversarial check's seed 9 emptied it at every later write)."""
    cluster.sql(0, f"GRANT BINLOG ADMIN ON *.* TO '{APP_USER}'@'%'")
    try:
        r = cached.connect(database="qc", autocommit=True)
        w = cached.connect(database="qc", autocommit=True)
        q(w, "BEGIN")
        with pytest.raises(pymysql.MySQLError) as e:
            q(w, "SET sql_log_bin = 0")
        assert e.value.args[0] == 1694, e.value
        q(w, "ROLLBACK")
        served(cached, r, "SELECT v FROM t WHERE id = 2", ((20,),))
        unlogged = cache_status(cached)["invalidated_unlogged"]
        q(w, "UPDATE t SET v = 11 WHERE id = 1")
        assert q(r, "SELECT v FROM t WHERE id = 1") == ((11,),)
        assert cache_status(cached)["invalidated_unlogged"] == unlogged, cache_status(cached)
        served(cached, r, "SELECT v FROM t WHERE id = 2", ((20,),))  # kept: another row
    finally:
        cluster.sql(0, f"REVOKE BINLOG ADMIN ON *.* FROM '{APP_USER}'@'%'")
        cluster.sql(0, "UPDATE qc.t SET v = 10 WHERE id = 1")


@pytest.mark.parametrize("var,value", [("div_precision_increment", "8"),
                                       ("time_zone", "'+03:00'"),
                                       ("sql_mode", "'PIPES_AS_CONCAT'")])
def test_a_global_default_changed_is_seen(cached, cluster, var, value):
    """SET GLOBAL of a default a new connection takes (issue 42 item 6) is
    in no binary log: the reader reads the primary's defaults with its
    position, and a change empties the cache; connections opened before
    it (which keep the old values) neither fill nor are served. A session
    opened after it is answered as the primary answers a new connection."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.g (id INT PRIMARY KEY, v INT, "
                   "ts TIMESTAMP NULL)")
    cluster.sql(0, "INSERT INTO qc.g VALUES (1, 10, FROM_UNIXTIME(1700000000))")
    sql = "SELECT v / 7, ts, v || 0 FROM g WHERE id = 1"
    old = cached.connect(database="qc", autocommit=True)
    want_old = q(cluster.connect(0, database="qc", autocommit=True), sql)
    served(cached, old, sql, want_old)
    root = cluster.root_connect(0, autocommit=True)
    q(root, f"SET GLOBAL {var} = {value}")
    try:
        time.sleep(1)  # the reader's probe reads the defaults every tick
        want_new = q(cluster.connect(0, database="qc", autocommit=True), sql)
        assert want_new != want_old
        new = cached.connect(database="qc", autocommit=True)
        for _ in range(3):
            hits = cache_status(cached)["hits"]
            got = q(new, sql)
            if cache_status(cached)["hits"] > hits:
                assert got == want_new
        st = cache_status(cached)
        assert st["invalidated_defaults"] >= 1, st
    finally:
        q(root, f"SET GLOBAL {var} = DEFAULT")
        time.sleep(1)


def test_a_connection_reset_after_a_global_change_is_served_again(cached, cluster):
    """A pooled connection opened before a SET GLOBAL keeps the old
    defaults, so it neither fills nor is served (item 6); but a session
    that began after the change resets it before its first statement
    there (docs/pooling.md), and a reset connection has the defaults of
    now: it fills and is served again, the answer a new connection to the
    primary gets."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.g (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.g VALUES (1, 10)")
    sql = "SELECT v / 7 FROM g WHERE id = 1"
    old = cached.connect(database="qc", autocommit=True)
    want_old = q(cluster.connect(0, database="qc", autocommit=True), sql)
    served(cached, old, sql, want_old)
    old.close()  # its connection goes back to the pool, born before the change
    time.sleep(0.3)
    root = cluster.root_connect(0, autocommit=True)
    q(root, "SET GLOBAL div_precision_increment = 8")
    try:
        time.sleep(1)  # the reader's probe has seen the change
        want = q(cluster.connect(0, database="qc", autocommit=True), sql)
        assert want != want_old
        new = cached.connect(database="qc", autocommit=True)
        refused = cache_status(cached)["refused_old_defaults"]
        assert q(new, sql) == want
        served(cached, new, sql, want)
        assert cache_status(cached)["refused_old_defaults"] == refused, cache_status(cached)
    finally:
        q(root, "SET GLOBAL div_precision_increment = DEFAULT")
        time.sleep(1)


def test_a_fill_that_raced_a_write_is_not_kept(start_halyard, schema, cluster):
    """The fill race, closed by order: a slow SELECT reads t's row before
    an UPDATE commits and its answer comes after the UPDATE's row event
    was applied. The fill was stamped (the invalidation sequence) before
    it was sent, the UPDATE's invalidation moved it: the old answer is not
    kept, and the next read sees the write. settle_ms = 0: no time window
    helps."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.big (id INT PRIMARY KEY)")
    cluster.sql(0, "INSERT INTO qc.big SELECT seq FROM qc.seq_1_to_6000")
    cluster.sync()
    mport = free_port()
    h = start_halyard(rules=RULES, cache=CACHE, metrics_port=mport)
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["base_tables"] >= 2,
               what="the cache's reader streaming, the base tables read")
    slow = ("SELECT t.v, COUNT(*) FROM t JOIN big a JOIN big b "
            "WHERE t.id = 1 AND a.id + b.id > 0 GROUP BY t.v")
    r = h.connect(database="qc", autocommit=True)
    w = h.connect(database="qc", autocommit=True)
    out = {}
    reader = threading.Thread(target=lambda: out.setdefault("v", q(r, slow)))
    reader.start()

    def running():
        return int(cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                    "WHERE INFO LIKE 'SELECT t.v, COUNT(*) FROM t JOIN big%'"))
    # the write commits while the read runs (the server's process list says so)
    wait_until(lambda: running() == 1, timeout=20, interval=0.02, what="the slow read running")
    q(w, "UPDATE t SET v = 16 WHERE id = 1")
    assert running() == 1, "the slow read ended before the write: no race to test"
    before = cache_status(h)["fills_refused_race"]
    reader.join(60)
    # the race happened: the slow read saw the row before the write
    assert out["v"] == ((10, 36000000),), out
    st = cache_status(h)
    assert st["fills_refused_race"] == before + 1, st
    assert st["entries"] == 0, st
    # the next read sees the write, now and once everything has settled
    assert q(r, "SELECT v FROM t WHERE id = 1") == ((16,),)
    time.sleep(0.2)
    assert q(r, slow) == ((16, 36000000),)
    # the same counts in the metrics
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert f'halyard_cache_fills_refused_total{{reason="race"}} {before + 1}' in text, text
    assert "\nhalyard_cache_streaming 1\n" in text


def test_a_point_lookup_goes_only_with_its_rows(cached, cluster):
    """Per-row invalidation: `WHERE id = N` and `WHERE id IN (...)` are
    dropped only by a row event whose before or after image carries one
    of their keys; a read of the whole table by any row event of it. The
    silent changes (not in the binary log) show which entries were kept."""
    wait_until(lambda: cache_status(cached)["row_keys"], what="the key columns read")
    c = cached.connect(database="qc", autocommit=True)
    one, pair, total = ("SELECT v FROM t WHERE id = 1", "SELECT id, v FROM t WHERE id IN (2, 3)",
                        "SELECT SUM(v) FROM t")
    assert q(c, one) == ((10,),)
    assert q(c, pair) == ((2, 20),)
    assert q(c, total) == ((30,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 3, what="the three entries kept")
    silent_update(cluster, "UPDATE qc.t SET v = v + 1 WHERE id IN (1, 2)")
    st0 = cache_status(cached)
    d = cluster.connect(0, database="qc", autocommit=True)
    # a row of another key: the sum goes, the point lookups stay
    q(d, "INSERT INTO t VALUES (5, 50)")
    wait_until(lambda: q(c, total) == ((82,),), timeout=5, what="the sum dropped")
    assert q(c, one) == ((10,),)  # still the cached answer: id 5 is not its key
    assert q(c, pair) == ((2, 20),)
    st = cache_status(cached)
    assert st["invalidated_table"] > st0["invalidated_table"], st
    assert st["invalidated_row"] == st0["invalidated_row"], st
    assert st["hits"] >= st0["hits"] + 2, st
    # an insert of a key of the IN list (the after image carries it)
    q(d, "INSERT INTO t VALUES (3, 30)")
    wait_until(lambda: q(c, pair) == ((2, 21), (3, 30)), timeout=5, what="the IN list dropped")
    assert q(c, one) == ((10,),)
    # an update that moves a row onto a cached key, and one off it
    empty = "SELECT v FROM t WHERE id = 7"
    # kept once read after the primary showed the insert visible (a fill
    # read sooner may not have seen it: not kept)
    wait_until(lambda: q(c, pair) == ((2, 21), (3, 30)) and q(c, empty) == ()
               and cache_status(cached)["entries"] >= 3,
               what="the IN list and the empty answer kept")
    q(d, "UPDATE t SET id = 7 WHERE id = 5")
    wait_until(lambda: q(c, empty) == ((50,),), timeout=5, what="the moved row seen")
    # a delete of the key (the before image)
    q(d, "DELETE FROM t WHERE id = 1")
    wait_until(lambda: q(c, one) == (), timeout=5, what="the deleted row gone")
    assert cache_status(cached)["invalidated_row"] >= st0["invalidated_row"] + 3


def test_an_image_without_the_key_drops_the_whole_table(cached, cluster):
    """binlog_row_image = MINIMAL (set by one session): the after image of
    an UPDATE carries only what changed, so its key is not known for sure:
    every entry of the table goes."""
    wait_until(lambda: cache_status(cached)["row_keys"], what="the key columns read")
    c = cached.connect(database="qc", autocommit=True)
    assert q(c, "SELECT v FROM t WHERE id = 2") == ((20,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    silent_update(cluster, "UPDATE qc.t SET v = 23 WHERE id = 2")
    st0 = cache_status(cached)
    d = cluster.root_connect(0, autocommit=True)
    q(d, "SET SESSION binlog_row_image = MINIMAL")
    q(d, "UPDATE qc.t SET v = 11 WHERE id = 1")
    wait_until(lambda: q(c, "SELECT v FROM t WHERE id = 2") == ((23,),), timeout=5,
               what="id 2's entry dropped with its table")
    st = cache_status(cached)
    assert st["invalidated_table"] > st0["invalidated_table"], st


def test_a_foreign_key_cascade_drops_the_child(start_halyard, cluster):
    """ON DELETE CASCADE and ON UPDATE CASCADE change the child below the
    binary log (only the parent's row event is written): the child's
    entries go with the parent's row event, counted as "fk"."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS qc")
    cluster.sql(0, "DROP TABLE IF EXISTS qc.c")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.p (id INT PRIMARY KEY)")
    cluster.sql(0, "CREATE TABLE qc.c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) "
                   "REFERENCES qc.p (id) ON DELETE CASCADE ON UPDATE CASCADE)")
    cluster.sql(0, "INSERT INTO qc.p VALUES (1), (2)")
    cluster.sql(0, "INSERT INTO qc.c VALUES (10, 1), (20, 2)")
    cluster.sync()
    h = start_halyard(rules=RULES, cache=CACHE)
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["base_tables"] >= 2
               and cache_status(h)["lag_ms"] >= 0, what="the cache's reader ready")
    c = h.connect(database="qc", autocommit=True)
    count, child = "SELECT COUNT(*) FROM c", "SELECT pid FROM c WHERE id = 20"
    assert q(c, count) == ((2,),)
    assert q(c, child) == ((2,),)
    wait_until(lambda: cache_status(h)["entries"] >= 2, what="the child's entries kept")
    d = cluster.connect(0, database="qc", autocommit=True)
    q(d, "UPDATE p SET id = 3 WHERE id = 2")  # c (20, 2) becomes (20, 3)
    wait_until(lambda: q(c, child) == ((3,),), timeout=5, what="ON UPDATE CASCADE seen")
    assert q(c, count) == ((2,),)
    q(d, "DELETE FROM p WHERE id = 1")  # c (10, 1) goes
    wait_until(lambda: q(c, count) == ((1,),), timeout=5, what="ON DELETE CASCADE seen")
    assert cache_status(h)["invalidated_fk"] >= 2


def test_a_switchover_keeps_the_cache(cluster, start_halyard, schema):
    """The reader re-attaches at the new primary from the GTID position it
    had applied; the new primary's binary log holds it (the server checks,
    strict mode), so the entries are kept and served, and the new
    primary's writes drop them."""
    from test_failover import REPL_ENV, ctl

    h = start_halyard(rules=RULES, cache=CACHE, failover="auto",
                      monitor={"user": "monitor", "password": "monitor"},
                      replication_user="repl", replication_password_env=REPL_ENV)
    sock = f"/tmp/halyard-{h.port}.sock"
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["row_keys"]
               and cache_status(h)["lag_ms"] >= 0, what="the cache's reader ready")
    c = h.connect(database="qc", autocommit=True)
    one, two = "SELECT v FROM t WHERE id = 1", "SELECT v FROM t WHERE id = 2"
    assert q(c, one) == ((10,),)
    assert q(c, two) == ((20,),)
    wait_until(lambda: cache_status(h)["entries"] >= 2, what="the entries kept")
    filled = time.monotonic()
    # entries stored after the newest primary position the reader applied
    # would go: wait until that position was read after the fills
    wait_until(lambda: time.monotonic() - cache_status(h)["lag_ms"] / 1000 > filled + 0.01,
               what="a primary position read after the fills applied")
    silent_update(cluster, "UPDATE qc.t SET v = v + 1")
    r = ctl(sock, "switchover", "to", "node2")
    assert r.returncode == 0, r.stdout + r.stderr

    def following_node2():
        st = cache_status(h)
        return st["streaming"] and st["source"] == "node2" and 0 <= st["lag_ms"] < 1000
    wait_until(following_node2, timeout=20, what="the reader following node2")
    st = cache_status(h)
    assert st["reader_resumes"] == 1, st
    assert st["invalidated_failover"] == 0, st
    assert q(c, one) == ((10,),)  # kept across the switchover: the silent change does not show
    assert q(c, two) == ((20,),)
    d = cluster.connect(2, database="qc", autocommit=True)
    q(d, "UPDATE t SET v = 30 WHERE id = 2")
    wait_until(lambda: q(c, two) == ((30,),), timeout=5, what="the new primary's write seen")
    assert q(c, one) == ((10,),)


def test_the_key_holds_the_session_state(cached, cluster):
    """Sessions whose state changes the answer never share an entry:
    time_zone (a TIMESTAMP is shown in it), sql_mode (PIPES_AS_CONCAT makes
    || a concatenation); each is served its own answer from the cache."""
    key_holds_state(cached, cluster)


@pytest.mark.parametrize("pool_mode", ["session", "transaction"])
def test_the_key_holds_the_session_state_with_one_backend(start_halyard, schema, cluster,
                                                          pool_mode):
    """The same with the primary as the only backend, where the router
    has no choice to make: the SETs are still noted and keyed."""
    h = start_halyard(rules=RULES, cache=CACHE, backends=one_backend(cluster), pool_mode=pool_mode)
    reader_ready(h)
    key_holds_state(h, cluster)


def key_holds_state(cached, cluster):
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.ts (id INT PRIMARY KEY, ts TIMESTAMP NULL)")
    cluster.sql(0, "INSERT INTO qc.ts VALUES (1, FROM_UNIXTIME(1577836800))")
    cluster.sync()
    wait_until(lambda: cache_status(cached)["base_tables"] >= 2, what="the schema read again")
    utc = cached.connect(database="qc", autocommit=True)
    east = cached.connect(database="qc", autocommit=True)
    q(utc, "SET time_zone = '+00:00'")
    q(east, "SET time_zone = '+05:00'")
    sql = "SELECT ts FROM ts WHERE id = 1"
    got_utc = q(utc, sql)
    got_east = q(east, sql)
    assert got_utc[0][0].hour == 0 and got_east[0][0].hour == 5, (got_utc, got_east)
    plain = cached.connect(database="qc", autocommit=True)
    pipes = cached.connect(database="qc", autocommit=True)
    q(pipes, "SET sql_mode = 'PIPES_AS_CONCAT'")
    concat = "SELECT v || 'x' FROM t WHERE id = 1"
    assert q(plain, concat) == ((1,),)
    assert q(pipes, concat) == (("10x",),)
    wait_until(lambda: cache_status(cached)["entries"] >= 4, what="four entries kept")
    hits = cache_status(cached)["hits"]
    for _ in range(2):
        assert q(utc, sql) == got_utc
        assert q(east, sql) == got_east
        assert q(plain, concat) == ((1,),)
        assert q(pipes, concat) == (("10x",),)
    assert cache_status(cached)["hits"] >= hits + 8


def test_a_table_with_a_column_not_read_for_sure_goes_whole(cached, cluster):
    """A column whose image halyard does not read for sure (INET6: 16 bytes
    without a length, though its TABLE_MAP type is CHAR's) could misplace
    the key: such a table's point lookups go with any row event of it."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.ip (a INET6, id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.ip VALUES ('::1', 1, 10)")
    cluster.sync()
    wait_until(lambda: cache_status(cached)["base_tables"] >= 2
               and cache_status(cached)["row_keys"], what="the schema read again")
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM ip WHERE id = 1"
    # a fill is refused while the reader has not applied the table's last
    # change (the INSERT above, on a loaded host): asked again until kept
    wait_until(lambda: q(c, sql) == ((10,),) and cache_status(cached)["entries"] >= 1,
               what="the entry kept")
    st0 = cache_status(cached)
    assert st0["point_entries"] == 0, st0
    silent_update(cluster, "UPDATE qc.ip SET v = 11 WHERE id = 1")
    d = cluster.connect(0, database="qc", autocommit=True)
    q(d, "INSERT INTO ip VALUES ('::2', 2, 20)")
    wait_until(lambda: q(c, sql) == ((11,),), timeout=5, what="the entry dropped with its table")
    assert cache_status(cached)["invalidated_table"] > st0["invalidated_table"]


def test_no_stale_hit_once_the_reader_is_down(cached, cluster):
    """The reader's stream cut (its Binlog Dump thread killed on the
    primary): from then on no cached answer is served (the cache is
    emptied, hits wait until the reader streams and has applied a fresh
    position of the primary again)."""
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    assert q(c, sql) == ((10,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    silent_update(cluster, "UPDATE qc.t SET v = 18 WHERE id = 1")
    assert q(c, sql) == ((10,),)  # a hit
    resets = cache_status(cached)["reader_resets"]
    for (tid,) in cluster.sql(0, "SELECT ID FROM information_schema.PROCESSLIST "
                                 "WHERE COMMAND = 'Binlog Dump' AND USER = 'backup'"):
        cluster.sql(0, f"KILL {tid}")
    wait_until(lambda: cache_status(cached)["reader_resets"] > resets, timeout=10,
               what="the reader seeing its stream end")
    assert q(c, sql) == ((18,),)
    wait_until(lambda: cache_status(cached)["streaming"] and cache_status(cached)["lag_ms"] >= 0,
               timeout=20, what="the reader streaming again")
    assert q(c, sql) == ((18,),)


def test_found_rows_and_row_count_after_a_hit_are_the_hits(cached, cluster):
    """After a SELECT of N rows MariaDB gives FOUND_ROWS() = N and
    ROW_COUNT() = -1; after a hit the backend connection holds an earlier
    statement's, so halyard gives the hit's (session_pool_values_set):
    the same sequence through halyard (most of its reads hits) and
    directly gives the same values."""
    cluster.sql(0, "INSERT INTO qc.t VALUES (3, 30)")
    cluster.sync()
    c = cached.connect(database="qc", autocommit=True)
    d = cluster.connect(0, database="qc", autocommit=True)
    rows = "SELECT id, v FROM t ORDER BY id"
    # a fill right after a direct write may be refused (the reader had not
    # applied the INSERT yet: fills_refused_race), as it must: read until kept
    want = ((1, 10), (2, 20), (3, 30))
    wait_until(lambda: q(c, rows) == want and cache_status(cached)["entries"] >= 1,
               what="the entry kept")

    def run(conn):
        out = []
        for before in ("SELECT 1", "SET @x = 1", "DO 1", "SELECT 1 UNION SELECT 2"):
            q(conn, before)
            got = q(conn, rows)
            out.append((before, got[0], len(got), q(conn, "SELECT FOUND_ROWS()")))
            q(conn, before)
            q(conn, rows)
            out.append((before, q(conn, "SELECT ROW_COUNT()")))
            q(conn, before)
            q(conn, rows)
            out.append((before, q(conn, "SELECT ROW_COUNT(), FOUND_ROWS()")))
        return out

    hits = cache_status(cached)["hits"]
    through, direct = run(c), run(d)
    # (some of the reads after SET and DO may miss: they count as writes)
    assert cache_status(cached)["hits"] >= hits + 3
    assert through == direct, (through, direct)
    assert ("SELECT 1", (1, 10), 3, ((3,),)) in through, through
    assert ("DO 1", ((-1,),)) in through, through
    # a LIMIT with an offset or SQL_CALC_FOUND_ROWS: FOUND_ROWS() after it
    # is not its rows' count; such a statement is never cached
    for sql in ("SELECT SQL_CALC_FOUND_ROWS id FROM t ORDER BY id LIMIT 1",
                "SELECT id FROM t ORDER BY id LIMIT 1, 1", "SELECT id FROM t ORDER BY id LIMIT 1",
                "SELECT id FROM t WHERE id = 2"):
        got = []
        for conn in (c, d, c, d):
            q(conn, "SELECT 1")
            got.append((q(conn, sql), q(conn, "SELECT FOUND_ROWS()")))
        assert got[0] == got[1] == got[2] == got[3], (sql, got)


def test_point_lookups_by_string_decimal_and_date_keys_go_per_row(cached, cluster):
    """Per-row invalidation beyond integer keys (cache_keyval.h): a
    VARCHAR key under utf8mb4_general_ci (case- and accent-insensitive,
    PAD SPACE), a DECIMAL key (1.0 = 1.00), a DATE and a DATETIME key.
    Writes made directly on the primary and through halyard that name the
    row in another case, with trailing spaces or with other decimals drop
    the lookup of that row and only it (invalidated_row, not _table); a
    row whose key is not plain ASCII drops its table's entries whole. Each
    read through halyard agrees with the primary."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.s (name VARCHAR(20) COLLATE utf8mb4_general_ci "
                   "PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.s VALUES ('abc', 1), ('xyz', 2), ('k', 3)")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.dm (d DECIMAL(6,2) PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.dm VALUES (1, 1), (2.5, 2)")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.dd (d DATE PRIMARY KEY, t DATETIME UNIQUE, v INT)")
    cluster.sql(0, "INSERT INTO qc.dd VALUES ('2020-01-02', '2020-01-02 03:04:05', 1), "
                   "('2021-06-07', '2021-06-07 00:00:00', 2)")
    cluster.sync()
    wait_until(lambda: cache_status(cached)["base_tables"] >= 4 and cache_status(cached)["row_keys"],
               what="the schema read again")
    c = cached.connect(database="qc", autocommit=True)
    d = cluster.connect(0, database="qc", autocommit=True)
    reads = {
        "abc": "SELECT v FROM s WHERE name = 'ABC'",
        "xyz": "SELECT v FROM s WHERE name IN ('xyz', 'XYZ ')",
        "k": "SELECT v FROM s WHERE name = 'k'",
        "d1": "SELECT v FROM dm WHERE d = 1.0",
        "d2": "SELECT v FROM dm WHERE d = 2.50",
        "day": "SELECT v FROM dd WHERE d = '2020-01-02'",
        "other_day": "SELECT v FROM dd WHERE d = '2021-06-07'",
        "time": "SELECT v FROM dd WHERE t = '2021-06-07'",
    }

    def agree(name):
        got, want = q(c, reads[name]), q(d, reads[name])
        assert got == want, (name, got, want)
        return got

    for name in reads:
        agree(name)
    wait_until(lambda: cache_status(cached)["point_entries"] >= len(reads),
               what="every lookup kept as a point lookup")

    def step(write, gone, kept, conn=d, whole=False):
        """`write`; then each of `gone` is read anew, each of `kept` is
        still a hit (a silent change of its row does not show)."""
        for name in kept:
            assert q(c, reads[name]) == q(d, reads[name])
        silent = {n: q(d, reads[n]) for n in kept}
        silent_update(cluster, "UPDATE qc.s SET v = v + 100")
        silent_update(cluster, "UPDATE qc.dm SET v = v + 100")
        silent_update(cluster, "UPDATE qc.dd SET v = v + 100")
        st0 = cache_status(cached)
        q(conn, write)
        for name in gone:
            wait_until(lambda: q(c, reads[name]) == q(d, reads[name]), timeout=5,
                       what=f"{name} dropped by {write}")
        # a hit, kept (after a write through halyard the session's hits wait
        # for the reader, and a miss meanwhile fills again: the counts say)
        for name in kept if conn is d else ():
            assert q(c, reads[name]) == silent[name], (write, name)
        # counted once the reader applied the write: a read of `gone` by the
        # writing session itself may agree before that, as a miss (CI:
        # invalidated_row 1 > 1 after the write through c)
        reason = "invalidated_table" if whole else "invalidated_row"
        wait_until(lambda: cache_status(cached)[reason] > st0[reason], timeout=5,
                   what=f"{reason} counted for {write}")
        st = cache_status(cached)
        moved = (write, {k: (st0[k], v) for k, v in st.items() if st0.get(k) != v})
        if not whole:
            assert st["invalidated_table"] == st0["invalidated_table"], moved
        # the kept ones hide the silent changes: gone, every read agrees
        admin_json(f"/tmp/halyard-{cached.port}.sock", "flush cache")
        # read again until kept: a fill read before the primary showed the
        # write visible is not kept
        wait_until(lambda: [agree(n) for n in reads]
                   and cache_status(cached)["point_entries"] >= len(reads),
                   what="every lookup kept again")

    # another case and trailing spaces: the same row under utf8mb4_general_ci
    step("UPDATE s SET v = 10 WHERE name = 'aBc  '", ["abc"], ["xyz", "k", "d1"])
    step("UPDATE s SET v = 20 WHERE name = 'XyZ'", ["xyz"], ["abc", "k"], conn=c)
    # 1.00 is 1.0; 2.5 is not touched
    step("UPDATE dm SET v = 11 WHERE d = 1.00", ["d1"], ["d2", "abc"])
    step("UPDATE dm SET v = 12 WHERE d = 2.5", ["d2"], ["d1"], conn=c)
    step("UPDATE dd SET v = 13 WHERE d = '2020-01-02'", ["day"], ["other_day", "time"])
    step("UPDATE dd SET v = 14 WHERE t = '2021-06-07 00:00:00'", ["other_day", "time"], ["day"])
    # a key outside plain ASCII: 'àbc' may equal a lookup's 'abc': the whole table
    step("INSERT INTO s VALUES ('\u00e0bz', 5)", ["abc", "xyz", "k"], ["d1"], whole=True)
    # and a row written with it as its key, read back through halyard
    q(d, "UPDATE s SET v = 6 WHERE name = 'ABZ'")
    wait_until(lambda: q(c, "SELECT v FROM s WHERE name = 'abz'") == ((6,),), timeout=5,
               what="the accented row seen by its plain name")


def test_the_collations_keyed_fold_printable_ascii_alike(cluster):
    """The collations whose strings are keys (cache_keyval.c's list): on
    the server itself, two printable ASCII characters are equal under each
    exactly when they are equal lower-cased (and no printable character but
    the space is ignored at the end): so the key's folding never splits two
    strings the server finds equal."""
    chars = [chr(i) for i in range(0x20, 0x7e) if chr(i) != "\\"]
    conn = cluster.root_connect(0, autocommit=True)
    q(conn, "CREATE DATABASE IF NOT EXISTS qc")
    q(conn, "CREATE OR REPLACE TABLE qc.ch (c VARCHAR(2) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO qc.ch VALUES (%s)", chars)
    for coll in ("utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_unicode_520_ci",
                 "utf8mb4_bin", "utf8mb4_general_nopad_ci", "utf8mb4_nopad_bin"):
        pairs = q(conn, f"SELECT a.c, b.c FROM qc.ch a JOIN qc.ch b "
                        f"ON a.c COLLATE {coll} = b.c COLLATE {coll} "
                        f"AND a.c COLLATE utf8mb4_bin <> b.c COLLATE utf8mb4_bin")
        for a, b in pairs:
            assert a.lower() == b.lower(), (coll, a, b)
        # no printable character is ignored: 'x' and 'x?' are never equal
        ign = q(conn, f"SELECT c FROM qc.ch WHERE c <> ' ' AND "
                      f"CONCAT('x', c) COLLATE {coll} = 'x' COLLATE {coll}")
        assert ign == (), (coll, ign)


def test_a_statement_format_write_drops_its_table_only(cached, cluster):
    """binlog_format = STATEMENT (set by a session on the primary): the
    reader takes the table a write changes from its text, qualified with
    the event's default database (a session on another database writing
    qc.u is logged with that database), and drops that table's entries
    only ("table"), and its foreign keys' children's ("fk"); a write of
    several tables, or of a table with a
    trigger (whose own writes a statement-format binary log does not
    carry), drops everything ("ddl"). No read through halyard is stale."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS qc2")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.u (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.u VALUES (1, 100), (2, 200)")
    cluster.sql(0, "DROP TABLE IF EXISTS qc.ch")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.p (id INT PRIMARY KEY)")
    cluster.sql(0, "CREATE TABLE qc.ch (id INT PRIMARY KEY, pid INT, v INT, "
                   "FOREIGN KEY (pid) REFERENCES qc.p (id) ON DELETE CASCADE)")
    cluster.sql(0, "INSERT INTO qc.p VALUES (1), (2)")
    cluster.sql(0, "INSERT INTO qc.ch VALUES (1, 1, 10), (2, 2, 20)")
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.tg (id INT PRIMARY KEY)")
    cluster.sql(0, "CREATE TRIGGER qc.tg_ins AFTER INSERT ON qc.tg FOR EACH ROW "
                   "UPDATE qc.u SET v = v + 1 WHERE id = 2")
    cluster.sync()
    wait_until(lambda: cache_status(cached)["base_tables"] >= 3, what="the schema read again")
    c = cached.connect(database="qc", autocommit=True)
    d = cluster.root_connect(0, autocommit=True)
    q(d, "SET SESSION binlog_format = 'STATEMENT'")
    q(d, "USE qc2")
    reads = {"t": "SELECT v FROM qc.t WHERE id = 1", "u": "SELECT v FROM qc.u WHERE id = 2",
             "ch": "SELECT SUM(v) FROM qc.ch"}

    def step(write, gone, kept, reason):
        for name in reads:
            want = q(d, reads[name])
            wait_until(lambda: q(c, reads[name]) == want and cache_status(cached)["entries"] >= 1,
                       what=f"{name} agreeing")
        wait_until(lambda: cache_status(cached)["entries"] >= 3, what="all three kept")
        silent_update(cluster, "UPDATE qc.t SET v = v + 1000")
        silent_update(cluster, "UPDATE qc.u SET v = v + 1000")
        silent_update(cluster, "UPDATE qc.ch SET v = v + 1000")
        before = {n: q(c, reads[n]) for n in reads}  # hits: the silent change hidden
        st0 = cache_status(cached)
        q(d, write)
        for name in gone:
            wait_until(lambda: q(c, reads[name]) == q(d, reads[name]), timeout=5,
                       what=f"{name} dropped by {write}")
        for name in kept:
            assert q(c, reads[name]) == before[name], (write, name)
        st = cache_status(cached)
        assert st[f"invalidated_{reason}"] > st0[f"invalidated_{reason}"], (write, st0, st)
        if reason != "ddl":
            assert st["invalidated_ddl"] == st0["invalidated_ddl"], (write, st0, st)
        admin_json(f"/tmp/halyard-{cached.port}.sock", "flush cache")

    # from database qc2, a write of qc.t: logged with qc2, names qc.t
    step("UPDATE qc.t SET v = v + 1 WHERE id = 1", ["t"], ["u", "ch"], "table")
    q(d, "USE qc")
    step("INSERT INTO u VALUES (3, 300)", ["u"], ["t"], "table")
    step("DELETE FROM u WHERE id = 3", ["u"], ["t"], "table")
    # an AUTO_INCREMENT id: an INTVAR event (the id) comes before the statement
    step("INSERT INTO u (v) VALUES (400)", ["u"], ["t"], "table")
    # a parent's row: its cascade changes the child below the binary log
    step("DELETE FROM p WHERE id = 1", ["ch"], ["t", "u"], "fk")
    # two tables: everything
    step("UPDATE t, u SET t.v = t.v + 1, u.v = u.v + 1 WHERE t.id = 1 AND u.id = 2",
         ["t", "u"], [], "ddl")
    # a table with a trigger that writes u: everything (u's change is not in the log)
    step("INSERT INTO tg VALUES (1)", ["t", "u"], [], "ddl")


def test_warnings_after_a_hit_are_the_hits(cached, cluster):
    """A SELECT of a table clears the session's diagnostics on MariaDB;
    after a hit the backend connection still holds the warnings of the
    statement before it. SHOW WARNINGS, SHOW COUNT(*) WARNINGS,
    @@warning_count and GET DIAGNOSTICS after a hit agree with the
    server's."""
    c = cached.connect(database="qc", autocommit=True)
    d = cluster.connect(0, database="qc", autocommit=True)
    rows = "SELECT id, v FROM t ORDER BY id"
    assert q(c, rows) == q(d, rows)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the entry kept")
    out = []
    for conn in (c, d):
        got = []
        for read in ("SHOW WARNINGS", "SHOW COUNT(*) WARNINGS", "SELECT @@warning_count",
                     "SELECT @@session.warning_count, @@error_count"):
            q(conn, "SELECT CAST('x1' AS SIGNED)")  # a warning
            q(conn, rows)
            got.append((read, q(conn, read)))
        q(conn, "SELECT CAST('x1' AS SIGNED)")
        q(conn, rows)
        q(conn, "GET DIAGNOSTICS @n = NUMBER")
        got.append(("GET DIAGNOSTICS", q(conn, "SELECT @n")))
        out.append(got)
    assert out[0] == out[1], out


# The words MariaDB reads as the clock, the user or the role without
# parentheses (its documentation gives both `CURRENT_TIME` and
# `CURRENT_TIME()`; src/sql/sqlfunc.c).
CLOCK_WORDS = ["CURRENT_TIMESTAMP", "CURRENT_TIME", "LOCALTIME", "LOCALTIMESTAMP",
               "UTC_TIMESTAMP", "UTC_TIME"]
BARE_WORDS = CLOCK_WORDS + ["CURRENT_DATE", "UTC_DATE", "CURRENT_USER", "CURRENT_ROLE"]


def test_clock_words_without_parentheses_are_never_cached(cached, cluster):
    """`SELECT id, CURRENT_TIMESTAMP FROM t WHERE id = 1` (and each other
    word the server reads as a value without parentheses) answers the time
    of each read, as the server does: the clock moves between two reads a
    second apart. None of them is kept; a plain SELECT of the same table
    is (so the check could fail)."""
    c = cached.connect(database="qc", autocommit=True)
    d = cluster.connect(0, database="qc", autocommit=True)
    sqls = {w: f"SELECT id, {w if i % 2 else w.lower()} FROM t WHERE id = 1"
            for i, w in enumerate(BARE_WORDS)}
    for w, sql in sqls.items():
        assert len(q(d, sql)) == 1, w  # the server takes the word alone as a value
    first = {w: q(c, sqls[w]) for w in CLOCK_WORDS}
    for w in BARE_WORDS[len(CLOCK_WORDS):]:
        assert q(c, sqls[w]) == q(d, sqls[w]), w
    time.sleep(1.2)
    for w in CLOCK_WORDS:
        again = q(c, sqls[w])
        assert again != first[w], (w, first[w], again)
    st = cache_status(cached)
    assert st["entries"] == 0 and st["fills"] == 0, st
    plain = "SELECT id FROM t WHERE id = 1"
    assert q(c, plain) == ((1,),)
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the plain SELECT kept")


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_an_xa_transaction_is_seen_at_its_commit(cached, cluster, end):
    """A row changed in an XA transaction (directly on the primary), read
    through halyard between XA PREPARE and XA COMMIT: the old row, as the
    server answers then. The binary log holds the changes in the PREPARE's
    group and only "XA COMMIT xid" later: once the replicas have the
    commit, the read answers the new row (within the reader's lag), and
    after XA ROLLBACK still the old one."""
    r = cached.connect(database="qc", autocommit=True)
    w = cluster.root_connect(0, autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    rows = "SELECT id, v FROM t ORDER BY id"
    assert q(r, sql) == ((10,),)
    xid = f"'x42{end.lower()}', 'b', 3"
    q(w, f"XA START {xid}")
    q(w, "UPDATE qc.t SET v = 11 WHERE id = 1")
    q(w, "INSERT INTO qc.t VALUES (3, 30)")
    q(w, f"XA END {xid}")
    q(w, f"XA PREPARE {xid}")
    time.sleep(0.2)  # the reader has applied the PREPARE's group
    for _ in range(5):  # the prepared rows are not visible yet: fills of the old ones
        assert q(r, sql) == ((10,),)
        assert q(r, rows) == ((1, 10), (2, 20))
        time.sleep(0.05)
    q(w, f"XA {end} {xid}")
    cluster.sync()
    d = cluster.connect(0, database="qc", autocommit=True)
    want = q(d, sql), q(d, rows)
    assert want == ((((11,),), ((1, 11), (2, 20), (3, 30))) if end == "COMMIT"
                    else (((10,),), ((1, 10), (2, 20))))
    wait_until(lambda: (q(r, sql), q(r, rows)) == want, timeout=3,
               what=f"the XA {end} seen through the cache")
    time.sleep(0.3)
    assert (q(r, sql), q(r, rows)) == want


@pytest.mark.parametrize("end", ["COMMIT", "ROLLBACK"])
def test_an_xa_transaction_prepared_before_the_reader_began(start_halyard, schema, cluster,
                                                            end):
    """An XA transaction prepared before halyard started: its XA PREPARE
    is behind the position the reader starts from, so the cache does not
    know its tables (issue 42 item 2, "where the cache cannot know"). The
    old row is filled and served while it stays prepared (the server
    answers it then); its XA COMMIT, an xid the reader never saw prepared,
    empties the cache, so the new row is read once the replicas have it."""
    w = cluster.root_connect(0, autocommit=True)
    xid = f"'x42early{end.lower()}'"
    q(w, f"XA START {xid}")
    q(w, "UPDATE qc.t SET v = 11 WHERE id = 1")
    q(w, f"XA END {xid}")
    q(w, f"XA PREPARE {xid}")
    try:
        h = reader_ready(start_halyard(rules=RULES, cache=CACHE))
        r = h.connect(database="qc", autocommit=True)
        sql = "SELECT v FROM t WHERE id = 1"
        served(h, r, sql, ((10,),))
        q(w, f"XA {end} {xid}")
        xid = None
        cluster.sync()
        d = cluster.connect(0, database="qc", autocommit=True)
        want = q(d, sql)
        assert want == (((11,),) if end == "COMMIT" else ((10,),))
        wait_until(lambda: q(r, sql) == want, timeout=3, what=f"the XA {end} seen")
        time.sleep(0.3)
        assert q(r, sql) == want
        assert cache_status(h)["invalidated_all"] >= 1, cache_status(h)
    finally:
        if xid is not None:
            q(w, f"XA ROLLBACK {xid}")
        cluster.sql(0, "UPDATE qc.t SET v = 10 WHERE id = 1")


# The ways a session reads at READ UNCOMMITTED: its session level (two
# spellings), and the next transaction's only (a one-shot that the key
# does not hold: the plain session after it must not be served its read).
RU_SETS = ["SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
           "SET SESSION tx_isolation = 'READ-UNCOMMITTED'",
           "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"]


@pytest.mark.parametrize("how", RU_SETS)
def test_a_read_uncommitted_fill_is_never_kept(cached, cluster, how):
    """A read at READ UNCOMMITTED sees a row of a transaction still open,
    which a ROLLBACK takes back without a word in the binary log: kept,
    it would be served until ttl_ms. After the rollback each session reads
    the row as the server answers it then."""
    w = cluster.root_connect(0, autocommit=True)
    r = cached.connect(database="qc", autocommit=True)
    plain = cached.connect(database="qc", autocommit=True)
    sql = "SELECT /* halyard: primary */ v FROM t WHERE id = 1"  # a replica has no dirty row
    q(w, "BEGIN")
    q(w, "UPDATE qc.t SET v = 0 WHERE id = 1")
    try:
        q(r, how)
        assert q(r, sql) == ((0,),)  # the dirty read, as the server gives it
    finally:
        q(w, "ROLLBACK")
    d = cluster.connect(0, database="qc", autocommit=True)
    assert q(d, sql) == ((10,),)
    assert q(plain, sql) == ((10,),)
    assert q(r, sql) == ((10,),)  # a one-shot level is spent: the session's own
    st = cache_status(cached)
    assert st["fills_refused_read_uncommitted"] >= 1 and st["entries"] >= 1, st  # plain's kept


def test_a_read_uncommitted_global_default_refuses_fills(cached, cluster):
    """With the server's global default READ UNCOMMITTED, a session that
    never set a level reads dirty rows: nothing is kept, and show cache
    says why."""
    w = cluster.root_connect(0, autocommit=True)
    sql = "SELECT /* halyard: primary */ v FROM t WHERE id = 1"
    q(w, "SET GLOBAL tx_isolation = 'READ-UNCOMMITTED'")
    try:
        wait_until(lambda: cache_status(cached)["global_read_uncommitted"],
                   what="the global default seen")
        r = cached.connect(database="qc", autocommit=True)
        q(w, "BEGIN")
        q(w, "UPDATE qc.t SET v = 0 WHERE id = 1")
        try:
            assert q(r, sql) == ((0,),)
        finally:
            q(w, "ROLLBACK")
        assert q(r, sql) == ((10,),)
        st = cache_status(cached)
        assert st["entries"] == 0 and st["fills_refused_read_uncommitted"] >= 2, st
    finally:
        q(w, "SET GLOBAL tx_isolation = 'REPEATABLE-READ'")
    wait_until(lambda: not cache_status(cached)["global_read_uncommitted"],
               what="the global default back")


def test_a_temporary_sequence_shadows_a_table(cached, cluster):
    """CREATE TEMPORARY SEQUENCE t hides the base table t from its session,
    as a temporary table does: that session is neither served t's entry
    nor fills it."""
    o = cached.connect(database="qc", autocommit=True)
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT * FROM t"
    assert q(o, sql) == ((1, 10), (2, 20))
    wait_until(lambda: cache_status(cached)["entries"] >= 1, what="the base table's entry kept")
    q(c, "CREATE TEMPORARY SEQUENCE t START WITH 5")
    time.sleep(0.3)  # past the hold of c's write (read-your-writes): c could be served now
    for _ in range(3):
        seq = q(c, sql)
        assert len(seq) == 1 and len(seq[0]) == 8 and seq[0][0] == 5, seq  # the sequence's row
        assert q(o, sql) == ((1, 10), (2, 20))


def one_backend(cluster):
    """The primary alone as halyard's backends (a config override)."""
    return default_halyard_settings(cluster, 0)["backends"][:1]


@pytest.mark.parametrize("n_backends", [1, 3])
def test_a_temporary_table_made_before_the_cache_was_on(start_halyard, schema, cluster,
                                                         n_backends):
    """A session that created a temporary table while no rule cached
    (before a reload added the first cache rule) is tainted as one that
    created it afterwards: it reads its own table, never the base
    table's entry, and its rows never fill an entry another session gets."""
    more = {"backends": one_backend(cluster)} if n_backends == 1 else {}
    h = start_halyard(cache=CACHE, **more)
    c = h.connect(database="qc", autocommit=True)
    q(c, "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, v INT)")
    q(c, "INSERT INTO t VALUES (1, 99)")
    sock = f"/tmp/halyard-{h.port}.sock"
    before = admin_json(sock, "show status")["reloads_ok"]
    h.reload(render_conf(cluster, h.port, None, {"rules": RULES, "cache": CACHE, **more}))
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > before,
               what="the reload done")
    reader_ready(h)
    o = h.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    assert q(o, sql) == ((10,),)
    wait_until(lambda: cache_status(h)["entries"] >= 1, what="the base table's entry kept")
    for _ in range(3):
        assert q(c, sql) == ((99,),)
        assert q(o, sql) == ((10,),)


def rss_kib(h):
    with open(f"/proc/{h.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_session_keeps_no_capture_buffer_after_its_fill(start_halyard, schema, cluster):
    """Each session's copy of an answer it fills is freed once the fill is
    over, kept or not: 16 idle sessions that each read an answer larger
    than the rule's max_result_bytes (copied up to that bound, then given
    up) hold no 4 MiB each afterwards (64 MiB if they did).

    RSS also holds what malloc keeps after a free: glibc leaves the top of
    a thread's arena untrimmed up to its trim threshold, which follows the
    largest block freed (twice a 4 MiB copy: 8 MiB), in each worker's arena.
    With the default two workers and no warm-up that slack alone came near
    the bound (16,492 KiB once, under load). So one worker, and one such
    fill before the first measure: the arena is at its high water then."""
    rules = [dict(RULES[0], max_result_bytes=4 << 20)]
    h = start_halyard(rules=rules, cache=CACHE, workers=1)
    reader_ready(h)
    conns = [h.connect(database="qc", autocommit=True) for _ in range(16)]
    q(conns[0], "SELECT v FROM t WHERE id = 1")  # the pools warm
    assert len(q(conns[0], "SELECT REPEAT('x', 1000) AS warm, seq FROM seq_1_to_6000")) == 6000
    before = rss_kib(h)
    for i, c in enumerate(conns):
        got = q(c, f"SELECT REPEAT('x', 1000) AS b{i}, seq FROM seq_1_to_6000")
        assert len(got) == 6000  # 6 MB in small rows: copied up to 4 MiB
    st = cache_status(h)
    assert st["entries"] == 1 and st["fills_abandoned"] >= 17, st  # the warming read only
    grown = rss_kib(h) - before
    print(f"\nRSS grew {grown} KiB after 16 given-up fills")
    assert grown < 16 * 1024, f"halyard grew {grown} KiB after 16 given-up fills"


def test_a_hit_larger_than_the_buffer_reaches_a_client_slow_to_read(start_halyard, schema, cluster):
    """A hit is sent from the store's bytes; what the client's socket does
    not take at once waits in halyard until it does, however large (up to
    the rule's max_result_bytes), as a server's answer would. A client that
    asks for an 8 MB cached answer (more than a socket's largest send
    buffer here, 4 MiB) and reads it only half a second later, through a
    small receive buffer, gets all of it, as it does directly."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.big (id INT PRIMARY KEY, b TEXT)")
    cluster.sql(0, "INSERT INTO qc.big SELECT seq, REPEAT('x', 1000) FROM qc.seq_1_to_8000")
    cluster.sync()
    h = start_halyard(rules=[dict(RULES[0], max_result_bytes=16 << 20)], cache=CACHE)
    reader_ready(h)
    sql = "SELECT id, b FROM qc.big"
    c = h.connect(database="qc", autocommit=True)
    want = q(c, sql)
    assert len(want) == 8000
    wait_until(lambda: q(c, sql) == want and cache_status(h)["hits"] > 0, what="the answer cached")
    hits = cache_status(h)["hits"]
    slow = h.connect(database="qc", autocommit=True)
    # 64 KiB: with 4 KiB the window let ~2 KiB through per delayed ACK and
    # the read took 207 s; the socket buffers still hold half the answer
    slow._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    slow._execute_command(pymysql.constants.COMMAND.COM_QUERY, sql)
    time.sleep(0.5)
    slow._read_query_result()
    rows = slow._result.rows
    assert cache_status(h)["hits"] == hits + 1
    assert tuple(rows) == want, len(rows)
    assert q(slow, "SELECT 1") == ((1,),)  # the session goes on


def cache_account(cluster, name, *grants):
    """A new cache.user `name` (its password too) with REPLICATION SLAVE,
    BINLOG MONITOR and `grants` ("SELECT ON db.*" ...): the cache section
    that reads with it. The caller drops the user."""
    cluster.sql(0, f"DROP USER IF EXISTS '{name}'@'%'")
    cluster.sql(0, f"CREATE USER '{name}'@'%' IDENTIFIED BY '{name}'")
    for g in ("REPLICATION SLAVE, BINLOG MONITOR ON *.*",) + grants:
        cluster.sql(0, f"GRANT {g} TO '{name}'@'%'")
    return dict(CACHE, user=name, password=name)


def empty_list_read(h):
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["base_tables"] == 0,
               what="the reader streaming, the (empty) list of base tables read")


def test_a_cache_account_that_sees_no_base_table_is_said(start_halyard, schema, cluster):
    """cache.user with REPLICATION SLAVE but no SELECT (issue 42 item 15):
    information_schema shows it no base table, so every fill is refused
    as not a base table. halyard says so: a warning in the log when it has
    read the list, and `show cache` says why no answer is kept."""
    try:
        h = start_halyard(rules=RULES, cache=cache_account(cluster, "qcnosel"))
        empty_list_read(h)
        h.wait_log(r"cache: .*qcnosel.* sees no base table")
        c = h.connect(database="qc", autocommit=True)
        for _ in range(3):
            assert q(c, "SELECT v FROM t WHERE id = 1") == ((10,),)
        st = cache_status(h)
        assert st["hits"] == 0 and st["fills_refused_not_base"] >= 1, st
        assert "SELECT" in st["why_no_fills"], st
        ok = reader_ready(start_halyard(rules=RULES, cache=CACHE))
        assert cache_status(ok)["why_no_fills"] == "", cache_status(ok)
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'qcnosel'@'%'")


def test_no_base_table_is_said_once_while_tables_come_and_go(start_halyard, schema, cluster):
    """Issue 54 item 6: each DDL has the list of base tables read again,
    and each read that found none said "sees no base table" again: 299
    lines in two minutes while a suite created and dropped tables. Said
    once per cause now; the reads that found it again are counted
    (show cache's why_no_fills_repeats)."""
    try:
        h = start_halyard(rules=RULES, cache=cache_account(cluster, "qcchurn"))
        empty_list_read(h)
        h.wait_log(r"cache: .*qcchurn.* sees no base table")
        reads = cache_status(h)["base_table_reads"]
        for i in range(12):
            cluster.sql(0, f"CREATE TABLE qc.churn{i} (id INT PRIMARY KEY)")
            cluster.sql(0, f"DROP TABLE qc.churn{i}")
            time.sleep(0.2)  # a read of the list between each
        wait_until(lambda: cache_status(h)["base_table_reads"] >= reads + 6,
                   what="the list of base tables read again after the DDLs")
        wait_until(lambda: cache_status(h)["base_tables"] == 0, what="the list read")
        st = cache_status(h)
        said = len(re.findall(r"cache: .*qcchurn.* sees no base table", h.log_text()))
        assert said == 1, (said, st["base_table_reads"] - reads)
        assert st["why_no_fills_repeats"] >= st["base_table_reads"] - 1 >= reads + 5, st
        assert "SELECT" in st["why_no_fills"], st
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'qcchurn'@'%'")


def test_a_cache_account_that_sees_only_myisam_tables_is_told_so(start_halyard, schema, cluster):
    """Issue 42 item 4 (the second half): an account that sees base
    tables, all of an engine the cache never keeps (MyISAM here), is not
    told it "sees no base table" and needs SELECT: show cache and the log
    say the tables' engine is why."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS qcmy")
    cluster.sql(0, "CREATE OR REPLACE TABLE qcmy.m (id INT PRIMARY KEY, v INT) ENGINE = MyISAM")
    cluster.sql(0, "INSERT INTO qcmy.m VALUES (1, 10)")
    try:
        h = start_halyard(rules=RULES, cache=cache_account(cluster, "qcmyi", "SELECT ON qcmy.*"))
        empty_list_read(h)
        h.wait_log(r"cache: every base table the account qcmyi sees .* MyISAM")
        why = cache_status(h)["why_no_fills"]
        assert "engine" in why and "MyISAM" in why and "SELECT" not in why, why
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'qcmyi'@'%'")
        cluster.sql(0, "DROP DATABASE IF EXISTS qcmy")


WIDE_DB = "qc_wide_" + "w" * 56  # names of 64 characters: the widest rows


@pytest.mark.one_pool_mode  # the reader of the schema: no session in it
def test_a_schema_of_many_keys_is_read_whole_and_soon(start_halyard, schema, cluster):
    """The cache's reader reads the primary's tables and their key columns
    (cache_follow.c). 270 tables of 64 keys, names of 64 characters:
    17,280 key columns, whose list (about 4.4 MiB as halyard's SQL client
    holds it) is more than the 4 MiB one answer may be. Before: the read
    failed "result too large", nothing was ever cached, and the query
    itself, a join of information_schema.STATISTICS and COLUMNS (and a
    NOT EXISTS over COLUMNS), took over two minutes on this schema. Now
    its rows are taken one by one and the views are read once each
    (derived tables MariaDB materialises): the reader is ready within the
    usual wait, point lookups of a wide table go per row, and qc.t's
    answers are kept. The reader reads the primary only: the 269 tables
    no read touches are made there alone (sql_log_bin = 0), the one read
    through halyard everywhere (the replicas took over a minute of make
    check's to make the 270)."""
    conn = cluster.root_connect(0)
    cols = ", ".join(f"c{i:02d}_{'k' * 60} INT" for i in range(63))
    keys = ", ".join(f"UNIQUE (c{i:02d}_{'k' * 60})" for i in range(63))
    try:
        q(conn, f"CREATE DATABASE IF NOT EXISTS {WIDE_DB}")
        for t in range(270):
            q(conn, f"SET SESSION sql_log_bin = {int(t == 0)}")
            q(conn, f"CREATE TABLE IF NOT EXISTS {WIDE_DB}.t{t:03d}_{'t' * 59} "
                    f"(id INT PRIMARY KEY, {cols}, {keys})")
        q(conn, "SET SESSION sql_log_bin = 1")
        wide = f"{WIDE_DB}.t000_{'t' * 59}"
        q(conn, f"INSERT INTO {wide} (id) VALUES (1), (2)")
        cluster.sync(timeout=180)  # the replicas take their time too (CI: over 10 s)
        h = start_halyard(rules=RULES, cache=CACHE)
        # a few seconds on a loaded host: not the 10 s reader_ready gives
        wait_until(lambda: cache_status(h)["base_tables"] >= 271 and cache_status(h)["row_keys"],
                   timeout=60, what="the schema read")
        reader_ready(h)
        c = h.connect(database="qc", autocommit=True)
        point = f"SELECT id FROM {wide} WHERE id = 1"
        wait_until(lambda: q(c, point) == ((1,),) and cache_status(h)["point_entries"] >= 1,
                   what="the wide table's point lookup kept")
        hits = cache_status(h)["hits"]
        assert q(c, point) == ((1,),)
        assert cache_status(h)["hits"] == hits + 1, cache_status(h)
    finally:
        q(conn, f"DROP DATABASE IF EXISTS {WIDE_DB}")
        conn.close()
        cluster.sync(timeout=180)


def test_a_fill_read_before_a_logged_write_was_visible_is_not_kept(start_halyard, schema, cluster):
    """The fill window settle_ms covered (issue 42 item 10), made wide on
    purpose: semi-sync AFTER_SYNC with no replica to acknowledge. The
    primary writes the UPDATE to its binary log, then waits up to
    rpl_semi_sync_master_timeout before InnoDB makes it visible. The
    reader applies the UPDATE's row event at once (the entry goes); a
    read sent through halyard a while later (well past settle_ms, left at
    its default) still sees the old row. Its fill must not be kept: once
    the write is visible, halyard answers what the primary answers."""
    h = reader_ready(start_halyard(rules=RULES, cache={"user": "backup", "password": "backup"}))
    c = h.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM t WHERE id = 1"
    assert q(c, sql) == ((10,),)
    wait_until(lambda: cache_status(h)["entries"] >= 1, what="the entry kept")
    point = cluster.value(0, "SELECT @@global.rpl_semi_sync_master_wait_point")
    cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC")
    cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON")
    cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_timeout = 3000")
    cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_enabled = ON")
    w = cluster.connect(0, database="qc", autocommit=True)
    try:
        writer = threading.Thread(target=lambda: q(w, "UPDATE t SET v = 11 WHERE id = 1"))
        writer.start()
        # the reader applied the UPDATE's row event: the entry is gone
        wait_until(lambda: cache_status(h)["entries"] == 0, timeout=2, interval=0.02,
                   what="the UPDATE's row event applied")
        time.sleep(0.3)  # six times settle_ms
        assert writer.is_alive(), "the UPDATE did not wait for an acknowledgement: no window"
        d = cluster.connect(0, database="qc", autocommit=True)
        assert q(d, sql) == ((10,),), "the UPDATE is visible already: no window"
        # a miss read in the window: the old row
        assert q(c, sql) == ((10,),)
        writer.join(10)
        assert not writer.is_alive()
    finally:
        cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_enabled = OFF")
        cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = OFF")
        cluster.sql(0, "SET GLOBAL rpl_semi_sync_master_timeout = 10000")
        cluster.sql(0, f"SET GLOBAL rpl_semi_sync_master_wait_point = {point}")
    assert q(d, sql) == ((11,),)
    # the primary answers 11 now; so must halyard, now and a moment later
    assert q(c, sql) == ((11,),)
    time.sleep(0.2)
    assert q(c, sql) == ((11,),)
    assert cache_status(h)["fills_refused_race"] >= 1, cache_status(h)


def test_a_group_the_reader_does_not_follow_is_never_cached(start_halyard, cluster, dual, tmp_path):
    """Groups (issue 42 item 4): the reader follows one primary's binary
    log, the first primary of the config (group "rep" here). A session of
    another group ("dm", a dual-master pair with its own qc.t) reads
    another cluster's rows: they are neither kept nor served, so a session
    of "rep" running the same statement as the same user gets rep's row,
    and dm's own reads see dm's writes."""
    from test_groups import groups, settings_for
    for c in (cluster, dual):
        c.sql(0, "CREATE DATABASE IF NOT EXISTS qc")
        c.sql(0, "CREATE OR REPLACE TABLE qc.t (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO qc.t VALUES (1, 10)")
    dual.sql(0, "INSERT INTO qc.t VALUES (1, 99)")
    cluster.sync()
    port, dm_port = free_port(), free_port()
    s = settings_for(cluster, dual, tmp_path, port, dm_port)
    s["rules"] = RULES
    s["cache"] = CACHE
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    sock = s["admin_socket"]
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, sock).items()}
               == {"rep": "node0", "dm": "dm0"}, 15, what="both groups' writers")
    status = lambda: admin_json(sock, "show cache")  # noqa: E731
    wait_until(lambda: status()["streaming"] and status()["base_tables"] >= 1
               and status()["lag_ms"] >= 0 and status()["not_yet_visible"] == 0,
               what="the cache's reader ready")
    assert status()["source"] == "node0"
    sql = "SELECT v FROM t WHERE id = 1"
    dm = pymysql.connect(**h.conn_params(port=dm_port, database="qc", autocommit=True))
    rep = h.connect(database="qc", autocommit=True)
    for _ in range(3):
        assert q(dm, sql) == ((99,),)
        time.sleep(0.1)
    # the same statement, the same user, the other group: rep's row
    assert q(rep, sql) == ((10,),)
    assert q(rep, sql) == ((10,),)
    # a write on dm (its binary log is not read): dm's reads see it, once
    # its standby (which serves them, consistency = "eventual") has it
    q(dm, "UPDATE t SET v = 98 WHERE id = 1")
    wait_until(lambda: q(dm, sql) == ((98,),), timeout=5, what="dm's write read on dm")
    st = admin_json(sock, "show cache")
    assert st["hits"] <= 1 and st["refused_other_primary"] >= 4, st  # rep's second read only


def qcpriv_with_select_on_all(cluster):
    """The account qcpriv, made afresh with SELECT ON *.*; halyard's users
    (the test's and it)."""
    from util import mysql_native_hash
    cluster.sql(0, "DROP USER IF EXISTS 'qcpriv'@'%'")
    cluster.sql(0, "CREATE USER 'qcpriv'@'%' IDENTIFIED BY 'qcpriv'")
    cluster.sql(0, "GRANT SELECT ON *.* TO 'qcpriv'@'%'")
    return [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
            {"name": "qcpriv", "password_hash": mysql_native_hash("qcpriv")}]


def test_a_revoke_is_seen(start_halyard, schema, cluster):
    """Privileges (issue 42 item 13). MariaDB fixes a connection's global
    privileges at its login: after REVOKE SELECT ON *.*, a connection
    opened before still reads qc.t, a new one is refused (1142). The REVOKE in the binary log
    empties the cache; the old connection's next read must not be kept,
    or a session that logs in afterwards is served what its server
    refuses it. The primary alone, in session pool mode: each session its
    own connection, the one every read of it goes to."""
    users = qcpriv_with_select_on_all(cluster)
    try:
        h = reader_ready(start_halyard(rules=RULES, cache=CACHE, users=users, pool_mode="session",
                                       backends=one_backend(cluster)))
        sql = "SELECT v FROM qc.t WHERE id = 1"
        old = h.connect(user="qcpriv", password="qcpriv", autocommit=True)
        old_direct = cluster.connect(0, user="qcpriv", password="qcpriv", autocommit=True)
        assert q(old, sql) == ((10,),)
        assert q(old_direct, sql) == ((10,),)
        dropped = cache_status(h)["invalidated_ddl"]
        cluster.sql(0, "REVOKE SELECT ON *.* FROM 'qcpriv'@'%'")
        wait_until(lambda: cache_status(h)["invalidated_ddl"] > dropped, timeout=5,
                   what="the REVOKE applied")
        # the server: the old connection still reads, a new one is refused
        assert q(old_direct, sql) == ((10,),)
        new_direct = cluster.connect(0, user="qcpriv", password="qcpriv", autocommit=True)
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(new_direct, sql)
        assert e.value.args[0] == 1142, e.value.args
        # through halyard the same, however often the old session reads
        for _ in range(3):
            assert q(old, sql) == ((10,),)
            time.sleep(0.1)
        new = h.connect(user="qcpriv", password="qcpriv", autocommit=True)
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(new, sql)
        assert e.value.args[0] == 1142, e.value.args
        assert cache_status(h)["refused_old_privileges"] >= 1, cache_status(h)
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'qcpriv'@'%'")


def test_a_myisam_change_in_an_open_transaction_is_seen(cached, cluster):
    """A non-transactional change is visible at once. Under STATEMENT (or
    MIXED) binary logging, one made in a transaction after a
    transactional change is written to the binary log only at the
    transaction's end (binlog_direct_non_transactional_updates = OFF):
    while that transaction is open, halyard must not serve the row from
    before it (issue 42, noticed last session). A table of an engine
    without transactions is not cached."""
    cluster.sql(0, "CREATE OR REPLACE TABLE qc.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM")
    cluster.sql(0, "INSERT INTO qc.m VALUES (1, 10)")
    cluster.sync()
    c = cached.connect(database="qc", autocommit=True)
    sql = "SELECT v FROM m WHERE id = 1"
    for _ in range(4):  # filled and served, were a MyISAM table cached
        assert q(c, sql) == ((10,),)
        time.sleep(0.2)
    w = cluster.root_connect(0, autocommit=True)
    try:
        q(w, "SET SESSION binlog_format = 'STATEMENT'")
        q(w, "BEGIN")
        q(w, "UPDATE qc.t SET v = v + 1 WHERE id = 1")
        q(w, "UPDATE qc.m SET v = 11 WHERE id = 1")
        d = cluster.connect(0, database="qc", autocommit=True)
        assert q(d, sql) == ((11,),)  # the server: visible at once
        time.sleep(0.3)
        assert q(c, sql) == ((11,),)
        q(w, "COMMIT")
    finally:
        w.close()
    assert q(c, sql) == ((11,),)
    st = cache_status(cached)
    assert st["hits"] == 0 and st["fills_refused_not_base"] >= 1, st


def test_expired_entries_are_swept_without_a_lookup(start_halyard, schema, cluster):
    """An entry past its rule's ttl_ms is dropped by the reader's tick and
    counted (`invalidated_ttl`), not left holding memory until its key is
    read again (issue 42: cache_store_expire had no caller). Nothing is
    looked up after the fills: only the sweep can drop them."""
    rules = [{**RULES[0], "ttl_ms": 300}]
    h = reader_ready(start_halyard(rules=rules, cache=CACHE))
    c = h.connect(database="qc", autocommit=True)
    for i in range(1, 3):
        assert q(c, f"SELECT v FROM t WHERE id = {i}") == ((i * 10,),)
        assert q(c, f"SELECT v, id FROM t WHERE id = {i}") == ((i * 10, i),)
    wait_until(lambda: cache_status(h)["entries"] == 4, what="the four answers kept")
    st0 = cache_status(h)
    assert st0["bytes"] > 0 and st0["invalidated_ttl"] == 0, st0
    # gone within a few ticks of their expiry, without a read
    wait_until(lambda: cache_status(h)["entries"] == 0, timeout=3, what="the expired entries swept")
    st = cache_status(h)
    assert st["bytes"] == 0 and st["invalidated_ttl"] == 4, st
    assert st["hits"] == st0["hits"] and st["misses"] == st0["misses"], st


@pytest.mark.parametrize("pool_mode", ["session", "transaction"])
def test_a_pooled_connection_from_before_a_revoke_is_not_lent(start_halyard, schema, cluster,
                                                              pool_mode):
    """A REVOKE made on the primary directly, which halyard learns of from
    the binary log only (issue 42): MariaDB keeps a connection's global
    privileges from its login, so an idle pooled connection opened before
    would run a new session's read with the SELECT taken away. A session
    that logs in after must get 1142, as a new connection to the server
    does, in either pool mode."""
    users = qcpriv_with_select_on_all(cluster)
    try:
        h = reader_ready(start_halyard(rules=RULES, cache=CACHE, users=users, pool_mode=pool_mode,
                                       backends=one_backend(cluster)))
        sql = "SELECT v FROM qc.t WHERE id = 1"
        old = h.connect(user="qcpriv", password="qcpriv", autocommit=True)
        assert q(old, sql) == ((10,),)
        old.close()  # its connection to the primary goes back to the pool
        time.sleep(0.3)
        dropped = cache_status(h)["invalidated_ddl"]
        cluster.sql(0, "REVOKE SELECT ON *.* FROM 'qcpriv'@'%'")
        wait_until(lambda: cache_status(h)["invalidated_ddl"] > dropped, timeout=5,
                   what="the REVOKE applied by the cache's reader")
        new_direct = cluster.connect(0, user="qcpriv", password="qcpriv", autocommit=True)
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(new_direct, sql)
        assert e.value.args[0] == 1142, e.value.args
        for _ in range(2):
            new = h.connect(user="qcpriv", password="qcpriv", autocommit=True)
            with pytest.raises(pymysql.err.OperationalError) as e:
                q(new, sql)
            assert e.value.args[0] == 1142, e.value.args
            new.close()
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'qcpriv'@'%'")
