"""Integration tests of the operations side: the admin socket (every command,
tables and JSON), halyardctl and its exit codes, reloads by SIGHUP and by the
admin socket (good and broken), the Prometheus endpoint, log files and
SIGUSR1, and `halyard -t`.

The admin socket is spoken to directly (admin()) and through the real
halyardctl binary (ctl()); the metrics are scraped over HTTP and checked
line by line against the text exposition format, and parsed with the
prometheus_client parser as a second opinion.
"""

import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pymysql
import pytest

from util import APP_USER, REPO, free_port, mysql_native_hash, wait_until

HALYARDCTL = os.path.abspath(os.environ.get("HALYARDCTL_BIN") or os.path.join(REPO, "build", "halyardctl"))


# ---------------------------------------------------------------------------
# helpers


def default_socket(h):
    """The admin socket of a halyard started with the default admin_socket."""
    return f"/tmp/halyard-{h.port}.sock"


def admin_raw(path, data, timeout=10.0):
    """Send bytes to the admin socket, shut down our side, return all bytes read."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def admin(path, command):
    """One command; its answer without the closing empty line."""
    out = admin_raw(path, command.encode() + b"\n").decode()
    assert out.endswith("\n\n"), repr(out)
    body = out[:-1]
    assert "\n\n" not in body, f"an answer has exactly one empty line, at its end: {out!r}"
    return body


def admin_json(path, command):
    body = admin(path, command + " --json")
    assert body.count("\n") == 1, body
    return json.loads(body)


def table(text):
    """A text table as (header, rows), rows as dicts; '#' lines left out."""
    lines = [l for l in text.splitlines() if not l.startswith("#")]
    head = lines[0]
    # Columns start where the header's words start.
    starts = [m.start() for m in re.finditer(r"\S+", head)]
    names = head.split()
    rows = []
    for line in lines[1:]:
        cells = []
        for i, st in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            cells.append(line[st:end].strip())
        rows.append(dict(zip(names, cells)))
    return names, rows


def kv_table(text):
    names, rows = table(text)
    assert names[1] == "value", names
    return {r[names[0]]: r["value"] for r in rows}


def ctl(*args, timeout=20):
    return subprocess.run([HALYARDCTL, *args], capture_output=True, text=True, timeout=timeout)


def wait_sessions(path, pred, what, timeout=10.0):
    return wait_until(lambda: pred(admin_json(path, "show sessions")["sessions"]), timeout, what=what)


def scrape(port, path="/metrics", method="GET"):
    """(status, headers, body) of one HTTP request to the metrics port."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(l.split(": ", 1) for l in lines[1:])
    assert int(headers["Content-Length"]) == (len(body) if method != "HEAD" else int(headers["Content-Length"]))
    return status, headers, body.decode()


METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = rf'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(rf"^({METRIC_NAME})(?:\{{{LABEL}(?:,{LABEL})*\}})? (\S+)$")
HELP_RE = re.compile(rf"^# HELP ({METRIC_NAME}) .+$")
TYPE_RE = re.compile(rf"^# TYPE ({METRIC_NAME}) (counter|gauge|histogram|summary|untyped)$")


def parse_exposition(text):
    """Check every line of a text exposition 0.0.4; return {sample line key: value}."""
    assert text.endswith("\n")
    values, typed, helped, seen_families = {}, {}, set(), []
    current = None
    for line in text.splitlines():
        if m := HELP_RE.match(line):
            assert m.group(1) not in helped, f"second HELP for {m.group(1)}"
            helped.add(m.group(1))
            current = m.group(1)
            seen_families.append(current)
        elif m := TYPE_RE.match(line):
            assert m.group(1) == current and m.group(1) not in typed, line
            typed[m.group(1)] = m.group(2)
        else:
            m = SAMPLE_RE.match(line)
            assert m, f"not a valid sample line: {line!r}"
            name = m.group(1)
            if typed.get(current) == "histogram":  # name_bucket{...,le=...}, name_sum, name_count
                for suffix in ("_bucket", "_sum", "_count"):
                    if name == current + suffix:
                        name = current
                assert m.group(1) != current, f"histogram sample without a suffix: {line!r}"
                if m.group(1).endswith("_bucket"):
                    assert 'le="' in line, line
            assert name == current and current in typed, f"sample before its TYPE: {line!r}"
            float(m.group(2))
            key = line.rsplit(" ", 1)[0]
            assert key not in values, f"duplicate sample {key}"
            values[key] = float(m.group(2))
    for name, kind in typed.items():
        if kind == "counter":
            assert name.endswith("_total"), name
    return values


def query(h, n=1):
    conn = h.connect()
    with conn.cursor() as cur:
        for _ in range(n):
            cur.execute("SELECT 1")
            cur.fetchall()
    conn.close()


# ---------------------------------------------------------------------------
# the socket file


def test_socket_mode_owner_and_cleanup(start_halyard):
    h = start_halyard()
    path = default_socket(h)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert h.stop() == 0
    assert not os.path.lexists(path), "the socket file is removed at exit"


def test_socket_in_chosen_path_and_off(start_halyard, tmp_path):
    path = str(tmp_path / "admin.sock")
    h = start_halyard(admin_socket=path)
    assert admin(path, "show status").startswith("name ")
    assert not os.path.lexists(default_socket(h))
    h2 = start_halyard(admin_socket="")
    assert not os.path.lexists(default_socket(h2))
    assert kv_table(admin(path, "show status"))["admin_socket"] == path


def test_refuses_symlinked_path(start_halyard, tmp_path):
    target = tmp_path / "target"
    target.write_text("keep me\n")
    link = tmp_path / "admin.sock"
    os.symlink(target, link)
    h = start_halyard(admin_socket=str(link), wait=False)
    assert h.wait(timeout=10) == 1
    assert f"admin_socket {link} is a symbolic link; refusing to use it" in h.log_text()
    assert os.path.islink(link) and target.read_text() == "keep me\n"


def test_refuses_other_files_and_live_socket(start_halyard, tmp_path):
    path = tmp_path / "admin.sock"
    path.write_text("")
    h = start_halyard(admin_socket=str(path), wait=False)
    assert h.wait(timeout=10) == 1
    assert "exists and is not a socket; refusing to replace it" in h.log_text()
    path.unlink()

    if os.geteuid() == 0:
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(str(path))
        os.chown(path, 65534, 65534)
        h = start_halyard(admin_socket=str(path), wait=False)
        assert h.wait(timeout=10) == 1
        assert "is owned by uid 65534, not by halyard's uid 0; refusing to replace it" in h.log_text()
        srv.close()
        path.unlink()

    h1 = start_halyard(admin_socket=str(path))
    h2 = start_halyard(admin_socket=str(path), wait=False)
    assert h2.wait(timeout=10) == 1
    assert "is in use by another process" in h2.log_text()
    assert admin(str(path), "show status").startswith("name "), "the first one still serves it"
    assert h1.alive()


