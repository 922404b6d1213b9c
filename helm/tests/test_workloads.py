"""The services' workloads: a Deployment and a Service per service, one
image, the replicas the values ask for, probes and resources, rolling
updates that never lower capacity, each service's configuration (the
Configuration table of the docs), every reference resolving, and the
checksums that roll a pod when what it reads changes."""

import hashlib
import re

import yaml

import chart
from cases import (CONFIGURED, REFERENCING, VALUE_SETS, admin_expectations, brought_secrets, each,
                   tls_expectations)
from manifests import (by_component, config_map_value, config_value, containers, env_from_config, env_of,
                       kinds, main_container, pod_annotations, pod_spec, workloads)
from spec import (ADMIN_KEY, ADMIN_SERVICE, DEFAULT_MAX_UNFINISHED_ORDERS, DEFAULT_TRUSTED_PROXIES, RELEASE,
                  SERVICES)

VALUES_KEYS = {"auth": "auth", "billing": "billing", "order-api": "orderApi", "items": "items", "slots": "slots",
               "mediator": "mediator"}


@each(VALUE_SETS)
def test_a_deployment_per_service(case, docs):
    deployments = by_component(docs, "Deployment")
    assert sorted(deployments) == sorted(SERVICES), f"[{case.label}] Deployments for {sorted(deployments)}"


@each(VALUE_SETS)
def test_one_image_whose_command_picks_the_service(case, docs):
    image = case.values.get("image", {})
    app_version = yaml.safe_load((chart.CHART / "Chart.yaml").read_text())["appVersion"]
    expected = f"{image.get('repository', 'shop')}:{image.get('tag') or app_version}"
    bad = [f"{name}: {c.get('image')} {c.get('command')}"
           for name, c in ((name, main_container(d)) for name, d in by_component(docs, "Deployment").items())
           if c.get("command") != [f"/usr/local/bin/{name}"] or c.get("image") != expected]
    assert not bad, f"[{case.label}] want image {expected} and /usr/local/bin/<service>: {bad}"


@each(VALUE_SETS)
def test_replicas_as_the_values_say(case, docs):
    want = {name: case.values.get(key, {}).get("replicas", 2 if name == "mediator" else 1)
            for name, key in VALUES_KEYS.items()}
    got = {name: d["spec"].get("replicas") for name, d in by_component(docs, "Deployment").items()}
    assert got == want, f"[{case.label}] replicas {got}, want {want}"


def test_the_mediator_runs_two_replicas_by_default(default_docs):
    mediator = by_component(default_docs, "Deployment").get("mediator", {})
    assert mediator.get("spec", {}).get("replicas") == 2, f"the mediator's replicas: {mediator.get('spec')}"


@each(VALUE_SETS)
def test_readiness_on_ready_and_liveness_on_health(case, docs):
    """The stores have probes of their own."""
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        container = main_container(deployment)
        ready = container.get("readinessProbe", {}).get("httpGet", {})
        live = container.get("livenessProbe", {}).get("httpGet", {})
        if ready.get("path") != "/ready" or live.get("path") != "/health" or \
                ready.get("port") != "http" or live.get("port") != "http":
            bad.append(name)
    for workload in kinds(docs, "StatefulSet"):
        if any("readinessProbe" not in c or "livenessProbe" not in c for c in containers(pod_spec(workload))):
            bad.append(workload["metadata"]["name"])
    assert not bad, f"[{case.label}] without the readiness and liveness probes: {bad}"


@each(VALUE_SETS)
def test_every_container_has_cpu_and_memory_requests_and_limits(case, docs):
    bad = [f"{w['metadata']['name']}/{c['name']}" for w in workloads(docs) for c in containers(pod_spec(w))
           if any(k not in c.get("resources", {}).get(kind, {}) for kind in ("requests", "limits")
                  for k in ("cpu", "memory"))]
    assert not bad, f"[{case.label}] containers without cpu and memory requests and limits: {bad}"


