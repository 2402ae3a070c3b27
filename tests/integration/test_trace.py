"""Traces (issue 56, docs/tracing.md): a span per client statement, sent
over OTLP/HTTP to a receiver this file runs (http.server on a port of the
test's block), each test with both encodings (protobuf, halyard's default,
read by otlp_pb into the JSON mapping's shape, and JSON), checked against
OpenTelemetry's OTLP JSON mapping and its database conventions: each statement's span, its parent from a
traceparent (an sqlcommenter comment, a connection attribute, the session
variable @traceparent) and the tracestate beside it, its attributes, the
wait events of a statement held by a limit and of one held by a
consistency wait; a lone span posted flush_ms after it was queued
(tracing.flush_ms), not before; with the receiver down, client statements no slower than with tracing off; a
switchover's, a reload's and a backup run's spans, and none of them
with tracing off.
"""

import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import mysqlbin  # noqa: E402
import otlp_pb  # noqa: E402
from util import (APP_PASSWORD, APP_USER, admin_json, backends, free_port, mysql_native_hash, q,
                  wait_until)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class Receiver:
    """An OTLP/HTTP receiver: the spans of every request, as posted, read
    as the request's Content-Type says (protobuf, read into the OTLP JSON
    mapping's shape by otlp_pb, or JSON)."""

    def __init__(self):
        self.spans, self.requests, self.bad = [], [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, self.headers.get("Content-Type"), body))
                try:
                    ctype = self.headers.get("Content-Type")
                    if ctype == "application/x-protobuf":
                        doc = otlp_pb.decode(body)
                    elif ctype == "application/json":
                        doc = json.loads(body)
                    else:
                        raise ValueError(f"Content-Type {ctype}")
                    for rs in doc["resourceSpans"]:
                        attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                        assert attrs["service.name"] == {"stringValue": "halyard"}
                        for ss in rs["scopeSpans"]:
                            assert ss["scope"]["name"] == "halyard"
                            outer.spans.extend(ss["spans"])
                except (ValueError, KeyError, AssertionError) as e:
                    outer.bad.append((repr(e), body[:200]))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def endpoint(self):
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def find(self, pred, timeout=10):
        """The first span pred accepts, waiting for it (the tests' halyard posts a
        batch 200 ms after its first span, tracing.flush_ms)."""
        found = []
        wait_until(lambda: found.extend(s for s in self.spans if pred(s)) or found, timeout,
                   what="the span")
        return found[0]


@pytest.fixture(params=["http/protobuf", "http/json"], ids=["protobuf", "json"])
def receiver(request):
    """A receiver, and the protocol halyard is to post to it with (each test
    runs with both: protobuf by default, JSON as configured)."""
    r = Receiver()
    r.protocol = request.param
    yield r
    r.close()
    assert not r.bad, r.bad
    want = {"http/protobuf": "application/x-protobuf", "http/json": "application/json"}
    assert {ctype for _, ctype, _ in r.requests} <= {want[r.protocol]}, r.requests[:1]


def attrs(span):
    """A span's attributes as {key: python value} (OTLP JSON: int64 as strings)."""
    out = {}
    for a in span.get("attributes", []):
        (kind, v), = a["value"].items()
        out[a["key"]] = int(v) if kind == "intValue" else v
    return out


def tracing(receiver, **kw):
    """The tracing group posting to receiver; flush_ms 200 unless given, so
    that a test does not wait for the default's 5 s."""
    proto = {} if receiver.protocol == "http/protobuf" else {"protocol": receiver.protocol}
    return {"tracing": {"enabled": True, "endpoint": receiver.endpoint(), "flush_ms": 200,
                        **proto, **kw}}


def text_has(marker):
    return lambda s: marker in attrs(s).get("db.query.summary", "") or \
        marker in attrs(s).get("db.query.text", "")


def check_span_shape(span):
    """What OTLP's JSON mapping and the trace context ask of every span."""
    assert len(span["traceId"]) == 32 and span["traceId"] == span["traceId"].lower()
    assert len(span["spanId"]) == 16 and int(span["spanId"], 16) != 0
    assert span["kind"] == 3  # SPAN_KIND_CLIENT, as the database conventions say
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    assert abs(start / 1e9 - time.time()) < 120 and end >= start


