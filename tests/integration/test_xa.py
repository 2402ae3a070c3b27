"""Transactions across groups as XA (shards.cross_group_transactions = "xa",
session_xa.c, issue 15 item 5).

The groups and schemas of test_shards.py: group a (the replication
cluster) holds sa, group b (the dual-master pair) holds sb. Each test runs
a transaction through halyard that writes sa.t and sb.t and checks the
outcome directly on each group's primary:
- COMMIT: the rows on both groups, the decision logged (C then D) in
  shards.xa_log, the client's status flags as a server's (IN_TRANS on
  after BEGIN, off after COMMIT), halyard_xa_commits_total;
- ROLLBACK: the rows on neither;
- one group only: one-phase commit, nothing logged;
- a branch lost (its connection killed on group b): COMMIT gets an error
  saying the transaction was rolled back, and group a has nothing either;
- a plain transaction (autocommit = 0) still refused when it crosses over;
- the crash: halyard stops between the PREPAREs and the first COMMIT (the
  test-only failpoint HALYARD_TEST_XA_FAILPOINT: after the decision is
  fsync'd, or before it is logged): halyard sends itself SIGKILL; the
  branches stay prepared on both groups (MariaDB keeps them across the
  disconnect); a new halyard on the same log lists them in `show xa`
  (the test-only HALYARD_TEST_XA_RECOVER_HOLD holds the resolution until
  a file exists, so the listing is seen before it), then commits them
  (decision logged) or rolls them back (not logged) on both groups.
"""
import re
import subprocess

import pymysql
import pytest

from test_shards import make_schemas, settings, one, refused, start_sharded
from test_groups import groups
from test_core import ps_client_bin, raw_login  # noqa: F401 (fixture)
import rawmysql
from util import APP_PASSWORD, APP_USER
from util import admin_json, metric, render_libconfig, wait_until, free_port

IN_TRANS = 0x0001
# information_schema.INNODB_TRX is refilled only when it was not read for
# 0.1 s (InnoDB's trx_i_s cache): a poll of it waits longer than that
TRX_POLL = 0.25


def start_xa(start_halyard, cluster, dual, tmp_path, log, sock_name="admin.sock"):
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    s["shards"]["cross_group_transactions"] = "xa"
    s["shards"]["xa_log"] = str(log)
    s["admin_socket"] = str(tmp_path / sock_name)
    h = start_sharded(start_halyard, s, port)
    return h, s


@pytest.fixture
def xa(start_halyard, cluster, dual, tmp_path):
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    return h, s, log


def on_a(cluster, sql):
    return cluster.sql(0, sql)


def on_b(dual, sql):
    return dual.sql(0, sql)


def test_commit_on_both_groups(xa, cluster, dual):
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert conn.server_status & IN_TRANS
        cur.execute("INSERT INTO sa.t VALUES (100, 1)")
        assert conn.server_status & IN_TRANS
        cur.execute("INSERT INTO sb.t VALUES (100, 2)")
        assert conn.server_status & IN_TRANS
        # back on a: the same branch (its row is there), then b again
        cur.execute("UPDATE sa.t SET w = w + 10 WHERE id = 100")
        assert one(cur, "SELECT w FROM sa.t WHERE id = 100")[0] == 11
        assert one(cur, "SELECT w FROM sb.t WHERE id = 100")[0] == 2
        # not committed yet: neither group shows them to others
        assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 100")[0][0] == 0
        assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 100")[0][0] == 0
        # the branches, as each server lists them
        xa_a = on_a(cluster, "SELECT COUNT(*) FROM information_schema.INNODB_TRX")[0][0]
        assert xa_a >= 1
        cur.execute("COMMIT")
        assert not conn.server_status & IN_TRANS
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 100") == [(11,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 100") == [(2,)]
    # the D record goes to the log's writer after the OK (not waited for)
    wait_until(lambda: "\nD " in log.read_text(), 10, what="the decision marked done")
    text = log.read_text()
    m = re.match(r"C (halyard-[0-9a-f]{8}-\d+-\d+) \d+ (\S+)\nD \1\n$", text)
    assert m, text
    assert sorted(m.group(2).split(",")) == ["a", "b"]
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 1
    assert metric(s["metrics_port"], "halyard_xa_rollbacks_total") == 0
    # nothing is left prepared on either group
    assert on_a(cluster, "XA RECOVER") == []
    assert on_b(dual, "XA RECOVER") == []
    # the session goes on: autocommit statements, then another transaction
    with conn.cursor() as cur:
        cur.execute("INSERT INTO sb.t VALUES (101, 3)")
        cur.execute("START TRANSACTION")
        cur.execute("INSERT INTO sb.t VALUES (102, 4)")
        cur.execute("INSERT INTO sa.t VALUES (102, 4)")
        cur.execute("COMMIT")
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 102") == [(4,)]
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id IN (101, 102)") == [(2,)]
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 2


