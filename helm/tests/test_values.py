"""The values: what values.schema.json and the templates refuse at install
time (and, where a value needs explaining, what the message says), what
they accept, and what a changed value rolls."""

import helm_python as helm
import pytest

import chart
from cases import EXTERNAL_HA, EXTERNAL_HOST, EXTERNAL_NO_CA, PEM, THEIRS, merge
from manifests import by_component, kinds
from rendering import refusal, render_with_live
from spec import ADMIN_SERVICE

REFUSED = [
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
    ("ingress.tls with both an Issuer and a ClusterIssuer",
     {"ingress": {"tls": {"enabled": True, "issuer": "a", "clusterIssuer": "b"}}}),
    # the admin Ingress
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
    # the administrator: what auth would refuse at start
    ("admin.username with a space (ad min)", {"admin": {"username": "ad min"}}),
    ("admin.username of 2 characters", {"admin": {"username": "ab"}}),
    ("admin.username of 151 characters", {"admin": {"username": "a" * 151}}),
    ("admin.username with a slash", {"admin": {"username": "ops/admin"}}),
    ("admin.username not ASCII", {"admin": {"username": "adm\u00efn"}}),
    ("admin.username as a number", {"admin": {"username": 12345}}),
    ("a misspelled key (admin.existingsecret)", {"admin": {"existingsecret": "x"}}),
    ("a misspelled key (admin.user)", {"admin": {"user": "root"}}),
    ("admin.existingSecret that names no Secret (Admin_Password)", {"admin": {"existingSecret": "Admin_Password"}}),
    # TLS to the stores, where it cannot work
    ("sslmode verify-full without a CA", merge(EXTERNAL_NO_CA, {"externalDatabase": {"sslmode": "verify-full"}})),
    ("sslmode verify-ca without a CA", merge(EXTERNAL_NO_CA, {"externalDatabase": {"sslmode": "verify-ca"}})),
    ("sslmode with URLs from existingSecret", merge(EXTERNAL_HA, {"externalDatabase": {"sslmode": "require"}})),
    ("an unknown sslmode (verify_full)", merge(EXTERNAL_HOST, {"externalDatabase": {"sslmode": "verify_full"}})),
    ("a misspelled caSecret key (caSecret.Key)", merge(EXTERNAL_HOST, {"externalRedis": {"caSecret": {"Key": "x"}}})),
    ("postgresql.tls.enable", {"postgresql": {"tls": {"enable": True}}}),
    # the service credentials, where they cannot work
    ("secrets.existingDigestSecret without existingSecret", {"secrets": {"existingDigestSecret": "my-digests"}}),
    ("secrets.jwtPublicKey without existingSecret", {"secrets": {"jwtPublicKey": PEM}}),
    ("secrets.jwtPublicKey that is no PEM", {"secrets": {"existingSecret": "s", "existingDigestSecret": "d",
                                                         "jwtPublicKey": "ssh-ed25519 AAAA"}}),
    ("a misspelled key (secrets.existingDigestsSecret)", {"secrets": {"existingDigestsSecret": "d"}}),
    # monitoring
    ("a scrape interval that is no duration", {"monitoring": {"serviceMonitor": {"interval": "30 seconds"}}}),
    ("an error-rate threshold above 1", {"monitoring": {"prometheusRule": {"errorRate": {"threshold": 5}}}}),
    ("a misspelled key (monitoring.prometheusRule.sagasParked.fore)",
     {"monitoring": {"prometheusRule": {"sagasParked": {"fore": "5m"}}}}),
    ("a threshold where none is (sagasParked.threshold)",
     {"monitoring": {"prometheusRule": {"sagasParked": {"threshold": 1}}}}),
    ("a label that is no string", {"monitoring": {"grafanaDashboard": {"labels": {"n": 1}}}}),
]

ACCEPTED = [
    ("a partial override", {"ingress": {"enabled": False}, "mediator": {"replicas": 3}}),
    # any username auth accepts (3 and 150 characters, _ . @ + -)
    ("admin.username of 3 characters", {"admin": {"username": "ops"}}),
    ("admin.username of 150 characters", {"admin": {"username": "a" * 150}}),
]


