"""NetworkPolicy semantics, as the Kubernetes API defines them, for asking a
render who may open a connection to whom.

A pod no policy selects for Ingress accepts everyone. Once one does, a
connection gets in when a rule of any selecting policy admits both its port
and its source; a source is a pair (namespace labels, pod labels)."""

from manifests import kinds, pod_spec, workloads
from spec import NAMESPACE, OUTSIDERS


def selector_matches(selector, labels):
    """A Kubernetes label selector: {} selects everything."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if not {"In": present and labels.get(key) in values,
                "NotIn": not present or labels.get(key) not in values,
                "Exists": present,
                "DoesNotExist": not present}[operator]:
            return False
    return True


def peer_admits(peer, namespace, source):
    """Whether a `from` peer of a policy in `namespace` admits `source`.
    Without a namespaceSelector a peer means the policy's own namespace;
    ipBlocks never name pods here."""
    ns_labels, pod_labels = source
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        ns_ok = selector_matches(peer["namespaceSelector"], ns_labels)
    else:
        ns_ok = ns_labels.get("kubernetes.io/metadata.name") == namespace
    return ns_ok and ("podSelector" not in peer or selector_matches(peer["podSelector"], pod_labels))


def ingress_allowed(policies, target, port, source, namespace=NAMESPACE):
    """Whether a pod with labels `target` accepts a TCP connection on
    `port` (a (number, name) pair) from `source`."""
    number, name = port
    applying = [p for p in policies if selector_matches(p["spec"].get("podSelector", {}), target) and
                "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    if not applying:
        return True
    for policy in applying:
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(p.get("protocol", "TCP") == "TCP" and p.get("port") in (None, number, name)
                                 for p in ports):
                continue
            peers = rule.get("from")
            if not peers or any(peer_admits(peer, namespace, source) for peer in peers):
                return True
    return False


def release_pods(docs):
    """Component -> (pod labels, (port number, port name)) of every workload."""
    pods = {}
    for workload in workloads(docs):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        port = pod_spec(workload)["containers"][0]["ports"][0]
        pods[labels["app.kubernetes.io/component"]] = (labels, (port["containerPort"], port["name"]))
    return pods


def admitted(docs):
    """Component -> the set of sources (release components, OUTSIDERS) its
    pods accept on their port; and the (source, component) pairs that also
    get in on another port."""
    policies = kinds(docs, "NetworkPolicy")
    pods = release_pods(docs)
    release_ns = {"kubernetes.io/metadata.name": NAMESPACE}
    sources = {name: (release_ns, labels) for name, (labels, _) in pods.items()}
    sources.update(OUTSIDERS)
    result, other_ports = {}, []
    for name, (labels, port) in pods.items():
        result[name] = {source for source, who in sources.items() if ingress_allowed(policies, labels, port, who)}
        other_ports += [(source, name) for source in result[name]
                        if ingress_allowed(policies, labels, (port[0] + 1000, "other"), sources[source])]
    return result, other_ports
