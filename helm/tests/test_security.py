"""Least privilege (SPEC section 7): every container locked down, and
network policies that let each pod be reached by its callers alone, on
its own port."""

import chart
from cases import EDGE, VALUE_SETS, each
from manifests import containers, kinds, pod_spec, workloads
from network_policy import admitted, release_pods, selector_matches
from spec import CALLERS, OUTSIDERS, SERVICES

PROMETHEUS_VALUES = {"networkPolicy": {"prometheus": {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}}}


def container_problems(workload, pod, container):
    """What a container's security context (or its pod's) leaves open."""
    pod_sc, sc = pod.get("securityContext", {}), container.get("securityContext", {})
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    problems = []
    if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
        problems.append("runAsNonRoot")
    if user in (None, 0) or (workload["kind"] == "Deployment" and user != 10001):
        problems.append(f"runAsUser {user}")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem")
    if sc.get("privileged"):
        problems.append("privileged")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
        problems.append("capabilities")
    if sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type") != "RuntimeDefault":
        problems.append("seccompProfile")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("service account token mounted")
    return problems


@each(VALUE_SETS)
def test_every_container_is_locked_down(case, docs):
    """Non-root (the services as 10001), read-only root, no privilege
    escalation, no capabilities, seccomp RuntimeDefault, no service account
    token: every container of every workload, stores included."""
    bad = []
    for workload in workloads(docs):
        pod = pod_spec(workload)
        for container in containers(pod):
            problems = container_problems(workload, pod, container)
            if problems:
                bad.append(f"{workload['metadata']['name']}/{container['name']}: {', '.join(problems)}")
    assert not bad, f"[{case.label}] {bad}"


@each(EDGE)
def test_every_pod_is_selected_by_a_default_deny_policy(case, docs):
    policies = kinds(docs, "NetworkPolicy")
    deny_all = [p for p in policies if not p["spec"].get("ingress") and "Ingress" in p["spec"].get("policyTypes", [])]
    assert deny_all, f"[{case.label}] no default-deny NetworkPolicy"
    bare = [name for name, (labels, _) in release_pods(docs).items()
            if not any(selector_matches(p["spec"]["podSelector"], labels) for p in deny_all)]
    assert not bare, f"[{case.label}] pods no default-deny policy selects: {bare}"


@each(EDGE)
def test_items_and_slots_accept_the_mediator_alone(case, docs):
    got, _ = admitted(docs)
    participants = {name: sorted(got.get(name, ())) for name in ("items", "slots")}
    assert all(v == ["mediator"] for v in participants.values()), f"[{case.label}] admitted: {participants}"


@each([case for case in EDGE if case.ingress_enabled])
def test_the_public_services_accept_the_ingress_controller(case, docs):
    """auth, billing and order-api accept the ingress controller
    (namespace ingress-nginx, app.kubernetes.io/name=ingress-nginx)."""
    got, _ = admitted(docs)
    public = {name: "ingress-controller" in got.get(name, ()) for name in ("auth", "billing", "order-api")}
    assert all(public.values()), f"[{case.label}] accepting the ingress controller: {public}"


@each([case for case in EDGE if case.admin_ingress_enabled])
def test_with_the_admin_ingress_order_api_and_auth_accept_the_ingress_controller(case, docs):
    """order-api for the admin API and the console, auth for their sign-in."""
    got, _ = admitted(docs)
    admin = {name: "ingress-controller" in got.get(name, ()) for name in ("auth", "order-api")}
    assert all(admin.values()), f"[{case.label}] accepting the ingress controller: {admin}"


@each(EDGE)
def test_network_policies_admit_exactly_each_pods_callers(case, docs):
    """billing: auth and the mediator; PostgreSQL: every service; Redis:
    order-api and the mediator; the ingress controller exactly the services
    the Ingresses route. Every pod against every pod and OUTSIDERS."""
    got, _ = admitted(docs)
    routed = {service for _, _, service in chart.ingress_routes(docs)}
    pods = release_pods(docs)
    want = {name: (set(CALLERS[name]) - {"ingress-controller"}) | ({"ingress-controller"} if name in routed else set())
            for name in pods}
    wrong = {name: {"unexpected": sorted(got[name] - want[name]), "missing": sorted(want[name] - got[name])}
             for name in pods if got[name] != want[name]}
    assert not wrong, f"[{case.label}] {len(pods)} pods x {len(pods) + len(OUTSIDERS)} sources: {wrong}"


@each(EDGE)
def test_network_policies_open_each_pods_own_port_only(case, docs):
    _, other_ports = admitted(docs)
    assert not other_ports, f"[{case.label}] (source, pod) pairs let in on another port: {other_ports}"


def test_prometheus_scrapes_every_services_port_and_no_store():
    got, _ = admitted(chart.render(PROMETHEUS_VALUES))
    scraped = sorted(name for name, sources in got.items() if "prometheus" in sources)
    assert scraped == sorted(SERVICES), f"networkPolicy.prometheus lets Prometheus reach {scraped}"


def test_network_policy_disabled_renders_none():
    rendered = kinds(chart.render({"networkPolicy": {"enabled": False}}), "NetworkPolicy")
    assert not rendered, f"networkPolicy.enabled=false renders {[p['metadata']['name'] for p in rendered]}"
