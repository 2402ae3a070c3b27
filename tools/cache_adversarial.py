"""tools/cache-check --adversarial: every cached answer against the server's.

One thread drives, one step at a time, a random mix over a small schema
`adv`: reads, session settings, writes through halyard and directly,
transactions with savepoints, XA transactions left prepared for a while,
temporary tables that shadow base tables, views, a role, SET GLOBAL of
the server's defaults, reconnects. Each client session through halyard
has a twin connected directly to the primary with the same user and is
given the same session statements (SET, USE, CREATE TEMPORARY ...), so
the twin is in the state the halyard session is in. The twins are
tools/mysqlbin.py's connections: half the reads are prepared statements
(the key a parameter, one in 8 with a cursor), a session writes through
halyard itself now and then and reads it back, and session commands
(COM_PING, COM_RESET_CONNECTION, COM_CHANGE_USER) run on both sides
between the steps, answers compared. Each setting prints its matrix:
protocol x pool_mode x the session command before the read (reads, hits,
wrong answers).

Every read is sent through halyard and then, at once, to the twin. When
halyard's cache answered it (its `show cache` hits counter moved: the
steps run one at a time, so the read is the only one that can move it),
its answer must be the twin's: rows, columns' values, or error code. A
difference is a wrong answer. The statements are drawn from shapes the
cache must either key or refuse: time and session functions with and
without parentheses, TIMESTAMP columns under time_zone, sql_mode's
PIPES_AS_CONCAT, div_precision_increment, SET NAMES, SET ROLE, READ
UNCOMMITTED, sql_log_bin = 0 through halyard, views, names differing
only by case, a MyISAM table written in a transaction rolled back to a
savepoint.

A write halyard does not relay (the direct connection's) holds the next
read until halyard's reader has applied the primary's position read
after it (`show cache`'s applied_gtid: its entries are dropped, a fill
that raced it refused), or for cache.max_lag_ms plus a margin, halyard's
bound for writes it did not see (docs/configuration.md), if that comes
first. A pause of the whole bound after each took a third of a run's
time (seed 7: 81 direct writes, 18 s of 60). The
writes no binary log shows (sql_log_bin = 0 on a direct connection) are
not made: that is --force-stale's check, and the documented limit.

Three reads in four are of the shapes the cache keeps, of the first two
rows, so that hits are common (1 read in 2.6 to 4.5 with --short) and "0
wrong answers" says something; the writer through halyard is unlogged
(sql_log_bin = 0) for one write or transaction now and then. After a SET
GLOBAL every session and its twin begin again, once halyard has seen
it: a session keeps the defaults of its login, which halyard's pooled
connections do not (docs/pooling.md), hit or miss.

Prints `reads: N (cache hits: H, 1 in R)` and `wrong answers: N`, with
the first examples, each with the steps that led to it; exit status 0
when there is no wrong answer and at least --min-reads reads (a setting
runs past its --seconds, for at most four times as long, until it has
read its share of them: a loaded host steps slower). --trace
FILE writes every step, each read's two answers and whether it hit, with
time.monotonic() (halyard's cache clock too).

--settings picks the servers' settings (a comma-separated list runs each
on a cluster of its own): `default` (tools/cluster's), `mixed`
(binlog_format = MIXED), `lctn1` (lower_case_table_names = 1),
`no-lsu` (log_slave_updates = 0); and `ryw-session`, tools/cluster's
servers with halyard's cache.read_your_writes = "session" (a write by
another session through halyard then waited for as a direct one). A
setting may end in @session or @transaction: halyard's pool_mode.
"""

import os
import random
import shutil
import time

import pymysql

import mysqlbin as mb
import rawmysql as rm
from util import Cluster, Halyard, admin_json, free_port, mysql_native_hash, render_conf, \
    wait_until

USER, PASSWORD = "advu", "advu"
ROLE = "adv_r"
IDS = range(1, 7)
SETTINGS = {
    "default": [],
    "mixed": ["--binlog-format=MIXED"],
    "lctn1": ["--lower-case-table-names=1"],
    "no-lsu": ["--log-slave-updates=0"],
    # halyard's: the servers' default settings, cache.read_your_writes = "session"
    "ryw-session": [],
}
# The writer through halyard is unlogged now and then: the primary then
# holds a row change its replicas never get, and a later logged change of
# that row (a DELETE, or an UPDATE's whole before-image) stops a strict
# replica with 1032 (CI, 2026-11-28: node1 stopped, the next setting's sync
# timed out). Reads go to the primary here (read_write_split off); the
# replicas only have to go on replicating.
REPLICA_OPTS = ["--slave-exec-mode=IDEMPOTENT"]
SESSION_CMDS = ("none", "COM_PING", "COM_RESET_CONNECTION", "COM_CHANGE_USER")