def test_rollback_on_both_groups(xa, cluster, dual):
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (200, 1)")
        cur.execute("INSERT INTO sb.t VALUES (200, 2)")
        cur.execute("ROLLBACK")
        assert not conn.server_status & IN_TRANS
        assert one(cur, "SELECT COUNT(*) FROM sa.t WHERE id = 200")[0] == 0
        assert one(cur, "SELECT COUNT(*) FROM sb.t WHERE id = 200")[0] == 0
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 200")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 200")[0][0] == 0
    assert not log.exists() or log.read_text() == ""
    assert metric(s["metrics_port"], "halyard_xa_rollbacks_total") == 1
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []


def test_reset_connection_rolls_back_every_group(xa, cluster, dual):
    """COM_RESET_CONNECTION inside a transaction across groups ends it as
    the server ends a plain one: every branch rolled back, nothing left
    prepared, and the session's next transaction runs on both groups."""
    h, s, log = xa
    c = raw_login(h)
    c.query("BEGIN")
    c.query("INSERT INTO sa.t VALUES (250, 1)")
    c.query("INSERT INTO sb.t VALUES (250, 2)")
    assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
    assert c.value("SELECT COUNT(*) FROM sa.t WHERE id = 250") == "0"
    assert c.value("SELECT COUNT(*) FROM sb.t WHERE id = 250") == "0"
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    c.query("BEGIN")
    c.query("INSERT INTO sa.t VALUES (251, 1)")
    c.query("INSERT INTO sb.t VALUES (251, 2)")
    c.query("COMMIT")
    c.close()
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id IN (250, 251)") == [(1,)]
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id IN (250, 251)") == [(1,)]
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 1


def test_one_group_commits_in_one_phase(xa, cluster, dual):
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sb.t VALUES (300, 1)")
        cur.execute("COMMIT")
        # BEGIN then COMMIT with nothing in between: nothing to run
        cur.execute("BEGIN")
        cur.execute("COMMIT")
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 300") == [(1,)]
    assert not log.exists() or log.read_text() == ""  # one phase: no decision to log
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 2


def test_lost_branch_rolls_back_every_group(xa, cluster, dual):
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sb.t VALUES (400, 2)")
        cur.execute("INSERT INTO sa.t VALUES (400, 1)")
        # b's branch dies (its connection killed on the server): the
        # server rolls it back, so a's must not commit either
        ids = on_b(dual, "SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX "
                   "WHERE trx_mysql_thread_id <> 0")  # 0: InnoDB's own
        assert len(ids) == 1, ids
        on_b(dual, f"KILL {ids[0][0]}")
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("COMMIT")
        code, msg = e.value.args[0], e.value.args[1]
        assert code in (1402, 1927) and "rolled back" in msg, (code, msg)
        assert one(cur, "SELECT COUNT(*) FROM sa.t WHERE id = 400")[0] == 0
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 400")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 400")[0][0] == 0
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    assert metric(s["metrics_port"], "halyard_xa_rollbacks_total") == 1


