"""The continuous binlog archive (backup section, src/backup/binlog_archive.c)
against the real cluster.

    the archive's files read back with the real mariadb-binlog: every GTID
    the primary logged since the archive started, in order, once;
    kill -9 of the primary under insert load, then a switchover: the
    archive follows the primary, its GTIDs are contiguous and those of
    the surviving primary's binary log, none missing or repeated;
    a corrupted event (a byte flipped on the wire) is detected, counted,
    raises backup_archive_error, is not written, and the archive goes on;
    halyard -t names an unusable backup.dir (FILE:LINE: backup.dir: why),
    and halyard with one still proxies and raises the alarm;
    the lag under an insert load: p99 at most 2 s (printed);
    the newest file damaged while halyard was stopped: no stream (no gap)
    until it is moved away.
"""

import glob
import os
import re
import signal
import subprocess
import threading
import time

import pymysql
import pytest

from conftest import halyard_bin
from tcprelay import TcpRelay
from test_failover import Load, ctl, failover_settings, kill_now, make_table
from util import admin_json, free_port, metric, render_conf, wait_until, backends

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode

GTID_RE = re.compile(r"\tGTID (\d+)-(\d+)-(\d+)")


def backup_settings(tmp_path, **extra):
    d = tmp_path / "archive"
    d.mkdir(exist_ok=True)
    # tools/cluster's backup account: REPLICATION SLAVE for the archive,
    # SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* for a full backup
    s = {"dir": str(d), "user": "backup", "password": "backup", "binlog_sync_ms": 50}
    s.update(extra)
    return s


def archive_files(d):
    return sorted(glob.glob(os.path.join(str(d), "binlog.[0-9]*[0-9]")))


def binlog_gtids(files):
    """The GTIDs of the transactions in binlog files, in order, as
    mariadb-binlog prints them (it fails on a file it cannot read)."""
    r = subprocess.run(["mariadb-binlog", *files], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"mariadb-binlog: {r.returncode}\n{r.stderr[-2000:]}"
    return [tuple(int(x) for x in m) for m in GTID_RE.findall(r.stdout)], r.stdout


def server_gtids(cluster, ref):
    """The GTIDs in node ref's own binary log files."""
    n = cluster.node(ref)
    files = [os.path.join(n["datadir"], r[0]) for r in cluster.sql(ref, "SHOW BINARY LOGS")]
    return binlog_gtids(files)[0]


def show_backup(conf):
    return admin_json(conf["admin_socket"], "show backup")


def wait_archived(conf, cluster, ref, timeout=20):
    """Until the archive has synced the primary (node ref)'s position."""
    want = cluster.value(ref, "SELECT @@gtid_binlog_pos")
    wait_until(lambda: show_backup(conf)["archived_gtid"] == want, timeout, interval=0.1,
               what=f"the archive to reach {want}: {show_backup(conf)}")
    return want


def after(gtids, pos):
    """The GTIDs past position `pos` ("0-1-5,1-2-7"; "" = all)."""
    last = {int(d): int(n) for d, _s, n in (g.split("-") for g in pos.split(",") if g)}
    return [g for g in gtids if g[2] > last.get(g[0], 0)]


def check_contiguous(gtids):
    """No gap and no repeat within each domain."""
    last = {}
    for d, _s, n in gtids:
        if d in last:
            assert n == last[d] + 1, f"domain {d}: {n} follows {last[d]}"
        last[d] = n


def start(cluster, start_halyard, tmp_path, **extra):
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path), metrics_port=free_port())
    conf.update(extra)
    h = start_halyard(conf)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15,
               what="the archive to stream")
    wait_archived(conf, cluster, 0)  # it starts from the primary's position
    return h, conf


