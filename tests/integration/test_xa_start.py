"""A branch's XA START goes with its first statement, in one COM_QUERY
(`XA START '<gtrid>','<group>';<statement>`, session_xa.c xa_start_piped),
when the client runs multi-statements (CLIENT_MULTI_STATEMENTS, which
halyard then asks at the backend's login too): one round trip, not two.

- the server's general log shows the one packet (without the flag: START
  alone, then the statement), and the client's answers (an OK, a result
  set, a statement's ERR right after START's OK) arrive whole, their
  sequence ids as a server would number them (pymysql checks them);
- the hard rule: a START that fails (the test-only failpoint
  HALYARD_TEST_XA_FAILPOINT=start-fails makes every START one the server
  refuses) runs nothing after it: no row written, with autocommit on, and
  the client gets halyard's ERR 1105 naming the group; the transaction
  goes on (its COMMIT is an OK: nothing began).
"""
import pymysql
import pytest
from pymysql.constants import CLIENT

from test_shards import make_schemas, one
from test_xa import IN_TRANS, on_a, on_b, start_xa, xa  # noqa: F401 (fixture)

MULTI = dict(client_flag=CLIENT.MULTI_STATEMENTS)


@pytest.fixture
def general_log_a(cluster):
    """Group a's primary logs every statement to mysql.general_log."""
    cluster.sql(0, "TRUNCATE mysql.general_log")
    cluster.sql(0, "SET GLOBAL log_output = 'TABLE', general_log = 1")
    yield lambda: [r[0].decode() if isinstance(r[0], bytes) else r[0] for r in cluster.sql(
        0, "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' "
           "AND argument LIKE 'XA START%' ORDER BY event_time")]
    cluster.sql(0, "SET GLOBAL general_log = 0, log_output = 'FILE'")
    cluster.sql(0, "TRUNCATE mysql.general_log")


@pytest.mark.parametrize("multi", [True, False])
def test_start_goes_with_the_first_statement(xa, cluster, dual, general_log_a, multi):  # noqa: F811
    h, s, log = xa
    conn = h.connect(**(MULTI if multi else {}))
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (800, 1)")
        assert cur.rowcount == 1 and conn.server_status & IN_TRANS
        # a result set as a branch's first answer
        assert one(cur, "SELECT COUNT(*) FROM sb.t WHERE id = 800")[0] == 0
        cur.execute("INSERT INTO sb.t VALUES (800, 2)")
        cur.execute("COMMIT")
        assert not conn.server_status & IN_TRANS
    starts = general_log_a()
    assert len(starts) == 1, starts
    if multi:
        assert starts[0].endswith(";INSERT INTO sa.t VALUES (800, 1)"), starts
    else:
        assert ";" not in starts[0], starts
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 800") == [(1,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 800") == [(2,)]
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []


def test_a_statement_error_after_the_start(xa, cluster, dual):  # noqa: F811
    """START's OK left out, the statement's ERR forwarded (sequence id 1):
    the branch began, the transaction goes on and commits."""
    h, s, log = xa
    conn = h.connect(**MULTI)
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("INSERT INTO sa.nosuch VALUES (1)")
        assert e.value.args[0] == 1146, e.value.args
        assert conn.server_status & IN_TRANS
        cur.execute("INSERT INTO sa.t VALUES (810, 1)")
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("SELECT nosuch FROM sb.t")
        assert e.value.args[0] == 1054, e.value.args
        cur.execute("INSERT INTO sb.t VALUES (810, 2)")
        # both branches hold their rows, unseen by others
        assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 810") == [(0,)]
        cur.execute("COMMIT")
    assert on_a(cluster, "SELECT w FROM sa.t WHERE id = 810") == [(1,)]
    assert on_b(dual, "SELECT w FROM sb.t WHERE id = 810") == [(2,)]
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []


@pytest.mark.parametrize("multi", [True, False])
def test_a_failed_start_runs_nothing(start_halyard, cluster, dual, tmp_path, monkeypatch,
                                     multi):
    make_schemas(cluster, dual)
    monkeypatch.setenv("HALYARD_TEST_XA_FAILPOINT", "start-fails")
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, tmp_path / "xa.log")
    conn = h.connect(**(MULTI if multi else {}))
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("INSERT INTO sa.t VALUES (820, 1)")
        assert e.value.args[0] == 1105, e.value.args
        assert "XA START on group a failed with error" in e.value.args[1], e.value.args
        assert conn.server_status & IN_TRANS  # the transaction goes on
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("INSERT INTO sb.t VALUES (820, 2)")
        assert "XA START on group b failed" in e.value.args[1], e.value.args
        # nothing ran, not even autocommitted
        assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id = 820") == [(0,)]
        assert on_b(dual, "SELECT COUNT(*) FROM sb.t WHERE id = 820") == [(0,)]
        cur.execute("COMMIT")  # nothing began: an OK
        assert not conn.server_status & IN_TRANS
        # outside a transaction the statement runs as ever
        cur.execute("INSERT INTO sa.t VALUES (821, 1)")
    assert on_a(cluster, "SELECT COUNT(*) FROM sa.t WHERE id IN (820, 821)") == [(1,)]
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
