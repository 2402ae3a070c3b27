"""A write to a non-transactional table inside a transaction (issue 41,
item 5).

MyISAM, Aria and MEMORY tables take a write at once, whatever the
transaction around it: a ROLLBACK does not undo it, and the connection's
loss does not either. A replay would run that write a second time. The
server says such a write happened: with session_track_transaction_info =
STATE, an OK reports the transaction's state, whose fourth character is
'w' once a non-transactional table was written. halyard turns the tracker
on on the primary's connections before a transaction opens there, and a
transaction that wrote such a table is not replayable: the client's next
statement gets 1927, as without transaction_replay.

    BEGIN; INSERT into a MyISAM (Aria, MEMORY) table; UPDATE an InnoDB
    table; the primary killed (a failover); a read; COMMIT

Directly on the primary, the connection's end leaves the non-transactional
row (one) and rolls the UPDATE back; the new primary has that row too. The client who did not ask for the tracker
sees none of its entries: an OK through halyard has the bytes of the same
OK on a direct connection.
"""
import struct

import pymysql
import pytest

import rawmysql
from test_replay_bounds import VALUE, failed_over_in_transaction, fresh, on_primary

ROWS = "SELECT COUNT(*) FROM rb.nt"
STMTS = ["BEGIN", "INSERT INTO rb.nt VALUES (1)", "UPDATE rb.t SET v = v + 1 WHERE id = 1"]


def table(cluster, engine):
    fresh(cluster)
    cluster.sql(0, "DROP TABLE IF EXISTS rb.nt")
    cluster.sql(0, f"CREATE TABLE rb.nt (id INT) ENGINE={engine}")
    cluster.sync()


@pytest.mark.parametrize("engine", ["MyISAM", "Aria", "MEMORY"])
def test_a_transaction_that_wrote_a_non_transactional_table_is_not_replayed(
        cluster, start_halyard, tmp_path, engine):
    table(cluster, engine)
    direct = pymysql.connect(**cluster.conn_params(0, autocommit=True))
    with direct.cursor() as cur:
        for q in STMTS:
            cur.execute(q)
    direct.close()  # the transaction ends with its connection
    assert cluster.value(0, ROWS) == 1 and cluster.value(0, VALUE) == 10  # directly
    table(cluster, engine)
    h, c, cur = failed_over_in_transaction(cluster, start_halyard, tmp_path, STMTS)
    try:
        try:
            cur.execute(VALUE)  # a replay would run first
            cur.execute("COMMIT")
        except pymysql.MySQLError as e:
            assert e.args[0] == 1927, e.args
        else:
            pytest.fail(f"replayed: {on_primary(h, ROWS)} rows in the {engine} table, "
                        f"1 directly")
    finally:
        c.close()
    assert on_primary(h, ROWS) == 1  # written once, not run again
    assert on_primary(h, VALUE) == 10


def test_a_transaction_of_transactional_writes_is_still_replayed(cluster, start_halyard,
                                                                tmp_path):
    """The same transaction on an InnoDB table: replayed, the client's
    COMMIT commits both writes once."""
    table(cluster, "InnoDB")
    h, c, cur = failed_over_in_transaction(cluster, start_halyard, tmp_path, STMTS)
    try:
        cur.execute(VALUE)
        assert cur.fetchall() == ((11,),)
        cur.execute("COMMIT")
    finally:
        c.close()
    assert on_primary(h, ROWS) == 1
    assert on_primary(h, VALUE) == 11


def ok_packets(host, port, caps, stmts):
    """Each statement's OK payload, bytes as the client gets them."""
    c = rawmysql.RawConn(host, port)
    try:
        c.login("app", "app", caps=caps)
        out = []
        for q in stmts:
            c.send_packet(bytes([rawmysql.COM_QUERY]) + q.encode(), seq=0)
            p = c.read_payload()
            assert p[:1] == b"\x00", (q, p)
            out.append(p)
        c.send_packet(bytes([rawmysql.COM_QUERY]) + b"ROLLBACK", seq=0)
        c.read_payload()
        return out
    finally:
        c.close()


