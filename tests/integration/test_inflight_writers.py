"""The writer changes under a mixed load, on the clusters whose writer is
not a replication primary: the Galera writer (tools/cluster --galera, whose
nodes keep a binary log with log_slave_updates) and the active of a
dual-master pair (tools/cluster --dual-master --semisync), each killed with
kill -9 through halyard with every failover option on
(resolve_in_flight_writes, transaction_replay, retry_primary_reads).

Four clients run autocommit INSERTs, transactions (BEGIN, a read, two
INSERTs, COMMIT) and reads (test_inflight.MixedLoad). The table has no
unique key on the clients' ids, so a write run twice shows as two rows.
Afterwards every acknowledged id is on the new writer exactly once, and no
client saw an error: an INSERT or COMMIT in flight at the kill got its
fate found in the new writer's binary log (committed: its OK; provably not
committed: run once there), an open transaction was replayed there.

The planned changes too, under the same load: the Galera writer drained
and put online again, and a dual-master switchover both ways.
"""

import threading
import time

import pymysql
import pytest

from tcprelay import TcpRelay
from test_failover import REPL_ENV, failover_settings, kill_now
from test_galera import MONITOR as GALERA_MONITOR, backends as galera_backends
from test_galera import start as galera_start
from test_inflight import MixedLoad
from test_ops import admin_json, default_socket
from util import q, wait_until

ON = dict(resolve_in_flight_writes=True, transaction_replay=True, retry_primary_reads=True,
          replay_timeout_ms=20000, failover_write_wait_ms=20000)


def check_rows(load, counts):
    """Every acknowledged id once in `counts` (id -> rows): lost, twice."""
    missing = [i for i in load.acked if i not in counts]
    twice = [i for i in load.acked if counts.get(i, 0) > 1]
    return missing, twice


def galera_counts(galera, node):
    """id -> rows in iw.t, read on a Galera node once it applied every
    write the cluster certified before: a write made on another node is
    applied here after its commit there, and a plain read may come first
    (CI: the last row of each writer missing on node1 after node0 was the
    writer again). wsrep_sync_wait = 1 makes the read wait for them."""
    c = galera.root_connect(node)
    try:
        q(c, "SET SESSION wsrep_sync_wait = 1")
        return dict(q(c, "SELECT id, COUNT(*) FROM iw.t GROUP BY id"))
    finally:
        c.close()


def load_table(c):
    """iw.t on cluster c, empty, for app. No unique key, nor AUTO_INCREMENT:
    an insert id differs on another node (auto_increment_offset), and a
    replayed transaction's answers would differ from the first."""
    c.sql(0, "CREATE DATABASE IF NOT EXISTS iw")
    c.sql(0, "GRANT ALL ON iw.* TO 'app'@'%'")
    # a write found committed answers its insert id from the table's columns,
    # read as monitor.user (docs/failover.md); without, 1180
    c.sql(0, "GRANT SELECT ON iw.* TO 'monitor'@'%'")
    c.sql(0, "DROP TABLE IF EXISTS iw.t")
    c.sql(0, "CREATE TABLE iw.t (id BIGINT NOT NULL, v INT NOT NULL, KEY (id))")


SLOW_ID = 9_000_000  # MixedLoad's writers use w * 1,000,000 + n, w 1 to 4


def slow_write(h, out, seconds=2):
    """An autocommit INSERT through halyard that takes two seconds on the
    server: in flight when the writer is killed once it runs there, so
    every run resolves at least one write. Its text tells its one table
    (SLEEP is a built-in, not a routine), so not finding it can be proven
    "not committed" (docs/failover.md, "Triggers"); an INSERT ... SELECT
    would get 1180 there. What it got goes in `out`."""
    try:
        c = pymysql.connect(**h.conn_params(read_timeout=60))
        with c.cursor() as cur:
            cur.execute(f"INSERT INTO iw.t (id, v) VALUES ({SLOW_ID}, SLEEP({seconds}))")
        c.close()
        out.append("ok")
    except pymysql.MySQLError as e:
        out.append(str(e))


