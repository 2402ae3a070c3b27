"""The live status page on the metrics listener (issue 46), over HTTP with
curl and raw sockets (test_status_browser.py drives it in a real browser).

    GET /status.json: the show commands' JSON under their names (show_status,
    show_groups, show_backends, show_events, show_cache), the same backends
    and values `show backends --json` gives, and per-second samples that
    grow by one a second; GET / the HTML page, /status.css and /status.js
    its only files, with a Content-Security-Policy that allows nothing but
    this halyard; GET /metrics as before
    metrics_status_page off (the default): / and /status.json are 404
    the HTTP errors: 404, 405 (with Allow), 400 on malformed request lines
    and header lines, 431 on headers past 8 KiB, 401 without credentials
    metrics_auth: basic auth as an admin_accounts account, any role, on every
    path (/metrics too); a wrong password or a client user is 401; wrong
    passwords slowed, then the address blocked (429), as on the MySQL port
    no secret (passwords, password hashes) on the page or in the JSON
    many slow and hostile HTTP clients at once: statements through halyard
    keep their latency, and the page answers again once they are gone
    metrics_tls: HTTPS with tls_cert, verified by curl; plain HTTP gets no
    answer; without tls_cert the config is refused
"""

import base64
import json
import re
import socket
import subprocess
import threading
import time

import pytest

from test_core import db, ps_client_bin  # noqa: F401 (fixtures)
from util import APP_PASSWORD, MONITOR_PASSWORD, free_port, mysql_native_hash, wait_until

ADMIN_PW, VIEWER_PW = "adm-secret-46", "view-secret-46"
MONITOR = {"user": "monitor", "password": MONITOR_PASSWORD, "interval_ms": 300}