def test_refusals(xa, cluster, dual):
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (500, 1)")
        code, msg = refused(cur, "BEGIN")
        assert code == 1105 and "COMMIT or ROLLBACK it before BEGIN" in msg, msg
        code, msg = refused(cur, "COMMIT AND CHAIN")
        assert code == 1105 and "only COMMIT or ROLLBACK" in msg, msg
        code, msg = refused(cur, "XA END 'x'")
        assert code == 1105 and "XA statements" in msg, msg
        cur.execute("ROLLBACK")
    # autocommit = 0: a plain transaction, refused when it crosses over
    conn2 = h.connect(autocommit=False)
    with conn2.cursor() as cur:
        cur.execute("INSERT INTO sa.t VALUES (501, 1)")
        code, msg = refused(cur, "INSERT INTO sb.t VALUES (501, 1)")
        assert code == 1105 and "a transaction is open on group a" in msg, msg
        conn2.rollback()
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id IN (500, 501)")[0][0] == 0


def xids(rows):
    """The gtrids of XA RECOVER's rows."""
    return sorted(r[3][:r[1]].decode() if isinstance(r[3], bytes) else r[3][:r[1]] for r in rows)


def commit_at_failpoint(start_halyard, cluster, dual, tmp_path, monkeypatch, failpoint, row):
    """A transaction writing `row` on both groups through a halyard started
    with the test-only XA failpoint set: its COMMIT fails. Returns the
    halyard, its settings, its decision log and the COMMIT's error."""
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    monkeypatch.setenv("HALYARD_TEST_XA_FAILPOINT", failpoint)
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute(f"INSERT INTO sa.t VALUES ({row}, 1)")
        cur.execute(f"INSERT INTO sb.t VALUES ({row}, 2)")
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("COMMIT")
    return h, s, log, e.value


@pytest.mark.parametrize("failpoint", ["after-decision", "before-decision"])
def test_crash_between_prepare_and_commit(failpoint, start_halyard, cluster, dual, tmp_path,
                                          monkeypatch):
    h, s, log, _ = commit_at_failpoint(start_halyard, cluster, dual, tmp_path, monkeypatch,
                                       failpoint, 600)
    assert h.wait() == -9, h.log_tail()
    # both branches prepared, nothing committed
    pa, pb = xids(on_a(cluster, "XA RECOVER")), xids(on_b(dual, "XA RECOVER"))
    assert len(pa) == 1 and pa == pb, (pa, pb)
    gtrid = pa[0]
    assert re.fullmatch(r"halyard-[0-9a-f]{8}-\d+-\d+", gtrid), gtrid
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 600")[0][0] == 0
    logged = log.read_text() if log.exists() else ""
    if failpoint == "after-decision":
        assert logged.startswith(f"C {gtrid} ") and "\nD " not in logged, logged
    else:
        assert logged == "", logged
    # a new halyard on the same log: the transaction listed, then resolved
    release = tmp_path / "release"
    monkeypatch.delenv("HALYARD_TEST_XA_FAILPOINT")
    monkeypatch.setenv("HALYARD_TEST_XA_RECOVER_HOLD", str(release))
    h2, s2 = start_xa(start_halyard, cluster, dual, tmp_path, log, sock_name="admin2.sock")
    sock = s2["admin_socket"]
    decision = "commit" if failpoint == "after-decision" else "rollback"

    def listed():
        v = admin_json(sock, "show xa")["in_doubt"]
        return len(v) == 1 and v[0]["xid"] == gtrid and sorted(v[0]["groups"]) == ["a", "b"] \
            and v[0]["decision"] == decision and "held" in v[0]["note"]
    wait_until(listed, 15, what=f"show xa listing {gtrid}")
    assert metric(s2["metrics_port"], "halyard_xa_in_doubt") == 1
    assert xids(on_a(cluster, "XA RECOVER")) == [gtrid]  # not resolved while held
    release.write_text("")
    wait_until(lambda: admin_json(sock, "show xa")["in_doubt"] == [], 15,
               what="the transaction resolved")
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    want = 1 if decision == "commit" else 0
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 600")[0][0] == want
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 600")[0][0] == want
    assert metric(s2["metrics_port"], "halyard_xa_in_doubt") == 0
    if decision == "commit":
        assert log.read_text().endswith(f"D {gtrid}\n"), log.read_text()
    h2.wait_log(f"xa recovery: {gtrid} resolved")


