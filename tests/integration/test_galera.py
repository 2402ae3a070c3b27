"""cluster = "galera": halyard in front of a real 3-node MariaDB Galera cluster
(tools/cluster --galera, fixtures `galera` and `start_galera_halyard`).

- one writer, picked by priority then name; show backends shows the wsrep state
- a desynced node (wsrep_desync = ON) leaves traffic and comes back; its
  state, why and last check come from one completed check, even with every
  answer of it 60 ms late
- kill -9 of the writer under insert load: writes move to the next node within
  a bound, and every acknowledged write is on every surviving node
- a node left in a non-Primary component (the two others killed) takes no
  traffic
- a rolling restart (each node drained until idle, restarted, put online)
  under sysbench fails no statement
"""
import threading
import time

import pymysql
import pytest

from tcprelay import DelayRelay
from test_ops import admin_json, default_socket
from util import wait_until, backends

MONITOR = {"user": "monitor", "password": "monitor", "interval_ms": 200, "timeout_ms": 1000,
           "rise": 2, "fall": 2}


def start(start_galera_halyard, **kw):
    settings = dict(monitor=MONITOR, consistency="eventual", failover_write_wait_ms=10000)
    settings.update(kw)
    h = start_galera_halyard(**settings)
    wait_until(lambda: all("wsrep Synced" in b["last_check"] and b["state"] == "ONLINE"
                           for b in backends(default_socket(h)).values()),
               timeout=15, what="every Galera node checked, Synced and ONLINE")
    return h


def writer_port(h, galera):
    """The port of the node a write through halyard runs on: the write
    stores @@port under a fresh token, read back on node2 directly."""
    token = f"{time.monotonic_ns()}-{threading.get_ident()}"
    c = h.connect()
    with c.cursor() as cur:
        cur.execute("INSERT INTO test.galera_w SELECT %s, @@port", (token,))
    c.close()
    return wait_until(lambda: galera.sql(2, "SELECT port FROM test.galera_w WHERE token = %s",
                                         (token,)),
                      what="the row on node2")[0][0]


def read_ports(h, n=30):
    c = h.connect()
    ports = set()
    with c.cursor() as cur:
        for _ in range(n):
            cur.execute("SELECT @@port")
            ports.add(cur.fetchone()[0])
    c.close()
    return ports


@pytest.fixture(autouse=True)
def _schema(galera):
    galera.sql(0, "CREATE DATABASE IF NOT EXISTS test")
    galera.sql(0, "GRANT ALL ON test.* TO 'app'@'%'")
    galera.sql(0, "CREATE TABLE IF NOT EXISTS test.galera_w (token VARCHAR(64) PRIMARY KEY, "
               "port INT)")


def test_one_writer_by_priority_then_name(start_galera_halyard, galera):
    h = start(start_galera_halyard)
    b = backends(default_socket(h))
    assert [b[n]["role"] for n in ("node0", "node1", "node2")] == ["primary", "replica", "replica"]
    assert "wsrep Synced, Primary, size 3" in b["node1"]["last_check"]
    assert writer_port(h, galera) == galera.port(0)
    # The writer takes no reads by default; the two others do.
    assert read_ports(h) == {galera.port(1), galera.port(2)}


def session_writer_port(c, galera):
    """writer_port() on an open session `c`."""
    token = f"{time.monotonic_ns()}-{threading.get_ident()}"
    with c.cursor() as cur:
        cur.execute("INSERT INTO test.galera_w SELECT %s, @@port", (token,))
    return wait_until(lambda: galera.sql(2, "SELECT port FROM test.galera_w WHERE token = %s",
                                         (token,)),
                      what="the row on node2")[0][0]


def test_max_writers_spreads_sessions(start_galera_halyard, galera):
    """max_writers = 2: two nodes take writes, the sessions spread over both
    (before, every session wrote to the first one), and each session keeps
    its writer from one statement to the next."""
    h = start(start_galera_halyard, max_writers=2)
    writers = {int(b["address"].rsplit(":", 1)[1]) for b in backends(default_socket(h)).values()
               if b["role"] == "primary"}
    assert len(writers) == 2, backends(default_socket(h))
    conns = [h.connect(autocommit=True) for _ in range(8)]
    try:
        seen = []
        for c in conns:
            first = session_writer_port(c, galera)
            assert session_writer_port(c, galera) == first, "a session changed writers"
            seen.append(first)
        assert set(seen) == writers, (seen, writers)
        assert min(seen.count(p) for p in writers) >= 2, seen
    finally:
        for c in conns:
            c.close()


