"""KILL QUERY of a statement that waits inside halyard.

A statement halyard has read but not sent (queued behind a fair-share
limit, waiting for a usable primary) is one the client sees running.
MariaDB ends a killed statement at once, waiting or not, with ERROR 1317
(70100) "Query execution was interrupted", and the connection goes on.
Through halyard the KILL QUERY (from another session, as the same user)
must do the same at once: not when the wait ends, and without sending
the statement anywhere.
"""

import time

import pymysql

from test_failover import ctl, failover_settings
from test_limits import OTHER, Run, limit, users
from util import admin_json, q, wait_until

ER_QUERY_INTERRUPTED = (1317, "Query execution was interrupted")


def session_in(sock, sid, state):
    return any(x.get("id") == sid and x.get("state") == state
               for x in admin_json(sock, "show sessions")["sessions"])


def waits_in_halyard(sock, sid):
    return session_in(sock, sid, "wait_backend")



def killed_at_once(killer, run, tid, late):
    """`killer` sends KILL QUERY `tid`: the statement `run` runs there ends
    with 1317 within a second (not `late`)."""
    t0 = time.monotonic()
    assert q(killer, f"KILL QUERY {tid}") == ()
    rows, err = run.result(timeout=30)
    took = run.ended - t0
    assert (rows, err) == (None, ER_QUERY_INTERRUPTED), (rows, err, took)
    assert took < 1.0, f"1317 after {took:.2f} s: {late}, not at the KILL"

def test_kill_query_of_a_statement_queued_behind_a_limit(start_halyard):
    """A holds the limit's one place for 3 s, B's statement queues behind
    it (the queue has one place), C kills B's statement: B gets 1317 while
    A still runs, and its next statement takes the queue's place again
    (none left behind by the killed one) and runs once A is done."""
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_size=1,
                                                   queue_timeout_ms=20000)])
    sock = f"/tmp/halyard-{h.port}.sock"
    a, b, c = (h.connect(autocommit=True) for _ in range(3))
    holder = Run(a, "SELECT SLEEP(3)")
    wait_until(lambda: session_in(sock, a.thread_id(), "command"), what="A's statement running")
    queued = Run(b, "SELECT 'ran'")
    wait_until(lambda: waits_in_halyard(sock, b.thread_id()), what="B's statement queued")
    killed_at_once(c, queued, b.thread_id(), "when the limit freed")
    assert holder.ended is None  # A still holds the limit
    # B's place in the queue was given up: its next statement queues (not
    # 1226, queue full) and runs once A is done
    assert q(b, "SELECT 1") == ((1,),)
    assert holder.result() == (((0,),), None)


def test_a_refused_kill_query_leaves_the_queued_statement_be(start_halyard):
    """The same, the KILL QUERY sent by another account: refused with
    1095 (not the owner; B's statement waits with no server thread to ask,
    in either pool mode), and B's statement stays queued and runs once A
    is done. The wakeup a KILL QUERY now sends marks nothing here."""
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_size=1,
                                                   queue_timeout_ms=20000)])
    sock = f"/tmp/halyard-{h.port}.sock"
    a, c = h.connect(autocommit=True), h.connect(autocommit=True)
    b = h.connect(user=OTHER, password="monitor", autocommit=True)
    assert q(b, "SELECT 'b has run'") == (("b has run",),)  # session mode: its connection
    holder = Run(a, "SELECT SLEEP(2)")
    wait_until(lambda: session_in(sock, a.thread_id(), "command"), what="A's statement running")
    queued = Run(b, "SELECT 'ran'")
    wait_until(lambda: waits_in_halyard(sock, b.thread_id()), what="B's statement queued")
    try:
        q(c, f"KILL QUERY {b.thread_id()}")
        denied = None
    except pymysql.err.MySQLError as e:
        denied = e.args
    assert denied == (1095, f"You are not owner of thread {b.thread_id()}")
    assert queued.result() == ((("ran",),), None)
    assert holder.result() == (((0,),), None)


def test_kill_query_of_a_write_waiting_for_a_primary(cluster, start_halyard, tmp_path):
    """The primary is taken out (maint) with failover on and far off: a
    write waits for a usable primary (failover_write_wait_ms, 20 s); a KILL
    QUERY of it from another session ends it with 1317 at once, and the
    session goes on."""
    settings = failover_settings(tmp_path, failover_delay_ms=60000, failover_write_wait_ms=20000)
    sock = settings["admin_socket"]
    h = start_halyard(settings)
    b, c = h.connect(autocommit=True), h.connect(autocommit=True)
    r = ctl(sock, "backend", "node0", "maint")
    assert r.returncode == 0, r.stdout + r.stderr
    write = Run(b, "INSERT INTO test.kill_wait_never (id) VALUES (1)")
    wait_until(lambda: waits_in_halyard(sock, b.thread_id()), what="the write waiting")
    killed_at_once(c, write, b.thread_id(), "when the wait ran out")
    assert q(b, "SELECT 'b goes on'") == (("b goes on",),)
