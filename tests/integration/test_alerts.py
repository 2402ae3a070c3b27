"""Events and their notifiers (issue 11, items 1 and 2).

A real HTTP receiver (http.server in a thread, on a port of the test's own
range: HALYARD_TEST_PORT+80..+99) and a real command (a shell script that
writes its stdin and environment to a file) get the events halyard emits:

    a replica killed and started again: backend_down, then backend_up
    SIGHUP: config_reloaded; a broken file: config_reload_failed
    the primary killed with failover = "auto": primary_lost,
    failover_started, failover_done (its steps in "action")
    a receiver answering 500 is tried again; one that hangs costs the data
    path nothing (SELECT 1 through halyard keeps its latency)
    a flapping replica with alerts.repeat_ms: one delivery per interval,
    the held ones counted in "coalesced"
    alerts.pre_failover exiting 1 vetoes the failover (failover_vetoed, an
    audit record, no promotion); exiting 0 lets the next attempt go on
    alerts.exec: killed after exec_timeout_ms, at most exec_max_running
    halyardctl test-alert and show events; disabled and min_severity
    alerts.events: one name given another severity (delivered past
    min_severity, as that severity) and its own repeat interval, another
    turned off; the other names keep the group's settings
    two failed logins past auth_fail_limit: auth_block for the address
"""

import collections
import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql
import pytest

from conftest import TEST_PORT
from util import REPO, free_port, metric, wait_audit, wait_until

HALYARDCTL = os.path.abspath(os.environ.get("HALYARDCTL_BIN") or os.path.join(REPO, "build", "halyardctl"))

HOOK_PORTS = range(TEST_PORT + 80, TEST_PORT + 100)
REPL_ENV = "HALYARD_TEST_REPL_PASSWORD"
os.environ.setdefault(REPL_ENV, "repl")  # halyard's environment: must not reach alerts.exec


