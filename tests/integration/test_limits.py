"""Fair-share limits (issue 45, docs/limits.md), applied by real sessions.

A limit governs the statements of the sessions its conditions match: over
max_concurrent, max_per_second or max_server_ms_per_second a statement
waits in the limit's queue, served in order and fair across tenants, and
gets error 1226 (ER_USER_LIMIT_REACHED, as the server's own resource
limits) naming the limit and the value when the queue is full or the wait
times out. A statement inside a transaction is never held; an exempt user
is never governed; a reload changes the values with statements queued.
"""

import re
import subprocess
import threading
import time

import pymysql
import pytest

from test_core import client_bin
from test_reload import base, reload_ok
from util import APP_PASSWORD, APP_USER, admin_json, mysql_native_hash, q, wait_until


OTHER = "monitor"  # a second account the cluster has (test_rules uses it the same way)


def users(exempt_other=False):
    u = [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
         {"name": OTHER, "password_hash": mysql_native_hash("monitor")}]
    if exempt_other:
        u[1]["exempt"] = True
    return u


def limit(**kw):
    return {"name": "app_limit", "users": [APP_USER, OTHER], **kw}


class Run(threading.Thread):
    """One statement on its own connection, in a thread: its rows or error, and when it ended."""

    def __init__(self, conn, sql):
        super().__init__(daemon=True)
        self.conn, self.sql = conn, sql
        self.rows = self.error = None
        self.started = self.ended = None
        self.start()

    def run(self):
        self.started = time.monotonic()
        try:
            self.rows = q(self.conn, self.sql)
        except pymysql.err.MySQLError as e:
            self.error = e.args
        self.ended = time.monotonic()

    def result(self, timeout=30):
        self.join(timeout)
        assert not self.is_alive(), f"{self.sql} still running"
        return self.rows, self.error


def refused(conn, sql):
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(conn, sql)
    return e.value.args


def counted(h, in_flight, queued=0, name="app_limit", tenant=None):
    """Wait until show limits counts `in_flight` statements running and
    `queued` waiting under limit `name` (its tenants' rows summed, or
    `tenant`'s): the Runs started before have reached halyard. A Run's
    statement leaves from a thread of its own; on a loaded host it may not
    have reached halyard after a fixed sleep (0.3 or 0.4 s before), and
    the statement meant to meet the limit full went first."""
    def now():
        rows = [r for r in admin_json(f"/tmp/halyard-{h.port}.sock", "show limits")["limits"]
                if r["limit"] == name and tenant in (None, r["tenant"])]
        return (sum(r["in_flight"] for r in rows), sum(r["queued"] for r in rows))
    wait_until(lambda: now() == (in_flight, queued), timeout=10,
               what=f"{in_flight} in flight and {queued} queued under {name}")


def test_max_concurrent_queues_then_refuses(start_halyard):
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_size=1,
                                                   queue_timeout_ms=10000)])
    a, b, c = (h.connect(autocommit=True) for _ in range(3))
    holder = Run(a, "SELECT SLEEP(4)")
    counted(h, 1)
    queued = Run(b, "SELECT 'queued'")
    counted(h, 1, 1)
    t0 = time.monotonic()
    err = refused(c, "SELECT 'refused'")  # one in flight, one queued: the queue is full
    assert time.monotonic() - t0 < 0.5  # at once, not after a wait
    assert err == (1226, f"User '{APP_USER}' has exceeded the 'max_concurrent' resource (current "
                         "value: 1) of halyard limit 'app_limit': its queue is full (queue_size 1)")
    assert holder.result() == (((0,),), None)
    assert queued.result() == ((("queued",),), None)  # ran once, after the holder
    assert queued.ended >= holder.ended - 0.05, (queued.ended, holder.ended)
    assert q(c, "SELECT 'after'") == (("after",),)  # the refused session goes on


