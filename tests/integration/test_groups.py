"""Groups (group.h): one halyard in front of two clusters, each a group
with its own cluster type, health and failover, each reached through its
own listener.

The groups here: "rep", the replication cluster of the `cluster` fixture
(node0 primary, node1 and node2 replicas), and "dm", the dual-master pair
of the `dual` fixture (its node0 active, node1 standby; its node2 votes as
a witness in every group's failover lock).

- sessions of a listener reach its group's servers only, reads and writes
- show groups and show backends say which backend is in which group
- kill -9 of rep's primary under load on both groups: rep fails over to
  one of its replicas, dm keeps serving with 0 failed statements and its
  roles untouched
- a reload adds a group and a listener for it without dropping a session;
  a reload that removes a group ends its sessions at their next statement
  with an error that says so
"""
import time

import pymysql
import pytest

from test_failover import Load, failover_settings, kill_now
from util import (admin_json, default_halyard_settings, free_port, metric, render_libconfig,
                  wait_until)

MONITOR = {"user": "monitor", "password": "monitor", "interval_ms": 200, "timeout_ms": 1000,
           "rise": 2, "fall": 2}


class Listener:
    """What Load needs of a halyard: the connection parameters of one of
    its listeners."""

    def __init__(self, h, port):
        self.h, self.port = h, port

    def conn_params(self, **kw):
        return self.h.conn_params(port=self.port, **kw)

    def connect(self, **kw):
        return pymysql.connect(**self.conn_params(**kw))


def dm_backends(dual):
    return [{"name": "dm0", "address": "127.0.0.1", "port": dual.nodes[0]["port"], "role": "primary"},
            {"name": "dm1", "address": "127.0.0.1", "port": dual.nodes[1]["port"], "role": "replica"}]


def settings_for(cluster, dual, tmp_path, port, dm_port, with_dm=True):
    s = default_halyard_settings(cluster, port)
    s.update(failover_settings(tmp_path, monitor=MONITOR, failover_delay_ms=500,
                               failover_write_wait_ms=10000, consistency="eventual"))
    s["listeners"] = [{"name": "rep", "address": "127.0.0.1", "port": port, "group": "rep"}]
    s["groups"] = [{"name": "rep", "backends": [b["name"] for b in s["backends"]]}]
    s["witnesses"] = [{"name": "witness", "address": "127.0.0.1", "port": dual.nodes[2]["port"]}]
    if with_dm:
        s["backends"] = s["backends"] + dm_backends(dual)
        s["groups"] = s["groups"] + [{"name": "dm", "cluster": "dual-master", "failover": "off",
                                      "backends": ["dm0", "dm1"]}]
        s["listeners"] = s["listeners"] + [{"name": "dm", "address": "127.0.0.1", "port": dm_port,
                                            "group": "dm"}]
    return s


def groups(h, sock):
    return {g["group"]: g for g in admin_json(sock, "show groups")["groups"]}


def roles(sock, group):
    """{backend: role} of a group's backends, as show backends says."""
    return {b["name"]: b["role"] for b in admin_json(sock, "show backends")["backends"]
            if b["group"] == group}


def start(start_halyard, cluster, dual, tmp_path, with_dm=True):
    port, dm_port = free_port(), free_port()
    s = settings_for(cluster, dual, tmp_path, port, dm_port, with_dm)
    s["metrics_port"] = free_port()
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    sock = s["admin_socket"]
    want = {"rep": "node0", "dm": "dm0"} if with_dm else {"rep": "node0"}
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, sock).items()} == want, 15,
               what=f"writers {want}")
    return h, s, sock, Listener(h, dm_port)


def ports_seen(conn, n=20, trx=False):
    seen = set()
    with conn.cursor() as cur:
        for _ in range(n):
            if trx:
                cur.execute("BEGIN")
            cur.execute("SELECT @@port")
            seen.add(cur.fetchone()[0])
            if trx:
                cur.execute("COMMIT")
    return seen


