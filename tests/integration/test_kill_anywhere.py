"""KILL where halyard does not run it alone (issue 47 item 4): in a
multi-statement text, as a prepared statement (SQL PREPARE and
COM_STMT_PREPARE), with a computed id.

Alone, `KILL <id>` names halyard's session id and halyard runs it
(test_kill_pool.py). Elsewhere the id would reach the server unchanged,
where it names no thread (1094) or, worse, another client's. Each case
runs directly, with the server's thread id of a victim connection, and
through halyard, with halyard's id of the victim: halyard must answer as
the server did (the victim killed) or refuse the statement with 1235
(42000) and leave the victim alive; never pass the id on. A text of
several statements with KILL <number>s is run as the server runs it
(issue 54 item 5).
"""

import struct

import pytest

from rawmysql import (CLIENT_MULTI_STATEMENTS, DEFAULT_CAPS, ConnectionClosed, MySQLError, RawConn,
                      parse_err)
from util import APP_PASSWORD, APP_USER

COM_STMT_PREPARE, COM_STMT_EXECUTE = 0x16, 0x17


def login(port, user=APP_USER, password=APP_PASSWORD):
    c = RawConn("127.0.0.1", port)
    c.login(user, password, caps=DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS)
    return c


def alive(c):
    """Whether the victim's connection still answers (an error counts)."""
    try:
        c.value("SELECT 1")
    except MySQLError:
        pass
    except (ConnectionClosed, OSError):
        return False
    return True


def stmt_prepare_execute(c, sql):
    """COM_STMT_PREPARE of a text without parameters, then its execute."""
    p = c.command(COM_STMT_PREPARE, sql.encode())
    stmt_id, ncols, nparams = struct.unpack("<IHH", p[1:9])
    assert ncols == 0 and nparams == 0
    c.send_packet(bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt_id, 0, 1), seq=0)
    r = c.read_payload()
    if r[:1] == b"\xff":
        raise parse_err(r)


def run(c, form, vid):
    if form == "stmt-prepare":
        stmt_prepare_execute(c, f"KILL {vid}")
    elif form == "sql-prepare":
        c.query("PREPARE hy_k FROM 'KILL ?'")
        c.query(f"SET @hy_k = {vid}")
        c.query("EXECUTE hy_k USING @hy_k")
    else:
        c.query(FORMS[form].format(vid=vid))


FORMS = {
    "batch-first": "KILL {vid}; SELECT SLEEP(0.05)",
    "batch-last": "SELECT 1; KILL CONNECTION {vid}",
    "batch-query": "KILL QUERY {vid}; SELECT 2",
    "computed-id": "KILL {vid} + 0",
    # a number not in digits, or in an executable comment, which the
    # server reads as the id: 1094 through halyard (its id unmapped)
    # before 2026-11-29
    "decimal-id": "KILL {vid}.0",
    "exponent-id": "KILL CONNECTION {vid}e0",
    "hex-id": "KILL " + "0x{vid:x}",
    "comment-id": "KILL /*! {vid} */",
    "comment-word": "/*!KILL */ {vid}",
    "stmt-prepare": None,
    "sql-prepare": None,
}


def outcome(port, form):
    """(error code or 0, sqlstate, whether a non-QUERY kill left the
    victim alive)."""
    victim, killer = login(port), login(port)
    try:
        vid = int(victim.value("SELECT CONNECTION_ID()"))
        try:
            run(killer, form, vid)
            err = (0, "")
        except MySQLError as e:
            err = (e.code, e.sqlstate)
        return err + (alive(victim),)
    finally:
        victim.close()
        killer.close()


@pytest.mark.parametrize("form", list(FORMS))
def test_kill_outside_a_plain_statement(cluster, halyard, form):
    direct = outcome(cluster.primary_port, form)
    through = outcome(halyard.port, form)
    kills = form != "batch-query"
    assert direct == (0, "", not kills)
    if form.startswith("batch"):  # run a part at a time (test_kill_multi.py)
        assert through == direct, (direct, through)
    assert through in (direct, (1235, "42000", True)), (direct, through)
