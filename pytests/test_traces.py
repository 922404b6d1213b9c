"""One OpenTelemetry trace per order across the processes (scripts/trace-check
runs this and says what it needs).

The `services` fixture (conftest.py) starts billing, items, slots, order-api
and the mediator a second time, exporting to a real OTLP/HTTP receiver
(otlp.py). A new user of the stack's auth then places orders on that
order-api, which runs with TRUST_INCOMING_TRACEPARENT=true (as behind a
proxy that sets or strips the header) so that cases a to c can give it one:

  a. with a traceparent: the order completes, and every span of it (order-api's
     request and enqueue, the mediator's saga and its three reserve calls, each
     participant's handling of its call) is in the caller's trace, under the
     span that caused it; the orders row keeps the request span's context and
     the log lines carry the trace id;
  b. without one, for an item that does not exist: a fresh trace holds the
     refusal and the compensations (cancel item, cancel money);
  c. with a malformed traceparent: accepted, in a fresh trace of its own;
  d. /health, /ready and /metrics make no spans;
  f. a public request's traceparent is not believed by default: billing
     (without TRUST_INCOMING_TRACEPARENT) answers GET /api/accounts/{username}
     in a fresh trace, while its internal calls above stayed in the saga's;
  e. and with the receiver gone, orders still complete (last: it stops the
     receiver).

Each case's order is placed once (a module fixture); each test asserts one
thing of it. The tree of trace a is printed after the results.
"""

import json
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from otlp import CLIENT, INTERNAL, SERVER, kind_name, tree
from shop import final_order, http, place_order, poll, setting, sign_up

ORDER_TIMEOUT = 20
SPAN_TIMEOUT = 15
POST_ORDER = "POST /api/orders/"
RESERVATION = "/internal/reservations/{order_id}"
# Stands for the case's order id in the attributes the trees expect.
ORDER_ID = "<order id>"

# Each span a case's trace must hold: (process, span name, its parent,
# kind or None, attributes). The parent is "caller" (the span of the
# traceparent sent), "" (a root) or the name of a span above.
TREES = {
    "a": [
        ("order-api", POST_ORDER, "caller", SERVER, {"http.response.status_code": 201}),
        ("order-api", "enqueue", POST_ORDER, None, {}),
        ("mediator", "saga", POST_ORDER, INTERNAL, {"order_id": ORDER_ID}),
        *[span for step, participant in (("money", "billing"), ("item", "items"), ("slot", "slots")) for span in (
            ("mediator", f"reserve {step}", "saga", CLIENT, {"step": step, "action": "reserve", "order_id": ORDER_ID}),
            (participant, f"PUT {RESERVATION}", f"reserve {step}", SERVER, {}))],
    ],
    "b": [
        ("order-api", POST_ORDER, "", SERVER, {}),
        ("mediator", "saga", POST_ORDER, INTERNAL, {"order_id": ORDER_ID}),
        *[("mediator", f"reserve {step}", "saga", CLIENT, {"step": step, "action": "reserve", "order_id": ORDER_ID})
          for step in ("money", "item")],
        *[span for step, participant in (("item", "items"), ("money", "billing")) for span in (
            ("mediator", f"cancel {step}", "saga", CLIENT, {"step": step, "action": "cancel", "order_id": ORDER_ID}),
            (participant, f"DELETE {RESERVATION}", f"cancel {step}", SERVER, {}))],
    ],
    "c": [("order-api", POST_ORDER, "", SERVER, {})],
}


def auth():
    return f"http://127.0.0.1:{setting('AUTH_PORT')}"


@dataclass
class Case:
    """One case's order, as it ended, and the spans of its trace."""
    label: str
    order_id: int
    order: dict  # as it ended, or stood at the deadline ({} when not waited for)
    trace_id: str
    spans: list
    names: dict  # process -> the service.name it exports under
    caller: str = ""  # the span id of the traceparent sent, if any

    def find(self, process, name, parent):
        """The span `name` of `process` in the trace: of those, the one
        under `parent`'s span, else the first, else None; and the span id
        its parent must have (None when the parent itself is missing)."""
        found = [s for s in self.spans if (s.service, s.name) == (self.names[process], name)]
        if parent in ("", "caller"):
            parent_id = self.caller if parent else ""
        else:
            above = next(entry for entry in TREES[self.label] if entry[1] == parent)
            span, _ = self.find(*above[:3])
            parent_id = span.span_id if span else None
        return next((s for s in found if s.parent_span_id == parent_id), found[0] if found else None), parent_id

    def post(self):
        return self.find("order-api", POST_ORDER, TREES[self.label][0][2])[0]