def test_summary_is_the_statement_s_digest(start_halyard, receiver):
    """db.query.summary is the statement's digest, for a text statement and
    for a prepare: the router's, handed to the trace when it classified
    the text with one (the digests' table on: digest_max_entries 4096),
    else the trace's own classification of the text at the end (the table
    off and nothing else asking the router for a digest: 0). The same
    text either way, and no literal of the statement in it."""
    def shapes():
        return sorted({attrs(s)["db.query.summary"] for s in list(receiver.spans)
                       if "DUAL WHERE" in attrs(s).get("db.query.summary", "")})

    got = []
    for i, digests in enumerate((4096, 0)):
        h = start_halyard(digest_max_entries=digests, **tracing(receiver))
        c = h.connect()
        q(c, f"SELECT 'sum_lit_a{i}', 17{i} FROM DUAL WHERE 1 = 1")
        b = mysqlbin.connect(h.port, APP_USER, APP_PASSWORD)
        try:
            b.prepare(f"SELECT 'sum_lit_b{i}', ?, 3 FROM DUAL WHERE 2 = 2")
        finally:
            b.close()
        wait_until(lambda: len(shapes()) >= 2, 10, what="the two statements' spans")
        got.append(shapes())
        h.stop()
        receiver.spans.clear()
    assert got[0] == got[1], got
    assert len(got[0]) == 2, got  # the text statement's and the prepare's shapes
    for t in got[0]:
        assert "sum_lit" not in t and "17" not in t, got


def test_statement_span_with_a_parent_from_a_comment(start_halyard, cluster, receiver):
    h = start_halyard(**tracing(receiver, query_text=True))
    c = h.connect()
    sid = q(c, f"SELECT @@server_id, 'span_a' /*traceparent='00-{TRACE}-{PARENT}-01'*/")[0][0]
    span = receiver.find(text_has("span_a"))
    check_span_shape(span)
    assert span["traceId"] == TRACE and span["parentSpanId"] == PARENT
    a = attrs(span)
    assert a["db.system.name"] == "mariadb"
    assert a["db.operation.name"] == "SELECT"
    assert span["name"].startswith("SELECT")
    assert a["db.query.summary"].startswith("SELECT @@server_id")  # the digest: 'span_a' as ?
    assert "span_a" not in a["db.query.summary"]
    assert "span_a" in a["db.query.text"]  # query_text = true
    assert a["db.response.returned_rows"] == 1
    # server.address/port: the backend that answered, as the server says
    # (its @@server_id is the node's at that port)
    node = [n for n in cluster.nodes if cluster.port(n) == a["server.port"]]
    assert node and cluster.server_id(node[0]) == sid, (a, sid)
    assert a["halyard.backend.role"] in ("primary", "replica")
    assert a["halyard.backend"]
    assert "status" not in span
    assert "traceState" not in span  # none was given