def slow_write_on_node0(h, galera, out, seconds=2):
    """slow_write in a thread of its own, once its INSERT runs on node0
    (of `galera`, or of another cluster): the thread."""
    t = threading.Thread(target=slow_write, args=(h, out, seconds), daemon=True)
    t.start()
    wait_until(lambda: galera.value(0, "SELECT COUNT(*) FROM information_schema.processlist "
                                       "WHERE info LIKE '/*hy:%INSERT INTO iw.t (id, v) VALUES "
                                       f"({SLOW_ID}, SLEEP(%'") == 1, 10,
               what="the INSERT to run on node0")  # (not a load's INSERT: the slow one's id)
    return t


def sessions_event(sock, end):
    """The one `end` event (writer_changed, failover_done) and the
    failover_sessions event that followed it (5 s after), which names it:
    each failover event says what happened to the sessions it touched."""
    def find():
        events = admin_json(sock, "show events")["events"]
        ends = [e for e in events if e["event"] == end]
        summ = [e for e in events if e["event"] == "failover_sessions"]
        return (ends, summ) if ends and summ else None
    ends, summ = wait_until(find, 30, interval=0.2, what=f"a failover_sessions event after {end}")
    assert len(ends) == 1 and len(summ) == 1, (ends, summ)
    assert summ[0]["action"] == f"{end} seq {ends[0]['seq']}", summ
    assert summ[0]["seq"] > ends[0]["seq"], summ
    return ends[0], summ[0]["reason"]


def kill_under_load(h, c, kill, stats):
    """The load through halyard, and a slow write (slow_write); `kill()`
    once they run (the slow write on node0 of cluster `c`: a fixed 0.3 s
    after its thread's start was not always enough for its login and
    INSERT on a loaded host, and a kill before it left no write in flight
    but the load's, which may have none just then), until 100 more writes
    were acknowledged after it. The load, halyard's stats and what the
    slow write got."""
    slow = []
    with MixedLoad(h, table="iw.t") as load:
        wait_until(lambda: load.count() >= 100, 30, what="the load to get going")
        t = slow_write_on_node0(h, c, slow)
        kill()
        n = load.count()
        wait_until(lambda: load.count() >= n + 100, 60, what="writes after the kill")
        t.join(60)
    st = stats()
    print(f"\n{load.count()} acknowledged writes, {len(load.errors)} client errors "
          f"{load.errors[:5]}; the slow write: {slow}; in-flight writes committed "
          f"{st['inflight_committed']}, re-run {st['inflight_rerun']}, unknown "
          f"{st['inflight_unknown']}; transactions replayed {st['transactions_replayed']}, "
          f"statements retried {st['statements_retried']}")
    load.acked.append(SLOW_ID)  # checked once with the others
    assert slow == ["ok"], slow
    return load, st


def test_galera_writer_killed_under_mixed_load(start_galera_halyard, galera):
    load_table(galera)
    h = galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                     replication_password_env=REPL_ENV, **ON)
    assert galera_backends(default_socket(h))["node0"]["role"] == "primary"
    sock = default_socket(h)
    load, st = kill_under_load(h, galera, lambda: galera.kill(0),
                               lambda: admin_json(sock, "show stats"))
    b = galera_backends(default_socket(h))
    assert b["node1"]["role"] == "primary", b
    counts = galera_counts(galera, 1)
    missing, twice = check_rows(load, counts)
    assert not missing and not twice, (missing[:5], twice[:5])
    log = h.log_text()
    # on a failure, the sessions' own lines after the kill say what happened
    assert load.errors == [], "\n".join(
        [f"{len(load.errors)} failed statements: {load.errors[:5]}"] +
        [ln for ln in log.splitlines() if " session " in ln and " app@" in ln][-40:])
    assert st["inflight_unknown"] == 0, st
    # a write that was in flight was looked for once node1's view had
    # dropped node0 (it was there: the kill came mid-load)
    assert st["inflight_committed"] + st["inflight_rerun"] + st["transactions_replayed"] >= 1, st
    assert "outcome unknown" not in log
    # the writer change is an event, and the sessions' account follows it
    change, reason = sessions_event(sock, "writer_changed")
    assert (change["backend"], change["old"], change["new"]) == ("node1", "node0", "node1"), change
    assert "in-flight writes committed" in reason and ", unknown 0; " in reason, reason
    assert reason.endswith("sessions given an error 0"), reason


def node0_killed_under_a_slow_write(h, galera):
    """node0 killed with slow_write's INSERT in flight there: what the
    INSERT got, and halyard's show stats once it got it."""
    slow = []
    t = slow_write_on_node0(h, galera, slow)
    galera.kill(0)
    t.join(60)
    return slow, admin_json(default_socket(h), "show stats")


