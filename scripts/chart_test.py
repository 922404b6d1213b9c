"""The chart's test (run by scripts/chart-test): offline, with Helm's own
engine and the Kubernetes schemas.

For the default values and each values file under helm/tests/ it lints the
chart, renders it, validates every manifest against the Kubernetes schemas,
and checks what the specification demands of it: the public Ingresses route
exactly the public API and never the admin API or the console, which only
the admin Ingress routes, off by default and HTTPS only (check_admin_ingress),
callers get their own service credential and callees its digest alone
(check_service_credentials), every container runs as non-root with probes and resources,
every reference (ConfigMap, Secret, Service) resolves, PostgreSQL and Redis
serve TLS only and every service verifies them (check_store_tls), auth alone
gets the administrator's name and password file (check_admin), and no
monitoring object is rendered unless asked for; switched on, the
ServiceMonitors, the alerts and the Grafana dashboard are checked
(check_monitoring; the Prometheus operator's kinds against CRD_SCHEMAS,
the Kubernetes schemas not knowing them), and no OTEL_* variable reaches a
container unless tracing.otlpEndpoint is set; set, every service gets it
and its own name (check_tracing). Then it
proves that the local gateway (scripts/gateway), rendered with
scripts/gateway-values.yaml (the admin Ingress on), routes, limits and
admits exactly what those Ingresses do: by reading its generated nginx.conf
back, and by running that nginx against stub services and asking it. One
line per check, then `N passed, M failed`.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

import chart
from checks import Checks

TESTS = chart.CHART / "tests"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the
# newest whose schemas kubernetes-validate ships.
KUBE_VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]
LINT_KUBE_VERSION = "v" + KUBE_VERSIONS[-1]

# The services: their local ports (scripts/lib.sh), databases, and who gets
# which secret: a caller its own service credential (tokens), a callee the
# digests of its callers' (digests), the JWT files it mounts (auth's from
# the credentials Secret, a verifier's public key from a ConfigMap), and
# whether the ingress reaches it (edge: TRUSTED_PROXIES and
# TRUST_INCOMING_TRACEPARENT).
SERVICES = {
    "auth": {"port": 8001, "db": "auth", "tokens": {"AUTH_SERVICE_TOKEN"}, "digests": set(), "redis": False,
             "jwt": {"jwt-private.pem", "jwt-public.pem"}, "edge": True},
    "billing": {"port": 8002, "db": "billing", "tokens": set(),
                "digests": {"AUTH_SERVICE_TOKEN_SHA256", "MEDIATOR_SERVICE_TOKEN_SHA256"},
                "redis": False, "jwt": {"jwt-public.pem"}, "edge": True},
    "order-api": {"port": 8003, "db": "orders", "tokens": set(), "digests": set(), "redis": True,
                  "jwt": {"jwt-public.pem"}, "edge": True},
    "items": {"port": 8004, "db": "items", "tokens": set(),
              "digests": {"AUTH_SERVICE_TOKEN_SHA256", "MEDIATOR_SERVICE_TOKEN_SHA256"},
              "redis": False, "jwt": set(), "edge": False},
    "slots": {"port": 8005, "db": "slots", "tokens": set(),
              "digests": {"AUTH_SERVICE_TOKEN_SHA256", "MEDIATOR_SERVICE_TOKEN_SHA256"},
              "redis": False, "jwt": set(), "edge": False},
    "mediator": {"port": 8006, "db": "orders", "tokens": {"MEDIATOR_SERVICE_TOKEN"}, "digests": set(), "redis": True,
                 "jwt": set(), "edge": False},
}
# The callers' credentials (keys of the credentials Secret) and the
# callees' digests of them (keys of the digests Secret).
CREDENTIAL_KEYS = {"auth-token", "mediator-token"}
DIGEST_KEYS = {"auth-token-sha256", "mediator-token-sha256"}
CALLERS_OF_SERVICES = {"auth", "mediator"}
# The defaults of trustedProxies, tracing.trustIncomingTraceparent and
# config.maxUnfinishedOrders.
DEFAULT_TRUSTED_PROXIES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]
DEFAULT_MAX_UNFINISHED_ORDERS = 20
DATABASES = {"auth", "billing", "orders", "items", "slots"}
# The one service that keeps the administrator (ADMIN_USERNAME and
# ADMIN_PASSWORD_FILE), and the key of its password in the admin Secret.
ADMIN_SERVICE = "auth"
ADMIN_KEY = "admin-password"
# Who may open a connection to whom inside the cluster (SPEC section 7,
# least privilege): the ingress controller reaches the public services,
# the mediator the saga's participants, auth billing (account creation),
# the services their stores. Anything else is refused.
CALLERS = {
    "auth": {"ingress-controller"},
    "billing": {"ingress-controller", "auth", "mediator"},
    "order-api": {"ingress-controller"},
    "items": {"mediator"},
    "slots": {"mediator"},
    "mediator": set(),
    "postgresql": set(SERVICES),
    "redis": {name for name, spec in SERVICES.items() if spec["redis"]},
}
# Pods outside the release, as NetworkPolicy sees them: the labels of
# their namespace and their own. The ingress controller's are the chart's
# defaults (values.yaml, networkPolicy.ingressController); a stranger
# elsewhere wears a mediator's labels, which must not be enough.
OUTSIDERS = {
    "ingress-controller": ({"kubernetes.io/metadata.name": "ingress-nginx"}, {"app.kubernetes.io/name": "ingress-nginx"}),
    "prometheus": ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "prometheus"}),
    "a stranger in the namespace": ({"kubernetes.io/metadata.name": chart.NAMESPACE}, {"app": "stranger"}),
    "a mediator look-alike elsewhere": ({"kubernetes.io/metadata.name": "default"},
                                        {"app.kubernetes.io/name": "shop", "app.kubernetes.io/instance": chart.RELEASE,
                                         "app.kubernetes.io/component": "mediator"}),
}
PROMETHEUS_VALUES = {"networkPolicy": {"prometheus": {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}}}

# The public API (SPEC section 2): exactly what the public Ingresses route,
# and where.
PUBLIC = {
    ("/api/auth/users", "Prefix", "auth"),
    ("/api/token", "Prefix", "auth"),
    ("/api/accounts", "Prefix", "billing"),
    ("/api/orders", "Prefix", "order-api"),
    ("/api/openapi.yaml", "Prefix", "auth"),
}
# The operators' (the admin API and its console, SPEC section 7): on the
# admin Ingress alone, with the sign-in the console and shopctl use on their
# own origin when no public Ingress routes it on the same host.
ADMIN = {
    ("/api/admin", "Prefix", "order-api"),
    ("/console", "Prefix", "order-api"),
}
SIGN_IN = ("/api/token", "Prefix", "auth")
ADMIN_INGRESS = f"{chart.RELEASE}-admin"
# The routes rate-limited at the edge (sign-up, login, refresh, logout,
# verify), on an Ingress of their own, and the defaults of ingress.rateLimit;
# the orders on another, under ingress.ordersRateLimit; and the admin
# Ingress's own (adminIngress.rateLimit).
RATE_LIMITED = {route for route in PUBLIC if route[0] in ("/api/auth/users", "/api/token")}
DEFAULT_RATE_LIMIT = {"enabled": True, "rps": 200, "burstMultiplier": 5}
ORDERS = {route for route in PUBLIC if route[0] == "/api/orders"}
DEFAULT_ORDERS_RATE_LIMIT = {"enabled": True, "rps": 20, "burstMultiplier": 5}
DEFAULT_ADMIN_RATE_LIMIT = {"enabled": True, "rps": 10, "burstMultiplier": 5}
# The most a customer does on /api/orders from one address, at worst: an
# order and a few reads of it in a second. The default must be far above.
CUSTOMER_ORDERS_PEAK = 4
# What the local suite sends through the gateway from one address: the
# benchmark's closed loop (about 2700 orders a second on two cores,
# README's Benchmark), and scripts/fuzz on the admin operations (up to
# FUZZ_RATE a second). The gateway's limits must hold them four times over.
BENCH_ORDERS_RATE = 2700
# What the test suite sends to those paths from one address (the local
# gateway's access log over many runs of scripts/test): a load test's
# set-up (loadgen: a sign-up and a login per user; 100 users at once here),
# and scripts/fuzz, up to about 220 in one second, so that at 200/s its
# excess never passed 220. The defaults must hold either four times over.
LOAD_TEST_SETUP = 200
FUZZ_RATE, FUZZ_PEAK_EXCESS = 200, 220
# Requests that must reach a service through the public Ingresses, and where
# (the spec's public paths).
PUBLIC_REQUESTS = [
    ("/api/auth/users/", "auth"),
    ("/api/token/", "auth"),
    ("/api/token/refresh/", "auth"),
    ("/api/token/verify/", "auth"),
    ("/api/token/logout/", "auth"),
    ("/api/openapi.yaml", "auth"),
    ("/api/accounts/ann", "billing"),
    ("/api/accounts/ann/deposit", "billing"),
    ("/api/orders/", "order-api"),
    ("/api/orders/42", "order-api"),
]
# Requests that reach order-api through the admin Ingress alone: never
# through a public one.
ADMIN_REQUESTS = [
    ("/api/admin/sagas", "order-api"),
    ("/api/admin/sagas/7/retry", "order-api"),
    ("/api/admin", "order-api"),
    ("/console/", "order-api"),
    ("/console", "order-api"),
    ("/console/console.js", "order-api"),
]
# Requests that must never reach a service: the internal API, the
# operational endpoints, and near misses of the public prefixes.
INTERNAL_REQUESTS = [
    "/api/profiles/",
    "/api/profiles",
    "/internal/reservations/1",
    "/internal/reservations/",
    "/health",
    "/ready",
    "/metrics",
    "/",
    "/api/",
    "/api/auth/",
    "/api/auth/usersx",
    "/api/tokens",
    "/api/accountsx/ann",
    "/api/ordersx",
    "/api/adminx",
    "/consoles",
    "/API/orders/",
    "/items",
    "/slots",
]
# nginx matches the normalized path but forwards the raw one: dot segments
# and encodings must not smuggle a request past the routes.
SMUGGLING_REQUESTS = [
    "/api/orders/../profiles/",
    "/api/accounts/%2e%2e/%2e%2e/internal/reservations/1",
    "/api/token/..%2f..%2finternal/reservations/1",
]


def kinds(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def by_component(docs, kind):
    return {d["metadata"]["labels"].get("app.kubernetes.io/component"): d for d in kinds(docs, kind)}


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def containers(pod):
    return pod.get("initContainers", []) + pod.get("containers", [])


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def secret_ref(var):
    """(Secret name, key) of an env var taken from a Secret, else None."""
    ref = (var or {}).get("valueFrom", {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None


def secret_value(docs, name, key):
    """A rendered Secret's value, decoded; None when the chart does not render it."""
    for doc in kinds(docs, "Secret"):
        if doc["metadata"]["name"] == name and key in doc.get("data", {}):
            return base64.b64decode(doc["data"][key]).decode()
    return None


# ------------------------------------------------ NetworkPolicy semantics


def selector_matches(selector, labels):
    """A Kubernetes label selector: {} selects everything."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if not {"In": present and labels.get(key) in values,
                "NotIn": not present or labels.get(key) not in values,
                "Exists": present,
                "DoesNotExist": not present}[operator]:
            return False
    return True


def peer_admits(peer, namespace, source):
    """Whether a `from` peer of a policy in `namespace` admits `source`,
    (namespace labels, pod labels). Without a namespaceSelector a peer
    means the policy's own namespace; ipBlocks never name pods here."""
    ns_labels, pod_labels = source
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        ns_ok = selector_matches(peer["namespaceSelector"], ns_labels)
    else:
        ns_ok = ns_labels.get("kubernetes.io/metadata.name") == namespace
    return ns_ok and ("podSelector" not in peer or selector_matches(peer["podSelector"], pod_labels))


def ingress_allowed(policies, target, port, source, namespace=chart.NAMESPACE):
    """Whether a pod with labels `target` accepts a TCP connection on
    `port` (a (number, name) pair) from `source`: allowed when no policy
    selects the pod for Ingress, else when a rule of one of them admits it."""
    number, name = port
    applying = [p for p in policies if selector_matches(p["spec"].get("podSelector", {}), target) and
                "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    if not applying:
        return True
    for policy in applying:
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(p.get("protocol", "TCP") == "TCP" and p.get("port") in (None, number, name)
                                 for p in ports):
                continue
            peers = rule.get("from")
            if not peers or any(peer_admits(peer, namespace, source) for peer in peers):
                return True
    return False


def release_pods(docs):
    """Component -> (pod labels, (port number, port name)) of every workload."""
    pods = {}
    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        port = pod_spec(workload)["containers"][0]["ports"][0]
        pods[labels["app.kubernetes.io/component"]] = (labels, (port["containerPort"], port["name"]))
    return pods


def admitted(docs, extra_sources=None):
    """Component -> the set of sources (release components, OUTSIDERS) its
    pods accept on their port, and the pairs that also get in elsewhere."""
    policies = kinds(docs, "NetworkPolicy")
    pods = release_pods(docs)
    release_ns = {"kubernetes.io/metadata.name": chart.NAMESPACE}
    sources = {name: (release_ns, labels) for name, (labels, _) in pods.items()}
    sources.update(OUTSIDERS)
    sources.update(extra_sources or {})
    result, other_ports = {}, []
    for name, (labels, port) in pods.items():
        result[name] = {source for source, who in sources.items() if ingress_allowed(policies, labels, port, who)}
        other_ports += [(source, name) for source in result[name]
                        if ingress_allowed(policies, labels, (port[0] + 1000, "other"), sources[source])]
    return result, other_ports


# ---------------------------------------------------------------- checks


def check_lint(checks, label, values):
    report = helm.lint(str(chart.CHART), values, strict=True, kube_version=LINT_KUBE_VERSION,
                       namespace=chart.NAMESPACE)
    problems = [f"{m.get('path')}: {m.get('error')}" for m in report.get("messages", [])
                if m.get("severity", 0) >= 2]
    problems += report.get("errors") or []
    checks.check(f"[{label}] helm lint --strict", not problems, problems)


def check_kubernetes_schemas(checks, label, docs):
    """Every manifest against the Kubernetes schemas; the Prometheus
    operator's kinds, which those schemas do not know, against this test's
    own (CRD_SCHEMAS)."""
    custom = sum((d["apiVersion"], d["kind"]) in CRD_SCHEMAS for d in docs)
    also = f"; {custom} Prometheus operator objects against their CRDs' structure" if custom else ""
    for version in KUBE_VERSIONS:
        invalid = []
        for doc in docs:
            crd = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
            if crd:
                invalid += [f"{doc['kind']}/{doc['metadata']['name']} {'/'.join(map(str, err.path))}: {err.message}"
                            for err in crd.iter_errors(doc)]
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                path = "/".join(str(p) for p in err.path)
                invalid.append(f"{doc['kind']}/{doc['metadata']['name']} {path}: {err.message}")
            except kubernetes_validate.SchemaNotFoundError as err:
                invalid.append(f"{doc['kind']}/{doc['metadata']['name']}: no schema ({err})")
        checks.check(f"[{label}] {len(docs) - custom} manifests valid against the Kubernetes {version} schemas "
                     f"(strict){also}", not invalid, invalid)


def check_labels(checks, label, docs):
    required = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                "app.kubernetes.io/managed-by", "helm.sh/chart"]
    bad = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
           if any(k not in d["metadata"].get("labels", {}) for k in required)]
    checks.check(f"[{label}] every object has the app.kubernetes.io labels", not bad, bad)
    bad = []
    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        if "app.kubernetes.io/component" not in selector or any(labels.get(k) != v for k, v in selector.items()):
            bad.append(workload["metadata"]["name"])
    checks.check(f"[{label}] every workload's selector picks its own pods by component", not bad, bad)


def check_deployments(checks, label, docs, values):
    deployments = by_component(docs, "Deployment")
    checks.check(f"[{label}] a Deployment per service", sorted(deployments) == sorted(SERVICES), sorted(deployments))
    image = values.get("image", {})
    app_version = yaml.safe_load((chart.CHART / "Chart.yaml").read_text())["appVersion"]
    expected_image = f"{image.get('repository', 'shop')}:{image.get('tag') or app_version}"
    bad = []
    for name, deployment in deployments.items():
        container = pod_spec(deployment)["containers"][0]
        if container.get("command") != [f"/usr/local/bin/{name}"] or container.get("image") != expected_image:
            bad.append(f"{name}: {container.get('image')} {container.get('command')}")
    checks.check(f"[{label}] one image ({expected_image}), the command picks /usr/local/bin/<service>", not bad, bad)
    expected = {name: values.get(key, {}).get("replicas", 2 if name == "mediator" else 1)
                for name, key in (("auth", "auth"), ("billing", "billing"), ("order-api", "orderApi"),
                                  ("items", "items"), ("slots", "slots"), ("mediator", "mediator"))}
    replicas = {name: d["spec"].get("replicas") for name, d in deployments.items()}
    checks.check(f"[{label}] replicas as the values say", replicas == expected, {"got": replicas, "want": expected})


def check_security(checks, label, docs):
    """Every container of every workload, stores included."""
    bad = []
    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        pod = pod_spec(workload)
        pod_sc = pod.get("securityContext", {})
        is_service = workload["kind"] == "Deployment"
        for container in containers(pod):
            sc = container.get("securityContext", {})
            where = f"{workload['metadata']['name']}/{container['name']}"
            user = sc.get("runAsUser", pod_sc.get("runAsUser"))
            problems = []
            if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
                problems.append("runAsNonRoot")
            if user in (None, 0) or (is_service and user != 10001):
                problems.append(f"runAsUser {user}")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append("allowPrivilegeEscalation")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append("readOnlyRootFilesystem")
            if sc.get("privileged"):
                problems.append("privileged")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
                problems.append("capabilities")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            if seccomp.get("type") != "RuntimeDefault":
                problems.append("seccompProfile")
            if pod.get("automountServiceAccountToken") is not False:
                problems.append("service account token mounted")
            if problems:
                bad.append(f"{where}: {', '.join(problems)}")
    checks.check(f"[{label}] every container: non-root (services as 10001), read-only root, no privilege "
                 "escalation, no capabilities, seccomp RuntimeDefault", not bad, bad)


