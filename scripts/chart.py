"""The Helm chart rendered offline with Helm's own engine (helm-python-sdk,
no helm binary, no cluster), and the local gateway generated from it.

    chart.py render [-f VALUES.yaml]...   print the rendered manifests
    chart.py nginx-conf --prefix DIR --listen HOST:PORT --port SERVICE=PORT...
                                          print the local gateway's nginx.conf:
                                          exactly the routes of the rendered
                                          Ingress, to the services' local ports,
                                          with its body size limit

The gateway is generated from the Ingress, not written by hand, so the local
stack is reached exactly the way the cluster is and the two cannot drift
apart. scripts/chart_test.py proves it on every run.
"""

import argparse
import re
import sys
from pathlib import Path

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "helm"
RELEASE = "shop"
NAMESPACE = "shop"

# The JSON body of every answer the gateway makes itself (not a service's).
NOT_FOUND = '{"error":"not found"}'
# The services' own words for a body over their limit (common/src/http/json.rs).
TOO_LARGE = '{"error":"the body is too large"}'

# ingress-nginx's annotation for the largest request body (its
# client_max_body_size), and nginx's size syntax: a number of bytes with an
# optional k or m (or g) suffix; "0" is no limit.
BODY_SIZE_ANNOTATION = "nginx.ingress.kubernetes.io/proxy-body-size"
_SIZE = re.compile(r"^([0-9]+)([kKmMgG]?)$")
# ingress-nginx's default when the annotation is absent.
DEFAULT_BODY_SIZE = "1m"

# libyaml's parser when the wheel has it: several times faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def render(values=None, release=RELEASE, namespace=NAMESPACE):
    """The chart's manifests (dicts) as `helm install` would send them.

    The values are checked against values.schema.json first, as Helm does;
    a failure raises helm_python.HelmError with Helm's message. `lookup`
    finds nothing (no cluster), so generated secrets are new each time.
    """
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values or {}, name=release, namespace=namespace, is_install=True)
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.load_all(text, Loader=YAML_LOADER) if doc)
    return docs


def notes(values=None, release=RELEASE, namespace=NAMESPACE):
    """The rendered NOTES.txt (what `helm install` prints)."""
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values or {}, name=release, namespace=namespace, is_install=True)
    return next((text for path, text in rendered.items() if path.endswith("NOTES.txt")), "")


def load_values(paths):
    """Merged values files, later ones winning (like repeated `helm -f`)."""
    merged = {}
    for path in paths:
        merged = _merge(merged, yaml.safe_load(Path(path).read_text()) or {})
    return merged


def _merge(base, override):
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
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
    """(nginx location, component) pairs that route like ingress-nginx.

    ingress-nginx itself turns `Prefix /p` into `location = /p` plus
    `location /p/`, and `Exact /p` into `location = /p`.
    """
    locations = []
    for path, path_type, service in sorted(routes, key=lambda r: (r[0], r[1], str(r[2]))):
        if service is None:
            raise ValueError(f"the ingress routes {path} to a Service the chart does not render")
        if path_type == "Exact":
            locations.append((f"= {path}", service))
        elif path_type == "Prefix":
            prefix = path.rstrip("/")
            if not prefix:
                raise ValueError("the ingress routes `/`: every path would be public")
            locations.append((f"= {prefix}", service))
            locations.append((f"{prefix}/", service))
        else:
            raise ValueError(f"pathType {path_type} of {path} has no portable meaning")
    return locations


def upstream_name(service):
    return "shop_" + service.replace("-", "_")


