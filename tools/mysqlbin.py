#!/usr/bin/python3
"""The binary protocol (prepared statements) for the tools' generators,
on tests/integration/rawmysql.py's RawConn: what pymysql does not have.

    c = BinConn("127.0.0.1", port)
    c.login("app", "app", db="sc")          # rawmysql's login
    st = c.prepare("SELECT a, b FROM t WHERE id = ?")
    c.execute(st, [7])                     # -> [rawmysql.Result]
    c.execute(st, [7], cursor=True, fetch=2)  # a read-only cursor, 2 rows a COM_STMT_FETCH
    c.execute(st, ["long"], long_data={0})  # parameter 0 sent by COM_STMT_SEND_LONG_DATA
    c.bulk_execute(st, [[1, "x"], [2, None]])  # COM_STMT_BULK_EXECUTE (MariaDB)
    c.stmt_reset(st); c.stmt_close(st)
    c.ping(); c.reset_connection(); c.change_user("u", "p", db="sc")

A statement (Stmt) keeps its id, its parameter count and its columns.
Parameters are typed from the Python value: None (NULL), int
(LONGLONG, UNSIGNED past 2**63 - 1), float (DOUBLE), str (VAR_STRING),
bytes (BLOB). A result's rows are tuples of str (None for NULL), each
value the text the text protocol gives for the same column: integers
(ZEROFILL padded), FLOAT and DOUBLE as the server writes them, DATE,
DATETIME and TIMESTAMP with the column's fractional digits, TIME with
its sign and hours past 24; the rest is the bytes the server sent,
decoded as UTF-8 (rawmysql's text rows, errors replaced). An ERR raises
rawmysql.MySQLError as rawmysql does.

`tools/mysqlbin.py --self-test --port P [--user U --password X]` runs
self_test() against a server (or a halyard) there: each value of a table
of expressions of every column type, read by COM_QUERY and by a prepared
statement (with a cursor too), must decode to the same text. The
generators run self_test() on their own connections at start.
"""

import argparse
import math
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "integration"))

import rawmysql as rm  # noqa: E402

COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_SEND_LONG_DATA = 0x18
COM_STMT_CLOSE = 0x19
COM_STMT_RESET = 0x1A
COM_STMT_FETCH = 0x1C
COM_STMT_BULK_EXECUTE = 0xFA

CURSOR_TYPE_READ_ONLY = 1
SERVER_STATUS_CURSOR_EXISTS = 0x0040
SERVER_STATUS_LAST_ROW_SENT = 0x0080
BULK_SEND_TYPES = 0x80

# column types
T_DECIMAL, T_TINY, T_SHORT, T_LONG, T_FLOAT, T_DOUBLE, T_NULL, T_TIMESTAMP = range(8)
T_LONGLONG, T_INT24, T_DATE, T_TIME, T_DATETIME, T_YEAR = range(8, 14)
T_BLOB, T_VAR_STRING = 0xFC, 0xFD
UNSIGNED_FLAG = 0x20
ZEROFILL_FLAG = 0x40
INTS = {T_TINY: ("<b", 1), T_SHORT: ("<h", 2), T_YEAR: ("<h", 2), T_INT24: ("<i", 4),
        T_LONG: ("<i", 4), T_LONGLONG: ("<q", 8)}


class Stmt:
    def __init__(self, sql, stmt_id, nparams, columns):
        self.sql, self.id, self.nparams, self.columns = sql, stmt_id, nparams, columns

    def __repr__(self):
        return f"Stmt({self.id}, {self.sql!r})"


def param_type(v):
    """(type, unsigned) of a parameter's Python value."""
    if v is None:
        return T_NULL, False
    if isinstance(v, bool) or isinstance(v, int):
        return T_LONGLONG, int(v) > (1 << 63) - 1
    if isinstance(v, float):
        return T_DOUBLE, False
    if isinstance(v, (bytes, bytearray)):
        return T_BLOB, False
    return T_VAR_STRING, False


def param_value(v):
    """A parameter's value as the binary protocol sends it."""
    if isinstance(v, bool) or isinstance(v, int):
        return struct.pack("<Q" if int(v) > (1 << 63) - 1 else "<q", int(v))
    if isinstance(v, float):
        return struct.pack("<d", v)
    if isinstance(v, str):
        v = v.encode()
    return rm.lenenc_bytes(bytes(v))