def check_probes_and_resources(checks, label, docs):
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        container = pod_spec(deployment)["containers"][0]
        ready = container.get("readinessProbe", {}).get("httpGet", {})
        live = container.get("livenessProbe", {}).get("httpGet", {})
        if ready.get("path") != "/ready" or live.get("path") != "/health" or \
                ready.get("port") != "http" or live.get("port") != "http":
            bad.append(name)
    for workload in kinds(docs, "StatefulSet"):
        for container in containers(pod_spec(workload)):
            if "readinessProbe" not in container or "livenessProbe" not in container:
                bad.append(workload["metadata"]["name"])
    checks.check(f"[{label}] readiness on /ready and liveness on /health (stores: their own probes)", not bad, bad)
    bad = []
    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        for container in containers(pod_spec(workload)):
            resources = container.get("resources", {})
            if any(k not in resources.get(kind, {}) for kind in ("requests", "limits") for k in ("cpu", "memory")):
                bad.append(f"{workload['metadata']['name']}/{container['name']}")
    checks.check(f"[{label}] every container has cpu and memory requests and limits", not bad, bad)
    check_rolling_updates(checks, label, docs)


def check_rolling_updates(checks, label, docs):
    """An upgrade or a rollback never lowers capacity, the ingress stops
    sending before a process stops, and the mediator may drain."""
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        rolling = deployment["spec"].get("strategy", {}).get("rollingUpdate", {})
        if rolling.get("maxUnavailable") != 0 or not rolling.get("maxSurge"):
            bad.append(f"{name}: strategy {rolling}")
        pod = pod_spec(deployment)
        container = pod["containers"][0]
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        if name != "mediator" and pre_stop[:1] != ["sleep"]:
            bad.append(f"{name}: no preStop pause")
        if name == "mediator":
            period = pod.get("terminationGracePeriodSeconds", 30)
            configured = int(config_value(docs, "SHUTDOWN_GRACE_MS") or 10000)
            if period * 1000 <= configured:
                bad.append(f"mediator: terminationGracePeriodSeconds {period} within its drain {configured} ms")
    checks.check(f"[{label}] rolling updates: maxUnavailable 0 with a surge, a preStop pause before the "
                 "ingress's services stop, the mediator's grace longer than its drain", not bad, bad)


def config_map_value(docs, name, key):
    """A rendered ConfigMap's value; None when the chart does not render it."""
    for doc in kinds(docs, "ConfigMap"):
        if doc["metadata"]["name"] == name:
            return doc.get("data", {}).get(key)
    return None


def config_value(docs, key):
    for config_map in kinds(docs, "ConfigMap"):
        if key in config_map.get("data", {}):
            return config_map["data"][key]
    return None


def check_service_env(checks, label, docs, values):
    """Each service gets what README's Configuration table says it needs."""
    admin = admin_expectations(values)
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in kinds(docs, "ConfigMap")}
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        spec = SERVICES[name]
        container = pod_spec(deployment)["containers"][0]
        env = env_of(container)
        config = {}
        for source in container.get("envFrom", []):
            config.update(configmaps.get(source.get("configMapRef", {}).get("name"), {}))
        problems = []
        if config.get("HTTP_HOST") != "0.0.0.0":
            problems.append("HTTP_HOST is not 0.0.0.0")
        if env.get("HTTP_PORT", {}).get("value") != str(spec["port"]) or \
                container["ports"][0]["containerPort"] != spec["port"]:
            problems.append("HTTP_PORT")
        if "DATABASE_URL" not in env:
            problems.append("DATABASE_URL")
        # A caller gets its own credential, a callee its callers' digests
        # (check_service_credentials says from where).
        tokens = {name for name in env if name.endswith("SERVICE_TOKEN")}
        digests = {name for name in env if name.endswith("SERVICE_TOKEN_SHA256")}
        if tokens != spec["tokens"] or digests != spec["digests"]:
            problems.append(f"service credentials {sorted(tokens)}, digests {sorted(digests)}")
        if ("REDIS_URL" in env) != spec["redis"]:
            problems.append("REDIS_URL")
        mounted = set()
        for volume in pod_spec(deployment).get("volumes", []):
            for kind in ("secret", "configMap"):
                if kind in volume:
                    mounted |= {item["path"] for item in volume[kind].get("items", [])}
        want_files = spec["jwt"] | ({ADMIN_KEY} if admin and name == ADMIN_SERVICE else set())
        if mounted != want_files:
            problems.append(f"Secret and ConfigMap files {sorted(mounted)}, want {sorted(want_files)}")
        for var in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"):
            if not config.get(var, "").startswith("/etc/shop/jwt/"):
                problems.append(var)
        if name == "mediator" and not all(config.get(v, "").startswith("http://") for v in
                                          ("BILLING_URL", "ITEMS_URL", "SLOTS_URL")):
            problems.append("participant URLs")
        if problems:
            bad.append(f"{name}: {', '.join(problems)}")
    checks.check(f"[{label}] every service gets its configuration (README's table), and only its secrets", not bad, bad)
    check_edge_config(checks, label, docs, values)


def check_edge_config(checks, label, docs, values):
    """The services the ingress reaches (auth, billing, order-api) get
    TRUSTED_PROXIES (trustedProxies, comma-separated) and
    TRUST_INCOMING_TRACEPARENT (tracing.trustIncomingTraceparent, false by
    default); the internal ones neither, so they keep continuing their
    callers' traces. order-api gets MAX_UNFINISHED_ORDERS."""
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in kinds(docs, "ConfigMap")}
    proxies = ",".join(values.get("trustedProxies", DEFAULT_TRUSTED_PROXIES))
    trace = "true" if values.get("tracing", {}).get("trustIncomingTraceparent", False) else "false"
    unfinished = str(values.get("config", {}).get("maxUnfinishedOrders", DEFAULT_MAX_UNFINISHED_ORDERS))
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        container = pod_spec(deployment)["containers"][0]
        config = {}
        for source in container.get("envFrom", []):
            config.update(configmaps.get(source.get("configMapRef", {}).get("name"), {}))
        env = env_of(container)
        got = {var: env[var].get("value") if var in env else config.get(var)
               for var in ("TRUSTED_PROXIES", "TRUST_INCOMING_TRACEPARENT") if var in env or var in config}
        want = {"TRUSTED_PROXIES": proxies, "TRUST_INCOMING_TRACEPARENT": trace} if SERVICES[name]["edge"] else {}
        if got != want:
            bad.append(f"{name}: {got}, want {want}")
        if name == "order-api" and config.get("MAX_UNFINISHED_ORDERS") != unfinished:
            bad.append(f"order-api: MAX_UNFINISHED_ORDERS {config.get('MAX_UNFINISHED_ORDERS')!r}, want {unfinished}")
    checks.check(f"[{label}] auth, billing and order-api alone get TRUSTED_PROXIES={proxies} and "
                 f"TRUST_INCOMING_TRACEPARENT={trace}; order-api MAX_UNFINISHED_ORDERS={unfinished}", not bad, bad)


def check_references(checks, label, docs, brought):
    """Every ConfigMap, Secret and key a pod refers to is rendered, or is a
    Secret the values say the user brings."""
    configmaps = {d["metadata"]["name"]: set(d.get("data", {})) for d in kinds(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: set(d.get("data", {})) | set(d.get("stringData", {}))
               for d in kinds(docs, "Secret")}
    bad = []

    def resolve(kind, name, key=None):
        known = configmaps if kind == "ConfigMap" else secrets
        if kind == "Secret" and name in brought:
            return
        if name not in known:
            bad.append(f"{kind} {name} is neither rendered nor brought")
        elif key is not None and key not in known[name]:
            bad.append(f"{kind} {name} has no key {key}")

    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        pod = pod_spec(workload)
        for container in containers(pod):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    resolve("ConfigMap", source["configMapRef"]["name"])
                if "secretRef" in source:
                    resolve("Secret", source["secretRef"]["name"])
            for var in container.get("env", []):
                ref = var.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    resolve("Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
                if "configMapKeyRef" in ref:
                    resolve("ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"])
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"].get("items", [{"key": None}]):
                    resolve("Secret", volume["secret"]["secretName"], item["key"])
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:
                    for item in source["secret"].get("items", [{"key": None}]):
                        resolve("Secret", source["secret"]["name"], item["key"])
            if "configMap" in volume:
                resolve("ConfigMap", volume["configMap"]["name"])
    checks.check(f"[{label}] every ConfigMap and Secret reference resolves", not bad, bad)


def check_services(checks, label, docs):
    bad = []
    deployments = by_component(docs, "Deployment")
    for name, spec in SERVICES.items():
        matching = [s for s in kinds(docs, "Service")
                    if s["spec"]["selector"].get("app.kubernetes.io/component") == name]
        if len(matching) != 1:
            bad.append(f"{name}: {len(matching)} Services")
            continue
        service, deployment = matching[0], deployments.get(name)
        labels = deployment["spec"]["template"]["metadata"]["labels"] if deployment else {}
        port = service["spec"]["ports"][0]
        container_ports = {p["name"] for p in pod_spec(deployment)["containers"][0]["ports"]} if deployment else set()
        if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()) or \
                port["port"] != spec["port"] or port["targetPort"] not in container_ports:
            bad.append(name)
    checks.check(f"[{label}] a Service per service, selecting its pods on its port", not bad, bad)


def public_only(docs):
    """The manifests without the admin Ingress: what the public reaches."""
    return [d for d in docs if not (d["kind"] == "Ingress" and d["metadata"]["name"] == ADMIN_INGRESS)]


def check_ingress(checks, label, docs, values):
    """The public Ingresses: exactly the public API, never the admin API or
    the console. Returns every Ingress route, the admin Ingress's included."""
    ingress_values = values.get("ingress", {})
    ingresses = kinds(public_only(docs), "Ingress")
    public_routes = chart.ingress_routes(public_only(docs))
    leaked = [(path, chart.ingress_match(public_routes, path)) for path, _ in ADMIN_REQUESTS
              if chart.ingress_match(public_routes, path) is not None]
    checks.check(f"[{label}] no public Ingress routes the admin API or the console ({len(ADMIN_REQUESTS)} paths "
                 "under /api/admin and /console)", not leaked, leaked)
    routes = chart.ingress_routes(docs)
    if not ingress_values.get("enabled", True):
        checks.check(f"[{label}] ingress.enabled=false renders no public Ingress", not ingresses,
                     [i["metadata"]["name"] for i in ingresses])
        return routes
    host = ingress_values.get("host", "arch.homework")
    names = sorted([chart.RELEASE] +
                   ([f"{chart.RELEASE}-rate-limited"] if ingress_values.get("rateLimit", {}).get("enabled", True) else []) +
                   ([f"{chart.RELEASE}-orders"] if ingress_values.get("ordersRateLimit", {}).get("enabled", True) else []))
    checks.check(f"[{label}] {', '.join(names)}: the public Ingresses, class nginx, host {host}",
                 sorted(i["metadata"]["name"] for i in ingresses) == names and
                 all(i["spec"].get("ingressClassName") == "nginx" and
                     [r.get("host") for r in i["spec"]["rules"]] == [host] for i in ingresses),
                 [(i["metadata"]["name"], i["spec"].get("ingressClassName"), [r.get("host") for r in i["spec"]["rules"]])
                  for i in ingresses])
    checks.check(f"[{label}] the public Ingresses route exactly the public API, to the right services",
                 public_routes == PUBLIC, {"unexpected": public_routes - PUBLIC, "missing": PUBLIC - public_routes})
    services = {s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in kinds(docs, "Service")}
    bad = [p["path"] for i in kinds(docs, "Ingress") for r in i["spec"]["rules"] for p in r["http"]["paths"]
           if services.get(p["backend"]["service"]["name"]) != p["backend"]["service"]["port"].get("number")]
    checks.check(f"[{label}] every ingress backend is a rendered Service on its port", not bad, bad)
    wrong = [(path, chart.ingress_match(public_routes, path), want) for path, want in PUBLIC_REQUESTS
             if chart.ingress_match(public_routes, path) != want]
    checks.check(f"[{label}] every public request reaches its service through the ingress", not wrong, wrong)
    leaked = [(path, chart.ingress_match(routes, path)) for path in INTERNAL_REQUESTS
              if chart.ingress_match(routes, path) is not None]
    checks.check(f"[{label}] no internal path is routed by any Ingress ({len(INTERNAL_REQUESTS)} tried: /api/profiles/, "
                 "/internal/..., /health, /ready, /metrics, near misses)", not leaked, leaked)
    exposed = {service for _, _, service in routes} & {"items", "slots", "mediator"}
    checks.check(f"[{label}] items, slots and mediator have no route", not exposed, exposed)
    want = ingress_values.get("annotations", {}).get(chart.BODY_SIZE_ANNOTATION) or \
        ingress_values.get("maxBodySize", "16k") or None
    try:
        got = chart.ingress_body_size(docs)
    except ValueError as err:
        got = str(err)
    checks.check(f"[{label}] every Ingress refuses bodies over {want} (proxy-body-size)", got == want, got)
    return routes


# ------------------------------------------------ the edge: limits and TLS


LIMIT_RPS = "nginx.ingress.kubernetes.io/limit-rps"
LIMIT_BURST = "nginx.ingress.kubernetes.io/limit-burst-multiplier"
ALLOW = chart.ALLOW_ANNOTATION
REDIRECTS = ("nginx.ingress.kubernetes.io/ssl-redirect", "nginx.ingress.kubernetes.io/force-ssl-redirect")
ISSUERS = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")


def ingress_paths(ingress):
    """An Ingress's routes, (path, pathType, Service name)."""
    return {(p["path"], p["pathType"], p["backend"]["service"]["name"])
            for rule in ingress["spec"].get("rules", []) for p in rule.get("http", {}).get("paths", [])}


def expected_limits(docs):
    """{(path, pathType): (rps, burst)} from the Ingresses' annotations, read
    here on their own (ingress-nginx: burst = rps x multiplier, 5 unless set)."""
    limits = {}
    for ingress in kinds(docs, "Ingress"):
        annotations = ingress["metadata"].get("annotations") or {}
        if LIMIT_RPS in annotations:
            rps = int(annotations[LIMIT_RPS])
            burst = rps * int(annotations.get(LIMIT_BURST, 5))
            limits.update({(path, path_type): (rps, burst) for path, path_type, _ in ingress_paths(ingress)})
    return limits


def expected_allowlists(docs):
    """{(path, pathType): (CIDR, ...)} from the Ingresses' whitelist-source-range."""
    allowed = {}
    for ingress in kinds(docs, "Ingress"):
        text = (ingress["metadata"].get("annotations") or {}).get(ALLOW)
        if text is not None:
            networks = tuple(n.strip() for n in text.split(","))
            allowed.update({(path, path_type): networks for path, path_type, _ in ingress_paths(ingress)})
    return allowed


def check_edge(checks, label, docs, values):
    """Rate limits (ingress.rateLimit, ingress.ordersRateLimit) and TLS
    (ingress.tls) on the public Ingresses."""
    ingress_values = values.get("ingress", {})
    if not ingress_values.get("enabled", True):
        return
    ingresses = {i["metadata"]["name"]: i for i in kinds(public_only(docs), "Ingress")}
    main = ingresses.get(chart.RELEASE)
    if not main:  # check_ingress said so
        return
    components = chart.service_components(docs)

    def routes(ingress):
        return {(path, path_type, components.get(service)) for path, path_type, service in ingress_paths(ingress)}

    extra = ingress_values.get("annotations", {})
    rest = set(PUBLIC)
    for key, suffix, paths, defaults, what in (
            ("rateLimit", "rate-limited", RATE_LIMITED, DEFAULT_RATE_LIMIT,
             "sign-up, login, refresh, logout and verify (/api/auth/users, /api/token)"),
            ("ordersRateLimit", "orders", ORDERS, DEFAULT_ORDERS_RATE_LIMIT, "the orders (/api/orders)")):
        rate = {**defaults, **ingress_values.get(key, {})}
        name = f"{chart.RELEASE}-{suffix}"
        limited = ingresses.get(name)
        if not rate["enabled"]:
            checks.check(f"[{label}] ingress.{key} off: no {name}", limited is None)
            continue
        rest -= paths
        checks.check(f"[{label}] {name} routes {what} alone", limited is not None and routes(limited) == paths,
                     limited and routes(limited))
        if limited is None:
            continue
        want = {LIMIT_RPS: extra.get(LIMIT_RPS, str(rate["rps"])),
                LIMIT_BURST: extra.get(LIMIT_BURST, str(rate["burstMultiplier"]))}
        got = {k: limited["metadata"].get("annotations", {}).get(k) for k in want}
        checks.check(f"[{label}] {name}: limit-rps {want[LIMIT_RPS]}, limit-burst-multiplier {want[LIMIT_BURST]} "
                     f"(ingress.{key})", got == want, got)
    checks.check(f"[{label}] {chart.RELEASE} routes the rest of the public API", routes(main) == rest,
                 {"got": routes(main), "want": rest})
    unlimited = [key for key in main["metadata"].get("annotations", {})
                 if key in (LIMIT_RPS, LIMIT_BURST) and key not in extra]
    checks.check(f"[{label}] {chart.RELEASE} has no rate limit", not unlimited, unlimited)
    if label == "default":  # what the chart renders, whatever the constants above say
        rps, burst = expected_limits(docs).get(("/api/token", "Prefix"), (0, 0))
        checks.check(f"[default] {rps}/s and a burst of {burst} hold a load test's set-up "
                     f"({LOAD_TEST_SETUP} sign-ups and logins at once) and scripts/fuzz (excess {FUZZ_PEAK_EXCESS} "
                     f"at {FUZZ_RATE}/s) four times over",
                     burst >= 4 * max(LOAD_TEST_SETUP, FUZZ_PEAK_EXCESS) and rps >= FUZZ_RATE, (rps, burst))
        rps, burst = expected_limits(docs).get(("/api/orders", "Prefix"), (0, 0))
        checks.check(f"[default] the orders: {rps}/s and a burst of {burst} per address, a limit at least four "
                     f"times what a customer does at worst ({CUSTOMER_ORDERS_PEAK} a second)",
                     rps >= 4 * CUSTOMER_ORDERS_PEAK and burst >= rps, (rps, burst))

    # TLS: the same section and redirect on every public one; the issuer on one.
    tls = ingress_values.get("tls", {"enabled": False})
    host = ingress_values.get("host", "arch.homework")
    if isinstance(tls, list):
        want_tls, redirect, issuer = tls or None, {}, {}
    elif tls.get("enabled"):
        want_tls = [{"hosts": [host], "secretName": tls.get("secretName") or f"{chart.RELEASE}-tls"}]
        redirect = dict.fromkeys(REDIRECTS, "true" if tls.get("redirect", True) else "false")
        issuer = {key: value for key, value in zip(ISSUERS, (tls.get("clusterIssuer"), tls.get("issuer"))) if value}
    else:
        want_tls, redirect, issuer = None, {}, {}
    redirect = {key: extra.get(key, value) for key, value in redirect.items()}
    described = f"TLS {want_tls[0]['secretName']}" if want_tls else "no TLS"
    for name, ingress in sorted(ingresses.items()):
        annotations = ingress["metadata"].get("annotations", {})
        got = (ingress["spec"].get("tls"), {k: annotations[k] for k in REDIRECTS if k in annotations},
               {k: annotations[k] for k in ISSUERS if k in annotations})
        want = (want_tls, redirect, issuer if name == chart.RELEASE else {})
        checks.check(f"[{label}] {name}: {described}, redirect {redirect or 'untouched'}, "
                     f"cert-manager {(want[2] or 'none')}", got == want, {"got": got, "want": want})
    body_sizes = {i["metadata"]["name"]: i["metadata"].get("annotations", {}).get(chart.BODY_SIZE_ANNOTATION)
                  for i in kinds(docs, "Ingress")}
    checks.check(f"[{label}] every Ingress refuses the same bodies (proxy-body-size)",
                 len(set(body_sizes.values())) == 1, body_sizes)


