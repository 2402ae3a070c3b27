"""Health checks, ejection and recovery (issue 4, points 1-4).

The monitor checks every backend (monitor.interval_ms); a backend that fails
`fall` checks, or whose connection a worker sees fail, is DOWN and takes no
new statement; a replica lagging past max_replication_lag is LAGGING. Reads
keep succeeding while a replica dies: the ones in flight there run again on
another backend. A transaction on a dead backend gets an ERR and the
session's next transaction works. State changes are read from halyard's log
("backend NAME: FROM -> TO: why").
"""

import datetime
import re
import threading
import time

import pymysql
import pytest

from util import Background, audit_records, wait_audit, wait_until, q


def sid(conn):
    return q(conn, "SELECT @@server_id")[0][0]


def state_change(h, name, to, timeout):
    """Wait for the log line of backend `name` going to state `to`; return
    the monotonic time it was seen."""
    h.wait_log(rf"backend {name}: \w+ -> {to}", timeout=timeout)
    return time.monotonic()


class Readers(Background):
    """`n` connections reading @@server_id in a loop until stopped; every
    error is kept."""

    def __init__(self, h, n=4):
        self.conns = [h.connect(autocommit=True) for _ in range(n)]
        self.errors = []
        self.seen = []  # (monotonic time, server_id)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(c,), daemon=True) for c in self.conns]

    def run(self, c):
        while not self.stop.is_set():
            try:
                self.seen.append((time.monotonic(), sid(c)))
            except pymysql.MySQLError as e:
                self.errors.append(repr(e))
                return
            time.sleep(0.005)

    join_timeout = 10

    def __exit__(self, *exc):
        super().__exit__(*exc)
        for c in self.conns:
            c.close()

    def since(self, t0):
        return {s for t, s in self.seen if t >= t0}