# --- fixtures: a customer, and each case's order placed once ------------------

@pytest.fixture(scope="module")
def customer():
    """A new user of the stack's auth (billing's database gives it a wallet
    of 100, which billing + 200 shares): (its name, its access token)."""
    return sign_up(auth(), "trace")


class Orders:
    """Orders on order-api + 200, as the customer."""

    def __init__(self, services, token):
        self.url = services.url("order-api", "/api/orders/")
        self.admin_url = services.url("order-api", "/api/admin/sagas/")
        self.token = token

    def place(self, label, item, headers=None):
        """POSTs an order of 1 for `item` at 10:00; its id. Fails the
        fixture that asks unless it answers 201."""
        status, order = place_order(self.url, self.token, 1, item, "10:00", headers)
        if status != 201 or not isinstance(order, dict) or "id" not in order:
            pytest.fail(f"{label}: POST /api/orders/ answered {status} {order}, not 201", pytrace=False)
        return order["id"]

    def final(self, order_id):
        return final_order(self.url, self.token, order_id, ORDER_TIMEOUT)


@pytest.fixture(scope="module")
def orders(services, customer):
    return Orders(services, customer[1])


def wait_spans(receiver, services, label, trace_id):
    """The spans of trace_id once every span of the case's tree is among
    them, or those there are at the deadline."""
    wanted = {(services.service_name[process], name) for process, name, *_ in TREES[label]}
    return poll(lambda: receiver.spans(trace_id),
                lambda spans: wanted <= {(s.service, s.name) for s in spans}, SPAN_TIMEOUT)


def saga_trace(receiver, label, order_id):
    """The trace id of the mediator's saga span for order_id, once received."""
    sagas = poll(lambda: [s for s in receiver.spans() if (s.service, s.name) == ("mediator", "saga")
                          and str(s.attributes.get("order_id")) == str(order_id)], bool, SPAN_TIMEOUT)
    if not sagas:
        pytest.fail(f"{label}: the mediator's saga span of order {order_id} never arrived", pytrace=False)
    return sagas[0].trace_id


@pytest.fixture(scope="module")
def case_a(receiver, services, orders, note):
    """An order with a traceparent, completed, and its trace."""
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    order_id = orders.place("a", 1, {"traceparent": f"00-{trace_id}-{caller}-01"})
    order = orders.final(order_id)
    spans = wait_spans(receiver, services, "a", trace_id)
    note(f"trace a ({trace_id})", tree(spans) or "no span")
    return Case("a", order_id, order, trace_id, spans, services.service_name, caller)


@pytest.fixture(scope="module")
def case_b(receiver, services, orders):
    """An order without a traceparent for item 15 (none such), refused."""
    order_id = orders.place("b", 15)
    order = orders.final(order_id)
    trace_id = saga_trace(receiver, "b", order_id)
    return Case("b", order_id, order, trace_id, wait_spans(receiver, services, "b", trace_id), services.service_name)


@pytest.fixture(scope="module")
def case_c(receiver, services, orders):
    """An order with a malformed traceparent."""
    order_id = orders.place("c", 1, {"traceparent": "00-zzzz-not-hex-01"})
    trace_id = saga_trace(receiver, "c", order_id)
    return Case("c", order_id, {}, trace_id, wait_spans(receiver, services, "c", trace_id), services.service_name)


# --- the trees of a, b and c --------------------------------------------------

def tree_id(label, entry):
    process, name, parent, kind, attributes = entry
    what = ([kind_name(kind)] if kind is not None else []) + [f"{k}={v}" for k, v in attributes.items()]
    where = "as a root" if parent == "" else f"under {parent}"
    return f"{label}: {process} {name}" + (f" ({', '.join(what)})" if what else "") + f" {where}"


ENTRIES = [(label, entry) for label, entries in TREES.items() for entry in entries]


