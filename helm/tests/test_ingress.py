"""The edge: the public Ingresses route exactly the public API (SPEC section
2) and never the admin API or the console, with their rate limits
(ingress.rateLimit, ingress.ordersRateLimit), TLS and body size; the admin
Ingress (adminIngress) routes those, off by default, HTTPS unless
allowInsecure, for its allowed sources under its own limit."""

import pytest

import chart
from cases import ADMIN_CASES, EDGE, GATEWAY, Case, each
from manifests import (annotations_of, expected_limits, ingress_match, ingress_named, ingress_paths, kinds,
                       public_only)
from spec import (ADMIN, ADMIN_INGRESS, ADMIN_REQUESTS, BODY_SIZE, CUSTOMER_ORDERS_PEAK, DEFAULT_ADMIN_RATE_LIMIT,
                  FUZZ_PEAK_EXCESS, FUZZ_RATE, INTERNAL_REQUESTS, ISSUERS, LIMIT_BURST, LIMIT_RPS, LIMITED_INGRESSES,
                  LOAD_TEST_SETUP, ALLOW, PUBLIC, PUBLIC_REQUESTS, REDIRECTS, RELEASE, SIGN_IN)

PUBLIC_EDGE = [case for case in EDGE if case.ingress_enabled]
ADMIN_ON = [case for case in EDGE if case.admin_ingress_enabled]

# ingress.rateLimit, ordersRateLimit and ingress.tls beyond the value sets:
# switched off, the list of earlier charts, a namespaced issuer, no redirect.
LIMITS_OFF = Case("ingress.rateLimit off", {"ingress": {"rateLimit": {"enabled": False}}})
BOTH_LIMITS_OFF = Case("both limits off", {"ingress": {"rateLimit": {"enabled": False},
                                                       "ordersRateLimit": {"enabled": False}}})
LEGACY_TLS = [{"secretName": "old-tls", "hosts": ["arch.homework", "www.arch.homework"]}]
TLS_LIST = Case("ingress.tls as a list", {"ingress": {"tls": LEGACY_TLS}})
TLS_ISSUER = Case("ingress.tls with an Issuer", {"ingress": {"tls": {"enabled": True, "issuer": "local-ca",
                                                                     "redirect": False}}})


def components(docs):
    return chart.service_components(docs)


def routes_of(docs, ingress):
    """An Ingress's routes as (path, pathType, component)."""
    found = components(docs)
    return {(path, path_type, found.get(service)) for path, path_type, service in ingress_paths(ingress)}


def tls_of(ingress):
    """(spec.tls, the redirect annotations, the cert-manager annotations)."""
    annotations = annotations_of(ingress)
    return (ingress["spec"].get("tls"), {k: annotations[k] for k in REDIRECTS if k in annotations},
            {k: annotations[k] for k in ISSUERS if k in annotations})


def issuers(tls):
    return {key: value for key, value in zip(ISSUERS, (tls.get("clusterIssuer"), tls.get("issuer"))) if value}


# ------------------------------------------------------ the public Ingresses


@each(EDGE)
def test_no_public_ingress_routes_the_admin_api_or_the_console(case, docs):
    public_routes = chart.ingress_routes(public_only(docs))
    leaked = [(path, ingress_match(public_routes, path)) for path, _ in ADMIN_REQUESTS
              if ingress_match(public_routes, path) is not None]
    assert not leaked, f"[{case.label}] admin paths a public Ingress routes: {leaked}"


@each([case for case in EDGE if not case.ingress_enabled])
def test_ingress_disabled_renders_no_public_ingress(case, docs):
    ingresses = kinds(public_only(docs), "Ingress")
    assert not ingresses, f"[{case.label}] rendered {[i['metadata']['name'] for i in ingresses]}"


@each(PUBLIC_EDGE)
def test_the_public_ingresses_class_nginx_on_the_host(case, docs):
    host = case.ingress.get("host", "arch.homework")
    got = [(i["metadata"]["name"], i["spec"].get("ingressClassName"), [r.get("host") for r in i["spec"]["rules"]])
           for i in kinds(public_only(docs), "Ingress")]
    want = [(name, "nginx", [host]) for name in case.public_ingresses]
    assert sorted(got) == want, f"[{case.label}] public Ingresses {sorted(got)}, want {want}"


