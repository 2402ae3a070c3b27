"""Schema shards (shard.h, issue 15): one listener in front of two groups,
each statement sent to the group of the schema it names.

The groups: "a", the replication cluster of the `cluster` fixture (node0
primary, node1 and node2 replicas), and "b", the dual-master pair of the
`dual` fixture (its node0 active). The map: sa on a, sb on b, shared on a
and b (a conflict). ua is a schema the map does not name: it lives on a,
the listener's group.

- qualified names, USE, COM_INIT_DB and the login's schema route to the
  owning group; session variables follow the session across groups
- each refusal with its error: a schema on two groups, a statement naming
  schemas of two groups, a transaction crossing groups (it stays open on
  its first group), state that cannot leave its group; an unknown schema
  gets the server's own error
- kill -9 of group a's primary under load on both groups: a fails over,
  b keeps serving with 0 failed statements
- show shards: the map, and per group its moves and refusals
- shards.learn: the map learned from the groups' SHOW DATABASES, a schema
  found on two groups refused until resolved, a transaction finishing on
  the map it began with
- prepared statements: each execution on the group of its text (its
  PREPARE's schema standing for the session's); a PREPARE naming the
  conflicting schema refused
"""
import subprocess

import pymysql
import pytest

from test_failover import Load, ctl, failover_settings, kill_now
from test_groups import dm_backends, groups
from test_core import ps_client_bin  # noqa: F401 (fixture)
from util import (APP_PASSWORD, APP_USER, admin_json, default_halyard_settings, free_port,
                  metric, render_conf, render_libconfig, wait_until, one)

MONITOR = {"user": "monitor", "password": "monitor", "interval_ms": 200, "timeout_ms": 1000,
           "rise": 2, "fall": 2}


def two_groups(cluster, dual, tmp_path, port, **extra):
    """halyard's settings for one shards listener in front of group a (the
    replication cluster) and group b (the dual-master cluster), no map yet;
    `extra`: more top-level settings."""
    s = default_halyard_settings(cluster, port)
    s.update(failover_settings(tmp_path, monitor=MONITOR, failover_delay_ms=500,
                               failover_write_wait_ms=10000, **extra))
    s["groups"] = [{"name": "a", "backends": [b["name"] for b in s["backends"]]},
                   {"name": "b", "cluster": "dual-master", "failover": "off",
                    "backends": ["dm0", "dm1"]}]
    s["backends"] = s["backends"] + dm_backends(dual)
    s["witnesses"] = [{"name": "witness", "address": "127.0.0.1", "port": dual.nodes[2]["port"]}]
    s["listeners"] = [{"name": "shard", "address": "127.0.0.1", "port": port, "group": "a",
                       "shards": True}]
    s["metrics_port"] = free_port()
    return s


def settings(cluster, dual, tmp_path, port):
    s = two_groups(cluster, dual, tmp_path, port, consistency="causal")
    s["shards"] = {"schemas": [{"schema": "sa", "group": "a"}, {"schema": "sb", "group": "b"},
                               {"schema": "shared", "group": "a"}, {"schema": "shared", "group": "b"}]}
    return s


def make_schemas(cluster, dual):
    for sql in ("DROP DATABASE IF EXISTS sa", "DROP DATABASE IF EXISTS ua",
                "DROP DATABASE IF EXISTS shared", "CREATE DATABASE sa", "CREATE DATABASE ua",
                "CREATE DATABASE shared",
                "CREATE TABLE sa.t (id BIGINT PRIMARY KEY, w INT NOT NULL)",
                "CREATE TABLE ua.t (id BIGINT PRIMARY KEY, w INT NOT NULL)",
                "CREATE TABLE shared.t (id BIGINT PRIMARY KEY, w INT NOT NULL)",
                "INSERT INTO sa.t VALUES (1, 1)", "INSERT INTO ua.t VALUES (1, 3)"):
        cluster.sql(0, sql)
    cluster.sync()
    for sql in ("DROP DATABASE IF EXISTS sb", "DROP DATABASE IF EXISTS shared",
                "CREATE DATABASE sb", "CREATE DATABASE shared",
                "GRANT ALL ON sb.* TO 'app'@'%'",
                "CREATE TABLE sb.t (id BIGINT PRIMARY KEY, w INT NOT NULL)",
                "CREATE TABLE shared.t (id BIGINT PRIMARY KEY, w INT NOT NULL)",
                "INSERT INTO sb.t VALUES (1, 2)"):
        dual.sql(0, sql)
    dual.sync()


