"""PostgreSQL and Redis: in the chart (StatefulSets, a role of its own per
database, Redis's password and append-only file) or external (the URLs the
values name); and how each service logs in (TLS to them: test_store_tls.py)."""

import re
import subprocess

import pytest

from cases import EXTERNAL, VALUE_SETS, each, tls_expectations
from manifests import by_component, env_of, kinds, main_container, secret_ref, secret_value
from spec import DATABASES, PG_CA_FILE, RELEASE, SERVICES


@pytest.fixture
def statefulsets(default_docs):
    return by_component(default_docs, "StatefulSet")


@pytest.fixture
def postgres_env(statefulsets):
    postgresql = statefulsets.get("postgresql")
    return env_of(main_container(postgresql)) if postgresql else {}


def test_in_chart_postgresql_and_redis_statefulsets(statefulsets):
    assert sorted(statefulsets) == ["postgresql", "redis"], f"StatefulSets {sorted(statefulsets)}"


def test_postgresql_init_gives_each_database_a_login_role_that_owns_it(default_docs, postgres_env):
    """A LOGIN role of its own (no superuser) per database, owning it,
    PUBLIC revoked, its password from the Secret; a script bash accepts."""
    init = next((d for d in kinds(default_docs, "ConfigMap") if d["metadata"]["name"].endswith("-postgresql-init")),
                None)
    script = (init or {}).get("data", {}).get("roles.sh", "")
    calls = re.findall(r'^shop_database (\S+) "\$SHOP_(\w+)_PASSWORD"$', script, re.M)
    pg_secret = secret_ref(postgres_env.get("POSTGRES_PASSWORD"))
    problems = [] if {db for db, _ in calls} == DATABASES else [f"databases {sorted(db for db, _ in calls)}"]
    problems += [f"{db}: password" for db, var in calls if var != db.upper() or
                 secret_ref(postgres_env.get(f"SHOP_{var}_PASSWORD")) != (pg_secret[0], f"{db}-password")]
    problems += [f"no {words}" for words in ("CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
                                             "CREATE DATABASE %I OWNER", "ALTER DATABASE :\"db\" OWNER TO :\"db\"",
                                             "REVOKE ALL ON DATABASE :\"db\" FROM PUBLIC") if words not in script]
    syntax = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    if syntax.returncode != 0:
        problems.append(syntax.stderr.strip())
    assert not problems, f"PostgreSQL's init script: {problems}"


def test_each_database_url_names_its_own_database_and_role(default_docs, postgres_env):
    """orders is shared by order-api and the mediator; the password comes
    from the Secret."""
    pg_secret = secret_ref(postgres_env.get("POSTGRES_PASSWORD"))
    bad = {}
    for name, deployment in by_component(default_docs, "Deployment").items():
        env, db = env_of(main_container(deployment)), SERVICES[name]["db"]
        url = env.get("DATABASE_URL", {}).get("value", "")
        if url != f"postgres://{db}:$(DATABASE_PASSWORD)@{RELEASE}-postgresql:5432/{db}" \
                  f"?sslmode=verify-full&sslrootcert={PG_CA_FILE}" or \
                secret_ref(env.get("DATABASE_PASSWORD")) != (pg_secret[0], f"{db}-password"):
            bad[name] = url
    assert not bad, f"DATABASE_URLs that are not the service's own: {bad}"


def test_redis_keeps_an_append_only_file(statefulsets):
    redis = statefulsets.get("redis")
    args = main_container(redis).get("args", []) if redis else []
    assert "--appendonly" in args and args[args.index("--appendonly") + 1] == "yes", f"Redis's args: {args}"


@each(EXTERNAL)
def test_external_stores_render_no_statefulset(case, docs):
    present = sorted({d["kind"] for d in docs})
    assert "StatefulSet" not in present, f"[{case.label}] external PostgreSQL and Redis, yet kinds {present}"


@each(EXTERNAL)
def test_the_services_use_the_external_database_each_with_its_role(case, docs):
    database, bad = case.values["externalDatabase"], []
    for name, deployment in by_component(docs, "Deployment").items():
        env = env_of(main_container(deployment))
        url = env.get("DATABASE_URL", {})
        db = SERVICES[name]["db"]
        if database.get("existingSecret"):
            ok = url.get("valueFrom", {}).get("secretKeyRef") == {"name": database["existingSecret"],
                                                                   "key": f"{db}-url"}
        else:
            role = database.get("roles", {}).get(db)
            # One server, or every one of a primary and its standbys, in order.
            servers = ",".join(f"{h['host']}:{h.get('port', 5432)}" for h in database["hosts"]) \
                if database.get("hosts") else f"{database['host']}:{database.get('port', 5432)}"
            name = database.get("databases", {}).get(db, db)
            ok = url.get("value") == (f"postgres://{role or database.get('username')}:$(DATABASE_PASSWORD)@"
                                      f"{servers}/{name}{tls_expectations(case.values)['query']}") and \
                secret_ref(env.get("DATABASE_PASSWORD")) == \
                (database["passwordSecret"], f"{db}-password" if role else database.get("passwordKey", "password"))
        if not ok:
            bad.append(f"{name}: {url}")
    assert not bad, f"[{case.label}] DATABASE_URLs not as externalDatabase says: {bad}"


