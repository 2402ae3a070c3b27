"""A write found committed answers exactly, or not at all (issue 41, item
11). Semi-sync, the replicas receive but do not acknowledge, the primary is
killed with two autocommit writes in flight; both are found committed on
the new primary, where what their OKs said cannot be read:

    an INSERT into an AUTO_INCREMENT table whose columns monitor.user
    cannot see: its insert id is not known (directly: 3)
    an UPDATE matching 2 rows and changing 1, from a client with
    CLIENT_FOUND_ROWS: it counts the rows matched (directly: 2), the row
    events hold the row changed
    an INSERT into a table whose AFTER INSERT trigger writes another
    AUTO_INCREMENT table: the row events of both tables are in its
    transaction (directly: 1 row, insert id 3)

Each client gets 1180 saying the write committed and why its counts are
unknown, never an OK with other counts; each row is written once.

A write to a table with triggers, not found, is not taken as not
committed (a BEFORE trigger's statement takes its place in the log), nor
is one whose table's triggers monitor.user cannot see: 1180, never run
again.
"""
import pymysql
from pymysql.constants import CLIENT

from test_failover import writable_nodes
from test_inflight import (TABLE, in_thread, kill_and_join, lock_and_kill, own_cluster, rows,
                           start,
                           without_acknowledgements)
from util import wait_until

AUTO = "fi.a"
UPD = "fi.u"
INSERT_SQL = f"INSERT INTO {AUTO} (v) VALUES (30)"
UPDATE_SQL = f"UPDATE {UPD} SET v = 10 WHERE id IN (1, 2)"  # matches 2 rows, changes 1
TRIG = "fi.g"
TRIG_SQL = f"INSERT INTO {TRIG} (v) VALUES (30)"


def answer(conn, sql):
    cur = conn.cursor()
    return cur.execute(sql), cur.lastrowid


