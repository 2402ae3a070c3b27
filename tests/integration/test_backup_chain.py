"""Incremental and differential physical backups (src/backup/backup_chain.c)
and the restore of a chain, against the real cluster:

    `backup full`, writes, `backup incr`, writes, `backup diff`, writes,
    `backup incr`: each from the same drained replica; the manifests say
    type, parent (an incr's the newest backup, a diff's the newest full),
    from_lsn = the parent's to_lsn <= to_lsn, and the GTID; each
    incremental is smaller than the full;
    `restore --dry-run` to a point inside each stretch names the chain it
    would prepare (full + incr; full + diff + incr);
    `backup verify` restores the whole newest chain (full, diff, incr, each
    prepared onto the datadir with --incremental-dir) and the archive into
    a scratch server: CHECKSUM TABLE of every table equals a replica's;
    the source changed (the chain's server drained): `backup incr` takes a
    full instead, says why, and sends backup_chain_new;
    `backup list` shows each backup's type and parent;
    the chain is zstd and encrypted: a byte flipped in the last
    incremental (its manifest's sha256 made to match) makes the restore
    refuse before anything is written, naming that file;
    backup.full_keep = 2 (backup_retain.c): full, incr, full, incr, full
    leaves the last two chains, in backup.dir and in copy_to_dir, and
    backup list's window starts at the oldest kept full.
"""
import hashlib
import json
import os
import re
import subprocess
import time

import pytest

from test_backup import full_files, show_backup, wait_archived
from test_backup_copy import events
from test_backup_crypt import key_file
from test_backup_physical import start
from test_failover import ctl, make_table
from test_restore import HALYARDCTL, RESTORE_PW, restore
from test_verify import backend_of
from test_verify_physical import SCRATCH_PORT, server_command, verify
from util import metric, port_accepts, wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode


def checkpoint(cluster):
    """Each server flushes its dirty pages and checkpoints: a backup's
    to_lsn is the checkpoint its copy started from, and an idle test server
    never checkpoints on its own, so its incrementals would carry every page
    written since it started."""
    for i in range(3):
        cluster.sql(i, "SET GLOBAL innodb_max_dirty_pages_pct = 0")
        try:
            wait_until(lambda: int(cluster.value(
                i, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                   "WHERE VARIABLE_NAME = 'INNODB_CHECKPOINT_AGE'")) < 65536, 30,
                what=f"node{i} checkpointed")
        finally:
            cluster.sql(i, "SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT")


def take(conf, kind, *opts, first=False):
    # A schedule with no full taken yet is due at once (backup_sched.c): its
    # full may be running when the test asks for one; the test's runs after.
    # first: the test wants the first full and no other: the schedule's, if
    # it began first, is that one (a second, the test's, would make two).
    deadline = time.monotonic() + 120
    while True:
        r = ctl(conf["admin_socket"], "backup", kind, *opts)
        if "a backup is running" not in r.stdout or time.monotonic() > deadline:
            break
        wait_until(lambda: show_backup(conf)["full_state"] != "running", 120, interval=0.05)
        if first:
            break
    assert r.returncode == 0 or (first and "a backup is running" in r.stdout), r.stdout + r.stderr
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 120, interval=0.05)
    s = show_backup(conf)
    assert s["full_state"] == "ok", s
    man = re.sub(r"\.xb(\.\w+)*$", ".json", s["full_file"])
    return r.stdout, json.load(open(man)), s