def test_deadlock_on_one_branch_rolls_back_every_group(xa, cluster, dual):
    """A deadlock rolls back b's branch on the server (1213): a's is rolled
    back too, before the next statement, and the session is out of the
    transaction, as a server leaves it after a deadlock."""
    import threading
    h, s, log = xa
    d = dual.root_connect(0, autocommit=False)
    conn = h.connect()
    try:
        with d.cursor() as dc, conn.cursor() as cur:
            # d: the bigger transaction, so that InnoDB picks halyard's as victim
            dc.execute("INSERT INTO sb.t SELECT 1000 + seq, 0 FROM sb.seq_1_to_200")
            dc.execute("UPDATE sb.t SET w = w + 1 WHERE id = 1")
            cur.execute("BEGIN")
            cur.execute("INSERT INTO sa.t VALUES (700, 1)")
            cur.execute("INSERT INTO sb.t VALUES (701, 1)")
            got = {}

            def blocked():
                try:
                    cur.execute("UPDATE sb.t SET w = w + 1 WHERE id = 1")
                    got["ok"] = True
                except pymysql.MySQLError as e:
                    got["err"] = e.args[0]
            t = threading.Thread(target=blocked)
            t.start()
            wait_until(lambda: on_b(dual, "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                                          "WHERE trx_state = 'LOCK WAIT'")[0][0] == 1, 10,
                       interval=TRX_POLL,
                       what="halyard's branch waiting for d's lock: " + repr(
                           (got, on_b(dual, "SELECT trx_mysql_thread_id, trx_state, trx_query "
                                            "FROM information_schema.INNODB_TRX"))))
            dc.execute("UPDATE sb.t SET w = w + 1 WHERE id = 701")  # the cycle
            t.join(20)
            assert got == {"err": 1213}, got
            d.rollback()
            # as with a plain transaction, the deadlock ended it: a's branch
            # is rolled back before the next statement, which runs outside
            assert one(cur, "SELECT COUNT(*) FROM sa.t WHERE id = 700")[0] == 0
            assert on_a(cluster, "SELECT COUNT(*) FROM information_schema.INNODB_TRX")[0][0] == 0
            cur.execute("COMMIT")  # nothing to commit: OK, as the server answers it
            assert not conn.server_status & IN_TRANS
            assert one(cur, "SELECT COUNT(*) FROM sb.t WHERE id = 701")[0] == 0
            assert one(cur, "SELECT @@in_transaction")[0] == 0
            # the session goes on, on connections without XA state (the OK
            # of an autocommit INSERT: no transaction open)
            cur.execute("INSERT INTO sb.t VALUES (702, 1)")
            assert not conn.server_status & IN_TRANS
            cur.execute("BEGIN")
            cur.execute("INSERT INTO sb.t VALUES (703, 1)")
            cur.execute("INSERT INTO sa.t VALUES (703, 1)")
            cur.execute("COMMIT")
    finally:
        d.close()
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 700")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id IN (1001, 701)")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id IN (702, 703)")[0][0] == 2
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 703")[0][0] == 1
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []


