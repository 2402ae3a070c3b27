"""Statements larger than buffer_size, with the features that read a
statement's text on (issue 55, "never quietly wrong, on every way in").

halyard looks into a command only as far as its buffer holds it; a larger
one is passed on as it arrives (docs/configuration.md, buffer_size). A
feature that read such a statement's whole length from the buffer read
past it: a 3 MB INSERT of many rows ended halyard with SIGSEGV while
resolve_in_flight_writes was on (test_inflight). Here every shape of
statement that classifies as what it is although cut (not inside a
literal: a write of many rows, a SET of many variables, a read with a long
IN list, a long comment, a long literal, a text PREPARE), at just past the
buffer and at 2 MB, in autocommit and in a transaction, goes through
halyard with each set of text-reading features on, and its answer and the
tables after it must be the primary's own (a direct connection's).
"""

import pytest

from util import q

BUFFER = 16384  # buffer_size's default: each size below is past it

# The features that read a statement's text, by set (each a config).
FEATURES = {
    "plain": {},
    "replay-inflight": {"transaction_replay": True, "resolve_in_flight_writes": True},
    "rules-cache-log": {
        "rules": [{"name": "reads", "match_text": r"(?i)^\s*SELECT", "action": "cache",
                   "ttl_ms": 60000},
                  {"name": "tagged", "match_text": "halyard-big-tag", "route": "primary"}],
        "cache": {"user": "backup", "password": "backup", "settle_ms": 0},
    },
    "tracing": {"tracing": {"enabled": True, "endpoint": "http://127.0.0.1:9/v1/traces",
                            "ratio": "1.0", "query_text": True, "queue_size": 16}},
}

SIZES = {"past-buffer": BUFFER + 300, "2MB": 2 << 20}


def rows_insert(n_bytes, base):
    """INSERT ... VALUES (i, i), ... of about n_bytes, ids from base."""
    parts, size, i = [], 40, 0
    while size < n_bytes:
        p = f"({base + i},{i})"
        parts.append(p)
        size += len(p) + 1
        i += 1
    return f"INSERT INTO big.t VALUES {','.join(parts)}", i


def shapes(n_bytes):
    """(name, statements, a read whose answer is compared) for one size."""
    ins, n = rows_insert(n_bytes, 1_000_000)
    ids = ",".join(str(1_000_000 + i) for i in range(0, n, 2))
    sets = "SET @a = 1" + "".join(f", @v{i} = {i}" for i in range(n_bytes // 12))
    comment = "/* " + "c" * n_bytes + " */ SELECT COUNT(*), SUM(v) FROM big.t"
    literal = f"SELECT LENGTH('{'x' * n_bytes}'), 'halyard-big-tag'"
    prepare = f"PREPARE big_p FROM 'SELECT COUNT(*) FROM big.t WHERE id IN ({ids}) OR ?'"
    return [
        ("insert", [ins], "SELECT COUNT(*), SUM(v) FROM big.t"),
        ("insert-in-transaction", ["BEGIN", ins, "COMMIT"], "SELECT COUNT(*), SUM(v) FROM big.t"),
        ("update-in-list", [ins, f"UPDATE big.t SET v = v + 1 WHERE id IN ({ids})"],
         "SELECT COUNT(*), SUM(v) FROM big.t"),
        ("delete-in-list", [ins, f"DELETE FROM big.t WHERE id IN ({ids})"],
         "SELECT COUNT(*), SUM(v) FROM big.t"),
        ("set-variables", [sets], "SELECT @a, @v1, @v2"),
        ("select-in-list", [ins], f"SELECT COUNT(*), SUM(v) FROM big.t WHERE id IN ({ids})"),
        ("select-long-comment", [ins], comment),
        ("select-long-literal", [], literal),
        ("prepare-long-text", [ins, prepare, "SET @f = 0", "EXECUTE big_p USING @f",
                               "DEALLOCATE PREPARE big_p"], "SELECT COUNT(*) FROM big.t"),
    ]


def run(conn, stmts, read):
    out = []
    with conn.cursor() as cur:
        for sql in stmts:
            cur.execute(sql)
            out.append(cur.fetchall())
        cur.execute(read)
        out.append(cur.fetchall())
    return out


@pytest.fixture
def big(cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS big")
    cluster.sql(0, "CREATE OR REPLACE TABLE big.t (id INT PRIMARY KEY, v INT)")
    cluster.sync()
    return cluster


@pytest.mark.parametrize("features", sorted(FEATURES))
def test_statements_larger_than_the_buffer(start_halyard, big, features):
    cluster = big
    h = start_halyard(**FEATURES[features])
    for size_name, n_bytes in SIZES.items():
        for name, stmts, read in shapes(n_bytes):
            what = f"{name} ({size_name}) with {features}"
            cluster.sql(0, "TRUNCATE big.t")
            direct = cluster.connect(0, database="big", autocommit=True,
                                     max_allowed_packet=64 << 20)
            try:
                want = run(direct, stmts, read)
            finally:
                direct.close()
            cluster.sql(0, "TRUNCATE big.t")
            cluster.sync()
            via = h.connect(database="big", autocommit=True, max_allowed_packet=64 << 20)
            try:
                got = run(via, stmts, read)
                # the session goes on after it, on the same connection
                assert q(via, "SELECT 'after'") == (("after",),), what
            finally:
                via.close()
            assert got == want, what
    assert h.alive()
