"""Full backups with backup.method = "mariadb-backup" (src/backup/backup_physical.c)
against the real cluster:

    `backup full` runs the default mariadb_backup_command against the best
    replica, drained while it runs and put back after; the xbstream is
    stored gzipped as full/full-TIME.xb.gz with a manifest (method
    mariadb-backup, the GTID from the stream's xtrabackup_binlog_info =
    the replica's position, size, sha256, source); mbstream extracts it and
    it holds the table's .ibd;
    a command that fails after writing part of a stream, and one whose
    output is not an xbstream, leave no file that looks complete and say
    why;
    halyardctl restore refuses such a backup without --datadir, naming its
    method, and a non-empty --datadir;
    a point-in-time restore from it into a fresh server's datadir
    (--datadir: extracted and prepared while the server is stopped, then
    the server started, then the archive applied from the manifest's GTID):
    CHECKSUM TABLE and the rows equal the primary's at the target GTID,
    and the restored server's binlog position is the target.
"""
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import pymysql
import pytest

from conftest import TEST_PORT

from test_backup import backup_settings, full_files, show_backup
from test_failover import ctl, failover_settings, make_table
from test_backup import wait_archived
from test_restore import HALYARDCTL, RESTORE_PW, RESTORE_USER, restore, restorer, table_state
from util import Cluster, admin_json, free_port, wait_until, backends

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode


def settings(tmp_path, **extra):
    # mariadb-backup needs RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR: the
    # restorer account (ALL) has them; the archive reads with it too
    return backup_settings(tmp_path, user=RESTORE_USER, password=RESTORE_PW,
                           method="mariadb-backup", **extra)


def start(cluster, start_halyard, tmp_path, **extra):
    restorer(cluster)
    cluster.sync()
    conf = failover_settings(tmp_path, backup=settings(tmp_path, **extra),
                             metrics_port=free_port())
    h = start_halyard(conf)
    conf["_path"] = str(h.conf_path)
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()), 10)
    return h, conf


def run_full(conf):
    t0 = time.monotonic()
    r = ctl(conf["admin_socket"], "backup", "full")
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 120, interval=0.05)
    return r, time.monotonic() - t0


