"""The archived binary log at rest (src/backup/archive_seal.c): with
backup.encryption_key_file, each archive file is sealed (AES-256-GCM,
backup_crypt.c's format) when the archive closes it, under the name
binlog.NNNNNN.KEYID.enc; the file being written stays in clear, mode 0600.

    the server's rotations close files: they are sealed, hold no row in
    clear, binlog.index names them, the live file is 0600;
    restore --to-gtid reads the sealed files (and the live one) and the
    scratch server equals the primary at that GTID (CHECKSUM TABLE);
    a byte flipped in a sealed file: the restore is refused naming the
    file, nothing loaded;
    the key rotated: the old key in decryption_key_files reads the old
    files, without it the restore names the missing key id;
    crash safety: an archive written in clear, then halyard started with
    a key seals every closed file but the newest at start; a seal cut
    short (a .partial left) or a clear file beside its sealed twin is
    settled at start; the archive goes on with no gap.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import pytest

from test_backup import show_backup, wait_archived
from test_backup_crypt import key_file
from test_failover import ctl
from test_restore import (HALYARDCTL, full_backup, prepare, reset_scratch, restore, restorer,  # noqa: F401
                          scratch, table_state)  # scratch: a fixture
from util import wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode

SEALED = re.compile(r"^binlog\.(\d{6})\.([0-9a-f]{16})\.enc$")
CLEAR = re.compile(r"^binlog\.(\d{6})$")


def listing(d):
    names = sorted(os.listdir(d))
    return ([n for n in names if SEALED.match(n)], [n for n in names if CLEAR.match(n)], names)


def checksums(sql, table):
    return sql(f"CHECKSUM TABLE {table}")


def test_archive_sealed_restored_tamper_refused(cluster, start_halyard, tmp_path, scratch):  # noqa: F811
    hexkey, newhex = "5a" * 32, "a5" * 32
    key = key_file(tmp_path, "arch.key", hexkey)
    new_key = key_file(tmp_path, "new.key", newhex)
    key_id = hashlib.sha256(bytes.fromhex(hexkey)).hexdigest()[:16]
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "ac1",
                                 encryption_key_file=key)
    d = conf["backup"]["dir"]
    full_backup(conf)
    for i in range(50, 120):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, {i % 3})")
    cluster.sql(0, "FLUSH BINARY LOGS")
    cluster.sql(0, f"UPDATE {table} SET w = w + 5 WHERE id % 4 = 0")
    mid = cluster.value(0, "SELECT @@gtid_binlog_pos")
    want = table_state(lambda q: cluster.sql(0, q), table)
    want_sum = checksums(lambda q: cluster.sql(0, q), table)
    cluster.sql(0, "FLUSH BINARY LOGS")
    cluster.sql(0, f"DELETE FROM {table} WHERE id < 30")
    wait_archived(conf, cluster, 0)
    # (a seal under way shows the clear file beside its sealed twin a moment)
    wait_until(lambda: len(listing(d)[0]) >= 2 and len(listing(d)[1]) == 1, 15,
               what=f"two sealed files: {listing(d)[2]}")
    sealed, clear, _ = listing(d)
    assert all(SEALED.match(n).group(2) == key_id for n in sealed), sealed
    assert len(clear) == 1 and int(CLEAR.match(clear[0]).group(1)) > \
        max(int(SEALED.match(n).group(1)) for n in sealed), (sealed, clear)
    assert os.stat(os.path.join(d, clear[0])).st_mode & 0o777 == 0o600
    for n in sealed:
        data = open(os.path.join(d, n), "rb").read()
        assert data[:8] == b"HYCRYPT1" and b"\xfebin" not in data[:64], n
        assert table.split(".")[-1].encode() not in data, n  # no row event names it in clear
    index = open(os.path.join(d, "binlog.index")).read().split()
    assert index == ["./" + n for n in sorted(sealed + clear)], index
    assert f"sealed (key id {key_id})" in h.log_text()

    into = f"127.0.0.1:{scratch.port(0)}"
    reset_scratch(scratch)
    restorer(scratch)
    # The restore opens the sealed files into a directory under $TMPDIR: a
    # private one, so the check below sees this restore's leftovers only
    # (the other suite runs this test beside it, under the same /tmp).
    private_tmp = tmp_path / "restore-tmp"
    private_tmp.mkdir()
    r = restore(conf, pw, "--to-gtid", mid, "--into", into,
                env=dict(os.environ, TMPDIR=str(private_tmp)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert any(n in r.stdout for n in sealed), r.stdout
    assert table_state(lambda q: scratch.sql(0, q), table) == want
    assert checksums(lambda q: scratch.sql(0, q), table) == want_sum
    # no plaintext left behind by the restore: its directory removed whole
    assert os.listdir(private_tmp) == []

    # a flipped byte in a sealed file: refused, naming the file, nothing loaded
    victim = os.path.join(d, sealed[-1])
    data = open(victim, "rb").read()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x04
    open(victim, "wb").write(bytes(bad))
    reset_scratch(scratch)
    restorer(scratch)
    r = restore(conf, pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 1, r.stdout + r.stderr
    assert sealed[-1] in r.stderr and "AES-256-GCM tag" in r.stderr, r.stderr
    assert not scratch.sql(0, "SELECT 1 FROM information_schema.schemata WHERE schema_name='fo'")
    r = subprocess.run([HALYARDCTL, "-c", conf["_path"], "backup", "list"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and sealed[-1] in r.stdout, r.stdout + r.stderr
    open(victim, "wb").write(data)

    # the key rotated: new files under the new key, the old readable only
    # with the old key among decryption_key_files
    text = open(h.conf_path).read()
    rotated = tmp_path / "rotated.conf"
    rotated.write_text(text.replace(f'"{key}"', f'"{new_key}"'))
    reset_scratch(scratch)
    restorer(scratch)
    r = restore(dict(conf, _path=str(rotated)), pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 1 and key_id in r.stderr, r.stdout + r.stderr
    both = tmp_path / "both.conf"
    both.write_text(text.replace(f'"{key}"', f'"{new_key}";\n    decryption_key_files = '
                                             f'[ "{key}" ]'))
    r = restore(dict(conf, _path=str(both)), pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checksums(lambda q: scratch.sql(0, q), table) == want_sum
    print(f"\narchive sealed: {sealed}, live {clear}; bundle bytes "
          f"{sum(os.path.getsize(os.path.join(d, n)) for n in sealed)}")


def test_archive_seal_at_start_and_crash_leftovers(cluster, start_halyard, tmp_path, scratch):  # noqa: F811
    """An archive written in clear, then a key configured: the start seals
    every closed file but the newest; a .partial left by a seal cut short
    and a clear file beside its sealed twin are settled; no gap."""
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "ac2")
    d = conf["backup"]["dir"]
    full_backup(conf)
    for rot in range(2):
        for i in range(50 + 40 * rot, 90 + 40 * rot):
            cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, {rot})")
        cluster.sql(0, "FLUSH BINARY LOGS")
    wait_archived(conf, cluster, 0)
    wait_until(lambda: len(listing(d)[1]) >= 3, 15, what=f"three files: {listing(d)[2]}")
    first_clear = open(os.path.join(d, "binlog.000001"), "rb").read()
    h.stop(signal.SIGKILL)

    hexkey = "c3" * 32
    key = key_file(tmp_path, "k.key", hexkey)
    key_id = hashlib.sha256(bytes.fromhex(hexkey)).hexdigest()[:16]
    conf["backup"]["encryption_key_file"] = key
    del conf["_path"]
    h2 = start_halyard(conf)
    conf["_path"] = str(h2.conf_path)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    wait_until(lambda: len(listing(d)[0]) >= 2 and len(listing(d)[1]) == 1, 15,
               what=f"closed files sealed: {listing(d)[2]}")
    assert "closed archive files sealed at start" in h2.log_text()
    for i in range(200, 230):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 9)")
    wait_archived(conf, cluster, 0)
    h2.stop(signal.SIGKILL)

    # leftovers of a crash mid-seal: a .partial, and a clear file beside its sealed twin
    open(os.path.join(d, f"binlog.000002.{key_id}.enc.partial"), "wb").write(b"HYCRYPT1" + b"\0" * 50)
    open(os.path.join(d, "binlog.000001"), "wb").write(first_clear)
    del conf["_path"]
    h3 = start_halyard(conf)
    conf["_path"] = str(h3.conf_path)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    names = listing(d)[2]
    # the planted .partial is gone (a seal of the file the new stream closed
    # may be under way: its own .partial, for a moment)
    assert f"binlog.000002.{key_id}.enc.partial" not in names, names
    assert "binlog.000001" not in names and f"binlog.000001.{key_id}.enc" in names, names
    assert "holds it sealed" in h3.log_text()
    for i in range(230, 260):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 10)")
    end = wait_archived(conf, cluster, 0)
    want_sum = checksums(lambda q: cluster.sql(0, q), table)
    into = f"127.0.0.1:{scratch.port(0)}"
    reset_scratch(scratch)
    restorer(scratch)
    r = restore(conf, pw, "--to-gtid", end.split(",")[0], "--into", into)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checksums(lambda q: scratch.sql(0, q), table) == want_sum


def test_archive_follows_full_keep(cluster, start_halyard, tmp_path, scratch):  # noqa: F811
    """backup.full_keep = 2 with the archive sealed: after the third full,
    the archive files older than the oldest kept full (the second) are
    deleted from backup.dir and copy_to_dir, every file a point since it
    needs is kept: backup list's window starts at the second full with no
    gap, and a restore to a point just after it equals the primary."""
    key = key_file(tmp_path, "r.key", "7e" * 32)
    copy = tmp_path / "copy"
    copy.mkdir()
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "ac3", encryption_key_file=key,
                                 full_keep=2, copy_to_dir=str(copy))
    d = conf["backup"]["dir"]
    n = [50]

    def rotate():
        for _ in range(20):
            cluster.sql(0, f"INSERT INTO {table} VALUES ({n[0]}, {n[0] % 5})")
            n[0] += 1
        cluster.sql(0, "FLUSH BINARY LOGS")

    def full():  # a backup's name has the second it started in: one a second
        time.sleep(1.1)
        return full_backup(conf)

    rotate()
    full()
    rotate()
    rotate()
    bk2 = full()
    cluster.sql(0, f"UPDATE {table} SET w = w + 1 WHERE id % 2 = 0")
    mid = cluster.value(0, "SELECT @@gtid_binlog_pos")
    want_sum = checksums(lambda q: cluster.sql(0, q), table)
    rotate()
    rotate()
    wait_archived(conf, cluster, 0)
    # every closed file copied first: retention waits for the copies
    wait_until(lambda: len(listing(d)[0]) >= 4 and set(listing(d)[0]) <= set(os.listdir(copy)),
               60, interval=0.2, what=f"sealed files copied: {listing(d)[0]} {os.listdir(copy)} "
                                      f"{show_backup(conf)['copies']}")
    before = listing(d)[0]
    removed0 = show_backup(conf)["files_removed"]  # with two fulls: those before the first
    full()
    wait_until(lambda: show_backup(conf)["files_removed"] > removed0, 20, interval=0.2,
               what=f"the archive's retention: {show_backup(conf)}")
    after_ = listing(d)[0]
    gone = sorted(set(before) - set(after_))
    assert gone and gone == before[:len(gone)], (before, after_)
    assert not set(gone) & set(os.listdir(copy)), (gone, os.listdir(copy))
    assert "before the oldest kept full" in h.log_text()
    r = subprocess.run([HALYARDCTL, "-c", conf["_path"], "backup", "list", "--json"],
                       capture_output=True, text=True, timeout=60)
    lst = json.loads(r.stdout)
    assert r.returncode == 0 and lst["restorable"], r.stdout + r.stderr
    assert lst["window"][0]["from_gtid"] == bk2["full_gtid"], lst
    assert [(b["type"], b["parent"]) for b in lst["backups"]] == [("full", None)] * 2, lst
    assert lst["gaps"] == [], lst
    into = f"127.0.0.1:{scratch.port(0)}"
    reset_scratch(scratch)
    restorer(scratch)
    r = restore(conf, pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checksums(lambda q: scratch.sql(0, q), table) == want_sum
    print(f"\nfull_keep = 2: {len(gone)} of {len(before)} sealed archive files deleted: {gone}")


def test_newest_sealed_file_without_its_key_blocks(cluster, start_halyard, tmp_path, scratch):  # noqa: F811
    """A reload that moves backup.dir closes (and seals) the archive's newest
    file. Started again on that directory with a key that cannot open it,
    the archive does not stream (it would leave a gap): an error naming
    the file and the key id, no new file. With the old key among
    decryption_key_files it opens the file back, goes on in it, and a
    restore to the primary's end equals the primary."""
    k1 = key_file(tmp_path, "k1.key", "1f" * 32)
    k2 = key_file(tmp_path, "k2.key", "2f" * 32)
    id1 = hashlib.sha256(bytes.fromhex("1f" * 32)).hexdigest()[:16]
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "ac4", encryption_key_file=k1)
    d = conf["backup"]["dir"]
    full_backup(conf)
    for i in range(50, 80):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 4)")
    wait_archived(conf, cluster, 0)
    other = tmp_path / "elsewhere"
    other.mkdir()
    text = open(h.conf_path).read()
    open(h.conf_path, "w").write(text.replace(f'"{d}"', f'"{other}"'))
    assert ctl(conf["admin_socket"], "reload").returncode == 0
    wait_until(lambda: listing(d)[1] == [], 15, what=f"the newest file sealed: {listing(d)[2]}")
    sealed = listing(d)[0]
    assert sealed and all(id1 in n for n in sealed), sealed
    h.stop()

    for i in range(80, 100):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 5)")
    del conf["_path"]
    conf["backup"]["encryption_key_file"] = k2
    h2 = start_halyard(conf)
    conf["_path"] = str(h2.conf_path)
    wait_until(lambda: id1 in show_backup(conf)["last_error"], 15,
               what=f"an error naming the key: {show_backup(conf)}")
    s = show_backup(conf)
    assert sealed[-1] in s["last_error"] and s["archive_state"] != "streaming", s
    time.sleep(2)
    assert listing(d)[0] == sealed and listing(d)[1] == [], listing(d)[2]  # no file, no gap
    h2.stop()

    del conf["_path"]
    conf["backup"]["decryption_key_files"] = [k1]
    h3 = start_halyard(conf)
    conf["_path"] = str(h3.conf_path)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    end = wait_archived(conf, cluster, 0)
    assert "opened back into" in h3.log_text()
    want_sum = checksums(lambda q: cluster.sql(0, q), table)
    into = f"127.0.0.1:{scratch.port(0)}"
    reset_scratch(scratch)
    restorer(scratch)
    r = restore(conf, pw, "--to-gtid", end.split(",")[0], "--into", into)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checksums(lambda q: scratch.sql(0, q), table) == want_sum
