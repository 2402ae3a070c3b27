"""No two primaries under a network partition (failover lock majority).

The failover lock must be granted by a majority of the servers a halyard is
configured with, not of those it happens to reach. These tests cut a real
network link:

    root namespace                      namespace NS
    node0 (primary)  10.213.K.1  ==data veth==  10.213.K.2  node2 (replica)
    node1 (replica)  10.213.K.1                             halyard H2
    halyard H1       127.0.0.1   --mgmt veth--  10.214.K.2  (H2's listener)
    pytest

Cutting the data link (the NS end set down) leaves H2 with node2 alone:
node2 loses its primary (slave_net_timeout), H2 sees the primary down and
a majority of the replicas it reaches (1 of 1) without it, so it would
promote node2 while node0 keeps serving H1. With the lock counted over the
3 configured servers it holds 1 of 3 and refuses; its writes fail with an
error that says why. The management link only carries the test's own
connections to H2 (nothing routes between the two links).

Two backends alone can never form a majority after losing one; a witness
(any MariaDB server outside the cluster) is the third vote. That test uses
the ordinary test cluster with node2 as the witness.
"""

import os
import subprocess
import time

import pymysql
import pytest

from conftest import TEST_PORT, _halyard_factory, _locked_cluster
from test_failover import ctl, failover_settings, kill_now, make_table, writable_nodes
from util import Cluster, admin_json, free_port, render_conf, wait_until

K = TEST_PORT % 250
NS = f"hypart{TEST_PORT}"
DATA = f"hyd{TEST_PORT}"  # root end; f"{DATA}b" in NS
MGMT = f"hym{TEST_PORT}"
A_ADDR, B_ADDR = f"10.213.{K}.1", f"10.213.{K}.2"
A_MGMT, B_MGMT = f"10.214.{K}.1", f"10.214.{K}.2"