@pytest.mark.parametrize("values", [pytest.param(values, id=name) for name, values in REFUSED])
def test_the_chart_refuses(values):
    assert refusal(values) is not None, f"the chart renders {values}"


@pytest.mark.parametrize("values", [pytest.param(values, id=name) for name, values in ACCEPTED])
def test_the_chart_accepts(values):
    assert refusal(values) is None, f"the chart refuses {values}: {refusal(values)}"


def test_admin_ingress_without_tls_is_refused_saying_what_to_set():
    err = refusal({"adminIngress": {"enabled": True}})
    assert err is not None, "adminIngress.enabled without TLS renders"
    for words in ("adminIngress.tls.enabled=true", "adminIngress.allowInsecure=true"):
        assert words in str(err), f"the message does not say {words}: {err}"


def test_brought_credentials_without_a_cluster_are_refused_saying_what_to_bring():
    """secrets.existingSecret with no cluster to read it (helm template)
    and nothing else brought: bring existingDigestSecret (sha256sum) and
    jwtPublicKey."""
    err = refusal({"secrets": {"existingSecret": "my-secrets"}})
    assert err is not None, "secrets.existingSecret alone renders without a cluster"
    for words in ("secrets.existingDigestSecret", "auth-token-sha256", "mediator-token-sha256",
                  'printf %s "$TOKEN" | sha256sum', "secrets.jwtPublicKey"):
        assert words in str(err), f"the message does not say {words!r}: {err}"


def test_a_brought_secret_without_mediator_token_is_refused_naming_the_key():
    theirs = {k: v for k, v in THEIRS.items() if k != "mediator-token"}
    with pytest.raises(helm.HelmError) as refused:
        render_with_live({"secrets": {"existingSecret": "my-secrets"}}, {"my-secrets": theirs})
    message = str(refused.value)
    assert "mediator-token" in message and "auth-token," not in message, f"the message: {message}"


# ------------------------------------------------------- what rolls what


def pod_templates(override):
    docs = chart.render(merge(EXTERNAL_HA, override))
    return {name: d["spec"]["template"] for name, d in by_component(docs, "Deployment").items()}


@pytest.fixture(scope="module")
def ha_templates():
    return pod_templates({})


@pytest.mark.parametrize("override", [
    pytest.param({"admin": {"existingSecret": "shop-admin-2"}}, id="a renamed admin.existingSecret"),
    pytest.param({"admin": {"username": "root"}}, id="another admin.username"),
    pytest.param({"admin": {"username": ""}}, id="admin.username empty"),
])
def test_a_changed_administrator_rolls_auth_alone(override, ha_templates):
    rolled = sorted(name for name, template in pod_templates(override).items() if template != ha_templates[name])
    assert rolled == [ADMIN_SERVICE], f"{override} rolls {rolled}"


def test_a_changed_config_value_or_a_renamed_secret_changes_those_checksums_alone():
    """An unchanged render changes nothing; over the pods that carry the
    checksum (checksum/secrets: the callers)."""
    def annotations(override):
        docs = chart.render(merge(EXTERNAL_HA, override))
        return {d["metadata"]["name"]: d["spec"]["template"]["metadata"].get("annotations", {})
                for d in kinds(docs, "Deployment")}

    first = annotations({})
    config = annotations({"config": {"logLevel": "debug"}})
    secret = annotations({"secrets": {"existingSecret": "shop-secrets-2"}})

    def changed(other, key):
        """The pods (carrying the checksum) whose checksum `other` changes."""
        return [n for n in first if key in first[n] and other[n][key] != first[n][key]]

    def unchanged(other, key):
        return [n for n in first if key in first[n] and other[n][key] == first[n][key]]

    assert annotations({}) == first, "two renders of the same values differ"
    assert not unchanged(config, "checksum/config"), \
        f"config.logLevel leaves checksum/config of {unchanged(config, 'checksum/config')}"
    assert not changed(config, "checksum/secrets"), \
        f"config.logLevel changes checksum/secrets of {changed(config, 'checksum/secrets')}"
    assert not unchanged(secret, "checksum/secrets"), \
        f"a renamed existingSecret leaves checksum/secrets of {unchanged(secret, 'checksum/secrets')}"
    assert not changed(secret, "checksum/config"), \
        f"a renamed existingSecret changes checksum/config of {changed(secret, 'checksum/config')}"
