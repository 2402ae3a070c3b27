"""What tools/server-check found where halyard answers in the server's
place (issue 47 items 5 and 9), each shape run through halyard and
directly on the primary, halyard's answer compared with the server's.
"""

import os
import struct
import sys
import threading
import time

import pytest

from rawmysql import (CLIENT_MULTI_STATEMENTS, DEFAULT_CAPS, MARIADB_CLIENT_STMT_BULK_OPERATIONS,
                      ConnectionClosed, MySQLError, RawConn, lenenc_int, parse_err)
from test_ps import execute, prepare
from util import APP_PASSWORD, APP_USER, mysql_native_hash, schema_with_table

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import mysqlbin  # noqa: E402

COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE = 0x16, 0x17, 0x19


def login(port, user=APP_USER, password=APP_PASSWORD):
    c = RawConn("127.0.0.1", port, timeout=10)
    c.login(user, password, caps=DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS)
    return c


def answer(c, sql, why=False):
    """('ok', status flags) or ('error', code, sqlstate) of each result
    (and the error's message when `why`)."""
    try:
        return [("ok", r.status & 0x2003) if not r.columns else ("rows", r.rows)
                for r in c.query(sql)]
    except MySQLError as e:
        return [("error", e.code, e.sqlstate) + ((e.message,) if why else ())]