def test_mariadb_backup_of_a_drained_replica(cluster, start_halyard, tmp_path):
    table = make_table(cluster, "pb1")
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 7 FROM fo.seq_1_to_200000")
    cluster.sync()
    h, conf = start(cluster, start_halyard, tmp_path)
    pos = cluster.value(0, "SELECT @@gtid_binlog_pos")
    r, took = run_full(conf)
    assert r.stdout.startswith("OK backup full started: mariadb-backup of replica node"), \
        r.stdout + r.stderr
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    # no SELECT-everything account check for this method: halyardctl claims none
    assert r.returncode == 0 and "OK account" not in r.stdout, r.stdout
    s = show_backup(conf)
    assert s["full_state"] == "ok", s
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10, what=f"{src} back online")
    full = tmp_path / "archive" / "full"
    names = full_files(tmp_path)
    data_files = [n for n in names if n.endswith(".xb.gz")]
    assert len(data_files) == 1 and not [n for n in names if n.endswith(".partial")], names
    path = full / data_files[0]
    assert str(path) == s["full_file"]
    data = path.read_bytes()
    man = json.loads((full / data_files[0].replace(".xb.gz", ".json")).read_text())
    assert man["method"] == "mariadb-backup" and man["compression"] == "gzip", man
    assert man["source"] == src and man["source_is_primary"] is False, man
    assert man["sha256"] == hashlib.sha256(data).hexdigest() == s["full_sha256"]
    assert man["size"] == len(data) == s["full_bytes"]
    # the replica's position when it was copied: the primary's, nothing written meanwhile
    assert man["gtid"] == pos == s["full_gtid"], (man, pos)
    assert man["started"] <= man["finished"]
    # the stream is mbstream's: it extracts, with the table's tablespace and the binlog info
    x = tmp_path / "x"
    x.mkdir()
    p = subprocess.run(["mbstream", "-x", "-C", str(x)], input=gzip.decompress(data),
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    info = (x / "xtrabackup_binlog_info").read_text().split("\t")
    assert info[2].strip() == pos, info
    # and mariadb-backup --prepare makes it a datadir (a table created since
    # the last checkpoint comes as pb1.new until then)
    p = subprocess.run(["mariadb-backup", "--prepare", f"--target-dir={x}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (x / "fo" / "pb1.ibd").exists(), sorted(os.listdir(x / "fo"))
    # halyardctl restore does not load it into a running server, and says why
    pw = tmp_path / "restore.pw"
    pw.write_text(RESTORE_PW + "\n")
    r = restore(conf, pw, "--to-gtid", pos.split(",")[0], "--into", "127.0.0.1:1")
    assert r.returncode != 0, r.stdout + r.stderr
    assert f"refused: {data_files[0]} was taken with mariadb-backup" in r.stderr, r.stderr
    assert "give --datadir DIR" in r.stderr, r.stderr
    # nor into a datadir that is not empty
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "ibdata1").write_text("x")
    r = restore(conf, pw, "--to-gtid", pos.split(",")[0], "--into", "127.0.0.1:1",
                "--datadir", str(busy))
    assert r.returncode == 1 and f"--datadir {busy} is not empty (it has ibdata1)" in r.stderr, \
        r.stdout + r.stderr
    print(f"\nmariadb-backup of {src}: {len(data)} bytes gzip in {took:.2f} s")
    cluster.sql(0, f"DROP TABLE {table}")
    cluster.sync()


def test_mariadb_backup_failures_leave_no_file(cluster, start_halyard, tmp_path):
    """A command cut short (part of a real stream, then exit 1) and one that
    writes something else (exit 0) both fail, leave nothing that looks
    complete, and put the replica back."""
    cut = ("mariadb-backup --backup --stream=xbstream --host=%h --port=%p --user=%u "
           "--target-dir=/tmp | head -c 300000; echo 'mariadb-backup: lost the source' >&2; "
           "exit 1")
    h, conf = start(cluster, start_halyard, tmp_path, mariadb_backup_command=cut)
    r, _ = run_full(conf)
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    s = show_backup(conf)
    assert s["full_state"] == "failed", s
    assert "mariadb-backup command exited with 1: mariadb-backup: lost the source" \
        in s["full_error"], s
    assert full_files(tmp_path) == []
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10)
    h.stop()
    (tmp_path / "b").mkdir()
    h, conf = start(cluster, start_halyard, tmp_path / "b",
                    mariadb_backup_command="echo '-- MariaDB dump 10.19; SELECT 1;'")
    run_full(conf)
    s = show_backup(conf)
    assert s["full_state"] == "failed" and "not an xbstream" in s["full_error"], s
    assert full_files(tmp_path / "b") == []


def test_mariadb_backup_command_killed_at_full_timeout(cluster, start_halyard, tmp_path):
    """A command that writes part of a real stream and then hangs is killed
    with its process group at backup.full_timeout: the backup fails naming
    the limit within it plus slack, no file is left (not even the
    .partial), nothing of the command survives, and the replica, drained
    while it ran, takes reads again."""
    marker = 900 + TEST_PORT % 97  # a sleep no other test runs
    hang = ("mariadb-backup --backup --stream=xbstream --host=%h --port=%p --user=%u "
            f"--target-dir=/tmp | head -c 300000; sleep {marker}")
    h, conf = start(cluster, start_halyard, tmp_path, mariadb_backup_command=hang,
                    full_timeout="3s")
    t0 = time.monotonic()
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.returncode == 0, r.stdout + r.stderr
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    # while it hangs: drained, and the .partial exists (part of a stream)
    wait_until(lambda: any(n.endswith(".partial") for n in full_files(tmp_path)), 3,
               interval=0.05, what="the .partial")
    assert backends(conf["admin_socket"])[src]["state"] == "DRAINING", backends(conf["admin_socket"])[src]
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 10, interval=0.05)
    took = time.monotonic() - t0
    s = show_backup(conf)
    assert s["full_state"] == "failed", s
    assert ("the mariadb-backup command did not finish within backup.full_timeout (3s): "
            "killed, with its process group") in s["full_error"], s
    assert 3.0 <= took < 5.0, took
    assert full_files(tmp_path) == []
    # the process group is gone: no shell, no sleep left behind
    left = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
        except OSError:
            continue
        if f"sleep {marker}".encode() in cmd:
            left.append((pid, cmd))
    assert not left, left
    # the replica is back in traffic: a read through halyard lands on it
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10, what=f"{src} back online")
    port = int(backends(conf["admin_socket"])[src]["address"].rsplit(":", 1)[1])
    seen = set()
    for _ in range(60):
        conn = pymysql.connect(**h.conn_params(autocommit=True))
        with conn.cursor() as cur:
            cur.execute("SELECT @@port")
            seen.add(cur.fetchone()[0])
        conn.close()
        if port in seen:
            break
    assert port in seen, (port, seen)
    print(f"\nkilled at backup.full_timeout = 3s: failed after {took:.2f} s")


