"""Prepared statements inside a read-only transaction, compared with the
server (found by tools/server-check's prepared steps, 2026-11-28, in both
pool modes).

Through halyard a START TRANSACTION READ ONLY runs on a replica; these
prepared statements in it are answered otherwise than by the server:

  - START TRANSACTION READ WRITE: the server ends the read-only
    transaction and starts a read-write one; halyard answers 1290 (the
    replica's read_only) and leaves the session outside any transaction;
  - SET TRANSACTION READ ONLY: the server refuses it in a transaction
    (1568); halyard answers OK;
  - SET autocommit = 0 (which does not end a transaction) or SET NAMES:
    the statements after it are answered as outside the transaction
    (status flags without in-transaction and read-only), and a COMMIT AND
    CHAIN after SET autocommit = 0 chains with autocommit on;
  - XA START after a prepared SET SESSION TRANSACTION READ WRITE: the
    server refuses it in a transaction (1400, XAE09); halyard answers OK
    (alone, after START TRANSACTION READ ONLY, it is refused as the
    server refuses it).

Now routed as route_decide routes the same text (ps_route_in_ro_trx,
session_ps.c): START TRANSACTION READ WRITE ends the read-only transaction
with its connection and runs on the primary, SET TRANSACTION runs on the
replica, which refuses it as the server does; a prepared SET, whose state
halyard cannot carry to the replica, is refused whole before it runs, with
1235 (compatibility.md), and the transaction goes on as the server's does
without it.
"""
import struct

import pytest

from rawmysql import MySQLError, RawConn
from test_core import db  # noqa: F401 (fixture)
from test_ps import execute, prepare
from util import APP_PASSWORD, APP_USER

# in transaction, autocommit, read-only transaction
FLAGS = 0x0001 | 0x0002 | 0x2000


def status(p):
    """The status flags of an OK (its affected rows and insert id one byte
    each here) or of a result's last EOF (after its warnings): at 3 both."""
    return struct.unpack_from("<H", p, 3)[0] & FLAGS


def transcript(port, db, steps):
    c = RawConn("127.0.0.1", port, timeout=10)
    c.login(APP_USER, APP_PASSWORD, db=db)
    out = []
    for kind, sql in steps:
        try:
            if kind == "text":
                r = c.query(sql)[-1]
                out.append((sql, r.rows, r.status & FLAGS))
            else:
                stmt, _, _ = prepare(c, sql)
                out.append((f"prepared {sql}", status(execute(c, stmt)[-1])))
        except MySQLError as e:
            out.append((sql, "error", e.code))
    c.close()  # ends what is open (an XA transaction ACTIVE refuses a ROLLBACK)
    return out


RO = ("text", "START TRANSACTION READ ONLY")
STATE = ("text", "SELECT @@in_transaction, @@tx_read_only, @@autocommit")
CASES = {
    "start read write": [RO, ("prepared", "START TRANSACTION READ WRITE"), STATE],
    "set transaction read only": [RO, ("prepared", "SET TRANSACTION READ ONLY"), STATE],
    "autocommit 0 then a read": [RO, ("prepared", "SET autocommit = 0"),
                                 ("prepared", "SELECT 1"), STATE],
    "autocommit 0 then commit and chain": [RO, ("prepared", "SET autocommit = 0"),
                                           ("text", "COMMIT AND CHAIN"), STATE],
    "set names then a read": [RO, ("prepared", "SET NAMES utf8mb4"), ("prepared", "SELECT 1"),
                              STATE],
    "set session transaction then xa start": [
        RO, ("prepared", "SET SESSION TRANSACTION READ WRITE"),
        ("prepared", "XA START 'ps_trx_access'"), STATE],
}


# (a prepared SET: refused whole with 1235, documented in compatibility.md)
REFUSED = {"autocommit 0 then a read", "autocommit 0 then commit and chain",
           "set names then a read", "set session transaction then xa start"}


@pytest.mark.parametrize("case", CASES)
def test_prepared_inside_a_read_only_transaction(start_halyard, cluster, db, case):
    h = start_halyard()
    steps = CASES[case]
    if case in REFUSED:
        # the server's run without the SET, and the SET refused in its place
        want = transcript(cluster.primary_port, db, steps[:1] + steps[2:])
        want.insert(1, (steps[1][1], "error", 1235))
    else:
        want = transcript(cluster.primary_port, db, steps)
    assert want[0][2] == 0x2003  # the server's read-only transaction
    assert transcript(h.port, db, steps) == want
