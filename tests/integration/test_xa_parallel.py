"""An XA transaction's end runs each phase on every branch at once
(session_xa.c, xa_post): XA END + XA PREPARE is sent to every branch
before any answer is read, so a slow group does not hold back the other
group's PREPARE.

The slow group: FLUSH TABLES WITH READ LOCK on group a's primary (a root
connection of the test) holds every XA PREPARE there (MariaDB takes the
backup commit lock for it) until UNLOCK TABLES. The transaction's first
branch is on group a, so halyard, sending one branch after the other,
would wait for a's PREPARE before sending b's: group b would show nothing
prepared (XA RECOVER) while a is held. Sent at once, b's branch is
prepared while a's still waits. Once a is released the COMMIT completes on
both groups.

The answers are read one connection after the other; the one read later
waits in its socket. When the session last ran on group a, group b's
connection is parked (the session left that group) and its answer,
readable before its turn, must not be taken as the server closing it (the
transaction would be rolled back): the "last on a" case.

A phase's failures are weighed once all its answers are in: group a's
PREPARE failing (its connection killed while it waits) rolls back group
b's branch, prepared meanwhile (no decision was logged).
"""
import threading
import time

import pymysql
import pytest

from test_xa import IN_TRANS, on_a, on_b, xa  # noqa: F401 (fixture)
from util import metric, wait_until


@pytest.mark.parametrize("last", ["b", "a"])
def test_prepare_is_sent_to_every_branch_at_once(xa, cluster, dual, last):  # noqa: F811
    h, s, log = xa
    conn = h.connect()
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.execute("INSERT INTO sa.t VALUES (700, 1)")  # the first branch: group a
    cur.execute("INSERT INTO sb.t VALUES (700, 2)")
    if last == "a":
        cur.execute("UPDATE sa.t SET w = w + 10 WHERE id = 700")  # b's connection parked
    assert on_b(dual, "XA RECOVER") == []
    lock = cluster.root_connect(0)
    done = {}
    try:
        with lock.cursor() as lc:
            lc.execute("FLUSH TABLES WITH READ LOCK")

        def commit():
            try:
                cur.execute("COMMIT")
                done["ok"] = True
            except Exception as e:  # the assertion below says what it was
                done["err"] = e

        t = threading.Thread(target=commit)
        t.start()
        # b's PREPARE ran while a's waits for the lock
        wait_until(lambda: len(on_b(dual, "XA RECOVER")) == 1, 10,
                   what="group b's branch prepared while group a's PREPARE waits")
        assert on_a(cluster, "XA RECOVER") == []
        # b's answer is in its socket meanwhile: not taken as a close
        time.sleep(0.5)
        assert t.is_alive() and not done
    finally:
        with lock.cursor() as lc:
            lc.execute("UNLOCK TABLES")
        lock.close()
    t.join(30)
    assert done.get("ok"), done
    assert not conn.server_status & IN_TRANS
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 700") == [(11 if last == "a" else 1,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 700") == [(2,)]
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 1
    wait_until(lambda: "\nD " in log.read_text(), 10, what="the decision marked done")
    # the session goes on, on both groups
    cur.execute("INSERT INTO sb.t VALUES (701, 3)")
    cur.execute("INSERT INTO sa.t VALUES (701, 3)")
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 701") == [(1,)]
    conn.close()


def test_a_failed_prepare_rolls_back_the_branch_prepared_meanwhile(xa, cluster, dual):  # noqa: F811
    """Group b's branch prepares while group a's PREPARE waits; a's
    connection is then killed there: the COMMIT gets ERR 1402 and b's
    prepared branch is rolled back (no decision was logged)."""
    h, s, log = xa
    conn = h.connect()
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.execute("INSERT INTO sa.t VALUES (710, 1)")
    cur.execute("INSERT INTO sb.t VALUES (710, 2)")
    lock = cluster.root_connect(0)
    done = {}
    try:
        with lock.cursor() as lc:
            lc.execute("FLUSH TABLES WITH READ LOCK")

        def commit():
            try:
                cur.execute("COMMIT")
                done["ok"] = True
            except pymysql.MySQLError as e:
                done["err"] = e.args

        t = threading.Thread(target=commit)
        t.start()
        wait_until(lambda: len(on_b(dual, "XA RECOVER")) == 1, 10,
                   what="group b's branch prepared while group a's PREPARE waits")
        ids = []

        def waiting():
            ids[:] = [r[0] for r in on_a(
                cluster, "SELECT id FROM information_schema.PROCESSLIST "
                         "WHERE info LIKE 'XA PREPARE%'")]
            return len(ids) == 1
        wait_until(waiting, 10, what="group a's XA PREPARE waiting")
        with lock.cursor() as lc:
            lc.execute(f"KILL CONNECTION {ids[0]}")
        # gone before the lock is released: its PREPARE cannot run after all
        wait_until(lambda: on_a(cluster, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                         f"WHERE id = {ids[0]}") == [(0,)], 10,
                   what="the killed connection gone")
    finally:
        with lock.cursor() as lc:
            lc.execute("UNLOCK TABLES")
        lock.close()
    t.join(30)
    assert "err" in done and done["err"][0] == 1402, done
    assert "rolled back" in done["err"][1] and "group a" in done["err"][1], done
    assert on_b(dual, "XA RECOVER") == [] and on_a(cluster, "XA RECOVER") == []
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 710") == [(0,)]
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 710") == [(0,)]
    assert not log.exists() or log.read_text() == ""
    assert metric(s["metrics_port"], "halyard_xa_rollbacks_total") == 1
    # the session goes on
    cur.execute("INSERT INTO sb.t VALUES (711, 3)")
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 711") == [(1,)]
    conn.close()