def test_queue_timeout_refuses(start_halyard):
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_timeout_ms=300)])
    a, b = h.connect(autocommit=True), h.connect(autocommit=True)
    holder = Run(a, "SELECT SLEEP(4)")
    counted(h, 1)
    t0 = time.monotonic()
    err = refused(b, "SELECT 'waits'")
    waited = time.monotonic() - t0
    assert 0.25 <= waited < 1.0, waited
    assert err == (1226, f"User '{APP_USER}' has exceeded the 'max_concurrent' resource (current "
                         "value: 1) of halyard limit 'app_limit': waited queue_timeout_ms (300 ms)")
    holder.result()
    assert q(b, "SELECT 'after'") == (("after",),)


def test_max_per_second_paces_statements(start_halyard):
    h = start_halyard(users=users(), limits=[{**limit(max_per_second=5, burst=2, queue_timeout_ms=5000),
                                              "users": [APP_USER]}])
    c = h.connect(autocommit=True)
    t0 = time.monotonic()
    for i in range(7):  # 2 from the burst, then 5 at 5 a second: about 1 s
        assert q(c, f"SELECT {i}") == ((i,),)
    took = time.monotonic() - t0
    assert 0.8 <= took < 3.0, took
    # The same on a session no limit governs takes a few ms.
    d = h.connect(user=OTHER, password="monitor", autocommit=True)
    t0 = time.monotonic()
    for i in range(7):
        q(d, f"SELECT {i}")
    assert time.monotonic() - t0 < 0.8


def test_max_server_ms_per_second_charges_server_time(start_halyard):
    h = start_halyard(users=users(), limits=[limit(max_server_ms_per_second=250,
                                                   queue_timeout_ms=10000)])
    c = h.connect(autocommit=True)
    t0 = time.monotonic()
    for _ in range(3):  # 750 ms of server time at 250 ms a second, 250 in the bucket: ~2 s
        q(c, "SELECT SLEEP(0.25)")
    took = time.monotonic() - t0
    assert took >= 1.5, took


def test_transaction_never_held(start_halyard, cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS limits")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS limits.t (id INT PRIMARY KEY)")
    cluster.sql(0, "DELETE FROM limits.t")
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_size=0)])
    a = h.connect(database="limits", autocommit=True)
    b = h.connect(database="limits", autocommit=True)
    q(a, "BEGIN")
    q(a, "INSERT INTO t VALUES (1)")  # the transaction is open on the server
    holder = Run(b, "SELECT SLEEP(4)")
    counted(h, 1)
    # The limit is full, but a statement in an open transaction passes.
    q(a, "INSERT INTO t VALUES (2)")
    assert q(a, "SELECT COUNT(*) FROM t") == ((2,),)
    q(a, "COMMIT")
    assert cluster.sql(0, "SELECT COUNT(*) FROM limits.t")[0][0] == 2
    # The next transaction's first statement is held (here: refused, queue_size 0).
    err = refused(a, "SELECT 'next'")
    assert err[0] == 1226 and "'max_concurrent'" in err[1], err
    holder.result()
    assert q(a, "SELECT 'after'") == (("after",),)


def test_exempt_user_is_never_held(start_halyard):
    h = start_halyard(users=users(exempt_other=True),
                      limits=[limit(max_concurrent=1, queue_size=0)])
    a, b = h.connect(autocommit=True), h.connect(autocommit=True)
    dba = h.connect(user=OTHER, password="monitor", autocommit=True)
    holder = Run(a, "SELECT SLEEP(4)")
    counted(h, 1)
    assert refused(b, "SELECT 1")[0] == 1226  # app is held
    assert q(dba, "SELECT 'dba'") == (("dba",),)  # the exempt account is not
    holder.result()