@each(PUBLIC_EDGE)
def test_the_public_ingresses_route_exactly_the_public_api(case, docs):
    routes = chart.ingress_routes(public_only(docs))
    assert routes == PUBLIC, f"[{case.label}] unexpected {routes - PUBLIC}, missing {PUBLIC - routes}"


@each(PUBLIC_EDGE)
def test_every_ingress_backend_is_a_rendered_service_on_its_port(case, docs):
    services = {s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in kinds(docs, "Service")}
    bad = [p["path"] for i in kinds(docs, "Ingress") for r in i["spec"]["rules"] for p in r["http"]["paths"]
           if services.get(p["backend"]["service"]["name"]) != p["backend"]["service"]["port"].get("number")]
    assert not bad, f"[{case.label}] paths to no rendered Service or to another port: {bad}"


@each(PUBLIC_EDGE)
def test_every_public_request_reaches_its_service(case, docs):
    routes = chart.ingress_routes(public_only(docs))
    wrong = [(path, ingress_match(routes, path), want) for path, want in PUBLIC_REQUESTS
             if ingress_match(routes, path) != want]
    assert not wrong, f"[{case.label}] (path, reached, want): {wrong}"


@each(PUBLIC_EDGE)
def test_no_internal_path_is_routed_by_any_ingress(case, docs):
    """/api/profiles/, /internal/..., /health, /ready, /metrics, near misses."""
    routes = chart.ingress_routes(docs)
    leaked = [(path, ingress_match(routes, path)) for path in INTERNAL_REQUESTS
              if ingress_match(routes, path) is not None]
    assert not leaked, f"[{case.label}] routed internal paths: {leaked}"


@each(PUBLIC_EDGE)
def test_items_slots_and_mediator_have_no_route(case, docs):
    exposed = {service for _, _, service in chart.ingress_routes(docs)} & {"items", "slots", "mediator"}
    assert not exposed, f"[{case.label}] routed: {exposed}"


@each(PUBLIC_EDGE)
def test_every_ingress_refuses_bodies_over_the_limit(case, docs):
    """ingress.maxBodySize (16k), unless an annotation says otherwise."""
    want = case.ingress.get("annotations", {}).get(BODY_SIZE) or case.ingress.get("maxBodySize", "16k") or None
    try:
        got = chart.ingress_body_size(docs)
    except ValueError as err:
        got = str(err)
    assert got == want, f"[{case.label}] proxy-body-size {got}, want {want}"


@each(PUBLIC_EDGE)
def test_every_ingress_refuses_the_same_bodies(case, docs):
    sizes = {i["metadata"]["name"]: annotations_of(i).get(BODY_SIZE) for i in kinds(docs, "Ingress")}
    assert len(set(sizes.values())) == 1, f"[{case.label}] proxy-body-size per Ingress: {sizes}"


# ------------------------------------------------------------ rate limits


def limited(cases, enabled):
    """(case, limit) pairs of the public rate limits switched on or off."""
    return [pytest.param(case, limit, id=f"{case.id}-{limit[0]}") for case in cases for limit in LIMITED_INGRESSES
            if {**limit[3], **case.ingress.get(limit[0], {})}["enabled"] == enabled]


@pytest.mark.parametrize("case, limit", limited(PUBLIC_EDGE, enabled=True))
def test_a_rate_limited_ingress_routes_its_paths_alone(case, limit, docs):
    key, suffix, paths, _, what = limit
    ingress = ingress_named(docs, f"{RELEASE}-{suffix}")
    assert ingress, f"[{case.label}] ingress.{key} on, yet no {RELEASE}-{suffix}"
    assert routes_of(docs, ingress) == paths, \
        f"[{case.label}] {RELEASE}-{suffix} routes {routes_of(docs, ingress)}, want {what} alone"


@pytest.mark.parametrize("case, limit", limited(PUBLIC_EDGE, enabled=True))
def test_a_rate_limited_ingress_limits_as_the_values_say(case, limit, docs):
    key, suffix, _, defaults, _ = limit
    rate = {**defaults, **case.ingress.get(key, {})}
    extra = case.ingress.get("annotations", {})
    want = {LIMIT_RPS: extra.get(LIMIT_RPS, str(rate["rps"])),
            LIMIT_BURST: extra.get(LIMIT_BURST, str(rate["burstMultiplier"]))}
    ingress = ingress_named(docs, f"{RELEASE}-{suffix}") or {"metadata": {}}
    got = {k: annotations_of(ingress).get(k) for k in want}
    assert got == want, f"[{case.label}] {RELEASE}-{suffix}: {got}, want {want} (ingress.{key})"