@each(VALUE_SETS)
def test_rolling_updates_keep_capacity_and_let_the_mediator_drain(case, docs):
    """maxUnavailable 0 with a surge, a preStop pause so the ingress stops
    sending before a process stops, the mediator's grace longer than its
    drain."""
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        rolling = deployment["spec"].get("strategy", {}).get("rollingUpdate", {})
        if rolling.get("maxUnavailable") != 0 or not rolling.get("maxSurge"):
            bad.append(f"{name}: strategy {rolling}")
        pod = pod_spec(deployment)
        pre_stop = pod["containers"][0].get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        if name != "mediator" and pre_stop[:1] != ["sleep"]:
            bad.append(f"{name}: no preStop pause")
        if name == "mediator":
            period = pod.get("terminationGracePeriodSeconds", 30)
            configured = int(config_value(docs, "SHUTDOWN_GRACE_MS") or 10000)
            if period * 1000 <= configured:
                bad.append(f"mediator: terminationGracePeriodSeconds {period} within its drain {configured} ms")
    assert not bad, f"[{case.label}] rolling updates: {bad}"


@each(VALUE_SETS)
def test_a_service_per_service_selecting_its_pods_on_its_port(case, docs):
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
        container_ports = {p["name"] for p in main_container(deployment)["ports"]} if deployment else set()
        if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()) or \
                port["port"] != spec["port"] or port["targetPort"] not in container_ports:
            bad.append(f"{name}: selector {service['spec']['selector']}, port {port}")
    assert not bad, f"[{case.label}] Services that miss their pods or port: {bad}"


@each(VALUE_SETS)
def test_a_pod_disruption_budget_per_replicated_service(case, docs):
    """Exactly the services of more than one replica (by their replicas
    value) have one, which lets a drain evict one pod at a time
    (maxUnavailable 1) and selects that service's pods alone; a service of
    one replica has none (minAvailable 1 there would block every drain)."""
    pdbs = sorted(d["metadata"]["labels"]["app.kubernetes.io/component"] for d in kinds(docs, "PodDisruptionBudget"))
    enabled = case.values.get("podDisruptionBudget", {}).get("enabled", True)
    want = sorted(name for name, key in VALUES_KEYS.items()
                  if case.values.get(key, {}).get("replicas", 2 if name == "mediator" else 1) > 1) if enabled else []
    assert pdbs == want, f"[{case.label}] PodDisruptionBudgets for {pdbs}, want {want}"
    deployments, bad = by_component(docs, "Deployment"), []
    for pdb in kinds(docs, "PodDisruptionBudget"):
        name = pdb["metadata"]["labels"]["app.kubernetes.io/component"]
        selector = pdb["spec"].get("selector", {}).get("matchLabels", {})
        selects = sorted(n for n, d in deployments.items()
                         if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items()))
        if selects != [name] or pdb["spec"].get("matchExpressions"):
            bad.append(f"{name}: selects the pods of {selects}")
        if pdb["spec"].get("maxUnavailable") != 1 or "minAvailable" in pdb["spec"]:
            bad.append(f"{name}: {pdb['spec']}, want maxUnavailable 1")
    assert not bad, f"[{case.label}] {bad}"