def test_queue_is_fair_across_tenants(start_halyard):
    """app queues five statements, then monitor one: monitor's is served second, not sixth."""
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_timeout_ms=20000)])
    holder_conn = h.connect(autocommit=True)
    apps = [h.connect(autocommit=True) for _ in range(5)]
    other = h.connect(user=OTHER, password="monitor", autocommit=True)
    # Each step waits until the statements before it are counted (a Run's
    # statement may be slow to leave its thread on a loaded host: app's
    # that came after the holder's end, or monitor's before app's, broke
    # the order), and the holder sleeps long enough for the three counts.
    holder = Run(holder_conn, "SELECT SLEEP(3)")
    counted(h, 1)
    runs = [Run(c, "SELECT SLEEP(0.2)") for c in apps]
    counted(h, 1, 5)
    late = Run(other, "SELECT SLEEP(0.2)")
    counted(h, 1, 6)
    holder.result()
    assert late.result() == (((0,),), None)
    for r in runs:
        assert r.result() == (((0,),), None)
    order = sorted(runs + [late], key=lambda r: r.ended)
    # In arrival order it would be last; fair, it is served right after app's first.
    assert order.index(late) == 1, [(r.conn.user, r.ended - holder.started) for r in order]


def test_reload_loosens_and_tightens_with_statements_queued(start_halyard, cluster):
    lim = limit(max_concurrent=1, queue_size=10, queue_timeout_ms=20000)
    h = start_halyard(users=users(), limits=[lim])
    settings = base(cluster, h.port, users=users(), limits=[lim])
    holder_conn = h.connect(autocommit=True)
    waiting = [h.connect(autocommit=True) for _ in range(2)]
    holder = Run(holder_conn, "SELECT SLEEP(3)")
    counted(h, 1)
    runs = [Run(c, "SELECT 'was queued'") for c in waiting]
    counted(h, 1, 2)
    assert all(r.is_alive() for r in runs)  # queued behind the holder
    reload_ok(h, {**settings, "limits": [{**lim, "max_concurrent": 3}]})
    for r in runs:  # loosened: they run while the holder still sleeps
        assert r.result(timeout=2) == ((("was queued",),), None)
    assert holder.is_alive()
    # Tightened: one in flight is the limit again, and the queue takes none.
    reload_ok(h, {**settings, "limits": [{**lim, "max_concurrent": 1, "queue_size": 0}]})
    err = refused(waiting[0], "SELECT 1")
    assert err == (1226, f"User '{APP_USER}' has exceeded the 'max_concurrent' resource (current "
                         "value: 1) of halyard limit 'app_limit': its queue is full (queue_size 0)")
    holder.result()
    assert q(waiting[0], "SELECT 2") == ((2,),)


def ps_run(h, text):
    return subprocess.run([client_bin("ps_query"), "127.0.0.1", str(h.port), APP_USER,
                           APP_PASSWORD, ""], input=text, capture_output=True, text=True,
                          timeout=30)


def test_prepared_execution_is_governed(start_halyard):
    """COM_STMT_EXECUTE (libmariadb's binary protocol) is held as a COM_QUERY is."""
    h = start_halyard(users=users(), limits=[limit(max_concurrent=1, queue_size=0)])
    holder = Run(h.connect(autocommit=True), "SELECT SLEEP(4)")
    counted(h, 1)
    out = ps_run(h, "SELECT ?\ti:7\n")
    assert out.returncode == 0, out.stderr
    assert "error\t1226\t42000\tUser 'app' has exceeded the 'max_concurrent' resource" in out.stdout, \
        out.stdout
    assert "row\t7" not in out.stdout
    holder.result()
    out = ps_run(h, "SELECT ?\ti:7\n")
    assert "row\t7\nrows=1\n" in out.stdout, out.stdout


# ---- visibility: show limits, halyardctl limits, metrics, events, query log ----

ADMIN_PW = "adm-secret"


def held_back_now(h):
    """app_limit with one statement in flight (SLEEP) and one queued: the
    two Runs, and a third session refused at once (queue_size 1). The
    SLEEP lasts the checks made meanwhile: 1.2 s was once too short for
    three admin interfaces and halyardctl on a loaded host (CI)."""
    a, b, c = (h.connect(autocommit=True) for _ in range(3))
    holder = Run(a, "SELECT SLEEP(3)")
    counted(h, 1)
    queued = Run(b, "SELECT 'queued'")
    counted(h, 1, 1)
    return holder, queued, c