def test_killed_replica_out_within_an_interval_and_back(start_halyard, cluster, tmp_path):
    interval = 2.0
    audit = tmp_path / "audit.log"
    h = start_halyard(monitor={"user": "monitor", "password": "monitor",
                               "interval_ms": int(interval * 1000)}, audit_log=str(audit))
    r1, r2 = cluster.server_id(1), cluster.server_id(2)
    with Readers(h) as rd:
        wait_until(lambda: rd.since(0) >= {r1, r2}, what="reads on both replicas")
        w_kill = time.time()
        cluster.kill(1)
        state_change(h, "node1", "DOWN", timeout=3 * interval)
        # When halyard marked it (its audit record's time), not when the
        # poll saw it: on a loaded host (CI) the poll came 2.17 s after.
        down = wait_until(lambda: audit_records(audit, "backend_state", backend="node1", to="DOWN"),
                          5, what="the DOWN audit record")[0]
        t_mark = datetime.datetime.strptime(down["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert t_mark - w_kill < interval, f"DOWN {t_mark - w_kill:.2f} s after the kill"
        time.sleep(0.5)
        t_check = time.monotonic()
        time.sleep(0.5)
        assert rd.since(t_check) == {r2}, "reads go to the replica left"
        cluster.start_node(1)
        state_change(h, "node1", "ONLINE", timeout=5 * interval)
        t_back = time.monotonic()
        wait_until(lambda: r1 in rd.since(t_back), what="reads back on node1")
        assert not rd.errors, rd.errors
    assert re.search(r"backend node1: ONLINE -> DOWN: \d+ failed checks?; last: ", h.log_text())
    # Both changes are audit records, written by the monitor thread.
    down = wait_audit(audit, "backend_state", backend="node1", to="DOWN")
    assert down["from"] == "ONLINE" and re.match(r"\d+ failed checks?; last: ", down["reason"]), down
    up = wait_audit(audit, "backend_state", backend="node1", to="ONLINE")
    assert up["from"] == "DOWN" and re.match(r"\d+ good checks?", up["reason"]), up
    assert set(up) == {"time", "event", "backend", "from", "to", "reason"}, up
    assert [r["to"] for r in audit_records(audit, "backend_state")] == ["DOWN", "ONLINE"]


def test_passive_check_ejects_faster_than_fall_intervals(start_halyard, cluster):
    # fall * interval = 15 s: only a worker's report makes it fast.
    h = start_halyard(monitor={"user": "monitor", "password": "monitor",
                               "interval_ms": 5000, "fall": 3})
    h.wait_log(r"monitor: checking 3 backends")
    time.sleep(0.3)  # past the first round
    with Readers(h, n=3) as rd:
        wait_until(lambda: len(rd.seen) > 20, what="reads running")
        t_kill = time.monotonic()
        cluster.kill(2)
        t_down = state_change(h, "node2", "DOWN", timeout=15)
        assert t_down - t_kill < 2.5, f"DOWN {t_down - t_kill:.2f} s after the kill"
        assert not rd.errors, rd.errors
    assert re.search(r"last: worker: session|last: connect", h.log_text())


def test_replica_past_max_replication_lag_and_back(start_halyard, cluster, tmp_path):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS health")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS health.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    cluster.sync()
    audit = tmp_path / "audit.log"
    # the delay first: setting it stops node1's replication for a moment,
    # and a check then would see it broken, not lagging (CI: "ONLINE ->
    # LAGGING: replication broken")
    cluster.delay(1, 8)
    h = start_halyard(max_replication_lag=2, audit_log=str(audit),
                      monitor={"user": "monitor", "password": "monitor", "interval_ms": 500})
    r1, r2 = cluster.server_id(1), cluster.server_id(2)
    stop = threading.Event()

    def writer():
        w = cluster.connect(0, autocommit=True)
        while not stop.is_set():
            q(w, "INSERT INTO health.t (v) VALUES (1)")
            time.sleep(0.2)
        w.close()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        state_change(h, "node1", "LAGGING", timeout=15)
        assert re.search(r"backend node1: ONLINE -> LAGGING: lag [\d.]+ s over max_replication_lag 2 s", h.log_text())
        c = h.connect(autocommit=True)
        assert {sid(c) for _ in range(10)} == {r2}, "no reads on the lagging replica"
        cluster.delay(1, 0)
        state_change(h, "node1", "ONLINE", timeout=20)
        wait_until(lambda: sid(c) == r1, what="reads back on node1")
    finally:
        stop.set()
        t.join(5)
    lag = wait_audit(audit, "backend_state", backend="node1", to="LAGGING")
    assert lag["from"] == "ONLINE" and "over max_replication_lag 2 s" in lag["reason"], lag
    back = wait_audit(audit, "backend_state", backend="node1", **{"from": "LAGGING"})
    assert back["to"] == "ONLINE", back


def test_broken_replication_is_lagging_not_zero_lag(start_halyard, cluster):
    h = start_halyard(max_replication_lag=30,
                      monitor={"user": "monitor", "password": "monitor", "interval_ms": 500})
    r2 = cluster.server_id(2)
    cluster.sql(1, "STOP SLAVE SQL_THREAD")
    try:
        state_change(h, "node1", "LAGGING", timeout=5)
        assert re.search(r"backend node1: ONLINE -> LAGGING: replication broken", h.log_text())
        c = h.connect(autocommit=True)
        assert {sid(c) for _ in range(8)} == {r2}
    finally:
        cluster.sql(1, "START SLAVE SQL_THREAD")
    state_change(h, "node1", "ONLINE", timeout=5)


def test_read_retried_when_its_replica_dies_mid_query(start_halyard, cluster):
    h = start_halyard()
    r1 = cluster.server_id(1)
    c = h.connect(autocommit=True)
    out = {}

    def slow():
        t0 = time.monotonic()
        try:
            out["row"] = q(c, "/* halyard: backend=node1 */ SELECT SLEEP(2), @@server_id")[0]
        except pymysql.MySQLError as e:
            out["error"] = e
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    # The statement is running on node1 once node1's processlist shows it.
    wait_until(lambda: any("SLEEP(2)" in (r[7] or "") for r in cluster.sql(1, "SHOW PROCESSLIST")),
               what="the read running on node1")
    cluster.kill(1)
    t.join(15)
    assert "error" not in out, out
    assert out["row"][0] == 0 and out["row"][1] != r1, out
    assert out["took"] > 2.0  # it ran again from the start elsewhere
    assert re.search(r"backend node1 died before answering: running the read again elsewhere", h.log_text())
    # The session goes on.
    assert sid(c) != r1


def test_transaction_on_a_killed_primary_then_the_next_one_works(start_halyard, cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS health")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS health.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    h = start_halyard(monitor={"user": "monitor", "password": "monitor", "interval_ms": 500})
    c = h.connect(database="health")
    q(c, "BEGIN")
    q(c, "INSERT INTO t (v) VALUES (42)")
    cluster.kill(0)
    state_change(h, "node0", "DOWN", timeout=5)
    with pytest.raises(pymysql.MySQLError) as e:
        q(c, "COMMIT")
    assert e.value.args[0] == 1927 and "during the transaction" in e.value.args[1], e.value.args
    # No primary: writes fail at once with a clear error, the session stays.
    with pytest.raises(pymysql.MySQLError) as e:
        q(c, "INSERT INTO t (v) VALUES (43)")
    assert e.value.args[0] == 1429 and "No primary available: backend 'node0' is DOWN" in e.value.args[1]
    cluster.start_node(0)
    state_change(h, "node0", "ONLINE", timeout=10)
    q(c, "BEGIN")
    q(c, "INSERT INTO t (v) VALUES (44)")
    q(c, "COMMIT")
    assert q(c, "/* halyard: primary */ SELECT COUNT(*) FROM t WHERE v = 44")[0][0] == 1
    assert q(c, "/* halyard: primary */ SELECT COUNT(*) FROM t WHERE v = 42")[0][0] == 0


def test_in_flight_statement_of_a_transaction_gets_an_error(start_halyard, cluster):
    h = start_halyard()
    c = h.connect(autocommit=True)
    q(c, "START TRANSACTION READ ONLY")
    where = sid(c)
    node = next(i for i in cluster.replicas if cluster.server_id(i) == where)
    out = {}

    def slow():
        try:
            q(c, "SELECT SLEEP(3)")
        except pymysql.MySQLError as e:
            out["error"] = e.args

    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: any("SLEEP(3)" in (r[7] or "") for r in cluster.sql(node, "SHOW PROCESSLIST")),
               what="the read running")
    cluster.kill(node)
    t.join(10)
    assert out["error"][0] == 1927 and "during the transaction" in out["error"][1], out
    # The next transaction runs on the other replica.
    q(c, "START TRANSACTION READ ONLY")
    assert sid(c) != where
    q(c, "COMMIT")


def test_role_follows_a_switchover_done_by_hand(start_halyard, cluster):
    h = start_halyard(monitor={"user": "monitor", "password": "monitor", "interval_ms": 300})
    c = h.connect(autocommit=True)
    p0, p1 = cluster.server_id(0), cluster.server_id(1)
    assert q(c, "/* halyard: primary */ SELECT @@server_id")[0][0] == p0
    cluster.sql(0, "SET GLOBAL read_only = 1")
    cluster.sync()
    for stmt in ("STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = 0"):
        cluster.sql(1, stmt)
    h.wait_log(r"backend node1: role replica -> primary", timeout=5)
    wait_until(lambda: q(c, "/* halyard: primary */ SELECT @@server_id")[0][0] == p1,
               what="writes on node1")
    assert re.search(r"backend node0: role primary -> replica: read_only on", h.log_text())


def test_max_connections_over_every_worker(start_halyard, cluster):
    from util import default_halyard_settings
    backends = default_halyard_settings(cluster, 0)["backends"]
    for b in backends:
        b["max_connections"] = 1
    # A session holding a connection per backend: session mode (pooled, a
    # cap makes sessions wait: not built yet).
    h = start_halyard(backends=backends, workers=2, pool_mode="session")
    p0, r1, r2 = cluster.server_id(0), cluster.server_id(1), cluster.server_id(2)
    a = h.connect(autocommit=True)
    assert q(a, "/* halyard: primary */ SELECT @@server_id")[0][0] == p0
    assert {sid(a) for _ in range(6)} == {r1, r2}  # a holds every backend's only connection
    b = h.connect(autocommit=True)
    # Replicas at their limit: the read goes to the primary, at its limit
    # too: ERR 1040, and the session stays.
    with pytest.raises(pymysql.MySQLError) as e:
        sid(b)
    assert e.value.args[0] == 1040 and "max_connections 1" in e.value.args[1], e.value.args
    a.close()
    wait_until(lambda: sid(b) in {r1, r2}, what="b reading once a's connections are gone")
    assert q(b, "/* halyard: primary */ SELECT @@server_id")[0][0] == p0


# ---------------------------------------------------------------------------
# admin: show backends, backend NAME drain|maint|online; metrics


def admin_cmd(h, command):
    from test_ops import admin, default_socket
    return admin(default_socket(h), command)


def admin_json_cmd(h, command):
    from test_ops import admin_json, default_socket
    return admin_json(default_socket(h), command)


def test_show_backends_both_formats(start_halyard, cluster):
    h = start_halyard(monitor={"user": "monitor", "password": "monitor", "interval_ms": 300})
    c = h.connect(autocommit=True)
    for _ in range(10):
        sid(c)
    q(c, "/* halyard: primary */ SELECT 1")
    wait_until(lambda: all(b["last_check"] == "ok" for b in admin_json_cmd(h, "show backends")["backends"]),
               what="every backend checked")
    j = admin_json_cmd(h, "show backends")["backends"]
    assert [b["name"] for b in j] == ["node0", "node1", "node2"]
    assert [b["role"] for b in j] == ["primary", "replica", "replica"]
    assert all(b["state"] == "ONLINE" and b["role_seen"] for b in j)
    assert j[0]["address"] == f"127.0.0.1:{cluster.primary_port}"
    assert j[0]["lag_s"] is None and j[1]["lag_s"] == 0.0
    assert j[0]["gtid"] == cluster.value(0, "SELECT @@gtid_current_pos")
    # A statement counts once its answer is out: the client may read it
    # before the worker has counted it (a loaded machine).
    j = wait_until(lambda: (lambda bs: bs if sum(b["queries"] for b in bs[1:]) >= 10
                            and bs[0]["queries"] >= 1 else None)(
        admin_json_cmd(h, "show backends")["backends"]), 5, what="every statement counted")
    assert sum(b["queries"] for b in j[1:]) >= 10 and j[0]["queries"] >= 1
    assert all(b["errors"] == 0 for b in j)
    assert j[0]["idle"] + j[0]["in_use"] >= 1
    assert 0 < j[1]["p50_ms"] <= j[1]["p99_ms"] or j[1]["queries"] == 0
    assert 0 <= j[0]["check_age_s"] < 5
    text = admin_cmd(h, "show backends")
    lines = text.splitlines()
    head = lines[0].split()
    assert head[:7] == ["name", "group", "address", "role", "role_seen", "fenced", "state"]
    row = dict(zip(head, lines[1].split()))  # one fact a cell: no blank inside one here
    assert (row["name"], row["group"], row["role"], row["state"]) == \
        ("node0", "default", "primary", "ONLINE"), lines
    assert (row["role_seen"], row["fenced"], row["replication_broken"]) == \
        ("true", "false", "false"), lines
    assert all(b["group"] == "default" for b in j)
    assert len(lines) == 4


def test_drain_waits_until_idle(start_halyard, cluster):
    # `backend NAME drain` answers once no client connection runs a statement
    # or holds a transaction on that server: a rolling restart can take it
    # down then. Here a transaction open on the primary holds it.
    h = start_halyard(monitor={"user": "monitor", "password": "monitor", "interval_ms": 200})
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS health")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS health.d (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    c = h.connect(autocommit=True)
    q(c, "BEGIN")
    q(c, "INSERT INTO health.d (v) VALUES (1)")
    got = {}
    t = threading.Thread(target=lambda: got.update(r=admin_cmd(h, "backend node0 drain")))
    t0 = time.monotonic()
    t.start()
    # The wait is timed from the command's arrival: on a loaded host the
    # thread may send it well after t0, and a COMMIT 1.5 s after t0 made a
    # wait shown under 1.5 s. Once node0 is DRAINING the command is there;
    # 1.6 s from then is over 1.5 s as shown (%.1f).
    wait_until(lambda: {b["name"]: b["state"] for b in admin_json_cmd(h, "show backends")
                        ["backends"]}["node0"] == "DRAINING", 10, what="the drain begun")
    t.join(1.6)
    assert t.is_alive(), got  # the transaction is still open
    q(c, "COMMIT")
    t.join(10)
    m = re.fullmatch(r"OK backend node0 is DRAINING, idle \(waited ([0-9.]+) s\)\n", got["r"])
    assert m and 1.5 <= float(m.group(1)) <= time.monotonic() - t0 + 0.05, got  # (%.1f)
    # A server nobody uses is idle at its next check; JSON says so too.
    j = admin_json_cmd(h, "backend node1 drain")
    assert (j["state"], j["idle"], j["busy"], j["result"]) == ("DRAINING", True, 0, "idle"), j
    assert j["waited_s"] < 2, j
    for n in ("node0", "node1"):
        assert admin_cmd(h, f"backend {n} online") == f"OK backend {n} is ONLINE\n"
    q(c, "INSERT INTO health.d (v) VALUES (2)")


def test_drain_maint_online(start_halyard, cluster, tmp_path):
    audit = tmp_path / "audit.log"
    h = start_halyard(audit_log=str(audit))
    r1, r2 = cluster.server_id(1), cluster.server_id(2)
    c = h.connect(autocommit=True)
    assert admin_cmd(h, "backend node1 drain nowait") == "OK backend node1 is DRAINING\n"
    assert {sid(c) for _ in range(8)} == {r2}
    assert admin_json_cmd(h, "backend node2 maint") == {
        "ok": True, "message": "backend node2 is MAINT", "backend": "node2", "state": "MAINT"}
    # No replica left: reads go to the primary.
    assert {sid(c) for _ in range(4)} == {cluster.server_id(0)}
    states = {b["name"]: (b["state"], b["why"]) for b in admin_json_cmd(h, "show backends")["backends"]}
    assert states["node1"] == ("DRAINING", "admin: drain")
    assert states["node2"] == ("MAINT", "admin: maint")
    assert admin_cmd(h, "backend node1 online") == "OK backend node1 is ONLINE\n"
    assert admin_cmd(h, "backend node2 online") == "OK backend node2 is ONLINE\n"
    assert {sid(c) for _ in range(10)} == {r1, r2}
    # A transaction open on a drained primary finishes there; new writes fail.
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS health")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS health.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    q(c, "BEGIN")
    q(c, "INSERT INTO health.t (v) VALUES (7)")
    assert admin_cmd(h, "backend node0 drain nowait") == "OK backend node0 is DRAINING\n"
    q(c, "INSERT INTO health.t (v) VALUES (8)")
    q(c, "COMMIT")
    with pytest.raises(pymysql.MySQLError) as e:
        q(c, "INSERT INTO health.t (v) VALUES (9)")
    assert e.value.args[0] == 1429 and "backend 'node0' is DRAINING" in e.value.args[1]
    assert admin_cmd(h, "backend node0 online") == "OK backend node0 is ONLINE\n"
    q(c, "INSERT INTO health.t (v) VALUES (10)")
    # Bad input: one line each.
    assert admin_cmd(h, "backend nope drain") == "ERR backend: no backend named 'nope' in the running config\n"
    assert admin_cmd(h, "backend node1 sleep") == "ERR usage: backend NAME drain [nowait]|maint|online\n"
    assert re.search(r"AUDIT admin uid=\d+ pid=\d+: backend node0 drain nowait: ok", h.log_text())
    # Each change of state is an audit record, in order; refused commands change nothing.
    wait_until(lambda: len(audit_records(audit, "backend_state")) >= 6, what="6 state records")
    got = [(r["backend"], r["from"], r["to"], r["reason"]) for r in audit_records(audit, "backend_state")]
    assert got == [("node1", "ONLINE", "DRAINING", "admin: drain"),
                   ("node2", "ONLINE", "MAINT", "admin: maint"),
                   ("node1", "DRAINING", "ONLINE", "admin: online (was drain)"),
                   ("node2", "MAINT", "ONLINE", "admin: online (was maint)"),
                   ("node0", "ONLINE", "DRAINING", "admin: drain"),
                   ("node0", "DRAINING", "ONLINE", "admin: online (was drain)")], got


def test_backend_metrics(start_halyard, cluster):
    from test_ops import parse_exposition, scrape
    from util import free_port
    port = free_port()
    h = start_halyard(metrics_port=port, max_replication_lag=30,
                      monitor={"user": "monitor", "password": "monitor", "interval_ms": 300})
    c = h.connect(autocommit=True)
    for _ in range(6):
        sid(c)
    wait_until(lambda: all(b["last_check"] == "ok" for b in admin_json_cmd(h, "show backends")["backends"]),
               what="every backend checked")
    # A statement counts once its answer is out: the client may read it
    # before the worker has counted it (a loaded machine).
    wait_until(lambda: sum(b["queries"] for b in admin_json_cmd(h, "show backends")["backends"][1:])
               >= 6, 5, what="every read counted")
    admin_cmd(h, "backend node2 maint")
    status, _, body = scrape(port)
    assert status == 200
    samples = parse_exposition(body)
    text = body if isinstance(body, str) else body.decode()
    assert 'halyard_backend_state{backend="node2",state="MAINT"} 1' in text
    assert 'halyard_backend_state{backend="node2",state="ONLINE"} 0' in text
    assert 'halyard_backend_role{backend="node0",role="primary"} 1' in text
    assert 'halyard_backend_role{backend="node1",role="replica"} 1' in text
    assert 'halyard_backend_lag_seconds{backend="node1"} 0.000' in text
    assert "# TYPE halyard_backend_query_duration_seconds histogram" in text
    m = re.search(r'halyard_backend_queries_total\{backend="node1"\} (\d+)', text)
    n = re.search(r'halyard_backend_query_duration_seconds_count\{backend="node1"\} (\d+)', text)
    inf = re.search(r'halyard_backend_query_duration_seconds_bucket\{backend="node1",le="\+Inf"\} (\d+)', text)
    assert m and n and inf and m.group(1) == n.group(1) == inf.group(1)
    assert int(m.group(1)) + int(re.search(r'halyard_backend_queries_total\{backend="node2"\} (\d+)', text).group(1)) >= 6
    assert re.search(r'halyard_backend_connections\{backend="node0",state="idle"\} \d+', text)
    assert samples is not None


def test_a_replica_past_its_primarys_binary_log_serves_no_reads(start_halyard, cluster):
    """RESET MASTER on the primary starts its binary log again at 0-1-1.
    The replicas, which had applied 0-1-N of the old one, read on from
    their old file offset and receive nothing, while their IO and SQL
    threads run and their lag is 0. MASTER_GTID_WAIT compares sequence
    numbers only, so every causal wait for the new 0-1-k (k <= N) passed at
    once and the read ran on a replica that never got the write: a table
    just created "did not exist". A replica past its primary's position is
    LAGGING, and reads go to the primary."""
    h = start_halyard(monitor={"user": "monitor", "password": "monitor", "interval_ms": 300})
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS ahead")
    for i in range(20):
        cluster.sql(0, f"CREATE TABLE IF NOT EXISTS ahead.old{i} (i INT)")
    cluster.sync()
    c = h.connect(autocommit=True)
    try:
        cluster.sql(0, "RESET MASTER")
        for name in ("node1", "node2"):
            state_change(h, name, "LAGGING", timeout=10)
        text = h.log_text()
        assert re.search(r"backend node1: ONLINE -> LAGGING: past its primary node0 in domain 0 "
                         r"\(0-1-\d+ against ''\)", text) or \
            re.search(r"backend node1: ONLINE -> LAGGING: past its primary node0 in domain 0 "
                      r"\(0-1-\d+ against 0-1-\d+\)", text), text[-2000:]
        primary = cluster.server_id(0)
        q(c, "CREATE TABLE ahead.t (n INT)")
        q(c, "INSERT INTO ahead.t VALUES (4), (5)")
        for _ in range(6):
            assert q(c, "SELECT n FROM ahead.t ORDER BY n") == ((4,), (5,))
            assert sid(c) == primary
        # Once the primary's log passes their position they still apply
        # nothing (they read from the old offset): they stay out.
        seen = len(h.log_text())
        for i in range(40):
            cluster.sql(0, f"INSERT INTO ahead.t VALUES ({i})")
        time.sleep(2)
        assert not re.search(r"backend node[12]: LAGGING -> ONLINE", h.log_text()[seen:])
        assert sid(c) == primary
    finally:
        cluster.rebuild()  # the replicas never follow this binary log again