def test_stale_socket_of_our_own_is_replaced(start_halyard, tmp_path):
    path = tmp_path / "admin.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # bound, never listened: nobody serves it
    h = start_halyard(admin_socket=str(path))
    h.wait_log("removed the stale socket file")
    assert kv_table(admin(str(path), "show status"))["pid"] == str(h.pid)


# ---------------------------------------------------------------------------
# commands


def test_help(halyard):
    path = default_socket(halyard)
    names, rows = table(admin(path, "help"))
    assert names == ["command", "description"]
    commands = [r["command"] for r in rows]
    for c in ("help", "show status", "show config", "show stats", "show sessions",
              "kill session ID", "reload"):
        assert c in commands
    j = admin_json(path, "help")
    assert [c["command"] for c in j["commands"]] == commands[:-1]


def admin_verb_words():
    """The words of every row of admin_verbs[] (src/admin/admin_cmd.c)."""
    src = open(os.path.join(REPO, "src", "admin", "admin_cmd.c")).read()
    table = src[src.index("const struct admin_verb_def admin_verbs[ADMIN_N_VERBS]"):]
    return re.findall(r'\.words = "([^"]+)"', table)


def test_every_command_answers_json(start_halyard, cluster, tmp_path):
    """Each command of admin_verbs[], through halyardctl with --json, answers
    one line of JSON: the data of a show, {"ok":true,"message":...} and what
    it changed of an action. A failure stays an "ERR ..." line (and exit 1):
    the two below whose success needs what this config has not."""
    h = start_halyard(workers=2)
    sock = default_socket(h)
    victim = h.connect()
    vid = victim.thread_id()
    cases = {
        "help": ["help"],
        "show status": ["show status"], "show config": ["show config"],
        "show stats": ["show stats"], "show sessions": ["show sessions"],
        "show pools": ["show pools"], "show rules": ["show rules"],
        "show backends": ["show backends", "show backends --detail"],
        "show groups": ["show groups"], "show shards": ["show shards"], "show xa": ["show xa"],
        "backend": ["backend node2 drain nowait", "backend node2 maint", "backend node2 online"],
        "show digests": ["show digests top 3"], "kill session": [f"kill session {vid}"],
        "show blocked": ["show blocked"], "unblock": ["unblock all"],
        "show firewall": ["show firewall"], "dump firewall": [f"dump firewall {APP_USER}"],
        "reload": ["reload"],
        "switchover": ["switchover to node1"],
        "show events": ["show events last 5"], "test-alert": ["test-alert"],
        "show backup": ["show backup"],
        "show cache": ["show cache"], "flush cache": ["flush cache"],
        "show limits": ["show limits"],
        "capture start": [f"capture start {tmp_path}/ops.hyc"],
        "capture status": ["capture status"], "capture stop": ["capture stop"],
        "backup verified": ["backup verified ok 0-1-5 3 0"],
    }
    # Their answers are not text: the listening sockets (SCM_RIGHTS) and
    # this halyard's exit; `halyard --takeover` is their test (test_takeover.py).
    internal = {"takeover", "takeover finish"}
    # Documented failures with this config: no backup section; the primary is up.
    refused = {"backup full": "backup full", "backup incr": "backup incr",
               "backup diff": "backup diff", "failover": "failover"}
    assert set(admin_verb_words()) == set(cases) | internal | set(refused)
    for words, lines in cases.items():
        for line in lines:
            r = ctl("-s", sock, "-t", "60", *line.split(), "--json", timeout=90)
            assert r.returncode == 0 and r.stdout.count("\n") == 1, (line, r)
            j = json.loads(r.stdout)
            assert isinstance(j, dict) and j, (line, j)
            if words in ("backend", "kill session", "unblock", "reload", "switchover",
                         "test-alert", "backup verified"):
                assert j["ok"] is True and j["message"], (line, j)
    for line in refused.values():
        r = ctl("-s", sock, *line.split(), "--json")
        assert r.returncode == 1 and r.stdout.startswith("ERR "), (line, r)
    assert admin_json(sock, "show backends")["backends"][1]["role"] == "primary"


def test_unknown_command(halyard):
    path = default_socket(halyard)
    assert admin(path, "show nothing") == "ERR unknown command 'show nothing'; try help\n"
    assert admin(path, "frob --json") == "ERR unknown command 'frob --json'; try help\n"
    assert admin(path, "kill session x") == "ERR kill session: 'x' is not a session id\n"
    assert admin(path, "kill session") == "ERR usage: kill session ID\n"


def test_show_status(start_halyard):
    h = start_halyard(workers=2)
    path = default_socket(h)
    kv = kv_table(admin(path, "show status"))
    assert kv["version"] == re.search(r"halyard (\S+)", subprocess.run(
        [h.binary, "-V"], capture_output=True, text=True).stdout).group(1)
    assert kv["pid"] == str(h.pid)
    assert kv["config_file"] == h.conf_path
    assert kv["workers"] == "2"
    assert kv["admin_socket"] == path
    assert kv["metrics"] == "off"
    assert kv["last_reload"] == "never"
    assert kv["reloads_ok"] == "0" and kv["reloads_failed"] == "0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", kv["started"])
    j = admin_json(path, "show status")
    assert j["pid"] == h.pid and j["workers"] == 2 and j["config_file"] == h.conf_path
    assert j["last_reload"] is None and j["last_reload_result"] is None
    assert isinstance(j["uptime_s"], int) and j["uptime_s"] >= 0
    time.sleep(1.1)
    assert admin_json(path, "show status")["uptime_s"] >= 1