def float_text(v, single):
    """A FLOAT's or DOUBLE's value as the server writes it in text: 6
    significant digits for FLOAT (as %g), the fewest that read back to
    the same value for DOUBLE; plain when the first significant digit's
    decimal exponent is from -15 to 14, else with an exponent (1e15,
    1.5e-16)."""
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    if single:
        mant, _, exp = f"{abs(v):.5e}".partition("e")
        sig, e10 = mant.replace(".", "").rstrip("0"), int(exp)
    else:
        digits, _, exp = repr(abs(v)).partition("e")
        mant = digits.replace(".", "")
        point = digits.find(".")
        lead = len(mant) - len(mant.lstrip("0"))
        # the decimal exponent of the first significant digit
        e10 = (point if point >= 0 else len(mant)) - 1 - lead + (int(exp) if exp else 0)
        sig = mant.strip("0")
    neg = "-" if v < 0 else ""
    if -16 < e10 < 15:
        if e10 >= 0:
            ip = (sig + "0" * (e10 + 1))[:e10 + 1]
            fp = sig[e10 + 1:]
            return neg + ip + ("." + fp if fp else "")
        return neg + "0." + "0" * (-e10 - 1) + sig
    m = sig[0] + ("." + sig[1:] if len(sig) > 1 else "")
    return f"{neg}{m}e{e10}"


def frac(us, decimals):
    if not 0 < decimals < 7:
        return ""
    return "." + f"{us:06d}"[:decimals]


def decode_value(col, p, pos):
    """(text, new pos) of one non-NULL binary value of column col."""
    t = col.type
    if t in INTS:
        fmt, n = INTS[t]
        if col.flags & UNSIGNED_FLAG or t == T_YEAR:
            fmt = fmt.upper()
        v = struct.unpack_from(fmt, p, pos)[0]
        s = f"{v:04d}" if t == T_YEAR else str(v)
        if col.flags & ZEROFILL_FLAG and t != T_YEAR:
            s = s.rjust(col.length, "0")
        return s, pos + n
    if t in (T_FLOAT, T_DOUBLE):
        single = t == T_FLOAT
        v = struct.unpack_from("<f" if single else "<d", p, pos)[0]
        if 0 < col.decimals < 31:
            s = f"{v:.{col.decimals}f}"
        else:
            s = float_text(v, single)
        if col.flags & ZEROFILL_FLAG:
            s = s.rjust(col.length, "0")
        return s, pos + (4 if single else 8)
    if t in (T_DATE, T_DATETIME, T_TIMESTAMP):
        n = p[pos]
        f = p[pos + 1:pos + 1 + n]
        y, mo, d, h, mi, s, us = 0, 0, 0, 0, 0, 0, 0
        if n >= 4:
            y, mo, d = struct.unpack_from("<HBB", f, 0)
        if n >= 7:
            h, mi, s = f[4], f[5], f[6]
        if n >= 11:
            us = struct.unpack_from("<I", f, 7)[0]
        out = f"{y:04d}-{mo:02d}-{d:02d}"
        if t != T_DATE:
            out += f" {h:02d}:{mi:02d}:{s:02d}" + frac(us, col.decimals)
        return out, pos + 1 + n
    if t == T_TIME:
        n = p[pos]
        f = p[pos + 1:pos + 1 + n]
        neg, days, h, mi, s, us = 0, 0, 0, 0, 0, 0
        if n >= 8:
            neg, days, h, mi, s = struct.unpack_from("<BIBBB", f, 0)
        if n >= 12:
            us = struct.unpack_from("<I", f, 8)[0]
        out = f"{'-' if neg else ''}{days * 24 + h:02d}:{mi:02d}:{s:02d}" + frac(us, col.decimals)
        return out, pos + 1 + n
    b, pos = rm.lenenc_str(p, pos)
    return b.decode(errors="replace"), pos


