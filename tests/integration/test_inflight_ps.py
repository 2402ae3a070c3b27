"""Prepared writes (COM_STMT_EXECUTE) in flight when the primary dies:
resolve_in_flight_writes finds their fate as it does a COM_QUERY's, with
real kills of the primary. Raw binary protocol (pymysql has no server-side
prepared statements).

    semi-sync, the replicas receive but no longer acknowledge: a prepared
    autocommit INSERT into an AUTO_INCREMENT table, and the COMMIT of a
    transaction whose only write was a prepared INSERT, wait on the primary
    for an acknowledgement; the primary is killed: both are in the new
    primary's binary log, so the EXECUTE gets the affected rows and insert
    id the server answered directly for the same execution, the COMMIT its
    OK, and each row is there once
    semi-sync, a prepared UPDATE waiting on a row lock when the primary is
    killed (it never committed): prepared on the new primary and run there
    once, with its parameters; its client gets that answer (1 row), the
    row changed once, and the statement stays usable
    asynchronous replication, the same: not found, and nothing proves it
    did not commit: error 1180 saying the outcome is unknown, not run again
"""

import contextlib
import socket
import struct
import threading

from rawmysql import MySQLError, RawConn, lenenc_int
from tcprelay import TcpRelay
from test_failover import failover_settings, kill_now, writable_nodes
from test_inflight import (AUTO, TABLE, kill_and_join, own_cluster, rows, session_summary, start,
                           waiting_on_primary)
from test_ops import admin_json
from test_ps import execute, prepare
from util import APP_PASSWORD, APP_USER, wait_until


def connect(h):
    c = RawConn("127.0.0.1", h.port, timeout=60)
    c.login(APP_USER, APP_PASSWORD, db="fi")
    return c


def int_params(*values):
    """An EXECUTE's parameters: LONGLONG values, types sent (no NULLs)."""
    n = len(values)
    return (bytes((n + 7) // 8) + b"\x01" + b"\x08\x00" * n +
            b"".join(struct.pack("<q", v) for v in values))


def ok_of(packets):
    """(affected rows, insert id) of an EXECUTE's OK."""
    p = packets[0]
    assert p[:1] == b"\x00" and len(packets) == 1, packets
    affected, pos = lenenc_int(p, 1)
    insert_id, _ = lenenc_int(p, pos)
    return affected, insert_id


def in_thread(fn):
    out = {}

    def run():
        try:
            out["ok"] = fn()
        except MySQLError as e:
            out["error"] = (e.code, e.message)

    t = threading.Thread(target=run)
    t.start()
    return t, out


INSERT_AUTO = f"INSERT INTO {AUTO} (v) VALUES (?)"
INSERT_T = f"INSERT INTO {TABLE} VALUES (?, ?)"


def test_in_flight_prepared_writes_that_committed_get_their_ok(start_halyard, tmp_path,
                                                               request):
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, f"CREATE TABLE {AUTO} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
    c.sql(0, f"INSERT INTO {AUTO} (v) VALUES (1), (2)")
    c.sql(0, "CREATE TABLE fi.a2 LIKE fi.a")
    c.sql(0, "INSERT INTO fi.a2 SELECT * FROM fi.a")
    c.sql(0, "GRANT SELECT ON fi.* TO 'monitor'@'%'")  # the insert id (docs/failover.md)
    c.sync()
    # what the server answers directly for the same execution, on a copy
    d = RawConn("127.0.0.1", c.port(0), timeout=10)
    d.login(APP_USER, APP_PASSWORD, db="fi")
    ds, _, _ = prepare(d, INSERT_AUTO.replace(AUTO, "fi.a2"))
    direct = ok_of(execute(d, ds, params=int_params(30)))
    d.close()
    assert direct == (1, 3), direct
    conf, h = start(c, start_halyard, tmp_path)
    for i in c.replicas:
        c.sql(i, "STOP SLAVE IO_THREAD")
        c.sql(i, "SET GLOBAL rpl_semi_sync_slave_enabled = OFF")
        c.sql(i, "START SLAVE IO_THREAD")
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON")
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_timeout = 600000")
    # both commits go to the binary log as one group (a group waiting for
    # its acknowledgement holds the next one back)
    c.sql(0, "SET GLOBAL binlog_commit_wait_usec = 60000000")
    c.sql(0, "SET GLOBAL binlog_commit_wait_count = 2")
    a, b = connect(h), connect(h)
    sa, _, _ = prepare(a, INSERT_AUTO)
    sb, _, _ = prepare(b, INSERT_T)
    b.query("BEGIN")
    assert ok_of(execute(b, sb, params=int_params(4, 40))) == (1, 0)
    ta, ra = in_thread(lambda: ok_of(execute(a, sa, params=int_params(30))))
    tb, rb = in_thread(lambda: b.query("COMMIT")[0].affected_rows)
    for i in c.replicas:
        wait_until(lambda: 4 in {r[0] for r in rows(c, i)} and
                   c.value(i, f"SELECT COUNT(*) FROM {AUTO}") == 3, 10,
                   what=f"node{i} to have both writes")
    kill_and_join(c, (ta, tb))
    assert ra == {"ok": direct}, ra
    assert rb == {"ok": 0}, rb
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20), (4, 40)]
    assert sorted(c.sql(new[0], f"SELECT id, v FROM {AUTO}")) == [(1, 1), (2, 2), (3, 30)]
    # the sessions and their statements go on
    assert ok_of(execute(a, sa, params=int_params(31)))[0] == 1
    assert b.value("SELECT @@in_transaction") == "0"
    a.close()
    b.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_committed"] == 2, st
    assert st["inflight_rerun"] == 0 and st["inflight_unknown"] == 0, st
    reason = session_summary(conf)
    assert "in-flight writes committed 2, re-run 0, rolled back 0, unknown 0; " \
        "sessions given an error 0" in reason, reason
    log = h.log_text()
    assert "its affected rows not read" not in log and "not seen by monitor.user" not in log