def both(halyard, cluster, steps):
    """The answers to `steps`, through halyard and directly."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            out.append([answer(c, sql) for sql in steps])
        finally:
            try:
                c.query("XA END 'hy_sa'")
            except MySQLError:
                pass
            for sql in ("XA ROLLBACK 'hy_sa'", "ROLLBACK"):
                try:
                    c.query(sql)
                except MySQLError:
                    pass
            c.close()
    return out


@pytest.mark.parametrize("begin", ["START TRANSACTION READ ONLY", "BEGIN",
                                   "START TRANSACTION READ WRITE"])
@pytest.mark.parametrize("chain", [True, False])
def test_xa_start_in_a_transaction(halyard, cluster, begin, chain):
    """XA START in an open transaction (one COMMIT AND CHAIN began, too) is
    1400 (XAE09), and the transaction goes on. A read-only one runs on a
    replica: halyard took XA START there for a START TRANSACTION that ends
    it, and ran it on the primary (OK, then COMMIT 1399)."""
    steps = [begin] + (["COMMIT AND CHAIN"] if chain else []) + [
        "SELECT @@in_transaction", "XA START 'hy_sa'", "SELECT @@in_transaction", "COMMIT"]
    h, d = both(halyard, cluster, steps)
    assert d[-3] == [("error", 1400, "XAE09")]  # what the server says
    assert h == d, (h, d)




THREADS = ["SHOW GLOBAL STATUS LIKE 'Threads_connected'",
           "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
           "WHERE VARIABLE_NAME = 'THREADS_CONNECTED'"]


@pytest.mark.parametrize("read", THREADS)
def test_threads_connected_counts_idle_sessions(halyard, cluster, read):
    """Three more clients, idle: Threads_connected grows by 3, on the
    server as through halyard, where an idle session holds no
    connection in transaction pool mode. (The primary is shared with
    what the tests before left closing: a side is measured again, up to
    3 times, until nothing else moved meanwhile.)"""
    grew = []
    for port in (cluster.primary_port, halyard.port):
        for _ in range(3):
            c = login(port)
            before = int(c.query(read)[0].rows[0][1])
            more = [login(port) for _ in range(3)]
            after = int(c.query(read)[0].rows[0][1])
            for m in more + [c]:
                m.close()
            if after - before == 3:
                break
            time.sleep(1)
        grew.append(after - before)
    assert grew[0] == 3  # the server's
    assert grew[1] == grew[0]


@pytest.mark.parametrize("where", [
    "SHOW GLOBAL STATUS WHERE Variable_name = 'Threads_connected' AND Value = {n}",
    "SHOW STATUS WHERE `value` + 0 = {n} AND Variable_name LIKE 'Threads_conn%'",
    "SHOW SESSION STATUS WHERE Variable_name = 'Threads_connected' AND VALUE IN (SELECT {n})"])
def test_show_status_where_compares_the_values_shown(halyard, cluster, where):
    """SHOW STATUS WHERE ... Value ...: the WHERE chooses the rows by the
    values the client reads, as on the server. halyard shows its own
    Threads_connected (its sessions, not its connections) on the way back,
    after the server's WHERE had compared the server's own count: the row
    was missing where its value, as shown, matched (and there where it did
    not). Three idle sessions that each ran a statement make the two counts
    differ in both pool modes (idle sessions counted, pooled connections
    not). Also the Value of a row halyard does not change."""
    idle = [login(halyard.port) for _ in range(3)]
    c = login(halyard.port)
    try:
        for i in idle:
            i.query("SELECT 1")
        for _ in range(3):  # what the tests before left closing may move the count
            n = c.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'")[0].rows[0][1]
            got = c.query(where.format(n=n))[0].rows
            if c.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'")[0].rows[0][1] == n:
                break
            time.sleep(1)
        assert got == [("Threads_connected", n)], (n, got)
        assert c.query(where.replace("= {n}", "<> {n}").replace("IN (SELECT {n})", "= -1")
                       .format(n=n))[0].rows == []
        uptime = c.query("SHOW GLOBAL STATUS WHERE Variable_name = 'Uptime' AND Value > 0")[0].rows
        assert [r[0] for r in uptime] == ["Uptime"]
    finally:
        for x in idle + [c]:
            x.close()


@pytest.mark.parametrize("text", ["SELECT 2; SHOW FULL PROCESSLIST",
                                  "SHOW STATUS LIKE 'Threads_connected'; "
                                  "SHOW GLOBAL STATUS LIKE 'Threads_connected'",
                                  "DO 1; SHOW PROCESSLIST; SELECT 3"])
def test_a_show_after_a_texts_first_statement_is_refused(halyard, cluster, text):
    """A SHOW PROCESSLIST or SHOW STATUS after another statement of a
    multi-statement text: halyard maps the rows of a text's first
    statement only, and passed the later one's on as the server wrote
    them (its own connections by their thread ids, the monitor's,
    Threads_connected counting them). Now the text is refused with 1105
    and none of it runs; first in the text, it is answered as before."""
    c = login(halyard.port)
    try:
        c.query("SET @hy_sa_ran = 0")
        got = answer(c, "SET @hy_sa_ran = 1; " + text, why=True)
        assert got[0][:3] == ("error", 1105, "HY000") and "first statement" in got[0][3], got
        assert c.value("SELECT @hy_sa_ran") == "0"  # none of it ran
        first = c.query(text.split("; ", 1)[1] if text.startswith(("SELECT", "DO")) else
                        text.split("; ")[0])
        assert first[0].columns
    finally:
        c.close()


@pytest.mark.parametrize("step", ["XA COMMIT 'hy_sa_px'", "XA PREPARE 'hy_sa_px'"])
def test_a_prepared_xa_step_counts_at_its_execution(halyard, cluster, step):
    """XA START and XA END, then an XA step prepared (COM_STMT_PREPARE)
    and executed, then a read of information_schema.PROCESSLIST, which
    halyard runs on a second connection while the branch is IDLE or
    PREPARED. halyard took the step's PREPARE for the step: a prepared
    XA COMMIT (which fails in IDLE, 1399, the branch staying IDLE) marked
    the branch ended, and the read went to its connection and got 1399
    where the server answers it (tools/server-check --seed 22,
    transaction pooling, 2026-11-29)."""
    read = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            c.query("XA START 'hy_sa_px'")
            c.query("XA END 'hy_sa_px'")
            stmt_id = struct.unpack("<I", c.command(COM_STMT_PREPARE, step.encode())[1:5])[0]
            c.send_packet(bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt_id, 0, 1), seq=0)
            r = c.read_payload()
            out.append((parse_err(r).code if r[:1] == b"\xff" else 0, answer(c, read)))
        finally:
            try:
                c.query("XA ROLLBACK 'hy_sa_px'")
            except MySQLError:
                pass
            c.close()
    h, d = out
    assert d == ((1399 if "COMMIT" in step else 0), [("rows", [("1",)])]), d
    assert h == d, (h, d)


@pytest.mark.parametrize("sql", [
    "SELECT SQL_CALC_FOUND_ROWS id FROM hy_sa_fr.t WHERE id < 50 LIMIT 1",
    "SELECT id FROM hy_sa_fr.t WHERE id < 10 LIMIT 2, 1"])
def test_found_rows_after_a_prepared_execution(halyard, cluster, sql):
    """FOUND_ROWS() after an execution of a prepared SQL_CALC_FOUND_ROWS
    read (or one with a LIMIT offset, MDEV-9390) counts what it found, as
    the server does. In transaction pooling halyard kept the connection
    for FOUND_ROWS() after the PREPARE only (the text's words were read
    there), gave it back after the execution, and answered the rows the
    execution sent: 1 where the server says 49, 1 where it says 3 (found
    by hand-written shapes beside tools/server-check, 2026-11-29)."""
    schema_with_table(cluster, "hy_sa_fr", "v INT NOT NULL DEFAULT 0")
    cluster.sql(0, "INSERT IGNORE INTO hy_sa_fr.t (id) SELECT seq FROM mysql.seq_1_to_60")
    cluster.sync()
    out = []
    for port in (halyard.port, cluster.primary_port):
        c, other = login(port), login(port)
        try:
            stmt_id = prepare(c, sql)[0]
            execute(c, stmt_id)
            other.query("SELECT id FROM hy_sa_fr.t WHERE id < 3")  # the pool's next user
            out.append(c.value("SELECT FOUND_ROWS()"))
        finally:
            c.close()
            other.close()
    assert out[1] == ("49" if "CALC" in sql else "3")
    assert out[0] == out[1], out


KILLER, KILLER_PW = "hy_sa_killer", "sa-killer"  # PROCESS, not CONNECTION ADMIN
VICTIM, VICTIM_PW = "hy_sa_victim", "sa-victim"


def kill_accounts(start_halyard, cluster, killer, killer_pw, extra=()):
    """The killer (SELECT, PROCESS) and the victim (SELECT), `extra`
    statements after, and a halyard that knows them; the accounts go at
    the end."""
    for user, pw, grant in ((killer, killer_pw, "SELECT, PROCESS"), (VICTIM, VICTIM_PW, "SELECT")):
        cluster.sql(0, f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY '{pw}'")
        cluster.sql(0, f"GRANT {grant} ON *.* TO '{user}'@'%'")
    for sql in extra:
        cluster.sql(0, sql)
    cluster.sync()
    h = start_halyard(users=[{"name": u, "password_hash": mysql_native_hash(p)} for u, p in (
        (APP_USER, APP_PASSWORD), (killer, killer_pw), (VICTIM, VICTIM_PW))])
    yield h
    for user in (killer, VICTIM):
        cluster.sql(0, f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.fixture
def kill_users(start_halyard, cluster):
    yield from kill_accounts(start_halyard, cluster, KILLER, KILLER_PW)


def kill_other(h, cluster, kill, victim_open, victim_ran, host=None):
    """The killer's answer to `kill` of the victim's account (at `host`:
    'seen' for the host the server sees the victim from), direct then
    through halyard."""
    out = []
    for port in (cluster.primary_port, h.port):
        v = login(port, VICTIM, VICTIM_PW)
        v.query(victim_ran)
        if host == "seen":  # direct: where the server sees it from
            host = cluster.value(0, f"SELECT SUBSTRING_INDEX(HOST, ':', 1) FROM "
                                    f"information_schema.PROCESSLIST WHERE USER = '{VICTIM}'")
        if not victim_open:
            v.close()
        k = login(port, KILLER, KILLER_PW)
        for _ in range(50):  # the victim's close reaches the server
            n = int(k.query(f"SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                            f"WHERE USER = '{VICTIM}'")[0].rows[0][0])
            if n == int(victim_open):
                break
            time.sleep(0.1)
        out.append(answer(k, f"{kill} '{VICTIM}'" + (f"@'{host}'" if host else "")))
        k.close()
        if victim_open:
            v.close()
    return out


@pytest.mark.parametrize("kill", ["KILL USER", "KILL QUERY USER", "KILL CONNECTION USER"])
@pytest.mark.parametrize("victim_open", [False, True])
@pytest.mark.parametrize("victim_ran", ["SELECT 1", "SELECT 1 FOR UPDATE"])
def test_kill_user_of_another_account(kill_users, cluster, kill, victim_open, victim_ran):
    """An account with PROCESS but not CONNECTION ADMIN kills another
    account's threads: 1095 when that account has a connection, OK when
    it has none. Through halyard, a session of that account idle on no
    connection (its read ran on a replica) is one, and the pooled
    connection on the primary that a closed one left (its locking read
    ran there) is none: no client's. Direct first, on a primary where
    halyard has no connection of that account yet (a fresh one each case:
    the fixture starts a halyard and makes the accounts again)."""
    out = kill_other(kill_users, cluster, kill, victim_open, victim_ran)
    want = [("error", 1095, "HY000")] if victim_open else [("ok", 2)]
    assert out[0] == want  # the server's
    assert out[1] == out[0]


@pytest.mark.parametrize("kill", ["KILL USER", "KILL CONNECTION USER"])
@pytest.mark.parametrize("victim_open", [False, True])
@pytest.mark.parametrize("host", ["seen", "%"])
def test_kill_user_at_host_of_another_account(kill_users, cluster, kill, victim_open, host):
    """As above, with the account's host named (`user'@'host`: the host
    the server sees the victim's connection from, compared as it is, or
    '%'): 1095 when that account has a connection from there, OK when it
    has none, through halyard as directly. The victim's read ran on a
    replica, so through halyard its session holds no connection on the
    primary."""
    out = kill_other(kill_users, cluster, kill, victim_open, "SELECT 1", host)
    want = [("error", 1095, "HY000")] if victim_open else [("ok", 2)]
    assert out[0] == want  # the server's
    assert out[1] == out[0]


ROLE_KILLER, ROLE_KILLER_PW = "hy_sa_rkiller", "sa-rkiller"
KILL_ROLE = "hy_sa_kill_role"


@pytest.fixture
def role_killer(start_halyard, cluster):
    """PROCESS granted, CONNECTION ADMIN through its default role."""
    yield from kill_accounts(start_halyard, cluster, ROLE_KILLER, ROLE_KILLER_PW, (
        f"CREATE OR REPLACE ROLE {KILL_ROLE}", f"GRANT CONNECTION ADMIN ON *.* TO {KILL_ROLE}",
        f"GRANT {KILL_ROLE} TO '{ROLE_KILLER}'@'%'",
        f"SET DEFAULT ROLE {KILL_ROLE} FOR '{ROLE_KILLER}'@'%'"))
    cluster.sql(0, f"DROP ROLE IF EXISTS {KILL_ROLE}")


@pytest.mark.parametrize("kill", ["KILL USER", "KILL CONNECTION USER"])
def test_kill_user_with_a_role_of_another_account(role_killer, cluster, kill):
    """An account with PROCESS, and CONNECTION ADMIN through its default
    role, kills another account's open session: OK, and the victim's
    connection is gone, through halyard as directly (the victim's session
    idle on no connection of the primary through halyard)."""
    h = role_killer
    out = []
    for port in (cluster.primary_port, h.port):
        v = login(port, VICTIM, VICTIM_PW)
        v.query("SELECT 1")
        k = login(port, ROLE_KILLER, ROLE_KILLER_PW)
        got = answer(k, f"{kill} '{VICTIM}'")
        k.close()
        time.sleep(0.2)
        try:
            v.query("SELECT 1")
            alive = True
        except (MySQLError, ConnectionClosed, OSError):
            alive = False
        out.append((got, alive))
        v.close()
    assert out[0] == ([("ok", 2)], False)  # the server's
    assert out[1] == out[0]


IS_READ = "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"


@pytest.mark.parametrize("read", [IS_READ, "SELECT COUNT(*) > 0 FROM information_schema.PROCESSLIST",
                                  "SELECT 1 FROM information_schema.SESSION_STATUS s JOIN "
                                  "information_schema.PROCESSLIST p ON p.ID = 0"])
def test_one_shot_set_transaction_outlives_an_information_schema_read(halyard, cluster, read):
    """SET TRANSACTION READ ONLY (the next transaction's) stays through a
    read of information_schema alone, which uses no transactional table:
    the XA transaction begun after it is read-only, as on the server, even
    when another session took a connection meanwhile; and a session that
    begins after gets none of it (tools/server-check: halyard took the
    read for one that consumed it, so the next transaction ran on a
    connection without it, and the connection that had it went on to
    another session)."""
    steps = [("a", "SET TRANSACTION READ ONLY"), ("a", read), ("b", "XA START 'hy_sa_b'"),
             ("a", "XA START 'hy_sa'"), ("a", "XA END 'hy_sa'"), ("a", "XA ROLLBACK 'hy_sa'"),
             ("b", "XA END 'hy_sa_b'"), ("b", "XA ROLLBACK 'hy_sa_b'"), ("c", "BEGIN"),
             ("c", "ROLLBACK")]
    out = []
    for port in (cluster.primary_port, halyard.port):
        conns = {n: login(port) for n in "abc"}
        out.append([(n, sql, answer(conns[n], sql)) for n, sql in steps])
        for c in conns.values():
            c.close()
    assert out[0][3][2] == [("ok", 0x2003)]  # the server's: a read-only transaction
    assert out[1] == out[0]


XA_READS = [
    "SELECT COUNT(*) > 0 FROM information_schema.PROCESSLIST",
    "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()",
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()",
    "SELECT COUNT(*) > 0 FROM information_schema.SESSION_STATUS",
    "SELECT VARIABLE_VALUE > 0 FROM information_schema.GLOBAL_STATUS "
    "WHERE VARIABLE_NAME = 'THREADS_CONNECTED'",
]


def xa_read_answers(cluster, halyard, db, prepare, run, comment=""):
    """The answers, directly then through halyard, to: XA START, a row
    inserted into db.t, XA END (and XA PREPARE when `prepare`, `comment`
    between XA and its word), run(c)'s (the read's), XA COMMIT, the row
    counted."""
    head = ["XA START 'hy_sa'", f"INSERT INTO {db}.t (v) VALUES (47)",
            f"XA{comment or ' '}END 'hy_sa'"] + ([f"XA{comment or ' '}PREPARE 'hy_sa'"] if prepare
                                                 else [])
    tail = ["XA COMMIT 'hy_sa'" + ("" if prepare else " ONE PHASE"),
            f"SELECT COUNT(*) FROM {db}.t WHERE v = 47"]
    out = []
    for port in (cluster.primary_port, halyard.port):
        cluster.sql(0, f"DELETE FROM {db}.t")
        c = login(port)
        try:
            out.append([answer(c, sql) for sql in head] + [run(c)] +
                       [answer(c, sql) for sql in tail])
        finally:
            c.close()
            try:  # what is left, prepared or not, held its row's lock
                cluster.sql(0, "XA ROLLBACK 'hy_sa'")
            except Exception:
                pass
    return out


@pytest.mark.parametrize("comment", ["", " /* the branch ends */ "])
@pytest.mark.parametrize("prepare", [False, True])
@pytest.mark.parametrize("read", XA_READS)
def test_views_read_in_xa_idle_and_prepared(halyard, cluster, read, prepare, comment):
    """In XA IDLE (after XA END) and XA PREPARED the server answers a read
    of information_schema's process list and status tables, and refuses
    any other table (1399): halyard's rewrite of those reads is a derived
    table, which the server refuses there, so the read runs on a second
    connection of the session's user. The XA transaction is untouched:
    XA COMMIT commits its row, directly as through halyard. A comment
    between XA and END or PREPARE changes none of it (halyard read such an
    XA END as one that leaves the branch ACTIVE: the read got 1399)."""
    db = schema_with_table(cluster, "hy_sa_xa", "v INT")
    d, h = xa_read_answers(cluster, halyard, db, prepare, lambda c: answer(c, read), comment)
    assert d[-3][0][0] == "rows", d  # the server answers it
    assert d[-1] == [("rows", [("1",)])], d
    assert h == d, (h, d)


def stmt_answer(c, sql):
    """COM_STMT_PREPARE of `sql` (no parameters), then its COM_STMT_EXECUTE
    and COM_STMT_CLOSE: the prepare's ("prepared", columns) or error, then
    the execute's ("rows", their binary payloads) or error."""
    c.send_packet(bytes([COM_STMT_PREPARE]) + sql.encode(), seq=0)
    p = c.read_payload()
    if p[:1] == b"\xff":
        e = parse_err(p)
        return [("error", e.code, e.sqlstate)]
    stmt_id, ncols, nparams = struct.unpack_from("<IHH", p, 1)
    for n in (nparams, ncols):  # the definitions, each list with its EOF
        for _ in range(n + (n > 0)):
            c.read_payload()
    out = [("prepared", ncols)]
    c.send_packet(bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt_id, 0, 1), seq=0)
    p = c.read_payload()
    if p[:1] == b"\xff":
        e = parse_err(p)
        out.append(("error", e.code, e.sqlstate))
    elif p[:1] != b"\x00":
        for _ in range(lenenc_int(p, 0)[0] + 1):
            c.read_payload()
        rows = []
        while (p := c.read_payload())[:1] != b"\xfe":
            rows.append(p)
        out.append(("rows", rows))
    c.send_packet(bytes([COM_STMT_CLOSE]) + struct.pack("<I", stmt_id), seq=0)
    return out


