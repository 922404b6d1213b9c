"""Monitoring (issue 17) and tracing: off by default, nothing is rendered
for them. monitoring.* on: a ServiceMonitor per service, the alerts, and
the Grafana dashboard, whose every panel and alert queries a metric of the
contract. tracing.otlpEndpoint set: every service exports to it under its
own name. (promtool's checks of the alerts: scripts/rules-test.)"""

import json
import re

import helm_python as helm
import pytest

import chart
from cases import MONITORING, OTLP_ENDPOINT, TRACING, VALUE_SETS, each
from manifests import by_component, containers, env_from_config, env_of, kinds, pod_spec, workloads
from network_policy import selector_matches
from spec import NAMESPACE, RELEASE, SERVICES

# The metrics every service and the mediator expose (the Monitoring
# section of the docs): each panel of the dashboard and each alert must
# name one of them.
CONTRACT_METRICS = {
    "http_requests_total", "http_request_duration_seconds", "orders_accepted_total", "saga_started_total",
    "saga_finished_total", "saga_duration_seconds", "saga_step_duration_seconds", "saga_step_retries_total",
    "saga_compensations_total", "saga_in_flight", "saga_parked", "saga_queue_depth", "saga_oldest_pending_seconds",
}
# Read by every mediator replica from the shared database and Redis: the
# same value from each, so never summed.
SHARED_GAUGES = {"saga_parked", "saga_queue_depth", "saga_oldest_pending_seconds"}
ALERTS = {"SagasParked", "SagaOldestPendingPastDeadline", "NoMediatorWorker", "QueueDepthGrowing", "HighErrorRate",
          "HighCompensationRate"}
MONITORING_KINDS = {"ServiceMonitor", "PrometheusRule"}
DASHBOARD_FILE = chart.CHART / "dashboards" / "shop.json"
SETTINGS = MONITORING.values["monitoring"]


def metrics_of(expr):
    """The metric names a PromQL expression mentions (a histogram's
    _bucket, _sum and _count series under the histogram's name)."""
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", w) for w in words} | words


def summed_shared_gauges(expr):
    """The shared gauges an expression sums (they must be max()ed)."""
    summed = r"\bsum\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(\s*"
    return sorted(g for g in SHARED_GAUGES if re.search(summed + g + r"\b", expr))


def keys(docs):
    return {(d["kind"], d["metadata"]["name"]) for d in docs}


@each(VALUE_SETS)
def test_monitoring_off_renders_no_monitor_rule_or_dashboard(case, docs):
    found = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
             if d["kind"] in MONITORING_KINDS or "grafana_dashboard" in d["metadata"].get("labels", {})]
    assert not found, f"[{case.label}] monitoring is off by default, yet {found}"


@pytest.fixture
def monitoring_docs(renders):
    return renders(MONITORING)


def test_monitoring_adds_its_objects_and_nothing_else(monitoring_docs, default_docs):
    """The default render plus a ServiceMonitor per service, a
    PrometheusRule and the dashboard's ConfigMap."""
    want_new = {("ServiceMonitor", f"{RELEASE}-{name}") for name in SERVICES} | \
        {("PrometheusRule", RELEASE), ("ConfigMap", f"{RELEASE}-dashboard")}
    got, default = keys(monitoring_docs), keys(default_docs)
    assert not default & want_new, f"rendered with monitoring off: {sorted(default & want_new)}"
    assert got == default | want_new, \
        f"missing {sorted(default | want_new - got)}, extra {sorted(got - default - want_new)}"


def test_a_service_monitor_per_service_scrapes_its_port_as_its_job(monitoring_docs):
    """Each selects its own Service alone, scrapes its named port's
    /metrics at the values' interval, its job the service's name, in the
    release's namespace, with the values' labels."""
    services = {d["metadata"]["name"]: d for d in kinds(monitoring_docs, "Service")}
    bad = []
    for monitor in kinds(monitoring_docs, "ServiceMonitor"):
        name, spec = monitor["metadata"]["name"], monitor["spec"]
        selected = [s for s, svc in services.items() if selector_matches(spec["selector"], svc["metadata"]["labels"])]
        service = services.get(name)
        problems = []
        if selected != [name]:
            problems.append(f"selects {selected}")
        if service:
            ports = {p["name"] for p in service["spec"]["ports"]}
            endpoints = spec["endpoints"]
            if len(endpoints) != 1 or endpoints[0].get("port") not in ports or endpoints[0].get("path") != "/metrics":
                problems.append(f"endpoints {endpoints} (the Service's ports: {sorted(ports)})")
            elif endpoints[0].get("interval") != SETTINGS["serviceMonitor"]["interval"]:
                problems.append(f"interval {endpoints[0].get('interval')}")
            job = service["metadata"]["labels"].get(spec.get("jobLabel", ""))
            if job != name.removeprefix(f"{RELEASE}-") or job not in SERVICES:
                problems.append(f"job {job!r} (jobLabel {spec.get('jobLabel')})")
        if spec.get("namespaceSelector") != {"matchNames": [NAMESPACE]}:
            problems.append(f"namespaceSelector {spec.get('namespaceSelector')}")
        if monitor["metadata"]["labels"].get("release") != "kube-prometheus-stack":
            problems.append("without monitoring.serviceMonitor.labels")
        if problems:
            bad.append(f"{name}: {'; '.join(problems)}")
    monitored = sorted(m["metadata"]["name"].removeprefix(f"{RELEASE}-")
                       for m in kinds(monitoring_docs, "ServiceMonitor"))
    assert monitored == sorted(SERVICES), f"ServiceMonitors for {monitored}"
    assert not bad, bad