WRITERS = {"a": "node0", "b": "dm0"}


def start_sharded(start_halyard, s, port):
    """halyard with settings `s` on `port`, once it sees each group's writer
    (WRITERS: group a's primary, group b's first dual master)."""
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, s["admin_socket"]).items()} ==
               WRITERS, 15, what=f"writers {WRITERS}")
    return h


@pytest.fixture
def sharded(start_halyard, cluster, dual, tmp_path):
    make_schemas(cluster, dual)
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    h = start_sharded(start_halyard, s, port)
    sock = s["admin_socket"]
    return h, s, sock


def refused(cur, sql):
    """The ERR halyard answers `sql` with: (code, message)."""
    with pytest.raises(pymysql.MySQLError) as e:
        cur.execute(sql)
        cur.fetchall()
    return e.value.args[0], e.value.args[1]


def test_routes_by_schema(sharded, cluster, dual):
    h, _, _ = sharded
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    conn = h.connect()
    with conn.cursor() as cur:
        # No schema named, none selected: the listener's group, a.
        assert one(cur, "SELECT @@port")[0] in a_ports
        # Qualified names: each table's group answers with its own rows.
        assert one(cur, "SELECT w, @@port FROM sb.t WHERE id = 1")[0] == 2
        assert one(cur, "SELECT @@port FROM sb.t WHERE id = 1")[0] in b_ports
        assert one(cur, "SELECT w, @@port FROM sa.t WHERE id = 1")[0] == 1
        assert one(cur, "SELECT @@port FROM sa.t WHERE id = 1")[0] in a_ports
        # Writes land on the owning group's primary only.
        cur.execute("INSERT INTO sb.t VALUES (10, 20)")
        cur.execute("INSERT INTO sa.t VALUES (10, 10)")
        # USE moves the session; unqualified names follow its schema.
        cur.execute("USE sb")
        assert one(cur, "SELECT DATABASE()")[0] == "sb"
        cur.execute("INSERT INTO t VALUES (11, 21)")
        assert one(cur, "SELECT COUNT(*) FROM t")[0] == 3
        # A qualified name of a's schema while in sb: a answers, and the
        # session's schema is sb again for the next unqualified statement.
        assert one(cur, "SELECT COUNT(*) FROM sa.t")[0] == 2
        assert one(cur, "SELECT DATABASE(), COUNT(*) FROM t") == ("sb", 3)
        # A schema the map does not name lives on the listener's group: USE
        # takes the session there. Its qualified names alone do not (they
        # could be an alias's): from sb, ua.t is looked for on b.
        assert refused(cur, "SELECT w FROM ua.t") == (1146, "Table 'ua.t' doesn't exist")
        cur.execute("USE ua")
        assert one(cur, "SELECT DATABASE(), @@port")[1] in a_ports
        assert one(cur, "SELECT w FROM t")[0] == 3
        assert one(cur, "SELECT w FROM ua.t")[0] == 3
        # ... and one nowhere gets the server's own answer.
        code, msg = refused(cur, "USE nosuch")
        assert code == 1049 and "nosuch" in msg, (code, msg)
    conn.commit()
    assert {r[0] for r in dual.sql(0, "SELECT id FROM sb.t")} == {1, 10, 11}
    assert {r[0] for r in cluster.sql(0, "SELECT id FROM sa.t")} == {1, 10}
    assert cluster.sql(0, "SHOW DATABASES LIKE 'sb'") == []
    assert dual.sql(0, "SHOW DATABASES LIKE 'sa'") == []

    # COM_INIT_DB and the login's schema.
    conn.select_db("sb")
    with conn.cursor() as cur:
        assert one(cur, "SELECT DATABASE(), COUNT(*) FROM t") == ("sb", 3)
        assert one(cur, "SELECT @@port")[0] in b_ports
    conn.select_db("sa")
    with conn.cursor() as cur:
        assert one(cur, "SELECT DATABASE(), COUNT(*) FROM t") == ("sa", 2)
    with pytest.raises(pymysql.MySQLError) as e:
        conn.select_db("shared")
    assert e.value.args == (1105, "halyard: schema shared is on groups a and b: refused until "
                                  "resolved"), e.value.args
    login_b = h.connect(database="sb")
    with login_b.cursor() as cur:
        assert one(cur, "SELECT DATABASE(), COUNT(*) FROM t") == ("sb", 3)
        assert one(cur, "SELECT @@port")[0] in b_ports
        assert one(cur, "SELECT COUNT(*) FROM sa.t")[0] == 2  # from b's schema to a
        assert one(cur, "SELECT DATABASE()")[0] == "sb"
    login_a = h.connect(database="sa")
    with login_a.cursor() as cur:
        assert one(cur, "SELECT COUNT(*) FROM sb.t")[0] == 3
        assert one(cur, "SELECT DATABASE(), COUNT(*) FROM t") == ("sa", 2)
    with pytest.raises(pymysql.MySQLError) as e:
        h.connect(database="shared")
    assert e.value.args[0] == 1105 and "schema shared is on groups a and b" in e.value.args[1]
    with pytest.raises(pymysql.MySQLError) as e:
        h.connect(database="nosuch")
    assert e.value.args[0] == 1049, e.value.args


