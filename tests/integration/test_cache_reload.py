"""The query cache across a reload (issue 30: "Reload applies rule changes
and keeps the entries that still match").

A reload that leaves the primary and the reader's account alone keeps the
entries: the reader re-attaches from the GTID position it had applied, in
strict mode, as across a switchover. A hit is proved as test_cache.py does:
a change made on every server with sql_log_bin = 0 never reaches the binary
log, so an old answer coming back through halyard is the cached one. Every
change that does reach the binary log, even one made while the reader
re-attaches, must be seen.
"""

import time

from test_cache import CACHE, cache_status, silent_update
from test_cache import schema  # noqa: F401 (a fixture)
from util import admin_json, render_conf, wait_until, q

ONE, TWO = "SELECT v FROM t WHERE id = 1", "SELECT v FROM t WHERE id = 2"
# a rule per statement, so a reload can remove one of them
RULES = [
    {"name": "one", "match_text": r"(?i)^SELECT v FROM t WHERE id = 1$", "action": "cache",
     "ttl_ms": 60000},
    {"name": "two", "match_text": r"(?i)^SELECT v FROM t WHERE id = 2$", "action": "cache",
     "ttl_ms": 60000},
]


def start(start_halyard, **kw):
    h = start_halyard(rules=RULES, cache=CACHE, **kw)
    wait_until(lambda: cache_status(h)["streaming"] and cache_status(h)["row_keys"]
               and cache_status(h)["lag_ms"] >= 0, what="the cache's reader ready")
    return h


def reload(h, cluster, **overrides):
    """Rewrite h's config (the defaults, RULES and CACHE, then `overrides`)
    and send SIGHUP; return once the reload is done."""
    sock = f"/tmp/halyard-{h.port}.sock"
    before = admin_json(sock, "show status")["reloads_ok"]
    h.reload(render_conf(cluster, h.port, None, {"rules": RULES, "cache": CACHE, **overrides}))
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > before,
               what="the reload done")


def fill_both(h, c):
    """ONE and TWO cached, and a primary position read after their fills
    applied (an entry stored after the newest one is dropped when the
    reader re-attaches: it might hold what the reader had not applied)."""
    assert q(c, ONE) == ((10,),)
    assert q(c, TWO) == ((20,),)
    wait_until(lambda: cache_status(h)["entries"] >= 2, what="the entries kept")
    filled = time.monotonic()
    wait_until(lambda: time.monotonic() - cache_status(h)["lag_ms"] / 1000 > filled + 0.01,
               what="a primary position read after the fills applied")


def started_and_filled(start_halyard, cluster):
    """halyard started with both rules, ONE and TWO cached (fill_both), and
    a change of their rows the binary log does not see: a hit shows the
    old answer. Its halyard and a connection to it."""
    h = start(start_halyard)
    c = h.connect(database="qc", autocommit=True)
    fill_both(h, c)
    silent_update(cluster, "UPDATE qc.t SET v = v + 1")
    return h, c


def streaming_again(h, resumes):
    st = cache_status(h)
    return st["streaming"] and st["reader_resumes"] > resumes and 0 <= st["lag_ms"] < 1000