def check_admin_ingress(checks, label, docs, values):
    """The admin Ingress (adminIngress): none unless enabled; enabled, the
    admin API and the console (and the sign-in where no public Ingress
    routes it on its host), on its host, HTTPS with a redirect unless
    allowInsecure, its allowed sources and its own rate limit."""
    admin_values = values.get("adminIngress", {})
    ingress_values = values.get("ingress", {})
    admin = next((i for i in kinds(docs, "Ingress") if i["metadata"]["name"] == ADMIN_INGRESS), None)
    routes = chart.ingress_routes(docs)
    if not admin_values.get("enabled", False):
        routed = [path for path, _ in ADMIN_REQUESTS if chart.ingress_match(routes, path) is not None]
        checks.check(f"[{label}] adminIngress off: no {ADMIN_INGRESS}, the admin API and the console routed nowhere",
                     admin is None and not routed, routed)
        return
    if not checks.check(f"[{label}] adminIngress on: {ADMIN_INGRESS}", admin is not None):
        return
    components = chart.service_components(docs)
    host = admin_values.get("host") or ingress_values.get("host", "arch.homework")
    public_sign_in = ingress_values.get("enabled", True) and host == ingress_values.get("host", "arch.homework")
    want_routes = ADMIN | (set() if public_sign_in else {SIGN_IN})
    got_routes = {(path, path_type, components.get(service)) for path, path_type, service in ingress_paths(admin)}
    hosts = [r.get("host") for r in admin["spec"]["rules"]]
    sign_in = "the sign-in on the public Ingress" if public_sign_in else "/api/token for the sign-in"
    checks.check(f"[{label}] {ADMIN_INGRESS}: host {host}, class nginx, /api/admin and /console to order-api, "
                 f"{sign_in}", got_routes == want_routes and hosts == [host] and
                 admin["spec"].get("ingressClassName") == ingress_values.get("className", "nginx"),
                 {"routes": got_routes, "hosts": hosts})
    wrong = [(path, chart.ingress_match(routes, path)) for path, want in ADMIN_REQUESTS
             if chart.ingress_match(routes, path) != want]
    checks.check(f"[{label}] every admin request reaches order-api ({len(ADMIN_REQUESTS)} tried)", not wrong, wrong)
    annotations = admin["metadata"].get("annotations", {})
    extra = admin_values.get("annotations", {})
    rate = {**DEFAULT_ADMIN_RATE_LIMIT, **admin_values.get("rateLimit", {})}
    ranges = admin_values.get("allowedSourceRanges", [])
    want = {}
    if ranges:
        want[ALLOW] = ",".join(ranges)
    if rate["enabled"]:
        want.update({LIMIT_RPS: str(rate["rps"]), LIMIT_BURST: str(rate["burstMultiplier"])})
    want.update({k: v for k, v in extra.items() if k in (ALLOW, LIMIT_RPS, LIMIT_BURST)})
    got = {k: v for k, v in annotations.items() if k in (ALLOW, LIMIT_RPS, LIMIT_BURST)}
    checks.check(f"[{label}] {ADMIN_INGRESS}: allowed sources {want.get(ALLOW, 'everyone')}, limit-rps "
                 f"{want.get(LIMIT_RPS, 'none')}, limit-burst-multiplier {want.get(LIMIT_BURST, 'none')}",
                 got == want, {"got": got, "want": want})
    tls = admin_values.get("tls", {})
    if tls.get("enabled"):
        want_tls = [{"hosts": [host], "secretName": tls.get("secretName") or f"{chart.RELEASE}-admin-tls"}]
        want_redirect = {k: extra.get(k, "true") for k in REDIRECTS}
        want_issuer = {key: value for key, value in zip(ISSUERS, (tls.get("clusterIssuer"), tls.get("issuer")))
                       if value}
        described = f"HTTPS ({want_tls[0]['secretName']}), plain HTTP redirected"
    else:
        want_tls, want_redirect, want_issuer = None, {}, {}
        described = "plain HTTP, as adminIngress.allowInsecure allows"
    got = (admin["spec"].get("tls"), {k: annotations[k] for k in REDIRECTS if k in annotations},
           {k: annotations[k] for k in ISSUERS if k in annotations})
    want = (want_tls, want_redirect, want_issuer)
    checks.check(f"[{label}] {ADMIN_INGRESS}: {described}, cert-manager {want_issuer or 'none'}",
                 got == want and (tls.get("enabled") or admin_values.get("allowInsecure")),
                 {"got": got, "want": want})


def check_gateway_limits(checks, label, docs):
    """The gateway generated from these manifests limits and admits exactly
    what the Ingresses' annotations say, at their rate and burst, and
    answers past a limit with a JSON 429 and Retry-After, to a stranger a
    JSON 403."""
    if not kinds(docs, "Ingress"):
        return
    ports = {name: spec["port"] for name, spec in SERVICES.items()}
    hosts = sorted({r.get("host") for i in kinds(docs, "Ingress") for r in i["spec"]["rules"]})
    try:
        conf = chart.nginx_conf(chart.ingress_routes(docs), "/tmp/gateway-test", "127.0.0.1:18080", ports,
                                chart.ingress_body_size(docs), chart.ingress_limits(docs),
                                chart.ingress_allowlists(docs))
    except ValueError as err:
        # One server for every host: a path two hosts treat differently
        # (the sign-in on the admin host) has no single local equivalent.
        checks.check(f"[{label}] Ingresses on {len(hosts)} hosts that differ on a path: the gateway, one server for "
                     "every host, refuses to mirror them rather than pick one", len(hosts) > 1, err)
        return
    want, got = expected_limits(docs), chart.nginx_limits(conf)
    checks.check(f"[{label}] the gateway's rate limits (limit_req) equal the Ingresses' annotations: "
                 f"{sorted(set(want.values())) or 'none'} (rps, burst) on {sorted(p for p, _ in want)}",
                 got == want, {"gateway": got, "ingress": want})
    answer = (f"add_header Retry-After {chart.RETRY_AFTER_SECS} always; return 429 '{chart.TOO_MANY}';")
    checks.check(f"[{label}] past the limit the gateway answers 429 (not 503), JSON, with Retry-After",
                 not want or ("limit_req_status 429;" in conf and answer in conf and "error_page 429 @error429;" in conf))
    want, got = expected_allowlists(docs), chart.nginx_allowlists(conf)
    checks.check(f"[{label}] the gateway admits to each path the sources its Ingress does (allow, then deny all; "
                 f"{sorted(set(want.values())) or 'everyone everywhere'})",
                 got == want and (not want or f"return 403 '{chart.FORBIDDEN}';" in conf),
                 {"gateway": got, "ingress": want})


def check_edge_values(checks):
    """ingress.rateLimit, ordersRateLimit and ingress.tls beyond the value
    sets: switched off, the list of earlier charts, a namespaced issuer, no
    redirect; and no public Ingress routes the admin API or the console in
    any of them."""
    configurations = {}
    docs = chart.render({"ingress": {"rateLimit": {"enabled": False}}})
    configurations["ingress.rateLimit off"] = docs
    names = sorted(i["metadata"]["name"] for i in kinds(docs, "Ingress"))
    limits = chart.ingress_limits(docs)
    checks.check("ingress.rateLimit.enabled=false: shop routes sign-up and login with the rest, unlimited; "
                 "shop-orders keeps its limit",
                 names == [chart.RELEASE, f"{chart.RELEASE}-orders"] and chart.ingress_routes(docs) == PUBLIC and
                 set(limits) == {route[:2] for route in ORDERS}, (names, limits))
    values = {"ingress": {"rateLimit": {"enabled": False}, "ordersRateLimit": {"enabled": False}}}
    docs = chart.render(values)
    configurations["both limits off"] = docs
    ingresses = kinds(docs, "Ingress")
    limits = chart.ingress_limits(docs)
    checks.check("ingress.rateLimit and ordersRateLimit off: one Ingress routes the whole public API, no limit anywhere",
                 len(ingresses) == 1 and chart.ingress_routes(docs) == PUBLIC and not limits and
                 not any(k in i["metadata"].get("annotations", {}) for i in ingresses for k in (LIMIT_RPS, LIMIT_BURST)),
                 ([i["metadata"]["name"] for i in ingresses], limits))
    legacy = [{"secretName": "old-tls", "hosts": ["arch.homework", "www.arch.homework"]}]
    docs = chart.render({"ingress": {"tls": legacy}})
    configurations["ingress.tls as a list"] = docs
    got = [(i["spec"].get("tls"), sorted(k for k in i["metadata"].get("annotations", {}) if k in REDIRECTS + ISSUERS))
           for i in kinds(docs, "Ingress")]
    checks.check("ingress.tls as the list of earlier charts (Helm warns that it replaces a table): "
                 "used as given on the three public Ingresses",
                 got == [(legacy, [])] * 3, got)
    docs = chart.render({"ingress": {"tls": {"enabled": True, "issuer": "local-ca", "redirect": False}}})
    configurations["ingress.tls with an Issuer"] = docs
    got = {i["metadata"]["name"]: (i["spec"].get("tls"), {k: v for k, v in i["metadata"].get("annotations", {}).items()
                                                         if k in REDIRECTS + ISSUERS})
           for i in kinds(docs, "Ingress")}
    tls = [{"hosts": ["arch.homework"], "secretName": f"{chart.RELEASE}-tls"}]
    off = dict.fromkeys(REDIRECTS, "false")
    want = {chart.RELEASE: (tls, {**off, "cert-manager.io/issuer": "local-ca"}),
            f"{chart.RELEASE}-rate-limited": (tls, off), f"{chart.RELEASE}-orders": (tls, off)}
    checks.check("ingress.tls with an Issuer and redirect false: the release's Secret on every public Ingress, "
                 "ssl-redirect false, the issuer on one", got == want, got)
    try:
        chart.render({"ingress": {"tls": {"enabled": True, "issuer": "a", "clusterIssuer": "b"}}})
        checks.check("ingress.tls with both an Issuer and a ClusterIssuer is refused", False)
    except helm.HelmError:
        checks.check("ingress.tls with both an Issuer and a ClusterIssuer is refused", True)
    for name, values in ADMIN_CASES:
        configurations[name] = chart.render(values)
    configurations["the local gateway's values"] = chart.render(chart.gateway_values())
    leaked = {}
    for name, docs in configurations.items():
        public_routes = chart.ingress_routes(public_only(docs))
        found = [path for path, _ in ADMIN_REQUESTS if chart.ingress_match(public_routes, path) is not None]
        if found:
            leaked[name] = found
    checks.check(f"no public Ingress routes /api/admin or /console in {len(configurations)} more configurations "
                 "(limits off, TLS, the admin Ingress on, the gateway's)", not leaked, leaked)


# The admin Ingress switched on: HTTPS on its own host with cert-manager
# and allowed sources; plain HTTP by allowInsecure on the public host; and
# without the public Ingresses.
ADMIN_CASES = [
    ("admin, HTTPS, own host", {"adminIngress": {
        "enabled": True, "host": "ops.arch.homework", "allowedSourceRanges": ["10.20.0.0/16", "2001:db8::/32"],
        "rateLimit": {"rps": 5, "burstMultiplier": 4},
        "tls": {"enabled": True, "clusterIssuer": "letsencrypt"}}}),
    ("admin, plain HTTP", {"adminIngress": {"enabled": True, "allowInsecure": True,
                                            "allowedSourceRanges": ["127.0.0.1/32"]}}),
    ("admin, no public ingress", {"ingress": {"enabled": False},
                                  "adminIngress": {"enabled": True, "tls": {"enabled": True, "secretName": "ops-tls"},
                                                   "rateLimit": {"enabled": False}}}),
]


def check_admin_ingress_values(checks):
    """adminIngress switched on: rendered, linted and validated; refused
    without TLS unless allowInsecure says so; the ingress controller
    reaches what it routes."""
    for label, values in ADMIN_CASES:
        docs = rendered_and_valid(checks, label, values)
        if docs is None:
            continue
        check_admin_ingress(checks, label, docs, values)
        check_ingress(checks, label, docs, values)
        check_edge(checks, label, docs, values)
        check_gateway_limits(checks, label, docs)
        check_network_policies(checks, label, docs, values)
    name = ("adminIngress.enabled without TLS is refused, and the message says to set adminIngress.tls.enabled "
            "or adminIngress.allowInsecure")
    try:
        chart.render({"adminIngress": {"enabled": True}})
        checks.check(name, False, "rendered")
    except helm.HelmError as err:
        checks.check(name, "adminIngress.tls.enabled=true" in str(err) and "adminIngress.allowInsecure=true" in str(err),
                     str(err))
    try:
        docs = chart.render({"adminIngress": {"enabled": True, "allowInsecure": True}})
        admin = [i for i in kinds(docs, "Ingress") if i["metadata"]["name"] == ADMIN_INGRESS]
        checks.check("adminIngress.allowInsecure=true renders it without TLS", len(admin) == 1 and
                     "tls" not in admin[0]["spec"], admin)
    except helm.HelmError as err:
        checks.check("adminIngress.allowInsecure=true renders it without TLS", False, err)
    refused = [
        ("adminIngress.tls with both an Issuer and a ClusterIssuer",
         {"adminIngress": {"enabled": True, "tls": {"enabled": True, "issuer": "a", "clusterIssuer": "b"}}}),
        ("adminIngress.allowedSourceRanges with a host name", {"adminIngress": {"allowedSourceRanges": ["ops.example"]}}),
        ("adminIngress.allowedSourceRanges /33", {"adminIngress": {"allowedSourceRanges": ["10.0.0.0/33"]}}),
        ("adminIngress.allowedSourceRanges as a string", {"adminIngress": {"allowedSourceRanges": "10.0.0.0/8"}}),
        ("adminIngress.host with a scheme", {"adminIngress": {"host": "https://ops.example"}}),
        ("adminIngress.rateLimit.rps 0", {"adminIngress": {"rateLimit": {"rps": 0}}}),
        ("a misspelled key (adminIngress.tls.enable)", {"adminIngress": {"tls": {"enable": True}}}),
        ("a misspelled key (adminIngress.allowInSecure)", {"adminIngress": {"allowInSecure": True}}),
        ("adminIngress.tls.redirect (always on)", {"adminIngress": {"tls": {"redirect": False}}}),
    ]
    accepted = accepted_of(refused)
    checks.check(f"values.schema.json and the chart refuse bad adminIngress values ({len(refused)} cases)",
                 not accepted, f"accepted: {accepted}")


def check_in_chart_stores(checks, docs):
    label = "default"
    statefulsets = by_component(docs, "StatefulSet")
    checks.check(f"[{label}] in-chart PostgreSQL and Redis StatefulSets", sorted(statefulsets) == ["postgresql", "redis"],
                 sorted(statefulsets))
    init = next((d for d in kinds(docs, "ConfigMap") if d["metadata"]["name"].endswith("-postgresql-init")), None)
    script = (init or {}).get("data", {}).get("roles.sh", "")
    calls = re.findall(r'^shop_database (\S+) "\$SHOP_(\w+)_PASSWORD"$', script, re.M)
    postgresql = statefulsets.get("postgresql")
    pg_env = env_of(pod_spec(postgresql)["containers"][0]) if postgresql else {}
    pg_secret = secret_ref(pg_env.get("POSTGRES_PASSWORD"))
    problems = [] if {db for db, _ in calls} == DATABASES else [f"databases {sorted(db for db, _ in calls)}"]
    problems += [f"{db}: password" for db, var in calls if var != db.upper() or
                 secret_ref(pg_env.get(f"SHOP_{var}_PASSWORD")) != (pg_secret[0], f"{db}-password")]
    problems += [f"no {words}" for words in ("CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
                                             "CREATE DATABASE %I OWNER", "ALTER DATABASE :\"db\" OWNER TO :\"db\"",
                                             "REVOKE ALL ON DATABASE :\"db\" FROM PUBLIC") if words not in script]
    syntax = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    if syntax.returncode != 0:
        problems.append(syntax.stderr.strip())
    checks.check(f"[{label}] PostgreSQL's init script gives each of the five databases a LOGIN role of its own "
                 "(no superuser) that owns it, PUBLIC revoked, password from the Secret", not problems, problems)
    bad = {}
    for name, deployment in by_component(docs, "Deployment").items():
        env, db = env_of(pod_spec(deployment)["containers"][0]), SERVICES[name]["db"]
        url = env.get("DATABASE_URL", {}).get("value", "")
        if url != f"postgres://{db}:$(DATABASE_PASSWORD)@{chart.RELEASE}-postgresql:5432/{db}" \
                  f"?sslmode=verify-full&sslrootcert={PG_CA_FILE}" or \
                secret_ref(env.get("DATABASE_PASSWORD")) != (pg_secret[0], f"{db}-password"):
            bad[name] = url
    checks.check(f"[{label}] each service's DATABASE_URL names its own database and role (orders shared), "
                 "password from the Secret", not bad, bad)
    redis = statefulsets.get("redis")
    args = pod_spec(redis)["containers"][0].get("args", []) if redis else []
    checks.check(f"[{label}] Redis keeps an append-only file", "--appendonly" in args and
                 args[args.index("--appendonly") + 1] == "yes", args)


