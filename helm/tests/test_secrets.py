"""The Secrets: what the chart generates when none are brought, a service
credential per caller and its digest for the callees (SPEC section 7),
and the administrator's password, which auth alone reads."""

import base64
import hashlib
import re
import shutil
import subprocess

import pytest

from cases import (ADMINISTERED, CREDENTIALED, EXTERNAL, OURS, UPGRADE, admin_expectations,
                   credential_expectations, each)
from manifests import (by_component, config_map_value, containers, env_of, kinds, mounted_secret_files,
                       pod_annotations, pod_references, pod_secrets, pod_spec, secret_ref, secret_value, workloads)
from spec import (ADMIN_KEY, ADMIN_SERVICE, CALLERS_OF_SERVICES, CREDENTIAL_KEYS, CREDENTIALS_SECRET, DATABASES,
                  DIGEST_KEYS, DIGEST_SECRET, JWT_PUBLIC, RELEASE, SERVICES)


@pytest.fixture
def default_secrets(default_docs):
    return {d["metadata"]["name"]: d for d in kinds(default_docs, "Secret")}


def test_secrets_are_generated_when_none_are_brought(default_secrets):
    """A service credential per caller, the JWT pair, PostgreSQL's
    superuser and role passwords, Redis's password: long, distinct, and
    kept on uninstall (resource-policy keep) but for what is derived on
    every render (certificates, the credentials' digests)."""
    main = default_secrets.get("shop-secrets", {}).get("data", {})
    pg = default_secrets.get("shop-postgresql", {}).get("data", {})
    redis = default_secrets.get("shop-redis", {}).get("data", {})
    tokens = [base64.b64decode(main.get(key, "")).decode() for key in ("auth-token", "mediator-token")]
    passwords = [pg.get(f"{db}-password", "") for db in sorted(DATABASES)] + \
        [pg.get("postgres-password", ""), redis.get("redis-password", "")]
    unkept = [name for name, s in default_secrets.items() if not name.endswith("-tls") and name != DIGEST_SECRET
              and s["metadata"].get("annotations", {}).get("helm.sh/resource-policy") != "keep"]
    assert all(len(t) >= 16 for t in tokens) and len(set(tokens)) == 2, "two distinct service credentials"
    assert {"jwt-private.pem", "jwt-public.pem"} <= set(main), f"the JWT pair in shop-secrets: {sorted(main)}"
    assert all(len(base64.b64decode(p)) >= 16 for p in passwords) and len(set(passwords)) == len(passwords), \
        "PostgreSQL's and Redis's passwords: 16 characters or more, all distinct"
    assert not unkept, f"generated Secrets without resource-policy keep: {unkept}"


def test_the_generated_jwt_key_is_ed25519_and_jwt_public_holds_its_public_half(default_secrets):
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("no openssl")
    main = default_secrets["shop-secrets"]["data"]
    private = base64.b64decode(main["jwt-private.pem"])
    public = base64.b64decode(main["jwt-public.pem"])
    derived = subprocess.run([openssl, "pkey", "-pubout"], input=private, capture_output=True)
    text = subprocess.run([openssl, "pkey", "-noout", "-text"], input=private, capture_output=True)
    certified = subprocess.run([openssl, "x509", "-noout", "-pubkey"], input=public, capture_output=True)
    assert private.startswith(b"-----BEGIN PRIVATE KEY-----") and derived.returncode == 0, \
        f"jwt-private.pem is no PKCS#8 key: {derived.stderr}"
    assert b"ED25519" in text.stdout.upper(), f"jwt-private.pem is no Ed25519 key: {text.stdout[:40]}"
    assert derived.stdout and derived.stdout == certified.stdout, \
        f"jwt-public.pem does not hold the private key's public half: {certified.stderr}"


@each([case for case in EXTERNAL if case.values.get("secrets", {}).get("existingSecret")])
def test_brought_secrets_none_generated(case, docs):
    generated = [d["metadata"]["name"] for d in kinds(docs, "Secret")]
    assert not generated, f"[{case.label}] the secrets are brought, yet the chart generates {generated}"


# ------------------------------------------------- the service credentials


@each(CREDENTIALED)
def test_each_caller_gets_its_own_credential_and_each_callee_the_digests_alone(case, docs):
    """auth and the mediator get their own credential from the credentials
    Secret; billing, items and slots <CALLER>_SERVICE_TOKEN_SHA256 from the
    digests Secret; no other pod names the credentials Secret or a
    credential's key."""
    want = credential_expectations(case.values)
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        spec, pod = SERVICES[name], pod_spec(deployment)
        env, refs = env_of(pod["containers"][0]), pod_references(pod)
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
    assert not bad, f"[{case.label}] {bad}"


