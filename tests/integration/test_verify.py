"""`halyardctl backup verify` (src/backup/verify_run.c, src/backup/backup_verify.c): the
newest full backup and the archive restored into an empty scratch server up
to the GTID a replica is stopped at, CHECKSUM TABLE of every base table
compared.

    a pass: every table identical, the GTID the replica was stopped at, the
    result in show backup and the metrics, the replica back ONLINE and
    replicating, the scratch server emptied again; a replica behind the
    archive is started until the archive's position and compared there;
    a difference: a row changed on the replica alone (sql_log_bin = 0) is
    found, the table named, exit status 1, verify_result differ and
    halyard_backup_verify_failed 1; the scratch server is left as restored,
    and the next verify refuses it (not empty) and says so;
    interrupted mid-restore (Ctrl-C to its group, or SIGTERM to it alone):
    the restore's children stopped, the replica replicating and ONLINE
    again, the result failed, halyardctl ended by that signal;
    its progress (src/core/progress.c): into a pipe one line per phase, in
    order, with the bytes of those that read files, and the totals; on a
    pseudo-terminal the line redrawn in place (\r, erased with ESC [K) with
    bytes and no phase lines; --quiet: nothing on stdout, the refusal on
    stderr.
"""

import os
import re
import signal
import subprocess

import pytest

from test_backup import show_backup, wait_archived
from test_restore import HALYARDCTL, RESTORE_USER, full_backup, prepare, reset_scratch, restorer
from test_restore import scratch  # noqa: F401 (the fixture)
from util import admin_json, metric, run_on_pty, wait_until

# backups, their archive and restores read the servers, not the sessions: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode


def verify(conf, pwfile, *args):
    return subprocess.run([HALYARDCTL, "-c", conf["_path"], "backup", "verify",
                           "--user", RESTORE_USER, "--password-file", str(pwfile), *args],
                          capture_output=True, text=True, timeout=300)


def verify_on_pty(conf, pwfile, *args):
    """verify() with stdout a pseudo-terminal: (exit status, what it drew)."""
    return run_on_pty([HALYARDCTL, "-c", conf["_path"], "backup", "verify",
                       "--user", RESTORE_USER, "--password-file", str(pwfile), *args])


PHASES = ["checking the scratch server", "draining the replica",
          "stopping the replica at a GTID the archive holds", "reading the archive",
          "checking the backup", "loading the dump", "replaying binlogs", "comparing checksums"]


def backend_of(conf, port):
    for b in admin_json(conf["admin_socket"], "show backends")["backends"]:
        if b["address"].endswith(f":{port}"):
            return b
    raise AssertionError(f"no backend on port {port}")


def replicating(cluster, ref):
    st = cluster.root_connect(ref)
    with st.cursor() as cur:
        cur.execute("SHOW SLAVE STATUS")
        cols = [d[0] for d in cur.description]
        r = dict(zip(cols, cur.fetchone()))
    st.close()
    return r["Slave_IO_Running"] == "Yes" and r["Slave_SQL_Running"] == "Yes"


