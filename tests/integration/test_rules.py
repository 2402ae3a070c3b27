"""Query rules and statement digests, applied by real sessions.

A `block` rule answers the statements it matches with its configured ERR
(and an AUDIT log line); a `route` rule routes reads as a hint does; rules
match on the statement's text or digest, the user, the schema and the
client's address. Digests count every statement per normalized form, and
`show digests` reports them with the role that served them.
"""

import json

import pymysql
import pytest

from util import APP_PASSWORD, APP_USER, admin_json, mysql_native_hash, wait_until, q


@pytest.fixture
def schema(cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS rules")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS rules.t (id INT PRIMARY KEY, v INT)")
    cluster.sql(0, "REPLACE INTO rules.t VALUES (1, 1), (2, 2)")
    cluster.sync()
    return "rules"


def test_block_rule_answers_with_its_error(start_halyard, cluster, schema, tmp_path):
    rules = [{"name": "no_drop", "match_text": r"(?i)^\s*DROP\s", "action": "block",
              "error_code": 1142, "error_sqlstate": "42000",
              "error_message": "DROP is not allowed through halyard ({name})"}]
    audit = tmp_path / "audit.log"
    h = start_halyard(rules=rules, audit_log=str(audit))
    c = h.connect(database=schema, autocommit=True)
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "DROP TABLE t")
    assert e.value.args == (1142, "DROP is not allowed through halyard (no_drop)")
    assert cluster.sql(0, "SELECT COUNT(*) FROM rules.t")[0][0] == 2  # never reached the server
    # Anything else passes, and the session goes on.
    assert q(c, "SELECT v FROM t WHERE id = 2") == ((2,),)
    h.wait_log(r"AUDIT session \d+ app@127\.0\.0\.1:\d+: statement blocked by rule 'no_drop'")
    # ... and a "blocked" line in the audit log, with the statement's digest.
    def blocked():
        lines = [json.loads(l) for l in audit.read_text().splitlines()] if audit.exists() else []
        return [l for l in lines if l["event"] == "blocked"]
    b = wait_until(blocked, what="the audit line")[0]
    assert b["rule"] == "no_drop" and b["user"] == "app" and b["session"] == c.thread_id()
    assert b["client"].startswith("127.0.0.1:") and len(b["digest"]) == 16


def test_route_rule_by_digest(start_halyard, cluster, schema):
    rules = [{"name": "reports", "match_digest": r"^SELECT v FROM t WHERE id = \?$",
              "action": "route", "route": "node2"}]
    h = start_halyard(rules=rules, read_write_split=False)
    c = h.connect(database=schema, autocommit=True)
    # Different literals, one digest: the rule sends both to node2 (the
    # split is off, so nothing else would).
    assert {q(c, f"SELECT v FROM t WHERE id = {i}") for i in (1, 2)} == {((1,),), ((2,),)}
    assert q(c, "SELECT @@server_id")[0][0] == cluster.server_id(0)  # not matched: primary
    rows = {r["digest"]: r for r in admin_json(f"/tmp/halyard-{h.port}.sock", "show digests")
            ["digests"]}
    hit = rows["SELECT v FROM t WHERE id = ?"]
    assert hit["calls"] == 2 and hit["replica"] == 2 and hit["primary"] == 0, hit
    rules_out = admin_json(f"/tmp/halyard-{h.port}.sock", "show rules")
    assert [r["hits"] for r in rules_out["rules"]] == [2], rules_out


def test_rule_conditions_on_user_and_client(start_halyard, cluster, schema):
    users = [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
             {"name": "monitor", "password_hash": mysql_native_hash("monitor")}]
    rules = [{"name": "monitor_only", "match_text": "(?i)^SELECT", "user": "monitor",
              "action": "block"},
             {"name": "remote_only", "match_text": "(?i)^SELECT", "client": "10.0.0.0/8",
              "action": "block"}]
    h = start_halyard(rules=rules, users=users)
    app = h.connect(database=schema, autocommit=True)
    assert q(app, "SELECT 1") == ((1,),)  # neither rule matches app from 127.0.0.1
    mon = h.connect(user="monitor", password="monitor", autocommit=True)
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(mon, "SELECT 1")
    assert e.value.args[0] == 1142 and "monitor_only" in e.value.args[1], e.value.args


def test_digests_count_statements_and_roles(halyard, cluster, schema):
    c = halyard.connect(database=schema, autocommit=True)
    for i in range(5):
        q(c, f"SELECT v FROM t WHERE id IN ({i}, {i + 1}, {i + 2})")
    q(c, "UPDATE t SET v = v WHERE id = 1")
    with pytest.raises(pymysql.err.MySQLError) as e:
        q(c, "SELECT nosuchcolumn FROM t")
    assert e.value.args[0] == 1054
    rows = {r["digest"]: r for r in admin_json(f"/tmp/halyard-{halyard.port}.sock",
                                             "show digests")["digests"]}
    sel = rows["SELECT v FROM t WHERE id IN (...)"]
    assert sel["calls"] == 5 and sel["replica"] == 5 and sel["errors"] == 0, sel
    upd = rows["UPDATE t SET v = v WHERE id = ?"]
    assert upd["calls"] == 1 and upd["primary"] == 1, upd
    bad = rows["SELECT nosuchcolumn FROM t"]
    assert bad["errors"] == 1, bad


def test_block_rule_with_a_single_backend(start_halyard, cluster, schema):
    """With nothing to route, rules still apply."""
    n = cluster.nodes[0]
    backends = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"], "role": "primary"}]
    rules = [{"name": "no_drop", "match_text": r"(?i)^\s*DROP\s", "action": "block"}]
    h = start_halyard(rules=rules, backends=backends)
    c = h.connect(database=schema, autocommit=True)
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "DROP TABLE t")
    assert e.value.args[0] == 1142 and "no_drop" in e.value.args[1], e.value.args
    assert cluster.sql(0, "SELECT COUNT(*) FROM rules.t")[0][0] == 2


def test_sample_config_lets_the_app_do_what_the_server_does(start_halyard, cluster):
    """conf/halyard.demo.conf, the config `make demo` runs, with its ports moved
    to the test cluster's: the app account makes and drops its own schema
    and writes without WHERE as on the server (issue 17: a client suite
    failed through the demo), while the sample's block rule stays there for
    the network it names."""
    import re
    from util import sample_config
    text = sample_config()
    assert re.search(r'(?m)^\s+action = "block";', text)  # the example is still active
    h = start_halyard(text)
    c = h.connect()
    q(c, "DROP DATABASE IF EXISTS sample_suite")
    q(c, "CREATE DATABASE sample_suite")
    q(c, "CREATE TABLE sample_suite.orders (id INT PRIMARY KEY, v INT)")
    q(c, "INSERT INTO sample_suite.orders VALUES (1, 1), (2, 2)")
    q(c, "UPDATE sample_suite.orders SET v = 0")
    q(c, "DELETE FROM sample_suite.orders")
    q(c, "DROP DATABASE sample_suite")
    assert cluster.sql(0, "SHOW DATABASES LIKE 'sample_suite'") == []
    rules = admin_json(f"/tmp/halyard-{h.port}.sock", "show rules")["rules"]
    blocks = [r for r in rules if r["action"] == "block"]
    assert [r["name"] for r in blocks] == ["batch-network-read-only"], rules
    assert blocks[0]["hits"] == 0, rules
