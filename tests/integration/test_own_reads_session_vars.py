"""halyard's own statements on a session's connections run under that
session's variables. Each shape runs directly on the primary and through
halyard; the answers must be the same.
"""

import pytest

from test_server_answers import answer, login
from util import APP_PASSWORD, APP_USER, MONITOR_PASSWORD, MONITOR_USER, mysql_native_hash


def _answers(port, steps):
    c = login(port)
    try:
        return [answer(c, sql) for sql in steps]
    finally:
        c.close()


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
@pytest.mark.parametrize("charset", ["ucs2", "utf16", "utf16le", "utf32"])
def test_results_in_a_wide_character_set(start_halyard, cluster, ids, pool_mode, charset):
    """character_set_results = ucs2 (utf16, utf16le, utf32) has the server
    send each column definition's names in it, the catalog "def" in 6 or
    12 bytes: halyard took every result, and the read-back of each SET, for
    a broken answer and closed the session. The read-back's collation
    comes in that character set too (not known: the session was pinned to
    the primary, its reads no longer on a replica)."""
    h = start_halyard(pool_mode=pool_mode)
    steps = [f"SET character_set_results = '{charset}'", "SELECT 1, 'ab'",
             "SET @x = _latin1 X'636166E9'", "SET character_set_results = 'utf8mb4'",
             "SELECT @x, HEX(@x), COLLATION(@x)", "SELECT HEX(@x), COLLATION(@x)"]
    d = _answers(cluster.primary_port, steps)
    assert d[4] == [("rows", [("caf\u00e9", "636166E9", "latin1_swedish_ci")])], d
    assert _answers(h.port, steps) == d
    read = "/* halyard: replica */ SELECT @@server_id, HEX(@x)"
    (server, x), = _answers(h.port, steps[:1] + steps[2:4] + [read])[3][0][1]
    assert x == "636166E9" and int(server) in ids[1], (server, x)


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_process_list_columns_under_a_small_group_concat_max_len(start_halyard, cluster,
                                                                  pool_mode):
    """The process list's columns, read once per worker and server with a
    GROUP_CONCAT on the first reader's connection, were cut by that
    reader's group_concat_max_len: every later read of the list through
    that worker failed (1054 Unknown column), for every session."""
    h = start_halyard(pool_mode=pool_mode, workers=1)
    read = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE ID = CONNECTION_ID() AND USER = 'app'")
    steps = ["SET group_concat_max_len = 4", read, "SET group_concat_max_len = DEFAULT", read]
    d = _answers(cluster.primary_port, steps)
    assert d[1] == [("rows", [("1",)])], d
    assert _answers(h.port, steps) == d
    assert _answers(h.port, [read]) == [d[1]]  # another session, the same worker


OTHER, OTHER_PASSWORD = "hy_orsv_other", "orsv-pw"


def _kill_user_of(start_halyard, cluster, pool_mode, name, setup, kill):
    """Two sessions of account `name` (made for the test) and a sender
    without the privilege, which runs `setup` and then `kill`, directly
    and through halyard: the sender's answer and the two sessions' next
    ones, each way."""
    account = "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'@'%'"  # the root's mode
    cluster.sql(0, f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{OTHER_PASSWORD}'")
    cluster.sql(0, f"GRANT SELECT ON *.* TO {account}")
    cluster.sync()
    users = [{"name": n, "password_hash": mysql_native_hash(p)}
             for n, p in ((APP_USER, APP_PASSWORD), (MONITOR_USER, MONITOR_PASSWORD),
                          (name, OTHER_PASSWORD))]
    h = start_halyard(pool_mode=pool_mode, users=users)
    out = []
    try:
        for port in (cluster.primary_port, h.port):
            others = [login(port, name, OTHER_PASSWORD) for _ in range(2)]
            sender = login(port)
            try:
                sender.query(setup)
                got = answer(sender, kill)
                out.append(([g[:2] for g in got], [answer(c, "SELECT 1") for c in others]))
            finally:
                for c in others + [sender]:
                    c.close()
    finally:
        cluster.sql(0, f"DROP USER IF EXISTS {account}")
    return out


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_kill_user_under_a_select_limit_of_0(start_halyard, cluster, pool_mode):
    """KILL USER of another account: halyard first reads that account's
    threads and the sender's privileges, one row, on the sender's
    connection. Under the sender's sql_select_limit = 0 the row did not
    come, and the sender without the privilege got OK where the server
    says 1095 (its threads stay)."""
    d, hy = _kill_user_of(start_halyard, cluster, pool_mode, OTHER, "SET sql_select_limit = 0",
                          f"KILL USER {OTHER}")
    assert d == ([("error", 1095)], [[("rows", [("1",)])]] * 2), d
    assert hy == d


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
@pytest.mark.parametrize("name", ["hy_orsv_b\\s", "hy_orsv_q'u", "hy_orsv_plain"])
def test_kill_user_of_a_quoted_name_under_no_backslash_escapes(start_halyard, cluster, pool_mode,
                                                              name):
    """KILL USER's read of the account's threads quotes the name in a
    string literal, on the sender's connection. The quote escaped with a
    backslash is no quote under the sender's NO_BACKSLASH_ESCAPES: a name
    holding a backslash was read as another (no threads: OK where the
    server says 1095), one holding a quote broke the read."""
    lit = "'" + name.replace("'", "''") + "'"  # the literal under NO_BACKSLASH_ESCAPES
    d, hy = _kill_user_of(start_halyard, cluster, pool_mode, name,
                          "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
                          f"KILL USER {lit}")
    assert d == ([("error", 1095)], [[("rows", [("1",)])]] * 2), d
    assert hy == d


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
@pytest.mark.parametrize("limit", ["0", "1"])
def test_a_set_under_a_select_limit_is_read_back(start_halyard, cluster, ids, pool_mode, limit):
    """halyard reads back what each SET assigned, with a SELECT on the
    session's connection. Under the session's sql_select_limit = 0 (the
    SET of it included) that read had no row, and halyard pinned the
    session to the primary (the state not known): its reads no longer went
    to a replica. The user variable set under the limit is on the replica
    (1: the one row, right before too)."""
    primary, replicas = ids
    h = start_halyard(pool_mode=pool_mode)
    c = login(h.port)
    try:
        for sql in (f"SET sql_select_limit = {limit}", "SET @a = 7",
                    "SET sql_select_limit = DEFAULT"):
            c.query(sql)
        got = c.query("/* halyard: replica */ SELECT @@server_id, @a, @@sql_select_limit")[0].rows
    finally:
        c.close()
    assert len(got) == 1 and int(got[0][0]) in replicas, (got, primary, replicas)
    assert got[0][1:] == ("7", "18446744073709551615"), got
