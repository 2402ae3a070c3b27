"""Prepared reads of every group (ps_text.h, session_ps.c ps_scatter,
session_fanout.c; issue 15 item 4 through the binary protocol).

A prepared read of a sharded table whose parameters decide no one group (no
key, a NULL key parameter, an IN list on two groups) runs on every group
with its parameters written in as literals, the answers merged as a text
scatter's, and the rows sent as binary rows. Each statement is run by a
real libmariadb client (tests/clients/ps_query.c: mysql_stmt_prepare,
typed parameters, mysql_stmt_execute, results bound by column type)
through halyard on schema shop, and directly on group a's primary on
shopcopy, an unsharded copy of the same rows: the outputs (column
definitions, values) must be the same.

The groups and the shop schema are test_key_shards.py's; shop.items is
hashed by customer_id like shop.orders (customer 7 on b, 8 and 42 on a),
with columns of several types. Before this, every statement here was
refused with "... would run on every group: not supported yet".
"""
import subprocess

import pytest

from test_core import client_bin
from test_shards import start_sharded
import test_key_shards as ks
from util import APP_PASSWORD, APP_USER, free_port

ITEMS = ("CREATE TABLE {s}.items (id INT PRIMARY KEY, customer_id BIGINT NOT NULL, "
         "total DECIMAL(12,2) NOT NULL, qty BIGINT UNSIGNED NOT NULL, name VARCHAR(40) NOT NULL, "
         "created DATETIME(6) NOT NULL, ratio DOUBLE NOT NULL, note VARCHAR(20) NULL, "
         "born DATE NULL, dur TIME(3) NULL, w FLOAT NULL, tiny TINYINT NULL, "
         "small SMALLINT UNSIGNED NULL)")
ROWS = [
    (1, 7, "10.50", 18446744073709551615, "Zoë", "2024-01-02 03:04:05.123456", "0.1e0", None,
     "2000-02-29", "-12:34:56.5", 1.5, -128, 65535),
    (2, 8, "99.99", 0, "alpha", "2023-12-31 23:59:59", "1e300", "n", "1999-01-01", "838:59:59",
     None, 127, 0),
    (3, 42, "-3.25", 5, "beta's", "2024-06-01 00:00:00", "-2.5e0", None, None, "00:00:00", 2.25,
     None, None),
    (4, 7, "1000.00", 42, "a\\b", "2024-01-01 12:00:00.5", "0.30000000000000004e0", "x",
     "2024-01-01", "01:02:03", None, 0, 1),
    (5, 8, "0.01", 7, "gamma", "2022-02-02 02:02:02", "123456789.125e0", None, "1970-01-01",
     "-00:00:01", None, None, None),
    (6, 42, "250.00", 42, "delta", "2024-01-02 03:04:05.123456", "0.1e0", "y", "2024-02-29",
     "100:00:00.001", None, 1, 2),
    (7, 7, "7.77", 9, "epsilon", "2021-07-07 07:07:07", "-0.000001e0", "z", None, None, None,
     -1, 3),
    (8, 8, "12.00", 18446744073709551614, "zeta", "2020-01-01 00:00:00", "3e0", None, "2020-01-01",
     "23:59:59.999", None, 2, 4),
]

TABLES = ks.TABLES + [
    {"table": "shop.items", "key": "customer_id", "function": "hash", "buckets": 4096,
     "map": [{"group": "a", "buckets": "0-2047"}, {"group": "b", "buckets": "2048-4095"}]},
]


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if v.endswith("e0") or v.endswith("e300"):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "''") + "'"


def values(rows):
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