XA_FORMS = {
    "batch": lambda c, read: answer(c, f"{read}; SELECT 2", why=True),
    "batch-after": lambda c, read: answer(c, f"SELECT 2; {read}", why=True),
    "sql-prepare": lambda c, read: [answer(c, f'PREPARE hy_sa_p FROM "{read}"'),
                                    answer(c, "EXECUTE hy_sa_p"),
                                    answer(c, "DEALLOCATE PREPARE hy_sa_p")],
    "stmt-prepare": stmt_answer,
}


@pytest.mark.parametrize("prepare", [False, True])
@pytest.mark.parametrize("form", list(XA_FORMS))
@pytest.mark.parametrize("read", XA_READS)
def test_views_read_in_xa_idle_and_prepared_not_alone(halyard, cluster, read, form, prepare):
    """As test_views_read_in_xa_idle_and_prepared, the read not a text
    statement alone. Prepared (PREPARE and EXECUTE; COM_STMT_PREPARE and
    COM_STMT_EXECUTE), which halyard does not rewrite (the server's process
    list and ids, compatibility.md): the server's answers. In a
    multi-statement text the server answers every statement, and halyard,
    which rewrites the read into a derived table the server refuses there,
    answered 1399 (XAE07) as if the server had refused the read; only a
    statement alone runs on a second connection, so such a text is now
    refused whole, before any of it runs, with 1105 saying why. The XA
    transaction goes on: XA COMMIT commits its row."""
    db = schema_with_table(cluster, "hy_sa_xa", "v INT")
    d, h = xa_read_answers(cluster, halyard, db, prepare, lambda c: XA_FORMS[form](c, read))
    assert "1399" not in repr(d[-3]), d  # the server answers it
    assert d[-1] == [("rows", [("1",)])], d
    if form.startswith("batch"):
        assert h[-3][0][:3] == ("error", 1105, "HY000") and "XA" in h[-3][0][3], h
        h[-3] = d[-3]
    assert h == d, (h, d)


