"""The XA log's writer thread and group commit (xa_log_writer.c, issue 15's
benchmark): a transaction across groups hands its commit decision to one
thread that appends it to shards.xa_log and fsyncs it, together with the
decisions other sessions handed meanwhile; the session waits for that
without blocking its worker, and runs no XA COMMIT before its decision is
on disk.

The groups and schemas of test_xa.py (group a holds sa, group b holds sb).
The test-only HALYARD_TEST_XA_LOG_HOLD_MS makes the writer take each batch
that long after its first record came: the decisions of sessions that
commit together meet in one batch, and a test can look while they wait.
"""
import re
import signal
import socket
import threading
import time
import zlib


from test_shards import make_schemas
from test_xa import start_xa, on_a, on_b, xids
from util import admin_json, metric, wait_until

N_SESSIONS = 8


def commit_across(h, i, errors, barrier=None):
    """One transaction writing sa.t and sb.t at id i; errors collects failures."""
    try:
        conn = h.connect()
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute(f"INSERT INTO sa.t VALUES ({i}, {i})")
            cur.execute(f"INSERT INTO sb.t VALUES ({i}, {i})")
            if barrier is not None:
                barrier.wait(timeout=20)
            cur.execute("COMMIT")
        conn.close()
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append((i, repr(e)))


def test_concurrent_commits_share_one_fsync(start_halyard, cluster, dual, tmp_path, monkeypatch):
    """Sessions committing together: every one committed on both groups, each
    decision in the log before its D, fewer fsyncs than decisions."""
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    monkeypatch.setenv("HALYARD_TEST_XA_LOG_HOLD_MS", "400")
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    errors = []
    barrier = threading.Barrier(N_SESSIONS)
    ids = [2000 + i for i in range(N_SESSIONS)]
    threads = [threading.Thread(target=commit_across, args=(h, i, errors, barrier)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [], errors
    inlist = ",".join(str(i) for i in ids)
    assert on_a(cluster, f"SELECT COUNT(*) FROM sa.t WHERE id IN ({inlist})")[0][0] == N_SESSIONS
    assert on_b(dual, f"SELECT COUNT(*) FROM sb.t WHERE id IN ({inlist})")[0][0] == N_SESSIONS
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    decisions = metric(s["metrics_port"], "halyard_xa_log_decisions_total")
    fsyncs = metric(s["metrics_port"], "halyard_xa_log_fsyncs_total")
    assert decisions == N_SESSIONS, (decisions, fsyncs)
    assert 1 <= fsyncs < decisions, (decisions, fsyncs)
    assert metric(s["metrics_port"], "halyard_xa_commits_total") == N_SESSIONS

    # every decision marked done (not fsync'd, written with a later batch)
    def done():
        text = log.read_text()
        return text.count("\nD ") + text.startswith("D ") == N_SESSIONS
    wait_until(done, 10, what="every decision marked done")
    lines = log.read_text().splitlines()
    seen = set()
    for ln in lines:
        kind, gtrid = ln.split()[:2]
        if kind == "C":
            seen.add(gtrid)
        else:
            assert kind == "D" and gtrid in seen, lines  # each D after its C
    assert len(seen) == N_SESSIONS, lines


def test_no_commit_before_the_decision_is_durable(start_halyard, cluster, dual, tmp_path,
                                                  monkeypatch):
    """While its decision waits for the log, both branches stay prepared and
    nothing is committed; the worker serves other sessions meanwhile."""
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    monkeypatch.setenv("HALYARD_TEST_XA_LOG_HOLD_MS", "8000")
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    errors = []
    t = threading.Thread(target=commit_across, args=(h, 3000, errors))
    t.start()
    wait_until(lambda: len(xids(on_a(cluster, "XA RECOVER"))) == 1 and
               len(xids(on_b(dual, "XA RECOVER"))) == 1, 10, interval=0.05,
               what="both branches prepared")
    assert not log.exists() or log.read_text() == ""  # the decision is still with the writer
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 3000")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 3000")[0][0] == 0
    # the workers are not blocked: new sessions (on every worker) answer well
    # before the held write ends (a blocked worker would hold them 8 s)
    t0 = time.monotonic()
    for _ in range(4):
        c = h.connect()
        with c.cursor() as cur:
            cur.execute("SELECT w FROM sa.t WHERE id = 1")
            assert cur.fetchall() == ((1,),)
        c.close()
    assert time.monotonic() - t0 < 4.0
    assert t.is_alive()  # its COMMIT still waits for the log
    t.join(30)
    assert errors == [], errors
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 3000") == [(3000,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 3000") == [(3000,)]
    assert re.match(r"C halyard-\S+ \d+ a,b\n", log.read_text()), log.read_text()


