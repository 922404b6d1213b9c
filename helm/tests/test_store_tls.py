"""TLS between the services and PostgreSQL and Redis (issue 18, item 5):
the in-chart stores serve it with a certificate for their Service's names
and accept nothing else; every service verifies the server against a CA
mounted alone, read-only; an external server's CA is the user's Secret."""

import base64
import ipaddress
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from cases import STORE_TLS, each, tls_expectations
from manifests import (by_component, containers, env_of, kinds, main_container, mounted_configmap_files,
                       mounted_secret_files, pod_annotations, pod_spec, secret_ref, secret_value, config_maps)
from spec import (CA_DIR, DATABASES, NAMESPACE, PG_CA_FILE, POD_ADDRESSES, POSTGRES_UID, REDIS_CA_FILE, RELEASE,
                  SERVICES)

TLS_LABEL = {True: "TLS", False: "no TLS"}
STORES = {"postgresql": "pg", "redis": "redis"}


@each(STORE_TLS)
def test_the_services_verify_the_stores_against_a_ca_mounted_read_only(case, docs):
    """DATABASE_URL's query as the values ask (verify-full with the CA, or
    the external sslmode), REDIS_CA_FILE where Redis has a CA, each CA file
    read-only from its Secret."""
    want = tls_expectations(case.values)
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
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
    assert not bad, f"[{case.label}] {bad}"


@each(STORE_TLS)
def test_no_service_pod_gets_a_stores_key(case, docs):
    """Of a certificate's Secret, a service pod gets its CA file alone."""
    want = tls_expectations(case.values)
    ca_secrets = {ca[0]: ca[1] for ca in (want["pg_ca"], want["redis_ca"]) if ca}
    store_secrets = {f"{RELEASE}-postgresql-tls", f"{RELEASE}-redis-tls"} | set(ca_secrets)
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
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
    assert not bad, f"[{case.label}] {bad}"


# ------------------------------------------------------ in-chart PostgreSQL


def postgres_settings(args):
    """The -c NAME=VALUE settings of a postgres command line."""
    return dict(value.partition("=")[::2] for flag, value in zip(args, args[1:]) if flag == "-c" and "=" in value)


def hba_method(hba, connection, ssl, user, database, address="10.244.1.7"):
    """The method of the first pg_hba.conf line that matches a connection
    (connection: local or tcp), or None: no line matches, a refusal."""
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


def pg_hba_problems(hba, tls, superuser):
    """Each service's role reaches its own database over the network with a
    password (with TLS, only over TLS), nothing else gets in over the
    network, and the init script has the socket."""
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


@each([case for case in STORE_TLS if tls_expectations(case.values)["pg_in_chart"]])
def test_in_chart_postgresql_admits_each_role_to_its_own_database(case, docs):
    """With TLS: ssl=on with the Secret's certificate (key 0440, group
    postgres), and pg_hba admits each role to its own database with a
    password over TLS only; never the superuser over the network."""
    want = tls_expectations(case.values)
    postgresql = by_component(docs, "StatefulSet")["postgresql"]
    pod = pod_spec(postgresql)
    container = pod["containers"][0]
    settings = postgres_settings(container.get("args", []))
    files = mounted_secret_files(pod, container)
    problems = []
    hba_path = settings.get("hba_file", "")
    mount = mounted_configmap_files(pod, container).get(hba_path.rpartition("/")[0])
    hba = config_maps(docs).get(mount[0], {}).get(hba_path.rpartition("/")[2]) if mount else None
    if hba is None:
        problems.append(f"hba_file {hba_path!r} is no file of a mounted ConfigMap")
    else:
        problems += pg_hba_problems(hba, want["pg_tls"], case.values.get("postgresql", {}).get("username", "shop"))
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
        if not re.fullmatch(r"[0-9a-f]{64}", str(pod_annotations(postgresql).get("checksum/tls"))):
            problems.append("no checksum/tls: a new certificate would not restart it")
    elif settings.get("ssl") == "on":
        problems.append("ssl=on although postgresql.tls.enabled is false")
    assert not problems, f"[{case.label}] in-chart PostgreSQL, {TLS_LABEL[want['pg_tls']]}: {problems}"


def option(args, name):
    """The value after a --name option of a redis-server command line."""
    return args[args.index(name) + 1] if name in args[:-1] else None


