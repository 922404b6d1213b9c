"""The configurations the chart is rendered with, and what each one's values
ask of the render.

A Case is a label and the values (and, for an upgrade, the Secrets a
cluster holds). The tests are parametrized over the groups at the end
(`@each(EDGE)`), so every check runs for each configuration it concerns,
and every configuration is rendered once (conftest.py)."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import chart
from spec import CREDENTIALS_SECRET, DIGEST_SECRET, PG_CA_FILE, RELEASE

TESTS = Path(__file__).resolve().parent


@dataclass(eq=False)
class Case:
    label: str
    values: dict
    # The Secrets a cluster holds, {name: {key: text}}: the chart is then
    # rendered as `helm upgrade` would render it there (rendering.py).
    live: dict | None = field(default=None)

    @property
    def id(self):
        return re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")

    @property
    def ingress(self):
        return self.values.get("ingress", {})

    @property
    def ingress_enabled(self):
        return self.ingress.get("enabled", True)

    @property
    def admin_ingress_enabled(self):
        return self.values.get("adminIngress", {}).get("enabled", False)

    @property
    def hosts(self):
        """The hosts the Ingresses serve."""
        host = self.ingress.get("host", "arch.homework")
        admin = self.values.get("adminIngress", {}).get("host") or host
        return ({host} if self.ingress_enabled else set()) | ({admin} if self.admin_ingress_enabled else set())

    @property
    def rate_limited(self):
        """Whether an Ingress carries a rate limit."""
        public = self.ingress_enabled and any(self.ingress.get(key, {}).get("enabled", True)
                                              for key in ("rateLimit", "ordersRateLimit"))
        admin = self.admin_ingress_enabled and \
            self.values["adminIngress"].get("rateLimit", {}).get("enabled", True)
        return public or admin

    @property
    def public_ingresses(self):
        """The names of the public Ingresses the values ask for."""
        if not self.ingress_enabled:
            return []
        return sorted([RELEASE] + [f"{RELEASE}-{suffix}" for key, suffix in (("rateLimit", "rate-limited"),
                                                                           ("ordersRateLimit", "orders"))
                                   if self.ingress.get(key, {}).get("enabled", True)])


def each(cases):
    """Parametrizes a test over `cases`, named by their labels."""
    return pytest.mark.parametrize("case", cases, ids=[case.id for case in cases])


merge = chart.merge


def values_file(name):
    return chart.load_values([TESTS / name])



# ------------------------------------------------------------ the cases

# The default values and each helm/tests/values-*.yaml.
DEFAULT = Case("default", {})
VALUE_SETS = [DEFAULT] + [Case(path.stem.removeprefix("values-"), chart.load_values([path]))
                          for path in sorted(TESTS.glob("values-*.yaml"))]
EXTERNAL = VALUE_SETS[1:]
EXTERNAL_CLUSTER = values_file("values-external-cluster.yaml")

# PostgreSQL as a CloudNativePG Cluster (postgresql.mode cloudnativepg):
# the defaults, and every setting of its own changed.
CLOUDNATIVEPG_CASES = [
    Case("cloudnativepg", {"postgresql": {"mode": "cloudnativepg"}}),
    Case("cloudnativepg, 5 instances, preferred", {"postgresql": {
        "mode": "cloudnativepg", "storage": "20Gi", "storageClass": "fast", "maxConnections": 400,
        "cloudnativepg": {"instances": 5, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
                          "synchronous": {"number": 2, "dataDurability": "preferred"}}}}),
]
CLOUDNATIVEPG = CLOUDNATIVEPG_CASES[0]

# The admin Ingress switched on: HTTPS on its own host with cert-manager
# and allowed sources; plain HTTP by allowInsecure on the public host; and
# without the public Ingresses.
ADMIN_CASES = [
    Case("admin, HTTPS, own host", {"adminIngress": {
        "enabled": True, "host": "ops.arch.homework", "allowedSourceRanges": ["10.20.0.0/16", "2001:db8::/32"],
        "rateLimit": {"rps": 5, "burstMultiplier": 4},
        "tls": {"enabled": True, "clusterIssuer": "letsencrypt"}}}),
    Case("admin, plain HTTP", {"adminIngress": {"enabled": True, "allowInsecure": True,
                                                "allowedSourceRanges": ["127.0.0.1/32"]}}),
    Case("admin, no public ingress", {"ingress": {"enabled": False}, "adminIngress": {
        "enabled": True, "tls": {"enabled": True, "secretName": "ops-tls"}, "rateLimit": {"enabled": False}}}),
]
ADMIN_HTTPS, ADMIN_INSECURE = ADMIN_CASES[0], ADMIN_CASES[1]

# No administrator, and a brought Secret with the in-chart stores.
ADMINISTRATOR_CASES = [
    Case("admin off", {"admin": {"username": ""}}),
    Case("admin brought", {"admin": {"username": "a@b+c-d_e.f", "existingSecret": "my-admin"}}),
]

# TLS to the stores off, brought certificates, an external server without
# a CA or with another sslmode.
EXTERNAL_HOST = values_file("values-external-host.yaml")
EXTERNAL_HA = values_file("values-external-ha.yaml")
EXTERNAL_NO_CA = merge(EXTERNAL_HOST, {"externalDatabase": {"caSecret": {"name": ""}}})
TLS_CASES = [
    Case("tls off", {"postgresql": {"tls": {"enabled": False}}, "redis": {"tls": {"enabled": False}}}),
    Case("tls brought", {"postgresql": {"tls": {"existingSecret": "shop-postgresql-cert"}},
                         "redis": {"tls": {"existingSecret": "shop-redis-cert"}}}),
    Case("external, no CA", EXTERNAL_NO_CA),
    Case("external, verify-ca", merge(EXTERNAL_HOST, {"externalDatabase": {"sslmode": "verify-ca"},
                                                      "externalRedis": {"caSecret": {"name": "redis-ca"}}})),
]

# The service credentials on a cluster: an upgrade keeps the generated
# ones; a brought Secret is read for the digests and the public key.
PEM = ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA0123456789abcdefghijklmnopqrstuvwxyzABCDEF=\n"
       "-----END PUBLIC KEY-----\n")
OURS = {"auth-token": "a" * 48, "mediator-token": "m" * 48, "jwt-private.pem": "private", "jwt-public.pem": PEM}
# printf %s "$TOKEN" | sha256sum: the credential's exact bytes, a
# trailing newline of a --from-file Secret included.
THEIRS = {"auth-token": "their auth token\n", "mediator-token": "their-mediator-token",
          "jwt-private.pem": "private", "jwt-public.pem": PEM}
UPGRADE = Case("upgrade, generated credentials kept", {}, {CREDENTIALS_SECRET: OURS})
CREDENTIAL_CASES = [
    UPGRADE,
    Case("brought credentials, read on install", {"secrets": {"existingSecret": "my-secrets"}},
         {"my-secrets": THEIRS}),
    Case("brought credentials and digests", {"secrets": {"existingSecret": "my-secrets",
                                                         "existingDigestSecret": "my-digests"}},
         {"my-secrets": THEIRS}),
]

# monitoring.* switched on, as a kube-prometheus-stack install would.
MONITORING = Case("monitoring", {"monitoring": {
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}, "interval": "15s"},
    "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"},
                       "runbookUrl": "https://runbooks.example/shop"},
    "grafanaDashboard": {"enabled": True, "namespace": "monitoring", "labels": {"team": "shop"},
                         "annotations": {"grafana_folder": "Shop"}},
}})
OTLP_ENDPOINT = "http://otel-collector.observability:4318"
TRACING = Case("tracing", {"tracing": {"otlpEndpoint": OTLP_ENDPOINT}})
# What the local gateway renders (helm/tools/gateway-values.yaml).
GATEWAY = Case("gateway", chart.load_values([chart.GATEWAY_VALUES]))

# ------------------------------------------------------------ the groups

# Linted, rendered and validated against the schemas.
VALIDATED = VALUE_SETS + ADMIN_CASES + CLOUDNATIVEPG_CASES + [MONITORING, TRACING, GATEWAY]
# Their Ingresses, edge, admin Ingress, network policies and gateway.
EDGE = VALUE_SETS + ADMIN_CASES + [GATEWAY]
WITH_INGRESS = [case for case in EDGE if case.hosts]
# Each service's configuration.
CONFIGURED = VALUE_SETS + ADMINISTRATOR_CASES + CREDENTIAL_CASES + CLOUDNATIVEPG_CASES
# The Secret and ConfigMap references, and the checksums that follow them.
REFERENCING = VALUE_SETS + ADMINISTRATOR_CASES + TLS_CASES + CREDENTIAL_CASES + CLOUDNATIVEPG_CASES
CREDENTIALED = VALUE_SETS + CREDENTIAL_CASES
ADMINISTERED = VALUE_SETS + ADMINISTRATOR_CASES
STORE_TLS = VALUE_SETS + TLS_CASES + CLOUDNATIVEPG_CASES


# ------------------------------------------- what the values ask for


def admin_expectations(values):
    """The administrator the values ask auth to keep, {username, secret,
    generated}, or None (admin.username empty: none)."""
    admin = values.get("admin", {})
    username = admin.get("username", "admin")
    if not username:
        return None
    brought = admin.get("existingSecret")
    return {"username": username, "secret": brought or f"{RELEASE}-admin", "generated": not brought}


def credential_expectations(values):
    """Where the values say the credentials and their digests come from."""
    secrets = values.get("secrets", {})
    return {"credentials": secrets.get("existingSecret") or CREDENTIALS_SECRET,
            "digests": secrets.get("existingDigestSecret") or DIGEST_SECRET,
            "digests rendered": not secrets.get("existingDigestSecret"),
            "jwt public": secrets.get("jwtPublicKey")}


def tls_expectations(values):
    """What the values ask of TLS to the stores: for each store, the
    (Secret, key) of the CA the service pods must get (None: no CA), and
    for PostgreSQL the DATABASE_URL query of a URL the chart builds."""
    pg, redis = values.get("postgresql", {}), values.get("redis", {})
    ext_db, ext_redis = values.get("externalDatabase", {}), values.get("externalRedis", {})
    cnpg = pg.get("enabled", True) and pg.get("mode", "statefulset") == "cloudnativepg"
    # pg_in_chart: the in-chart StatefulSet (not a CloudNativePG Cluster).
    want = {"pg_in_chart": pg.get("enabled", True) and not cnpg, "redis_in_chart": redis.get("enabled", True),
            "pg_tls": False, "redis_tls": False, "pg_ca": None, "redis_ca": None, "query": "",
            "pg_generated": None, "redis_generated": None}
    if cnpg:
        # Always TLS, verified against the CA the operator makes.
        want.update(pg_tls=True, pg_ca=(f"{RELEASE}-postgresql-ca", "ca.crt"),
                    query=f"?sslmode=verify-full&sslrootcert={PG_CA_FILE}")
    elif want["pg_in_chart"]:
        if pg.get("tls", {}).get("enabled", True):
            brought = pg.get("tls", {}).get("existingSecret")
            want.update(pg_tls=True, pg_ca=(brought or f"{RELEASE}-postgresql-tls", "ca.crt"),
                        query=f"?sslmode=verify-full&sslrootcert={PG_CA_FILE}",
                        pg_generated=None if brought else f"{RELEASE}-postgresql-tls")
    else:
        ca = ext_db.get("caSecret", {})
        if ca.get("name"):
            want["pg_ca"] = (ca["name"], ca.get("key", "ca.crt"))
        if not ext_db.get("existingSecret"):
            mode = ext_db.get("sslmode") or ("verify-full" if ca.get("name") else "require")
            want["query"] = ("?target_session_attrs=read-write&" if ext_db.get("hosts") else "?") + \
                f"sslmode={mode}" + (f"&sslrootcert={PG_CA_FILE}" if ca.get("name") else "")
    if want["redis_in_chart"]:
        if redis.get("tls", {}).get("enabled", True):
            brought = redis.get("tls", {}).get("existingSecret")
            want.update(redis_tls=True, redis_ca=(brought or f"{RELEASE}-redis-tls", "ca.crt"),
                        redis_generated=None if brought else f"{RELEASE}-redis-tls")
    elif ext_redis.get("caSecret", {}).get("name"):
        want["redis_ca"] = (ext_redis["caSecret"]["name"], ext_redis["caSecret"].get("key", "ca.crt"))
    return want


def brought_secrets(values):
    """The Secrets the values say the user brings (or, with
    postgresql.mode cloudnativepg, the operator makes: the Cluster's CA)."""
    pg = values.get("postgresql", {})
    operator = {f"{RELEASE}-postgresql-ca"} if pg.get("enabled", True) and \
        pg.get("mode", "statefulset") == "cloudnativepg" else set()
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
            values.get("externalRedis", {}).get("caSecret", {}).get("name"),
            values.get("externalRedis", {}).get("cluster", {}).get("passwordSecret", {}).get("name")} \
        - {None, ""} | operator