UPDATE_PS = f"UPDATE {TABLE} SET v = v + ? WHERE id = ?"


def lock_and_kill_ps(c, h):
    """A prepared UPDATE through halyard waits on a row lock another client
    holds on the primary, which is then killed: it never committed."""
    blocker = c.connect(0)
    bl = blocker.cursor()
    bl.execute("BEGIN")
    bl.execute(f"SELECT v FROM {TABLE} WHERE id = 2 FOR UPDATE")
    a = connect(h)
    stmt, _, _ = prepare(a, UPDATE_PS)
    t, r = in_thread(lambda: ok_of(execute(a, stmt, params=int_params(1, 2))))
    wait_until(waiting_on_primary(c, "/*hy:%UPDATE%"), 10, what="the UPDATE to wait on the lock")
    kill_now(c, 0)
    t.join(60)
    assert not t.is_alive()
    return a, stmt, r


def test_in_flight_prepared_write_not_committed_runs_once(start_halyard, tmp_path, request):
    c = own_cluster(request, "inflight-ss", True, 130)
    conf, h = start(c, start_halyard, tmp_path)
    a, stmt, r = lock_and_kill_ps(c, h)
    assert r == {"ok": (1, 0)}, r
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 21)]
    # the statement goes on, its types kept
    assert ok_of(execute(a, stmt, params=int_params(5, 1))) == (1, 0)
    assert rows(c, new[0]) == [(1, 15), (2, 21)]
    a.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_rerun"] == 1, st
    assert st["inflight_committed"] == 0 and st["inflight_unknown"] == 0, st
    assert "had not committed: running it on" in h.log_text()


def test_in_flight_prepared_write_unknown_with_async_replication(start_halyard, tmp_path,
                                                                 request):
    c = own_cluster(request, "inflight-async", False, 140)
    conf, h = start(c, start_halyard, tmp_path)
    a, stmt, r = lock_and_kill_ps(c, h)
    code, msg = r["error"]
    assert code == 1180, r
    assert "whether it committed is unknown" in msg and "not semi-synchronous" in msg, msg
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20)]  # not run again
    assert ok_of(execute(a, stmt, params=int_params(1, 2))) == (1, 0)  # the session goes on
    a.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_unknown"] == 1, st
    reason = session_summary(conf)
    assert "in-flight writes committed 0, re-run 0, rolled back 0, unknown 1; " \
        "sessions given an error 1" in reason, reason


