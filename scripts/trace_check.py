"""One OpenTelemetry trace per order across the processes (run by
scripts/trace-check, which says what it needs).

This process runs a real OTLP/HTTP receiver (protobuf, as the OpenTelemetry
Collector takes it) and starts billing, items, slots, order-api and the
mediator a second time from the release binaries, on their stack port + 200,
exporting to it and sharing an order queue of their own. A new user of the
stack's auth then places orders on that order-api:

  a. with a traceparent: the order completes, and every span of it (order-api's
     request and enqueue, the mediator's saga and its three reserve calls, each
     participant's handling of its call) is in the caller's trace, under the
     span that caused it; the orders row keeps the request span's context and
     the log lines carry the trace id;
  b. without one, for an item that does not exist: a fresh trace holds the
     refusal and the compensations (cancel item, cancel money);
  c. with a malformed traceparent: accepted, in a fresh trace of its own;
  d. /health, /ready and /metrics make no spans;
  e. and with the receiver gone, orders still complete;
  f. a public request's traceparent is not believed by default: billing
     (without TRUST_INCOMING_TRACEPARENT) answers GET /api/accounts/{username}
     in a fresh trace, while its internal calls above stayed in the saga's.

This order-api runs with TRUST_INCOMING_TRACEPARENT=true, as behind a proxy
that sets or strips the header, so that cases a to c can give it one.

One line per check, the tree of trace a, then `N passed, M failed`.
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from google.protobuf import text_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from checks import Checks
from http_json import http

SCRIPTS = Path(__file__).resolve().parent
STACK_DIR = Path(os.environ["STACK_DIR"])
TARGET_DIR = Path(os.environ["TARGET_DIR"])
PG_URL = os.environ["PG_URL"]
AUTH = f"http://127.0.0.1:{os.environ['AUTH_PORT']}"
LOGS = STACK_DIR / "logs" / "trace-check"

# In start order; away from the stack's ports and tls-check's (+ 100).
PROCESSES = ["billing", "items", "slots", "order-api", "mediator"]
PORT_OFFSET = 200
# The service.name each exports under: slots is given OTEL_SERVICE_NAME, to
# prove it is honoured; the others keep their default names.
SERVICE_NAMES = {name: name for name in PROCESSES} | {"slots": "shop-slots"}
MAX_BODY = 4 << 20
READY_TIMEOUT = 60
ORDER_TIMEOUT = 20
SPAN_TIMEOUT = 15

SERVER = trace_pb2.Span.SPAN_KIND_SERVER
CLIENT = trace_pb2.Span.SPAN_KIND_CLIENT
INTERNAL = trace_pb2.Span.SPAN_KIND_INTERNAL
POST_ORDER = "POST /api/orders/"
RESERVATION = "/internal/reservations/{order_id}"
EXPORT_RESPONSE = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()


# --- the receiver -------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    service: str  # its resource's service.name
    trace_id: str  # hex, as are the span ids; a root's parent_span_id is ""
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict
    start: int  # nanoseconds since the epoch, to order the tree

    def __str__(self):
        return f"{self.service}: {self.name}"


def kind_name(kind):
    try:
        return trace_pb2.Span.SpanKind.Name(kind).removeprefix("SPAN_KIND_").lower()
    except ValueError:
        return str(kind)


def any_value(value):
    """An attribute's value: strings, integers, booleans and doubles as
    Python's; anything else (arrays, maps, bytes) as its protobuf text."""
    which = value.WhichOneof("value")
    if which in ("string_value", "int_value", "bool_value", "double_value"):
        return getattr(value, which)
    return text_format.MessageToString(value, as_one_line=True) if which else None


