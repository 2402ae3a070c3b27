"""Capture and rehearse (issue 57, docs/rehearse.md).

A mixed workload (text statements, prepared ones with a cursor, a
transaction, an error on purpose) is captured through halyard
(`capture start|stop`); tools/rehearse replays it against a second
cluster (one server on TEST_PORT + 130) that holds the data and the GTID
position the capture started from:

  - an identical target: no difference in any answer, and the tables end
    as the captured cluster's did;
  - the target's sql_mode changed (no STRICT_TRANS_TABLES, PIPES_AS_CONCAT):
    the diff names the statements whose answers and errors differ;
  - a target at another GTID is refused, --force replays anyway;
  - a truncated and a corrupt capture file are refused, naming the offset;
  - files of the older versions (3, 4) read back, and their rows are
    summed their own way.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pymysql
import pytest
from pymysql.constants import CLIENT

from conftest import TEST_PORT
from test_failover import ctl, failover_settings
from test_restore import domains_source  # noqa: F401 (a fixture)
from util import (APP_PASSWORD, APP_USER, Cluster, admin_json, backends, free_port, metric,
                  run_on_pty, wait_until)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REHEARSE = os.path.join(REPO, "tools", "rehearse")
sys.path.insert(0, os.path.join(REPO, "tools"))
import mysqlbin  # noqa: E402

DB = "rh"
TABLES = ("items", "notes", "prices")  # prices: the prepared session's alone


@pytest.fixture(scope="module")
def target():
    base = f"/tmp/halyard-test-{os.geteuid()}-{TEST_PORT}-rehearse"
    c = Cluster(base, TEST_PORT + 130, replicas=0, tls=False)
    c.destroy()
    c.start()
    try:
        yield c
    finally:
        c.stop()
        if c.layout:
            for n in c.layout["nodes"]:
                shutil.rmtree(n["datadir"], ignore_errors=True)


def snapshot(cluster):
    """The tables' definitions and rows on the primary, in id order."""
    out = {}
    for t in TABLES:
        ddl = cluster.sql(0, f"SHOW CREATE TABLE {DB}.{t}")[0][1]
        out[t] = (ddl, cluster.sql(0, f"SELECT * FROM {DB}.{t} ORDER BY id"))
    return out


def restore(target, snap, gtid, sql_mode=None):
    """The target as the capture's start: the snapshot's tables and
    rows (not logged), its binary log reset and its position `gtid`."""
    c = target.root_connect(0)
    with c.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"USE {DB}")
        for t, (ddl, rows) in snap.items():
            cur.execute(ddl)
            if rows:
                marks = ",".join(["%s"] * len(rows[0]))
                cur.executemany(f"INSERT INTO {t} VALUES ({marks})", rows)
        cur.execute("RESET MASTER")
        cur.execute("SET GLOBAL gtid_slave_pos = %s", (gtid,))
        cur.execute("SET GLOBAL sql_mode = %s", (sql_mode or "STRICT_TRANS_TABLES,"
                    "ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",))
    c.close()
    assert target.value(0, "SELECT @@gtid_current_pos") == gtid


def rehearse(capture, target, *args):
    p = subprocess.run([sys.executable, REHEARSE, capture, "--port", str(target.port(0)),
                        "--user", APP_USER, "--password", APP_PASSWORD, "--speed", "0", *args],
                       capture_output=True, text=True, timeout=120)
    return p


def text_session(h):
    """Text statements: reads with and without ORDER BY, writes, a
    transaction, an error on purpose, and two statements sql_mode decides."""
    # as MariaDB's connectors do, it asks for session tracking: the OKs it
    # gets carry each commit's GTID (docs/rehearse.md)
    c = h.connect(database=DB, autocommit=True,
                  client_flag=CLIENT.SESSION_TRACK | CLIENT.MULTI_STATEMENTS)
    with c.cursor() as cur:
        cur.execute("SELECT id, name FROM items ORDER BY id")
        cur.execute("SELECT name FROM items WHERE qty > 2")
        cur.execute("INSERT INTO items (name, qty) VALUES ('pear', 4)")
        cur.execute("UPDATE items SET qty = qty + 1 WHERE qty < 3")
        cur.execute("BEGIN")
        cur.execute("INSERT INTO notes (item, body) VALUES (1, 'first')")
        cur.execute("UPDATE notes SET body = CONCAT(body, '!') WHERE item = 1")
        cur.execute("COMMIT")
        with pytest.raises(pymysql.MySQLError):
            cur.execute("SELECT * FROM no_such_table")  # an error on purpose
        with pytest.raises(pymysql.MySQLError):
            cur.execute("INSERT INTO notes (item, body) VALUES (2, 'much too long')")  # 1406
        cur.execute("SELECT 'a' || 'b' AS joined")  # 0 and a warning; 'ab' with PIPES_AS_CONCAT
        cur.execute("SELECT COUNT(*), SUM(qty) FROM items")
    c.close()