def start_through_relay(start_galera_halyard, galera, relay, **on):
    """halyard with `on`, node0 the writer, node1 reached through `relay`."""
    return galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                        replication_password_env=REPL_ENV, backends=[
                            {"name": n["name"], "address": "127.0.0.1",
                             "port": relay.port if n["index"] == 1 else n["port"],
                             "role": "primary" if n["index"] == 0 else "replica"}
                            for n in galera.nodes], **on)


class SlowLogRelay(TcpRelay):
    """Holds each SHOW BINLOG EVENTS on its way to the server for `delay_s`
    (the monitor never sends one; in-flight resolution does)."""

    def __init__(self, target_port, delay_s):
        self.delay_s, self.held = delay_s, 0
        super().__init__(target_port)

    def up(self, data):
        if b"SHOW BINLOG EVENTS" in data:
            self.held += 1
            time.sleep(self.delay_s)
        return data


def test_galera_new_writer_slow_to_read_its_log(start_galera_halyard, galera):
    """node1, the new writer, answers each read of its binary log 1.5 s
    late, longer than a monitor check may take (monitor.timeout_ms, 1 s),
    as a node whose reads wait (wsrep_sync_wait) while the cluster settles
    after a kill on a loaded machine (CI: 1180 "reading the binary log of
    node1 failed: timeout after 1000 ms"). The search is bounded by what
    is left of replay_timeout_ms, not by a check's timeout: the INSERT in
    flight at node0's kill is found not committed and run once on node1."""
    load_table(galera)
    relay = SlowLogRelay(galera.port(1), 1.5)
    h = start_through_relay(start_galera_halyard, galera, relay, **ON)
    try:
        slow, st = node0_killed_under_a_slow_write(h, galera)
        assert slow == ["ok"], slow
        assert relay.held >= 1, "node1's log was read without the relay"
        assert (st["inflight_rerun"], st["inflight_unknown"]) == (1, 0), st
        assert galera_counts(galera, 1) == {SLOW_ID: 1}
    finally:
        relay.close()


class NotReadyRelay(TcpRelay):
    """Turns the first `times` SHOW BINLOG EVENTS on their way to the
    server into a SIGNAL of error 1047 (08S01, "WSREP has not yet prepared
    node for application use"), which the server answers as a node not
    ready does; the monitor never sends one, in-flight resolution does."""

    SIGNAL = (b"SIGNAL SQLSTATE '08S01' SET MYSQL_ERRNO = 1047, "
              b"MESSAGE_TEXT = 'WSREP has not yet prepared node for application use'")

    def __init__(self, target_port, times, prefix=b"SHOW BINLOG EVENTS"):
        self.left, self.turned, self.prefix = times, 0, prefix
        super().__init__(target_port)

    def up(self, data):
        if self.left > 0 and len(data) > 5 and data[4] == 0x03 and \
                data[5:].startswith(self.prefix):
            self.left -= 1
            self.turned += 1
            payload = b"\x03" + self.SIGNAL
            return len(payload).to_bytes(3, "little") + data[3:4] + payload
        return data


def not_ready_outcome(galera, slow, st, relay, times):
    """What slow_write got after node0's kill while `relay` turned `times`
    of node1's answers into 1047: 3, found not committed and run once;
    every one, 1180 with that error once replay_timeout_ms passed."""
    if times == 3:
        assert slow == ["ok"], slow
        assert relay.turned == 3, relay.turned
        assert (st["inflight_rerun"], st["inflight_unknown"]) == (1, 0), st
        assert galera_counts(galera, 1) == {SLOW_ID: 1}
    else:
        assert len(slow) == 1 and slow[0].startswith("(1180, ") and \
            "WSREP has not yet prepared node" in slow[0], slow
        assert relay.turned > 3, relay.turned
        assert st["inflight_unknown"] == 1, st


