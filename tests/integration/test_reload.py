"""Reload applies to everything without a restart: listeners added and
removed, backends added and removed, rules and timeouts changed, for new
sessions and for the sessions already open (between their statements, never
inside a transaction); and a steady sysbench load sees no failed statement
across reloads that add a backend, remove one and change a rule.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pymysql
import pytest

import util
from tcprelay import TcpRelay
from test_dns import StubDNS, under_resolv_conf
from util import default_halyard_settings, free_port, port_accepts, render_libconfig, wait_until


def admin_json(h, command):
    return util.admin_json(f"/tmp/halyard-{h.port}.sock", command)


def reload_ok(h, settings):
    with open(h.conf_path, "w") as f:
        f.write(render_libconfig(settings))
    before = admin_json(h, "show status")
    n = before["reloads_ok"] + before["reloads_failed"]
    h.send_signal(signal.SIGHUP)
    st = wait_until(lambda: (lambda j: j if j["reloads_ok"] + j["reloads_failed"] > n else None)(
        admin_json(h, "show status")), what="the reload")
    assert st["last_reload_result"] == "ok", st["last_reload_error"]
    return st


def base(cluster, port, nodes=(0, 1, 2), **extra):
    s = default_halyard_settings(cluster, port)
    s["backends"] = [b for i, b in enumerate(s["backends"]) if i in nodes]
    s.update(extra)
    return s


def server_id(conn, hint=None):
    with conn.cursor() as cur:
        cur.execute(f"SELECT /* halyard: {hint} */ @@server_id" if hint else "SELECT @@server_id")
        return cur.fetchone()[0]


def test_listener_added_and_removed_by_reload(start_halyard, cluster):
    h = start_halyard(workers=2)
    settings = base(cluster, h.port)
    old = h.connect()
    assert server_id(old) > 0

    # A second listener: every worker accepts on it at once.
    port2 = free_port()
    settings["listeners"] = settings["listeners"] + [{"name": "extra", "address": "127.0.0.1", "port": port2}]
    reload_ok(h, settings)
    h.wait_log(rf"reload: listening on 127\.0\.0\.1:{port2} \(extra\)")
    wait_until(lambda: port_accepts(port2), what="the new listener")
    for _ in range(8):  # several connections, so both workers' sockets take some
        c = pymysql.connect(**h.conn_params(port=port2))
        assert server_id(c) > 0
        c.close()
    kept = pymysql.connect(**h.conn_params(port=port2))

    # The first listener goes: its port refuses, sessions accepted from it stay.
    settings["listeners"] = [l for l in settings["listeners"] if l["name"] == "extra"]
    reload_ok(h, settings)
    h.wait_log(rf"reload: no longer listening on 127\.0\.0\.1:{h.port} \(main\)")
    # Workers apply a reload at their next wake-up, just after it is logged.
    wait_until(lambda: not port_accepts(h.port), what="the removed listener to stop accepting")
    assert server_id(old) > 0
    assert server_id(kept) > 0
    with old.cursor() as cur:
        cur.execute("SELECT 1")
    # A port that cannot be bound fails the reload, naming the listener.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    settings["listeners"] = settings["listeners"] + [{"name": "busy", "address": "127.0.0.1", "port": busy}]
    with open(h.conf_path, "w") as f:
        f.write(render_libconfig(settings))
    n = admin_json(h, "show status")["reloads_failed"]
    h.send_signal(signal.SIGHUP)
    st = wait_until(lambda: (lambda j: j if j["reloads_failed"] > n else None)(admin_json(h, "show status")),
                    what="the failed reload")
    line = open(h.conf_path).read().splitlines().index(f"        port = {busy};") + 1
    assert st["last_reload_error"] == (f"{h.conf_path}:{line}: listeners.[1].port: cannot listen on "
                                       f"127.0.0.1:{busy}: Address already in use"), st
    blocker.close()
    # Still serving on the listener it had.
    c = pymysql.connect(**h.conn_params(port=port2))
    assert server_id(c) > 0
    c.close()
    kept.close()


def test_existing_session_takes_new_rules_and_backends(start_halyard, cluster):
    """An open idle session follows the reload at its next statement: a new
    rule blocks its statement, a removed replica is no longer used, and a
    backend added is used, without reconnecting."""
    h = start_halyard()
    settings = base(cluster, h.port, nodes=(0, 1))
    reload_ok(h, settings)
    c = h.connect()
    ids = {n: cluster.server_id(n) for n in (0, 1, 2)}
    assert server_id(c, "replica") == ids[1]
    with c.cursor() as cur:
        cur.execute("SET @marker = 7")  # session state, replayed on new connections

    settings["rules"] = [{"name": "no_sleep", "match_digest": "^SELECT SLEEP", "action": "block"}]
    reload_ok(h, settings)
    with pytest.raises(pymysql.err.OperationalError) as e:
        with c.cursor() as cur:
            cur.execute("SELECT SLEEP(0)")
    assert e.value.args[0] == 1142, e.value.args

    # node1 out, node2 in: the same session reads from node2, with its state.
    settings["backends"] = [b for b in base(cluster, h.port)["backends"] if b["name"] != cluster.nodes[1]["name"]]
    reload_ok(h, settings)
    # node2 takes reads once the monitor's first check of it has passed
    wait_until(lambda: server_id(c, "replica") == ids[2], what="a read on node2")
    with c.cursor() as cur:
        cur.execute("SELECT /* halyard: replica */ @marker")
        assert cur.fetchone()[0] == 7
    # Its connection to node1 is closed: node1 sees no app connection.
    wait_until(lambda: cluster.value(1, "SELECT COUNT(*) FROM information_schema.processlist "
                                        "WHERE user = 'app'") == 0,
               what="the connection to the removed backend to close")


def test_transaction_finishes_on_old_config(start_halyard, cluster):
    """A session inside a transaction keeps its config until the
    transaction ends; then it moves."""
    h = start_halyard()
    settings = base(cluster, h.port, nodes=(0, 1))
    reload_ok(h, settings)
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS reloadt")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS reloadt.t (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "DELETE FROM reloadt.t")
    c = h.connect(database="reloadt", autocommit=False)
    with c.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (1, 1)")
    # A rule that would block the transaction's next statement, if it applied.
    settings["rules"] = [{"name": "no_insert", "match_digest": "^INSERT", "action": "block"}]
    reload_ok(h, settings)
    with c.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (2, 2)")  # still the old config: allowed
    c.commit()
    with pytest.raises(pymysql.err.OperationalError):
        with c.cursor() as cur:
            cur.execute("INSERT INTO t VALUES (3, 3)")  # after the commit: the new rules
    c.rollback()
    assert cluster.value(0, "SELECT COUNT(*) FROM reloadt.t") == 2


def sysbench(port, *args, timeout=180):
    cmd = ["sysbench", "oltp_read_write", "--mysql-host=127.0.0.1", f"--mysql-port={port}",
           "--mysql-user=app", "--mysql-password=app", "--mysql-db=sbreload", "--tables=2",
           "--table-size=5000", "--mysql-ssl=off", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_reload_under_sysbench_load(start_halyard, cluster):
    """sysbench oltp_read_write (autocommit, so reads spread over the
    replicas; no DELETE/INSERT pairs, so threads cannot collide), 4 threads
    for 30 s, while three reloads add node2, remove node1 and add a rule:
    not one statement fails or reconnects. The added replica is waited
    for (its first checks, then its share of the reads): a fixed 3 s saw
    15 reads there on a loaded host (2026-11-29, load 7)."""
    cluster.sql(0, "DROP DATABASE IF EXISTS sbreload")
    cluster.sql(0, "CREATE DATABASE sbreload")
    r = sysbench(cluster.primary_port, "prepare")
    assert r.returncode == 0, r.stderr
    cluster.sync()
    h = start_halyard(workers=2, log_level="info")
    settings = base(cluster, h.port, nodes=(0, 1), log_level="info")
    reload_ok(h, settings)
    q = lambda n: int(cluster.sql(n, "SHOW GLOBAL STATUS LIKE 'Questions'")[0][1])

    result = {}

    def run():
        result["r"] = sysbench(h.port, "--threads=4", "--time=30", "--skip_trx=on", "--delete_inserts=0",
                               "--db-ps-mode=disable", "--mysql-ignore-errors=none", "--report-interval=1",
                               "run")

    t = threading.Thread(target=run)
    t.start()
    time.sleep(4)
    q2_before = q(2)
    settings["backends"] = base(cluster, h.port)["backends"]  # node2 added
    reload_ok(h, settings)
    wait_until(lambda: q(2) - q2_before > 100, timeout=12, what="the added replica taking reads")
    settings["backends"] = [b for b in settings["backends"] if b["name"] != cluster.nodes[1]["name"]]
    reload_ok(h, settings)  # node1 removed
    time.sleep(2)
    q1_after_removal = q(1)
    settings["rules"] = [{"name": "ranges_primary", "match_digest": "BETWEEN", "route": "primary"}]
    reload_ok(h, settings)  # a rule changed
    t.join(timeout=120)
    r = result["r"]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    out = r.stdout
    assert "ignored errors:                      0 " in out, out
    assert "reconnects:                          0 " in out, out
    # node1 got nothing after its removal but its own replication (and the
    # handful of statements this test ran there).
    assert q(1) - q1_after_removal < 20
    rules = admin_json(h, "show rules")["rules"]
    assert rules[0]["name"] == "ranges_primary" and rules[0]["hits"] > 0, rules
    st = admin_json(h, "show status")
    assert st["reloads_ok"] >= 4 and st["reloads_failed"] == 0


def test_reload_resizes_auth_block_table_and_firewall_learn_max(start_halyard, cluster):
    """auth_block_table_size and firewall_learn_max apply at a reload: the
    address table is resized with what it tracks, the learn cap moves."""
    port = free_port()

    def settings(table, learn):
        s = base(cluster, port, auth_fail_limit=1, auth_delay_ms=0, auth_block_ms=60000,
                 auth_block_table_size=table, firewall_learn_max=learn)
        s["users"] = [dict(u, firewall="learn") if u["name"] == "app" else u for u in s["users"]]
        return s
    small, big = settings(16, 16), settings(64, 24)
    h = start_halyard(small, port=port)

    def fail_from(addr):
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(**h.conn_params(password="bad", bind_address=addr))

    def learn(lo, hi):
        c = h.connect(autocommit=True)
        with c.cursor() as cur:
            for i in range(lo, hi):  # one digest each: the column name differs
                cur.execute(f"SELECT 1 AS c{i}")
        c.close()

    def firewall():
        j = admin_json(h, "show firewall app")
        return len(j["digests"]), j["dropped"]

    def addresses():
        return admin_json(h, "show blocked")["addresses"]

    fail_from("127.0.0.2")
    fail_from("127.0.0.2")  # 2 x limit: blocked
    learn(0, 30)
    n, dropped = firewall()
    assert n == 16 and dropped >= 14, (n, dropped)
    reload_ok(h, big)
    assert [(r["address"], r["blocked"]) for r in addresses()] == [("127.0.0.2", True)]  # kept
    # 40 more addresses: a 16-slot table would keep at most 16 of them.
    for i in range(10, 50):
        fail_from(f"127.0.0.{i}")
    assert len(addresses()) > 16, addresses()
    learn(30, 50)  # 20 new digests, room for 8 more
    assert firewall() == (24, dropped + 12)
    dropped += 12
    # Lowered under what is kept: nothing is forgotten, new digests are dropped.
    reload_ok(h, small)
    learn(50, 55)
    assert firewall() == (24, dropped + 5)
    rows = addresses()
    assert 0 < len(rows) <= 16 and all(r["address"] != "127.0.0.10" for r in rows), rows  # the latest kept


SLOWMON_PRIVS = ("BINLOG MONITOR, SLAVE MONITOR, PROCESS, REPLICATION SLAVE ADMIN, "
                 "READ_ONLY ADMIN, RELOAD, REPLICATION MASTER ADMIN, TRIGGER")


def test_a_backend_added_by_reload_takes_no_read_before_its_first_check(start_halyard, cluster):
    """A replica a reload adds gets no read until the monitor's first check
    of it ended and found it fit. node2's replication is stopped (with
    max_replication_lag, a replica the docs say takes no reads) and the
    monitor's login there takes 3 s (init_connect); the reload swaps node1
    for node2. Before, the reads right after the reload ran on node2 and
    missed the row it had not replicated; now they run on the primary, as
    they do once the check finds node2's replication broken."""
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'slowmon'@'%' IDENTIFIED BY 'slowmon'")
    cluster.sql(0, f"GRANT {SLOWMON_PRIVS} ON *.* TO 'slowmon'@'%'")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS test")
    cluster.sql(0, "CREATE OR REPLACE TABLE test.added (id INT PRIMARY KEY)")
    cluster.sql(0, "INSERT INTO test.added VALUES (1)")
    cluster.sync()
    monitor = {"user": "slowmon", "password": "slowmon", "timeout_ms": 6000}
    two = default_halyard_settings(cluster, 0)["backends"][:2]
    h = start_halyard(monitor=monitor, max_replication_lag=5, consistency="eventual",
                      backends=two)
    settings = base(cluster, h.port, nodes=(0, 1), monitor=monitor, max_replication_lag=5,
                    consistency="eventual")
    node2 = cluster.nodes[2]["name"]
    try:
        cluster.sql(2, "STOP SLAVE")
        cluster.sql(2, "SET GLOBAL init_connect = "
                       "'DO IF(CURRENT_USER() LIKE ''slowmon@%'', SLEEP(3), 0)'")
        cluster.sql(0, "INSERT INTO test.added VALUES (2)")
        assert cluster.value(2, "SELECT COUNT(*) FROM test.added") == 1
        settings["backends"] = [b for b in base(cluster, h.port)["backends"]
                                if b["name"] != cluster.nodes[1]["name"]]
        reload_ok(h, settings)
        c = h.connect()
        seen = set()
        with c.cursor() as cur:
            for _ in range(6):
                cur.execute("SELECT COUNT(*), @@server_id FROM test.added")
                seen.add(cur.fetchone())
        # the reads came before node2's first check ended
        b = {x["name"]: x for x in admin_json(h, "show backends")["backends"]}
        assert b[node2]["last_check"] in ("", None), b[node2]
        assert seen == {(2, cluster.server_id(0))}, seen
        wait_until(lambda: {x["name"]: x for x in admin_json(h, "show backends")["backends"]}
                   [node2]["state"] == "LAGGING", timeout=15, what="node2 checked: LAGGING")
        with c.cursor() as cur:
            cur.execute("SELECT COUNT(*), @@server_id FROM test.added")
            assert cur.fetchone() == (2, cluster.server_id(0))
        c.close()
    finally:
        cluster.sql(2, "SET GLOBAL init_connect = ''")
        cluster.sql(2, "START SLAVE")