def check_network_policies(checks, label, docs, values):
    """SPEC section 7: every pod refuses what it does not need."""
    policies = kinds(docs, "NetworkPolicy")
    pods = release_pods(docs)
    deny_all = [p for p in policies if not p["spec"].get("ingress") and "Ingress" in p["spec"].get("policyTypes", [])]
    bare = [name for name, (labels, _) in pods.items()
            if not any(selector_matches(p["spec"]["podSelector"], labels) for p in deny_all)]
    checks.check(f"[{label}] every pod of the release is selected by a default-deny NetworkPolicy",
                 deny_all and not bare, bare or "no default-deny policy")
    got, other_ports = admitted(docs)
    # The ingress controller reaches exactly the services the Ingresses
    # route: none without them, order-api and auth for the admin Ingress.
    routed = {service for _, _, service in chart.ingress_routes(docs)}
    want = {name: (set(CALLERS[name]) - {"ingress-controller"}) | ({"ingress-controller"} if name in routed else set())
            for name in pods}
    wrong = {name: {"unexpected": sorted(got[name] - want[name]), "missing": sorted(want[name] - got[name])}
             for name in pods if got[name] != want[name]}
    participants = {name: sorted(got.get(name, ())) for name in ("items", "slots")}
    checks.check(f"[{label}] items and slots accept ingress from the mediator's pods only",
                 all(v == ["mediator"] for v in participants.values()), participants)
    if values.get("ingress", {}).get("enabled", True):
        public = {name: "ingress-controller" in got.get(name, ()) for name in ("auth", "billing", "order-api")}
        checks.check(f"[{label}] auth, billing and order-api accept the ingress controller "
                     "(namespace ingress-nginx, app.kubernetes.io/name=ingress-nginx)", all(public.values()), public)
    if values.get("adminIngress", {}).get("enabled", False):
        admin = {name: "ingress-controller" in got.get(name, ()) for name in ("auth", "order-api")}
        checks.check(f"[{label}] the admin Ingress on: order-api (the admin API, the console) and auth (their "
                     "sign-in) accept the ingress controller", all(admin.values()), admin)
    checks.check(f"[{label}] network policies admit exactly each pod's callers (billing: auth and the mediator; "
                 f"PostgreSQL: every service; Redis: order-api and the mediator; {len(pods)} pods x "
                 f"{len(pods) + len(OUTSIDERS)} sources)", not wrong, wrong)
    checks.check(f"[{label}] network policies open each pod's own port only", not other_ports, other_ports)


def check_network_policy_values(checks):
    """networkPolicy.prometheus lets Prometheus scrape every service, and
    nothing else; networkPolicy.enabled=false renders none."""
    got, _ = admitted(chart.render(PROMETHEUS_VALUES))
    scraped = sorted(name for name, sources in got.items() if "prometheus" in sources)
    checks.check("networkPolicy.prometheus: Prometheus scrapes every service's port (and no store)",
                 scraped == sorted(SERVICES), scraped)
    rendered = kinds(chart.render({"networkPolicy": {"enabled": False}}), "NetworkPolicy")
    checks.check("networkPolicy.enabled=false renders no NetworkPolicy", not rendered,
                 [p["metadata"]["name"] for p in rendered])


def check_redis_secret(checks, label, docs, values):
    """REDIS_URL (which holds Redis's password) comes from a Secret, never
    from the ConfigMap or the pod spec; the in-chart Redis demands it."""
    bad = []
    redis_values = values.get("redis", {})
    for name, deployment in by_component(docs, "Deployment").items():
        if not SERVICES[name]["redis"]:
            continue
        var = env_of(pod_spec(deployment)["containers"][0]).get("REDIS_URL", {})
        ref = secret_ref(var)
        if ref is None or "value" in var:
            bad.append(f"{name}: REDIS_URL is not a secretKeyRef")
            continue
        external = values.get("externalRedis", {})
        if redis_values.get("enabled", True):
            want = (redis_values.get("existingSecret") or f"{chart.RELEASE}-redis", "redis-url")
        elif external.get("existingSecret"):
            want = (external["existingSecret"], external.get("existingSecretKey", "redis-url"))
        else:
            want = (f"{chart.RELEASE}-external-redis", "redis-url")
            if secret_value(docs, *want) != external.get("url"):
                bad.append(f"{name}: the chart's Secret does not hold externalRedis.url")
        if ref != want:
            bad.append(f"{name}: REDIS_URL from {ref}, want {want}")
    leaked = sorted({f"{cm['metadata']['name']}: {key}" for cm in kinds(docs, "ConfigMap")
                     for key in cm.get("data", {}) if key in ("REDIS_URL", "DATABASE_URL")})
    checks.check(f"[{label}] order-api and the mediator get REDIS_URL from a secretKeyRef, no ConfigMap holds a URL",
                 not bad and not leaked, bad + leaked)
    if not redis_values.get("enabled", True):
        return
    redis = by_component(docs, "StatefulSet").get("redis")
    container = pod_spec(redis)["containers"][0] if redis else {}
    args, env = container.get("args", []), env_of(container)
    password_ref = secret_ref(env.get("REDIS_PASSWORD"))
    problems = []
    if "--requirepass" not in args or args[args.index("--requirepass") + 1] != "$(REDIS_PASSWORD)":
        problems.append(f"args {args}")
    if password_ref is None or password_ref[1] != "redis-password":
        problems.append("REDIS_PASSWORD is not the Secret's redis-password")
    if secret_ref(env.get("REDISCLI_AUTH")) != password_ref:
        problems.append("the probes' redis-cli does not log in (REDISCLI_AUTH)")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        command = " ".join(container.get(probe, {}).get("exec", {}).get("command", []))
        if "redis-cli" not in command or "PONG" not in command:
            problems.append(f"{probe} does not demand PONG: {command}")
    if password_ref and password_ref[0] in {d["metadata"]["name"] for d in kinds(docs, "Secret")}:
        password = secret_value(docs, *password_ref)
        url = secret_value(docs, password_ref[0], "redis-url")
        scheme = "rediss" if redis_values.get("tls", {}).get("enabled", True) else "redis"
        if not password or len(password) < 16 or url != f"{scheme}://:{password}@{chart.RELEASE}-redis:6379":
            problems.append("the generated redis-url does not carry the generated redis-password")
    checks.check(f"[{label}] Redis requires a password from a Secret (--requirepass), its probes log in, "
                 "the clients' URL carries it", not problems, problems)


def database_role(env):
    """(role, where its password comes from) of a service's DATABASE_URL;
    the role of a URL kept whole in a Secret is that Secret key's own."""
    var = env.get("DATABASE_URL", {})
    if secret_ref(var):
        return "url:" + "/".join(secret_ref(var)), secret_ref(var)
    match = re.match(r"^postgres://([^:@/]+):\$\(DATABASE_PASSWORD\)@", var.get("value", ""))
    return (match.group(1) if match else None), secret_ref(env.get("DATABASE_PASSWORD"))


def check_database_roles(checks, label, docs, values):
    """Each service's DATABASE_URL comes from a Secret, with a role of its
    own database: no two services owning different databases share a role
    or a password, and none logs in as the in-chart superuser."""
    roles, bad = {}, []
    superuser = values.get("postgresql", {}).get("username", "shop")
    in_chart = values.get("postgresql", {}).get("enabled", True)
    for name, deployment in by_component(docs, "Deployment").items():
        role, password = database_role(env_of(pod_spec(deployment)["containers"][0]))
        if role is None or password is None:
            bad.append(f"{name}: DATABASE_URL neither from a Secret nor with $(DATABASE_PASSWORD) from one")
        elif in_chart and role == superuser:
            bad.append(f"{name}: logs in as the superuser {superuser}")
        roles[name] = (role, password)
    for a, b in ((a, b) for a in roles for b in roles if a < b and SERVICES[a]["db"] != SERVICES[b]["db"]):
        if roles[a][0] == roles[b][0] or roles[a][1] == roles[b][1]:
            bad.append(f"{a} and {b} share a role or a password: {roles[a]} {roles[b]}")
    for a, b in (("order-api", "mediator"),):
        if roles.get(a) != roles.get(b):
            bad.append(f"{a} and {b} own orders together, yet log in differently: {roles.get(a)} {roles.get(b)}")
    checks.check(f"[{label}] each service's DATABASE_URL comes from a Secret; services owning different databases "
                 "share no role", not bad, bad)


def check_checksums(checks, label, docs, values):
    """A changed Secret or ConfigMap rolls the pods that read it: one
    checksum per source; a brought Secret's is its name's."""
    brought = {
        "checksum/secrets": values.get("secrets", {}).get("existingSecret"),
        "checksum/digests": values.get("secrets", {}).get("existingDigestSecret"),
        "checksum/database": (values.get("postgresql", {}).get("existingSecret")
                              if values.get("postgresql", {}).get("enabled", True) else
                              values.get("externalDatabase", {}).get("existingSecret") or
                              values.get("externalDatabase", {}).get("passwordSecret")),
        "checksum/redis": (values.get("redis", {}).get("existingSecret")
                           if values.get("redis", {}).get("enabled", True) else
                           values.get("externalRedis", {}).get("existingSecret")),
    }
    admin = admin_expectations(values)
    brought["checksum/admin"] = admin and not admin["generated"] and admin["secret"]
    tls = tls_expectations(values)
    brought["checksum/postgresql-ca"] = tls["pg_ca"][0] if tls["pg_ca"] and not tls["pg_generated"] else None
    brought["checksum/redis-ca"] = tls["redis_ca"][0] if tls["redis_ca"] and not tls["redis_generated"] else None
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        spec = SERVICES[name]
        want = {"checksum/config", "checksum/database"} | \
            ({"checksum/secrets"} if spec["tokens"] or "jwt-private.pem" in spec["jwt"] else set()) | \
            ({"checksum/digests"} if spec["digests"] else set()) | \
            ({"checksum/jwt-public"} if spec["jwt"] == {"jwt-public.pem"} else set()) | \
            ({"checksum/redis"} if SERVICES[name]["redis"] else set()) | \
            ({"checksum/postgresql-ca"} if tls["pg_ca"] else set()) | \
            ({"checksum/redis-ca"} if SERVICES[name]["redis"] and tls["redis_ca"] else set()) | \
            ({"checksum/admin"} if admin and name == ADMIN_SERVICE else set())
        got = {k for k in annotations if k.startswith("checksum/")}
        if got != want:
            bad.append(f"{name}: {sorted(got)}")
        for key in got & want:
            if not re.fullmatch(r"[0-9a-f]{64}", str(annotations[key])):
                bad.append(f"{name}: {key} is not a sha256")
            elif brought.get(key) and annotations[key] != hashlib.sha256(brought[key].encode()).hexdigest():
                bad.append(f"{name}: {key} is not the checksum of the brought Secret's name")
        # With the credentials brought the public key is no random draw:
        # the checksum is that of the ConfigMap's very content.
        public = config_map_value(docs, f"{chart.RELEASE}-jwt-public", "jwt-public.pem")
        if "checksum/jwt-public" in got and values.get("secrets", {}).get("existingSecret") and \
                annotations["checksum/jwt-public"] != hashlib.sha256((public or "").encode()).hexdigest():
            bad.append(f"{name}: checksum/jwt-public is not that of {chart.RELEASE}-jwt-public")
    checks.check(f"[{label}] every Deployment's pods carry a checksum of the ConfigMap and of each Secret they read "
                 "(the credentials: the callers; the digests: the callees; the public key: the verifiers)",
                 not bad, bad)


# ------------------------------------------------------- the administrator


def admin_expectations(values):
    """The administrator the values ask auth to keep, {username, secret,
    generated}, or None (admin.username empty: none)."""
    admin = values.get("admin", {})
    username = admin.get("username", "admin")
    if not username:
        return None
    brought = admin.get("existingSecret")
    return {"username": username, "secret": brought or f"{chart.RELEASE}-admin", "generated": not brought}


def pod_secrets(pod):
    """The Secrets a pod's volumes take files from, mounted or not."""
    names = set()
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        names |= {source["secret"]["name"] for source in volume.get("projected", {}).get("sources", [])
                  if "secret" in source}
    return names


def readable_by_fs_group_only(mode, pod):
    """A Secret file (owned by root) that the pod's non-root user reads
    through its fsGroup and nobody else does: 0440, or 0400, which the
    kubelet widens to 0440 for an fsGroup. Never writable."""
    return mode in (0o400, 0o440) and pod.get("securityContext", {}).get("fsGroup") not in (None, 0)


def check_admin(checks, label, docs, values):
    """The administrator (issue 16, item 1): auth alone gets ADMIN_USERNAME
    and ADMIN_PASSWORD_FILE, a read-only file holding the admin Secret's
    admin-password alone, readable by its non-root user; the Secret is
    generated (long, kept) or the user's; auth's pods carry its checksum.
    admin.username empty: none of it."""
    want = admin_expectations(values)
    generated = f"{chart.RELEASE}-admin"
    admin_secrets = {generated} | ({want["secret"]} if want else set())
    rendered = {d["metadata"]["name"]: d for d in kinds(docs, "Secret")}
    bad = []
    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        name = workload["metadata"]["labels"].get("app.kubernetes.io/component")
        pod = pod_spec(workload)
        expected = bool(want) and workload["kind"] == "Deployment" and name == ADMIN_SERVICE
        for container in containers(pod):
            where = f"{name}/{container['name']}"
            env, files = env_of(container), mounted_secret_files(pod, container)
            admin_env = sorted(var for var in env if var.startswith("ADMIN_"))
            admin_files = sorted(path for path, file in files.items()
                                 if file["secret"] in admin_secrets or file["key"] == ADMIN_KEY)
            from_secret = sorted(var for var, value in env.items() if (secret_ref(value) or ("",))[0] in admin_secrets)
            if from_secret:
                bad.append(f"{where}: {from_secret} from the admin Secret")
            if not expected:
                if admin_env or admin_files:
                    bad.append(f"{where}: {admin_env} {admin_files}")
                continue
            if admin_env != ["ADMIN_PASSWORD_FILE", "ADMIN_USERNAME"]:
                bad.append(f"{where}: {admin_env}")
            if env.get("ADMIN_USERNAME", {}).get("value") != want["username"]:
                bad.append(f"{where}: ADMIN_USERNAME {env.get('ADMIN_USERNAME')}, want the value {want['username']!r}")
            path = env.get("ADMIN_PASSWORD_FILE", {}).get("value")
            file = files.get(path)
            if not file or (file["secret"], file["key"]) != (want["secret"], ADMIN_KEY):
                bad.append(f"{where}: ADMIN_PASSWORD_FILE {path!r} is no mounted file of {want['secret']}/{ADMIN_KEY}")
            else:
                if not file["readOnly"]:
                    bad.append(f"{where}: {path} is mounted writable")
                if not readable_by_fs_group_only(file["mode"], pod):
                    bad.append(f"{where}: {path} mode {oct(file['mode'])}, fsGroup "
                               f"{pod.get('securityContext', {}).get('fsGroup')}")
            if admin_files != [path]:
                bad.append(f"{where}: files of the admin Secret {admin_files}, want {path} alone")
        if not expected and pod_secrets(pod) & admin_secrets:
            bad.append(f"{name}: a volume of the admin Secret {sorted(pod_secrets(pod) & admin_secrets)}")
    bad += sorted(f"ConfigMap {cm['metadata']['name']}: {key}" for cm in kinds(docs, "ConfigMap")
                  for key in cm.get("data", {}) if key.startswith("ADMIN_"))
    if want:
        name = (f"[{label}] auth alone gets ADMIN_USERNAME={want['username']} and ADMIN_PASSWORD_FILE, a read-only "
                f"file (0440, fsGroup) of {want['secret']}/{ADMIN_KEY} alone; no other pod reads that Secret")
    else:
        name = f"[{label}] admin.username empty: no ADMIN_* variable, no admin volume in any pod"
    checks.check(name, not bad, bad)

    problems = []
    holding = sorted(n for n, d in rendered.items() if ADMIN_KEY in d.get("data", {}))
    if want and want["generated"]:
        doc = rendered.get(want["secret"], {})
        password = secret_value(docs, want["secret"], ADMIN_KEY) or ""
        if not (24 <= len(password) and len(password.encode()) <= 72 and password.isalnum()):
            problems.append(f"admin-password of {len(password)} characters")
        if set(doc.get("data", {})) != {ADMIN_KEY}:
            problems.append(f"keys {sorted(doc.get('data', {}))}")
        if doc.get("metadata", {}).get("annotations", {}).get("helm.sh/resource-policy") != "keep":
            problems.append("no helm.sh/resource-policy: keep")
        if holding != [want["secret"]]:
            problems.append(f"Secrets with {ADMIN_KEY}: {holding}")
        name = (f"[{label}] the administrator's password is generated into {want['secret']}: {ADMIN_KEY} alone, "
                "24 to 72 letters and digits, resource-policy keep")
    else:
        if holding or generated in rendered:
            problems.append(f"rendered: {holding or [generated]}")
        name = (f"[{label}] the brought {want['secret']} holds the administrator's password: the chart renders "
                "no admin Secret" if want else f"[{label}] admin.username empty: no admin Secret")
    checks.check(name, not problems, problems)

    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        got = deployment["spec"]["template"]["metadata"].get("annotations", {}).get("checksum/admin")
        if not (want and name == ADMIN_SERVICE):
            if got is not None:
                bad.append(f"{name}: checksum/admin")
        elif not re.fullmatch(r"[0-9a-f]{64}", str(got)):
            bad.append(f"{name}: checksum/admin {got!r}")
        elif not want["generated"] and got != hashlib.sha256(want["secret"].encode()).hexdigest():
            bad.append(f"{name}: checksum/admin is not that of the brought Secret's name")
    if want:
        of = "its content" if want["generated"] else "the brought Secret's name"
        name = f"[{label}] auth's pods carry checksum/admin ({of}), no other pod does"
    else:
        name = f"[{label}] admin.username empty: no checksum/admin"
    checks.check(name, not bad, bad)


def check_admin_values(checks):
    """No administrator, and a brought Secret with the in-chart stores: the
    same checks; a changed administrator rolls auth and nothing else; the
    schema refuses what auth would refuse at start."""
    cases = [("admin off", {"admin": {"username": ""}}),
             ("admin brought", {"admin": {"username": "a@b+c-d_e.f", "existingSecret": "my-admin"}})]
    for label, values in cases:
        docs = rendered(checks, label, values)
        if docs is None:
            continue
        check_admin(checks, label, docs, values)
        check_service_env(checks, label, docs, values)
        check_references(checks, label, docs, brought_secrets(values))
        check_checksums(checks, label, docs, values)

    base = chart.load_values([TESTS / "values-external-ha.yaml"])

    def templates(override):
        docs = chart.render(chart._merge(base, override))
        return {name: d["spec"]["template"] for name, d in by_component(docs, "Deployment").items()}

    first = templates({})
    rolled = {what: sorted(name for name, template in templates(override).items() if template != first[name])
              for what, override in (("a renamed admin.existingSecret", {"admin": {"existingSecret": "shop-admin-2"}}),
                                     ("another admin.username", {"admin": {"username": "root"}}),
                                     ("admin.username empty", {"admin": {"username": ""}}))}
    checks.check("a changed administrator (its Secret's name, its username, none) rolls auth's pods and no others",
                 all(names == [ADMIN_SERVICE] for names in rolled.values()), rolled)

    refused = [
        ("admin.username with a space (ad min)", {"admin": {"username": "ad min"}}),
        ("admin.username of 2 characters", {"admin": {"username": "ab"}}),
        ("admin.username of 151 characters", {"admin": {"username": "a" * 151}}),
        ("admin.username with a slash", {"admin": {"username": "ops/admin"}}),
        ("admin.username not ASCII", {"admin": {"username": "adm\u00efn"}}),
        ("admin.username as a number", {"admin": {"username": 12345}}),
        ("a misspelled key (admin.existingsecret)", {"admin": {"existingsecret": "x"}}),
        ("a misspelled key (admin.user)", {"admin": {"user": "root"}}),
        ("admin.existingSecret that names no Secret (Admin_Password)", {"admin": {"existingSecret": "Admin_Password"}}),
    ]
    accepted = accepted_of(refused)
    checks.check(f"values.schema.json refuses bad admin values ({len(refused)} cases)", not accepted,
                 f"accepted: {accepted}")
    fine = [("admin.username of 3 characters", {"admin": {"username": "ops"}}),
            ("admin.username of 150 characters", {"admin": {"username": "a" * 150}})]
    accepted = accepted_of(fine)
    checks.check("values.schema.json accepts any username auth accepts (3 and 150 characters, _ . @ + -)",
                 len(accepted) == len(fine), f"accepted only: {accepted}")


