"""node's mysql2 (issue 17): a real node client through halyard as directly.

tests/clients/node/probe.js (mysql2, pinned in its package.json and
installed by tools/deps with `npm ci`) runs the same checks against the
primary directly and through halyard; each test compares the two, and
asserts what the server gives, so that an equality of two wrong answers
fails too:

- MariaDB's extended metadata (item 5): mysql2 asks for it when the
  greeting offers it, and then sees a JSON column's extendedFormat "json"
  (and parses its values), INET6 and UUID by their type names, in the text
  and the binary protocol;
- `compress: true` (item 6): negotiated, the same results, and really
  compressed: 1.2 MB of results read in less than a fifth of the bytes;
- the binary protocol: execute() with parameters of many types, prepared
  statements executed again, closed, prepared again;
- errors (duplicate keys, syntax, SIGNAL) with the same code, errno,
  SQLSTATE and message; multipleStatements; changeUser; ping.
"""

import difflib
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from test_core import TWO_USERS, db  # noqa: F401 (fixture)
from util import APP_PASSWORD, APP_USER, REPO

NODE_DIR = os.path.join(REPO, "tests", "clients", "node")
PROBE = os.path.join(NODE_DIR, "probe.js")


@pytest.fixture(scope="module")
def node():
    """node, and mysql2 as tools/deps installed it."""
    mod = os.path.join(NODE_DIR, "node_modules", "mysql2", "package.json")
    if not os.path.exists(mod):
        pytest.fail(f"{mod} is missing: run tools/deps (it runs npm ci in {NODE_DIR})")
    with open(os.path.join(NODE_DIR, "package.json")) as f:
        want = json.load(f)["dependencies"]["mysql2"]
    with open(mod) as f:
        assert json.load(f)["version"] == want, "node_modules is stale: run tools/deps"
    path = shutil.which("node")
    assert path, "node is not on the PATH: run tools/deps"
    return path