@contextlib.contextmanager
def node1_moved_to(cluster):
    """test.moved on the cluster, slowmon the monitor account, node1 (a
    replica) made writable and the monitor's login there slowed to 3 s
    (init_connect) for the block: a write sent there before its first
    check ended would land on a replica."""
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'slowmon'@'%' IDENTIFIED BY 'slowmon'")
    cluster.sql(0, f"GRANT {SLOWMON_PRIVS} ON *.* TO 'slowmon'@'%'")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS test")
    cluster.sql(0, "CREATE OR REPLACE TABLE test.moved (id INT PRIMARY KEY)")
    cluster.sync()
    try:
        cluster.sql(1, "SET GLOBAL read_only = 0")
        cluster.sql(1, "SET GLOBAL init_connect = "
                       "'DO IF(CURRENT_USER() LIKE ''slowmon@%'', SLEEP(3), 0)'")
        yield {"name": "moved", "address": "127.0.0.1", "port": cluster.nodes[1]["port"],
               "role": "primary"}
    finally:
        cluster.sql(1, "SET GLOBAL init_connect = ''")
        cluster.sql(1, "SET GLOBAL read_only = 1")
        cluster.sql(0, "DELETE FROM test.moved")
        cluster.sync()


def assert_no_checked_primary(err):
    """The 1429 of a write that waited for "moved"'s first check: no
    check has passed, or (a loaded host) its failed checks took it DOWN
    by then and the error says what they found, as for any primary DOWN."""
    assert err.args[0] == 1429 and (
        "no check of backend 'moved' has passed yet" in err.args[1]
        or "backend 'moved' is DOWN (" in err.args[1]), err.args