def decode_row(columns, p):
    """A binary row's payload (0x00, the NULL bitmap, the values) as a
    tuple of text values."""
    n = len(columns)
    nb = (n + 7 + 2) // 8
    bitmap = p[1:1 + nb]
    pos, row = 1 + nb, []
    for i, col in enumerate(columns):
        bit = i + 2
        if bitmap[bit // 8] & (1 << (bit % 8)):
            row.append(None)
            continue
        v, pos = decode_value(col, p, pos)
        row.append(v)
    return tuple(row)


class BinConn(rm.RawConn):
    """A RawConn that also speaks the binary protocol."""

    def _eof_status(self, p, res):
        """The status flags of a packet ending a result (EOF, or OK with
        CLIENT_DEPRECATE_EOF) into res."""
        if self.caps & rm.CLIENT_DEPRECATE_EOF:
            self._parse_ok(p, res)
        else:
            res.warnings, res.status = struct.unpack_from("<HH", p, 1)

    def _column_block(self, n):
        if not n:
            return []
        return self._read_columns(n)

    def prepare(self, sql):
        """COM_STMT_PREPARE: a Stmt; MySQLError on ERR."""
        if isinstance(sql, bytes):
            sql = sql.decode()
        self.send_packet(bytes([COM_STMT_PREPARE]) + sql.encode(), seq=0)
        p = self.read_payload()
        if p[:1] == b"\xff":
            raise rm.parse_err(p)
        stmt_id, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        self._column_block(nparams)
        cols = self._column_block(ncols)
        return Stmt(sql, stmt_id, nparams, cols)

    def send_long_data(self, st, param, data):
        """COM_STMT_SEND_LONG_DATA (no answer)."""
        if isinstance(data, str):
            data = data.encode()
        self.send_packet(bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", st.id, param)
                         + data, seq=0)

    def _params(self, params, long_data=()):
        """The NULL bitmap, the types and the values of an execution."""
        if not params:
            return b""
        bitmap = bytearray((len(params) + 7) // 8)
        types, values = b"", b""
        for i, v in enumerate(params):
            t, unsigned = param_type(v)
            if i in long_data:
                t, unsigned = T_BLOB, False
            types += struct.pack("<BB", t, 0x80 if unsigned else 0)
            if v is None and i not in long_data:
                bitmap[i // 8] |= 1 << (i % 8)
            elif i not in long_data:
                values += param_value(v)
        return bytes(bitmap) + b"\x01" + types + values

    def execute(self, st, params=(), cursor=False, fetch=0, long_data=()):
        """COM_STMT_EXECUTE (of a Stmt, or of a raw statement id); every
        result, as rawmysql's query() gives them. cursor: open a read-only
        cursor and read its rows by COM_STMT_FETCH, fetch (default all) at a
        time. long_data: the indexes of parameters first sent by
        COM_STMT_SEND_LONG_DATA (their values must be str or bytes)."""
        stmt_id = st if isinstance(st, int) else st.id
        for i in long_data:
            v = params[i]
            # in two parts, as a client streaming it would
            half = len(v) // 2
            self.send_long_data(Stmt("", stmt_id, 0, []), i, v[:half])
            self.send_long_data(Stmt("", stmt_id, 0, []), i, v[half:])
        flags = CURSOR_TYPE_READ_ONLY if cursor else 0
        self.send_packet(bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt_id, flags, 1)
                         + self._params(list(params), set(long_data)), seq=0)
        results = []
        while True:
            try:
                r = self._read_binary_result(stmt_id, fetch)
            except rm.MySQLError as e:
                e.results = results
                raise
            results.append(r)
            if not r.status & rm.SERVER_MORE_RESULTS_EXISTS:
                return results

    def _read_binary_result(self, stmt_id, fetch):
        res = rm.Result()
        p = self.read_payload()
        if p[:1] == b"\xff":
            raise rm.parse_err(p)
        if p[:1] == b"\x00":
            self._parse_ok(p, res)
            return res
        ncols, _ = rm.lenenc_int(p, 0)
        res.columns = self._read_columns(ncols)
        return self._read_rows(res, stmt_id, fetch)

    def _read_columns(self, n):
        ext_meta = bool(getattr(self, "ext_caps", 0) & rm.MARIADB_CLIENT_EXTENDED_METADATA)
        cols = [rm.Column(self.read_payload(), ext_meta) for _ in range(n)]
        self.last_columns_eof = None
        if not self.caps & rm.CLIENT_DEPRECATE_EOF:
            p = self.read_payload()
            if p[:1] != b"\xfe":
                raise AssertionError(f"expected EOF after column definitions, got {p[:20]!r}")
            self.last_columns_eof = p
        return cols

    def _read_rows(self, res, stmt_id, fetch):
        eof = self.last_columns_eof
        if eof is not None and struct.unpack_from("<H", eof, 3)[0] & SERVER_STATUS_CURSOR_EXISTS:
            # a cursor: the rows come by COM_STMT_FETCH
            res.warnings, res.status = struct.unpack_from("<HH", eof, 1)
            while True:
                self.send_packet(bytes([COM_STMT_FETCH]) + struct.pack(
                    "<II", stmt_id, fetch or 0x7FFFFFFF), seq=0)
                done = self._row_packets(res)
                if done & SERVER_STATUS_LAST_ROW_SENT or not done & SERVER_STATUS_CURSOR_EXISTS:
                    res.status = done & ~(SERVER_STATUS_LAST_ROW_SENT | SERVER_STATUS_CURSOR_EXISTS)
                    return res
        self._row_packets(res)
        return res

    def _row_packets(self, res):
        """Rows up to the EOF; its status flags."""
        while True:
            p = self.read_payload()
            if p[:1] == b"\xff":
                raise rm.parse_err(p)
            if p[:1] == b"\xfe" and len(p) < 0xFFFFFF:
                self._eof_status(p, res)
                return res.status
            res.rows.append(decode_row(res.columns, p))

    def bulk_execute(self, st, rows):
        """COM_STMT_BULK_EXECUTE (MariaDB; the login must have asked for
        MARIADB_CLIENT_STMT_BULK_OPERATIONS): every row of parameters in
        one command, typed by the first row's values; the answer (an OK)."""
        types = b"".join(struct.pack("<BB", *((lambda t: (t[0], 0x80 if t[1] else 0))(
            param_type(next((r[i] for r in rows if r[i] is not None), None)))))
            for i in range(len(rows[0])))
        body = b""
        for r in rows:
            for v in r:
                body += b"\x01" if v is None else b"\x00" + param_value(v)
        self.send_packet(bytes([COM_STMT_BULK_EXECUTE]) + struct.pack("<IH", st.id, BULK_SEND_TYPES)
                         + types + body, seq=0)
        res = rm.Result()
        p = self.read_payload()
        if p[:1] == b"\xff":
            raise rm.parse_err(p)
        self._parse_ok(p, res)
        return [res]

    def stmt_reset(self, st):
        """COM_STMT_RESET: its OK; MySQLError on ERR."""
        return self.command(COM_STMT_RESET, struct.pack("<I", st.id))

    def stmt_close(self, st):
        """COM_STMT_CLOSE (no answer)."""
        self.send_packet(bytes([COM_STMT_CLOSE]) + struct.pack("<I", st.id), seq=0)

    def ping(self):
        return self.command(rm.COM_PING)

    def reset_connection(self):
        """COM_RESET_CONNECTION: every statement is gone after it."""
        return self.command(rm.COM_RESET_CONNECTION)


# -- the self-test ---------------------------------------------------------

SELF_TEST_TABLE = """CREATE TEMPORARY TABLE mysqlbin_t (
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,
  bi BIGINT, bu BIGINT UNSIGNED, iz INT(6) ZEROFILL, y YEAR,
  f FLOAT, d DOUBLE, fd FLOAT(7,3), dd DOUBLE(12,4), dec1 DECIMAL(10,3), dec2 DECIMAL(30,10),
  dt DATE, t0 TIME, t3 TIME(3), t6 TIME(6), dtm DATETIME, dtm2 DATETIME(2), dtm6 DATETIME(6),
  ts TIMESTAMP NULL, ts4 TIMESTAMP(4) NULL,
  c CHAR(5), vc VARCHAR(20), vb VARBINARY(8), tx TEXT, bl BLOB, e ENUM('a','bé'),
  st SET('x','y'), b BIT(10), j JSON)"""
SELF_TEST_ROWS = [
    "(-128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808, "
    "18446744073709551615, 42, 1901, 1.1, 1.1, 1.5, 2.25, 1.5, -12345678901234567890.0123456789, "
    "'2024-02-29', '-838:59:59', '12:34:56.789', '-00:00:00.000001', '1000-01-01 00:00:00', "
    "'2024-01-02 03:04:05.67', '9999-12-31 23:59:59.999999', '2024-01-02 03:04:05', "
    "'2038-01-19 03:14:07.1234', 'ab', 'é€', x'00ff', 'text', x'0102', 'bé', 'x,y', b'1010101010', "
    "'{\"a\": [1, 2.5, null]}')",
    "(127, 0, 32767, 8388607, 2147483647, 0, 9223372036854775807, 0, 0, 2155, "
    "3.4e38, 1.7976931348623157e308, -0.001, 0.0001, -0.001, 0, '0000-00-00', '00:00:00', "
    "'838:59:59.999', '00:00:00', '0000-00-00 00:00:00', '2024-01-02 00:00:00', "
    "'2024-01-02 03:04:05', NULL, NULL, '', '', '', '', '', 'a', '', b'0', 'null')",
    "(0, 1, 0, 0, 0, 1, 0, 1, 1234567, 0, 1e-10, 1e-300, 0, 0, 0, 0.0000000001, '1970-01-01', "
    "'01:00:00', '-01:02:03.5', '24:00:00', '2024-12-31 23:59:59', '2024-12-31 23:59:59.99', "
    "'2024-12-31 23:59:59.000001', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL)",
    "(-1, 100, -1, -1, -1, 100, -1, 100, 100, 2000, 123456, 1234567890123456, 1234.567, "
    "12345678.1234, 1234567.891, 1, '2000-01-01', '100:00:00', '00:00:00.001', '-10:00:00', "
    "'2000-01-01 00:00:01', '2000-01-01 00:00:01.01', '2000-01-01 00:00:01.1', NULL, NULL, "
    "'a', 'b', 'c', 'd', 'e', NULL, 'y', b'1', '[]')",
    "(1, 2, 3, 4, 5, 6, 7, 8, 9, 1999, 1234567, 123456789012345678, 0.5, 0.5, 0.5, 0.5, "
    "'2001-02-03', '12:00:00', '12:00:00', '12:00:00', '2001-02-03 04:05:06', "
    "'2001-02-03 04:05:06', '2001-02-03 04:05:06', NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', "
    "'x', b'11', '1')",
    "(2, 3, 4, 5, 6, 7, 8, 9, 10, 2001, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, '2001-02-03', '12:00:00', "
    "'12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
    "(3, 4, 5, 6, 7, 8, 9, 10, 11, 2002, -3.14159, 3.141592653589793, 1, 1, 1, 1, '2001-02-03', "
    "'12:00:00', '12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "'2001-02-03 04:05:06', NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
    "(4, 5, 6, 7, 8, 9, 10, 11, 12, 2003, 1e15, 1e15, 2, 2, 2, 2, '2001-02-03', '12:00:00', "
    "'12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
    "(5, 6, 7, 8, 9, 10, 11, 12, 13, 2004, 1e16, 1e16, 3, 3, 3, 3, '2001-02-03', '12:00:00', "
    "'12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
    "(6, 7, 8, 9, 10, 11, 12, 13, 14, 2005, 123456.7, 123456789012345.6, 4, 4, 4, 4, "
    "'2001-02-03', '12:00:00', '12:00:00', '12:00:00', '2001-02-03 04:05:06', "
    "'2001-02-03 04:05:06', '2001-02-03 04:05:06', NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', "
    "'x', b'11', '1')",
    "(7, 8, 9, 10, 11, 12, 13, 14, 15, 2006, 0.0001, 0.0001, 5, 5, 5, 5, '2001-02-03', "
    "'12:00:00', '12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "'2001-02-03 04:05:06', NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
    "(8, 9, 10, 11, 12, 13, 14, 15, 16, 2007, 0.00001, 0.00001, 6, 6, 6, 6, '2001-02-03', "
    "'12:00:00', '12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "'2001-02-03 04:05:06', NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
    "(9, 10, 11, 12, 13, 14, 15, 16, 17, 2008, -1e-5, -2.5e-7, 7, 7, 7, 7, '2001-02-03', "
    "'12:00:00', '12:00:00', '12:00:00', '2001-02-03 04:05:06', '2001-02-03 04:05:06', "
    "'2001-02-03 04:05:06', NULL, NULL, 'x', 'y', 'z', 'w', 'v', 'a', 'x', b'11', '1')",
]
# expressions (not columns): the server's own types for them
SELF_TEST_EXPRS = [
    "SELECT 1, -1, 18446744073709551615, 1.5, 1e0, 1.5e300, 2.0/3, 1/3e0, NULL, 'x', _binary'y'",
    "SELECT CAST('2024-01-02 03:04:05.6' AS DATETIME(3)), CAST('-1:2:3' AS TIME), "
    "CAST(1 AS UNSIGNED), CAST(-1 AS SIGNED), CURDATE() - CURDATE(), 1e20, 1e-20, 123e-7",
    "SELECT ?, ?, ?, ?, ?",
]
SELF_TEST_PARAMS = [1, -2, 1.25, "é", None]


def connect(port, user, password, db=None, timeout=30.0, host="127.0.0.1"):
    """A BinConn logged in (closed again if the login fails)."""
    c = BinConn(host, port, timeout=timeout)
    try:
        c.login(user, password, db=db)
    except BaseException:
        c.close()
        raise
    return c


def typed_rows(res):
    """A result's rows with its integer columns as int, as pymysql gives
    them (the other values as the text the text protocol gives)."""
    ints = [c.type in INTS for c in res.columns]
    return [tuple(int(v) if v is not None and is_int else v for v, is_int in zip(row, ints))
            for row in res.rows]


def random_floats(seed=54, n=120):
    """A read of n DOUBLEs and n FLOATs spread over their ranges."""
    import random
    r = random.Random(seed)
    d = [repr(r.uniform(-10, 10) * 10.0 ** r.randint(-300, 300)) for _ in range(n)]
    f = [repr(r.uniform(-10, 10) * 10.0 ** r.randint(-37, 37)) for _ in range(n)]
    return "SELECT " + ", ".join([v if "e" in v else v + "e0" for v in d] +
                                 [f"CAST({v} AS FLOAT)" for v in f])


def self_test(c, log=None):
    """Compare the text and the binary protocol's values on connection c
    (a logged-in BinConn; it is left with a temporary table gone). Returns
    the list of differences (empty when every value agrees)."""
    bad = []
    c.query("DROP TEMPORARY TABLE IF EXISTS mysqlbin_t")
    c.query(SELF_TEST_TABLE)
    c.query("SET @mysqlbin_tz = @@time_zone, time_zone = '+00:00'")
    c.query("INSERT INTO mysqlbin_t VALUES " + ", ".join(SELF_TEST_ROWS))
    reads = ["SELECT * FROM mysqlbin_t"] + SELF_TEST_EXPRS + [random_floats()]
    for sql in reads:
        params = SELF_TEST_PARAMS if "?" in sql else []
        text_sql = sql
        for v in params:
            text_sql = text_sql.replace("?", "NULL" if v is None else repr(v) if not isinstance(
                v, str) else f"'{v}'", 1)
        want = c.query(text_sql)[0].rows
        st = c.prepare(sql)
        for cursor in (False, True):
            got = c.execute(st, params, cursor=cursor, fetch=2)[0].rows
            for i, (g, w) in enumerate(zip(got, want)):
                for j, (gv, wv) in enumerate(zip(g, w)):
                    if gv != wv:
                        bad.append(f"{sql[:40]!r} row {i} column {j} "
                                   f"({st.columns[j].name}, type {st.columns[j].type}"
                                   f"{', cursor' if cursor else ''}): binary {gv!r}, text {wv!r}")
            if len(got) != len(want):
                bad.append(f"{sql[:40]!r}: {len(got)} binary rows, {len(want)} text rows")
        c.stmt_close(st)
    # long data: a parameter sent in parts reads back whole
    st = c.prepare("SELECT ?, CONCAT(?, 'z')")
    got = c.execute(st, ["x" * 3000, "yy"], long_data={0})[0].rows
    if got != [("x" * 3000, "yyz")]:
        bad.append(f"long data: {got!r}"[:200])
    c.stmt_close(st)
    if getattr(c, "ext_caps", 0) & rm.MARIADB_CLIENT_STMT_BULK_OPERATIONS:
        # a bulk execution: its rows read back as a text INSERT's would
        c.query("CREATE TEMPORARY TABLE mysqlbin_b (a BIGINT, b VARCHAR(10), c DOUBLE)")
        st = c.prepare("INSERT INTO mysqlbin_b VALUES (?, ?, ?)")
        ok = c.bulk_execute(st, [[1, "a", 0.5], [None, "é", None], [-(1 << 40), None, 1e300]])
        got = c.query("SELECT * FROM mysqlbin_b")[0].rows
        want = [("1", "a", "0.5"), (None, "é", None), (str(-(1 << 40)), None, "1e300")]
        if ok[0].affected_rows != 3 or got != want:
            bad.append(f"bulk: affected {ok[0].affected_rows}, rows {got!r}")
        c.stmt_close(st)
        c.query("DROP TEMPORARY TABLE mysqlbin_b")
    c.query("DROP TEMPORARY TABLE mysqlbin_t")
    c.query("SET time_zone = @mysqlbin_tz")
    for b in bad if log else ():
        log(b)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", default="")
    args = ap.parse_args()
    c = BinConn(args.host, args.port)
    c.login(args.user, args.password, db="mysql", caps=rm.DEFAULT_CAPS & ~rm.CLIENT_LONG_PASSWORD,
            ext_caps=rm.MARIADB_CLIENT_STMT_BULK_OPERATIONS)
    bad = self_test(c, log=lambda s: print(f"    {s}"))
    c.close()
    print(f"mysqlbin self-test: {len(bad)} values differ between the text and binary protocols")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
