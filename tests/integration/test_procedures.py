"""Stored procedures and compound statements that hold a cursor of their own
open while they SELECT (issue 17 item 8).

Inside such a routine MariaDB sets SERVER_STATUS_CURSOR_EXISTS on the EOF
after the column definitions of every result the routine sends, rows and
all. halyard used to take the flag for "rows come by COM_STMT_FETCH": the
session broke (the client saw 2013) or the client waited forever. Every
test runs the same statements through halyard and directly against the
primary, with real clients (pymysql, the mariadb CLI, libmariadb through
ps_client, raw packets for what those cannot send), and compares.
"""

import struct
import subprocess

import pymysql
import pytest

from rawmysql import CLIENT_DEPRECATE_EOF, CLIENT_MULTI_STATEMENTS, DEFAULT_CAPS, RawConn
from test_core import cli, db, ps_client_bin  # noqa: F401 (fixtures)
from util import APP_PASSWORD, APP_USER

PROCEDURES = [
    "DROP TABLE IF EXISTS spc_t",
    "CREATE TABLE spc_t (a INT, b VARCHAR(20))",
    "INSERT INTO spc_t VALUES (7, 'seven'), (8, 'eight'), (9, 'nine')",
    "DROP PROCEDURE IF EXISTS spc_one",
    # The smallest case of the issue.
    "CREATE PROCEDURE spc_one() BEGIN DECLARE v INT; DECLARE c CURSOR FOR SELECT a FROM spc_t;"
    " OPEN c; FETCH c INTO v; SELECT v; CLOSE c; END",
    "DROP PROCEDURE IF EXISTS spc_many",
    # Several SELECTs with the cursor open; the first row's first value is
    # ten bytes long, which a tracker taking it for a column count waits on.
    "CREATE PROCEDURE spc_many(IN x INT) BEGIN DECLARE v INT; DECLARE w VARCHAR(20);"
    " DECLARE c CURSOR FOR SELECT a, b FROM spc_t ORDER BY a;"
    " OPEN c; FETCH c INTO v, w;"
    " SELECT 'abcdefghij' AS pad, w, v * x AS vx;"
    " SELECT a, b FROM spc_t ORDER BY a;"
    " FETCH c INTO v, w; SELECT v, w; CLOSE c; END",
    "DROP PROCEDURE IF EXISTS spc_nested",
    "CREATE PROCEDURE spc_nested() BEGIN DECLARE v INT;"
    " DECLARE c CURSOR FOR SELECT a FROM spc_t ORDER BY a DESC;"
    " OPEN c; FETCH c INTO v; CALL spc_one(); SELECT v AS outer_v; CALL spc_many(2); CLOSE c; END",
]

COMPOUND = ("BEGIN NOT ATOMIC DECLARE v INT; DECLARE w VARCHAR(20);"
            " DECLARE c CURSOR FOR SELECT a, b FROM spc_t ORDER BY a DESC;"
            " OPEN c; FETCH c INTO v, w; SELECT w AS compound_w, v; SELECT COUNT(*) FROM spc_t;"
            " CLOSE c; END")

STATEMENTS = ["CALL spc_one()", "CALL spc_many(3)", "CALL spc_nested()", COMPOUND]

# What the statements return (one list of rows per result set), so a test
# fails when both sides are wrong the same way.
EXPECTED = {
    "CALL spc_one()": [[(7,)], []],
    "CALL spc_many(3)": [[("abcdefghij", "seven", 21)], [(7, "seven"), (8, "eight"), (9, "nine")],
                         [(8, "eight")], []],
    "CALL spc_nested()": [[(7,)], [(9,)], [("abcdefghij", "seven", 14)],
                          [(7, "seven"), (8, "eight"), (9, "nine")], [(8, "eight")], []],
    COMPOUND: [[("nine", 9)], [(3,)], []],
}


@pytest.fixture
def procs(cluster, db):  # noqa: F811 (fixture)
    conn = cluster.root_connect(0, database=db)
    with conn.cursor() as cur:
        for sql in PROCEDURES:
            cur.execute(sql)
    conn.close()
    cluster.sync()  # the compound statement may run on a replica
    return db


def all_results(conn, sql):
    """Every result set of `sql`: (description, rows) each; a hang is a
    pymysql read timeout, which fails the test."""
    out = []
    with conn.cursor() as cur:
        cur.execute(sql)
        while True:
            desc = tuple(d[:2] for d in cur.description) if cur.description else None
            out.append((desc, [tuple(r) for r in cur.fetchall()]))
            if not cur.nextset():
                break
    return out


@pytest.mark.parametrize("sql", STATEMENTS, ids=["one", "many", "nested", "compound"])
def test_pymysql_matches_direct(halyard, cluster, procs, sql):
    via = halyard.connect(database=procs, read_timeout=10)
    direct = cluster.connect(0, database=procs, read_timeout=10)
    got = all_results(via, sql)
    want = all_results(direct, sql)
    assert got == want
    assert [rows for _, rows in got] == EXPECTED[sql]
    # The session goes on: same backend connection, next statement.
    assert all_results(via, "SELECT 'after'")[0][1] == [("after",)]
    direct.close()