def timed_insert(h):
    """INSERT INTO test.moved through halyard: the seconds it took."""
    c = h.connect(autocommit=True)
    t0 = time.monotonic()
    try:
        with c.cursor() as cur:
            cur.execute("INSERT INTO test.moved VALUES (1)")
        return time.monotonic() - t0
    finally:
        c.close()


def test_a_primary_moved_by_reload_takes_no_write_before_its_first_check(start_halyard, cluster):
    """A reload names as the primary a backend the monitor has not checked
    yet: "moved", at node1's address (a replica of node0, made writable).
    The monitor's login there takes 3 s (init_connect). Before, the INSERT
    sent right after the reload ran on node1 before any check: the row on
    node1 alone, not on node0. Now the write waits for that first check
    (at most monitor.interval_ms + monitor.timeout_ms), which finds node1
    replicating from node0: node0 stays the primary and takes the row."""
    monitor = {"user": "slowmon", "password": "slowmon", "timeout_ms": 6000}
    with node1_moved_to(cluster) as moved:
        h = start_halyard(monitor=monitor)
        settings = base(cluster, h.port, monitor=monitor)
        settings["backends"] = [moved] + [dict(b, role="replica") for b in settings["backends"]
                                          if b["port"] != moved["port"]]
        reload_ok(h, settings)
        waited = timed_insert(h)
        cluster.sync()
        on0 = cluster.value(0, "SELECT COUNT(*) FROM test.moved")
        b = {x["name"]: x for x in admin_json(h, "show backends")["backends"]}
        assert (on0, b["moved"]["role"]) == (1, "replica"), (on0, waited, b["moved"])
        assert cluster.value(1, "SELECT COUNT(*) FROM test.moved") == 1
        assert waited > 1.0, waited  # it waited for the check (3 s login)