def test_archive_read_back_by_mariadb_binlog(cluster, start_halyard, tmp_path):
    h, conf = start(cluster, start_halyard, tmp_path)
    start_pos = show_backup(conf)["archived_gtid"]
    table = make_table(cluster, "bk1")
    conn = pymysql.connect(**h.conn_params(autocommit=True))
    with conn.cursor() as cur:
        for i in range(200):
            cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, 1))
        cur.execute("BEGIN")
        cur.execute(f"UPDATE {table} SET w = 2 WHERE id < 100")
        cur.execute("COMMIT")
        cur.execute(f"ALTER TABLE {table} ADD COLUMN c INT")  # a standalone (DDL) group
    conn.close()
    wait_archived(conf, cluster, 0)
    files = archive_files(conf["backup"]["dir"])
    assert files, "no archive file"
    got, text = binlog_gtids(files)
    assert "Gtid list" in text  # the file's own GTID_LIST, with its position
    # the primary's transactions after the archive's start, in the same order
    want = after(server_gtids(cluster, 0), start_pos)
    assert got == want, f"archive {got[:5]}...{got[-5:]}\nserver {want[:5]}...{want[-5:]}"
    assert len(got) >= 203
    # the index lists the files; the server's own files are untouched
    index = open(os.path.join(conf["backup"]["dir"], "binlog.index")).read().split()
    assert index == ["./" + os.path.basename(f) for f in files]
    # the lag is -1 (unknown) until the archive's next reading of the
    # primary's position after it (re)started streaming: wait for it
    s = wait_until(lambda: (lambda b: b if b["lag_transactions"] != -1 else None)(
        show_backup(conf)), 5, what="the archive's lag reading")
    assert s["corrupt_events"] == 0 and s["gaps"] == 0, s
    assert s["source"] == "node0" and s["lag_transactions"] == 0, s


def test_archive_continuity_across_failover_and_switchover(cluster, start_halyard, tmp_path):
    h, conf = start(cluster, start_halyard, tmp_path)
    start_pos = show_backup(conf)["archived_gtid"]
    table = make_table(cluster, "bk2")
    with Load(h, table) as load:
        wait_until(lambda: load.count() >= 200, 20, what="writes before the kill")
        t_kill = kill_now(cluster, 0)
        wait_until(lambda: show_backup(conf)["source"] not in ("", "node0"), 30,
                   what=f"the archive to follow the new primary: {show_backup(conf)}")
        n = load.count()
        wait_until(lambda: load.count() >= n + 200, 30, what="writes after the failover")
        new = show_backup(conf)["source"]
        other = "node2" if new == "node1" else "node1"
        r = ctl(conf["admin_socket"], "switchover", "to", other)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: show_backup(conf)["source"] == other, 30,
                   what=f"the archive to follow the switchover: {show_backup(conf)}")
        n = load.count()
        wait_until(lambda: load.count() >= n + 200, 30, what="writes after the switchover")
    ref = int(other[-1])
    wait_archived(conf, cluster, ref, timeout=30)
    got, _ = binlog_gtids(archive_files(conf["backup"]["dir"]))
    check_contiguous(got)
    assert len(got) == len(set(got)), "a transaction archived twice"
    want = after(server_gtids(cluster, ref), start_pos)
    assert got == want, (f"archive and {other}'s binlog differ: {len(got)} vs {len(want)}; "
                         f"first difference at "
                         f"{next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)}")
    # Replication is asynchronous here: a kill -9 may lose acknowledged rows
    # the replicas never got, and the archive, one more asynchronous
    # replica, kept those it had (its lost tail, moved to .lost) but may
    # lack the last few too (CI: 34 lost, 33 in .lost). What must hold: no
    # row sent after the kill (which only the new primary can have
    # acknowledged) is lost. An OK node0 sent just before it died may reach
    # the client after the kill: its row can be lost.
    ids = {r[0] for r in cluster.sql(ref, f"SELECT id FROM {table}")}
    s = show_backup(conf)
    missing = load.ids() - ids
    late = [a[0] for a in load.acked if a[0] in missing and a[1] > t_kill]
    assert not late, (late, s)
    assert s["gaps"] == 0 and s["corrupt_events"] == 0, s
    assert s["streams"] >= 3, s
    lost = glob.glob(os.path.join(conf["backup"]["dir"], "*.lost"))
    print(f"\narchive: {len(got)} transactions across a failover and a switchover, "
          f"{s['lost_transactions']} moved to .lost ({lost}); {len(missing)} acknowledged rows "
          f"lost with node0")


class DirectWriter(threading.Thread):
    """Inserts straight into the primary (not through halyard) until stopped."""

    def __init__(self, cluster, table):
        super().__init__(daemon=True)
        self.cluster, self.table, self.n = cluster, table, 0
        self.stop_ev = threading.Event()

    def run(self):
        conn = self.cluster.connect(0, autocommit=True)
        with conn.cursor() as cur:
            while not self.stop_ev.is_set():
                self.n += 1
                cur.execute(f"INSERT INTO {self.table} VALUES (%s, 0)", (self.n,))
        conn.close()

    def stop(self):
        self.stop_ev.set()
        self.join(30)