@pytest.mark.parametrize("times", [3, 10 ** 6])
def test_galera_new_writer_not_ready_for_a_moment(start_galera_halyard, galera, times):
    """node1, the new writer, answers the search's first reads of its
    binary log with 1047, as a node settling after the old writer's loss
    does for moments. Before, the first 1047 ended the search: the INSERT
    in flight at node0's kill got 1180 ("reading the binary log of node1
    failed: WSREP has not yet prepared node..."). Now the read is asked
    again within replay_timeout_ms: found not committed, run once; a node
    that never answers otherwise still gives 1180 once that has passed."""
    load_table(galera)
    relay = NotReadyRelay(galera.port(1), times)
    on = dict(ON, replay_timeout_ms=20000 if times == 3 else 8000)
    h = start_through_relay(start_galera_halyard, galera, relay, **on)
    try:
        slow, st = node0_killed_under_a_slow_write(h, galera)
        not_ready_outcome(galera, slow, st, relay, times)
    finally:
        relay.close()


class NotReadyLoginRelay(TcpRelay):
    """Once armed, the first `times` logins as `user` get an ERR 1047
    (08S01, "WSREP has not yet prepared node for application use") in the
    server's OK's place: the in-flight search's connection to a new writer
    that is not ready (the monitor's own connections were made before)."""

    ERR = (b"\xff" + (1047).to_bytes(2, "little") + b"#08S01" +
           b"WSREP has not yet prepared node for application use")

    def __init__(self, target_port, times, user):
        self.left, self.turned, self.user, self.armed = times, 0, user.encode(), False
        self.users = {}
        super().__init__(target_port)

    def _pump(self, src, dst, hook):
        up = hook == self.up
        key = src if up else dst  # the client's side names the connection
        super()._pump(src, dst, (lambda d: self.up_of(key, d)) if up else
                      (lambda d: self.down_of(key, d)))

    def up_of(self, key, data):
        if self.armed and key not in self.users and len(data) > 40 and data[3] == 1:
            self.users[key] = data[4 + 32:].split(b"\0", 1)[0]  # HandshakeResponse41
        return data

    def down_of(self, key, data):
        if self.users.get(key) == self.user and self.left > 0 and len(data) > 4 and \
                data[3] >= 2 and data[4] == 0x00:
            self.users[key] = None  # once a connection
            self.left -= 1
            self.turned += 1
            return len(self.ERR).to_bytes(3, "little") + data[3:4] + self.ERR
        return data


class DropRelay(TcpRelay):
    """Once armed, nothing the server sends reaches halyard: a write's OK
    lost on the way, the write committed."""

    armed = False

    def down(self, data):
        return b"" if self.armed else data


@pytest.mark.parametrize("times", [3, 10 ** 6])
def test_galera_new_writer_not_ready_at_the_search_s_login(start_galera_halyard, galera, times):
    """node1, the new writer, refuses the in-flight search's login with
    1047, as a node settling after the old writer's loss may. Before, the
    first 1047 ended the search: the INSERT in flight at node0's kill got
    1180 ("reading the binary log of node1 failed: WSREP has not yet
    prepared node..."). Now the login is tried again every 100 ms within
    replay_timeout_ms: found not committed, run once; a node that never
    lets it in still gives 1180 once that has passed."""
    load_table(galera)
    relay = NotReadyLoginRelay(galera.port(1), times, GALERA_MONITOR["user"])
    on = dict(ON, replay_timeout_ms=20000 if times == 3 else 8000)
    h = start_through_relay(start_galera_halyard, galera, relay, **on)
    try:
        slow = []
        t = slow_write_on_node0(h, galera, slow)
        relay.armed = True
        galera.kill(0)
        t.join(60)
        st = admin_json(default_socket(h), "show stats")
        not_ready_outcome(galera, slow, st, relay, times)
    finally:
        relay.close()