def curl(port, path="/", *args):
    """(status, headers dict with lower-case names, body) of `curl` to the
    metrics port."""
    out = subprocess.run(
        ["curl", "-sS", "-i", "--max-time", "10", *args, f"http://127.0.0.1:{port}{path}"],
        capture_output=True, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (l.split(": ", 1) for l in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def raw(port, data, read_timeout=10):
    """The status line halyard answers to `data` sent as is."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def status_json(port, *args):
    status, headers, body = curl(port, "/status.json", *args)
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    return json.loads(body)


def page_halyard(start_halyard, **kw):
    port = free_port()
    h = start_halyard(metrics_port=port, metrics_status_page=True, monitor=MONITOR, **kw)
    h.mport = port
    return h


def test_status_json_has_the_show_commands_names_and_samples(start_halyard, cluster):
    from test_health import admin_json_cmd
    h = page_halyard(start_halyard)
    c = h.connect(autocommit=True)
    with c.cursor() as cur:
        for _ in range(5):
            cur.execute("SELECT 1")
    wait_until(lambda: all(b["last_check"] == "ok"
                           for b in status_json(h.mport)["show_backends"]["backends"]),
               what="every backend checked")
    t0 = time.monotonic()
    data = status_json(h.mport)
    assert set(data) == {"time", "pool_mode", "show_status", "show_groups", "show_backends",
                         "show_events", "show_cache", "samples"}
    # The same names and values as the admin commands' JSON.
    shown = admin_json_cmd(h, "show backends")["backends"]
    assert [b["name"] for b in data["show_backends"]["backends"]] == [b["name"] for b in shown]
    assert set(data["show_backends"]["backends"][0]) == set(shown[0])
    for page_row, admin_row in zip(data["show_backends"]["backends"], shown):
        for k in ("group", "address", "role", "state", "zone"):
            assert page_row[k] == admin_row[k], (k, page_row, admin_row)
    assert [b["role"] for b in data["show_backends"]["backends"]] == ["primary", "replica", "replica"]
    # show status's names but for the memory figures (only the admin's:
    # the heap's walk takes each arena's lock, docs/operations.md)
    memory = {"rss_kib", "heap_used_kib", "heap_free_kib", "heap_mmap_kib"}
    assert set(data["show_status"]) == set(admin_json_cmd(h, "show status")) - memory
    assert memory <= set(admin_json_cmd(h, "show status"))
    assert data["show_status"]["config_file"] == str(h.conf_path)
    assert data["show_groups"]["groups"][0]["writer"] == "node0"
    assert data["show_cache"] is None  # the cache is off
    assert data["pool_mode"] in ("transaction", "session")
    # One sample a second, each field an array as long as the times.
    s = data["samples"]
    assert s["interval_s"] == 1 and s["capacity"] == 900
    n0 = len(s["time"])
    for k in ("read", "write", "cached", "other", "errors", "p50_ms", "p99_ms", "lag_s"):
        assert len(s[k]) == n0, k
    time.sleep(3.2)
    s2 = status_json(h.mport)["samples"]
    # one a second: at most one more than the whole seconds between the two
    # reads, as this side saw them (3.2 s and the checks between, stretched
    # on a loaded host: a fixed 4 fails once they take 0.8 s more)
    took = time.monotonic() - t0
    assert 2 <= len(s2["time"]) - n0 <= int(took) + 1, (n0, len(s2["time"]), took)
    assert all(b - a == 1 or b - a == 0 or b - a == 2 for a, b in zip(s2["time"], s2["time"][1:]))
    # Statements show in the samples: 50 reads.
    with c.cursor() as cur:
        for _ in range(50):
            cur.execute("SELECT 1")
    wait_until(lambda: sum(status_json(h.mport)["samples"]["read"]) >= 45, 5,
               what="the reads counted in the samples")
    assert max(status_json(h.mport)["samples"]["p99_ms"]) > 0


def by_class(port):
    """The statements of the held samples, summed by class (each sample a
    rate over the time since the last, about 1 s: within a few %)."""
    s = status_json(port)["samples"]
    return {k: sum(s[k]) for k in ("read", "write", "cached", "other")}


def settled_classes(port, want):
    """by_class() once the samples hold about `want` reads and writes, and
    a second more (a statement counted late would show)."""
    wait_until(lambda: all(by_class(port)[k] >= 0.9 * v for k, v in want.items()), 5,
               what="the statements in the samples")
    time.sleep(1.2)
    return by_class(port)


def about(got, want):
    return abs(got - want) <= 0.1 * want + 0.5


def test_samples_count_reads_and_writes(start_halyard, cluster, db):
    """The chart's classes (issue 46): reads and writes as the router
    classified them, wherever they ran; SET, BEGIN and COMMIT are neither."""
    cluster.sql(0, f"CREATE TABLE {db}.status_cls (id INT PRIMARY KEY, v INT)")
    h = page_halyard(start_halyard)
    c = h.connect(autocommit=True)
    wait_until(lambda: len(status_json(h.mport)["samples"]["time"]) >= 1, what="a sample")
    before = by_class(h.mport)
    with c.cursor() as cur:
        cur.execute("SET @a = 1")
        for i in range(12):  # 12 writes, 2 of them in a transaction
            if i == 10:
                cur.execute("BEGIN")
            cur.execute(f"INSERT INTO {db}.status_cls VALUES ({i}, {i})")
        cur.execute("COMMIT")
        for i in range(30):
            cur.execute(f"SELECT v FROM {db}.status_cls WHERE id = {i % 12}")
    want = {"read": before["read"] + 30, "write": before["write"] + 12}
    after = settled_classes(h.mport, want)
    assert about(after["read"], want["read"]), (before, after)
    assert about(after["write"], want["write"]), (before, after)
    assert about(after["other"], before["other"] + 3), (before, after)  # SET, BEGIN, COMMIT
    assert after["cached"] == 0


def test_samples_count_prepared_reads_and_writes(start_halyard, cluster, db, ps_client_bin):
    """The same for prepared statements (ps_client's split scenario: DROP
    and CREATE TABLE, then 6 executions of a SELECT and 6 of an INSERT)."""
    from test_ps import run_ps
    h = page_halyard(start_halyard)
    wait_until(lambda: len(status_json(h.mport)["samples"]["time"]) >= 1, what="a sample")
    before = by_class(h.mport)
    run_ps(h, db, ps_client_bin, "split")
    want = {"read": before["read"] + 6, "write": before["write"] + 8}
    after = settled_classes(h.mport, want)
    assert about(after["read"], want["read"]), (before, after)
    assert about(after["write"], want["write"]), (before, after)


def test_down_replica_lag_unknown(start_halyard, cluster):
    """A replica that is DOWN has no known lag: null in /status.json and in
    `show backends`, absent from /metrics, not its last reading."""
    from test_health import admin_json_cmd
    h = page_halyard(start_halyard)

    def lag(name, rows):
        return next(b for b in rows if b["name"] == name)["lag_s"]

    wait_until(lambda: lag("node2", status_json(h.mport)["show_backends"]["backends"]) is not None,
               what="node2's lag read")
    cluster.kill(2)
    wait_until(lambda: next(b for b in status_json(h.mport)["show_backends"]["backends"]
                            if b["name"] == "node2")["state"] == "DOWN", 10, what="node2 DOWN")
    assert lag("node2", status_json(h.mport)["show_backends"]["backends"]) is None
    assert lag("node2", admin_json_cmd(h, "show backends")["backends"]) is None
    assert lag("node1", status_json(h.mport)["show_backends"]["backends"]) is not None
    _, _, metrics = curl(h.mport, "/metrics")
    assert b'halyard_backend_lag_seconds{backend="node2"}' not in metrics
    assert b'halyard_backend_lag_seconds{backend="node1"}' in metrics


def test_page_and_its_files(start_halyard, cluster):
    h = page_halyard(start_halyard)
    status, headers, body = curl(h.mport, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    html = body.decode()
    assert '<script src="/status.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/status.css">' in html
    # Nothing but this halyard: no absolute URL in the page or its files.
    for path, ctype in (("/status.js", "text/javascript; charset=utf-8"),
                        ("/status.css", "text/css; charset=utf-8")):
        st, hd, b = curl(h.mport, path)
        assert st == 200 and hd["content-type"] == ctype and len(b) > 500
        assert b"http://" not in b.replace(b"http://www.w3.org/2000/svg", b"") and b"https://" not in b
        assert b"@import" not in b and b"url(" not in b
    assert "http://" not in html and "https://" not in html
    assert headers["content-security-policy"] == (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    # The page comes with its data (a JSON block, never run), every '<' in
    # it escaped: no text from a server can end the block.
    m = re.search(r'<script type="application/json" id="status-data">(.*?)</script>', html, re.S)
    assert m and "<" not in m.group(1), html
    assert [b["name"] for b in json.loads(m.group(1))["show_backends"]["backends"]] == \
        ["node0", "node1", "node2"]
    # HEAD: the headers alone.
    st, hd, b = curl(h.mport, "/status.css", "-I")
    st2, _, css = curl(h.mport, "/status.css")
    assert st == 200 and b == b"" and int(hd["content-length"]) == len(css)
    st, hd, b = curl(h.mport, "/", "-I")
    assert st == 200 and b == b"" and int(hd["content-length"]) > 1000
    # /metrics as before.
    st, hd, b = curl(h.mport, "/metrics")
    assert st == 200 and hd["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"# TYPE halyard_backend_state gauge" in b


def test_page_off_by_default(start_halyard, cluster):
    port = free_port()
    start_halyard(metrics_port=port)
    for path in ("/", "/status.json", "/status.js"):
        st, _, body = curl(port, path)
        assert st == 404 and body == b"not found; try /metrics\n", (path, st, body)
    assert curl(port, "/metrics")[0] == 200


def test_http_errors(start_halyard, cluster):
    h = page_halyard(start_halyard)
    st, _, body = curl(h.mport, "/nope")
    assert (st, body) == (404, b"not found; try / or /metrics\n")
    st, hd, _ = curl(h.mport, "/status.json", "-X", "POST", "-d", "x=1")
    assert st == 405 and hd["allow"] == "GET, HEAD"
    assert curl(h.mport, "/", "-X", "DELETE")[0] == 405
    # Malformed: not HTTP, a bad request line, header lines without a colon
    # or folded.
    for bad in (b"\x16\x03\x01 hello\r\n\r\n",
                b"GET /status.json HTTP/9.9\r\n\r\n",
                b"GET status.json HTTP/1.1\r\n\r\n",
                b"GET /status.json HTTP/1.1\r\nHost x\r\n\r\n",
                b"GET /status.json HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"):
        assert raw(h.mport, bad) == "HTTP/1.1 400 Bad Request", bad
    # Headers past 8 KiB: 431, whether they end or not.
    assert raw(h.mport, b"GET / HTTP/1.1\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n") == \
        "HTTP/1.1 431 Request Header Fields Too Large"
    assert raw(h.mport, b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 2000) == \
        "HTTP/1.1 431 Request Header Fields Too Large"
    # Still serving.
    assert status_json(h.mport)["show_backends"]["backends"]


def test_basic_auth_against_admin_accounts(start_halyard, cluster):
    h = page_halyard(start_halyard, metrics_auth=True, admin_accounts=[
        {"name": "admin", "password_hash": mysql_native_hash(ADMIN_PW), "role": "operator"},
        {"name": "viewer", "password_hash": mysql_native_hash(VIEWER_PW)}])
    for path in ("/", "/status.json", "/metrics", "/nope"):
        st, hd, _ = curl(h.mport, path)
        assert st == 401, path
        assert hd["www-authenticate"] == 'Basic realm="halyard", charset="UTF-8"'
    assert curl(h.mport, "/status.json", "-u", f"viewer:{ADMIN_PW}")[0] == 401
    assert curl(h.mport, "/status.json", "-u", f"app:{APP_PASSWORD}")[0] == 401
    assert curl(h.mport, "/status.json", "-u", "viewer")[0] == 401  # no password
    # Any role may view.
    for user, pw in (("viewer", VIEWER_PW), ("admin", ADMIN_PW)):
        assert status_json(h.mport, "-u", f"{user}:{pw}")["show_backends"]["backends"]
        assert curl(h.mport, "/", "-u", f"{user}:{pw}")[0] == 200
        assert curl(h.mport, "/metrics", "-u", f"{user}:{pw}")[0] == 200
    # Then the other errors, as without auth.
    assert curl(h.mport, "/nope", "-u", f"viewer:{VIEWER_PW}")[0] == 404
    assert curl(h.mport, "/", "-u", f"viewer:{VIEWER_PW}", "-X", "POST")[0] == 405
    token = base64.b64encode(f"viewer:{VIEWER_PW}".encode()).decode()
    assert raw(h.mport, f"GET / HTTP/1.1\r\nAuthorization: Basic {token}\r\n\r\n".encode()) == \
        "HTTP/1.1 200 OK"


def test_basic_auth_brute_force_slowed_then_blocked(start_halyard, cluster):
    """Wrong passwords count as failed logins of the client's address, as
    on the MySQL port (auth_fail_limit, auth_delay_ms, auth_block_ms): past
    the limit the answers come late, at twice the limit the address gets
    429 with Retry-After (the right password too) until `halyardctl
    unblock`. A request without credentials (a browser's first) is no
    failure."""
    from test_ops import admin, admin_json, default_socket
    h = page_halyard(start_halyard, metrics_auth=True, auth_fail_limit=2, auth_delay_ms=500,
                     auth_block_ms=60000, admin_accounts=[
                         {"name": "viewer", "password_hash": mysql_native_hash(VIEWER_PW)}])
    path = default_socket(h)
    for _ in range(6):
        assert curl(h.mport, "/status.json")[0] == 401
    assert admin_json(path, "show blocked")["addresses"] == []
    wrong = ("-u", "viewer:wrong")
    bad = base64.b64encode(b"viewer:wrong").decode()
    request = f"GET / HTTP/1.1\r\nAuthorization: Basic {bad}\r\n\r\n".encode()

    def timed_failure():
        # A socket of its own, not curl: the span holds halyard's wait
        # and no process start-up, which a loaded host stretches.
        t0 = time.monotonic()
        assert raw(h.mport, request) == "HTTP/1.1 401 Unauthorized"
        return time.monotonic() - t0

    # auth_delay_ms x (failures - auth_fail_limit + 1): 0, 500, 1000 ms.
    # The waits are floors; only the first answer's bound depends on
    # the host, and it has half a second to spare.
    took = [timed_failure() for _ in range(3)]
    assert took[0] < 0.5 and took[1] >= 0.5 and took[2] >= 1.0, took
    rows = admin_json(path, "show blocked")["addresses"]
    assert [(r["address"], r["failures"], r["blocked"]) for r in rows] == [("127.0.0.1", 3, False)]
    assert curl(h.mport, "/", *wrong)[0] == 401  # failure 4 = 2 x limit: blocked
    st, hd, body = curl(h.mport, "/status.json", "-u", f"viewer:{VIEWER_PW}")
    assert st == 429 and 55 <= int(hd["retry-after"]) <= 60, (st, hd)
    assert body == b"too many failed logins from 127.0.0.1; unblock with 'halyardctl unblock " \
                   b"127.0.0.1'\n"
    assert admin(path, "unblock 127.0.0.1") == "OK 1 address unblocked\n"
    assert curl(h.mport, "/status.json", "-u", f"viewer:{VIEWER_PW}")[0] == 200


def test_no_secret_on_the_page(start_halyard, cluster):
    h = page_halyard(start_halyard, admin_accounts=[
        {"name": "admin", "password_hash": mysql_native_hash(ADMIN_PW), "role": "operator"}])
    wait_until(lambda: status_json(h.mport)["samples"]["time"], what="a sample")
    text = b"".join(curl(h.mport, p)[2] for p in ("/", "/status.js", "/status.css", "/status.json"))
    # (The test cluster's app and monitor passwords are words the page
    # uses: their hashes stand for them.)
    for secret in (ADMIN_PW, mysql_native_hash(ADMIN_PW)[1:], mysql_native_hash(APP_PASSWORD)[1:],
                   mysql_native_hash(MONITOR_PASSWORD)[1:]):
        assert secret.encode().lower() not in text.lower(), secret


def test_slow_and_hostile_clients_do_not_stall_the_data_path(start_halyard, cluster):
    """40 clients that send their request a byte at a time or never read
    the answer, and 40 that send garbage, while a client runs statements:
    none of its statements waits on them."""
    h = page_halyard(start_halyard)
    c = h.connect(autocommit=True)

    def statement_latencies(n=200):
        lat = []
        with c.cursor() as cur:
            for _ in range(n):
                t = time.monotonic()
                cur.execute("SELECT 1")
                cur.fetchall()
                lat.append(time.monotonic() - t)
        return sorted(lat)

    before = statement_latencies()
    socks, stop = [], threading.Event()

    def slowloris(s):
        req = b"GET /status.json HTTP/1.1\r\nHost: x\r\n"
        for b in req:
            if stop.is_set():
                return
            try:
                s.sendall(bytes([b]))
            except OSError:
                return
            stop.wait(0.2)

    threads = []
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", h.mport), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        socks.append(s)
        if i % 2:
            s.sendall(b"GET /status.json HTTP/1.1\r\n\r\n")  # and never read it
        else:
            threads.append(threading.Thread(target=slowloris, args=(s,), daemon=True))
    for t in threads:
        t.start()
    garbage = 0
    for _ in range(40):
        try:
            with socket.create_connection(("127.0.0.1", h.mport), timeout=5) as g:
                g.sendall(b"\x00\xff" * 100 + b"\r\n\r\n")
                garbage += 1
        except OSError:
            pass
    during = statement_latencies()
    stop.set()
    for t in threads:
        t.join()
    for s in socks:
        s.close()
    assert garbage == 40
    print(f"SELECT 1 through halyard, median/max: {before[100] * 1000:.2f}/{before[-1] * 1000:.2f} ms "
          f"alone, {during[100] * 1000:.2f}/{during[-1] * 1000:.2f} ms beside 80 hostile HTTP clients")
    # The statements do not wait for the HTTP clients: their median is
    # what it was, give or take the machine's noise.
    assert during[len(during) // 2] < max(5 * before[len(before) // 2], 0.005), (before[100], during[100])
    assert during[-1] < 1.0, during[-5:]
    # Once they are gone the page answers again.
    wait_until(lambda: curl(h.mport, "/status.json")[0] == 200, 15, what="the page answers again")
    assert h.alive()


def test_tls_with_the_listeners_certificate(start_halyard, cluster):
    """metrics_tls: the page, its data and /metrics over HTTPS with
    tls_cert, verified against the cluster's CA, basic auth inside it;
    plain HTTP gets no answer in clear; without tls_cert the config is
    refused."""
    from test_admin_sql import tls_files
    f = tls_files(cluster)
    h = page_halyard(start_halyard, metrics_tls=True, tls_cert=f["server"], tls_key=f["server-key"],
                     metrics_auth=True, admin_accounts=[
                         {"name": "viewer", "password_hash": mysql_native_hash(VIEWER_PW)}])
    base = f"https://127.0.0.1:{h.mport}"
    # The cluster's certificate names 127.0.0.1: curl verifies it.
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10", "--cacert", f["ca"], "-u",
                        f"viewer:{VIEWER_PW}", f"{base}/status.json"], capture_output=True)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert json.loads(body)["show_backends"]["backends"][0]["name"] == "node0"
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "-k", f"{base}/metrics"], capture_output=True, text=True)
    assert r.stdout == "401"
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "-k", "-u", f"viewer:{VIEWER_PW}", f"{base}/metrics"],
                       capture_output=True, text=True)
    assert r.stdout == "200"
    # Plain HTTP on the TLS port: no answer in clear, the connection closed.
    assert not raw(h.mport, b"GET /status.json HTTP/1.1\r\n\r\n").startswith("HTTP/")
    assert curl_ok_after_tls(h.mport, f["ca"])
    # metrics_tls without a certificate: refused at load.
    bad = start_halyard(metrics_port=free_port(), metrics_tls=True, wait=False)
    assert bad.wait() != 0
    assert "metrics_tls: needs TLS: set tls_cert and tls_key" in bad.log_text()


def curl_ok_after_tls(port, ca):
    """The listener still serves after the plain-HTTP attempt."""
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "--cacert", ca, "-u", f"viewer:{VIEWER_PW}",
                        f"https://127.0.0.1:{port}/"], capture_output=True, text=True)
    return r.stdout == "200"