@each(CONFIGURED)
def test_every_service_gets_its_configuration_and_only_its_secrets(case, docs):
    """What the Configuration table says each service needs: its address
    and port, its database, a caller its own credential and a callee its
    callers' digests, Redis where it queues, the JWT files it verifies or
    signs with (and auth the administrator's password file)."""
    admin = admin_expectations(case.values)
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        spec = SERVICES[name]
        container = main_container(deployment)
        env, config = env_of(container), env_from_config(docs, container)
        problems = []
        if config.get("HTTP_HOST") != "0.0.0.0":
            problems.append("HTTP_HOST is not 0.0.0.0")
        if env.get("HTTP_PORT", {}).get("value") != str(spec["port"]) or \
                container["ports"][0]["containerPort"] != spec["port"]:
            problems.append("HTTP_PORT")
        if "DATABASE_URL" not in env:
            problems.append("DATABASE_URL")
        tokens = {var for var in env if var.endswith("SERVICE_TOKEN")}
        digests = {var for var in env if var.endswith("SERVICE_TOKEN_SHA256")}
        if tokens != spec["tokens"] or digests != spec["digests"]:
            problems.append(f"service credentials {sorted(tokens)}, digests {sorted(digests)}")
        if ("REDIS_URL" in env) != spec["redis"]:
            problems.append("REDIS_URL")
        mounted = {item["path"] for volume in pod_spec(deployment).get("volumes", [])
                   for kind in ("secret", "configMap") if kind in volume for item in volume[kind].get("items", [])}
        want_files = spec["jwt"] | ({ADMIN_KEY} if admin and name == ADMIN_SERVICE else set())
        if mounted != want_files:
            problems.append(f"Secret and ConfigMap files {sorted(mounted)}, want {sorted(want_files)}")
        problems += [var for var in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE")
                     if not config.get(var, "").startswith("/etc/shop/jwt/")]
        if name == "mediator" and not all(config.get(v, "").startswith("http://")
                                          for v in ("BILLING_URL", "ITEMS_URL", "SLOTS_URL")):
            problems.append("participant URLs")
        if problems:
            bad.append(f"{name}: {', '.join(problems)}")
    assert not bad, f"[{case.label}] services missing their configuration: {bad}"


@each(CONFIGURED)
def test_the_edge_services_alone_trust_the_proxies(case, docs):
    """auth, billing and order-api, which the ingress reaches, get
    TRUSTED_PROXIES (trustedProxies, comma-separated) and
    TRUST_INCOMING_TRACEPARENT (tracing.trustIncomingTraceparent, false by
    default); the internal ones neither, so they keep continuing their
    callers' traces. order-api gets MAX_UNFINISHED_ORDERS."""
    proxies = ",".join(case.values.get("trustedProxies", DEFAULT_TRUSTED_PROXIES))
    trace = "true" if case.values.get("tracing", {}).get("trustIncomingTraceparent", False) else "false"
    unfinished = str(case.values.get("config", {}).get("maxUnfinishedOrders", DEFAULT_MAX_UNFINISHED_ORDERS))
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        container = main_container(deployment)
        env, config = env_of(container), env_from_config(docs, container)
        got = {var: env[var].get("value") if var in env else config.get(var)
               for var in ("TRUSTED_PROXIES", "TRUST_INCOMING_TRACEPARENT") if var in env or var in config}
        want = {"TRUSTED_PROXIES": proxies, "TRUST_INCOMING_TRACEPARENT": trace} if SERVICES[name]["edge"] else {}
        if got != want:
            bad.append(f"{name}: {got}, want {want}")
        if name == "order-api" and config.get("MAX_UNFINISHED_ORDERS") != unfinished:
            bad.append(f"order-api: MAX_UNFINISHED_ORDERS {config.get('MAX_UNFINISHED_ORDERS')!r}, want {unfinished}")
    assert not bad, f"[{case.label}] {bad}"