@pytest.mark.parametrize("times", [3, 10 ** 6])
def test_galera_new_writer_not_ready_for_the_binlog_dump(start_galera_halyard, galera, times):
    """An INSERT commits on node0 (its row on node1 too) and its OK is lost
    on the way (a relay drops it); node0 is killed. node1, the new writer,
    answers the binlog dump's set-up (the dump that reads the write's row
    events for its affected rows) with 1047. Before, the first 1047 gave
    1180 ("its row events not read (WSREP has not yet prepared node...)").
    Now the dump is started again every 100 ms within replay_timeout_ms:
    found committed, the client gets its OK with 1 row; a node that never
    lets it run still gives 1180 (found committed, its rows unknown) once
    that has passed."""
    load_table(galera)
    relay = NotReadyRelay(galera.port(1), times, prefix=b"SET @master_binlog_checksum")
    relay0 = DropRelay(galera.port(0))
    on = dict(ON, replay_timeout_ms=20000 if times == 3 else 8000)
    h = galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                     replication_password_env=REPL_ENV, backends=[
                         {"name": n["name"], "address": "127.0.0.1",
                          "port": {0: relay0.port, 1: relay.port}.get(n["index"], n["port"]),
                          "role": "primary" if n["index"] == 0 else "replica"}
                         for n in galera.nodes], **on)
    try:
        c = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
        out = []

        def insert():
            try:
                out.append(c.cursor().execute(f"INSERT INTO iw.t (id, v) VALUES ({SLOW_ID}, 1)"))
            except pymysql.MySQLError as e:
                out.append(str(e))
        # the session's connection to node0 made before the OKs are dropped
        c.cursor().execute(f"INSERT INTO iw.t (id, v) VALUES ({SLOW_ID + 1}, 1)")
        relay0.armed = True
        t = threading.Thread(target=insert, daemon=True)
        t.start()
        wait_until(lambda: galera_counts(galera, 1).get(SLOW_ID) == 1, 10,
                   what="the INSERT committed (on node1 too)")
        galera.kill(0)
        t.join(60)
        st = admin_json(default_socket(h), "show stats")
        assert galera_counts(galera, 1) == {SLOW_ID: 1, SLOW_ID + 1: 1}
        if times == 3:
            assert out == [1], out
            assert relay.turned == 3, relay.turned
            assert (st["inflight_committed"], st["inflight_unknown"]) == (1, 0), st
        else:
            assert len(out) == 1 and str(out[0]).startswith("(1180, ") and \
                "it committed" in out[0] and "WSREP has not yet prepared node" in out[0], out
            assert relay.turned > 3, relay.turned
            # found committed, its answer unknown: counted committed
            assert (st["inflight_committed"], st["inflight_unknown"]) == (1, 0), st
        c.close()
    finally:
        relay.close()
        relay0.close()


def test_galera_write_in_flight_longer_than_eight_checks(start_galera_halyard, galera):
    """An INSERT in flight for 2.5 s, 12 monitor checks of node1 (every
    200 ms), when node0 is killed. The proof rests on a check of node1
    that answered before the write left; the monitor kept the last 8
    checks only, so a write in flight longer than that had none, and got
    1180 ("no monitor check of node1 finished before the write was
    sent"; CI under load: the slow write's kill came late). Older checks
    are now kept folded (a check from before it, no better than it was):
    the INSERT is found not committed and run once on node1."""
    load_table(galera)
    h = galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                     replication_password_env=REPL_ENV, **ON)
    slow = []
    t = slow_write_on_node0(h, galera, slow, 4)
    time.sleep(2.5)
    galera.kill(0)
    t.join(60)
    st = admin_json(default_socket(h), "show stats")
    assert slow == ["ok"], slow
    assert (st["inflight_rerun"], st["inflight_unknown"]) == (1, 0), st
    assert galera_counts(galera, 1) == {SLOW_ID: 1}


def test_dual_master_active_killed_under_mixed_load(start_dual_halyard, dual, tmp_path):
    from test_dual_master import MONITOR as DUAL_MONITOR, roles
    load_table(dual)
    dual.sync()
    conf = failover_settings(tmp_path, monitor=DUAL_MONITOR, failover_delay_ms=500,
                             consistency="eventual", **ON)
    h = start_dual_halyard(conf)
    h.admin_socket = conf["admin_socket"]
    wait_until(lambda: roles(h) == {"node0": "primary", "node1": "replica"}, 10,
               what="node0 the active, node1 the standby")
    # a check of each server has finished: the writes below come after it
    wait_until(lambda: all(b["last_check"] == "ok" for b in
                           admin_json(conf["admin_socket"], "show backends")["backends"]), 10,
               what="every backend checked")
    load, st = kill_under_load(h, dual, lambda: kill_now(dual, 0),
                               lambda: admin_json(conf["admin_socket"], "show stats"))
    assert roles(h)["node1"] == "primary", roles(h)
    counts = dict(dual.sql(1, "SELECT id, COUNT(*) FROM iw.t GROUP BY id"))
    missing, twice = check_rows(load, counts)
    assert not missing and not twice, (missing[:5], twice[:5])
    assert load.errors == [], f"{len(load.errors)} failed statements: {load.errors[:5]}"
    assert st["inflight_unknown"] == 0, st
    assert st["inflight_committed"] + st["inflight_rerun"] + st["transactions_replayed"] >= 1, st
    done, reason = sessions_event(conf["admin_socket"], "failover_done")
    assert done["backend"] == "node1", done
    assert "in-flight writes committed" in reason and ", unknown 0; " in reason, reason
    assert reason.endswith("sessions given an error 0"), reason