def test_priority_and_writer_is_also_reader(start_galera_halyard, galera):
    settings = dict(monitor=MONITOR, consistency="eventual", writer_is_also_reader=True)
    h = start_galera_halyard(**settings, backends=[
        {"name": n["name"], "address": "127.0.0.1", "port": n["port"],
         "role": "primary" if n["index"] == 0 else "replica",
         "priority": {0: 5, 1: 5, 2: 1}[n["index"]]} for n in galera.nodes])
    wait_until(lambda: backends(default_socket(h))["node2"]["role"] == "primary", timeout=15,
               what="node2 (lowest priority) the writer")
    assert writer_port(h, galera) == galera.port(2)
    wait_until(lambda: read_ports(h, 40) == set(galera.ports), timeout=10,
               what="reads on every node, the writer included")


def test_desync_leaves_traffic_and_comes_back(start_galera_halyard, galera):
    h = start(start_galera_halyard)
    assert galera.port(1) in read_ports(h)
    galera.desync(1)
    b = wait_until(lambda: (lambda x: x if x["node1"]["state"] != "ONLINE" else None)(backends(default_socket(h))),
                   timeout=5, what="node1 out of traffic once desynced")
    assert b["node1"]["state"] == "LAGGING"
    assert "desync" in b["node1"]["why"], b["node1"]
    assert "Donor/Desynced" in b["node1"]["last_check"]
    assert galera.port(1) not in read_ports(h, 40)
    galera.desync(1, on=False)
    wait_until(lambda: backends(default_socket(h))["node1"]["state"] == "ONLINE", timeout=10,
               what="node1 back ONLINE once resynced")
    wait_until(lambda: galera.port(1) in read_ports(h), timeout=5, what="node1 reading again")


def test_a_read_a_node_refuses_runs_elsewhere(start_galera_halyard, galera):
    """A reader that starts refusing queries (wsrep_reject_queries = ALL:
    ERROR 1047 "WSREP has not yet prepared node for application use", as a
    joiner or a donor answers) between two monitor checks, 6 s apart: each
    read it refuses runs again on another node, and it gets no more reads
    until a check finds it synced. The client gets its rows, never 1047."""
    h = start(start_galera_halyard, monitor=dict(MONITOR, interval_ms=6000))
    c = h.connect()
    cur = c.cursor()

    def read():
        # a table: a read of no table is served even by a refusing node
        cur.execute("SELECT @@port, COUNT(*) >= 0 FROM test.galera_w")
        port, ok = cur.fetchone()
        assert ok == 1
        return port

    assert {read() for _ in range(20)} == {galera.port(1), galera.port(2)}

    def fresh():
        b = backends(default_socket(h))["node1"]
        return b["check_age_s"] is not None and b["check_age_s"] < 0.5
    # the next check of node1 is at least 5.5 s away: it cannot see the
    # refusal before the reads below
    wait_until(fresh, 20, interval=0.05, what="a fresh check of node1")
    galera.sql(1, "SET GLOBAL wsrep_reject_queries = ALL")
    try:
        with pytest.raises(pymysql.MySQLError) as refused:
            galera.sql(1, "SELECT COUNT(*) FROM test.galera_w")
        assert refused.value.args[0] == 1047, refused.value.args
        got = [read() for _ in range(20)]
        checks = backends(default_socket(h))["node1"]["check_age_s"]
    finally:
        galera.sql(1, "SET GLOBAL wsrep_reject_queries = NONE")
    assert checks < 5.5, checks  # no check of node1 came between
    assert set(got) == {galera.port(2)}, got
    log = h.log_text()
    # one read went there: none after the refusal
    assert log.count("refused the read (error 1047") == 1, log[-3000:]
    assert "backend node1: refused a read (error 1047): no reads go to it" in log
    st = admin_json(default_socket(h), "show stats")
    assert st["statements_retried"] == 1, st
    # a check begun after the refusal finds it synced: it reads again
    wait_until(lambda: galera.port(1) in {read() for _ in range(10)}, 30,
               what="node1 reading again")
    assert "backend node1: takes reads again" in h.log_text()
    c.close()


