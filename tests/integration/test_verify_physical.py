"""`halyardctl backup verify` of a backup taken with mariadb-backup
(src/backup/verify_server.c, src/backup/verify_run.c), against the real cluster:

    without backup.verify_server_command it refuses, naming the key, and
    touches nothing (the replica keeps replicating, nothing reported);
    a command that exits before its server answers fails the verify with
    its last line, and the scratch directory is removed;
    with it: the newest backup is extracted and prepared into a scratch
    datadir, the command starts a mariadbd there on verify_into, the
    archive is applied from the backup's GTID, CHECKSUM TABLE of every
    table equals a replica's stopped at the same GTID; after, the server's
    process group is gone, the scratch directory removed, the port closed,
    and show backup / the metrics have the result;
    a row changed on the replica alone (outside the binlog): the table is
    named, exit 1, verify_result differ, halyard_backup_verify_failed 1,
    and the scratch server is stopped and removed all the same.
"""
import os
import re
import subprocess
import time

import pytest

from conftest import TEST_PORT

from test_backup import show_backup, wait_archived
from test_backup_physical import run_full, start
from test_failover import make_table
from test_restore import HALYARDCTL, RESTORE_PW, RESTORE_USER
from test_verify import backend_of, replicating
from util import metric, port_accepts, wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode

MARIADBD = os.environ.get("HALYARD_MARIADBD", "/usr/sbin/mariadbd")
SCRATCH_PORT = TEST_PORT + 71


def server_command():
    user = "--user=root " if os.geteuid() == 0 else ""
    return (f"exec {MARIADBD} --no-defaults {user}--datadir=%d --port=%p --bind-address=%h "
            "--socket=%s --skip-slave-start --skip-log-bin --server-id=971 "
            "--innodb-buffer-pool-size=64M --skip-name-resolve")


def verify(conf_path, pwfile, *args):
    return subprocess.run([HALYARDCTL, "-c", conf_path, "backup", "verify", "--user",
                           RESTORE_USER, "--password-file", str(pwfile), *args],
                          capture_output=True, text=True, timeout=300)


def scratch_dirs(out):
    return re.findall(r"server:    removed (\S+)", out)


def test_verify_of_a_mariadb_backup_backup(cluster, start_halyard, tmp_path):
    assert not port_accepts(SCRATCH_PORT), f"port {SCRATCH_PORT} is taken"
    h, conf = start(cluster, start_halyard, tmp_path,
                    verify_into=f"127.0.0.1:{SCRATCH_PORT}",
                    verify_server_command=server_command())
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "pv1")
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 5 FROM fo.seq_1_to_20000")
    cluster.sync()
    r, _ = run_full(conf)
    s = show_backup(conf)
    assert s["full_state"] == "ok" and s["full_file"].endswith(".xb.gz"), s
    # after the backup: the archive carries these into the scratch server
    for i in range(20001, 20031):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 2)")
    cluster.sql(0, f"UPDATE {table} SET w = w + 10 WHERE id % 7 = 0")
    cluster.sync()
    wait_archived(conf, cluster, 0)
    pw = tmp_path / "restore.pw"
    pw.write_text(RESTORE_PW + "\n")
    name = backend_of(conf, cluster.port(1))["name"]

    # without the key: refused before anything is touched
    bare = tmp_path / "bare.conf"
    text = open(conf["_path"]).read()
    bare.write_text(re.sub(r"\n\s*verify_server_command = [^\n]*", "", text))
    assert "verify_server_command" not in bare.read_text()
    r = verify(str(bare), pw, "--replica", name)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "taken with mariadb-backup" in r.stderr and \
        "set backup.verify_server_command" in r.stderr, r.stderr
    assert r.stdout == "", r.stdout
    assert show_backup(conf)["verify_result"] == "none"
    assert replicating(cluster, 1)

    # a command that exits before the server answers: the wait ends there,
    # with its last line, and the scratch directory is removed
    bad = tmp_path / "bad.conf"
    bad.write_text(re.sub(r"verify_server_command = [^\n]*",
                          'verify_server_command = "echo no mariadbd here >&2; exit 3";', text))
    t0 = time.monotonic()
    r = verify(str(bad), pw, "--replica", name)
    assert r.returncode == 1, r.stdout + r.stderr
    assert time.monotonic() - t0 < 30
    assert "backup.verify_server_command exited with 3 before 127.0.0.1:" in r.stderr and \
        "no mariadbd here" in r.stderr, r.stderr
    dirs = scratch_dirs(r.stdout)
    assert len(dirs) == 1 and not os.path.exists(dirs[0]), r.stdout
    assert show_backup(conf)["verify_result"] == "failed"
    wait_until(lambda: replicating(cluster, 1), 15)

    # a pass
    t0 = time.monotonic()
    r = verify(conf["_path"], pw, "--replica", name)
    took = time.monotonic() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    m = re.search(r"verified at GTID (\d+-\d+-\d+): (\d+) tables identical, 0 differ", r.stdout)
    assert m, out
    g, n = m.group(1), int(m.group(2))
    applied = re.search(r"applied: (\d+) transactions", r.stdout)
    assert n >= 1 and "prepared:" in r.stdout and applied and int(applied.group(1)) >= 31, out
    assert "backup.verify_server_command started the server on" in r.stdout, out
    s = show_backup(conf)
    assert (s["verify_result"], s["verify_gtid"], s["verify_tables"], s["verify_differ"],
            s["verify_ok"]) == ("ok", g, n, 0, True), s
    assert metric(conf["metrics_port"], 'halyard_backup_verify_total{result="ok"}') == 1
    assert metric(conf["metrics_port"], "halyard_backup_verify_failed") == 0
    # the server is stopped and its directory gone
    dirs = scratch_dirs(r.stdout)
    assert len(dirs) == 1 and not os.path.exists(dirs[0]), r.stdout
    assert not port_accepts(SCRATCH_PORT)
    wait_until(lambda: backend_of(conf, cluster.port(1))["state"] == "ONLINE", 15)
    wait_until(lambda: replicating(cluster, 1), 15)
    print(f"\nverify of a mariadb-backup backup: {took:.2f} s\n{r.stdout}")

    # a row changed on the replica alone: the table is named
    conn = cluster.root_connect(1)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"UPDATE {table} SET w = w + 100 WHERE id = 7")
        conn.commit()
        r = verify(conf["_path"], pw, "--replica", name)
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert "differs: `fo`.`pv1` (CHECKSUM TABLE" in r.stdout, out
        assert re.search(r"NOT verified at GTID \d+-\d+-\d+: 1 of \d+ tables differ", r.stdout), \
            out
        s = show_backup(conf)
        assert (s["verify_result"], s["verify_differ"], s["verify_ok"]) == ("differ", 1, False), s
        assert metric(conf["metrics_port"], "halyard_backup_verify_failed") == 1
        assert metric(conf["metrics_port"], "halyard_backup_verify_tables_differ") == 1
        dirs = scratch_dirs(r.stdout)
        assert len(dirs) == 1 and not os.path.exists(dirs[0]), r.stdout
        assert not port_accepts(SCRATCH_PORT)
        wait_until(lambda: backend_of(conf, cluster.port(1))["state"] == "ONLINE", 15)
        wait_until(lambda: replicating(cluster, 1), 15)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {table} SET w = w - 100 WHERE id = 7")
        conn.commit()
        conn.close()
        cluster.sql(0, f"DROP TABLE {table}")
        cluster.sync()