def change_under_load(h, steps):
    """The load through halyard, each of `steps` (callables) run once it
    goes, 100 acknowledged writes after each. The load."""
    with MixedLoad(h, table="iw.t") as load:
        wait_until(lambda: load.count() >= 100, 30, what="the load to get going")
        for step in steps:
            step()
            n = load.count()
            wait_until(lambda: load.count() >= n + 100, 60, what="writes after the change")
    print(f"\n{load.count()} acknowledged writes, {len(load.errors)} client errors "
          f"{load.errors[:5]}")
    return load


def galera_ctl(h, *args):
    from test_failover import ctl
    r = ctl(default_socket(h), *args)
    assert r.returncode == 0, (r.stdout, r.stderr)


def node0_drained(h):
    """halyardctl backend node0 drain: node1 the writer once node0 is idle."""
    galera_ctl(h, "backend", "node0", "drain")
    wait_until(lambda: galera_backends(default_socket(h))["node1"]["role"] == "primary", 30,
               what="node1 the writer")


def node0_online(h):
    """halyardctl backend node0 online: node0 the writer again (by priority)."""
    galera_ctl(h, "backend", "node0", "online")
    wait_until(lambda: galera_backends(default_socket(h))["node0"]["role"] == "primary", 30,
               what="node0 the writer again")


def test_galera_writer_drained_under_mixed_load(start_galera_halyard, galera):
    """A planned writer change on Galera: the writer drained (writes wait
    until it is idle, then go to the next node), then put online again
    (the writer again, by name). No client error, every row once."""
    load_table(galera)
    h = galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                     replication_password_env=REPL_ENV, **ON)
    load = change_under_load(h, [lambda: node0_drained(h), lambda: node0_online(h)])
    counts = galera_counts(galera, 1)
    missing, twice = check_rows(load, counts)
    assert not missing and not twice, (missing[:5], twice[:5])
    assert load.errors == [], f"{len(load.errors)} failed statements: {load.errors[:5]}"


def test_galera_transaction_open_at_a_writer_change_ends_on_its_node(start_galera_halyard,
                                                                     galera):
    """A planned writer change (node0 back online takes the writer role
    from node1 by priority) while a client's transaction is open on node1:
    node1 lives on, so the transaction goes on and commits there (Galera
    certifies a commit from any node) instead of being lost and replayed,
    and the session's next transaction begins on node0. (CI once saw the
    mixed-load test above lose such a transaction: "rolled back by a
    failover of backend 'node1' and not replayable".)"""
    load_table(galera)
    h = galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                     replication_password_env=REPL_ENV, **ON)
    node0_drained(h)
    c = h.connect(autocommit=True)
    q(c, "BEGIN")
    q(c, "INSERT INTO iw.t VALUES (1, 1)")
    assert q(c, "SELECT @@port") == ((galera.port(1),),)
    node0_online(h)
    q(c, "INSERT INTO iw.t VALUES (2, 2)")
    assert q(c, "SELECT @@port") == ((galera.port(1),),)  # still where it began
    q(c, "COMMIT")
    q(c, "BEGIN")
    q(c, "INSERT INTO iw.t VALUES (3, 3)")
    assert q(c, "SELECT @@port") == ((galera.port(0),),)  # the next one on the new writer
    q(c, "COMMIT")
    assert galera_counts(galera, 0) == {1: 1, 2: 1, 3: 1}
    assert "ends there first" in h.log_text()