def test_session_state_follows(sharded, cluster, dual):
    h, _, _ = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        cur.execute("SET @x = 42, time_zone = '+03:00', sql_mode = 'ANSI_QUOTES'")
        for table in ("sa.t", "sb.t", "sa.t"):
            row = one(cur, f'SELECT @x, @@time_zone, @@sql_mode, "id" FROM {table} LIMIT 1')
            assert row[:3] == (42, "+03:00", "ANSI_QUOTES"), (table, row)
            assert row[3] == 1  # "id" is the column under ANSI_QUOTES, on shared groups
        cur.execute("USE sb")
        cur.execute("SET @y = 7")
        assert one(cur, "SELECT @y, COUNT(*) FROM sa.t") == (7, 1)
        assert one(cur, "SELECT DATABASE(), @y") == ("sb", 7)
        # LAST_INSERT_ID() stays where the insert ran, whatever the schema.
        cur.execute("USE sa")
        cur.execute("CREATE TABLE sb.ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
        for _ in range(3):
            cur.execute("INSERT INTO sb.ai (v) VALUES (1)")
        lid = one(cur, "SELECT LAST_INSERT_ID()")[0]
        assert one(cur, "SELECT @@port")[0] in {n["port"] for n in cluster.nodes}  # sa: a
    # (the pair's auto_increment_increment may skip ids: compare with b's own)
    assert lid == dual.value(0, "SELECT MAX(id) FROM sb.ai") and lid > 1, lid


def test_refusals(sharded, cluster, dual):
    h, _, _ = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        assert refused(cur, "SELECT * FROM shared.t") == (
            1105, "halyard: schema shared is on groups a and b: refused until resolved")
        assert refused(cur, "USE shared") == (
            1105, "halyard: schema shared is on groups a and b: refused until resolved")
        assert refused(cur, "SELECT * FROM sa.t JOIN sb.t USING (id)") == (
            1105, "halyard: the statement names schema sa (group a) and schema sb (group b): "
                  "a statement runs on one group")
        # The session is usable after each.
        assert one(cur, "SELECT COUNT(*) FROM sa.t")[0] == 1

        # A transaction on a: the statement for b is refused, the
        # transaction stays open on a and commits there.
        cur.execute("USE sa")
        cur.execute("BEGIN")
        cur.execute("INSERT INTO t VALUES (20, 1)")
        assert refused(cur, "INSERT INTO sb.t VALUES (20, 2)") == (
            1105, "halyard: a transaction is open on group a; this statement is for group b "
                  "(schema sb): cross-group transactions are refused; the transaction stays "
                  "open on a")
        assert one(cur, "SELECT @@in_transaction")[0] == 1
        cur.execute("INSERT INTO sa.t VALUES (21, 1)")
        cur.execute("COMMIT")
        assert one(cur, "SELECT @@in_transaction")[0] == 0
        assert one(cur, "SELECT COUNT(*) FROM sb.t")[0] == 1  # after COMMIT: b again
    assert {r[0] for r in cluster.sql(0, "SELECT id FROM sa.t")} == {1, 20, 21}
    assert {r[0] for r in dual.sql(0, "SELECT id FROM sb.t")} == {1}

    # autocommit = 0: the transaction opened by the first statement.
    conn.autocommit(False)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO sb.t VALUES (30, 2)")
        code, msg = refused(cur, "SELECT * FROM sa.t")
        assert code == 1105 and "a transaction is open on group b" in msg, msg
        cur.execute("ROLLBACK")
        assert one(cur, "SELECT COUNT(*) FROM sa.t")[0] == 3
        cur.execute("COMMIT")
    conn.autocommit(True)
    assert {r[0] for r in dual.sql(0, "SELECT id FROM sb.t")} == {1}

    # State that lives on one group's connection keeps the session there.
    conn2 = h.connect(database="sa")
    with conn2.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE tmp (id INT)")
        code, msg = refused(cur, "SELECT * FROM sb.t")
        assert code == 1105 and msg.startswith(
            "halyard: the session's state stays on group a (temporary table"), msg
        assert msg.endswith("this statement is for group b (schema sb)"), msg
        assert one(cur, "SELECT COUNT(*) FROM tmp")[0] == 0


def test_begin_runs_on_the_group_of_the_first_statement(sharded, cluster, dual):
    """USE sa (group a), BEGIN, then statements on sb (group b): halyard
    answers the BEGIN (the server's status flags) and runs it on b before
    the first statement; the transaction commits on b only, and a statement
    for a is refused in it as crossing over, the transaction open on b."""
    h, _, _ = sharded
    conn = h.connect(database="sa")
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert conn.server_status & 1  # SERVER_STATUS_IN_TRANS
        cur.execute("INSERT INTO sb.t VALUES (40, 2)")
        assert refused(cur, "INSERT INTO t VALUES (40, 1)") == (
            1105, "halyard: a transaction is open on group b; this statement is for group a "
                  "(schema sa): cross-group transactions are refused; the transaction stays "
                  "open on b")
        assert one(cur, "SELECT COUNT(*) FROM sb.t WHERE id = 40")[0] == 1
        assert dual.sql(0, "SELECT COUNT(*) FROM sb.t WHERE id = 40") == [(0,)]
        cur.execute("COMMIT")
        assert not conn.server_status & 1
        # ROLLBACK on b; then BEGIN, COMMIT with nothing run between
        cur.execute("START TRANSACTION")
        cur.execute("UPDATE sb.t SET w = 9 WHERE id = 40")
        cur.execute("ROLLBACK")
        cur.execute("BEGIN")
        cur.execute("COMMIT")
        assert not conn.server_status & 1
        assert one(cur, "SELECT COUNT(*) FROM t")[0] == 1  # sa, autocommit again
    assert dual.sql(0, "SELECT id, w FROM sb.t ORDER BY id") == [(1, 2), (40, 2)]
    assert {r[0] for r in cluster.sql(0, "SELECT id FROM sa.t")} == {1}


def reload_ok(h, s, cluster, port):
    """Write settings `s` to h's config file as start_halyard does, SIGHUP,
    wait for the reload."""
    sock = s["admin_socket"]
    st = admin_json(sock, "show status")
    n = st["reloads_ok"] + st["reloads_failed"]
    h.reload(render_conf(cluster, port, render_libconfig(s).replace("$", "$$")))
    st = wait_until(lambda: (lambda j: j if j["reloads_ok"] + j["reloads_failed"] > n else None)(
        admin_json(sock, "show status")), 15, what="the reload")
    assert st["last_reload_result"] == "ok", st["last_reload_error"]


def test_reload_turns_shards_on_for_an_open_session(start_halyard, cluster, dual, tmp_path):
    """A reload turns shards on for the listener of a session already logged
    in: at its next statement the session moves to the new config and goes
    by schema as a new session does: a statement on sb runs on group b, a
    BEGIN is answered by halyard and runs on the group of the first
    statement. (A session keeps its shard state in a part made for the
    sessions of a shards listener: this one gets it as it moves.)"""
    make_schemas(cluster, dual)
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    s["listeners"][0]["shards"] = False
    h = start_sharded(start_halyard, s, port)
    conn = h.connect(database="sa")
    with conn.cursor() as cur:
        assert one(cur, "SELECT w FROM t WHERE id = 1")[0] == 1  # sa, group a: no shards yet
        s["listeners"][0]["shards"] = True
        reload_ok(h, s, cluster, port)
        assert one(cur, "SELECT w FROM sb.t WHERE id = 1")[0] == 2  # group b
        cur.execute("BEGIN")
        assert conn.server_status & 1  # SERVER_STATUS_IN_TRANS: halyard's answer
        cur.execute("INSERT INTO sb.t VALUES (41, 2)")
        cur.execute("COMMIT")
        assert one(cur, "SELECT COUNT(*) FROM t")[0] == 1  # sa again
    assert dual.sql(0, "SELECT COUNT(*) FROM sb.t WHERE id = 41") == [(1,)]


def test_failover_in_one_group_other_serves(sharded, cluster, dual):
    h, _, sock = sharded
    with Load(h, "sa.t", writers=2) as a_load, Load(h, "sb.t", writers=2, first_writer=11) as b_load:
        wait_until(lambda: a_load.count() >= 30 and b_load.count() >= 30, 15,
                   what="shared loads to get going")
        t_kill = kill_now(cluster, 0)
        wait_until(lambda: groups(h, sock)["a"]["writer"] in ("node1", "node2"), 30,
                   what="a replica of a promoted")
        first = wait_until(lambda: a_load.first_ack_sent_after(t_kill), 30,
                           what="a write to sa after the kill")
        b_before = b_load.count()
        wait_until(lambda: b_load.count() >= b_before + 30, 15, what="b's load going on")
    print(f"a: first write {first - t_kill:.3f} s after the kill; "
          f"b: {b_load.count()} writes, {len(b_load.errors)} failed")
    assert b_load.errors == [], b_load.errors[:5]
    assert groups(h, sock)["b"]["writer"] == "dm0"
    on_b = {r[0] for r in dual.sql(0, "SELECT id FROM sb.t")}
    assert b_load.ids() <= on_b
    # a's writes acknowledged after the kill are on its new primary (the
    # killed one's last ones may be lost: replication is asynchronous);
    # none of b's went to a.
    new = int(groups(h, sock)["a"]["writer"][-1])
    on_a = {r[0] for r in cluster.sql(new, "SELECT id FROM sa.t")}
    with a_load.lock:
        after = {a[0] for a in a_load.acked if a[1] > t_kill}
    assert after and after <= on_a
    assert not b_load.ids() & on_a


def test_show_shards(sharded, cluster, dual):
    h, _, sock = sharded
    conn = h.connect()
    with conn.cursor() as cur:
        one(cur, "SELECT COUNT(*) FROM sb.t")  # a -> b
        one(cur, "SELECT COUNT(*) FROM sa.t")  # b -> a
        assert refused(cur, "SELECT * FROM shared.t")[0] == 1105  # for a
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (40, 1)")
        assert refused(cur, "SELECT * FROM sb.t")[0] == 1105  # for b
        cur.execute("ROLLBACK")
    sh = admin_json(sock, "show shards")
    assert [{k: e[k] for k in ("schema", "group", "conflict", "learned")}
            for e in sh["schemas"]] == [
        {"schema": "sa", "group": "a", "conflict": None, "learned": False},
        {"schema": "sb", "group": "b", "conflict": None, "learned": False},
        {"schema": "shared", "group": "a", "conflict": "b", "learned": False},
    ], sh["schemas"]
    g = {r["group"]: r for r in sh["groups"]}
    assert (g["a"]["schemas"], g["a"]["conflicts"], g["b"]["schemas"], g["b"]["conflicts"]) == \
        (2, 1, 2, 1)
    assert (g["a"]["moves_in"], g["b"]["moves_in"]) == (1, 1), g
    assert (g["a"]["refused"], g["b"]["refused"]) == (1, 1), g
    assert g["a"]["statements"] > 0 and g["b"]["statements"] > 0, g
    text = ctl(sock, "show shards").stdout
    assert "shared  a      config  also on b: refused" in text, text
    mp = sharded[1]["metrics_port"]
    assert metric(mp, 'halyard_shard_moves_total{group="b"}') == 1
    assert metric(mp, 'halyard_shard_refused_total{group="a"}') == 1


def test_prepared_statements(sharded, cluster, dual, ps_client_bin):
    h, _, _ = sharded
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    r = subprocess.run([ps_client_bin, "127.0.0.1", str(h.port), APP_USER, APP_PASSWORD, "sa",
                        "shards"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ps_client shards failed: {r.stderr}\n{r.stdout}"
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    sa = [(int(c), int(p)) for k, c, p in (x for x in lines if x[0] == "sa")]
    sb = [(int(c), int(p)) for k, c, p in (x for x in lines if x[0] == "sb")]
    assert [c for c, _ in sa] == [1, 1, 1] and {p for _, p in sa} <= a_ports, r.stdout
    assert [c for c, _ in sb] == [1, 2, 3] and {p for _, p in sb} <= b_ports, r.stdout
    assert [x for x in lines if x[0] == "insert"] == [["insert", str(i), "1"] for i in (50, 51, 52)]
    assert ["db", "sa"] in lines
    assert ["error", "1105", "HY000",
            "halyard: schema shared is on groups a and b: refused until resolved"] in lines, r.stdout
    assert {r[0] for r in dual.sql(0, "SELECT id FROM sb.t")} == {1, 50, 51, 52}
    assert {r[0] for r in cluster.sql(0, "SELECT id FROM sa.t")} == {1}


@pytest.fixture
def learning(start_halyard, cluster, dual, tmp_path):
    """halyard with shards.learn: the config maps sa only; the rest comes
    from the groups' SHOW DATABASES, as the monitor account (granted SHOW
    DATABASES for the test)."""
    make_schemas(cluster, dual)
    for c in (cluster, dual):
        c.sql(0, "GRANT SHOW DATABASES ON *.* TO 'monitor'@'%'")
        for sql in ("DROP DATABASE IF EXISTS lboth", "DROP DATABASE IF EXISTS lnew"):
            c.sql(0, sql)
    dual.sql(0, "DROP DATABASE IF EXISTS lb")
    for sql in ("CREATE DATABASE lb", "CREATE TABLE lb.t (id INT PRIMARY KEY)",
                "INSERT INTO lb.t VALUES (1), (2)"):
        dual.sql(0, sql)
    for c in (cluster, dual):
        c.sql(0, "CREATE DATABASE lboth")
    cluster.sync()
    dual.sync()
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    s["shards"] = {"learn": True, "refresh_ms": 200,
                   "schemas": [{"schema": "sa", "group": "a"}]}
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    sock = s["admin_socket"]
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, sock).items()} == {"a": "node0",
                                                                               "b": "dm0"},
               15, what="the writers")
    yield h, s, sock
    for c in (cluster, dual):
        c.sql(0, "REVOKE SHOW DATABASES ON *.* FROM 'monitor'@'%'")
        c.sql(0, "DROP DATABASE IF EXISTS lboth")
        c.sql(0, "DROP DATABASE IF EXISTS lnew")
    dual.sql(0, "DROP DATABASE IF EXISTS lb")