def test_rotation_restart_and_retention(cluster, start_halyard, tmp_path):
    """The server's rotation ends the archive's file with a ROTATE to the
    next; halyard killed -9 mid-stream and started again reads its last
    file back, cuts a half-written transaction and goes on from the next
    GTID; files older than binlog_retention go, never the last."""
    h, conf = start(cluster, start_halyard, tmp_path)
    start_pos = show_backup(conf)["archived_gtid"]
    table = make_table(cluster, "bk6")
    w = DirectWriter(cluster, table)
    w.start()
    wait_until(lambda: w.n > 300, 20)
    cluster.sql(0, "FLUSH BINARY LOGS")
    wait_until(lambda: w.n > 600, 20)
    wait_until(lambda: show_backup(conf)["file"] == "binlog.000002", 10,
               what=f"the archive to follow the rotation: {show_backup(conf)}")
    h.stop(signal.SIGKILL)  # mid-stream: the last transaction may be half-written
    wait_until(lambda: w.n > 1500, 20)
    h2 = start_halyard(conf)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    wait_until(lambda: w.n > 2000, 20)
    w.stop()
    wait_archived(conf, cluster, 0)
    files = archive_files(conf["backup"]["dir"])
    # The rotation made the second; after the restart the archive goes on
    # in the file it read back, or in a new one (CI saw both): either way
    # with no gap and no repeat, checked next.
    assert len(files) >= 2, files
    got, text = binlog_gtids(files)
    check_contiguous(got)
    assert len(got) == len(set(got))
    assert got == after(server_gtids(cluster, 0), start_pos)
    _, first = binlog_gtids(files[:1])
    assert "Rotate to binlog.000002" in first, first[-600:]
    assert "was not closed properly" not in first  # the IN_USE flag cleared when it ended
    assert "read back" in h2.log_text()
    # retention: every file but the last made old, then a restart applies it
    for f in files:
        os.utime(f, (time.time() - 7200, time.time() - 7200))
    h2.stop()
    conf["backup"]["binlog_retention"] = "1h"
    start_halyard(conf)
    wait_until(lambda: show_backup(conf)["files_removed"] == len(files) - 1, 15,
               what=f"old files removed: {show_backup(conf)}")
    # The new stream may open its next file between two reads (CI: the
    # index named binlog.000004 that the listing just before had not): the
    # index and the directory are compared as read together.
    seen = {}

    def index_lists_the_files():
        seen["left"] = archive_files(conf["backup"]["dir"])
        seen["index"] = open(os.path.join(conf["backup"]["dir"], "binlog.index")).read().split()
        return seen["index"] == ["./" + os.path.basename(f) for f in seen["left"]]
    wait_until(index_lists_the_files, 10, what="binlog.index to list the files")
    assert seen["left"][0] == files[-1], seen  # the last file stays (and the new stream's after it)


def test_unreadable_newest_file_blocks_until_moved_away(cluster, start_halyard, tmp_path):
    """The archive's newest file damaged while halyard was stopped (not a
    binlog any more): started again, the archive names the file and does
    not stream (from the primary's position it would leave a gap), writes
    no new file; once the file is moved away it goes on from the one
    before, with every GTID once."""
    h, conf = start(cluster, start_halyard, tmp_path)
    start_pos = show_backup(conf)["archived_gtid"]
    table = make_table(cluster, "bk9")
    for i in range(1, 21):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    cluster.sql(0, "FLUSH BINARY LOGS")
    for i in range(21, 41):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    wait_archived(conf, cluster, 0)
    d = conf["backup"]["dir"]
    files = archive_files(d)
    assert [os.path.basename(f) for f in files] == ["binlog.000001", "binlog.000002"], files
    h.stop()
    with open(files[-1], "r+b") as f:
        f.write(b"garbage!")
    for i in range(41, 51):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    h2 = start_halyard(conf)
    wait_until(lambda: "binlog.000002 is not a binlog file" in show_backup(conf)["last_error"],
               15, what=f"an error naming the file: {show_backup(conf)}")
    time.sleep(2)
    s = show_backup(conf)
    assert s["archive_state"] != "streaming", s
    assert archive_files(d) == files  # no new file, no gap
    os.rename(files[-1], str(tmp_path / "binlog.000002.damaged"))
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 20,
               what=f"the archive to stream again: {show_backup(conf)}")
    wait_archived(conf, cluster, 0)
    got, _ = binlog_gtids(archive_files(d))
    check_contiguous(got)
    assert got == after(server_gtids(cluster, 0), start_pos)
    assert "read back" in h2.log_text()


