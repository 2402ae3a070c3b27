"""A small MySQL/MariaDB protocol client on a raw socket, for what pymysql
cannot do in the integration tests: commands it does not have
(COM_FIELD_LIST, COM_SET_OPTION, COM_RESET_CONNECTION, COM_CHANGE_USER,
COM_PROCESS_KILL, COM_BINLOG_DUMP), logins that open with another auth
plugin, and malformed or badly sequenced packets.

Only what the tests need: mysql_native_password (answering an
AuthSwitchRequest to it), the text protocol with EOF packets (no
CLIENT_DEPRECATE_EOF unless asked), multi-results, no TLS, no compression.

    c = RawConn(host, port)
    c.login("app", "app")           # raises MySQLError on an ERR packet
    c.query("SELECT 1")             # -> [Result(columns, rows, ...)]
    c.command(COM_PING)             # -> the answer's payload
    c.close()
"""

import hashlib
import socket
import struct
import time

# Capability flags.
CLIENT_LONG_PASSWORD = 1 << 0
CLIENT_FOUND_ROWS = 1 << 1
CLIENT_LONG_FLAG = 1 << 2
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_INTERACTIVE = 1 << 10
CLIENT_SSL = 1 << 11
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PS_MULTI_RESULTS = 1 << 18
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
CLIENT_SESSION_TRACK = 1 << 23
CLIENT_DEPRECATE_EOF = 1 << 24

# MariaDB's extended capabilities (the greeting's and login's last 4 filler
# bytes, when CLIENT_LONG_PASSWORD, there CLIENT_MYSQL, is unset).
MARIADB_CLIENT_PROGRESS = 1 << 0
MARIADB_CLIENT_STMT_BULK_OPERATIONS = 1 << 2
MARIADB_CLIENT_EXTENDED_METADATA = 1 << 3
MARIADB_CLIENT_CACHE_METADATA = 1 << 4

DEFAULT_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
                | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH)

SERVER_MORE_RESULTS_EXISTS = 0x0008

# Commands.
COM_SLEEP = 0x00
COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_FIELD_LIST = 0x04
COM_STATISTICS = 0x09
COM_PROCESS_KILL = 0x0C
COM_PING = 0x0E
COM_CHANGE_USER = 0x11
COM_BINLOG_DUMP = 0x12
COM_REGISTER_SLAVE = 0x15
COM_SET_OPTION = 0x1B
COM_RESET_CONNECTION = 0x1F

MYSQL_OPTION_MULTI_STATEMENTS_ON = 0
MYSQL_OPTION_MULTI_STATEMENTS_OFF = 1

NATIVE = "mysql_native_password"
OLD = "mysql_old_password"
MAX_PAYLOAD = 0xFFFFFF


class MySQLError(Exception):
    """An ERR packet: code, sqlstate, message."""

    def __init__(self, code, sqlstate, message):
        super().__init__(code, sqlstate, message)
        self.code, self.sqlstate, self.message = code, sqlstate, message

    def __str__(self):
        return f"ERROR {self.code} ({self.sqlstate}): {self.message}"


class ConnectionClosed(Exception):
    """The peer closed the connection (or reset it)."""


def native_token(password, scramble):
    """mysql_native_password's answer: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))."""
    if not password:
        return b""
    if isinstance(password, str):
        password = password.encode()
    h1 = hashlib.sha1(password).digest()
    h2 = hashlib.sha1(h1).digest()
    mix = hashlib.sha1(scramble[:20] + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, mix))


def old_hash(password):
    """mysql_old_password's stored hash (sql/password.c, hash_password):
    two 31-bit words, printed as 16 hex digits in mysql.global_priv."""
    if isinstance(password, str):
        password = password.encode()
    nr, add, nr2 = 1345345333, 7, 0x12345671
    for c in password:
        if c in (32, 9):  # blanks are skipped
            continue
        nr = (nr ^ ((((nr & 63) + add) * c) + (nr << 8))) & 0xFFFFFFFF
        nr2 = (nr2 + ((nr2 << 8) ^ nr)) & 0xFFFFFFFF
        add = (add + c) & 0xFFFFFFFF
    return nr & 0x7FFFFFFF, nr2 & 0x7FFFFFFF


def old_token(password, scramble):
    """mysql_old_password's answer to the first 8 bytes of the scramble
    (sql/password.c, scramble_323), ended by a NUL as old clients send it."""
    if not password:
        return b""
    hp, hm = old_hash(password), old_hash(scramble[:8])
    top = 0x3FFFFFFF
    s1, s2 = (hp[0] ^ hm[0]) % top, (hp[1] ^ hm[1]) % top

    def rnd():
        nonlocal s1, s2
        s1 = (s1 * 3 + s2) % top
        s2 = (s1 + s2 + 33) % top
        return s1 / top
    out = [int(rnd() * 31) + 64 for _ in range(8)]
    extra = int(rnd() * 31)
    return bytes(b ^ extra for b in out) + b"\0"