def test_desync_shown_from_one_check_over_a_slow_link(start_galera_halyard, galera):
    """Each of node1's checks reads the wsrep status, the wsrep variables,
    then the load (status_every), each answer 60 ms late. Two ways a state
    and a reason from two moments met, which the desync test above saw now
    and then: the other nodes' checks that ended meanwhile decided node1's
    traffic from a read of a check still in flight, while show backends
    gave the one before (here 14 desyncs of 15); and a check that read
    Synced just before the SET and wsrep_desync ON just after took a Synced
    node out as desynced (here 1 run of 10, 8 desyncs each). Its state, why
    and last check now come from one completed check, and the state alone
    decides."""
    relay = DelayRelay(galera.port(1), 0.06)
    h = start_galera_halyard(monitor=MONITOR, consistency="eventual", backends=[
        {"name": n["name"], "address": "127.0.0.1",
         "port": relay.port if n["index"] == 1 else n["port"],
         "role": "primary" if n["index"] == 0 else "replica"} for n in galera.nodes])
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(default_socket(h)).values()), timeout=20,
               what="every node ONLINE")
    try:
        for _ in range(8):
            galera.desync(1)
            b = wait_until(lambda: (lambda x: x if x["state"] != "ONLINE" else None)(
                backends(default_socket(h))["node1"]), timeout=5, what="node1 out of traffic once desynced")
            assert b["state"] == "LAGGING" and "desync" in b["why"], b
            assert "Donor/Desynced" in b["last_check"], b
            galera.desync(1, on=False)
            b = wait_until(lambda: (lambda x: x if x["state"] == "ONLINE" else None)(
                backends(default_socket(h))["node1"]), timeout=10, what="node1 back ONLINE once resynced")
            assert "Synced" in b["last_check"] and "Donor" not in b["last_check"], b
    finally:
        galera.desync(1, on=False)
        relay.close()


def test_writer_killed_writes_move(start_galera_halyard, galera):
    """kill -9 of the writer under insert load."""
    h = start(start_galera_halyard)
    c = h.connect()
    with c.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS test.galera_kill (id INT PRIMARY KEY, port INT)")
        cur.execute("DELETE FROM test.galera_kill")
    c.close()
    acked, errors = [], []
    stop = threading.Event()
    killed_at = []

    def load():
        conn = None
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if conn is None:
                    conn = pymysql.connect(**h.conn_params())
                sent = time.monotonic()
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO test.galera_kill VALUES (%s, @@port)", (i,))
                acked.append((i, time.monotonic(), sent))
            except pymysql.MySQLError as e:
                errors.append((i, time.monotonic(), e.args))
                if conn is not None and not conn.open:
                    conn = None
                time.sleep(0.01)

    t = threading.Thread(target=load)
    t.start()
    try:
        wait_until(lambda: len(acked) >= 50, timeout=10, what="50 inserts before the kill")
        galera.kill(0)  # returns once the process is gone
        killed_at.append(time.monotonic())
        try:
            wait_until(lambda: any(ts > killed_at[0] for _, ts, _ in acked) and
                       len([1 for _, ts, _ in acked if ts > killed_at[0]]) >= 20,
                       timeout=30, what="inserts succeeding again after the kill")
        except AssertionError as e:
            seen = sorted({(e_[2][0], str(e_[2][1])[:120]) for e_ in errors if len(e_[2]) > 1})
            raise AssertionError(f"{e}; errors seen: {seen[:8]}; backends: {backends(default_socket(h))}") from None
    finally:
        stop.set()
        t.join(30)
    first_after = min(ts for _, ts, _ in acked if ts > killed_at[0]) - killed_at[0]
    print(f"galera: first acknowledged write {first_after:.2f} s after kill -9 of the writer; "
          f"{len(errors)} failed statements: {[e[2] for e in errors][:5]}")
    b = backends(default_socket(h))
    assert b["node1"]["role"] == "primary", b
    assert b["node0"]["role"] == "replica", b
    assert first_after < 10.0, f"writes came back {first_after:.2f} s after the kill"
    # Every acknowledged write is on both surviving nodes. A commit is
    # acknowledged once certified; node2 applies it a moment later (CI saw
    # node2 lack the last acknowledged id when read at once): it must be
    # there within a few seconds, not at the instant of the read.
    ids = {i for i, _, _ in acked}
    for node in (1, 2):
        def lacks(node=node):
            got = {r[0] for r in galera.sql(node, "SELECT id FROM test.galera_kill")}
            return sorted(ids - got)
        wait_until(lambda: not lacks(), timeout=5,
                   what=f"node{node} to have every acknowledged id (lacks {lacks()[:10]})")
    # What was sent after node0 died was written on node1, the next by name.
    # (Not "acknowledged after": an insert node0 committed just before it
    # died can be counted by this thread only after the kill returned, as
    # CI once saw: 23350 among the ports.)
    after = [i for i, _, sent in acked if sent > killed_at[0]]
    ports = galera.sql(1, "SELECT DISTINCT port FROM test.galera_kill WHERE id IN (%s)"
                       % ",".join(str(i) for i in after))
    assert {r[0] for r in ports} == {galera.port(1)}