@pytest.mark.parametrize("label, entry", ENTRIES, ids=[tree_id(label, entry) for label, entry in ENTRIES])
def test_span(request, label, entry):
    """The case's trace holds the span, under its parent, of its kind and
    with its attributes (compared as text: an id may be an int or a string)."""
    case = request.getfixturevalue(f"case_{label}")
    process, name, parent, kind, attributes = entry
    span, parent_id = case.find(process, name, parent)
    assert span is not None, (f"{label}: no {case.names[process]} span `{name}` in trace {case.trace_id}; it "
                              f"holds {sorted(str(s) for s in case.spans) or 'no span at all'}")
    problems = []
    if parent_id is None:
        problems.append(f"its parent `{parent}` is missing")
    elif span.parent_span_id != parent_id:
        problems.append(f"its parent is {span.parent_span_id or 'none'}, not {parent_id or 'none (a root)'}")
    if kind is not None and span.kind != kind:
        problems.append(f"its kind is {kind_name(span.kind)}, not {kind_name(kind)}")
    for key, want in attributes.items():
        want = case.order_id if want == ORDER_ID else want
        if str(span.attributes.get(key)) != str(want):
            problems.append(f"{key} = {span.attributes.get(key)!r}, not {want!r}")
    assert not problems, f"{label}: {span}: " + "; ".join(problems)


# --- a: a traceparent honoured, an order completed ----------------------------

def test_a_completes(case_a):
    assert case_a.order.get("status") == "completed", f"order {case_a.order_id} ended {case_a.order}"


def test_a_no_cancel_span(case_a):
    cancels = [str(s) for s in case_a.spans if s.name.startswith("cancel ")]
    assert not cancels, f"a completed order's trace has compensations: {cancels}"


def test_every_process_exports_under_its_service_name(receiver, services, case_a):
    """slots under OTEL_SERVICE_NAME=shop-slots, the others their own."""
    received = {s.service for s in receiver.spans()}
    assert received == set(services.service_name.values()), f"spans received from {sorted(received)}"


def test_a_orders_row_keeps_the_post_spans_context(case_a):
    post = case_a.post()
    want = f"00-{case_a.trace_id}-{post.span_id}-01" if post else "the POST span's context (no POST span)"
    done = subprocess.run(["psql", f"{setting('PG_URL')}/orders", "-tAc",
                           f"SELECT traceparent FROM orders WHERE id = {int(case_a.order_id)}"],
                          capture_output=True, text=True, timeout=30)
    stored = done.stdout.strip() if done.returncode == 0 else f"psql: {done.stderr.strip()}"
    assert stored == want, f"orders.traceparent of order {case_a.order_id} is {stored!r}, not {want!r}"


def test_a_admin_api_shows_operators_the_trace_id(orders, case_a):
    """As the stack's administrator (scripts/stack keeps its password)."""
    password = (Path(setting("STACK_DIR")) / "admin-password").read_text().strip()
    status, tokens = http("POST", f"{auth()}/api/token/", {"username": "admin", "password": password})
    assert status == 200, f"no admin token: {status} {tokens}"
    status, view = http("GET", f"{orders.admin_url}{case_a.order_id}", token=tokens["access"])
    assert status == 200, f"GET /api/admin/sagas/{case_a.order_id} answered {status} {view}"
    assert view["saga"].get("trace_id") == case_a.trace_id, f"the saga view shows {view['saga']}"


def log_lines(path):
    """The JSON objects of a process's log; other lines are skipped."""
    lines = []
    with open(path, errors="replace") as log:
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


def test_a_every_mediator_log_line_of_the_order_carries_the_trace_id(services, case_a):
    lines = [e for e in log_lines(services.log("mediator")) if str(span_field(e, "order_id")) == str(case_a.order_id)]
    strays = [e for e in lines if span_field(e, "trace_id") != case_a.trace_id]
    assert lines, f"no mediator log line has span.order_id = {case_a.order_id}"
    assert not strays, f"{len(strays)} of {len(lines)} lines of order {case_a.order_id} lack it: {strays[:1]}"


