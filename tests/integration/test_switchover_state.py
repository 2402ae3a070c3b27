"""A switchover and the user variables only the old primary had (issue 47,
item 1; issue 41).

A session's user variables halyard could not copy (set by a CALL, a stored
function, a trigger a write fired: router.c uvars_opaque) live on its
connection to the primary only. When that connection breaks the session
ends (session_conn_lost), as the server ends the client's connection.
When the monitor moves the primary role first (a switchover), the session
follows the new primary and closes its old connection itself; it must end
the same way rather than go on without its variables. The server reports a
session state change for a write to a table with any trigger, one that
sets no variable too: halyard counts the user variables on the old
connection before it follows, and a session that has none goes on.

    four sessions through halyard, each with @v = 42 set a different way,
    then `halyardctl switchover to node2`:
      CALL, a stored function, a trigger: the next statement gets 2013
        (the session ended), never `SELECT @v` = NULL; a direct connection
        to node0 whose CALL set @v reads 42 there after the switchover (the
        server keeps a connection's variables whatever its role)
      `SET @v = (SELECT 42)`: halyard read the value back, so the session
        goes on and reads 42 on node2
      an INSERT into a table whose trigger only reads @@server_id: no
        variable on node0, the session goes on on node2 (@v NULL as
        directly)
    Before the fix the first three read NULL on node2 (pool modes
    transaction and session).
"""
import pymysql
import pytest

from test_failover import ctl, failover_settings
from util import wait_until

SETUP = [
    "CREATE DATABASE IF NOT EXISTS sw",
    "DROP TABLE IF EXISTS sw.t",
    "CREATE TABLE sw.t (id INT PRIMARY KEY)",
    "CREATE TRIGGER sw.t_ai AFTER INSERT ON sw.t FOR EACH ROW SET @v = NEW.id",
    "DROP TABLE IF EXISTS sw.u",
    "CREATE TABLE sw.u (id INT PRIMARY KEY, sid INT)",
    "CREATE TRIGGER sw.u_bi BEFORE INSERT ON sw.u FOR EACH ROW SET NEW.sid = @@server_id",
    "DROP PROCEDURE IF EXISTS sw.p",
    "CREATE PROCEDURE sw.p() SET @v = 42",
    "DROP FUNCTION IF EXISTS sw.f",
    "CREATE FUNCTION sw.f() RETURNS INT NOT DETERMINISTIC NO SQL BEGIN SET @v = 42; RETURN 1; END",
]

# How each session sets @v = 42 (the trigger's row is 42: NEW.id).
HOW = {
    "call": "CALL sw.p()",
    "function": "SELECT sw.f()",
    "trigger": "INSERT INTO sw.t VALUES (42)",
}


def sets(cur, how):
    cur.execute(HOW[how])
    cur.execute("SELECT @v")
    return cur.fetchone()[0]


def test_a_switchover_ends_a_session_whose_user_variables_only_the_old_primary_had(
        cluster, start_halyard, tmp_path):
    with cluster.root_connect(0) as root, root.cursor() as rc:
        for q in SETUP:
            rc.execute(q)
    cluster.sync()
    conf = failover_settings(tmp_path)
    h = start_halyard(conf)
    conns = {how: pymysql.connect(**h.conn_params(autocommit=True, read_timeout=30))
             for how in list(HOW) + ["set", "no_var"]}
    try:
        for how in HOW:
            with conns[how].cursor() as cur:
                assert sets(cur, how) == 42, how
        with conns["set"].cursor() as cur:
            cur.execute("SET @v = (SELECT 42)")
        with conns["no_var"].cursor() as cur:
            cur.execute("INSERT INTO sw.u (id) VALUES (1)")
        direct = conns["direct"] = cluster.connect(0, autocommit=True)
        with direct.cursor() as cur:
            assert sets(cur, "call") == 42
        r = ctl(conf["admin_socket"], "switchover", "to", "node2")
        assert r.returncode == 0 and r.stdout.startswith("OK switchover done"), r.stdout + r.stderr
        wait_until(lambda: h.sql("/* halyard: primary */ SELECT @@server_id") ==
                   [(cluster.server_id(2),)], 10, what="halyard to write to node2")
        seen = {}
        for how in HOW:
            try:
                with conns[how].cursor() as cur:
                    cur.execute("SELECT @v")
                    seen[how] = f"@v = {cur.fetchone()[0]}"
            except pymysql.MySQLError as e:
                seen[how] = e.args[0]
        assert seen == {how: 2013 for how in HOW}
        # no variable on the old primary: that session goes on, on node2
        with conns["no_var"].cursor() as cur:
            cur.execute("INSERT INTO sw.u (id) VALUES (2)")
            cur.execute("/* halyard: primary */ SELECT @v, @@server_id")
            assert cur.fetchone() == (None, cluster.server_id(2))
        # it was asked (the trigger's state change made its variables opaque)
        assert "no user variable on the old primary" in h.log_text()
        assert cluster.sql(2, "SELECT id, sid FROM sw.u ORDER BY id") == \
            [(1, cluster.server_id(0)), (2, cluster.server_id(2))]
        # halyard copied what a SET assigned: that session goes on, on node2
        with conns["set"].cursor() as cur:
            cur.execute("/* halyard: primary */ SELECT @v, @@server_id")
            assert cur.fetchone() == (42, cluster.server_id(2))
        with direct.cursor() as cur:
            cur.execute("SELECT @v, @@read_only")
            assert cur.fetchone() == (42, 1)  # node0, a replica now
    finally:
        for c in conns.values():
            c.close()