def test_listeners_reach_their_groups_only(start_halyard, cluster, dual, tmp_path):
    h, s, sock, dm = start(start_halyard, cluster, dual, tmp_path)
    rep_ports = {n["port"] for n in cluster.nodes}
    dm_ports = {dual.nodes[0]["port"], dual.nodes[1]["port"]}
    rep_conn, dm_conn = h.connect(), dm.connect()
    # Writes (in a transaction, so on the primary) and reads, each in its group.
    assert ports_seen(rep_conn, trx=True) == {cluster.nodes[0]["port"]}
    assert ports_seen(dm_conn, trx=True) == {dual.nodes[0]["port"]}
    assert ports_seen(rep_conn) <= rep_ports - {cluster.nodes[0]["port"]}
    assert ports_seen(dm_conn) == {dual.nodes[1]["port"]}  # the standby serves the reads

    gs = groups(h, sock)
    assert gs["rep"]["cluster"] == "replication" and gs["rep"]["failover"] == "auto"
    assert gs["dm"]["cluster"] == "dual-master" and gs["dm"]["failover"] == "off"
    # one fact a column: counts by state; each backend's role is show backends'
    assert (gs["rep"]["writer"], gs["rep"]["writers"], gs["rep"]["backends"]) == ("node0", 1, 3)
    for g in gs.values():  # every backend counted in one state, none down
        assert sum(g[st] for st in ("online", "down", "lagging", "draining", "maint")) == \
            g["backends"] and g["down"] == 0, g
    assert (gs["dm"]["writers"], gs["dm"]["backends"]) == (1, 2)
    assert roles(sock, "dm") == {"dm0": "primary", "dm1": "replica"}
    be = {b["name"]: b["group"] for b in admin_json(sock, "show backends")["backends"]}
    assert be == {"node0": "rep", "node1": "rep", "node2": "rep", "dm0": "dm", "dm1": "dm"}
    assert not dm_ports & rep_ports
    # Each group's lock counts its own backends and the witness.
    st = admin_json(sock, "show status")
    assert st["voters"] == 4 and st["reachable"] == 3
    assert st["groups_majority"] == "rep: yes (3 of 4 reachable); dm: yes (2 of 3 reachable)"
    mp = s["metrics_port"]
    assert metric(mp, 'halyard_group_info{group="dm",cluster="dual-master",failover="off"}') == 1
    assert metric(mp, 'halyard_group_writer{group="rep",backend="node0"}') == 1
    assert metric(mp, 'halyard_group_writer{group="dm",backend="dm0"}') == 1
    assert metric(mp, 'halyard_group_writer{group="dm",backend="dm1"}') is None
    assert metric(mp, 'halyard_backend_info{backend="dm1",') == 1
    # The lock's voters per group, as groups_majority.
    assert metric(mp, 'halyard_failover_voters{group="rep"}') == 4
    assert metric(mp, 'halyard_failover_voters_reachable{group="rep"}') == 3
    assert metric(mp, 'halyard_failover_voters{group="dm"}') == 3
    assert metric(mp, 'halyard_failover_voters_reachable{group="dm"}') == 2


def make_tables(cluster, dual):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS grp")
    cluster.sql(0, "DROP TABLE IF EXISTS grp.t")
    cluster.sql(0, "CREATE TABLE grp.t (id BIGINT PRIMARY KEY, w INT NOT NULL)")
    cluster.sync()
    dual.sql(0, "CREATE DATABASE IF NOT EXISTS grp")
    dual.sql(0, "GRANT ALL ON grp.* TO 'app'@'%'")
    dual.sql(0, "DROP TABLE IF EXISTS grp.t")
    dual.sql(0, "CREATE TABLE grp.t (id BIGINT PRIMARY KEY, w INT NOT NULL)")
    dual.sync()