def test_tracestate_is_passed_on(start_halyard, receiver):
    """The tracestate beside the comment's traceparent is the span's, as the
    application wrote it (URL-decoded, as sqlcommenter encodes it)."""
    h = start_halyard(**tracing(receiver, query_text=True))
    c = h.connect()
    q(c, f"SELECT 'span_ts' /*traceparent='00-{TRACE}-{PARENT}-01',"
         f"tracestate='rojo%3D00f067aa0ba902b7%2Ccongo%3Dt61rcWkgMzE'*/")
    span = receiver.find(text_has("span_ts"))
    assert span["traceId"] == TRACE and span["parentSpanId"] == PARENT
    assert span["traceState"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


def attrs_conn(h, traceparent, tracestate):
    """A pymysql connection that sends these two connection attributes."""
    c = pymysql.connect(**h.conn_params(defer_connect=True))
    c._connect_attrs["traceparent"] = traceparent
    c._connect_attrs["tracestate"] = tracestate
    c.connect()
    return c


def test_tracestate_from_the_attribute_and_the_session_variable(start_halyard, receiver):
    """The tracestate goes with its traceparent's source, in the same order
    (comment, @tracestate, the connection attribute); one that is not a
    W3C tracestate (a key twice, upper case, no '=') is dropped, never
    passed on, and counted (trace_bad_tracestates)."""
    h = start_halyard(**tracing(receiver, query_text=True))
    bad = lambda: admin_json(f"/tmp/halyard-{h.port}.sock", "show stats")["trace_bad_tracestates"]  # noqa: E731
    assert bad() == 0
    tid = "0af7651916cd43dd8448eb211c80319c"
    c = attrs_conn(h, f"00-{tid}-b7ad6b7169203331-01", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    try:
        q(c, "SELECT 'ts_attr'")
        span = receiver.find(text_has("ts_attr"))
        assert span["traceId"] == tid and span["parentSpanId"] == "b7ad6b7169203331"
        assert span["traceState"] == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        # the session variable's pair takes over
        tid3 = "11111111111111111111111111111111"
        q(c, f"SET @traceparent = '00-{tid3}-2222222222222222-01', "
             "@tracestate = 'vendor1@sys=opaque value, k2=v2'")
        q(c, "SELECT 'ts_var'")
        span = receiver.find(text_has("ts_var"))
        assert span["traceId"] == tid3 and span["parentSpanId"] == "2222222222222222"
        assert span["traceState"] == "vendor1@sys=opaque value, k2=v2"
        # a comment's traceparent without a tracestate: none (not another source's)
        q(c, f"SELECT 'ts_comment' /*traceparent='00-{TRACE}-{PARENT}-01'*/")
        span = receiver.find(text_has("ts_comment"))
        assert span["traceId"] == TRACE and "traceState" not in span
        # a malformed one replaces the variable's, and is not passed on
        q(c, "SET @tracestate = 'rojo=1,rojo=2'")
        q(c, "SELECT 'ts_bad_var'")
        span = receiver.find(text_has("ts_bad_var"))
        assert span["traceId"] == tid3 and "traceState" not in span
        assert bad() == 1
        q(c, "SET @tracestate = 'rojo=3'")
        q(c, "SELECT 'ts_var_again'")
        assert receiver.find(text_has("ts_var_again"))["traceState"] == "rojo=3"
        # COM_RESET_CONNECTION: user variables gone, the attribute's pair again
        c._execute_command(0x1f, b"")  # COM_RESET_CONNECTION
        c._read_ok_packet()
        q(c, "SELECT 'ts_after_reset'")
        span = receiver.find(text_has("ts_after_reset"))
        assert span["traceId"] == tid
        assert span["traceState"] == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    finally:
        c.close()
    # a malformed attribute: the parent stays, the tracestate is dropped
    c = attrs_conn(h, f"00-{tid}-b7ad6b7169203331-01", "Rojo=00f067aa0ba902b7")
    try:
        q(c, "SELECT 'ts_bad_attr'")
        span = receiver.find(text_has("ts_bad_attr"))
        assert span["parentSpanId"] == "b7ad6b7169203331" and "traceState" not in span
        # nor is a malformed one in a comment
        q(c, f"SELECT 'ts_bad_comment' /*traceparent='00-{TRACE}-{PARENT}-01',"
             "tracestate='rojo=1,rojo=2'*/")
        span = receiver.find(text_has("ts_bad_comment"))
        assert span["traceId"] == TRACE and "traceState" not in span
        assert bad() == 3  # the variable's, the attribute's, the comment's
    finally:
        c.close()


def test_session_variables_in_any_case(start_halyard, receiver):
    """A user variable's name is the same in any case on the server:
    SET @TraceParent and @TRACESTATE are @traceparent and @tracestate,
    and the server reads them back so (@traceparent)."""
    h = start_halyard(**tracing(receiver, query_text=True))
    c = h.connect()
    try:
        tid = "33333333333333333333333333333333"
        q(c, f"SET @TraceParent = '00-{tid}-4444444444444444-01', @TRACESTATE = 'rojo=4'")
        assert q(c, "SELECT @traceparent, @tracestate") == \
            ((f"00-{tid}-4444444444444444-01", "rojo=4"),)
        q(c, "SELECT 'any_case'")
        span = receiver.find(text_has("any_case"))
        assert span["traceId"] == tid and span["parentSpanId"] == "4444444444444444"
        assert span["traceState"] == "rojo=4"
    finally:
        c.close()


def test_root_span_error_and_no_text_by_default(start_halyard, receiver):
    h = start_halyard(**tracing(receiver))
    c = h.connect()
    q(c, "SELECT 'span_root'")
    with pytest.raises(pymysql.err.ProgrammingError):
        q(c, "SELECT * FROM no_such_db_x.no_such_table_x")
    root = receiver.find(text_has("SELECT ?"))
    assert "parentSpanId" not in root and root["traceId"] != TRACE
    assert "db.query.text" not in attrs(root)
    err = receiver.find(text_has("no_such_table_x"))
    assert attrs(err)["db.response.status_code"] == "1146"
    assert err["status"]["code"] == 2


def test_parent_from_connection_attribute_and_session_variable(start_halyard, receiver):
    h = start_halyard(**tracing(receiver))
    tid2 = "0af7651916cd43dd8448eb211c80319c"
    c = pymysql.connect(**h.conn_params(defer_connect=True))
    c._connect_attrs["traceparent"] = f"00-{tid2}-b7ad6b7169203331-01"
    c.connect()
    try:
        q(c, "SELECT 'by_attr'")
        span = receiver.find(lambda s: s["traceId"] == tid2)
        assert span["parentSpanId"] == "b7ad6b7169203331"
        # the session variable takes over from the attribute
        tid3 = "11111111111111111111111111111111"
        q(c, f"SET @traceparent = '00-{tid3}-2222222222222222-01'")
        q(c, "SELECT 'by_var'")
        span = receiver.find(lambda s: s["traceId"] == tid3 and
                             attrs(s).get("db.operation.name") == "SELECT")
        assert span["parentSpanId"] == "2222222222222222"
    finally:
        c.close()


def test_bad_traceparent_is_ignored(start_halyard, receiver):
    h = start_halyard(**tracing(receiver, query_text=True))
    c = h.connect()
    before = admin_json(f"/tmp/halyard-{h.port}.sock", "show stats")["trace_bad_traceparents"]
    # upper case hex: not valid per W3C; the statement runs, the span is a root
    assert q(c, f"SELECT 'bad_tp' /*traceparent='00-{TRACE.upper()}-{PARENT}-01'*/") == (("bad_tp",),)
    span = receiver.find(text_has("bad_tp"))
    assert "parentSpanId" not in span and span["traceId"] != TRACE
    after = admin_json(f"/tmp/halyard-{h.port}.sock", "show stats")["trace_bad_traceparents"]
    assert after == before + 1


def test_sampling_ratio_zero_keeps_errors_and_sampled_parents(start_halyard, receiver):
    h = start_halyard(**tracing(receiver, ratio="0.0"))
    c = h.connect()
    for _ in range(20):
        q(c, "SELECT 'unsampled'")
    q(c, f"SELECT 'sampled' /*traceparent='00-{TRACE}-{PARENT}-01'*/")
    q(c, f"SELECT 'not_sampled' /*traceparent='00-{TRACE}-{PARENT}-00'*/")
    with pytest.raises(pymysql.err.ProgrammingError):
        q(c, "SELECT * FROM no_such_db_y.t")
    # longer than the 80 bytes a statement kept at its end is summed up from
    long_sql = ("SELECT * FROM no_such_db_z.t WHERE a1 = 1 AND a2 = 2 AND a3 = 3 AND a4 = 4 "
                "AND a5 = 5 AND tail_col = 6")
    assert long_sql.index("tail_col") > 80
    with pytest.raises(pymysql.err.ProgrammingError):
        q(c, long_sql)
    err = receiver.find(lambda s: "no_such_db_y" in attrs(s).get("db.query.summary", ""))
    a = attrs(err)
    # kept at its end (the ratio dropped it at its take): its summary is the
    # digest of the statement's first bytes, as the session keeps them
    assert a["db.response.status_code"] == "1146" and a["db.operation.name"] == "SELECT"
    assert a["db.query.summary"] == "SELECT * FROM no_such_db_y.t", a
    cut = attrs(receiver.find(lambda s: "no_such_db_z" in attrs(s).get("db.query.summary", "")))
    assert cut["db.query.summary"].startswith("SELECT * FROM no_such_db_z.t WHERE a1 = ?"), cut
    assert "tail_col" not in cut["db.query.summary"], cut
    time.sleep(1.5)  # a batch's flush: anything else would be here by now
    assert len(receiver.spans) == 3, [attrs(s) for s in receiver.spans]
    assert sum(s.get("parentSpanId") == PARENT for s in receiver.spans) == 1


def test_limit_wait_is_an_event(start_halyard, receiver):
    users = [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)}]
    h = start_halyard(users=users, limits=[{"name": "one", "users": [APP_USER],
                                            "max_concurrent": 1, "queue_size": 4,
                                            "queue_timeout_ms": 10000}],
                      **tracing(receiver))
    a, b = h.connect(), h.connect()
    t = threading.Thread(target=q, args=(a, "SELECT SLEEP(1), 'holder'"))
    t.start()
    # the holder runs (a fixed 0.3 s let b's statement go first on a loaded host)
    wait_until(lambda: [r["in_flight"] for r in admin_json(f"/tmp/halyard-{h.port}.sock",
                                                          "show limits")["limits"]] == [1],
               what="the holder in flight")
    q(b, "SELECT 'held_by_limit'")
    t.join()
    span = receiver.find(lambda s: any(e["name"] == "halyard.wait.limit"
                                       for e in s.get("events", [])))
    ev = [e for e in span["events"] if e["name"] == "halyard.wait.limit"][0]
    waited = int(ev["attributes"][0]["value"]["intValue"])
    assert 0.4e9 < waited < 1.5e9, waited
    assert int(span["startTimeUnixNano"]) <= int(ev["timeUnixNano"])
    assert int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"]) >= waited