@pytest.mark.parametrize("fails", [False, True])
def test_a_session_with_autocommit_off_waits_for_the_primary_s_first_check(start_halyard, cluster,
                                                                           fails):
    """The same move, for a session that set autocommit = 0 before the
    reload (pymysql's default does at login) and so has no transaction
    open, only one to come. Before, its INSERT and COMMIT got 1429 "Lost
    connection to backend 'moved' (ONLINE) during the transaction" at once,
    nothing lost. Now the INSERT waits for the check as an autocommit one
    does: the transaction then runs on node0; or, with "moved" alone and
    its first check failing, it gets the same 1429 as the autocommit INSERT
    (test below)."""
    monitor = {"user": "slowmon", "password": "slowmon", "timeout_ms": 1000 if fails else 6000,
               "interval_ms": 1000}
    with node1_moved_to(cluster) as moved:
        h = start_halyard(monitor=monitor)
        settings = base(cluster, h.port, monitor=monitor)
        settings["backends"] = [moved] + ([] if fails else [
            dict(b, role="replica") for b in settings["backends"] if b["port"] != moved["port"]])
        c = h.connect(autocommit=False)
        reload_ok(h, settings)
        t0 = time.monotonic()
        with c.cursor() as cur:
            if fails:
                with pytest.raises(pymysql.err.OperationalError) as e:
                    cur.execute("INSERT INTO test.moved VALUES (1)")
                waited = time.monotonic() - t0
                assert_no_checked_primary(e.value)
                assert 1.5 < waited < 5, waited
                assert cluster.value(1, "SELECT COUNT(*) FROM test.moved") == 0
                return
            cur.execute("INSERT INTO test.moved VALUES (1)")
            cur.execute("COMMIT")
        waited = time.monotonic() - t0
        cluster.sync()
        on0 = cluster.value(0, "SELECT COUNT(*) FROM test.moved")
        b = {x["name"]: x for x in admin_json(h, "show backends")["backends"]}
        assert (on0, b["moved"]["role"]) == (1, "replica"), (on0, waited, b["moved"])
        assert waited > 1.0, waited  # it waited for the check (3 s login)


