"""KILL QUERY ID and KILL QUERY of a statement that runs on a replica
(issue 33, mtr main.kill line 259, MDEV-4911 and MDEV-5096).

A read outside a transaction runs on a replica. Another client looks for
its row in information_schema.PROCESSLIST, which halyard reads on the
primary; the rows of halyard's sessions whose statements run on other
backends are read there and shown too, with the session's id and a query
id of halyard's that KILL QUERY ID maps back to that backend's own
(routing.md, the process list). As on one server: the killer gets OK,
the victim 1317 and stays connected, an unknown id 1957, and another
account's statement 1979 (1095 for KILL QUERY <connection id>).
"""

import os
import signal
import threading
import time

import pymysql
import pytest

from util import (APP_PASSWORD, APP_USER, MONITOR_PASSWORD, MONITOR_USER, mysql_native_hash, q,
                  wait_until)

QID_BASE = 1 << 62  # sysview.h: a replica's query id as halyard shows it
OTHER = "hy_kq_other"
OTHER_PASSWORD = "kq-other"
USERS = [
    {"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
    {"name": MONITOR_USER, "password_hash": mysql_native_hash(MONITOR_PASSWORD)},
    {"name": OTHER, "password_hash": mysql_native_hash(OTHER_PASSWORD)},
]


@pytest.fixture
def h(start_halyard, cluster):
    cluster.sql(0, f"CREATE USER IF NOT EXISTS '{OTHER}'@'%' IDENTIFIED BY '{OTHER_PASSWORD}'")
    cluster.sql(0, f"GRANT SELECT ON *.* TO '{OTHER}'@'%'")
    cluster.sync()
    yield start_halyard(users=USERS)
    cluster.sql(0, f"DROP USER IF EXISTS '{OTHER}'@'%'")


class Sleeper:
    """A SELECT SLEEP outside a transaction (a read: on a replica), in a
    thread of its own."""

    def __init__(self, h, cluster, tag):
        self.conn = h.connect(autocommit=True)
        self.id = q(self.conn, "SELECT CONNECTION_ID()")[0][0]
        self.text = f"SELECT SLEEP(30) /* {tag} */"
        self.out = {}
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        # it runs on a replica, not on the primary
        wait_until(lambda: sum(self._running(cluster, i) for i in (1, 2)) == 1, timeout=10,
                   what=f"{tag} running on a replica")
        assert self._running(cluster, 0) == 0

    def _running(self, cluster, node):
        return cluster.value(node, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                   f"WHERE INFO = '{self.text}' AND STATE = 'User sleep'")

    def _run(self):
        try:
            self.out["rows"] = q(self.conn, self.text)
        except pymysql.err.OperationalError as e:
            self.out["e"] = e

    def killed(self):
        """It ends with 1317, and the session goes on."""
        self.thread.join(5)
        assert not self.thread.is_alive()
        assert "e" in self.out and self.out["e"].args[0] == 1317, self.out
        assert q(self.conn, "SELECT CONNECTION_ID()")[0][0] == self.id

    def stop(self, cluster):
        for node in (1, 2):
            for (tid,) in cluster.sql(node, "SELECT ID FROM information_schema.PROCESSLIST "
                                             f"WHERE INFO = '{self.text}'"):
                cluster.sql(node, f"KILL QUERY {tid}")
        self.thread.join(5)
        self.conn.close()


def row_values(payload):
    """A text row's values (None for NULL)."""
    from rawmysql import lenenc_str
    out, pos = [], 0
    while pos < len(payload):
        if payload[pos] == 0xFB:
            out.append(None)
            pos += 1
        else:
            v, pos = lenenc_str(payload, pos)
            out.append(v)
    return out


def row_of(killer, s, timeout=10):
    """(ID, QUERY_ID, COMMAND) of the sleeper's row, read through halyard."""
    found = []
    wait_until(lambda: found.extend(q(killer, "SELECT ID, QUERY_ID, COMMAND FROM "
                                              "information_schema.PROCESSLIST WHERE INFO = "
                                              f"'{s.text}' AND STATE = 'User sleep'")) or found,
               timeout=timeout, what="the sleeper's row in the process list")
    return found


def test_a_read_on_a_replica_is_in_the_process_list(h, cluster):
    """Its row has the session's id, once, and a query id of halyard's."""
    s = Sleeper(h, cluster, "hy-kq-row")
    try:
        killer = h.connect(autocommit=True)
        rows = row_of(killer, s)
        assert len(rows) == 1, rows
        sid, qid, command = rows[0]
        assert (sid, command) == (s.id, "Query")
        assert qid >= QID_BASE
        # one row for the session, though it may hold a connection to the
        # primary too; and the list's column types stay the server's
        rows = q(killer, f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {s.id}")
        assert rows == ((1,),)
        cur = killer.cursor()
        cur.execute("SELECT ID, TIME, QUERY_ID, INFO FROM information_schema.PROCESSLIST "
                    f"WHERE ID = {s.id}")
        row = cur.fetchone()
        direct = cluster.root_connect(0).cursor()
        direct.execute("SELECT ID, TIME, QUERY_ID, INFO FROM information_schema.PROCESSLIST")
        assert [d[1] for d in cur.description] == [d[1] for d in direct.description]
        assert row[0] == s.id and row[2] == qid and row[3] == s.text, row
        cur.close()
    finally:
        s.stop(cluster)


@pytest.mark.parametrize("sql", ["SHOW PROCESSLIST", "SHOW FULL PROCESSLIST"])
def test_show_processlist_lists_a_read_on_a_replica(h, cluster, sql):
    """SHOW [FULL] PROCESSLIST shows the rows information_schema.PROCESSLIST
    shows: the statement on a replica by its session's id, once, with the
    columns and types SHOW PROCESSLIST has on the server."""
    s = Sleeper(h, cluster, "hy-kq-show")
    try:
        killer = h.connect(autocommit=True)
        row_of(killer, s)
        cur = killer.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
        mine = [r for r in rows if r[0] == s.id]
        assert len(mine) == 1, rows
        assert mine[0][4:8] == ("Query", mine[0][5], "User sleep", s.text), mine
        # the same halyard sessions as the information_schema read
        shown = {r[0] for r in rows if r[0] >= 1 << 30}
        listed = {r[0] for r in q(killer, "SELECT ID FROM information_schema.PROCESSLIST "
                                          "WHERE ID >= 1 << 30")}
        assert shown == listed == {s.id, q(killer, "SELECT CONNECTION_ID()")[0][0]}
        direct = cluster.connect(0, autocommit=True).cursor()
        direct.execute(sql)
        assert cur.description == direct.description
        direct.close()
        cur.close()
    finally:
        s.stop(cluster)


@pytest.mark.parametrize("deprecate_eof", [False, True], ids=["eof", "deprecate_eof"])
def test_show_processlist_packets(h, cluster, deprecate_eof):
    """The rows read on a replica go before the rows' end, and every packet
    after them has the next sequence id, with and without
    CLIENT_DEPRECATE_EOF."""
    from rawmysql import CLIENT_DEPRECATE_EOF, DEFAULT_CAPS, RawConn
    s = Sleeper(h, cluster, "hy-kq-raw")
    try:
        row_of(h.connect(autocommit=True), s)
        c = RawConn("127.0.0.1", h.port, timeout=10)
        c.login(APP_USER, APP_PASSWORD,
                caps=DEFAULT_CAPS | (CLIENT_DEPRECATE_EOF if deprecate_eof else 0))
        c.send_packet(b"\x03SHOW FULL PROCESSLIST", seq=0)
        seqs, payloads = [], []
        ends = 1 if deprecate_eof else 2  # the definitions' EOF, then the rows'
        while ends > 0:
            payloads.append(c.read_packet())
            seqs.append(c.seq)
            if payloads[-1][:1] == b"\xfe" and len(payloads[-1]) < 0xFFFFFF:
                ends -= 1
        assert seqs == list(range(1, len(seqs) + 1))
        assert payloads[0] == b"\x09"  # nine columns
        # after the column count, the nine definitions and their EOF
        rows = [row_values(p) for p in payloads[11 if not deprecate_eof else 10:-1]]
        # the sleeper's row, once, by its session's id; its text in no other
        # row's Info. Not the text anywhere in a row: the server lists a
        # statement until just after its client has the answer (MariaDB
        # answers, then clears the thread's Info), so the read that found
        # the row (row_of) may still be listed, its text naming the
        # sleeper's.
        mine = [r for r in rows if r[0] == str(s.id).encode()]
        assert len(mine) == 1 and mine[0][7] == s.text.encode(), rows
        assert sum(1 for r in rows if r[7] == s.text.encode()) == 1, rows
        c.close()
    finally:
        s.stop(cluster)


def test_kill_query_id_of_a_read_on_a_replica(h, cluster):
    """KILL QUERY ID <the query id read>: OK, the statement stops (1317)."""
    s = Sleeper(h, cluster, "hy-kq-lit")
    try:
        killer = h.connect(autocommit=True)
        (_, qid, _), = row_of(killer, s)
        t0 = time.monotonic()
        with killer.cursor() as cur:
            assert cur.execute(f"KILL QUERY ID {qid}") == 0
        s.killed()
        assert time.monotonic() - t0 < 3.0
    finally:
        s.stop(cluster)


def test_kill_query_id_of_a_user_variable(h, cluster):
    """mtr main.kill's form: SELECT @id := QUERY_ID ..., then KILL QUERY ID @id."""
    s = Sleeper(h, cluster, "hy-kq-var")
    try:
        killer = h.connect(autocommit=True)
        found = []
        wait_until(lambda: found.extend(q(killer, "SELECT @id := QUERY_ID FROM "
                                                  "information_schema.PROCESSLIST WHERE INFO = "
                                                  f"'{s.text}' AND STATE = 'User sleep'")) or found,
                   timeout=10, what="the sleeper's row")
        q(killer, "KILL QUERY ID @id")
        s.killed()
        # the killer's session is as it was: its variable, its next statement
        assert q(killer, "SELECT @id")[0][0] == found[0][0]
    finally:
        s.stop(cluster)


def test_kill_query_of_the_connection_id_on_a_replica(h, cluster):
    """KILL QUERY <the row's ID> (a connector's cancel) stops it too."""
    s = Sleeper(h, cluster, "hy-kq-cid")
    try:
        killer = h.connect(autocommit=True)
        (sid, _, _), = row_of(killer, s)
        q(killer, f"KILL QUERY {sid}")
        s.killed()
    finally:
        s.stop(cluster)


def test_unknown_query_ids(h):
    """1957 naming the id the client gave, as MariaDB answers."""
    c = h.connect(autocommit=True)
    for qid in (0, QID_BASE + (1 << 48) + 123456789, QID_BASE + (4000 << 48) + 5):
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(c, f"KILL QUERY ID {qid}")
        assert e.value.args == (1957, f"Unknown query id: {qid}"), e.value.args
    q(c, f"SET @gone = {QID_BASE + (2 << 48) + 99999999}")
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "KILL QUERY ID @gone")
    assert e.value.args == (1957, f"Unknown query id: {QID_BASE + (2 << 48) + 99999999}")
    with pytest.raises(pymysql.err.ProgrammingError) as e:
        q(c, "KILL QUERY ID @")  # the server's syntax error, as it is
    assert e.value.args[0] == 1064
    assert q(c, "SELECT 'usable'") == (("usable",),)


def test_another_account_s_statement_is_refused(h, cluster):
    """An account without PROCESS / CONNECTION ADMIN may not kill app's
    statement (MDEV-5096): 1979 for the query id, 1095 for the connection
    id; the statement runs on."""
    s = Sleeper(h, cluster, "hy-kq-deny")
    try:
        killer = h.connect(autocommit=True)
        (sid, qid, _), = row_of(killer, s)
        other = h.connect(user=OTHER, password=OTHER_PASSWORD, autocommit=True)
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(other, f"KILL QUERY ID {qid}")
        assert e.value.args == (1979, f"You are not owner of query {qid}"), e.value.args
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(other, f"KILL QUERY {sid}")
        assert e.value.args == (1095, f"You are not owner of thread {sid}"), e.value.args
        # it does not see app's statement in the list either, as on the server
        assert q(other, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                        f"WHERE INFO = '{s.text}'") == ((0,),)
        assert s.thread.is_alive()
        q(killer, f"KILL QUERY ID {qid}")
        s.killed()
    finally:
        s.stop(cluster)


def max_unread(port):
    """The most bytes waiting unread in a socket a server listening on
    `port` accepted (/proc/net/tcp: rx_queue)."""
    most = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                    most = max(most, int(cols[4].split(":")[1], 16))
    return most


def test_a_replica_that_dies_while_its_rows_are_read(start_halyard, cluster):
    """The process list goes out without the rows of a backend that is lost
    while halyard reads them: the reader gets the primary's list (and
    halyard's idle sessions), and its session goes on. The monitor's
    checks of the stopped replica time out too: with its default fall (3,
    some 1.3 s), a loaded host could eject the replica before the read is
    sent to it (never sent, the wait below timed out; 2026-11-29, the host
    at load 7), so here it takes 100 failed checks."""
    h = start_halyard(users=USERS, pool_mode="session",
                      monitor={"user": MONITOR_USER, "password": MONITOR_PASSWORD, "fall": 100})
    s = Sleeper(h, cluster, "hy-kq-lost")
    victim = next(i for i in (1, 2) if s._running(cluster, i))
    name = cluster.node(victim)["name"]
    pid = cluster.status()[victim]["pid"]
    reader = h.connect(autocommit=True)
    me = q(reader, "SELECT CONNECTION_ID()")[0][0]
    q(reader, f"/* halyard: backend={name} */ SELECT 1")  # its connection there, kept
    out = {}

    def read():
        try:
            out["rows"] = q(reader, "SELECT ID, COMMAND FROM information_schema.PROCESSLIST")
        except pymysql.err.MySQLError as e:
            out["e"] = e

    os.kill(pid, signal.SIGSTOP)
    try:
        t = threading.Thread(target=read)
        t.start()
        # halyard's read of its rows waits, unread, in the stopped server's socket
        port = cluster.node(victim)["port"]
        wait_until(lambda: max_unread(port) >= 1000, timeout=10, what="the read of its rows sent")
        assert t.is_alive()  # the stopped replica does not answer
        os.kill(pid, signal.SIGKILL)
        t.join(10)
        assert not t.is_alive()
        assert "rows" in out, out
        ids = {r[0]: r[1] for r in out["rows"]}
        # the sleeper's statement is not listed as running; its session,
        # once that statement failed with its replica, may be listed idle
        assert me in ids and ids.get(s.id, "Sleep") == "Sleep", ids
        assert q(reader, "SELECT 'goes on'") == (("goes on",),)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_until(lambda: not cluster.is_running(victim), timeout=10)
        cluster.start_node(victim)
        cluster.sync()
        s.stop(cluster)  # its read ran again on the other replica



@pytest.mark.parametrize("n,size", [(1, 12000), (5, 30000)])
def test_rows_of_other_backends_too_long_are_refused_not_left_out(h, cluster, n, size):
    """The rows of statements on replicas are read there as one text each
    (the INFO in hex), into a buffer_size (16 KiB) I/O buffer, and joined
    by UNION ALL up to 256 KiB. A statement of 12 KB on a replica, or
    five of 30 KB: their rows do not fit the buffer. Before the fix the
    read answered without the sleepers' rows (a process list quietly
    short; and past 256 KiB a " UNION ALL SELECT " was left dangling in
    the SQL). Now the read is refused with 1105 naming why,
    and SHOW PROCESSLIST, its Info cut to 100 bytes, lists them all."""
    sleepers = [Sleeper(h, cluster, f"hy-kq-big{i} " + "x" * size) for i in range(n)]
    try:
        c = h.connect(autocommit=True)
        with pytest.raises(pymysql.MySQLError) as e:
            q(c, "SELECT ID, INFO FROM information_schema.PROCESSLIST")
        assert e.value.args[0] == 1105 and "too long" in e.value.args[1], e.value.args
        assert q(c, "SELECT 1") == ((1,),)  # the session goes on
        rows = q(c, "SHOW PROCESSLIST")
        for s in sleepers:
            mine = [r for r in rows if r[0] == s.id]
            assert len(mine) == 1 and mine[0][7] == s.text[:100], (s.id, rows)
    finally:
        for s in sleepers:
            s.stop(cluster)


def test_a_kill_abandoned_leaves_nothing_to_the_next(h, cluster):
    """KILL QUERY ID @q names a replica's query id (halyard's) on a replica
    that is down: halyard reads @q, cannot reach the replica, and the KILL
    fails. The next KILL QUERY ID @r reads @r, its own: 1957 naming @r's
    value, as the server answers. Before the fix it took @q's value, read
    for the command abandoned, and failed as the first had (connecting to
    the replica) in place of the 1957."""
    stale = QID_BASE + (1 << 48) + 7  # node1's query 7
    c = h.connect(autocommit=True)
    q(c, f"SET @q = {stale}, @r = 999999")
    cluster.stop_node(1)
    try:
        with pytest.raises(pymysql.err.MySQLError) as e:
            q(c, "KILL QUERY ID @q")
        first = e.value.args
        with pytest.raises(pymysql.err.MySQLError) as e:
            q(c, "KILL QUERY ID @r")
        assert e.value.args == (1957, "Unknown query id: 999999"), (first, e.value.args)
        assert q(c, "SELECT @q, @r") == ((stale, 999999),)
    finally:
        cluster.start_node(1)
        cluster.sync()
    d = cluster.connect(0, autocommit=True)
    q(d, "SET @r = 999999")
    with pytest.raises(pymysql.err.MySQLError) as e:
        q(d, "KILL QUERY ID @r")
    assert e.value.args == (1957, "Unknown query id: 999999")