SCHEMA = [
    "DROP DATABASE IF EXISTS adv",
    "CREATE DATABASE adv CHARACTER SET utf8mb4",
    "CREATE TABLE adv.t1 (id INT PRIMARY KEY, a INT, b VARCHAR(32), "
    "ts TIMESTAMP NULL) ENGINE=InnoDB",
    "CREATE TABLE adv.t2 (id INT PRIMARY KEY, a INT) ENGINE=InnoDB",
    "CREATE TABLE adv.m (id INT PRIMARY KEY, a INT) ENGINE=MyISAM",
    "CREATE TABLE adv.secret (id INT PRIMARY KEY, a INT) ENGINE=InnoDB",
    "CREATE TABLE adv.base2 (id INT PRIMARY KEY, a INT) ENGINE=InnoDB",
    "CREATE VIEW adv.v1 AS SELECT id, a * 2 AS a2 FROM adv.t2",
]
# lower_case_table_names = 0 only: a base table and a view whose names
# differ only by case
CASE_SCHEMA = [
    "CREATE TABLE adv.Tc (id INT PRIMARY KEY, a INT) ENGINE=InnoDB",
    "CREATE VIEW adv.tc AS SELECT id, a FROM adv.base2",
]
GRANTS = [
    f"DROP USER IF EXISTS '{USER}'@'%'",
    f"DROP ROLE IF EXISTS {ROLE}",
    f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'",
    f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES, BINLOG ADMIN "
    f"ON *.* TO '{USER}'@'%'",
    f"REVOKE SELECT ON *.* FROM '{USER}'@'%'",
    f"GRANT SELECT ON adv.t1 TO '{USER}'@'%'",
    f"GRANT SELECT ON adv.t2 TO '{USER}'@'%'",
    f"GRANT SELECT ON adv.m TO '{USER}'@'%'",
    f"GRANT SELECT ON adv.base2 TO '{USER}'@'%'",
    f"GRANT SELECT ON adv.v1 TO '{USER}'@'%'",
    f"CREATE ROLE {ROLE}",
    f"GRANT SELECT ON adv.secret TO {ROLE}",
    f"GRANT {ROLE} TO '{USER}'@'%'",
]
CASE_GRANTS = [
    f"GRANT SELECT ON adv.Tc TO '{USER}'@'%'",
    f"GRANT SELECT ON adv.tc TO '{USER}'@'%'",
]


def reads(lctn0):
    """The read shapes: each a function of a random generator."""
    k = "{k}"
    shapes = [
        f"SELECT a, b FROM adv.t1 WHERE id = {k}",
        f"SELECT a, b FROM t1 WHERE id = {k}",
        "SELECT id, a, b FROM adv.t1 ORDER BY id",
        f"SELECT ts FROM adv.t1 WHERE id = {k}",
        f"SELECT a / 7 FROM adv.t1 WHERE id = {k}",
        f"SELECT a || 'x' FROM adv.t1 WHERE id = {k}",
        f"SELECT b FROM adv.t1 WHERE id = {k}",
        "SELECT COUNT(*), SUM(a) FROM adv.t2",
        f"SELECT a FROM adv.t2 WHERE id = {k}",
        "SELECT * FROM adv.v1 ORDER BY id",
        "SELECT * FROM adv.m ORDER BY id",
        f"SELECT a FROM adv.m WHERE id = {k}",
        "SELECT * FROM adv.secret ORDER BY id",
        "SELECT * FROM adv.base2 ORDER BY id",
        f"SELECT id, CURRENT_TIMESTAMP FROM adv.t1 WHERE id = {k}",
        f"SELECT id, CURRENT_TIME, LOCALTIME FROM adv.t1 WHERE id = {k}",
        f"SELECT id, UTC_TIMESTAMP, UTC_TIME FROM adv.t1 WHERE id = {k}",
        f"SELECT id, SYSDATE() FROM adv.t1 WHERE id = {k}",
        f"SELECT id, UNIX_TIMESTAMP() FROM adv.t1 WHERE id = {k}",
        f"SELECT id, CURRENT_USER, CURRENT_ROLE FROM adv.t1 WHERE id = {k}",
        f"SELECT id, CURRENT_ROLE() FROM adv.t1 WHERE id = {k}",
        f"SELECT id, @@time_zone FROM adv.t1 WHERE id = {k}",
        f"SELECT COUNT(*) FROM adv.t1 WHERE ts < NOW() - INTERVAL {k} SECOND",
        f"SELECT id, CONVERT_TZ(ts, @@session.time_zone, '+00:00') FROM adv.t1 WHERE id = {k}",
        f"SELECT id, DATABASE() FROM adv.t1 WHERE id = {k}",
        "SELECT t1.id, t2.a FROM adv.t1 JOIN adv.t2 USING (id) ORDER BY t1.id",
    ]
    if lctn0:
        shapes += ["SELECT * FROM adv.tc ORDER BY id", "SELECT * FROM adv.Tc ORDER BY id"]
    return shapes


