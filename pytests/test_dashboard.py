"""The Grafana dashboard's queries against the local stack's Prometheus (run by
scripts/dashboard-test; needs `scripts/stack up` and `scripts/prometheus up`).

Prometheus must scrape every service and have loaded the chart's alerts.
A little traffic goes through the gateway once (the `load` fixture: the
demo's orders without its parked one, `loadgen demo --no-parked`: three
customers' orders that complete and one each refused for money, the item
and the slot; loadgen waits until each has ended as planned), then
Prometheus scrapes twice. Then every panel target's query of helm/dashboards/shop.json,
Grafana's variables filled in (helm/tools/monitoring.py: $__rate_interval is
1m, $namespace .* ...), goes to Prometheus's HTTP API (/api/v1/query), one
test each, and must bring data back: a non-empty result.
"""

import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

import monitoring
from shop import http, setting

ALERTS = {"SagasParked", "SagaOldestPendingPastDeadline", "NoMediatorWorker", "QueueDepthGrowing",
          "HighErrorRate", "HighCompensationRate"}
SCRAPE_TIMEOUT = 60
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
    demo: subprocess.CompletedProcess  # loadgen demo's run
    ended: float  # when the last order ended, seconds since the epoch
    scrapes: dict  # job -> (health, last scrape), two scrapes after `ended`


@pytest.fixture(scope="module")
def load(up):
    """The demo's orders through the gateway, each ended as planned (loadgen
    checks), then two scrapes of every service: every counter's new value
    is in, with a sample before it for rate()."""
    loadgen = Path(setting("TARGET_DIR")) / "release" / "loadgen"
    demo = subprocess.run([str(loadgen), "demo", "--no-parked",
                           "--gateway", f"http://127.0.0.1:{setting('GATEWAY_PORT')}", "--pg", setting("PG_URL")],
                          capture_output=True, text=True, timeout=180)
    ended = time.time()
    return Load(demo, ended, wait_for_scrapes(ended, count=2))


def test_the_demos_orders_end_as_planned(load):
    """Each order completed or was refused as the demo planned (loadgen demo --no-parked)."""
    assert load.demo.returncode == 0, f"loadgen demo --no-parked:\n{load.demo.stdout}{load.demo.stderr}"


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
