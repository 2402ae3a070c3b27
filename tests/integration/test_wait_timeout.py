"""wait_timeout and interactive_timeout end an idle client connection as
the server ends it (issue 47 item 3).

MariaDB 10.11 closes a connection idle for longer than its session's
wait_timeout and sends nothing first (MySQL 8 sends ERR 4031); the
session's wait_timeout is the one it SET, else the server's global
wait_timeout, or its global interactive_timeout for a client that logged
in with CLIENT_INTERACTIVE. Each case runs directly and through halyard and
compares what the client reads once the time has passed.
"""

import socket
import time

import pymysql
import pytest

from rawmysql import DEFAULT_CAPS, CLIENT_INTERACTIVE, RawConn
from util import APP_PASSWORD, APP_USER


def after_idle(port, idle, sets=(), caps=DEFAULT_CAPS):
    """Log in, run `sets`, stay idle `idle` seconds: what the socket then
    reads: "reset" (nothing sent, the connection reset), "closed" (nothing
    sent, closed in order), "open", or the bytes sent."""
    c = RawConn("127.0.0.1", port)
    try:
        c.login(APP_USER, APP_PASSWORD, caps=caps)
        for s in sets:
            c.query(s)
        time.sleep(idle)
        c.sock.settimeout(0.5)
        try:
            data = c.sock.recv(4096)
        except ConnectionResetError:
            return "reset"
        except socket.timeout:
            return "open"
        return "closed" if data == b"" else data
    finally:
        c.close()


@pytest.mark.parametrize("after", [[], ["SELECT 1", "SELECT @@wait_timeout"]],
                         ids=["set-last", "reads-after"])
def test_set_wait_timeout_closes_idle_client(cluster, halyard, after):
    """Reads after the SET: the session holds no backend connection while
    it is idle (pool_mode = transaction), whose end would end it."""
    seen = {where: after_idle(port, 2.5, ["SET wait_timeout = 1"] + after)
            for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port))}
    assert seen["direct"] in ("reset", "closed")  # nothing sent first
    assert seen["halyard"] == seen["direct"]


def test_idle_under_wait_timeout_stays_open(cluster, halyard):
    seen = {where: after_idle(port, 1.0, ["SET wait_timeout = 3"])
            for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port))}
    assert seen == {"direct": "open", "halyard": "open"}


def test_pymysql_sees_lost_connection(cluster, halyard):
    codes = {}
    for where, params in (("direct", cluster.conn_params(0)), ("halyard", halyard.conn_params())):
        c = pymysql.connect(**params)
        with c.cursor() as cur:
            cur.execute("SET SESSION wait_timeout = 1")
        time.sleep(2.5)
        try:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
            codes[where] = 0
        except pymysql.err.OperationalError as e:
            codes[where] = e.args[0]
        finally:
            c.close()
    assert codes["direct"] in (2006, 2013)
    assert codes["halyard"] == codes["direct"]


def test_interactive_timeout_default(cluster, halyard):
    """A global interactive_timeout of 2: an interactive client that set
    nothing is closed after it, a non-interactive one is not."""
    cluster.sql(0, "SET GLOBAL interactive_timeout = 2")
    try:
        time.sleep(2.5)  # the monitor reads the global values at each check
        seen = {}
        for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
            seen[where] = (after_idle(port, 3.5, caps=DEFAULT_CAPS | CLIENT_INTERACTIVE),
                           after_idle(port, 3.5))
        assert seen["direct"][1] == "open" and seen["direct"][0] in ("reset", "closed")
        assert seen["halyard"] == seen["direct"]
    finally:
        cluster.sql(0, "SET GLOBAL interactive_timeout = DEFAULT")