def test_chain_backups_and_restore(cluster, start_halyard, tmp_path):
    assert not port_accepts(SCRATCH_PORT), f"port {SCRATCH_PORT} is taken"
    key = key_file(tmp_path, "chain.key", "ab" * 32)
    h, conf = start(cluster, start_halyard, tmp_path,
                    verify_into=f"127.0.0.1:{SCRATCH_PORT}",
                    verify_server_command=server_command(),
                    compression="zstd", encryption_key_file=key)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "ch1")
    # enough InnoDB pages that a copy of the changed ones is smaller than
    # the whole (every incremental also carries the non-InnoDB files whole)
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 5 FROM fo.seq_1_to_150000")
    cluster.sync()
    checkpoint(cluster)
    t0 = time.monotonic()
    out, full, _ = take(conf, "full")
    assert full["type"] == "full" and full["parent"] == "" and full["from_lsn"] == 0, full
    assert full["to_lsn"] > 0, full
    src = full["source"]

    def write(lo, hi):
        cluster.sql(0, f"INSERT INTO {table} SELECT seq, 3 FROM fo.seq_{lo}_to_{hi}")
        cluster.sql(0, f"UPDATE {table} SET w = w + 1 WHERE id BETWEEN {lo // 7} AND {lo // 7 + 200}")
        cluster.sync()
        checkpoint(cluster)

    write(150001, 150100)
    out, incr1, s = take(conf, "incr")
    assert out.startswith(f"OK backup incr started: mariadb-backup of replica {src}"), out
    assert s["full_type"] == "incr" and s["full_chain_note"] == "", s
    assert (incr1["type"], incr1["parent"], incr1["source"]) == ("incr", full["file"], src), incr1
    # to_lsn is the checkpoint the copy started from (its redo log carries
    # the rest): it does not move when no checkpoint ran meanwhile
    assert incr1["from_lsn"] == full["to_lsn"] <= incr1["to_lsn"], (full, incr1)
    g_incr1 = cluster.value(0, "SELECT @@gtid_binlog_pos")
    assert incr1["gtid"] == g_incr1, (incr1, g_incr1)
    write(150101, 150200)
    out, diff, _ = take(conf, "diff")
    assert (diff["type"], diff["parent"], diff["source"]) == ("diff", full["file"], src), diff
    assert diff["from_lsn"] == full["to_lsn"] <= incr1["to_lsn"] <= diff["to_lsn"], (incr1, diff)
    write(150201, 150300)
    out, incr2, _ = take(conf, "incr", "--wait")
    assert f"OK backup incr done: " in out and incr2["file"] in out, out
    assert (incr2["type"], incr2["parent"]) == ("incr", diff["file"]), incr2
    assert incr2["from_lsn"] == diff["to_lsn"] <= incr2["to_lsn"], (diff, incr2)
    took = time.monotonic() - t0
    sizes = ", ".join(f"{m['type']} {m['size']} bytes" for m in (incr1, diff, incr2))
    print(f"\nchain: full {full['size']} bytes; {sizes}; four backups in {took:.1f} s")
    for m in (incr1, diff, incr2):
        assert m["size"] < full["size"], (m, full)
    write(150301, 150400)
    wait_archived(conf, cluster, 0)

    # the chain a restore would prepare, for a point inside each stretch
    pw = tmp_path / "restore.pw"
    pw.write_text(RESTORE_PW + "\n")
    gtid = incr1["gtid"].split(",")[0]
    dom, sid, seq = gtid.split("-")
    r = restore(conf, pw, "--dry-run", "--to-gtid", f"{dom}-{sid}-{int(seq) + 1}",
                "--into", "127.0.0.1:1", "--datadir", str(tmp_path / "dd"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "chain:   2 backups" in r.stdout, r.stdout
    assert re.search(rf"1\. \S+/{full['file']} \(full", r.stdout), r.stdout
    assert re.search(rf"2\. \S+/{incr1['file']} \(incr", r.stdout), r.stdout
    r = restore(conf, pw, "--dry-run", "--to-gtid", cluster.value(0, "SELECT @@gtid_binlog_pos"),
                "--into", "127.0.0.1:1", "--datadir", str(tmp_path / "dd"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "chain:   3 backups" in r.stdout and f"3. " in r.stdout, r.stdout
    assert re.search(rf"2\. \S+/{diff['file']} \(diff", r.stdout), r.stdout
    assert re.search(rf"3\. \S+/{incr2['file']} \(incr", r.stdout), r.stdout
    print("\n" + r.stdout)

    # backup list: each one's type and parent
    r = subprocess.run([HALYARDCTL, "-c", conf["_path"], "backup", "list"],
                       capture_output=True, text=True, timeout=60)
    assert f"{incr2['file']}  incr  mariadb-backup" in r.stdout, r.stdout
    assert f"parent {diff['file']}" in r.stdout, r.stdout

    # the whole newest chain restored into the scratch server and compared
    name = backend_of(conf, cluster.port(1))["name"]
    r = verify(conf["_path"], pw, "--replica", name)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert re.search(r"verified at GTID \S+: \d+ tables identical, 0 differ", r.stdout), out
    assert r.stdout.count("extracted: ") == 3, out
    assert f"--incremental-dir=" in r.stdout and "chain:   3 backups" in r.stdout, out
    wait_until(lambda: backend_of(conf, cluster.port(1))["state"] == "ONLINE", 15)

    # a byte flipped in the last incremental, its manifest's sha256 made to
    # match: the restore refuses before it writes anything, naming the file
    path = os.path.join(os.path.dirname(show_backup(conf)["full_file"]), incr2["file"])
    assert path.endswith(".xb.zst.enc"), path
    mpath = re.sub(r"\.xb\.zst\.enc$", ".json", path)
    data, mtext = open(path, "rb").read(), open(mpath).read()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x01
    open(path, "wb").write(bytes(bad))
    open(mpath, "w").write(mtext.replace(incr2["sha256"], hashlib.sha256(bad).hexdigest()))
    dd = tmp_path / "dd"
    r = restore(conf, pw, "--to-gtid", cluster.value(0, "SELECT @@gtid_binlog_pos"),
                "--into", "127.0.0.1:1", "--datadir", str(dd))
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"refused: " + re.escape(path) + r": chunk \d+ \(bytes \d+ to \d+\) fails "
                     r"its AES-256-GCM tag", r.stderr), r.stderr
    assert not dd.exists() or not os.listdir(dd), os.listdir(dd)
    open(path, "wb").write(data)
    open(mpath, "w").write(mtext)
    cluster.sql(0, f"DROP TABLE {table}")
    cluster.sync()


def test_source_changed_starts_a_new_chain(cluster, start_halyard, tmp_path):
    h, conf = start(cluster, start_halyard, tmp_path)
    _, full, _ = take(conf, "full")
    src = full["source"]
    r = ctl(conf["admin_socket"], "backend", src, "drain")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        out, m, s = take(conf, "incr")
    finally:
        ctl(conf["admin_socket"], "backend", src, "online")
    assert out.startswith("OK backup full started: mariadb-backup of replica"), out
    assert f"the source changed: {full['file']} was taken from {src}" in out, out
    assert m["type"] == "full" and m["source"] != src and m["parent"] == "", m
    assert s["full_type"] == "full" and "the source changed" in s["full_chain_note"], s
    ev = events(conf, "backup_chain_new")
    assert ev and "the source changed" in ev[-1]["reason"], ev
    names = full_files(tmp_path)
    assert not [n for n in names if n.startswith("incr-")], names


def test_scheduled_incremental(cluster, start_halyard, tmp_path):
    """backup.incr_every: nothing before a full exists; after one, an
    incremental of it starts on its own (backup_full_started says which
    key), from the full's server; it is copied to the second place as the
    full is."""
    copy = tmp_path / "copy"
    copy.mkdir()
    h, conf = start(cluster, start_halyard, tmp_path, incr_every="2s", copy_to_dir=str(copy))
    time.sleep(2.5)
    assert full_files(tmp_path) == [], full_files(tmp_path)  # no full: no incr either
    _, full, _ = take(conf, "full")
    wait_until(lambda: [n for n in full_files(tmp_path) if n.startswith("incr-")
                        and n.endswith(".json")], 30, what="a scheduled incremental")
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 60, interval=0.05)
    name = sorted(n for n in full_files(tmp_path) if n.startswith("incr-") and n.endswith(".json"))[0]
    m = json.load(open(tmp_path / "archive" / "full" / name))
    assert (m["type"], m["parent"], m["source"]) == ("incr", full["file"], full["source"]), m
    ev = [e for e in events(conf, "backup_full_started") if "incr_every" in e["reason"]]
    assert ev and "backup incr started" in ev[0]["action"], events(conf, "backup_full_started")
    data = m["file"]
    wait_until(lambda: (copy / "full" / data).exists() and
               (copy / "full" / data).stat().st_size == m["size"], 30, what=f"{data} copied")


def copied(conf, copy, m):
    """Until backup m's data file is safe in copy_to_dir."""
    name = f"full/{m['file']}"
    wait_until(lambda: any(c["name"] == name and c["copy"] == "safe"
                           for c in show_backup(conf)["copies"]), 30, interval=0.1,
               what=f"{name} copied")


def test_retention_by_count(cluster, start_halyard, tmp_path):
    """full_keep = 2: after full, incr, full, incr, full the first chain is
    gone (backup.dir and its copy), the other two kept; backup_expired
    says how many files and bytes; backup list's window starts at the
    second full."""
    copy = tmp_path / "copy"
    copy.mkdir()
    h, conf = start(cluster, start_halyard, tmp_path, full_keep=2, copy_to_dir=str(copy))
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "rt1")
    taken = []
    for i, kind in enumerate(["full", "incr", "full", "incr", "full"]):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i + 1}, {i})")
        cluster.sync()
        out, m, _ = take(conf, kind, "--wait")
        assert m["type"] == kind, (out, m)
        taken.append(m)
        if i < 4:
            assert not events(conf, "backup_expired"), events(conf, "backup_expired")
            copied(conf, copy, m)
    full1, incr1, full2, incr2, full3 = taken
    assert incr1["parent"] == full1["file"] and incr2["parent"] == full2["file"], taken

    def names(m):
        return {m["file"], re.sub(r"\.xb(\.\w+)*$", ".json", m["file"])}

    kept = set().union(*(names(m) for m in (full2, incr2, full3)))
    gone = names(full1) | names(incr1)
    assert set(full_files(tmp_path)) == kept, full_files(tmp_path)
    ev = events(conf, "backup_expired")
    assert len(ev) == 1, ev
    size = sum(m["size"] for m in (full1, incr1))
    # four files in backup.dir, four copies: data files and manifests
    nbytes = int(re.search(r"8 files, (\d+) bytes", ev[0]["reason"]).group(1))
    assert "2 backups" in ev[0]["reason"] and nbytes > 2 * size, ev[0]
    assert full2["file"] in ev[0]["action"], ev[0]
    print(f"\nretention: {ev[0]['reason']}; {ev[0]['action']}")
    # the copy follows (full3's copy may still be on its way)
    wait_until(lambda: set(os.listdir(copy / "full")) == kept, 30, interval=0.1,
               what=f"copy_to_dir = {kept}: {sorted(os.listdir(copy / 'full'))}")
    assert not gone & set(os.listdir(copy / "full"))
    wait_archived(conf, cluster, 0)
    r = subprocess.run([HALYARDCTL, "-c", conf["_path"], "backup", "list", "--json"],
                       capture_output=True, text=True, timeout=60)
    lst = json.loads(r.stdout)
    assert [b["name"] for b in lst["backups"]] == [full2["file"], incr2["file"], full3["file"]], lst
    assert lst["window"][0]["from"] == full2["finished"], (lst, full2)
    assert lst["window"][0]["from_gtid"] == full2["gtid"], (lst, full2)