def test_kill_while_the_decision_is_being_written(start_halyard, cluster, dual, tmp_path,
                                                  monkeypatch):
    """halyard is killed (-9) while the decision waits for the log: it was
    never durable, so the restarted halyard rolls both branches back."""
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    monkeypatch.setenv("HALYARD_TEST_XA_LOG_HOLD_MS", "5000")
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    errors = []
    t = threading.Thread(target=commit_across, args=(h, 4000, errors))
    t.start()
    wait_until(lambda: len(xids(on_a(cluster, "XA RECOVER"))) == 1 and
               len(xids(on_b(dual, "XA RECOVER"))) == 1, 10, interval=0.05,
               what="both branches prepared")
    h.send_signal(signal.SIGKILL)
    assert h.wait() == -9
    t.join(30)
    assert len(errors) == 1  # the client lost its connection during COMMIT
    assert not log.exists() or log.read_text() == ""
    monkeypatch.delenv("HALYARD_TEST_XA_LOG_HOLD_MS")
    h2, s2 = start_xa(start_halyard, cluster, dual, tmp_path, log, sock_name="admin2.sock")
    wait_until(lambda: on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == [], 20,
               what="both branches rolled back")
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 4000")[0][0] == 0
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 4000")[0][0] == 0


def test_decision_whose_done_mark_was_lost(start_halyard, cluster, dual, tmp_path):
    """A D record is not fsync'd: a crash can lose it after every branch was
    committed. At restart the decision is in doubt, its branches are gone
    from both groups (XA COMMIT would answer XAER_NOTA): the recovery marks
    it done and lists nothing."""
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    gtrid = "halyard-0badc0de-1700000000000-7"
    log.write_text(f"C {gtrid} 1700000000 a,b\n")
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    wait_until(lambda: log.read_text().endswith(f"D {gtrid}\n"), 15,
               what="the decision marked done")
    h.wait_log(f"xa recovery: {gtrid} resolved")
    assert admin_json(s["admin_socket"], "show xa")["in_doubt"] == []
    assert metric(s["metrics_port"], "halyard_xa_in_doubt") == 0


def in_doubt(text):
    """The gtrids of a log text with a C and no D."""
    c = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) >= 2 and parts[0] == "C":
            c[parts[1]] = True
        elif len(parts) == 2 and parts[0] == "D":
            c.pop(parts[1], None)
    return set(c)


def prepare_in_doubt(node, gtrid, bqual, row_id):
    """A branch left prepared on a server, as a crashed halyard leaves it."""
    conn = node[0].root_connect(node[1])
    with conn.cursor() as cur:
        cur.execute(f"XA START '{gtrid}','{bqual}'")
        table = "sa.t" if bqual == "a" else "sb.t"
        cur.execute(f"INSERT INTO {table} VALUES ({row_id}, {row_id})")
        cur.execute(f"XA END '{gtrid}','{bqual}'")
        cur.execute(f"XA PREPARE '{gtrid}','{bqual}'")
    conn.close()  # MariaDB keeps a prepared XA transaction past its session


def test_the_log_is_compacted_under_load(start_halyard, cluster, dual, tmp_path, monkeypatch):
    """Past its size limit (HALYARD_TEST_XA_LOG_COMPACT_AT, 1 MiB in
    production) the writer rewrites the log with only the decisions in
    doubt, while sessions go on committing: every transaction committed on
    both groups, the log stays small, and an earlier process's decision in
    doubt (its branches prepared on both groups, the recovery held) survives
    every compaction and is committed from the compacted log."""
    make_schemas(cluster, dual)
    log = tmp_path / "xa.log"
    prefix = "halyard-%08x-" % zlib.crc32((socket.gethostname() + str(log)).encode())
    kept = prefix + "1700000000000-9"
    prepare_in_doubt((cluster, 0), kept, "a", 5990)
    prepare_in_doubt((dual, 0), kept, "b", 5990)
    log.write_text(f"C {kept} 1700000000 a,b\n")
    hold = tmp_path / "release"
    monkeypatch.setenv("HALYARD_TEST_XA_LOG_COMPACT_AT", "1500")
    monkeypatch.setenv("HALYARD_TEST_XA_RECOVER_HOLD", str(hold))
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, log)
    wait_until(lambda: [e["xid"] for e in admin_json(s["admin_socket"], "show xa")["in_doubt"]]
               == [kept], 15, what="the earlier decision listed in doubt")
    errors = []

    def worker(base):
        for i in range(base, base + 40):
            commit_across(h, i, errors)
    threads = [threading.Thread(target=worker, args=(5000 + 100 * k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [], errors
    n = 4 * 40
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id BETWEEN 5000 AND 5399")[0][0] == n
    assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id BETWEEN 5000 AND 5399")[0][0] == n
    assert metric(s["metrics_port"], "halyard_xa_log_decisions_total") == n
    compactions = metric(s["metrics_port"], "halyard_xa_log_compactions_total")
    # 160 decisions and their D records are ~20 kB of log: compacted at 1.5 kB
    assert compactions >= 3, compactions
    h.wait_log("xa log: compacted")
    text = log.read_text()
    assert len(text) < 1500 + 4096, len(text)
    assert kept in in_doubt(text), text
    assert not (tmp_path / "xa.log.compact").exists()
    # still prepared on both groups; released, the recovery commits it
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 5990")[0][0] == 0
    hold.write_text("")
    wait_until(lambda: on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == [], 20,
               what="the earlier decision committed by the recovery")
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 5990") == [(5990,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 5990") == [(5990,)]
    wait_until(lambda: in_doubt(log.read_text()) == set(), 20,
               what="every decision in the log done")