def test_verify(cluster, start_halyard, tmp_path, scratch):  # noqa: F811
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "vf1")
    full_backup(conf)
    for i in range(50, 150):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, {i % 3})")
    cluster.sql(0, f"UPDATE {table} SET w = w + 1 WHERE id % 4 = 0")
    cluster.sync()
    reset_scratch(scratch)
    restorer(scratch)
    into = f"127.0.0.1:{scratch.port(0)}"
    name = backend_of(conf, cluster.port(1))["name"]

    # a pass
    r = verify(conf, pw, "--into", into, "--replica", name)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"verified at GTID (\d+-\d+-\d+): (\d+) tables identical, 0 differ", r.stdout)
    assert m, r.stdout + r.stderr
    g, n = m.group(1), int(m.group(2))
    assert n >= 1 and f"replica: {name} " in r.stdout, r.stdout
    print("\n" + r.stdout)
    # into a pipe: one line per phase, in order (those reading files with
    # their size), then the totals; nothing drawn in place
    phases = re.findall(r"^phase: (.*?)(?: \(([\d.]+ (?:B|KiB|MiB))\))?$", r.stdout, re.M)
    assert [p for p, _ in phases] == PHASES, r.stdout
    sized = {p: size for p, size in phases}
    assert all(sized[p] for p in ("reading the archive", "checking the backup",
                                  "loading the dump", "replaying binlogs")), phases
    assert re.search(r"^progress: done after 8 phases, [\d.]+ (B|KiB|MiB) in \d+s$", r.stdout,
                     re.M), r.stdout
    assert "\r" not in r.stdout and "\033" not in r.stdout
    s = show_backup(conf)
    assert (s["verify_result"], s["verify_gtid"], s["verify_tables"], s["verify_differ"],
            s["verify_ok"]) == ("ok", g, n, 0, True), s
    assert metric(conf["metrics_port"], "halyard_backup_verify_failed") == 0
    assert metric(conf["metrics_port"], 'halyard_backup_verify_total{result="ok"}') == 1
    # the replica is back in traffic and replicating; the scratch server empty
    wait_until(lambda: backend_of(conf, cluster.port(1))["state"] == "ONLINE", 15)
    wait_until(lambda: replicating(cluster, 1), 15)
    assert not scratch.sql(0, "SELECT 1 FROM information_schema.schemata WHERE schema_name='fo'")
    # the replica behind the archive (its SQL thread stopped): it is started
    # until the archive's position and compared there
    cluster.sql(1, "STOP SLAVE SQL_THREAD")
    for i in range(1000, 1030):
        cluster.sql(0, f"INSERT INTO {table} VALUES ({i}, 1)")
    end = wait_archived(conf, cluster, 0)
    reset_scratch(scratch)
    restorer(scratch)
    # on a terminal: the progress line redrawn in place, with bytes; the
    # command's own lines intact
    rc, out = verify_on_pty(conf, pw, "--into", into, "--replica", name)
    assert rc == 0, out
    assert f"started until {end}, the archive's position" in out, out
    assert f"verified at GTID {end}: {n} tables identical, 0 differ" in out, out
    assert re.search(r"\r(reading the archive|loading the dump|replaying binlogs): "
                     r"[\d.]+ (B|KiB|MiB) of [\d.]+ (B|KiB|MiB) \(\d+%\)", out), repr(out)
    assert "\033[K" in out and "phase: " not in out, repr(out)
    assert "progress: done after 8 phases" in out, repr(out)
    print(out)
    wait_until(lambda: replicating(cluster, 1), 15)
    cluster.sync()

    # a row changed on the replica alone: the table is named
    conn = cluster.root_connect(1)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"UPDATE {table} SET w = w + 100 WHERE id = 7")
        conn.commit()
        reset_scratch(scratch)
        restorer(scratch)
        r = verify(conf, pw, "--into", into, "--replica", name)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "differs: `fo`.`vf1` (CHECKSUM TABLE" in r.stdout, r.stdout + r.stderr
        assert re.search(r"NOT verified at GTID \d+-\d+-\d+: 1 of \d+ tables differ", r.stdout), \
            r.stdout
        print(r.stdout)
        s = show_backup(conf)
        assert (s["verify_result"], s["verify_differ"], s["verify_ok"]) == ("differ", 1, False), s
        assert metric(conf["metrics_port"], "halyard_backup_verify_failed") == 1
        assert metric(conf["metrics_port"], "halyard_backup_verify_tables_differ") == 1
        wait_until(lambda: backend_of(conf, cluster.port(1))["state"] == "ONLINE", 15)
        wait_until(lambda: replicating(cluster, 1), 15)
        # the scratch server holds the restore still: the next verify refuses it
        r = verify(conf, pw, "--into", into, "--replica", name, "--quiet")
        assert r.returncode == 1 and "is not empty" in r.stderr and "fo" in r.stderr, r.stderr
        assert r.stdout == "", r.stdout  # --quiet: only the errors, on stderr
        assert show_backup(conf)["verify_result"] == "failed"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {table} SET w = w - 100 WHERE id = 7")
        conn.commit()
        conn.close()


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_verify_interrupted_puts_the_replica_back(cluster, start_halyard, tmp_path, scratch,  # noqa: F811
                                                  how):
    """Ctrl-C (SIGINT to halyardctl's process group) or a SIGTERM to
    halyardctl alone while the restore runs: the restore's children are
    stopped, the replica it stopped and drained is started and put back
    online, the result is failed, and halyardctl ends by the signal. The restore's
    `mariadb` is a stand-in on PATH whose load of the dump hangs, so the
    signal surely lands mid-restore."""
    h, conf, table, pw = prepare(cluster, start_halyard, tmp_path, "vf2")
    full_backup(conf)
    reset_scratch(scratch)
    restorer(scratch)
    into = f"127.0.0.1:{scratch.port(0)}"
    name = backend_of(conf, cluster.port(1))["name"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hang = bin_dir / "mariadb"
    # queries (-e) go to the real client; the dump's load hangs
    hang.write_text('#!/bin/sh\nfor a; do [ "$a" = -e ] && exec /usr/bin/mariadb "$@"; done\n'
                    'exec sleep 120\n')
    hang.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    out_path, err_path = tmp_path / "verify.out", tmp_path / "verify.err"
    with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
        p = subprocess.Popen([HALYARDCTL, "-c", conf["_path"], "backup", "verify", "--user",
                              RESTORE_USER, "--password-file", str(pw), "--into", into,
                              "--replica", name],
                             stdout=out_f, stderr=err_f, env=env, start_new_session=True)
    try:
        wait_until(lambda: "replica: stopped at GTID" in out_path.read_text() or p.poll() is not None,
                   60, what="verify to stop the replica")
        assert p.poll() is None, out_path.read_text() + err_path.read_text()
        # stopped and drained now, the restore's client hanging
        assert not replicating(cluster, 1)
        assert backend_of(conf, cluster.port(1))["state"] != "ONLINE"
        if how == "ctrl-c":
            os.killpg(p.pid, signal.SIGINT)
        else:
            os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    out, err = out_path.read_text(), err_path.read_text()
    sig = signal.SIGINT if how == "ctrl-c" else signal.SIGTERM
    assert p.returncode == -sig, (p.returncode, out, err)
    assert f"interrupted (signal {int(sig)}): putting the replica back" in err, out + err
    # nothing of it left running (the stand-in's sleep included)
    assert subprocess.run(["pgrep", "-g", str(p.pid)], capture_output=True).returncode == 1
    # START SLAVE answered: the IO thread is `Connecting` until it has
    # logged in to its source (CI read it so once, the host loaded)
    wait_until(lambda: replicating(cluster, 1), 10, what=f"node1 replicating again: {err}")
    assert backend_of(conf, cluster.port(1))["state"] == "ONLINE"
    assert show_backup(conf)["verify_result"] == "failed"
    print("\n" + out + err)