# What makes a read shape one the cache never keeps: the clock, the user,
# the role, a variable, the schema, a view, a table readable only through
# a role (and `SELECT b`, left out to keep the same shapes hot)
NOT_KEPT = ("CURRENT_", "UTC_", "SYSDATE(", "UNIX_TIMESTAMP(", "NOW(", "@@", "DATABASE(",
            "adv.v1", "adv.secret", "adv.tc ", "SELECT b ")


def cacheable(lctn0):
    """The read shapes the cache keeps (under some session state)."""
    return [s for s in reads(lctn0) if not any(w in s for w in NOT_KEPT)]


SESSION_SETS = [
    "SET time_zone = '+05:00'", "SET time_zone = '+00:00'", "SET time_zone = 'SYSTEM'",
    "SET sql_mode = 'PIPES_AS_CONCAT'", "SET sql_mode = DEFAULT",
    "SET NAMES latin1", "SET NAMES utf8mb4",
    "SET div_precision_increment = 8", "SET div_precision_increment = DEFAULT",
    f"SET ROLE {ROLE}", "SET ROLE NONE",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "SET sql_log_bin = 1",
    "SET autocommit = 0", "SET autocommit = 1",
    "USE adv",
]
GLOBAL_SETS = [
    ("time_zone", ["'+03:00'", "'SYSTEM'"]),
    ("sql_mode", ["'PIPES_AS_CONCAT'", "DEFAULT"]),
    ("div_precision_increment", ["9", "DEFAULT"]),
]


def write_sql(rnd):
    """One write statement to a base table."""
    k = rnd.choice(IDS)
    v = rnd.randrange(1000)
    return rnd.choice([
        f"UPDATE adv.t1 SET a = {v}, b = 'é{v}', ts = FROM_UNIXTIME({1700000000 + v}) "
        f"WHERE id = {k}",
        f"UPDATE adv.t2 SET a = {v} WHERE id = {k}",
        f"DELETE FROM adv.t2 WHERE id = {k}",
        f"REPLACE INTO adv.t2 VALUES ({k}, {v})",
        f"UPDATE adv.m SET a = {v} WHERE id = {k}",
        f"UPDATE adv.secret SET a = {v} WHERE id = {k}",
        f"UPDATE adv.base2 SET a = {v} WHERE id = {k}",
    ])


_TRACE = []  # --trace: the open file


def gtid_covers(applied, want):
    """Whether the GTID position `applied` holds every transaction of
    `want` (both "domain-server-seq,..."): per domain, a sequence number at
    least as high."""
    def parse(pos):
        out = {}
        for g in (pos or "").split(","):
            parts = g.strip().split("-")
            if len(parts) == 3 and all(p.isdigit() for p in parts):
                out[int(parts[0])] = int(parts[2])
        return out
    have = parse(applied)
    return all(have.get(d, -1) >= n for d, n in parse(want).items())


def trace(line):
    """One step in --trace's file: time.monotonic() (halyard's cache_clock
    too), then what was done."""
    if _TRACE:
        _TRACE[0].write(f"{time.monotonic():.3f} {line}\n")


def result_of(cur, sql):
    """('rows', rows) or ('error', code): what a client sees."""
    try:
        cur.execute(sql)
        return ("rows", tuple(tuple(str(x) for x in r) for r in cur.fetchall()))
    except pymysql.MySQLError as e:
        return ("error", e.args[0] if e.args else None)


def answer_of(results):
    """A twin's answer (mysqlbin's results, text or binary): ('rows', the
    last result's rows), or ('ok',)."""
    r = results[-1]
    return ("rows", tuple(r.rows)) if r.columns else ("ok",)


def text_of(c, sql):
    try:
        return answer_of(c.query(sql))
    except rm.MySQLError as e:
        return ("error", e.code)


