"""Graceful restart: a new halyard started with --takeover takes the
listening sockets over from the running one through its admin socket
(SCM_RIGHTS), and the old one drains and exits. Under a connect-heavy load
(many short connections, each running SELECT 1) not one connection fails.
"""

import os
import signal
import threading
import time

import pymysql

from util import Background, admin_json, wait_until


class ConnectLoad(Background):
    """Threads that connect, run SELECT 1 and disconnect, in a loop."""

    def __init__(self, h, threads=6):
        self.params = h.conn_params(connect_timeout=10, read_timeout=10)
        self.stop = threading.Event()
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while not self.stop.is_set():
            try:
                c = pymysql.connect(**self.params)
                with c.cursor() as cur:
                    cur.execute("SELECT 1")
                    assert cur.fetchone() == (1,)
                c.close()
                with self.lock:
                    self.ok += 1
            except Exception as e:  # every failure counts, whatever it is
                with self.lock:
                    self.failures.append(repr(e))


def test_takeover_under_connect_load(start_halyard, tmp_path):
    old = start_halyard(workers=2, log_level="info", shutdown_timeout_ms=3000)
    path = f"/tmp/halyard-{old.port}.sock"
    pidfile = tmp_path / "halyard.pid"
    long_lived = old.connect()
    slow = {}

    def statement_in_flight():
        with long_lived.cursor() as cur:
            cur.execute("SELECT SLEEP(2), 7")
            slow["row"] = cur.fetchone()

    with ConnectLoad(old) as load:
        wait_until(lambda: load.ok >= 200, timeout=30, what="the load to run")
        # A statement in flight in the old process finishes there.
        t = threading.Thread(target=statement_in_flight)
        t.start()
        wait_until(lambda: any(x["command_age_ms"] is not None and x["command_age_ms"] >= 0 and
                               x["id"] == long_lived.thread_id()
                               for x in admin_json(path, "show sessions")["sessions"]),
                   what="the slow statement to run")
        # The new process: same listener, more workers than the old one had
        # sockets for, so it opens extra SO_REUSEPORT sockets as well.
        new = start_halyard(port=old.port, workers=3, log_level="info", wait=False,
                            args=("--takeover", "-p", str(pidfile)))
        new.wait_log(r"takeover: received 2 listening sockets", timeout=15)
        new.wait_log(r"takeover: the old halyard stops accepting", timeout=15)
        old.wait_log(r"takeover: handed 2 listening sockets over", timeout=15)
        old.wait_log(r"takeover: a new halyard has the listeners: stopping; sessions get 3000 ms", timeout=15)
        before = load.ok
        t.join(timeout=30)
        assert slow.get("row") == (0, 7)
        # The old process keeps its sessions until their clients leave.
        with long_lived.cursor() as cur:
            cur.execute("SELECT 8")
            assert cur.fetchone() == (8,)
        long_lived.close()
        assert old.wait(timeout=20) == 0
        # ... and the new one takes every connection, its admin socket too.
        wait_until(lambda: load.ok >= before + 300, timeout=60, what="the load to go on")
        st = admin_json(path, "show status")
        assert st["pid"] == new.pid
        assert int(pidfile.read_text()) == new.pid
    assert load.failures == [], load.failures[:5]
    stats = admin_json(path, "show stats")
    assert stats["sessions_accepted"] >= 300
    assert new.log_contains(r"admin socket: /tmp/halyard-")
    new.stop()
    assert not pidfile.exists()


def test_takeover_with_nobody_to_take_over_from(start_halyard):
    h = start_halyard(args=("--takeover",))
    assert h.log_contains(r"starting without a takeover")
    assert h.sql("SELECT 1") == [(1,)]