def test_non_primary_component_takes_no_traffic(start_galera_halyard, galera):
    """node0 alone in a non-Primary component (the two others killed) takes
    no traffic: a write waits failover_write_wait_ms for a writer, then gets
    halyard's error, not the server's 1047; one that waits while node0 is
    made Primary again (pc.bootstrap) runs there. (3 s to wait: the held
    write's wait covers the bootstrap and two checks of node0 at 200 ms,
    which a loaded host stretches; 1.5 s less the 0.3 s slept before the
    bootstrap left 1.2.)"""
    h = start(start_galera_halyard, failover_write_wait_ms=3000)
    galera.kill(1)
    galera.kill(2)
    wait_until(lambda: galera.wsrep(0).get("wsrep_cluster_status") != "Primary", timeout=30,
               what="node0 in a non-Primary component")
    b = wait_until(lambda: (lambda x: x if x["node0"]["state"] != "ONLINE" else None)(backends(default_socket(h))),
                   timeout=10, what="node0 out of traffic")
    assert "non-Primary" in b["node0"]["why"], b["node0"]
    assert b["node0"]["state"] == "LAGGING"
    assert all(x["role"] == "replica" for x in b.values()), b

    t0 = time.monotonic()
    with pytest.raises(pymysql.MySQLError) as e:
        c = pymysql.connect(**h.conn_params())
        with c.cursor() as cur:
            cur.execute("INSERT INTO test.galera_w SELECT 'x', @@port")
    waited = time.monotonic() - t0
    assert e.value.args[0] != 1047, e.value.args  # the server's "WSREP has not yet prepared node"
    assert waited >= 2.9, f"the write failed after {waited:.2f} s, not after failover_write_wait_ms"

    # A write held while node0 becomes Primary again runs there.
    token = f"held-{time.monotonic_ns()}"
    done = []

    failed = []

    def write():
        try:
            c = pymysql.connect(**h.conn_params())
            with c.cursor() as cur:
                cur.execute("INSERT INTO test.galera_w SELECT %s, @@port", (token,))
            done.append(time.monotonic())
            c.close()
        except pymysql.MySQLError as ex:
            failed.append(ex.args)

    t = threading.Thread(target=write)
    t0 = time.monotonic()
    t.start()
    # held in halyard, waiting for a writer (not a fixed 0.3 s: the thread
    # may not have sent it yet on a loaded host, and then nothing was held)
    wait_until(lambda: any(x.get("state") == "wait_backend" for x in
                           admin_json(default_socket(h), "show sessions")["sessions"]),
               timeout=10, what="the write waiting for a writer")
    assert not done, "the write ran while no node could take it"
    galera.sql(0, "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'")
    t.join(10)
    assert done, f"the held write did not complete: {failed}"
    assert galera.value(0, "SELECT port FROM test.galera_w WHERE token = %s", (token,)) == \
        galera.port(0)


def test_two_halyards_pick_the_same_writer(start_galera_halyard, galera):
    """Two halyards that do not talk, one listing the backends in reverse
    order, write to the same node; and again once that node is desynced."""
    nodes = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
              "role": "primary" if n["index"] == 2 else "replica"} for n in galera.nodes]
    a = start(start_galera_halyard)
    b = start(start_galera_halyard, backends=list(reversed(nodes)))
    assert writer_port(a, galera) == writer_port(b, galera) == galera.port(0)
    galera.desync(0)
    for h in (a, b):
        wait_until(lambda: backends(default_socket(h))["node1"]["role"] == "primary", timeout=5,
                   what="node1 the writer once node0 is desynced")
    assert writer_port(a, galera) == writer_port(b, galera) == galera.port(1)


def test_switchover_and_failover_refused(start_galera_halyard, galera):
    """The replication procedures would set read_only on writable nodes:
    on Galera the admin commands refuse, and nothing changes."""
    from test_ops import admin
    h = start(start_galera_halyard)
    for cmd in ("switchover to node1", "failover"):
        out = admin(default_socket(h), cmd)
        assert "refused: cluster = galera" in out, out
    assert [galera.value(i, "SELECT @@read_only") for i in range(3)] == [0, 0, 0]
    assert backends(default_socket(h))["node0"]["role"] == "primary"
    assert writer_port(h, galera) == galera.port(0)


def test_drain_moves_the_writer(start_galera_halyard, galera):
    """backend NAME drain on the writer hands the role to the next node at
    the next check; online gives it back."""
    from test_ops import admin
    h = start(start_galera_halyard)
    assert writer_port(h, galera) == galera.port(0)
    admin(default_socket(h), "backend node0 drain")
    wait_until(lambda: backends(default_socket(h))["node1"]["role"] == "primary", timeout=5,
               what="node1 the writer once node0 is drained")
    assert writer_port(h, galera) == galera.port(1)
    admin(default_socket(h), "backend node0 online")
    wait_until(lambda: backends(default_socket(h))["node0"]["role"] == "primary", timeout=5,
               what="node0 the writer again once online")
    assert writer_port(h, galera) == galera.port(0)