@pytest.mark.parametrize("tracks", [False, True])
def test_the_client_sees_no_transaction_state_it_did_not_ask_for(cluster, start_halyard,
                                                                 tmp_path, tracks):
    table(cluster, "MyISAM")
    caps = rawmysql.DEFAULT_CAPS | (rawmysql.CLIENT_SESSION_TRACK if tracks else 0)
    stmts = ["BEGIN", "INSERT INTO rb.nt VALUES (1)", "UPDATE rb.t SET v = v + 1 WHERE id = 1",
             "INSERT INTO rb.nt VALUES (2)"]
    want = ok_packets(cluster.host(0), cluster.port(0), caps, stmts)
    assert all(not struct.unpack_from("<H", p, 3)[0] & 0x4000 for p in want), want
    from test_replay_bounds import start
    h = start(start_halyard, tmp_path, transaction_replay=True)
    got = ok_packets(h.host, h.port, caps, stmts)
    assert got == want
    # and a client that asked for the state gets it as directly
    ask = ["SET session_track_transaction_info = STATE"] + stmts
    if tracks:
        want = ok_packets(cluster.host(0), cluster.port(0), caps, ask)
        assert any(b"T__w____" in p for p in want), want
        assert ok_packets(h.host, h.port, caps, ask) == want


def commit_lost_after(request, start_halyard, tmp_path, key, writes, begin="BEGIN"):
    """resolve_in_flight_writes, semi-sync: a table fi.nt (MyISAM, `key`);
    through halyard `begin` (BEGIN, or SET autocommit = 0), `writes(cur)`, which leave one row in fi.nt (on
    the replicas too); COMMIT held in the group commit, before the binary
    log; the primary killed. The new primary has the mark (the MyISAM
    write's) but not the InnoDB row: the COMMIT gets 1180, its outcome
    unknown, never an OK for a row that is not there."""
    from test_failover import kill_now, writable_nodes
    from test_inflight import in_thread, own_cluster, rows, start, waiting_on_primary
    from util import wait_until
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, f"CREATE TABLE fi.nt (id INT{key}) ENGINE=MyISAM")
    c.sync()
    conf, h = start(c, start_halyard, tmp_path)
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    cur = b.cursor()
    cur.execute(begin)
    writes(cur)
    for i in c.replicas:
        wait_until(lambda: c.value(i, "SELECT COUNT(*) FROM fi.nt") == 1, 10,
                   what=f"node{i} to have the MyISAM row")
    c.sql(0, "SET GLOBAL binlog_commit_wait_usec = 60000000")
    c.sql(0, "SET GLOBAL binlog_commit_wait_count = 2")
    tb, rb = in_thread(lambda: cur.execute("COMMIT"))
    wait_until(waiting_on_primary(c, "COMMIT"), 10, what="the COMMIT waiting on the primary")
    kill_now(c, 0)
    tb.join(60)
    assert not tb.is_alive()
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    b.close()
    assert "ok" not in rb, f"COMMIT answered OK; the new primary has {rows(c, new[0])}"
    code, msg = rb["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, rb
    assert rows(c, new[0]) == [(1, 10), (2, 20)]


def test_a_commit_after_a_non_transactional_write_is_unknown(start_halyard, tmp_path, request):
    """commit_lost_after: INSERT into the MyISAM table (binlogged at once,
    with the transaction's mark), then into an InnoDB table. Before the fix
    the mark was found and the COMMIT answered OK for a row that is not
    there."""
    from test_inflight import TABLE

    def writes(cur):
        cur.execute("INSERT INTO fi.nt VALUES (1)")
        cur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)")
    commit_lost_after(request, start_halyard, tmp_path, "", writes)


