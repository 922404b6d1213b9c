"""CloudNativePG's own CRD schemas (vendored in crds/, see their headers:
the cloudnative-pg repository, Apache-2.0), as the API server would apply
them to what the chart renders: the openAPIV3Schema, closed wherever it
lists properties (the API server would silently drop an unknown field; here
it is an error, as kubernetes-validate's strict mode for the core kinds),
and the x-kubernetes-validations rules that can be judged on a create."""

import re
from pathlib import Path

import jsonschema
import yaml

CRDS = Path(__file__).resolve().parent / "crds"
METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
    "namespace": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}


def closed(schema):
    """A copy of an OpenAPI schema whose objects refuse unknown fields."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema and \
            not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def load(path):
    crd = yaml.safe_load(path.read_text())
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    return {(f"{group}/{version['name']}", kind): version["schema"]["openAPIV3Schema"]
            for version in crd["spec"]["versions"]}


SCHEMAS = {}
for _path in sorted(CRDS.glob("postgresql.cnpg.io_*.yaml")):
    SCHEMAS.update(load(_path))


def validator(schema):
    schema = closed(schema)
    schema["properties"]["metadata"] = METADATA
    return jsonschema.Draft7Validator(schema)


VALIDATORS = {key: validator(schema) for key, schema in SCHEMAS.items()}

# The CEL rules these schemas hold that a create can be judged by, each a
# function of the value: `self == oldSelf` (immutability) holds on a create.
_RULES = [
    (re.compile(r"^self == oldSelf$"), lambda m, v: True),
    (re.compile(r"^self > (\d+)$"), lambda m, v: v > int(m.group(1))),
    (re.compile(r"^self != '([^']*)'$"), lambda m, v: v != m.group(1)),
    (re.compile(r"^!\(has\(self\.(\w+)\) && has\(self\.(\w+)\)\)$"),
     lambda m, v: not (m.group(1) in v and m.group(2) in v)),
    (re.compile(r"^!has\(self\.(\w+)\) \|\| self\.(\w+) == '(\w+)'$"),
     lambda m, v: m.group(1) not in v or v.get(m.group(2)) == m.group(3)),
    (re.compile(r"^self\.dataDurability!='preferred' \|\| "),
     lambda m, v: v.get("dataDurability") != "preferred" or
     not (v.get("standbyNamesPre") or v.get("standbyNamesPost"))),
]


def cel_problems(schema, value, path="", unjudged=None):
    """What the x-kubernetes-validations rules under `schema` refuse in
    `value`; a rule none of _RULES reads is reported as unjudged."""
    problems = []
    if not isinstance(schema, dict):
        return problems
    for rule in schema.get("x-kubernetes-validations", []):
        for pattern, check in _RULES:
            match = pattern.match(" ".join(rule["rule"].split()))
            if match:
                if not check(match, value):
                    problems.append(f"{path or '/'}: {rule['message']}")
                break
        else:
            problems.append(f"{path or '/'}: the rule {rule['rule']!r} is not judged by cnpg_crds._RULES")
    if isinstance(value, dict):
        for key, sub in value.items():
            if key in schema.get("properties", {}):
                problems += cel_problems(schema["properties"][key], sub, f"{path}/{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += cel_problems(schema["items"], item, f"{path}/{i}")
    return problems


def problems(doc):
    """Why CloudNativePG's CRD refuses a rendered object; [] when it is
    valid. KeyError for a kind none of the vendored CRDs defines."""
    key = (doc["apiVersion"], doc["kind"])
    schema_errors = [f"{'/'.join(map(str, err.absolute_path)) or '/'}: {err.message}"
                     for err in VALIDATORS[key].iter_errors(doc)]
    return schema_errors + cel_problems(SCHEMAS[key], doc)