def test_failback_waits_for_a_transaction_open_on_the_writer(start_galera_halyard, galera):
    """node0, first in writer order, back online takes the writer role from
    node1 while a transaction through halyard is open on node1. Before, the
    role moved at the next check: another session's transaction on node0
    changed the same row and committed, and the first one's COMMIT failed
    certification (1213 "Deadlock found"; CI, test_rolling_restart_under
    _sysbench). Now node1 hands the role over once that transaction has
    ended: the other session's UPDATE waits for a writer, both commit, and
    the row has both changes."""
    from test_ops import admin
    galera.sql(0, "CREATE TABLE IF NOT EXISTS test.galera_fb (id INT PRIMARY KEY, v INT)")
    galera.sql(0, "REPLACE INTO test.galera_fb VALUES (1, 0)")
    h = start(start_galera_halyard)
    sock = default_socket(h)
    admin(sock, "backend node0 drain")
    wait_until(lambda: backends(sock)["node1"]["role"] == "primary", timeout=5,
               what="node1 the writer once node0 is drained")
    a = h.connect(autocommit=True)
    ca = a.cursor()
    ca.execute("BEGIN")
    ca.execute("UPDATE test.galera_fb SET v = v + 1 WHERE id = 1")
    assert ca.execute("SELECT @@port") and ca.fetchone()[0] == galera.port(1)
    admin(sock, "backend node0 online")
    # node0 took the role (before) or node1 hands it over (now): a session
    # beginning now is no longer sent to node1, behind a's row lock
    wait_until(lambda: backends(sock)["node0"]["role"] == "primary" or
               "backend node1: hands the writer role over" in h.log_text(),
               timeout=10, what="node1 giving the writer role up")
    out = {}

    def other():
        b = h.connect(autocommit=True)
        try:
            cb = b.cursor()
            cb.execute("BEGIN")
            cb.execute("UPDATE test.galera_fb SET v = v + 10 WHERE id = 1")
            cb.execute("SELECT @@port")
            out["port"] = cb.fetchone()[0]
            cb.execute("COMMIT")
            out["ok"] = True
        except pymysql.MySQLError as e:
            out["error"] = e.args
        finally:
            b.close()

    t = threading.Thread(target=other)
    t.start()
    # the other transaction ran (before) or waits for a writer (now)
    wait_until(lambda: out or "no usable primary: the statement waits" in h.log_text(),
               timeout=10, what="the other session's transaction done or waiting")
    try:
        ca.execute("COMMIT")
        first = "ok"
    except pymysql.MySQLError as e:
        first = e.args
    t.join(30)
    a.close()
    assert first == "ok" and out.get("ok"), (first, out)
    assert out["port"] == galera.port(0), out  # it ran on the new writer
    h.wait_log(r"backend node1: hands the writer role over once this halyard's 1 transaction")
    assert galera.sql(0, "SELECT v FROM test.galera_fb WHERE id = 1") == [(11,)]


def test_causal_reads_see_the_session_s_write(start_galera_halyard, galera):
    """consistency = causal on Galera: a read after the session's own write
    sees it on whichever node it runs. The readers are made to lag (a READ
    lock on the table holds their applier back); the read waits for its
    node to apply the writer's last write set (WSREP_SYNC_WAIT_UPTO_GTID),
    and when that times out it runs on the writer. Before, the position
    came from @@gtid_binlog_pos, empty without a binary log, so nothing was
    waited for and the read saw the old row on a lagging node."""
    galera.sql(0, "CREATE TABLE IF NOT EXISTS test.causal (id INT PRIMARY KEY, v INT)")
    galera.sql(0, "REPLACE INTO test.causal VALUES (1, 0)")
    h = start(start_galera_halyard, consistency="causal", causal_timeout_ms=1000)
    writer = backends(default_socket(h))
    c = h.connect(database="test")
    lockers = []
    try:
        for i in (1, 2):
            wait_until(lambda i=i: galera.sql(i, "SELECT v FROM test.causal WHERE id = 1") == [(0,)],
                       what=f"node{i} has the row")
            lk = galera.root_connect(i)
            with lk.cursor() as cur:
                cur.execute("LOCK TABLE test.causal READ")
            lockers.append(lk)
        with c.cursor() as cur:
            for n in range(1, 4):
                cur.execute("UPDATE causal SET v = %s WHERE id = 1", (n,))
                cur.execute("SELECT v, @@port FROM causal WHERE id = 1")
                v, port = cur.fetchone()
                assert v == n, (v, n, port, writer)
        # The readers really lag: directly, node1 still has the old row.
        assert galera.sql(1, "SELECT v FROM test.causal WHERE id = 1") == [(0,)]
    finally:
        for lk in lockers:
            lk.close()
    # Once they caught up, reads spread again.
    wait_until(lambda: galera.sql(1, "SELECT v FROM test.causal WHERE id = 1") == [(3,)],
               what="node1 applies the updates")