def test_a_commit_after_a_failed_first_write_under_autocommit_0_is_unknown(start_halyard,
                                                                           tmp_path, request):
    """commit_lost_after with autocommit = 0 and no BEGIN: the transaction's
    first statement is the INSERT into the MyISAM table that fails on its
    second row (the first stays, logged at once with its mark), then an
    InnoDB INSERT, then the COMMIT in flight. No transaction was open when
    the failed write was sent, and its ERR reports none."""
    from test_inflight import TABLE

    def writes(cur):
        try:
            cur.execute("INSERT INTO fi.nt VALUES (1), (1)")
            raise AssertionError("no error")
        except pymysql.MySQLError as e:
            assert e.args[0] == 1062, e.args
        cur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)")
    commit_lost_after(request, start_halyard, tmp_path, " PRIMARY KEY", writes,
                      begin="SET autocommit = 0")


def test_a_non_transactional_write_in_flight_is_not_sent_again(start_halyard, tmp_path,
                                                               request):
    """transaction_replay, semi-sync: BEGIN; an InnoDB INSERT; then an
    INSERT into a MyISAM table, which the server applies and binlogs at
    once (it is on the replicas) and holds for an acknowledgement the
    replicas no longer give; the primary killed with it in flight. Its row
    stays (directly too: a connection's end does not undo it), so running
    it again after the replay writes it twice. Whether a write in flight
    changed a non-transactional table is known only from its answer: the
    statement is sent again only when halyard knows its table took
    transactional writes (the server's report on an earlier OK); here the
    client gets 1180, the outcome unknown, and the row is there once."""
    from test_failover import writable_nodes
    from test_inflight import (TABLE, in_thread, kill_and_join, own_cluster, start,
                               without_acknowledgements)
    from util import wait_until
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, "CREATE TABLE fi.nt (id INT) ENGINE=MyISAM")
    c.sync()
    conf, h = start(c, start_halyard, tmp_path, transaction_replay=True)
    without_acknowledgements(c, c.replicas)
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    cur = b.cursor()
    cur.execute("BEGIN")
    cur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)")
    tb, rb = in_thread(lambda: cur.execute("INSERT INTO fi.nt VALUES (1)"))
    for i in c.replicas:
        wait_until(lambda: c.value(i, "SELECT COUNT(*) FROM fi.nt") == 1, 10,
                   what=f"node{i} to have the MyISAM row")
    kill_and_join(c, (tb,))
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    try:
        assert "ok" not in rb, \
            f"sent again: {c.value(new[0], 'SELECT COUNT(*) FROM fi.nt')} rows, 1 directly"
        code, msg = rb["error"]
        assert code == 1180 and "whether it committed is unknown" in msg, rb
        assert "not known to be transactional" in msg, msg
    finally:
        b.close()
    assert c.value(new[0], "SELECT COUNT(*) FROM fi.nt") == 1
    assert c.value(new[0], f"SELECT COUNT(*) FROM {TABLE} WHERE id = 4") == 0




def test_a_commit_right_after_a_failed_non_transactional_write_is_unknown(start_halyard,
                                                                          tmp_path, request):
    """commit_lost_after: an InnoDB INSERT, then an INSERT of two rows into
    the MyISAM table whose second row is a duplicate (1062: the first row
    stays, and the server logs it at once, with the statement's text, so
    the transaction's mark). The failed statement's ERR reports no
    transaction state, so halyard did not learn that the transaction wrote
    a non-transactional table. Before the fix the COMMIT was answered OK."""
    from test_inflight import TABLE

    def writes(cur):
        cur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)")
        try:
            cur.execute("INSERT INTO fi.nt VALUES (1), (1)")
            raise AssertionError("no error")
        except pymysql.MySQLError as e:
            assert e.args[0] == 1062, e.args
    commit_lost_after(request, start_halyard, tmp_path, " PRIMARY KEY", writes)