def parse_err(payload):
    """An ERR packet's payload (starting with 0xff) as a MySQLError."""
    code = struct.unpack_from("<H", payload, 1)[0]
    if payload[3:4] == b"#":
        return MySQLError(code, payload[4:9].decode(), payload[9:].decode(errors="replace"))
    return MySQLError(code, "", payload[3:].decode(errors="replace"))


def lenenc_int(buf, pos):
    """Decode a length-encoded integer at pos; return (value, new pos)."""
    b = buf[pos]
    if b < 0xFB:
        return b, pos + 1
    if b == 0xFC:
        return struct.unpack_from("<H", buf, pos + 1)[0], pos + 3
    if b == 0xFD:
        return int.from_bytes(buf[pos + 1:pos + 4], "little"), pos + 4
    if b == 0xFE:
        return struct.unpack_from("<Q", buf, pos + 1)[0], pos + 9
    raise ValueError(f"bad length-encoded integer 0x{b:02x} at {pos}")


def lenenc_str(buf, pos):
    n, pos = lenenc_int(buf, pos)
    return bytes(buf[pos:pos + n]), pos + n


def lenenc_bytes(data):
    n = len(data)
    if n < 0xFB:
        head = bytes([n])
    elif n < 1 << 16:
        head = b"\xfc" + struct.pack("<H", n)
    elif n < 1 << 24:
        head = b"\xfd" + n.to_bytes(3, "little")
    else:
        head = b"\xfe" + struct.pack("<Q", n)
    return head + data


class Greeting:
    """The server's initial handshake packet (protocol 10)."""

    def __init__(self, payload):
        self.raw = payload
        self.protocol = payload[0]
        end = payload.index(b"\0", 1)
        self.server_version = payload[1:end].decode()
        pos = end + 1
        self.conn_id = struct.unpack_from("<I", payload, pos)[0]
        pos += 4
        part1 = payload[pos:pos + 8]
        pos += 9  # 8 bytes of scramble and a filler
        caps_lo = struct.unpack_from("<H", payload, pos)[0]
        pos += 2
        self.charset = payload[pos]
        self.status = struct.unpack_from("<H", payload, pos + 1)[0]
        caps_hi = struct.unpack_from("<H", payload, pos + 3)[0]
        self.caps = caps_lo | caps_hi << 16
        auth_len = payload[pos + 5]
        ext = struct.unpack_from("<I", payload, pos + 12)[0]
        self.ext_caps = 0 if self.caps & CLIENT_LONG_PASSWORD else ext
        pos += 6 + 10  # auth data length, then 10 reserved bytes
        n2 = max(13, auth_len - 8) if auth_len else 13
        part2 = payload[pos:pos + 12]  # the 13th byte is a terminating NUL
        pos += n2
        self.scramble = part1 + part2
        self.plugin = ""
        if self.caps & CLIENT_PLUGIN_AUTH and pos < len(payload):
            self.plugin = payload[pos:].split(b"\0")[0].decode()


class Column:
    """A column definition (protocol 41)."""

    def __init__(self, payload, ext_meta=False):
        self.raw = payload
        pos = 0
        fields = []
        for _ in range(6):
            s, pos = lenenc_str(payload, pos)
            fields.append(s.decode(errors="replace"))
        self.catalog, self.schema, self.table, self.org_table, self.name, self.org_name = fields
        self.ext = {}  # MariaDB's extended metadata: {0: type name, 1: format name}
        if ext_meta:
            block, pos = lenenc_str(payload, pos)
            at = 0
            while at < len(block):
                key = block[at]
                val, at = lenenc_str(block, at + 1)
                self.ext[key] = val.decode()
        _, pos = lenenc_int(payload, pos)  # length of the fixed fields, 0x0c
        self.charset, self.length, self.type, self.flags, self.decimals = struct.unpack_from(
            "<HIBHB", payload, pos)

    def __repr__(self):
        return f"Column({self.name!r}, type={self.type})"


class Result:
    """One result of a COM_QUERY: a result set (columns, rows) or an OK."""

    def __init__(self):
        self.columns = []
        self.rows = []
        self.affected_rows = 0
        self.insert_id = 0
        self.status = 0
        self.warnings = 0
        self.info = b""

    @property
    def names(self):
        return [c.name for c in self.columns]

    def __repr__(self):
        if self.columns:
            return f"Result(columns={self.names}, rows={self.rows!r})"
        return f"Result(OK, affected={self.affected_rows})"