def _restart_bootstrapping_from(galera, first):
    """Stop every node, `first` last, and start the cluster again: it
    bootstraps from `first` (safe_to_bootstrap), the others join it."""
    for i in [i for i in range(3) if i != first] + [first]:
        galera.stop_node(i)
    galera.heal()


def _gtid_server(galera, i):
    """The domain-server part of node i's WSREP_LAST_SEEN_GTID()."""
    return galera.sql(i, "SELECT CAST(WSREP_LAST_SEEN_GTID() AS CHAR)")[0][0].rsplit("-", 1)[0]


def test_a_causal_read_on_a_node_with_another_gtid_server_id(start_galera_halyard, galera):
    """After the cluster restarted bootstrapping from node2, node2's
    WSREP_LAST_SEEN_GTID() names another server id (0-3-N) than node0's
    and node1's (0-1-N), and WSREP_SYNC_WAIT_UPTO_GTID on node2 answers 1
    at once for a GTID of another server id, applied or not. A causal read
    after the session's write on node0 then read the old row on node2
    (its applier held by a READ lock). Now a node whose GTIDs name another
    domain-server than the writer's is not waited on: the read goes to the
    writer."""
    galera.sql(0, "CREATE TABLE IF NOT EXISTS test.causal_sid (id INT PRIMARY KEY, v INT)")
    galera.sql(0, "REPLACE INTO test.causal_sid VALUES (1, 0)")
    _restart_bootstrapping_from(galera, 2)
    try:
        galera.sql(0, "UPDATE test.causal_sid SET v = 0 WHERE id = 1")
        assert _gtid_server(galera, 2) != _gtid_server(galera, 0), \
            [_gtid_server(galera, i) for i in range(3)]
        backends = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
                     "role": "primary" if n["index"] == 0 else "replica"}
                    for n in galera.nodes if n["index"] != 1]
        h = start(start_galera_halyard, consistency="causal", causal_timeout_ms=1000,
                  backends=backends)
        c = h.connect(database="test")
        wait_until(lambda: galera.sql(2, "SELECT v FROM test.causal_sid WHERE id = 1") == [(0,)],
                   what="node2 has the row")
        lk = galera.root_connect(2)
        try:
            with lk.cursor() as cur:
                cur.execute("LOCK TABLE test.causal_sid READ")
            with c.cursor() as cur:
                for n in range(1, 3):
                    cur.execute("UPDATE causal_sid SET v = %s WHERE id = 1", (n,))
                    cur.execute("SELECT v, @@port FROM causal_sid WHERE id = 1")
                    assert cur.fetchone() == (n, galera.port(0))
            # node2 really lags: directly, it still has the old row
            assert galera.sql(2, "SELECT v FROM test.causal_sid WHERE id = 1") == [(0,)]
        finally:
            lk.close()
        c.close()
    finally:
        # A node keeps the server id of its GTIDs through restarts that
        # join (IST): only a cluster made anew gives every node one again
        # (else causal reads on node2 go to the writer in later tests).
        galera.stop()
        galera.destroy()
        galera.start()
        galera.sql(0, "CREATE DATABASE IF NOT EXISTS test")
        galera.sql(0, "GRANT ALL ON test.* TO 'app'@'%'")