def test_dual_master_switchover_under_mixed_load(start_dual_halyard, dual, tmp_path):
    """halyardctl switchover of the pair's active, both ways, under the
    mixed load with every option on: no client error, every row once."""
    from test_dual_master import MONITOR as DUAL_MONITOR
    from test_failover import ctl
    load_table(dual)
    dual.sync()
    conf = failover_settings(tmp_path, monitor=DUAL_MONITOR, failover_delay_ms=500,
                             consistency="eventual", **ON)
    h = start_dual_halyard(conf)
    wait_until(lambda: roles_of(conf) == {"node0": "primary", "node1": "replica"}, 10,
               what="node0 the active, node1 the standby")

    def switch(to):
        def step():
            r = ctl(conf["admin_socket"], "switchover", "to", to)
            assert r.returncode == 0 and r.stdout.startswith("OK switchover done"), \
                r.stdout + r.stderr
        return step

    load = change_under_load(h, [switch("node1"), switch("node0")])
    assert roles_of(conf)["node0"] == "primary"
    dual.sync()
    counts = dict(dual.sql(0, "SELECT id, COUNT(*) FROM iw.t GROUP BY id"))
    missing, twice = check_rows(load, counts)
    assert not missing and not twice, (missing[:5], twice[:5])
    assert load.errors == [], f"{len(load.errors)} failed statements: {load.errors[:5]}"


def roles_of(conf):
    return {b["name"]: b["role"] for b in
            admin_json(conf["admin_socket"], "show backends")["backends"]}


def test_galera_writer_cut_off_outcome_unknown(start_galera_halyard, galera):
    """halyard loses the Galera writer while it lives on in the cluster
    (the connections between them cut), with an UPDATE waiting there on a
    row lock: node1 takes the writes, but its Primary component still
    lists node0, where the UPDATE may yet commit. So not finding it in
    node1's binary log proves nothing: after replay_timeout_ms the client
    gets 1180, the outcome unknown, and the UPDATE is not run again (it
    does commit on node0 once the lock is released: once, on every node)."""
    galera.sql(0, "CREATE DATABASE IF NOT EXISTS iw")
    galera.sql(0, "GRANT ALL ON iw.* TO 'app'@'%'")
    galera.sql(0, "DROP TABLE IF EXISTS iw.u")
    galera.sql(0, "CREATE TABLE iw.u (id INT PRIMARY KEY, v INT NOT NULL)")
    galera.sql(0, "INSERT INTO iw.u VALUES (1, 10), (2, 20)")
    relay = TcpRelay(galera.port(0))
    settings = dict(ON, replay_timeout_ms=3000)
    h = galera_start(start_galera_halyard, monitor=GALERA_MONITOR, replication_user="repl",
                     replication_password_env=REPL_ENV, consistency="eventual",
                     failover_write_wait_ms=10000, backends=[
                         {"name": n["name"], "address": "127.0.0.1",
                          "port": relay.port if n["index"] == 0 else n["port"],
                          "role": "primary" if n["index"] == 0 else "replica"}
                         for n in galera.nodes], **{k: v for k, v in settings.items()
                                                   if k != "failover_write_wait_ms"})
    blocker = galera.connect(0)
    try:
        bl = blocker.cursor()
        bl.execute("BEGIN")
        bl.execute("SELECT v FROM iw.u WHERE id = 2 FOR UPDATE")
        a = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
        out = {}

        def run():
            try:
                out["ok"] = a.cursor().execute("UPDATE iw.u SET v = v + 1 WHERE id = 2")
            except pymysql.MySQLError as e:
                out["error"] = e.args
        t = threading.Thread(target=run)
        t.start()
        wait_until(lambda: galera.value(0, "SELECT COUNT(*) FROM information_schema.processlist "
                                           "WHERE info LIKE '/*hy:%UPDATE iw.u%'") == 1, 10,
                   what="the UPDATE to wait on the lock on node0")
        relay.cut()
        t.join(60)
        assert not t.is_alive()
        code, msg = out["error"]
        assert code == 1180, out
        assert "whether it committed is unknown" in msg and "still counted node0" in msg, msg
        assert galera_backends(default_socket(h))["node1"]["role"] == "primary"
        bl.execute("COMMIT")  # the UPDATE goes on, on node0
    finally:
        blocker.close()
        relay.cut()
    for node in (0, 1, 2):
        wait_until(lambda node=node: galera.value(node, "SELECT v FROM iw.u WHERE id = 2") == 21,
                   10, what=f"the UPDATE committed once on node{node}")
    st = admin_json(default_socket(h), "show stats")
    assert st["inflight_unknown"] == 1 and st["inflight_rerun"] == 0, st
    a.close()