def test_consistency_wait_is_an_event(start_halyard, cluster, receiver):
    h = start_halyard(consistency="causal", causal_timeout_ms=5000, **tracing(receiver))
    c = h.connect()
    q(c, "CREATE DATABASE IF NOT EXISTS trace_t")
    q(c, "CREATE TABLE IF NOT EXISTS trace_t.t (id INT PRIMARY KEY, v INT)")
    q(c, "REPLACE INTO trace_t.t VALUES (1, 1)")
    q(c, "SELECT v, 'after_write' FROM trace_t.t WHERE id = 1")
    span = receiver.find(lambda s: any(e["name"] == "halyard.wait.consistency"
                                       for e in s.get("events", [])))
    assert attrs(span)["halyard.consistency"] == "causal"
    assert attrs(span)["db.operation.name"] == "SELECT"


def latencies(h, n=300):
    c = h.connect()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        q(c, "SELECT 1")
        out.append(time.perf_counter() - t0)
    return out


def arrival(receiver, marker, timeout):
    """Seconds from now until the span whose text holds marker is posted,
    or None when it is not within timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if any(marker in attrs(s).get("db.query.text", "") for s in receiver.spans):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


@pytest.mark.parametrize("flush_ms", [200, 3000])
def test_a_lone_span_is_posted_after_flush_ms(start_halyard, receiver, flush_ms):
    """tracing.flush_ms: a batch not full (here one span) is posted
    flush_ms after its first span was queued, not sooner, not much later.
    A first statement, waited for, leaves the exporter idle (no timer
    running) before the one timed."""
    h = start_halyard(**tracing(receiver, query_text=True, flush_ms=flush_ms))
    c = h.connect()
    try:
        q(c, "SELECT 'flush_warm'")
        assert arrival(receiver, "flush_warm", flush_ms / 1000 + 5) is not None
        time.sleep(0.1)
        t0 = time.monotonic()
        q(c, "SELECT 'flush_lone'")
        if flush_ms == 200:
            took = arrival(receiver, "flush_lone", 5)
            assert took is not None and took < 0.8, took
        else:
            # not in the first 2 s (a timer of 1 s, as before the key, posts it then)
            assert arrival(receiver, "flush_lone", 2.0 - (time.monotonic() - t0)) is None
            took = arrival(receiver, "flush_lone", 6.0 - (time.monotonic() - t0))
            assert took is not None, "not posted within 6 s of the statement"
    finally:
        c.close()


def test_receiver_down_costs_nothing(start_halyard):
    down = f"http://127.0.0.1:{free_port()}/v1/traces"  # nothing listens there
    off = latencies(start_halyard(tracing={"enabled": False, "endpoint": down}))
    h = start_halyard(tracing={"enabled": True, "endpoint": down, "queue_size": 16,
                               "flush_ms": 200})
    on = latencies(h)
    p50_off, p50_on = statistics.median(off), statistics.median(on)
    p99_off, p99_on = sorted(off)[int(len(off) * .99)], sorted(on)[int(len(on) * .99)]
    print(f"p50 off {p50_off * 1e3:.3f} ms on {p50_on * 1e3:.3f} ms; "
          f"p99 off {p99_off * 1e3:.3f} ms on {p99_on * 1e3:.3f} ms")
    assert p50_on < p50_off * 1.5 + 0.0005
    assert max(on) < 0.2  # never a connect timeout (2 s) in a client's statement
    # the drops are counted: the queue's (16 spans for 300 statements) and
    # the failed batches'
    stats = wait_until(lambda: (lambda st: st if st["trace_spans_dropped"] >= 284 else None)(
        admin_json(f"/tmp/halyard-{h.port}.sock", "show stats")), timeout=10)
    assert stats["trace_spans_exported"] == 0


def test_a_switchover_posts_nothing_while_tracing_is_off(start_halyard, cluster, receiver,
                                                          tmp_path):
    """The exporter runs with tracing off (so that a reload may turn it on),
    but a failover or switchover is no span then, as a statement is not:
    before, the switchover was posted to the receiver, and the pooled
    halyard of tools/soak kept libcurl's descriptors for it."""
    from test_failover import ctl, failover_settings
    conf = failover_settings(tmp_path)
    conf.update(tracing(receiver, enabled=False))
    start_halyard(conf)
    r = ctl(conf["admin_socket"], "switchover", "to", "node2")
    assert r.returncode == 0, f"halyardctl switchover: {r.returncode}\n{r.stdout}\n{r.stderr}"
    time.sleep(2.5)  # the exporter would have posted a batch 200 ms after a span
    assert receiver.requests == [] and receiver.spans == []


