"""Losing a server (SPEC section 8, issue 25 item 5): PostgreSQL given as a
primary and its standbys (externalDatabase.hosts: every URL names them all
with target_session_attrs=read-write) or as a CloudNativePG Cluster of the
chart's (postgresql.mode cloudnativepg: synchronous standbys, the roles and
databases as in-chart, validated against CloudNativePG's own CRDs); Redis
as a Redis Cluster (externalRedis.cluster); the mediator's replicas spread
over nodes, and a PodDisruptionBudget for every replicated service alone
(test_workloads.py)."""

import base64
import copy
import re

import pytest

import chart
import cnpg_crds
from cases import CLOUDNATIVEPG, CLOUDNATIVEPG_CASES, EXTERNAL_CLUSTER, EXTERNAL_HOST, VALUE_SETS, each, merge
from manifests import by_component, env_of, kinds, main_container, mounted_secret_files, pod_spec, secret_ref
from rendering import refusal
from spec import DATABASES, PG_CA_FILE, RELEASE, SERVICES
from test_store_tls import pg_hba_problems

CLUSTER = f"{RELEASE}-postgresql"


def database_urls(docs):
    """{service: its DATABASE_URL's value}."""
    return {name: env_of(main_container(d)).get("DATABASE_URL", {}).get("value", "")
            for name, d in by_component(docs, "Deployment").items()}


def values_of(case_values, *path, default=None):
    for key in path:
        case_values = case_values.get(key, {}) if isinstance(case_values, dict) else {}
    return case_values or default


# ------------------------------------------------ several PostgreSQL hosts


MULTI_HOST = merge(EXTERNAL_HOST, {"externalDatabase": {
    "host": "", "hosts": [{"host": "pg-a.example", "port": 5432}, {"host": "pg-b.example", "port": 6543},
                          {"host": "pg-c.example"}]}})


@pytest.mark.parametrize("values", [pytest.param(EXTERNAL_CLUSTER, id="external-cluster"),
                                    pytest.param(MULTI_HOST, id="external-host, three hosts")])
def test_every_database_url_names_every_host_and_asks_for_the_primary(values):
    """host1:port1,host2:port2,... in the order given (5432 where no port),
    each service its own role and database, target_session_attrs=read-write
    first in the query, then the sslmode as for one host."""
    docs = chart.render(values)
    database = values["externalDatabase"]
    servers = ",".join(f"{h['host']}:{h.get('port', 5432)}" for h in database["hosts"])
    bad = {}
    for name, url in database_urls(docs).items():
        db = SERVICES[name]["db"]
        role = database["roles"][db]
        name_in_server = database.get("databases", {}).get(db, db)
        match = re.fullmatch(r"postgres://([^:@]+):\$\(DATABASE_PASSWORD\)@([^/]+)/([^?]+)\?(.*)", url)
        if not match or match.groups()[:3] != (role, servers, name_in_server) or \
                match.group(4).split("&")[0] != "target_session_attrs=read-write" or \
                "sslmode=verify-full" not in match.group(4).split("&"):
            bad[name] = url
    assert len(database_urls(docs)) == len(SERVICES) and not bad, \
        f"DATABASE_URLs that do not name {servers} with target_session_attrs=read-write: {bad}"


def test_one_host_asks_for_no_primary():
    """A single server (or a CloudNativePG -rw Service, which always is the
    primary) needs no target_session_attrs: the URLs stay as before."""
    urls = database_urls(chart.render(EXTERNAL_HOST))
    bad = {name: url for name, url in urls.items() if "target_session_attrs" in url or url.count(":") != 3}
    assert not bad, f"one host, yet {bad}"


# ------------------------------------------------------------ Redis Cluster