def test_a_node_added_by_reload_takes_no_read_before_its_first_check(start_galera_halyard,
                                                                      galera):
    """A Galera node a reload adds gets no read until a check of it has
    read its wsrep state. node2's applier is held (a READ lock) so it
    misses a row, and the monitor's login there takes 3 s (init_connect);
    the reload swaps node1 for node2. Before, the reads right after the
    reload ran on node2 and missed the row; now they go to the writer (no
    other node reads) until node2 is checked."""
    from test_reload import SLOWMON_PRIVS, base, reload_ok
    galera.sql(0, "CREATE USER IF NOT EXISTS 'slowmon'@'%' IDENTIFIED BY 'slowmon'")
    galera.sql(0, f"GRANT {SLOWMON_PRIVS} ON *.* TO 'slowmon'@'%'")
    galera.sql(0, "CREATE TABLE IF NOT EXISTS test.added (id INT PRIMARY KEY)")
    galera.sql(0, "DELETE FROM test.added")
    galera.sql(0, "INSERT INTO test.added VALUES (1)")
    monitor = dict(MONITOR, user="slowmon", password="slowmon", timeout_ms=6000)
    two = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
            "role": "primary" if n["index"] == 0 else "replica"} for n in galera.nodes[:2]]
    h = start(start_galera_halyard, monitor=monitor, backends=two)
    wait_until(lambda: galera.sql(2, "SELECT COUNT(*) FROM test.added") == [(1,)],
               what="node2 has the row")
    lk = galera.root_connect(2)
    try:
        galera.sql(2, "SET GLOBAL init_connect = "
                      "'DO IF(CURRENT_USER() LIKE ''slowmon@%'', SLEEP(3), 0)'")
        with lk.cursor() as cur:
            cur.execute("LOCK TABLE test.added READ")
        galera.sql(0, "INSERT INTO test.added VALUES (2)")
        assert galera.sql(2, "SELECT COUNT(*) FROM test.added") == [(1,)]
        settings = base(galera, h.port, nodes=(0, 2), monitor=monitor, consistency="eventual",
                        failover_write_wait_ms=10000)
        reload_ok(h, settings)
        c = h.connect()
        with c.cursor() as cur:
            seen = set()
            for _ in range(6):
                cur.execute("SELECT COUNT(*), @@port FROM test.added")
                seen.add(cur.fetchone())
        c.close()
        assert seen == {(2, galera.port(0))}, seen
    finally:
        lk.close()
        galera.sql(2, "SET GLOBAL init_connect = ''")


def _write_then_move_the_writer(h, galera, c):
    """node1's applier held (a READ lock on the table), the session writes
    v = 1 on node0, then node0 is drained: node1, which has not applied the
    write, becomes the writer. Returns the locking connection."""
    from test_ops import admin
    galera.sql(0, "CREATE TABLE IF NOT EXISTS test.moved (id INT PRIMARY KEY, v INT)")
    galera.sql(0, "REPLACE INTO test.moved VALUES (1, 0)")
    wait_until(lambda: galera.sql(1, "SELECT v FROM test.moved WHERE id = 1") == [(0,)],
               what="node1 has the row")
    lk = galera.root_connect(1)
    with lk.cursor() as cur:
        cur.execute("LOCK TABLE test.moved READ")
    with c.cursor() as cur:
        cur.execute("UPDATE moved SET v = 1 WHERE id = 1")
    admin(default_socket(h), "backend node0 drain")
    wait_until(lambda: backends(default_socket(h))["node1"]["role"] == "primary", timeout=5,
               what="node1 the writer once node0 is drained")
    # node1 still has the old row (a plain read is not held by the lock)
    assert galera.sql(1, "SELECT v FROM test.moved WHERE id = 1") == [(0,)]
    return lk


@pytest.mark.parametrize("consistency", ["eventual", "causal"])
def test_the_new_writer_shows_the_session_s_write(start_galera_halyard, galera, consistency):
    """The Galera writer moves (a drain) right after a session's write, to
    a node that has not applied it yet. One server would show the write to
    the session's next statement: on the new writer that statement first
    waits for the node to apply what the cluster committed
    (wsrep_sync_wait), whatever the consistency, here a read in a
    transaction (always on the writer) and, under causal, an autocommit
    read too. Before, both read v = 0 there at once."""
    h = start(start_galera_halyard, consistency=consistency, causal_timeout_ms=1000)
    c = h.connect(database="test")
    lk = _write_then_move_the_writer(h, galera, c)
    release = threading.Timer(1.0, lk.close)
    release.start()  # (pymysql's close twice raises: the finally waits for it instead)
    try:
        t0 = time.monotonic()
        with c.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT v, @@port FROM moved WHERE id = 1")
            row = cur.fetchone()
            cur.execute("COMMIT")
            waited = time.monotonic() - t0
            assert row == (1, galera.port(1)), row
            assert waited >= 0.5, waited  # it waited for node1 to apply the write
            if consistency == "causal":
                cur.execute("UPDATE moved SET v = 2 WHERE id = 1")
                cur.execute("SELECT v FROM moved WHERE id = 1")
                assert cur.fetchone() == (2,)
    finally:
        release.join()
    st = admin_json(default_socket(h), "show stats")
    assert (st["writer_catchups"], st["writer_catchups_refused"]) == (1, 0), st


