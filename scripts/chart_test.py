"""The chart's test (run by scripts/chart-test): offline, with Helm's own
engine and the Kubernetes schemas.

For the default values and each values file under helm/tests/ it lints the
chart, renders it, validates every manifest against the Kubernetes schemas,
and checks what the specification demands of it: the ingress routes exactly
the public API, every container runs as non-root with probes and resources,
every reference (ConfigMap, Secret, Service) resolves. Then it proves that the
local gateway (scripts/gateway) routes exactly what the ingress routes: by
reading its generated nginx.conf back, and by running that nginx against stub
services and asking it. One line per check, then `N passed, M failed`.
"""

import base64
import json
import os
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
import kubernetes_validate
import yaml

import chart

TESTS = chart.CHART / "tests"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the
# newest whose schemas kubernetes-validate ships.
KUBE_VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]
LINT_KUBE_VERSION = "v" + KUBE_VERSIONS[-1]

# The services: their local ports (scripts/lib.sh), databases, and who gets
# which secret.
SERVICES = {
    "auth": {"port": 8001, "db": "auth", "token": True, "redis": False,
             "jwt": {"jwt-private.pem", "jwt-public.pem"}},
    "billing": {"port": 8002, "db": "billing", "token": True, "redis": False, "jwt": {"jwt-public.pem"}},
    "order-api": {"port": 8003, "db": "orders", "token": False, "redis": True, "jwt": {"jwt-public.pem"}},
    "items": {"port": 8004, "db": "items", "token": True, "redis": False, "jwt": set()},
    "slots": {"port": 8005, "db": "slots", "token": True, "redis": False, "jwt": set()},
    "mediator": {"port": 8006, "db": "orders", "token": True, "redis": True, "jwt": set()},
}
DATABASES = {"auth", "billing", "orders", "items", "slots"}

# The public API (SPEC section 2): exactly what the ingress routes, and where.
PUBLIC = {
    ("/api/auth/users", "Prefix", "auth"),
    ("/api/token", "Prefix", "auth"),
    ("/api/accounts", "Prefix", "billing"),
    ("/api/orders", "Prefix", "order-api"),
    ("/api/openapi.yaml", "Prefix", "auth"),
}
# Requests that must reach a service, and where (the spec's public paths).
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


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=None):
        if ok:
            self.passed += 1
            print(f"ok   {name}", flush=True)
        else:
            self.failed += 1
            suffix = f": {detail}" if detail not in (None, "", [], set(), {}) else ""
            print(f"FAIL {name}{suffix}", flush=True)
        return ok

    @staticmethod
    def skip(name, why):
        print(f"skip {name} ({why})", flush=True)


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


# ---------------------------------------------------------------- checks


def check_lint(checks, label, values):
    report = helm.lint(str(chart.CHART), values, strict=True, kube_version=LINT_KUBE_VERSION,
                       namespace=chart.NAMESPACE)
    problems = [f"{m.get('path')}: {m.get('error')}" for m in report.get("messages", [])
                if m.get("severity", 0) >= 2]
    problems += report.get("errors") or []
    checks.check(f"[{label}] helm lint --strict", not problems, problems)


def check_kubernetes_schemas(checks, label, docs):
    for version in KUBE_VERSIONS:
        invalid = []
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                path = "/".join(str(p) for p in err.path)
                invalid.append(f"{doc['kind']}/{doc['metadata']['name']} {path}: {err.message}")
            except kubernetes_validate.SchemaNotFoundError as err:
                invalid.append(f"{doc['kind']}/{doc['metadata']['name']}: no schema ({err})")
        checks.check(f"[{label}] {len(docs)} manifests valid against the Kubernetes {version} schemas (strict)",
                     not invalid, invalid)


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


def check_service_env(checks, label, docs):
    """Each service gets what README's Configuration table says it needs."""
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
        if ("SERVICE_TOKEN" in env) != spec["token"]:
            problems.append("SERVICE_TOKEN")
        if ("REDIS_URL" in env) != spec["redis"]:
            problems.append("REDIS_URL")
        mounted = set()
        for volume in pod_spec(deployment).get("volumes", []):
            if "secret" in volume:
                mounted |= {item["path"] for item in volume["secret"].get("items", [])}
        if mounted != spec["jwt"]:
            problems.append(f"JWT files {sorted(mounted)}")
        for var in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"):
            if not config.get(var, "").startswith("/etc/shop/jwt/"):
                problems.append(var)
        if name == "mediator" and not all(config.get(v, "").startswith("http://") for v in
                                          ("BILLING_URL", "ITEMS_URL", "SLOTS_URL")):
            problems.append("participant URLs")
        if problems:
            bad.append(f"{name}: {', '.join(problems)}")
    checks.check(f"[{label}] every service gets its configuration (README's table), and only its secrets", not bad, bad)


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