def test_lost_tail_moved_out_after_failover(cluster, start_halyard, tmp_path):
    """The archive took transactions from the primary that no replica got
    before it died: after the failover they are moved to a .lost file (a
    binlog file mariadb-binlog reads), the archive goes on from the new
    primary's history, and says so."""
    h, conf = start(cluster, start_halyard, tmp_path)
    start_pos = show_backup(conf)["archived_gtid"]
    table = make_table(cluster, "bk5")
    for i in (1, 2):
        cluster.sql(i, "STOP SLAVE IO_THREAD")
    for i in range(10):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    lost_pos = wait_archived(conf, cluster, 0)
    kill_now(cluster, 0)
    for i in (1, 2):
        cluster.sql(i, "START SLAVE IO_THREAD")
    # The new primary takes writes (the same sequence numbers, its own
    # server_id) before the archive, which retries a second after the old
    # primary's stream broke, comes to it.
    conn = pymysql.connect(**h.conn_params(autocommit=True))
    with conn.cursor() as cur:
        for i in range(100, 120):
            cur.execute(f"INSERT INTO {table} VALUES (%s, 1)", (i,))
    conn.close()
    wait_until(lambda: show_backup(conf)["source"] in ("node1", "node2"), 30,
               what=f"the archive to follow the new primary: {show_backup(conf)}")
    new = int(show_backup(conf)["source"][-1])
    wait_archived(conf, cluster, new)
    s = show_backup(conf)
    assert s["lost_transactions"] == 10, s
    got, _ = binlog_gtids(archive_files(conf["backup"]["dir"]))
    check_contiguous(got)
    assert got == after(server_gtids(cluster, new), start_pos), "not the new primary's history"
    lost = glob.glob(os.path.join(conf["backup"]["dir"], "*.lost"))
    assert len(lost) == 1, lost
    lost_gtids, _ = binlog_gtids(lost)
    assert len(lost_gtids) == 10 and "-".join(map(str, lost_gtids[-1])) == lost_pos, lost_gtids
    events = admin_json(conf["admin_socket"], "show events")["events"]
    assert any(e["event"] == "backup_archive_gap" and "lost tail" in e["reason"] for e in events)


class CorruptRelay(TcpRelay):
    """Flips the last byte of one chunk of a binlog stream when asked."""

    def __init__(self, target):
        super().__init__(target)
        self.dump_conns = set()
        self.armed = threading.Event()
        self.flipped = threading.Event()

    def _pump(self, src, dst, hook):
        # which direction: the hooks get the socket through a closure
        def h(data, src=src, dst=dst, hook=hook):
            return hook(data, src, dst)
        super()._pump(src, dst, h)

    def up(self, data, src=None, dst=None):
        if len(data) >= 5 and data[4] == 0x12:  # COM_BINLOG_DUMP
            self.dump_conns.add(dst.fileno())
        return data

    def down(self, data, src=None, dst=None):
        if src.fileno() in self.dump_conns and self.armed.is_set() and len(data) > 60 \
                and not self.flipped.is_set():
            self.flipped.set()
            return data[:-1] + bytes([data[-1] ^ 0x5a])
        return data


def test_corrupted_event_detected(cluster, start_halyard, tmp_path):
    relay = CorruptRelay(cluster.primary_port)
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path), metrics_port=free_port(),
                             failover="off")
    conf["backends"] = [{"name": "node0", "address": "127.0.0.1", "port": relay.port,
                         "role": "primary"}]
    h = start_halyard(conf)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "bk3")
    relay.armed.set()
    conn = pymysql.connect(**h.conn_params(autocommit=True))
    with conn.cursor() as cur:
        for i in range(50):
            cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, 1))
    conn.close()
    assert relay.flipped.wait(10)
    wait_until(lambda: show_backup(conf)["corrupt_events"] == 1, 10,
               what=f"the corrupted event counted: {show_backup(conf)}")
    s = show_backup(conf)
    assert "CRC32" in s["last_error"] or "malformed" in s["last_error"], s
    events = admin_json(conf["admin_socket"], "show events")
    assert any(e["event"] == "backup_archive_error" for e in events["events"]), events
    # it reconnects and catches up: every transaction once, none corrupt
    wait_archived(conf, cluster, 0)
    wait_until(lambda: any(e["event"] == "backup_archive_ok"
                           for e in admin_json(conf["admin_socket"], "show events")["events"]), 10)
    got, _ = binlog_gtids(archive_files(conf["backup"]["dir"]))
    check_contiguous(got)
    assert len(got) == len(set(got)) and len(got) >= 50
    assert metric(conf["metrics_port"], "halyard_backup_archive_corrupt_events_total") == 1
    relay.close()