def test_point_in_time_restore_into_a_datadir(cluster, start_halyard, tmp_path):
    h, conf = start(cluster, start_halyard, tmp_path)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "pb2")
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 5 FROM fo.seq_1_to_50000")
    cluster.sync()
    wait_archived(conf, cluster, 0)
    r, took_backup = run_full(conf)
    s = show_backup(conf)
    assert s["full_state"] == "ok" and s["full_file"].endswith(".xb.gz"), s
    # after the backup: rows, an update of many, then the target
    for i in range(50001, 50041):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 3)")
    cluster.sql(0, f"UPDATE {table} SET w = w + 10 WHERE id % 3 = 0")
    mid = cluster.value(0, "SELECT @@gtid_binlog_pos")
    want = table_state(lambda q: cluster.sql(0, q), table)
    # not in the restore
    cluster.sql(0, f"DELETE FROM {table} WHERE id < 1000")
    cluster.sql(0, f"INSERT INTO {table} VALUES (60000, 1)")
    wait_archived(conf, cluster, 0)
    d0, n0 = int(s["full_gtid"].split("-")[0]), int(s["full_gtid"].split("-")[2])
    n = int(mid.split("-")[2])
    assert n - n0 == 41 and d0 == 0, (s["full_gtid"], mid)

    # a fresh server, stopped, its datadir emptied
    scratch = Cluster(str(tmp_path / "scratch"), TEST_PORT + 70, replicas=0, tls=False)
    scratch.start()
    try:
        scratch.stop()
        datadir = scratch.node(0)["datadir"]
        shutil.rmtree(datadir)
        os.mkdir(datadir)
        into = f"127.0.0.1:{scratch.port(0)}"
        pw = tmp_path / "restore.pw"
        pw.write_text(RESTORE_PW + "\n")
        r = restore(conf, pw, "--to-gtid", mid, "--into", into, "--datadir", datadir,
                    "--dry-run")
        assert r.returncode == 0 and "it would extract and prepare" in r.stdout, \
            r.stdout + r.stderr
        assert os.listdir(datadir) == []
        t0 = time.monotonic()
        p = subprocess.Popen([HALYARDCTL, "-c", conf["_path"], "restore", "--to-gtid", mid,
                              "--into", into, "--datadir", datadir, "--user", RESTORE_USER,
                              "--password-file", str(pw)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = []
        for line in p.stdout:
            out.append(line)
            if line.startswith("waiting:"):
                break
        assert out and out[-1].startswith("waiting:"), "".join(out) + p.stderr.read()
        t_prepared = time.monotonic() - t0
        assert any(x.startswith("prepared:") for x in out), out
        assert os.path.exists(os.path.join(datadir, "fo", "pb2.ibd"))
        scratch.start()  # the operator's step: the server on the prepared datadir
        rest, err = p.communicate(timeout=300)
        took = time.monotonic() - t0
        out = "".join(out) + rest
        assert p.returncode == 0, out + err
        assert f"applied: {n - n0} transactions" in out, out
        assert re.search(r"restored .* to GTID " + re.escape(mid) + r" in [\d.]+ s", out), out
        got = table_state(lambda q: scratch.sql(0, q), table)
        assert got[0] == want[0] and got == want, \
            f"restored {len(got[1])} rows, checksum {got[0]}; want {want[0]}"
        assert scratch.value(0, "SELECT @@gtid_binlog_pos") == mid
        print(f"\nmariadb-backup {s['full_bytes']} bytes in {took_backup:.2f} s; restore: "
              f"extracted and prepared in {t_prepared:.2f} s, {took:.2f} s in all (with the "
              f"server's start)\n{out}")
    finally:
        scratch.destroy()
        cluster.sql(0, f"DROP TABLE {table}")
        cluster.sync()