def test_switchover_is_a_span_with_its_steps(start_halyard, cluster, receiver, tmp_path):
    """A switchover run through the admin socket: a span of its own (a
    root, kind internal, named halyard.switchover), with its words as
    attributes and each step as an event at its time, within the span."""
    from test_failover import ctl, failover_settings
    conf = failover_settings(tmp_path)
    conf.update(tracing(receiver))
    start_halyard(conf)
    r = ctl(conf["admin_socket"], "switchover", "to", "node2")
    assert r.returncode == 0, f"halyardctl switchover: {r.returncode}\n{r.stdout}\n{r.stderr}"
    span = receiver.find(lambda s: s["name"] == "halyard.switchover", timeout=15)
    assert span["kind"] == 1 and "parentSpanId" not in span  # SPAN_KIND_INTERNAL, a root
    assert len(span["traceId"]) == 32 and int(span["traceId"], 16) != 0
    a = attrs(span)
    assert (a["halyard.procedure"], a["halyard.trigger"], a["halyard.backend"], a["halyard.from"],
            a["halyard.to"], a["halyard.ok"]) == ("switchover", "admin", "node2", "node0", "node2",
                                                  True), a
    assert a["halyard.result"].startswith("switchover done: node2 is the primary"), a
    assert "status" not in span or span["status"].get("code", 0) != 2
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    assert abs(start / 1e9 - time.time()) < 120 and end >= start
    steps = [(int(e["timeUnixNano"]), attrs(e)["halyard.step.text"]) for e in span["events"]]
    assert all(e["name"] == "halyard.step" for e in span["events"])
    # the lines halyardctl printed, each an event at its offset from the start
    printed = [ln for ln in r.stdout.splitlines() if ln.startswith("[+")]
    assert len(steps) >= 3 and len(steps) == len(printed), (steps, r.stdout)
    assert any("node2 promoted" in t for _, t in steps), steps
    assert any("writes paused" in t for _, t in steps), steps
    for (at, _), line in zip(steps, printed):
        ms = int(line[2:line.index(" ms]")])
        assert at == start + ms * 1_000_000 and start <= at <= end + 1_000_000, (at, line)