def test_bad_backup_dir(cluster, start_halyard, tmp_path):
    halyard = halyard_bin()
    missing = tmp_path / "nope" / "archive"
    conf = failover_settings(tmp_path, backup={"dir": str(missing), "user": "repl",
                                               "password": "repl"}, metrics_port=free_port())
    h = start_halyard(conf)
    r = subprocess.run([halyard, "-t", "-c", h.conf_path], capture_output=True, text=True)
    assert r.returncode == 1
    assert re.search(r"\.conf:\d+: backup\.dir: .*nope/archive: No such file or directory",
                     r.stderr), r.stderr
    # halyard itself runs and proxies; the archive is in error and says why
    conn = pymysql.connect(**h.conn_params())
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()
    wait_until(lambda: show_backup(conf)["archive_state"] == "error", 10)
    assert "No such file or directory" in show_backup(conf)["last_error"]
    assert metric(conf["metrics_port"], "halyard_backup_archive_up") == 0
    # the directory appears: the archive starts by itself
    missing.mkdir(parents=True)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    # a file where the directory should be: -t says so
    notdir = tmp_path / "file"
    notdir.write_text("x")
    text = open(h.conf_path).read().replace(str(missing), str(notdir))
    bad = tmp_path / "bad.conf"
    bad.write_text(text)
    r = subprocess.run([halyard, "-t", "-c", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "backup.dir" in r.stderr and "not a directory" in r.stderr


def test_archive_lag_under_load(cluster, start_halyard, tmp_path):
    h, conf = start(cluster, start_halyard, tmp_path)
    table = make_table(cluster, "bk4")
    with Load(h, table, writers=8):
        time.sleep(15)
    wait_archived(conf, cluster, 0)
    s = show_backup(conf)
    print(f"\narchive lag under insert load: p50 {s['lag_p50_s']} s, p99 "
          f"{s['lag_p99_s']} s, max {s['lag_max_s']} s over {s['lag_samples']} "
          f"readings; {s['transactions']} transactions")
    assert s["lag_samples"] >= 10, s
    # no load now: the figures stand still, the metric shows the same
    assert metric(conf["metrics_port"], "halyard_backup_archive_lag_p99_s") == \
        show_backup(conf)["lag_p99_s"]
    with open(halyard_bin(), "rb") as f:
        binary = f.read()  # read once: a second f.read() is empty
    sanitized = any(m in binary for m in (b"__tsan_init", b"__asan_init"))
    if not sanitized:  # a sanitizer's build runs several times slower: no time bound there
        assert s["lag_samples"] >= 50, s
        # The archive keeps up: p99 well under the 2 s that would mean it
        # falls behind. The figure itself (0.2-0.3 s on a quiet host) is
        # measured in backups.md, "RPO, measured"; make check's other
        # tracks beside this one took a run to 1.02 s.
        assert s["lag_p99_s"] <= 2.0, s


def test_full_backup_of_a_drained_replica(cluster, start_halyard, tmp_path):
    """`backup full`: mariadb-dump of the best replica, which takes no read
    while it runs and is put back after; a gzip file renamed only when
    complete, and its manifest (GTID, times, size, sha256, method, source).
    The account (tools/cluster's `backup`: exactly REPLICATION SLAVE,
    SELECT, SHOW VIEW, TRIGGER, EVENT) is checked first, and the dump holds
    every schema, views, triggers, routines and events."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS bkobj")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS bkobj.t (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "CREATE OR REPLACE VIEW bkobj.vw AS SELECT id FROM bkobj.t")
    cluster.sql(0, "CREATE OR REPLACE TRIGGER bkobj.trg BEFORE INSERT ON bkobj.t FOR EACH ROW "
                   "SET NEW.v = NEW.v + 1")
    cluster.sql(0, "CREATE OR REPLACE PROCEDURE bkobj.pr() SELECT 1")
    cluster.sql(0, "CREATE OR REPLACE EVENT bkobj.ev ON SCHEDULE EVERY 1 DAY DO SELECT 1")
    table = make_table(cluster, "bk7")
    # Enough rows that the dump lasts about a second: the loop below must
    # see the replica drained at least twice (300,000 rows, 0.3 s, saw it
    # too few times in 2 runs of 10).
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 7 FROM fo.seq_1_to_1000000")
    cluster.sync(timeout=90)  # a loaded 2-core machine applies 1,000,000 rows in 10-30 s
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path), metrics_port=free_port())
    h = start_halyard(conf)
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()), 10)
    stop = threading.Event()
    reads = []

    def reader():
        conn = pymysql.connect(**h.conn_params(autocommit=True))
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute(f"SELECT COUNT(*) FROM {table} WHERE id < 10")
                reads.append(cur.fetchone()[0])
        conn.close()

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until(lambda: len(reads) > 50, 10)
    pos = cluster.value(0, "SELECT @@gtid_binlog_pos")
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.returncode == 0 and r.stdout.startswith("OK backup full started: mariadb-dump of "
                                                     "replica node"), r.stdout + r.stderr
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    # halyardctl waited for the account check: it passed
    assert "\nOK account backup@% holds SELECT, SHOW VIEW, TRIGGER, EVENT ON *.*" in r.stdout, \
        r.stdout
    seen_drained, queries = 0, None
    t_answer = time.monotonic()
    while show_backup(conf)["full_state"] == "running":
        b = backends(conf["admin_socket"])[src]
        # reads in flight when it was drained finish (and count) first
        if b["state"] == "DRAINING" and time.monotonic() - t_answer > 0.2:
            if queries is not None:  # no statement of a client reaches it meanwhile
                assert b["queries"] == queries, "a read reached the replica being backed up"
            queries = b["queries"]
            seen_drained += 1
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(10)
    s = show_backup(conf)
    assert s["full_state"] == "ok", s
    assert seen_drained >= 2, "the backup ended before it could be watched"
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10, what=f"{src} back online")
    assert set(reads) == {9}
    full = tmp_path / "archive" / "full"
    names = sorted(os.listdir(full))
    dumps = [n for n in names if n.endswith(".sql.gz")]
    assert len(dumps) == 1 and not [n for n in names if n.endswith(".partial")], names
    path = full / dumps[0]
    assert str(path) == s["full_file"]
    import hashlib
    import gzip
    import json
    data = path.read_bytes()
    man = json.loads((full / dumps[0].replace(".sql.gz", ".json")).read_text())
    assert man["sha256"] == hashlib.sha256(data).hexdigest() == s["full_sha256"]
    assert man["size"] == len(data) == s["full_bytes"]
    assert man["method"] == "mariadb-dump" and man["source"] == src, man
    assert man["source_is_primary"] is False
    assert man["gtid"] == pos == s["full_gtid"], (man, pos)
    assert man["started"] <= man["finished"]
    text = gzip.decompress(data).decode(errors="replace")
    assert "CREATE TABLE `bk7`" in text and f"gtid_slave_pos='{pos}'" in text
    # every schema of the source, and the objects only a privileged account sees
    want = {r[0] for r in cluster.sql(int(src[-1]), "SHOW DATABASES")} - {
        "information_schema", "performance_schema", "sys"}
    got = set(re.findall(r"^CREATE DATABASE .*?`([^`]+)`", text, re.M))
    assert got == want and s["full_schemas"] == len(want), (got, want, s)
    assert s["full_account"] == "backup@%", s
    for obj in ("VIEW `vw`", "TRIGGER bkobj.trg", "PROCEDURE `pr`", "EVENT `ev`"):
        assert obj in text, obj
    assert text.rstrip().endswith("-- Dump completed on " + text.rstrip().split("-- Dump completed on ")[-1])
    # a restarted halyard knows its last full backup from the manifests
    h.stop()
    start_halyard(conf)
    assert metric(conf["metrics_port"], "halyard_backup_full_last_success_timestamp_seconds") > 0
    print(f"\nfull backup of {src}: {len(data)} bytes gzip, {seen_drained} checks while drained")
    cluster.sql(0, f"DROP TABLE {table}")  # later tests' backups need not carry it
    cluster.sync()


def test_full_backup_failure_leaves_no_file(cluster, start_halyard, tmp_path):
    """A backup whose account cannot log in leaves no file that looks
    complete, says why (in halyardctl's answer and show backup), and puts
    the replica back."""
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path, user="nobody"),
                             metrics_port=free_port())
    h = start_halyard(conf)
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()), 10)
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.returncode == 1 and r.stdout.startswith("OK backup full started"), r.stdout
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    assert "\nERR backup full refused: cannot check the privileges of backup account 'nobody' " \
        f"on {src}: login: error 1045" in r.stdout, r.stdout
    s = show_backup(conf)
    assert s["full_state"] == "failed" and "'nobody'" in s["full_error"], s
    assert full_files(tmp_path) == []
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10)
    assert h.alive()


def full_files(tmp_path):
    """The backups and manifests in backup.dir/full, finished or not (the
    dump's standard error, .mariadb-dump.err, is not one)."""
    full = tmp_path / "archive" / "full"
    return sorted(n for n in os.listdir(full) if not n.startswith(".")) \
        if os.path.exists(full) else []


def test_full_backup_refused_for_an_account_that_cannot_read(cluster, start_halyard, tmp_path):
    """An account mariadb-dump would dump quietly less with is refused
    before the dump, the missing privileges named: `repl` (REPLICATION
    SLAVE only: its dump is ~2 KB with no schema, exit 0), one without
    TRIGGER (every trigger left out, exit 0), one whose privileges come
    from a role that is not its default. Roles enabled by default count."""
    for sql in ("DROP USER IF EXISTS 'bknotrg'@'%'", "DROP USER IF EXISTS 'bkrole'@'%'",
                "DROP ROLE IF EXISTS bkr", "DROP ROLE IF EXISTS bkr2",
                "CREATE USER 'bknotrg'@'%' IDENTIFIED BY 'x'",
                "GRANT SELECT, SHOW VIEW, EVENT, REPLICATION SLAVE ON *.* TO 'bknotrg'@'%'",
                "CREATE ROLE bkr", "CREATE ROLE bkr2",
                "GRANT SHOW VIEW, TRIGGER ON *.* TO bkr2", "GRANT bkr2 TO bkr",
                "GRANT SELECT, EVENT ON *.* TO bkr",
                "CREATE USER 'bkrole'@'%' IDENTIFIED BY 'x'", "GRANT bkr TO 'bkrole'@'%'",
                "GRANT REPLICATION SLAVE ON *.* TO 'bkrole'@'%'"):
        cluster.sql(0, sql)
    cluster.sync()
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path, user="repl",
                                                              password="repl"),
                             metrics_port=free_port())
    h = start_halyard(conf)
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()), 10)
    r = ctl(conf["admin_socket"], "backup", "full")
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    want = (f"backup account repl@% lacks SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* on {src}: "
            "mariadb-dump would leave out what it cannot read (it needs SELECT, SHOW VIEW, "
            "TRIGGER, EVENT ON *.*)")
    assert r.returncode == 1 and f"\nERR backup full refused: {want}" in r.stdout, r.stdout
    print(f"\nhalyardctl backup full as repl:\n{r.stdout}")
    s = show_backup(conf)
    assert s["full_state"] == "failed" and s["full_error"].startswith(want), s
    assert s["full_account"] == "" and s["full_failed"] == 1 and s["full_ok"] == 0, s
    assert re.search(r"ERROR.*backup full: " + re.escape(want), h.log_text()), h.log_tail()
    assert metric(conf["metrics_port"], 'halyard_backup_full_total{result="failed"}') == 1
    assert full_files(tmp_path) == []
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10, what=f"{src} back online")

    def backup_as(user):
        conf["backup"].update(user=user, password="x")
        h.reload(render_conf(cluster, h.port, conf))
        wait_until(lambda: admin_json(conf["admin_socket"], "show config")["backup.user"] == user,
                   10)
        return ctl(conf["admin_socket"], "backup", "full")

    r = backup_as("bknotrg")
    assert r.returncode == 1 and "backup account bknotrg@% lacks TRIGGER ON *.*" in r.stdout, \
        r.stdout
    # the role's privileges are not enabled at login until it is the default
    r = backup_as("bkrole")
    assert r.returncode == 1 and "backup account bkrole@% lacks SELECT, SHOW VIEW, TRIGGER, " \
        "EVENT ON *.*" in r.stdout, r.stdout
    cluster.sql(0, "SET DEFAULT ROLE bkr FOR 'bkrole'@'%'")
    cluster.sync()
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.returncode == 0 and "\nOK account bkrole@% holds" in r.stdout, r.stdout
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 60, interval=0.1)
    s = show_backup(conf)
    assert s["full_state"] == "ok" and s["full_failed"] == 3 and s["full_ok"] == 1, s
    assert [n for n in full_files(tmp_path) if n.endswith(".sql.gz")], full_files(tmp_path)


