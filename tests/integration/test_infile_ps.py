"""LOAD DATA LOCAL INFILE as a prepared statement (issue 47 item 7,
Connector/C test_conc525): the server asks for the file after
COM_STMT_EXECUTE too. Run directly and through halyard, the client sends
the file when asked, and both must load the same rows.
"""

import struct

from rawmysql import CLIENT_LOCAL_FILES, DEFAULT_CAPS, RawConn, parse_err
from util import APP_PASSWORD, APP_USER

COM_STMT_PREPARE, COM_STMT_EXECUTE = 0x16, 0x17
DB = "hy_infile_ps"
ROWS = b"1\n2\n3\n"


def load_prepared(port):
    """(what the execute answered: 'ok', an error code or 'closed', rows
    loaded)."""
    c = RawConn("127.0.0.1", port)
    try:
        c.login(APP_USER, APP_PASSWORD, db=DB, caps=DEFAULT_CAPS | CLIENT_LOCAL_FILES)
        c.query("DELETE FROM t")
        p = c.command(COM_STMT_PREPARE, b"LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE t")
        stmt_id, ncols, nparams = struct.unpack("<IHH", p[1:9])
        assert ncols == 0 and nparams == 0
        c.send_packet(bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt_id, 0, 1), seq=0)
        r = c.read_payload()
        if r[:1] == b"\xfb":
            assert r[1:] == b"rows.tsv"
            c.send_packet(ROWS)
            c.send_packet(b"")
            r = c.read_payload()
        answer = "ok" if r[:1] == b"\x00" else parse_err(r).code
    except (OSError, EOFError) as e:
        return ("closed: " + type(e).__name__, None)
    finally:
        c.close()
    check = RawConn("127.0.0.1", port)
    try:
        check.login(APP_USER, APP_PASSWORD, db=DB)
        return (answer, int(check.value("SELECT COUNT(*) FROM t")))
    finally:
        check.close()


def test_prepared_load_data_local(cluster, halyard):
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {DB}")
    cluster.sql(0, f"CREATE TABLE IF NOT EXISTS {DB}.t (a INT)")
    cluster.sql(0, f"GRANT ALL ON {DB}.* TO '{APP_USER}'@'%'")
    direct = load_prepared(cluster.primary_port)
    assert direct == ("ok", 3)
    assert load_prepared(halyard.port) == direct
