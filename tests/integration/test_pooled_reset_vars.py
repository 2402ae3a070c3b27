"""A pooled connection gets back all of the session's state (issue 47 item 6).

halyard lends a session's backend connection to the next session; when it
brings the connection to the new session's state with COM_RESET_CONNECTION,
MariaDB keeps the current database but sets @@character_set_database and
@@collation_database back to the server's defaults. The session must read
every session variable as it would on a connection of its own to the
server: each case runs the same login and SETs directly and through
halyard (after another session used the pooled connection) and compares
every row of SHOW SESSION VARIABLES.
"""

import pymysql
import pytest

# Variables whose value is the connection's own, direct or not.
PER_CONNECTION = {
    "pseudo_thread_id": "the connection's own thread id (CONNECTION_ID() is mapped, this is not)",
    "rand_seed1": "the server seeds each connection's RAND() at random",
    "rand_seed2": "likewise",
    "timestamp": "the time the statement ran",
}

LATIN1_DB = "p47_latin1"
UTF8_DB = "p47_utf8"

SETS = ["SET sql_mode = 'ANSI_QUOTES'", "SET @@session.group_concat_max_len = 4321",
        "SET NAMES latin1", "SET time_zone = '+02:00'"]


@pytest.fixture
def dbs(cluster):
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {LATIN1_DB} CHARACTER SET latin1 "
                   "COLLATE latin1_swedish_ci")
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {UTF8_DB} CHARACTER SET utf8mb4")
    cluster.sync()


def variables(params, db, sets):
    c = pymysql.connect(**dict(params, database=db, autocommit=True))
    try:
        with c.cursor() as cur:
            for s in sets:
                cur.execute(s)
            # a few statements and transactions: the pooled connection is
            # taken again (pool_mode = transaction) between them
            for _ in range(3):
                cur.execute("SELECT 1")
            cur.execute("BEGIN")
            cur.execute("SHOW SESSION VARIABLES")  # on the primary, in the transaction
            rows = dict(cur.fetchall())
            cur.execute("COMMIT")
        return {k: v for k, v in rows.items() if k not in PER_CONNECTION}
    finally:
        c.close()


@pytest.mark.parametrize("db", [None, LATIN1_DB, UTF8_DB])
@pytest.mark.parametrize("with_sets", [False, True], ids=["no-set", "set"])
def test_session_variables_after_pooled_move(cluster, start_halyard, dbs, db, with_sets):
    sets = SETS if with_sets else []
    h = start_halyard(workers=1)
    # Sessions before this one leave the pooled connection used, with the
    # same schema, and state of their own.
    for other in (db, LATIN1_DB, None):
        variables(h.conn_params(), other, ["SET sql_mode = ''"])
    direct = variables(cluster.conn_params(0), db, sets)
    via = variables(h.conn_params(), db, sets)
    diff = {k: (direct.get(k), via.get(k)) for k in set(direct) | set(via)
            if direct.get(k) != via.get(k)}
    assert diff == {}