def nginx_conf(routes, prefix, listen, ports, body_size=None):
    """The local gateway: nginx on `listen` (HOST:PORT), any Host header,
    every Ingress route proxied to 127.0.0.1:ports[component], everything
    else a JSON 404. All its files live under `prefix`.

    `body_size` is the Ingress's proxy-body-size (ingress_body_size): like
    ingress-nginx, the routed locations refuse a larger body themselves
    with a JSON 413, announced (Content-Length) or chunked, so it never
    reaches a service; None leaves nginx's 1m, as ingress-nginx does."""
    prefix = Path(prefix)
    locations = nginx_locations(routes)
    limits = ""
    if body_size is not None:
        if not _SIZE.match(str(body_size)):
            raise ValueError(f"body size {body_size!r} is not an nginx size (16k, 1m, 0)")
        limits = f" client_max_body_size {body_size};"
        # Bodies stay in memory (see client_body_buffer_size below).
        if size_bytes(str(body_size)) > size_bytes(DEFAULT_BODY_SIZE):
            limits += f" client_body_buffer_size {body_size};"
    services = sorted({service for _, service in locations})
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
    body = "\n".join(
        f"        location {location} {{ proxy_pass http://{upstream_name(service)};{limits} }}"
        for location, service in locations
    )
    # Errors nginx makes itself are JSON too, like the services' errors, in
    # their words where they have the same (a body too large; a TRACE, which
    # nginx refuses itself, is 405 like any other method a path lacks).
    errors = {405: '{"error":"method not allowed"}', 413: TOO_LARGE, 500: '{"error":"internal error"}',
              502: '{"error":"bad gateway"}', 503: '{"error":"service unavailable"}',
              504: '{"error":"gateway timeout"}'}
    error_pages = "\n".join(f"        error_page {code} @error{code};" for code in errors)
    error_locations = "\n".join(
        f"        location @error{code} {{ default_type application/json; return {code} '{answer}'; }}"
        for code, answer in errors.items()
    )
    return f"""# Generated by scripts/gateway (scripts/chart.py) from the Ingress of the
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


_LOCATION = re.compile(r"location\s+(=\s*)?(\S+)\s*\{\s*proxy_pass\s+http://(\w+)\s*;")
_UPSTREAM = re.compile(r"upstream\s+(\w+)\s*\{\s*server\s+127\.0\.0\.1:(\d+)\s*;")


def nginx_routes(conf, ports):
    """Read back what a generated nginx.conf routes, as (path, pathType,
    component), independently of how it was generated: every proxying
    location, through its upstream's port, to the service on that port.
    A `= /p` and `/p/` pair is Prefix /p; a lone `= /p` is Exact; a lone
    `/p/` has no Ingress equivalent and is reported as pathType "nginx"."""
    by_port = {str(port): service for service, port in ports.items()}
    upstreams = {name: by_port.get(port, f"port {port}") for name, port in _UPSTREAM.findall(conf)}
    exact, prefixes = {}, {}
    for equals, path, upstream in _LOCATION.findall(conf):
        service = upstreams.get(upstream, f"upstream {upstream}")
        if equals:
            exact[path] = service
        else:
            prefixes[path] = service
    routes = set()
    for path, service in exact.items():
        if prefixes.get(path + "/") == service:
            routes.add((path, "Prefix", service))
        else:
            routes.add((path, "Exact", service))
    for path, service in prefixes.items():
        base = path.rstrip("/")
        if exact.get(base) != service:
            routes.add((path, "nginx", service))
    return routes


def _port_arg(text):
    service, _, port = text.partition("=")
    if not service or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected SERVICE=PORT, got {text!r}")
    return service, int(port)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("render", help="print the rendered manifests")
    show.add_argument("-f", "--values", action="append", default=[], help="a values file (repeatable)")
    gateway = commands.add_parser("nginx-conf", help="print the local gateway's nginx.conf")
    gateway.add_argument("--prefix", required=True, help="the folder of its pid, logs and temp files")
    gateway.add_argument("--listen", required=True, help="HOST:PORT")
    gateway.add_argument("--port", type=_port_arg, action="append", default=[], metavar="SERVICE=PORT",
                         help="where a service listens locally (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            print(yaml.safe_dump_all(render(load_values(args.values)), sort_keys=False), end="")
        else:
            docs = render()
            print(nginx_conf(ingress_routes(docs), args.prefix, args.listen, dict(args.port),
                             body_size=ingress_body_size(docs)), end="")
    except (helm.HelmError, ValueError, KeyError) as err:
        print(f"chart.py: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