def with_victim(cluster, halyard, run):
    """run(victim, killer, victim's id)'s answers, directly then through
    halyard, each side with two connections of its own."""
    out = []
    for port in (cluster.primary_port, halyard.port):
        victim, killer = login(port), login(port)
        try:
            out.append(run(victim, killer, victim.value("SELECT CONNECTION_ID()")))
        finally:
            victim.close()
            killer.close()
    return out


@pytest.mark.parametrize("kill", ["KILL SOFT CONNECTION {vid}", "KILL QUERY {vid}", "KILL {vid}"])
@pytest.mark.parametrize("victim_in", ["START TRANSACTION READ ONLY", "BEGIN"])
def test_kill_answer_carries_the_senders_transaction(halyard, cluster, kill, victim_in):
    """A KILL sent from an XA ACTIVE transaction is answered with the
    sender's status: in a transaction (3). halyard sends the KILL on a
    connection to the victim's backend, which may be another than the
    sender's transaction's (a read-only transaction on a replica): the
    server's OK there said 2 (tools/server-check, KILL SOFT CONNECTION)."""
    db = schema_with_table(cluster, "hy_sa_kill", "v INT")

    def run(victim, killer, vid):
        victim.query(victim_in)
        victim.query(f"SELECT COUNT(*) FROM {db}.t")
        steps = ["XA START 'hy_sa_k'", kill.format(vid=vid), "SELECT @@in_transaction",
                 "XA END 'hy_sa_k'", "XA ROLLBACK 'hy_sa_k'"]
        return [answer(killer, sql) for sql in steps]
    d, h = with_victim(cluster, halyard, run)
    assert d[1] == [("ok", 3)], d
    assert h == d, (h, d)


@pytest.mark.parametrize("xa", ["", "XA END"])
@pytest.mark.parametrize("setting", ["SET NAMES latin1", "SET sql_mode = DEFAULT"])
def test_a_session_idle_after_a_set_is_listed_as_sleep(halyard, cluster, setting, xa):
    """A SET whose variables halyard reads back: the client has its OK,
    the session is idle, and the server lists it Sleep (or, for a moment,
    still Query with the SET as its INFO: the server sets Sleep just after
    it has sent the answer). halyard's read-back was still running on its
    connection, so a process-list read right after showed the session
    running halyard's read-back, a statement the client never sent (and a
    read of only `Sleep` rows left it out); a session that took or gave
    back a connection while the read was made could be left out too
    (tools/server-check --short seed 1)."""
    for port in (cluster.primary_port, halyard.port):
        idle, reader = login(port), login(port)
        try:
            iid = idle.value("SELECT CONNECTION_ID()")
            if xa:
                reader.query("XA START 'hy_sa_s'")
                reader.query("XA END 'hy_sa_s'")
            got = []
            for _ in range(40):
                idle.query(setting)
                got.append(answer(reader, "SELECT COMMAND, INFO FROM "
                                          f"information_schema.PROCESSLIST WHERE ID = {iid}"))
            ok = ([("rows", [("Sleep", None)])], [("rows", [("Query", setting)])])
            assert all(g in ok for g in got), (port, [g for g in got if g not in ok])
        finally:
            if xa:
                reader.query("XA ROLLBACK 'hy_sa_s'")
            idle.close()
            reader.close()


def listed(reader, vid):
    """How `reader` sees thread `vid`: its COMMAND in information_schema
    and in SHOW PROCESSLIST. The server answers a command before it lists
    the thread back as `Sleep`: a read in between sees `Query`, `Ping` or
    `Init DB` (CI, direct). That moment is waited out (up to 5 s), on both
    sides: a listing that stays so is still what is compared."""
    reads = [f"SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = {vid}",
             "SHOW PROCESSLIST"]
    deadline = time.monotonic() + 5
    while True:
        got = answer(reader, reads[0])
        show = [r for r in reader.query(reads[1])[0].rows if r[0] == str(vid)]
        got += [("show", [r[4] for r in show])]
        running = ("Query", "Ping", "Init DB")
        busy = [("rows", [(c,)]) for c in running]
        if got[0] not in busy and not set(running) & set(got[1][1]) \
                or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


@pytest.mark.parametrize("kill", ["KILL QUERY", "KILL HARD QUERY", "KILL SOFT QUERY"])
def test_kill_query_of_an_idle_session_shows_it_killed(start_halyard, cluster, kill):
    """KILL QUERY of an idle connection: the server answers OK and lists
    the connection `Killed` until its next command (a PING) begins. An idle
    halyard session holding no connection was listed `Sleep` (tools/
    server-check --short seed 2). Transaction pooling, where an idle
    session holds none; the sessions that hold one on a replica are
    test_kill_query_of_a_session_idle_on_a_replica's."""
    halyard = start_halyard(pool_mode="transaction")

    def run(victim, killer, vid):
        victim.query("SELECT 1")
        steps = [listed(killer, vid), answer(killer, f"{kill} {vid}"), listed(killer, vid)]
        victim.command(0x0e, b"")  # COM_PING: its next command
        return steps + [listed(killer, vid)]
    d, h = with_victim(cluster, halyard, run)
    assert d[2] == [("rows", [("Killed",)]), ("show", ["Killed"])], d
    assert h == d, (h, d)


@pytest.mark.parametrize("pool_mode,held,then", [
    ("transaction", "START TRANSACTION READ ONLY", "PING"), ("session", "SELECT 1", "PING"),
    ("session", "SELECT 1 FOR UPDATE", "SELECT 1")])
def test_kill_query_of_a_session_idle_on_a_replica(start_halyard, cluster, pool_mode, held, then):
    """KILL QUERY of a session idle on a connection (to a replica in a
    read-only transaction; or under session pooling, where its last
    statement ran): the server lists it `Killed`, and `Sleep` once its
    next command has run. halyard sends the KILL to that connection's
    thread, and the next command may not reach it (a PING halyard answers
    itself or sends to the primary, a read on a replica): that thread
    stayed `Killed`, and a replica's `Killed` thread was taken for one
    running a statement, so the session was listed `Killed` (tools/
    server-check --short seed 2: direct `Sleep`, halyard `Killed`, after
    KILL HARD QUERY and the check's PING)."""
    halyard = start_halyard(pool_mode=pool_mode)

    def run(victim, killer, vid):
        victim.query(held)
        steps = [listed(killer, vid), answer(killer, f"KILL HARD QUERY {vid}"),
                 listed(killer, vid)]
        if then == "PING":
            victim.command(0x0e, b"")  # COM_PING: its next command
        else:
            steps.append(answer(victim, then))
        return steps + [listed(killer, vid), answer(victim, "SELECT @@in_transaction")]
    d, h = with_victim(cluster, halyard, run)
    assert d[2] == [("rows", [("Killed",)]), ("show", ["Killed"])], d
    assert d[-2] == [("rows", [("Sleep",)]), ("show", ["Sleep"])], d
    assert h == d, (h, d)



