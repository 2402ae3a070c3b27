"""halyard as a system service: the systemd notification protocol
(Type=notify) and the default admin socket in /run/halyard.

The notifications go to a unix datagram socket the test owns, named to
halyard by NOTIFY_SOCKET as systemd does; each datagram's sender is checked
to be halyard's own process (SCM_CREDENTIALS), since systemd takes them from
the main process only (NotifyAccess=main). The default admin socket is
tried in a mount namespace of halyard's own (`unshare -m`) whose /run is a
fresh tmpfs, so the machine's /run is never touched.
"""

import os
import shutil
import signal
import socket
import struct
import time

import pytest

from util import admin_json, port_accepts, wait_until

# the service's start, readiness and stop: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode


class Notifications:
    """A NOTIFY_SOCKET: the datagrams halyard sends, as dicts, with the time
    each arrived and whether the port accepted right then."""

    def __init__(self, path, port):
        self.path = path
        self.port = port
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)

    def next(self, timeout=10.0):
        """The next message: (fields, sender pid, port accepting on arrival)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            accepting = port_accepts(self.port)
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            return fields, pid, accepting
        raise AssertionError(f"no notification on {self.path} within {timeout} s")

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(tmp_path, monkeypatch):
    """A notification socket; halyards started after it get NOTIFY_SOCKET."""
    path = str(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    made = []

    def make(port):
        n = Notifications(path, port)
        made.append(n)
        return n
    yield make
    for n in made:
        n.close()


def test_ready_after_the_listeners_reloading_around_a_reload(start_halyard, notify, tmp_path):
    from util import free_port
    port = free_port()
    n = notify(port)
    h = start_halyard(port=port, wait=False)
    fields, pid, accepting = n.next()
    assert fields.get("READY") == "1", fields
    assert pid == h.pid, f"READY=1 came from pid {pid}, not halyard's {h.pid}"
    assert accepting, "READY=1 before the listener accepts"
    assert "workers" in fields.get("STATUS", ""), fields

    # SIGHUP: RELOADING=1 (with the monotonic time systemd 253 asks for),
    # then READY=1 once the new config is in force
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    h.send_signal(signal.SIGHUP)
    fields, pid, _ = n.next()
    assert fields.get("RELOADING") == "1" and pid == h.pid, fields
    usec = int(fields["MONOTONIC_USEC"])
    assert before * 1e6 - 1e6 < usec < time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6 + 1e6
    fields, pid, accepting = n.next()
    assert fields.get("READY") == "1" and pid == h.pid and accepting, fields
    assert fields.get("STATUS") == "reloaded by SIGHUP", fields

    # a reload that fails keeps the running config: READY=1 again, and the
    # status says why
    text = open(h.conf_path).read()
    with open(h.conf_path, "w") as f:
        f.write(text + "\nlog_levle = \"info\";\n")
    h.send_signal(signal.SIGHUP)
    fields, _, _ = n.next()
    assert fields.get("RELOADING") == "1", fields
    fields, _, accepting = n.next()
    assert fields.get("READY") == "1" and accepting, fields
    assert "reload by SIGHUP failed, the running config stays" in fields["STATUS"], fields
    assert 'log_levle: unknown key; did you mean "log_level"?' in fields["STATUS"], fields

    # SIGTERM: STOPPING=1
    h.send_signal(signal.SIGTERM)
    fields, pid, _ = n.next()
    assert fields.get("STOPPING") == "1" and pid == h.pid, fields
    assert h.wait(timeout=15) == 0


def test_no_notify_socket_no_notification(start_halyard, tmp_path):
    """Without NOTIFY_SOCKET (a start by hand) halyard runs as before."""
    assert "NOTIFY_SOCKET" not in os.environ
    h = start_halyard()
    h.send_signal(signal.SIGHUP)
    h.wait_log(r"reloaded ")
    assert h.stop() == 0


def in_fresh_run(*mount_opts):
    """start_halyard's prefix: its own mount namespace with a tmpfs on /run."""
    opts = ",".join(("mode=0755",) + mount_opts)
    return ("unshare", "-m", "sh", "-c", f'mount -t tmpfs -o {opts} tmpfs /run && exec "$@"', "sh")


@pytest.fixture
def namespaces():
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.fail("these tests need root and unshare(1) to give halyard a /run of its own")


def test_default_admin_socket(start_halyard, namespaces):
    """admin_socket left out: /run/halyard/admin.sock, its directory made."""
    h = start_halyard(admin_socket=None, prefix=in_fresh_run())
    path = f"/proc/{h.pid}/root/run/halyard/admin.sock"
    wait_until(lambda: os.path.exists(path), 5, what=path)
    st = admin_json(path, "show status")
    assert st["admin_socket"] == "/run/halyard/admin.sock", st
    assert os.stat(f"/proc/{h.pid}/root/run/halyard").st_mode & 0o777 == 0o755


def test_default_admin_socket_not_possible(start_halyard, namespaces):
    """admin_socket left out and /run/halyard cannot be made: halyard says
    so and serves without an admin socket (a start by hand, not as root);
    an admin_socket written in the file must be made or the start fails."""
    h = start_halyard(admin_socket=None, prefix=in_fresh_run("ro"))
    assert port_accepts(h.port)
    assert h.log_text().count("running without an admin socket (set admin_socket to have one)") \
        == 1, h.log_tail()
    h.sql("SELECT 1")
    h = start_halyard(admin_socket="/run/halyard/admin.sock", prefix=in_fresh_run("ro"),
                      wait=False)
    assert h.wait(timeout=10) == 1
    assert "admin_socket /run/halyard/admin.sock: cannot listen" in h.log_text(), h.log_tail()