@each([case for case in STORE_TLS if tls_expectations(case.values)["redis_in_chart"]])
def test_in_chart_redis_serves_tls_only(case, docs):
    """With TLS: --port 0, the Secret's certificate, clients need none,
    the probes verify the CA, the URL is rediss://. Without: no TLS
    argument, redis://."""
    want = tls_expectations(case.values)
    redis = by_component(docs, "StatefulSet")["redis"]
    container = main_container(redis)
    args, files = container.get("args", []), mounted_secret_files(pod_spec(redis), container)
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
        if not re.fullmatch(r"[0-9a-f]{64}", str(pod_annotations(redis).get("checksum/tls"))):
            problems.append("no checksum/tls: a new certificate would not restart it")
    elif any(a.startswith("--tls") for a in args) or option(args, "--port") == "0":
        problems.append(f"TLS arguments although redis.tls.enabled is false: {args}")
    url_ref = secret_ref(env_of(main_container(by_component(docs, "Deployment")["order-api"])).get("REDIS_URL"))
    url = secret_value(docs, *url_ref) if url_ref else None
    scheme = "rediss" if want["redis_tls"] else "redis"
    rendered = {d["metadata"]["name"] for d in kinds(docs, "Secret")}
    if url_ref and url_ref[0] in rendered and not (url or "").startswith(f"{scheme}://:"):
        problems.append(f"the generated redis-url is not {scheme}://")
    assert not problems, f"[{case.label}] in-chart Redis, {TLS_LABEL[want['redis_tls']]}: {problems}"


# ------------------------------------------------ the generated certificates


def store_cases(generated):
    """(case, store) pairs whose in-chart store gets a generated certificate
    (generated=True), or is in the chart without one (False)."""
    pairs = []
    for case in STORE_TLS:
        want = tls_expectations(case.values)
        for store, prefix in STORES.items():
            if bool(want[f"{prefix}_generated"]) == generated and (generated or want[f"{prefix}_in_chart"]):
                pairs.append(pytest.param(case, store, id=f"{case.id}-{store}"))
    return pairs


def certificate_problems(openssl, data, names):
    """Problems of a generated store certificate (base64 Secret data): the
    three keys, the certificate chains to ca.crt for each Service name and
    no other, the key is the certificate's, the CA is one, and no other
    key (the CA's) is in the Secret."""
    if set(data) != {"tls.crt", "tls.key", "ca.crt"}:
        return [f"keys {sorted(data)}"]
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for key, value in data.items():
            paths[key] = Path(tmp) / key
            paths[key].write_bytes(base64.b64decode(value))

        def run(*args):
            return subprocess.run([openssl, *args], capture_output=True, text=True)

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
        if "CA:TRUE" not in run("x509", "-in", str(paths["ca.crt"]), "-noout", "-text").stdout:
            problems.append("ca.crt is not a CA")
        everything = b"".join(p.read_bytes() for p in paths.values())
        if everything.count(b"PRIVATE KEY-----") != 2:  # BEGIN and END of tls.key alone
            problems.append("a private key besides tls.key")
    return problems


@pytest.mark.parametrize("case, store", store_cases(generated=True))
def test_the_generated_certificate_names_the_service_alone(case, store, docs):
    """Type kubernetes.io/tls, signed by its own CA for the Service's names
    only, with its key and no CA key; not kept on uninstall."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("no openssl")
    secret = tls_expectations(case.values)[f"{STORES[store]}_generated"]
    doc = next((d for d in kinds(docs, "Secret") if d["metadata"]["name"] == secret), {})
    service = f"{RELEASE}-{store}"
    names = [service] + [f"{service}.{NAMESPACE}{suffix}" for suffix in ("", ".svc", ".svc.cluster.local")]
    problems = certificate_problems(openssl, doc.get("data", {}), names)
    if doc.get("type") != "kubernetes.io/tls":
        problems.append(f"type {doc.get('type')}")
    if doc.get("metadata", {}).get("annotations", {}).get("helm.sh/resource-policy") == "keep":
        problems.append("resource-policy keep")
    assert not problems, f"[{case.label}] the generated {store} certificate {secret}: {problems}"


@pytest.mark.parametrize("case, store", store_cases(generated=False))
def test_no_certificate_generated_when_tls_is_off_or_brought(case, store, docs):
    rendered = {d["metadata"]["name"] for d in kinds(docs, "Secret")}
    assert f"{RELEASE}-{store}-tls" not in rendered, f"[{case.label}] {RELEASE}-{store}-tls rendered"
