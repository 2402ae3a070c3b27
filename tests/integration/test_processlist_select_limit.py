"""A reader's sql_select_limit and the rows halyard adds to the process
list (tools/server-check --short seed 1, d3b9ac28's tool: a read of
`information_schema.PROCESSLIST WHERE ID = <an idle session>` counted 0
where the server counts 1).

halyard reads the rows of its sessions the primary does not list (an
idle one holding no connection there, from halyard's registry; a
statement running on a replica, from that replica's list) with
statements of its own on the reading session's connection, which has
that session's variables: `SET sql_select_limit = 2` cut those reads to
2 rows, so every further idle session (or running statement) was left
out of the list. The server applies sql_select_limit to the result a
client reads, never to a derived table, and not to SHOW PROCESSLIST. Each
case runs directly on the primary and through halyard; the answers must
be the same.
"""

import threading
import time

import pytest

from test_server_answers import answer, login

IDLE = 4  # more than the limit
BUSY = 4  # two a replica, or more


def _reads(ids):
    inside = ", ".join(str(i) for i in ids)
    return [f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {i}" for i in ids] + [
        f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({inside})",
        f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({inside}) "
        "AND COMMAND = 'Sleep'"]


def _shown(reader, ids, show):
    """Which of `ids` SHOW [FULL] PROCESSLIST lists (it is not cut)."""
    return sorted(ids.index(int(r[0])) for r in reader.query(show)[0].rows if int(r[0]) in ids)


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
@pytest.mark.parametrize("limit", [2, 1, 0])
def test_idle_sessions_are_listed_under_a_select_limit(start_halyard, cluster, pool_mode, limit):
    """Idle sessions (in transaction pooling, with no connection: their
    rows are halyard's) read by a session whose sql_select_limit is less
    than their number: each is counted, and SHOW PROCESSLIST lists them
    all."""
    halyard = start_halyard(pool_mode=pool_mode)
    out = []
    for port in (cluster.primary_port, halyard.port):
        reader = login(port)
        idle = [login(port) for _ in range(IDLE)]
        try:
            ids = [int(c.value("SELECT CONNECTION_ID()")) for c in idle]
            reader.query(f"SET sql_select_limit = {limit}")
            got = [answer(reader, sql) for sql in _reads(ids)]
            got += [_shown(reader, ids, show) for show in ("SHOW PROCESSLIST",
                                                           "SHOW FULL PROCESSLIST")]
            out.append(got)
        finally:
            for c in idle + [reader]:
                c.close()
    d, h = out
    one = limit > 0  # the server's: 0 cuts the one row of a COUNT(*) too
    assert d == [[("rows", [("1",)] * one)]] * IDLE + [[("rows", [(str(IDLE),)] * one)]] * 2 + \
        [list(range(IDLE))] * 2, d
    assert h == d, (h, d)


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_statements_on_a_replica_are_listed_under_a_select_limit(start_halyard, cluster,
                                                                 pool_mode):
    """Sessions running a read (on a replica through halyard) read by a
    session whose sql_select_limit is 1: each replica's rows of them were
    read under that limit where the reader's connection there had it (a
    read of its own ran there after the SET: session pooling; in
    transaction pooling the peer read took a connection without it in
    every run), one a replica kept."""
    halyard = start_halyard(pool_mode=pool_mode)
    stmt = "SELECT SLEEP(4), CONNECTION_ID()"
    out = []
    for port in (cluster.primary_port, halyard.port):
        reader, watcher = login(port), login(port)
        busy = [login(port) for _ in range(BUSY)]
        threads = [threading.Thread(target=answer, args=(c, stmt)) for c in busy]
        try:
            ids = [int(c.value("SELECT CONNECTION_ID()")) for c in busy]
            inside = ", ".join(str(i) for i in ids)
            running = (f"SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                       f"WHERE ID IN ({inside}) AND COMMAND = 'Query' AND INFO = '{stmt}'")
            reader.query("SET sql_select_limit = 1")
            for _ in range(4):  # reads: its replicas' connections have the limit too
                reader.query("SELECT SLEEP(0)")
            for t in threads:
                t.start()
            deadline = time.monotonic() + 3
            while watcher.value(running) != str(BUSY) and time.monotonic() < deadline:
                time.sleep(0.05)
            got = [answer(reader, running),
                   sorted(ids.index(int(r[0])) for r in reader.query("SHOW PROCESSLIST")[0].rows
                          if int(r[0]) in ids and r[4] == "Query")]
            out.append((got, watcher.value(running)))  # still running after the reads
        finally:
            for t in threads:
                t.join(10)
            for c in busy + [reader, watcher]:
                c.close()
    d, h = out
    assert d == ([[("rows", [(str(BUSY),)])], list(range(BUSY))], str(BUSY)), d
    assert h == d, (h, d)