# ------------------------------------------------- TLS to PostgreSQL and Redis

# Where the service pods find the stores' CA certificates (templates/_tls.tpl).
CA_DIR = "/etc/shop/tls"
PG_CA_FILE = f"{CA_DIR}/postgresql-ca.crt"
REDIS_CA_FILE = f"{CA_DIR}/redis-ca.crt"
# The PostgreSQL image's postgres user (postgres:15-alpine).
POSTGRES_UID = 70
# A pod address and the loopback, for evaluating pg_hba.
POD_ADDRESSES = ["10.244.1.7", "127.0.0.1", "fd00::7"]


def tls_expectations(values):
    """What the values ask of TLS to the stores: for each store, the
    (Secret, key) of the CA the service pods must get (None: no CA), and
    for PostgreSQL the DATABASE_URL query of a URL the chart builds."""
    pg, redis = values.get("postgresql", {}), values.get("redis", {})
    ext_db, ext_redis = values.get("externalDatabase", {}), values.get("externalRedis", {})
    want = {"pg_in_chart": pg.get("enabled", True), "redis_in_chart": redis.get("enabled", True),
            "pg_tls": False, "redis_tls": False, "pg_ca": None, "redis_ca": None, "query": "",
            "pg_generated": None, "redis_generated": None}
    if want["pg_in_chart"]:
        if pg.get("tls", {}).get("enabled", True):
            brought = pg.get("tls", {}).get("existingSecret")
            want.update(pg_tls=True, pg_ca=(brought or f"{chart.RELEASE}-postgresql-tls", "ca.crt"),
                        query=f"?sslmode=verify-full&sslrootcert={PG_CA_FILE}",
                        pg_generated=None if brought else f"{chart.RELEASE}-postgresql-tls")
    else:
        ca = ext_db.get("caSecret", {})
        if ca.get("name"):
            want["pg_ca"] = (ca["name"], ca.get("key", "ca.crt"))
        if not ext_db.get("existingSecret"):
            mode = ext_db.get("sslmode") or ("verify-full" if ca.get("name") else "require")
            want["query"] = f"?sslmode={mode}" + (f"&sslrootcert={PG_CA_FILE}" if ca.get("name") else "")
    if want["redis_in_chart"]:
        if redis.get("tls", {}).get("enabled", True):
            brought = redis.get("tls", {}).get("existingSecret")
            want.update(redis_tls=True, redis_ca=(brought or f"{chart.RELEASE}-redis-tls", "ca.crt"),
                        redis_generated=None if brought else f"{chart.RELEASE}-redis-tls")
    elif ext_redis.get("caSecret", {}).get("name"):
        want["redis_ca"] = (ext_redis["caSecret"]["name"], ext_redis["caSecret"].get("key", "ca.crt"))
    return want


def brought_secrets(values):
    """The Secrets the values say the user brings."""
    return {values.get("secrets", {}).get("existingSecret"), values.get("secrets", {}).get("existingDigestSecret"),
            values.get("admin", {}).get("existingSecret"),
            values.get("postgresql", {}).get("existingSecret"),
            values.get("externalDatabase", {}).get("existingSecret"),
            values.get("externalDatabase", {}).get("passwordSecret"),
            values.get("externalRedis", {}).get("existingSecret"),
            values.get("redis", {}).get("existingSecret"),
            values.get("postgresql", {}).get("tls", {}).get("existingSecret"),
            values.get("redis", {}).get("tls", {}).get("existingSecret"),
            values.get("externalDatabase", {}).get("caSecret", {}).get("name"),
            values.get("externalRedis", {}).get("caSecret", {}).get("name")} - {None, ""}


def mounted_secret_files(pod, container):
    """Every file a container sees from a Secret: path -> {secret, key,
    mode, readOnly}; a Secret mounted whole shows as the key "*"."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        sources = []
        if "secret" in volume:
            sources.append((volume["secret"]["secretName"], volume["secret"].get("items"),
                            volume["secret"].get("defaultMode", 0o644)))
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                sources.append((source["secret"]["name"], source["secret"].get("items"),
                                volume["projected"].get("defaultMode", 0o644)))
        for secret, items, mode in sources:
            for item in items or [{"key": "*", "path": "*"}]:
                files[f"{mount['mountPath'].rstrip('/')}/{item['path']}"] = {
                    "secret": secret, "key": item["key"], "mode": item.get("mode", mode),
                    "readOnly": mount.get("readOnly", False)}
    return files


def mounted_configmap_files(pod, container):
    """Every file a container sees from a ConfigMap: path -> (ConfigMap, key)."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {}).get("configMap")
        if volume:
            files[mount["mountPath"].rstrip("/")] = (volume["name"], None)
    return files


def postgres_settings(args):
    """The -c NAME=VALUE settings of a postgres command line."""
    settings = {}
    for flag, value in zip(args, args[1:]):
        if flag == "-c" and "=" in value:
            name, _, setting = value.partition("=")
            settings[name] = setting
    return settings


def option(args, name):
    """The value after a --name option of a redis-server command line."""
    return args[args.index(name) + 1] if name in args[:-1] else None


def hba_method(hba, connection, ssl, user, database, address="10.244.1.7"):
    """The method of the first pg_hba.conf line that matches a connection
    (connection: local or tcp), or None: no line matches, a refusal."""
    import ipaddress
    for line in hba.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        kind = fields[0]
        if kind == "local":
            if connection != "local":
                continue
            databases, users, method = fields[1], fields[2], fields[3]
        else:
            if connection != "tcp" or (kind == "hostssl" and not ssl) or (kind == "hostnossl" and ssl):
                continue
            databases, users, where, method = fields[1], fields[2], fields[3], fields[4]
            if where not in ("all", "samenet", "samehost"):
                try:
                    if ipaddress.ip_address(address) not in ipaddress.ip_network(where, strict=False):
                        continue
                except ValueError:
                    continue
        databases, users = databases.split(","), users.split(",")
        if not ("all" in databases or database in databases or ("sameuser" in databases and database == user)):
            continue
        if not ("all" in users or user in users):
            continue
        return method
    return None


def check_pg_hba(hba, tls, superuser):
    """Problems of a pg_hba.conf for the in-chart server: each service's role
    reaches its own database over the network with a password (and, with
    TLS, only over TLS), nothing else gets in over the network, and the
    init script has the socket."""
    problems = []
    for line in hba.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] != "local" and fields[-1] not in ("reject", "scram-sha-256"):
            problems.append(f"a network line with method {fields[-1]}: {line.strip()}")
    refused = (None, "reject")
    for address in POD_ADDRESSES:
        for db in sorted(DATABASES):
            if hba_method(hba, "tcp", True, db, db, address) != "scram-sha-256":
                problems.append(f"{db} over TLS from {address}: {hba_method(hba, 'tcp', True, db, db, address)}")
            plain = hba_method(hba, "tcp", False, db, db, address)
            if (tls and plain not in refused) or (not tls and plain != "scram-sha-256"):
                problems.append(f"{db} without TLS from {address}: {plain}")
            for other in sorted(DATABASES - {db}):
                for ssl in (True, False):
                    if hba_method(hba, "tcp", ssl, db, other, address) not in refused:
                        problems.append(f"{db} into {other} (ssl={ssl}) from {address}")
        for ssl in (True, False):
            for database in ("postgres", "template1", "auth"):
                if hba_method(hba, "tcp", ssl, superuser, database, address) not in refused:
                    problems.append(f"the superuser over the network (ssl={ssl}, {database}) from {address}")
    if hba_method(hba, "local", False, superuser, "postgres") in refused:
        problems.append("the init script (the superuser on the socket) is refused")
    return problems


def key_file_ok(mode, pod, uid):
    """PostgreSQL's check of a key file owned by root (as a Secret volume's
    files are): 0640 or less, readable through its group only, and that
    group (the pod's fsGroup) is the server's."""
    security = pod.get("securityContext", {})
    return mode & 0o137 == 0 and mode & 0o040 and security.get("fsGroup") == uid and \
        security.get("runAsUser") == uid


def certificate_problems(data, names):
    """Problems of a generated store certificate (base64 Secret data): the
    three keys, the certificate chains to ca.crt for each Service name,
    the key is the certificate's, the CA is one, and no other key (the
    CA's) is in the Secret."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    if set(data) != {"tls.crt", "tls.key", "ca.crt"}:
        return [f"keys {sorted(data)}"]
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for key, value in data.items():
            paths[key] = Path(tmp) / key
            paths[key].write_bytes(base64.b64decode(value))
        run = lambda *args: subprocess.run([openssl, *args], capture_output=True, text=True)  # noqa: E731
        for name in names:
            verified = run("verify", "-CAfile", str(paths["ca.crt"]), "-verify_hostname", name, str(paths["tls.crt"]))
            if verified.returncode != 0:
                problems.append(f"{name}: {(verified.stdout + verified.stderr).strip()}")
        for wrong in ("localhost", f"{names[0]}.other", "postgres.example"):
            if run("verify", "-CAfile", str(paths["ca.crt"]), "-verify_hostname", wrong,
                   str(paths["tls.crt"])).returncode == 0:
                problems.append(f"the certificate also names {wrong}")
        sans = run("x509", "-in", str(paths["tls.crt"]), "-noout", "-ext", "subjectAltName").stdout
        if sorted(re.findall(r"DNS:([^,\s]+)", sans)) != sorted(names):
            problems.append(f"names {sans.strip()}")
        key_public = run("pkey", "-in", str(paths["tls.key"]), "-pubout").stdout
        cert_public = run("x509", "-in", str(paths["tls.crt"]), "-noout", "-pubkey").stdout
        if not key_public or key_public != cert_public:
            problems.append("tls.key is not the certificate's key")
        ca_text = run("x509", "-in", str(paths["ca.crt"]), "-noout", "-text").stdout
        if "CA:TRUE" not in ca_text:
            problems.append("ca.crt is not a CA")
        everything = b"".join(p.read_bytes() for p in paths.values())
        if everything.count(b"PRIVATE KEY-----") != 2:  # BEGIN and END of tls.key alone
            problems.append("a private key besides tls.key")
    return problems


def check_store_tls(checks, label, docs, values):
    """TLS between the services and PostgreSQL and Redis (issue 18, item
    5): the in-chart stores serve it with a certificate for their Service's
    names and accept nothing else; every service verifies the server
    against a CA mounted alone, read-only; an external server's CA is the
    user's Secret."""
    want = tls_expectations(values)
    deployments = by_component(docs, "Deployment")
    statefulsets = by_component(docs, "StatefulSet")
    rendered = {d["metadata"]["name"]: d for d in kinds(docs, "Secret")}
    tls_label = {True: "TLS", False: "no TLS"}

    # The services: DATABASE_URL, REDIS_CA_FILE, the CA files, no key.
    bad = []
    for name, deployment in deployments.items():
        pod = pod_spec(deployment)
        container = pod["containers"][0]
        env, files = env_of(container), mounted_secret_files(pod, container)
        var = env.get("DATABASE_URL", {})
        if "value" in var:
            url = var["value"]
            query = url[url.index("?"):] if "?" in url else ""
            if query != want["query"]:
                bad.append(f"{name}: DATABASE_URL query {query!r}, want {want['query']!r}")
        elif want["query"]:
            bad.append(f"{name}: DATABASE_URL from a Secret, yet the values ask for {want['query']}")
        ca = files.get(PG_CA_FILE)
        got = (ca["secret"], ca["key"]) if ca else None
        if got != want["pg_ca"] or (ca and not ca["readOnly"]):
            bad.append(f"{name}: {PG_CA_FILE} from {got}, want {want['pg_ca']}")
        redis_ca = files.get(REDIS_CA_FILE)
        got = (redis_ca["secret"], redis_ca["key"]) if redis_ca else None
        expected = want["redis_ca"] if SERVICES[name]["redis"] else None
        if got != expected or (redis_ca and not redis_ca["readOnly"]):
            bad.append(f"{name}: {REDIS_CA_FILE} from {got}, want {expected}")
        if env.get("REDIS_CA_FILE", {}).get("value") != (REDIS_CA_FILE if expected else None):
            bad.append(f"{name}: REDIS_CA_FILE {env.get('REDIS_CA_FILE')}")
    external_urls = not want["pg_in_chart"] and values.get("externalDatabase", {}).get("existingSecret")
    how = want["query"] or ("the Secret's URLs" if external_urls else "no TLS")
    checks.check(f"[{label}] the services reach PostgreSQL with {how} and Redis "
                 f"{'with REDIS_CA_FILE' if want['redis_ca'] else 'without a CA file'}, each CA mounted read-only "
                 "from its Secret", not bad, bad)

    bad = []
    ca_secrets = {ca[0]: ca[1] for ca in (want["pg_ca"], want["redis_ca"]) if ca}
    store_secrets = {f"{chart.RELEASE}-postgresql-tls", f"{chart.RELEASE}-redis-tls"} | set(ca_secrets)
    for name, deployment in deployments.items():
        pod = pod_spec(deployment)
        for container in containers(pod):
            for path, file in mounted_secret_files(pod, container).items():
                if file["secret"] in store_secrets and (file["key"] != ca_secrets.get(file["secret"]) or
                                                        not path.startswith(CA_DIR + "/")):
                    bad.append(f"{name}: {path} is {file['secret']}/{file['key']}")
                if file["key"] == "*" or file["key"] == "tls.key" or file["key"].endswith(".key"):
                    bad.append(f"{name}: {path} is {file['secret']}/{file['key']}")
            for var in container.get("env", []):
                ref = secret_ref(var)
                if ref and ref[0] in store_secrets:
                    bad.append(f"{name}: env {var['name']} from {ref}")
    checks.check(f"[{label}] no service pod gets a store's key: of a certificate's Secret only its CA file",
                 not bad, bad)

    # The in-chart PostgreSQL.
    postgresql = statefulsets.get("postgresql")
    if want["pg_in_chart"] and postgresql:
        pod = pod_spec(postgresql)
        container = pod["containers"][0]
        settings = postgres_settings(container.get("args", []))
        files = mounted_secret_files(pod, container)
        configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in kinds(docs, "ConfigMap")}
        problems = []
        hba_path = settings.get("hba_file", "")
        mount = mounted_configmap_files(pod, container).get(hba_path.rpartition("/")[0])
        hba = configmaps.get(mount[0], {}).get(hba_path.rpartition("/")[2]) if mount else None
        if hba is None:
            problems.append(f"hba_file {hba_path!r} is no file of a mounted ConfigMap")
        else:
            problems += check_pg_hba(hba, want["pg_tls"], values.get("postgresql", {}).get("username", "shop"))
        if want["pg_tls"]:
            secret = want["pg_ca"][0]
            cert, key = files.get(settings.get("ssl_cert_file")), files.get(settings.get("ssl_key_file"))
            if settings.get("ssl") != "on":
                problems.append(f"ssl={settings.get('ssl')}")
            if not cert or (cert["secret"], cert["key"]) != (secret, "tls.crt"):
                problems.append(f"ssl_cert_file {settings.get('ssl_cert_file')} is not {secret}/tls.crt")
            if not key or (key["secret"], key["key"]) != (secret, "tls.key"):
                problems.append(f"ssl_key_file {settings.get('ssl_key_file')} is not {secret}/tls.key")
            elif not key_file_ok(key["mode"], pod, POSTGRES_UID):
                problems.append(f"the key file's mode {oct(key['mode'])} or group (fsGroup "
                                f"{pod.get('securityContext', {}).get('fsGroup')}): PostgreSQL refuses it")
            annotations = postgresql["spec"]["template"]["metadata"].get("annotations", {})
            if not re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/tls"))):
                problems.append("no checksum/tls: a new certificate would not restart it")
        elif settings.get("ssl") == "on":
            problems.append("ssl=on although postgresql.tls.enabled is false")
        checks.check(f"[{label}] in-chart PostgreSQL, {tls_label[want['pg_tls']]}: "
                     f"{'ssl=on with the Secret certificate (key 0440, group postgres), ' if want['pg_tls'] else ''}"
                     "pg_hba admits each role to its own database with a password"
                     f"{' over TLS only' if want['pg_tls'] else ''}, never the superuser over the network",
                     not problems, problems)

    # The in-chart Redis.
    redis = statefulsets.get("redis")
    if want["redis_in_chart"] and redis:
        pod = pod_spec(redis)
        container = pod["containers"][0]
        args, files = container.get("args", []), mounted_secret_files(pod, container)
        port = container["ports"][0]["containerPort"]
        problems = []
        if want["redis_tls"]:
            secret = want["redis_ca"][0]
            if option(args, "--port") != "0" or option(args, "--tls-port") != str(port):
                problems.append(f"--port {option(args, '--port')} --tls-port {option(args, '--tls-port')}, "
                                f"want 0 and {port}")
            for flag, key in (("--tls-cert-file", "tls.crt"), ("--tls-key-file", "tls.key"),
                              ("--tls-ca-cert-file", "ca.crt")):
                file = files.get(option(args, flag))
                if not file or (file["secret"], file["key"]) != (secret, key):
                    problems.append(f"{flag} {option(args, flag)} is not {secret}/{key}")
                elif file["mode"] & 0o137:
                    problems.append(f"{flag}: mode {oct(file['mode'])}")
            if option(args, "--tls-auth-clients") != "no":
                problems.append(f"--tls-auth-clients {option(args, '--tls-auth-clients')}")
            ca_path = option(args, "--tls-ca-cert-file")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                command = " ".join(container.get(probe, {}).get("exec", {}).get("command", []))
                if f"redis-cli --tls --cacert {ca_path} " not in command:
                    problems.append(f"{probe}: {command}")
            annotations = redis["spec"]["template"]["metadata"].get("annotations", {})
            if not re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/tls"))):
                problems.append("no checksum/tls: a new certificate would not restart it")
        elif any(a.startswith("--tls") for a in args) or option(args, "--port") == "0":
            problems.append(f"TLS arguments although redis.tls.enabled is false: {args}")
        url_ref = secret_ref(env_of(pod_spec(deployments["order-api"])["containers"][0]).get("REDIS_URL"))
        url = secret_value(docs, *url_ref) if url_ref else None
        scheme = "rediss" if want["redis_tls"] else "redis"
        if url_ref and url_ref[0] in rendered and not (url or "").startswith(f"{scheme}://:"):
            problems.append(f"the generated redis-url is not {scheme}://")
        detail = ": TLS only (--port 0), the Secret certificate, clients need none, probes verify the CA, " \
            "rediss://" if want["redis_tls"] else ""
        checks.check(f"[{label}] in-chart Redis, {tls_label[want['redis_tls']]}{detail}", not problems, problems)

    # The generated certificates.
    for store, secret in (("postgresql", want["pg_generated"]), ("redis", want["redis_generated"])):
        name = f"[{label}] the generated {store} certificate: type kubernetes.io/tls, signed by its own CA for " \
               f"the Service's names only, its key, no CA key; not kept on uninstall"
        if not secret:
            if want[f"{'pg' if store == 'postgresql' else 'redis'}_in_chart"]:
                checks.check(f"[{label}] {store}: no certificate generated (TLS off or brought)",
                             f"{chart.RELEASE}-{store}-tls" not in rendered)
            continue
        doc = rendered.get(secret, {})
        service = f"{chart.RELEASE}-{store}"
        names = [service, f"{service}.{chart.NAMESPACE}", f"{service}.{chart.NAMESPACE}.svc",
                 f"{service}.{chart.NAMESPACE}.svc.cluster.local"]
        problems = certificate_problems(doc.get("data", {}), names)
        if problems is None:
            checks.skip(name, "no openssl")
            continue
        if doc.get("type") != "kubernetes.io/tls":
            problems.append(f"type {doc.get('type')}")
        if doc.get("metadata", {}).get("annotations", {}).get("helm.sh/resource-policy") == "keep":
            problems.append("resource-policy keep")
        checks.check(name, not problems, problems)


