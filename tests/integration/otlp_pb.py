"""An OTLP/HTTP protobuf body (ExportTraceServiceRequest, binary) read into
the shape of its OTLP JSON mapping, so that the tests check both encodings
with one set of assertions: ids as lower-case hex, 64-bit integers as
decimal strings, enums as numbers, fields at their default left out.

The wire format is read field by field (varint, fixed64, length-delimited,
fixed32), strictly: a truncated field, an unknown wire type, a varint of
more than 10 bytes, a string that is not UTF-8 or a field twice where the
message has one each raise ValueError. Only the messages and fields
halyard writes are mapped; any other field raises too, so a field written
under the wrong number shows."""


def _varint(b, i):
    v, shift = 0, 0
    for k in range(10):
        if i >= len(b):
            raise ValueError("a truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7
    raise ValueError("a varint of more than 10 bytes")


def fields(b):
    """[(field number, wire type, value)]: an int for varint and fixed, bytes
    for length-delimited."""
    out, i = [], 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ValueError("field number 0")
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            if i + 8 > len(b):
                raise ValueError("a truncated fixed64")
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise ValueError(f"a length-delimited field of {n} bytes past the end")
            v, i = bytes(b[i:i + n]), i + n
        elif wt == 5:
            if i + 4 > len(b):
                raise ValueError("a truncated fixed32")
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.append((num, wt, v))
    return out


def _msg(b, spec, what):
    """A message as a dict by spec: {number: (json name, kind, repeated)}."""
    out = {}
    for num, wt, v in fields(b):
        if num not in spec:
            raise ValueError(f"{what}: field {num} is not one halyard writes")
        name, kind, repeated = spec[num]
        want = {"str": 2, "bytes": 2, "msg": 2, "varint": 0, "int64": 0, "fixed64": 1}[
            kind if isinstance(kind, str) else "msg"]
        if wt != want:
            raise ValueError(f"{what}.{name}: wire type {wt}, not {want}")
        if kind == "str":
            v = v.decode("utf-8")  # strict: protobuf's string is UTF-8
        elif kind == "bytes":
            v = v.hex()
        elif kind in ("int64", "fixed64"):
            if kind == "int64" and v >= 1 << 63:
                v -= 1 << 64
            v = str(v)
        elif not isinstance(kind, str):
            v = kind(v)
        if repeated:
            out.setdefault(name, []).append(v)
        elif name in out:
            raise ValueError(f"{what}.{name} twice")
        else:
            out[name] = v
    return out


def _any(b):
    m = _msg(b, {1: ("stringValue", "str", False), 2: ("boolValue", "varint", False),
                 3: ("intValue", "int64", False)}, "AnyValue")
    if len(m) != 1:
        raise ValueError(f"AnyValue with {len(m)} values")
    if "boolValue" in m:
        m["boolValue"] = bool(m["boolValue"])
    return m


def _kv(b):
    m = _msg(b, {1: ("key", "str", False), 2: ("value", _any, False)}, "KeyValue")
    if "value" not in m:
        raise ValueError(f"KeyValue {m.get('key')} without a value")
    return m


def _event(b):
    return _msg(b, {1: ("timeUnixNano", "fixed64", False), 2: ("name", "str", False),
                    3: ("attributes", _kv, True)}, "Event")


def _status(b):
    return _msg(b, {2: ("message", "str", False), 3: ("code", "varint", False)}, "Status")


def _span(b):
    return _msg(b, {1: ("traceId", "bytes", False), 2: ("spanId", "bytes", False),
                    3: ("traceState", "str", False), 4: ("parentSpanId", "bytes", False),
                    5: ("name", "str", False), 6: ("kind", "varint", False),
                    7: ("startTimeUnixNano", "fixed64", False),
                    8: ("endTimeUnixNano", "fixed64", False), 9: ("attributes", _kv, True),
                    11: ("events", _event, True), 15: ("status", _status, False)}, "Span")


def _scope(b):
    return _msg(b, {1: ("name", "str", False), 2: ("version", "str", False)}, "Scope")


def _scope_spans(b):
    return _msg(b, {1: ("scope", _scope, False), 2: ("spans", _span, True)}, "ScopeSpans")


def _resource(b):
    return _msg(b, {1: ("attributes", _kv, True)}, "Resource")


def _resource_spans(b):
    return _msg(b, {1: ("resource", _resource, False), 2: ("scopeSpans", _scope_spans, True)},
                "ResourceSpans")


def decode(body):
    """An ExportTraceServiceRequest's bytes as its OTLP JSON document."""
    return _msg(body, {1: ("resourceSpans", _resource_spans, True)}, "ExportTraceServiceRequest")
