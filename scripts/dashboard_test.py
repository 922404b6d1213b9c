"""The Grafana dashboard's queries against the local stack's Prometheus (run by
scripts/dashboard-test; needs `scripts/stack up` and `scripts/prometheus up`).

It checks that Prometheus scrapes every service and has loaded the chart's
alerts, makes a little traffic through the gateway (a new customer signs
up, logs in and places ten orders: six that complete, two for item 15,
one for the slot 19:00, one for more money than the wallet holds) and
waits until the orders are final and Prometheus has scraped twice since.
Then it sends every panel target's query of helm/dashboards/shop.json to
Prometheus's HTTP API (/api/v1/query), Grafana's variables filled in
(scripts/monitoring.py: $__rate_interval is 1m, $namespace .* ...), and
expects data back: a non-empty result. One line per check, then
`N passed, M failed`.
"""

import os
import secrets
import sys
import time
import urllib.parse
from datetime import datetime

import monitoring
from checks import Checks
from http_json import http

PROMETHEUS = f"http://127.0.0.1:{os.environ.get('PROMETHEUS_PORT', '9091')}"
GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}"
# The services' job names (scripts/lib.sh's SERVICES, passed by the wrapper).
JOBS = os.environ.get("SERVICES", "auth billing order-api items slots mediator").split()
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


def prometheus(path, **params):
    """The `data` of a Prometheus API answer; raises on an error."""
    url = f"{PROMETHEUS}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    status, answer = http("GET", url)
    if status != 200 or not answer or answer.get("status") != "success":
        raise RuntimeError(f"{path} {params}: {status} {answer}")
    return answer["data"]


def last_scrapes():
    """job -> (health, the time of its last scrape, seconds since the epoch;
    far in the past for a target not scraped yet)."""
    return {target["labels"]["job"]: (target["health"],
                                      datetime.fromisoformat(target["lastScrape"]).timestamp())
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
            if all(scrapes.get(job, ("", 0))[1] > since for job in JOBS):
                break
            if time.monotonic() > deadline:
                return scrapes
            time.sleep(0.5)
        since = time.time()
    return scrapes


def check_prometheus(checks):
    try:
        prometheus("/api/v1/status/buildinfo")
    except (RuntimeError, OSError) as err:
        checks.check(f"Prometheus answers on {PROMETHEUS}", False,
                     f"{err}; start it with scripts/prometheus up")
        return False
    scrapes = wait_for_scrapes(time.time() - 1)
    down = {job: scrapes.get(job, ("missing", 0))[0] for job in JOBS if scrapes.get(job, ("", 0))[0] != "up"}
    checks.check(f"Prometheus scrapes every service, job = its name ({', '.join(JOBS)})", not down, down)
    # The chart's alerts are loaded and evaluate without an error.
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    while True:
        rules = [rule for group in prometheus("/api/v1/rules")["groups"] for rule in group["rules"]]
        health = {rule["name"]: rule.get("health") for rule in rules if rule.get("type") == "alerting"}
        if all(h != "unknown" for h in health.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    bad = {name: h for name, h in health.items() if h != "ok"}
    checks.check(f"Prometheus evaluates the chart's {len(ALERTS)} alerts without an error",
                 set(health) == ALERTS and not bad, {"loaded": sorted(health), "unhealthy": bad})
    return True


def make_load(checks):
    """Ten orders through the gateway, waited for until final."""
    username = f"dash_{secrets.token_hex(4)}"
    password = "correct horse battery"
    status, _ = http("POST", f"{GATEWAY}/api/auth/users/",
                     {"username": username, "password": password, "email": f"{username}@example.com"})
    if not checks.check(f"sign up {username} through the gateway", status == 201, status):
        return
    status, tokens = http("POST", f"{GATEWAY}/api/token/", {"username": username, "password": password})
    if not checks.check("log in", status == 200 and tokens and "access" in tokens, status):
        return
    token = tokens["access"]
    placed = []
    for amount, item, slot, reason in ORDERS:
        status, order = http("POST", f"{GATEWAY}/api/orders/",
                             {"amount": amount, "details": {"item": item, "slot": slot}}, token)
        if status == 201 and order:
            placed.append((order["id"], reason))
    if not checks.check(f"{len(ORDERS)} orders accepted", len(placed) == len(ORDERS), f"{len(placed)} accepted"):
        return
    deadline = time.monotonic() + ORDER_TIMEOUT
    final = {}
    while len(final) < len(placed) and time.monotonic() < deadline:
        for order_id, _ in placed:
            if order_id in final:
                continue
            status, order = http("GET", f"{GATEWAY}/api/orders/{order_id}", token=token)
            if status == 200 and order and order.get("status") != "pending":
                final[order_id] = (order["status"], order.get("reason"))
        if len(final) < len(placed):
            time.sleep(0.2)
    wrong = {order_id: final.get(order_id, ("pending", None)) for order_id, reason in placed
             if final.get(order_id) != (("completed", None) if reason is None else ("failed", reason))}
    checks.check(f"the orders end as expected within {ORDER_TIMEOUT} s (6 completed; item, slot and money "
                 "refusals)", not wrong, wrong)


def check_queries(checks):
    dash = monitoring.dashboard()
    empty, nan_only = [], []
    for title, ref, query in monitoring.queries(dash):
        name = f"[{title}] {ref}: {query}"
        try:
            data = prometheus("/api/v1/query", query=query)
        except (RuntimeError, OSError) as err:
            checks.check(name, False, err)
            empty.append((title, ref))
            continue
        result = data["result"]
        if data["resultType"] == "scalar":
            result = [result]
        values = [series["value"][1] if isinstance(series, dict) else series[1] for series in result]
        if checks.check(name, bool(result), "no data"):
            if all(value == "NaN" for value in values):
                # Data, but every value NaN (a quantile over no new
                # observations): worth a note, not a failure.
                nan_only.append(f"[{title}] {ref}")
        else:
            empty.append((title, ref))
    if nan_only:
        print(f"note: NaN only (no new observations in the rate's minute): {', '.join(nan_only)}")
    return empty


def main():
    started = time.monotonic()
    checks = Checks()
    if check_prometheus(checks):
        make_load(checks)
        # Two scrapes after the last order ended: every counter's new value
        # is in, with a sample before it for rate().
        ended = time.time()
        scrapes = wait_for_scrapes(ended, count=2)
        late = [job for job in JOBS if scrapes.get(job, ("", 0))[0] != "up" or scrapes[job][1] <= ended]
        checks.check("two scrapes of every service since the orders ended", not late, late)
        check_queries(checks)
    print(f"({time.monotonic() - started:.1f}s)")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