def test_a_reload_keeps_the_entries_and_a_write_meanwhile_is_seen(cluster, start_halyard,
                                                                 schema):  # noqa: F811
    h, c = started_and_filled(start_halyard, cluster)
    assert q(c, ONE) == ((10,),)  # a hit: the silent change does not show
    st0 = cache_status(h)
    # a setting the cache does not depend on
    reload(h, cluster, max_client_connections=5000)
    wait_until(lambda: streaming_again(h, st0["reader_resumes"]), timeout=10,
               what="the reader streaming again after the reload")
    st = cache_status(h)
    assert st["reader_resets"] == st0["reader_resets"], st
    assert st["invalidated_all"] == st0["invalidated_all"], st
    assert st["invalidated_failover"] == st0["invalidated_failover"], st
    assert st["invalidated_reload"] == 0, st
    assert st["entries"] == 2, st
    hits = st["hits"]
    assert q(c, ONE) == ((10,),)  # kept: still the cached answer
    assert q(c, TWO) == ((20,),)
    assert cache_status(h)["hits"] == hits + 2
    # a write straight to the primary: the reader drops the entry
    d = cluster.connect(0, database="qc", autocommit=True)
    q(d, "UPDATE t SET v = 30 WHERE id = 2")
    wait_until(lambda: q(c, TWO) == ((30,),), timeout=5, what="the direct write seen")
    assert q(c, ONE) == ((10,),)  # another row's point lookup: kept

    # writes right around a reload, while the reader re-attaches: the
    # position it resumes from is the one it had applied, so each is seen
    st0 = cache_status(h)
    q(d, "UPDATE t SET v = 40 WHERE id = 1")
    h.reload()  # the same file: nothing changes but the re-attach
    q(d, "UPDATE t SET v = 41 WHERE id = 2")
    wait_until(lambda: streaming_again(h, st0["reader_resumes"]), timeout=10,
               what="the reader streaming again after the second reload")
    wait_until(lambda: q(c, ONE) == ((40,),), timeout=5, what="the write before the reload seen")
    wait_until(lambda: q(c, TWO) == ((41,),), timeout=5, what="the write after the reload seen")
    # and never the older answers again
    for _ in range(20):
        assert q(c, ONE) == ((40,),)
        assert q(c, TWO) == ((41,),)


def test_a_reload_that_removes_a_rule_drops_its_entries(cluster, start_halyard,
                                                        schema):  # noqa: F811
    h, c = started_and_filled(start_halyard, cluster)
    st0 = cache_status(h)
    two_hits = {r["name"]: r["hits"] for r in st0["rules"]}["two"]
    # "one" goes: "two" is now the first rule (index 0), its entry follows it
    sock = f"/tmp/halyard-{h.port}.sock"
    before = admin_json(sock, "show status")["reloads_ok"]
    h.reload(render_conf(cluster, h.port, None, {"rules": RULES[1:], "cache": CACHE}))
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > before,
               what="the reload done")
    wait_until(lambda: streaming_again(h, st0["reader_resumes"]), timeout=10,
               what="the reader streaming again after the reload")
    st = cache_status(h)
    assert st["invalidated_reload"] == 1, st
    assert st["entries"] == 1, st
    assert [r["name"] for r in st["rules"]] == ["two"], st
    assert st["rules"][0]["hits"] == two_hits, st  # its counts follow its name
    assert q(c, TWO) == ((20,),)  # kept, and served under its rule
    assert cache_status(h)["rules"][0]["hits"] == two_hits + 1
    assert q(c, ONE) == ((11,),)  # no rule caches it now: the server answers
    assert q(c, ONE) == ((11,),)


def test_a_reload_that_reorders_the_rules_follows_them_by_name(cluster, start_halyard,
                                                                schema):  # noqa: F811
    """Rules swapped: "two" comes first now, nothing before it, so its
    entry is kept under its new index; "one" now follows a rule that came
    after it (which might take its statements first: halyard does not
    compare patterns), so its entry goes. Each rule's counts follow its
    name."""
    h = start(start_halyard)
    c = h.connect(database="qc", autocommit=True)
    fill_both(h, c)
    assert q(c, TWO) == ((20,),)  # a hit for "two"
    silent_update(cluster, "UPDATE qc.t SET v = v + 1")
    st0 = cache_status(h)
    counts0 = {r["name"]: (r["hits"], r["misses"]) for r in st0["rules"]}
    assert counts0["two"][0] >= 1 and counts0["one"][1] >= 1, st0
    reload(h, cluster, rules=[RULES[1], RULES[0]])
    wait_until(lambda: streaming_again(h, st0["reader_resumes"]), timeout=10,
               what="the reader streaming again after the reload")
    st = cache_status(h)
    assert [r["name"] for r in st["rules"]] == ["two", "one"], st
    assert {r["name"]: (r["hits"], r["misses"]) for r in st["rules"]} == counts0, st
    assert st["invalidated_reload"] == 1, st
    assert st["entries"] == 1, st
    assert q(c, TWO) == ((20,),)  # kept
    assert q(c, ONE) == ((11,),)  # dropped: the server's answer, cached again
    st = cache_status(h)
    assert st["rules"][0]["hits"] == counts0["two"][0] + 1, st
    assert st["rules"][1]["misses"] == counts0["one"][1] + 1, st