def flags(c, sql):
    """Each result's status flags a client acts on (in transaction,
    autocommit, no backslash escapes, read-only transaction), its rows, or
    the error."""
    try:
        return [("rows" if r.columns else "ok", r.status & 0x2203, r.rows) for r in c.query(sql)]
    except MySQLError as e:
        return [("error", e.code, e.sqlstate)]


@pytest.mark.parametrize("sets", ["SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SET autocommit = 1",
                                  "SET autocommit = 0; SET @y = 2",
                                  "SET @y = 2; SET sql_mode = 'NO_BACKSLASH_ESCAPES'"])
def test_set_batch_in_a_read_only_transaction_is_refused(halyard, cluster, sets):
    """Several SETs in one text inside START TRANSACTION READ ONLY: halyard
    cannot read back what a text of several statements set, so it ran it
    on the primary (and kept the session there after), while the read-only
    transaction went on on its replica, without it: the statements after it
    lacked its flags and values (no backslash escapes, autocommit off),
    where the server has them (tools/server-check --short, seeds 4 and 5).
    Now refused whole (1235), before it runs; the transaction goes on as
    the server's does without it."""
    steps = ["START TRANSACTION READ ONLY", "SELECT 1", sets, "SHOW GLOBAL STATUS LIKE 'Compression'",
             "SELECT @@sql_mode = 'NO_BACKSLASH_ESCAPES', @@autocommit, @y", "COMMIT AND CHAIN",
             "ROLLBACK", "SELECT @@autocommit"]
    out = []
    for port, run in ((cluster.primary_port, steps), (halyard.port, steps),
                      (cluster.primary_port, [s for s in steps if s != sets])):
        c = login(port)
        try:
            out.append([flags(c, sql) for sql in run])
        finally:
            c.close()
    d, h, d_without = out
    i = steps.index(sets)
    assert all(r[0] == "ok" for r in d[i]), d  # the server runs it
    assert h[i] == [("error", 1235, "42000")], h
    assert h[:i] + h[i + 1:] == d_without, (h, d_without)


def listed_db(reader, vid):
    """Thread `vid`'s DB and COMMAND as `reader` reads them in
    information_schema and in SHOW [FULL] PROCESSLIST, once it is listed
    back as idle (listed's wait)."""
    listed(reader, vid)
    got = [answer(reader, f"SELECT DB, COMMAND FROM information_schema.PROCESSLIST "
                          f"WHERE ID = {vid}")]
    for show in ("SHOW PROCESSLIST", "SHOW FULL PROCESSLIST"):
        got.append([tuple(r[3:5]) for r in reader.query(show)[0].rows if r[0] == str(vid)])
    return got


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
@pytest.mark.parametrize("reader_in", ["", "START TRANSACTION READ ONLY"])
@pytest.mark.parametrize("before", [[], ["SELECT COUNT(*) FROM hy_sa_db1.t"],
                                    ["START TRANSACTION READ ONLY", "SELECT COUNT(*) FROM hy_sa_db1.t"],
                                    ["UPDATE hy_sa_db1.t SET v = v + 1", "SET sql_mode = DEFAULT"]])
