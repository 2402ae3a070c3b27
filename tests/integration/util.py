"""Helpers for halyard's integration tests: a real MariaDB cluster and a real
halyard process, both driven from pytest (see conftest.py for the fixtures).

Cluster wraps tools/cluster (which owns the processes and their layout) and
adds what tests need: direct pymysql connections, SQL as root over the unix
socket, fault injection and waits. Halyard wraps one halyard process started
with a generated config file: its port, its log, clients connected through it,
signals, and a check at teardown that it did not crash or trip a sanitizer.
"""

import contextlib
import hashlib
import json
import os
import pty
import re
import signal
import shutil
import socket
import string
import subprocess
import time
import urllib.request

import pymysql
import pymysql.cursors

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLUSTER_TOOL = os.path.join(REPO, "tools", "cluster")

APP_USER, APP_PASSWORD = "app", "app"
MONITOR_USER, MONITOR_PASSWORD = "monitor", "monitor"
REPL_USER, REPL_PASSWORD = "repl", "repl"

# MariaDB's error for writes refused by read_only.
ER_OPTION_PREVENTS_STATEMENT = 1290


# pool_mode when a test's config does not set it: halyard's default, or
# HALYARD_TEST_POOL_MODE's (the whole suite under one mode).
DEFAULT_POOL_MODE = "transaction"


def pool_mode():
    return os.environ.get("HALYARD_TEST_POOL_MODE") or DEFAULT_POOL_MODE


def mysql_native_hash(password):
    """The hash MariaDB stores for mysql_native_password: *HEX(SHA1(SHA1(pw)))."""
    if password == "":
        return ""
    inner = hashlib.sha1(password.encode()).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


_HANDED_OUT = set()
_PORT_BLOCK = None  # (first, count) once use_ports() is called
_PORT_NEXT = 0


def use_ports(base):
    """Hand out free_port()s from BASE+100 to BASE+299: the block of the
    test session (or tool) whose cluster is on BASE..BASE+99. Those ports
    are below the kernel's ephemeral ones (ip_local_port_range starts at
    32768), so no outgoing connection can take one between free_port()'s
    probe and halyard's bind; a port from bind(0) could be, by another
    suite's client (CI: test_order_by_limit_and_types, "Address already in
    use" on 55275 while the session suite ran beside it)."""
    global _PORT_BLOCK
    first = base + 100
    if first + 200 <= 32768:
        _PORT_BLOCK = (first, 200)


