"""The Helm chart rendered offline with Helm's own engine (helm-python-sdk,
no helm binary, no cluster), and the local gateway generated from it.

    chart.py render [-f VALUES.yaml]... [--set KEY=VALUE]...
                                          print the rendered manifests
    chart.py nginx-conf --prefix DIR --listen HOST:PORT --port SERVICE=PORT...
                        [-f VALUES.yaml]... [--set KEY=VALUE]...
                                          print the local gateway's nginx.conf:
                                          exactly the routes of the rendered
                                          Ingresses, to the services' local
                                          ports, with their body size limit,
                                          rate limits and allowed sources

--set takes a dotted key and a YAML value, like helm's --set:
--set ingress.rateLimit.rps=2 (values files first, then --set, in order).
nginx-conf renders with helm/tools/gateway-values.yaml before them: the admin
Ingress on (plain HTTP, the loopback alone), and an orders limit that the
local benchmark from 127.0.0.1 stays under.

The gateway is generated from the Ingresses, not written by hand, so the
local stack is reached exactly the way the cluster is (TLS aside) and the two
cannot drift apart. helm/tests/test_gateway.py proves it on every run
(scripts/chart-test).
"""

import argparse
import ipaddress
import re
import sys
from pathlib import Path

import helm_python as helm
import yaml

TOOLS = Path(__file__).resolve().parent
CHART = TOOLS.parent
# The values the local gateway is rendered with (nginx-conf), first.
GATEWAY_VALUES = TOOLS / "gateway-values.yaml"
RELEASE = "shop"
NAMESPACE = "shop"

# The JSON body of every answer the gateway makes itself (not a service's).
NOT_FOUND = '{"error":"not found"}'
# The services' own words for a body over their limit (common/src/http/json.rs).
TOO_LARGE = '{"error":"the body is too large"}'
# The gateway's answer past a rate limit (429), with Retry-After: at 1
# request a second or more, the allowance grows again within a second.
TOO_MANY = '{"error":"too many requests"}'
RETRY_AFTER_SECS = 1

# ingress-nginx's annotation for the largest request body (its
# client_max_body_size), and nginx's size syntax: a number of bytes with an
# optional k or m (or g) suffix; "0" is no limit.
BODY_SIZE_ANNOTATION = "nginx.ingress.kubernetes.io/proxy-body-size"
_SIZE = re.compile(r"^([0-9]+)([kKmMgG]?)$")
# ingress-nginx's default when the annotation is absent.
DEFAULT_BODY_SIZE = "1m"

# ingress-nginx's rate limit, per client address and per Ingress (one
# zone for all the Ingress's paths): limit-rps requests a second and a
# burst of limit-rps x limit-burst-multiplier (5 when absent) served at
# once, in nginx's limit_req_zone $binary_remote_addr ... rate=Nr/s and
# limit_req ... burst=B nodelay. Its other limit-* annotations (rpm,
# connections, bandwidth, allow lists) are not mirrored: a chart that
# sets one cannot be turned into a gateway that behaves alike.
ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
RPS_ANNOTATION = ANNOTATION_PREFIX + "limit-rps"
BURST_ANNOTATION = ANNOTATION_PREFIX + "limit-burst-multiplier"
DEFAULT_BURST_MULTIPLIER = 5
# ingress-nginx's zone size (5 MB: about 80 000 addresses).
ZONE_SIZE = "5m"
# ingress-nginx's allow list: the client networks an Ingress's paths admit
# (comma-separated CIDRs); anyone else gets 403, JSON at the gateway.
ALLOW_ANNOTATION = ANNOTATION_PREFIX + "whitelist-source-range"
FORBIDDEN = '{"error":"forbidden"}'

# libyaml's parser when the wheel has it: several times faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def render(values=None, release=RELEASE, namespace=NAMESPACE, chart_dir=CHART):
    """The chart's manifests (dicts) as `helm install` would send them.

    The values are checked against values.schema.json first, as Helm does;
    a failure raises helm_python.HelmError with Helm's message. `lookup`
    finds nothing (no cluster), so generated secrets are new each time.
    """
    with helm.Chart.load(str(chart_dir)) as chart:
        rendered = chart.render(values or {}, name=release, namespace=namespace, is_install=True)
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.load_all(text, Loader=YAML_LOADER) if doc)
    return docs


def load_values(paths):
    """Merged values files, later ones winning (like repeated `helm -f`)."""
    merged = {}
    for path in paths:
        merged = merge(merged, yaml.safe_load(Path(path).read_text()) or {})
    return merged