@pytest.mark.parametrize("then", [[], ["PING", "BEGIN", "PL"]])
def test_a_session_after_com_init_db_is_listed_in_its_database(start_halyard, cluster, pool_mode,
                                                              reader_in, before, then):
    """COM_INIT_DB (pymysql's select_db) after `before`, then `then`:
    another session, in `reader_in`, reads the process list, which shows
    the session idle in its new database, as the server shows it. A
    reader in a read-only transaction reads the process list of the
    replica its transaction runs on, where the session's connection, idle
    since its last read there, is still in the database it had then
    (halyard brings a connection's database up to date when it next runs
    a statement): halyard listed the session in its old database
    (tools/server-check --short --seed 2, session pooling: after COM_INIT_DB
    sc_private, SHOW PROCESSLIST's db `sc` through halyard, `sc_private`
    direct)."""
    schema_with_table(cluster, "hy_sa_db1", "v INT NOT NULL DEFAULT 0")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hy_sa_db2")
    cluster.sync()
    halyard = start_halyard(pool_mode=pool_mode)
    out = []
    for port in (cluster.primary_port, halyard.port):
        victim, reader = RawConn("127.0.0.1", port, timeout=10), login(port)
        victim.login(APP_USER, APP_PASSWORD, db="hy_sa_db1")
        try:
            vid = victim.value("SELECT CONNECTION_ID()")
            for step in before:
                victim.query(step)
            victim.command(0x02, b"hy_sa_db2")  # COM_INIT_DB
            for step in then:
                if step == "PING":
                    victim.command(0x0e, b"")
                elif step == "PL":
                    victim.query("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                 "WHERE USER = 'nobody'")
                else:
                    victim.query(step)
            if reader_in:
                reader.query(reader_in)
                reader.query("SELECT COUNT(*) FROM hy_sa_db1.t")
            out.append(listed_db(reader, vid))
        finally:
            victim.close()
            reader.close()
    d, h = out
    assert d == [[("rows", [("hy_sa_db2", "Sleep")])], [("hy_sa_db2", "Sleep")],
                 [("hy_sa_db2", "Sleep")]], d
    assert h == d, (h, d)


@pytest.mark.parametrize("pool_mode,victim_in", [("transaction", "BEGIN"), ("session", ""),
                                                ("session", "BEGIN")])
@pytest.mark.parametrize("kill", ["KILL QUERY ID", "KILL HARD QUERY ID"])
def test_kill_query_id_of_an_idle_session_shows_it_killed(start_halyard, cluster, pool_mode,
                                                          victim_in, kill):
    """KILL QUERY ID of an idle connection's last query id: the server
    answers OK and lists the connection `Killed` until its next command
    (a PING), as KILL QUERY <connection id> does. halyard passed the KILL
    on and set no mark of it (registry.h killed_on): the session was
    listed `Sleep`, its connection's `Killed` taken for one no KILL
    reached since its last command. (A session that holds no connection,
    under transaction pooling, has no query id of its own: its last one
    is its pooled connection's, which the KILL's own statement may
    replace; compatibility.md.)"""
    halyard = start_halyard(pool_mode=pool_mode)

    def run(victim, killer, vid):
        if victim_in:
            victim.query(victim_in)
        qid = victim.value("SELECT QUERY_ID FROM information_schema.PROCESSLIST "
                           "WHERE ID = CONNECTION_ID()")
        steps = [listed(killer, vid), answer(killer, f"{kill} {qid}"), listed(killer, vid)]
        victim.command(0x0e, b"")  # COM_PING: its next command
        return steps + [listed(killer, vid)]
    d, h = with_victim(cluster, halyard, run)
    assert d[1] == [("ok", 2)] and d[2] == [("rows", [("Killed",)]), ("show", ["Killed"])], d
    assert d[3] == [("rows", [("Sleep",)]), ("show", ["Sleep"])], d
    assert h == d, (h, d)


def while_running(victim, stmt, poll, act):
    """`stmt` runs on `victim` in a thread of its own; meanwhile poll()
    is asked every 50 ms (up to 3 s) until it returns something, which
    act() is given. (act()'s answer, the victim's answer to `stmt`)."""
    got = {}
    t = threading.Thread(target=lambda: got.update(a=answer(victim, stmt)))
    t.start()
    try:
        seen = None
        for _ in range(60):
            seen = poll()
            if seen is not None:
                break
            time.sleep(0.05)
        out = act(seen)
    finally:
        t.join(10)
    return out, got.get("a")


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
@pytest.mark.parametrize("where", ["SELECT SLEEP(5)", "SELECT SLEEP(5) FROM DUAL FOR UPDATE"])
def test_kill_query_id_of_a_running_statement(start_halyard, cluster, pool_mode, where):
    """KILL QUERY ID of a running statement (a read on a replica, a
    locking one on the primary), its id read from the process list: OK,
    the statement ends with 1317, and the session is listed `Sleep`
    after, as on the server."""
    halyard = start_halyard(pool_mode=pool_mode)

    def run(victim, killer, vid):
        def poll():
            rows = killer.query("SELECT QUERY_ID FROM information_schema.PROCESSLIST "
                                f"WHERE ID = {vid} AND INFO = '{where}'")[0].rows
            return rows[0][0] if rows else None
        kill, got = while_running(victim, where, poll,
                                  lambda qid: answer(killer, f"KILL QUERY ID {qid}"))
        return [kill, got, listed(killer, vid)]
    d, h = with_victim(cluster, halyard, run)
    assert d[0] == [("ok", 2)] and d[1] == [("error", 1317, "70100")], d
    assert d[2] == [("rows", [("Sleep",)]), ("show", ["Sleep"])], d
    assert h == d, (h, d)


PAD = "x" * 120


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
# SLEEP(4): the four reads of the list must end before the statement
# does (at SLEEP(2), with make check's suites beside it at load 11, the
# third read through halyard found it ended: Info None, 2026-11-28).
@pytest.mark.parametrize("stmt", [
    "SELECT SLEEP(4), CONNECTION_ID()",  # a read: on a replica
    f"SELECT SLEEP(4), CONNECTION_ID(), '{PAD}' AS pad",
    # SHOW PROCESSLIST cuts 100 bytes, not characters (halyard kept 100
    # characters before 2026-11-29: 27 more bytes here)
    f"SELECT SLEEP(4), CONNECTION_ID(), '{'é' * 60}' AS pad",
    "SELECT SLEEP(4), CONNECTION_ID() FROM DUAL FOR UPDATE",  # on the primary
    "SELECT SLEEP(4), (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = 0) AS n"])
def test_another_sessions_running_statement_shows_its_clients_text(start_halyard, cluster,
                                                                    pool_mode, stmt):
    """Session A runs a statement halyard rewrites (CONNECTION_ID() in
    place, the process list's derived table); session B reads the process
    list meanwhile: A's INFO (and SHOW PROCESSLIST's Info, its first 100
    characters, SHOW FULL PROCESSLIST's whole) is the text A's client
    sent, as the server shows it. halyard showed the text it sent in its
    place (session_sysview.c put_info mapped only the reader's own row)."""
    halyard = start_halyard(pool_mode=pool_mode)

    def run(victim, reader, vid):
        def poll():
            rows = reader.query("SELECT COMMAND, INFO FROM information_schema.PROCESSLIST "
                                f"WHERE ID = {vid}")[0].rows
            return rows[0][1] if rows and rows[0][0] == "Query" and rows[0][1] is not None \
                else None

        def read(info):
            out = [info]
            for show in ("SHOW PROCESSLIST", "SHOW FULL PROCESSLIST"):
                out.append([r[7] for r in reader.query(show)[0].rows if r[0] == str(vid)])
            out.append(reader.query("SELECT INFO_BINARY FROM information_schema.PROCESSLIST "
                                    f"WHERE ID = {vid}")[0].rows)
            # the reads count when the statement still ran after the last
            # (CI, session mode at load 11: the fourth read came after
            # SLEEP(4) ended, INFO_BINARY None, 2026-11-29)
            return out, poll() is not None

        for _ in range(3):
            out, running = while_running(victim, stmt, poll, read)[0]
            if running:
                break
        return out
    d, h = with_victim(cluster, halyard, run)
    assert d[0] == stmt and d[1] == [stmt.encode()[:100].decode(errors="replace")] and \
        d[2] == [stmt], d
    assert h == d, (h, d)


MULTI_CALLS = [
    # ROW_COUNT() and FOUND_ROWS() after another statement of the same text
    ["UPDATE hy_sa_mc.t SET v = v + 1 WHERE id = 1; SELECT ROW_COUNT(); SELECT FOUND_ROWS()"],
    ["SELECT SQL_CALC_FOUND_ROWS id FROM hy_sa_mc.t LIMIT 1; SELECT FOUND_ROWS(), ROW_COUNT()"],
    ["INSERT INTO hy_sa_mc.t (id) VALUES (100); SELECT ROW_COUNT() AS n"],
]


@pytest.mark.parametrize("steps", MULTI_CALLS)
@pytest.mark.parametrize("before", ["", "SET @a = 1", "SELECT id FROM hy_sa_mc.t WHERE id < 3"])
def test_calls_after_a_texts_first_statement_are_the_texts(halyard, cluster, steps, before):
    """ROW_COUNT() and FOUND_ROWS() in a statement after the first of a
    multi-statement text describe the text's statement before them, which
    ran on the same connection: the server's answer. halyard wrote the
    values of the session's previous text in their place (found by
    tools/server-check's multi-statement steps, 2026-11-29)."""
    schema_with_table(cluster, "hy_sa_mc", "v INT NOT NULL DEFAULT 0")
    out = []
    for port in (halyard.port, cluster.primary_port):
        cluster.sql(0, "DELETE FROM hy_sa_mc.t")
        cluster.sql(0, "INSERT INTO hy_sa_mc.t (id) SELECT seq FROM mysql.seq_1_to_40")
        cluster.sync()
        c = login(port)
        try:
            if before:
                c.query(before)
            out.append([answer(c, sql) for sql in steps])
        finally:
            c.close()
    assert out[0] == out[1], out


@pytest.mark.parametrize("read", ["SELECT @@time_zone",
                                  "SELECT CONVERT_TZ('2020-01-01 00:00:00', @@time_zone, '+00:00')"])
def test_a_set_after_a_texts_first_statement_follows_the_session(halyard, cluster, read):
    """A SET in a statement after the first of a multi-statement text is
    the session's state on its next connections too (found by
    tools/server-check's multi-statement steps, 2026-11-29: a prepared
    read of @@time_zone after `SELECT 1; SET time_zone = '+01:00'`)."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        c, other = login(port), login(port)
        try:
            answer(c, "SELECT 1; SET time_zone = '+01:00'; SELECT @@time_zone")
            other.query("SELECT 1")  # the pool's next user
            out.append([answer(c, read), answer(c, "SELECT 2; " + read)])
            stmt_id = prepare(c, read)[0]
            out[-1].append(execute(c, stmt_id))
        finally:
            c.close()
            other.close()
    assert out[0] == out[1], out


@pytest.mark.parametrize("cmd", ["COM_RESET_CONNECTION", "COM_CHANGE_USER"])
@pytest.mark.parametrize("last", ["UPDATE hy_sa_fk.t SET v = v + 1 WHERE id < 3", "SELECT 1"])
def test_found_rows_kept_across_a_reset(halyard, cluster, cmd, last):
    """MariaDB keeps FOUND_ROWS() across COM_RESET_CONNECTION and
    COM_CHANGE_USER; ROW_COUNT() is 0 after either. halyard gave 0 for
    FOUND_ROWS() (found by tools/server-check's session-state steps,
    2026-11-29: 0 where the server said 1 after COM_CHANGE_USER)."""
    schema_with_table(cluster, "hy_sa_fk", "v INT NOT NULL DEFAULT 0")
    cluster.sql(0, "INSERT IGNORE INTO hy_sa_fk.t (id) SELECT seq FROM mysql.seq_1_to_9")
    cluster.sync()
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            c.query("SELECT id FROM hy_sa_fk.t WHERE id < 8")
            c.query(last)
            if cmd == "COM_RESET_CONNECTION":
                c.command(0x1F)
            else:
                c.change_user(APP_USER, APP_PASSWORD)
            out.append(answer(c, "SELECT FOUND_ROWS(), ROW_COUNT()"))
        finally:
            c.close()
    assert out[1] == [("rows", [("7" if last.startswith("UPDATE") else "1", "0")])]
    assert out[0] == out[1], out


def run_prepared(c, sql):
    try:
        st = prepare(c, sql)[0]
        execute(c, st)
        return "ok"
    except MySQLError as e:
        return e.code


@pytest.mark.parametrize("between", [[], ["COMMIT"], ["COMMIT", "SET @x = 1"], ["SET @x = 1"]])
def test_diag_after_a_failed_prepare(halyard, cluster, between):
    """A failed COM_STMT_PREPARE's error stays the session's diagnostics
    through prepared statements that use no table, as on the server.
    Found by tools/server-check's session-state steps (2026-11-29): after
    a prepared SET (which pins the session to the primary), @@error_count
    read on another connection than the error's gave 0 where the server
    says 1 (both pool modes). halyard now raises the error it kept on the
    connection the read runs on: in transaction pooling first, then in
    session pooling, where it kept none (the prepared SET pinned the
    session and closed the replica's connection that had the error)."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            out.append([run_prepared(c, "SELECT * FROM hy_sa_nosuch.t")])
            out[-1] += [run_prepared(c, sql) for sql in between]
            out[-1].append(answer(c, "SELECT @@warning_count, @@error_count"))
        finally:
            c.close()
    assert out[1][-1] == [("rows", [("1", "1")])]
    assert out[0] == out[1], out


def test_show_warnings_in_a_text_after_a_read_in_xa_idle(halyard, cluster):
    """In XA IDLE, after a read of the process list (run on a second
    connection), `DO 1 / 0; SHOW WARNINGS` is about the text's DO: halyard
    refused it with 1105 ("the previous statement ran on every group"),
    where the server answers (found by tools/server-check, 2026-11-29;
    both pool modes). The area the read left is empty: the text runs on
    the XA connection, its area emptied first."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            out.append([answer(c, sql, why=True) for sql in (
                "XA START 'hy_sa'", "XA END 'hy_sa'",
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()",
                "DO 1 / 0; SHOW WARNINGS; SELECT @@warning_count")])
        finally:
            try:
                c.query("XA ROLLBACK 'hy_sa'")
            except MySQLError:
                pass
            c.close()
    assert out[0] == out[1], out


@pytest.mark.parametrize("end", ["START TRANSACTION READ WRITE", "BEGIN",
                                 "DROP TABLE IF EXISTS hy_sa_nosuch.t"])
def test_last_insert_id_set_in_a_read_only_transaction_outlives_it(halyard, cluster, end):
    """LAST_INSERT_ID(N) inside START TRANSACTION READ ONLY (run on its
    replica), then a statement that commits the transaction and runs on
    the primary: LAST_INSERT_ID() is N, as on the server. halyard closed
    the replica's connection with the value unread, then the session on
    the next statement naming it (1927; found by tools/server-check
    --short --seed 2 --pool-mode session, 2026-11-29)."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            out.append([answer(c, sql) for sql in (
                "START TRANSACTION READ ONLY", "SELECT LAST_INSERT_ID(42)", end,
                "SELECT LAST_INSERT_ID()", "COMMIT")])
        finally:
            c.close()
    assert out[1][3] == [("rows", [("42",)])]
    assert out[0] == out[1], out