def test_chain_broken_and_window_short(cluster, start_halyard, tmp_path):
    """The policy held against the backups (backup_watch.c): two fulls taken
    by hand a moment apart where full_keep = 2 and full_every = 7d promise
    a week: backup_window_short, show backup's window_short and the
    metric; an incremental whose full is deleted: backup_chain_broken,
    chains_broken = 1 and its metric."""
    h, conf = start(cluster, start_halyard, tmp_path, full_keep=2, full_every="7d")
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "wb1")
    cluster.sql(0, f"INSERT INTO {table} VALUES (1, 1)")
    cluster.sync()
    # the first full: the schedule's when it began before the test asked
    # (CI: the test's came second, and two fulls raised window_short early)
    _, full1, _ = take(conf, "full", "--wait", first=True)
    wait_until(lambda: show_backup(conf)["full_schedule"] == "waiting", 10)
    cluster.sql(0, f"INSERT INTO {table} VALUES (2, 2)")
    cluster.sync()
    _, incr1, _ = take(conf, "incr", "--wait")
    assert incr1["parent"] == full1["file"], incr1
    assert not events(conf, "backup_window_short")  # one full: the schedule fills up
    _, full2, _ = take(conf, "full", "--wait")
    wait_until(lambda: events(conf, "backup_window_short"), 15, what="backup_window_short")
    ev = events(conf, "backup_window_short")[0]
    assert "promises 604800 s" in ev["reason"] and full1["file"] in ev["reason"], ev
    s = show_backup(conf)
    assert s["window_short"] and s["window_promised_s"] == 604800 and s["window_from"] == \
        full1["file"], s
    assert metric(conf["metrics_port"], "halyard_backup_window_short") == 1
    assert not events(conf, "backup_chain_broken")
    # the first full deleted by hand: its incremental cannot be restored
    d = tmp_path / "archive" / "full"
    os.unlink(d / full1["file"])
    os.unlink(d / re.sub(r"\.xb(\.\w+)*$", ".json", full1["file"]))
    take(conf, "incr", "--wait")  # after full2: its pass finds the broken chain
    wait_until(lambda: events(conf, "backup_chain_broken"), 15, what="backup_chain_broken")
    ev = events(conf, "backup_chain_broken")[0]
    assert "1 incremental" in ev["reason"], ev
    assert full1["file"] in ev["reason"], ev
    assert show_backup(conf)["chains_broken"] == 1
    assert metric(conf["metrics_port"], "halyard_backup_chains_broken") == 1
    assert len(events(conf, "backup_chain_broken")) == 1  # once per streak