def test_failover_stays_inside_its_group(start_halyard, cluster, dual, tmp_path):
    h, _, sock, dm = start(start_halyard, cluster, dual, tmp_path)
    make_tables(cluster, dual)
    with Load(h, "grp.t", writers=2) as rep_load, Load(dm, "grp.t", writers=2, first_writer=11) as dm_load:
        wait_until(lambda: rep_load.count() >= 30 and dm_load.count() >= 30, 15,
                   what="both loads to get going")
        t_kill = kill_now(cluster, 0)
        wait_until(lambda: groups(h, sock)["rep"]["writer"] in ("node1", "node2"), 30,
                   what="a replica of rep promoted")
        first = wait_until(lambda: rep_load.first_ack_sent_after(t_kill), 30,
                           what="a write through rep's listener after the kill")
        dm_before = dm_load.count()
        wait_until(lambda: dm_load.count() >= dm_before + 30, 15, what="dm's load going on")
    print(f"rep: first write {first - t_kill:.3f} s after the kill; "
          f"dm: {dm_load.count()} writes, {len(dm_load.errors)} failed")
    assert dm_load.errors == [], dm_load.errors[:5]
    gs = groups(h, sock)
    assert gs["dm"]["writer"] == "dm0"
    assert roles(sock, "dm") == {"dm0": "primary", "dm1": "replica"}
    # Every write dm acknowledged is on its active; none went to rep.
    on_dm = {r[0] for r in dual.sql(0, "SELECT id FROM grp.t")}
    assert dm_load.ids() <= on_dm
    new = int(groups(h, sock)["rep"]["writer"][-1])
    on_rep = {r[0] for r in cluster.sql(new, "SELECT id FROM grp.t")}
    assert not dm_load.ids() & on_rep
    assert dual.value(0, "SELECT @@read_only") == 0  # the dm group's active untouched
    h.wait_log(r"lock halyard_failover:rep: granted")


def test_reload_adds_and_removes_a_group(start_halyard, cluster, dual, tmp_path):
    h, s, sock, _ = start(start_halyard, cluster, dual, tmp_path, with_dm=False)
    make_tables(cluster, dual)
    old = h.connect()
    with old.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO grp.t VALUES (1, 1)")

    # Add the dm group and a listener for it, a transaction open meanwhile.
    dm_port = free_port()
    s2 = settings_for(cluster, dual, tmp_path, h.port, dm_port)
    s2["admin_socket"], s2["audit_log"] = s["admin_socket"], s["audit_log"]
    s2["metrics_port"] = s["metrics_port"]
    st = admin_json(sock, "show status")
    with open(h.conf_path, "w") as f:
        f.write(render_libconfig(s2))
    h.reload()
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > st["reloads_ok"], 10,
               what="the reload")
    wait_until(lambda: groups(h, sock).get("dm", {}).get("writer") == "dm0", 15,
               what="dm's active seen")
    with old.cursor() as cur:
        cur.execute("INSERT INTO grp.t VALUES (2, 1)")
        cur.execute("COMMIT")
        cur.execute("SELECT COUNT(*) FROM grp.t WHERE id IN (1, 2) FOR UPDATE")
        assert cur.fetchone()[0] == 2
    assert ports_seen(old, trx=True) == {cluster.nodes[0]["port"]}
    dm = wait_until(lambda: _try_connect(h, dm_port), 10, what="the dm listener")
    assert ports_seen(dm, trx=True) == {dual.nodes[0]["port"]}

    # Remove it again: dm's session gets an error at its next statement and
    # ends; rep's goes on.
    st = admin_json(sock, "show status")
    with open(h.conf_path, "w") as f:
        f.write(render_libconfig(s))
    h.reload()
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > st["reloads_ok"], 10,
               what="the second reload")
    wait_until(lambda: "dm" not in groups(h, sock), 10, what="dm gone")
    with pytest.raises(pymysql.MySQLError) as e:
        with dm.cursor() as cur:
            cur.execute("SELECT @@port")
            cur.fetchall()
    assert "was removed by a reload" in str(e.value) or e.value.args[0] in (2013, 2006), e.value
    h.wait_log(r"its group dm was removed by a reload: closing")
    assert ports_seen(old, trx=True) == {cluster.nodes[0]["port"]}


def _try_connect(h, port):
    try:
        return pymysql.connect(**h.conn_params(port=port))
    except pymysql.MySQLError:
        time.sleep(0.05)
        return None