@pytest.mark.parametrize("case, limit", limited(PUBLIC_EDGE + [LIMITS_OFF, BOTH_LIMITS_OFF], enabled=False))
def test_a_rate_limit_switched_off_renders_no_ingress_of_its_own(case, limit, docs):
    assert ingress_named(docs, f"{RELEASE}-{limit[1]}") is None, \
        f"[{case.label}] ingress.{limit[0]} off, yet {RELEASE}-{limit[1]} is rendered"


@each(PUBLIC_EDGE)
def test_the_main_ingress_routes_the_rest_of_the_public_api(case, docs):
    main = ingress_named(docs, RELEASE)
    rest = set(PUBLIC)
    for key, _, paths, defaults, _ in LIMITED_INGRESSES:
        if {**defaults, **case.ingress.get(key, {})}["enabled"]:
            rest -= paths
    assert main and routes_of(docs, main) == rest, \
        f"[{case.label}] {RELEASE} routes {main and routes_of(docs, main)}, want {rest}"


@each(PUBLIC_EDGE)
def test_the_main_ingress_has_no_rate_limit(case, docs):
    """Unless ingress.annotations sets one on every public Ingress."""
    extra = case.ingress.get("annotations", {})
    main = ingress_named(docs, RELEASE) or {"metadata": {}}
    limits = [key for key in annotations_of(main) if key in (LIMIT_RPS, LIMIT_BURST) and key not in extra]
    assert not limits, f"[{case.label}] {RELEASE} has a rate limit: {limits}"


def test_the_default_sign_in_limit_holds_a_load_tests_set_up_and_fuzz(default_docs):
    """What the chart renders, whatever the constants in spec.py say: a
    load test's set-up (LOAD_TEST_SETUP sign-ups and logins at once) and
    scripts/fuzz (its excess at FUZZ_RATE a second) four times over."""
    rps, burst = expected_limits(default_docs).get(("/api/token", "Prefix"), (0, 0))
    assert burst >= 4 * max(LOAD_TEST_SETUP, FUZZ_PEAK_EXCESS) and rps >= FUZZ_RATE, \
        f"{rps}/s and a burst of {burst}: too low for {LOAD_TEST_SETUP} at once or {FUZZ_RATE}/s"


def test_the_default_orders_limit_is_four_times_a_customers_worst(default_docs):
    rps, burst = expected_limits(default_docs).get(("/api/orders", "Prefix"), (0, 0))
    assert rps >= 4 * CUSTOMER_ORDERS_PEAK and burst >= rps, \
        f"the orders: {rps}/s and a burst of {burst}, a customer does {CUSTOMER_ORDERS_PEAK} a second"


# --------------------------------------------------------------------- TLS


def public_ingresses(cases):
    return [pytest.param(case, name, id=f"{case.id}-{name}") for case in cases for name in case.public_ingresses]


@pytest.mark.parametrize("case, name", public_ingresses(PUBLIC_EDGE))
def test_each_public_ingress_has_the_tls_the_values_ask_for(case, name, docs):
    """The same TLS section and redirect on every public Ingress, the
    cert-manager issuer on the main one (ingress.tls: a table, or the list
    of earlier charts)."""
    tls = case.ingress.get("tls", {"enabled": False})
    extra = case.ingress.get("annotations", {})
    if isinstance(tls, list):
        want_tls, redirect, issuer = tls or None, {}, {}
    elif tls.get("enabled"):
        host = case.ingress.get("host", "arch.homework")
        want_tls = [{"hosts": [host], "secretName": tls.get("secretName") or f"{RELEASE}-tls"}]
        redirect = dict.fromkeys(REDIRECTS, "true" if tls.get("redirect", True) else "false")
        issuer = issuers(tls)
    else:
        want_tls, redirect, issuer = None, {}, {}
    redirect = {key: extra.get(key, value) for key, value in redirect.items()}
    want = (want_tls, redirect, issuer if name == RELEASE else {})
    ingress = ingress_named(docs, name)
    assert ingress, f"[{case.label}] no Ingress {name}"
    assert tls_of(ingress) == want, f"[{case.label}] {name}: (tls, redirect, issuer) {tls_of(ingress)}, want {want}"