def test_show_config(start_halyard, cluster):
    # One rule, one limit, one witness, one event setting, one schema shard,
    # one key shard and one admin account, so that the rules.[0].*,
    # limits.[0].*, witnesses.[0].*, alerts.events.[0].*, shards.schemas.[0].*,
    # shards.tables.[0].* and admin_accounts.[0].* keys have an element to
    # show.
    h = start_halyard(connect_timeout_ms=1234, max_client_connections=77,
                      admin_accounts=[{"name": "ops", "password_hash": mysql_native_hash("x"),
                                       "role": "operator"}],
                      rules=[{"name": "never", "match_digest": "^SELECT 'never'$", "route": "primary"}],
                      limits=[{"name": "never", "client": "10.9.9.0/24", "max_concurrent": 1}],
                      witnesses=[{"name": "w1", "address": "10.0.3.9", "port": 3306}],
                      alerts={"events": [{"name": "backend_lagging", "repeat_ms": 60000}]},
                      shards={"schemas": [{"schema": "orders", "group": "default"}],
                              "tables": [{"table": "shop.orders", "key": "customer_id",
                                          "buckets": 16,
                                          "map": [{"group": "default", "buckets": "0-15"}]}],
                              "reference": ["shop.countries"]})
    path = default_socket(h)
    kv = kv_table(admin(path, "show config"))
    assert kv["connect_timeout_ms"] == "1234"
    assert kv["max_client_connections"] == "77"
    assert kv["workers"] == "2"
    assert kv["log_level"] == "debug"
    assert kv["listeners.[0].port"] == str(h.port)
    assert kv["users.[0].name"] == APP_USER
    assert kv["users.[0].password_hash"] == "(hidden)"
    assert kv["admin_accounts.[0].password_hash"] == "(hidden)"
    assert kv["admin_accounts.[0].role"] == "operator"
    assert kv["witnesses.[0].address"] == "10.0.3.9"
    assert kv["backends.[0].port"] == str(cluster.primary_port)
    assert kv["backends.[0].role"] == "primary"
    assert kv["admin_socket"] == path
    assert kv["shards.schemas.[0].schema"] == "orders"
    assert kv["shards.cross_group_transactions"] == "refuse"
    assert kv["shards.xa_log"] == "/var/lib/halyard/xa.log"  # the default
    assert kv["shards.tables.[0].table"] == "shop.orders"
    assert kv["shards.tables.[0].map.[0].buckets"] == "0-15"
    assert kv["shards.reference"] == '["shop.countries"]'
    text = admin(path, "show config") + admin(path, "show config --json")
    assert "*" not in text.replace("(hidden)", ""), "no password hash is shown"
    j = admin_json(path, "show config")
    assert j["connect_timeout_ms"] == 1234 and j["log_syslog"] is False
    assert j["users"] == [{"name": APP_USER, "password_hash": "(hidden)", "sha2_hash": "",
                           "consistency": "default", "require_tls": False, "tls_subject": "",
                           "allow": [], "max_connections": 0, "exempt": False, "firewall": "off",
                           "firewall_allow": []}]
    assert [b["port"] for b in j["backends"]] == cluster.ports
    # Every key halyard knows is shown.
    keys = subprocess.run([h.binary, "--dump-keys"], capture_output=True, text=True).stdout
    for line in keys.splitlines():
        key, typ = line.split("\t")[:2]
        if typ not in ("list", "group"):  # their members are shown
            assert key.replace("[]", "[0]") in kv, key


def test_show_stats_counts(start_halyard):
    h = start_halyard(workers=2)
    path = default_socket(h)
    before = admin_json(path, "show stats")
    query(h, 5)
    with pytest.raises(pymysql.err.OperationalError):
        h.connect(password="wrong")
    # A worker may count just after its answer left, so poll.
    after = wait_until(lambda: (lambda j: j if j["commands"] >= before["commands"] + 5
                                and j["auth_failures"] > before["auth_failures"] else None)(
        admin_json(path, "show stats")), what="commands and the auth failure counted")
    assert after["sessions_accepted"] >= before["sessions_accepted"] + 2
    assert after["auth_failures"] == before["auth_failures"] + 1
    assert after["backend_connect_failures"] == 0
    assert len(after["workers"]) == 2
    for k in ("sessions_accepted", "commands", "auth_failures", "backend_connect_failures"):
        assert sum(w[k] for w in after["workers"]) == after[k]
    names, rows = table(admin(path, "show stats"))
    assert names == ["name", "total", "worker0", "worker1"]
    by = {r["name"]: r for r in rows}
    assert set(by) == {"client_sessions", "sessions_accepted", "commands", "auth_failures",
                       "backend_connect_failures", "pool_idle", "pool_taken", "pool_taken_own",
                       "pool_returned", "pool_closed_idle", "pool_closed_age",
                       "pool_closed_spoke", "pool_stmt_cached", "pool_stmt_evicted",
                       "pool_restore_resets", "statements_retried", "transactions_replayed",
                       "replays_failed_mismatch", "replays_failed_timeout", "replays_refused",
                       "inflight_committed", "inflight_rerun", "inflight_rolled_back",
                       "inflight_unknown", "writer_catchups", "writer_catchups_refused",
                       "classify_memo_hits", "classify_memo_misses", "classify_memo_stores",
                       "trace_spans_exported", "trace_spans_dropped", "trace_bad_traceparents",
                       "trace_bad_tracestates", "capture_records_dropped"}
    assert int(by["commands"]["total"]) >= after["commands"]
    assert int(by["commands"]["total"]) == int(by["commands"]["worker0"]) + int(by["commands"]["worker1"])
    conn = h.connect()
    assert wait_until(lambda: admin_json(path, "show stats")["client_sessions"] >= 1)
    conn.close()