def test_a_global_read_on_the_new_writer_sees_another_session_s_write(start_galera_halyard,
                                                                     galera):
    """consistency = global: a read sees every write committed through
    halyard before it, whichever session made it. One session writes on
    node0, the writer moves to node1 (which has not applied the write), and
    another session's autocommit read, sent to node1 (the only node left
    for reads: node2 is in maintenance), sees the write once node1 has
    applied it. Before, it read the old row there."""
    from test_ops import admin
    h = start(start_galera_halyard, consistency="global", causal_timeout_ms=1000,
              writer_is_also_reader=True)
    out = admin(default_socket(h), "backend node2 maint")
    assert "is MAINT" in out, out
    writer = h.connect(database="test")
    lk = _write_then_move_the_writer(h, galera, writer)
    reader = h.connect(database="test")
    release = threading.Timer(1.0, lk.close)
    release.start()
    try:
        with reader.cursor() as cur:
            cur.execute("SELECT v, @@port FROM moved WHERE id = 1")
            assert cur.fetchone() == (1, galera.port(1))
    finally:
        release.join()
    st = admin_json(default_socket(h), "show stats")
    assert st["writer_catchups"] >= 1 and st["writer_catchups_refused"] == 0, st


def test_a_new_writer_that_stays_behind_refuses_the_statement(start_galera_halyard, galera):
    """When the new writer has not applied the session's write within
    failover_write_wait_ms (or causal_timeout_ms, the longer) +
    connect_timeout_ms, the statement gets 1429 saying
    so (never the old row), the writer is not taken down for it, and once
    it caught up the session goes on."""
    h = start(start_galera_halyard, causal_timeout_ms=200, connect_timeout_ms=500,
              failover_write_wait_ms=1000)
    c = h.connect(database="test")
    lk = _write_then_move_the_writer(h, galera, c)
    try:
        with c.cursor() as cur:
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute("BEGIN")  # its first statement on node1
            assert e.value.args[0] == 1429, e.value.args
            assert "moved to 'node1', which has not applied the writes this statement must see" \
                in e.value.args[1], e.value.args
    finally:
        lk.close()
    assert backends(default_socket(h))["node1"]["state"] == "ONLINE"
    st = admin_json(default_socket(h), "show stats")
    assert (st["writer_catchups"], st["writer_catchups_refused"]) == (1, 1), st
    with c.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT v, @@port FROM moved WHERE id = 1 FOR UPDATE")
        assert cur.fetchone() == (1, galera.port(1))
        cur.execute("COMMIT")


def test_rolling_restart_under_sysbench(start_galera_halyard, galera):
    """A rolling restart: each node in turn is drained (the command answers
    once nobody runs a statement or holds a transaction there; a drained
    writer hands the role over only then, so two nodes never write at once
    and no transaction fails certification), shut down, started again (it
    rejoins by IST), and put back online, while sysbench oltp_read_write
    runs through halyard in back-to-back runs of 8 s: not one statement
    fails and nobody reconnects."""
    from test_ops import admin
    from test_reload import sysbench
    galera.sql(0, "DROP DATABASE IF EXISTS sbreload")
    galera.sql(0, "CREATE DATABASE sbreload")
    h = start(start_galera_halyard, workers=2)
    r = sysbench(h.port, "prepare")
    assert r.returncode == 0, r.stderr
    sock = default_socket(h)
    runs, done = [], threading.Event()

    def load():
        while not done.is_set():
            # Transactions of one UPDATE and reads: sysbench's own threads
            # cannot deadlock one another (DELETE/INSERT pairs and two
            # updates in random order would, on any server).
            runs.append(sysbench(h.port, "--threads=4", "--time=8", "--mysql-ignore-errors=none",
                                 "--delete_inserts=0", "--non_index_updates=0",
                                 "--report-interval=0", "run"))

    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(2)
        for i in range(3):
            name = f"node{i}"
            out = admin(sock, f"backend {name} drain")
            assert out.startswith(f"OK backend {name} is DRAINING, idle"), out
            galera.stop_node(i)
            galera.start_node(i)
            wait_until(lambda i=i: galera.synced(i), timeout=120, what=f"{name} Synced again")
            admin(sock, f"backend {name} online")
            wait_until(lambda name=name: backends(default_socket(h))[name]["state"] == "ONLINE", timeout=30,
                       what=f"{name} ONLINE again")
        time.sleep(2)
    finally:
        done.set()
        t.join(timeout=60)
    assert len(runs) >= 2
    for r in runs:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
        assert "ignored errors:                      0 " in r.stdout, r.stdout
        assert "reconnects:                          0 " in r.stdout, r.stdout
    print(f"\nrolling restart: {len(runs)} sysbench runs of 8 s, "
          f"{sum(int(x.stdout.split('transactions:')[1].split()[0]) for x in runs)} "
          "transactions, none failed")
