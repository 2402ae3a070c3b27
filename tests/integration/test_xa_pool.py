"""Connections of transactions across groups under pool_mode =
"transaction" (session_xa.c xa_finish, session_pool_give_parked): the
connection holding a group's branch is parked while the session runs
statements on another group; once the transaction ended cleanly on it, it
goes back to the pool rather than being closed, so the session's next
transaction there takes it again instead of opening a connection and
logging in (what halved tools/bench --shards' oltp_read_write).

The groups and schemas of test_xa.py (group a holds sa, group b holds sb).
"""
from test_shards import make_schemas
from test_xa import start_xa, on_a, on_b

N_TRX = 10


def connections(sql_on):
    return int(sql_on("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])


def test_parked_branch_goes_back_to_the_pool(start_halyard, cluster, dual, tmp_path,
                                            monkeypatch):
    make_schemas(cluster, dual)
    monkeypatch.setenv("HALYARD_TEST_POOL_MODE", "transaction")
    h, s = start_xa(start_halyard, cluster, dual, tmp_path, tmp_path / "xa.log")
    conn = h.connect()
    with conn.cursor() as cur:  # the first transaction opens what the others take again
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (5000, 1)")
        cur.execute("INSERT INTO sb.t VALUES (5000, 1)")
        cur.execute("COMMIT")
    before_a, before_b = connections(lambda q: on_a(cluster, q)), connections(lambda q: on_b(dual, q))
    with conn.cursor() as cur:
        for i in range(1, N_TRX + 1):
            # committed while on b: a's branch is parked at the COMMIT
            cur.execute("BEGIN")
            cur.execute(f"INSERT INTO sa.t VALUES ({5000 + i}, {i})")
            cur.execute(f"INSERT INTO sb.t VALUES ({5000 + i}, {i})")
            cur.execute("COMMIT")
            # rolled back while on a: b's branch is parked at the ROLLBACK
            cur.execute("BEGIN")
            cur.execute(f"UPDATE sb.t SET w = -1 WHERE id = {5000 + i}")
            cur.execute(f"UPDATE sa.t SET w = -1 WHERE id = {5000 + i}")
            cur.execute("ROLLBACK")
    # the monitors' and the recovery's connections aside, none per transaction
    opened_a = connections(lambda q: on_a(cluster, q)) - before_a
    opened_b = connections(lambda q: on_b(dual, q)) - before_b
    assert opened_a <= 3 and opened_b <= 3, (opened_a, opened_b, h.log_tail())
    ids = ",".join(str(5000 + i) for i in range(N_TRX + 1))
    assert on_a(cluster, f"SELECT COUNT(*), MIN(w) FROM sa.t WHERE id IN ({ids})")[0] == (N_TRX + 1, 1)
    assert on_b(dual, f"SELECT COUNT(*), MIN(w) FROM sb.t WHERE id IN ({ids})")[0] == (N_TRX + 1, 1)
    assert on_a(cluster, "XA RECOVER") == [] and on_b(dual, "XA RECOVER") == []
    # the pooled connections carry no transaction: a plain statement on each
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM sa.t WHERE id = 5001")
        assert cur.fetchall() == ((1,),)
        cur.execute("SELECT COUNT(*) FROM sb.t WHERE id = 5001")
        assert cur.fetchall() == ((1,),)