def test_show_sessions_on_every_worker(start_halyard, cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hyops")
    h = start_halyard(workers=2)
    path = default_socket(h)
    conns = []
    # The kernel spreads connections over the workers' SO_REUSEPORT sockets:
    # open clients until both workers have some (bounded).
    for i in range(40):
        conns.append(h.connect(database="hyops" if i % 2 else None))
        if i >= 5 and len({s["worker"] for s in admin_json(path, "show sessions")["sessions"]
                           if s["user"] == APP_USER}) == 2:
            break
    sessions = [s for s in admin_json(path, "show sessions")["sessions"] if s["user"] == APP_USER]
    assert {s["worker"] for s in sessions} == {0, 1}, sessions
    by_id = {s["id"]: s for s in sessions}
    for i, c in enumerate(conns):
        s = by_id[c.thread_id()]
        local = c._sock.getsockname()
        assert s["client"] == f"{local[0]}:{local[1]}"
        assert s["schema"] == ("hyops" if i % 2 else None)
        assert s["state"] == "idle" and s["command"] is None
    assert [s["id"] for s in sessions] == sorted(s["id"] for s in sessions)
    assert admin_json(path, "show sessions")["missing_workers"] == []

    names, rows = table(admin(path, "show sessions"))
    assert names == ["id", "worker", "user", "client", "via", "schema", "backend", "thread",
                     "state", "command", "command_age_ms", "statements", "holds", "statement"]
    row = next(r for r in rows if r["id"] == str(conns[1].thread_id()))
    assert row["user"] == APP_USER and row["schema"] == "hyops" and row["state"] == "idle"
    assert row["statements"] == "0"

    # A statement in flight shows as a command.
    busy = conns[0]
    t = threading.Thread(target=lambda: busy.cursor().execute("SELECT SLEEP(2)"))
    t.start()
    s = wait_sessions(path, lambda ss: next((x for x in ss if x["id"] == busy.thread_id()
                                             and x["state"] == "command"), None),
                      "the sleeping session in state command")
    assert s["command"] == "COM_QUERY"
    t.join()


def test_show_sessions_schema_backend_statement(start_halyard, cluster):
    """show sessions gives the schema the session is in now (USE moves it),
    the backend its statements run on, and the statement in flight: its
    first 80 bytes, and never a password (the digest stands for it)."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hyops")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hyops2")
    h = start_halyard(pool_mode="session")  # the backend of an idle session: it keeps one
    path = default_socket(h)
    backends = {b["name"] for b in admin_json(path, "show backends")["backends"]}
    c = h.connect(database="hyops")

    def me():
        return next(x for x in admin_json(path, "show sessions")["sessions"]
                    if x["id"] == c.thread_id())

    s = me()
    assert s["schema"] == "hyops" and s["statement"] is None
    with c.cursor() as cur:
        cur.execute("USE hyops2")
    s = me()
    assert s["schema"] == "hyops2", s
    assert s["backend"] in backends, s
    names, rows = table(admin(path, "show sessions"))
    row = next(r for r in rows if r["id"] == str(c.thread_id()))
    assert row["schema"] == "hyops2" and row["backend"] == s["backend"]
    assert row["statement"] == "-"

    def running(sql):
        t = threading.Thread(target=lambda: c.cursor().execute(sql))
        t.start()
        try:
            return wait_sessions(path, lambda ss: next(
                (x for x in ss if x["id"] == c.thread_id() and x["state"] == "command"), None),
                "the session running its statement")
        finally:
            t.join()

    long = "SELECT SLEEP(1.5), '" + "x" * 100 + "'"
    s = running(long)
    assert s["statement"] == long[:80], s
    assert s["backend"] in backends
    # thread: that backend's id for the session's connection, as its
    # PROCESSLIST lists it.
    node = next(n["index"] for n in cluster.nodes if n["name"] == s["backend"])
    assert cluster.value(node, "SELECT USER FROM information_schema.PROCESSLIST WHERE ID = %s",
                         (s["thread"],)) == APP_USER, s
    s = running("SELECT SLEEP(1.5), PASSWORD('s3cret-pw')")
    assert "s3cret-pw" not in s["statement"], s
    assert s["statement"].upper().startswith("SELECT SLEEP"), s
    # the table shows the same, from the same description
    t = threading.Thread(target=lambda: c.cursor().execute("SELECT SLEEP(1.5) AS slow_one"))
    t.start()
    try:
        wait_sessions(path, lambda ss: next((x for x in ss if x["id"] == c.thread_id()
                                             and x["state"] == "command"), None),
                      "the session running its statement")
        names, rows = table(admin(path, "show sessions"))
        row = next(r for r in rows if r["id"] == str(c.thread_id()))
        assert row["statement"] == "SELECT SLEEP(1.5) AS slow_one", row
    finally:
        t.join()


def test_kill_session(start_halyard):
    h = start_halyard(workers=2)
    path = default_socket(h)
    victim, other = h.connect(), h.connect()
    vid = victim.thread_id()
    assert admin(path, f"kill session {vid}") == f"OK session {vid} killed\n"
    with pytest.raises(pymysql.err.OperationalError):
        with victim.cursor() as cur:
            cur.execute("SELECT 1")
    ids = {s["id"] for s in admin_json(path, "show sessions")["sessions"]}
    assert vid not in ids and other.thread_id() in ids
    with other.cursor() as cur:
        cur.execute("SELECT 1")
    assert admin(path, f"kill session {vid}") == f"ERR no session {vid}\n"
    # A statement in flight is cut too.
    busy = h.connect()
    errors = []

    def run():
        try:
            busy.cursor().execute("SELECT SLEEP(20)")
        except pymysql.err.OperationalError as e:
            errors.append(e)
    t = threading.Thread(target=run)
    t0 = time.monotonic()
    t.start()
    wait_sessions(path, lambda ss: any(x["id"] == busy.thread_id() and x["state"] == "command" for x in ss),
                  "the busy session")
    assert admin_json(path, f"kill session {busy.thread_id()}") == {
        "ok": True, "message": f"session {busy.thread_id()} killed", "session": busy.thread_id()}
    t.join(15)
    assert errors and time.monotonic() - t0 < 10
    h.wait_log(rf"AUDIT admin uid={os.geteuid()} pid=\d+: kill session {vid}: killed")


def test_reload_good_and_broken(start_halyard):
    h = start_halyard(connect_timeout_ms=1111)
    path = default_socket(h)
    original = open(h.conf_path).read()

    with open(h.conf_path, "w") as f:
        f.write(original.replace("connect_timeout_ms = 1111;", "connect_timeout_ms = 2222;"))
    assert admin(path, "reload") == f"OK reloaded {h.conf_path}\n"
    assert admin_json(path, "show config")["connect_timeout_ms"] == 2222
    st = admin_json(path, "show status")
    assert st["last_reload_result"] == "ok" and st["reloads_ok"] == 1
    assert st["last_reload_by"].startswith(f"admin uid={os.geteuid()} pid=")
    h.wait_log(r"AUDIT reload by admin uid=\d+ pid=\d+: ok")

    # Broken: a value out of range, on the line of "workers".
    lines = original.replace("connect_timeout_ms = 1111;", "connect_timeout_ms = 2222;").splitlines()
    at = next(i for i, l in enumerate(lines) if l.startswith("workers = "))
    lines[at] = "workers = 999;"
    with open(h.conf_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    want = f"{h.conf_path}:{at + 1}: workers: 999 is out of range 0..256"
    assert admin(path, "reload") == f"ERR reload failed, keeping the running config: {want}\n"
    r = ctl("-s", path, "reload")
    assert r.returncode == 1 and want in r.stdout
    st = admin_json(path, "show status")
    assert st["last_reload_result"] == "error" and st["last_reload_error"] == want
    assert st["reloads_failed"] == 2 and st["reloads_ok"] == 1
    kv = kv_table(admin(path, "show status"))
    assert kv["last_reload_result"] == "error" and kv["last_reload_error"] == want
    # The old config keeps serving.
    assert admin_json(path, "show config")["connect_timeout_ms"] == 2222
    assert admin_json(path, "show config")["workers"] == 2
    assert h.sql("SELECT 42") == [(42,)]
    h.wait_log(r"AUDIT reload by admin uid=\d+ pid=\d+: failed: " + re.escape(want))

    # Repaired, by SIGHUP this time.
    with open(h.conf_path, "w") as f:
        f.write(original)
    h.send_signal(signal.SIGHUP)
    st = wait_until(lambda: (lambda j: j if j["reloads_ok"] == 2 else None)(admin_json(path, "show status")),
                    what="the SIGHUP reload")
    assert st["last_reload_by"] == "SIGHUP" and st["last_reload_result"] == "ok"
    assert st["last_reload_error"] is None
    assert admin_json(path, "show config")["connect_timeout_ms"] == 1111
    h.wait_log(r"AUDIT reload by SIGHUP: ok")


def test_sighup_broken_shows_in_status(start_halyard):
    h = start_halyard()
    path = default_socket(h)
    with open(h.conf_path, "a") as f:
        f.write("bogus_key = 1;\n")
    n = len(open(h.conf_path).read().splitlines())
    h.send_signal(signal.SIGHUP)
    st = wait_until(lambda: (lambda j: j if j["reloads_failed"] == 1 else None)(admin_json(path, "show status")),
                    what="the failed SIGHUP reload")
    assert st["last_reload_by"] == "SIGHUP"
    assert st["last_reload_error"] == f"{h.conf_path}:{n}: bogus_key: unknown key"
    assert h.sql("SELECT 1") == [(1,)]


# ---------------------------------------------------------------------------
# the protocol itself


def test_pipelined_commands_answer_in_order(halyard):
    out = admin_raw(default_socket(halyard), b"help\n\nshow stats --json\r\nnope\nshow status\n").decode()
    answers = out.split("\n\n")
    assert answers[-1] == "" and len(answers) == 5, out
    assert answers[0].startswith("command ")
    assert json.loads(answers[1])["workers"]
    assert answers[2] == "ERR unknown command 'nope'; try help"
    assert answers[3].startswith("name ")


def test_long_line_is_refused_and_closed(halyard):
    out = admin_raw(default_socket(halyard), b"x" * 5000 + b"\nhelp\n")
    assert out == b"ERR command line longer than 4096 bytes\n\n"
    assert admin(default_socket(halyard), "help").startswith("command ")


def test_client_that_does_not_read_stalls_only_itself(halyard):
    path = default_socket(halyard)
    hog = socket.socket(socket.AF_UNIX)
    hog.connect(path)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.sendall(b"show config\n" * 300)  # answers it never reads
    time.sleep(0.3)
    t0 = time.monotonic()
    for _ in range(20):
        assert admin(path, "show stats").startswith("name ")
    assert time.monotonic() - t0 < 5
    assert halyard.sql("SELECT 1") == [(1,)]
    hog.close()


def test_connection_limit(halyard):
    path = default_socket(halyard)
    held = []
    for _ in range(16):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        held.append(s)
    time.sleep(0.2)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        assert s.recv(100) == b"ERR too many admin connections\n\n"
        assert s.recv(100) == b""
    r = ctl("-s", path, "show", "status")
    assert r.returncode == 1 and r.stdout == "ERR too many admin connections\n", r
    held.pop().close()
    wait_until(lambda: admin(path, "help").startswith("command "), what="a free admin slot")
    for s in held:
        s.close()


# ---------------------------------------------------------------------------
# halyardctl


def test_halyardctl_exit_codes(start_halyard, tmp_path):
    h = start_halyard()
    path = default_socket(h)
    r = ctl("-s", path, "show", "status")
    assert r.returncode == 0, r
    assert r.stdout.startswith("name ") and not r.stdout.endswith("\n\n")
    assert kv_table(r.stdout)["pid"] == str(h.pid)
    r = ctl("-s", path, "show", "stats", "--json")
    assert r.returncode == 0 and "workers" in json.loads(r.stdout)
    r = ctl("-s", path, "-j", "show", "sessions")
    assert r.returncode == 0 and "sessions" in json.loads(r.stdout)
    # -c takes the socket from the config file.
    r = ctl("-c", h.conf_path, "show", "config")
    assert r.returncode == 0 and kv_table(r.stdout)["admin_socket"] == path
    # 1: the command failed
    r = ctl("-s", path, "kill", "session", "12345")
    assert r.returncode == 1 and r.stdout == "ERR no session 12345\n"
    # -q: nothing but the error, on stderr
    r = ctl("-q", "-s", path, "kill", "session", "12345")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "ERR no session 12345\n"), r
    r = ctl("-q", "-s", path, "show", "status")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r
    # 2: usage, or a command no table has (not sent)
    r = ctl("-s", path, "frobnicate")
    assert r.returncode == 2 and r.stdout == "" and \
        'unknown command "frobnicate" (halyardctl --help lists the commands)' in r.stderr, r
    assert ctl().returncode == 2
    assert ctl("-x", "show", "status").returncode == 2
    assert ctl("-s", path, "-c", h.conf_path, "show", "status").returncode == 2
    assert ctl("-t", "0", "show", "status").returncode == 2
    bad = tmp_path / "bad.conf"
    bad.write_text("workers = ;\n")
    r = ctl("-c", str(bad), "show", "status")
    assert r.returncode == 2 and f"{bad}:1: syntax error" in r.stderr
    # 3: no answer
    r = ctl("-s", str(tmp_path / "nothing.sock"), "show", "status")
    assert r.returncode == 3 and "cannot connect" in r.stderr
    assert ctl("--help").returncode == 0


def man_commands():
    """The usages docs/halyardctl.1 lists under COMMANDS (each .TP's next
    line, roff taken out)."""
    text = open(os.path.join(REPO, "docs", "halyardctl.1")).read()
    section = text.split("\n.SH COMMANDS\n", 1)[1].split("\n.SH ", 1)[0]
    lines = section.split("\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        if line == ".TP":
            u = re.sub(r"^\.B[IR]? ", "", lines[i + 1])
            u = re.sub(r"\\f[BIRP]", "", u).replace("\\-", "-").replace('"', "")
            out.append(u)
    return out


def test_halyardctl_help():
    """--help lists every command one line each (the admin socket's table and
    halyardctl's own, tested against the table in tests/unit/test_ctl_help.c),
    the man page lists the same, help --json too, and `help COMMAND` explains
    one (every one in the unit test)."""
    r = ctl("--help")
    assert r.returncode == 0 and r.stderr == "", r
    assert ctl("help").stdout == r.stdout
    listed = r.stdout.split("commands (halyardctl help COMMAND explains one):\n")[1]
    listed = listed.split("\nexit status:")[0].split("\n")
    usages = [re.match(r"  (\S.*?)(?:  +|$)", line).group(1) for line in listed]
    for want in ("help [COMMAND]", "show status", "show backends [--detail]", "switchover [to NAME]",
                 "restore --to-gtid G|--to-position P|--to-time T", "backup verify [--into HOST:PORT]", "backup full"):
        assert want in usages, usages
    assert man_commands() == usages, "docs/halyardctl.1's COMMANDS differ from --help"
    j = json.loads(ctl("help", "--json").stdout)
    assert [c["usage"] for c in j["commands"]] == usages
    assert json.loads(ctl("-j", "help").stdout) == j
    assert {c["runs_in"] for c in j["commands"] if c["usage"].startswith(("restore", "backup verify"))} \
        == {"halyardctl"}
    assert all(c["example"] and c["description"] for c in j["commands"]), j
    # each one is explained in tests/unit/test_ctl_help.c; here the binary, for a few
    for u in [x for x in usages if x.startswith(("show backends", "backend ", "restore", "backup "))]:
        words = re.match(r"[a-z][a-z-]*(?: [a-z][a-z-]*)*", u).group(0).split()
        h = ctl("help", *words)
        assert h.returncode == 0 and f"] {u}\n" in h.stdout and "example:\n" in h.stdout, (u, h)
    h = ctl("help", "frobnicate")
    assert h.returncode == 2 and h.stdout == "" and 'no command "frobnicate"' in h.stderr, h


def test_halyardctl_own_commands_json(tmp_path):
    """halyardctl's own commands take --json (or -j) too: help, help COMMAND,
    backup list, and restore and backup verify, whose phases go to stderr
    then and stdout gets one object once they end."""
    assert [c["usage"] for c in json.loads(ctl("help", "show", "backends", "--json").stdout)
            ["commands"]] == ["show backends [--detail]"]
    (tmp_path / "full").mkdir()
    r = ctl("backup", "list", "--dir", str(tmp_path), "--json")
    assert r.returncode == 1 and json.loads(r.stdout) == {
        "dir": str(tmp_path), "backups": [], "archive_files": 0, "archive_first": None,
        "archive_last": None, "window": [], "gaps": [], "restorable": False}, r
    assert json.loads(ctl("-j", "backup", "list", "--dir", str(tmp_path)).stdout)["backups"] == []
    r = ctl("restore", "--to-gtid", "0-1-5", "--dir", str(tmp_path), "--into", "127.0.0.1:1",
            "--json")
    j = json.loads(r.stdout)
    assert r.returncode == 1 and j["ok"] is False and j["command"] == "restore", r
    assert j["exit_status"] == 1 and "no full backup" in r.stderr, r
    r = ctl("-j", "backup", "verify")
    assert r.returncode == 2 and json.loads(r.stdout)["command"] == "backup verify", r


def test_halyardctl_timeout(tmp_path):
    path = str(tmp_path / "mute.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    t0 = time.monotonic()
    r = ctl("-s", path, "-t", "0.5", "show", "status")
    assert r.returncode == 3 and "no complete answer" in r.stderr
    assert time.monotonic() - t0 < 5
    srv.close()


# ---------------------------------------------------------------------------
# metrics


def test_metrics(start_halyard):
    mport = free_port()
    h = start_halyard(metrics_port=mport)
    status, headers, body = scrape(mport)
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert headers["Connection"] == "close"
    v1 = parse_exposition(body)
    assert v1["halyard_up"] == 1
    assert any(k.startswith("halyard_build_info{version=") for k in v1)
    for name in ("halyard_uptime_seconds", "halyard_client_sessions", "halyard_sessions_accepted_total",
                 "halyard_commands_total", "halyard_auth_failures_total",
                 "halyard_backend_connect_failures_total", "halyard_config_last_reload_success"):
        assert name in v1, name
    assert v1['halyard_reloads_total{result="ok"}'] == 0
    assert v1['halyard_reloads_total{result="error"}'] == 0
    assert v1["halyard_config_last_reload_success"] == 1

    from prometheus_client.parser import text_string_to_metric_families
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    assert fams["halyard_commands"].type == "counter"
    assert fams["halyard_client_sessions"].type == "gauge"

    query(h, 10)
    with pytest.raises(pymysql.err.OperationalError):
        h.connect(password="wrong")
    conn = h.connect()

    def grown():
        v = parse_exposition(scrape(mport)[2])
        return v if v["halyard_commands_total"] >= v1["halyard_commands_total"] + 10 else None
    v2 = wait_until(grown, what="commands_total to grow")
    v2 = wait_until(lambda: (lambda v: v if v["halyard_auth_failures_total"] > v1["halyard_auth_failures_total"]
                             else None)(parse_exposition(scrape(mport)[2])), what="the auth failure")
    assert v2["halyard_sessions_accepted_total"] >= v1["halyard_sessions_accepted_total"] + 3
    assert v2["halyard_auth_failures_total"] == v1["halyard_auth_failures_total"] + 1
    assert v2["halyard_client_sessions"] >= 1
    assert v2["halyard_uptime_seconds"] >= v1["halyard_uptime_seconds"]
    # Per listener: connections, open sessions, auth failures.
    assert v2['halyard_listener_auth_failures_total{listener="main"}'] == 1
    assert v2['halyard_listener_connections_total{listener="main"}'] == v2["halyard_sessions_accepted_total"]
    assert v2['halyard_listener_client_sessions{listener="main"}'] >= 1
    for kind in ("failover", "switchover"):
        for result in ("ok", "error"):
            assert v2[f'halyard_failovers_total{{kind="{kind}",result="{result}"}}'] == 0
    assert v2['halyard_log_lines_dropped_total{log="audit"}'] == 0
    fams = {f.name: f for f in text_string_to_metric_families(scrape(mport)[2])}
    assert fams["halyard_listener_client_sessions"].type == "gauge"
    assert fams["halyard_failovers"].type == "counter"
    assert {s.labels["listener"] for s in fams["halyard_listener_connections"].samples} == {"main"}
    # The per-listener gauge goes back down with the sessions, also for a
    # session that moved to a reloaded config.
    h.send_signal(signal.SIGHUP)
    wait_until(lambda: parse_exposition(scrape(mport)[2])['halyard_reloads_total{result="ok"}'] == 1,
               what="the reload")
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()
    wait_until(lambda: (lambda v: v["halyard_client_sessions"] == 0 and
                        v['halyard_listener_client_sessions{listener="main"}'] == 0)(
        parse_exposition(scrape(mport)[2])), what="no session open, per listener too")

    # A failed reload shows.
    with open(h.conf_path, "a") as f:
        f.write("bogus = 1;\n")
    h.send_signal(signal.SIGHUP)
    v3 = wait_until(lambda: (lambda v: v if v['halyard_reloads_total{result="error"}'] == 1 else None)(
        parse_exposition(scrape(mport)[2])), what="the failed reload in the metrics")
    assert v3["halyard_config_last_reload_success"] == 0
    assert abs(v3["halyard_config_last_reload_timestamp_seconds"] - time.time()) < 60

    assert scrape(mport, "/")[0] == 404
    assert scrape(mport, "/metricsx")[0] == 404
    assert scrape(mport, "/metrics?name=x")[0] == 200
    assert scrape(mport, method="POST")[0] == 405
    status, headers, body = scrape(mport, method="HEAD")
    assert status == 200 and body == "" and int(headers["Content-Length"]) > 100
    # Garbage gets 400, headers past 8 KiB 431; the endpoint stays up.
    with socket.create_connection(("127.0.0.1", mport), timeout=10) as s:
        s.sendall(b"\x16\x03\x01 not http\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400 ")
    with socket.create_connection(("127.0.0.1", mport), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"y" * 9000)
        assert s.recv(100).startswith(b"HTTP/1.1 431 ")
    assert scrape(mport)[0] == 200
    assert kv_table(admin(default_socket(h), "show status"))["metrics"] == f"127.0.0.1:{mport}"


def test_classify_memo_counters_move(start_halyard, cluster):
    """The workers' memo of classifications counts in show stats and the
    metrics: one shape with other numbers is classified twice (missed, then
    kept) and answered from the memo after."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hyops")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS hyops.memo (id INT PRIMARY KEY, c INT)")
    mport = free_port()
    h = start_halyard(workers=1, metrics_port=mport)
    path = default_socket(h)
    names = ("classify_memo_hits", "classify_memo_misses", "classify_memo_stores")
    before = admin_json(path, "show stats")
    m1 = parse_exposition(scrape(mport)[2])
    conn = h.connect()
    with conn.cursor() as cur:
        for i in range(10):
            cur.execute(f"SELECT c FROM hyops.memo WHERE id = {i + 17}")
            cur.fetchall()
    conn.close()
    after = wait_until(lambda: (lambda st: st if st["classify_memo_hits"] >= before["classify_memo_hits"] + 8
                                else None)(admin_json(path, "show stats")), timeout=5,
                       what="the memo's hits in show stats")
    d = {k: after[k] - before[k] for k in names}
    # the first text misses and is noted, the second misses and is kept,
    # the eight after are answered: besides whatever the login ran
    assert d["classify_memo_hits"] >= 8 and d["classify_memo_stores"] >= 1, d
    assert d["classify_memo_misses"] >= 2, d
    assert after["workers"][0]["classify_memo_hits"] == after["classify_memo_hits"]
    m2 = parse_exposition(scrape(mport)[2])
    for k in names:
        assert m2[f"halyard_{k}_total"] >= m1[f"halyard_{k}_total"] + min(d[k], 1), k
    assert m2["halyard_classify_memo_hits_total"] >= m1["halyard_classify_memo_hits_total"] + 8
    _, rows = table(admin(path, "show stats"))
    assert int(next(r for r in rows if r["name"] == "classify_memo_hits")["total"]) >= after["classify_memo_hits"]


def test_metrics_port_in_use_stops_start(start_halyard):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        h = start_halyard(metrics_port=busy.getsockname()[1], wait=False)
        assert h.wait(timeout=10) == 1
        assert "metrics: cannot listen on 127.0.0.1:" in h.log_text()


# ---------------------------------------------------------------------------
# logs


def test_log_file_and_sigusr1_reopen(start_halyard, tmp_path):
    log = tmp_path / "halyard.log"
    h = start_halyard(log_file=str(log))
    wait_until(lambda: "listening on" in log.read_text(), what="the start in the log file")
    assert "listening on" not in h.log_text(), "lines go to log_file, not to stderr"
    rotated = tmp_path / "halyard.log.1"
    os.rename(log, rotated)
    h.sql("SELECT 1")  # still written to the renamed file
    h.send_signal(signal.SIGUSR1)
    wait_until(lambda: log.exists() and "SIGUSR1: log reopened" in log.read_text(),
               what="the reopened log file")
    admin(default_socket(h), "show stats")
    wait_until(lambda: "admin uid=" in log.read_text(), what="new lines in the new file")
    assert "admin uid=" not in rotated.read_text()
    assert "listening on" in rotated.read_text()
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o640


def test_log_file_unwritable(start_halyard, tmp_path):
    h = start_halyard(log_file=str(tmp_path / "no" / "such" / "dir.log"), wait=False)
    assert h.wait(timeout=10) == 1
    assert "cannot open log file" in h.log_text()


# ---------------------------------------------------------------------------
# halyard -t and the command line


def test_config_test_exit_codes(start_halyard):
    h = start_halyard(args=("-t",), wait=False, metrics_port=9999, log_syslog=True)
    assert h.wait(timeout=10) == 0
    h = start_halyard(args=("-t",), wait=False, metrics_port=70000)
    assert h.wait(timeout=10) == 1
    assert re.search(rf"{re.escape(h.conf_path)}:\d+: metrics_port: 70000 is out of range 0..65535",
                     h.log_text())
    h = start_halyard(args=("-t",), wait=False, log_syslog="yes")
    assert h.wait(timeout=10) == 1
    assert "log_syslog: expected a boolean (true or false), got a string" in h.log_text()
    h = start_halyard(args=("-t", "--no-such-option"), wait=False)
    assert h.wait(timeout=10) == 2
    # every error in one run, a misspelt key with the key it may be
    h = start_halyard(args=("-t",), wait=False, metrics_port=70000, log_levle="info",
                      log_level="verbose")
    assert h.wait(timeout=10) == 1
    log = h.log_text()
    conf = re.escape(h.conf_path)
    assert re.search(rf"{conf}:\d+: metrics_port: 70000 is out of range", log), log
    assert re.search(rf'{conf}:\d+: log_levle: unknown key; did you mean "log_level"\?', log), log
    assert re.search(rf'{conf}:\d+: log_level: "verbose" is not one of', log), log
    assert f"halyard: {h.conf_path}: 3 errors, 0 warnings" in log, log
    # warnings only: valid, status 2
    h = start_halyard(args=("-t",), wait=False, monitor=None)
    assert h.wait(timeout=10) == 2
    assert f"{h.conf_path}: warning: monitor.user: not set: no health checks will run" in \
        h.log_text(), h.log_text()
    assert "is valid, with 1 warning" in h.log_text()
    # with a password in it, the file must not be for others to read
    h = start_halyard(args=("-t",), wait=False)
    assert h.wait(timeout=10) == 0
    os.chmod(h.conf_path, 0o644)
    r = subprocess.run([h.binary, "-t", "-c", h.conf_path], capture_output=True, text=True)
    assert r.returncode == 2
    assert re.search(rf"{re.escape(h.conf_path)}:\d+: warning: monitor.password: a password in "
                     r"clear text, in a file others can read \(mode 0644\)", r.stderr), r.stderr


# ---------------------------------------------------------------------------
# audit log and query log


def read_json_lines(path):
    lines = path.read_text().splitlines()
    out = [json.loads(l) for l in lines]  # every line is one JSON object
    for o in out:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]), o
    return out