def test_a_reload_that_shrinks_a_rule_limits_drops_what_no_longer_fits(cluster, start_halyard,
                                                                       schema):  # noqa: F811
    h, c = started_and_filled(start_halyard, cluster)
    st0 = cache_status(h)
    # "one" keeps answers of at most 10 bytes now (its answer is larger);
    # "two" a ttl of 200 ms (its entry is older than that by now)
    smaller = [{**RULES[0], "max_result_bytes": 10}, {**RULES[1], "ttl_ms": 200}]
    time.sleep(0.2)
    sock = f"/tmp/halyard-{h.port}.sock"
    before = admin_json(sock, "show status")["reloads_ok"]
    h.reload(render_conf(cluster, h.port, None, {"rules": smaller, "cache": CACHE}))
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > before,
               what="the reload done")
    wait_until(lambda: streaming_again(h, st0["reader_resumes"]), timeout=10,
               what="the reader streaming again after the reload")
    st = cache_status(h)
    assert st["invalidated_reload"] == 1, st
    assert q(c, ONE) == ((11,),)
    assert q(c, TWO) == ((21,),)  # expired under the new ttl
    assert cache_status(h)["invalidated_ttl"] >= st0["invalidated_ttl"] + 1


def test_a_reload_that_changes_the_cache_user_empties_it(cluster, start_halyard,
                                                         schema):  # noqa: F811
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'qcreader'@'%' IDENTIFIED BY 'qcreader'")
    cluster.sql(0, "GRANT REPLICATION SLAVE, SELECT, TRIGGER ON *.* TO 'qcreader'@'%'")
    cluster.sync()
    h, c = started_and_filled(start_halyard, cluster)
    st0 = cache_status(h)
    reload(h, cluster, cache={**CACHE, "user": "qcreader", "password": "qcreader"})
    h.wait_log(r"cache: reload: cache\.user changed: the cache is emptied")

    def restarted():
        st = cache_status(h)
        return st["streaming"] and st["reader_resets"] > st0["reader_resets"] + 1 and \
            st["lag_ms"] >= 0
    wait_until(restarted, timeout=10, what="the reader streaming again, as qcreader")
    st = cache_status(h)
    assert st["entries"] == 0, st
    assert st["invalidated_all"] >= st0["invalidated_all"] + 2, st
    assert st["reader_resumes"] == st0["reader_resumes"], st
    assert q(c, ONE) == ((11,),)  # the server's answer
    assert q(c, TWO) == ((21,),)


def test_a_reload_that_moves_the_primary_empties_it(cluster, start_halyard,
                                                    schema):  # noqa: F811
    h, c = started_and_filled(start_halyard, cluster)
    st0 = cache_status(h)
    # the same server by another address: halyard cannot prove it is
    backends = [{"name": n["name"], "address": "localhost" if n["index"] == 0 else "127.0.0.1",
                 "port": n["port"], "role": n["role"]} for n in cluster.nodes]
    reload(h, cluster, backends=backends)
    h.wait_log(r"cache: reload: the new config has no backend at the address and port of the "
               r"server it read: the cache is emptied")

    def restarted():
        st = cache_status(h)
        return st["streaming"] and st["reader_resets"] > st0["reader_resets"] + 1 and \
            st["lag_ms"] >= 0
    wait_until(restarted, timeout=15, what="the reader streaming again")
    st = cache_status(h)
    assert st["entries"] == 0, st
    assert st["reader_resumes"] == st0["reader_resumes"], st
    assert q(c, ONE) == ((11,),)
    assert q(c, TWO) == ((21,),)
