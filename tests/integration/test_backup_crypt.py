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
    the GTID) and says every chunk was authenticated.
"""

import hashlib
import json
import os
import re
import subprocess

from test_backup import wait_archived
from test_restore import (HALYARDCTL, full_backup, prepare, reset_scratch, restore, restorer,  # noqa: F401
                          scratch, table_state)  # scratch: a fixture


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
