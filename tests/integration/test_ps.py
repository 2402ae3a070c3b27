"""Prepared statements across backends (binary protocol, read/write split).

halyard hands clients its own statement ids and prepares each statement
lazily on the backend an execution lands on: reads run on replicas, writes
on the primary, in one session. ps_client (libmariadb) runs the scenarios
and prints @@server_id of each execution; raw packets check the errors
against what MariaDB itself answers. pymysql does not use server-side
prepared statements, hence the C client.
"""

import os
import re
import struct
import subprocess
import threading
import time

import pytest

from rawmysql import MySQLError, RawConn, parse_err
from test_core import db, ps_client_bin  # noqa: F401 (fixtures)
from util import APP_PASSWORD, APP_USER, pool_mode, wait_until


def run_ps(h, db, ps_client_bin, scenario):
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, db, scenario],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ps_client {scenario} failed: {r.stderr}\n{r.stdout[-2000:]}"
    return [line.split("\t") for line in r.stdout.splitlines()]


def test_select_on_replicas_insert_on_primary(start_halyard, cluster, db, ps_client_bin, ids):
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    out = run_ps(h, db, ps_client_bin, "split")
    selects = [int(f[1]) for f in out if f[0] == "select"]
    assert len(selects) == 6 and set(selects) == replicas, out
    assert [f for f in out if f[0] == "insert"] == [["insert", str(i), "1"] for i in range(1, 7)]
    assert cluster.sql(0, f"SELECT DISTINCT sid FROM {db}.ps_split") == [(primary,)]
    assert cluster.sql(0, f"SELECT COUNT(*) FROM {db}.ps_split") == [(6,)]
    # Executions count in their text's digest, with the role that ran them.
    from test_reload import admin_json
    dig = {d["digest"]: d for d in admin_json(h, "show digests")["digests"]}
    assert (dig["SELECT @@server_id"]["calls"], dig["SELECT @@server_id"]["replica"]) == (6, 6)
    ins = dig["INSERT INTO ps_split VALUES (?, @@server_id)"]
    assert (ins["calls"], ins["primary"], ins["rows"]) == (6, 6, 6)


def causal_table(cluster, db):
    cluster.sql(0, f"DROP TABLE IF EXISTS {db}.ps_causal")
    cluster.sql(0, f"CREATE TABLE {db}.ps_causal (id INT NOT NULL PRIMARY KEY, v INT)")
    cluster.sql(0, f"INSERT INTO {db}.ps_causal VALUES (1, 0)")
    cluster.sync()


@pytest.mark.parametrize("fast", [False, True])
def test_prepared_on_a_replica_reads_its_writes(start_halyard, cluster, db, ps_client_bin, ids,
                                                fast):
    """consistency = causal: a SELECT prepared and run on a replica, then
    run after each of the session's writes, never reads stale, with both
    replicas applying events 2 s late (causal_fast: the primary at once)."""
    primary, replicas = ids
    h = start_halyard(consistency="causal", causal_timeout_ms=200, causal_fast=fast)
    causal_table(cluster, db)
    cluster.delay(1, 2)
    cluster.delay(2, 2)
    out = run_ps(h, db, ps_client_bin, "causal")
    reads = [(int(f[1]), int(f[2])) for f in out if f[0] == "read"]
    # ps_client fails itself on a stale read; the first read, before any
    # write, ran on a replica (the table exists there: it waited for it).
    assert [v for _, v in reads] == list(range(7)), reads
    assert reads[0][0] in replicas, reads
    assert all(sid == primary for sid, _ in reads[1:]), reads  # replicas 2 s behind


def test_causal_prepared_reads_use_caught_up_replicas(start_halyard, cluster, db, ps_client_bin,
                                                      ids):
    primary, replicas = ids
    h = start_halyard(consistency="causal", causal_timeout_ms=5000)
    causal_table(cluster, db)
    out = run_ps(h, db, ps_client_bin, "causal")
    reads = [(int(f[1]), int(f[2])) for f in out if f[0] == "read"]
    assert [v for _, v in reads] == list(range(7)), reads
    assert {sid for sid, _ in reads} == replicas, reads


