"""The full backup schedule (backup.full_every, full_window; src/backup/backup_sched.c)
and the second copy (backup.copy_to_dir, copy_command; src/backup/backup_copy.c)
against the real cluster.

    the schedule starts a full backup when none is younger than full_every,
    again full_every after the last one ended, never two at once;
    outside full_window it waits; a failed one is retried after
    min(full_every, 10 min), not in a loop, and raises backup_full_failed;
    every full backup and closed archive file is copied to copy_to_dir and
    read back: sha256 equal to the source's (and the manifest's);
    a missing copy_to_dir fails each copy, raises backup_copy_failed and
    the metric, halyard proxies on; the directory back, the copies are
    retried and made, backup_copy_ok;
    copy_command with copy_verify_command: sent, then safe; a command that
    fails is the same alarm;
    halyard -t names an unusable copy_to_dir (FILE:LINE: key: why);
    backup.full_max_age passed: backup_full_old and the metric, cleared by
    a complete backup (backup_full_ok).
"""

import hashlib
import json
import os
import re
import subprocess
import time

import pymysql
import pytest

from conftest import halyard_bin
from test_backup import backup_settings, show_backup
from test_failover import ctl, failover_settings, make_table
from util import admin_json, free_port, metric, wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def events(conf, name):
    return [e for e in admin_json(conf["admin_socket"], "show events")["events"]
            if e["event"] == name]


def start(cluster, start_halyard, tmp_path, **backup):
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'bk'@'%' IDENTIFIED BY 'bk'")
    cluster.sql(0, "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, BINLOG MONITOR, "
                   "REPLICATION SLAVE ON *.* TO 'bk'@'%'")
    cluster.sync()
    b = backup_settings(tmp_path, user="bk", password="bk")
    b.update(backup)
    conf = failover_settings(tmp_path, backup=b, metrics_port=free_port())
    h = start_halyard(conf)
    return h, conf


def close_a_binlog(cluster, conf, table, n=20):
    """Rows, a rotation of the primary's binary log (the archive's file
    ends), rows again: the archive's first file is closed."""
    for i in range(n):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 1)")
    # "streaming" comes at the dump's start, the file with its first event:
    # read the file name before it was opened and the copy that fails is
    # not the one looked for (CI: first == "", the failed copy binlog.000001)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming" and
               show_backup(conf)["file"] != "", 15,
               what=f"the archive to stream into a file: {show_backup(conf)}")
    first = show_backup(conf)["file"]
    cluster.sql(0, "FLUSH BINARY LOGS")
    cluster.sql(0, f"INSERT INTO {table} VALUES ({n}, 1)")
    wait_until(lambda: show_backup(conf)["file"] not in ("", first), 15,
               what=f"the archive's next file: {show_backup(conf)}")
    return first