def test_full_backup_missing_a_schema_fails(cluster, start_halyard, tmp_path):
    """The dump's CREATE DATABASE lines must cover the source's schemas.
    Here the account is checked (it holds every privilege), then, while the
    backup waits for a read in flight on the drained replica, its global
    privileges are taken and it keeps them on one schema only: mariadb-dump
    exits 0 with that schema alone. The cross-check fails the backup, names
    the schemas missing, and leaves no file."""
    cluster.sql(0, "DROP USER IF EXISTS 'bkone'@'%'")
    cluster.sql(0, "CREATE USER 'bkone'@'%' IDENTIFIED BY 'x'")
    cluster.sql(0, "GRANT REPLICATION SLAVE, SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* "
                   "TO 'bkone'@'%'")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS bkonly")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS bkonly.t (id INT PRIMARY KEY)")
    make_table(cluster, "bk8")  # schema fo
    cluster.sync()
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path, user="bkone",
                                                              password="x"),
                             metrics_port=free_port())
    h = start_halyard(conf)
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()), 10)
    # node1 alone takes reads: a long one holds the backup in its drain wait
    r = ctl(conf["admin_socket"], "backend", "node2", "maint")
    assert r.returncode == 0, r.stdout + r.stderr
    done = []

    def sleeper():
        conn = pymysql.connect(**h.conn_params(autocommit=True))
        with conn.cursor() as cur:
            cur.execute("SELECT SLEEP(6)")
        conn.close()
        done.append(time.monotonic())

    t = threading.Thread(target=sleeper, daemon=True)
    t.start()
    wait_until(lambda: cluster.value(1, "SELECT COUNT(*) FROM information_schema.processlist "
                                        "WHERE info = 'SELECT SLEEP(6)'") == 1, 5,
               what="the read on node1")
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.returncode == 0 and "mariadb-dump of replica node1" in r.stdout, r.stdout
    assert "\nOK account bkone@% holds" in r.stdout, r.stdout
    assert not done, "the read ended before the privileges could change"
    cluster.sql(0, "REVOKE SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* FROM 'bkone'@'%'")
    cluster.sql(0, "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON bkonly.* TO 'bkone'@'%'")
    cluster.sync()
    assert not done, "the read ended before the privileges changed on node1"
    t.join(15)
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 60, interval=0.1)
    s = show_backup(conf)
    assert s["full_state"] == "failed", s
    err = s["full_error"]
    assert err.startswith("the dump holds no schema ") and "`mysql`" in err and "`fo`" in err \
        and "`bkonly`" not in err and "backup account bkone@% now lacks SELECT, SHOW VIEW, " \
        "TRIGGER, EVENT ON *.*" in err, err
    print(f"\ncross-check: {err}")
    assert full_files(tmp_path) == [], full_files(tmp_path)
    wait_until(lambda: backends(conf["admin_socket"])["node1"]["state"] == "ONLINE", 10)
    assert h.alive()


