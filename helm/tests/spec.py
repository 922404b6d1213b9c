"""What the chart must render, whatever the values: the services and who
may call whom, the public and the admin routes, the requests that must and
must not get through, and the load the edge's limits must hold. The tests
compare the rendered manifests with these; nothing here is read from the
chart."""

import chart

RELEASE, NAMESPACE = chart.RELEASE, chart.NAMESPACE

# The services: their local ports (scripts/lib.sh), databases, and who gets
# which secret: a caller its own service credential (tokens), a callee the
# digests of its callers' (digests), the JWT files it mounts (auth's from
# the credentials Secret, a verifier's public key from a ConfigMap), and
# whether the ingress reaches it (edge: TRUSTED_PROXIES and
# TRUST_INCOMING_TRACEPARENT).
CALLER_DIGESTS = {"AUTH_SERVICE_TOKEN_SHA256", "MEDIATOR_SERVICE_TOKEN_SHA256"}
SERVICES = {
    "auth": {"port": 8001, "db": "auth", "tokens": {"AUTH_SERVICE_TOKEN"}, "digests": set(), "redis": False,
             "jwt": {"jwt-private.pem", "jwt-public.pem"}, "edge": True},
    "billing": {"port": 8002, "db": "billing", "tokens": set(), "digests": CALLER_DIGESTS, "redis": False,
                "jwt": {"jwt-public.pem"}, "edge": True},
    "order-api": {"port": 8003, "db": "orders", "tokens": set(), "digests": set(), "redis": True,
                  "jwt": {"jwt-public.pem"}, "edge": True},
    "items": {"port": 8004, "db": "items", "tokens": set(), "digests": CALLER_DIGESTS, "redis": False,
              "jwt": set(), "edge": False},
    "slots": {"port": 8005, "db": "slots", "tokens": set(), "digests": CALLER_DIGESTS, "redis": False,
              "jwt": set(), "edge": False},
    "mediator": {"port": 8006, "db": "orders", "tokens": {"MEDIATOR_SERVICE_TOKEN"}, "digests": set(),
                 "redis": True, "jwt": set(), "edge": False},
}
PORTS = {name: spec["port"] for name, spec in SERVICES.items()}
DATABASES = {"auth", "billing", "orders", "items", "slots"}

# The callers' credentials (keys of the credentials Secret), the callees'
# digests of them (keys of the digests Secret), and the Secrets' names.
CREDENTIAL_KEYS = {"auth-token", "mediator-token"}
DIGEST_KEYS = {"auth-token-sha256", "mediator-token-sha256"}
CALLERS_OF_SERVICES = {"auth", "mediator"}
CREDENTIALS_SECRET = f"{RELEASE}-secrets"
DIGEST_SECRET = f"{RELEASE}-service-digests"
JWT_PUBLIC = f"{RELEASE}-jwt-public"

# The one service that keeps the administrator (ADMIN_USERNAME and
# ADMIN_PASSWORD_FILE), and the key of its password in the admin Secret.
ADMIN_SERVICE = "auth"
ADMIN_KEY = "admin-password"

# The defaults of trustedProxies and config.maxUnfinishedOrders.
DEFAULT_TRUSTED_PROXIES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]
DEFAULT_MAX_UNFINISHED_ORDERS = 20

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
    "ingress-controller": ({"kubernetes.io/metadata.name": "ingress-nginx"},
                           {"app.kubernetes.io/name": "ingress-nginx"}),
    "prometheus": ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "prometheus"}),
    "a stranger in the namespace": ({"kubernetes.io/metadata.name": NAMESPACE}, {"app": "stranger"}),
    "a mediator look-alike elsewhere": ({"kubernetes.io/metadata.name": "default"},
                                        {"app.kubernetes.io/name": "shop", "app.kubernetes.io/instance": RELEASE,
                                         "app.kubernetes.io/component": "mediator"}),
}

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
ADMIN_INGRESS = f"{RELEASE}-admin"