def check_store_tls_values(checks):
    """TLS off, brought certificates, an external server without a CA or
    with another sslmode: the same checks; and what cannot work is refused."""
    host = chart.load_values([TESTS / "values-external-host.yaml"])
    no_ca = chart._merge(host, {"externalDatabase": {"caSecret": {"name": ""}}})
    cases = [
        ("tls off", {"postgresql": {"tls": {"enabled": False}}, "redis": {"tls": {"enabled": False}}}),
        ("tls brought", {"postgresql": {"tls": {"existingSecret": "shop-postgresql-cert"}},
                         "redis": {"tls": {"existingSecret": "shop-redis-cert"}}}),
        ("external, no CA", no_ca),
        ("external, verify-ca", chart._merge(host, {"externalDatabase": {"sslmode": "verify-ca"},
                                                    "externalRedis": {"caSecret": {"name": "redis-ca"}}})),
    ]
    for label, values in cases:
        docs = rendered(checks, label, values)
        if docs is None:
            continue
        check_store_tls(checks, label, docs, values)
        check_references(checks, label, docs, brought_secrets(values))
        check_checksums(checks, label, docs, values)
    refused = [
        ("sslmode verify-full without a CA", chart._merge(no_ca, {"externalDatabase": {"sslmode": "verify-full"}})),
        ("sslmode verify-ca without a CA", chart._merge(no_ca, {"externalDatabase": {"sslmode": "verify-ca"}})),
        ("sslmode with URLs from existingSecret", chart._merge(chart.load_values([TESTS / "values-external-ha.yaml"]),
                                                              {"externalDatabase": {"sslmode": "require"}})),
        ("an unknown sslmode (verify_full)", chart._merge(host, {"externalDatabase": {"sslmode": "verify_full"}})),
        ("a misspelled caSecret key (caSecret.Key)", chart._merge(host, {"externalRedis": {"caSecret": {"Key": "x"}}})),
        ("postgresql.tls.enable", {"postgresql": {"tls": {"enable": True}}}),
    ]
    accepted = accepted_of(refused)
    checks.check(f"TLS settings that cannot work are refused ({len(refused)} cases)", not accepted,
                 f"accepted: {accepted}")


def accepted_of(cases):
    """The names of the (name, values) cases that the chart renders."""
    accepted = []
    for name, values in cases:
        try:
            chart.render(values)
            accepted.append(name)
        except helm.HelmError:
            pass
    return accepted


def check_rollouts(checks):
    """The checksums follow the values: a changed config value or a renamed
    brought Secret re-rolls the pods, an unchanged render does not."""
    base = chart.load_values([TESTS / "values-external-ha.yaml"])

    def annotations(override):
        docs = chart.render(chart._merge(base, override))
        return {d["metadata"]["name"]: d["spec"]["template"]["metadata"].get("annotations", {})
                for d in kinds(docs, "Deployment")}

    first, again = annotations({}), annotations({})
    config = annotations({"config": {"logLevel": "debug"}})
    secret = annotations({"secrets": {"existingSecret": "shop-secrets-2"}})
    # Over the pods that carry the checksum (checksum/secrets: the callers).
    changed = lambda other, key: all(other[n][key] != first[n][key] for n in first if key in first[n])  # noqa: E731
    same = lambda other, key: all(other[n][key] == first[n][key] for n in first if key in first[n])  # noqa: E731
    checks.check("a changed config value or a renamed brought Secret changes the pods' checksums, "
                 "nothing else does",
                 first == again and changed(config, "checksum/config") and same(config, "checksum/secrets") and
                 changed(secret, "checksum/secrets") and same(secret, "checksum/config"))


def check_generated_secrets(checks, docs):
    label = "default"
    secrets = {d["metadata"]["name"]: d for d in kinds(docs, "Secret")}
    main = secrets.get("shop-secrets", {}).get("data", {})
    pg = secrets.get("shop-postgresql", {}).get("data", {})
    # Derived on every render (certificates, the credentials' digests):
    # nothing to keep.
    kept = all(s["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep"
               for name, s in secrets.items() if not name.endswith("-tls") and name != DIGEST_SECRET)
    tokens = [base64.b64decode(main.get(key, "")).decode() for key in ("auth-token", "mediator-token")]
    redis = secrets.get("shop-redis", {}).get("data", {})
    passwords = [pg.get(f"{db}-password", "") for db in sorted(DATABASES)] + [pg.get("postgres-password", ""),
                                                                            redis.get("redis-password", "")]
    checks.check(f"[{label}] secrets generated when none are brought (a service credential per caller, JWT pair, PostgreSQL "
                 "superuser and role passwords, Redis password; resource-policy keep)",
                 all(len(t) >= 16 for t in tokens) and len(set(tokens)) == 2 and
                 {"jwt-private.pem", "jwt-public.pem"} <= set(main) and
                 all(len(base64.b64decode(p)) >= 16 for p in passwords) and
                 len(set(passwords)) == len(passwords) and kept,
                 sorted(secrets))
    openssl = shutil.which("openssl")
    name = f"[{label}] the generated JWT key is Ed25519 PKCS#8 and jwt-public.pem holds its public key"
    if not openssl or "jwt-private.pem" not in main:
        checks.skip(name, "no openssl")
        return
    private = base64.b64decode(main["jwt-private.pem"])
    public = base64.b64decode(main["jwt-public.pem"])
    derived = subprocess.run([openssl, "pkey", "-pubout"], input=private, capture_output=True)
    text = subprocess.run([openssl, "pkey", "-noout", "-text"], input=private, capture_output=True)
    certified = subprocess.run([openssl, "x509", "-noout", "-pubkey"], input=public, capture_output=True)
    checks.check(name, private.startswith(b"-----BEGIN PRIVATE KEY-----") and derived.returncode == 0 and
                 b"ED25519" in text.stdout.upper() and derived.stdout == certified.stdout and derived.stdout,
                 (text.stdout[:40], derived.stderr, certified.stderr))


# ------------------------------------------------- the service credentials

CREDENTIALS_SECRET = f"{chart.RELEASE}-secrets"
DIGEST_SECRET = f"{chart.RELEASE}-service-digests"
JWT_PUBLIC = f"{chart.RELEASE}-jwt-public"


def credential_expectations(values):
    """Where the values say the credentials and their digests come from."""
    secrets = values.get("secrets", {})
    return {"credentials": secrets.get("existingSecret") or CREDENTIALS_SECRET,
            "digests": secrets.get("existingDigestSecret") or DIGEST_SECRET,
            "digests rendered": not secrets.get("existingDigestSecret"),
            "jwt public": secrets.get("jwtPublicKey")}


def pod_references(pod):
    """Every (Secret, key) a pod's spec names, from env, envFrom and
    volumes; the key "*" for a Secret taken whole."""
    refs = set()
    for container in containers(pod):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                refs.add((source["secretRef"]["name"], "*"))
        refs |= {secret_ref(var) for var in container.get("env", []) if secret_ref(var)}
    for volume in pod.get("volumes", []):
        sources = [(volume["secret"]["secretName"], volume["secret"].get("items"))] if "secret" in volume else []
        sources += [(source["secret"]["name"], source["secret"].get("items"))
                    for source in volume.get("projected", {}).get("sources", []) if "secret" in source]
        for name, items in sources:
            refs |= {(name, item["key"]) for item in items or [{"key": "*"}]}
    return refs


def check_service_credentials(checks, label, docs, values, live=None):
    """A credential per caller, digests for the callees (SPEC section 7):
    auth and the mediator get their own credential from the credentials
    Secret; billing, items and slots <CALLER>_SERVICE_TOKEN_SHA256 from the
    digests Secret; no other pod names the credentials Secret or a
    credential's key, in any Deployment; the digests Secret holds the
    lowercase hex SHA-256 of each credential and nothing else; the
    verifiers' ConfigMap holds jwt-public.pem. The credentials are the
    rendered Secret's, or `live`'s ({Secret: {key: text}}, what a cluster
    holds) when the user brings them."""
    want = credential_expectations(values)
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        spec = SERVICES[name]
        pod = pod_spec(deployment)
        env = env_of(pod["containers"][0])
        refs = pod_references(pod)
        for var in spec["tokens"]:
            key = var.removesuffix("_SERVICE_TOKEN").lower() + "-token"
            if secret_ref(env.get(var)) != (want["credentials"], key):
                bad.append(f"{name}: {var} from {secret_ref(env.get(var))}, want {(want['credentials'], key)}")
        for var in spec["digests"]:
            key = var.removesuffix("_SERVICE_TOKEN_SHA256").lower() + "-token-sha256"
            if secret_ref(env.get(var)) != (want["digests"], key):
                bad.append(f"{name}: {var} from {secret_ref(env.get(var))}, want {(want['digests'], key)}")
        own = {var.removesuffix("_SERVICE_TOKEN").lower() + "-token" for var in spec["tokens"]}
        credentials = {ref for ref in refs if ref[1] in CREDENTIAL_KEYS}
        if credentials != {(want["credentials"], key) for key in own}:
            bad.append(f"{name}: credential keys {sorted(credentials)}, want its own {sorted(own)} alone")
        if name not in CALLERS_OF_SERVICES and any(ref[0] == want["credentials"] for ref in refs):
            bad.append(f"{name}: names the credentials Secret {want['credentials']}: "
                       f"{sorted(ref for ref in refs if ref[0] == want['credentials'])}")
        if any(ref[0] == want["credentials"] and ref[1] == "*" for ref in refs):
            bad.append(f"{name}: takes {want['credentials']} whole")
        digests = {ref for ref in refs if ref[0] == want["digests"] or ref[1] in DIGEST_KEYS}
        wanted = {(want["digests"], var.removesuffix("_SERVICE_TOKEN_SHA256").lower() + "-token-sha256")
                  for var in spec["digests"]}
        if digests != wanted:
            bad.append(f"{name}: digests {sorted(digests)}, want {sorted(wanted)}")
    checks.check(f"[{label}] auth and the mediator get their own credential from {want['credentials']}; billing, "
                 f"items and slots the digests alone from {want['digests']}; no other pod names a credential or "
                 "its Secret", not bad, bad)

    live = live or {}

    def credential(key):
        if want["credentials"] in live:
            return live[want["credentials"]].get(key)
        return secret_value(docs, want["credentials"], key)

    problems = []
    rendered = {d["metadata"]["name"]: d for d in kinds(docs, "Secret")}
    if want["digests rendered"]:
        data = rendered.get(DIGEST_SECRET, {}).get("data", {})
        if set(data) != DIGEST_KEYS:
            problems.append(f"{DIGEST_SECRET} keys {sorted(data)}, want {sorted(DIGEST_KEYS)}")
        for key in sorted(DIGEST_KEYS & set(data)):
            digest = base64.b64decode(data[key]).decode()
            token = credential(key.removesuffix("-sha256"))
            if token is None:
                problems.append(f"no {key.removesuffix('-sha256')} to compare {key} with")
            elif not re.fullmatch(r"[0-9a-f]{64}", digest) or digest != hashlib.sha256(token.encode()).hexdigest():
                problems.append(f"{key} {digest!r} is not the hex SHA-256 of {key.removesuffix('-sha256')}")
        if rendered.get(DIGEST_SECRET, {}).get("metadata", {}).get("annotations", {}).get("helm.sh/resource-policy"):
            problems.append(f"{DIGEST_SECRET} is kept on uninstall: it is derived on every render")
        what = f"{DIGEST_SECRET} holds auth-token-sha256 and mediator-token-sha256 alone, each the hex SHA-256 " \
            "of the credential"
    else:
        if DIGEST_SECRET in rendered:
            problems.append(f"{DIGEST_SECRET} rendered although {want['digests']} is brought")
        what = f"the brought {want['digests']} holds the digests: the chart renders none"
    holding = sorted(n for n, d in rendered.items() if set(d.get("data", {})) & CREDENTIAL_KEYS)
    if holding not in ([], [CREDENTIALS_SECRET]) or (holding and want["credentials"] != CREDENTIALS_SECRET):
        problems.append(f"Secrets holding a credential: {holding}")
    public = config_map_value(docs, JWT_PUBLIC, "jwt-public.pem")
    expected = want["jwt public"] or credential("jwt-public.pem")
    if not public or public != expected:
        problems.append(f"{JWT_PUBLIC}'s jwt-public.pem is not the key pair's public half")
    checks.check(f"[{label}] {what}; {JWT_PUBLIC} holds jwt-public.pem", not problems, problems)


# The chart's one call of helm's lookup (templates/_secrets.tpl), which
# render_with_live answers from a dict instead of a cluster.
LIVE_LOOKUP = '{{- toYaml ((lookup "v1" "Secret" .ctx.Release.Namespace .name).data | default dict) }}'


def render_with_live(values, live):
    """The chart rendered as `helm upgrade` would on a cluster holding the
    Secrets `live` ({name: {key: text}}): a copy of it whose
    shop.liveSecretData answers from them where lookup asks the cluster."""
    with tempfile.TemporaryDirectory(prefix="shop-chart-") as tmp:
        copy = Path(tmp) / "shop"
        shutil.copytree(chart.CHART, copy)
        path = copy / "templates" / "_secrets.tpl"
        text = path.read_text()
        if text.count(LIVE_LOOKUP) != 1:
            raise ValueError(f"templates/_secrets.tpl does not read live Secrets with {LIVE_LOOKUP} exactly once")
        data = {name: {key: base64.b64encode(value.encode()).decode() for key, value in secret.items()}
                for name, secret in live.items()}
        fake = "{{- $live := %s | fromJson }}{{- toYaml (index $live .name | default dict) }}" % \
            json.dumps(json.dumps(data))
        path.write_text(text.replace(LIVE_LOOKUP, fake))
        return chart.render(values, chart_dir=copy)


def check_service_credentials_values(checks):
    """The credentials on a cluster (an upgrade keeps the generated ones; a
    brought Secret is read for the digests and the public key), and without
    one: a brought Secret alone is refused with what to bring, and the
    digests may be brought."""
    pem = ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA0123456789abcdefghijklmnopqrstuvwxyzABCDEF=\n"
           "-----END PUBLIC KEY-----\n")
    ours = {"auth-token": "a" * 48, "mediator-token": "m" * 48, "jwt-private.pem": "private", "jwt-public.pem": pem}
    # printf %s "$TOKEN" | sha256sum: the credential's exact bytes, a
    # trailing newline of a --from-file Secret included.
    theirs = {"auth-token": "their auth token\n", "mediator-token": "their-mediator-token",
              "jwt-private.pem": "private", "jwt-public.pem": pem}
    cases = [
        ("upgrade, generated credentials kept", {}, {CREDENTIALS_SECRET: ours}),
        ("brought credentials, read on install", {"secrets": {"existingSecret": "my-secrets"}}, {"my-secrets": theirs}),
        ("brought credentials and digests", {"secrets": {"existingSecret": "my-secrets",
                                                          "existingDigestSecret": "my-digests"}},
         {"my-secrets": theirs}),
    ]
    for label, values, live in cases:
        try:
            docs = render_with_live(values, live)
        except (helm.HelmError, ValueError, OSError) as err:
            checks.check(f"[{label}] renders", False, err)
            continue
        check_service_credentials(checks, label, docs, values, live)
        check_service_env(checks, label, docs, values)
        check_references(checks, label, docs, brought_secrets(values))
        check_checksums(checks, label, docs, values)
        if not values:
            kept = {key: secret_value(docs, CREDENTIALS_SECRET, key) for key in ours}
            checks.check(f"[{label}] the live credentials and key pair are kept, not generated anew", kept == ours,
                         sorted(key for key in ours if kept[key] != ours[key]))

    name = ("secrets.existingSecret with no cluster to read it (helm template) and nothing brought is refused, "
            "and the message says what to bring and how (existingDigestSecret, sha256sum, jwtPublicKey)")
    try:
        chart.render({"secrets": {"existingSecret": "my-secrets"}})
        checks.check(name, False, "rendered")
    except helm.HelmError as err:
        message = str(err)
        checks.check(name, all(words in message for words in (
            "secrets.existingDigestSecret", "auth-token-sha256", "mediator-token-sha256",
            'printf %s "$TOKEN" | sha256sum', "secrets.jwtPublicKey")), message)
    name = "a brought Secret without mediator-token is refused, naming the key"
    try:
        render_with_live({"secrets": {"existingSecret": "my-secrets"}},
                         {"my-secrets": {k: v for k, v in theirs.items() if k != "mediator-token"}})
        checks.check(name, False, "rendered")
    except helm.HelmError as err:
        checks.check(name, "mediator-token" in str(err) and "auth-token," not in str(err), str(err))
    refused = [
        ("secrets.existingDigestSecret without existingSecret", {"secrets": {"existingDigestSecret": "my-digests"}}),
        ("secrets.jwtPublicKey without existingSecret", {"secrets": {"jwtPublicKey": pem}}),
        ("secrets.jwtPublicKey that is no PEM", {"secrets": {"existingSecret": "s", "existingDigestSecret": "d",
                                                             "jwtPublicKey": "ssh-ed25519 AAAA"}}),
        ("a misspelled key (secrets.existingDigestsSecret)", {"secrets": {"existingDigestsSecret": "d"}}),
    ]
    accepted = accepted_of(refused)
    checks.check(f"the chart refuses service credential settings that cannot work ({len(refused)} cases)",
                 not accepted, f"accepted: {accepted}")


