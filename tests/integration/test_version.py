"""The version halyard announces is the primary's own (issue 47 item 8).

Clients branch on the greeting's server version: MariaDB's servers send
`5.5.5-<version>` (the prefix keeps old MySQL clients from taking 10.x for
an older release), Connector/C strips it and checks it against
`@@version`, PyMySQL picks features from it. By default halyard greets with
the greeting of the primary it learned from the backends (the monitor's
login, or a worker's); `server_version` in the config replaces it. Before
it has reached any backend, halyard greets with a fixed text, documented
in docs/configuration.md.
"""

import time

import pymysql

from rawmysql import RawConn

FALLBACK = "5.5.5-10.11.99-MariaDB-halyard"


def greeting(host, port):
    with RawConn(host, port) as c:
        return c.greeting.server_version


def versions(params):
    """What a client sees: the greeting, @@version and VERSION()."""
    c = pymysql.connect(**params)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT @@version, VERSION()")
            at_version, version_fn = cur.fetchone()
        return {"greeting": c.get_server_info(), "@@version": at_version, "VERSION()": version_fn}
    finally:
        c.close()


def learned_greeting(port):
    """halyard's greeting once it has reached a backend (its monitor's
    first check, a few milliseconds after it starts)."""
    deadline = time.monotonic() + 5
    while True:
        g = greeting("127.0.0.1", port)
        if g != FALLBACK or time.monotonic() > deadline:
            return g
        time.sleep(0.05)


def test_greeting_is_the_primarys(cluster, halyard):
    direct = versions(cluster.conn_params(0))
    assert direct["greeting"].startswith("5.5.5-")  # a MariaDB server's
    assert learned_greeting(halyard.port) == direct["greeting"]
    # @@version and VERSION() are the server's: they agree with the greeting
    # (minus "5.5.5-") through halyard as they do directly
    assert versions(halyard.conn_params()) == direct


def test_configured_version_is_announced(start_halyard):
    h = start_halyard(server_version="10.6.99-custom")
    assert greeting("127.0.0.1", h.port) == "10.6.99-custom"
    c = pymysql.connect(**h.conn_params())
    try:
        assert c.get_server_info() == "10.6.99-custom"
    finally:
        c.close()


def test_greeting_before_any_backend(cluster, start_halyard):
    """No backend reachable: the documented fixed text, never an empty one."""
    conf = {"backends": [{"name": "nowhere", "address": "127.0.0.1", "port": 1,
                          "role": "primary"}]}
    h = start_halyard(conf)
    assert greeting("127.0.0.1", h.port) == FALLBACK