def test_parameter_types_reused_on_other_backends(start_halyard, db, ps_client_bin, ids):
    """libmariadb sends the parameter types with the first execution after
    a bind only; the next ones land on the other replica, which must get
    them from halyard."""
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    out = run_ps(h, db, ps_client_bin, "types")
    rows = [f[1:] for f in out if f[0] == "types"]
    want = [[f"r{i}/{1000000000000 * i + 7}", f"{(i + 0.25) * 2:.2f}"] for i in range(5)] + \
           [[f"r{i}/t{i}", f"{(i + 0.25) * 2:.2f}"] for i in range(5, 10)]
    assert [r[:2] for r in rows] == want, rows
    sids = [int(r[2]) for r in rows]
    assert set(sids[:5]) == replicas and set(sids[5:]) == replicas, sids
    # consecutive executions alternate between the replicas
    assert all(a != b for a, b in zip(sids, sids[1:])), sids


def test_long_data_runs_where_it_was_sent(start_halyard, cluster, db, ps_client_bin, ids):
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    out = run_ps(h, db, ps_client_bin, "long-split")
    ins = [f for f in out if f[0] == "insert"]
    assert len(ins) == 1
    length, crc = ins[0][2].split(":")
    assert cluster.sql(0, f"SELECT LENGTH(b), LPAD(LOWER(HEX(CRC32(b))), 8, '0'), sid FROM "
                          f"{db}.ps_lsplit WHERE id = 1") == [(int(length), crc, primary)]
    sel = {f[1]: (int(f[2]), f[3]) for f in out if f[0] == "select"}
    # Outside a transaction long data goes to the primary and the execution
    # follows it; inside READ ONLY, to the transaction's replica.
    assert sel["auto"][0] == primary, out
    ro_text = int([f for f in out if f[0] == "ro_text"][0][1])
    assert ro_text in replicas and sel["ro"][0] == ro_text, out
    assert sel["auto"][1] == sel["ro"][1] and sel["auto"][1].startswith("200000:"), out


def test_read_only_transaction_runs_prepared_statements_on_its_replica(start_halyard, db,
                                                                       ps_client_bin, ids):
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    out = run_ps(h, db, ps_client_bin, "ro-trx")
    got = {}
    for f in out:
        got.setdefault(f[0], []).append(int(f[1]))
    assert got["auto"][0] in replicas
    assert got["ro_text"][0] in replicas and got["ro"] == got["ro_text"] * 3, got
    assert got["rw"] == [primary], got


def test_column_metadata_same_on_every_backend(start_halyard, db, ps_client_bin, ids):
    primary, replicas = ids
    h = start_halyard(consistency="causal", causal_timeout_ms=5000)
    out = run_ps(h, db, ps_client_bin, "metadata")
    runs = []
    for f in out:
        if f[0] == "run":
            runs.append([])
        elif f[0] == "row":
            runs[-1].append(f[:1] + f[2:])  # without @@server_id
            runs[-1].append(("server", int(f[1])))
        else:
            runs[-1].append(f)
    assert len(runs) == 3
    servers = [{x[1] for x in run if x[0] == "server"} for run in runs]
    assert servers[0] | servers[1] == replicas and servers[2] == {primary}, servers
    same = [[x for x in run if x[0] != "server"] for run in runs]
    assert same[0] == same[1] == same[2]
    cols = [f for f in same[0] if f[0] == "col"]
    assert [c[1] for c in cols] == ["sid", "id", "d", "s", "t", "f", "b", "d2", "s2"]
    assert "decimals=3" in cols[2] and "decimals=6" in cols[4]
    assert ["rows=2"] in same[0]


def test_cursor_fetches_from_the_replica_that_opened_it(start_halyard, db, ps_client_bin, ids):
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    out = run_ps(h, db, ps_client_bin, "cursor-split")
    cursors = [f for f in out if f[0] == "cursor"]
    assert len(cursors) == 2
    assert {int(c[1]) for c in cursors} == replicas, cursors
    assert all(c[2:] == ["rows=20", "sum=210"] for c in cursors), cursors


# ---- raw protocol: what MariaDB answers, halyard answers ---------------------

def prepare(c, sql):
    """COM_STMT_PREPARE: (statement id, params, columns); MySQLError on ERR."""
    c.send_packet(b"\x16" + sql.encode(), seq=0)
    p = c.read_payload()
    if p[:1] == b"\xff":
        raise parse_err(p)
    stmt, ncols, nparams = struct.unpack_from("<IHH", p, 1)
    for n in (nparams, ncols):
        for _ in range(n):
            c.read_payload()
        if n:
            assert c.read_payload()[:1] == b"\xfe"  # EOF (no DEPRECATE_EOF)
    return stmt, nparams, ncols


