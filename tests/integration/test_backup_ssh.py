"""The ssh form of backup.mariadb_backup_command, through a real OpenSSH
server (Debian's openssh-server, /usr/sbin/sshd) on loopback:

    halyard runs `ssh ... root@%h mariadb-backup --backup --stream=xbstream
    ...` with /bin/sh -c; sshd runs mariadb-backup "on the database host"
    and the xbstream comes back on ssh's standard output. The password
    crosses only as docs/backups.md says: the ssh client's SendEnv MYSQL_PWD and the
    server's AcceptEnv MYSQL_PWD (the backup account has a password, so a
    backup without it fails to log in). The backup is complete (manifest,
    GTID = the replica's position, mbstream extracts it and mariadb-backup
    --prepare makes it a datadir with the table), and sshd's log shows the
    public-key login it came through.

    Without AcceptEnv the same command fails, the backup says mariadb-backup's
    reason, and no file that looks complete is left.
"""
import gzip
import json
import os
import re
import subprocess
import time

import pytest

from test_backup import full_files, show_backup
from test_backup_physical import backends, run_full, start
from test_failover import make_table
from util import free_port, wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode

SSHD = "/usr/sbin/sshd"


class Sshd:
    """One sshd on 127.0.0.1:port, its own host key, config and log, root
    allowed in with one key made here."""

    def __init__(self, tmp_path, accept_env=True):
        self.dir = tmp_path / "ssh"
        self.dir.mkdir()
        self.port = free_port()
        self.host_key = self.dir / "host_ed25519"
        self.key = self.dir / "client_ed25519"
        for k in (self.host_key, self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)],
                           check=True, timeout=30)
        auth = self.dir / "authorized_keys"
        auth.write_text((self.dir / "client_ed25519.pub").read_text())
        auth.chmod(0o600)
        self.log = self.dir / "sshd.log"
        conf = self.dir / "sshd_config"
        conf.write_text("\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {auth}",
            f"PidFile {self.dir / 'sshd.pid'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "LogLevel VERBOSE",
            "AcceptEnv MYSQL_PWD" if accept_env else "",
            "",
        ]))
        os.makedirs("/run/sshd", exist_ok=True)  # its privilege-separation directory
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        wait_until(lambda: "Server listening" in self.log.read_text() or self.proc.poll() is not None,
                   10, what="sshd to listen")
        assert self.proc.poll() is None, self.log.read_text()

    def command(self, send_env=True):
        """backup.mariadb_backup_command: docs/backups.md's ssh form, with this
        server's port, key and a throwaway known_hosts."""
        opts = (f"-p {self.port} -i {self.key} -o BatchMode=yes -o StrictHostKeyChecking=no "
                f"-o UserKnownHostsFile={self.dir / 'known_hosts'}"
                + (" -o SendEnv=MYSQL_PWD" if send_env else ""))
        return (f"ssh {opts} root@%h mariadb-backup --backup --stream=xbstream "
                f"--host=%h --port=%p --user=%u --target-dir=/tmp")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def sshd(tmp_path):
    if not os.access(SSHD, os.X_OK):
        pytest.fail(f"{SSHD} is missing: tools/deps installs openssh-server")
    s = Sshd(tmp_path)
    yield s
    s.stop()


def test_mariadb_backup_over_ssh(cluster, start_halyard, tmp_path, sshd):
    table = make_table(cluster, "pbs")
    cluster.sql(0, f"INSERT INTO {table} SELECT seq, seq % 7 FROM fo.seq_1_to_20000")
    cluster.sync()
    h, conf = start(cluster, start_halyard, tmp_path, mariadb_backup_command=sshd.command())
    pos = cluster.value(0, "SELECT @@gtid_binlog_pos")
    r, took = run_full(conf)
    assert r.returncode == 0 and "mariadb-backup of replica node" in r.stdout, r.stdout + r.stderr
    src = re.search(r"replica (node\d)", r.stdout).group(1)
    s = show_backup(conf)
    assert s["full_state"] == "ok", s
    names = full_files(tmp_path)
    data_files = [n for n in names if n.endswith(".xb.gz")]
    assert len(data_files) == 1 and not [n for n in names if n.endswith(".partial")], names
    full = tmp_path / "archive" / "full"
    man = json.loads((full / data_files[0].replace(".xb.gz", ".json")).read_text())
    assert man["method"] == "mariadb-backup" and man["gtid"] == pos, (man, pos)
    assert man["source"] == src and man["sha256"] == s["full_sha256"], (man, s)
    # it came through sshd: a public-key login of root from loopback
    log = sshd.log.read_text()
    assert "Accepted publickey for root from 127.0.0.1" in log, log
    # and it is a whole backup: mbstream extracts it, --prepare makes a datadir
    x = tmp_path / "x"
    x.mkdir()
    p = subprocess.run(["mbstream", "-x", "-C", str(x)],
                       input=gzip.decompress((full / data_files[0]).read_bytes()),
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert (x / "xtrabackup_binlog_info").read_text().split("\t")[2].strip() == pos
    p = subprocess.run(["mariadb-backup", "--prepare", f"--target-dir={x}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (x / "fo" / "pbs.ibd").exists(), sorted(os.listdir(x / "fo"))
    wait_until(lambda: backends(conf["admin_socket"])[src]["state"] == "ONLINE", 10, what="the replica back online")
    print(f"\nmariadb-backup over ssh of {src}: {man['size']} bytes gzip in {took:.2f} s")
    cluster.sql(0, f"DROP TABLE {table}")
    cluster.sync()


def test_mariadb_backup_over_ssh_without_the_password(cluster, start_halyard, tmp_path, sshd):
    """No SendEnv: the remote mariadb-backup has no password and cannot log
    in; the backup fails with its reason and leaves no complete-looking file."""
    h, conf = start(cluster, start_halyard, tmp_path,
                    mariadb_backup_command=sshd.command(send_env=False))
    t0 = time.monotonic()
    run_full(conf)
    s = show_backup(conf)
    assert s["full_state"] == "failed", s
    assert s["full_error"].startswith("mariadb-backup command exited with 1: "), s["full_error"]
    assert "Access denied for user 'restorer'" in s["full_error"], s["full_error"]
    assert "(using password: NO)" in s["full_error"], s["full_error"]
    names = full_files(tmp_path)
    assert not [n for n in names if n.endswith(".xb.gz") or n.endswith(".partial")], names
    assert "Accepted publickey for root from 127.0.0.1" in sshd.log.read_text()
    assert time.monotonic() - t0 < 60