# ------------------------------------------------------- the admin Ingress


@each([case for case in EDGE if not case.admin_ingress_enabled])
def test_admin_ingress_off_routes_the_admin_api_and_console_nowhere(case, docs):
    routes = chart.ingress_routes(docs)
    routed = [path for path, _ in ADMIN_REQUESTS if ingress_match(routes, path) is not None]
    assert ingress_named(docs, ADMIN_INGRESS) is None and not routed, \
        f"[{case.label}] adminIngress off, yet {ADMIN_INGRESS} or routes for {routed}"


@pytest.fixture
def admin_ingress(case, docs):
    ingress = ingress_named(docs, ADMIN_INGRESS)
    assert ingress, f"[{case.label}] adminIngress on, yet no {ADMIN_INGRESS}"
    return ingress


@each(ADMIN_ON)
def test_admin_ingress_on_renders_it(case, docs):
    assert ingress_named(docs, ADMIN_INGRESS), f"[{case.label}] adminIngress on, yet no {ADMIN_INGRESS}"


@each(ADMIN_ON)
def test_admin_ingress_routes_the_admin_api_and_console_on_its_host(case, docs, admin_ingress):
    """/api/admin and /console to order-api, class nginx, and /api/token
    for the sign-in when no public Ingress routes it on the same host."""
    admin_values = case.values["adminIngress"]
    host = admin_values.get("host") or case.ingress.get("host", "arch.homework")
    public_sign_in = case.ingress_enabled and host == case.ingress.get("host", "arch.homework")
    want_routes = ADMIN | (set() if public_sign_in else {SIGN_IN})
    got = (routes_of(docs, admin_ingress), [r.get("host") for r in admin_ingress["spec"]["rules"]],
           admin_ingress["spec"].get("ingressClassName"))
    want = (want_routes, [host], case.ingress.get("className", "nginx"))
    assert got == want, f"[{case.label}] {ADMIN_INGRESS} (routes, hosts, class) {got}, want {want}"


@each(ADMIN_ON)
def test_every_admin_request_reaches_order_api(case, docs, admin_ingress):
    routes = chart.ingress_routes(docs)
    wrong = [(path, ingress_match(routes, path)) for path, want in ADMIN_REQUESTS
             if ingress_match(routes, path) != want]
    assert not wrong, f"[{case.label}] admin requests not reaching order-api: {wrong}"


@each(ADMIN_ON)
def test_admin_ingress_admits_its_sources_under_its_own_limit(case, admin_ingress):
    admin_values = case.values["adminIngress"]
    extra = admin_values.get("annotations", {})
    rate = {**DEFAULT_ADMIN_RATE_LIMIT, **admin_values.get("rateLimit", {})}
    want = {}
    if admin_values.get("allowedSourceRanges"):
        want[ALLOW] = ",".join(admin_values["allowedSourceRanges"])
    if rate["enabled"]:
        want.update({LIMIT_RPS: str(rate["rps"]), LIMIT_BURST: str(rate["burstMultiplier"])})
    want.update({k: v for k, v in extra.items() if k in (ALLOW, LIMIT_RPS, LIMIT_BURST)})
    got = {k: v for k, v in annotations_of(admin_ingress).items() if k in (ALLOW, LIMIT_RPS, LIMIT_BURST)}
    assert got == want, f"[{case.label}] {ADMIN_INGRESS}'s allow list and limit {got}, want {want}"