def test_a_write_to_a_primary_whose_first_check_fails_gets_an_error(start_halyard, cluster):
    """The same move, with "moved" the only backend and its first check
    failing (the 3 s login against monitor.timeout_ms 1000). Before, the
    INSERT ran on node1 at once. Now it waits for the check, at most
    monitor.interval_ms + monitor.timeout_ms, and gets 1429 saying no
    check of "moved" has passed; node1 is unchanged."""
    monitor = {"user": "slowmon", "password": "slowmon", "timeout_ms": 1000, "interval_ms": 1000}
    with node1_moved_to(cluster) as moved:
        h = start_halyard(monitor=monitor)
        settings = base(cluster, h.port, monitor=monitor)
        settings["backends"] = [moved]
        reload_ok(h, settings)
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as e:
            timed_insert(h)
        waited = time.monotonic() - t0
        assert_no_checked_primary(e.value)
        assert 1.5 < waited < 5, waited
        assert cluster.value(1, "SELECT COUNT(*) FROM test.moved") == 0
        # the log says what the statement waited for: that first check,
        # not failover_write_wait_ms (before: "no usable primary within its
        # first check" here, and for a login "within failover_write_wait_ms
        # (5000 ms)")
        h.wait_log(r"no usable primary: waited for the first check of moved "
                   r"\(monitor.interval_ms \+ monitor.timeout_ms, 2000 ms\)")
        # a login naming a schema needs the primary, now DOWN: it waits
        # the same way
        wait_until(lambda: {x["name"]: x for x in admin_json(h, "show backends")["backends"]}
                   ["moved"]["state"] == "DOWN", timeout=10, what="moved DOWN")
        with pytest.raises(pymysql.err.OperationalError) as e:
            h.connect(database="test")
        assert e.value.args[0] == 1429, e.value.args
        h.wait_log(r"login: no usable primary: waited for the first check of moved")