def check_ingress(checks, label, docs, values):
    ingresses = kinds(docs, "Ingress")
    if not values.get("ingress", {}).get("enabled", True):
        checks.check(f"[{label}] ingress.enabled=false renders no Ingress", not ingresses)
        return set()
    host = values.get("ingress", {}).get("host", "arch.homework")
    checks.check(f"[{label}] one Ingress, class nginx, host {host}",
                 len(ingresses) == 1 and all(i["spec"].get("ingressClassName") == "nginx" and
                                             [r.get("host") for r in i["spec"]["rules"]] == [host]
                                             for i in ingresses),
                 [(i["spec"].get("ingressClassName"), [r.get("host") for r in i["spec"]["rules"]]) for i in ingresses])
    routes = chart.ingress_routes(docs)
    checks.check(f"[{label}] the ingress routes exactly the public API, to the right services",
                 routes == PUBLIC, {"unexpected": routes - PUBLIC, "missing": PUBLIC - routes})
    services = {s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in kinds(docs, "Service")}
    bad = [p["path"] for i in ingresses for r in i["spec"]["rules"] for p in r["http"]["paths"]
           if services.get(p["backend"]["service"]["name"]) != p["backend"]["service"]["port"].get("number")]
    checks.check(f"[{label}] every ingress backend is a rendered Service on its port", not bad, bad)
    wrong = [(path, chart.ingress_match(routes, path), want) for path, want in PUBLIC_REQUESTS
             if chart.ingress_match(routes, path) != want]
    checks.check(f"[{label}] every public request reaches its service through the ingress", not wrong, wrong)
    leaked = [(path, chart.ingress_match(routes, path)) for path in INTERNAL_REQUESTS
              if chart.ingress_match(routes, path) is not None]
    checks.check(f"[{label}] no internal path is routed ({len(INTERNAL_REQUESTS)} tried: /api/profiles/, "
                 "/internal/..., /health, /ready, /metrics, near misses)", not leaked, leaked)
    exposed = {service for _, _, service in routes} & {"items", "slots", "mediator"}
    checks.check(f"[{label}] items, slots and mediator have no route", not exposed, exposed)
    ingress_values = values.get("ingress", {})
    want = ingress_values.get("annotations", {}).get(chart.BODY_SIZE_ANNOTATION) or \
        ingress_values.get("maxBodySize", "16k") or None
    got = chart.ingress_body_size(docs)
    checks.check(f"[{label}] the ingress refuses bodies over {want} (proxy-body-size)", got == want, got)
    return routes


def check_in_chart_stores(checks, docs):
    label = "default"
    statefulsets = by_component(docs, "StatefulSet")
    checks.check(f"[{label}] in-chart PostgreSQL and Redis StatefulSets", sorted(statefulsets) == ["postgresql", "redis"],
                 sorted(statefulsets))
    init = next((d for d in kinds(docs, "ConfigMap") if d["metadata"]["name"].endswith("-postgresql-init")), None)
    sql = "\n".join((init or {}).get("data", {}).values())
    created = {line.split()[2].rstrip(";") for line in sql.splitlines() if line.startswith("CREATE DATABASE")}
    checks.check(f"[{label}] PostgreSQL's init script creates the five databases", created == DATABASES, created)
    urls = {name: env_of(pod_spec(d)["containers"][0]).get("DATABASE_URL", {}).get("value", "")
            for name, d in by_component(docs, "Deployment").items()}
    bad = {n: u for n, u in urls.items() if not u.endswith(f"-postgresql:5432/{SERVICES[n]['db']}")
           or "$(DATABASE_PASSWORD)" not in u}
    checks.check(f"[{label}] each service's DATABASE_URL names its own database (orders shared), password from the Secret",
                 not bad, bad)
    redis = statefulsets.get("redis")
    args = pod_spec(redis)["containers"][0].get("args", []) if redis else []
    checks.check(f"[{label}] Redis keeps an append-only file", "--appendonly" in args and
                 args[args.index("--appendonly") + 1] == "yes", args)