@pytest.mark.parametrize("cmd", ["COM_PING", "COM_INIT_DB"])
def test_row_count_after_a_ping_or_init_db(halyard, cluster, cmd):
    """ROW_COUNT() is 0 after COM_PING and COM_INIT_DB, as MariaDB sets
    it (FOUND_ROWS() stays); halyard, answering a COM_PING itself when
    the session holds no connection to the primary, left the previous
    statement's -1 (found by tools/server-check --seed 3 --consistency
    global, 2026-11-29; both pool modes). In transaction pooling the
    pool's row notes a ping at its take (on_take), whoever answers it, and
    the next call is written with it; in session pooling the call runs
    on the connection of the statement before the ping, untouched, which
    halyard did not write: the take of a ping it answers itself marks the
    value as no connection's (fixed 2026-11-29)."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            c.query("SELECT seq FROM mysql.seq_1_to_3")
            if cmd == "COM_PING":
                c.command(0x0E)
            else:
                c.command(0x02, b"mysql")
            out.append(answer(c, "SELECT ROW_COUNT(), FOUND_ROWS()"))
        finally:
            c.close()
    assert out[1] == [("rows", [("0", "3")])]
    assert out[0] == out[1], out


def answer_prepared(c, sql):
    """A prepared statement's answer: ('rows', its binary rows, the status
    flags after them) or ('ok',) or ('error', code, sqlstate)."""
    try:
        got = execute(c, prepare(c, sql)[0])
    except MySQLError as e:
        return [("error", e.code, e.sqlstate)]
    if got[0][:1] == b"\x00":
        return [("ok",)]
    return [("rows", [p for p in got if p[:1] == b"\x00"],
             struct.unpack_from("<H", got[-1], 3)[0] & 0x2003)]


@pytest.mark.parametrize("lock", ["SELECT GET_LOCK('hy_sa_gl', 0)", "SELECT IS_FREE_LOCK('hy_sa_gl')"])
@pytest.mark.parametrize("prepared", [False, True])
def test_user_lock_in_a_read_only_transaction_is_the_primarys(halyard, cluster, lock, prepared):
    """GET_LOCK() inside START TRANSACTION READ ONLY takes the lock where
    the other sessions' are, and IS_FREE_LOCK() there sees theirs: halyard
    ran them on the transaction's replica, whose locks are its own, so
    the lock excluded no one (found by tools/server-check's session-state
    steps, 2026-11-29: GET_LOCK 1 where the server said 0). Prepared, the
    same (found by the same steps, prepared; fixed 2026-11-29 after text)."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        name = f"hy_sa_gl_{port}"  # a lock of each side's own: one may end after its close
        c, other = login(port), login(cluster.primary_port)
        try:
            if "IS_FREE" in lock:
                other.query(f"SELECT GET_LOCK('{name}', 0)")
            answer(c, "START TRANSACTION READ ONLY")
            sql = lock.replace("hy_sa_gl", name)
            got = answer_prepared(c, sql) if prepared else answer(c, sql)
            # the transaction goes on (its replica's connection was closed
            # by the pin when the PREPARE had run on the primary, session
            # pooling: tools/server-check --seed 2, XA START answered OK)
            got += answer(c, "SELECT @@in_transaction") + answer(c, "XA START 'hy_sa_gx'")
            seen = answer(other, f"SELECT IS_FREE_LOCK('{name}')")
            answer(c, "COMMIT")
            answer(c, "SELECT 1")  # the lock stays the session's after the transaction
            out.append((got, seen, answer(other, f"SELECT IS_FREE_LOCK('{name}')")))
        finally:
            c.close()
            other.close()
    assert out[0] == out[1], out


@pytest.mark.parametrize("begin", [None, "START TRANSACTION READ ONLY"])
def test_a_prepared_user_lock_stays_the_sessions(halyard, cluster, begin):
    """A lock a prepared GET_LOCK() took is the session's until it ends, as
    a text one's: while other sessions come and go, another connection
    sees it held. halyard ran the execution on the primary without pinning
    the session (transaction pooling), and the pool handed the connection,
    the lock on it, to the next session, whose RELEASE_ALL_LOCKS() freed
    it (found reducing tools/server-check's prepared user locks,
    2026-11-29)."""
    out = []
    for port in (halyard.port, cluster.primary_port):
        name = f"hy_sa_pl_{port}"
        c, other = login(port), login(cluster.primary_port)
        try:
            if begin:
                answer(c, begin)
            got = answer_prepared(c, f"SELECT GET_LOCK('{name}', 0)")
            answer(c, "COMMIT")
            for _ in range(4):
                n = login(port)
                answer(n, "SELECT RELEASE_ALL_LOCKS()")
                n.close()
            out.append((got, answer(other, f"SELECT IS_FREE_LOCK('{name}')"),
                        answer_prepared(c, f"SELECT RELEASE_LOCK('{name}')")))
        finally:
            c.close()
            other.close()
    assert out[1][1] == [("rows", [("0",)])]  # held, on the server
    assert out[0] == out[1], out