def check_external(checks, label, docs, values):
    kinds_present = sorted({d["kind"] for d in docs})
    checks.check(f"[{label}] external PostgreSQL and Redis: no StatefulSet", "StatefulSet" not in kinds_present,
                 kinds_present)
    deployments = by_component(docs, "Deployment")
    bad = []
    database = values["externalDatabase"]
    for name, deployment in deployments.items():
        env = env_of(pod_spec(deployment)["containers"][0])
        url = env.get("DATABASE_URL", {})
        db = SERVICES[name]["db"]
        if database.get("existingSecret"):
            ok = url.get("valueFrom", {}).get("secretKeyRef") == {"name": database["existingSecret"], "key": f"{db}-url"}
        else:
            role = database.get("roles", {}).get(db)
            ok = url.get("value") == (f"postgres://{role or database.get('username')}:$(DATABASE_PASSWORD)@"
                                      f"{database['host']}:{database.get('port', 5432)}/{database['databases'][db]}"
                                      f"{tls_expectations(values)['query']}") and \
                secret_ref(env.get("DATABASE_PASSWORD")) == \
                (database["passwordSecret"], f"{db}-password" if role else database.get("passwordKey", "password"))
        if not ok:
            bad.append(f"{name} DATABASE_URL")
    checks.check(f"[{label}] the services use the external database the values name, each with its role", not bad, bad)
    if values.get("secrets", {}).get("existingSecret"):
        generated = [d["metadata"]["name"] for d in kinds(docs, "Secret")]
        checks.check(f"[{label}] brought secrets: none generated", not generated, generated)
    pdbs = sorted(d["metadata"]["labels"]["app.kubernetes.io/component"] for d in kinds(docs, "PodDisruptionBudget"))
    enabled = values.get("podDisruptionBudget", {}).get("enabled", True)
    want = sorted(n for n, d in deployments.items() if d["spec"]["replicas"] > 1) if enabled else []
    checks.check(f"[{label}] a PodDisruptionBudget per replicated service", pdbs == want, pdbs)


def check_schema_refusals(checks):
    """values.schema.json turns mistakes into errors at install time."""
    cases = [
        ("bcryptCost 99", {"config": {"bcryptCost": 99}}),
        ("a misspelled key (mediator.replica)", {"mediator": {"replica": 3}}),
        ("an unknown top-level key (ingres)", {"ingres": {"enabled": False}}),
        ("postgresql.enabled=false without externalDatabase", {"postgresql": {"enabled": False}}),
        ("redis.enabled=false without externalRedis", {"redis": {"enabled": False}}),
        ("a service without limits", {"auth": {"resources": {"requests": {"cpu": "1"}, "limits": None}}}),
        ("replicas as a string", {"mediator": {"replicas": "2"}}),
        ("an ingress host with a scheme", {"ingress": {"host": "http://arch.homework"}}),
        ("a misspelled selector (networkPolicy.prometheus.podSelectors)",
         {"networkPolicy": {"prometheus": {"podSelectors": {}}}}),
        ("a role for an unknown database (externalDatabase.roles.order)", {"externalDatabase": {"roles": {"order": "x"}}}),
        ("ingress.rateLimit.rps 0", {"ingress": {"rateLimit": {"rps": 0}}}),
        ("ingress.rateLimit.burstMultiplier as a string", {"ingress": {"rateLimit": {"burstMultiplier": "5"}}}),
        ("a misspelled key (ingress.rateLimit.rsp)", {"ingress": {"rateLimit": {"rsp": 5}}}),
        ("a misspelled key (ingress.tls.enable)", {"ingress": {"tls": {"enable": True}}}),
        ("an https:// OTLP endpoint (plain http only)", {"tracing": {"otlpEndpoint": "https://collector:4318"}}),
        ("an OTLP endpoint with /v1/traces (the exporter appends it)",
         {"tracing": {"otlpEndpoint": "http://collector:4318/v1/traces"}}),
        ("an OTLP endpoint without a scheme", {"tracing": {"otlpEndpoint": "collector:4318"}}),
        ("a sampler the SDK does not know (tracing.sampler xray)", {"tracing": {"sampler": "xray"}}),
        ("tracing.samplerArg 1.5", {"tracing": {"sampler": "traceidratio", "samplerArg": 1.5}}),
        ("tracing.samplerArg without a traceidratio sampler", {"tracing": {"samplerArg": "0.1"}}),
        ("a misspelled key (tracing.endpoint)", {"tracing": {"endpoint": "http://collector:4318"}}),
        ("ingress.ordersRateLimit.rps 0", {"ingress": {"ordersRateLimit": {"rps": 0}}}),
        ("a misspelled key (ingress.ordersRateLimit.rsp)", {"ingress": {"ordersRateLimit": {"rsp": 5}}}),
        ("trustedProxies as a string", {"trustedProxies": "10.0.0.0/8"}),
        ("trustedProxies with a word (any)", {"trustedProxies": ["any"]}),
        ("trustedProxies with a /40 IPv4 network", {"trustedProxies": ["10.0.0.0/40"]}),
        ("config.maxUnfinishedOrders 0", {"config": {"maxUnfinishedOrders": 0}}),
        ("tracing.trustIncomingTraceparent as a string", {"tracing": {"trustIncomingTraceparent": "false"}}),
    ]
    accepted = accepted_of(cases)
    checks.check(f"values.schema.json refuses bad values ({len(cases)} cases)", not accepted,
                 f"accepted: {accepted}")
    try:
        chart.render({"ingress": {"enabled": False}, "mediator": {"replicas": 3}})
        checks.check("values.schema.json accepts a partial override", True)
    except helm.HelmError as err:
        checks.check("values.schema.json accepts a partial override", False, err)


def check_notes(checks):
    text = chart.notes()
    wanted = ["arch.homework", "/etc/hosts", "newman run homework.postman_collection.json",
              "--env-var baseUrl=arch.homework", "auth_port=80", "billing_port=80", "order_port=80"]
    missing = [w for w in wanted if w not in text]
    checks.check("NOTES.txt says how to reach it (/etc/hosts) and how to run the newman suite", not missing, missing)
    wanted = [f"kubectl get secret {chart.RELEASE}-admin -n {chart.NAMESPACE} -o jsonpath='{{.data.admin-password}}' "
              "| base64 -d", f"kubectl rollout restart deployment {chart.RELEASE}-auth"]
    missing = [w for w in wanted if w not in text]
    brought = chart.notes({"admin": {"existingSecret": "my-admin"}})
    if "kubectl get secret my-admin " not in brought:
        missing.append("the brought Secret's name")
    if "admin-password" in chart.notes({"admin": {"username": ""}}):
        missing.append("(admin.username empty: no password to read)")
    checks.check("NOTES.txt says how to read the administrator's password and how to rotate it", not missing, missing)
    port_forward = [f"kubectl port-forward -n {chart.NAMESPACE} svc/{chart.RELEASE}-order-api 8003:8003",
                    f"kubectl port-forward -n {chart.NAMESPACE} svc/{chart.RELEASE}-auth 8001:8001",
                    "http://127.0.0.1:8080/console/", "adminIngress.enabled"]
    missing = [w for w in port_forward if w not in text]
    on = chart.notes(ADMIN_CASES[0][1])
    missing += [f"(admin on) {w}" for w in ("https://ops.arch.homework/console/", "10.20.0.0/16") if w not in on]
    insecure = chart.notes(ADMIN_CASES[1][1])
    if "http://arch.homework/console/" not in insecure or "plain HTTP" not in insecure:
        missing.append("(allowInsecure) the plain http:// address and a warning")
    checks.check("NOTES.txt says how operators reach the admin API and the console: kubectl port-forward when the "
                 "admin Ingress is off, its address and allowed sources when on", not missing, missing)


# ------------------------------------------------------------- monitoring

# The metrics every service and the mediator expose (README, Monitoring):
# each panel of the dashboard and each alert must name one of them.
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
MONITORING_VALUES = {"monitoring": {
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}, "interval": "15s"},
    "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"},
                       "runbookUrl": "https://runbooks.example/shop"},
    "grafanaDashboard": {"enabled": True, "namespace": "monitoring", "labels": {"team": "shop"},
                         "annotations": {"grafana_folder": "Shop"}},
}}

_DURATION = {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
                                          "(([0-9]+)s)?(([0-9]+)ms)?)$"}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
    "namespace": {"type": "string"}, "labels": _STRINGS, "annotations": _STRINGS}}
_SELECTOR = {"type": "object", "additionalProperties": False, "properties": {
    "matchLabels": _STRINGS, "matchExpressions": {"type": "array", "items": {"type": "object"}}}}
# The parts of the Prometheus operator's CRDs (monitoring.coreos.com/v1)
# that the chart renders, closed to anything else: a misspelled field is
# an error here rather than silently dropped by the API server.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): jsonschema.Draft7Validator({
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "ServiceMonitor"},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, "required": ["selector", "endpoints"],
                     "properties": {
                         "jobLabel": {"type": "string"},
                         "selector": _SELECTOR,
                         "namespaceSelector": {"type": "object", "additionalProperties": False, "properties": {
                             "any": {"type": "boolean"}, "matchNames": {"type": "array", "items": {"type": "string"}}}},
                         "endpoints": {"type": "array", "minItems": 1, "items": {
                             "type": "object", "additionalProperties": False, "properties": {
                                 "port": {"type": "string"}, "targetPort": {"type": ["string", "integer"]},
                                 "path": {"type": "string", "pattern": "^/"},
                                 "scheme": {"enum": ["http", "https"]},
                                 "interval": _DURATION, "scrapeTimeout": _DURATION,
                                 "honorLabels": {"type": "boolean"},
                                 "relabelings": {"type": "array"}, "metricRelabelings": {"type": "array"}}}}}}}}),
    ("monitoring.coreos.com/v1", "PrometheusRule"): jsonschema.Draft7Validator({
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "PrometheusRule"},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, "properties": {
                "groups": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "rules"], "properties": {
                        "name": {"type": "string", "minLength": 1}, "interval": _DURATION,
                        "rules": {"type": "array", "items": {
                            "type": "object", "additionalProperties": False, "required": ["expr"],
                            "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                            "properties": {
                                "alert": {"type": "string"}, "record": {"type": "string"},
                                "expr": {"type": ["string", "integer"], "minLength": 1},
                                "for": _DURATION, "labels": _STRINGS, "annotations": _STRINGS}}}}}}}}}}),
}


def metrics_of(expr):
    """The metric names a PromQL expression mentions (a histogram's
    _bucket, _sum and _count series under the histogram's name)."""
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", w) for w in words} | words


def summed_shared_gauges(expr):
    """The shared gauges an expression sums (they must be max()ed)."""
    summed = r"\bsum\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(\s*"
    return sorted(g for g in SHARED_GAUGES if re.search(summed + g + r"\b", expr))


def check_monitoring_off(checks, label, docs):
    """monitoring.* is off by default: the render is what it was."""
    found = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
             if d["kind"] in MONITORING_KINDS or "grafana_dashboard" in d["metadata"].get("labels", {})]
    checks.check(f"[{label}] monitoring off: no ServiceMonitor, PrometheusRule or dashboard ConfigMap", not found, found)


def check_monitoring(checks):
    """monitoring.serviceMonitor, prometheusRule and grafanaDashboard on
    (issue 17): a ServiceMonitor per service that selects its Service and
    scrapes its port with the service's name as job, the alerts, and the
    dashboard as real JSON whose every panel queries a metric of the
    contract. The rest of the render is unchanged."""
    label = "monitoring"
    docs = rendered_and_valid(checks, label, MONITORING_VALUES)
    if docs is None:
        return
    keys = {(d["kind"], d["metadata"]["name"]) for d in docs}
    default_keys = {(d["kind"], d["metadata"]["name"]) for d in chart.render({})}
    want_new = {("ServiceMonitor", f"{chart.RELEASE}-{name}") for name in SERVICES} | \
        {("PrometheusRule", chart.RELEASE), ("ConfigMap", f"{chart.RELEASE}-dashboard")}
    checks.check(f"[{label}] the default render plus a ServiceMonitor per service, a PrometheusRule and the "
                 "dashboard's ConfigMap, nothing else", keys == default_keys | want_new and not default_keys & want_new,
                 {"missing": sorted(default_keys | want_new - keys), "extra": sorted(keys - default_keys - want_new)})
    values = MONITORING_VALUES["monitoring"]

    # ServiceMonitors: each selects its own Service alone and scrapes its
    # named port, its job the service's name.
    services = {d["metadata"]["name"]: d for d in kinds(docs, "Service")}
    bad = []
    for monitor in kinds(docs, "ServiceMonitor"):
        name, spec = monitor["metadata"]["name"], monitor["spec"]
        selected = [s for s, svc in services.items()
                    if selector_matches(spec["selector"], svc["metadata"]["labels"])]
        service = services.get(name)
        problems = []
        if selected != [name]:
            problems.append(f"selects {selected}")
        if service:
            ports = {p["name"] for p in service["spec"]["ports"]}
            endpoints = spec["endpoints"]
            if len(endpoints) != 1 or endpoints[0].get("port") not in ports or endpoints[0].get("path") != "/metrics":
                problems.append(f"endpoints {endpoints} (the Service's ports: {sorted(ports)})")
            elif endpoints[0].get("interval") != values["serviceMonitor"]["interval"]:
                problems.append(f"interval {endpoints[0].get('interval')}")
            job = service["metadata"]["labels"].get(spec.get("jobLabel", ""))
            if job != name.removeprefix(f"{chart.RELEASE}-") or job not in SERVICES:
                problems.append(f"job {job!r} (jobLabel {spec.get('jobLabel')})")
        if spec.get("namespaceSelector") != {"matchNames": [chart.NAMESPACE]}:
            problems.append(f"namespaceSelector {spec.get('namespaceSelector')}")
        if monitor["metadata"]["labels"].get("release") != "kube-prometheus-stack":
            problems.append("without monitoring.serviceMonitor.labels")
        if problems:
            bad.append(f"{name}: {'; '.join(problems)}")
    monitored = sorted(m["metadata"]["name"].removeprefix(f"{chart.RELEASE}-") for m in kinds(docs, "ServiceMonitor"))
    checks.check(f"[{label}] a ServiceMonitor per service: its Service alone, port http, /metrics, job = the "
                 "service's name, the values' labels and interval", monitored == sorted(SERVICES) and not bad,
                 bad or monitored)

    # The alerts.
    rules = kinds(docs, "PrometheusRule")
    alerts = [r for doc in rules for g in doc["spec"]["groups"] for r in g["rules"] if "alert" in r]
    names = sorted(r["alert"] for r in alerts)
    checks.check(f"[{label}] the PrometheusRule's alerts: {', '.join(sorted(ALERTS))}",
                 names == sorted(ALERTS) and all(d["metadata"]["labels"].get("release") for d in rules), names)
    bad = []
    for rule in alerts:
        problems = [f"no {key}" for key in ("summary", "description", "runbook")
                    if not rule.get("annotations", {}).get(key)]
        if not rule.get("labels", {}).get("severity"):
            problems.append("no severity")
        if rule.get("annotations", {}).get("runbook_url") != values["prometheusRule"]["runbookUrl"]:
            problems.append("no runbook_url")
        if rule["alert"] != "NoMediatorWorker" and not metrics_of(rule["expr"]) & CONTRACT_METRICS:
            problems.append("no metric of the contract")
        if summed_shared_gauges(rule["expr"]):
            problems.append(f"sums {summed_shared_gauges(rule['expr'])}")
        if problems:
            bad.append(f"{rule['alert']}: {', '.join(problems)}")
    checks.check(f"[{label}] every alert: severity, summary, description, runbook (and runbook_url), a metric of "
                 "the contract, the shared gauges max()ed", not bad, bad)
    deadline = {}
    for ms in (30000, 45000):
        rendered = chart.render(chart.set_value(MONITORING_VALUES, f"config.sagaDeadlineMs={ms}"))
        deadline[ms] = next((r["expr"] for doc in kinds(rendered, "PrometheusRule") for g in doc["spec"]["groups"]
                             for r in g["rules"] if r.get("alert") == "SagaOldestPendingPastDeadline"), "")
    checks.check(f"[{label}] SagaOldestPendingPastDeadline follows config.sagaDeadlineMs (plus the margin)",
                 all(f"> {ms} / 1000 + 60" in expr for ms, expr in deadline.items()), deadline)

    # The dashboard.
    maps = [d for d in kinds(docs, "ConfigMap") if d["metadata"]["name"] == f"{chart.RELEASE}-dashboard"]
    if not checks.check(f"[{label}] the dashboard's ConfigMap", len(maps) == 1, len(maps)):
        return
    meta = maps[0]["metadata"]
    checks.check(f"[{label}] the dashboard's ConfigMap: labelled grafana_dashboard \"1\" and the values' labels, "
                 "in monitoring.grafanaDashboard.namespace, with its annotations",
                 meta["labels"].get("grafana_dashboard") == "1" and meta["labels"].get("team") == "shop"
                 and meta.get("namespace") == "monitoring"
                 and meta.get("annotations") == values["grafanaDashboard"]["annotations"], meta)
    try:
        dash = json.loads(maps[0]["data"]["shop.json"])
    except (KeyError, ValueError) as err:
        checks.check(f"[{label}] the dashboard is JSON", False, err)
        return
    checks.check(f"[{label}] the dashboard is JSON, helm/dashboards/shop.json as it is",
                 dash == json.loads(DASHBOARD_FILE.read_text()))
    templating = dash.get("templating", {}).get("list", [])
    datasource = [v["name"] for v in templating if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    shown = [p for p in dash.get("panels", []) if p.get("type") != "row"]
    shown += [p for row in dash.get("panels", []) if row.get("type") == "row" for p in row.get("panels", [])]
    bad, mentioned = [], set()
    for panel in shown:
        exprs = [t.get("expr", "") for t in panel.get("targets", [])]
        found = set().union(*(metrics_of(e) & CONTRACT_METRICS for e in exprs)) if exprs else set()
        mentioned |= found
        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        problems = []
        if not found:
            problems.append("no target queries a metric of the contract")
        if datasource and any((s or {}).get("uid") != f"${{{datasource[0]}}}" for s in sources):
            problems.append("a datasource other than the variable")
        if any(summed_shared_gauges(e) for e in exprs):
            problems.append("sums a shared gauge")
        if problems:
            bad.append(f"{panel.get('title')}: {', '.join(problems)}")
    checks.check(f"[{label}] the dashboard has a Prometheus datasource variable", len(datasource) == 1, datasource)
    checks.check(f"[{label}] every one of the dashboard's {len(shown)} panels queries a metric of the contract "
                 "through the datasource variable", shown and not bad, bad)
    checks.check(f"[{label}] the dashboard shows every metric of the contract", mentioned == CONTRACT_METRICS,
                 sorted(CONTRACT_METRICS - mentioned))
    ids = [p.get("id") for p in shown]
    checks.check(f"[{label}] the dashboard has a uid and unique panel ids",
                 bool(dash.get("uid")) and len(set(ids)) == len(ids), ids)
    cases = [
        ("a scrape interval that is no duration", {"monitoring": {"serviceMonitor": {"interval": "30 seconds"}}}),
        ("an error-rate threshold above 1", {"monitoring": {"prometheusRule": {"errorRate": {"threshold": 5}}}}),
        ("a misspelled key (monitoring.prometheusRule.sagasParked.fore)",
         {"monitoring": {"prometheusRule": {"sagasParked": {"fore": "5m"}}}}),
        ("a threshold where none is (sagasParked.threshold)",
         {"monitoring": {"prometheusRule": {"sagasParked": {"threshold": 1}}}}),
        ("a label that is no string", {"monitoring": {"grafanaDashboard": {"labels": {"n": 1}}}}),
    ]
    accepted = accepted_of(cases)
    checks.check(f"values.schema.json refuses bad monitoring values ({len(cases)} cases)", not accepted,
                 f"accepted: {accepted}")



# ---------------------------------------------------------------- tracing

OTLP_ENDPOINT = "http://otel-collector.observability:4318"
TRACING_VALUES = {"tracing": {"otlpEndpoint": OTLP_ENDPOINT}}


def otel_env(docs):
    """{workload/container: {OTEL_* name: value}} of every container, from
    env and from the ConfigMaps it takes whole (envFrom)."""
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in kinds(docs, "ConfigMap")}
    found = {}
    for workload in kinds(docs, "Deployment") + kinds(docs, "StatefulSet"):
        for container in containers(pod_spec(workload)):
            variables = {}
            for source in container.get("envFrom", []):
                variables.update(configmaps.get(source.get("configMapRef", {}).get("name"), {}))
            variables.update({name: var.get("value", var.get("valueFrom")) for name, var in env_of(container).items()})
            found[f"{workload['metadata']['name']}/{container['name']}"] = \
                {k: v for k, v in variables.items() if k.startswith("OTEL_")}
    return found