def prepared_of(c, stmts, sql, params, cursor):
    """A read by the binary protocol: prepared once a connection (stmts:
    text -> mysqlbin.Stmt), executed with params, with a cursor or not."""
    try:
        st = stmts.get(sql)
        if st is None:
            st = stmts[sql] = c.prepare(sql)
        return answer_of(c.execute(st, params, cursor=cursor, fetch=2))
    except rm.MySQLError as e:
        if e.code == 1243:
            stmts.pop(sql, None)
        return ("error", e.code)


class Twin:
    """A session through halyard and its twin on the primary."""

    def __init__(self, adv, name):
        self.adv, self.name = adv, name
        self.h = self.d = None
        self.steps = []
        self.open()

    def open(self):
        for c in (self.h, self.d):
            if c is not None:
                c.close()
        # mysqlbin's connections: text and prepared statements, and the
        # session commands (utf8mb4, as pymysql's were)
        for side, port in (("h", self.adv.h.port), ("d", self.adv.cluster.primary_port)):
            c = mb.BinConn("127.0.0.1", port, timeout=30)
            c.login(USER, PASSWORD, db="adv", caps=rm.DEFAULT_CAPS | rm.CLIENT_MULTI_STATEMENTS)
            setattr(self, side, c)
        self.stmts = {"h": {}, "d": {}}
        self.temp = False
        self.last_cmd = "none"
        trace(f"{self.name}: [reconnected]")
        self.both("SET innodb_lock_wait_timeout = 1")

    def both(self, sql):
        trace(f"{self.name}: {sql}")
        self.steps.append(sql)
        del self.steps[:-12]
        for c in (self.h, self.d):
            text_of(c, sql)

    def command(self, cmd):
        """A session command on both sides: COM_PING, COM_RESET_CONNECTION
        or COM_CHANGE_USER (the same user, adv): after the last two the
        session is as new (its settings, role, temporary table and
        prepared statements gone); the answers compared."""
        trace(f"{self.name}: {cmd}")
        self.steps.append(cmd)
        got = []
        for c in (self.h, self.d):
            try:
                if cmd == "COM_CHANGE_USER":
                    c.change_user(USER, PASSWORD, db="adv")
                else:
                    c.command(rm.COM_PING if cmd == "COM_PING" else rm.COM_RESET_CONNECTION)
                got.append("ok")
            except rm.MySQLError as e:
                got.append(("error", e.code))
        self.last_cmd = cmd
        if cmd != "COM_PING":
            self.stmts = {"h": {}, "d": {}}
            self.temp = False
            self.both("SET innodb_lock_wait_timeout = 1")
        return got