# The routes rate-limited at the edge (sign-up, login, refresh, logout,
# verify), on an Ingress of their own, and the defaults of ingress.rateLimit;
# the orders on another, under ingress.ordersRateLimit; and the admin
# Ingress's own (adminIngress.rateLimit).
RATE_LIMITED = {route for route in PUBLIC if route[0] in ("/api/auth/users", "/api/token")}
DEFAULT_RATE_LIMIT = {"enabled": True, "rps": 200, "burstMultiplier": 5}
ORDERS = {route for route in PUBLIC if route[0] == "/api/orders"}
DEFAULT_ORDERS_RATE_LIMIT = {"enabled": True, "rps": 20, "burstMultiplier": 5}
DEFAULT_ADMIN_RATE_LIMIT = {"enabled": True, "rps": 10, "burstMultiplier": 5}
# The public Ingresses that carry a limit: values key, name suffix, routes,
# defaults, and what they route in words.
LIMITED_INGRESSES = [
    ("rateLimit", "rate-limited", RATE_LIMITED, DEFAULT_RATE_LIMIT,
     "sign-up, login, refresh, logout and verify (/api/auth/users, /api/token)"),
    ("ordersRateLimit", "orders", ORDERS, DEFAULT_ORDERS_RATE_LIMIT, "the orders (/api/orders)"),
]
# The most a customer does on /api/orders from one address, at worst: an
# order and a few reads of it in a second. The default must be far above.
CUSTOMER_ORDERS_PEAK = 4
# What the local suite sends through the gateway from one address: the
# benchmark's closed loop (about 2700 orders a second on two cores,
# the Benchmark section), and scripts/fuzz on the admin operations (up to
# FUZZ_RATE a second). The gateway's limits must hold them four times over.
BENCH_ORDERS_RATE = 2700
# What the test suite sends to those paths from one address (the local
# gateway's access log over many runs of scripts/test): a load test's
# set-up (loadgen: a sign-up and a login per user; 100 users at once here),
# and scripts/fuzz, up to about 220 in one second, so that at 200/s its
# excess never passed 220. The defaults must hold either four times over.
LOAD_TEST_SETUP = 200
FUZZ_RATE, FUZZ_PEAK_EXCESS = 200, 220

# ingress-nginx's annotations the tests read on their own.
LIMIT_RPS = chart.RPS_ANNOTATION
LIMIT_BURST = chart.BURST_ANNOTATION
ALLOW = chart.ALLOW_ANNOTATION
BODY_SIZE = chart.BODY_SIZE_ANNOTATION
REDIRECTS = ("nginx.ingress.kubernetes.io/ssl-redirect", "nginx.ingress.kubernetes.io/force-ssl-redirect")
ISSUERS = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")

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
    "/api/profiles/", "/api/profiles", "/internal/reservations/1", "/internal/reservations/", "/health", "/ready",
    "/metrics", "/", "/api/", "/api/auth/", "/api/auth/usersx", "/api/tokens", "/api/accountsx/ann", "/api/ordersx",
    "/api/adminx", "/consoles", "/API/orders/", "/items", "/slots",
]
# nginx matches the normalized path but forwards the raw one: dot segments
# and encodings must not smuggle a request past the routes.
SMUGGLING_REQUESTS = [
    "/api/orders/../profiles/",
    "/api/accounts/%2e%2e/%2e%2e/internal/reservations/1",
    "/api/token/..%2f..%2finternal/reservations/1",
]

# TLS to the stores: where the service pods find their CA certificates
# (templates/_tls.tpl), the PostgreSQL image's postgres user
# (postgres:15-alpine), and a pod address and the loopback for pg_hba.
CA_DIR = "/etc/shop/tls"
PG_CA_FILE = f"{CA_DIR}/postgresql-ca.crt"
REDIS_CA_FILE = f"{CA_DIR}/redis-ca.crt"
POSTGRES_UID = 70
POD_ADDRESSES = ["10.244.1.7", "127.0.0.1", "fd00::7"]
