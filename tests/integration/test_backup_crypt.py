"""Backups at rest (src/backup/backup_crypt.c, backup_stream.c): a full backup
taken through halyard with `backup.compression = "zstd"` and
`backup.encryption_key_file`, then restored by `halyardctl restore`.

    the file is full-T.sql.zst.enc: it starts with the HYCRYPT1 header and
    holds no SQL in clear; its manifest names the cipher, the compression
    and the key by id (the first 8 bytes of the key's SHA-256), never the key;
    a byte flipped in the middle of the file, its manifest's sha256 made to
    match (as an attacker who can write both would), is refused before
    anything is loaded, naming the file and the chunk; the scratch server
    stays empty;
    the key rotated (a new encryption_key_file): without the old key in
    decryption_key_files the restore is refused naming the key id; with it
    the restore is whole (CHECKSUM TABLE and rows equal the primary's at
    the GTID) and says every chunk was authenticated; backup list shows the
    backup, its key held (then missing under the rotated config, the window
    empty) and the window from the backup to the archive's end; halyard
    reloaded with that config raises backup_key_missing;
    a mariadb-backup backup, zstd and encrypted, is authenticated, extracted
    and prepared by restore --datadir.
"""

import hashlib
import json
import os
import re
import subprocess

import pytest

from test_backup import show_backup, wait_archived
from test_backup_copy import events
from test_backup_physical import run_full, start as phys_start
from test_failover import ctl, make_table
from test_restore import (HALYARDCTL, RESTORE_PW, RESTORE_USER, full_backup, prepare, reset_scratch, restore, restorer,  # noqa: F401
                          scratch, table_state)  # scratch: a fixture
from util import wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode


def key_file(tmp_path, name, hexkey):
    p = tmp_path / name
    p.write_text(hexkey + "\n")
    os.chmod(p, 0o600)
    return str(p)


def backup_list(conf_path):
    return subprocess.run([HALYARDCTL, "-c", conf_path, "backup", "list"], capture_output=True,
                          text=True, timeout=60)