def execute(c, stmt, flags=0, params=b""):
    """COM_STMT_EXECUTE; the raw answer packets up to its end (no cursor)."""
    c.send_packet(b"\x17" + struct.pack("<IBI", stmt, flags, 1) + params, seq=0)
    first = c.read_payload()
    if first[:1] == b"\xff":
        raise parse_err(first)
    if first[:1] == b"\x00":
        return [first]
    got, eofs = [first], 0
    while eofs < 2:
        p = c.read_payload()
        got.append(p)
        if p[:1] == b"\xfe" and len(p) < 9:
            eofs += 1
            if eofs == 1 and struct.unpack_from("<H", p, 3)[0] & 0x40:  # cursor opened
                break
        elif p[:1] == b"\xff":
            raise parse_err(p)
    return got


def err_of(fn, *args):
    try:
        fn(*args)
    except MySQLError as e:
        return (e.code, e.sqlstate, e.message)
    return "no error"


UNKNOWN = 4_000_000_000


def transcript(port, db):
    """Prepared statement errors on a fresh connection: closed and unknown
    ids, cursor fetch without cursor, resets, long data for nobody,
    MariaDB's id -1 (the last statement prepared), COM_STMT_BULK_EXECUTE,
    and statements gone after COM_RESET_CONNECTION."""
    out = []
    c = RawConn("127.0.0.1", port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    s1, _, _ = prepare(c, "SELECT 1 AS one")
    s2, _, _ = prepare(c, "SELECT ? AS p, @@version_comment IS NOT NULL AS v")
    out.append(("ids", s1, s2))
    out.append(("exec", len(execute(c, s1))))
    c.send_packet(b"\x19" + struct.pack("<I", s1), seq=0)  # COM_STMT_CLOSE: no answer
    out.append(("closed", err_of(execute, c, s1)))
    out.append(("unknown", err_of(execute, c, UNKNOWN)))
    c.send_packet(b"\x18" + struct.pack("<IH", UNKNOWN, 0) + b"data", seq=0)  # no answer either
    out.append(("ping", c.command(0x0E)[:1]))
    out.append(("reset unknown", err_of(c.command, 0x1A, struct.pack("<I", UNKNOWN))))
    out.append(("reset", c.command(0x1A, struct.pack("<I", s2))[:1]))
    out.append(("fetch no cursor", err_of(c.command, 0x1C, struct.pack("<II", s2, 1))))
    out.append(("fetch unknown", err_of(c.command, 0x1C, struct.pack("<II", UNKNOWN, 1))))
    # id -1: the last statement prepared (s2), one LONGLONG parameter 5
    res = execute(c, 0xFFFFFFFF, 0, b"\x00\x01\x08\x00" + struct.pack("<q", 5))
    out.append(("last", len(res), res[-2][-9:]))
    out.append(("bulk", err_of(c.command, 0xFA, struct.pack("<IH", s2, 0))))
    out.append(("after", c.value("SELECT 'usable'")))
    out.append(("reset connection", c.command(0x1F)[:1]))  # drops every statement
    out.append(("after reset connection", err_of(execute, c, s2)))
    c.close()
    # MariaDB numbers statements server-wide, halyard per session.
    names = {str(s1): "S1", str(s2): "S2"}

    def norm(v):
        if isinstance(v, tuple):
            return tuple(norm(x) for x in v)
        if isinstance(v, str):
            return re.sub(r"\((\d+)\)", lambda m: f"({names.get(m[1], m[1])})", v)
        return v
    return [norm(item) for item in out[1:]]


def test_errors_answered_as_mariadb(start_halyard, cluster, db):
    h = start_halyard()
    got = transcript(h.port, db)
    assert ("closed", (1243, "HY000",
                       "Unknown prepared statement handler (S1) given to mysqld_stmt_execute")) in got
    assert got == transcript(cluster.primary_port, db)


def test_max_prepared_statements(start_halyard, db):
    h = start_halyard(max_prepared_statements=3)
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    stmts = [prepare(c, f"SELECT {i}")[0] for i in range(3)]
    from test_reload import admin_json
    # this session's row: another session (the fixture's readiness check)
    # may not have left yet
    (row,) = [r for r in admin_json(h, "show sessions")["sessions"]
              if r["id"] == c.greeting.conn_id]
    assert row["statements"] == 3
    with pytest.raises(MySQLError) as e:
        prepare(c, "SELECT 4")
    assert (e.value.code, e.value.sqlstate, e.value.message) == (
        1461, "42000", "Can't create more than max_prepared_stmt_count statements (current value: 3)")
    c.send_packet(b"\x19" + struct.pack("<I", stmts[0]), seq=0)
    s4, _, _ = prepare(c, "SELECT 4")
    assert s4 not in stmts and len(execute(c, s4)) > 1
    c.close()


def test_rules_see_prepared_text(start_halyard, cluster, db, ids):
    primary, replicas = ids
    rules = [{"name": "no_drop", "match_text": r"(?i)^\s*DROP\s", "action": "block",
              "error_code": 1142, "error_message": "DROP is not allowed here"},
             {"name": "sid_primary", "match_text": r"^SELECT @@server_id, 1$", "action": "route",
              "route": "primary"}]
    h = start_halyard(rules=rules, consistency="eventual")
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    with h.log_contains(r"AUDIT .*statement blocked by rule 'no_drop'"):
        with pytest.raises(MySQLError) as e:
            prepare(c, "DROP TABLE ps_never")
    assert (e.value.code, e.value.message) == (1142, "DROP is not allowed here")
    routed, _, _ = prepare(c, "SELECT @@server_id, 1")
    plain, _, _ = prepare(c, "SELECT @@server_id")

    def sid(stmt):
        rows = execute(c, stmt)
        return struct.unpack_from("<Q", [r for r in rows if r[:1] == b"\x00"][0], 2)[0]
    assert {sid(routed) for _ in range(4)} == {primary}
    assert {sid(plain) for _ in range(4)} == replicas
    c.close()


def test_replica_lost_statements_prepared_again(start_halyard, cluster, db, ps_client_bin, ids):
    """A replica dies while the session's statements are prepared on it:
    the next executions prepare them elsewhere."""
    primary, replicas = ids
    h = start_halyard(consistency="eventual", connect_timeout_ms=500)
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    stmt, _, _ = prepare(c, "SELECT @@server_id")

    def sid():
        rows = execute(c, stmt)
        return struct.unpack_from("<Q", [r for r in rows if r[:1] == b"\x00"][0], 2)[0]
    assert {sid() for _ in range(4)} == replicas
    dead, alive = cluster.server_id(1), cluster.server_id(2)
    cluster.kill(1)
    # An execution that was on its way to the dead replica runs again
    # elsewhere, as a text read does: none fails.
    seen = {sid() for _ in range(6)}
    assert dead not in seen and alive in seen, seen
    c.close()


def test_execute_retried_when_its_replica_dies_mid_statement(start_halyard, cluster, db, ids):
    """An autocommit read by COM_STMT_EXECUTE whose replica dies while it
    runs is prepared on another backend and run there; the client gets its
    result, never 1927."""
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    c = RawConn("127.0.0.1", h.port, timeout=20)
    c.login(APP_USER, APP_PASSWORD, db=db)
    stmt, _, _ = prepare(c, "/* halyard: backend=node1 */ SELECT SLEEP(2), @@server_id, ?")
    r1 = cluster.server_id(1)
    # A first run leaves the statement prepared on node1 only, with its
    # parameter types there: the retry must prepare it and send the types.
    param = b"\x01" + b"\x08\x00" + struct.pack("<q", 41)  # new_params_bound, LONGLONG, 41
    first = execute(c, stmt, params=b"\x00" + param)
    assert struct.unpack_from("<Q", [r for r in first if r[:1] == b"\x00"][0], 6)[0] == r1
    out = {}

    def slow():
        t0 = time.monotonic()
        try:
            out["rows"] = execute(c, stmt, params=b"\x00" + b"\x00" + struct.pack("<q", 42))
        except MySQLError as e:
            out["error"] = e
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: any("SLEEP(2)" in (r[7] or "") for r in cluster.sql(1, "SHOW PROCESSLIST")),
               what="the execution running on node1")
    cluster.kill(1)
    t.join(15)
    assert "error" not in out, out
    row = [r for r in out["rows"] if r[:1] == b"\x00"][0]
    # Binary row: 0x00, a NULL bitmap of (3 + 2 + 7) / 8 = 1 byte, then
    # SLEEP()'s INT, @@server_id's BIGINT, the parameter's BIGINT.
    sleep_rc, server, value = struct.unpack_from("<iQq", row, 2)
    assert sleep_rc == 0 and server != r1 and value == 42, (sleep_rc, server, value)
    assert out["took"] > 2.0  # it ran again from the start elsewhere
    assert re.search(r"backend node1 died before answering: running the read again elsewhere",
                     h.log_text())
    # The session goes on, the statement still usable.
    again = execute(c, stmt, params=b"\x00" + b"\x00" + struct.pack("<q", 43))
    assert struct.unpack_from("<Q", [r for r in again if r[:1] == b"\x00"][0], 6)[0] != r1
    c.close()