def _probe(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A TCP port on 127.0.0.1 that nothing holds right now. From the block
    use_ports() set, round robin, so a port comes back only after the 199
    others (a test taking two, its listener's and its metrics', never gets
    one twice); else from the kernel, never one this process handed out
    before (the kernel may give a port again once the probe closed: CI,
    test_full_backup_missing_a_schema_fails, "Address already in use")."""
    global _PORT_NEXT
    if _PORT_BLOCK is not None:
        first, count = _PORT_BLOCK
        for _ in range(count):
            port = first + _PORT_NEXT % count
            _PORT_NEXT += 1
            if _probe(port):
                return port
        raise RuntimeError(f"free_port: every port of {first}..{first + count - 1} is held")
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("free_port: no port left that was not handed out already")


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def vm_kb(pid, field):
    """A /proc/PID/status memory field (VmRSS, VmHWM...) in kB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def admin_json(path, command):
    """One command on the admin socket at `path`, answered in JSON (as
    `COMMAND --json`), decoded."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall((command + " --json\n").encode())
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return json.loads(out.decode())


def backends(admin_socket):
    """`show backends` on the admin socket at `admin_socket`, by backend name."""
    return {b["name"]: b for b in admin_json(admin_socket, "show backends")["backends"]}


def scrape(port):
    """The text of halyard's /metrics on `port`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


@contextlib.contextmanager
def _cursor(c):
    """`c` itself when it is a cursor; a cursor of `c`, closed after, when it
    is a connection."""
    if hasattr(c, "execute"):
        yield c
    else:
        with c.cursor() as cur:
            yield cur


def rows(c, sql):
    """The rows of `sql` run on `c` (a connection or a cursor), as tuples."""
    with _cursor(c) as cur:
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def result(c, sql):
    """(description, rows) of `sql` run on `c` (a connection or a cursor)."""
    with _cursor(c) as cur:
        cur.execute(sql)
        return cur.description, list(cur.fetchall())


def one(c, sql, args=None):
    """The first row of `sql` run on `c` (a connection or a cursor)."""
    with _cursor(c) as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def value(c, sql, args=None):
    """The first column of the first row of `sql` run on `c`."""
    return one(c, sql, args)[0]


def schema_with_table(cluster, db, columns):
    """Schema `db` with a table `t` (an AUTO_INCREMENT id, then `columns`)
    on the primary, replicated to every replica; returns `db`."""
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {db}")
    cluster.sql(0, f"CREATE TABLE IF NOT EXISTS {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, "
                   f"{columns})")
    cluster.sync()
    return db


def query_rows(conn, query, args=None):
    """Run one statement on `conn`, close it, and return the rows as a list."""
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return list(cur.fetchall())
    finally:
        conn.close()


class Background:
    """Threads (self.threads) that run while a `with` block does; self.stop
    tells them to end, and leaving the block waits `join_timeout` s for each."""

    join_timeout = 30

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(self.join_timeout)


def metric(port, line_start):
    """The value of the first line of halyard's /metrics on `port` starting
    with line_start; None if there is none."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
    return None


def wait_until(predicate, timeout=10.0, interval=0.02, what=None):
    """Poll predicate() until it returns something truthy; return that.

    Raises AssertionError naming `what` (or the predicate) after timeout, with
    the last exception predicate raised, if any.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.monotonic() > deadline:
            desc = what or getattr(predicate, "__name__", "condition")
            msg = f"timed out after {timeout:.1f}s waiting for {desc}"
            if last_exc is not None:
                msg += f" (last error: {last_exc!r})"
            raise AssertionError(msg)
        time.sleep(interval)


def audit_records(path, event=None, **match):
    """The records of the audit log at `path` (JSON lines; [] while it does
    not exist), those of `event` only if given, and only those whose fields
    equal `match` (audit_records(p, "backend_state", backend="node1"))."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        out = [json.loads(line) for line in f.read().splitlines()]  # every line is one object
    return [r for r in out if (event is None or r["event"] == event) and
            all(r.get(k) == v for k, v in match.items())]


def wait_audit(path, event, timeout=10.0, **match):
    """Wait for an audit record as audit_records selects it; return the
    first one."""
    return wait_until(lambda: (audit_records(path, event, **match) or [None])[0], timeout,
                      what=f"an audit record {event} {match}")


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"(cannot read {path}: {e})"


# ---------------------------------------------------------------------------
# The MariaDB cluster


class Cluster:
    """A cluster started by tools/cluster in `base`.

    Nodes are referred to by index (0 is the primary), by name ("node1") or
    as "primary".
    """

    def __init__(self, base, port, replicas=2, semisync=False, tls=True, mysqld_opts=(),
                 hosts=None, netns=None):
        self.base = base
        self.hosts = dict(hosts or {})  # node name -> address (tools/cluster --host)
        self.netns = dict(netns or {})  # node name -> network namespace (--netns)
        self.mysqld_opts = list(mysqld_opts)
        self.base_port = port
        self.n_replicas = replicas
        self.semisync = semisync
        self.tls = tls
        self.layout = None

    # -- tools/cluster ----------------------------------------------------

    def tool(self, *args, check=True, timeout=120):
        """Run tools/cluster with --base; return the CompletedProcess."""
        cmd = ["/usr/bin/python3", CLUSTER_TOOL, "--base", self.base, *map(str, args)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r

    def start(self):
        args = ["--port", self.base_port, "--replicas", self.n_replicas]
        if self.semisync:
            args.append("--semisync")
        if self.tls:
            args.append("--tls")
        args += [f"--mysqld-opt={o}" for o in self.mysqld_opts]
        args += [f"--host={k}={v}" for k, v in self.hosts.items()]
        args += [f"--netns={k}={v}" for k, v in self.netns.items()]
        self.tool(*args, "start")
        with open(os.path.join(self.base, "cluster.json")) as f:
            self.layout = json.load(f)

    def stop(self):
        self.tool("stop", check=False)

    def destroy(self):
        self.tool("destroy", check=False)

    def status(self):
        """tools/cluster status --json: one dict per node."""
        return json.loads(self.tool("status", "--json", check=False).stdout)

    # -- layout -----------------------------------------------------------

    @property
    def nodes(self):
        return self.layout["nodes"]

    def node(self, ref):
        if isinstance(ref, dict):
            return ref
        s = str(ref)
        if s == "primary":
            s = "0"
        if s.startswith("node"):
            s = s[4:]
        return self.nodes[int(s)]

    def port(self, ref):
        return self.node(ref)["port"]

    def host(self, ref):
        """The address a node listens on (127.0.0.1 unless placed elsewhere)."""
        return self.node(ref).get("host") or "127.0.0.1"

    def socket_path(self, ref):
        return self.node(ref)["socket"]

    def error_log(self, ref):
        return self.node(ref)["error_log"]

    @property
    def tls_dir(self):
        """Directory of the cluster's CA and certificates (tools/cluster --tls)."""
        return self.layout["tls"]

    @property
    def primary_port(self):
        return self.port(0)

    @property
    def replicas(self):
        """Indexes of the replica nodes."""
        return [n["index"] for n in self.nodes if n["role"] == "replica"]

    @property
    def replica_ports(self):
        return [self.port(i) for i in self.replicas]

    @property
    def ports(self):
        return [n["port"] for n in self.nodes]

    # -- connections ------------------------------------------------------

    def conn_params(self, ref, user=APP_USER, password=None, **kw):
        """pymysql.connect() keyword arguments for a TCP login to one node."""
        if password is None:
            password = {APP_USER: APP_PASSWORD, MONITOR_USER: MONITOR_PASSWORD,
                        REPL_USER: REPL_PASSWORD}.get(user, "")
        params = dict(host=self.host(ref), port=self.port(ref), user=user, password=password,
                      connect_timeout=5, read_timeout=30, write_timeout=30, autocommit=True)
        params.update(kw)
        return params

    def connect(self, ref, user=APP_USER, password=None, **kw):
        """A direct pymysql connection to one node (as app by default)."""
        return pymysql.connect(**self.conn_params(ref, user, password, **kw))

    def root_connect(self, ref, **kw):
        """A pymysql connection as the database root account, over the socket."""
        params = dict(unix_socket=self.socket_path(ref), user=self.layout["admin_user"],
                      connect_timeout=5, read_timeout=60, autocommit=True)
        params.update(kw)
        return pymysql.connect(**params)

    def sql(self, ref, query, args=None):
        """Run one statement as root on a node; return its rows as tuples."""
        return query_rows(self.root_connect(ref), query, args)

    def value(self, ref, query, args=None):
        """The first column of the first row of query, or None."""
        rows = self.sql(ref, query, args)
        return rows[0][0] if rows else None

    def server_id(self, ref):
        return int(self.value(ref, "SELECT @@server_id"))

    def slave_status(self, ref):
        """SHOW SLAVE STATUS as a dict ({} when the node is no replica)."""
        conn = self.root_connect(ref)
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute("SHOW SLAVE STATUS")
                return cur.fetchone() or {}
        finally:
            conn.close()

    # -- faults -----------------------------------------------------------

    def kill(self, ref):
        """SIGKILL a node's mariadbd."""
        self.tool("kill", self.node(ref)["name"])

    def stop_node(self, ref):
        """Shut a node down cleanly."""
        self.tool("stop-node", self.node(ref)["name"])

    def start_node(self, ref):
        """Start a node; a replica resumes replicating by itself."""
        self.tool("start-node", self.node(ref)["name"])

    def delay(self, ref, seconds):
        """Make a replica apply the primary's events `seconds` late (0 undoes it)."""
        self.tool("delay", self.node(ref)["name"], int(seconds))

    def is_running(self, ref):
        return self.status()[self.node(ref)["index"]]["running"]

    # -- waits ------------------------------------------------------------

    def sync(self, timeout=30.0, nodes=None):
        """Wait until each running replica has applied the primary's binlog.
        30 s by default: a replica's CREATE TABLE (a file created and
        synced) took over 10 s on a host with its disk busy (test_pool's
        schema_with_table, two suites beside other work: the replica's SQL
        thread 'creating table', 11 s behind); a replica that does not
        follow at all still fails, later."""
        pos = self.value(0, "SELECT @@gtid_binlog_pos")
        for i in (self.replicas if nodes is None else [self.node(n)["index"] for n in nodes]):
            got = self.value(i, "SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
            assert got == 0, f"node{i} did not reach GTID {pos} within {timeout}s: {self.slave_status(i)}"

    def heal(self):
        """Undo what tests inject: start stopped nodes, clear replica delays,
        and bring back the original topology after a failover or switchover.

        Cheap when nothing needs doing (a few queries, no tools/cluster call:
        with every node up and replicating its `start` has nothing to do, and
        its process took 0.5 to 0.9 s, before each of the suite's tests), so
        the function-scoped `cluster` fixture runs it before every test. A
        cluster whose primary is no longer node0 (or whose replicas replicate
        from elsewhere, or not at all) is rebuilt from scratch: fresh
        datadirs, original roles, about a second.
        """
        if self.topology_ok():
            self._undelay()
            return
        if not self.topology_ok(running_only=True):
            self.rebuild()
            return
        self.tool("start")
        if not self.topology_ok():
            self.rebuild()
            return
        self._undelay()

    def _undelay(self):
        for i in self.replicas:
            st = self.slave_status(i)
            if st and int(st.get("SQL_Delay") or 0) != 0:
                self.delay(i, 0)

    def topology_ok(self, running_only=False):
        """node0 writable and replicating from nobody, every replica
        read_only and replicating from node0 with both threads running (a
        stopped node is fine with running_only)."""
        for n in self.nodes:
            i = n["index"]
            try:
                ro = self.value(i, "SELECT @@read_only")
                st = self.slave_status(i)
            except pymysql.MySQLError:
                if running_only:
                    continue
                return False
            if n["role"] == "primary":
                if ro or st:
                    return False
            elif (not ro or not st or st.get("Master_Port") != self.primary_port
                  or (not running_only and (st.get("Slave_IO_Running") != "Yes"
                                            or st.get("Slave_SQL_Running") != "Yes"))):
                return False
        return not self.replica_ahead()

    def replica_ahead(self):
        """Whether a running replica applied more, in some domain, than the
        primary's binary log holds: RESET MASTER on the primary (a test of
        MariaDB's own does it) leaves the replicas reading on from an offset
        past the new log's end, their threads running, never to follow it."""
        def seqs(pos):
            out = {}
            for g in filter(None, (pos or "").split(",")):
                d, _, n = g.strip().split("-")
                out[int(d)] = max(out.get(int(d), 0), int(n))
            return out
        applied = []
        for i in self.replicas:
            try:
                applied.append(seqs(self.value(i, "SELECT @@gtid_slave_pos")))
            except pymysql.MySQLError:
                continue
        try:  # read after the replicas': it can only be further
            primary = seqs(self.value(0, "SELECT @@gtid_binlog_pos"))
        except pymysql.MySQLError:
            return False
        return any(n > primary.get(d, 0) for a in applied for d, n in a.items()
                   if d in primary or not primary)

    def rebuild(self):
        """Destroy the cluster and start it anew with its original layout.
        Its TLS files (BASE/tls) are kept: a halyard started with the
        cluster's certificate, and a client checking it against the CA,
        outlive a rebuild (CI: test_admin_sql.py's module-scoped TLS
        halyard failed "unable to get local issuer certificate" once a
        failover test's rebuild in between had made a new CA)."""
        tls = os.path.join(self.base, "tls")
        keep = self.base.rstrip("/") + ".tls-kept"
        shutil.rmtree(keep, ignore_errors=True)
        if os.path.exists(os.path.join(tls, "done")):
            shutil.move(tls, keep)
        self.destroy()
        if os.path.isdir(keep):
            os.makedirs(self.base, exist_ok=True)
            shutil.move(keep, tls)
        self.start()


# ---------------------------------------------------------------------------
# libconfig rendering for halyard's config


def _libconfig_value(value, indent):
    pad = "    " * indent
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, dict):
        inner = "".join(f"{pad}    {k} = {_libconfig_value(v, indent + 1)};\n"
                        for k, v in value.items() if v is not None)
        return "{\n" + inner + pad + "}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            items = ",\n".join(pad + "    " + _libconfig_value(v, indent + 1) for v in value)
            return "(\n" + items + "\n" + pad + ")"
        return "[" + ", ".join(_libconfig_value(v, indent) for v in value) + "]"
    raise TypeError(f"cannot render {value!r} as libconfig")


def render_libconfig(settings):
    """Settings (a dict) as libconfig text. Keys whose value is None are left out;
    lists of dicts become lists of groups, other lists arrays."""
    return "".join(f"{k} = {_libconfig_value(v, 0)};\n" for k, v in settings.items() if v is not None)


class GaleraCluster(Cluster):
    """A MariaDB Galera cluster started by tools/cluster --galera in `base`:
    node i serves SQL on port+i (gcomm, IST and SST on port+10+i, +20+i,
    +30+i). Every node is writable; roles in the layout are "galera"."""

    def __init__(self, base, port, nodes=3):
        super().__init__(base, port, replicas=nodes - 1, tls=False)

    def start(self):
        self.tool("--port", self.base_port, "--replicas", self.n_replicas, "--galera", "start",
                  timeout=600)
        with open(os.path.join(self.base, "cluster.json")) as f:
            self.layout = json.load(f)

    @property
    def replicas(self):
        return []

    def wsrep(self, ref):
        """The node's wsrep status variables (lower-case names) as a dict."""
        conn = self.root_connect(ref)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE 'wsrep%%'")
                return {k.lower(): v for k, v in cur.fetchall()}
        finally:
            conn.close()

    def desync(self, ref, on=True):
        args = ["desync", self.node(ref)["name"]]
        if not on:
            args.append("--off")
        self.tool(*args)

    def synced(self, ref):
        st = self.wsrep(ref)
        return st.get("wsrep_local_state") == "4" and st.get("wsrep_cluster_status") == "Primary"

    def heal(self):
        """Start stopped nodes (they rejoin by IST or SST) and undo desync,
        then wait until every node is Synced in one Primary component.

        A node left alone in a non-Primary component (the others were
        killed) is told to form a Primary component by itself first
        (pc.bootstrap), so the others can join it. A cluster already whole
        is left as it is, without a tools/cluster call (its `status`, once a
        node, and `start` took 3 to 4 s before each Galera test)."""
        if self._whole():
            return
        running = [n["index"] for n in self.nodes if self.is_running(n["index"])]
        if running and not any(self.wsrep(i).get("wsrep_cluster_status") == "Primary"
                               for i in running):
            self.sql(running[0], "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'")
            wait_until(lambda: self.wsrep(running[0]).get("wsrep_cluster_status") == "Primary",
                       timeout=30, what=f"node{running[0]} Primary after pc.bootstrap")
        self.tool("start", timeout=600)
        for n in self.nodes:
            if self.value(n["index"], "SELECT @@wsrep_desync") != 0:
                self.desync(n["index"], on=False)
        wait_until(lambda: all(self.synced(n["index"]) and
                               int(self.wsrep(n["index"])["wsrep_cluster_size"]) == len(self.nodes)
                               for n in self.nodes),
                   timeout=60, what="every Galera node Synced in a full Primary component")

    def _whole(self):
        """Every node Synced, not desynced, in one Primary component of them all."""
        try:
            for n in self.nodes:
                st = self.wsrep(n["index"])
                if (st.get("wsrep_local_state") != "4" or st.get("wsrep_cluster_status") != "Primary"
                        or int(st.get("wsrep_cluster_size") or 0) != len(self.nodes)
                        or st.get("wsrep_desync_count", "0") != "0"
                        or self.value(n["index"], "SELECT @@wsrep_desync") != 0):
                    return False
        except pymysql.MySQLError:
            return False
        return True


class DualCluster(Cluster):
    """A dual-master pair started by tools/cluster --dual-master --semisync
    in `base`: node0 (the active, read_only=0) and node1 (the standby,
    read_only=1) replicate from each other; node2 is a standalone server,
    the pair's failover witness. Node i serves SQL on port+i."""

    def __init__(self, base, port):
        super().__init__(base, port, replicas=2, semisync=True, tls=False)

    def start(self):
        self.tool("--port", self.base_port, "--dual-master", "--semisync", "start")
        with open(os.path.join(self.base, "cluster.json")) as f:
            self.layout = json.load(f)

    @property
    def replicas(self):
        return [1]

    def sync(self, timeout=30.0, nodes=None, source=0):
        """Wait until the other server of the pair has applied source's binlog."""
        pos = self.value(source, "SELECT @@gtid_binlog_pos")
        other = 1 - source
        got = self.value(other, "SELECT MASTER_GTID_WAIT(%s, %s)", (pos, timeout))
        assert got == 0, f"node{other} did not reach GTID {pos} within {timeout}s"

    def topology_ok(self, running_only=False):
        """node0 writable, node1 read_only, each replicating from the other
        with both threads running; node2 up."""
        try:
            for i, ro_want in ((0, 0), (1, 1)):
                st = self.slave_status(i)
                if (self.value(i, "SELECT @@read_only") != ro_want or not st
                        or st.get("Master_Port") != self.port(1 - i)
                        or st.get("Slave_IO_Running") != "Yes"
                        or st.get("Slave_SQL_Running") != "Yes"):
                    return False
            self.value(2, "SELECT 1")
        except pymysql.MySQLError:
            return False
        return True

    def heal(self):
        """The pair as tools/cluster made it, rebuilt from scratch (about 2 s)
        when a test changed it."""
        if not self.topology_ok():
            self.rebuild()


# Each test halyard's admin socket, by its first listener's port (the tests
# read it as /tmp/halyard-PORT.sock).
TEST_ADMIN_SOCKET = "/tmp/halyard-{port}.sock"


def default_halyard_settings(cluster, port):
    """The config every test starts from: one listener, user app, the cluster's nodes."""
    backends = []
    galera = isinstance(cluster, GaleraCluster)
    for n in cluster.nodes:
        role = n["role"]
        if galera:  # the role until the monitor has seen the nodes
            role = "primary" if n["index"] == 0 else "replica"
        backends.append({"name": n["name"], "address": n.get("host") or "127.0.0.1", "port": n["port"],
                         "role": role})
    extra = {"cluster": "galera"} if galera else {}
    if isinstance(cluster, DualCluster):
        # The pair are the backends; node2 votes in the failover lock.
        witness = backends.pop()
        extra = {"cluster": "dual-master",
                 "witnesses": [{"name": "witness", "address": witness["address"],
                                "port": witness["port"]}]}
        backends[0]["role"], backends[1]["role"] = "primary", "replica"
    if os.environ.get("HALYARD_TEST_POOL_MODE"):  # the whole suite under one pool_mode
        extra["pool_mode"] = os.environ["HALYARD_TEST_POOL_MODE"]
    return {
        **extra,
        "workers": 2,
        "log_level": "debug",
        "listeners": [{"name": "main", "address": "127.0.0.1", "port": port}],
        "users": [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)}],
        "backends": backends,
        "monitor": {"user": MONITOR_USER, "password": MONITOR_PASSWORD},
        # halyard's default is /run/halyard/admin.sock: one per machine
        "admin_socket": TEST_ADMIN_SOCKET,
    }


