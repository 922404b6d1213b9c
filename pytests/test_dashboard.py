"""The Grafana dashboard's queries against the local stack's Prometheus (run by
scripts/dashboard-test; needs `scripts/stack up` and `scripts/prometheus up`).

Prometheus must scrape every service and have loaded the chart's alerts.
A little traffic goes through the gateway once (the `load` fixture: a new
customer signs up, logs in and places ten orders: six that complete, two
for item 15, one for the slot 19:00, one for more money than the wallet
holds), and waits until the orders are final and Prometheus has scraped
twice since. Then every panel target's query of helm/dashboards/shop.json,
Grafana's variables filled in (scripts/monitoring.py: $__rate_interval is
1m, $namespace .* ...), goes to Prometheus's HTTP API (/api/v1/query), one
test each, and must bring data back: a non-empty result.
"""

import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime

import pytest

import monitoring
from shop import final_order, http, place_order, setting, sign_up

ALERTS = {"SagasParked", "SagaOldestPendingPastDeadline", "NoMediatorWorker", "QueueDepthGrowing",
          "HighErrorRate", "HighCompensationRate"}
ORDER_TIMEOUT = 60
SCRAPE_TIMEOUT = 60
# (amount, item, slot, the reason it must fail with, or None: it completes)
ORDERS = [(5, item, "10:00", None) for item in range(1, 7)] + [
    (5, 15, "11:00", "Can not reserve the item"),
    (5, 15, "12:00", "Can not reserve the item"),
    (5, 2, "19:00", "Can not get the delivery slot"),
    (500, 3, "13:00", "Not enough money"),
]
QUERIES = monitoring.queries()


def prometheus_url():
    return f"http://127.0.0.1:{setting('PROMETHEUS_PORT')}"


def jobs():
    """The services' job names: scripts/lib.sh's SERVICES."""
    return setting("SERVICES").split()


def prometheus(path, **params):
    """The `data` of a Prometheus API answer; fails the test on an error."""
    url = f"{prometheus_url()}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    status, answer = http("GET", url)
    if status != 200 or not isinstance(answer, dict) or answer.get("status") != "success":
        pytest.fail(f"{path} {params}: {status} {answer}", pytrace=False)
    return answer["data"]


def last_scrapes():
    """job -> (health, the time of its last scrape, seconds since the epoch;
    far in the past for a target not scraped yet)."""
    return {target["labels"]["job"]: (target["health"], datetime.fromisoformat(target["lastScrape"]).timestamp())
            for target in prometheus("/api/v1/targets")["activeTargets"]}


def wait_for_scrapes(after, count=1):
    """Until every job has been scraped `count` times after `after` (each
    time a scrape past the previous round's start); the jobs' health."""
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    since = after
    scrapes = {}
    for _ in range(count):
        while True:
            scrapes = last_scrapes()
            if all(scrapes.get(job, ("", 0))[1] > since for job in jobs()):
                break
            if time.monotonic() > deadline:
                return scrapes
            time.sleep(0.5)
        since = time.time()
    return scrapes


@pytest.fixture(scope="module")
def up():
    """Prometheus answers."""
    status, answer = http("GET", f"{prometheus_url()}/api/v1/status/buildinfo")
    if status != 200:
        pytest.fail(f"Prometheus does not answer on {prometheus_url()} ({status} {answer}): "
                    "start it with scripts/prometheus up", pytrace=False)


def test_prometheus_scrapes_every_service(up):
    """Each service is a target, its job its name, and up."""
    scrapes = wait_for_scrapes(time.time() - 1)
    down = {job: scrapes.get(job, ("missing", 0))[0] for job in jobs() if scrapes.get(job, ("", 0))[0] != "up"}
    assert not down, f"targets not up (job: health): {down}"


def test_prometheus_evaluates_the_charts_alerts(up):
    """The six alerts are loaded and evaluate without an error."""
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    while True:
        rules = [rule for group in prometheus("/api/v1/rules")["groups"] for rule in group["rules"]]
        health = {rule["name"]: rule.get("health") for rule in rules if rule.get("type") == "alerting"}
        if all(h != "unknown" for h in health.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(health) == ALERTS, f"alerts loaded: {sorted(health)}, not {sorted(ALERTS)}"
    bad = {name: h for name, h in health.items() if h != "ok"}
    assert not bad, f"alerts evaluated with an error: {bad}"


@dataclass
class Load:
    placed: list  # (order id, the reason it must fail with or None)
    final: dict  # order id -> (status, reason) once final
    ended: float  # when the last order ended, seconds since the epoch
    scrapes: dict  # job -> (health, last scrape), two scrapes after `ended`


@pytest.fixture(scope="module")
def load(up):
    """Ten orders through the gateway, waited for until final, then two
    scrapes of every service: every counter's new value is in, with a
    sample before it for rate()."""
    gateway = f"http://127.0.0.1:{setting('GATEWAY_PORT')}"
    _, token = sign_up(gateway, "dash")
    placed = []
    for amount, item, slot, reason in ORDERS:
        status, order = place_order(f"{gateway}/api/orders/", token, amount, item, slot)
        if status == 201 and isinstance(order, dict):
            placed.append((order["id"], reason))
    deadline = time.monotonic() + ORDER_TIMEOUT
    final = {}
    for order_id, _ in placed:
        order = final_order(f"{gateway}/api/orders/", token, order_id, max(0.0, deadline - time.monotonic()))
        if order.get("status") not in (None, "pending"):
            final[order_id] = (order["status"], order.get("reason"))
    ended = time.time()
    return Load(placed, final, ended, wait_for_scrapes(ended, count=2))


def test_orders_accepted(load):
    assert len(load.placed) == len(ORDERS), f"{len(load.placed)} of {len(ORDERS)} orders accepted (201)"


def test_orders_end_as_expected(load):
    """Within ORDER_TIMEOUT: 6 completed; the item, slot and money refusals."""
    wrong = {order_id: load.final.get(order_id, ("pending", None)) for order_id, reason in load.placed
             if load.final.get(order_id) != (("completed", None) if reason is None else ("failed", reason))}
    assert not wrong, f"orders that ended otherwise (status, reason): {wrong}"


def test_two_scrapes_of_every_service_since_the_orders_ended(load):
    late = [job for job in jobs() if load.scrapes.get(job, ("", 0))[0] != "up" or load.scrapes[job][1] <= load.ended]
    assert not late, f"not scraped twice since the orders ended: {late}"


@pytest.mark.parametrize("title, ref, query", QUERIES, ids=[f"{title} {ref}" for title, ref, _ in QUERIES])
def test_panel_query_returns_data(load, note, title, ref, query):
    data = prometheus("/api/v1/query", query=query)
    result = [data["result"]] if data["resultType"] == "scalar" else data["result"]
    assert result, f"[{title}] {ref}: no data for {query}"
    values = [series["value"][1] if isinstance(series, dict) else series[1] for series in result]
    if all(value == "NaN" for value in values):
        # Data, but every value NaN (a quantile over no new observations):
        # worth a note, not a failure.
        note("NaN only (no new observations in the rate's minute)", f"[{title}] {ref}: {query}")
