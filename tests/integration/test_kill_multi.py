"""KILL inside a multi-statement text (issue 54 item 5).

node mysql2's test-pool-disconnect sends `kill <id>; select sleep(0.05)`
and waits for the killed connection to end. The server runs the KILL,
then the statements after it, and chains the answers (the KILL's OK with
SERVER_MORE_RESULTS_EXISTS); at an error it stops. halyard refused the
whole text with 1235 (before: 1094, the id passed on unmapped). Each text
runs directly, with the server's thread ids, and through halyard, with
halyard's session ids, under both pool modes; the killer's answers, the
victim's fate and the killer's next statement must be the same.
"""

import re
import subprocess

import pymysql
import pymysql.constants.CLIENT as CLIENT
import pytest

from test_core import cli_cmd
from util import APP_PASSWORD, APP_USER

# An id no thread has, directly or through halyard (halyard's start at 2^30:
# it answers this one itself, as the server does).
UNKNOWN = 2000000000

TEXTS = [
    "KILL {v}; SELECT 7",
    "kill {v}; select sleep(0.05)",
    "KILL CONNECTION {v}; SELECT 7",
    "KILL QUERY {v}; SELECT 7",
    "SELECT 1; KILL {v}",
    "SELECT 1; KILL {v}; SELECT 2",
    "KILL {v}; SELECT 7; SELECT 8",
    "SELECT 1; SELECT 2; KILL {v}",
    "SET @a = 1; KILL {v}; SELECT @a",
    "BEGIN; KILL {v}; SELECT @@in_transaction; COMMIT",
    "SELECT 1; KILL QUERY {v}; SELECT 2; KILL {v}; SELECT 3",
    "KILL %d; SELECT 7" % UNKNOWN,
    "SELECT 1; KILL %d; SELECT 2" % UNKNOWN,
    "KILL {me}; SELECT 1",
    "KILL QUERY {me}; SELECT 1",
]

MORE_RESULTS = 0x8


def login(port):
    return pymysql.connect(host="127.0.0.1", port=port, user=APP_USER, password=APP_PASSWORD,
                           client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)


def answers(c, sql):
    """Each result of the text: rows, or an OK's MORE_RESULTS flag; an
    error ends the list."""
    out = []
    cur = c.cursor()
    try:
        cur.execute(sql)
        while True:
            if cur.description:
                out.append(("rows", cur.fetchall()))
            else:
                out.append(("ok", c._result.server_status & MORE_RESULTS))
            if not cur.nextset():
                break
    except pymysql.err.MySQLError as e:
        out.append(("error", e.args[0], e.args[1]))
    return out


def next_statement(c):
    """What a connection's next statement gets: its rows or its error code."""
    try:
        return c.cursor().execute("SELECT 'next'") and "rows"
    except pymysql.err.MySQLError as e:
        return e.args[0]


def outcome(port, text):
    victim, killer = login(port), login(port)
    try:
        vid, me = victim.thread_id(), killer.thread_id()
        got = answers(killer, text.format(v=vid, me=me))
        # an error names the id as sent: the server's or halyard's
        names = {str(vid): "{v}", str(me): "{me}"}
        got = [tuple(re.sub(r"\d+", lambda m: names.get(m.group(), m.group()), x)
                     if isinstance(x, str) else x for x in r) for r in got]
        return got, next_statement(victim), next_statement(killer)
    finally:
        for c in (victim, killer):
            try:
                c.close()
            except Exception:
                pass


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_kill_in_a_multi_statement_text_runs_as_on_the_server(cluster, start_halyard, pool_mode):
    h = start_halyard(pool_mode=pool_mode)
    differ = []
    for text in TEXTS:
        direct = outcome(cluster.primary_port, text)
        through = outcome(h.port, text)
        if direct != through:
            differ.append((text, direct, through))
    # the server's, for the record: the KILL runs, then the rest
    assert outcome(cluster.primary_port, "KILL {v}; SELECT 7") == (
        [("ok", MORE_RESULTS), ("rows", ((7,),))], 2013, "rows")
    assert differ == [], differ


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_kill_in_a_multi_statement_text_mariadb_cli(cluster, start_halyard, pool_mode):
    """The mariadb CLI splits its input at the delimiter: with another
    one, `KILL <id>; SELECT 7` goes as one multi-statement text."""
    h = start_halyard(pool_mode=pool_mode)
    out = []
    for port in (cluster.primary_port, h.port):
        victim = login(port)
        try:
            r = subprocess.run(cli_cmd(port), input=f"DELIMITER //\nKILL {victim.thread_id()}; "
                               "SELECT 7//\n", capture_output=True, text=True, timeout=60)
            out.append((r.returncode, r.stdout, r.stderr, next_statement(victim)))
        finally:
            victim.close()
    direct, through = out
    assert direct == (0, "7\n", "", 2013), direct
    assert through == direct, through