@each(CREDENTIALED)
def test_the_digests_are_the_credentials_sha256_and_the_public_key_their_pairs(case, docs):
    """The digests Secret (unless brought) holds the lowercase hex SHA-256
    of each credential and nothing else, and is not kept on uninstall; the
    verifiers' ConfigMap holds jwt-public.pem. The credentials are the
    rendered Secret's, or the cluster's when the user brings them."""
    want = credential_expectations(case.values)
    live = case.live or {}

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
    elif DIGEST_SECRET in rendered:
        problems.append(f"{DIGEST_SECRET} rendered although {want['digests']} is brought")
    holding = sorted(n for n, d in rendered.items() if set(d.get("data", {})) & CREDENTIAL_KEYS)
    if holding not in ([], [CREDENTIALS_SECRET]) or (holding and want["credentials"] != CREDENTIALS_SECRET):
        problems.append(f"Secrets holding a credential: {holding}")
    public = config_map_value(docs, JWT_PUBLIC, "jwt-public.pem")
    if not public or public != (want["jwt public"] or credential("jwt-public.pem")):
        problems.append(f"{JWT_PUBLIC}'s jwt-public.pem is not the key pair's public half")
    assert not problems, f"[{case.label}] {problems}"


@each([UPGRADE])
def test_an_upgrade_keeps_the_live_credentials_and_key_pair(case, docs):
    kept = {key: secret_value(docs, CREDENTIALS_SECRET, key) for key in OURS}
    assert kept == OURS, f"generated anew on upgrade: {sorted(key for key in OURS if kept[key] != OURS[key])}"


# ------------------------------------------------------- the administrator


def readable_by_fs_group_only(mode, pod):
    """A Secret file (owned by root) that the pod's non-root user reads
    through its fsGroup and nobody else does: 0440, or 0400, which the
    kubelet widens to 0440 for an fsGroup. Never writable."""
    return mode in (0o400, 0o440) and pod.get("securityContext", {}).get("fsGroup") not in (None, 0)


@each(ADMINISTERED)
def test_auth_alone_gets_the_administrators_name_and_password_file(case, docs):
    """auth alone gets ADMIN_USERNAME and ADMIN_PASSWORD_FILE, a read-only
    file (0440, fsGroup) of the admin Secret's admin-password alone; no
    other pod reads that Secret. admin.username empty: no ADMIN_* variable,
    no admin volume in any pod."""
    want = admin_expectations(case.values)
    admin_secrets = {f"{RELEASE}-admin"} | ({want["secret"]} if want else set())
    bad = []
    for workload in workloads(docs):
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
    assert not bad, f"[{case.label}] administrator {want and want['username']!r}: {bad}"


@each(ADMINISTERED)
def test_the_administrators_password_is_generated_or_brought(case, docs):
    """Generated: admin-password alone, 24 to 72 letters and digits,
    resource-policy keep. Brought (or no administrator): the chart renders
    no admin Secret."""
    want = admin_expectations(case.values)
    rendered = {d["metadata"]["name"]: d for d in kinds(docs, "Secret")}
    holding = sorted(n for n, d in rendered.items() if ADMIN_KEY in d.get("data", {}))
    problems = []
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
    elif holding or f"{RELEASE}-admin" in rendered:
        problems.append(f"rendered: {holding or [f'{RELEASE}-admin']}")
    assert not problems, f"[{case.label}] the administrator's Secret: {problems}"


@each(ADMINISTERED)
def test_auths_pods_alone_carry_checksum_admin(case, docs):
    """Of the generated Secret's content, or of the brought Secret's name."""
    want = admin_expectations(case.values)
    bad = []
    for name, deployment in by_component(docs, "Deployment").items():
        got = pod_annotations(deployment).get("checksum/admin")
        if not (want and name == ADMIN_SERVICE):
            if got is not None:
                bad.append(f"{name}: checksum/admin")
        elif not re.fullmatch(r"[0-9a-f]{64}", str(got)):
            bad.append(f"{name}: checksum/admin {got!r}")
        elif not want["generated"] and got != hashlib.sha256(want["secret"].encode()).hexdigest():
            bad.append(f"{name}: checksum/admin is not that of the brought Secret's name")
    assert not bad, f"[{case.label}] {bad}"