class Adversary:
    def __init__(self, args, cluster, h, settings):
        self.pending = {}  # writer name -> (kind, statements left to end it)
        self.args, self.cluster, self.h, self.settings = args, cluster, h, settings
        self.rnd = random.Random(args.seed)
        self.lctn0 = settings != "lctn1"
        self.shapes = reads(self.lctn0)
        self.hot = cacheable(self.lctn0)
        self.reads = self.hits = self.wrong = self.miss_differ = 0
        self.examples = []
        self.miss_examples = []  # misses answered otherwise than the twin: not the cache's
        self.globals_set = set()
        self.h_unlogged = False
        self.wait_until = 0.0
        self.want_gtid = None  # the primary's position after a direct write
        # the twin whose own write through halyard the pending wait is for:
        # it reads it back at once, the others wait (read_your_writes)
        self.exempt = None
        self.ryw_session = settings == "ryw-session"
        # the matrix: (protocol, the session command before the read) ->
        # [reads, hits, wrong answers]
        self.cells = {(p, c): [0, 0, 0] for p in ("text", "binary") for c in SESSION_CMDS}
        self.cmd_wrong = 0

    def hits_now(self):
        return admin_json(self.h.sock, "show cache")["hits"]

    def root(self):
        return self.cluster.root_connect(0, autocommit=True)

    def close(self):
        """Every connection of the run, its twins' too: a twin's session on
        the primary may hold a transaction open, whose locks the next
        setting's DROP DATABASE waited on (the cluster kept: a read timed out
        after 60 s in make check, 2026-11-28) until the cycle of twins and
        adversary was collected."""
        for tw in getattr(self, "twins", []):
            for c in (tw.h, tw.d):
                if c is not None:
                    c.close()
        for name in ("wd", "wh"):
            c = getattr(self, name, None)
            if c is not None and c.open:
                c.close()

    def read(self, tw):
        # 75% of the reads are of the shapes the cache keeps, of the first
        # two rows: the same statements again and again, so that most of
        # them can be hits; the others are of any shape and row
        if self.rnd.random() < 0.75:
            shape, k = self.rnd.choice(self.hot), self.rnd.choice(IDS[:2])
        else:
            shape, k = self.rnd.choice(self.shapes), self.rnd.choice(IDS)
        sql = shape.format(k=k)
        # half the reads prepared (binary protocol), the key a parameter;
        # one in 8 of those with a cursor (which the cache does not serve)
        binary = self.rnd.random() < 0.5
        cursor = binary and self.rnd.random() < 0.125
        if binary:
            params = [k] * shape.count("{k}")
            ps_sql = shape.replace("{k}", "?")
        self.wait_applied(tw)
        h0 = self.hits_now()
        got = prepared_of(tw.h, tw.stmts["h"], ps_sql, params, cursor) if binary else \
            text_of(tw.h, sql)
        hit = self.hits_now() > h0
        want = prepared_of(tw.d, tw.stmts["d"], ps_sql, params, cursor) if binary else \
            text_of(tw.d, sql)
        cell = self.cells[("binary" if binary else "text", tw.last_cmd)]
        tw.last_cmd = "none"
        cell[0] += 1
        cell[1] += hit
        self.reads += 1
        self.hits += hit
        if binary:
            sql = f"{ps_sql} [prepared, ? = {k}{', cursor' if cursor else ''}]"
        trace(f"{tw.name} read {'HIT' if hit else 'miss'} {sql} -> {got!r} direct {want!r}")
        if got == want:
            return
        if not hit:
            self.miss_differ += 1  # the server's own answer a moment apart (clocks)
            if len(self.miss_examples) < 3:
                self.miss_examples.append(f"{tw.name}: {sql!r}: {got!r}, direct {want!r}")
            return
        self.wrong += 1
        cell[2] += 1
        if len(self.examples) < self.args.examples:
            self.examples.append(f"{tw.name}: {sql!r}: cached {got!r}, the server {want!r}; "
                                 f"after: {' | '.join(tw.steps[-8:])}")

    def wait_applied(self, tw=None):
        """After a write halyard did not relay (or a global change), wait
        until halyard must answer as the server does: its reader has
        applied the primary's position read after the write (the entries it
        drops are gone, a fill that raced it refused), or cache.max_lag_ms
        (and a margin) has passed, the bound halyard keeps for such writes
        whatever its reader does. Either way a read after it must agree.
        A session's own write through halyard it reads back at once: its
        wait is the other sessions' (read_your_writes = "session")."""
        if tw is not None and tw is self.exempt:
            return
        while time.monotonic() < self.wait_until:
            if self.want_gtid is not None and gtid_covers(
                    admin_json(self.h.sock, "show cache").get("applied_gtid", ""), self.want_gtid):
                break
            time.sleep(0.005)
        self.wait_until = 0.0
        self.want_gtid = None
        self.exempt = None

    def hold(self, own=None):
        """The next reads wait for the primary's position now (a write the
        readers' halyard sessions did not make, for them), but for own's."""
        pending = self.wait_until > time.monotonic()
        self.wait_until = time.monotonic() + (self.args.max_lag_ms + 150) / 1000.0
        with self.wd.cursor() as cur:
            cur.execute("SELECT @@gtid_binlog_pos")
            self.want_gtid = cur.fetchone()[0]
        # a wait already pending (a direct write's, another session's) holds everyone
        self.exempt = None if pending and self.exempt is not own else own

    def own_write(self, tw):
        """A write by the session itself through halyard, then COMMIT on
        both sides (each side's transaction, if autocommit is off, ends:
        the twin's snapshot must see it too). Its next read must see it
        (read-your-writes); under read_your_writes = "session" the other
        sessions' reads wait as for a write halyard did not relay."""
        sql = write_sql(self.rnd)
        trace(f"{tw.name}: [own write] {sql}")
        tw.steps.append(f"[own write] {sql}")
        text_of(tw.h, sql)
        tw.both("COMMIT")
        if self.ryw_session:
            self.hold(own=tw)

    def writer(self, tw, direct):
        """Advance one writer, through halyard or direct: a write, or a step
        of a transaction it keeps open across other steps (BEGIN /
        SAVEPOINT / XA)."""
        name = "d" if direct else "h"
        c = self.wd if direct else self.wh
        rnd = self.rnd
        with c.cursor() as cur:
            if name in self.pending:
                kind, left = self.pending[name]
                sql = left.pop(0)
                if not left:
                    del self.pending[name]
            else:
                kind = rnd.choice(["plain", "plain", "trx", "savepoint", "xa"])
                if kind == "plain":
                    sql = write_sql(rnd)
                elif kind == "trx":
                    sql = "BEGIN; " + write_sql(rnd) + "; " + write_sql(rnd)
                    self.pending[name] = (kind, [rnd.choice(["COMMIT", "ROLLBACK"])])
                elif kind == "savepoint":
                    sql = (f"BEGIN; {write_sql(rnd)}; SAVEPOINT s; {write_sql(rnd)}; "
                           f"UPDATE adv.m SET a = a + 1 WHERE id = {rnd.choice(IDS)}")
                    self.pending[name] = (kind, ["ROLLBACK TO SAVEPOINT s",
                                                 rnd.choice(["COMMIT", "ROLLBACK"])])
                else:
                    xid = f"'x{rnd.randrange(10**9)}'"
                    sql = f"XA START {xid}; {write_sql(rnd)}; XA END {xid}; XA PREPARE {xid}"
                    self.pending[name] = (kind, [f"XA {rnd.choice(['COMMIT', 'ROLLBACK'])} "
                                                 f"{xid}"])
            for t in self.twins:
                t.steps.append(f"[{name} write] {sql}")
            trace(f"[{name} write] {sql}")
            for s in sql.split("; "):
                r = result_of(cur, s)
                if r[0] == "error" and s.startswith(("XA START", "BEGIN")):
                    self.pending.pop(name, None)
                    result_of(cur, "ROLLBACK")
                    break
        if direct or self.ryw_session:
            # under read_your_writes = "session" the writer through halyard
            # is another session: the readers' sessions wait for its write
            # as for one halyard did not relay
            self.hold()
        if not direct and self.h_unlogged and name not in self.pending:
            self.log_bin(True)

    def log_bin(self, on):
        sql = f"SET sql_log_bin = {int(on)}"
        r = result_of(self.wh.cursor(), sql)
        if r[0] == "rows":  # refused inside a transaction: as it was
            self.h_unlogged = not on
        trace(f"[h] {sql}")
        for t in self.twins:
            t.steps.append(f"[h] {sql}")

    def set_global(self):
        var, vals = self.rnd.choice(GLOBAL_SETS)
        val = self.rnd.choice(vals)
        c = self.root()
        try:
            with c.cursor() as cur:
                cur.execute(f"SET GLOBAL {var} = {val}")
        finally:
            c.close()
        self.globals_set.add(var)
        trace(f"SET GLOBAL {var} = {val}")
        # a session keeps the defaults of its login, but halyard's pooled
        # connections take the new ones (docs/pooling.md): a session and
        # its twin opened before would differ, hit or miss, so both begin
        # again, once halyard has seen the change (a connection reset for a
        # session before that would be refused until it is reset again)
        time.sleep((self.args.max_lag_ms + 150) / 1000.0)
        for t in self.twins:
            t.open()
            t.steps.append("[reconnected after SET GLOBAL]")
        # the reader sees a global default at its next probe, not in the
        # binary log: the whole bound, as a direct write once was
        self.wait_until = time.monotonic() + (self.args.max_lag_ms + 150) / 1000.0
        self.want_gtid = None

    def temp(self, tw):
        if tw.temp:
            tw.both("DROP TEMPORARY TABLE t2")
            tw.open()  # halyard never serves a session that had one again
            tw.steps.append("[reconnected]")
            return
        else:
            tw.both("CREATE TEMPORARY TABLE t2 (id INT PRIMARY KEY, a INT)")
            tw.both(f"INSERT INTO t2 VALUES (1, {self.rnd.randrange(100)})")
        tw.temp = not tw.temp

    def step(self, twins):
        tw = self.rnd.choice(twins)
        if self.prev is not None and self.prev.last_cmd != "none" and self.rnd.random() < 0.6:
            # after a session command, a read of that session more often
            tw = self.prev
        self.prev = tw
        p = self.rnd.random()
        if p < 0.80:
            self.read(tw)
        elif p < 0.81:
            self.own_write(tw)
        elif p < 0.84:
            tw.both(self.rnd.choice(SESSION_SETS))
        elif p < 0.88:
            self.writer(tw, direct=False)
        elif p < 0.90:
            self.writer(tw, direct=True)
        elif p < 0.908:
            self.temp(tw)
        elif p < 0.918:
            # a change of a global default leaves every connection opened
            # before unserved (pooled ones too): in the run's last 40% only
            if time.monotonic() > self.late:
                self.set_global()
        elif p < 0.933:
            # the writer through halyard unlogged now and then, for one
            # write or transaction (each empties the cache)
            if self.h_unlogged or self.rnd.random() < 0.12:
                self.log_bin(self.h_unlogged)
        elif p < 0.95:
            tw.open()
            tw.steps.append("[reconnected]")
        else:
            cmd = self.rnd.choice(SESSION_CMDS[1:])
            got = tw.command(cmd)
            if got[0] != got[1]:
                self.wrong += 1
                self.cmd_wrong += 1
                if len(self.examples) < self.args.examples:
                    self.examples.append(f"{tw.name}: {cmd}: halyard {got[0]!r}, the server "
                                         f"{got[1]!r}; after: {' | '.join(tw.steps[-8:])}")
                tw.open()

    def run(self):
        self.prev = None
        self.wd = self.root()
        with self.wd.cursor() as cur:
            cur.execute("SET innodb_lock_wait_timeout = 1")
        # the writer through halyard: a session of the same user
        self.wh = pymysql.connect(host="127.0.0.1", port=self.h.port, user=USER,
                                  password=PASSWORD, database="adv", autocommit=True)
        with self.wh.cursor() as cur:
            cur.execute("SET innodb_lock_wait_timeout = 1")
        self.twins = twins = [Twin(self, f"s{i}") for i in range(self.args.sessions)]
        end = time.monotonic() + self.args.seconds
        self.late = end - 0.4 * self.args.seconds
        # A loaded host runs fewer steps in the time: a setting goes on
        # past it until it has read its share of --min-reads (the tools
        # track of make check read 796 to 989 in all where a quiet host
        # reads 9,000), for at most four times as long.
        last = end + 3 * self.args.seconds
        while time.monotonic() < end or (self.reads < self.args.floor and time.monotonic() < last):
            self.step(twins)
        for name, (_, left) in list(self.pending.items()):
            c = self.wd if name == "d" else self.wh
            with c.cursor() as cur:
                for s in left:
                    result_of(cur, s)
        c = self.root()
        with c.cursor() as cur:
            for var in self.globals_set:
                cur.execute(f"SET GLOBAL {var} = DEFAULT")
        c.close()