def test_encrypted_zstd_backup_restores_and_refuses_tampering(cluster, start_halyard, tmp_path,
                                                                scratch):  # noqa: F811
    old_hex, new_hex = "11" * 16 + "22" * 16, "33" * 16 + "44" * 16
    old_key = key_file(tmp_path, "old.key", old_hex)
    new_key = key_file(tmp_path, "new.key", new_hex)
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "enc1", compression="zstd",
                                 encryption_key_file=old_key)
    for i in range(50, 200):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, {i % 7})")
    wait_archived(conf, cluster, 0)

    bk = full_backup(conf)
    path = bk["full_file"]
    assert path.endswith(".sql.zst.enc"), path
    data = open(path, "rb").read()
    assert data[:8] == b"HYCRYPT1"
    assert b"CREATE TABLE" not in data and b"INSERT INTO" not in data
    man = json.loads(open(path[:-len(".sql.zst.enc")] + ".json").read())
    key_id = hashlib.sha256(bytes.fromhex(old_hex)).hexdigest()[:16]
    assert (man["encryption"], man["compression"], man["key_id"]) == \
        ("aes-256-gcm", "zstd", key_id), man
    assert old_hex not in json.dumps(man)
    assert man["plain_size"] > man["size"] > 0, man

    for i in range(200, 260):
        cluster.sql(0, f"UPDATE {table} SET w = w + 1 WHERE id = {i - 200}")
    mid = cluster.value(0, "SELECT @@gtid_binlog_pos")
    want = table_state(lambda q: cluster.sql(0, q), table)
    cluster.sql(0, f"DELETE FROM {table} WHERE id < 100")
    wait_archived(conf, cluster, 0)
    end = cluster.value(0, "SELECT @@gtid_binlog_pos")

    # backup list: the backup, its key held, the window from it to the archive's end
    r = backup_list(conf["_path"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.basename(path) in r.stdout, r.stdout
    assert f"GTID {bk['full_gtid']}" in r.stdout and f"aes-256-gcm key {key_id} (held)" in r.stdout
    m = re.search(r"^restorable window: .+ \(GTID (\S+)\) to .+ \(GTID (\S+)\)$", r.stdout, re.M)
    assert m and m.groups() == (bk["full_gtid"], end), r.stdout
    assert "gap" not in r.stdout
    into = f"127.0.0.1:{scratch.port(0)}"
    reset_scratch(scratch)
    restorer(scratch)

    # tampered, the manifest's sha256 rewritten to match: refused by the tag
    mpath = path[:-len(".sql.zst.enc")] + ".json"
    mtext = open(mpath).read()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x01
    open(path, "wb").write(bytes(bad))
    open(mpath, "w").write(mtext.replace(man["sha256"], hashlib.sha256(bad).hexdigest()))
    r = restore(conf, pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"refused: " + re.escape(path) + r": chunk \d+ \(bytes \d+ to \d+\) fails its "
                     r"AES-256-GCM tag", r.stderr), r.stderr
    assert not scratch.sql(0, "SELECT 1 FROM information_schema.schemata WHERE schema_name='fo'")
    open(path, "wb").write(data)
    open(mpath, "w").write(mtext)

    # the key rotated: the old one must stay readable
    text = open(h.conf_path).read()
    assert old_key in text
    rotated = tmp_path / "rotated.conf"
    rotated.write_text(text.replace(f'"{old_key}"', f'"{new_key}"'))
    r = restore(dict(conf, _path=str(rotated)), pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"encrypted with key id {key_id}, which is neither" in r.stderr, r.stderr
    r = backup_list(str(rotated))
    assert r.returncode == 1 and f"key {key_id} (MISSING" in r.stdout, r.stdout + r.stderr
    assert "restorable window: none (no backup this config can read)" in r.stdout, r.stdout
    # halyard reloaded with it: backup_key_missing names the backup and the key id
    open(h.conf_path, "w").write(rotated.read_text())
    r = ctl(conf["admin_socket"], "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_until(lambda: events(conf, "backup_key_missing"), 10, what="backup_key_missing")
    ev = events(conf, "backup_key_missing")[-1]
    assert f"key id {key_id}" in ev["reason"], ev
    assert os.path.basename(mpath) in ev["reason"], ev
    assert not scratch.sql(0, "SELECT 1 FROM information_schema.schemata WHERE schema_name='fo'")
    both = tmp_path / "both.conf"
    both.write_text(text.replace(f'"{old_key}"', f'"{new_key}";\n    decryption_key_files = '
                                                 f'[ "{old_key}" ]'))
    r = restore(dict(conf, _path=str(both)), pw, "--to-gtid", mid, "--into", into)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "checked: every AES-256-GCM chunk of " + path + " authenticated" in r.stdout, r.stdout
    got = table_state(lambda q: scratch.sql(0, q), table)
    assert got == want, f"restored {len(got[1])} rows, checksum {got[0]}; want {want[0]}"
    assert scratch.value(0, "SELECT @@gtid_binlog_pos") == mid
    reset_scratch(scratch)


def test_encrypted_mariadb_backup_extracts_and_prepares(cluster, start_halyard, tmp_path):
    """The physical path: an xbstream, zstd and encrypted, is authenticated,
    decrypted into mbstream -x and prepared by halyardctl restore --datadir
    (stopped at its wait for the server: the rest is the same as a clear one)."""
    key = key_file(tmp_path, "phys.key", "5a" * 32)
    h, conf = phys_start(cluster, start_halyard, tmp_path, compression="zstd",
                         encryption_key_file=key)
    wait_until(lambda: show_backup(conf)["archive_state"] == "streaming", 15)
    table = make_table(cluster, "encp")
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 5 FROM fo.seq_1_to_20000")
    cluster.sync()
    wait_archived(conf, cluster, 0)
    run_full(conf)
    s = show_backup(conf)
    assert s["full_state"] == "ok" and s["full_file"].endswith(".xb.zst.enc"), s
    assert open(s["full_file"], "rb").read(8) == b"HYCRYPT1"
    datadir = tmp_path / "restored"
    pw = tmp_path / "restore.pw"
    pw.write_text(RESTORE_PW + "\n")
    p = subprocess.Popen([HALYARDCTL, "-c", conf["_path"], "restore", "--to-gtid",
                          s["full_gtid"].split(",")[0], "--into", "127.0.0.1:1", "--datadir",
                          str(datadir), "--user", RESTORE_USER, "--password-file", str(pw)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = []
        for line in p.stdout:
            out.append(line)
            if line.startswith("waiting:"):
                break
        text = "".join(out)
        assert out and out[-1].startswith("waiting:"), text + p.stderr.read()
        assert f"checked: every AES-256-GCM chunk of {s['full_file']} authenticated" in text, text
        assert any(x.startswith("prepared:") for x in out), text
        assert os.path.exists(os.path.join(str(datadir), "fo", "encp.ibd"))
    finally:
        p.kill()
        p.wait()
        cluster.sql(0, f"DROP TABLE {table}")
        cluster.sync()