def test_a_backend_removed_and_added_again_is_not_shown_as_checked(start_halyard, cluster):
    """A reload removes node2, another adds it again (it could be another
    server at that address by then): until a check of it ends, show
    backends gives it no check and no GTID position, not the ones from
    before its removal (before: last_check "ok" and its old position at
    once), and it takes no read. The in-flight proof reads the same checks
    (info.seen): none is taken for the new one's."""
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'slowmon'@'%' IDENTIFIED BY 'slowmon'")
    cluster.sql(0, f"GRANT {SLOWMON_PRIVS} ON *.* TO 'slowmon'@'%'")
    cluster.sync()
    monitor = {"user": "slowmon", "password": "slowmon", "timeout_ms": 6000}
    h = start_halyard(monitor=monitor)
    node2 = cluster.nodes[2]["name"]

    def shown():
        return {x["name"]: x for x in admin_json(h, "show backends")["backends"]}[node2]
    wait_until(lambda: shown()["last_check"] == "ok", what="node2 checked")
    reload_ok(h, base(cluster, h.port, nodes=(0, 1), monitor=monitor))
    try:
        cluster.sql(2, "SET GLOBAL init_connect = "
                       "'DO IF(CURRENT_USER() LIKE ''slowmon@%'', SLEEP(3), 0)'")
        reload_ok(h, base(cluster, h.port, monitor=monitor))
        b = shown()
        assert (b["last_check"], b["check_age_s"], b["gtid"]) == ("", None, ""), b
        c = h.connect()
        assert {server_id(c, "replica") for _ in range(6)} == {cluster.server_id(1)}
        c.close()
        wait_until(lambda: shown()["last_check"] == "ok", timeout=15, what="node2 checked again")
    finally:
        cluster.sql(2, "SET GLOBAL init_connect = ''")