def test_client_gone_rolls_back_every_group(xa, cluster, dual):
    """The client disconnects in the transaction: every branch (the parked
    one too) is closed and rolled back by its server, nothing left locked."""
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (800, 1)")
        cur.execute("INSERT INTO sb.t VALUES (800, 2)")
    conn.close()

    def trx(sql_on):  # transactions that wrote (an idle read view is not ours)
        return sql_on("SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                      "WHERE trx_rows_modified > 0")[0][0]
    # INNODB_TRX is a cache InnoDB refills only when it was not read for
    # 0.1 s: polled faster, it shows the first reading (the branches before
    # the server saw the disconnect) for ever, so the poll waits longer.
    try:
        wait_until(lambda: trx(lambda q: on_a(cluster, q)) == 0 and
                   trx(lambda q: on_b(dual, q)) == 0, 10, interval=TRX_POLL,
                   what="no transaction left open on either group")
    except AssertionError as e:  # what is open at the timeout, not before
        q = ("SELECT t.trx_id, t.trx_state, t.trx_started, t.trx_rows_modified, "
             "t.trx_mysql_thread_id, t.trx_query, p.USER, p.HOST, p.COMMAND, p.TIME_MS, "
             "p.QUERY_ID FROM information_schema.INNODB_TRX t LEFT JOIN "
             "information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id")
        raise AssertionError(f"{e}: a: {on_a(cluster, q)!r} b: {on_b(dual, q)!r} "
                             f"halyard: {h.log_tail(60)}") from None
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 800")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 800")[0][0] == 0
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []


def test_reload_turning_xa_on_recovers(start_halyard, cluster, dual, tmp_path, monkeypatch):
    """A halyard whose config says "refuse" leaves an earlier process's
    decided transaction alone; a reload to "xa" on the same log commits it."""
    h, s, log, _ = commit_at_failpoint(start_halyard, cluster, dual, tmp_path, monkeypatch,
                                       "after-decision", 900)
    assert h.wait() == -9, h.log_tail()
    monkeypatch.delenv("HALYARD_TEST_XA_FAILPOINT")
    gtrid = xids(on_a(cluster, "XA RECOVER"))[0]
    port = free_port()
    s2 = settings(cluster, dual, tmp_path, port)
    s2["shards"]["xa_log"] = str(log)  # cross_group_transactions: "refuse" (default)
    s2["admin_socket"] = str(tmp_path / "admin2.sock")
    h2 = start_halyard(render_libconfig(s2).replace("$", "$$"), port=port)
    sock = s2["admin_socket"]
    wait_until(lambda: {n: g["writer"] for n, g in groups(h2, sock).items()} ==
               {"a": "node0", "b": "dm0"}, 15, what="writers")
    with h2.log_contains("xa recovery", times=0, timeout=1.5):
        pass
    assert admin_json(sock, "show xa")["in_doubt"] == []
    assert xids(on_b(dual, "XA RECOVER")) == [gtrid]
    s2["shards"]["cross_group_transactions"] = "xa"
    with h2.log_contains(f"xa recovery: {gtrid} resolved"):
        h2.reload(render_libconfig(s2).replace("$", "$$"))
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 900") == [(1,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 900") == [(2,)]


def test_prepared_statements_in_a_transaction(xa, cluster, dual, ps_client_bin):
    """COM_STMT_EXECUTE on each group inside BEGIN ... COMMIT / ROLLBACK:
    each group's branch begins before its first execution there."""
    h, s, log = xa
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "sa",
                        "shards-xa"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ps_client shards-xa failed: {r.stderr}\n{r.stdout}"
    assert r.stdout.splitlines() == ["committed", "rolled back"], r.stdout
    assert {x[0] for x in on_a(cluster, "SELECT id FROM sa.t WHERE id >= 60")} == {60, 61, 62}
    assert {x[0] for x in on_b(dual, "SELECT id FROM sb.t WHERE id >= 60")} == {60, 61, 62}
    wait_until(lambda: log.read_text().count("\nD ") == 1, 10, what="the decision marked done")
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 1
    assert metric(s["metrics_port"], "halyard_xa_rollbacks_total") == 1