class RawConn:
    """One client connection. Sequence ids are tracked in self.seq: the id
    of the last packet read or sent."""

    def __init__(self, host, port, timeout=5.0, read_greeting=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.seq = 0
        self.caps = 0
        self.greeting = None
        self.user = None
        if read_greeting:
            self.greeting = Greeting(self.read_packet())

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    # -- framing ------------------------------------------------------------

    def _recv_exact(self, n):
        chunks = []
        while n > 0:
            try:
                b = self.sock.recv(min(n, 1 << 20))
            except ConnectionResetError as e:
                raise ConnectionClosed(str(e)) from e
            if not b:
                raise ConnectionClosed("connection closed by peer")
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def read_packet(self):
        """One physical packet's payload; self.seq becomes its sequence id."""
        head = self._recv_exact(4)
        n = int.from_bytes(head[:3], "little")
        self.seq = head[3]
        return self._recv_exact(n)

    def read_payload(self):
        """One logical packet: physical packets of 16 MiB - 1 joined."""
        parts = [self.read_packet()]
        while len(parts[-1]) == MAX_PAYLOAD:
            parts.append(self.read_packet())
        return b"".join(parts)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_packet(self, payload, seq=None):
        """Send payload as one or more packets; seq defaults to self.seq + 1."""
        if seq is None:
            seq = (self.seq + 1) & 0xFF
        pos = 0
        while True:
            chunk = payload[pos:pos + MAX_PAYLOAD]
            self.sock.sendall(len(chunk).to_bytes(3, "little") + bytes([seq]) + chunk)
            self.seq = seq
            seq = (seq + 1) & 0xFF
            pos += len(chunk)
            if len(chunk) < MAX_PAYLOAD:
                return

    def wait_closed(self, timeout):
        """Read until the peer closes; return the payloads it sent before.
        Raises AssertionError if it is still open after timeout seconds."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"connection still open after {timeout:.1f}s (received {got!r})")
            self.sock.settimeout(left)
            try:
                got.append(self.read_packet())
            except ConnectionClosed:
                return got
            except socket.timeout:
                continue

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- login --------------------------------------------------------------

    def login_packet(self, user, auth, db=None, plugin=NATIVE, caps=DEFAULT_CAPS, charset=45,
                     ext_caps=0):
        caps |= CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
        if db is not None:
            caps |= CLIENT_CONNECT_WITH_DB
        if plugin is not None:
            caps |= CLIENT_PLUGIN_AUTH
        else:
            caps &= ~CLIENT_PLUGIN_AUTH
        if ext_caps:
            caps &= ~CLIENT_LONG_PASSWORD
        self.caps, self.ext_caps = caps, ext_caps
        p = struct.pack("<IIB19xI", caps, 1 << 24, charset, ext_caps)
        p += user.encode() + b"\0"
        p += bytes([len(auth)]) + auth
        if db is not None:
            p += db.encode() + b"\0"
        if plugin is not None:
            p += plugin.encode() + b"\0"
        return p

    def login(self, user, password, db=None, plugin=NATIVE, caps=DEFAULT_CAPS, auth=None,
              ext_caps=0):
        """Log in; return the list of plugins the server switched us to.

        With plugin other than mysql_native_password the first answer is
        `auth` (default: 32 junk bytes, as a caching_sha2_password client
        would send) and the server is expected to switch us to
        mysql_native_password. Raises MySQLError on an ERR packet.
        """
        if auth is None:
            if plugin in (NATIVE, None):
                auth = native_token(password, self.greeting.scramble)
            else:
                auth = hashlib.sha256(b"not a native answer").digest()
        self.send_packet(self.login_packet(user, auth, db, plugin, caps, ext_caps=ext_caps), seq=1)
        switched = self._auth_reply_loop(password)
        self.user = user
        return switched

    def _auth_reply_loop(self, password):
        switched = []
        while True:
            p = self.read_packet()
            if p[:1] == b"\x00":
                return switched
            if p[:1] == b"\xff":
                raise parse_err(p)
            if p == b"\xfe":  # the old-style request: mysql_old_password, greeting's scramble
                switched.append(OLD)
                self.send_packet(old_token(password, self.greeting.scramble))
                continue
            if p[:1] == b"\xfe":
                end = p.index(b"\0", 1) if b"\0" in p[1:] else len(p)
                plugin = p[1:end].decode()
                data = p[end + 1:]
                switched.append(plugin)
                if plugin == OLD:
                    self.send_packet(old_token(password, data))
                    continue
                if plugin != NATIVE:
                    raise AssertionError(f"server asked for auth plugin {plugin!r}")
                self.send_packet(native_token(password, data[:20]))
                continue
            raise AssertionError(f"unexpected packet during login: {p[:40]!r}")

    def change_user(self, user, password, db=None, plugin=NATIVE, charset=45):
        """COM_CHANGE_USER answering the greeting's scramble; returns the
        plugins switched to. Raises MySQLError on ERR."""
        auth = native_token(password, self.greeting.scramble) if plugin == NATIVE else \
            hashlib.sha256(b"x").digest()
        p = bytes([COM_CHANGE_USER]) + user.encode() + b"\0" + bytes([len(auth)]) + auth
        p += (db or "").encode() + b"\0"
        p += struct.pack("<H", charset)
        p += plugin.encode() + b"\0"
        self.send_packet(p, seq=0)
        switched = self._auth_reply_loop(password)
        self.user = user
        return switched

    # -- commands -----------------------------------------------------------

    def command(self, cmd, arg=b""):
        """Send a simple command; return the first answer packet's payload
        (raises MySQLError if it is an ERR)."""
        self.send_packet(bytes([cmd]) + arg, seq=0)
        p = self.read_payload()
        if p[:1] == b"\xff":
            raise parse_err(p)
        return p

    def _read_columns(self, n):
        ext_meta = bool(getattr(self, "ext_caps", 0) & MARIADB_CLIENT_EXTENDED_METADATA)
        cols = [Column(self.read_payload(), ext_meta) for _ in range(n)]
        if not self.caps & CLIENT_DEPRECATE_EOF:
            p = self.read_payload()
            if p[:1] != b"\xfe":
                raise AssertionError(f"expected EOF after column definitions, got {p[:20]!r}")
        return cols

    def _parse_ok(self, p, res):
        pos = 1
        res.affected_rows, pos = lenenc_int(p, pos)
        res.insert_id, pos = lenenc_int(p, pos)
        res.status, res.warnings = struct.unpack_from("<HH", p, pos)
        res.info = p[pos + 4:]

    def read_result(self):
        """Read one result of a query; MySQLError on ERR."""
        res = Result()
        p = self.read_payload()
        if p[:1] == b"\xff":
            raise parse_err(p)
        if p[:1] == b"\x00":
            self._parse_ok(p, res)
            return res
        if p[:1] == b"\xfb":
            raise AssertionError("LOCAL INFILE request: not supported by rawmysql")
        ncols, _ = lenenc_int(p, 0)
        res.columns = self._read_columns(ncols)
        while True:
            p = self.read_payload()
            if p[:1] == b"\xfe" and len(p) < 0xFFFFFF:
                if self.caps & CLIENT_DEPRECATE_EOF:
                    self._parse_ok(p, res)
                else:
                    res.warnings, res.status = struct.unpack_from("<HH", p, 1)
                return res
            if p[:1] == b"\xff":
                raise parse_err(p)
            row, pos = [], 0
            for _ in range(ncols):
                if p[pos] == 0xFB:
                    row.append(None)
                    pos += 1
                else:
                    v, pos = lenenc_str(p, pos)
                    row.append(v.decode(errors="replace"))
            res.rows.append(tuple(row))

    def query(self, sql):
        """COM_QUERY; return every result (a list). An ERR anywhere raises
        MySQLError with the results before it in .results."""
        if isinstance(sql, str):
            sql = sql.encode()
        self.send_packet(bytes([COM_QUERY]) + sql, seq=0)
        results = []
        while True:
            try:
                r = self.read_result()
            except MySQLError as e:
                e.results = results
                raise
            results.append(r)
            if not r.status & SERVER_MORE_RESULTS_EXISTS:
                return results

    def value(self, sql):
        """The first column of the first row of the first result."""
        return self.query(sql)[0].rows[0][0]

    def field_list(self, table, wildcard=""):
        """COM_FIELD_LIST: the raw column definition payloads."""
        self.send_packet(bytes([COM_FIELD_LIST]) + table.encode() + b"\0" + wildcard.encode(),
                         seq=0)
        cols = []
        while True:
            p = self.read_payload()
            if p[:1] == b"\xff":
                raise parse_err(p)
            if p[:1] == b"\xfe" and len(p) < 9:
                return cols
            cols.append(p)

    def set_option(self, option):
        return self.command(COM_SET_OPTION, struct.pack("<H", option))

    def kill(self, thread_id):
        return self.command(COM_PROCESS_KILL, struct.pack("<I", thread_id))