def alerts_of(docs):
    return [rule for doc in kinds(docs, "PrometheusRule") for group in doc["spec"]["groups"]
            for rule in group["rules"] if "alert" in rule]


def test_the_prometheus_rule_holds_the_alerts(monitoring_docs):
    names = sorted(r["alert"] for r in alerts_of(monitoring_docs))
    assert names == sorted(ALERTS), f"alerts {names}, want {sorted(ALERTS)}"
    unlabelled = [d["metadata"]["name"] for d in kinds(monitoring_docs, "PrometheusRule")
                  if not d["metadata"]["labels"].get("release")]
    assert not unlabelled, f"PrometheusRules without monitoring.prometheusRule.labels: {unlabelled}"


def test_every_alert_is_documented_and_queries_the_contract(monitoring_docs):
    """Severity, summary, description, runbook and runbook_url; a metric of
    the contract; the shared gauges max()ed, never summed."""
    bad = []
    for rule in alerts_of(monitoring_docs):
        problems = [f"no {key}" for key in ("summary", "description", "runbook")
                    if not rule.get("annotations", {}).get(key)]
        if not rule.get("labels", {}).get("severity"):
            problems.append("no severity")
        if rule.get("annotations", {}).get("runbook_url") != SETTINGS["prometheusRule"]["runbookUrl"]:
            problems.append("no runbook_url")
        if rule["alert"] != "NoMediatorWorker" and not metrics_of(rule["expr"]) & CONTRACT_METRICS:
            problems.append("no metric of the contract")
        if summed_shared_gauges(rule["expr"]):
            problems.append(f"sums {summed_shared_gauges(rule['expr'])}")
        if problems:
            bad.append(f"{rule['alert']}: {', '.join(problems)}")
    assert not bad, bad


@pytest.mark.parametrize("deadline_ms", [30000, 45000])
def test_saga_oldest_pending_past_deadline_follows_the_saga_deadline(deadline_ms):
    """config.sagaDeadlineMs, plus the margin."""
    rendered = chart.render(chart.set_value(MONITORING.values, f"config.sagaDeadlineMs={deadline_ms}"))
    expr = next((r["expr"] for r in alerts_of(rendered) if r["alert"] == "SagaOldestPendingPastDeadline"), "")
    assert f"> {deadline_ms} / 1000 + 60" in expr, f"SagaOldestPendingPastDeadline: {expr!r}"


# ------------------------------------------------------------ the dashboard


@pytest.fixture
def dashboard_map(monitoring_docs):
    maps = [d for d in kinds(monitoring_docs, "ConfigMap") if d["metadata"]["name"] == f"{RELEASE}-dashboard"]
    assert len(maps) == 1, f"{len(maps)} dashboard ConfigMaps"
    return maps[0]


@pytest.fixture
def dashboard(dashboard_map):
    try:
        return json.loads(dashboard_map["data"]["shop.json"])
    except (KeyError, ValueError) as err:
        pytest.fail(f"the dashboard's ConfigMap holds no JSON shop.json: {err}")


@pytest.fixture
def panels(dashboard):
    """Every panel that shows data, rows' own panels included."""
    shown = [p for p in dashboard.get("panels", []) if p.get("type") != "row"]
    return shown + [p for row in dashboard.get("panels", []) if row.get("type") == "row" for p in row.get("panels", [])]


def test_monitoring_renders_the_dashboards_configmap(monitoring_docs):
    names = [d["metadata"]["name"] for d in kinds(monitoring_docs, "ConfigMap")]
    assert names.count(f"{RELEASE}-dashboard") == 1, f"ConfigMaps {names}"


def test_the_dashboards_configmap_is_labelled_for_grafana(dashboard_map):
    """grafana_dashboard "1" and the values' labels, in
    monitoring.grafanaDashboard.namespace, with its annotations."""
    meta = dashboard_map["metadata"]
    assert meta["labels"].get("grafana_dashboard") == "1" and meta["labels"].get("team") == "shop" \
        and meta.get("namespace") == "monitoring" \
        and meta.get("annotations") == SETTINGS["grafanaDashboard"]["annotations"], meta


def test_the_dashboard_is_helm_dashboards_shop_json_as_it_is(dashboard):
    assert dashboard == json.loads(DASHBOARD_FILE.read_text()), "the rendered dashboard differs from shop.json"