@each(ADMIN_ON)
def test_admin_ingress_is_https_unless_allow_insecure(case, admin_ingress):
    """HTTPS with its Secret and plain HTTP redirected, cert-manager as
    asked; plain HTTP only as adminIngress.allowInsecure allows."""
    admin_values = case.values["adminIngress"]
    tls, extra = admin_values.get("tls", {}), admin_values.get("annotations", {})
    host = admin_values.get("host") or case.ingress.get("host", "arch.homework")
    assert tls.get("enabled") or admin_values.get("allowInsecure"), \
        f"[{case.label}] {ADMIN_INGRESS} rendered over plain HTTP without allowInsecure"
    if tls.get("enabled"):
        want = ([{"hosts": [host], "secretName": tls.get("secretName") or f"{RELEASE}-admin-tls"}],
                {k: extra.get(k, "true") for k in REDIRECTS}, issuers(tls))
    else:
        want = (None, {}, {})
    assert tls_of(admin_ingress) == want, \
        f"[{case.label}] {ADMIN_INGRESS} (tls, redirect, issuer) {tls_of(admin_ingress)}, want {want}"


def test_admin_ingress_allow_insecure_renders_it_without_tls():
    docs = chart.render({"adminIngress": {"enabled": True, "allowInsecure": True}})
    admin = [i for i in kinds(docs, "Ingress") if i["metadata"]["name"] == ADMIN_INGRESS]
    assert len(admin) == 1 and "tls" not in admin[0]["spec"], f"adminIngress.allowInsecure=true renders {admin}"


# --------------------------------------------- limits and TLS switched about


@each([LIMITS_OFF])
def test_sign_in_limit_off_routes_sign_up_and_login_with_the_rest_unlimited(case, docs):
    """shop-orders keeps its limit."""
    names = sorted(i["metadata"]["name"] for i in kinds(docs, "Ingress"))
    limits = chart.ingress_limits(docs)
    assert names == [RELEASE, f"{RELEASE}-orders"], f"Ingresses {names}"
    assert chart.ingress_routes(docs) == PUBLIC, f"routes {chart.ingress_routes(docs)}"
    assert set(limits) == {("/api/orders", "Prefix")}, f"limited routes {limits}"


@each([BOTH_LIMITS_OFF])
def test_both_limits_off_one_ingress_routes_the_whole_public_api_unlimited(case, docs):
    ingresses = kinds(docs, "Ingress")
    names = [i["metadata"]["name"] for i in ingresses]
    assert names == [RELEASE], f"Ingresses {names}"
    assert chart.ingress_routes(docs) == PUBLIC, f"routes {chart.ingress_routes(docs)}"
    annotated = [k for i in ingresses for k in annotations_of(i) if k in (LIMIT_RPS, LIMIT_BURST)]
    assert not chart.ingress_limits(docs) and not annotated, f"limits {chart.ingress_limits(docs)} {annotated}"


@each([TLS_LIST])
def test_ingress_tls_as_a_list_is_used_as_given(case, docs):
    """The list of earlier charts (Helm warns that it replaces a table),
    on the three public Ingresses, with no redirect or issuer of ours."""
    got = [(i["spec"].get("tls"), sorted(k for k in annotations_of(i) if k in REDIRECTS + ISSUERS))
           for i in kinds(docs, "Ingress")]
    assert got == [(LEGACY_TLS, [])] * 3, f"(tls, annotations) per Ingress: {got}"


@each([TLS_ISSUER])
def test_ingress_tls_with_an_issuer_and_no_redirect(case, docs):
    """The release's Secret on every public Ingress, ssl-redirect false,
    the issuer on one."""
    got = {i["metadata"]["name"]: (i["spec"].get("tls"), {k: v for k, v in annotations_of(i).items()
                                                         if k in REDIRECTS + ISSUERS})
           for i in kinds(docs, "Ingress")}
    tls = [{"hosts": ["arch.homework"], "secretName": f"{RELEASE}-tls"}]
    off = dict.fromkeys(REDIRECTS, "false")
    want = {RELEASE: (tls, {**off, "cert-manager.io/issuer": "local-ca"}),
            f"{RELEASE}-rate-limited": (tls, off), f"{RELEASE}-orders": (tls, off)}
    assert got == want, f"{got}, want {want}"


@each([LIMITS_OFF, BOTH_LIMITS_OFF, TLS_LIST, TLS_ISSUER] + ADMIN_CASES + [GATEWAY])
def test_no_public_ingress_routes_the_admin_api_in_more_configurations(case, docs):
    public_routes = chart.ingress_routes(public_only(docs))
    found = [path for path, _ in ADMIN_REQUESTS if ingress_match(public_routes, path) is not None]
    assert not found, f"[{case.label}] a public Ingress routes {found}"