@pytest.mark.parametrize("tls, username, scheme", [(True, "", "rediss+cluster"), (False, "shop", "redis+cluster")])
def test_a_redis_cluster_url_names_its_nodes_with_the_password_from_its_secret(tls, username, scheme):
    """order-api and the mediator alone: REDIS_PASSWORD from the cluster's
    Secret, before REDIS_URL (Kubernetes substitutes only variables defined
    earlier), and REDIS_URL redis+cluster:// (rediss+cluster:// with TLS)
    naming every node; no Secret of the chart's holds a Redis URL."""
    values = merge(EXTERNAL_CLUSTER, {"externalRedis": {"cluster": {"tls": tls, "username": username}}})
    docs = chart.render(values)
    nodes = ",".join(values["externalRedis"]["cluster"]["nodes"])
    want = f"{scheme}://{username}:$(REDIS_PASSWORD)@{nodes}"
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        env = main_container(deployment).get("env", [])
        names = [var["name"] for var in env]
        by_name = env_of(main_container(deployment))
        if not SERVICES[name]["redis"]:
            if {"REDIS_URL", "REDIS_PASSWORD"} & set(names):
                bad.append(f"{name}: gets Redis")
            continue
        if by_name.get("REDIS_URL", {}).get("value") != want:
            bad.append(f"{name}: REDIS_URL {by_name.get('REDIS_URL')}, want {want}")
        if secret_ref(by_name.get("REDIS_PASSWORD")) != ("shop-redis-cluster", "redis-password"):
            bad.append(f"{name}: REDIS_PASSWORD {by_name.get('REDIS_PASSWORD')}")
        elif names.index("REDIS_PASSWORD") > names.index("REDIS_URL"):
            bad.append(f"{name}: REDIS_PASSWORD after REDIS_URL, which then keeps $(REDIS_PASSWORD) as it is")
    bad += [f"Secret {s['metadata']['name']} holds a Redis URL" for s in kinds(docs, "Secret")
            if "redis-url" in s.get("data", {})]
    assert not bad, bad


def test_a_redis_cluster_over_tls_is_verified_against_its_ca():
    docs = chart.render(EXTERNAL_CLUSTER)
    bad = []
    for name in ("order-api", "mediator"):
        deployment = by_component(docs, "Deployment")[name]
        pod = pod_spec(deployment)
        files = mounted_secret_files(pod, pod["containers"][0])
        ca = files.get("/etc/shop/tls/redis-ca.crt")
        if not ca or (ca["secret"], ca["key"]) != ("shop-redis-ca", "ca.crt") or \
                env_of(main_container(deployment)).get("REDIS_CA_FILE", {}).get("value") != \
                "/etc/shop/tls/redis-ca.crt":
            bad.append(name)
    assert not bad, f"without the cluster's CA: {bad}"


# ------------------------------------------------- CloudNativePG (in-chart)


def cnpg_objects(docs, kind):
    return [d for d in docs if d["apiVersion"] == "postgresql.cnpg.io/v1" and d["kind"] == kind]


def test_the_default_is_the_single_pod_statefulset(default_docs):
    assert not [d for d in default_docs if d["apiVersion"].startswith("postgresql.cnpg.io")], \
        "the default values render CloudNativePG objects"
    assert "postgresql" in by_component(default_docs, "StatefulSet"), "no in-chart PostgreSQL by default"


@each([CLOUDNATIVEPG])
def test_cloudnativepg_renders_a_cluster_of_three_with_a_synchronous_standby(case, docs):
    """One Cluster (postgresql.cnpg.io/v1) of 3 instances; quorum-based
    synchronous replication (method any) on 1 standby, commits waiting
    while none is connected (dataDurability required)."""
    clusters = cnpg_objects(docs, "Cluster")
    assert [c["metadata"]["name"] for c in clusters] == [CLUSTER], f"Clusters {clusters}"
    spec = clusters[0]["spec"]
    assert spec["instances"] == 3, f"instances {spec['instances']}"
    assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}, \
        f"synchronous {spec['postgresql'].get('synchronous')}"