def datasource_variables(dashboard):
    return [v["name"] for v in dashboard.get("templating", {}).get("list", [])
            if v.get("type") == "datasource" and v.get("query") == "prometheus"]


def test_the_dashboard_has_a_prometheus_datasource_variable(dashboard):
    assert len(datasource_variables(dashboard)) == 1, f"datasource variables {datasource_variables(dashboard)}"


def test_every_panel_queries_the_contract_through_the_datasource_variable(dashboard, panels):
    """And sums no shared gauge."""
    datasource = datasource_variables(dashboard)
    bad = []
    for panel in panels:
        exprs = [t.get("expr", "") for t in panel.get("targets", [])]
        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        problems = []
        if not any(metrics_of(e) & CONTRACT_METRICS for e in exprs):
            problems.append("no target queries a metric of the contract")
        if datasource and any((s or {}).get("uid") != f"${{{datasource[0]}}}" for s in sources):
            problems.append("a datasource other than the variable")
        if any(summed_shared_gauges(e) for e in exprs):
            problems.append("sums a shared gauge")
        if problems:
            bad.append(f"{panel.get('title')}: {', '.join(problems)}")
    assert panels, "the dashboard has no panel"
    assert not bad, f"of {len(panels)} panels: {bad}"


def test_the_dashboard_shows_every_metric_of_the_contract(panels):
    mentioned = set().union(*(metrics_of(t.get("expr", "")) for p in panels for t in p.get("targets", [])))
    assert CONTRACT_METRICS <= mentioned, f"not shown: {sorted(CONTRACT_METRICS - mentioned)}"


def test_the_dashboard_has_a_uid_and_unique_panel_ids(dashboard, panels):
    ids = [p.get("id") for p in panels]
    assert dashboard.get("uid"), "no uid"
    assert len(set(ids)) == len(ids), f"panel ids {ids}"


# ---------------------------------------------------------------- tracing


def otel_env(docs):
    """{workload/container: {OTEL_* name: value}} of every container, from
    env and from the ConfigMaps it takes whole (envFrom)."""
    found = {}
    for workload in workloads(docs):
        for container in containers(pod_spec(workload)):
            variables = env_from_config(docs, container)
            variables.update({name: var.get("value", var.get("valueFrom")) for name, var in env_of(container).items()})
            found[f"{workload['metadata']['name']}/{container['name']}"] = \
                {k: v for k, v in variables.items() if k.startswith("OTEL_")}
    return found


def otel_problems(docs, sampler=None, arg=None):
    """Containers whose OTEL_* variables are not the endpoint, their
    service's name and the sampler asked for (the stores: none)."""
    services = {d["metadata"]["name"]: c for c, d in by_component(docs, "Deployment").items()}
    bad = []
    for where, env in otel_env(docs).items():
        service = services.get(where.split("/")[0])
        want = {}
        if service:
            want = {"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT, "OTEL_SERVICE_NAME": service}
            want.update({k: v for k, v in (("OTEL_TRACES_SAMPLER", sampler), ("OTEL_TRACES_SAMPLER_ARG", arg))
                         if v is not None})
        if env != want:
            bad.append(f"{where}: {env}, want {want}")
    return bad + [f"no Deployment for {name}" for name in sorted(set(SERVICES) - set(services.values()))]


@each(VALUE_SETS)
def test_tracing_off_no_container_has_an_otel_variable(case, docs):
    found = {where: sorted(env) for where, env in otel_env(docs).items() if env}
    assert not found, f"[{case.label}] tracing is off, yet {found}"


@pytest.fixture
def tracing_docs(renders):
    return renders(TRACING)


def test_tracing_adds_no_object(tracing_docs, default_docs):
    got, default = keys(tracing_docs), keys(default_docs)
    assert got == default, f"missing {sorted(default - got)}, extra {sorted(got - default)}"


def test_tracing_every_service_exports_under_its_own_name(tracing_docs):
    """OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME, no sampler
    variable; the stores none."""
    bad = otel_problems(tracing_docs)
    assert not bad, bad


@pytest.mark.parametrize("sampler, arg, want_arg", [("parentbased_traceidratio", "0.25", "0.25"),
                                                    ("traceidratio", 0, "0"), ("always_off", None, None)])
def test_tracing_sampler_reaches_every_service(sampler, arg, want_arg):
    """tracing.sampler and samplerArg (0 included) as OTEL_TRACES_SAMPLER
    and OTEL_TRACES_SAMPLER_ARG."""
    tracing = {"otlpEndpoint": OTLP_ENDPOINT, "sampler": sampler} | ({} if arg is None else {"samplerArg": arg})
    try:
        docs = chart.render({"tracing": tracing})
    except helm.HelmError as err:
        pytest.fail(f"tracing {tracing} is refused: {err}")
    bad = otel_problems(docs, sampler=sampler, arg=want_arg)
    assert not bad, bad