def logged_table(c, t, timing, log_rows=None):
    """Table `t` (ids 1 and 2) whose `timing` INSERT trigger writes each
    row's v into `t`_log, an AUTO_INCREMENT table (`log_rows` in it)."""
    c.sql(0, f"CREATE TABLE {t}_log (n BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
    if log_rows is not None:
        c.sql(0, f"INSERT INTO {t}_log (v) VALUES {log_rows}")
    c.sql(0, f"CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
    c.sql(0, f"INSERT INTO {t} (v) VALUES (1), (2)")
    c.sql(0, f"CREATE TRIGGER {t}_{timing[0].lower()}i {timing} INSERT ON {t} FOR EACH ROW "
             f"INSERT INTO {t}_log (v) VALUES (NEW.v)")


def in_flight_at_kill(c, h, sql, table, count):
    """`sql` through halyard waits on the primary for an acknowledgement the
    replicas, which have it (`table` holds `count` rows there), no longer
    give; the primary is killed. The client's connection and outcome."""
    without_acknowledgements(c, c.replicas)
    a = pymysql.connect(**h.conn_params(read_timeout=60))
    ta, ra = in_thread(lambda: answer(a, sql))
    for i in c.replicas:
        wait_until(lambda: c.value(i, f"SELECT COUNT(*) FROM {table}") == count, 10,
                   what=f"node{i} to have the row")
    kill_and_join(c, (ta,))
    return a, ra


def test_a_write_found_committed_answers_its_counts_or_1180(start_halyard, tmp_path, request):
    c = own_cluster(request, "inflight-ss", True, 130)
    for t in (AUTO, "fi.a2"):
        c.sql(0, f"CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
        c.sql(0, f"INSERT INTO {t} (v) VALUES (1), (2)")
    for t in (UPD, "fi.u2"):
        c.sql(0, f"CREATE TABLE {t} (id INT PRIMARY KEY, v INT NOT NULL)")
        c.sql(0, f"INSERT INTO {t} VALUES (1, 10), (2, 20)")
    for t in (TRIG, "fi.g2"):
        logged_table(c, t, "AFTER", "(0), (0), (0), (0), (0), (0)")
    c.sync()
    # monitor.user is granted nothing on fi: it cannot see fi.a's columns
    assert c.value(0, "SELECT COUNT(*) FROM mysql.tables_priv WHERE User = 'monitor'") == 0
    found = pymysql.connect(**c.conn_params(0, client_flag=CLIENT.FOUND_ROWS))
    plain = pymysql.connect(**c.conn_params(0))
    direct = (answer(plain, INSERT_SQL.replace(AUTO, "fi.a2")),
              answer(found, UPDATE_SQL.replace(UPD, "fi.u2")),
              answer(plain, TRIG_SQL.replace(TRIG, "fi.g2")))
    found.close()
    plain.close()
    assert direct == ((1, 3), (2, 0), (1, 3)), direct
    # the trigger's table is seen: what is missing is which rows are its own
    c.sql(0, "GRANT SELECT ON fi.g TO 'monitor'@'%'")
    c.sql(0, "GRANT SELECT ON fi.g_log TO 'monitor'@'%'")
    conf, h = start(c, start_halyard, tmp_path)
    # through halyard, before any failover: as directly
    f2 = pymysql.connect(**h.conn_params(client_flag=CLIENT.FOUND_ROWS))
    assert answer(f2, f"UPDATE {UPD} SET v = v WHERE id IN (1, 2)") == (2, 0)
    f2.close()
    without_acknowledgements(c, c.replicas)
    # the 3 commits go to the binary log as one group: a group waiting for
    # its acknowledgement holds the next one back
    c.sql(0, "SET GLOBAL binlog_commit_wait_usec = 60000000")
    c.sql(0, "SET GLOBAL binlog_commit_wait_count = 3")
    a = pymysql.connect(**h.conn_params(read_timeout=60))
    b = pymysql.connect(**h.conn_params(read_timeout=60, client_flag=CLIENT.FOUND_ROWS))
    g = pymysql.connect(**h.conn_params(read_timeout=60))
    ta, ra = in_thread(lambda: answer(a, INSERT_SQL))
    tb, rb = in_thread(lambda: answer(b, UPDATE_SQL))
    tg, rg = in_thread(lambda: answer(g, TRIG_SQL))
    for i in c.replicas:
        wait_until(lambda: c.value(i, f"SELECT COUNT(*) FROM {AUTO}") == 3 and
                   c.value(i, f"SELECT v FROM {UPD} WHERE id = 2") == 10 and
                   c.value(i, f"SELECT COUNT(*) FROM {TRIG}") == 3, 10,
                   what=f"node{i} to have the three writes")
    kill_and_join(c, (ta, tb, tg))
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    for conn in (a, b, g):
        conn.close()
    wrong = [f"{sql}: answered {r['ok']}, directly {d}"
             for sql, r, d in ((INSERT_SQL, ra, direct[0]), (UPDATE_SQL, rb, direct[1]),
                               (TRIG_SQL, rg, direct[2]))
             if "error" not in r]
    assert not wrong, wrong
    for r in (ra, rb, rg):
        code, msg = r["error"]
        assert code == 1180 and "it committed" in msg, r
    assert sorted(c.sql(new[0], f"SELECT id, v FROM {AUTO}")) == [(1, 1), (2, 2), (3, 30)]
    assert sorted(c.sql(new[0], f"SELECT id, v FROM {UPD}")) == [(1, 10), (2, 10)]
    assert sorted(c.sql(new[0], f"SELECT id, v FROM {TRIG}")) == [(1, 1), (2, 2), (3, 30)]


def test_last_insert_id_after_a_write_found_committed(start_halyard, tmp_path, request):
    """An INSERT whose id the server generated, found committed on the new
    primary: its OK carries the id, and a later LAST_INSERT_ID() in the
    session returns it, as directly (3). monitor.user sees the table."""
    c = own_cluster(request, "inflight-ss", True, 130)
    for t in (AUTO, "fi.a2"):
        c.sql(0, f"CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
        c.sql(0, f"INSERT INTO {t} (v) VALUES (1), (2)")
    c.sql(0, "GRANT SELECT ON fi.* TO 'monitor'@'%'")
    c.sync()
    d = pymysql.connect(**c.conn_params(0))
    direct = answer(d, INSERT_SQL.replace(AUTO, "fi.a2"))
    direct_lid = d.cursor()
    direct_lid.execute("SELECT LAST_INSERT_ID()")
    assert (direct, direct_lid.fetchall()) == ((1, 3), ((3,),))
    d.close()
    conf, h = start(c, start_halyard, tmp_path)
    a, ra = in_flight_at_kill(c, h, INSERT_SQL, AUTO, 3)
    assert ra == {"ok": (1, 3)}, ra
    cur = a.cursor()
    cur.execute("SELECT LAST_INSERT_ID()")
    assert cur.fetchall() == ((3,),)
    a.close()


BEFORE = "fi.b"
BEFORE_SQL = f"INSERT INTO {BEFORE} (v) VALUES (30)"


def test_a_write_whose_before_trigger_writes_another_table(start_halyard, tmp_path, request):
    """A BEFORE INSERT trigger writing another table: MariaDB's
    Annotate_rows event holds the trigger's statement, not the client's
    marked text, so the mark of the write is not in the new primary's
    binary log although the write committed there. Not found cannot prove
    "not committed" then: 1180, the row there once (directly: 1 row, id 3)."""
    c = own_cluster(request, "inflight-ss", True, 130)
    for t in (BEFORE, "fi.b2"):
        logged_table(c, t, "BEFORE")
    c.sync()
    d = pymysql.connect(**c.conn_params(0))
    assert answer(d, BEFORE_SQL.replace(BEFORE, "fi.b2")) == (1, 3)
    d.close()
    conf, h = start(c, start_halyard, tmp_path)
    a, ra = in_flight_at_kill(c, h, BEFORE_SQL, BEFORE, 3)
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    a.close()
    got = sorted(c.sql(new[0], f"SELECT id, v FROM {BEFORE}"))
    assert got == [(1, 1), (2, 2), (3, 30)], (got, ra)
    code, msg = ra["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, ra
    assert "trigger" in msg, msg


def test_a_write_whose_table_s_triggers_are_not_seen_is_unknown(start_halyard, tmp_path, request):
    """The same proof when monitor.user lacks the TRIGGER privilege, without
    which information_schema.TRIGGERS lists no trigger: an UPDATE waiting on
    a row lock when the primary is killed (it never committed) is not run
    again on a guess that its table has none: 1180 naming the privilege,
    the row unchanged. With the privilege it runs once
    (test_inflight.py::test_in_flight_write_not_committed_runs_once)."""
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, "REVOKE TRIGGER ON *.* FROM 'monitor'@'%'")
    c.sync()
    conf, h = start(c, start_halyard, tmp_path)
    a, r = lock_and_kill(c, h, f"UPDATE {TABLE} SET v = v + 1 WHERE id = 2")
    a.close()
    code, msg = r["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, r
    assert "but fi.t is not a base table monitor.user sees" in msg, msg
    assert "lacks the TRIGGER privilege" in msg, msg
    new = writable_nodes(c)
    assert rows(c, new[0]) == [(1, 10), (2, 20)]


def test_a_write_whose_tables_the_text_does_not_tell_is_unknown(start_halyard, tmp_path,
                                                                 request):
    """An INSERT ... SELECT (its text does not tell every table it reads
    and writes: cache_sql_written) waiting on a row lock when the primary
    is killed: it never committed, but whether a trigger's statement took
    its place in the new primary's log cannot be checked on tables not
    known. 1180, never run again: the rows there unchanged (directly it
    would insert (3, 21) once)."""
    c = own_cluster(request, "inflight-ss", True, 130)
    conf, h = start(c, start_halyard, tmp_path)
    a, r = lock_and_kill(c, h, f"INSERT INTO {TABLE} SELECT 3, v + 1 FROM {TABLE} WHERE id = 2")
    a.close()
    assert "ok" not in r, f"run again: {r}"
    code, msg = r["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, r
    assert "which tables it changed is not known" in msg, msg
    new = writable_nodes(c)
    assert rows(c, new[0]) == [(1, 10), (2, 20)]


def test_a_write_that_failed_after_its_non_transactional_part_is_not_ok(start_halyard,
                                                                       tmp_path, request):
    """An autocommit INSERT into a MyISAM table whose AFTER INSERT trigger
    then fails on an InnoDB table (1062) (issue 41, item 5: a write to both
    kinds of table, a write ending in an error). Directly the client gets
    1062, and the MyISAM row stays: the server binlogs it as a group of its
    own, carrying the statement's text, so the mark. The primary is killed
    while that waits for its acknowledgement: the mark is found on the new
    primary, but the statement failed: never an OK."""
    c = own_cluster(request, "inflight-ss", True, 130)
    for t in ("fi.m", "fi.m2"):
        c.sql(0, f"CREATE TABLE {t} (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = MyISAM")
        c.sql(0, f"CREATE TABLE {t}_log (n INT PRIMARY KEY) ENGINE = InnoDB")
        c.sql(0, f"INSERT INTO {t}_log VALUES (30)")
        c.sql(0, f"CREATE TRIGGER {t}_ai AFTER INSERT ON {t} FOR EACH ROW "
                 f"INSERT INTO {t}_log VALUES (NEW.v)")
    c.sql(0, "GRANT SELECT ON fi.* TO 'monitor'@'%'")  # the insert id: an OK could be rebuilt
    c.sync()
    d = pymysql.connect(**c.conn_params(0))
    try:
        answer(d, "INSERT INTO fi.m2 VALUES (3, 30)")
        raise AssertionError("directly: no error")
    except pymysql.MySQLError as e:
        assert e.args[0] == 1062, e.args
    d.close()
    assert list(c.sql(0, "SELECT id, v FROM fi.m2")) == [(3, 30)]
    conf, h = start(c, start_halyard, tmp_path)
    a, ra = in_flight_at_kill(c, h, "INSERT INTO fi.m VALUES (3, 30)", "fi.m", 1)
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    a.close()
    assert list(c.sql(new[0], "SELECT id, v FROM fi.m")) == [(3, 30)]
    assert "ok" not in ra, f"answered {ra['ok']}, directly 1062"
    code, msg = ra["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, ra
    assert "but fi.m is not transactional" in msg, msg
