"""The status flags of answers inside START TRANSACTION READ ONLY (issue 47
item 9, found by tools/server-check).

halyard runs a read-only transaction on a replica, and a statement that
sets session state (SET, SET SESSION TRANSACTION, COM_INIT_DB) on the
primary, where no transaction is open. The client must read the flags
of its session all the same: in a transaction, a read-only one. Each
step runs directly and through halyard; the flags a client acts on are
compared, and an error's code and SQLSTATE: a SET TRANSACTION for the
next transaction is refused inside one (1568, 25001).
"""

import struct

from rawmysql import COM_INIT_DB, DEFAULT_CAPS, MySQLError, RawConn, lenenc_int
from util import APP_PASSWORD, APP_USER

# in transaction, autocommit, more results, no backslash escapes, read-only transaction
FLAGS = 0x0001 | 0x0002 | 0x0008 | 0x0200 | 0x2000

STEPS = ["START TRANSACTION READ ONLY", "SELECT COUNT(*) > 0 FROM mysql.db",
         "SET TRANSACTION READ ONLY", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
         "SET SESSION TRANSACTION READ ONLY", "SET @hy_ro = 1", "SET NAMES utf8mb4",
         "init_db", "SET SESSION TRANSACTION READ WRITE", "SELECT @hy_ro", "COMMIT",
         "SET @hy_ro = 2"]


def ok_status(p):
    _, pos = lenenc_int(p, 1)
    _, pos = lenenc_int(p, pos)
    return struct.unpack_from("<H", p, pos)[0]


def flags(port):
    c = RawConn("127.0.0.1", port)
    c.login(APP_USER, APP_PASSWORD, db="mysql", caps=DEFAULT_CAPS)
    out = []
    try:
        for step in STEPS:
            try:
                if step == "init_db":
                    st = ok_status(c.command(COM_INIT_DB, b"mysql"))
                else:
                    st = c.query(step)[-1].status
                out.append((step, st & FLAGS))
            except MySQLError as e:
                out.append((step, e.code, e.sqlstate))
    finally:
        c.close()
    return out


def test_read_only_transaction_flags_as_the_server(halyard, cluster):
    direct = flags(cluster.primary_port)
    through = flags(halyard.port)
    assert through == direct
