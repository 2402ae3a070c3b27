"""Statements on every group, answers merged (scatter_plan.h, scatter_merge.h,
session_fanout.c; issue 15): SHOW DATABASES on a listener with
`shards = true` lists the union of every group's.

The groups, as in test_shards.py: "a", the replication cluster (node0
primary), and "b", the dual-master pair (dm0 active). Schemas: sa and ua on
a only, sb on b only, shared on both.

- SHOW DATABASES / SHOW SCHEMAS, with LIKE and WHERE: every group's names,
  each once (the system schemas too), in the server's order, under the
  server's column name; checked against each group's own answer
- an error of the statement is the server's own
- the answer framed as the client asked (CLIENT_DEPRECATE_EOF or not,
  extended metadata); a prepared SHOW DATABASES refused
- the session goes on after it: its next statements run on its group as
  before
- kill -9 of group a's primary: every SHOW DATABASES answers at once (the
  union, or a 1105 naming group a) until a has failed over, then the union
"""
import pymysql
import pytest

from test_shards import make_schemas, refused, settings
from test_groups import groups
from util import APP_PASSWORD, APP_USER, admin_json, free_port, render_libconfig, wait_until


@pytest.fixture
def sharded(start_halyard, cluster, dual, tmp_path):
    make_schemas(cluster, dual)
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    sock = s["admin_socket"]
    want = {"a": "node0", "b": "dm0"}
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, sock).items()} == want, 15,
               what=f"writers {want}")
    return h, s, sock


def server_order(name):
    """How MariaDB lists SHOW DATABASES: information_schema first, then by name."""
    return (name != "information_schema", name.encode())


def direct(node, sql):
    """(column name, names) of `sql` run as app on one server."""
    conn = pymysql.connect(**node)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.description[0][0], [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def nodes(cluster, dual):
    return cluster.conn_params(0), dual.conn_params(0)


def through(h, sql):
    conn = h.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.description[0][0], [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("sql", ["SHOW DATABASES", "show schemas", "SHOW DATABASES LIKE 's%'",
                                 "SHOW SCHEMAS WHERE `Database` IN ('sa', 'sb', 'mysql', 'nope')",
                                 "/* c */ SHOW DATABASES LIKE '%a%';"])
def test_show_databases_is_the_union(sharded, cluster, dual, sql):
    h, _, _ = sharded
    a, b = nodes(cluster, dual)
    col_a, names_a = direct(a, sql)
    col_b, names_b = direct(b, sql)
    # The servers list their names in the order halyard merges by.
    assert names_a == sorted(names_a, key=server_order)
    assert names_b == sorted(names_b, key=server_order)
    col, names = through(h, sql)
    assert col == col_a == col_b
    assert names == sorted(set(names_a) | set(names_b), key=server_order)
    assert len(names) == len(set(names))


def test_show_databases_lists_both_groups(sharded):
    h, _, _ = sharded
    _, names = through(h, "SHOW DATABASES")
    # sa and ua live on a only, sb on b only: the old answer (group a's
    # alone) had no sb; every system schema is there once.
    assert {"sa", "ua", "sb", "shared"} <= set(names)
    for system in ("information_schema", "mysql", "performance_schema"):
        assert names.count(system) == 1, names
    assert names[0] == "information_schema"


def test_show_databases_error_is_the_servers(sharded):
    h, _, _ = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        code, msg = refused(cur, "SHOW DATABASES WHERE nosuch = 1")
        assert code == 1054 and "nosuch" in msg, (code, msg)
        # the session goes on, on its group
        cur.execute("SELECT w FROM sa.t WHERE id = 1")
        assert cur.fetchone()[0] == 1


def test_session_goes_on_after_the_union(sharded, cluster, dual):
    h, _, sock = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("USE sb")
        cur.execute("SET @@session.sql_mode = 'ANSI_QUOTES'")
        cur.execute("SHOW DATABASES")
        names = [r[0] for r in cur.fetchall()]
        assert "sa" in names and "sb" in names
        cur.execute("SELECT DATABASE(), @@session.sql_mode, COUNT(*) FROM t")
        assert cur.fetchone() == ("sb", "ANSI_QUOTES", 1)
        # again, a few times: nothing is left behind
        for _ in range(5):
            cur.execute("SHOW SCHEMAS LIKE 'sb'")
            assert cur.fetchall() == (("sb",),)
    conn.close()
    # show shards counts the statements each group ran for a fan-out
    shards = admin_json(sock, "show shards")
    counts = {g["name"]: g["scatters"] for g in shards["groups"]}
    assert counts["a"] >= 6 and counts["b"] >= 6, counts


def test_failover_in_one_group_never_hangs_the_union(sharded, cluster):
    """kill -9 of group a's primary: each SHOW DATABASES answers at once,
    the union or a 1105 naming group a; once a has failed over (node1 the
    new primary), the union again."""
    import time

    from test_failover import kill_now

    h, _, sock = sharded
    _, before = through(h, "SHOW DATABASES")
    kill_now(cluster, 0)
    outcomes, t_end = [], time.monotonic() + 30
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        try:
            _, names = through(h, "SHOW DATABASES")
            outcomes.append(("ok", time.monotonic() - t0))
            if groups(h, sock)["a"]["writer"] == "node1":
                assert names == before
                break
        except pymysql.MySQLError as e:
            code, msg = e.args[0], e.args[1]
            assert code == 1105 and (msg == "halyard: group a: no usable primary" or
                                    msg.startswith("halyard: group a (node0): ")), (code, msg)
            outcomes.append(("err", time.monotonic() - t0))
        time.sleep(0.1)
    assert groups(h, sock)["a"]["writer"] == "node1", outcomes
    assert outcomes[-1][0] == "ok", outcomes
    # none waited: a group without a usable primary fails its part at once
    assert max(d for _, d in outcomes) < 5, outcomes


@pytest.mark.parametrize("deprecate_eof, ext_meta", [(False, False), (True, False), (True, True)])
def test_union_in_the_clients_framing(sharded, cluster, dual, deprecate_eof, ext_meta):
    """The merged answer is framed as the client asked (CLIENT_DEPRECATE_EOF
    or not; MariaDB's extended metadata in the column definitions); a
    prepared SHOW DATABASES is refused rather than list one group's."""
    import rawmysql as rm

    h, _, _ = sharded
    a, b = nodes(cluster, dual)
    _, want_a = direct(a, "SHOW DATABASES")
    _, want_b = direct(b, "SHOW DATABASES")
    caps = rm.DEFAULT_CAPS | (rm.CLIENT_DEPRECATE_EOF if deprecate_eof else 0)
    ext = rm.MARIADB_CLIENT_EXTENDED_METADATA if ext_meta else 0
    with rm.RawConn("127.0.0.1", h.port) as c:
        c.login(APP_USER, APP_PASSWORD, caps=caps, ext_caps=ext)
        res = c.query("SHOW DATABASES")
        assert len(res) == 1
        assert [r[0] for r in res[0].rows] == sorted(set(want_a) | set(want_b), key=server_order)
        assert res[0].names == ["Database"]
        assert res[0].status & 0x0002  # autocommit, as the session's
        with pytest.raises(rm.MySQLError) as e:
            c.command(0x16, b"SHOW DATABASES")  # COM_STMT_PREPARE
        assert (e.value.code, e.value.message) == (
            1105, "halyard: SHOW DATABASES lists every group's schemas as a plain query only, "
                  "not as a prepared statement")
        assert c.value("SELECT 7") == "7"