def test_galera_group_beside_a_replication_group(start_halyard, cluster, galera, tmp_path):
    """A Galera group's writer is picked among its own nodes (lowest
    priority, then name) while the replication group keeps its primary;
    each listener reaches its own group's servers."""
    port, gal_port = free_port(), free_port()
    s = default_halyard_settings(cluster, port)
    s["monitor"] = MONITOR
    s["admin_socket"] = str(tmp_path / "gal.sock")
    gal = [{"name": f"g{n['index']}", "address": "127.0.0.1", "port": n["port"],
            "role": "primary" if n["index"] == 0 else "replica",
            "priority": 0 if n["index"] == 1 else 5} for n in galera.nodes]
    s["backends"] = s["backends"] + gal
    s["groups"] = [{"name": "rep", "backends": ["node0", "node1", "node2"]},
                   {"name": "gal", "cluster": "galera", "backends": [b["name"] for b in gal]}]
    s["listeners"] = [{"name": "rep", "address": "127.0.0.1", "port": port, "group": "rep"},
                      {"name": "gal", "address": "127.0.0.1", "port": gal_port, "group": "gal"}]
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    sock = s["admin_socket"]
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, sock).items()} ==
               {"rep": "node0", "gal": "g1"}, 30, what="rep's primary node0, gal's writer g1")
    g = Listener(h, gal_port).connect()
    assert ports_seen(g, trx=True) == {galera.nodes[1]["port"]}
    # the readers checked ONLINE first (rise 2): until then a read goes to
    # the writer (CI: g1's port among the reads 20 ms after the writer moved)
    def readers_online():
        b = {x["name"]: x for x in admin_json(sock, "show backends")["backends"]}
        return all(b[n]["state"] == "ONLINE" and b[n]["last_check"] not in ("", None)
                   for n in ("g0", "g2"))
    wait_until(readers_online, 30, what="g0 and g2 checked ONLINE")
    assert ports_seen(g) <= {galera.nodes[0]["port"], galera.nodes[2]["port"]}
    assert ports_seen(h.connect(), trx=True) == {cluster.nodes[0]["port"]}
    gs = groups(h, sock)
    assert gs["gal"]["cluster"] == "galera" and gs["gal"]["writers"] == 1
    assert gs["rep"]["writers"] == 1


DM_MONITOR_PRIVS = ("BINLOG MONITOR, SLAVE MONITOR, PROCESS, SUPER, REPLICATION SLAVE ADMIN, "
                    "READ_ONLY ADMIN, RELOAD, CONNECTION ADMIN, REPLICATION MASTER ADMIN")


def backends_by_name(sock):
    return {b["name"]: b for b in admin_json(sock, "show backends")["backends"]}


def monitor_sessions(c, i, user):
    """Seconds idle of `user`'s connections on node i (the monitor keeps
    its connection open between checks)."""
    return [r[0] for r in c.sql(i, "SELECT TIME FROM information_schema.PROCESSLIST "
                                   "WHERE USER = %s", (user,))]


def test_groups_have_their_own_monitor_account_and_interval(start_halyard, cluster, dual,
                                                             tmp_path):
    # dm's servers have an account of their own, which rep's do not know.
    dual.sql(0, "DROP USER IF EXISTS 'dmmon'@'%'")
    dual.sql(0, "CREATE USER 'dmmon'@'%' IDENTIFIED BY 'dmpw'")
    dual.sql(0, f"GRANT {DM_MONITOR_PRIVS} ON *.* TO 'dmmon'@'%'")
    dual.sync()
    port, dm_port = free_port(), free_port()
    s = settings_for(cluster, dual, tmp_path, port, dm_port)
    s["groups"][1]["monitor"] = {"user": "dmmon", "password": "dmpw", "interval_ms": 3000,
                                 "timeout_ms": 2000}
    h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
    sock = s["admin_socket"]
    wait_until(lambda: {n: g["writer"] for n, g in groups(h, sock).items()} ==
               {"rep": "node0", "dm": "dm0"}, 15, what="both groups' writers")
    # Every backend ONLINE after a check of its own (before its first
    # check a backend is ONLINE with its config role).
    wait_until(lambda: all(b["state"] == "ONLINE" and b["last_check"].startswith("ok")
                           for b in backends_by_name(sock).values()), 15,
               what="every backend checked and ONLINE")
    # Each group is checked as its own account: dm's servers see dmmon,
    # which rep's servers do not know; rep's see monitor.
    assert monitor_sessions(dual, 0, "dmmon") and monitor_sessions(dual, 1, "dmmon")
    assert monitor_sessions(cluster, 0, "monitor")
    # ... and at its own interval: dm's connection idles between checks
    # 3 s apart (up to 2 s shows), rep's is used every 200 ms.
    wait_until(lambda: max(monitor_sessions(dual, 0, "dmmon"), default=0) >= 2, 10,
               what="dm's monitor connection idle 2 s between checks")
    assert max(monitor_sessions(cluster, 0, "monitor")) <= 1

    # A wrong password in dm's group: only dm's backends fail their checks,
    # and they say why.
    s["groups"][1]["monitor"] = {"user": "dmmon", "password": "wrong", "interval_ms": 300}
    st = admin_json(sock, "show status")
    with open(h.conf_path, "w") as f:
        f.write(render_libconfig(s))
    h.reload()
    wait_until(lambda: admin_json(sock, "show status")["reloads_ok"] > st["reloads_ok"], 10,
               what="the reload")
    wait_until(lambda: all(backends_by_name(sock)[n]["state"] == "DOWN" for n in ("dm0", "dm1")),
               15, what="dm's backends DOWN")
    be = backends_by_name(sock)
    for n in ("dm0", "dm1"):
        assert "Access denied for user 'dmmon'" in be[n]["last_check"], be[n]["last_check"]
    for n in ("node0", "node1", "node2"):
        assert be[n]["state"] == "ONLINE" and be[n]["last_check"].startswith("ok"), be[n]
    assert groups(h, sock)["rep"]["writer"] == "node0"
    dual.sql(0, "DROP USER IF EXISTS 'dmmon'@'%'")