@pytest.fixture
def items(start_halyard, cluster, dual, tmp_path):
    for sql in ks.SCHEMA + (ITEMS.format(s="shop"),):
        cluster.sql(0, sql)
    cluster.sync()
    for sql in ks.SCHEMA + (ITEMS.format(s="shop"), "GRANT ALL ON shop.* TO 'app'@'%'"):
        dual.sql(0, sql)
    dual.sync()
    for sql in ("DROP DATABASE IF EXISTS shopcopy", "CREATE DATABASE shopcopy",
                ITEMS.format(s="shopcopy"), "GRANT ALL ON shopcopy.* TO 'app'@'%'",
                f"INSERT INTO shopcopy.items VALUES {values(ROWS)}",
                f"INSERT INTO shop.items VALUES {values([r for r in ROWS if r[1] != 7])}"):
        cluster.sql(0, sql)
    dual.sql(0, f"INSERT INTO shop.items VALUES {values([r for r in ROWS if r[1] == 7])}")
    cluster.sync()
    dual.sync()
    port = free_port()
    s = ks.settings(cluster, dual, tmp_path, port)
    s["shards"]["tables"] = TABLES
    return start_sharded(start_halyard, s, port)


@pytest.fixture
def ps_query_bin():
    return client_bin("ps_query")