@each(CLOUDNATIVEPG_CASES)
def test_cloudnativepg_replaces_the_in_chart_postgresql(case, docs):
    """No StatefulSet, Service, NetworkPolicy, Secret or certificate of the
    single-pod PostgreSQL."""
    leftovers = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
                 if d["apiVersion"] != "postgresql.cnpg.io/v1" and d["kind"] != "Secret" and
                 d["metadata"]["labels"].get("app.kubernetes.io/component") == "postgresql"]
    leftovers += [name for name in (f"{RELEASE}-postgresql", f"{RELEASE}-postgresql-tls")
                  if name in {s["metadata"]["name"] for s in kinds(docs, "Secret")}]
    assert not leftovers, f"[{case.label}] the single-pod PostgreSQL is still rendered: {leftovers}"


@each(CLOUDNATIVEPG_CASES)
def test_cloudnativepg_settings_follow_the_values(case, docs):
    pg = case.values["postgresql"]
    c = pg.get("cloudnativepg", {})
    spec = cnpg_objects(docs, "Cluster")[0]["spec"]
    want = {"instances": c.get("instances", 3), "imageName": c.get("imageName") or None,
            "number": values_of(c, "synchronous", "number", default=1),
            "dataDurability": values_of(c, "synchronous", "dataDurability", default="required"),
            "size": pg.get("storage", "1Gi"), "storageClass": pg.get("storageClass") or None,
            "max_connections": str(pg.get("maxConnections", 200))}
    got = {"instances": spec["instances"], "imageName": spec.get("imageName"),
           "number": spec["postgresql"]["synchronous"]["number"],
           "dataDurability": spec["postgresql"]["synchronous"]["dataDurability"],
           "size": spec["storage"]["size"], "storageClass": spec["storage"].get("storageClass"),
           "max_connections": spec["postgresql"]["parameters"]["max_connections"]}
    assert got == want, f"[{case.label}] {got}, want {want}"


@each(CLOUDNATIVEPG_CASES)
def test_cloudnativepg_gives_each_database_a_login_role_that_owns_it(case, docs):
    """managed.roles: one LOGIN role per database, named after it, no
    superuser, createdb, createrole or replication, its password a
    basic-auth Secret the chart renders (username the role, 32 letters and
    digits, kept on uninstall); a Database resource per database, owned by
    its role, in this Cluster, kept when the chart is uninstalled."""
    spec = cnpg_objects(docs, "Cluster")[0]["spec"]
    roles = {r["name"]: r for r in spec.get("managed", {}).get("roles", [])}
    secrets = {s["metadata"]["name"]: s for s in kinds(docs, "Secret")}
    problems = [] if set(roles) == DATABASES else [f"roles {sorted(roles)}"]
    for name, role in roles.items():
        flags = {k: role.get(k, False) for k in ("login", "superuser", "createdb", "createrole", "replication")}
        if flags != {"login": True, "superuser": False, "createdb": False, "createrole": False,
                     "replication": False} or role.get("ensure", "present") != "present":
            problems.append(f"{name}: {flags}")
        secret = secrets.get(role.get("passwordSecret", {}).get("name"), {})
        data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
        if secret.get("type") != "kubernetes.io/basic-auth" or data.get("username") != name or \
                not re.fullmatch(r"[A-Za-z0-9]{32}", data.get("password", "")) or \
                secret["metadata"].get("annotations", {}).get("helm.sh/resource-policy") != "keep":
            problems.append(f"{name}: password Secret {role.get('passwordSecret')} is not a kept basic-auth one")
    databases = {d["spec"]["name"]: d["spec"] for d in cnpg_objects(docs, "Database")}
    if set(databases) != DATABASES:
        problems.append(f"Databases {sorted(databases)}")
    problems += [f"Database {name}: {d}" for name, d in databases.items()
                 if d.get("owner") != name or d.get("cluster") != {"name": CLUSTER} or
                 d.get("ensure", "present") != "present" or d.get("databaseReclaimPolicy") != "retain"]
    assert not problems, f"[{case.label}] {problems}"


