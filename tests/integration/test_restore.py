"""`halyardctl restore` (src/backup/restore.c, src/backup/restore_run.c): point-in-time
restore from a full backup and the binlog archive into a fresh server.

    a restore to a GTID between two known transactions into a fresh
    standalone server (tools/cluster with no replica, on
    HALYARD_TEST_PORT+60): CHECKSUM TABLE and the rows equal what the
    primary had at that GTID, and the restore time is printed;
    --dry-run prints the plan (backup, its GTID, binlog files, range) and
    leaves the server alone; a second restore into it is refused (not
    empty);
    refusals: a time before the first backup; a gap (an archived file
    removed or cut short), naming the missing GTIDs and the file;
    a restore to a position (--to-position) of a source whose binary log
    interleaves three GTID domains: each domain up to its GTID, a
    transaction past it in its domain left out though logged before the
    other domain's last (a server of its own on HALYARD_TEST_PORT+140, so
    the shared cluster's log stays in one domain).
"""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import TEST_PORT
from test_backup import archive_files, backup_settings, show_backup, wait_archived
from test_failover import ctl, failover_settings, make_table
from util import Cluster, free_port, run_on_pty, wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode

HALYARDCTL = os.environ.get("HALYARDCTL_BIN", "build/halyardctl")
RESTORE_USER, RESTORE_PW = "restorer", "restorer-pw"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A fresh standalone server (a primary with no replica), for restores."""
    base = str(tmp_path_factory.mktemp("scratch"))
    c = Cluster(base, TEST_PORT + 60, replicas=0, tls=False)
    c.start()
    yield c
    c.tool("destroy", check=False)


def reset_scratch(s):
    """Back to empty: no user schema (the accounts stay)."""
    for (db,) in s.sql(0, "SELECT schema_name FROM information_schema.schemata WHERE schema_name "
                          "NOT IN ('mysql','information_schema','performance_schema','sys')"):
        s.sql(0, f"DROP DATABASE `{db}`")
    s.sql(0, "RESET MASTER")


def restorer(cluster_or_scratch):
    cluster_or_scratch.sql(0, f"CREATE USER IF NOT EXISTS '{RESTORE_USER}'@'%' "
                              f"IDENTIFIED BY '{RESTORE_PW}'")
    cluster_or_scratch.sql(0, f"GRANT ALL ON *.* TO '{RESTORE_USER}'@'%' WITH GRANT OPTION")


def restore(conf, pwfile, *args, user=RESTORE_USER, env=None):
    return subprocess.run([HALYARDCTL, "-c", conf["_path"], "restore", *args,
                           "--user", user, "--password-file", str(pwfile)],
                          capture_output=True, text=True, timeout=300, env=env)


def restore_on_pty(conf, pwfile, *args):
    """restore() with stdout (and stderr) a pseudo-terminal: (exit status,
    what it drew)."""
    return run_on_pty([HALYARDCTL, "-c", conf["_path"], "restore", *args, "--user",
                       RESTORE_USER, "--password-file", str(pwfile)])


def full_backup(conf):
    """backup full --wait: halyardctl follows the backup to its end; into a
    pipe its phase line, the outcome and the totals."""
    r = ctl(conf["admin_socket"], "backup", "full", "--wait")
    assert r.returncode == 0, r.stdout + r.stderr
    s = show_backup(conf)
    assert s["full_state"] == "ok", s
    assert f"\nOK backup full done: {s['full_file']}, GTID {s['full_gtid']}\n" in r.stdout, r.stdout
    assert "\nphase: dumping\n" in r.stdout and re.search(
        r"^progress: done after 1 phase, [\d.]+ (B|KiB|MiB) in \d+s$", r.stdout, re.M), r.stdout
    return s


def table_state(conn_sql, table):
    return (conn_sql(f"CHECKSUM TABLE {table}")[0][1],
            conn_sql(f"SELECT id, w FROM {table} ORDER BY id"))


def prepare(cluster, start_halyard, tmp_path, table_name, **backup_extra):
    restorer(cluster)
    # the backup user must read every schema (repl, the archive's default, reads none)
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path, user=RESTORE_USER,
                                                              password=RESTORE_PW,
                                                              **backup_extra),
                             metrics_port=free_port())
    h = start_halyard(conf)
    conf["_path"] = str(h.conf_path)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, table_name)
    for i in range(50):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    cluster.sync()
    wait_archived(conf, cluster, 0)
    pw = tmp_path / "restore.pw"
    pw.write_text(RESTORE_PW + "\n")
    return h, conf, table, pw


def test_restore_to_a_gtid(cluster, start_halyard, tmp_path, scratch):
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "rs1")
    bk = full_backup(conf)
    # transactions after the backup: single rows, an update of many, a delete
    for i in range(50, 120):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, {i % 5})")
    cluster.sql(0, f"UPDATE {table} SET w = w + 10 WHERE id % 3 = 0")
    mid = cluster.value(0, "SELECT @@gtid_binlog_pos")
    want = table_state(lambda q: cluster.sql(0, q), table)
    # the next transactions must not be in the restore
    cluster.sql(0, f"DELETE FROM {table} WHERE id < 40")
    for i in range(120, 140):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 1)")
    wait_archived(conf, cluster, 0)
    into = f"127.0.0.1:{scratch.port(0)}"
    reset_scratch(scratch)
    restorer(scratch)

    # --dry-run: the plan, and the server untouched
    r = restore(conf, pw, "--to-gtid", mid, "--into", into, "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert os.path.basename(bk["full_file"]) in out and f"GTID {bk['full_gtid']}" in out, out
    files = [os.path.basename(f) for f in archive_files(conf["backup"]["dir"])]
    listed = re.search(r"binlog:\s+\d+ files?: (.*)", out).group(1).split()
    assert listed and set(listed) <= set(files), out
    d, s, n = (int(x) for x in mid.split("-"))
    d0, s0, n0 = (int(x) for x in bk["full_gtid"].split("-"))
    assert f"after {bk['full_gtid']} up to {mid}: {n - n0} transactions" in out, out
    assert "dry run" in out
    assert not scratch.sql(0, "SELECT 1 FROM information_schema.schemata WHERE schema_name='fo'")

    # the restore
    t0 = time.monotonic()
    r = restore(conf, pw, "--to-gtid", mid, "--into", into)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    done = r.stdout
    assert re.search(r"restored .* to GTID " + re.escape(mid) + r" in [\d.]+ s", r.stdout), r.stdout
    assert f"applied: {n - n0} transactions" in r.stdout, r.stdout
    # into a pipe its progress is one plain line per phase, in order, and the totals
    phases = re.findall(r"^phase: (.*?)(?: \([\d.]+ (?:B|KiB|MiB)\))?$", r.stdout, re.M)
    assert phases == ["reading the archive", "checking the backup", "loading the dump",
                      "replaying binlogs"], r.stdout
    assert re.search(r"^progress: done after 4 phases, [\d.]+ (B|KiB|MiB) in \d+s$", r.stdout,
                     re.M), r.stdout
    assert "\r" not in r.stdout and "\033" not in r.stdout
    got = table_state(lambda q: scratch.sql(0, q), table)
    assert got == want, f"restored {len(got[1])} rows, checksum {got[0]}; want {want[0]}"
    # the applied range went through the server's binary log with its GTIDs
    assert scratch.value(0, "SELECT @@gtid_binlog_pos") == mid

    # a second restore into it: refused, it is not empty
    r = restore(conf, pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 1 and "is not empty" in r.stderr and "fo" in r.stderr, r.stderr
    print(f"\nrestore of {n - n0} transactions after the backup: {took:.2f} s\n{done}")


def domain_writer(cluster, table):
    """write(domain, i): a row (i, domain) into `table` on the primary, its
    transaction in GTID domain `domain` (one root connection throughout)."""
    root = cluster.root_connect(0)

    def write(domain, i):
        with root.cursor() as cur:
            cur.execute(f"SET SESSION gtid_domain_id = {domain}")
            cur.execute(f"INSERT INTO {table} VALUES ({i}, {domain})")

    return write


@pytest.fixture
def domains_source(tmp_path_factory):
    """A one-server cluster of its own whose binary log the test writes in
    several GTID domains (the shared cluster's stays in one: other tests
    restore to its @@gtid_binlog_pos as one GTID)."""
    c = Cluster(str(tmp_path_factory.mktemp("domains")), TEST_PORT + 140, replicas=0, tls=False)
    c.start()
    yield c
    c.tool("destroy", check=False)


def test_restore_to_a_position(domains_source, tmp_path, scratch):
    """--to-position D-S-N,...: what a capture's start (rehearse --restore)
    asks of a server whose log has several domains. The transaction 5-x-3
    is logged before 7-x-3: a stop at the stream's point of 7-x-3 would
    apply it; the position leaves it out. Domain 9 is in the backup and
    does not move (before, naming it in mariadb-binlog's start position
    failed the replay: "never reached expected GTID state"); a --to-gtid
    restore of the same source shows that too."""
    from conftest import _halyard_factory
    src = domains_source
    gen = _halyard_factory(src, tmp_path)
    try:
        h, conf, table, pw = prepare(src, next(gen), tmp_path, "rp1")
        write = domain_writer(src, table)

        def domain_of(position, d):
            return [g for g in position.split(",") if g.startswith(f"{d}-")][0]

        write(9, 300)  # in the backup
        bk = full_backup(conf)
        for k in range(2):
            write(5, 100 + k)
            write(7, 200 + k)
        mid5 = domain_of(src.value(0, "SELECT @@gtid_binlog_pos"), 5)
        write(5, 102)  # past the target in its domain, logged before 7's last
        write(7, 202)
        write(9, 301)  # past the target in its domain
        end = wait_archived(conf, src, 0)
        nine = domain_of(bk["full_gtid"], 9)
        target = ",".join(mid5 if g.startswith("5-") else nine if g.startswith("9-") else g
                          for g in end.split(","))
        assert target.count(",") == 3 and mid5 in target and nine in target, (end, target)
        into = f"127.0.0.1:{scratch.port(0)}"
        reset_scratch(scratch)
        restorer(scratch)
        r = restore(conf, pw, "--to-position", target, "--into", into, "--dry-run")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"target:  position {target} (each domain up to its GTID, included)" in r.stdout
        assert "applied" not in r.stdout and "dry run" in r.stdout, r.stdout
        r = restore(conf, pw, "--to-position", target, "--into", into)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "applied: 5 transactions" in r.stdout, r.stdout  # 100, 200, 101, 201, 202
        got = scratch.sql(0, f"SELECT id, w FROM {table} WHERE id >= 100 ORDER BY id")
        assert got == [(100, 5), (101, 5), (200, 7), (201, 7), (202, 7), (300, 9)], got
        assert scratch.value(0, "SELECT @@gtid_binlog_pos") == target

        # one GTID (7's last): every transaction logged up to it, 5-x-3 too; 9 stays
        last7 = domain_of(end, 7)
        reset_scratch(scratch)
        restorer(scratch)
        r = restore(conf, pw, "--to-gtid", last7, "--into", into)
        assert r.returncode == 0, r.stdout + r.stderr
        got = scratch.sql(0, f"SELECT id FROM {table} WHERE id >= 100 ORDER BY id")
        assert got == [(100,), (101,), (102,), (200,), (201,), (202,), (300,)], got

        # malformed, or a domain named twice: refused before anything is read
        for bad in ("5-1", "0-1-3,0-1-4", "0-1-3,"):
            r = restore(conf, pw, "--to-position", bad, "--into", into)
            assert r.returncode == 2 and f"--to-position {bad}: want" in r.stderr, r.stderr
    finally:
        next(gen, None)


def test_restore_refusals(cluster, start_halyard, tmp_path, scratch):
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "rs2")
    into = f"127.0.0.1:{scratch.port(0)}"
    # no backup yet
    r = restore(conf, pw, "--to-gtid", cluster.value(0, "SELECT @@gtid_binlog_pos"),
                "--into", into, "--dry-run")
    assert r.returncode == 1 and "no full backup" in r.stderr, r.stderr
    time.sleep(1.1)
    before = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - 1))
    bk = full_backup(conf)
    # a time before the first backup
    r = restore(conf, pw, "--to-time", before, "--into", into, "--dry-run")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "before the first full backup" in r.stderr and os.path.basename(bk["full_file"]) \
        in r.stderr, r.stderr
    # a time after it: planned
    for i in range(50, 60):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    # the next transactions land in new archive files: each FLUSH rotates
    for k in range(3):
        cluster.sql(0, "FLUSH BINARY LOGS")
        for i in range(60 + 10 * k, 70 + 10 * k):
            cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 0)")
    end = wait_archived(conf, cluster, 0)
    files = archive_files(conf["backup"]["dir"])
    assert len(files) >= 3, files
    time.sleep(1.1)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    r = restore(conf, pw, "--to-time", now, "--into", into, "--dry-run")
    assert r.returncode == 0 and f"up to {end}:" in r.stdout, r.stdout + r.stderr
    # cut a middle file short: its last transactions are gone
    mid = files[-2]
    size = os.path.getsize(mid)
    data = open(mid, "rb").read()
    with open(mid, "r+b") as f:
        f.truncate(size - 200)
    r = restore(conf, pw, "--to-gtid", end, "--into", into, "--dry-run")
    assert r.returncode == 1, r.stdout + r.stderr
    m = re.search(r"refused: the archive has a gap: transactions? (\d+)-(\d+)( to \d+-\d+)? "
                  r"(is|are) missing before (binlog\.\d+)", r.stderr)
    assert m and m.group(5) == os.path.basename(files[-1]), r.stderr
    assert os.path.basename(mid) in r.stderr, r.stderr
    print("\n" + r.stderr)
    with open(mid, "wb") as f:
        f.write(data)
    r = restore(conf, pw, "--to-gtid", end, "--into", into, "--dry-run")
    assert r.returncode == 0, r.stderr
    # remove a whole file: the gap names the file after the hole
    os.rename(mid, mid + ".away")
    r = restore(conf, pw, "--to-time", now, "--into", into, "--dry-run")
    assert r.returncode == 1 and "the archive has a gap" in r.stderr and \
        os.path.basename(files[-1]) in r.stderr, r.stderr
    print(r.stderr)
    os.rename(mid + ".away", mid)
    # a GTID past the archive
    d, s, n = end.split("-")
    r = restore(conf, pw, "--to-gtid", f"{d}-{s}-{int(n) + 1000}", "--into", into, "--dry-run")
    assert r.returncode == 1 and "past the end of the archive" in r.stderr, r.stderr
    # a load the server refuses (an account that may only read): mariadb
    # stops at its first error while the dump is still being written to it
    reset_scratch(scratch)
    scratch.sql(0, f"CREATE USER IF NOT EXISTS 'weak'@'%' IDENTIFIED BY '{RESTORE_PW}'")
    scratch.sql(0, "GRANT SELECT ON *.* TO 'weak'@'%'")
    r = restore(conf, pw, "--to-gtid", end, "--into", into, user="weak")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "mariadb (loading the dump) exited with 1" in r.stderr and \
        "the load of " in r.stderr and "applied:" not in r.stdout, r.stderr
    # the server cannot be reached
    r = restore(conf, pw, "--to-gtid", end, "--into", f"127.0.0.1:{free_port()}")
    assert r.returncode == 1 and "asking 127.0.0.1" in r.stderr, r.stderr
    # usage
    r = restore(conf, pw, "--into", into)
    assert r.returncode == 2 and "--to-time" in r.stderr, r.stderr


def test_restore_to_a_time(cluster, start_halyard, tmp_path, scratch):
    """--to-time: every transaction logged before the time, none at or
    after it, over several archive files; the restore time of a larger
    range is printed."""
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "rs3")
    full_backup(conf)
    conn = cluster.root_connect(0)
    with conn.cursor() as cur:
        for i in range(50, 3050):
            cur.execute(f"INSERT INTO {table} VALUES ({i}, {i % 7})")
            if i % 1000 == 0:
                cur.execute("FLUSH BINARY LOGS")
        cur.execute(f"UPDATE {table} SET w = w * 2 WHERE id % 4 = 1")
        # the next whole second is the target: what follows is logged at or after it
        time.sleep(1.02 - time.time() % 1)
        target = time.strftime("%Y-%m-%d %H:%M:%S")
        pos = cluster.value(0, "SELECT @@gtid_binlog_pos")
        want = table_state(lambda q: cluster.sql(0, q), table)
        cur.execute(f"DELETE FROM {table} WHERE id > 1000")
        cur.execute(f"INSERT INTO {table} VALUES (99999, 1)")
    conn.close()
    wait_archived(conf, cluster, 0)
    reset_scratch(scratch)
    restorer(scratch)
    into = f"127.0.0.1:{scratch.port(0)}"
    t0 = time.monotonic()
    rc, out = restore_on_pty(conf, pw, "--to-time", target, "--into", into)
    took = time.monotonic() - t0
    assert rc == 0, out
    assert f"to GTID {pos} in" in out, (pos, out)
    assert re.search(r"applied: 3001 transactions from [2-9] binlog files", out), out
    # on a terminal: the progress line drawn in place (phase, bytes), no
    # phase lines, then the totals
    assert re.search(r"\r(reading the archive|checking the backup|loading the dump|replaying "
                     r"binlogs): [\d.]+ (B|KiB|MiB)", out), repr(out)
    assert "\033[K" in out and "phase: " not in out, repr(out)
    assert "progress: done after 4 phases" in out, repr(out)
    got = table_state(lambda q: scratch.sql(0, q), table)
    assert got == want, f"restored {len(got[1])} rows, checksum {got[0]}; want {want[0]}"
    print(f"\nrestore to {target}: {took:.2f} s\n{out!r}")
