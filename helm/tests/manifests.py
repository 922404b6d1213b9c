"""Reading rendered manifests (the dicts chart.render returns): objects by
kind and component, what a pod's containers get from ConfigMaps and
Secrets, and what the Ingresses route and limit, read here on their own
rather than through the gateway's generator (helm/tools/chart.py) that the
tests check."""

import base64

from spec import ALLOW, LIMIT_BURST, LIMIT_RPS, ADMIN_INGRESS


def kinds(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def by_component(docs, kind):
    """{component: object} of the objects of one kind."""
    return {d["metadata"]["labels"].get("app.kubernetes.io/component"): d for d in kinds(docs, kind)}


def workloads(docs):
    return kinds(docs, "Deployment") + kinds(docs, "StatefulSet")


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def pod_annotations(workload):
    return workload["spec"]["template"]["metadata"].get("annotations", {})


def containers(pod):
    return pod.get("initContainers", []) + pod.get("containers", [])


def main_container(workload):
    return pod_spec(workload)["containers"][0]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def config_maps(docs):
    """{name: data} of every rendered ConfigMap."""
    return {d["metadata"]["name"]: d.get("data", {}) for d in kinds(docs, "ConfigMap")}


def env_from_config(docs, container):
    """The variables a container takes whole from ConfigMaps (envFrom)."""
    maps, config = config_maps(docs), {}
    for source in container.get("envFrom", []):
        config.update(maps.get(source.get("configMapRef", {}).get("name"), {}))
    return config


def config_map_value(docs, name, key):
    """A rendered ConfigMap's value; None when the chart does not render it."""
    return config_maps(docs).get(name, {}).get(key)


def config_value(docs, key):
    """A key's value in the first ConfigMap that has it, else None."""
    return next((data[key] for data in config_maps(docs).values() if key in data), None)


def secret_ref(var):
    """(Secret name, key) of an env var taken from a Secret, else None."""
    ref = (var or {}).get("valueFrom", {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None


def secret_value(docs, name, key):
    """A rendered Secret's value, decoded; None when the chart does not render it."""
    for doc in kinds(docs, "Secret"):
        if doc["metadata"]["name"] == name and key in doc.get("data", {}):
            return base64.b64decode(doc["data"][key]).decode()
    return None


def mounted_secret_files(pod, container):
    """Every file a container sees from a Secret: path -> {secret, key,
    mode, readOnly}; a Secret mounted whole shows as the key "*"."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        sources = []
        if "secret" in volume:
            sources.append((volume["secret"]["secretName"], volume["secret"].get("items"),
                            volume["secret"].get("defaultMode", 0o644)))
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                sources.append((source["secret"]["name"], source["secret"].get("items"),
                                volume["projected"].get("defaultMode", 0o644)))
        for secret, items, mode in sources:
            for item in items or [{"key": "*", "path": "*"}]:
                files[f"{mount['mountPath'].rstrip('/')}/{item['path']}"] = {
                    "secret": secret, "key": item["key"], "mode": item.get("mode", mode),
                    "readOnly": mount.get("readOnly", False)}
    return files


def mounted_configmap_files(pod, container):
    """Every folder a container sees a ConfigMap in: path -> (ConfigMap, None)."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {}).get("configMap")
        if volume:
            files[mount["mountPath"].rstrip("/")] = (volume["name"], None)
    return files


def pod_secrets(pod):
    """The Secrets a pod's volumes take files from, mounted or not."""
    names = set()
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        names |= {source["secret"]["name"] for source in volume.get("projected", {}).get("sources", [])
                  if "secret" in source}
    return names


def pod_references(pod):
    """Every (Secret, key) a pod's spec names, from env, envFrom and
    volumes; the key "*" for a Secret taken whole."""
    refs = set()
    for container in containers(pod):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                refs.add((source["secretRef"]["name"], "*"))
        refs |= {secret_ref(var) for var in container.get("env", []) if secret_ref(var)}
    for volume in pod.get("volumes", []):
        sources = [(volume["secret"]["secretName"], volume["secret"].get("items"))] if "secret" in volume else []
        sources += [(source["secret"]["name"], source["secret"].get("items"))
                    for source in volume.get("projected", {}).get("sources", []) if "secret" in source]
        for name, items in sources:
            refs |= {(name, item["key"]) for item in items or [{"key": "*"}]}
    return refs


# ------------------------------------------------------------ Ingresses


def ingress_named(docs, name):
    return next((i for i in kinds(docs, "Ingress") if i["metadata"]["name"] == name), None)


def annotations_of(doc):
    return doc["metadata"].get("annotations") or {}


def public_only(docs):
    """The manifests without the admin Ingress: what the public reaches."""
    return [d for d in docs if not (d["kind"] == "Ingress" and d["metadata"]["name"] == ADMIN_INGRESS)]


def ingress_paths(ingress):
    """An Ingress's routes, (path, pathType, Service name)."""
    return {(p["path"], p["pathType"], p["backend"]["service"]["name"])
            for rule in ingress["spec"].get("rules", []) for p in rule.get("http", {}).get("paths", [])}


def ingress_hosts(docs):
    return sorted({r.get("host") for i in kinds(docs, "Ingress") for r in i["spec"]["rules"]})


def ingress_match(routes, path):
    """The component ingress-nginx sends `path` to, or None (its 404).

    pathType Prefix matches element-wise: /api/token matches /api/token and
    /api/token/..., never /api/tokens. Exact matches the path alone. The
    longest match wins.
    """
    best = None
    for route, path_type, service in routes:
        if path_type == "Exact":
            matched = path == route
        else:
            prefix = route.rstrip("/")
            matched = path == prefix or path.startswith(prefix + "/")
        if matched and (best is None or len(route) > len(best[0])):
            best = (route, service)
    return best[1] if best else None


def expected_limits(docs):
    """{(path, pathType): (rps, burst)} from the Ingresses' annotations, read
    here on their own (ingress-nginx: burst = rps x multiplier, 5 unless set)."""
    limits = {}
    for ingress in kinds(docs, "Ingress"):
        annotations = annotations_of(ingress)
        if LIMIT_RPS in annotations:
            rps = int(annotations[LIMIT_RPS])
            burst = rps * int(annotations.get(LIMIT_BURST, 5))
            limits.update({(path, path_type): (rps, burst) for path, path_type, _ in ingress_paths(ingress)})
    return limits


def expected_allowlists(docs):
    """{(path, pathType): (CIDR, ...)} from the Ingresses' whitelist-source-range."""
    allowed = {}
    for ingress in kinds(docs, "Ingress"):
        text = annotations_of(ingress).get(ALLOW)
        if text is not None:
            networks = tuple(n.strip() for n in text.split(","))
            allowed.update({(path, path_type): networks for path, path_type, _ in ingress_paths(ingress)})
    return allowed