def decode(body):
    """The spans of one serialized ExportTraceServiceRequest."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(Span(
                    service=resource.get("service.name", ""),
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    kind=span.kind,
                    attributes={kv.key: any_value(kv.value) for kv in span.attributes},
                    start=span.start_time_unix_nano,
                ))
    return spans


class ReceiverHandler(BaseHTTPRequestHandler):
    # Keep-alive, as exporters expect of a collector.
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_POST(self):
        if self.path != "/v1/traces":
            return self.refuse(404, f"POST {self.path}")
        content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-protobuf":
            return self.refuse(415, f"content type {content_type!r}")
        try:
            length = int(self.headers.get("content-length", ""))
        except ValueError:
            return self.refuse(411, "no content length")
        if not 0 <= length <= MAX_BODY:
            return self.refuse(413, f"a body of {length} bytes")
        body = self.rfile.read(length)
        encoding = self.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            # Bounded once inflated too: a small gzip body can be huge.
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                body = inflater.decompress(body, MAX_BODY)
            except zlib.error as err:
                return self.refuse(400, f"bad gzip: {err}")
            if inflater.unconsumed_tail:
                return self.refuse(413, f"over {MAX_BODY} bytes once inflated")
        elif encoding != "identity":
            return self.refuse(415, f"content encoding {encoding!r}")
        try:
            spans = decode(body)
        except DecodeError as err:
            return self.refuse(400, f"not an ExportTraceServiceRequest: {err}")
        with self.server.lock:
            # Keyed by ids: an export the exporter retried counts once.
            self.server.received.update({(s.trace_id, s.span_id): s for s in spans})
        self.answer(200, EXPORT_RESPONSE, "application/x-protobuf")

    def answer(self, status, body, content_type, close=False):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        if close:
            self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status, why):
        with self.server.lock:
            self.server.refused.append(f"{status} {why}")
        # The body may be unread: this connection cannot carry another request.
        self.answer(status, why.encode(), "text/plain", close=True)

    def log_message(self, *args):
        pass  # refusals are kept and checked; the rest is noise


class Receiver(ThreadingHTTPServer):
    """OTLP/HTTP's trace endpoint on a free port of 127.0.0.1, keeping every
    span received and every export refused."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.lock = threading.Lock()
        self.received = {}
        self.refused = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self, trace_id=None):
        with self.lock:
            return [s for s in self.received.values() if trace_id is None or s.trace_id == trace_id]


# --- the processes ------------------------------------------------------------

def ask(method, url, **kwargs):
    """http(), no answer being a status too: a process that died fails a
    check rather than ending the run."""
    try:
        return http(method, url, **kwargs)
    except OSError as err:
        return f"no answer ({err})", None


