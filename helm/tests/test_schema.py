"""The chart is well formed for every configuration: `helm lint --strict`,
every manifest valid against the Kubernetes schemas of the oldest and the
newest Kubernetes it supports (kubeconform's job, offline, with
kubernetes-validate), the Prometheus operator's kinds against their CRDs'
structure, and the app.kubernetes.io labels on everything."""

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest

import chart
import cnpg_crds
from cases import VALIDATED, each
from manifests import workloads
from spec import NAMESPACE

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the
# newest whose schemas kubernetes-validate ships.
KUBE_VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]
LINT_KUBE_VERSION = "v" + KUBE_VERSIONS[-1]

_DURATION = {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
                                          "(([0-9]+)s)?(([0-9]+)ms)?)$"}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
    "namespace": {"type": "string"}, "labels": _STRINGS, "annotations": _STRINGS}}
_SELECTOR = {"type": "object", "additionalProperties": False, "properties": {
    "matchLabels": _STRINGS, "matchExpressions": {"type": "array", "items": {"type": "object"}}}}
# The parts of the Prometheus operator's CRDs (monitoring.coreos.com/v1)
# that the chart renders, closed to anything else: a misspelled field is
# an error here rather than silently dropped by the API server.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): jsonschema.Draft7Validator({
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "ServiceMonitor"},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, "required": ["selector", "endpoints"],
                     "properties": {
                         "jobLabel": {"type": "string"},
                         "selector": _SELECTOR,
                         "namespaceSelector": {"type": "object", "additionalProperties": False, "properties": {
                             "any": {"type": "boolean"}, "matchNames": {"type": "array", "items": {"type": "string"}}}},
                         "endpoints": {"type": "array", "minItems": 1, "items": {
                             "type": "object", "additionalProperties": False, "properties": {
                                 "port": {"type": "string"}, "targetPort": {"type": ["string", "integer"]},
                                 "path": {"type": "string", "pattern": "^/"},
                                 "scheme": {"enum": ["http", "https"]},
                                 "interval": _DURATION, "scrapeTimeout": _DURATION,
                                 "honorLabels": {"type": "boolean"},
                                 "relabelings": {"type": "array"}, "metricRelabelings": {"type": "array"}}}}}}}}),
    ("monitoring.coreos.com/v1", "PrometheusRule"): jsonschema.Draft7Validator({
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "PrometheusRule"},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, "properties": {
                "groups": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "rules"], "properties": {
                        "name": {"type": "string", "minLength": 1}, "interval": _DURATION,
                        "rules": {"type": "array", "items": {
                            "type": "object", "additionalProperties": False, "required": ["expr"],
                            "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                            "properties": {
                                "alert": {"type": "string"}, "record": {"type": "string"},
                                "expr": {"type": ["string", "integer"], "minLength": 1},
                                "for": _DURATION, "labels": _STRINGS, "annotations": _STRINGS}}}}}}}}}}),
}
REQUIRED_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                   "app.kubernetes.io/managed-by", "helm.sh/chart"]


@each(VALIDATED)
def test_helm_lint_strict(case):
    report = helm.lint(str(chart.CHART), case.values, strict=True, kube_version=LINT_KUBE_VERSION,
                       namespace=NAMESPACE)
    problems = [f"{m.get('path')}: {m.get('error')}" for m in report.get("messages", [])
                if m.get("severity", 0) >= 2]
    problems += report.get("errors") or []
    assert not problems, f"[{case.label}] helm lint --strict: {problems}"


@each(VALIDATED)
@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_manifests_valid_against_the_kubernetes_schemas(case, docs, version):
    """Strict: an unknown field is an error. The Prometheus operator's
    kinds, which those schemas do not know, against CRD_SCHEMAS;
    CloudNativePG's (postgresql.mode cloudnativepg) against its own CRDs
    (cnpg_crds.py, vendored in crds/)."""
    invalid = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if (doc["apiVersion"], doc["kind"]) in cnpg_crds.VALIDATORS:
            invalid += [f"{where} {problem}" for problem in cnpg_crds.problems(doc)]
            continue
        crd = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if crd:
            invalid += [f"{where} {'/'.join(map(str, err.path))}: {err.message}" for err in crd.iter_errors(doc)]
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            invalid.append(f"{where} {'/'.join(str(p) for p in err.path)}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            invalid.append(f"{where}: no schema ({err})")
    assert not invalid, f"[{case.label}] invalid against the Kubernetes {version} schemas: {invalid}"


@each(VALIDATED)
def test_every_object_has_the_app_kubernetes_io_labels(case, docs):
    bad = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
           if any(k not in d["metadata"].get("labels", {}) for k in REQUIRED_LABELS)]
    assert not bad, f"[{case.label}] objects without all of {REQUIRED_LABELS}: {bad}"


@each(VALIDATED)
def test_every_workloads_selector_picks_its_own_pods_by_component(case, docs):
    bad = []
    for workload in workloads(docs):
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        if "app.kubernetes.io/component" not in selector or any(labels.get(k) != v for k, v in selector.items()):
            bad.append(workload["metadata"]["name"])
    assert not bad, f"[{case.label}] workloads whose selector is not their pods' component: {bad}"