def prepared_session(h):
    c = mysqlbin.connect(h.port, APP_USER, APP_PASSWORD, db=DB)
    try:
        sel = c.prepare("SELECT id, item, cents FROM prices WHERE id >= ? ORDER BY id")
        for i in (1, 2, 3):
            c.execute(sel, [i])
        c.execute(sel, [1], cursor=True, fetch=2)
        ins = c.prepare("INSERT INTO prices (item, cents) VALUES (?, ?)")
        c.execute(ins, [3, 250])
        c.stmt_close(ins)
        c.stmt_close(sel)
    finally:
        c.close()


@pytest.fixture
def captured(cluster, start_halyard, tmp_path, target):
    """A workload captured through halyard from a known start: (the
    capture file, the tables at its start, its start GTID, halyard)."""
    cluster.sql(0, f"DROP DATABASE IF EXISTS {DB}")
    cluster.sql(0, f"CREATE DATABASE {DB}")
    cluster.sql(0, f"CREATE TABLE {DB}.items (id INT AUTO_INCREMENT PRIMARY KEY, "
                   "name VARCHAR(20), qty INT)")
    cluster.sql(0, f"CREATE TABLE {DB}.notes (id INT AUTO_INCREMENT PRIMARY KEY, item INT, "
                   "body VARCHAR(10))")
    cluster.sql(0, f"INSERT INTO {DB}.items (name, qty) VALUES ('apple', 1), ('fig', 2), "
                   "('kiwi', 3), ('lime', 5)")
    # the sessions run at once, on tables of their own: replayed at once
    # too, their order against each other is not the capture's
    cluster.sql(0, f"CREATE TABLE {DB}.prices (id INT AUTO_INCREMENT PRIMARY KEY, item INT, "
                   "cents INT)")
    cluster.sql(0, f"INSERT INTO {DB}.prices (item, cents) VALUES (1, 120), (2, 80), (3, 95), "
                   "(4, 300)")
    cluster.sync()
    # each commit's GTID in its OK (docs/rehearse.md, "Commits and their GTIDs")
    track = cluster.value(0, "SELECT @@global.session_track_system_variables")
    cluster.sql(0, "SET GLOBAL session_track_system_variables = %s", (track + ",last_gtid",))
    h = start_halyard(read_write_split=False)
    sock = f"/tmp/halyard-{h.port}.sock"
    snap = snapshot(cluster)
    path = str(tmp_path / "capture.hyc")
    pos = capture_from_primary(cluster, sock, path)
    threads = [threading.Thread(target=f, args=(h,)) for f in (text_session, prepared_session)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = ctl(sock, "capture", "status", "--json")
    st = json.loads(r.stdout)
    assert st["on"] and st["sessions"] == 2 and st["drops"] == 0, st
    r = ctl(sock, "capture", "stop")
    assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
    try:
        yield path, snap, pos, h
    finally:
        cluster.sql(0, "SET GLOBAL session_track_system_variables = %s", (track,))


def dump(path):
    p = subprocess.run([sys.executable, REHEARSE, path, "--dump"], capture_output=True,
                       text=True, check=True)
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_commits_gtids_captured(cluster, captured, target):
    """Each commit's GTID after the start, whatever the client asked for:
    the text session's three (an INSERT, an UPDATE, a transaction) and the
    prepared session's INSERT, whose client did not ask for session
    tracking (halyard tracks last_gtid on its own connections while a
    capture runs); a target restored to one of them is placed at that
    commit."""
    path, snap, pos, h = captured
    commits = [r for r in dump(path) if r["type"] == "commit"]
    domain, server, seq = pos.split("-")
    seqs = sorted(int(c["gtid"].split("-")[2]) for c in commits)
    assert seqs == [int(seq) + i for i in range(1, 5)], commits
    assert all(c["gtid"].startswith(f"{domain}-{server}-") for c in commits), commits
    restore(target, snap, pos)
    p = rehearse(path, target, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    c = json.loads(p.stdout)["capture"]["commits"]
    by_seq = sorted(commits, key=lambda r: int(r["gtid"].split("-")[2]))
    assert c["captured"] == 4 and c["first"] == by_seq[0]["gtid"], c
    second = by_seq[1]["gtid"]
    restore(target, snap, second)
    p = rehearse(path, target)
    assert p.returncode == 2 and f"GTID {second}" in p.stderr and "commit" in p.stderr, p.stderr


def test_identical_target_no_difference(cluster, captured, target):
    path, snap, pos, h = captured
    restore(target, snap, pos)
    p = rehearse(path, target, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    assert rep["differences"] == 0 and rep["errors"] == [], rep
    compared = sum(d["count"] for d in rep["digests"])
    assert compared >= 18, rep["digests"]
    # the error on purpose was captured and replayed as an error
    errs = [d for d in rep["digests"] if "no_such_table" in d["digest"]]
    assert errs and errs[0]["count"] == 1, rep["digests"]
    unordered = [d for d in rep["digests"] if "qty > ?" in d["digest"]]
    assert unordered and unordered[0]["unordered"], rep["digests"]
    # the writes replayed: the tables end as the captured cluster's
    for t in TABLES:
        want = cluster.sql(0, f"SELECT * FROM {DB}.{t} ORDER BY id")
        got = target.sql(0, f"SELECT * FROM {DB}.{t} ORDER BY id")
        assert got == want, (t, got, want)


def test_progress_on_a_terminal(captured, target):
    """On a terminal, rehearse draws its progress on stderr (commands
    replayed of all, sessions running) and ends it at 100% with none
    running; into a pipe it draws none (the other tests' stderr)."""
    path, snap, pos, h = captured
    restore(target, snap, pos)
    total = sum(1 for r in dump(path) if r["type"] == "cmd")
    rc, out = run_on_pty([sys.executable, REHEARSE, path, "--port", str(target.port(0)),
                          "--user", APP_USER, "--password", APP_PASSWORD, "--speed", "0"])
    assert rc == 0, out
    lines = [x for x in re.split(r"[\r\n]+", out) if "commands replayed" in x]
    assert lines, out
    assert f"rehearse: {total} of {total} commands replayed (100%), 0 of 2 sessions running" \
        in lines[-1], lines
    p = rehearse(path, target, "--force")
    assert "commands replayed" not in p.stderr, p.stderr


def test_changed_sql_mode_named(captured, target):
    path, snap, pos, h = captured
    restore(target, snap, pos, sql_mode="PIPES_AS_CONCAT")
    p = rehearse(path, target, "--json")
    assert p.returncode == 1, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    differ = {d["digest"]: d["kinds"] for d in rep["digests"] if d["differences"]}
    assert any("'a' || 'b'" in k or "? || ?" in k for k in differ), differ
    ins = [k for k in differ if k.startswith("INSERT INTO notes (item, body) VALUES")]
    assert ins and "error_disappeared" in differ[ins[0]], differ
    # the statements that sql_mode does not touch answer the same
    assert len(differ) <= 4, differ
    assert rep["digests"][0]["differences"] > 0  # worst first
    text = rehearse(path, target, "--force").stdout
    assert "error_disappeared" in text and "digests, worst first" in text, text


def test_target_at_another_gtid_refused(captured, target):
    path, snap, pos, h = captured
    restore(target, snap, pos)
    target.sql(0, f"INSERT INTO {DB}.items (name, qty) VALUES ('extra', 9)")
    p = rehearse(path, target)
    assert p.returncode == 2 and "the capture starts from" in p.stderr, p.stdout + p.stderr
    assert "--force" in p.stderr


def test_bad_files(captured, target, tmp_path):
    path, snap, pos, h = captured
    data = open(path, "rb").read()
    cut = tmp_path / "cut.hyc"
    cut.write_bytes(data[:-7])
    p = rehearse(str(cut), target)
    assert p.returncode == 2 and "truncated record at offset" in p.stderr, p.stderr
    bad = bytearray(data)
    recs = dump(path)
    bad[recs[len(recs) // 2]["at"] + 6] ^= 0x55  # inside a body: its CRC fails
    corrupt = tmp_path / "corrupt.hyc"
    corrupt.write_bytes(bytes(bad))
    p = rehearse(str(corrupt), target)
    assert p.returncode == 2 and "corrupt record at offset" in p.stderr, p.stderr
    (tmp_path / "not.hyc").write_bytes(b"hello")
    p = rehearse(str(tmp_path / "not.hyc"), target)
    assert p.returncode == 2 and "not a capture file" in p.stderr, p.stderr


def capture_started(h, path):
    """A capture into `path` started on halyard `h`: its admin socket."""
    sock = f"/tmp/halyard-{h.port}.sock"
    r = ctl(sock, "capture", "start", path)
    assert r.returncode == 0, r.stdout + r.stderr
    return sock


def test_size_limit_drops_counted(cluster, start_halyard, tmp_path):
    """capture_max_mb = 1 (the smallest limit): the capture stops by
    itself, the file stays within the MiB, and the records it could not
    write are counted in capture status, show stats and /metrics."""
    mport = free_port()
    h = start_halyard(capture_max_mb=1, metrics_port=mport)
    path = str(tmp_path / "limit.hyc")
    sock = capture_started(h, path)
    c = h.connect(autocommit=True)
    filler = "x" * 8000
    with c.cursor() as cur:
        for i in range(400):  # 3 MB of statements, three times the limit
            cur.execute(f"SELECT {i}, LENGTH('{filler}')")
            if i % 50 == 49 and not admin_json(sock, "capture status")["on"]:
                break
    c.close()
    wait_until(lambda: not admin_json(sock, "capture status")["on"], what="the capture stops")
    st = admin_json(sock, "capture status")
    assert "size limit" in st["stopped_why"], st
    assert st["drops_limit"] >= 1 and st["drops"] == st["drops_limit"], st
    assert st["drops_queue_full"] == 0 and st["drops_write_failed"] == 0, st
    assert os.path.getsize(path) <= 1 << 20, os.path.getsize(path)
    assert os.path.getsize(path) == st["bytes"], (os.path.getsize(path), st)
    assert admin_json(sock, "show stats")["capture_records_dropped"] == st["drops"]
    assert metric(mport, 'halyard_capture_records_dropped_total{reason="limit"}') == st["drops"]
    assert metric(mport, 'halyard_capture_records_dropped_total{reason="queue_full"}') == 0
    # the file reads back whole: its stop record names the same drops
    recs = [json.loads(line) for line in subprocess.run(
        [sys.executable, REHEARSE, path, "--dump"], capture_output=True, text=True,
        check=True).stdout.splitlines()]
    assert recs[-1]["type"] == "stop" and recs[-1]["drops"] == st["drops"], recs[-1]



def test_switchover_marked(cluster, start_halyard, tmp_path, target):
    """A switchover during a capture: the sessions go on in the file, a
    failover record names the old and the new primary, and the
    rehearsal's report shows it."""
    settings = failover_settings(tmp_path)
    h = start_halyard(settings)
    sock = settings["admin_socket"]
    path = str(tmp_path / "switch.hyc")
    assert ctl(sock, "capture", "start", path).returncode == 0
    c = h.connect(autocommit=True)
    with c.cursor() as cur:
        cur.execute("SELECT @@server_id")
        r = ctl(sock, "switchover", "to", "node1")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: backends(sock)["node1"]["role"] == "primary", what="node1 primary")
        cur.execute("SELECT @@server_id")
    c.close()
    assert ctl(sock, "capture", "stop").returncode == 0
    recs = dump(path)
    marks = [r for r in recs if r["type"] == "failover"]
    assert len(marks) == 1 and marks[0]["old"] == "node0" and marks[0]["new"] == "node1", marks
    cmds = [r for r in recs if r["type"] == "cmd"]
    assert marks[0]["at"] > cmds[0]["at"] and marks[0]["at"] < cmds[-1]["at"], (marks, cmds)
    p = rehearse(path, target, "--force")
    assert "failover during the capture" in p.stdout and "node0 -> node1" in p.stdout, p.stdout


def test_html_report_and_two_replays_compared(captured, target, tmp_path):
    """--html writes one self-contained page (nothing fetched) with the
    errors by code and the digests; `compare` puts a baseline replay (an
    identical target) beside a candidate (sql_mode changed) and names the
    digests whose answers differ only in the candidate."""
    path, snap, pos, h = captured
    restore(target, snap, pos)
    base = tmp_path / "base.json"
    p = rehearse(path, target, "--json", "--out", str(base))
    assert p.returncode == 0, p.stdout + p.stderr
    restore(target, snap, pos, sql_mode="PIPES_AS_CONCAT")
    cand, page = tmp_path / "cand.json", tmp_path / "cand.html"
    p = rehearse(path, target, "--json", "--out", str(cand), "--html", str(page))
    assert p.returncode == 1, p.stdout + p.stderr
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text
    for outside in ("http:", "https:", "<script", "<link", "src=", "@import", "url("):
        assert outside not in text, outside
    rep = json.loads(cand.read_text())
    assert rep["errors_by_code"]["1406"] == {"captured": 1, "replayed": 0}, rep["errors_by_code"]
    assert rep["errors_by_code"]["1146"] == {"captured": 1, "replayed": 1}, rep["errors_by_code"]
    assert "Errors by code" in text and "1406" in text and "no_such_table" in text
    cmp_page = tmp_path / "cmp.html"
    p = subprocess.run([sys.executable, REHEARSE, "compare", str(base), str(cand), "--json",
                        "--html", str(cmp_page)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    c = json.loads(p.stdout)
    assert c["differences"][0] == 0 and c["differences"][1] > 0, c["differences"]
    worse = [r["digest"] for r in c["digests"] if (r["differences"][1] or 0) > (r["differences"][0] or 0)]
    assert any(d.startswith("INSERT INTO notes") for d in worse), worse
    assert c["digests"][0]["digest"] in worse  # worst first
    assert c["errors_by_code"]["1406"] == [1, 0], c["errors_by_code"]
    assert "<script" not in cmp_page.read_text() and "INSERT INTO notes" in cmp_page.read_text()


def ok_packets(conn):
    """Every OK packet's payload the connection reads from now on, as the
    server (or halyard) sent it: pymysql's reader wrapped."""
    got = []
    read = conn._read_packet

    def wrapped(*a, **kw):
        p = read(*a, **kw)
        if p._data[:1] == b"\x00":
            got.append(bytes(p._data))
        return p
    conn._read_packet = wrapped
    return got


def commits_workload(conn, table, track_reader):
    """Autocommit writes, a multi-row INSERT and UPDATE (an info string in
    their OKs), a transaction: each commit's GTID as the primary's
    @@gtid_binlog_pos gives it after the statement."""
    gtids = []
    with conn.cursor() as cur:
        for sql, commits in ((f"INSERT INTO {table} (v) VALUES (1)", True),
                             (f"INSERT INTO {table} (v) VALUES (2), (3)", True),
                             (f"UPDATE {table} SET v = v + 10 WHERE v > 1", True),
                             ("BEGIN", False), (f"INSERT INTO {table} (v) VALUES (4)", False),
                             ("COMMIT", True), (f"DELETE FROM {table} WHERE v = 1", True)):
            cur.execute(sql)
            if commits:
                gtids.append(track_reader())
    return gtids


def commits_schema(cluster, names):
    """DB anew with an empty table of each name (an id and a value)."""
    cluster.sql(0, f"DROP DATABASE IF EXISTS {DB}")
    cluster.sql(0, f"CREATE DATABASE {DB}")
    for name in names:
        for side in ("direct", "through"):
            cluster.sql(0, f"CREATE TABLE {DB}.{name}_{side} "
                           "(id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    cluster.sync()


def commits_both_ways(cluster, h, name, flags):
    """commits_workload directly and through halyard, each on its own
    table: the OKs each way read, and the GTIDs of the commits made through
    halyard."""
    binlog_pos = lambda: cluster.value(0, "SELECT @@gtid_binlog_pos")  # noqa: E731
    direct = cluster.connect(0, password=APP_PASSWORD, database=DB, autocommit=True,
                             client_flag=flags)
    through = h.connect(database=DB, autocommit=True, client_flag=flags)
    oks_direct, oks_through = ok_packets(direct), ok_packets(through)
    commits_workload(direct, f"{name}_direct", binlog_pos)
    gtids = commits_workload(through, f"{name}_through", binlog_pos)
    direct.close()
    through.close()
    return oks_direct, oks_through, gtids


def test_commits_gtids_of_any_client(cluster, start_halyard, tmp_path):
    """A client that did not ask for session tracking (pymysql's default)
    has its commits' GTIDs captured all the same: halyard tracks last_gtid
    on its own connections while a capture is on, and takes out of the
    client's OKs what it did not ask for, byte for byte as a direct
    connection answers (a client that asked for CLIENT_SESSION_TRACK but
    not for last_gtid too)."""
    commits_schema(cluster, ("plain", "track"))
    h = start_halyard(read_write_split=False)
    sock = f"/tmp/halyard-{h.port}.sock"
    path = str(tmp_path / "plain.hyc")
    r = ctl(sock, "capture", "start", path)
    assert r.returncode == 0, r.stdout + r.stderr
    answers, server_gtids = {}, []
    for name, flags in (("plain", 0), ("track", CLIENT.SESSION_TRACK)):
        oks_direct, oks_through, gtids = commits_both_ways(cluster, h, name, flags)
        server_gtids += gtids
        answers[name] = (oks_direct, oks_through)
    r = ctl(sock, "capture", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    for name, (oks_direct, oks_through) in answers.items():
        assert len(oks_direct) == 7 and oks_through == oks_direct, \
            (name, [p.hex() for p in oks_direct], [p.hex() for p in oks_through])
    commits = [r for r in dump(path) if r["type"] == "commit"]
    # each session's in its order; the two sessions' (on two workers,
    # maybe) in blocks: in the order the server made them by sequence
    for sid in {r["sid"] for r in commits}:
        seqs = [int(r["gtid"].split("-")[2]) for r in commits if r["sid"] == sid]
        assert seqs == sorted(seqs), commits
    commits = sorted((r["gtid"] for r in commits), key=lambda g: int(g.split("-")[2]))
    assert len(server_gtids) == 10 and commits == server_gtids, (commits, server_gtids)


def test_commits_gtids_where_the_server_tracks_them_already(cluster, start_halyard, tmp_path):
    """The server's global session_track_system_variables names last_gtid
    (as docs/rehearse.md once told operators to set): its connections
    report each commit's GTID from their login. halyard sets nothing
    then, and a client that negotiated session tracking gets the entry,
    byte for byte as directly, capture on or off; the commits are
    captured."""
    old = cluster.value(0, "SELECT @@global.session_track_system_variables")
    commits_schema(cluster, ("track",))
    cluster.sql(0, "SET GLOBAL session_track_system_variables = 'autocommit,last_gtid'")
    try:
        h = start_halyard(read_write_split=False)
        sock = f"/tmp/halyard-{h.port}.sock"
        path = str(tmp_path / "tracked.hyc")
        r = ctl(sock, "capture", "start", path)
        assert r.returncode == 0, r.stdout + r.stderr
        oks_direct, oks_through, server_gtids = commits_both_ways(cluster, h, "track",
                                                                 CLIENT.SESSION_TRACK)
        r = ctl(sock, "capture", "stop")
        assert r.returncode == 0, r.stdout + r.stderr
        # The OKs name the GTIDs: the same OKs do as directly, each its own
        # commit's (not the same ones: other writes, whose seq_no may have
        # another number of digits); the others are byte for byte direct's.
        hexes = ([p.hex() for p in oks_direct], [p.hex() for p in oks_through])
        named = [b"last_gtid" in p for p in oks_through]
        assert named == [b"last_gtid" in p for p in oks_direct] and sum(named) == 5, hexes
        assert [p for p in oks_through if b"last_gtid" not in p] == \
            [p for p in oks_direct if b"last_gtid" not in p], hexes
        values = [rest[1:1 + rest[0]].decode() for rest in
                  (p.split(b"last_gtid", 1)[1] for p in oks_through if b"last_gtid" in p)]
        assert values == server_gtids, (values, server_gtids)
        commits = [r["gtid"] for r in dump(path) if r["type"] == "commit"]
        assert len(server_gtids) == 5 and commits == server_gtids, (commits, server_gtids)
    finally:
        cluster.sql(0, f"SET GLOBAL session_track_system_variables = '{old}'")


@pytest.mark.one_pool_mode  # backups and restores read the servers, not the sessions
def capture_from_primary(cluster, sock, path):
    """A capture into `path` started once the monitor has read the
    primary's position: that position (the capture's start)."""
    pos = cluster.value(0, "SELECT @@gtid_current_pos")
    wait_until(lambda: backends(sock)["node0"]["gtid"] == pos, what="the monitor reads the position")
    r = ctl(sock, "capture", "start", path)
    assert r.returncode == 0 and pos in r.stdout, r.stdout + r.stderr
    return pos


def rehearse_restoring(cluster, conf, pw, path, target, *args):
    """The capture stopped, archived to the primary's position, the target
    emptied, then rehearse --restore onto it: the finished process."""
    from test_backup import wait_archived
    from test_restore import HALYARDCTL, RESTORE_USER, reset_scratch, restorer

    r = ctl(conf["admin_socket"], "capture", "stop")
    assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
    wait_archived(conf, cluster, 0)
    reset_scratch(target)
    restorer(target)
    return rehearse(path, target, *args, "--restore", conf["_path"], "--restore-user",
                    RESTORE_USER, "--restore-password-file", str(pw), "--halyardctl", HALYARDCTL)


def test_rehearse_restores_the_target_itself(cluster, start_halyard, tmp_path, target):
    """--restore: rehearse brings the target to the capture's start with
    halyard's own restore (the full backup taken before, the archived
    binlogs after it, up to the capture's start GTID), then replays: no
    difference, and the table ends as the captured cluster's. A restore
    that cannot run (the target not empty) replays nothing, exit 2."""
    from test_restore import HALYARDCTL, RESTORE_USER, full_backup, prepare

    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "rh_restore")
    full_backup(conf)
    for i in range(50, 60):  # after the backup: the restore replays them from the archive
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, {i % 4})")
    path = str(tmp_path / "restore.hyc")
    pos = capture_from_primary(cluster, conf["admin_socket"], path)
    c = h.connect(database="fo", autocommit=True)
    with c.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), SUM(w) FROM {table}")
        cur.execute(f"UPDATE {table} SET w = w + 7 WHERE id % 5 = 0")
        cur.execute("BEGIN")
        cur.execute(f"INSERT INTO {table} VALUES (100, 1), (101, 2)")
        cur.execute(f"DELETE FROM {table} WHERE id BETWEEN 10 AND 19")
        cur.execute("COMMIT")
        cur.execute(f"SELECT id, w FROM {table} ORDER BY id")
    c.close()
    p = rehearse_restoring(cluster, conf, pw, path, target, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"restoring the target to the capture's start, GTID {pos}" in p.stderr, p.stderr
    rep = json.loads(p.stdout)
    assert rep["differences"] == 0 and rep["errors"] == [], rep
    assert sum(d["count"] for d in rep["digests"]) >= 7, rep["digests"]
    want = cluster.sql(0, f"SELECT id, w FROM {table} ORDER BY id")
    assert target.sql(0, f"SELECT id, w FROM {table} ORDER BY id") == want

    # the target holds a schema now: the restore refuses, nothing replayed
    p = rehearse(path, target, "--restore", conf["_path"], "--restore-user", RESTORE_USER,
                 "--restore-password-file", str(pw), "--halyardctl", HALYARDCTL)
    assert p.returncode == 2 and "the restore failed" in p.stderr, p.stdout + p.stderr
    assert "not empty" in p.stderr or "schema" in p.stderr, p.stderr
    assert target.sql(0, f"SELECT id, w FROM {table} ORDER BY id") == want


def test_rehearse_restores_a_start_in_several_domains(domains_source, tmp_path, target):
    """--restore of a capture whose start spans several GTID domains (a
    source of its own writing domains 5 and 7 besides 0, one of them after
    the backup): the target restored to the start position (halyardctl
    restore --to-position, each domain to its GTID, the one with nothing
    after the backup too), then replayed: no difference, the table as the
    source's."""
    from conftest import _halyard_factory
    from test_restore import domain_writer, full_backup, prepare

    src = domains_source
    gen = _halyard_factory(src, tmp_path)
    try:
        h, conf, table, pw = prepare(src, next(gen), tmp_path, "rh_domains")
        write = domain_writer(src, table)
        write(5, 100)
        full_backup(conf)
        write(7, 200)  # after the backup, before the capture: domain 5 does not move
        path = str(tmp_path / "domains.hyc")
        pos = capture_from_primary(src, conf["admin_socket"], path)
        assert pos.count(",") == 2, pos
        c = h.connect(database="fo", autocommit=True)
        with c.cursor() as cur:
            cur.execute(f"UPDATE {table} SET w = w + 1 WHERE id >= 100")
            cur.execute(f"INSERT INTO {table} VALUES (400, 4)")
            cur.execute(f"SELECT id, w FROM {table} ORDER BY id")
        c.close()
        p = rehearse_restoring(src, conf, pw, path, target, "--json")
        assert p.returncode == 0, p.stdout + p.stderr
        said = re.search(r"restoring the target to the capture's start, position (\S+):",
                         p.stderr)
        assert said and set(said.group(1).split(",")) == set(pos.split(",")), p.stderr
        rep = json.loads(p.stdout)
        assert rep["differences"] == 0 and rep["errors"] == [], rep
        want = src.sql(0, f"SELECT id, w FROM {table} ORDER BY id")
        assert target.sql(0, f"SELECT id, w FROM {table} ORDER BY id") == want
    finally:
        next(gen, None)


def capture_on_table(cluster, start_halyard, tmp_path, table, columns):
    """A fresh table {DB}.`table` (`columns`), halyard in front of the
    cluster, and a capture started once the monitor has read the
    primary's position: (halyard, its admin socket, the start GTID, the
    table's CREATE, the capture file)."""
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {DB}")
    cluster.sql(0, f"DROP TABLE IF EXISTS {DB}.{table}")
    cluster.sql(0, f"CREATE TABLE {DB}.{table} ({columns})")
    cluster.sync()
    h = start_halyard(read_write_split=False)
    sock = f"/tmp/halyard-{h.port}.sock"
    ddl = cluster.sql(0, f"SHOW CREATE TABLE {DB}.{table}")[0][1]
    path = str(tmp_path / f"{table}.hyc")
    pos = capture_from_primary(cluster, sock, path)
    return h, sock, pos, ddl, path


def test_commit_order_kept(cluster, start_halyard, tmp_path, target):
    """--commit-order: two sessions whose INSERTs took AUTO_INCREMENT ids
    in the capture's order (session 1's first, after 150 reads; session
    2's after it). Replayed at once (--speed 0), session 2's lone INSERT
    overtakes: the ids swap and rehearse names the insert ids that differ;
    with --commit-order it waits for session 1's commit: no difference,
    and the table as the captured cluster's."""
    h, sock, pos, ddl, path = capture_on_table(cluster, start_halyard, tmp_path, "seq",
                                               "id INT AUTO_INCREMENT PRIMARY KEY, who CHAR(1)")
    first = h.connect(database=DB, autocommit=True)
    with first.cursor() as cur:
        for i in range(150):
            cur.execute("SELECT COUNT(*) FROM seq WHERE id > %s", (i,))
        cur.execute("INSERT INTO seq (who) VALUES ('a')")
    second = h.connect(database=DB, autocommit=True)
    with second.cursor() as cur:
        cur.execute("INSERT INTO seq (who) VALUES ('b')")
    first.close()
    second.close()
    r = ctl(sock, "capture", "stop")
    assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
    commits = [x for x in dump(path) if x["type"] == "commit"]
    assert len(commits) == 2, commits
    want = cluster.sql(0, f"SELECT id, who FROM {DB}.seq ORDER BY id")
    assert [w for _i, w in want] == ["a", "b"]

    restore(target, {"seq": (ddl, [])}, pos)
    p = rehearse(path, target, "--json")
    assert p.returncode == 1, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    ins = [d for d in rep["digests"] if d["digest"].startswith("INSERT INTO seq")]
    assert ins and ins[0]["differences"] == 2 and "insert_id" in ins[0]["kinds"], rep["digests"]
    assert target.sql(0, f"SELECT id, who FROM {DB}.seq ORDER BY id") != want

    restore(target, {"seq": (ddl, [])}, pos)
    p = rehearse(path, target, "--json", "--commit-order")
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    order = rep["capture"]["commits"]["order"]
    assert order["commits"] == 2 and order["in_order"] == 2 and order["waited"] == 1, order
    assert order["out_of_order"] == [], order
    assert target.sql(0, f"SELECT id, who FROM {DB}.seq ORDER BY id") == want
    text = rehearse(path, target, "--commit-order", "--force").stdout
    assert "commit order (--commit-order): 2 of 2 commits" in text, text


@pytest.mark.one_pool_mode  # the capture's writer, not the sessions
def test_full_disk_stops_the_capture(start_halyard, tmp_path):
    """The capture's file on a filesystem that fills up (a tmpfs of 64
    KiB): the capture stops by itself and says why (capture status, with
    the records it could not write counted under write_failed), every
    client statement, before and after, is answered, and the file reads
    back up to its last whole record (before: a record cut short by the
    full disk made rehearse refuse the file, and capture status counted
    the records stdio had buffered as written, none dropped)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    try:
        h = start_halyard()
        path = str(mnt / "full.hyc")
        sock = capture_started(h, path)
        c = h.connect(autocommit=True)
        filler = "y" * 4000
        answered = 0
        with c.cursor() as cur:
            for i in range(120):  # about 500 KB of statements, eight times the room
                cur.execute(f"SELECT {i}, LENGTH('{filler}')")
                assert cur.fetchone() == (i, 4000)
                answered += 1
        wait_until(lambda: not admin_json(sock, "capture status")["on"],
                   what="the capture stops")
        st = admin_json(sock, "capture status")
        assert "No space left on device" in st["stopped_why"], st
        assert st["drops_write_failed"] >= 1, st
        with c.cursor() as cur:  # the data path goes on, uncaptured
            cur.execute("SELECT 42")
            assert cur.fetchone() == (42,)
        c.close()
        assert answered == 120
        # the file ends with its last whole record: it reads back, and
        # holds what capture status says was written
        assert os.path.getsize(path) == st["bytes"] <= 64 * 1024, (os.path.getsize(path), st)
        p = subprocess.run([sys.executable, REHEARSE, path, "--dump"], capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stderr
        recs = [json.loads(line) for line in p.stdout.splitlines()]
        assert len(recs) == st["records"] and recs[0]["type"] == "start", (len(recs), st)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_local_infile_replayed(cluster, start_halyard, tmp_path, target):
    """A LOAD DATA LOCAL INFILE captured through halyard keeps the file
    the client sent (INFILE records, one a packet, an empty one at its
    end); rehearse sends it again when the target asks: the rows loaded,
    no difference (before: the file was not captured and rehearse sent an
    empty one, 0 rows against the captured 300)."""
    data = tmp_path / "rows.csv"
    data.write_text("".join(f"{i},name number {i} of the file\n" for i in range(300)))
    h, sock, pos, ddl, path = capture_on_table(cluster, start_halyard, tmp_path, "loaded",
                                               "id INT PRIMARY KEY, name VARCHAR(40)")
    c = h.connect(database=DB, autocommit=True, local_infile=True)
    with c.cursor() as cur:
        n = cur.execute(f"LOAD DATA LOCAL INFILE '{data}' INTO TABLE loaded "
                        "FIELDS TERMINATED BY ','")
        assert n == 300
        cur.execute("SELECT COUNT(*), SUM(id) FROM loaded")
    c.close()
    r = ctl(sock, "capture", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    pieces = [x for x in dump(path) if x["type"] == "infile"]
    assert len(pieces) >= 2 and pieces[-1]["data"] == "", pieces[-1]
    assert "".join(x["data"] for x in pieces).startswith("0,name number 0 of the file\n")

    restore(target, {"loaded": (ddl, [])}, pos)
    p = rehearse(path, target, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    assert rep["differences"] == 0 and rep["errors"] == [], rep
    load = [d for d in rep["digests"] if d["digest"].startswith("LOAD DATA")]
    assert load and load[0]["count"] == 1, rep["digests"]
    want = cluster.sql(0, f"SELECT id, name FROM {DB}.loaded ORDER BY id")
    assert len(want) == 300
    assert target.sql(0, f"SELECT id, name FROM {DB}.loaded ORDER BY id") == want


def capture_file(version, recs):
    """A capture file of `version` holding `recs` ((type, body) pairs),
    each framed with that version's checksum (docs/rehearse.md, "The file")."""
    import struct
    import zlib

    import xxhash
    out = b"HYCAPT\r\n" + struct.pack("<HHI", version, 0, 0)
    for t, body in recs:
        tb = bytes([t]) + body
        s = xxhash.xxh3_64_intdigest(tb) & 0xFFFFFFFF if version >= 5 else zlib.crc32(tb)
        out += struct.pack("<I", len(body)) + tb + struct.pack("<I", s)
    return out


def test_older_versions_read(tmp_path):
    """Files of versions 3, 4 and 5 (CRC-32 frames up to 4, XXH3 from 5)
    read back, and a byte changed in a body is named corrupt in each; the
    rows of a replayed answer are summed the way the file's version did
    (the values tests/unit/test_capture.c's test_rowsum asserts for the
    current version's C code)."""
    import struct
    start = struct.pack("<Q", 1700000000000000) + struct.pack("<H", 5) + b"0-1-7" \
        + struct.pack("<H", 5) + b"node0"
    end = struct.pack("<IQB", 3, 1700000000000100, 0)
    for version in (3, 4, 5):
        data = capture_file(version, [(1, start), (5, end)])
        path = tmp_path / f"v{version}.hyc"
        path.write_bytes(data)
        p = subprocess.run([sys.executable, REHEARSE, str(path), "--dump"], capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stderr
        recs = [json.loads(line) for line in p.stdout.splitlines()]
        assert [r["type"] for r in recs] == ["start", "end"], recs
        assert recs[0]["version"] == version and recs[0]["gtid"] == "0-1-7", recs[0]
        bad = bytearray(data)
        bad[recs[1]["at"] + 6] ^= 0x55
        path.write_bytes(bytes(bad))
        p = subprocess.run([sys.executable, REHEARSE, str(path), "--dump"], capture_output=True,
                           text=True)
        assert p.returncode == 2 and f"corrupt record at offset {recs[1]['at']}" in p.stderr, \
            p.stderr
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("rehearse_mod", REHEARSE)
    spec = importlib.util.spec_from_loader("rehearse_mod", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    sums = {}
    for version in (3, 4, 5):
        a = mod.Answer(version)
        for row in (b"\x03abc", b"\xfb\x01x", b""):
            a.row(row)
        sums[version] = (a.rows, a.ordered, a.unordered)
    assert sums[3] == (3, 0xFFC961CF, 0x7244BB78372B33D5), sums
    assert sums[4] == (3, 0x2D31EBBA, 0xB3E0D68A5876DCAE), sums
    assert sums[5] == (3, 0x4EA9C6E7, 0x5B54DA46CEADE864), sums