@each(REFERENCING)
def test_every_configmap_and_secret_reference_resolves(case, docs):
    """Every ConfigMap, Secret and key a pod refers to is rendered, or is a
    Secret the values say the user brings."""
    configmaps = {d["metadata"]["name"]: set(d.get("data", {})) for d in kinds(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: set(d.get("data", {})) | set(d.get("stringData", {}))
               for d in kinds(docs, "Secret")}
    brought = brought_secrets(case.values)
    bad = []

    def resolve(kind, name, key=None):
        known = configmaps if kind == "ConfigMap" else secrets
        if kind == "Secret" and name in brought:
            return
        if name not in known:
            bad.append(f"{kind} {name} is neither rendered nor brought")
        elif key is not None and key not in known[name]:
            bad.append(f"{kind} {name} has no key {key}")

    for workload in workloads(docs):
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
    assert not bad, f"[{case.label}] unresolved references: {bad}"


def expected_checksums(values, name):
    """The checksum annotations the pods of service `name` must carry: one
    per ConfigMap and Secret they read."""
    spec, tls, admin = SERVICES[name], tls_expectations(values), admin_expectations(values)
    return {"checksum/config", "checksum/database"} | \
        ({"checksum/secrets"} if spec["tokens"] or "jwt-private.pem" in spec["jwt"] else set()) | \
        ({"checksum/digests"} if spec["digests"] else set()) | \
        ({"checksum/jwt-public"} if spec["jwt"] == {"jwt-public.pem"} else set()) | \
        ({"checksum/redis"} if spec["redis"] else set()) | \
        ({"checksum/postgresql-ca"} if tls["pg_ca"] else set()) | \
        ({"checksum/redis-ca"} if spec["redis"] and tls["redis_ca"] else set()) | \
        ({"checksum/admin"} if admin and name == ADMIN_SERVICE else set())


def brought_checksums(values):
    """checksum key -> the brought Secret whose name it is the checksum of."""
    secrets, pg, redis = values.get("secrets", {}), values.get("postgresql", {}), values.get("redis", {})
    external_db, external_redis = values.get("externalDatabase", {}), values.get("externalRedis", {})
    admin, tls = admin_expectations(values), tls_expectations(values)
    return {
        "checksum/secrets": secrets.get("existingSecret"),
        "checksum/digests": secrets.get("existingDigestSecret"),
        "checksum/database": (pg.get("existingSecret") if pg.get("enabled", True) else
                              external_db.get("existingSecret") or external_db.get("passwordSecret")),
        "checksum/redis": (redis.get("existingSecret") if redis.get("enabled", True) else
                           external_redis.get("existingSecret") or
                           external_redis.get("cluster", {}).get("passwordSecret", {}).get("name")),
        "checksum/admin": admin and not admin["generated"] and admin["secret"],
        "checksum/postgresql-ca": tls["pg_ca"][0] if tls["pg_ca"] and not tls["pg_generated"] else None,
        "checksum/redis-ca": tls["redis_ca"][0] if tls["redis_ca"] and not tls["redis_generated"] else None,
    }


@each(REFERENCING)
def test_the_pods_carry_a_checksum_of_each_configmap_and_secret_they_read(case, docs):
    """A changed Secret or ConfigMap rolls the pods that read it (the
    credentials: the callers; the digests: the callees; the public key: the
    verifiers); a brought Secret's checksum is its name's."""
    brought = brought_checksums(case.values)
    public = config_map_value(docs, f"{RELEASE}-jwt-public", "jwt-public.pem")
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        annotations = pod_annotations(deployment)
        want = expected_checksums(case.values, name)
        got = {k for k in annotations if k.startswith("checksum/")}
        if got != want:
            bad.append(f"{name}: {sorted(got)}, want {sorted(want)}")
        for key in got & want:
            if not re.fullmatch(r"[0-9a-f]{64}", str(annotations[key])):
                bad.append(f"{name}: {key} is not a sha256")
            elif brought.get(key) and annotations[key] != hashlib.sha256(brought[key].encode()).hexdigest():
                bad.append(f"{name}: {key} is not the checksum of the brought Secret's name")
        # With the credentials brought the public key is no random draw:
        # the checksum is that of the ConfigMap's very content.
        if "checksum/jwt-public" in got and case.values.get("secrets", {}).get("existingSecret") and \
                annotations["checksum/jwt-public"] != hashlib.sha256((public or "").encode()).hexdigest():
            bad.append(f"{name}: checksum/jwt-public is not that of {RELEASE}-jwt-public")
    assert not bad, f"[{case.label}] {bad}"