def database_role(env):
    """(role, where its password comes from) of a service's DATABASE_URL;
    the role of a URL kept whole in a Secret is that Secret key's own."""
    var = env.get("DATABASE_URL", {})
    if secret_ref(var):
        return "url:" + "/".join(secret_ref(var)), secret_ref(var)
    match = re.match(r"^postgres://([^:@/]+):\$\(DATABASE_PASSWORD\)@", var.get("value", ""))
    return (match.group(1) if match else None), secret_ref(env.get("DATABASE_PASSWORD"))


@each(VALUE_SETS)
def test_services_owning_different_databases_share_no_role(case, docs):
    """Each service's DATABASE_URL comes from a Secret, with a role of its
    own database: no two services owning different databases share a role
    or a password, and none logs in as the in-chart superuser."""
    roles, bad = {}, []
    superuser = case.values.get("postgresql", {}).get("username", "shop")
    in_chart = case.values.get("postgresql", {}).get("enabled", True)
    for name, deployment in by_component(docs, "Deployment").items():
        role, password = database_role(env_of(main_container(deployment)))
        if role is None or password is None:
            bad.append(f"{name}: DATABASE_URL neither from a Secret nor with $(DATABASE_PASSWORD) from one")
        elif in_chart and role == superuser:
            bad.append(f"{name}: logs in as the superuser {superuser}")
        roles[name] = (role, password)
    for a, b in ((a, b) for a in roles for b in roles if a < b and SERVICES[a]["db"] != SERVICES[b]["db"]):
        if roles[a][0] == roles[b][0] or roles[a][1] == roles[b][1]:
            bad.append(f"{a} and {b} share a role or a password: {roles[a]} {roles[b]}")
    if roles.get("order-api") != roles.get("mediator"):
        bad.append(f"order-api and mediator own orders together, yet log in differently: "
                   f"{roles.get('order-api')} {roles.get('mediator')}")
    assert not bad, f"[{case.label}] {bad}"


@each(VALUE_SETS)
def test_redis_url_comes_from_a_secret(case, docs):
    """REDIS_URL (which holds Redis's password) comes from a Secret, never
    from the ConfigMap or the pod spec. A Redis Cluster's URL is built in
    the pod spec around $(REDIS_PASSWORD), which comes from its Secret
    (test_high_availability.py)."""
    redis_values, external = case.values.get("redis", {}), case.values.get("externalRedis", {})
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        if not SERVICES[name]["redis"]:
            continue
        env = env_of(main_container(deployment))
        var = env.get("REDIS_URL", {})
        cluster = external.get("cluster", {})
        if not redis_values.get("enabled", True) and cluster.get("nodes"):
            password = cluster.get("passwordSecret", {})
            if "$(REDIS_PASSWORD)@" not in var.get("value", "") or secret_ref(env.get("REDIS_PASSWORD")) != \
                    (password.get("name"), password.get("key", "redis-password")):
                bad.append(f"{name}: a cluster's REDIS_URL without $(REDIS_PASSWORD) from its Secret: {var}")
            continue
        ref = secret_ref(var)
        if ref is None or "value" in var:
            bad.append(f"{name}: REDIS_URL is not a secretKeyRef")
            continue
        if redis_values.get("enabled", True):
            want = (redis_values.get("existingSecret") or f"{RELEASE}-redis", "redis-url")
        elif external.get("existingSecret"):
            want = (external["existingSecret"], external.get("existingSecretKey", "redis-url"))
        else:
            want = (f"{RELEASE}-external-redis", "redis-url")
            if secret_value(docs, *want) != external.get("url"):
                bad.append(f"{name}: the chart's Secret does not hold externalRedis.url")
        if ref != want:
            bad.append(f"{name}: REDIS_URL from {ref}, want {want}")
    bad += sorted({f"ConfigMap {cm['metadata']['name']} holds {key}" for cm in kinds(docs, "ConfigMap")
                   for key in cm.get("data", {}) if key in ("REDIS_URL", "DATABASE_URL")})
    assert not bad, f"[{case.label}] {bad}"


@each([case for case in VALUE_SETS if case.values.get("redis", {}).get("enabled", True)])
def test_in_chart_redis_requires_the_secrets_password(case, docs):
    """--requirepass from the Secret, its probes log in and demand PONG,
    the clients' generated URL carries the generated password."""
    redis = by_component(docs, "StatefulSet").get("redis")
    container = main_container(redis) if redis else {}
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
        scheme = "rediss" if case.values.get("redis", {}).get("tls", {}).get("enabled", True) else "redis"
        if not password or len(password) < 16 or url != f"{scheme}://:{password}@{RELEASE}-redis:6379":
            problems.append("the generated redis-url does not carry the generated redis-password")
    assert not problems, f"[{case.label}] {problems}"
