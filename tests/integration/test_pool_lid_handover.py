"""LAST_INSERT_ID() left unread on a pooled connection (session_pool.c),
taken by another session's login or COM_CHANGE_USER: the taker reads it
for its owner before it keeps the connection idle, so that the owner's
next statement never waits for the taker's next one (server-check seed 7:
the owner's statement waited until the client gave up)."""
import pytest

from rawmysql import CLIENT_MULTI_STATEMENTS, DEFAULT_CAPS, MySQLError, RawConn
from util import APP_PASSWORD, APP_USER, schema_with_table


def login(port, db=None):
    c = RawConn("127.0.0.1", port, timeout=5)
    c.login(APP_USER, APP_PASSWORD, db=db, caps=DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS)
    return c


@pytest.mark.parametrize("how", ["login", "change_user"])
@pytest.mark.parametrize("first", ["INSERT INTO hylidh.nosuch (v) VALUES (1); SELECT LAST_INSERT_ID()",
                                   "INSERT INTO hylidh.t (v) VALUES (1)"])
def test_owner_does_not_wait_for_the_session_that_took_its_connection(start_halyard, cluster, how, first):
    db = schema_with_table(cluster, "hylidh", "v INT")
    h = start_halyard(workers=1)
    owner = login(h.port, db)
    try:
        want = owner.query("SELECT LAST_INSERT_ID()")[0].rows[0][0]
        try:  # the value may change: its connection goes back with it unread
            owner.query(first)
            want = None
        except MySQLError as e:
            assert e.code == 1146
        if how == "login":
            taker = login(h.port, db)  # a login naming a schema takes a pooled connection
        else:
            taker = login(h.port)
            taker.change_user(APP_USER, APP_PASSWORD, db=db)
        try:
            # the taker sits idle; the owner is answered all the same
            got = owner.query("SELECT LAST_INSERT_ID()")[0].rows[0][0]
            direct = cluster.connect(0, database=db)
            try:
                with direct.cursor() as cur:
                    cur.execute("SELECT MAX(id) FROM t")
                    top = cur.fetchone()[0]
            finally:
                direct.close()
            assert int(got) == (int(want) if want is not None else top)
            assert taker.query("SELECT 2")[0].rows[0][0] in (b"2", "2")
        finally:
            taker.close()
    finally:
        owner.close()