def check_generated_secrets(checks, docs):
    label = "default"
    secrets = {d["metadata"]["name"]: d for d in kinds(docs, "Secret")}
    main = secrets.get("shop-secrets", {}).get("data", {})
    pg = secrets.get("shop-postgresql", {}).get("data", {})
    kept = all(s["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep" for s in secrets.values())
    token = base64.b64decode(main.get("service-token", "")).decode()
    checks.check(f"[{label}] secrets generated when none are brought (service token, JWT pair, PostgreSQL password; "
                 "resource-policy keep)",
                 len(token) >= 16 and {"jwt-private.pem", "jwt-public.pem"} <= set(main) and
                 len(base64.b64decode(pg.get("postgres-password", ""))) >= 16 and kept,
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
            ok = url.get("value") == (f"postgres://{database['username']}:$(DATABASE_PASSWORD)@{database['host']}:"
                                      f"{database.get('port', 5432)}/{database['databases'][db]}") and \
                env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == \
                {"name": database["passwordSecret"], "key": database.get("passwordKey", "password")}
        if not ok:
            bad.append(f"{name} DATABASE_URL")
        if SERVICES[name]["redis"]:
            redis = values["externalRedis"]
            want = ({"valueFrom": {"secretKeyRef": {"name": redis["existingSecret"],
                                                   "key": redis.get("existingSecretKey", "redis-url")}}}
                    if redis.get("existingSecret") else {"value": redis["url"]})
            if {k: v for k, v in env.get("REDIS_URL", {}).items() if k != "name"} != want:
                bad.append(f"{name} REDIS_URL")
    checks.check(f"[{label}] the services use the external database and Redis the values name", not bad, bad)
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
    ]
    accepted = []
    for name, values in cases:
        try:
            chart.render(values)
            accepted.append(name)
        except helm.HelmError:
            pass
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


# ---------------------------------------------------------- the gateway


def check_gateway_config(checks, routes, body_size):
    """The generated nginx.conf, read back, routes what the ingress routes."""
    ports = {name: spec["port"] for name, spec in SERVICES.items()}
    conf = chart.nginx_conf(routes, "/tmp/gateway-test", "127.0.0.1:18080", ports, body_size)
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


def check_gateway_live(checks, routes, body_size):
    """Run the generated nginx against stub services and ask it."""
    name = "[gateway] live nginx: public requests reach their services, all else gets a JSON 404"
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
                                                                body_size))
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
        for path, want in PUBLIC_REQUESTS:
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
        count = len(PUBLIC_REQUESTS) * 2 + 5 + len(INTERNAL_REQUESTS + SMUGGLING_REQUESTS) * 4
        checks.check(f"{name} ({count} requests)", not wrong, wrong)
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


def main():
    started = time.monotonic()
    checks = Checks()
    default_routes, default_body_size = set(), None
    for label, values in value_sets():
        check_lint(checks, label, values)
        try:
            docs = chart.render(values)
        except helm.HelmError as err:
            checks.check(f"[{label}] renders", False, err)
            continue
        check_kubernetes_schemas(checks, label, docs)
        check_labels(checks, label, docs)
        check_deployments(checks, label, docs, values)
        check_security(checks, label, docs)
        check_probes_and_resources(checks, label, docs)
        check_service_env(checks, label, docs)
        brought = {values.get("secrets", {}).get("existingSecret"), values.get("postgresql", {}).get("existingSecret"),
                   values.get("externalDatabase", {}).get("existingSecret"),
                   values.get("externalDatabase", {}).get("passwordSecret"),
                   values.get("externalRedis", {}).get("existingSecret")} - {None, ""}
        check_references(checks, label, docs, brought)
        check_services(checks, label, docs)
        routes = check_ingress(checks, label, docs, values)
        if label == "default":
            default_routes, default_body_size = routes, chart.ingress_body_size(docs)
            mediator = by_component(docs, "Deployment").get("mediator", {})
            checks.check("[default] the mediator runs 2 replicas", mediator.get("spec", {}).get("replicas") == 2)
            check_in_chart_stores(checks, docs)
            check_generated_secrets(checks, docs)
        else:
            check_external(checks, label, docs, values)
    check_schema_refusals(checks)
    check_notes(checks)
    check_gateway_config(checks, default_routes, default_body_size)
    check_gateway_live(checks, default_routes, default_body_size)
    print(f"({time.monotonic() - started:.1f}s)")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