def test_recovery_retries_an_unreachable_group(start_halyard, cluster, dual, tmp_path,
                                               monkeypatch):
    """Group b's primary is down when the new halyard starts: a's branch is
    committed, the transaction stays listed (b unreachable) and is retried
    until b's primary is back, then committed there too."""
    h, s, log, _ = commit_at_failpoint(start_halyard, cluster, dual, tmp_path, monkeypatch,
                                       "after-decision", 950)
    assert h.wait() == -9, h.log_tail()
    monkeypatch.delenv("HALYARD_TEST_XA_FAILPOINT")
    gtrid = xids(on_a(cluster, "XA RECOVER"))[0]
    dual.stop_node(0)
    try:
        port = free_port()
        s2 = settings(cluster, dual, tmp_path, port)
        s2["shards"]["cross_group_transactions"] = "xa"
        s2["shards"]["xa_log"] = str(log)
        s2["admin_socket"] = str(tmp_path / "admin2.sock")
        start_halyard(render_libconfig(s2).replace("$", "$$"), port=port)
        sock = s2["admin_socket"]

        def b_unreachable():
            v = admin_json(sock, "show xa")["in_doubt"]
            return (len(v) == 1 and v[0]["xid"] == gtrid and v[0]["decision"] == "commit"
                    and "group b unreachable" in v[0]["note"] and on_a(cluster, "XA RECOVER") == [])
        wait_until(b_unreachable, 20, what="a resolved, b listed as unreachable")
        assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 950") == [(1,)]
    finally:
        dual.start_node(0)
    wait_until(lambda: admin_json(sock, "show xa")["in_doubt"] == [], 30,
               what="b resolved once back")
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 950") == [(2,)]
    assert on_b(dual, "XA RECOVER") == []
    assert log.read_text().endswith(f"D {gtrid}\n")


def test_commit_failing_after_the_decision_is_finished_by_the_recovery(start_halyard, cluster,
                                                                      dual, tmp_path,
                                                                      monkeypatch):
    """The decision is logged, then a branch's connection breaks (test-only
    failpoint) so its XA COMMIT fails: the client is told the transaction
    is decided, and the recovery of the same process commits that branch."""
    h, s, log, e = commit_at_failpoint(start_halyard, cluster, dual, tmp_path, monkeypatch,
                                       "lose-branch-after-decision", 990)
    code, msg = e.args[0], e.args[1]
    assert code == 1105 and "is decided" in msg and "group b" in msg, (code, msg)
    wait_until(lambda: on_b(dual, "XA RECOVER") == [], 15, what="b's branch committed")
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 990") == [(1,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 990") == [(2,)]
    wait_until(lambda: log.read_text().count("\nD ") == 1, 10, what="the decision marked done")
    wait_until(lambda: admin_json(s["admin_socket"], "show xa")["in_doubt"] == [], 10,
               what="show xa empty")  # published after the D is written
    h.wait_log("xa recovery: committed '.*','b' on group b")


def test_key_shards_in_a_transaction(start_halyard, cluster, dual, tmp_path):
    """Key shards go by the same rule: keys of two groups in one
    transaction (customer 8 on a, 7 on b) committed on both, or rolled
    back on both."""
    import test_key_shards as ks
    ks.shop_schema(cluster, dual)
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    s["shards"]["cross_group_transactions"] = "xa"
    s["shards"]["xa_log"] = str(tmp_path / "xa.log")
    h = start_sharded(start_halyard, s, port)
    conn = h.connect(database="shop")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO orders (id, customer_id, amount) VALUES (1, 8, 10)")
        cur.execute("INSERT INTO orders (id, customer_id, amount) VALUES (2, 7, 20)")
        cur.execute("UPDATE orders SET amount = amount + 1 WHERE customer_id = 8")
        cur.execute("COMMIT")
        cur.execute("BEGIN")
        cur.execute("UPDATE orders SET amount = 0 WHERE customer_id = 7")
        cur.execute("DELETE FROM orders WHERE customer_id = 8")
        cur.execute("ROLLBACK")
    assert on_a(cluster, "SELECT id, amount FROM shop.orders") == [(1, 11)]
    assert on_b(dual, "SELECT id, amount FROM shop.orders") == [(2, 20)]
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == 1
    assert metric(s["metrics_port"], "halyard_xa_rollbacks_total") == 1


