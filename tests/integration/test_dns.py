"""Backend host names: resolved by one resolver thread, never by a worker.

halyard runs under `unshare -m` with a test resolv.conf bind-mounted over
/etc/resolv.conf (glibc reads no other file), naming a stub DNS server
this test runs: UDP port 53 on a loopback address of its own,
127.X.Y.53 derived from HALYARD_TEST_PORT, so concurrent test sessions do
not meet (resolv.conf cannot name another port). The stub answers A and
AAAA queries for *.halyard.test names from a table, after a delay the test
sets, or not at all once stopped. nsswitch.conf here reads /etc/hosts
first, which names no *.halyard.test host.
"""

import os
import re
import shutil
import socket
import struct
import threading
import time
import urllib.request

import pymysql
import pytest

from util import free_port, render_conf, wait_until, scrape

TEST_PORT = int(os.environ.get("HALYARD_TEST_PORT", "23310"))
DNS_ADDR = f"127.{(TEST_PORT >> 8) & 0xff}.{TEST_PORT & 0xff}.53"
NAME = "db1.halyard.test"

QTYPE_A, QTYPE_AAAA = 1, 28


class StubDNS:
    """A tiny authoritative-looking DNS server for the test names.

    names: {name: [address, ...]} (IPv4 and IPv6 literals). Each query is
    answered from its own thread after `delay` seconds; `queries` records
    (time, name, type) of every query received."""

    def __init__(self, addr, names):
        self.addr = addr
        self.names = dict(names)
        self.delay = 0.0
        self.silent = False  # receive queries, answer none
        self.queries = []
        self.sock = None
        self.thread = None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.addr, 53))
        self.thread = threading.Thread(target=self._serve, args=(self.sock,), daemon=True)
        self.thread.start()

    def stop(self):
        """Close the socket: queries then get ICMP port unreachable."""
        if self.sock is not None:
            sock, self.sock = self.sock, None
            sock.close()
            self.thread.join(timeout=5)

    def _serve(self, sock):
        while True:
            try:
                data, peer = sock.recvfrom(4096)
            except OSError:
                return
            q = self._parse(data)
            if q is None:
                continue
            self.queries.append((time.monotonic(), q[1], q[2]))
            if self.silent:
                continue
            threading.Thread(target=self._answer, args=(sock, peer, data, q), daemon=True).start()

    @staticmethod
    def _parse(data):
        if len(data) < 12:
            return None
        pos, labels = 12, []
        while pos < len(data) and data[pos] != 0:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        pos += 1
        if pos + 4 > len(data):
            return None
        qtype, _qclass = struct.unpack("!HH", data[pos:pos + 4])
        return pos + 4, ".".join(labels).lower(), qtype

    def _answer(self, sock, peer, data, q):
        end, name, qtype = q
        if self.delay:
            time.sleep(self.delay)
        addrs = self.names.get(name)
        answers = []
        for a in addrs or ():
            fam = socket.AF_INET6 if ":" in a else socket.AF_INET
            if (qtype, fam) in ((QTYPE_A, socket.AF_INET), (QTYPE_AAAA, socket.AF_INET6)):
                rdata = socket.inet_pton(fam, a)
                answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, 5, len(rdata)) + rdata)
        rcode = 0 if addrs is not None else 3  # NXDOMAIN
        flags = 0x8180 | 0x0400 | rcode        # response, RD, RA, authoritative
        head = data[:2] + struct.pack("!HHHHH", flags, 1, len(answers), 0, 0)
        try:
            sock.sendto(head + data[12:end] + b"".join(answers), peer)
        except OSError:
            pass  # stopped meanwhile


@pytest.fixture
def dns(tmp_path):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.fail("test_dns needs root and unshare(1) to give halyard its own resolv.conf")
    stub = StubDNS(DNS_ADDR, {NAME: ["127.0.0.1"], "db2.halyard.test": ["127.0.0.1"],
                              "nx.halyard.test": None})
    stub.start()
    # timeout above the slow test's 3 s delay; one attempt, so a stopped
    # server fails a resolution at once (port unreachable) or after 4 s
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {DNS_ADDR}\noptions timeout:4 attempts:1\n")
    stub.resolv_conf = str(conf)
    yield stub
    stub.stop()