def test_statements_follow_a_reload(start_halyard, cluster, db, ids):
    """A reload that reorders the backends and adds one: an open session's
    statements keep their ids on the backends it still uses (no new
    PREPARE there) and are prepared on the new one when they land there."""
    from test_reload import base, reload_ok
    primary, replicas = ids
    # Session mode: pooled, a statement is prepared again wherever it lands.
    h = start_halyard(consistency="eventual", pool_mode="session")
    settings = base(cluster, h.port, nodes=(0, 1), pool_mode="session")
    reload_ok(h, settings)
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    stmt, _, _ = prepare(c, "SELECT @@server_id")

    def sid():
        rows = execute(c, stmt)
        return struct.unpack_from("<Q", [r for r in rows if r[:1] == b"\x00"][0], 2)[0]

    def prepares(node):
        return int(cluster.sql(node, "SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")[0][1])
    assert {sid() for _ in range(3)} == {cluster.server_id(1)}
    before = {n: prepares(n) for n in (1, 2)}
    settings["backends"] = list(reversed(base(cluster, h.port)["backends"]))
    reload_ok(h, settings)
    # node2, added, takes reads once the monitor's first check of it passed
    wait_until(lambda: sid() == cluster.server_id(2), what="a read on node2")
    # and on node1 again: reads go to the replica with the least round trip
    # (router.c's route_cost), and on a busy machine node1's, averaged over
    # many checks, may read more than twice the new node2's first one for
    # a few checks (CI, twice: six reads all on node2)
    wait_until(lambda: sid() == cluster.server_id(1), 30, what="a read on node1 again")
    assert prepares(1) == before[1]  # still the id it had
    assert prepares(2) == before[2] + 1  # prepared once, on first use
    c.close()