def test_snapshot_and_read_only_begin_on_their_first_group(xa, cluster, dual):
    """START TRANSACTION WITH CONSISTENT SNAPSHOT or READ ONLY is not run as
    XA: halyard answers it and begins it, as a plain transaction, on the
    group of its first statement (here b, while the session is on a);
    crossing over from there is refused, the transaction staying open on b;
    nothing goes to the XA log."""
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        assert conn.server_status & IN_TRANS
        cur.execute("INSERT INTO sb.t VALUES (300, 1)")  # b
        code, msg = refused(cur, "INSERT INTO sa.t VALUES (300, 1)")
        assert code == 1105 and msg.startswith(
            "halyard: a transaction is open on group b; this statement is for group a"), msg
        assert conn.server_status & IN_TRANS
        assert one(cur, "SELECT w FROM sb.t WHERE id = 300")[0] == 1
        assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 300") == [(0,)]
        cur.execute("COMMIT")
        assert not conn.server_status & IN_TRANS
        cur.execute("START TRANSACTION READ ONLY")
        assert one(cur, "SELECT w FROM sb.t WHERE id = 300")[0] == 1  # b
        assert refused(cur, "UPDATE sb.t SET w = 2 WHERE id = 300") == (
            1792, "Cannot execute statement in a READ ONLY transaction")
        cur.execute("COMMIT")
        # a plain BEGIN is still XA: it crosses over
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sb.t VALUES (301, 1)")
        cur.execute("INSERT INTO sa.t VALUES (301, 1)")
        cur.execute("COMMIT")
    assert on_b(dual, "SELECT id FROM sb.t WHERE id >= 300 ORDER BY id") == [(300,), (301,)]
    assert on_a(cluster, "SELECT id FROM sa.t WHERE id >= 300") == [(301,)]
    # the XA one's C and D only; D is written by the log's writer thread after
    # the client's OK (it need not be durable first), so it may come a little later
    wait_until(lambda: "\nD " in log.read_text(), 10, what="the decision marked done")
    assert len(log.read_text().splitlines()) == 2, log.read_text()


def test_begin_inside_a_plain_transaction_opens_an_xa_one(xa, cluster, dual):
    """BEGIN inside a plain transaction (here a READ ONLY one, begun on b)
    commits it there, as the server would, and opens a transaction across
    groups."""
    h, s, log = xa
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION READ ONLY")
        assert one(cur, "SELECT w FROM sb.t WHERE id = 1")[0] == 2  # b
        cur.execute("BEGIN")
        assert conn.server_status & IN_TRANS
        cur.execute("INSERT INTO sb.t VALUES (310, 1)")
        cur.execute("INSERT INTO sa.t VALUES (310, 1)")  # crosses over: XA
        cur.execute("COMMIT")
        assert not conn.server_status & IN_TRANS
    assert on_b(dual, "SELECT id FROM sb.t WHERE id = 310") == [(310,)]
    assert on_a(cluster, "SELECT id FROM sa.t WHERE id = 310") == [(310,)]
    wait_until(lambda: "\nD " in log.read_text(), 10, what="the decision marked done")
    assert re.match(r"C \S+ \d+ \S+\nD \S+\n$", log.read_text()), log.read_text()


def start_keyed_xa(start_halyard, cluster, dual, tmp_path, log, sock_name="admin.sock"):
    """test_key_shards' groups and tables, in "xa" mode."""
    import test_key_shards as ks
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    s["shards"]["cross_group_transactions"] = "xa"
    s["shards"]["xa_log"] = str(log)
    s["admin_socket"] = str(tmp_path / sock_name)
    return start_sharded(start_halyard, s, port), s