@each(CLOUDNATIVEPG_CASES)
def test_cloudnativepg_pg_hba_admits_each_role_to_its_own_database_over_tls(case, docs):
    """The Cluster's pg_hba lines, as the operator writes pg_hba.conf: its
    own lines first (the socket; certificate lines for its replication and
    pooler users alone, left out here), then ours, then its default
    `host all all all scram-sha-256`. Replayed for every role, database,
    address and TLS or not, as for the in-chart server: without our lines
    that default would let any role into any database."""
    lines = cnpg_objects(docs, "Cluster")[0]["spec"]["postgresql"].get("pg_hba", [])
    hba = "\n".join(["local all all peer map=local", *lines, "host all all all scram-sha-256"])
    problems = pg_hba_problems(hba, True, "postgres")
    assert not problems, f"[{case.label}] pg_hba {lines}: {problems}"


@each(CLOUDNATIVEPG_CASES)
def test_cloudnativepg_services_reach_the_primary_over_verified_tls(case, docs):
    """Every service: <cluster>-rw (the Service the operator keeps on the
    primary), its own role and database, the role's Secret's password,
    sslmode verify-full against the operator's CA (<cluster>-ca, ca.crt
    alone, read-only)."""
    bad = {}
    for name, deployment in by_component(docs, "Deployment").items():
        db = SERVICES[name]["db"]
        env = env_of(main_container(deployment))
        pod = pod_spec(deployment)
        ca = mounted_secret_files(pod, pod["containers"][0]).get(PG_CA_FILE)
        url = env.get("DATABASE_URL", {}).get("value")
        if url != f"postgres://{db}:$(DATABASE_PASSWORD)@{CLUSTER}-rw:5432/{db}" \
                  f"?sslmode=verify-full&sslrootcert={PG_CA_FILE}" or \
                secret_ref(env.get("DATABASE_PASSWORD")) != (f"{CLUSTER}-{db}", "password") or \
                not ca or (ca["secret"], ca["key"], ca["readOnly"]) != (f"{CLUSTER}-ca", "ca.crt", True):
            bad[name] = (url, secret_ref(env.get("DATABASE_PASSWORD")), ca)
    assert len(bad) == 0 and by_component(docs, "Deployment"), f"[{case.label}] {bad}"


@each(CLOUDNATIVEPG_CASES)
def test_cloudnativepg_objects_are_valid_against_its_own_crds(case, docs):
    """The Cluster and every Database against CloudNativePG's CRD schemas
    (crds/, from the cloudnative-pg repository), unknown fields refused,
    and the CEL rules a create is judged by."""
    objects = [d for d in docs if d["apiVersion"].startswith("postgresql.cnpg.io/")]
    assert {d["kind"] for d in objects} == {"Cluster", "Database"}, f"[{case.label}] {objects}"
    invalid = {f"{d['kind']}/{d['metadata']['name']}": cnpg_crds.problems(d) for d in objects}
    invalid = {k: v for k, v in invalid.items() if v}
    assert not invalid, f"[{case.label}] refused by CloudNativePG's CRDs: {invalid}"


def broken(docs, kind, change):
    doc = copy.deepcopy(next(d for d in cnpg_objects(docs, kind)))
    change(doc)
    return doc


BREAKS = [
    ("Cluster", "a misspelled field (spec.instance)", lambda d: d["spec"].update(instance=3)),
    ("Cluster", "synchronous.method quorum", lambda d: d["spec"]["postgresql"]["synchronous"].update(method="quorum")),
    ("Cluster", "synchronous.number 0", lambda d: d["spec"]["postgresql"]["synchronous"].update(number=0)),
    ("Cluster", "synchronous without method", lambda d: d["spec"]["postgresql"]["synchronous"].pop("method")),
    ("Cluster", "instances as a string", lambda d: d["spec"].update(instances="3")),
    ("Cluster", "a role's password Secret without a name",
     lambda d: d["spec"]["managed"]["roles"][0].update(passwordSecret={})),
    ("Cluster", "a field the vendored extract leaves out (spec.bootstrap)",
     lambda d: d["spec"].update(bootstrap={"initdb": {"database": "app"}})),
    ("Database", "no owner", lambda d: d["spec"].pop("owner")),
    ("Database", "the reserved name postgres", lambda d: d["spec"].update(name="postgres")),
    ("Database", "databaseReclaimPolicy keep", lambda d: d["spec"].update(databaseReclaimPolicy="keep")),
]