def test_a_order_api_logs_the_request_with_the_trace_id(services, case_a):
    assert any(span_field(e, "trace_id") == case_a.trace_id for e in log_lines(services.log("order-api"))), \
        f"no order-api log line has span.trace_id = {case_a.trace_id}"


# --- b: a refused item compensated in a fresh trace ---------------------------

def fresh(case, others):
    """The trace id of the case's POST span when it is a fresh one: 32 hex
    digits, not all zeros, no other case's."""
    post = case.post()
    trace_id = post.trace_id if post else ""
    assert trace_id, f"{case.label}: no POST span in trace {case.trace_id}"
    assert re.fullmatch("[0-9a-f]{32}", trace_id) and trace_id != "0" * 32, f"{case.label}: trace id {trace_id!r}"
    assert trace_id not in {other.trace_id for other in others}, f"{case.label}: {trace_id} is another order's"


def test_b_fails_with_the_items_reason(case_b):
    got = (case_b.order.get("status"), case_b.order.get("reason"))
    assert got == ("failed", "Can not reserve the item"), f"order {case_b.order_id} ended {case_b.order}"


def test_b_fresh_trace(case_a, case_b):
    fresh(case_b, [case_a])


def test_b_no_reserve_slot_span(case_b):
    slot = [str(s) for s in case_b.spans if s.name == "reserve slot"]
    assert not slot, f"the slot is reserved although the item was refused: {slot}"


# --- c: a malformed traceparent ignored ---------------------------------------

def test_c_fresh_trace(case_a, case_b, case_c):
    fresh(case_c, [case_a, case_b])


# --- d: operational routes make no spans --------------------------------------

ROUTES = ("/health", "/ready", "/metrics")


@pytest.fixture(scope="module")
def operational_calls(services):
    """GET of every operational route on every process: call -> status."""
    statuses = {f"{name} {route}": http("GET", services.url(name, route))[0]
                for name in services.ports for route in ROUTES}
    # Ten export periods: whatever they made has arrived.
    time.sleep(1)
    return statuses


def test_d_operational_routes_answer_200(operational_calls):
    wrong = {call: status for call, status in operational_calls.items() if status != 200}
    assert not wrong, f"not 200: {wrong}"


def test_d_no_span_of_operational_routes(receiver, operational_calls):
    """Neither of the calls above nor of the readiness polls."""
    made = sorted({str(s) for s in receiver.spans() if s.name.split(" ")[-1] in ROUTES})
    assert not made, f"spans of {', '.join(ROUTES)}: {made}"


# --- f: a public client's traceparent is not believed by default --------------

@pytest.fixture(scope="module")
def case_f(receiver, services, customer):
    """billing's answer to GET /api/accounts/{username} with a traceparent,
    and its spans of that route: (status, the caller's trace id, spans)."""
    username, token = customer
    callers_trace = secrets.token_hex(16)
    status, _ = http("GET", services.url("billing", f"/api/accounts/{username}"), token=token,
                     headers={"traceparent": f"00-{callers_trace}-{secrets.token_hex(8)}-01"})
    spans = poll(lambda: [s for s in receiver.spans() if (s.service, s.name)
                          == (services.service_name["billing"], "GET /api/accounts/{username}")], bool, SPAN_TIMEOUT)
    return status, callers_trace, spans


def test_f_billing_answers_200(case_f):
    assert case_f[0] == 200, f"GET /api/accounts/{{username}} on billing answered {case_f[0]}"


def test_f_billing_starts_a_trace_of_its_own(case_f):
    _, callers_trace, spans = case_f
    assert len(spans) == 1 and spans[0].trace_id != callers_trace and spans[0].parent_span_id == "", \
        f"billing's spans of it, (trace, parent): {[(s.trace_id, s.parent_span_id) for s in spans] or 'none'}"


def test_receiver_refused_no_export(receiver, case_a, case_b, case_c):
    assert not receiver.refused, f"refused: {receiver.refused[:5]}"


# --- e: last, it stops the receiver -------------------------------------------

def test_e_orders_complete_with_the_collector_gone(receiver, orders):
    receiver.stop()
    placed = [orders.place("e", 1) for _ in range(3)]
    finals = [orders.final(order_id).get("status") for order_id in placed]
    assert finals == ["completed"] * 3, f"orders {placed} placed while the collector is down ended {finals}"
