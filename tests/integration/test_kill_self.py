"""A session's KILL of itself (issue 47 item 9, found by tools/server-check):
KILL [CONNECTION] of its own id, COM_PROCESS_KILL of it, KILL QUERY of
it, and KILL USER of its own account, each run directly and through
halyard, the two answers compared: the error (code, SQLSTATE) or OK, and
whether the connection is still there after it.

The server ends its own connection with 1927 (70100) "Connection was
killed"; KILL QUERY of its own statement stops the KILL itself, 1317
(70100); KILL USER of its own account answers OK and then ends every
connection of the account, its own too.
"""

import struct

import pytest

from rawmysql import COM_PROCESS_KILL, ConnectionClosed, MySQLError
from test_kill_anywhere import login
from util import APP_PASSWORD, APP_USER, mysql_native_hash

KS_USERS = ("hy_ksh", "hy_ksd")  # the account killed: halyard's side, the direct side


def alive(c):
    """Whether the connection still answers a query. A session halyard
    ended between statements answers the next one with 1927 and closes;
    the server closes at once: both are gone."""
    try:
        c.value("SELECT 1")
    except (ConnectionClosed, OSError):
        return False
    except MySQLError as e:
        return e.code != 1927  # killed while idle: the server's last word
    return True


def outcome(c, form, own_id, user):
    """(the answer: 'ok' or (code, sqlstate); whether c is still there)."""
    try:
        if form == "com-process-kill":
            c.command(COM_PROCESS_KILL, struct.pack("<I", own_id))
        else:
            c.query(form.format(id=own_id, user=user))
        answer = "ok"
    except MySQLError as e:
        answer = (e.code, e.sqlstate)
    except (ConnectionClosed, OSError):
        answer = "closed"
    return answer, alive(c)


FORMS = ["KILL {id}", "KILL CONNECTION {id}", "KILL SOFT CONNECTION {id}", "com-process-kill",
         "KILL QUERY {id}", "KILL HARD QUERY {id}", "KILL USER {user}",
         "KILL CONNECTION USER '{user}'"]


@pytest.mark.parametrize("form", FORMS)
def test_kill_self_as_the_server(start_halyard, cluster, form):
    for u in KS_USERS:
        cluster.sql(0, f"CREATE USER IF NOT EXISTS '{u}'@'%' IDENTIFIED BY 'ks'")
        cluster.sql(0, f"GRANT SELECT ON *.* TO '{u}'@'%'")
    try:
        h = start_halyard(users=[{"name": APP_USER,
                                  "password_hash": mysql_native_hash(APP_PASSWORD)},
                                 {"name": "hy_ksh", "password_hash": mysql_native_hash("ks")}])
        answers = {}
        for side, port, user in (("direct", cluster.primary_port, "hy_ksd"),
                                 ("halyard", h.port, "hy_ksh")):
            c = login(port, user, "ks") if "USER" in form else login(port)
            own = c.value("SELECT CONNECTION_ID()")
            assert int(own) == c.greeting.conn_id
            # in a transaction too: the statement before it ran on the primary
            c.query("SELECT 1 FROM DUAL")
            answers[side] = outcome(c, form, int(own), user)
            c.close()
        assert answers["halyard"] == answers["direct"], answers
    finally:
        for u in KS_USERS:
            cluster.sql(0, f"DROP USER IF EXISTS '{u}'@'%'")