def setup(cluster, lctn0):
    for q in SCHEMA + (CASE_SCHEMA if lctn0 else []):
        cluster.sql(0, q)
    for t in ("t1", "t2", "m", "secret", "base2") + (("Tc",) if lctn0 else ()):
        cols = "(id, a, b, ts)" if t == "t1" else "(id, a)"
        vals = ", ".join(f"({i}, {i * 10}, 'b{i}', FROM_UNIXTIME(1700000000))" if t == "t1"
                         else f"({i}, {i * 10})" for i in IDS)
        cluster.sql(0, f"INSERT INTO adv.{t} {cols} VALUES {vals}")
    for q in GRANTS + (CASE_GRANTS if lctn0 else []):
        cluster.sql(0, q)


def halyard_conf(args, cluster, listen, sock, settings, pool_mode):
    return render_conf(cluster, listen, {
        "log_level": "info",
        **({"pool_mode": pool_mode} if pool_mode else {}),
        "read_write_split": False,
        "admin_socket": sock,
        "users": [{"name": USER, "password_hash": mysql_native_hash(PASSWORD)}],
        "rules": [{"name": "cache-all", "match_text": r"(?i)^\s*SELECT", "action": "cache",
                   "ttl_ms": 600000}],
        "cache": {"user": "backup", "password": "backup", "server_id": 4100,
                  "max_lag_ms": args.max_lag_ms,
                  **({"read_your_writes": "session"} if settings == "ryw-session" else {})},
    })