@pytest.mark.parametrize("kind, change", [pytest.param(kind, change, id=label) for kind, label, change in BREAKS])
def test_the_crd_validation_refuses_what_cloudnativepg_would(kind, change, renders):
    """The check above is no formality: each of these breaks of a rendered
    object is refused."""
    doc = broken(renders(CLOUDNATIVEPG), kind, change)
    assert cnpg_crds.problems(doc), f"CloudNativePG's CRD schema accepts a {kind} with this break: {doc['spec']}"


# ------------------------------------------------- the mediator, spread


@each(VALUE_SETS + CLOUDNATIVEPG_CASES)
def test_replicated_services_spread_over_nodes_and_single_ones_carry_no_constraint(case, docs):
    """A service of more than one replica (the mediator by default) has a
    topology spread over kubernetes.io/hostname that prefers (ScheduleAnyway,
    never DoNotSchedule) one pod per node and selects its own pods alone."""
    deployments, bad = by_component(docs, "Deployment"), []
    for name, deployment in deployments.items():
        constraints = pod_spec(deployment).get("topologySpreadConstraints", [])
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if deployment["spec"]["replicas"] <= 1:
            if constraints:
                bad.append(f"{name}: one replica, yet {constraints}")
            continue
        ok = [c for c in constraints if c.get("topologyKey") == "kubernetes.io/hostname" and
              c.get("whenUnsatisfiable") == "ScheduleAnyway" and c.get("maxSkew") == 1 and
              all(labels.get(k) == v for k, v in c.get("labelSelector", {}).get("matchLabels", {}).items()) and
              c.get("labelSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == name]
        if not ok:
            bad.append(f"{name}: {deployment['spec']['replicas']} replicas, constraints {constraints}")
    assert not bad, f"[{case.label}] {bad}"


def test_the_mediator_is_spread_by_default(default_docs):
    mediator = by_component(default_docs, "Deployment")["mediator"]
    assert mediator["spec"]["replicas"] == 2 and pod_spec(mediator).get("topologySpreadConstraints"), \
        "the mediator's 2 replicas are not spread over nodes by default"


def test_topology_spread_can_be_switched_off():
    docs = chart.render({"topologySpread": {"enabled": False}})
    spread = [d["metadata"]["name"] for d in kinds(docs, "Deployment") if pod_spec(d).get("topologySpreadConstraints")]
    assert not spread, f"topologySpread.enabled=false, yet {spread}"


# ------------------------------------------------------------ refusals

REFUSED = [
    ("postgresql.mode that is no mode (patroni)", {"postgresql": {"mode": "patroni"}}),
    ("postgresql.mode CloudNativePG (case)", {"postgresql": {"mode": "CloudNativePG"}}),
    ("cloudnativepg.instances 1 (nothing to fail over to)",
     {"postgresql": {"mode": "cloudnativepg", "cloudnativepg": {"instances": 1}}}),
    ("cloudnativepg.synchronous.number 0",
     {"postgresql": {"mode": "cloudnativepg", "cloudnativepg": {"synchronous": {"number": 0}}}}),
    ("cloudnativepg.synchronous.number as many as the instances",
     {"postgresql": {"mode": "cloudnativepg", "cloudnativepg": {"instances": 3, "synchronous": {"number": 3}}}}),
    ("cloudnativepg.synchronous.dataDurability always",
     {"postgresql": {"mode": "cloudnativepg", "cloudnativepg": {"synchronous": {"dataDurability": "always"}}}}),
    ("a misspelled key (cloudnativepg.instance)",
     {"postgresql": {"mode": "cloudnativepg", "cloudnativepg": {"instance": 3}}}),
    ("postgresql.existingSecret with mode cloudnativepg",
     {"postgresql": {"mode": "cloudnativepg", "existingSecret": "shop-pg"}}),
    ("externalDatabase.host and hosts together",
     merge(EXTERNAL_HOST, {"externalDatabase": {"hosts": [{"host": "pg-b.example"}]}})),
    ("externalDatabase.hosts with existingSecret",
     {"postgresql": {"enabled": False}, "externalDatabase": {"existingSecret": "urls",
                                                              "hosts": [{"host": "pg-a.example"}]}}),
    ("externalDatabase.hosts without a passwordSecret",
     {"postgresql": {"enabled": False}, "externalDatabase": {"hosts": [{"host": "pg-a.example"}], "username": "u"}}),
    ("externalDatabase.hosts empty and no host", merge(EXTERNAL_HOST, {"externalDatabase": {"host": "", "hosts": []}})),
    ("an externalDatabase.hosts entry without host",
     merge(MULTI_HOST, {"externalDatabase": {"hosts": [{"port": 5432}]}})),
    ("an externalDatabase.hosts entry host:port in one",
     merge(MULTI_HOST, {"externalDatabase": {"hosts": [{"host": "pg-a.example:5432"}]}})),
    ("an externalDatabase.hosts port 70000",
     merge(MULTI_HOST, {"externalDatabase": {"hosts": [{"host": "pg-a.example", "port": 70000}]}})),
    ("externalRedis.cluster.nodes without a passwordSecret",
     merge(EXTERNAL_CLUSTER, {"externalRedis": {"cluster": {"passwordSecret": {"name": ""}}}})),
    ("externalRedis.cluster.nodes with externalRedis.url",
     merge(EXTERNAL_CLUSTER, {"externalRedis": {"url": "redis://r.example:6379"}})),
    ("externalRedis.cluster.nodes with externalRedis.existingSecret",
     merge(EXTERNAL_CLUSTER, {"externalRedis": {"existingSecret": "shop-redis"}})),
    ("an externalRedis.cluster node without a port",
     merge(EXTERNAL_CLUSTER, {"externalRedis": {"cluster": {"nodes": ["redis-0.cache.example"]}}})),
    ("an externalRedis.cluster node as a URL",
     merge(EXTERNAL_CLUSTER, {"externalRedis": {"cluster": {"nodes": ["redis://redis-0.cache.example:6379"]}}})),
    ("externalRedis.cluster.tls as a string", merge(EXTERNAL_CLUSTER, {"externalRedis": {"cluster": {"tls": "yes"}}})),
    ("a misspelled key (externalRedis.cluster.node)",
     merge(EXTERNAL_CLUSTER, {"externalRedis": {"cluster": {"node": ["r:6379"]}}})),
    ("redis.enabled=false with an empty cluster", {"redis": {"enabled": False}, "externalRedis": {"cluster": {
        "nodes": [], "passwordSecret": {"name": "p"}}}}),
    ("a misspelled key (topologySpread.topologykey)", {"topologySpread": {"topologykey": "zone"}}),
]


@pytest.mark.parametrize("values", [pytest.param(values, id=name) for name, values in REFUSED])
def test_the_chart_refuses(values):
    assert refusal(values) is not None, f"the chart renders {values}"


def test_too_many_synchronous_standbys_are_refused_saying_why():
    err = refusal({"postgresql": {"mode": "cloudnativepg", "cloudnativepg": {"instances": 2,
                                                                            "synchronous": {"number": 2}}}})
    assert err is not None and "synchronous.number" in str(err) and "below instances" in str(err), f"{err}"