def set_value(values, assignment):
    """values with one `--set KEY=VALUE` applied: a dotted key, a YAML value."""
    key, sep, text = assignment.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ValueError(f"--set expects KEY=VALUE with a dotted key, got {assignment!r}")
    override = yaml.safe_load(text) if text else ""
    for part in reversed(key.split(".")):
        override = {part: override}
    return merge(values, override)


def merge(base, override):
    """Values `override` laid over `base`, tables merged key by key (as
    Helm merges values files)."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def service_components(docs):
    """Service name -> the component (auth, billing, ...) its selector picks."""
    return {
        d["metadata"]["name"]: d["spec"].get("selector", {}).get("app.kubernetes.io/component")
        for d in docs
        if d["kind"] == "Service"
    }


def ingress_routes(docs):
    """Every Ingress path as (path, pathType, service component).

    The backend is named by its Service; the component comes from that
    Service's selector, so a route to a Service the chart does not render
    shows up as component None.
    """
    components = service_components(docs)
    routes = set()
    for doc in docs:
        if doc["kind"] != "Ingress":
            continue
        for rule in doc["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]["name"]
                routes.add((path["path"], path["pathType"], components.get(backend)))
    return routes


def ingress_limits(docs):
    """The rate limit of every Ingress path that has one, as
    {(path, pathType): (zone, rps, burst)}: one zone per Ingress, as
    ingress-nginx makes it, named after the Ingress."""
    limits = {}
    for doc in docs:
        if doc["kind"] != "Ingress":
            continue
        name = doc["metadata"]["name"]
        annotations = doc["metadata"].get("annotations") or {}
        unmirrored = sorted(key for key in annotations
                            if key.startswith(ANNOTATION_PREFIX + "limit-")
                            and key not in (RPS_ANNOTATION, BURST_ANNOTATION))
        if unmirrored:
            raise ValueError(f"Ingress {name}: the local gateway does not mirror {', '.join(unmirrored)}")
        rps = _whole_number(annotations.get(RPS_ANNOTATION, "0"), name, RPS_ANNOTATION)
        multiplier = _whole_number(annotations.get(BURST_ANNOTATION, str(DEFAULT_BURST_MULTIPLIER)), name,
                                   BURST_ANNOTATION)
        if rps == 0:  # ingress-nginx: no limit
            continue
        zone = re.sub(r"[^A-Za-z0-9_]", "_", name) + "_rps"
        for route in _paths(doc):
            _put(limits, route, (zone, rps, rps * multiplier), "rate limits")
    return limits


def ingress_allowlists(docs):
    """The client networks each Ingress path admits, where its Ingress has
    a whitelist-source-range: {(path, pathType): (CIDR, ...)}."""
    allowed = {}
    for doc in docs:
        if doc["kind"] != "Ingress":
            continue
        text = (doc["metadata"].get("annotations") or {}).get(ALLOW_ANNOTATION)
        if text is None:
            continue
        networks = tuple(entry.strip() for entry in str(text).split(",") if entry.strip())
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"Ingress {doc['metadata']['name']}: {ALLOW_ANNOTATION} has {network!r}, "
                                 "not a CIDR") from None
        for route in _paths(doc):
            _put(allowed, route, networks, "allow lists")
    return allowed


def _paths(ingress):
    """(path, pathType) of every path of an Ingress."""
    return [(path["path"], path["pathType"]) for rule in ingress["spec"].get("rules", [])
            for path in rule.get("http", {}).get("paths", [])]


def _put(table, route, value, what):
    """The gateway has one server for every host: two Ingresses routing one
    path must agree on it."""
    if table.setdefault(route, value) != value:
        raise ValueError(f"{route[0]} is routed by two Ingresses with different {what}: "
                         f"{table[route]} and {value}")


def _whole_number(text, ingress, annotation):
    text = str(text)
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f"Ingress {ingress}: {annotation} {text!r} is not a whole number")
    return int(text)


def ingress_body_size(docs):
    """The Ingress's proxy-body-size annotation (nginx's size syntax, e.g.
    "16k"), or None when it has none (ingress-nginx then allows 1m). Several
    Ingresses must agree: the local gateway has one server for them all."""
    sizes = {doc["metadata"].get("annotations", {}).get(BODY_SIZE_ANNOTATION)
             for doc in docs if doc["kind"] == "Ingress"}
    if len(sizes) > 1:
        raise ValueError(f"the Ingresses disagree on {BODY_SIZE_ANNOTATION}: {sorted(map(str, sizes))}")
    size = sizes.pop() if sizes else None
    if size is not None and not _SIZE.match(str(size)):
        raise ValueError(f"{BODY_SIZE_ANNOTATION} {size!r} is not an nginx size (16k, 1m, 0)")
    return None if size is None else str(size)


def size_bytes(size):
    """An nginx size ("16k") in bytes."""
    number, unit = _SIZE.match(size).groups()
    return int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit.lower()]


def nginx_locations(routes):
    """(nginx location, component, (path, pathType)) triples that route like
    ingress-nginx: the route each location comes from is the third.

    ingress-nginx itself turns `Prefix /p` into `location = /p` plus
    `location /p/`, and `Exact /p` into `location = /p`.
    """
    locations = []
    for path, path_type, service in sorted(routes, key=lambda r: (r[0], r[1], str(r[2]))):
        route = (path, path_type)
        if service is None:
            raise ValueError(f"the ingress routes {path} to a Service the chart does not render")
        if path_type == "Exact":
            locations.append((f"= {path}", service, route))
        elif path_type == "Prefix":
            prefix = path.rstrip("/")
            if not prefix:
                raise ValueError("the ingress routes `/`: every path would be public")
            locations.append((f"= {prefix}", service, route))
            locations.append((f"{prefix}/", service, route))
        else:
            raise ValueError(f"pathType {path_type} of {path} has no portable meaning")
    return locations


def upstream_name(service):
    return "shop_" + service.replace("-", "_")


def nginx_conf(routes, prefix, listen, ports, body_size=None, limits=None, allowlists=None):
    """The local gateway: nginx on `listen` (HOST:PORT), any Host header,
    every Ingress route proxied to 127.0.0.1:ports[component], everything
    else a JSON 404. All its files live under `prefix`.

    `body_size` is the Ingress's proxy-body-size (ingress_body_size): like
    ingress-nginx, the routed locations refuse a larger body themselves
    with a JSON 413, announced (Content-Length) or chunked, so it never
    reaches a service; None leaves nginx's 1m, as ingress-nginx does.

    `limits` are the Ingresses' rate limits (ingress_limits): the routes
    named there are limited per client address in their zone, and a
    request past the limit gets a JSON 429 with Retry-After.

    `allowlists` are the Ingresses' allowed sources (ingress_allowlists):
    the routes named there admit those networks alone, anyone else gets a
    JSON 403."""
    prefix = Path(prefix)
    limits = limits or {}
    allowlists = allowlists or {}
    locations = nginx_locations(routes)
    routed = {route for _, _, route in locations}
    unrouted = sorted(set(limits) - routed)
    if unrouted:
        raise ValueError(f"rate limits for routes the ingress does not have: {unrouted}")
    unrouted = sorted(set(allowlists) - routed)
    if unrouted:
        raise ValueError(f"allow lists for routes the ingress does not have: {unrouted}")
    zones = {}
    for zone, rps, _ in limits.values():
        if zones.setdefault(zone, rps) != rps:
            raise ValueError(f"zone {zone} has two rates")
    limit_zones = "".join(
        f"    limit_req_zone $binary_remote_addr zone={zone}:{ZONE_SIZE} rate={rps}r/s;\n"
        for zone, rps in sorted(zones.items()))
    body_limits = ""
    if body_size is not None:
        if not _SIZE.match(str(body_size)):
            raise ValueError(f"body size {body_size!r} is not an nginx size (16k, 1m, 0)")
        body_limits = f" client_max_body_size {body_size};"
        # Bodies stay in memory (see client_body_buffer_size below).
        if size_bytes(str(body_size)) > size_bytes(DEFAULT_BODY_SIZE):
            body_limits += f" client_body_buffer_size {body_size};"
    services = sorted({service for _, service, _ in locations})
    missing = [s for s in services if s not in ports]
    if missing:
        raise ValueError(f"no local port given for {', '.join(missing)} (--port SERVICE=PORT)")
    # Idle upstream connections kept per worker: ingress-nginx's default,
    # so that a burst of clients does not open and close a connection per
    # request.
    upstreams = "\n".join(
        f"    upstream {upstream_name(s)} {{ server 127.0.0.1:{ports[s]}; keepalive 320; }}"
        for s in services
    )

    def limit_req(route):
        if route not in limits:
            return ""
        zone, _, burst = limits[route]
        return f" limit_req zone={zone} burst={burst} nodelay;"

    def allow(route):
        if route not in allowlists:
            return ""
        return "".join(f" allow {network};" for network in allowlists[route]) + " deny all;"

    body = "\n".join(
        f"        location {location} {{ proxy_pass http://{upstream_name(service)};{body_limits}{limit_req(route)}"
        f"{allow(route)} }}"
        for location, service, route in locations
    )
    # Errors nginx makes itself are JSON too, like the services' errors, in
    # their words where they have the same (a body too large; a TRACE, which
    # nginx refuses itself, is 405 like any other method a path lacks).
    # Headers past nginx's buffers (8 KiB, as ingress-nginx's
    # large-client-header-buffers) are a 400 that nginx calls 494: JSON too.
    # A request line past them (414) or one nginx cannot parse (400) stays
    # nginx's HTML: with no URI read, an error_page redirect has nowhere to
    # go and nginx would answer 500 instead.
    errors = {403: FORBIDDEN, 405: '{"error":"method not allowed"}', 413: TOO_LARGE, 429: TOO_MANY,
              494: '{"error":"request headers too large"}',
              500: '{"error":"internal error"}', 502: '{"error":"bad gateway"}',
              503: '{"error":"service unavailable"}', 504: '{"error":"gateway timeout"}'}
    # Only nginx's own 429 (limit_req) and 403 (deny) land here: a
    # service's pass through as they are (proxy_intercept_errors off),
    # Retry-After included.
    headers = {429: f" add_header Retry-After {RETRY_AFTER_SECS} always;"}
    error_pages = "\n".join(f"        error_page {code} @error{code};" for code in errors)
    # 494 is nginx's own name for a 400 whose headers were too large.
    sent = {494: 400}
    error_locations = "\n".join(
        f"        location @error{code} {{ default_type application/json;{headers.get(code, '')} "
        f"return {sent.get(code, code)} '{answer}'; }}"
        for code, answer in errors.items()
    )
    return f"""# Generated by scripts/gateway (helm/tools/chart.py) from the Ingresses of the