def run(binary, port, db, lines):
    r = subprocess.run([binary, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ps_query failed: {r.stderr}\n{r.stdout}"
    return r.stdout


def results(out):
    """{statement number: [lines]} of ps_query's output."""
    res, cur = {}, None
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "stmt":
            cur = int(f[1])
            res[cur] = []
        else:
            res[cur].append(line)
    return res


def compare(h, cluster, ps_query_bin, stmts, unordered=()):
    """Each statement through halyard (shop) and directly on group a's
    primary (shopcopy): the same columns, values and row counts; the
    statements numbered in `unordered` (no ORDER BY) compared as sets of
    rows. Returns halyard's results."""
    got = results(run(ps_query_bin, h.port, "shop", stmts))
    want = results(run(ps_query_bin, cluster.nodes[0]["port"], "shopcopy", stmts))
    assert len(got) == len(want) == len(stmts)
    for n in want:
        g, w = got[n], want[n]
        assert not any(x.startswith("error") for x in w), (stmts[n - 1], w)
        if n in unordered:
            g, w = sorted(g), sorted(w)
        assert g == w, f"statement {stmts[n - 1]!r}:\nhalyard {got[n]}\nserver  {want[n]}"
    return got


def test_order_by_limit_and_types(items, cluster, ps_query_bin):
    """ORDER BY + LIMIT, every column type, parameters of each type."""
    stmts = [
        "SELECT id, customer_id, total, qty, name, created, ratio, note, born, dur, tiny, small "
        "FROM items WHERE total > ? ORDER BY id LIMIT 10\tdec:1.00",
        "SELECT id, ratio, created FROM items WHERE ratio < ? ORDER BY created DESC, id "
        "LIMIT ?, ?\td:1e301\tl:1\tl:3",
        "SELECT id, total, name, qty FROM items WHERE total - ? > 0 ORDER BY total DESC LIMIT 4"
        "\ti:-5",
        "SELECT id, qty, small, tiny FROM items WHERE qty = ? OR tiny = ? ORDER BY id"
        "\tu:18446744073709551615\tt:-128",
        "SELECT id, born, dur FROM items WHERE born = ? OR dur = ? OR created = ? ORDER BY id"
        "\tdate:2000-02-29\ttime:-12:34:56.5\tdt:2022-02-02 02:02:02",
        "SELECT id, ratio FROM items WHERE ratio = ? OR ratio = ? ORDER BY id"
        "\td:0.30000000000000004\td:123456789.125",
        "SELECT id, name FROM items WHERE name = ? OR name = ? OR name = ? ORDER BY id"
        "\ts:beta's\ts:a\\b\ts:Zoë",
        "SELECT id, note, born, dur FROM items WHERE created > ? ORDER BY dur, id"
        "\tdt:2000-01-01 00:00:00.000001",
    ]
    got = compare(items, cluster, ps_query_bin, stmts)
    assert "rows=6" in got[1]
    assert "rows=3" in got[2]
    assert [x.split("\t")[1] for x in got[7] if x.startswith("row\t")] == ["1", "3", "4"]
    assert any("18446744073709551615" in x for x in got[4])


def test_concat_aggregates_in_and_null_key(items, cluster, ps_query_bin):
    stmts = [
        # plain concatenation: every row, in group order
        "SELECT id, customer_id, total, qty, name, note, born, dur FROM items WHERE name <> ?"
        "\ts:nobody",
        # COUNT/SUM/MIN/MAX
        "SELECT COUNT(*), SUM(total), MIN(created), MAX(qty), MIN(ratio), MAX(id), COUNT(note) "
        "FROM items WHERE created >= ?\tdt:2021-01-01 00:00:00",
        "SELECT COUNT(*), SUM(total), MAX(born) FROM items WHERE id > ?\ti:1000",
        # IN (?, ?) on two groups (7 on b, 8 on a)
        "SELECT id, customer_id, total FROM items WHERE customer_id IN (?, ?) ORDER BY id"
        "\ti:7\ti:8",
        "SELECT SUM(total) FROM items WHERE customer_id IN (?, ?, ?)\ts:7\ti:42\tu:8",
        # a keyed statement whose key parameter is NULL: every group, no row
        "SELECT id, name FROM items WHERE customer_id = ? ORDER BY id\tnull",
        "SELECT COUNT(*) FROM items WHERE customer_id = ? OR ? IS NULL\tnull\tnull",
        # keyed on one group, as before
        "SELECT id, total FROM items WHERE customer_id = ? ORDER BY id\ti:7",
        # executed again without types (those of the first execution hold):
        # on every group, on one, on every group again
        "SELECT id, name FROM items WHERE customer_id IN (?, ?) AND name <> ? ORDER BY id"
        "\ti:7\ti:8\ts:alpha",
        "AGAIN\ti:42\ti:42\ts:beta's",
        "AGAIN\ti:42\ti:7\ts:delta",
        "AGAIN\ti:8\ti:8\ts:zeta",
        # a packet of 12 kB (buffer_size is 16 kB): read whole before it is rewritten
        "SELECT COUNT(*), MAX(id) FROM items WHERE name <> ?\ts:" + "x'\\" * 4000,
    ]
    got = compare(items, cluster, ps_query_bin, stmts, unordered={1})
    assert "rows=8" in got[1]
    assert "row\t8" in got[7]
    assert "row\t8\t8" in got[13]
    assert [x for x in got[11] if x.startswith("row\t")] == ["row\t1\tZo\u00eb", "row\t3\tbeta's",
                                                           "row\t4\ta\\b", "row\t7\tepsilon"], \
        got[11]
    assert [x.split("\t")[1] for x in got[4] if x.startswith("row\t")] == ["1", "2", "4", "5", "7",
                                                                          "8"]


def test_refusals_and_the_session_goes_on(items, ps_query_bin):
    out = results(run(ps_query_bin, items.port, "shop", [
        "SELECT id, w FROM items WHERE customer_id IN (?, ?) ORDER BY id\ti:7\ti:8",
        "CURSOR SELECT id FROM items WHERE total > ? ORDER BY id\tdec:0",
        "LONGDATA SELECT id FROM items WHERE name = ? ORDER BY id\ts:alpha",
        "SELECT id, customer_id, name FROM items GROUP BY customer_id\t",
        "SELECT id FROM items WHERE total > ? ORDER BY id LIMIT 2\tdec:1e5",
        "SELECT COUNT(*) FROM items WHERE name > ?\ts:a",
        "SELECT id, name FROM items WHERE customer_id = ?\ti:42",
        "SELECT id, ? FROM items ORDER BY id\ti:1",
        # the statement's text is lexed in character_set_client: under sjis a
        # non-ASCII string cannot be quoted safely (0x5c inside a character)
        "SELECT id FROM items WHERE name = ? ORDER BY id\ts:" + "y" * 20000,
        "QUERY SET NAMES sjis",
        "SELECT id FROM items WHERE name = ? ORDER BY id\ts:Zo\u00eb",
        "SELECT id FROM items WHERE name = ? ORDER BY id\ts:alpha",
        "QUERY SET NAMES utf8mb4",
        "SELECT id FROM items WHERE name = ? ORDER BY id\ts:Zo\u00eb",
        # prepared in shop, executed after USE shopcopy: its `items` is shop's
        "SELECT COUNT(*) FROM items WHERE name <> ?\ts:x",
        "QUERY USE shopcopy",
        "AGAIN\ts:y",
        "QUERY USE shop",
        "AGAIN\ts:z",
    ]))
    about = ("halyard: a prepared read of sharded table items without a usable "
             "items.customer_id runs on every group, but ")
    assert len(out[1]) == 1 and out[1][0].startswith(
        "error\t1105\tHY000\thalyard: the merged answer of a prepared read of every group cannot "
        "be sent in the binary protocol exactly: column 2 is a FLOAT"), out[1]
    assert out[2] == ["error\t1105\tHY000\t" + about + "a cursor (CURSOR_TYPE_READ_ONLY, "
                      "COM_STMT_FETCH) is not supported on it"], out[2]
    assert out[3] == ["error\t1105\tHY000\t" + about + "parameters sent with "
                      "COM_STMT_SEND_LONG_DATA are not supported on it"], out[3]
    assert out[4][0].startswith("error\t1105\tHY000\thalyard: a read of sharded table items "
                                "without a usable items.customer_id runs on every group, whose "
                                "answers halyard cannot merge exactly: GROUP BY"), out[4]
    assert out[5] == ["error\t1105\tHY000\t" + about + "a DECIMAL parameter that is not a "
                      "decimal number"], out[5]
    assert out[6][-1] == "rows=1" and out[6][-2] == "row\t8", out[6]
    assert out[8] == ["error\t1105\tHY000\t" + about + "a parameter in the select list (the "
                      "server names and types its column after the `?`, a literal would change "
                      "both)"], out[8]
    assert out[9] == ["error\t1105\tHY000\t" + about + "an EXECUTE larger than buffer_size is "
                      "not rewritten as text"], out[9]
    assert out[10] == ["ok"] and out[13] == ["ok"], (out[10], out[13])
    assert out[11] == ["error\t1105\tHY000\t" + about + "a string parameter with non-ASCII bytes "
                       "in character set 0 (collation id) cannot be written as a literal safely"], \
        out[11]
    assert out[12][-2:] == ["row\t2", "rows=1"], out[12]
    assert out[14][-2:] == ["row\t1", "rows=1"], out[14]
    assert out[15][-2:] == ["row\t8", "rows=1"], out[15]
    assert out[17] == ["error\t1105\tHY000\t" + about + "the session's schema is not the one it "
                       "was prepared in (shop): USE it again or prepare it anew"], out[17]
    assert out[19][-2:] == ["row\t8", "rows=1"], out[19]
    assert out[7][-3:] == ["row\t3\tbeta's", "row\t6\tdelta", "rows=2"], out[7]


def test_prepared_writes_on_every_group(items, cluster, dual, ps_query_bin):
    """A prepared multi-row INSERT whose key parameters fall on two groups
    is split per group, and a prepared write to a reference table runs on
    every group, each as its text statement would (before: "would run on
    every group: not supported yet")."""
    out = results(run(ps_query_bin, items.port, "shop", [
        "INSERT INTO orders (id, customer_id, amount) VALUES (?, ?, ?), (?, ?, ?)"
        "\ti:31\ti:7\tl:5\ti:32\ti:8\tl:6",
        "UPDATE countries SET name = ? WHERE id = ?\ts:Francia\tl:1",
        "INSERT INTO orders (id, customer_id, amount) VALUES (?, ?, ?), (?, ?, ?)"
        "\ti:31\ti:7\tl:5\ti:33\ti:8\tl:6",
    ]))
    assert out[1] == ["affected=2"], out
    assert out[2] == ["affected=1"], out
    # a duplicate on b: every group's part rolled back, said per group
    assert out[3][0].startswith("error\t1105\tHY000\thalyard: the statement ran on every group"), out
    assert "rolled back on every group" in out[3][0], out
    assert cluster.sql(0, "SELECT id FROM shop.orders WHERE id > 30") == [(32,)]
    assert dual.sql(0, "SELECT id FROM shop.orders WHERE id > 30") == [(31,)]
    for node in (cluster, dual):
        assert node.sql(0, "SELECT name FROM shop.countries WHERE id = 1") == [("Francia",)]
