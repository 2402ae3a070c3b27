"""A minimal binary-protocol (prepared statement) client for the tools that
drive halyard through COM_STMT_PREPARE / COM_STMT_EXECUTE, which pymysql
does not speak (tools/consistency-check, tools/history-check).

It builds on tests/integration/rawmysql.py (the handshake, the framing, the
ERR packet) and adds only: prepare, execute with int, str and None
parameters, the binary rows of the integer, floating and string types
decoded, and close. No cursors, no long data, no date or time columns.

    c = BinConn("127.0.0.1", port, timeout=30)
    c.login("app", "app")
    st = c.prepare("SELECT v FROM t WHERE id = ?")
    rows = c.execute(st, [1]).rows          # [(v,)]
    c.execute(c.prepare("UPDATE t SET v = ? WHERE id = ?"), [5, 1]).affected_rows
    c.close_stmt(st)

Errors: rawmysql.MySQLError for an ERR packet, rawmysql.ConnectionClosed or
OSError (socket.timeout) when the connection went.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "integration"))

import rawmysql as rm  # noqa: E402

COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_CLOSE = 0x19

# column types (the binary row's encodings)
T_DECIMAL, T_TINY, T_SHORT, T_LONG, T_FLOAT, T_DOUBLE, T_NULL = 0, 1, 2, 3, 4, 5, 6
T_LONGLONG, T_INT24, T_YEAR = 8, 9, 13
T_VAR_STRING = 0xFD
LENENC_TYPES = {T_DECIMAL, 15, 245, 246, 249, 250, 251, 252, 253, 254}
FIXED = {T_TINY: "<b", T_SHORT: "<h", T_YEAR: "<h", T_LONG: "<i", T_INT24: "<i",
         T_LONGLONG: "<q", T_FLOAT: "<f", T_DOUBLE: "<d"}
UNSIGNED_FLAG = 32


class Stmt:
    def __init__(self, stmt_id, nparams, columns):
        self.id, self.nparams, self.columns = stmt_id, nparams, columns


class BinConn(rm.RawConn):
    """rawmysql.RawConn with the prepared-statement commands."""

    def _read_defs(self, n):
        return self._read_columns(n) if n else []

    def prepare(self, sql):
        """COM_STMT_PREPARE; a Stmt (MySQLError on ERR)."""
        p = self.command(COM_STMT_PREPARE, sql.encode() if isinstance(sql, str) else sql)
        stmt_id, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        self._read_defs(nparams)
        return Stmt(stmt_id, nparams, self._read_defs(ncols))

    @staticmethod
    def _params(values):
        n = len(values)
        nulls = bytearray((n + 7) // 8)
        types, data = b"", b""
        for i, v in enumerate(values):
            if v is None:
                nulls[i // 8] |= 1 << (i % 8)
                types += bytes([T_NULL, 0])
            elif isinstance(v, bool) or isinstance(v, int):
                types += bytes([T_LONGLONG, 0])
                data += struct.pack("<q", int(v))
            else:
                b = v.encode() if isinstance(v, str) else bytes(v)
                types += bytes([T_VAR_STRING, 0])
                data += rm.lenenc_bytes(b)
        return bytes(nulls) + b"\x01" + types + data

    def execute(self, st, values=()):
        """COM_STMT_EXECUTE with values bound; a rawmysql.Result (rows decoded
        to Python values, None for NULL). MySQLError on ERR."""
        if len(values) != st.nparams:
            raise ValueError(f"statement takes {st.nparams} parameters, got {len(values)}")
        body = struct.pack("<IBI", st.id, 0, 1) + (self._params(values) if st.nparams else b"")
        self.send_packet(bytes([COM_STMT_EXECUTE]) + body, seq=0)
        res = rm.Result()
        p = self.read_payload()
        if p[:1] == b"\xff":
            raise rm.parse_err(p)
        if p[:1] == b"\x00":
            self._parse_ok(p, res)
            return res
        ncols, _ = rm.lenenc_int(p, 0)
        res.columns = self._read_columns(ncols)
        while True:
            p = self.read_payload()
            if p[:1] == b"\xfe" and len(p) < 9:
                if self.caps & rm.CLIENT_DEPRECATE_EOF:
                    self._parse_ok(p, res)
                else:
                    res.warnings, res.status = struct.unpack_from("<HH", p, 1)
                return res
            if p[:1] == b"\xff":
                raise rm.parse_err(p)
            res.rows.append(self._row(p, res.columns))

    @staticmethod
    def _row(p, columns):
        nbytes = (len(columns) + 7 + 2) // 8
        nulls, pos, row = p[1:1 + nbytes], 1 + nbytes, []
        for i, col in enumerate(columns):
            bit = i + 2
            if nulls[bit // 8] & (1 << (bit % 8)):
                row.append(None)
                continue
            if col.type in FIXED:
                fmt = FIXED[col.type]
                if col.flags & UNSIGNED_FLAG and col.type not in (T_FLOAT, T_DOUBLE):
                    fmt = fmt.upper()
                row.append(struct.unpack_from(fmt, p, pos)[0])
                pos += struct.calcsize(fmt)
            elif col.type in LENENC_TYPES:
                v, pos = rm.lenenc_str(p, pos)
                row.append(v.decode(errors="replace"))
            else:
                raise ValueError(f"column {col.name}: type {col.type} not decoded here")
        return tuple(row)

    def close_stmt(self, st):
        """COM_STMT_CLOSE (no answer)."""
        self.send_packet(bytes([COM_STMT_CLOSE]) + struct.pack("<I", st.id), seq=0)


def connect(port, user, password, db=None, timeout=30.0, host="127.0.0.1"):
    c = BinConn(host, port, timeout=timeout)
    try:
        c.login(user, password, db=db)
    except BaseException:
        c.close()
        raise
    return c