# ---- large and malformed packets -------------------------------------------

def binary_rows(packets, ncols):
    """The binary rows of an execute's answer (column definitions skipped)."""
    rows = []
    for p in packets[1 + ncols:]:
        if p[:1] == b"\x00":
            rows.append(p[1 + (ncols + 7 + 2) // 8:])
    return rows


def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    return b"\xfd" + struct.pack("<I", n)[:3]


def test_types_added_to_a_large_execution(start_halyard, db, ids):
    """The execution that needs the types added is larger than a buffer:
    the rewritten head goes first, the values stream after it."""
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    stmt, nparams, _ = prepare(c, "SELECT CONCAT(LENGTH(?), ' ', CAST(? AS SIGNED) + 1, ' ', "
                                  "@@server_id)")
    assert nparams == 2
    seen = set()
    for i, size in enumerate([100_000, 200_000, 150_000, 50]):
        value = bytes([65 + i]) * size
        head = struct.pack("<IBI", stmt, 0, 1) + b"\x00"
        types = b"\xfe\x00\x08\x00"  # STRING, LONGLONG
        params = (b"\x01" + types if i == 0 else b"\x00") + lenenc(size) + value + struct.pack("<q", i)
        c.send_packet(b"\x17" + head + params, seq=0)
        got = [c.read_payload()]
        while not (got[-1][:1] == b"\xfe" and len(got[-1]) < 9 and
                   sum(1 for p in got if p[:1] == b"\xfe" and len(p) < 9) == 2):
            assert got[-1][:1] != b"\xff", parse_err(got[-1])
            got.append(c.read_payload())
        (row,) = binary_rows(got, 1)
        length, plus1, sid = map(int, row[1:1 + row[0]].split())
        assert (length, plus1) == (size, i + 1)
        seen.add(sid)
    assert seen == replicas
    assert c.value("SELECT 'usable'") == "usable"
    c.close()


def test_statement_too_large_for_a_buffer(start_halyard, db, ids):
    """A PREPARE longer than a buffer is not kept, and a statement with so
    many parameters that an execution's head (types included) may not fit
    a buffer cannot be moved: both run on the primary only."""
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    big, _, _ = prepare(c, "SELECT '" + "x" * 20000 + "' AS big, @@server_id")
    for _ in range(3):
        rows = binary_rows(execute(c, big), 2)
        assert struct.unpack_from("<Q", rows[0], 3 + 20000)[0] == primary
    n = 8000
    many, nparams, _ = prepare(c, "SELECT CONCAT(" + ",".join("?" * n) + "), @@server_id")
    assert nparams == n
    for i in range(3):
        head = struct.pack("<IBI", many, 0, 1) + bytes((n + 7) // 8)
        bound = b"\x01" + b"\xfe\x00" * n if i == 0 else b"\x00"
        value = chr(97 + i).encode()
        c.send_packet(b"\x17" + head + bound + (b"\x01" + value) * n, seq=0)
        got = [c.read_payload()]
        while not (got[-1][:1] == b"\xfe" and len(got[-1]) < 9 and
                   sum(1 for p in got if p[:1] == b"\xfe" and len(p) < 9) == 2):
            assert got[-1][:1] != b"\xff", parse_err(got[-1])
            got.append(c.read_payload())
        (row,) = binary_rows(got, 2)
        assert row[:3] == b"\xfc" + struct.pack("<H", n) and row[3:3 + n] == value * n
        assert struct.unpack_from("<Q", row, 3 + n)[0] == primary
    assert c.value("SELECT 'usable'") == "usable"
    c.close()


def test_refused_executions_dropped_whole(start_halyard, db):
    """An execution of an unknown statement larger than a buffer, and a
    short one, get their ERR and the session goes on."""
    h = start_halyard()
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    c.send_packet(b"\x17" + struct.pack("<IBI", UNKNOWN, 0, 1) + b"\x00" * 300_000, seq=0)
    e = parse_err(c.read_payload())
    assert (e.code, e.message) == (1243, f"Unknown prepared statement handler ({UNKNOWN}) given to "
                                         "mysqld_stmt_execute")
    c.send_packet(b"\x17\x01", seq=0)
    assert parse_err(c.read_payload()).code == 1243
    stmt, _, _ = prepare(c, "SELECT ? AS p")
    # a head the statement cannot have (bad new_params_bound_flag): the
    # server's own answer
    c.send_packet(b"\x17" + struct.pack("<IBI", stmt, 0, 1) + b"\x00\x07", seq=0)
    assert c.read_payload()[:1] == b"\xff"
    assert c.value("SELECT 'usable'") == "usable"
    c.close()


def test_lazy_prepare_sees_the_session_state(start_halyard, cluster, db, ids):
    """A backend that gets a statement prepared lazily has the session's
    state replayed first: the schema chosen by USE, session variables."""
    primary, replicas = ids
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS ps_other")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS ps_other.t2 (v INT)")
    cluster.sql(0, "DELETE FROM ps_other.t2")
    cluster.sql(0, "INSERT INTO ps_other.t2 VALUES (42)")
    cluster.sync()
    h = start_halyard(consistency="eventual")
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    c.query("USE ps_other")
    c.query("SET SESSION div_precision_increment = 9")
    stmt, _, _ = prepare(c, "SELECT CONCAT(v, ' ', v / 7, ' ', @@server_id) FROM t2")
    seen = set()
    for _ in range(4):
        (row,) = binary_rows(execute(c, stmt), 1)
        v, q, sid = row[1:1 + row[0]].decode().split()
        assert (v, q) == ("42", "6.000000000")
        seen.add(int(sid))
    assert seen == replicas
    c.close()


def test_execution_runs_in_the_schema_of_its_prepare(start_halyard, cluster, db, ids):
    """The server runs a prepared statement in the schema of its PREPARE,
    whatever USE came since (checked directly below). A backend that
    prepares it later (a replica, a pooled connection) must do so in that
    schema too, and the connection then goes back to the session's."""
    primary, replicas = ids
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS ps_where")
    for schema, v in ((db, 1), ("ps_where", 2)):
        cluster.sql(0, f"CREATE TABLE IF NOT EXISTS {schema}.t_where (v INT)")
        cluster.sql(0, f"DELETE FROM {schema}.t_where")
        cluster.sql(0, f"INSERT INTO {schema}.t_where VALUES ({v})")
    cluster.sync()
    sql = "SELECT CONCAT(v, ' ', @@server_id) FROM t_where"

    def run(port, n):
        c = RawConn("127.0.0.1", port)
        c.login(APP_USER, APP_PASSWORD, db=db)
        stmt, _, _ = prepare(c, sql)
        c.query("USE ps_where")
        got = []
        for _ in range(n):
            (row,) = binary_rows(execute(c, stmt), 1)
            got.append(row[1:1 + row[0]].decode().split())
        # the session's own schema is untouched, on every backend it uses
        texts = {c.value("SELECT CONCAT(DATABASE(), ' ', (SELECT v FROM t_where))")
                 for _ in range(4)}
        c.close()
        return got, texts

    got, texts = run(cluster.primary_port, 1)
    assert got[0][0] == "1" and texts == {"ps_where 2"}  # the server's behaviour
    h = start_halyard(consistency="eventual")
    got, texts = run(h.port, 4)
    assert {v for v, _ in got} == {"1"}, got
    assert {int(sid) for _, sid in got} == replicas
    assert texts == {"ps_where 2"}


@pytest.mark.parametrize("fallback", ["primary", "error"])
def test_lazy_prepare_refused_by_a_replica(start_halyard, cluster, db, ids, fallback):
    """A replica that cannot prepare the statement (its table is missing
    there): the execution runs on the primary, or with replica_fallback =
    error gets the replica's ERR."""
    primary, replicas = ids
    cluster.sql(0, f"DROP TABLE IF EXISTS {db}.ps_fb")
    cluster.sql(0, f"CREATE TABLE {db}.ps_fb (v INT)")
    cluster.sync()
    h = start_halyard(consistency="eventual", replica_fallback=fallback)
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    c.query("BEGIN")  # prepared on the primary, inside the transaction
    stmt, _, _ = prepare(c, "SELECT @@server_id FROM DUAL WHERE (SELECT COUNT(*) FROM ps_fb) = 0")
    c.query("COMMIT")
    broken = cluster.server_id(2)
    root = cluster.root_connect(2)  # on node2 alone, out of its binlog (GTID strict mode)
    with root.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(f"DROP TABLE {db}.ps_fb")
    root.close()
    try:
        seen, errors = set(), []
        for _ in range(4):
            try:
                (row,) = binary_rows(execute(c, stmt), 1)
                seen.add(struct.unpack_from("<Q", row)[0])
            except MySQLError as e:
                errors.append((e.code, e.message))
        if fallback == "primary":
            assert errors == [] and seen == {primary, cluster.server_id(1)}, (seen, errors)
        else:
            assert seen == {cluster.server_id(1)}, seen
            assert errors == [(1146, f"Table '{db}.ps_fb' doesn't exist")] * 2, errors
        assert broken not in seen
        assert c.value("SELECT 'usable'") == "usable"
    finally:
        c.close()
        cluster.sql(0, f"DROP TABLE IF EXISTS {db}.ps_fb")
        cluster.sync()


def test_reset_and_close_across_backends(start_halyard, db, ps_client_bin, ids):
    """libmariadb: a cursor on a replica reset half-way and executed again,
    long data discarded by a reset, then the closed statement's id is
    unknown (1243)."""
    primary, replicas = ids
    h = start_halyard(consistency="eventual")
    out = run_ps(h, db, ps_client_bin, "reset-close")
    rows = [f for f in out if f[0] == "row"]
    assert [(int(f[1]), int(f[3])) for f in rows] == \
        [(r, r * 2 + k) for r in range(3) for k in range(1, 4)]
    for r in range(3):  # each round's rows from one replica
        assert len({f[2] for f in rows if f[1] == str(r)}) == 1
    assert {int(f[2]) for f in rows} == replicas
    after = [f for f in out if f[0] == "after_reset"][0]
    # the reset discarded the long data: the execution is free to go to a replica
    assert after[1] == "[bound]" and int(after[2]) in replicas
    (err,) = [f for f in out if f[0] == "error"]
    assert err[1:3] == ["1243", "HY000"]
    assert re.fullmatch(r"Unknown prepared statement handler \(\d+\) given to mysqld_stmt_execute", err[3])
    assert ["after", "7"] in out


def test_long_data_past_max_allowed_packet(start_halyard, cluster, db):
    """Long data is not buffered by halyard: the server that gets it
    refuses more than its max_allowed_packet, at the execution, as it does
    for a direct client."""
    limit = int(cluster.sql(0, "SELECT @@GLOBAL.max_allowed_packet")[0][0])

    def transcript(port):
        c = RawConn("127.0.0.1", port)
        c.login(APP_USER, APP_PASSWORD, db=db)
        stmt, _, _ = prepare(c, "SELECT LENGTH(?)")
        chunk = b"z" * (1 << 20)
        for _ in range(limit // len(chunk) + 1):
            c.send_packet(b"\x18" + struct.pack("<IH", stmt, 0) + chunk, seq=0)
        params = b"\x00\x01\xfc\x00"  # not NULL; bound: MYSQL_TYPE_BLOB
        got = err_of(execute, c, stmt, 0, params)
        after = c.value("SELECT 'usable'")
        c.close()
        return got, after

    h = start_halyard()
    got = transcript(h.port)
    assert got == ((1105, "HY000", "Parameter of prepared statement which is set through "
                    "mysql_send_long_data() is longer than 'max_allowed_packet' bytes"), "usable")
    assert got == transcript(cluster.primary_port)


def test_executions_follow_hints_strong_consistency_and_pinning(start_halyard, cluster, db, ids):
    primary, replicas = ids
    h = start_halyard(consistency="strong", strong_window_ms=60000)
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    node2 = cluster.nodes[2]["name"]
    plain, _, _ = prepare(c, "SELECT @@server_id")
    hinted, _, _ = prepare(c, f"SELECT /* halyard: backend={node2} */ @@server_id")
    to_primary, _, _ = prepare(c, "SELECT /* halyard: primary */ @@server_id")

    def sid(stmt):
        (row,) = binary_rows(execute(c, stmt), 1)
        return struct.unpack_from("<Q", row)[0]
    assert {sid(plain) for _ in range(4)} == replicas
    assert {sid(hinted) for _ in range(3)} == {cluster.server_id(2)}
    assert {sid(to_primary) for _ in range(3)} == {primary}
    # strong: after a write, reads go to the primary for strong_window_ms
    c.query("CREATE TABLE IF NOT EXISTS ps_strong (id INT PRIMARY KEY)")
    assert {sid(plain) for _ in range(3)} == {primary}
    c.close()
    # a temporary table pins the session to the primary: executions too
    h2 = start_halyard(consistency="eventual")
    c = RawConn("127.0.0.1", h2.port)
    c.login(APP_USER, APP_PASSWORD, db=db)
    plain, _, _ = prepare(c, "SELECT @@server_id")
    assert {sid(plain) for _ in range(4)} == replicas
    c.query("CREATE TEMPORARY TABLE ps_tmp (id INT)")
    assert {sid(plain) for _ in range(4)} == {primary}
    c.close()


@pytest.fixture
def ps_pool_client_bin(ps_client_bin):
    """tests/clients/ps_pool_client, built beside ps_client (same Makefile rule)."""
    clients = os.path.dirname(ps_client_bin)
    path = os.path.join(clients, "ps_pool_client")
    src = os.path.join(os.path.dirname(__file__), "..", "clients", "ps_pool_client.c")
    if not os.access(path, os.X_OK) or os.path.getmtime(path) < os.path.getmtime(src):
        repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        r = subprocess.run(["make", "-C", repo, f"BUILD={os.path.dirname(clients)}", path],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    return path


def run_pool_client(port, db, binary, scenario):
    r = subprocess.run([binary, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db, scenario],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ps_pool_client {scenario} failed: {r.stderr}\n{r.stdout[-2000:]}"
    return r.stdout.splitlines()


@pytest.mark.parametrize("scenario", ["prev-values", "prepare-env", "cache-env"])
def test_prepared_statements_on_shared_connections(start_halyard, cluster, db, ps_pool_client_bin,
                                                   scenario):
    """Two sessions of one client on a one-worker halyard: under
    pool_mode = "transaction" B takes the server connection A used last
    (prev-values, cache-env) or holds it in a transaction so that A's
    executions run on another one (prepare-env). A prepared statement's
    FOUND_ROWS() and ROW_COUNT() are still A's previous statement's, and it
    is parsed under the sql_mode and character set of its PREPARE: the
    output is the server's own, column definitions included."""
    want = run_pool_client(cluster.primary_port, db, ps_pool_client_bin, scenario)
    h = start_halyard(workers=1, read_write_split=False)
    got = run_pool_client(h.port, db, ps_pool_client_bin, scenario)
    assert got == want
    if pool_mode() == "transaction":  # the connections were shared as described
        from test_reload import admin_json
        row = next(r for r in admin_json(h, "show pools")["pools"] if r["user"] == APP_USER)
        if scenario == "prepare-env":
            assert row["opened"] >= 2, row
        else:
            assert row["restores"] >= 1, row
