"""Capabilities through halyard as directly (issue 17 item 5): the greeting
tells a MariaDB client it talks to MariaDB (CLIENT_MYSQL unset), and MariaDB's
extended metadata (MARIADB_CLIENT_EXTENDED_METADATA: a JSON column's
format "json", inet6's and uuid's type names) comes through, on the primary
and on replicas alike.
"""

import subprocess

import pytest

from rawmysql import (CLIENT_DEPRECATE_EOF, CLIENT_LONG_PASSWORD, DEFAULT_CAPS,
                      MARIADB_CLIENT_CACHE_METADATA, MARIADB_CLIENT_EXTENDED_METADATA,
                      MARIADB_CLIENT_PROGRESS, MARIADB_CLIENT_STMT_BULK_OPERATIONS, RawConn)
from test_core import cli, db, ps_client_bin  # noqa: F401 (fixtures)
from util import APP_PASSWORD, APP_USER

REPLICA = "/* halyard: replica */ "

SQL = ("SELECT JSON_OBJECT('a', 1) AS j, CAST('::1' AS INET6) AS i6, "
       "CAST('123e4567-e89b-12d3-a456-426655440000' AS UUID) AS u, 7 AS n")


def _login(port, ext_caps, caps=DEFAULT_CAPS):
    c = RawConn("127.0.0.1", port)
    c.login(APP_USER, APP_PASSWORD, caps=caps, ext_caps=ext_caps)
    return c


def test_greeting_says_mariadb(halyard, cluster):
    direct = RawConn("127.0.0.1", cluster.primary_port)
    via = RawConn("127.0.0.1", halyard.port)
    try:
        assert not direct.greeting.caps & CLIENT_LONG_PASSWORD
        assert not via.greeting.caps & CLIENT_LONG_PASSWORD  # CLIENT_MYSQL unset
        assert direct.greeting.ext_caps & MARIADB_CLIENT_EXTENDED_METADATA
        assert via.greeting.ext_caps == MARIADB_CLIENT_EXTENDED_METADATA
        # What halyard does not (yet) carry, it does not offer.
        for bit in (MARIADB_CLIENT_PROGRESS, MARIADB_CLIENT_STMT_BULK_OPERATIONS,
                    MARIADB_CLIENT_CACHE_METADATA):
            assert not via.greeting.ext_caps & bit
    finally:
        direct.close()
        via.close()


@pytest.mark.parametrize("eof", [0, CLIENT_DEPRECATE_EOF])
def test_extended_metadata_as_directly(halyard, cluster, eof):
    ext = MARIADB_CLIENT_EXTENDED_METADATA
    got = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        c = _login(port, ext, DEFAULT_CAPS | eof)
        try:
            (res,) = c.query(SQL)
            got[where] = ([col.ext for col in res.columns], res.rows)
        finally:
            c.close()
    assert got["halyard"] == got["direct"]
    exts, rows = got["halyard"]
    assert exts == [{1: "json"}, {0: "inet6"}, {0: "uuid"}, {}]
    assert rows[0][3] in (b"7", "7")


def test_no_extended_metadata_unless_asked(halyard, cluster):
    """A client that takes none gets the plain column definitions."""
    got = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        c = _login(port, 0)
        try:
            (res,) = c.query(SQL)
            got[where] = [col.raw for col in res.columns]
        finally:
            c.close()
    assert got["halyard"] == got["direct"]
    assert b"json" not in b"".join(got["halyard"])


def test_extended_metadata_on_replicas_and_state_moves(halyard, cluster, ids):
    """A replica's result set has it too, and the SET read back on the primary
    (whose column definitions then carry it) still moves to the replica."""
    primary, replicas = ids
    c = _login(halyard.port, MARIADB_CLIENT_EXTENDED_METADATA)
    try:
        c.query("SET @caps_v = 'moved'")
        seen = set()
        for _ in range(4):
            (res,) = c.query(REPLICA + SQL + ", @caps_v AS v, @@server_id AS sid")
            assert [col.ext for col in res.columns][:3] == [{1: "json"}, {0: "inet6"},
                                                             {0: "uuid"}]
            row = [v.decode() if isinstance(v, bytes) else v for v in res.rows[0]]
            assert row[4] == "moved"
            seen.add(int(row[5]))
        assert seen and seen <= set(replicas)
    finally:
        c.close()


def test_mariadb_cli_column_type_info(halyard, cluster):
    out = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        r = cli(port, "--column-type-info", "--table", "-e", SQL)
        assert r.returncode == 0, f"via {where}: {r.stderr}"
        out[where] = r.stdout
    assert out["halyard"] == out["direct"]
    assert "(format=json)" in out["halyard"] and "(type=inet6)" in out["halyard"]


def test_rawmysql_reads_the_block():
    """rawmysql's parser really reads the block (the tests above rely on it)."""
    from rawmysql import Column
    raw = (b"\x03def\x00\x00\x00\x01j\x00" + b"\x06\x01\x04json"
           + b"\x0c\x2d\x00\xfc\xff\xff\xff\xfc\x90\x00\x00\x00\x00")
    assert Column(raw, True).ext == {1: "json"}
    assert Column(raw, True).type == 0xFC


def test_prepared_statement_extended_metadata(halyard, cluster, db, ids, ps_client_bin):
    """libmariadb's prepared statement, re-prepared by halyard on the replicas
    it is routed to: each execution's columns carry the type and format names
    as directly."""
    primary, replicas = ids
    out = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        r = subprocess.run([ps_client_bin, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db,
                            "ext-metadata"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"ps_client ext-metadata via {where}: {r.stderr}"
        out[where] = [line.split("\t") for line in r.stdout.splitlines()]
    attrs = {w: [f for f in o if f[0] == "attr"] for w, o in out.items()}
    assert attrs["halyard"] == attrs["direct"]
    assert attrs["halyard"][:4] == [
        ["attr", "0", "sid", "type_name=", "format="],
        ["attr", "0", "j", "type_name=", "format=json"],
        ["attr", "0", "i6", "type_name=inet6", "format="],
        ["attr", "0", "n", "type_name=", "format="],
    ]
    assert len(attrs["halyard"]) == 16
    sids = {int(f[1]) for f in out["halyard"] if f[0] == "row"}
    assert sids and sids <= set(replicas)