RULE = {"name": "trace_rule", "match_text": r"(?i)^SELECT 'trace_rule'", "route": "primary"}


def test_reloads_are_spans(start_halyard, cluster, receiver):
    """Each reload (SIGHUP, the admin socket's) is a span of its own: a
    root, kind internal, halyard.reload, who asked, applied or refused and
    why (status ERROR then), and the counts of the config in force after it
    beside those before."""
    from util import render_conf
    conf = tracing(receiver)
    h = start_halyard(conf)
    sock = f"/tmp/halyard-{h.port}.sock"
    h.reload(render_conf(cluster, h.port, None, {**conf, "rules": [RULE]}))
    span = receiver.find(lambda s: s["name"] == "halyard.reload")
    assert span["kind"] == 1 and "parentSpanId" not in span
    assert "status" not in span
    a = attrs(span)
    assert (a["halyard.procedure"], a["halyard.trigger"], a["halyard.reload.by"], a["halyard.ok"],
            a["halyard.result"]) == ("reload", "SIGHUP", "SIGHUP", True, "applied"), a
    assert a["halyard.reload.rules"] == a["halyard.reload.rules.before"] + 1, a
    assert a["halyard.reload.backends"] == a["halyard.reload.backends.before"] == 3, a
    for k in ("listeners", "groups", "users", "limits"):
        assert a[f"halyard.reload.{k}"] == a[f"halyard.reload.{k}.before"], (k, a)
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    assert abs(start / 1e9 - time.time()) < 120 and end >= start
    rules = a["halyard.reload.rules"]
    # refused: the file does not parse; the running config stays
    h.reload("tracing = { enabled = true;\n")
    span = receiver.find(lambda s: s["name"] == "halyard.reload" and
                         not attrs(s)["halyard.ok"])
    a = attrs(span)
    assert a["halyard.result"] == "refused" and a["halyard.reason"], a
    assert span["status"]["code"] == 2 and span["status"]["message"] == a["halyard.reason"]
    assert a["halyard.reload.rules"] == a["halyard.reload.rules.before"] == rules, a
    last_error = admin_json(sock, "show status")["last_reload_error"]
    assert a["halyard.reason"] == last_error, (a, last_error)
    # by the admin socket: the trigger says so
    h.reload(render_conf(cluster, h.port, None, {**conf, "rules": None}))
    wait_until(lambda: len([s for s in receiver.spans if s["name"] == "halyard.reload"]) == 3,
               10, what="the third reload's span")
    from test_failover import ctl
    r = ctl(sock, "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    span = receiver.find(lambda s: s["name"] == "halyard.reload" and
                         attrs(s)["halyard.trigger"] == "admin")
    a = attrs(span)
    assert a["halyard.reload.by"].startswith("admin") and a["halyard.ok"], a
    assert a["halyard.reload.rules"] == a["halyard.reload.rules.before"] == rules - 1, a