def keyed_schema(cluster, dual):
    import test_key_shards as ks
    ks.shop_schema(cluster, dual)


def test_a_write_on_every_group_is_two_phase(start_halyard, cluster, dual, tmp_path):
    """In "xa" mode a statement that writes on several groups outside a
    transaction (a multi-row INSERT split by key, a reference table's
    write) runs as one XA transaction: a branch per group, prepared on
    all, the decision logged, then committed; a failure on one group rolls
    every group back. Before, each group committed on its own: a COMMIT
    failing on one group after another's could not be undone."""
    keyed_schema(cluster, dual)
    log = tmp_path / "xa.log"
    h, _ = start_keyed_xa(start_halyard, cluster, dual, tmp_path, log)
    conn = h.connect()
    with conn.cursor() as cur:
        assert cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (1, 8), (2, 7)") == 2
        cur.execute("UPDATE shop.countries SET name = 'Francia' WHERE id = 1")
    wait_until(lambda: log.exists() and
               sum(r.startswith("D ") for r in log.read_text().splitlines()) >= 2, 10,
               what="two decisions marked done")
    recs = log.read_text().splitlines()
    commits = [r.split()[1] for r in recs if r.startswith("C ")]
    assert len(commits) == 2 and all(f"D {g}" in recs for g in commits), recs
    assert all(r.split()[-1] in ("a,b", "b,a") for r in recs if r.startswith("C ")), recs
    assert on_a(cluster, "SELECT id FROM shop.orders") == [(1,)]
    assert on_b(dual, "SELECT id FROM shop.orders") == [(2,)]
    for node in (cluster, dual):
        assert node.sql(0, "SELECT name FROM shop.countries WHERE id = 1") == [("Francia",)]
        assert node.sql(0, "XA RECOVER") == []
    # b's row is a duplicate: every group's part rolled back
    with conn.cursor() as cur:
        code, msg = refused(cur, "INSERT INTO shop.orders (id, customer_id) VALUES (3, 8), (2, 7)")
    assert code == 1105 and "rolled back on every group" in msg, msg
    assert on_a(cluster, "SELECT id FROM shop.orders") == [(1,)]
    assert len([r for r in log.read_text().splitlines() if r.startswith("C ")]) == 2


@pytest.mark.parametrize("failpoint", ["after-decision", "before-decision"])
def test_a_write_on_every_group_survives_a_crash(failpoint, start_halyard, cluster, dual, tmp_path,
                                                 monkeypatch):
    """halyard killed between the PREPAREs and the COMMITs of a split
    INSERT: at restart the recovery commits both groups' rows (decision
    logged) or neither (not logged), never one group's."""
    keyed_schema(cluster, dual)
    log = tmp_path / "xa.log"
    monkeypatch.setenv("HALYARD_TEST_XA_FAILPOINT", failpoint)
    h, _ = start_keyed_xa(start_halyard, cluster, dual, tmp_path, log)
    conn = h.connect()
    with conn.cursor() as cur:
        with pytest.raises(pymysql.MySQLError):
            cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (1, 8), (2, 7)")
    assert h.wait() == -9, h.log_tail()
    pa, pb = xids(on_a(cluster, "XA RECOVER")), xids(on_b(dual, "XA RECOVER"))
    assert len(pa) == 1 and pa == pb, (pa, pb)
    monkeypatch.delenv("HALYARD_TEST_XA_FAILPOINT")
    h2, s2 = start_keyed_xa(start_halyard, cluster, dual, tmp_path, log, sock_name="admin2.sock")
    wait_until(lambda: on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == [], 20,
               what="the branches resolved")
    want = 1 if failpoint == "after-decision" else 0
    assert len(on_a(cluster, "SELECT id FROM shop.orders")) == want
    assert len(on_b(dual, "SELECT id FROM shop.orders")) == want