def under_resolv_conf(path):
    """The prefix for start_halyard: its own mount namespace, resolv.conf
    bind-mounted over, then exec halyard (same pid)."""
    return ("unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', path)


def named_backends(cluster, names):
    """The cluster's nodes as backends, node i's address names[i] (or 127.0.0.1)."""
    out = []
    for i, n in enumerate(cluster.nodes):
        out.append({"name": n["name"], "address": names[i] if i < len(names) else "127.0.0.1",
                    "port": n["port"], "role": n["role"]})
    return out


def metric(text, name, host):
    m = re.search(rf'^{name}{{host="{re.escape(host)}"}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else None


def run_selects(conn, n):
    t0 = time.monotonic()
    with conn.cursor() as cur:
        for _ in range(n):
            cur.execute("SELECT 1")
            assert cur.fetchall() == ((1,),)
    return time.monotonic() - t0


def test_slow_dns_does_not_stall_the_worker(cluster, start_halyard, dns):
    """While DNS takes 3 s to answer, a session opening a new backend
    connection on the same (only) worker does not hold up the statements
    of another session, and no worker asks the DNS server anything."""
    h = start_halyard(workers=1, backends=named_backends(cluster, [NAME] * 3),
                      prefix=under_resolv_conf(dns.resolv_conf))
    a = h.connect()
    run_selects(a, 20)  # A's backend connections are open
    dns.delay = 3.0
    asked = len(dns.queries)

    b_result = {}

    def session_b():
        t0 = time.monotonic()
        try:
            b = pymysql.connect(**h.conn_params())
            with b.cursor() as cur:
                cur.execute("SELECT @@port")  # a new backend connection: needs the name
                b_result["rows"] = cur.fetchall()
            b.close()
        except pymysql.MySQLError as e:
            b_result["error"] = e
        b_result["took"] = time.monotonic() - t0

    t = threading.Thread(target=session_b)
    t.start()
    time.sleep(0.3)
    took = run_selects(a, 20)
    t.join(timeout=30)
    print(f"20 x SELECT 1 while DNS answers in 3 s: {took * 1000:.1f} ms; "
          f"session B's connect + statement: {b_result.get('took', -1) * 1000:.1f} ms")
    assert took < 1.0, f"20 SELECT 1 took {took:.2f}s on the worker while a connect waited for DNS"
    assert b_result.get("rows"), f"session B's statement failed: {b_result.get('error')}"
    assert b_result["took"] < 2.0, f"session B took {b_result['took']:.2f}s: it waited for DNS"
    assert dns.queries[asked:] == [], f"DNS was asked during connects: {dns.queries[asked:]}"


def test_dns_down_keeps_the_last_good_addresses(cluster, start_halyard, dns):
    """With the DNS server gone after the start, the resolver's refreshes
    fail: logged once, counted in halyard_dns_failures_total, and connects
    go on to the last good address. Its return is logged too."""
    mport = free_port()
    h = start_halyard(workers=1, backends=named_backends(cluster, [NAME]), dns_refresh_ms=300,
                      metrics_port=mport, prefix=under_resolv_conf(dns.resolv_conf))
    h.wait_log(rf"dns: {re.escape(NAME)} resolves to 127\.0\.0\.1")
    assert metric(scrape(mport), "halyard_dns_failures_total", NAME) == 0
    primary = cluster.primary_port
    dns.stop()
    h.wait_log(rf"dns: cannot resolve {re.escape(NAME)}: .*; keeping its last addresses "
               r"127\.0\.0\.1")
    wait_until(lambda: (metric(scrape(mport), "halyard_dns_failures_total", NAME) or 0) >= 3,
               timeout=10, what="three failed refreshes counted")
    text = scrape(mport)
    assert metric(text, "halyard_dns_addresses", NAME) == 1
    # a new session, a new backend connection: the last good address
    c = h.connect()
    with c.cursor() as cur:
        cur.execute("SELECT @@port FOR UPDATE")  # the primary
        assert cur.fetchall() == ((primary,),)
    assert len(re.findall(rf"cannot resolve {re.escape(NAME)}", h.log_text())) == 1, \
        "a name failing again and again is logged once"
    dns.start()
    h.wait_log(rf"dns: {re.escape(NAME)} resolves again, to 127\.0\.0\.1")


def test_unresolvable_name_at_start_is_a_down_backend(cluster, start_halyard, dns):
    """A backend whose name does not resolve at the start: halyard serves,
    the monitor sees it down, a statement for it fails naming the host."""
    mport = free_port()
    h = start_halyard(workers=1, backends=named_backends(cluster, ["nx.halyard.test"]),
                      metrics_port=mport, prefix=under_resolv_conf(dns.resolv_conf))
    h.wait_log(r"dns: cannot resolve nx\.halyard\.test: .*connects to it fail until it resolves")
    h.wait_log(r"backend node0: ONLINE -> DOWN: .*connect to nx\.halyard\.test:\d+: "
               r"cannot resolve host nx\.halyard\.test: ")
    c = h.connect()
    with pytest.raises(pymysql.MySQLError) as e:
        with c.cursor() as cur:
            cur.execute("SELECT @@port FOR UPDATE")  # the primary
    assert "cannot resolve host nx.halyard.test" in str(e.value), str(e.value)
    assert metric(scrape(mport), "halyard_dns_addresses", "nx.halyard.test") == 0
    assert h.alive()


def test_silent_dns_at_start_waits_a_bounded_time(cluster, start_halyard, dns, tmp_path):
    """A DNS server that answers nothing: halyard waits at most 5 s for the
    first answers, then serves with the backend unreachable; once the
    server answers, the name resolves within the retry interval and the
    backend works, no reload needed."""
    slow = tmp_path / "resolv-slow.conf"
    slow.write_text(f"nameserver {DNS_ADDR}\noptions timeout:8 attempts:1\n")
    dns.silent = True
    t0 = time.monotonic()
    h = start_halyard(workers=1, backends=named_backends(cluster, [NAME]),
                      prefix=under_resolv_conf(str(slow)), wait=False)
    h.wait_ready(timeout=15)
    took = time.monotonic() - t0
    assert 4.5 < took < 7.0, f"halyard served after {took:.1f}s"
    h.wait_log(rf"dns: {re.escape(NAME)}: no answer within 5000 ms")
    c = h.connect()
    with pytest.raises(pymysql.MySQLError) as e:
        with c.cursor() as cur:
            cur.execute("SELECT @@port FOR UPDATE")
    assert NAME in str(e.value), str(e.value)
    dns.silent = False
    h.wait_log(rf"dns: {re.escape(NAME)} resolves to 127\.0\.0\.1", timeout=12)
    primary = cluster.primary_port
    rows = wait_until(lambda: h.sql("SELECT @@port FOR UPDATE"), timeout=15,
                      what="a statement on the primary once its name resolves")
    assert rows == [(primary,)], rows


def test_every_address_is_tried_and_reload_resolves_new_names(cluster, start_halyard, dns):
    """A name that gains an IPv6 address nothing listens on (::1; the
    servers listen on 127.0.0.1 only): the change is logged and connects
    still work, the refused address skipped within the same connect, and
    later connects start with the address that answered. A
    reload naming a new host resolves it at once, not at the next refresh."""
    h = start_halyard(workers=1, backends=named_backends(cluster, [NAME]), dns_refresh_ms=300,
                      prefix=under_resolv_conf(dns.resolv_conf))
    h.wait_log(rf"dns: {re.escape(NAME)} resolves to 127\.0\.0\.1")
    dns.names[NAME] = ["::1", "127.0.0.1"]
    # glibc sorts ::1 first (RFC 6724): every connect meets the refusal first
    h.wait_log(rf"dns: {re.escape(NAME)} now resolves to ::1, 127\.0\.0\.1 \(was 127\.0\.0\.1\)")
    primary = cluster.primary_port
    for _ in range(3):
        c = h.connect()
        with c.cursor() as cur:
            cur.execute("SELECT @@port FOR UPDATE")
            assert cur.fetchall() == ((primary,),)
        c.close()
    # the first connect that met the refusal makes the next ones start
    # with the address that answered
    h.wait_log(rf"dns: {re.escape(NAME)}: connects start with 127\.0\.0\.1 from now on")

    # reload: the second node now by a name the cache has not seen
    h.reload(render_conf(cluster, h.port, None, dict(
        workers=1, backends=named_backends(cluster, [NAME, "db2.halyard.test"]),
        dns_refresh_ms=300)))
    t0 = time.monotonic()
    h.wait_log(r"dns: db2\.halyard\.test resolves to 127\.0\.0\.1", timeout=3)
    assert time.monotonic() - t0 < 3
    h.wait_log(r"reloaded ")