def test_all_in_one_session(halyard, cluster, procs):
    """The four, twice each, one after the other on one connection."""
    via = halyard.connect(database=procs, read_timeout=10)
    for _ in range(2):
        for sql in STATEMENTS:
            assert [rows for _, rows in all_results(via, sql)] == EXPECTED[sql], sql
    with via.cursor() as cur:
        cur.execute("SELECT 42")
        assert cur.fetchall() == ((42,),)


def test_mariadb_cli_matches_direct(halyard, cluster, procs):
    script = ("; ".join(STATEMENTS[:3]) + ";\nDELIMITER //\n" + COMPOUND
              + " //\nDELIMITER ;\nSELECT 'done';")
    out = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        r = cli(port, "-e", script, db=procs, timeout=20)
        assert r.returncode == 0, f"via {where}: {r.stderr}"
        out[where] = r.stdout
    assert out["halyard"] == out["direct"]
    assert out["halyard"].endswith("done\n") and "abcdefghij\tseven\t21\n" in out["halyard"]


def test_binary_protocol_matches_direct(halyard, cluster, procs, ps_client_bin):
    """libmariadb's prepared CALLs (binary rows)."""
    out = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        r = subprocess.run([ps_client_bin, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, procs,
                            "sp-cursor"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"ps_client sp-cursor via {where} failed: {r.stderr}"
        out[where] = r.stdout
    assert out["halyard"] == out["direct"]
    assert out["halyard"].count("sets=4\n") == 2 and out["halyard"].endswith("after\t7\n")


def raw_login(port, db, deprecate_eof):
    c = RawConn("127.0.0.1", port, timeout=10)
    caps = DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS | (CLIENT_DEPRECATE_EOF if deprecate_eof else 0)
    c.login(APP_USER, APP_PASSWORD, db=db, caps=caps)
    return c


def raw_answer(c, payload):
    """Send one command; return the answer's payloads up to the last one
    (an OK, ERR or terminator without SERVER_MORE_RESULTS_EXISTS), read
    packet by packet the way a client would."""
    c.send_packet(payload, seq=0)
    out = []
    deprecate = c.caps & CLIENT_DEPRECATE_EOF
    state = "first"
    cols = 0
    while True:
        p = c.read_payload()
        out.append(p)
        if p[:1] == b"\xff":
            return out
        if state == "first":
            if p[:1] == b"\x00":
                if not struct.unpack_from("<H", p, 3)[0] & 0x0008:
                    return out
                continue
            cols = p[0]
            state = "cols"
        elif state == "cols":
            cols -= 1
            if cols == 0:
                state = "rows" if deprecate else "eof"
        elif state == "eof":
            state = "rows"
        elif p[:1] == b"\xfe" and len(p) < 0xFFFFFF:
            # EOF: warnings, status; OK-0xfe: affected rows 0, insert id 0, status.
            status = struct.unpack_from("<H", p, 3)[0]
            if not status & 0x0008:
                return out
            state = "first"


@pytest.mark.parametrize("deprecate_eof", [False, True], ids=["eof", "deprecate_eof"])
def test_raw_text_matches_direct(halyard, cluster, procs, deprecate_eof):
    """The exact packets, with and without CLIENT_DEPRECATE_EOF (which
    pymysql does not ask for)."""
    got = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        c = raw_login(port, procs, deprecate_eof)
        got[where] = [raw_answer(c, b"\x03" + sql.encode()) for sql in STATEMENTS]
        got[where].append(raw_answer(c, b"\x03SELECT 'after'"))
        c.close()
    assert got["halyard"] == got["direct"]
    assert got["halyard"][-1][-2] == b"\x05after"


@pytest.mark.parametrize("deprecate_eof", [False, True], ids=["eof", "deprecate_eof"])
def test_raw_execute_asking_for_a_cursor(halyard, cluster, procs, deprecate_eof):
    """COM_STMT_EXECUTE of a CALL with CURSOR_TYPE_READ_ONLY: the server
    opens no cursor (a CALL cannot have one) and sends the rows, flagged
    CURSOR_EXISTS. libmariadb cannot read that answer, hence raw packets."""
    got = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        c = raw_login(port, procs, deprecate_eof)
        answers = []
        for sql in STATEMENTS[:3]:
            c.send_packet(b"\x16" + sql.encode(), seq=0)
            ok = c.read_payload()
            assert ok[:1] == b"\x00", ok
            stmt_id = struct.unpack_from("<I", ok, 1)[0]
            # A CALL without parameters or columns: the OK is all.
            for flags in (0, 1):
                answers.append(raw_answer(c, b"\x17" + struct.pack("<IBI", stmt_id, flags, 1)))
        answers.append(raw_answer(c, b"\x03SELECT 'after'"))
        got[where] = answers
        c.close()
    assert got["halyard"] == got["direct"]
    assert got["halyard"][-1][-2] == b"\x05after"