@pytest.mark.parametrize("between", [False, True])
def test_row_count_after_a_bulk_execution(halyard, cluster, between):
    """ROW_COUNT() after a COM_STMT_BULK_EXECUTE of two rows is the last
    row's count (1), as MariaDB keeps it; the OK says the sum (2), which
    halyard wrote in the call's place on another connection than the
    bulk's (transaction pooling: found by tools/server-check --seed 3,
    2026-11-29). `between`: another session ran a statement on the
    primary since."""
    schema_with_table(cluster, "hy_sa_bk", "v INT NOT NULL DEFAULT 0")
    cluster.sql(0, "INSERT IGNORE INTO hy_sa_bk.t (id) VALUES (1), (2), (3)")
    cluster.sync()
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = mysqlbin.BinConn("127.0.0.1", port, timeout=10)
        c.login(APP_USER, APP_PASSWORD, caps=DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS,
                ext_caps=MARIADB_CLIENT_STMT_BULK_OPERATIONS)
        try:
            c.query("SELECT id FROM hy_sa_bk.t WHERE id < 3")  # FOUND_ROWS() 2
            st = c.prepare("UPDATE hy_sa_bk.t SET v = v + 1 WHERE id = ?")
            bulk = c.bulk_execute(st, [[1], [2]])[0].affected_rows
            if between:
                o = login(port)
                o.query("UPDATE hy_sa_bk.t SET v = v + 1 WHERE id = 3")
                o.close()
            out.append((bulk, answer(c, "SELECT ROW_COUNT(), FOUND_ROWS()"),
                        answer(c, "SELECT ROW_COUNT()")))
        finally:
            c.close()
    assert out[1] == (2, [("rows", [("1", "2")])], [("rows", [("-1",)])]), out  # the server's
    assert out[0] == out[1], out



def prepare_then_execute(c, sql):
    """Where a prepared `sql` is refused: ('prepare', code), ('execute', code)
    or ('ran',)."""
    try:
        stmt_id = prepare(c, sql)[0]
    except MySQLError as e:
        return [("prepare", e.code, e.sqlstate)]
    try:
        execute(c, stmt_id)
    except MySQLError as e:
        return [("execute", e.code, e.sqlstate)]
    return [("ran",)]


@pytest.mark.parametrize("sql", ["INSERT INTO hy_sa_ri.missing VALUES (1)",
                                 "INSERT INTO hy_sa_ri.t (v) VALUES (1)",
                                 "UPDATE hy_sa_ri.missing SET a = 1",
                                 "DELETE FROM hy_sa_ri.t WHERE id = 0",
                                 "SELECT v FROM hy_sa_ri.t FOR UPDATE",
                                 "CREATE TEMPORARY TABLE hy_sa_ri.tt (a INT)"])
def test_a_write_prepared_in_a_read_only_transaction(halyard, cluster, sql):
    """Inside START TRANSACTION READ ONLY the server refuses the PREPARE of
    a write (1792), before it looks for its tables; a CREATE TEMPORARY
    TABLE's at its execution. halyard prepared it on the primary, outside
    the transaction: 1146 for a missing table, or prepared, its execution
    then refused (found by tools/server-check --with-known, 2026-11-29;
    fixed 2026-11-30). The diagnostics area after it, and the transaction
    going on, are the server's too."""
    schema_with_table(cluster, "hy_sa_ri", "v INT")
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            got = answer(c, "START TRANSACTION READ ONLY")
            got += prepare_then_execute(c, sql)
            got += answer(c, "SHOW WARNINGS") + answer(c, "SELECT @@error_count, @@in_transaction")
            answer(c, "ROLLBACK")
            out.append(got)
        finally:
            c.close()
    assert out[1][1][0] == ("execute" if "TEMPORARY" in sql else "prepare"), out
    assert out[0] == out[1], out


def run_steps(c, steps):
    """The answers to `steps`, "INIT_DB x" sent as a COM_INIT_DB."""
    got = []
    for sql in steps:
        if sql.startswith("INIT_DB "):
            try:
                got.append(("init_db", c.command(0x02, sql[8:].encode())[:1]))
            except MySQLError as e:
                got.append(("error", e.code, e.sqlstate))
        else:
            got += answer(c, sql)
    return got


@pytest.mark.parametrize("steps", [
    ["PREPARE sp FROM 'SELECT 1'", "START TRANSACTION READ ONLY", "EXECUTE sp",
     "DEALLOCATE PREPARE sp", "SELECT @@in_transaction"],
    ["START TRANSACTION READ ONLY", "DEALLOCATE PREPARE sp", "DROP PREPARE sp",
     "INIT_DB hy_sa_ps", "CREATE TEMPORARY TABLE hy_sa_ps.tt (a INT)", "SELECT @@in_transaction"]])
def test_sql_prepared_statements_and_a_read_only_transaction(halyard, cluster, steps):
    """An SQL PREPARE, EXECUTE and DEALLOCATE PREPARE with START TRANSACTION
    READ ONLY are answered as the server answers them, the transaction
    kept. halyard ended the transaction at a DEALLOCATE there, as it ends
    it for DDL (a CREATE TEMPORARY TABLE then answered OK outside it where
    the server says 1792: tools/server-check --with-known, 2026-11-29);
    and with pool_mode = "session" it ran an EXECUTE of a statement
    prepared before on the transaction's replica, which does not have it
    (1243). Fixed 2026-11-30: an SQL PREPARE pins the session in both pool
    modes (the transaction after it runs on the primary, where the
    statement lives), and a DEALLOCATE stays in the transaction."""
    schema_with_table(cluster, "hy_sa_ps", "v INT")
    out = []
    for port in (halyard.port, cluster.primary_port):
        c = login(port)
        try:
            out.append(run_steps(c, steps))
            answer(c, "ROLLBACK")
        finally:
            c.close()
    assert out[1][-1] == ("rows", [("1",)]), out
    assert out[0] == out[1], out


def test_an_sql_prepare_in_a_read_only_transaction_is_refused(halyard, cluster):
    """An SQL PREPARE inside START TRANSACTION READ ONLY, which runs on a
    replica, is refused with 1235 saying so (compatibility.md): the named
    statement would live on the replica while the session's EXECUTEs after
    the transaction run on the primary. Before 2026-11-30 it ended the
    transaction (as DDL does) where the server keeps it; in a text of
    several statements it ran on the replica, and an EXECUTE after the
    transaction then answered 1243. The transaction goes on."""
    c = login(halyard.port)
    try:
        assert answer(c, "START TRANSACTION READ ONLY") == [("ok", 0x2003)]
        for sql in ("PREPARE sp FROM 'SELECT 1'", "PREPARE sp FROM 'SELECT ?'; EXECUTE sp USING 5"):
            got = answer(c, sql, why=True)
            assert got[0][:3] == ("error", 1235, "42000") and "PREPARE inside" in got[0][3], got
        assert answer(c, "SELECT @@in_transaction") == [("rows", [("1",)])]
        assert answer(c, "COMMIT") == [("ok", 0x0002)]
        assert answer(c, "PREPARE sp FROM 'SELECT 7'") == [("ok", 0x0002)]
        assert answer(c, "EXECUTE sp") == [("rows", [("7",)])]
    finally:
        c.close()