class Receiver:
    """An HTTP server in a thread: keeps every POSTed JSON body with the time
    it came. mode: "ok" (204), "fail" (500 for the first `fails` POSTs, then
    200), "hang" (never answers while `hang` is set)."""

    def __init__(self, mode="ok", fails=0):
        self.mode, self.fails = mode, fails
        self.posts = []  # (monotonic time, dict)
        self.attempts = 0
        self.tries = collections.Counter()  # POSTs by event name, answered or not
        self.lock = threading.Lock()
        self.release = threading.Event()
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recv.lock:
                    recv.attempts += 1
                    attempt = recv.attempts
                    try:
                        recv.tries[json.loads(body).get("event")] += 1
                    except ValueError:
                        recv.tries[None] += 1
                if recv.mode == "hang":
                    recv.release.wait(60)
                    return
                if recv.mode == "fail" and attempt <= recv.fails:
                    self.send_response(500)
                    self.end_headers()
                    return
                with recv.lock:
                    recv.posts.append((time.monotonic(), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = None
        for port in HOOK_PORTS:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        assert self.server is not None, f"no free port in {HOOK_PORTS}"
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self, name=None, **match):
        with self.lock:
            out = [e for _, e in self.posts]
        return [e for e in out if (name is None or e["event"] == name)
                and all(e.get(k) == v for k, v in match.items())]

    def wait(self, name, timeout=20, **match):
        wait_until(lambda: self.events(name, **match), timeout,
                   what=f"a {name} {match} POST; got {[e['event'] for e in self.events()]}")
        return self.events(name, **match)[0]


@pytest.fixture
def receiver():
    made = []

    def make(mode="ok", fails=0):
        r = Receiver(mode, fails)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def exec_script(tmp_path):
    """A command that writes what it got (stdin, then its environment) to
    OUT/<seq>.txt; returns (script path, OUT)."""
    out = tmp_path / "exec-out"
    out.mkdir()
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\n"
                      f"f={out}/$HALYARD_SEQ.txt\n"
                      "cat > \"$f.tmp\"\n"
                      "echo '--- env' >> \"$f.tmp\"\n"
                      "env | sort >> \"$f.tmp\"\n"
                      "mv \"$f.tmp\" \"$f\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), out


def exec_events(out):
    """Every event the script got: (JSON from stdin, env dict)."""
    got = []
    for p in sorted(out.glob("*.txt")):
        text = p.read_text()
        body, _, env = text.partition("--- env\n")
        envd = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
        got.append((json.loads(body), envd))
    return got


def wait_exec(out, name, timeout=20, **match):
    def find():
        return [(j, e) for j, e in exec_events(out)
                if j["event"] == name and all(j.get(k) == v for k, v in match.items())]
    wait_until(find, timeout, what=f"{name} {match} from alerts.exec; got "
               f"{[j['event'] for j, _ in exec_events(out)]}")
    return find()[0]


def alerts(**kw):
    a = {"repeat_ms": 0}
    a.update(kw)
    return a


def ctl(sock, *args):
    p = subprocess.run([HALYARDCTL, "-s", sock, *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout


MONITOR = {"user": "monitor", "password": "monitor", "interval_ms": 300, "fall": 2, "rise": 2}


def test_replica_kill_reaches_webhook_and_exec(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    script, out = exec_script(tmp_path)
    h = start_halyard(monitor=MONITOR, instance_name="test-proxy",
                      alerts=alerts(webhook=r.url, exec=script))
    started = r.wait("halyard_started")
    assert started["instance"] == "test-proxy"
    cluster.kill(1)
    down = r.wait("backend_down", backend="node1")
    assert down["old"] == "ONLINE" and down["new"] == "DOWN", down
    assert down["severity"] == "warning", down
    assert down["reason"] and down["action"], down
    assert down["time"].endswith("Z") and "T" in down["time"], down
    cluster.start_node(1)
    up = r.wait("backend_up", backend="node1", timeout=60)
    assert up["old"] == "DOWN" and up["new"] == "ONLINE", up
    assert up["seq"] > down["seq"]
    # The command got the same events: JSON on stdin, fields in the environment.
    j, env = wait_exec(out, "backend_down", backend="node1")
    assert j == down
    assert env["HALYARD_EVENT"] == "backend_down"
    assert env["HALYARD_BACKEND"] == "node1"
    assert env["HALYARD_OLD"] == "ONLINE" and env["HALYARD_NEW"] == "DOWN"
    assert env["HALYARD_REASON"] == down["reason"]
    assert env["HALYARD_TIME"] == down["time"]
    assert env["HALYARD_INSTANCE"] == "test-proxy"
    # Not halyard's own environment: nothing else leaks into the command.
    assert "HALYARD_TEST_REPL_PASSWORD" not in env and "HOME" not in env, sorted(env)
    j, env = wait_exec(out, "backend_up", backend="node1")
    assert j == up
    h.stop()
    r.wait("halyard_stopping", timeout=5)


def test_reload_events(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    script, out = exec_script(tmp_path)
    h = start_halyard(alerts=alerts(webhook=r.url, exec=script))
    r.wait("halyard_started")
    h.send_signal(signal.SIGHUP)
    ok = r.wait("config_reloaded")
    assert "SIGHUP" in ok["reason"], ok
    good = open(h.conf_path).read()
    h.reload(good + "\nno_such_key = 1;\n")
    bad = r.wait("config_reload_failed")
    assert "no_such_key" in bad["reason"], bad
    wait_exec(out, "config_reloaded")
    j, env = wait_exec(out, "config_reload_failed")
    assert j == bad and env["HALYARD_REASON"] == bad["reason"]


def test_failover_events(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    script, out = exec_script(tmp_path)
    h = start_halyard(failover="auto", failover_delay_ms=500, monitor=MONITOR,
                      replication_user="repl", replication_password_env=REPL_ENV,
                      alerts=alerts(webhook=r.url, exec=script))
    r.wait("halyard_started")
    cluster.kill(0)
    lost = r.wait("primary_lost", backend="node0")
    assert lost["new"] == "unreachable", lost
    started = r.wait("failover_started")
    assert started["old"] == "node0" and started["new"] in ("node1", "node2"), started
    done = r.wait("failover_done", timeout=30)
    assert done["old"] == "node0" and done["new"] == started["new"], done
    assert "failover done" in done["action"], done  # the procedure's steps
    assert started["seq"] < done["seq"]
    assert not r.events("failover_failed")
    j, _ = wait_exec(out, "failover_done")
    assert j == done
    wait_exec(out, "failover_started")
    del h


def test_webhook_500_is_retried(cluster, start_halyard, receiver, tmp_path):
    r = receiver("fail", fails=2)
    mport = free_port()
    h = start_halyard(metrics_port=mport, alerts=alerts(webhook=r.url, webhook_retries=3))
    ev = r.wait("halyard_started", timeout=15)
    # two 500s, then delivered (a loaded host may raise another event after
    # it: CI once saw a fourth POST)
    assert r.tries["halyard_started"] == 3, r.tries
    assert ev["seq"] == 1
    assert "retrying: HTTP 500" not in h.log_text()  # retries are quiet; the last failure is a WARN
    # the receiver has the event before halyard has its answer and counts it
    wait_until(lambda: metric(mport, 'halyard_alerts_delivered_total{notifier="webhook"}') ==
               len(r.events()), what=f"the deliveries counted: {r.events()}")
    assert metric(mport, 'halyard_alerts_failed_total{notifier="webhook"}') == 0


def test_webhook_gives_up_after_retries(cluster, start_halyard, receiver, tmp_path):
    r = receiver("fail", fails=100)
    mport = free_port()
    h = start_halyard(metrics_port=mport, alerts=alerts(webhook=r.url, webhook_retries=1))
    wait_until(lambda: metric(mport, 'halyard_alerts_failed_total{notifier="webhook"}') == 1, 10,
               what="the POST to fail for good")
    assert r.attempts == 2, r.attempts
    h.wait_log(r"alerts.webhook: event 1 \(halyard_started\): HTTP 500 after 2 attempts")


def test_hanging_webhook_costs_queries_nothing(cluster, start_halyard, receiver, tmp_path):
    def latencies(h, n=400):
        """Median and p99 of SELECT 1 on one connection, after a warm-up."""
        c = h.connect()
        out = []
        with c.cursor() as cur:
            for i in range(n + 50):
                t = time.perf_counter()
                cur.execute("SELECT 1")
                cur.fetchall()
                if i >= 50:
                    out.append(time.perf_counter() - t)
        out.sort()
        return out[len(out) // 2], out[int(len(out) * 0.99)]

    base = start_halyard()
    r = receiver("hang")
    mport = free_port()
    sock = str(tmp_path / "admin.sock")
    h = start_halyard(metrics_port=mport, admin_socket=sock,
                      alerts=alerts(webhook=r.url, webhook_timeout_ms=60000, queue_size=16))
    wait_until(lambda: r.attempts >= 1, 10, what="the receiver to hold a POST")
    # More events while the receiver hangs (40 reloads, one after the other:
    # past the queue), then measure, the two halyards in turn.
    for _ in range(40):
        ctl(sock, "reload")
    runs = {"base": [], "hang": []}
    for _ in range(2):
        for name, x in (("base", base), ("hang", h)):
            runs[name].append(latencies(x))
    med0, p99_0 = min(m for m, _ in runs["base"]), min(p for _, p in runs["base"])
    med1, p99_1 = min(m for m, _ in runs["hang"]), min(p for _, p in runs["hang"])
    print(f"SELECT 1: no notifier median {med0 * 1e6:.0f} us p99 {p99_0 * 1e6:.0f} us; "
          f"webhook hanging median {med1 * 1e6:.0f} us p99 {p99_1 * 1e6:.0f} us")
    # A data path that waited for the receiver (webhook_timeout_ms = 60 s)
    # would take seconds. Noise on a shared machine is tens of percent, and
    # under make check's four tracks a p99 of 32 ms beside 4 ms was seen
    # (CI, 2026-11-28): the bounds leave that room and still catch a wait;
    # the cost in percent is tools/bench --notifier's (docs/performance.md).
    assert med1 < 2 * med0 + 0.05, (med0, med1)
    assert p99_1 < 3 * p99_0 + 0.25, (p99_0, p99_1)
    assert h.alive() and r.attempts == 4  # the receiver still holds its 4 POSTs
    # 4 POSTs held by the receiver, 16 queued behind them: the rest dropped,
    # counted (halyard_started, 40 reloads, and whatever the monitor saw).
    wait_until(lambda: metric(mport, "halyard_events_total ") >= 41, 10, what="41 events taken")
    taken = metric(mport, "halyard_events_total ")
    assert metric(mport, "halyard_events_dropped_total ") == taken - 4 - 16, taken


def test_flapping_is_coalesced(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    h = start_halyard(monitor=MONITOR, alerts=alerts(webhook=r.url, repeat_ms=15000))
    r.wait("halyard_started")
    t0 = time.monotonic()
    for _ in range(2):
        cluster.kill(1)
        # the (_+1)th DOWN: waiting for the pattern alone found the first
        # flap's line at once, and a node restarted before the monitor saw
        # it fail never came back "DOWN -> ONLINE" a second time
        wait_until(lambda: len(re.findall(r"backend node1: \w+ -> DOWN", h.log_text())) >= _ + 1,
                   10, what="node1 DOWN")
        cluster.start_node(1)
        wait_until(lambda: h.log_text().count("node1: DOWN -> ONLINE") >= _ + 1, 60,
                   what="node1 back ONLINE")
    assert time.monotonic() - t0 < 15, "the flaps took longer than repeat_ms"
    # Within the interval: one backend_down, one backend_up delivered.
    assert len(r.events("backend_down", backend="node1")) == 1
    assert len(r.events("backend_up", backend="node1")) == 1
    # When it ends, the held one comes, saying how many it stands for.
    wait_until(lambda: len(r.events("backend_down", backend="node1")) == 2, 30,
               what="the coalesced backend_down")
    first, last = r.events("backend_down", backend="node1")
    assert first["coalesced"] == 0 and last["coalesced"] == 1, (first, last)
    wait_until(lambda: len(r.events("backend_up", backend="node1")) == 2, 10,
               what="the coalesced backend_up")
    assert r.events("backend_up", backend="node1")[1]["coalesced"] == 1


def test_show_events_and_test_alert(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    script, out = exec_script(tmp_path)
    sock = str(tmp_path / "admin.sock")
    mport = free_port()
    start_halyard(admin_socket=sock, metrics_port=mport,
                  alerts=alerts(webhook=r.url, exec=script, disabled=["config_reloaded"],
                                min_severity="warning"))
    answer = ctl(sock, "test-alert")
    assert answer.startswith("OK test_alert event "), answer
    seq = int(answer.split()[3])
    ev = r.wait("test_alert", seq=seq)
    assert "test-alert by uid=" in ev["reason"], ev
    j, env = wait_exec(out, "test_alert")
    assert j == ev and env["HALYARD_EVENT"] == "test_alert"
    # A disabled event is listed, not delivered.
    ctl(sock, "reload")

    def shown():
        rows = json.loads(ctl(sock, "show", "events", "--json"))["events"]
        return {e["event"]: e for e in rows}
    wait_until(lambda: shown().get("test_alert", {}).get("exec", "").startswith("ok: exit 0")
               and shown().get("config_reloaded"), 10, what="show events to have the results")
    rows = shown()
    assert rows["test_alert"]["webhook"].startswith("ok: HTTP 204"), rows["test_alert"]
    assert rows["test_alert"]["seq"] == seq
    assert rows["config_reloaded"]["note"] == "disabled", rows["config_reloaded"]
    assert rows["config_reloaded"]["webhook"] == "" and rows["config_reloaded"]["exec"] == ""
    # halyard_started is info: below min_severity = "warning".
    assert rows["halyard_started"]["note"] == "below min_severity", rows["halyard_started"]
    time.sleep(0.5)
    assert not r.events("config_reloaded") and not r.events("halyard_started")
    assert ev["severity"] == "critical" and env["HALYARD_SEVERITY"] == "critical"
    text = ctl(sock, "show", "events", "last", "1")
    assert text.splitlines()[0].split()[:3] == ["seq", "time", "event"], text
    assert len(text.strip().splitlines()) == 2, text
    # The counters count what show events says each notifier did: test_alert
    # here, and any warning a loaded host raised besides (CI once saw 2: a
    # backend's event during the test), never a disabled or info event.
    every = json.loads(ctl(sock, "show", "events", "--json"))["events"]
    for notifier in ("exec", "webhook"):
        done = [e for e in every if e[notifier].startswith("ok")]
        assert seq in [e["seq"] for e in done], every
        assert not [e for e in done if e["event"] in ("config_reloaded", "halyard_started")], every
        assert metric(mport, f'halyard_alerts_delivered_total{{notifier="{notifier}"}}') == \
            len(done), every


def test_per_event_settings(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    script, out = exec_script(tmp_path)
    sock = str(tmp_path / "admin.sock")
    h = start_halyard(admin_socket=sock, alerts=alerts(
        webhook=r.url, exec=script, min_severity="warning", repeat_ms=0,
        events=[{"name": "config_reloaded", "severity": "critical", "repeat_ms": 60000},
                {"name": "test_alert", "enabled": False}]))
    good = open(h.conf_path).read()
    for _ in range(3):
        ctl(sock, "reload")
    # config_reloaded is info: below min_severity, but given critical here.
    ev = r.wait("config_reloaded")
    assert ev["severity"] == "critical", ev
    j, env = wait_exec(out, "config_reloaded")
    assert j == ev and env["HALYARD_SEVERITY"] == "critical"
    seq = int(ctl(sock, "test-alert").split()[3])
    # The group's repeat_ms (0) still holds for the other names: two failed
    # reloads (warning), two deliveries.
    for i in range(2):
        h.reload(good + "\nno_such_key = 1;\n")
        wait_until(lambda: len(r.events("config_reload_failed")) == i + 1, 10,
                   what=f"config_reload_failed #{i + 1} delivered")
    rows = {e["seq"]: e for e in json.loads(ctl(sock, "show", "events", "--json"))["events"]}
    reloaded = sorted(s for s, e in rows.items() if e["event"] == "config_reloaded")
    assert len(reloaded) == 3, rows
    # Its own interval (60 s): the next two are held, not delivered.
    assert [rows[s]["note"] for s in reloaded[1:]] == ["held (repeat_ms)"] * 2, rows
    assert len(r.events("config_reloaded")) == 1
    assert rows[seq]["note"] == "disabled", rows[seq]
    assert not r.events("test_alert")


def test_pre_failover_vetoes_then_allows(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    gate = tmp_path / "gate"
    gate.write_text("1")
    seen = tmp_path / "pre-failover.txt"
    script = tmp_path / "pre-failover.sh"
    script.write_text("#!/bin/sh\n"
                      f"{{ echo \"$1 $HALYARD_EVENT $HALYARD_OLD $HALYARD_NEW\"; cat; }} >> {seen}\n"
                      f"exit $(cat {gate})\n")
    script.chmod(0o755)
    audit = str(tmp_path / "audit.log")
    h = start_halyard(failover="auto", failover_delay_ms=300, monitor=MONITOR, audit_log=audit,
                      replication_user="repl", replication_password_env=REPL_ENV,
                      alerts=alerts(webhook=r.url, pre_failover=str(script)))
    r.wait("halyard_started")
    cluster.kill(0)
    veto = r.wait("failover_vetoed", timeout=20)
    assert veto["old"] == "node0" and veto["new"] in ("node1", "node2"), veto
    assert "vetoed by alerts.pre_failover: exit 1" in veto["reason"], veto
    rec = wait_audit(audit, "failover", ok=False)
    assert "vetoed by alerts.pre_failover: exit 1" in rec["result"], rec
    first = seen.read_text().splitlines()
    assert first[0] == f"failover failover_started node0 {veto['new']}", first
    assert json.loads(first[1])["event"] == "failover_started", first
    # Nothing was promoted, and the veto is not a failed failover.
    time.sleep(1)
    for i in (1, 2):
        assert cluster.value(i, "SELECT @@read_only") == 1
    assert not r.events("failover_started") and not r.events("failover_failed")
    h.wait_log(r"failover vetoed by alerts.pre_failover: exit 1")
    # The gate opens: the next attempt (5 s later) goes on.
    gate.write_text("0")
    done = r.wait("failover_done", timeout=30)
    assert done["new"] == veto["new"], done
    assert "alerts.pre_failover: exit 0" in done["action"], done
    assert len(r.events("failover_vetoed")) in (1, 2)  # asked again every 5 s, not in a loop


def test_exec_timeout_and_max_running(cluster, start_halyard, tmp_path):
    log = tmp_path / "runs.txt"
    script = tmp_path / "slow.sh"
    # test_alert sleeps 60 s (killed); the others note start and end.
    script.write_text("#!/bin/sh\n"
                      "[ \"$HALYARD_EVENT\" = test_alert ] && exec sleep 60\n"
                      f"echo \"start $HALYARD_SEQ $HALYARD_EVENT $(date +%s.%N)\" >> {log}\n"
                      "sleep 0.3\n"
                      f"echo \"end $HALYARD_SEQ $HALYARD_EVENT $(date +%s.%N)\" >> {log}\n")
    script.chmod(0o755)
    sock = str(tmp_path / "admin.sock")
    mport = free_port()
    h = start_halyard(admin_socket=sock, metrics_port=mport,
                      alerts=alerts(exec=str(script), exec_timeout_ms=500, exec_max_running=1))
    t0 = time.monotonic()
    seq = int(ctl(sock, "test-alert").split()[3])
    for _ in range(3):
        ctl(sock, "reload")

    def result():
        rows = json.loads(ctl(sock, "show", "events", "--json"))["events"]
        return {e["seq"]: e["exec"] for e in rows}
    wait_until(lambda: result()[seq].startswith("killed"), 5, what="the command killed")
    assert "exec_timeout_ms" in result()[seq]
    assert time.monotonic() - t0 < 3

    def ours():  # halyard_started and the three reloads; a loaded host may raise others
        return [r for r in log.read_text().split("\n") if r.startswith("end ") and
                r.split()[2] in ("halyard_started", "config_reloaded")] if log.exists() else []
    wait_until(lambda: len(ours()) == 4, 10, what="the four other commands to run")
    # One at a time: each starts after the one before ended (one may be
    # running now: its start is the last line).
    runs = [line.split() for line in log.read_text().splitlines()]
    if runs[-1][0] == "start":
        runs.pop()
    assert [k for k, _, _, _ in runs] == ["start", "end"] * (len(runs) // 2), runs
    assert all(runs[i][1] == runs[i + 1][1] for i in range(0, len(runs), 2)), runs
    times = [float(t) for _, _, _, t in runs]
    assert times == sorted(times), runs
    # The counters count what show events says: the one killed, the four
    # that ran; an event a loaded host raised besides is counted as shown.
    every = json.loads(ctl(sock, "show", "events", "--json"))["events"]
    failed = [e for e in every if e["exec"].startswith(("killed", "failed"))]
    assert [e["seq"] for e in failed if e["event"] == "test_alert"] == [seq], every
    assert metric(mport, 'halyard_alerts_failed_total{notifier="exec"}') == len(failed), every
    wait_until(lambda: metric(mport, 'halyard_alerts_delivered_total{notifier="exec"}') == len(
        [e for e in json.loads(ctl(sock, "show", "events", "--json"))["events"]
         if e["exec"].startswith("ok")]) >= 4, 5)
    assert h.alive()



def test_auth_block_event(cluster, start_halyard, receiver, tmp_path):
    r = receiver()
    h = start_halyard(auth_fail_limit=1, auth_delay_ms=0, auth_block_ms=5000,
                      alerts=alerts(webhook=r.url))
    for _ in range(2):  # twice the limit: blocked
        with pytest.raises(pymysql.MySQLError):
            h.connect(password="wrong")
    ev = r.wait("auth_block", backend="127.0.0.1")
    assert ev["old"] == "allowed" and ev["new"] == "blocked", ev
    assert ev["reason"] == "2 failed logins within auth_fail_window_ms", ev
    assert "1129" in ev["action"] and ev["severity"] == "warning", ev