def ip(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


class Net:
    def cut(self):
        ip("link", "set", f"{DATA}b", "down", ns=NS)

    def cut_root_end(self):
        """The same cut, from the root namespace's end: there the servers'
        sends fail at once, so node0 and node1 see a lost primary fast."""
        ip("link", "set", DATA, "down")

    def heal(self):
        ip("link", "set", DATA, "up")
        ip("link", "set", f"{DATA}b", "up", ns=NS)


def _net_down():
    ip("netns", "del", NS, check=False)
    for link in (DATA, MGMT):
        ip("link", "del", link, check=False)


@pytest.fixture(scope="module")
def net():
    _net_down()  # what a killed earlier run left
    ip("netns", "add", NS)
    try:
        for link, a, b in ((DATA, A_ADDR, B_ADDR), (MGMT, A_MGMT, B_MGMT)):
            ip("link", "add", link, "type", "veth", "peer", "name", f"{link}b", "netns", NS)
            ip("addr", "add", f"{a}/24", "dev", link)
            ip("link", "set", link, "up")
            ip("addr", "add", f"{b}/24", "dev", f"{link}b", ns=NS)
            ip("link", "set", f"{link}b", "up", ns=NS)
        ip("link", "set", "lo", "up", ns=NS)
        yield Net()
    finally:
        _net_down()


@pytest.fixture(scope="module")
def split_cluster(net):
    """Three nodes on TEST_PORT+74..76: node2 on the far side of the link."""
    base = f"/tmp/halyard-split-{os.geteuid()}-{TEST_PORT}"
    yield from _locked_cluster(base, lambda: Cluster(
        base, TEST_PORT + 74, tls=False,
        hosts={"node0": A_ADDR, "node1": A_ADDR, "node2": B_ADDR}, netns={"node2": NS}))


@pytest.fixture
def start_split_halyard(split_cluster, net, tmp_path):
    net.heal()
    yield from _halyard_factory(split_cluster, tmp_path)


def write(h, table, value):
    """Insert one row through halyard; None, or the error (code, message)."""
    try:
        with pymysql.connect(**h.conn_params(connect_timeout=5, read_timeout=20)) as c:
            with c.cursor() as cur:
                cur.execute(f"INSERT INTO {table} (id, w) VALUES (%s, 0)", (value,))
        return None
    except pymysql.MySQLError as e:
        return e.args


def read_id(h):
    """The @@server_id of the server a read through halyard ran on."""
    with pymysql.connect(**h.conn_params(connect_timeout=5, read_timeout=20)) as c:
        with c.cursor() as cur:
            cur.execute("SELECT @@server_id")
            return cur.fetchone()[0]


def test_cut_off_halyard_refuses_to_promote(split_cluster, start_split_halyard, net, tmp_path):
    c = split_cluster
    table = make_table(c, "split")
    settings = dict(failover_delay_ms=500, failover_write_wait_ms=2000)
    h1 = start_split_halyard(failover_settings(tmp_path, **settings))
    port = free_port()
    s2 = failover_settings(tmp_path, **settings, zone="west",
                           listeners=[{"name": "main", "address": B_MGMT, "port": port}])
    h2 = start_split_halyard(s2, port=port, host=B_MGMT, prefix=("ip", "netns", "exec", NS))
    st = admin_json(s2["admin_socket"], "show status")
    assert (st["zone"], st["voters"], st["reachable"], st["majority"]) == ("west", 3, 3, "yes")
    assert write(h1, table, 1) is None
    assert write(h2, table, 2) is None
    assert writable_nodes(c) == [0]

    net.cut()
    t_cut = time.monotonic()
    # Until H2 has given up promoting and for some seconds after, exactly
    # one server is writable at every look, and H1 keeps writing to it.
    refused_at = None
    n = 100
    while True:
        assert writable_nodes(c) == [0], f"{time.monotonic() - t_cut:.1f} s after the cut"
        n += 1
        assert write(h1, table, n) is None
        if refused_at is None and "promotes no replica" in h2.log_text():
            refused_at = time.monotonic()
        if refused_at is not None and time.monotonic() - refused_at > 3:
            break
        assert time.monotonic() - t_cut < 40, (
            f"H2 did not try (and refuse) a failover within 40 s of the cut:\n{h2.log_tail()}")
        time.sleep(0.2)
    print(f"\npartition: H2 refused to promote {refused_at - t_cut:.1f} s after the cut")
    h2.wait_log(r"lock halyard_failover: halyard \(zone west\) reaches 1 of the 3 servers that vote")

    # show status says it: 1 of 3 in reach, no majority, and why no failover.
    st = admin_json(s2["admin_socket"], "show status")
    assert (st["reachable"], st["majority"]) == (1, "no"), st
    assert "reaches 1 of the 3 servers" in st["failover_note"], st
    # H2 keeps serving reads from node2 (partition_reads = serve).
    assert read_id(h2) == c.server_id(2)
    # H2's writes fail, saying why, instead of going to a second primary.
    err = write(h2, table, 99999)
    assert err is not None and err[0] == 1429, err
    assert "halyard (zone west) reaches 1 of the 3 servers" in err[1] and "cut off" in err[1], err
    assert writable_nodes(c) == [0]
    # Quiet while nothing changes: the refusal is not logged at every try.
    warned = [ln for ln in h2.log_text().splitlines()
              if " WARN " in ln and "promotes no replica" in ln]
    assert len(warned) == 1, h2.log_tail()

    net.heal()
    wait_until(lambda: c.slave_status(2).get("Slave_IO_Running") == "Yes", 30,
               what="node2 replicating again after the link came back")
    wait_until(lambda: write(h2, table, 100000) is None, 30, what="a write through H2 again")
    assert writable_nodes(c) == [0]
    assert c.value(0, f"SELECT COUNT(*) FROM {table} WHERE id = 99999") == 0


def primary_beyond_the_link(start_split_halyard, tmp_path, h1_failover="auto", **extra):
    """H1 (zone east) and H2 (zone west, in NS) with failover settings and
    `extra`, and node2, beyond the link with H2, made the primary by a
    switchover: (h1, h2, H2's settings)."""
    settings = dict(failover_delay_ms=5000, failover_write_wait_ms=1000, **extra)
    s1 = failover_settings(tmp_path, **settings, zone="east", failover=h1_failover)
    h1 = start_split_halyard(s1)
    port = free_port()
    s2 = failover_settings(tmp_path, **settings, zone="west",
                           listeners=[{"name": "main", "address": B_MGMT, "port": port}])
    h2 = start_split_halyard(s2, port=port, host=B_MGMT, prefix=("ip", "netns", "exec", NS))
    r = ctl(s1["admin_socket"], "switchover", "to", "node2")
    assert r.returncode == 0, r.stdout + r.stderr
    return h1, h2, s2


def test_cut_off_primary_is_fenced(split_cluster, start_split_halyard, net, tmp_path):
    """The other direction: the primary (node2, after a switchover) is on
    the cut-off side with H2, and H1's side holds the majority (node0,
    node1). H2 reaches its primary but 1 of the 3 voters, so it makes
    node2 read-only before H1's failover_delay_ms has passed; H1 promotes a
    replica; at no moment do two servers take writes. When the link comes
    back, node2 rejoins as a replica of the new primary and H2 writes there;
    every write either side acknowledged is on the new primary."""
    c = split_cluster
    table = make_table(c, "fence")
    h1, h2, s2 = primary_beyond_the_link(start_split_halyard, tmp_path, auto_rejoin=True)
    wait_until(lambda: writable_nodes(c) == [2], 20, what="node2 the primary")
    acked = set()
    for n, h in enumerate((h1, h2, h1, h2), 1):
        wait_until(lambda h=h, n=n: write(h, table, n) is None, 20, what=f"write {n}")
        acked.add(n)
    # Replication is asynchronous: a write node0 and node1 had not received
    # when the link went would be lost by any promotion, and node2 could not
    # rejoin (CI once cut before write 4 reached them). The test is about
    # what halyard does after the cut, so the replicas have every write.
    pos = c.value(2, "SELECT @@gtid_binlog_pos")
    for i in (0, 1):
        assert c.value(i, "SELECT MASTER_GTID_WAIT(%s, 10)", (pos,)) == 0, c.slave_status(i)

    net.cut_root_end()
    t_cut = time.monotonic()
    fenced_at = promoted_at = None
    while promoted_at is None:
        w = writable_nodes(c)
        took = time.monotonic() - t_cut
        assert len(w) <= 1, f"two primaries {took:.1f} s after the cut: {w}"
        if fenced_at is None and w == []:
            fenced_at = took
        if w and w != [2]:
            promoted_at = took
        assert took < 60, f"no promotion within 60 s of the cut:\n{h1.log_tail()}"
        time.sleep(0.1)
    assert fenced_at is not None and fenced_at < promoted_at
    print(f"\ncut-off primary: fenced {fenced_at:.1f} s, replica promoted {promoted_at:.1f} s "
          "after the cut")
    new = writable_nodes(c)[0]
    # H2 reads on from node2, the freshest data on its side (partition_reads).
    assert read_id(h2) == c.server_id(2)
    # H2 says why it takes no writes; H1 writes to the new primary.
    err = write(h2, table, 99999)
    assert err is not None and err[0] == 1429 and "1 of the 3 servers" in err[1], err
    st = admin_json(s2["admin_socket"], "show status")
    assert st["majority"] == "no" and "1 of the 3 servers" in st["failover_note"], st
    assert "made read-only" in h2.log_text()
    for n in range(10, 15):
        assert write(h1, table, n) is None
        acked.add(n)

    net.heal()
    wait_until(lambda: (c.slave_status(2) or {}).get("Slave_IO_Running") == "Yes" and
               int(c.slave_status(2)["Master_Port"]) == c.port(new), 60,
               what="node2 rejoined as a replica of the new primary")
    wait_until(lambda: write(h2, table, 100) is None, 30, what="a write through H2 again")
    acked.add(100)
    assert writable_nodes(c) == [new]
    got = {row[0] for row in c.sql(new, f"SELECT id FROM {table}")}
    assert acked <= got, sorted(acked - got)
    assert 99999 not in got
    c.heal()


def test_cut_off_primary_gets_its_writes_back(split_cluster, start_split_halyard, net,
                                              tmp_path):
    """The same cut with nobody to promote on the majority side (H1's
    failover is off): H2 fences node2 all the same, since it cannot know;
    when the link comes back it takes the failover lock, finds no other
    primary, and gives node2 its writes back."""
    c = split_cluster
    c.heal()
    table = make_table(c, "unfence")
    h1, h2, _ = primary_beyond_the_link(start_split_halyard, tmp_path, h1_failover="off")
    wait_until(lambda: write(h2, table, 1) is None, 20, what="a write through H2")

    net.cut_root_end()
    wait_until(lambda: writable_nodes(c) == [], 30, what="node2 fenced by H2")
    assert c.value(2, "SELECT @@read_only") == 1
    net.heal()
    wait_until(lambda: writable_nodes(c) == [2], 30, what="node2 writable again")
    h2.wait_log(r"the majority is back \(3 of 3 servers\) and nobody was promoted: node2 takes "
                r"writes again")
    wait_until(lambda: write(h2, table, 2) is None, 20, what="a write through H2 again")
    wait_until(lambda: write(h1, table, 3) is None, 20, what="a write through H1 again")
    assert {row[0] for row in c.sql(2, f"SELECT id FROM {table}")} == {1, 2, 3}
    c.heal()


def test_two_backends_need_a_witness(cluster, start_halyard, tmp_path):
    """Two backends: the survivor of a dead primary is 1 of 2, never a
    majority; with a witness configured (SIGHUP) it is 2 of 3 and is
    promoted."""
    table = make_table(cluster, "witness")
    settings = failover_settings(tmp_path, failover_delay_ms=500, failover_write_wait_ms=2000)
    settings["backends"] = [
        {"name": n["name"], "address": "127.0.0.1", "port": n["port"], "role": n["role"]}
        for n in cluster.nodes[:2]]
    h = start_halyard(settings)
    assert write(h, table, 1) is None
    kill_now(cluster, 0)
    h.wait_log(r"reaches 1 of the 2 servers .* configure a witness", timeout=20)
    err = write(h, table, 2)
    assert err is not None and err[0] == 1429 and "configure a witness" in err[1], err
    assert writable_nodes(cluster) == []

    settings["witnesses"] = [{"name": "w1", "address": "127.0.0.1", "port": cluster.port(2)}]
    h.reload(render_conf(cluster, h.port, settings))
    wait_until(lambda: write(h, table, 3) is None, 20, what="a write after the witness was added")
    assert writable_nodes(cluster) == [1]
    h.wait_log(r"lock halyard_failover: granted by 2 of 3 servers")