def template_vars(cluster, port):
    """Variables a raw config text may use as $name (string.Template)."""
    v = {
        "listen_port": port,
        "primary_port": cluster.primary_port,
        "app_user": APP_USER,
        "app_hash": mysql_native_hash(APP_PASSWORD),
        "monitor_user": MONITOR_USER,
        "monitor_password": MONITOR_PASSWORD,
        "monitor_hash": mysql_native_hash(MONITOR_PASSWORD),
    }
    for n in cluster.nodes:
        v[f"{n['name']}_port"] = n["port"]
    return {k: str(x) for k, x in v.items()}


# ---------------------------------------------------------------------------
# A halyard process

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}


class Halyard:
    """One halyard process. Created by the start_halyard fixture."""

    def __init__(self, binary, conf_path, log_path, port, extra_args=(), host="127.0.0.1",
                 prefix=()):
        self.binary = binary
        self.conf_path = conf_path
        self.log_path = log_path
        self.port = port
        self.host = host
        # prefix: e.g. ("ip", "netns", "exec", NS), which execs halyard in NS
        self.args = [*prefix, binary, "-c", conf_path, *extra_args]
        self.proc = None
        self.expected_exit = False
        self._reported = False
        self._conns = []

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        logf = open(self.log_path, "ab")
        env = dict(os.environ)
        # Sanitizer reports go to the log, where teardown looks for them.
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        try:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
        finally:
            logf.close()

    def wait_ready(self, timeout=10.0):
        """Wait until the listener accepts TCP; fail with the log tail if it
        exits or does not within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self._reported = True  # the failure is reported here, not again at teardown
                raise AssertionError(
                    f"halyard exited with {self.proc.returncode} before listening on "
                    f"{self.port}; log {self.log_path}:\n{self.log_tail()}")
            if port_accepts(self.port, self.host):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"halyard not listening on {self.port} after {timeout:.0f}s; "
                    f"log {self.log_path}:\n{self.log_tail()}")
            time.sleep(0.01)

    # -- observing --------------------------------------------------------

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        return tail(self.log_path, lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, pattern, timeout=5.0):
        """Wait until the log matches regex pattern; return the match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text()), timeout,
                          what=f"log line matching {pattern!r} in {self.log_path}")

    @contextlib.contextmanager
    def log_contains(self, pattern, times=None, timeout=2.0):
        """Assert that log lines written while the block runs match pattern
        (at least once, or exactly `times` times)."""
        rx = re.compile(pattern)
        start = len(self.log_text())

        def count():
            return len(rx.findall(self.log_text()[start:]))
        yield
        if times is None:
            wait_until(count, timeout, what=f"{pattern!r} in halyard's log")
        else:
            try:
                wait_until(lambda: count() >= times, timeout)
            except AssertionError:
                pass
            got = count()
            assert got == times, (f"expected {times} log lines matching {pattern!r}, got {got}:\n"
                                  f"{self.log_text()[start:][-4000:]}")

    # -- clients ----------------------------------------------------------

    def conn_params(self, user=APP_USER, password=APP_PASSWORD, **kw):
        params = dict(host=self.host, port=self.port, user=user, password=password,
                      connect_timeout=5, read_timeout=30, write_timeout=30, autocommit=True)
        params.update(kw)
        return params

    def connect(self, user=APP_USER, password=APP_PASSWORD, **kw):
        """A pymysql connection through halyard (as app/app by default); closed at teardown."""
        conn = pymysql.connect(**self.conn_params(user, password, **kw))
        self._conns.append(conn)
        return conn

    def sql(self, query, args=None, **kw):
        """Run one statement on a fresh connection through halyard; return rows."""
        return query_rows(pymysql.connect(**self.conn_params(**kw)), query, args)

    # -- signals ----------------------------------------------------------

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self, conf_text=None):
        """Optionally rewrite the config file, then send SIGHUP."""
        if conf_text is not None:
            with open(self.conf_path, "w") as f:
                f.write(conf_text)
        self.send_signal(signal.SIGHUP)

    def wait(self, timeout=10.0):
        """Wait for the process to exit by itself; return its exit status."""
        self.expected_exit = True
        return self.proc.wait(timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Send sig, wait for the exit (SIGKILL after timeout); return the status."""
        self.expected_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def teardown(self):
        """Close clients, stop the process; return a list of problems found."""
        for c in self._conns:
            with contextlib.suppress(Exception):
                c.close()
        problems = []
        if self.proc is None:
            return problems
        rc = self.proc.poll()
        if self._reported:
            return problems
        if rc is not None and not self.expected_exit:
            problems.append(f"halyard (pid {self.pid}) exited on its own with status {rc}")
        if rc is None:
            self.expected_exit = True
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                problems.append(f"halyard (pid {self.pid}) ignored SIGTERM for 10s; killed")
                self.proc.kill()
                rc = self.proc.wait()
        if rc is not None and rc < 0 and -rc in CRASH_SIGNALS:
            problems.append(f"halyard (pid {self.pid}) died of {signal.Signals(-rc).name}")
        m = SANITIZER_RE.search(self.log_text())
        if m:
            problems.append(f"sanitizer report in {self.log_path}: {m.group(0)}")
        return problems


def render_conf(cluster, port, conf=None, overrides=None):
    """Build halyard's config text.

    conf is None (the defaults), a dict merged over the defaults (a value of
    None removes a key), or raw text in which $listen_port, $node0_port,
    $primary_port, $app_hash ... are substituted (string.Template; $$ is $).
    """
    if isinstance(conf, str):
        if overrides:
            raise ValueError("overrides apply to the default settings, not to raw config text")
        text = string.Template(conf).substitute(template_vars(cluster, port))
        mode = os.environ.get("HALYARD_TEST_POOL_MODE")
        if mode and "pool_mode" not in text:
            text += f'\npool_mode = "{mode}";\n'
        if "admin_socket" not in text:
            text += f'\nadmin_socket = "{TEST_ADMIN_SOCKET}";\n'
        return text
    settings = default_halyard_settings(cluster, port)
    for extra in (conf or {}), (overrides or {}):
        settings.update(extra)
    return render_libconfig(settings)


def app_threads(cluster, node=0):
    """Connections user app has on a node, as the server counts them."""
    rows = cluster.sql(node, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'")
    return int(rows[0][0])


def no_app_threads(cluster, node=0):
    """End every connection user app has on a node, and wait until the
    server counts none: a test that counts the connections its halyard
    holds starts from nothing left of an earlier test. Waiting alone does
    not do it: a statement an earlier test left running (a SLEEP, a lock
    wait) keeps its server thread, and its row, until it ends, although its
    client (or halyard) is gone, since the server sees the closed
    connection only then (a SLEEP(8) whose halyard stopped after 3.5 s kept its row 4.6 s)."""
    ids = [r[0] for r in cluster.sql(node, "SELECT ID FROM information_schema.PROCESSLIST "
                                           "WHERE USER = 'app'")]
    for i in ids:
        with contextlib.suppress(pymysql.MySQLError):  # ended meanwhile: 1094
            cluster.sql(node, f"KILL CONNECTION {int(i)}")
    wait_until(lambda: app_threads(cluster, node) == 0, timeout=5.0,
               what=f"no connection of app on node{node} ({len(ids)} killed; "
                    f"has {app_threads(cluster, node)})")


def sample_config(admin_port=None):
    """conf/halyard.demo.conf, the config `make demo` runs, as a start_halyard
    template: its listener on $listen_port and its three backends on the
    test cluster's nodes ($node0_port...), everything else as the demo has
    it; its SQL admin port off, or on 127.0.0.1:`admin_port` (its accounts
    as the demo has them); its metrics listener (the status page) off."""
    import re
    text = open(os.path.join(REPO, "conf", "halyard.demo.conf")).read().replace("$", "$$")
    assert re.search(r"(?m)^\s+port = 6033;", text)
    text = text.replace("port = 6033;", "port = $listen_port;")
    # The demo's SQL admin port is a fixed address: off here, so that
    # halyards started at once (and other test runs) do not collide on it.
    assert 'admin_listen = "127.0.0.1:6032";' in text
    text = text.replace('admin_listen = "127.0.0.1:6032";',
                        f'admin_listen = "127.0.0.1:{admin_port}";' if admin_port
                        else 'admin_listen = "";')
    # Its metrics listener and status page too (a fixed port as well).
    assert "metrics_port = 6080;" in text and "metrics_status_page = true;" in text
    text = text.replace("metrics_port = 6080;", "metrics_port = 0;")
    text = text.replace("metrics_status_page = true;", "metrics_status_page = false;")
    for i, demo_port in enumerate((3310, 3311, 3312)):
        assert f"port = {demo_port};" in text
        text = text.replace(f"port = {demo_port};", f"port = $node{i}_port;")
    return text


def q(conn, sql, args=None):
    """Run one statement on a pymysql connection; its rows (a tuple of tuples)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def run_on_pty(argv, timeout=300):
    """argv with stdout and stderr a pseudo-terminal, stdin /dev/null: its
    exit status and what it drew, once every writer of the terminal is gone."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.STDOUT)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer of the terminal is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=timeout), out.decode(errors="replace")