def learned(sock):
    return {e["schema"]: e for e in admin_json(sock, "show shards")["schemas"]}


def test_learned_map(learning, cluster, dual):
    h, _, sock = learning
    a_ports = {n["port"] for n in cluster.nodes}
    b_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    wait_until(lambda: learned(sock).get("lb", {}).get("group") == "b", 10, what="lb learned")
    m = learned(sock)
    assert m["sa"] == {"schema": "sa", "group": "a", "conflict": None, "learned": False,
                       "from": "config", "line": m["sa"]["line"]}
    assert (m["sb"]["group"], m["sb"]["learned"], m["ua"]["group"]) == ("b", True, "a"), m
    assert (m["lboth"]["group"], m["lboth"]["conflict"], m["lboth"]["learned"]) == ("a", "b", True)
    h.wait_log(r"shards: \d+ schemas on the groups; \d+ on two groups, refused until resolved: "
               r".*lboth on a and b")
    conn = h.connect()
    with conn.cursor() as cur:
        # Learned schemas route like mapped ones, qualified or by USE.
        assert one(cur, "SELECT COUNT(*), @@port FROM lb.t")[0] == 2
        assert one(cur, "SELECT @@port FROM lb.t LIMIT 1")[0] in b_ports
        cur.execute("USE sb")
        assert one(cur, "SELECT DATABASE(), @@port")[1] in b_ports
        assert one(cur, "SELECT COUNT(*) FROM ua.t")[0] == 1  # learned on a
        # A schema found on two groups is refused until it is on one.
        assert refused(cur, "USE lboth") == (
            1105, "halyard: schema lboth is on groups a and b: refused until resolved")
    dual.sql(0, "DROP DATABASE lboth")
    dual.sync()
    wait_until(lambda: learned(sock)["lboth"]["conflict"] is None, 10, what="lboth resolved")
    with conn.cursor() as cur:
        cur.execute("USE lboth")
        assert one(cur, "SELECT DATABASE(), @@port")[1] in a_ports

        # A transaction finishes on the map it began with: lnew, created on
        # b meanwhile, is not known to it (looked for on a, where it runs).
        cur.execute("USE sa")
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sa.t VALUES (60, 1)")
        dual.sql(0, "CREATE DATABASE lnew")
        dual.sql(0, "CREATE TABLE lnew.t (id INT PRIMARY KEY)")
        wait_until(lambda: "lnew" in learned(sock), 10, what="lnew learned")
        assert refused(cur, "SELECT * FROM lnew.t") == (1146, "Table 'lnew.t' doesn't exist")
        cur.execute("COMMIT")
        # The next statement outside it takes the new map.
        assert one(cur, "SELECT COUNT(*), @@port FROM lnew.t")[0] == 0
        assert one(cur, "SELECT @@port FROM lnew.t UNION SELECT @@port")[0] in b_ports
    assert {r[0] for r in cluster.sql(0, "SELECT id FROM sa.t")} == {1, 60}