def probe(node, port, db, *checks, env=None):
    r = subprocess.run([node, PROBE, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db, *checks],
                       capture_output=True, text=True, timeout=180,
                       env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, f"probe.js {' '.join(checks)} on port {port}: {r.stderr}"
    return json.loads(r.stdout)


TABLES = ("m2_json", "m2_types", "m2_err", "m2_multi", "m2_global")


def both(node, cluster, h, db, *checks, env=None):
    """The probe's results directly and through halyard h, in that order,
    each run starting without the probe's tables (whose DROP TABLE IF
    EXISTS then warns in both)."""
    out = []
    for port in (cluster.primary_port, h.port):
        cluster.sql(0, "DROP TABLE IF EXISTS " + ", ".join(f"{db}.{t}" for t in TABLES))
        out.append(probe(node, port, db, *checks, env=env))
    return tuple(out)


def assert_same(direct, via):
    """through halyard == directly, with a readable diff when not."""
    if via != direct:
        d, v = (json.dumps(x, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
                for x in (direct, via))
        diff = "\n".join(difflib.unified_diff(d, v, "direct", "halyard", lineterm="", n=2))
        pytest.fail(f"mysql2 through halyard differs from directly:\n{diff[:6000]}")


def fields(result):
    return [(f["name"], f["extendedTypeName"], f["extendedFormat"]) for f in result["fields"]]


EXT_FIELDS = [("j", "undefined", "json"), ("i6", "inet6", "undefined"),
              ("u", "uuid", "undefined"), ("n", "undefined", "undefined")]
TABLE_FIELDS = [("id", "undefined", "undefined"), ("doc", "undefined", "json"),
                ("addr", "inet6", "undefined"), ("tag", "uuid", "undefined"),
                ("note", "undefined", "undefined")]


def test_extended_metadata(node, cluster, halyard, db):
    """Item 5: mysql2 sees extendedFormat "json" through halyard as
    directly, and so parses JSON values into objects, as queries and as
    executions, of expressions and of a table's columns."""
    direct, via = both(node, cluster, halyard, db, "extmeta")
    assert_same(direct, via)
    ext = via["extmeta"]
    assert ext["offered"] is True
    for name in ("query", "execute"):
        assert fields(ext[name]) == EXT_FIELDS, name
        assert ext[name]["rows"] == [{"j": {"a": 1, "b": [2, "x"]}, "i6": "::1",
                                      "u": "123e4567-e89b-12d3-a456-426655440000", "n": 7}], name
    for name in ("table_query", "table_execute"):
        assert fields(ext[name]) == TABLE_FIELDS, name
        assert ext[name]["rows"][0]["doc"] == {"k": [1, 2, {"z": None}]}, name
        assert ext[name]["rows"][0]["note"] == "not json", name


def test_compress(node, cluster, halyard, db):
    """Item 6: compress: true is negotiated with halyard as with the server,
    reads the same, and is really compressed: 1 MiB of repeated text and
    160 KB of MD5s, as a query and as an execution, come in less than a
    fifth of the bytes that a connection without compression reads for
    them (mysql2's socket's count)."""
    direct, via = both(node, cluster, halyard, db, "compress", "plain")
    for where, got in (("direct", direct), ("halyard", via)):
        z, p = got["compress"], got["plain"]
        assert z["negotiated"] is True and p["negotiated"] is False, where
        for name in ("query", "execute"):
            assert z[name]["length"] == 8 * 131072 and z[name]["md5s"] == 32 * 5000, (where, name)
            assert p[name]["bytes"] > 8 * 131072 + 32 * 5000, (where, name)
            # about 95 KB against 1.2 MB (the MD5s' hex digits take most)
            assert z[name]["bytes"] < p[name]["bytes"] / 5, (where, name, z[name]["bytes"])
        assert z["same"] is True and p["same"] is True, where
        assert z["many"] == p["many"] == {"count": 20000, "last": {
            "seq": "20000", "m": hashlib.md5(b"20000").hexdigest()}}, where
        assert z["params"] == p["params"] == [{"a": "compressed 🐬", "b": 3}], where
    # The Compression status: the client's connection, directly and through
    # halyard (whose backend connections are never compressed: issue 33).
    assert direct["compress"]["server_status"] == via["compress"]["server_status"] == "ON"
    assert direct["plain"]["server_status"] == via["plain"]["server_status"] == "OFF"
    for check in ("compress", "plain"):
        for name in ("query", "execute"):
            for k in ("length", "md5s"):
                assert via[check][name][k] == direct[check][name][k]
        assert via[check]["many"] == direct[check]["many"]
        assert via[check]["params"] == direct[check]["params"]


def test_execute_types(node, cluster, halyard, db):
    """The binary protocol: execute() binds ints, bigints (signed, unsigned,
    as strings and as a BigInt), decimals, doubles, utf8mb4 strings, NULL,
    dates, datetimes and times with fractions, blobs (70,000 bytes too),
    BIT, ENUM, a Date and a boolean, and reads the rows back as directly,
    executed again from mysql2's statement cache, closed and prepared
    again, and with an explicit prepare()."""
    direct, via = both(node, cluster, halyard, db, "execute")
    assert_same(direct, via)
    got = via["execute"]
    assert got["inserts"] == [[1, 0, 0]] * 5
    rows = got["execute"]["rows"]
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["b"] == "-9223372036854775808" and rows[0]["ub"] == "18446744073709551615"
    assert rows[0]["d"] == "12345678901234567890.0123456789" and rows[0]["f"] == 1.5e300
    assert rows[0]["s"] == "héllo 🐬 мир" and rows[0]["tm"] == "-838:59:59"
    assert rows[0]["bl"] == {"hex": "000102ff275c"}
    assert rows[0]["ts"] == {"date": "2024-02-29T23:59:58.123Z"}
    assert rows[2] == {**{k: None for k in rows[2]}, "id": 3}
    assert rows[3]["bl"] == {"hex": "ab" * 70000} and len(rows[3]["t"]) == 70000
    assert rows[4]["b"] == "9007199254740993" and rows[4]["s"] == "42" and rows[4]["i"] == 1
    assert got["execute_again"]["rows"] == rows[1:]
    # The text protocol's TIME keeps the column's 3 decimals; mysql2's
    # binary one drops zero fractions (both directly and through halyard).
    assert got["query"]["rows"][0]["tm"] == "-838:59:59.000"
    assert ([{**r, "tm": None} for r in got["query"]["rows"]]
            == [{**r, "tm": None} for r in rows])
    assert got["params"]["rows"] == [{"i": 7, "s": "ünïcødé 😀", "n": None, "f": 0.5,
                                      "buf": {"hex": "616263"},
                                      "dt": got["params"]["rows"][0]["dt"],
                                      "big": "-9007199254740993", "yes": 0}]
    assert got["where"]["rows"] == [{"id": 1, "LENGTH(t)": 14, "HEX(bl)": "000102FF275C"},
                                    {"id": 2, "LENGTH(t)": 0, "HEX(bl)": ""},
                                    {"id": 4, "LENGTH(t)": 70000, "HEX(bl)": "AB" * 70000}]
    assert got["again"] == [[{"n": "3", "s": "-1"}], [{"n": "5", "s": "0"}],
                            [{"n": "1", "s": "-2147483648"}]]
    assert got["prepared"]["parameters"] == 1
    assert got["prepared"]["rows"] == [[{"id": 1, "s": "héllo 🐬 мир"}], [{"id": 2, "s": ""}],
                                       [{"id": 3, "s": None}], []]


def test_errors(node, cluster, halyard, db):
    """Errors read the same through halyard: code, errno, SQLSTATE and
    message, as queries and as executions, and the connection goes on."""
    direct, via = both(node, cluster, halyard, db, "errors")
    assert_same(direct, via)
    got = via["errors"]
    assert got["dup_execute"]["error"] == {
        "code": "ER_DUP_ENTRY", "errno": 1062, "sqlState": "23000",
        "sqlMessage": "Duplicate entry '1' for key 'PRIMARY'"}
    assert got["dup_unique_execute"]["error"]["sqlMessage"] == "Duplicate entry 'one' for key 'u'"
    assert got["dup_query"]["error"]["errno"] == 1062
    assert got["syntax_query"]["error"]["errno"] == 1064
    assert got["syntax_prepare"]["error"]["errno"] == 1064
    assert got["no_table"]["error"]["errno"] == 1146
    assert got["too_long"]["error"]["errno"] == 1406
    assert got["signal"]["error"] == {"code": "ER_SIGNAL_EXCEPTION", "errno": 1644, "sqlState": "45000",
                                      "sqlMessage": "raised by the probe"}
    assert got["after"] == [{"id": 1, "u": "one"}]


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_kill_in_multiple_statements(node, cluster, start_halyard, db, pool_mode):
    """mysql2's test-pool-disconnect (issue 54 item 5): `kill <id>; select
    sleep(0.05)` kills <id> and returns sleep's row, and the killed
    connection sees its end, as directly (halyard refused the text with
    1235, and the test waited 60 s for the end)."""
    h = start_halyard(pool_mode=pool_mode)
    direct, via = both(node, cluster, h, db, "kill_multi")
    assert_same(direct, via)
    got = via["kill_multi"]
    assert got["results"] == ["ok", [{"s": 0}]], got
    assert got["victim"]["ended"] and got["after"] == [{"seven": 7}], got


def test_multiple_statements(node, cluster, halyard, db):
    """multipleStatements: true: each statement's result set or OK, an
    error in the middle ending the batch, the connection going on."""
    direct, via = both(node, cluster, halyard, db, "multi")
    assert_same(direct, via)
    got = via["multi"]
    res = got["results"]
    assert len(res) == 7
    assert res[3] == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
    assert res[2]["affectedRows"] == 2 and res[4]["affectedRows"] == 1
    assert res[5] == [{"one": 1, "two": "two"}] and res[6] == [{"v": "c"}]
    assert got["error"]["errno"] == 1062
    assert got["after"] == [[{"n": "2"}], [{"five": 5}]]


def test_change_user(node, cluster, start_halyard, db):
    """changeUser to another account (the session's variables go with the
    old one), back with a database, an execution after it, and a refused
    change, as directly."""
    h = start_halyard(users=TWO_USERS)
    direct, via = both(node, cluster, h, db, "change_user")
    assert_same(direct, via)
    got = via["change_user"]
    assert got["before"] == [{"u": "app@%", "d": db, "v": "set before"}]
    assert got["monitor"] == [{"u": "monitor@%", "d": "information_schema", "v": None}]
    assert got["back"] == [{"u": "app@%", "d": db, "v": None}]
    assert got["execute"] == [{"u": "app@%", "p": "param"}]
    assert got["refused"]["errno"] == 1045 and got["refused"]["sqlState"] == "28000"


def test_ping(node, cluster, halyard, db):
    direct, via = both(node, cluster, halyard, db, "ping")
    assert_same(direct, via)
    assert via["ping"] == {"pings": [True, True, True, True], "after": [{"two": 2}]}


# Issue 33's "Why": the differences real client suites found, each read by
# mysql2 through halyard as directly.

def test_own_row(node, cluster, halyard, db):
    """The processlist: CONNECTION_ID() is the handshake's id, both
    process lists show the connection's row under it, and another
    connection's KILL QUERY of that id stops its statement."""
    direct, via = both(node, cluster, halyard, db, "own_row")
    assert_same(direct, via)
    got = via["own_row"]
    assert got["handshake_id"] is True
    assert got["show"] == ["SHOW FULL PROCESSLIST"]
    assert got["is"] == [{"INFO": "SELECT INFO FROM information_schema.PROCESSLIST "
                                  "WHERE ID = CONNECTION_ID()"}]
    assert got["killed"]["errno"] == 1317  # MariaDB: "Query execution was interrupted"
    assert got["after"] == [{"three": 3}]


def test_uservar_types(node, cluster, halyard, db):
    """User variable types: SET @v = NULL after another session's integer
    @v on the same pooled connection gives a new variable's definition."""
    direct, via = both(node, cluster, halyard, db, "uservar_types")
    assert_same(direct, via)
    got = via["uservar_types"]
    assert got[0][0]["columnLength"] == 20  # the integer's
    for nulled in got[1::3]:
        assert nulled["rows"] == [{"v": None}]
        assert nulled["fields"][0]["columnLength"] == 16777215  # not the other session's 20


def test_global_consistency(node, cluster, start_halyard, db):
    """Another session reads old data: under consistency = "global" a read
    on another connection sees the write just before it, 200 times."""
    h = start_halyard(consistency="global")
    direct, via = both(node, cluster, h, db, "global")
    assert direct == via == {"global": {"reads": 200, "stale": 0}}


def test_server_account(node, cluster, start_halyard, db):
    """Server accounts: one made on the primary alone (not in halyard's
    config) logs in through halyard and changeUser to it works, as
    directly, with users_source = "both" (the demo's)."""
    cluster.sql(0, "GRANT SELECT ON mysql.global_priv TO 'monitor'@'%'")
    cluster.sql(0, "DROP USER IF EXISTS 'm2_srv'@'%'")
    cluster.sql(0, "CREATE USER 'm2_srv'@'%' IDENTIFIED BY 'm2 pw'")
    cluster.sql(0, f"GRANT SELECT ON {db}.* TO 'm2_srv'@'%'")
    cluster.sync()
    try:
        h = start_halyard(users_source="both")
        h.wait_log(r"users: \d+ accounts from \S+")
        direct, via = both(node, cluster, h, db, "server_account",
                           env={"M2_ACCOUNT": "m2_srv:m2 pw"})
        assert_same(direct, via)
        assert via["server_account"] == {"login": [{"u": "m2_srv@%"}],
                                         "changed": [{"u": "m2_srv@%", "d": db}]}
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'm2_srv'@'%'")
        cluster.sql(0, "REVOKE SELECT ON mysql.global_priv FROM 'monitor'@'%'")
        cluster.sync()