def test_show_limits_on_both_admin_interfaces_and_halyardctl(start_halyard):
    from test_alerts import HALYARDCTL
    from util import admin_json, free_port, scrape, wait_until
    aport, mport = free_port(), free_port()
    h = start_halyard(users=users(), metrics_port=mport, admin_listen=f"127.0.0.1:{aport}",
                      admin_accounts=[{"name": "admin", "password_hash": mysql_native_hash(ADMIN_PW)}],
                      limits=[limit(max_concurrent=1, queue_size=1, queue_timeout_ms=10000),
                              {"name": "idle_limit", "user": OTHER, "max_per_second": 100}])
    sock = f"/tmp/halyard-{h.port}.sock"
    holder, queued, c = held_back_now(h)
    # While one runs and one waits: the socket, the SQL port and halyardctl agree.
    rows = admin_json(sock, "show limits")["limits"]
    assert len(rows) == 1, rows  # idle_limit has no tenant yet
    row = rows[0]
    assert (row["limit"], row["tenant"], row["held_back"], row["in_flight"], row["queued"]) == \
        ("app_limit", APP_USER, True, 1, 1), row
    adm = pymysql.connect(host="127.0.0.1", port=aport, user="admin", password=ADMIN_PW,
                          connect_timeout=5, read_timeout=10)
    with adm.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW LIMITS")
        sql_rows = cur.fetchall()
    assert [(r["limit"], r["tenant"], r["in_flight"], r["queued"]) for r in sql_rows] == \
        [("app_limit", APP_USER, 1, 1)], sql_rows
    out = subprocess.run([HALYARDCTL, "-s", sock, "limits"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    head, line = out.stdout.splitlines()[:2]
    assert head.split()[:4] == ["limit", "tenant", "in_flight", "queued"], out.stdout
    assert line.split()[:4] == ["app_limit", APP_USER, "1", "1"], out.stdout
    metrics = scrape(mport)
    assert 'halyard_limit_in_flight{limit="app_limit"} 1\n' in metrics
    assert 'halyard_limit_queued{limit="app_limit"} 1\n' in metrics
    assert 'halyard_limit_queued{limit="idle_limit"} 0\n' in metrics  # every limit, used or not
    assert refused(c, "SELECT 'refused'")[0] == 1226
    assert holder.result() == (((0,),), None)
    assert queued.result() == ((("queued",),), None)
    # Once over: what each did, counted.
    row = wait_until(lambda: [r for r in admin_json(sock, "show limits")["limits"]
                              if r["in_flight"] == 0][0])
    assert (row["held_back"], row["queued"], row["passed"], row["waited"], row["refused"]) == \
        (False, 0, 2, 1, 1), row
    assert 1024 <= row["wait_p50_ms"] <= 4096 and row["wait_p99_ms"] == row["wait_p50_ms"], row
    assert 2000 <= row["wait_ms"] <= 4000, row  # the queued one waited about 3 s
    assert row["server_ms"] >= 3000, row  # SLEEP(3) and a SELECT
    with adm.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW LIMITS")
        (sql_row,) = cur.fetchall()
    adm.close()
    assert (sql_row["passed"], sql_row["waited"], sql_row["refused"]) == (2, 1, 1), sql_row
    metrics = scrape(mport)
    for name, want in (("in_flight", "0"), ("queued", "0"), ("passed_total", "2"),
                       ("waited_total", "1"), ("refused_total", "1")):
        assert f'halyard_limit_{name}{{limit="app_limit"}} {want}\n' in metrics, (name, metrics)
    waited = float(re.search(r'halyard_limit_wait_seconds_total\{limit="app_limit"\} (\S+)',
                             metrics).group(1))
    server = float(re.search(r'halyard_limit_server_seconds_total\{limit="app_limit"\} (\S+)',
                             metrics).group(1))
    assert 2.0 <= waited <= 4.0 and server >= 3.0, (waited, server)


def test_events_once_per_change_not_per_statement(start_halyard):
    """Five statements refused in a row make one limit_holding, and the first
    that then goes at once one limit_clear (alerts.repeat_ms 0: nothing
    coalesced by the notifier, so the counts are the limit's own)."""
    from test_alerts import Receiver, alerts
    hook = Receiver()
    try:
        h = start_halyard(users=users(), alerts=alerts(webhook=hook.url),
                          limits=[limit(max_concurrent=1, queue_size=0)])
        a, b = h.connect(autocommit=True), h.connect(autocommit=True)
        holder = Run(a, "SELECT SLEEP(1)")
        counted(h, 1)
        for _ in range(5):
            assert refused(b, "SELECT 1")[0] == 1226
        ev = hook.wait("limit_holding", backend="app_limit")
        assert ev["severity"] == "warning" and ev["new"] == "holding", ev
        assert ev["reason"] == (f"statements of '{APP_USER}' are held back: max_concurrent "
                                "reached (queue_size 0, queue_timeout_ms 1000)"), ev
        holder.result()
        assert q(b, "SELECT 2") == ((2,),)
        assert q(b, "SELECT 3") == ((3,),)
        hook.wait("limit_clear", backend="app_limit")
        time.sleep(0.5)  # anything more would have come by now
        assert [e["event"] for e in hook.events() if e["event"].startswith("limit_")] == \
            ["limit_holding", "limit_clear"]
    finally:
        hook.close()


def query_log_after_a_wait(start_halyard, tmp_path, then, **kw):
    """A halyard writing a query log, its limit one statement at a time:
    SELECT 'held' waits about 1.5 s behind SELECT SLEEP(1.5), then its
    session runs the statements `then`. The log's lines by query, once the
    last of `then` is there, and the least and most the wait can have
    been, in µs, by the client's clocks: from when 'held' was seen queued
    to the SLEEP's end at the earliest, its client's whole time at the
    latest (a loaded host stretches either side)."""
    import json
    qlog = tmp_path / "query.log"
    h = start_halyard(users=users(), query_log=str(qlog),
                      limits=[limit(max_concurrent=1, queue_timeout_ms=10000)], **kw)
    a, b = h.connect(autocommit=True), h.connect(autocommit=True)
    holder = Run(a, "SELECT SLEEP(1.5)")
    counted(h, 1)
    queued = Run(b, "SELECT 'held'")
    counted(h, 1, 1)
    seen_queued = time.monotonic()
    assert holder.result() == (((0,),), None)
    assert queued.result() == ((("held",),), None)
    for sql in then:
        q(b, sql)

    def entries():
        try:
            lines = [json.loads(x) for x in qlog.read_text().splitlines()]
        except (OSError, ValueError):
            return None
        got = {e["query"]: e for e in lines}
        return got if then[-1] in got else None
    least = (holder.started + 1.49 - seen_queued) * 1e6  # (10 ms for the clocks' rounding)
    most = (queued.ended - queued.started) * 1e6
    return wait_until(entries), least, most


def test_query_log_records_the_wait(start_halyard, tmp_path):
    got, least, most = query_log_after_a_wait(start_halyard, tmp_path, ["SELECT 'after'"])
    held = got["SELECT 'held'"]
    assert least <= held["limit_wait_us"] <= most, (least, most, held)  # ~1.5 s behind the holder
    assert held["duration_us"] < 300_000, held  # its own time on the server, after the wait
    assert "limit_wait_us" not in got["SELECT SLEEP(1.5)"], got  # it went at once
    assert "limit_wait_us" not in got["SELECT 'after'"], got


def test_match_digest_governs_only_its_statements(start_halyard):
    """A limit with match_digest governs the statements whose digest (the
    one show digests and rules' match_digest see) matches, however spelled,
    and no other statement of the same user."""
    from util import admin_json
    h = start_halyard(users=users(), limits=[{
        "name": "sleepers", "users": [APP_USER], "match_digest": "^SELECT SLEEP",
        "max_concurrent": 1, "queue_size": 0}])
    a, b = h.connect(autocommit=True), h.connect(autocommit=True)
    holder = Run(a, "SELECT SLEEP(3)")
    counted(h, 1, name="sleepers")
    # The same digest, spelled otherwise: held (refused: queue_size 0).
    err = refused(b, "select  sleep(0.01)")
    assert err == (1226, f"User '{APP_USER}' has exceeded the 'max_concurrent' resource (current "
                         "value: 1) of halyard limit 'sleepers': its queue is full (queue_size 0)")
    # Another digest of the same user: not governed, at once (answered
    # while the holder runs, not after it)
    assert q(b, "SELECT 1") == ((1,),)
    assert holder.is_alive()
    assert holder.result() == (((0,),), None)
    (row,) = admin_json(f"/tmp/halyard-{h.port}.sock", "show limits")["limits"]
    assert (row["limit"], row["passed"], row["refused"]) == ("sleepers", 1, 1), row


def test_match_digest_governs_prepared_executions(start_halyard):
    """A limit with match_digest governs a prepared statement's executions
    (COM_STMT_EXECUTE) by the digest of the text it was prepared from, as
    it governs a text statement: one held by an execution in flight holds
    text statements of the same digest and executions too, and leaves
    another prepared statement of the same user alone."""
    from util import admin_json
    h = start_halyard(users=users(), limits=[{
        "name": "sleepers", "users": [APP_USER], "match_digest": "^SELECT SLEEP",
        "max_concurrent": 1, "queue_size": 0}])
    held = []
    holder = threading.Thread(daemon=True,
                              target=lambda: held.append(ps_run(h, "SELECT SLEEP(?)\td:3\n")))
    holder.start()
    counted(h, 1, name="sleepers")  # (ps_run starts a process: slow on a loaded host)
    full = (f"User '{APP_USER}' has exceeded the 'max_concurrent' resource (current value: 1) "
            "of halyard limit 'sleepers': its queue is full (queue_size 0)")
    # The execution in flight holds the limit: a text statement of its digest is refused.
    assert refused(h.connect(autocommit=True), "select sleep(0.01)") == (1226, full)
    out = ps_run(h, "select  sleep(?)\td:0.01\nSELECT ? + 1\ti:7\n")
    assert out.returncode == 0, out.stderr
    # The same digest, spelled otherwise: refused.
    assert f"error\t1226\t42000\t{full}\n" in out.stdout, out.stdout
    assert "row\t8\n" in out.stdout, out.stdout  # another digest: not governed, at once
    assert holder.is_alive()  # (answered while the execution in flight runs, not after it)
    holder.join(10)
    assert not holder.is_alive()
    assert "row\t0\nrows=1\n" in held[0].stdout, held
    (row,) = admin_json(f"/tmp/halyard-{h.port}.sock", "show limits")["limits"]
    assert (row["limit"], row["passed"], row["refused"], row["in_flight"]) == \
        ("sleepers", 1, 2, 0), row


def test_slow_query_log_counts_the_wait(start_halyard, tmp_path):
    """query_log_min_duration_ms compares the client's time: a statement
    that ran fast but waited on a limit past the threshold is logged (its
    limit_wait_us and duration_us add up to it); a fast one that did not
    wait is not."""
    got, _, _ = query_log_after_a_wait(start_halyard, tmp_path,
                                       ["SELECT 'fast'", "SELECT SLEEP(0.4)"],
                                       query_log_min_duration_ms=300)
    assert "SELECT 'held'" in got, sorted(got)  # ~1.5 s for its client, of which ~0 ran
    held = got["SELECT 'held'"]
    assert held["duration_us"] < 300_000 <= held["duration_us"] + held["limit_wait_us"], held
    assert "SELECT 'fast'" not in got, sorted(got)
    assert "limit_wait_us" not in got["SELECT SLEEP(1.5)"], got