# its own loopback address (test_dns.py's stub answers on .53)
TEST_PORT = int(os.environ.get("HALYARD_TEST_PORT", "23310"))
MOVE_DNS_ADDR = f"127.{(TEST_PORT >> 8) & 0xff}.{TEST_PORT & 0xff}.54"


def test_a_check_of_the_address_a_reload_moved_away_from_does_not_count(start_halyard, cluster,
                                                                         tmp_path):
    """The primary's entry reaches node0 through a relay; a reload moves it
    to node0's own port under a host name whose DNS answer takes 1 s, so
    the reload waits that long after it forgot the entry's checks and
    before the monitor has the new address. Meanwhile the relay is cut:
    the monitor's checks of the old address fail. With fall = 1, before,
    they counted: the primary went DOWN on the old address's evidence
    ("backend node0: ONLINE -> DOWN", a backend_down event, and failover
    had it been on). Now a check of an address a reload moved away from
    counts for nothing, and the entry's checks start afresh at the new
    address: it stays ONLINE and the primary."""
    node0 = cluster.nodes[0]
    dns = StubDNS(MOVE_DNS_ADDR, {"db0.halyard.test": ["127.0.0.1"]})
    dns.start()
    resolv = tmp_path / "resolv-move.conf"
    resolv.write_text(f"nameserver {MOVE_DNS_ADDR}\noptions timeout:4 attempts:1\n")
    relay = TcpRelay(node0["port"])
    try:
        monitor = {"user": util.MONITOR_USER, "password": util.MONITOR_PASSWORD,
                   "interval_ms": 200, "timeout_ms": 1000, "rise": 2, "fall": 1}
        settings = base(cluster, 0, monitor=monitor)
        settings["backends"][0] = dict(settings["backends"][0], port=relay.port)
        h = start_halyard(monitor=monitor, backends=settings["backends"],
                          prefix=under_resolv_conf(str(resolv)))
        settings["listeners"] = base(cluster, h.port)["listeners"]

        def shown():
            return {x["name"]: x for x in admin_json(h, "show backends")["backends"]}[node0["name"]]
        wait_until(lambda: shown()["last_check"] == "ok", what="node0 checked through the relay")

        settings["backends"][0] = dict(settings["backends"][0], address="db0.halyard.test",
                                       port=node0["port"])
        with open(h.conf_path, "w") as f:
            f.write(render_libconfig(settings))
        # 1 s: well inside the 2 s a reload waits for a new name's first
        # answer (RESOLVE_RELOAD_WAIT_MS); past it the reload goes on and
        # node0's first check at its new address fails, "not resolved
        # yet", which with fall = 1 is a DOWN. At 1.5 s, the stub's answer
        # thread started half a second late on a loaded host was enough.
        dns.delay = 1.0
        st = admin_json(h, "show status")
        n = st["reloads_ok"] + st["reloads_failed"]
        h.send_signal(signal.SIGHUP)
        # the reload asks for the new name after it forgot node0's checks
        wait_until(lambda: dns.queries, timeout=5, what="the reload's DNS query")
        relay.cut()
        st = wait_until(lambda: (lambda j: j if j["reloads_ok"] + j["reloads_failed"] > n
                                 else None)(admin_json(h, "show status")), what="the reload")
        assert st["last_reload_result"] == "ok", st["last_reload_error"]
        wait_until(lambda: shown()["last_check"] == "ok", what="node0 checked at its new address")
        downs = re.findall(rf"backend {node0['name']}: \w+ -> DOWN.*", h.log_text())
        assert downs == [], downs
        events = admin_json(h, "show events")["events"]
        assert [e for e in events if e["event"] == "backend_down"] == [], events
        b = shown()
        assert (b["state"], b["role"]) == ("ONLINE", "primary"), b
        # the old address was checked meanwhile (or skipped): for nothing
        h.wait_log(r"monitor: " + node0["name"] + r": (a check of the address a reload moved "
                   r"it from counts for nothing|not checked at the address a reload moved it from)")
    finally:
        relay.close()
        dns.stop()