def stack_env(name):
    """scripts/lib.sh's `stack_env_for NAME`, as a dict."""
    out = subprocess.run(
        ["bash", "-c", 'source "$1" && stack_env_for "$2"', "trace-check", str(SCRIPTS / "lib.sh"), name],
        check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def log_tail(name, lines=20):
    try:
        return "".join((LOGS / f"{name}.log").read_text(errors="replace").splitlines(True)[-lines:])
    except OSError as err:
        return f"{err}\n"


def start_processes(checks, receiver, ports, started):
    """Starts every process, into `started` (name -> Popen) as it goes, and
    waits for each to be ready; whether all are."""
    queue = f"trace-check-{secrets.token_hex(4)}"
    LOGS.mkdir(parents=True, exist_ok=True)
    # An OTEL_ variable of the caller's must not change what is tested.
    base = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    problems = []
    missing = [name for name in PROCESSES if not (TARGET_DIR / "release" / name).is_file()]
    if missing:
        problems.append(f"missing: {', '.join(missing)} (cargo build --release --workspace --bins)")
    taken = [ports[name] for name in PROCESSES if port_open(ports[name])]
    if taken:
        problems.append(f"something answers on {', '.join(map(str, taken))} (a trace-check left over?)")
    if not checks.check(f"the release binaries are in {TARGET_DIR / 'release'}, their ports + {PORT_OFFSET} free",
                        not problems, "; ".join(problems)):
        return False
    for name in PROCESSES:
        env = base | stack_env(name) | {
            "HTTP_PORT": str(ports[name]),
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # Milliseconds: spans are exported within a tenth of a second.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        if name in ("order-api", "mediator"):
            # The stack's own mediator never takes these orders.
            env["ORDER_QUEUE"] = queue
        if name == "order-api":
            env["TRUST_INCOMING_TRACEPARENT"] = "true"
        if name == "mediator":
            env |= {f"{participant.upper()}_URL": f"http://127.0.0.1:{ports[participant]}"
                    for participant in ("billing", "items", "slots")}
        if name == "slots":
            env["OTEL_SERVICE_NAME"] = SERVICE_NAMES["slots"]
        with open(LOGS / f"{name}.log", "wb") as log:
            started[name] = subprocess.Popen([str(TARGET_DIR / "release" / name)], env=env,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT
    for name, process in started.items():
        status = None
        while status != 200 and process.poll() is None and time.monotonic() < deadline:
            status, _ = ask("GET", f"http://127.0.0.1:{ports[name]}/ready", timeout=2)
            if status != 200:
                time.sleep(0.2)
        why = f"exited with {process.returncode}" if process.poll() is not None else f"/ready: {status}"
        if not checks.check(f"{name} ready on port {ports[name]}, exporting to {receiver.endpoint}", status == 200,
                            f"{why} (log: {LOGS / f'{name}.log'})"):
            sys.stderr.write(f"--- last lines of {LOGS / f'{name}.log'}\n{log_tail(name)}")
            return False
    return True


def stop_processes(started):
    for process in started.values():
        if process.poll() is None:
            process.terminate()
    for process in started.values():
        try:
            # The mediator lets running sagas finish for SHUTDOWN_GRACE_MS (10 s).
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- orders, spans and logs ---------------------------------------------------

def poll(fetch, done, timeout):
    """fetch() until done(its result) or the deadline; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result) or time.monotonic() >= deadline:
            return result
        time.sleep(0.1)


def sign_up(checks):
    """A new user of the stack's auth (billing's database gives it a wallet
    of 100, which billing + 200 shares); (its name, its access token), or None."""
    username, password = f"trace_{secrets.token_hex(4)}", secrets.token_hex(12)
    try:
        status, _ = http("POST", f"{AUTH}/api/auth/users/",
                         {"username": username, "password": password, "email": f"{username}@example.com"})
        if not checks.check(f"sign up {username} on the stack's auth", status == 201, status):
            return None
        status, tokens = http("POST", f"{AUTH}/api/token/", {"username": username, "password": password})
    except OSError as err:
        checks.check(f"the stack's auth answers on {AUTH}", False, f"{err}; start the stack: scripts/stack up")
        return None
    if not checks.check("log in", status == 200 and isinstance(tokens, dict) and "access" in tokens, status):
        return None
    return username, tokens["access"]


class Orders:
    """Orders on order-api + 200, as one user."""

    def __init__(self, port, token):
        self.url = f"http://127.0.0.1:{port}/api/orders/"
        self.admin_url = f"http://127.0.0.1:{port}/api/admin/sagas/"
        self.token = token

    def place(self, checks, label, item, headers=None):
        """POSTs an order of 1 for `item` at 10:00; its id, or None."""
        status, order = ask("POST", self.url, body={"amount": 1, "details": {"item": item, "slot": "10:00"}},
                            token=self.token, headers=headers)
        ok = status == 201 and isinstance(order, dict) and "id" in order
        checks.check(f"{label}: POST /api/orders/ answers 201", ok, f"{status} {order}")
        return order["id"] if ok else None

    def trace_id_for_operators(self, order_id):
        """The trace id the admin API shows for the order, as the stack's
        administrator (scripts/stack keeps its password)."""
        password = (STACK_DIR / "admin-password").read_text().strip()
        status, tokens = http("POST", f"{AUTH}/api/token/", {"username": "admin", "password": password})
        if status != 200:
            return f"no admin token: {status}"
        status, view = ask("GET", f"{self.admin_url}{order_id}", token=tokens["access"])
        return view["saga"].get("trace_id") if status == 200 else f"answer {status}"

    def final(self, order_id):
        """The order once no longer pending, or as it is at the deadline."""
        def fetch():
            status, order = ask("GET", f"{self.url}{order_id}", token=self.token)
            return order if status == 200 and isinstance(order, dict) else {"answer": status}
        return poll(fetch, lambda order: order.get("status") not in (None, "pending"), ORDER_TIMEOUT)


def wait_spans(receiver, trace_id, wanted):
    """The spans of trace_id once every (service, name) of `wanted` is among
    them, or those there are at the deadline."""
    return poll(lambda: receiver.spans(trace_id),
                lambda spans: set(wanted) <= {(s.service, s.name) for s in spans}, SPAN_TIMEOUT)


def saga_trace(receiver, order_id):
    """The trace of the mediator's saga span for order_id, once received."""
    def fetch():
        return [s for s in receiver.spans() if (s.service, s.name) == ("mediator", "saga")
                and str(s.attributes.get("order_id")) == str(order_id)]
    sagas = poll(fetch, bool, SPAN_TIMEOUT)
    return sagas[0].trace_id if sagas else None


def expect(checks, label, spans, service, name, parent, kind=None, attributes=None):
    """Checks that `service` sent a span `name` under `parent`: a Span, the
    caller's span id, "" for a root, or None when the parent itself is
    missing. Attributes compare as text: an id may be an int or a string.
    The span, or None."""
    parent_id = parent.span_id if isinstance(parent, Span) else parent
    found = [s for s in spans if (s.service, s.name) == (service, name)]
    span = next((s for s in found if s.parent_span_id == parent_id), found[0] if found else None)
    problems = []
    if span is None:
        problems.append(f"none; the trace holds {sorted(str(s) for s in spans)}" if spans
                        else "the trace has no span at all")
    else:
        if parent is None:
            problems.append("its parent span is missing")
        elif span.parent_span_id != parent_id:
            problems.append(f"its parent is {span.parent_span_id or 'none'}")
        if kind is not None and span.kind != kind:
            problems.append(f"kind {kind_name(span.kind)}")
        for key, want in (attributes or {}).items():
            if str(span.attributes.get(key)) != str(want):
                problems.append(f"{key} = {span.attributes.get(key)!r}")
    where = ("as a root" if parent == "" else f"under `{parent.name}`" if isinstance(parent, Span)
             else f"under the caller's span {parent}" if parent else "under its parent")
    what = ([kind_name(kind)] if kind is not None else []) + [f"{k} = {v!r}" for k, v in (attributes or {}).items()]
    checks.check(f"{label}: {service} span `{name}`" + (f" ({', '.join(what)})" if what else "") + f" {where}",
                 not problems, "; ".join(problems))
    return span


def check_fresh_trace(checks, label, post, not_ids):
    trace_id = post.trace_id if post else ""
    checks.check(f"{label}: a fresh trace id (32 hex digits, not all zeros, no other order's)",
                 re.fullmatch("[0-9a-f]{32}", trace_id) is not None and trace_id != "0" * 32
                 and trace_id not in not_ids, trace_id or "no POST span")


def stored_traceparent(order_id):
    done = subprocess.run(["psql", f"{PG_URL}/orders", "-tAc",
                           f"SELECT traceparent FROM orders WHERE id = {int(order_id)}"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else f"psql: {done.stderr.strip()}"


def log_lines(name):
    """The JSON objects of a process's log; other lines are skipped."""
    lines = []
    with open(LOGS / f"{name}.log", errors="replace") as log:
        for line in log:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                lines.append(event)
    return lines


def span_field(event, key):
    """A field of the span current when a log line was written."""
    span = event.get("span")
    return span.get(key) if isinstance(span, dict) else None


def print_tree(trace_id, spans):
    ids = {s.span_id for s in spans}
    children = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start):
        children[span.parent_span_id if span.parent_span_id in ids else None].append(span)

    def show(span, depth):
        print(f"{'  ' * depth}{span} ({kind_name(span.kind)})")
        for child in children[span.span_id]:
            show(child, depth + 1)

    print(f"trace {trace_id}:")
    for root in children[None]:
        show(root, 1)


# --- the checks ---------------------------------------------------------------

def check_a(checks, receiver, orders):
    """A traceparent honoured, an order completed; (its trace id, its spans)."""
    label = "a (traceparent, completed)"
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    order_id = orders.place(checks, label, 1, {"traceparent": f"00-{trace_id}-{caller}-01"})
    if order_id is None:
        return trace_id, []
    order = orders.final(order_id)
    checks.check(f"{label}: order {order_id} completes", order.get("status") == "completed", order)
    steps = [("money", "billing"), ("item", "items"), ("slot", "slots")]
    spans = wait_spans(receiver, trace_id, [
        ("order-api", POST_ORDER), ("order-api", "enqueue"), ("mediator", "saga"),
        *[("mediator", f"reserve {step}") for step, _ in steps],
        *[(SERVICE_NAMES[participant], f"PUT {RESERVATION}") for _, participant in steps]])

    post = expect(checks, label, spans, "order-api", POST_ORDER, caller, SERVER,
                  {"http.response.status_code": 201})
    expect(checks, label, spans, "order-api", "enqueue", post)
    saga = expect(checks, label, spans, "mediator", "saga", post, INTERNAL, {"order_id": order_id})
    for step, participant in steps:
        call = expect(checks, label, spans, "mediator", f"reserve {step}", saga, CLIENT,
                      {"step": step, "action": "reserve", "order_id": order_id})
        expect(checks, label, spans, SERVICE_NAMES[participant], f"PUT {RESERVATION}", call, SERVER)
    cancels = [str(s) for s in spans if s.name.startswith("cancel ")]
    checks.check(f"{label}: no `cancel ...` span", not cancels, cancels)
    services = {s.service for s in receiver.spans()}
    checks.check("every process exports under its service.name (slots under OTEL_SERVICE_NAME=shop-slots)",
                 services == set(SERVICE_NAMES.values()), f"received from {sorted(services)}")

    want = f"00-{trace_id}-{post.span_id}-01" if post else "the POST span's context"
    stored = stored_traceparent(order_id)
    checks.check(f"{label}: the orders row keeps the POST span's context as its traceparent",
                 stored == want, f"{stored!r}, not {want!r}")
    shown = orders.trace_id_for_operators(order_id)
    checks.check(f"{label}: the admin API shows operators the order's trace id", shown == trace_id, shown)
    saga_lines = [e for e in log_lines("mediator") if str(span_field(e, "order_id")) == str(order_id)]
    strays = [e for e in saga_lines if span_field(e, "trace_id") != trace_id]
    checks.check(f"{label}: every mediator log line of the order carries span.trace_id (and there are some)",
                 saga_lines and not strays,
                 f"{len(strays)} of {len(saga_lines)} lines with span.order_id = {order_id} do not: {strays[:1]}")
    checks.check(f"{label}: order-api's log has a line with its span.trace_id (the request)",
                 any(span_field(e, "trace_id") == trace_id for e in log_lines("order-api")), "none")
    return trace_id, spans


def check_b(checks, receiver, orders, other_traces):
    """A refused item compensated in a fresh trace; its trace id."""
    label = "b (no traceparent, item refused)"
    order_id = orders.place(checks, label, 15)
    if order_id is None:
        return None
    order = orders.final(order_id)
    checks.check(f"{label}: order {order_id} fails with `Can not reserve the item`",
                 (order.get("status"), order.get("reason")) == ("failed", "Can not reserve the item"), order)
    trace_id = saga_trace(receiver, order_id)
    if not checks.check(f"{label}: the mediator's saga span of order {order_id} arrives", trace_id is not None,
                        "none with that order_id"):
        return None
    spans = wait_spans(receiver, trace_id, [
        ("order-api", POST_ORDER), ("mediator", "saga"), ("mediator", "reserve money"),
        ("mediator", "reserve item"), ("mediator", "cancel item"), ("mediator", "cancel money"),
        (SERVICE_NAMES["items"], f"DELETE {RESERVATION}"), (SERVICE_NAMES["billing"], f"DELETE {RESERVATION}")])

    post = expect(checks, label, spans, "order-api", POST_ORDER, "", SERVER)
    check_fresh_trace(checks, label, post, other_traces)
    saga = expect(checks, label, spans, "mediator", "saga", post, INTERNAL, {"order_id": order_id})
    for step in ("money", "item"):
        expect(checks, label, spans, "mediator", f"reserve {step}", saga, CLIENT,
               {"step": step, "action": "reserve", "order_id": order_id})
    slot = [str(s) for s in spans if s.name == "reserve slot"]
    checks.check(f"{label}: no `reserve slot` span", not slot, slot)
    for step, participant in (("item", "items"), ("money", "billing")):
        call = expect(checks, label, spans, "mediator", f"cancel {step}", saga, CLIENT,
                      {"step": step, "action": "cancel", "order_id": order_id})
        expect(checks, label, spans, SERVICE_NAMES[participant], f"DELETE {RESERVATION}", call, SERVER)
    return trace_id


def check_c(checks, receiver, orders, other_traces):
    """A malformed traceparent ignored."""
    label = "c (malformed traceparent)"
    order_id = orders.place(checks, label, 1, {"traceparent": "00-zzzz-not-hex-01"})
    if order_id is None:
        return
    trace_id = saga_trace(receiver, order_id)
    if not checks.check(f"{label}: the mediator's saga span of order {order_id} arrives", trace_id is not None,
                        "none with that order_id"):
        return
    spans = wait_spans(receiver, trace_id, [("order-api", POST_ORDER)])
    post = expect(checks, label, spans, "order-api", POST_ORDER, "", SERVER)
    check_fresh_trace(checks, label, post, other_traces)


def check_e(checks, receiver, orders):
    """With the collector gone, orders go on as before: spans are dropped."""
    label = "e (no collector)"
    receiver.shutdown()
    receiver.server_close()
    placed = [orders.place(checks, label, 1) for _ in range(3)]
    finals = [orders.final(order_id).get("status") for order_id in placed if order_id is not None]
    checks.check(f"{label}: orders placed while the collector is down complete", finals == ["completed"] * 3,
                 finals)


def check_f(checks, receiver, ports, username, token):
    """A public client's traceparent is not believed by default."""
    label = "f (a public traceparent, not trusted)"
    callers_trace = secrets.token_hex(16)
    traceparent = f"00-{callers_trace}-{secrets.token_hex(8)}-01"
    status, _ = ask("GET", f"http://127.0.0.1:{ports['billing']}/api/accounts/{username}", token=token,
                    headers={"traceparent": traceparent})
    checks.check(f"{label}: GET /api/accounts/{{username}} on billing answers 200", status == 200, status)
    name = "GET /api/accounts/{username}"
    spans = poll(lambda: [s for s in receiver.spans() if s.service == SERVICE_NAMES["billing"] and s.name == name],
                 bool, SPAN_TIMEOUT)
    checks.check(f"{label}: billing's span of it is the root of a trace of its own, not the caller's",
                 len(spans) == 1 and spans[0].trace_id != callers_trace and spans[0].parent_span_id == "",
                 [(s.trace_id, s.parent_span_id) for s in spans] or "no span")


def check_d(checks, receiver, ports):
    """Operational routes make no spans."""
    label = "d (operational routes)"
    routes = ("/health", "/ready", "/metrics")
    statuses = {}
    for name, port in ports.items():
        for route in routes:
            statuses[f"{name} {route}"], _ = ask("GET", f"http://127.0.0.1:{port}{route}")
    wrong = {call: status for call, status in statuses.items() if status != 200}
    checks.check(f"{label}: GET {', '.join(routes)} answer 200 on every process", not wrong, wrong)
    # Ten export periods: whatever they made has arrived.
    time.sleep(1)
    made = sorted({str(s) for s in receiver.spans() if s.name.split(" ")[-1] in routes})
    checks.check(f"{label}: no span of GET {', '.join(routes)} (nor of the readiness polls)", not made, made)


def run(checks, receiver):
    signed_up = sign_up(checks)
    if signed_up is None:
        return
    username, token = signed_up
    ports = {name: int(stack_env(name)["HTTP_PORT"]) + PORT_OFFSET for name in PROCESSES}
    started = {}
    try:
        if not start_processes(checks, receiver, ports, started):
            return
        orders = Orders(ports["order-api"], token)
        trace_a, spans_a = check_a(checks, receiver, orders)
        trace_b = check_b(checks, receiver, orders, {trace_a})
        check_c(checks, receiver, orders, {trace_a, trace_b})
        check_d(checks, receiver, ports)
        check_f(checks, receiver, ports, username, token)
        checks.check("the receiver refused no export", not receiver.refused, receiver.refused[:5])
        check_e(checks, receiver, orders)
        if spans_a:
            print_tree(trace_a, spans_a)
    finally:
        # Before the receiver goes: they export their last spans as they stop.
        stop_processes(started)


def main():
    # A SIGTERM unwinds like an exception, so the processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    checks = Checks()
    receiver = Receiver()
    try:
        run(checks, receiver)
    finally:
        receiver.shutdown()
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
