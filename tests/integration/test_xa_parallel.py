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
"""
import threading
import time

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