def run_one(args, base, entry, log, keep_cluster=False):
    """One cluster with the settings (SETTINGS[@pool_mode]; the one before's
    if it had the same servers' settings: started again only if not), one
    halyard, the run; (reads, hits, wrong, examples)."""
    settings, _, pool_mode = entry.partition("@")
    pool_mode = pool_mode or os.environ.get("HALYARD_TEST_POOL_MODE") or "transaction"
    cluster = _KEPT["cluster"] if _KEPT["opts"] == SETTINGS[settings] else \
        Cluster(os.path.join(base, "cluster"), args.port, replicas=args.replicas, tls=False,
                mysqld_opts=SETTINGS[settings] + REPLICA_OPTS)
    run_dir = os.path.join(base, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    h = adv = None
    try:
        if _KEPT["opts"] != SETTINGS[settings]:
            cluster.destroy()
            cluster.start()
        _KEPT.update(opts=SETTINGS[settings] if keep_cluster else None,
                     cluster=cluster if keep_cluster else None)
        setup(cluster, settings != "lctn1")
        cluster.sync(timeout=30)
        listen = free_port()
        sock = os.path.join(run_dir, "halyard.sock")
        path = os.path.join(run_dir, "halyard.conf")
        with open(path, "w") as f:
            f.write(halyard_conf(args, cluster, listen, sock, settings, pool_mode))
        h = Halyard(args.halyard, path, os.path.join(run_dir, "halyard.log"), listen)
        h.sock = sock
        h.start()
        h.wait_ready()
        wait_until(lambda: admin_json(sock, "show cache")["streaming"], 30,
                   what="the cache's reader streaming")
        log(f"[{entry}] cluster and halyard up (pool_mode {pool_mode}, read_your_writes "
            f"{'session' if settings == 'ryw-session' else 'global'}); "
            f"{args.seconds:.0f} s of adversarial steps, seed {args.seed}")
        adv = Adversary(args, cluster, h, settings)
        adv.run()
        log(f"[{settings}] reads: {adv.reads} (cache hits: {adv.hits}), wrong answers: "
            f"{adv.wrong}, misses that differed (the server a moment apart): "
            f"{adv.miss_differ}")
        st = admin_json(sock, "show cache")
        log(f"[{settings}] the cache: " + ", ".join(
            f"{k} {v}" for k, v in st.items()
            if isinstance(v, int) and v and (k.startswith(("fills", "invalidated", "refused"))
                                             or k in ("entries", "misses"))))
        for e in adv.miss_examples if args.verbose else ():
            log(f"    miss: {e}")
        log(f"[{entry}] reads by protocol x pool_mode x the session command before them: "
            f"reads, cache hits, wrong answers")
        for (proto, cmd), (n, hits, bad) in adv.cells.items():
            log(f"[{entry}]     {proto:6}  {pool_mode:11}  {cmd:20}  {n:6}  {hits:6}  {bad}")
        if adv.cmd_wrong:
            log(f"[{entry}] session commands answered otherwise than by the server: "
                f"{adv.cmd_wrong}")
        return adv.reads, adv.hits, adv.wrong, adv.examples
    finally:
        if adv is not None:
            adv.close()
        if h is not None and h.alive():
            h.stop()
        if not args.keep and not keep_cluster:
            cluster.destroy()
            _KEPT.update(opts=None, cluster=None)


_KEPT = {"opts": None, "cluster": None}  # the cluster left running for the next setting


def main(args, log):
    base = f"/tmp/halyard-cache-check-{os.geteuid()}"
    os.makedirs(base, exist_ok=True)
    total = [0, 0, 0]
    examples = []
    entries = args.settings.split(",")
    for s in entries:
        name, _, pool = s.partition("@")
        if name not in SETTINGS or pool not in ("", "session", "transaction"):
            raise SystemExit(f"--settings: unknown {s!r} (one of {', '.join(SETTINGS)}, each "
                             f"with @session or @transaction or not)")
    t0 = time.monotonic()
    args.floor = -(-args.min_reads // len(entries))  # each setting's share of --min-reads
    if args.trace:
        _TRACE.append(open(args.trace, "w"))
    for i, s in enumerate(entries):
        # the next on the same servers' settings keeps the cluster
        keep = i + 1 < len(entries) and \
            SETTINGS[entries[i + 1].partition("@")[0]] == SETTINGS[s.partition("@")[0]]
        n, hits, wrong, ex = run_one(args, base, s, log, keep_cluster=keep)
        total = [total[0] + n, total[1] + hits, total[2] + wrong]
        examples += [f"[{s}] {e}" for e in ex]
    for e in examples:
        print(f"    {e}")
    print(f"reads: {total[0]} (cache hits: {total[1]}, 1 in "
          f"{total[0] / total[1] if total[1] else float('inf'):.1f})")
    print(f"wrong answers: {total[2]}")
    ok = total[2] == 0 and total[0] >= args.min_reads
    if total[0] < args.min_reads:
        print(f"too few reads: {total[0]} < --min-reads {args.min_reads}")
    print(f"cache-check --adversarial {'passed' if ok else 'FAILED'} in "
          f"{time.monotonic() - t0:.0f} s")
    return 0 if ok else 1