def test_schedule_and_copy_to_dir(cluster, start_halyard, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    h, conf = start(cluster, start_halyard, tmp_path, full_every="4s", copy_to_dir=str(copy))
    table = make_table(cluster, "bs1")
    # no full backup in backup.dir: the first tick starts one
    wait_until(lambda: show_backup(conf)["full_ok"] >= 1, 60,
               what=f"a scheduled full backup: {show_backup(conf)}")
    first = close_a_binlog(cluster, conf, table)
    t_closed = time.monotonic()
    wait_until(lambda: any(c["name"] == first and c["copy"] == "safe"
                           for c in show_backup(conf)["copies"]), 15,
               what=f"the closed archive file copied: {show_backup(conf)}")
    copy_latency = time.monotonic() - t_closed
    # full_every after the first ended, a second one
    wait_until(lambda: show_backup(conf)["full_ok"] >= 2, 60,
               what=f"the second scheduled full backup: {show_backup(conf)}")
    s = show_backup(conf)
    assert s["full_scheduled"] >= 2 and s["full_failed"] == 0, s
    full = tmp_path / "archive" / "full"
    mans = sorted((json.loads((full / n).read_text()) for n in os.listdir(full)
                   if n.endswith(".json")), key=lambda m: m["started"])
    assert len(mans) >= 2
    for a, b in zip(mans, mans[1:]):
        ta = time.mktime(time.strptime(a["finished"], "%Y-%m-%dT%H:%M:%SZ"))
        tb = time.mktime(time.strptime(b["started"], "%Y-%m-%dT%H:%M:%SZ"))
        assert tb - ta >= 4, (a, b)  # never before full_every, never two at once
    assert events(conf, "backup_full_started")
    # every full backup (and its manifest) and the closed archive file:
    # copied, read back, the same sha256
    names = {m["file"] for m in mans}

    def all_safe():
        s = show_backup(conf)
        got = {c["name"]: c for c in s["copies"]}
        want = {"full/" + n for n in names} | {first}
        if not want <= set(got) or any(got[n]["copy"] != "safe" for n in want):
            return None
        return got
    got = wait_until(all_safe, 30, what=f"the copies: {show_backup(conf)}")
    for m in mans:
        src = full / m["file"]
        dst = copy / "full" / m["file"]
        assert sha(dst) == sha(src) == m["sha256"] == got["full/" + m["file"]]["sha256"]
        man = m["file"].replace(".sql.gz", ".json")
        assert (copy / "full" / man).read_bytes() == (full / man).read_bytes()
    src = tmp_path / "archive" / first
    assert sha(copy / first) == sha(src) == got[first]["sha256"]
    assert got[first]["kind"] == "binlog"
    # the file being written is not copied
    assert show_backup(conf)["file"] not in got
    assert not [n for n in os.listdir(copy) if n.endswith(".partial")]
    s = show_backup(conf)
    assert s["copy_target"] == "dir" and s["copies_failed"] == 0, s
    assert metric(conf["metrics_port"], 'halyard_backup_copy_files{state="safe"}') == s["copies_safe"]
    assert metric(conf["metrics_port"], 'halyard_backup_copy_files{state="failed"}') == 0
    assert metric(conf["metrics_port"], "halyard_backup_full_scheduled_total") >= 2
    # a restart does not copy again what copies.log says is safe
    before = {n: os.stat(copy / n).st_mtime_ns for n in [first]}
    h.stop()
    h = start_halyard(conf)
    wait_until(lambda: any(c["name"] == first and c["copy"] == "safe"
                           for c in show_backup(conf)["copies"]), 15)
    assert os.stat(copy / first).st_mtime_ns == before[first]
    print(f"\nscheduled full backups: {len(mans)}; copies safe: {show_backup(conf)['copies_safe']}; "
          f"a closed archive file safe (copied, read back) {copy_latency:.2f} s after its rotation")


def test_window_and_failed_retry(cluster, start_halyard, tmp_path):
    # a window that excludes now (UTC): nothing starts
    now = time.gmtime()
    a = (now.tm_hour + 2) % 24
    window = f"{a:02d}:00-{(a + 1) % 24:02d}:00"
    h, conf = start(cluster, start_halyard, tmp_path, full_every="2s", full_window=window)
    time.sleep(3)
    s = show_backup(conf)
    assert s["full_state"] == "none" and s["full_schedule"] == "outside_window", s
    assert s["full_scheduled"] == 0
    h.stop()
    # a backup that fails (the server refuses the login): retried every
    # full_every (2 s), not once a tick, and each failure is an event
    conf["backup"]["user"] = "nobody"
    conf["backup"]["full_window"] = ""
    h = start_halyard(conf)
    wait_until(lambda: show_backup(conf)["full_failed"] >= 1, 30,
               what=f"the first failure: {show_backup(conf)}")
    t0 = time.monotonic()
    n0 = show_backup(conf)["full_failed"]
    time.sleep(7)
    n = show_backup(conf)["full_failed"] - n0
    elapsed = time.monotonic() - t0
    # at most one attempt per 2 s (each takes a little time too), and it retried
    assert 1 <= n <= elapsed / 2 + 1, (n, elapsed)
    assert show_backup(conf)["full_schedule"] in ("retry_wait", "running"), show_backup(conf)
    assert events(conf, "backup_full_failed")
    # proxying is not touched
    conn = pymysql.connect(**h.conn_params())
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()


def test_copy_failure_alarm_and_recovery(cluster, start_halyard, tmp_path):
    missing = tmp_path / "mnt" / "copy"
    h, conf = start(cluster, start_halyard, tmp_path, copy_to_dir=str(missing))
    # halyard -t names it
    r = subprocess.run([halyard_bin(), "-t", "-c", h.conf_path], capture_output=True, text=True)
    assert r.returncode == 1
    assert re.search(r"\.conf:\d+: backup\.copy_to_dir: .*mnt/copy: No such file or directory",
                     r.stderr), r.stderr
    table = make_table(cluster, "bs3")
    first = close_a_binlog(cluster, conf, table)
    wait_until(lambda: show_backup(conf)["copies_failed"] >= 1, 15,
               what=f"the copy to fail: {show_backup(conf)}")
    s = show_backup(conf)
    item = [c for c in s["copies"] if c["name"] == first][0]
    assert item["copy"] == "failed" and "No such file or directory" in item["error"], item
    assert "No such file or directory" in s["copy_last_error"]
    ev = events(conf, "backup_copy_failed")
    assert len(ev) == 1 and first in ev[0]["reason"], ev
    assert metric(conf["metrics_port"], 'halyard_backup_copy_files{state="failed"}') >= 1
    assert metric(conf["metrics_port"], 'halyard_backup_copy_total{result="failed"}') >= 1
    # retention keeps the file until it is copied
    # halyard proxies on
    conn = pymysql.connect(**h.conn_params(autocommit=True))
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        assert cur.fetchone()[0] >= 20
    conn.close()
    # not retried in a loop: 5 s, then 10 s
    time.sleep(3)
    assert [c for c in show_backup(conf)["copies"] if c["name"] == first][0]["attempts"] <= 2
    # the directory comes back: the copy is retried and made
    missing.mkdir(parents=True)
    wait_until(lambda: [c for c in show_backup(conf)["copies"] if c["name"] == first][0]["copy"]
               == "safe", 30, what=f"the retried copy: {show_backup(conf)}")
    assert sha(missing / first) == sha(tmp_path / "archive" / first)
    wait_until(lambda: events(conf, "backup_copy_ok"), 10)
    assert metric(conf["metrics_port"], 'halyard_backup_copy_files{state="failed"}') == 0
    # a file where the directory should be: -t says so
    notdir = tmp_path / "file"
    notdir.write_text("x")
    bad = tmp_path / "bad.conf"
    bad.write_text(open(h.conf_path).read().replace(str(missing), str(notdir)))
    r = subprocess.run([halyard_bin(), "-t", "-c", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "backup.copy_to_dir" in r.stderr and "not a directory" in r.stderr


def test_copy_command_and_verify(cluster, start_halyard, tmp_path):
    remote = tmp_path / "remote"
    remote.mkdir()
    flag = tmp_path / "fail"
    flag.write_text("")  # while it exists, the command fails
    cmd = f"test ! -e {flag} || {{ echo refused by the target >&2; exit 3; }}; cp %f {remote}/"
    verify = (f"test \"$(sha256sum < {remote}/$(basename %n) | cut -d' ' -f1)\" = %s")
    h, conf = start(cluster, start_halyard, tmp_path, copy_command=cmd, copy_verify_command=verify)
    table = make_table(cluster, "bs4")
    first = close_a_binlog(cluster, conf, table)
    wait_until(lambda: show_backup(conf)["copies_failed"] >= 1, 15,
               what=f"the command to fail: {show_backup(conf)}")
    item = [c for c in show_backup(conf)["copies"] if c["name"] == first][0]
    assert "copy_command exit 3: refused by the target" in item["error"], item
    # the event may follow the count shown (CI: [] right after copies_failed 1)
    wait_until(lambda: events(conf, "backup_copy_failed"), 5, what="backup_copy_failed")
    os.unlink(flag)
    wait_until(lambda: [c for c in show_backup(conf)["copies"] if c["name"] == first][0]["copy"]
               == "safe", 30, what=f"the retried copy: {show_backup(conf)}")
    assert sha(remote / first) == sha(tmp_path / "archive" / first)
    assert show_backup(conf)["copy_target"] == "command+verify"
    # a copy the verify command finds different: failed, not safe
    os.unlink(remote / first)
    (tmp_path / "archive" / "copies.log").write_text("")  # forget: copy again at restart
    h.stop()
    conf["backup"]["copy_command"] = f"echo x > {remote}/$(basename %n)"
    h = start_halyard(conf)
    wait_until(lambda: any(c["name"] == first and c["copy"] == "failed"
                           for c in show_backup(conf)["copies"]), 20,
               what=f"the verify to fail: {show_backup(conf)}")
    item = [c for c in show_backup(conf)["copies"] if c["name"] == first][0]
    assert "copy_verify_command exit 1" in item["error"], item


def test_full_too_old_alarm(cluster, start_halyard, tmp_path):
    """backup.full_max_age without a schedule: no full backup for longer
    than that raises backup_full_old (and the metric); a complete one
    clears it (backup_full_ok)."""
    h, conf = start(cluster, start_halyard, tmp_path, full_max_age="3s")
    t0 = time.monotonic()
    wait_until(lambda: events(conf, "backup_full_old"), 10, what="backup_full_old")
    assert time.monotonic() - t0 >= 2.5  # not before the limit (halyard's start is its base)
    ev = events(conf, "backup_full_old")
    assert len(ev) == 1 and "no complete full backup" in ev[0]["reason"], ev
    assert metric(conf["metrics_port"], "halyard_backup_full_too_old") == 1
    s = show_backup(conf)
    assert s["full_too_old"] is True and s["full_max_age_s"] == 3, s
    assert s["full_schedule"] == "off" and s["full_scheduled"] == 0
    r = ctl(conf["admin_socket"], "backup", "full")
    assert r.stdout.startswith("OK "), r.stdout + r.stderr
    wait_until(lambda: events(conf, "backup_full_ok"), 60,
               what=f"backup_full_ok: {show_backup(conf)}")
    assert show_backup(conf)["full_state"] == "ok"
    assert metric(conf["metrics_port"], "halyard_backup_full_too_old") == 0
    # it is raised once per streak, and again when the new one ages
    wait_until(lambda: len(events(conf, "backup_full_old")) == 2, 10)
    assert "ended" in events(conf, "backup_full_old")[-1]["reason"]


def test_retention_waits_for_the_copy(cluster, start_halyard, tmp_path):
    """A closed archive file older than binlog_retention stays while its
    second copy fails; once copied it goes, at once (not at the next
    minute's pass). One copied but still young when halyard stops goes at
    the next start once it is old: the ledger (copies.log) says it was
    copied."""
    missing = tmp_path / "copy"
    h, conf = start(cluster, start_halyard, tmp_path, copy_to_dir=str(missing),
                    binlog_retention="1h")
    table = make_table(cluster, "bs6")
    first = close_a_binlog(cluster, conf, table)
    wait_until(lambda: show_backup(conf)["copies_failed"] >= 1, 15)
    path = tmp_path / "archive" / first
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    h.stop()
    h = start_halyard(conf)  # retention runs at start
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    wait_until(lambda: show_backup(conf)["copies_failed"] >= 1, 15)
    time.sleep(1)
    assert path.exists() and show_backup(conf)["files_removed"] == 0, show_backup(conf)
    missing.mkdir()
    wait_until(lambda: any(c["name"] == first and c["copy"] == "safe"
                           for c in show_backup(conf)["copies"]), 30)
    wait_until(lambda: show_backup(conf)["files_removed"] >= 1, 5,
               what=f"the copied file removed: {show_backup(conf)}")
    assert not path.exists() and (missing / first).exists()
    # a second file, copied while young, aged while halyard is down
    second = close_a_binlog(cluster, conf, make_table(cluster, "bs6b"), n=5)
    wait_until(lambda: any(c["name"] == second and c["copy"] == "safe"
                           for c in show_backup(conf)["copies"]), 30)
    time.sleep(1)
    assert show_backup(conf)["files_removed"] == 1, show_backup(conf)
    h.stop()
    path = tmp_path / "archive" / second
    for f in (tmp_path / "archive").glob("binlog.*"):  # the oldest first: all up to it
        if f.name <= second:
            os.utime(f, (time.time() - 7200, time.time() - 7200))
    start_halyard(conf)
    wait_until(lambda: show_backup(conf)["files_removed"] >= 1, 15,
               what=f"the file copied before the restart removed: {show_backup(conf)}")
    assert not path.exists() and (missing / second).exists()


def test_reload_applies_schedule_and_target(cluster, start_halyard, tmp_path):
    """A reload (halyardctl reload) turns the schedule on and moves the copy
    target: the files are copied again to the new one (copies.log is per
    target)."""
    a, b = tmp_path / "copy-a", tmp_path / "copy-b"
    a.mkdir()
    b.mkdir()
    h, conf = start(cluster, start_halyard, tmp_path, copy_to_dir=str(a))
    table = make_table(cluster, "bs7")
    first = close_a_binlog(cluster, conf, table)
    wait_until(lambda: (a / first).exists() and show_backup(conf)["copies_safe"] >= 1, 15)
    time.sleep(2)
    assert show_backup(conf)["full_schedule"] == "off" and show_backup(conf)["full_ok"] == 0
    text = open(h.conf_path).read()
    assert str(a) in text and "full_every" not in text
    text = text.replace(str(a), str(b)).replace("copy_to_dir", 'full_every = "1h";\n  copy_to_dir', 1)
    open(h.conf_path, "w").write(text)
    r = ctl(conf["admin_socket"], "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_until(lambda: show_backup(conf)["full_ok"] >= 1, 60,
               what=f"the scheduled backup after the reload: {show_backup(conf)}")
    wait_until(lambda: (b / first).exists() and show_backup(conf)["copy_to"] == str(b)
               and show_backup(conf)["copies_safe"] >= 2, 30,
               what=f"the copies to the new target: {show_backup(conf)}")
    assert sha(b / first) == sha(a / first)
    assert show_backup(conf)["full_scheduled"] == 1