def test_each_group_logs_in_with_its_own_accounts(start_halyard, cluster, dual, tmp_path):
    """users_source: each group's accounts are read from its own primary
    (as its monitor account) and serve its own listeners' logins."""
    cluster.sql(0, "GRANT SELECT ON mysql.global_priv TO 'monitor'@'%'")
    cluster.sync()
    dual.sql(0, "DROP USER IF EXISTS 'dmmon'@'%'")
    dual.sql(0, "CREATE USER 'dmmon'@'%' IDENTIFIED BY 'dmpw'")
    dual.sql(0, f"GRANT {DM_MONITOR_PRIVS} ON *.* TO 'dmmon'@'%'")
    dual.sql(0, "GRANT SELECT ON mysql.global_priv TO 'dmmon'@'%'")
    dual.sql(0, "DROP USER IF EXISTS 'dmonly'@'%'")
    dual.sql(0, "CREATE USER 'dmonly'@'%' IDENTIFIED BY 'dmonlypw'")
    dual.sql(0, "GRANT SELECT ON *.* TO 'dmonly'@'%'")
    dual.sync()
    try:
        port, dm_port = free_port(), free_port()
        s = settings_for(cluster, dual, tmp_path, port, dm_port)
        s["groups"][1]["monitor"] = {"user": "dmmon", "password": "dmpw"}
        s["users_source"] = "both"
        h = start_halyard(render_libconfig(s).replace("$", "$$"), port=port)
        h.wait_log(r"users: \d+ accounts from node0 \(group rep\)")
        h.wait_log(r"users: \d+ accounts from dm0 \(group dm\)")
        # dm's own account logs in through dm's listener, to dm's servers ...
        c = pymysql.connect(host="127.0.0.1", port=dm_port, user="dmonly", password="dmonlypw",
                            connect_timeout=5)
        with c.cursor() as cur:
            cur.execute("SELECT @@port, CURRENT_USER()")
            p, who = cur.fetchone()
        assert p in (dual.nodes[0]["port"], dual.nodes[1]["port"]) and who == "dmonly@%"
        c.close()
        # ... but not through rep's: rep's servers have no such account. The
        # error is the one rep's primary gives (1045, or 1698 when the
        # account MariaDB stands in for an unknown name is a unix_socket one).
        with pytest.raises(pymysql.err.OperationalError) as direct:
            pymysql.connect(host="127.0.0.1", port=cluster.nodes[0]["port"], user="dmonly",
                            password="dmonlypw", connect_timeout=5)
        with pytest.raises(pymysql.err.OperationalError) as e:
            pymysql.connect(host="127.0.0.1", port=port, user="dmonly", password="dmonlypw",
                            connect_timeout=5)
        assert e.value.args[0] == direct.value.args[0] in (1045, 1698), (e.value, direct.value)
    finally:
        dual.sql(0, "DROP USER IF EXISTS 'dmonly'@'%'")
        dual.sql(0, "DROP USER IF EXISTS 'dmmon'@'%'")
        cluster.sql(0, "REVOKE SELECT ON mysql.global_priv FROM 'monitor'@'%'")