# rendered Helm chart; do not edit: it is rewritten on every `gateway up`.
# Routes like ingress-nginx does: only the public API, on one port, whatever
# the Host header; anything else is a JSON 404.
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
# A client and an upstream connection per request in flight: room for a few
# thousand concurrent requests (ingress-nginx allows 16384).
worker_rlimit_nofile 20000;
events {{ worker_connections 8192; }}
http {{
    # Buffered: one write per 64 KiB or per second, not one per request.
    access_log {prefix}/access.log combined buffer=64k flush=1s;
    # Own temp paths: the system nginx's are neither used nor needed.
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server_tokens off;
    # ingress-nginx's defaults, so both behave alike; the routed locations
    # take the Ingress's proxy-body-size instead.
    client_max_body_size {DEFAULT_BODY_SIZE};
    # Bodies and responses stay in memory, never in temp files: nothing
    # depends on what the workers (`nobody` when started as root) may write.
    client_body_buffer_size 1m;
    proxy_max_temp_file_size 0;
    proxy_connect_timeout 5s;
    proxy_read_timeout 60s;
    proxy_send_timeout 60s;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    # The client's Host, port included, like ingress-nginx; `$host` when
    # the client sent none (HTTP/1.0), since HTTP/1.1 upstreams need one.
    map $http_host $gateway_host {{ "" $host; default $http_host; }}
    proxy_set_header Host $gateway_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $gateway_host;
    proxy_intercept_errors off;
    # The Ingresses' rate limits (limit-rps, limit-burst-multiplier): one
    # zone per Ingress, keyed by the client's address; past the burst a
    # 429, not ingress-nginx's default 503 (its limit-req-status-code).
{limit_zones}    limit_req_status 429;
{upstreams}
    server {{
        listen {listen} default_server;
        server_name _;
{error_pages}
{body}
        location / {{
            default_type application/json;
            return 404 '{NOT_FOUND}';
        }}
{error_locations}
    }}
}}
"""


def _port_arg(text):
    service, _, port = text.partition("=")
    if not service or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected SERVICE=PORT, got {text!r}")
    return service, int(port)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("render", help="print the rendered manifests")
    gateway = commands.add_parser("nginx-conf", help="print the local gateway's nginx.conf")
    for command in (show, gateway):
        command.add_argument("-f", "--values", action="append", default=[], help="a values file (repeatable)")
        command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                             help="a value, a dotted key and YAML (repeatable; after the files)")
    gateway.add_argument("--prefix", required=True, help="the folder of its pid, logs and temp files")
    gateway.add_argument("--listen", required=True, help="HOST:PORT")
    gateway.add_argument("--port", type=_port_arg, action="append", default=[], metavar="SERVICE=PORT",
                         help="where a service listens locally (repeatable)")
    args = parser.parse_args(argv)
    try:
        values = load_values(([GATEWAY_VALUES] if args.command == "nginx-conf" else []) + args.values)
        for assignment in args.set:
            values = set_value(values, assignment)
        docs = render(values)
        if args.command == "render":
            print(yaml.safe_dump_all(docs, sort_keys=False), end="")
        else:
            print(nginx_conf(ingress_routes(docs), args.prefix, args.listen, dict(args.port),
                             body_size=ingress_body_size(docs), limits=ingress_limits(docs),
                             allowlists=ingress_allowlists(docs)), end="")
    except (helm.HelmError, ValueError, KeyError) as err:
        print(f"chart.py: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