def test_audit_and_query_log(start_halyard, tmp_path):
    audit, qlog = tmp_path / "audit.log", tmp_path / "query.log"
    h = start_halyard(audit_log=str(audit), query_log=str(qlog))
    path = default_socket(h)
    with pytest.raises(pymysql.err.OperationalError):
        h.connect(password="wrong")
    with pytest.raises(pymysql.err.OperationalError):
        h.connect(user="nobody")
    c = h.connect()
    with c.cursor() as cur:
        # Quotes, control bytes, invalid UTF-8: the line stays valid JSON.
        cur.execute("SELECT 'a\"b\\\\c\x01\n' AS x")
        cur.fetchall()
        with pytest.raises(pymysql.err.ProgrammingError):
            cur.execute("SELECT * FROM mysql.no_such_table_here")
    # Invalid UTF-8 in a statement, sent raw (pymysql would encode it).
    c._execute_command(3, b"SELECT LENGTH('\xff\xfe') AS raw")
    c._read_query_result()
    assert admin(path, "kill session 4000000000") == "ERR no session 4000000000\n"
    admin(path, "show status")  # `show` is not audited
    assert admin(path, "reload").startswith("OK reloaded")
    assert admin(path, "frobnicate").startswith("ERR unknown command")

    def events():
        return read_json_lines(audit) if audit.exists() else []
    ev = wait_until(lambda: (lambda e: e if sum(x["event"] == "admin" for x in e) >= 3 and
                             any(x["event"] == "reload" for x in e) else None)(events()),
                    what="the audit lines")
    fails = [e for e in ev if e["event"] == "login_failed"]
    assert [f["reason"] for f in fails] == ["wrong password", "unknown user"], fails
    assert fails[0]["user"] == "app" and fails[1]["user"] == "nobody"
    assert fails[0]["listener"] == "main" and fails[0]["client"].startswith("127.0.0.1:")
    ok = [e for e in ev if e["event"] == "login"]
    assert ok and ok[0]["user"] == "app" and isinstance(ok[0]["session"], int)
    admins = [e for e in ev if e["event"] == "admin"]
    assert [a["command"] for a in admins] == ["kill session 4000000000", "reload", "frobnicate"], admins
    assert admins[0]["result"] == "ERR no session 4000000000"
    assert admins[1]["result"].startswith("OK reloaded")
    assert admins[2]["result"].startswith("ERR unknown command")
    assert admins[0]["by"] == f"uid={os.geteuid()} pid={os.getpid()}"
    rl = [e for e in ev if e["event"] == "reload"]
    assert rl[0]["by"].startswith("admin uid=") and rl[0]["result"] == "ok" and rl[0]["message"] is None

    def queries():
        return read_json_lines(qlog) if qlog.exists() else []
    qs = wait_until(lambda: (lambda q: q if any("raw" in (x["query"] or "") for x in q) else None)(queries()),
                    what="the query log lines")
    by_text = {q["query"]: q for q in qs}
    q1 = by_text["SELECT 'a\"b\\\\c\x01\n' AS x"]
    assert q1["user"] == "app" and q1["rows"] == 1 and q1["error"] == 0 and q1["backend"]
    assert re.fullmatch(r"[0-9a-f]{16}", q1["digest"]) and q1["duration_us"] >= 0
    assert by_text["SELECT * FROM mysql.no_such_table_here"]["error"] == 1146
    assert by_text["SELECT LENGTH('\ufffd\ufffd') AS raw"]["rows"] == 1  # U+FFFD for each invalid byte
    raw = qlog.read_bytes()
    assert b"\\ufffd\\ufffd" in raw and b"\xff" not in raw

    # SIGUSR1 reopens both after logrotate renamed them.
    audit.rename(tmp_path / "audit.log.1")
    qlog.rename(tmp_path / "query.log.1")
    h.send_signal(signal.SIGUSR1)
    h.wait_log(r"SIGUSR1: log reopened")
    h.sql("SELECT 'after rotation'")
    assert admin(path, "reload").startswith("OK reloaded")
    wait_until(lambda: audit.exists() and any(e["event"] == "reload" for e in read_json_lines(audit)),
               what="a new audit file")
    wait_until(lambda: qlog.exists() and any(q["query"] == "SELECT 'after rotation'" for q in read_json_lines(qlog)),
               what="a new query log file")
    assert "after rotation" not in (tmp_path / "query.log.1").read_text()


def test_query_log_min_duration(start_halyard, tmp_path):
    qlog = tmp_path / "query.log"
    h = start_halyard(query_log=str(qlog), query_log_min_duration_ms=200)
    c = h.connect()
    with c.cursor() as cur:
        cur.execute("SELECT 1 AS fast")
        cur.execute("SELECT SLEEP(0.3) AS slow")
        cur.execute("SELECT 2 AS fast")
        cur.execute("SELECT SLEEP(0.25) AS slow2")
    qs = wait_until(lambda: (lambda q: q if len(q) >= 2 else None)(
        read_json_lines(qlog) if qlog.exists() else []), what="the slow statements")
    assert [q["query"] for q in qs] == ["SELECT SLEEP(0.3) AS slow", "SELECT SLEEP(0.25) AS slow2"]
    assert all(q["duration_us"] >= 200000 for q in qs)