def check_tracing_off(checks, label, docs):
    """tracing.otlpEndpoint empty (the default): no container has an OTEL_
    variable, so no service exports traces."""
    found = {where: sorted(env) for where, env in otel_env(docs).items() if env}
    checks.check(f"[{label}] tracing off: no container has an OTEL_* variable", not found, found)


def check_tracing(checks):
    """tracing.otlpEndpoint set: each of the six services' containers gets
    OTEL_EXPORTER_OTLP_ENDPOINT and its own OTEL_SERVICE_NAME, the sampler
    variables only when set (samplerArg 0 included), the stores nothing;
    the manifests still validate, and no object is added or removed."""
    label = "tracing"
    docs = rendered_and_valid(checks, label, TRACING_VALUES)
    if docs is None:
        return
    default_keys = {(d["kind"], d["metadata"]["name"]) for d in chart.render({})}
    keys = {(d["kind"], d["metadata"]["name"]) for d in docs}
    checks.check(f"[{label}] the same objects as the default render", keys == default_keys,
                 {"missing": sorted(default_keys - keys), "extra": sorted(keys - default_keys)})

    def expected(name, sampler=None, arg=None):
        want = {"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT, "OTEL_SERVICE_NAME": name}
        if sampler is not None:
            want["OTEL_TRACES_SAMPLER"] = sampler
        if arg is not None:
            want["OTEL_TRACES_SAMPLER_ARG"] = arg
        return want

    def problems(docs, **sampler):
        found = otel_env(docs)
        services = {d["metadata"]["name"]: c for c, d in by_component(docs, "Deployment").items()}
        bad = [f"{where}: {env}" for where, env in found.items()
               if env != (expected(services[where.split("/")[0]], **sampler)
                          if where.split("/")[0] in services else {})]
        missing = sorted(set(SERVICES) - set(services.values()))
        return bad + [f"no Deployment for {name}" for name in missing]

    bad = problems(docs)
    checks.check(f"[{label}] each of the {len(SERVICES)} services: OTEL_EXPORTER_OTLP_ENDPOINT {OTLP_ENDPOINT} "
                 "and OTEL_SERVICE_NAME its own name, no sampler variable; the stores none", not bad, bad)
    bad = []
    for sampler, arg, want_arg in (("parentbased_traceidratio", "0.25", "0.25"), ("traceidratio", 0, "0"),
                                   ("always_off", None, None)):
        tracing = {"otlpEndpoint": OTLP_ENDPOINT, "sampler": sampler}
        if arg is not None:
            tracing["samplerArg"] = arg
        try:
            bad += [f"{sampler} {arg!r}: {p}" for p in problems(chart.render({"tracing": tracing}),
                                                                sampler=sampler, arg=want_arg)]
        except helm.HelmError as err:
            bad.append(f"{sampler} {arg!r}: {err}")
    checks.check(f"[{label}] tracing.sampler and samplerArg (0 included) reach every service as "
                 "OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG", not bad, bad)


# ---------------------------------------------------------- the gateway


def check_gateway_render(checks):
    """The chart as the local gateway renders it (scripts/gateway-values.yaml):
    linted and valid, the public Ingresses as always, the admin Ingress on
    over plain HTTP for the loopback alone, and limits the local suite stays
    under from 127.0.0.1. Returns (routes, body size, limits, allow lists)
    for the gateway, or None."""
    label = "gateway"
    values = chart.gateway_values()
    docs = rendered_and_valid(checks, label, values)
    if docs is None:
        return None
    check_ingress(checks, label, docs, values)
    check_edge(checks, label, docs, values)
    check_admin_ingress(checks, label, docs, values)
    check_gateway_limits(checks, label, docs)
    check_network_policies(checks, label, docs, values)
    routes = chart.ingress_routes(docs)
    checks.check(f"[{label}] it routes the public API and the admin API with its console, nothing else",
                 routes == PUBLIC | ADMIN, {"unexpected": routes - PUBLIC - ADMIN, "missing": PUBLIC | ADMIN - routes})
    allowed = chart.ingress_allowlists(docs)
    loopback = {route[:2]: ("127.0.0.1/32", "::1/128") for route in ADMIN}
    checks.check(f"[{label}] the admin API and the console admit the loopback alone", allowed == loopback, allowed)
    limits = expected_limits(docs)
    orders = limits.get(("/api/orders", "Prefix"), (0, 0))
    admin = limits.get(("/api/admin", "Prefix"), (0, 0))
    checks.check(f"[{label}] the orders at {orders[0]}/s (burst {orders[1]}) hold the benchmark's closed loop "
                 f"({BENCH_ORDERS_RATE} orders a second from 127.0.0.1) four times over, and the admin API at "
                 f"{admin[0]}/s (burst {admin[1]}) scripts/fuzz ({FUZZ_RATE}/s)",
                 orders[0] >= 4 * BENCH_ORDERS_RATE and admin[0] >= 4 * FUZZ_RATE and
                 admin[1] >= 4 * FUZZ_PEAK_EXCESS, {"orders": orders, "admin": admin})
    return routes, chart.ingress_body_size(docs), chart.ingress_limits(docs), allowed


def check_gateway_config(checks, routes, body_size, limits, allowlists):
    """The generated nginx.conf, read back, routes what the ingress routes."""
    ports = {name: spec["port"] for name, spec in SERVICES.items()}
    conf = chart.nginx_conf(routes, "/tmp/gateway-test", "127.0.0.1:18080", ports, body_size, limits, allowlists)
    proxying = [line for line in conf.splitlines() if "proxy_pass" in line]
    checks.check(f"[gateway] every routed location refuses bodies over {body_size}, with the services' JSON 413",
                 proxying and all(f"client_max_body_size {body_size};" in line for line in proxying) and
                 f"return 413 '{chart.TOO_LARGE}';" in conf, proxying[:1])
    routed = chart.nginx_routes(conf, ports)
    checks.check("[gateway] the generated nginx.conf routes exactly the ingress's (path, service) set",
                 routed == routes and routes, {"nginx only": routed - routes, "ingress only": routes - routed})
    checks.check("[gateway] it listens on the given address, any Host header, everything else a JSON 404",
                 "listen 127.0.0.1:18080 default_server;" in conf and "server_name _;" in conf and
                 f"return 404 '{chart.NOT_FOUND}';" in conf)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stub(BaseHTTPRequestHandler):
    """A stand-in service: answers 200 with its name and the path it got."""

    service = "?"

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        answer = {"service": self.service, "path": self.path, "host": self.headers.get("host"), "length": length}
        if self.path.endswith("/big"):  # a response larger than nginx's buffers
            answer["padding"] = "x" * 3_000_000
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def request(port, method, path, host="arch.homework", body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body,
                                 headers={"Host": host, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, response.headers.get("content-type"), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type"), err.read()


def check_gateway_live(checks, routes, body_size, limits, allowlists):
    """Run the generated nginx against stub services and ask it (with the
    gateway's limits, which these few requests stay far below), then again
    with the admin paths allowed to another network than the loopback."""
    name = "[gateway] live nginx: public and admin requests reach their services, all else gets a JSON 404"
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not nginx:
        checks.skip(name, "nginx is not installed")
        return
    stubs = []
    for service in SERVICES:
        handler = type(f"Stub_{service}", (Stub,), {"service": service})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stubs.append(server)
    ports = {service: server.server_address[1] for service, server in zip(SERVICES, stubs)}
    prefix = Path(tempfile.mkdtemp(prefix="shop-gateway-test-"))
    # nginx's workers may run as `nobody`: they need to reach the temp paths.
    prefix.chmod(0o755)
    (prefix / "tmp").mkdir(mode=0o777)
    (prefix / "tmp").chmod(0o777)
    command = [nginx, "-p", f"{prefix}/", "-e", f"{prefix}/error.log", "-c", f"{prefix}/nginx.conf"]
    started = False
    try:
        for _ in range(3):  # the free port may be taken in between: retry
            port = free_port()
            (prefix / "nginx.conf").write_text(chart.nginx_conf(routes, prefix, f"127.0.0.1:{port}", ports,
                                                                body_size, limits, allowlists))
            tested = subprocess.run(command + ["-t", "-q"], capture_output=True, text=True)
            if tested.returncode != 0:
                checks.check("[gateway] nginx -t accepts the generated config", False, tested.stderr.strip())
                return
            if subprocess.run(command, capture_output=True).returncode == 0:
                started = True
                break
        if not started:
            checks.check(name, False, (prefix / "error.log").read_text()[-500:])
            return
        checks.check("[gateway] nginx -t accepts the generated config", True)
        wrong = []
        for path, want in PUBLIC_REQUESTS + ADMIN_REQUESTS:
            for method, host in (("GET", "arch.homework"), ("POST", f"127.0.0.1:{port}")):
                status, _, body = request(port, method, path, host, b"{}" if method == "POST" else None)
                got = json.loads(body) if status == 200 else {}
                if status != 200 or got.get("service") != want or got.get("path") != path or got.get("host") != host:
                    wrong.append((method, path, status, got.get("service")))
        # Bodies up to the ingress's limit pass, larger ones (announced or
        # chunked) get the JSON 413 and never reach a service; large
        # responses pass.
        limit = chart.size_bytes(body_size)
        status, _, body = request(port, "POST", "/api/orders/", body=b"x" * limit)
        if status != 200 or json.loads(body).get("length") != limit:
            wrong.append((f"POST {limit} bytes", status, body[:60]))
        status, _, body = request(port, "GET", "/api/orders/big")
        if status != 200 or len(json.loads(body).get("padding", "")) != 3_000_000:
            wrong.append(("GET 3 MB", status, len(body)))
        for what, data in ((f"{limit + 1} bytes", b"x" * (limit + 1)),
                           (f"{limit + 1} bytes chunked", iter([b"x" * (limit + 1)]))):
            status, content_type, body = request(port, "POST", "/api/token/verify/", body=data)
            if status != 413 or content_type != "application/json" or body != chart.TOO_LARGE.encode():
                wrong.append((f"POST {what}", status, body[:60]))
        status, _, body = request(port, "POST", "/api/profiles/", body=b"x" * (limit + 1))
        if status != 404:
            wrong.append((f"POST {limit + 1} bytes to an unknown path", status, body[:60]))
        for path in INTERNAL_REQUESTS + SMUGGLING_REQUESTS:
            for method in ("GET", "POST", "PUT", "DELETE"):
                status, content_type, body = request(port, method, path, body=b"{}" if method != "GET" else None)
                if status != 404 or content_type != "application/json" or json.loads(body) != {"error": "not found"}:
                    wrong.append((method, path, status, body[:60]))
        count = len(PUBLIC_REQUESTS + ADMIN_REQUESTS) * 2 + 5 + len(INTERNAL_REQUESTS + SMUGGLING_REQUESTS) * 4
        checks.check(f"{name} ({count} requests)", not wrong, wrong)
        # The admin paths allowed elsewhere only: this client (127.0.0.1)
        # gets the JSON 403 there and nowhere else.
        elsewhere = {route: ("10.0.0.0/8",) for route in allowlists}
        (prefix / "nginx.conf").write_text(chart.nginx_conf(routes, prefix, f"127.0.0.1:{port}", ports,
                                                            body_size, limits, elsewhere))
        reloaded = subprocess.run(command + ["-s", "reload"], capture_output=True, text=True)
        answers = []
        for _ in range(50):  # the new workers take over shortly after the reload
            answers = [request(port, "GET", path)[::2] for path, _ in ADMIN_REQUESTS]
            if all(status == 403 for status, _ in answers):
                break
            time.sleep(0.1)
        public = [request(port, "GET", path)[0] for path, _ in PUBLIC_REQUESTS]
        checks.check(f"[gateway] live nginx: a client outside the admin paths' allowed sources gets "
                     f"{chart.FORBIDDEN} (403) on all {len(ADMIN_REQUESTS)}, the public API still answers",
                     reloaded.returncode == 0 and elsewhere and
                     all(answer == (403, chart.FORBIDDEN.encode()) for answer in answers) and
                     all(status == 200 for status in public),
                     (reloaded.stderr.strip(), answers[:2], public))
        for stub in stubs:  # the services are down: JSON 502, not an HTML page
            stub.shutdown()
            stub.server_close()
        status, content_type, body = request(port, "GET", "/api/orders/")
        checks.check("[gateway] a service that is down: 502 with a JSON error",
                     status == 502 and content_type == "application/json" and b'"error"' in body,
                     (status, content_type, body[:80]))
    finally:
        if started:
            subprocess.run(command + ["-s", "stop"], capture_output=True)
            for _ in range(50):
                if not (prefix / "nginx.pid").exists():
                    break
                time.sleep(0.1)
        shutil.rmtree(prefix, ignore_errors=True)


# ------------------------------------------------------------------ main


def value_sets():
    yield "default", {}
    for path in sorted(TESTS.glob("values-*.yaml")):
        yield path.stem.removeprefix("values-"), chart.load_values([path])


def rendered(checks, label, values):
    """The manifests of `values`, or None (and a failed check) when the
    chart does not render."""
    try:
        return chart.render(values)
    except helm.HelmError as err:
        checks.check(f"[{label}] renders", False, err)
        return None


def rendered_and_valid(checks, label, values):
    """Lints and renders `values`, validates the manifests and their labels;
    the manifests, or None when the chart does not render."""
    check_lint(checks, label, values)
    docs = rendered(checks, label, values)
    if docs is None:
        return None
    check_kubernetes_schemas(checks, label, docs)
    check_labels(checks, label, docs)
    return docs


def main():
    started = time.monotonic()
    checks = Checks()
    for label, values in value_sets():
        docs = rendered_and_valid(checks, label, values)
        if docs is None:
            continue
        check_deployments(checks, label, docs, values)
        check_security(checks, label, docs)
        check_probes_and_resources(checks, label, docs)
        check_service_env(checks, label, docs, values)
        check_references(checks, label, docs, brought_secrets(values))
        check_services(checks, label, docs)
        check_ingress(checks, label, docs, values)
        check_edge(checks, label, docs, values)
        check_admin_ingress(checks, label, docs, values)
        check_gateway_limits(checks, label, docs)
        check_service_credentials(checks, label, docs, values)
        check_network_policies(checks, label, docs, values)
        check_redis_secret(checks, label, docs, values)
        check_database_roles(checks, label, docs, values)
        check_checksums(checks, label, docs, values)
        check_admin(checks, label, docs, values)
        check_store_tls(checks, label, docs, values)
        check_monitoring_off(checks, label, docs)
        check_tracing_off(checks, label, docs)
        if label == "default":
            mediator = by_component(docs, "Deployment").get("mediator", {})
            checks.check("[default] the mediator runs 2 replicas", mediator.get("spec", {}).get("replicas") == 2)
            check_in_chart_stores(checks, docs)
            check_generated_secrets(checks, docs)
        else:
            check_external(checks, label, docs, values)
    check_schema_refusals(checks)
    check_network_policy_values(checks)
    check_store_tls_values(checks)
    check_rollouts(checks)
    check_admin_values(checks)
    check_notes(checks)
    check_edge_values(checks)
    check_admin_ingress_values(checks)
    check_service_credentials_values(checks)
    check_monitoring(checks)
    check_tracing(checks)
    gateway = check_gateway_render(checks)
    if gateway:
        check_gateway_config(checks, *gateway)
        check_gateway_live(checks, *gateway)
    print(f"({time.monotonic() - started:.1f}s)")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