def test_a_marked_statement_serves_its_transaction(start_halyard, tmp_path, request):
    """The statement prepared with a write's mark is prepared once per
    write transaction: each autocommit execution runs its own (one PREPARE
    more on the primary each), executions in a transaction share their
    transaction's (one for all); each carries its mark into the binary
    log."""
    c = own_cluster(request, "inflight-async", False, 140)
    conf, h = start(c, start_halyard, tmp_path)
    a = connect(h)
    stmt, _, _ = prepare(a, INSERT_T)

    def prepares():
        return int(c.sql(0, "SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")[0][1])
    before = prepares()
    for i in (10, 11):
        assert ok_of(execute(a, stmt, params=int_params(i, i))) == (1, 0)
    autocommit = prepares() - before
    a.query("BEGIN")
    for i in (20, 21, 22):
        assert ok_of(execute(a, stmt, params=int_params(i, i))) == (1, 0)
    a.query("COMMIT")
    in_trx = prepares() - before - autocommit
    a.close()
    assert (autocommit, in_trx) == (2, 1)
    f = c.sql(0, "SHOW BINARY LOGS")[-1][0]
    notes = [r[5] for r in c.sql(0, f"SHOW BINLOG EVENTS IN '{f}'") if r[2] == "Annotate_rows"]
    marks = {i: n.split("*/")[0] for n in notes for i in (10, 11, 20, 21, 22)
             if f"VALUES({i},{i})" in n.replace(" ", "")}
    assert all(m.startswith("/*hy:") for m in marks.values()), notes
    assert marks[10] != marks[11] and marks[20] == marks[21] == marks[22] != marks[11], marks


class HushRelay(TcpRelay):
    """Once hushed, the server's close is not passed on: halyard's
    connection stays open, as over a network that lost the server's FIN,
    until halyard writes on it; then it is closed. The first command to
    meet the dead server is then whatever halyard sends first."""

    hushed = False

    def _pump(self, src, dst, hook):
        try:
            while data := src.recv(65536):
                if self.hushed and hook == self.up:
                    break  # halyard wrote to the dead server
                self._send(dst, hook(data), hook)
        except OSError:
            pass
        if self.hushed and hook == self.down:
            return  # the server went: halyard is not told
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def test_a_prepared_transaction_whose_primary_died_is_never_committed_in_part(
        start_halyard, tmp_path, request):
    """Issue 54 item 2: BEGIN; a prepared INSERT (1, 'a'); a prepared
    SELECT; the primary is killed; another prepared INSERT (2, 'b'); COMMIT. With in-flight
    resolution on, the second EXECUTE first sends halyard's own marked
    COM_STMT_PREPARE, and that internal command met the dead connection:
    the loss went down the path of a connection that could not be opened,
    the transaction was not marked lost, the INSERT autocommitted on the new
    primary and the COMMIT was an empty OK: the client was told both rows
    committed, and the new primary had only (2). Now the transaction is
    lost there as anywhere: replayed (both rows) or refused, never in part."""
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, "CREATE TABLE fi.p (id INT PRIMARY KEY, v VARCHAR(8)) ENGINE=InnoDB")
    c.sync()
    relay = HushRelay(c.port(0))
    request.addfinalizer(relay.close)
    conf = failover_settings(tmp_path, resolve_in_flight_writes=True, transaction_replay=True,
                             replay_timeout_ms=20000)
    conf["backends"] = [{"name": n["name"], "address": "127.0.0.1",
                         "port": relay.port if n["index"] == 0 else n["port"],
                         "role": n["role"]} for n in c.nodes]
    h = start_halyard(conf)
    wait_until(lambda: all(b["state"] == "ONLINE" and b["last_check"] == "ok" for b in
                           admin_json(conf["admin_socket"], "show backends")["backends"]), 10,
               what="every backend checked")
    cl = connect(h)
    ins_a, _, _ = prepare(cl, "INSERT INTO fi.p VALUES (?, 'a')")
    ins_b, _, _ = prepare(cl, "INSERT INTO fi.p VALUES (?, 'b')")
    sel, _, _ = prepare(cl, "SELECT COUNT(*) FROM fi.p")
    cl.query("BEGIN")
    assert ok_of(execute(cl, ins_a, params=int_params(1)))[0] == 1
    execute(cl, sel)
    for i in c.replicas:
        wait_until(lambda: c.value(i, "SELECT COUNT(*) FROM fi.p") == 0, 10, what="replicas")
    relay.hushed = True
    kill_now(c, 0)
    wait_until(lambda: any(b["role"] == "primary" and b["name"] != "node0" and
                           b["state"] == "ONLINE" for b in
                           admin_json(conf["admin_socket"], "show backends")["backends"]), 60,
               what="a new primary")
    answers = []
    for step in (lambda: ok_of(execute(cl, ins_b, params=int_params(2)))[0],
                 lambda: cl.query("COMMIT")[0].affected_rows):
        try:
            answers.append(("ok", step()))
        except MySQLError as e:
            answers.append(("error", e.code))
            break
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    got = sorted(r[0] for r in c.sql(new[0], "SELECT id FROM fi.p"))
    if all(a[0] == "ok" for a in answers):
        assert got == [1, 2], (answers, got)  # both acknowledged: both committed
    else:
        assert got == [], (answers, got)  # refused: none of the transaction
        assert answers[-1][1] in (1927, 1180), answers
