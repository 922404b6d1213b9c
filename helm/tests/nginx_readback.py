"""Reading a generated nginx.conf (helm/tools/chart.py nginx_conf) back,
independently of how it was generated: what it routes, limits and admits,
keyed like the Ingresses' routes so the two compare directly.

A `= /p` and `/p/` location pair is the Ingress route Prefix /p; a lone
`= /p` is Exact /p; a lone `/p/` has no Ingress equivalent and is reported
with pathType "nginx"."""

import re

_LOCATION = re.compile(r"location\s+(=\s*)?(\S+)\s*\{\s*proxy_pass\s+http://(\w+)\s*;")
_BLOCK = re.compile(r"location\s+(=\s*)?(\S+)\s*\{([^}]*)\}")
_LIMIT_REQ = re.compile(r"\blimit_req\s+zone=(\w+)\s+burst=(\d+)\s+nodelay\s*;")
_LIMIT_ZONE = re.compile(r"limit_req_zone\s+\$binary_remote_addr\s+zone=(\w+):\w+\s+rate=(\d+)r/s\s*;")
_ALLOW = re.compile(r"\ballow\s+([0-9A-Fa-f.:/]+)\s*;")
_DENY_ALL = re.compile(r"\bdeny\s+all\s*;")
_UPSTREAM = re.compile(r"upstream\s+(\w+)\s*\{\s*server\s+127\.0\.0\.1:(\d+)\s*;")


def _as_routes(exact, prefixes):
    """{(path, pathType): value} from {path: value} of `= /p` and `/p/`
    locations: a pair with the same value is Prefix /p."""
    found = {}
    for path, value in exact.items():
        found[(path, "Prefix" if path + "/" in prefixes and prefixes[path + "/"] == value else "Exact")] = value
    for path, value in prefixes.items():
        base = path.rstrip("/")
        if base not in exact or exact[base] != value:
            found[(path, "nginx")] = value
    return found


def nginx_routes(conf, ports):
    """(path, pathType, component) of every proxying location, through its
    upstream's port, to the service on that port."""
    by_port = {str(port): service for service, port in ports.items()}
    upstreams = {name: by_port.get(port, f"port {port}") for name, port in _UPSTREAM.findall(conf)}
    exact, prefixes = {}, {}
    for equals, path, upstream in _LOCATION.findall(conf):
        (exact if equals else prefixes)[path] = upstreams.get(upstream, f"upstream {upstream}")
    return {(path, path_type, service) for (path, path_type), service in _as_routes(exact, prefixes).items()}


def nginx_limits(conf):
    """{(path, pathType): (rps, burst)} of every location with a limit_req.
    One that is not `burst=N nodelay` in a zone keyed by the client's
    address at N r/s is reported as (None, None)."""
    rates = dict(_LIMIT_ZONE.findall(conf))
    exact, prefixes = {}, {}
    for equals, path, block in _BLOCK.findall(conf):
        if "limit_req" not in block:
            continue
        found = _LIMIT_REQ.search(block)
        limit = (int(rates[found[1]]), int(found[2])) if found and found[1] in rates else (None, None)
        (exact if equals else prefixes)[path] = limit
    return _as_routes(exact, prefixes)


def nginx_allowlists(conf):
    """{(path, pathType): (CIDR, ...)} of every location with `allow`s. One
    whose allows do not end in `deny all;` admits everyone: None."""
    exact, prefixes = {}, {}
    for equals, path, block in _BLOCK.findall(conf):
        if "allow " not in block and "deny " not in block:
            continue
        networks = tuple(_ALLOW.findall(block))
        ends_denied = bool(_DENY_ALL.search(block)) and block.rfind("deny") > block.rfind("allow")
        (exact if equals else prefixes)[path] = networks if ends_denied else None
    return _as_routes(exact, prefixes)