def test_backups_started_in_one_second_keep_both(cluster, start_halyard, tmp_path):
    """A backup's files are named by the second it started: one whose name
    is taken (a backup of the same type started in that second) is named
    STAMP-2, never written over the other's dump and manifest. The seconds
    the backup may start in are planted with files first, so the clash is
    certain, not a race."""
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path), metrics_port=free_port())
    start_halyard(conf)
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()), 10)
    full = tmp_path / "archive" / "full"
    full.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    planted = {}
    for t in range(now, now + 60):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
        for name in (f"full-{stamp}.json", f"full-{stamp}.sql.gz"):
            (full / name).write_text(f"planted {name}\n")
            planted[name] = f"planted {name}\n"
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.returncode == 0 and r.stdout.startswith("OK backup full started"), r.stdout + r.stderr
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 60)
    s = show_backup(conf)
    assert s["full_state"] == "ok", s
    for name, text in planted.items():  # untouched
        assert (full / name).read_text() == text, name
    made = [n for n in full_files(tmp_path) if n not in planted]
    assert any(re.fullmatch(r"full-\d{8}T\d{6}Z-2\.json", n) for n in made), made
    assert any(re.fullmatch(r"full-\d{8}T\d{6}Z-2\.sql\.gz", n) for n in made), made
    assert os.path.basename(s["full_file"]) in made, (s["full_file"], made)