def test_a_reload_posts_nothing_while_tracing_is_off(start_halyard, cluster, receiver):
    from util import render_conf
    conf = tracing(receiver, enabled=False)
    h = start_halyard(conf)
    h.reload(render_conf(cluster, h.port, None, {**conf, "rules": [RULE]}))
    wait_until(lambda: admin_json(f"/tmp/halyard-{h.port}.sock", "show status")["reloads_ok"] == 1,
               10, what="the reload")
    time.sleep(2.5)  # the exporter would have posted a batch 200 ms after a span
    assert receiver.requests == [] and receiver.spans == []


def backup_conf(tmp_path, receiver, **backup):
    from test_backup import backup_settings
    from test_failover import failover_settings
    conf = failover_settings(tmp_path, backup=backup_settings(tmp_path, **backup))
    conf.update(tracing(receiver))
    return conf


def run_backup(conf):
    from test_backup import show_backup
    from test_failover import ctl
    wait_until(lambda: all(b["state"] == "ONLINE" for b in backends(conf["admin_socket"]).values()),
               10)
    r = ctl(conf["admin_socket"], "backup", "full")
    wait_until(lambda: show_backup(conf)["full_state"] != "running", 120, interval=0.05)
    return r, show_backup(conf)


@pytest.mark.one_pool_mode
def test_a_backup_run_is_a_span(start_halyard, cluster, receiver, tmp_path):
    """`backup full`: a span halyard.backup from the request to the end,
    its id (the files' stem), type, method, source, outcome, bytes and
    GTID, as show backup and the manifest say."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS trace_bk")  # a GTID to back up at
    cluster.sync()
    conf = backup_conf(tmp_path, receiver)
    start_halyard(conf)
    t0 = time.time()
    r, s = run_backup(conf)
    assert s["full_state"] == "ok", (r.stdout, s)
    span = receiver.find(lambda s: s["name"] == "halyard.backup", timeout=15)
    assert span["kind"] == 1 and "parentSpanId" not in span and "status" not in span
    a = attrs(span)
    stem = os.path.basename(s["full_file"]).split(".")[0]
    man = json.load(open(os.path.join(os.path.dirname(s["full_file"]), stem + ".json")))
    assert stem.startswith("full-")
    assert (a["halyard.procedure"], a["halyard.backup.id"], a["halyard.backup.type"],
            a["halyard.backup.method"], a["halyard.ok"], a["halyard.result"]) == \
        ("backup", stem, "full", "mariadb-dump", True, "ok"), a
    assert a["halyard.backend"] == s["full_source"] == man["source"], (a, s)
    assert a["halyard.backup.bytes"] == s["full_bytes"] == man["size"] > 0, (a, s)
    assert a["halyard.backup.gtid"] == man["gtid"] == s["full_gtid"], (a, man)
    assert a["halyard.backup.file"] == s["full_file"]
    assert a["halyard.backup.source_is_primary"] is False
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    assert t0 - 1 <= start / 1e9 <= end / 1e9 <= time.time() + 1
    assert a["halyard.duration_ms"] == (end - start) // 1_000_000


@pytest.mark.one_pool_mode
def test_a_failed_backup_run_is_a_span_with_its_reason(start_halyard, cluster, receiver, tmp_path):
    conf = backup_conf(tmp_path, receiver, user="nobody")
    start_halyard(conf)
    r, s = run_backup(conf)
    assert s["full_state"] == "failed", (r.stdout, s)
    span = receiver.find(lambda s: s["name"] == "halyard.backup", timeout=15)
    a = attrs(span)
    assert a["halyard.ok"] is False and a["halyard.result"] == "failed", a
    assert a["halyard.reason"] == s["full_error"] and "'nobody'" in a["halyard.reason"], a
    assert span["status"] == {"code": 2, "message": s["full_error"]}
    assert a["halyard.backup.id"].startswith("full-")
    assert "halyard.backup.bytes" not in a and "halyard.backup.file" not in a


@pytest.mark.one_pool_mode
def test_a_backup_posts_nothing_while_tracing_is_off(start_halyard, cluster, receiver, tmp_path):
    conf = backup_conf(tmp_path, receiver)
    conf["tracing"]["enabled"] = False
    start_halyard(conf)
    r, s = run_backup(conf)
    assert s["full_state"] == "ok", (r.stdout, s)
    time.sleep(2.5)  # the exporter would have posted a batch 200 ms after a span
    assert receiver.requests == [] and receiver.spans == []
