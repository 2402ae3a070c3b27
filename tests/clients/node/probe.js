#!/usr/bin/env node
// A real node client (mysql2) for tests/integration/test_mysql2.py: it runs
// the checks named on its command line against one server or halyard and
// prints one JSON object, check name -> what mysql2 saw. The test runs it
// against the server directly and through halyard and compares.
//
//   node probe.js HOST PORT USER PASSWORD DATABASE CHECK...
//
// Checks: extmeta compress plain execute errors multi change_user ping
// own_row uservar_types global server_account. change_user needs the
// account monitor/monitor besides USER; server_account the account named
// by M2_ACCOUNT (user:password), made on the server only.
'use strict';

const mysql = require('mysql2/promise');

const [host, port, user, password, database, ...checks] = process.argv.slice(2);
if (!checks.length) {
  console.error('usage: probe.js HOST PORT USER PASSWORD DATABASE CHECK...');
  process.exit(2);
}

function connect(extra = {}) {
  return mysql.createConnection({
    host,
    port: Number(port),
    user,
    password,
    database,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: 20000,
    ...extra,
  });
}

// JSON for what mysql2 returns: Buffers as hex, Dates as ISO strings,
// BigInts as strings, undefined as the string "undefined" (so a missing
// value is not confused with null).
function plain(v) {
  if (v === undefined) return 'undefined';
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (v instanceof Date) return { date: v.toISOString() };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

function fieldInfo(f) {
  return {
    name: f.name,
    orgName: f.orgName,
    table: f.table,
    columnType: f.columnType,
    type: f.type,
    characterSet: f.characterSet,
    columnLength: f.columnLength,
    flags: f.flags,
    decimals: f.decimals,
    extendedTypeName: plain(f.extendedTypeName),
    extendedFormat: plain(f.extendedFormat),
  };
}

function errInfo(e) {
  return { code: e.code, errno: e.errno, sqlState: e.sqlState, sqlMessage: e.sqlMessage };
}

// The bytes mysql2 read from its socket while fn ran.
async function bytesRead(conn, fn) {
  const stream = conn.connection.stream;
  const before = stream.bytesRead;
  const out = await fn();
  return [out, stream.bytesRead - before];
}

const EXTMETA_SQL =
  "SELECT JSON_OBJECT('a', 1, 'b', JSON_ARRAY(2, 'x')) AS j, CAST('::1' AS INET6) AS i6, " +
  "CAST('123e4567-e89b-12d3-a456-426655440000' AS UUID) AS u, 7 AS n";

const BIG = 'SELECT REPEAT(\'abcdefgh\', 131072) AS big, ' +
  "(SELECT GROUP_CONCAT(MD5(seq) SEPARATOR '') FROM seq_1_to_5000) AS md5s";

const run = {
  // MariaDB's extended metadata: mysql2 asks for it when offered and then
  // knows a JSON column (extendedFormat "json") and parses its values.
  async extmeta() {
    const c = await connect();
    try {
      await c.query('DROP TABLE IF EXISTS m2_json');
      await c.query('CREATE TABLE m2_json (id INT PRIMARY KEY, doc JSON, addr INET6, ' +
                    'tag UUID, note TEXT)');
      await c.query("INSERT INTO m2_json VALUES (1, '{\"k\": [1, 2, {\"z\": null}]}', '::1', " +
                    "'123e4567-e89b-12d3-a456-426655440000', 'not json')");
      const out = { offered: c.connection._mariadbExtendedMetadata };
      for (const [name, fn] of [
        ['query', () => c.query(EXTMETA_SQL)],
        ['execute', () => c.execute(EXTMETA_SQL)],
        ['table_query', () => c.query('SELECT * FROM m2_json')],
        ['table_execute', () => c.execute('SELECT * FROM m2_json WHERE id = ?', [1])],
      ]) {
        const [rows, fields] = await fn();
        out[name] = { fields: fields.map(fieldInfo), rows: plain(rows) };
      }
      return out;
    } finally {
      await c.end();
    }
  },

  // compress: true: negotiated (mysql2 keeps config.compress only when the
  // greeting offers CLIENT_COMPRESS), and a large compressible result comes
  // over far fewer bytes than its size; the binary protocol too.
  async compress() {
    return compressed(true);
  },

  // The same without compression, for the byte counts' comparison.
  async plain() {
    return compressed(false);
  },

  // The binary protocol: execute() with parameters of many types.
  async execute() {
    const c = await connect();
    try {
      await c.query('DROP TABLE IF EXISTS m2_types');
      await c.query(
        'CREATE TABLE m2_types (id INT PRIMARY KEY, i INT, b BIGINT, ub BIGINT UNSIGNED, ' +
        'd DECIMAL(30,10), f DOUBLE, s VARCHAR(100) CHARACTER SET utf8mb4, t MEDIUMTEXT, ' +
        'dt DATE, ts DATETIME(6), tm TIME(3), bl MEDIUMBLOB, bit1 BIT(1), e ENUM(\'x\',\'y\'))');
      const rows = [
        [1, -2147483648, '-9223372036854775808', '18446744073709551615', '12345678901234567890.0123456789',
         1.5e300, 'héllo 🐬 мир', 'line\nbreak\ttab', '2024-02-29', '2024-02-29 23:59:58.123456',
         '-838:59:59.000', Buffer.from([0, 1, 2, 255, 0x27, 0x5c]), 1, 'y'],
        [2, 2147483647, '9223372036854775807', '0', '-0.0000000001', -0.1, '', '', '1000-01-01',
         '9999-12-31 23:59:59.999999', '00:00:00.001', Buffer.alloc(0), 0, 'x'],
        [3, null, null, null, null, null, null, null, null, null, null, null, null, null],
        [4, 0, 12345, 42, 3.25, 0, '\'"\\%_', 'x'.repeat(70000), '2000-01-01', '2000-01-01 00:00:00',
         '12:34:56', Buffer.alloc(70000, 0xab), 1, null],
      ];
      const out = { inserts: [] };
      for (const r of rows) {
        const [res] = await c.execute(
          'INSERT INTO m2_types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', r);
        out.inserts.push([res.affectedRows, res.insertId, res.warningStatus]);
      }
      // JS numbers and typed values as parameters: a Date, a BigInt, a boolean.
      const [res] = await c.execute(
        'INSERT INTO m2_types (id, i, b, f, ts, s) VALUES (?, ?, ?, ?, ?, ?)',
        [5, true, 9007199254740993n, 2 / 3, new Date(Date.UTC(2021, 5, 7, 8, 9, 10, 123)), 42]);
      out.inserts.push([res.affectedRows, res.insertId, res.warningStatus]);
      const sel = 'SELECT * FROM m2_types WHERE id >= ? ORDER BY id';
      for (const [name, fn] of [
        ['execute', () => c.execute(sel, [0])],
        ['execute_again', () => c.execute(sel, [2])],
        ['query', () => c.query(sel, [0])],
        ['params', () => c.execute(
          'SELECT ? AS i, ? AS s, ? AS n, ? AS f, ? AS buf, ? AS dt, ? AS big, ? AS yes',
          [7, 'ünïcødé 😀', null, 0.5, Buffer.from('abc'), new Date(Date.UTC(1999, 11, 31)),
           -9007199254740993n, false])],
        ['where', () => c.execute(
          'SELECT id, LENGTH(t), HEX(bl) FROM m2_types WHERE s = ? OR d = ? OR ts = ? ORDER BY id',
          ['héllo 🐬 мир', '3.25', '9999-12-31 23:59:59.999999'])],
      ]) {
        const [r, fields] = await fn();
        out[name] = { fields: fields.map(fieldInfo), rows: plain(r) };
      }
      // A statement prepared once and executed again after the session did
      // other things, then closed.
      const [r1] = await c.execute('SELECT COUNT(*) AS n, SUM(i) AS s FROM m2_types WHERE id < ?', [4]);
      await c.query('SELECT 1');
      const [r2] = await c.execute('SELECT COUNT(*) AS n, SUM(i) AS s FROM m2_types WHERE id < ?', [9]);
      c.unprepare('SELECT COUNT(*) AS n, SUM(i) AS s FROM m2_types WHERE id < ?');
      const [r3] = await c.execute('SELECT COUNT(*) AS n, SUM(i) AS s FROM m2_types WHERE id < ?', [2]);
      out.again = plain([r1, r2, r3]);
      // Explicit prepare() / statement.execute() / close().
      const st = await c.prepare('SELECT id, s FROM m2_types WHERE id = ?');
      out.prepared = { columns: st.statement.columns.map(fieldInfo), parameters: st.statement.parameters.length, rows: [] };
      for (const id of [1, 2, 3, 99]) out.prepared.rows.push(plain((await st.execute([id]))[0]));
      await st.close();
      return out;
    } finally {
      await c.end();
    }
  },

  // Errors: the same code, errno, SQLSTATE and message, as a query and as an
  // execution, and the connection goes on.
  async errors() {
    const c = await connect();
    const out = {};
    try {
      await c.query('DROP TABLE IF EXISTS m2_err');
      await c.query('CREATE TABLE m2_err (id INT PRIMARY KEY, u VARCHAR(10) UNIQUE)');
      await c.execute('INSERT INTO m2_err VALUES (?, ?)', [1, 'one']);
      for (const [name, fn] of [
        ['dup_execute', () => c.execute('INSERT INTO m2_err VALUES (?, ?)', [1, 'uno'])],
        ['dup_unique_execute', () => c.execute('INSERT INTO m2_err VALUES (?, ?)', [2, 'one'])],
        ['dup_query', () => c.query("INSERT INTO m2_err VALUES (1, 'eins')")],
        ['syntax_query', () => c.query('SELEC 1')],
        ['syntax_prepare', () => c.execute('SELEC ?', [1])],
        ['no_table', () => c.execute('SELECT * FROM m2_no_such_table WHERE id = ?', [1])],
        ['too_long', () => c.execute("INSERT INTO m2_err VALUES (?, ?)", [3, 'x'.repeat(11)])],
        ['param_count', () => c.execute('SELECT ? AS a', [])],
        ['signal', () => c.query("SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = 1644, " +
                                 "MESSAGE_TEXT = 'raised by the probe'")],
      ]) {
        try {
          const [r] = await fn();
          out[name] = { ok: plain(r) };
        } catch (e) {
          out[name] = { error: errInfo(e) };
        }
      }
      out.after = plain((await c.execute('SELECT id, u FROM m2_err ORDER BY id'))[0]);
      return out;
    } finally {
      await c.end();
    }
  },

  // mysql2's test-pool-disconnect: `kill <id>; select sleep(0.05)` in one
  // text, then the killed connection's end, waited for (at most 20 s).
  async kill_multi() {
    const victim = await connect();
    const killer = await connect({ multipleStatements: true });
    const ended = new Promise((resolve) => {
      const t = setTimeout(() => resolve({ ended: false }), 20000);
      victim.connection.on('error', (e) => {
        clearTimeout(t);
        resolve({ ended: true, code: e.code, fatal: e.fatal });
      });
    });
    try {
      const [results] = await killer.query(`kill ${victim.threadId}; select sleep(0.05) as s`);
      const out = { results: results.map((r) => (Array.isArray(r) ? plain(r) : 'ok')) };
      out.victim = await ended;
      out.after = plain((await killer.query('SELECT 7 AS seven'))[0]);
      return out;
    } finally {
      victim.destroy();
      await killer.end();
    }
  },

  // multipleStatements: several result sets and OKs in one answer.
  async multi() {
    const c = await connect({ multipleStatements: true });
    try {
      const [results] = await c.query(
        "DROP TABLE IF EXISTS m2_multi; CREATE TABLE m2_multi (id INT PRIMARY KEY, v VARCHAR(20)); " +
        "INSERT INTO m2_multi VALUES (1, 'a'), (2, 'b'); SELECT * FROM m2_multi ORDER BY id; " +
        "UPDATE m2_multi SET v = 'c' WHERE id = 2; SELECT 1 AS one, 'two' AS two; " +
        'SELECT v FROM m2_multi WHERE id = 2');
      const out = { results: plain(results) };
      try {
        await c.query("SELECT 'before'; INSERT INTO m2_multi VALUES (1, 'dup'); SELECT 'after'");
        out.error = null;
      } catch (e) {
        out.error = errInfo(e);
      }
      out.after = plain((await c.query('SELECT COUNT(*) AS n FROM m2_multi; SELECT 5 AS five'))[0]);
      return out;
    } finally {
      await c.end();
    }
  },

  // changeUser: to another account (the session's variables go), a refused
  // change, and back with a database.
  async change_user() {
    const c = await connect();
    const q = async (sql) => plain((await c.query(sql))[0]);
    const out = {};
    try {
      await c.query("SET @m2_var = 'set before'");
      out.before = await q('SELECT CURRENT_USER() AS u, DATABASE() AS d, @m2_var AS v');
      await c.changeUser({ user: 'monitor', password: 'monitor', database: 'information_schema' });
      out.monitor = await q('SELECT CURRENT_USER() AS u, DATABASE() AS d, @m2_var AS v');
      await c.changeUser({ user, password, database });
      out.back = await q('SELECT CURRENT_USER() AS u, DATABASE() AS d, @m2_var AS v');
      out.execute = plain((await c.execute('SELECT CURRENT_USER() AS u, ? AS p', ['param']))[0]);
      try {
        await c.changeUser({ user, password: 'wrong password' });
        out.refused = null;
      } catch (e) {
        out.refused = errInfo(e);
      }
      return out;
    } finally {
      c.destroy();
    }
  },

  // The client's own row (issue 33, "the processlist"): CONNECTION_ID()
  // is the handshake's thread id, SHOW PROCESSLIST and
  // information_schema.PROCESSLIST list the connection under it, and a
  // KILL QUERY of it from another connection (a connector's cancel) stops
  // its statement. The statement runs in a transaction, on the server
  // whose list the other connection reads.
  async own_row() {
    const c = await connect();
    const k = await connect();
    try {
      const [[{ id }]] = await c.query('SELECT CONNECTION_ID() AS id');
      const out = { handshake_id: c.threadId === Number(id) };
      const [pl] = await c.query('SHOW FULL PROCESSLIST');
      out.show = pl.filter((r) => Number(r.Id) === Number(id)).map((r) => r.Info);
      const [is] = await c.query('SELECT INFO FROM information_schema.PROCESSLIST ' +
                                 'WHERE ID = CONNECTION_ID()');
      out.is = plain(is);
      await c.query('BEGIN');
      const sleeping = c.query('SELECT SLEEP(60) AS s').then(([r]) => plain(r), errInfo);
      for (let i = 0; i < 600; i++) {
        const [r] = await k.query('SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?',
                                  [c.threadId]);
        if (r.length && r[0].STATE === 'User sleep') break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await k.query(`KILL QUERY ${c.threadId}`);
      out.killed = await sleeping;
      await c.query('ROLLBACK');
      out.after = plain((await c.query('SELECT 3 AS three'))[0]);
      return out;
    } finally {
      await c.end();
      await k.end();
    }
  },

  // Two sessions taking turns (on one pooled connection through
  // halyard): a user variable the other set as an integer, set to NULL,
  // reads with a new variable's column definition ("user variable types").
  async uservar_types() {
    const a = await connect();
    const b = await connect();
    const out = [];
    try {
      for (let i = 0; i < 3; i++) {
        await a.query('SET @m2_t = 42');
        out.push((await a.query('SELECT @m2_t AS v'))[1].map(fieldInfo));
        await b.query('SET @m2_t = NULL');
        const [rows, fields] = await b.query('SELECT @m2_t AS v');
        out.push({ rows: plain(rows), fields: fields.map(fieldInfo) });
        out.push((await b.query('SELECT @m2_never AS v'))[1].map(fieldInfo));
      }
      return out;
    } finally {
      await a.end();
      await b.end();
    }
  },

  // Written on one connection, read on another right after ("another
  // session reads old data"): each read must see the write before it.
  async global() {
    const w = await connect();
    const r = await connect();
    try {
      await w.query('DROP TABLE IF EXISTS m2_global');
      await w.query('CREATE TABLE m2_global (id INT PRIMARY KEY)');
      let stale = 0;
      for (let i = 1; i <= 200; i++) {
        await w.query('INSERT INTO m2_global VALUES (?)', [i]);
        const [[row]] = await r.query('SELECT MAX(id) AS m FROM m2_global');
        if (Number(row.m) !== i) stale++;
      }
      return { reads: 200, stale };
    } finally {
      await w.end();
      await r.end();
    }
  },

  // An account made on the server only logs in, and changeUser to it
  // works ("server accounts in the demo").
  async server_account() {
    const [acct, pw] = (process.env.M2_ACCOUNT || ':').split(':');
    const q = async (c, sql) => plain((await c.query(sql))[0]);
    const d = await connect({ user: acct, password: pw });
    const c = await connect();
    try {
      const out = { login: await q(d, 'SELECT CURRENT_USER() AS u') };
      await c.changeUser({ user: acct, password: pw, database });
      out.changed = await q(c, 'SELECT CURRENT_USER() AS u, DATABASE() AS d');
      return out;
    } finally {
      await d.end();
      c.destroy();
    }
  },

  async ping() {
    const c = await connect();
    try {
      const out = [];
      for (let i = 0; i < 3; i++) out.push(await c.ping());
      await c.query('SELECT 1');
      out.push(await c.ping());
      return { pings: plain(out), after: plain((await c.query('SELECT 2 AS two'))[0]) };
    } finally {
      await c.end();
    }
  },
};

async function compressed(compress) {
  const c = await connect({ compress });
  try {
    const out = { negotiated: Boolean(c.connection.config.compress) };
    // The Compression status of the client's connection (through halyard
    // too, though its backend connections are never compressed).
    const [st] = await c.query("SHOW SESSION STATUS LIKE 'Compression'");
    out.server_status = st[0].Value;
    const [[rows], qbytes] = await bytesRead(c, () => c.query(BIG));
    const [[xrows], xbytes] = await bytesRead(c, () => c.execute(BIG.replace('131072', '?'), [131072]));
    out.query = { length: rows[0].big.length, md5s: rows[0].md5s.length, bytes: qbytes };
    out.execute = { length: xrows[0].big.length, md5s: xrows[0].md5s.length, bytes: xbytes };
    out.same = rows[0].big === xrows[0].big && rows[0].md5s === xrows[0].md5s;
    const [many] = await c.query('SELECT seq, MD5(seq) AS m FROM seq_1_to_20000');
    out.many = { count: many.length, last: plain(many[many.length - 1]) };
    const [x] = await c.execute('SELECT ? AS a, ? AS b', ['compressed 🐬', 3]);
    out.params = plain(x);
    return out;
  } finally {
    await c.end();
  }
}

(async () => {
  const results = {};
  for (const name of checks) {
    if (!run[name]) throw new Error(`unknown check ${name}`);
    results[name] = await run[name]();
  }
  process.stdout.write(JSON.stringify(results) + '\n');
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.sqlMessage) console.error(JSON.stringify(errInfo(e)));
  process.exit(1);
});
