"""The local gateway (scripts/gateway: nginx generated from the rendered
Ingresses by helm/tools/chart.py) routes, limits and admits exactly what the
Ingresses do: for every configuration, by reading the generated nginx.conf
back (nginx_readback.py); for the gateway's own values
(helm/tools/gateway-values.yaml), also by running that nginx against stub
services and asking it."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import chart
from cases import GATEWAY, WITH_INGRESS, each
from manifests import expected_allowlists, expected_limits, ingress_hosts
from nginx_readback import nginx_allowlists, nginx_limits, nginx_routes
from spec import (ADMIN, ADMIN_REQUESTS, BENCH_ORDERS_RATE, FUZZ_PEAK_EXCESS, FUZZ_RATE, INTERNAL_REQUESTS, PORTS,
                  PUBLIC, PUBLIC_REQUESTS, SERVICES, SMUGGLING_REQUESTS)

LISTEN = "127.0.0.1:18080"
# One server for every host: Ingresses on two hosts that differ on a path
# (the sign-in on the admin host) have no single local equivalent.
ONE_HOST = [case for case in WITH_INGRESS if len(case.hosts) == 1]
SEVERAL_HOSTS = [case for case in WITH_INGRESS if len(case.hosts) > 1]


def generate(docs, listen=LISTEN, prefix="/tmp/gateway-test", ports=PORTS, allowlists=None):
    """The gateway's nginx.conf for these manifests, as scripts/gateway makes it."""
    return chart.nginx_conf(chart.ingress_routes(docs), prefix, listen, ports, chart.ingress_body_size(docs),
                            chart.ingress_limits(docs),
                            chart.ingress_allowlists(docs) if allowlists is None else allowlists)


@pytest.fixture
def conf(docs):
    return generate(docs)


@each(SEVERAL_HOSTS)
def test_the_gateway_refuses_ingresses_on_hosts_that_differ_on_a_path(case, docs):
    """Rather than pick one of them."""
    with pytest.raises(ValueError):
        generate(docs)
    assert len(ingress_hosts(docs)) > 1, f"[{case.label}] one host, yet the gateway refuses: {ingress_hosts(docs)}"


@each(ONE_HOST)
def test_the_gateways_rate_limits_are_the_ingresses(case, docs, conf):
    """limit_req at the Ingresses' rate and burst on their paths."""
    want, got = expected_limits(docs), nginx_limits(conf)
    assert got == want, f"[{case.label}] (rps, burst) per route: gateway {got}, Ingresses {want}"


@each([case for case in ONE_HOST if case.rate_limited])
def test_past_a_limit_the_gateway_answers_a_json_429_with_retry_after(case, conf):
    """Not ingress-nginx's default 503."""
    answer = f"add_header Retry-After {chart.RETRY_AFTER_SECS} always; return 429 '{chart.TOO_MANY}';"
    for line in ("limit_req_status 429;", answer, "error_page 429 @error429;"):
        assert line in conf, f"[{case.label}] the gateway's nginx.conf lacks {line!r}"


@each(ONE_HOST)
def test_the_gateway_admits_to_each_path_the_sources_its_ingress_does(case, docs, conf):
    """allow, then deny all; a stranger gets a JSON 403."""
    want, got = expected_allowlists(docs), nginx_allowlists(conf)
    assert got == want, f"[{case.label}] allowed sources per route: gateway {got}, Ingresses {want}"
    if want:
        assert f"return 403 '{chart.FORBIDDEN}';" in conf, f"[{case.label}] no JSON 403 for strangers"


# ------------------------------------------- the gateway's own values


@pytest.fixture(scope="module")
def gateway_docs(renders):
    return renders(GATEWAY)


@pytest.fixture(scope="module")
def gateway(gateway_docs):
    """What the gateway is generated from: routes, body size, limits and
    allow lists of the Ingresses rendered with the gateway's values."""
    docs = gateway_docs
    return (chart.ingress_routes(docs), chart.ingress_body_size(docs), chart.ingress_limits(docs),
            chart.ingress_allowlists(docs))


def test_the_gateway_routes_the_public_and_admin_apis_alone(gateway):
    routes = gateway[0]
    assert routes == PUBLIC | ADMIN, f"unexpected {routes - PUBLIC - ADMIN}, missing {PUBLIC | ADMIN - routes}"


def test_the_gateway_admits_the_loopback_alone_to_the_admin_paths(gateway):
    loopback = {route[:2]: ("127.0.0.1/32", "::1/128") for route in ADMIN}
    assert gateway[3] == loopback, f"allowed sources {gateway[3]}, want {loopback}"


def test_the_gateways_limits_hold_the_benchmark_and_fuzz(gateway_docs):
    """The orders hold the benchmark's closed loop from 127.0.0.1 four
    times over, the admin API scripts/fuzz."""
    limits = expected_limits(gateway_docs)
    orders = limits.get(("/api/orders", "Prefix"), (0, 0))
    admin = limits.get(("/api/admin", "Prefix"), (0, 0))
    assert orders[0] >= 4 * BENCH_ORDERS_RATE, f"the orders at {orders[0]}/s, the benchmark sends {BENCH_ORDERS_RATE}/s"
    assert admin[0] >= 4 * FUZZ_RATE and admin[1] >= 4 * FUZZ_PEAK_EXCESS, \
        f"the admin API at {admin[0]}/s (burst {admin[1]}), scripts/fuzz sends {FUZZ_RATE}/s"


@pytest.fixture(scope="module")
def gateway_conf(gateway):
    return chart.nginx_conf(gateway[0], "/tmp/gateway-test", LISTEN, PORTS, *gateway[1:])


def test_every_routed_location_refuses_larger_bodies_with_a_json_413(gateway, gateway_conf):
    body_size = gateway[1]
    proxying = [line for line in gateway_conf.splitlines() if "proxy_pass" in line]
    assert proxying, "no proxying location"
    assert all(f"client_max_body_size {body_size};" in line for line in proxying), \
        f"locations without client_max_body_size {body_size}: {proxying}"
    assert f"return 413 '{chart.TOO_LARGE}';" in gateway_conf, "no JSON 413"


def test_the_generated_nginx_conf_routes_exactly_the_ingresses_routes(gateway, gateway_conf):
    routes, routed = gateway[0], nginx_routes(gateway_conf, PORTS)
    assert routes and routed == routes, f"nginx only {routed - routes}, ingress only {routes - routed}"


def test_the_gateway_listens_on_the_given_address_and_answers_anything_else_404(gateway_conf):
    """Any Host header; everything unrouted a JSON 404."""
    for line in (f"listen {LISTEN} default_server;", "server_name _;", f"return 404 '{chart.NOT_FOUND}';"):
        assert line in gateway_conf, f"the gateway's nginx.conf lacks {line!r}"


# ------------------------------------------------------- nginx, live


class Stub(BaseHTTPRequestHandler):
    """A stand-in service: answers 200 with its name and the path it got."""

    service = "?"

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        answer = {"service": self.service, "path": self.path, "host": self.headers.get("host"), "length": length}
        if self.path.endswith("/big"):  # a response larger than nginx's buffers
            answer["padding"] = "x" * 3_000_000
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def request(port, method, path, host="arch.homework", body=None):
    """(status, content type, body) of one request to the gateway."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body,
                                 headers={"Host": host, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, response.headers.get("content-type"), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type"), err.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nginx():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        pytest.skip("nginx is not installed")
    return found


@pytest.fixture(scope="module")
def stubs():
    """A stub server per service; their ports by service."""
    servers = {}
    for service in SERVICES:
        servers[service] = ThreadingHTTPServer(("127.0.0.1", 0), type(f"Stub_{service}", (Stub,), {"service": service}))
        threading.Thread(target=servers[service].serve_forever, daemon=True).start()
    yield {service: server.server_address[1] for service, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def run_gateway(nginx, gateway):
    """Starts the generated nginx (with other ports or allow lists when
    asked) and returns its port; every one started is stopped at the end."""
    started = []

    def run(ports, allowlists=None):
        routes, body_size, limits, allowed = gateway
        prefix = Path(tempfile.mkdtemp(prefix="shop-gateway-test-"))
        # nginx's workers may run as `nobody`: they need to reach the temp paths.
        prefix.chmod(0o755)
        (prefix / "tmp").mkdir()
        (prefix / "tmp").chmod(0o777)
        command = [nginx, "-p", f"{prefix}/", "-e", f"{prefix}/error.log", "-c", f"{prefix}/nginx.conf"]
        started.append((command, prefix))
        for _ in range(3):  # the free port may be taken in between: retry
            port = free_port()
            (prefix / "nginx.conf").write_text(chart.nginx_conf(
                routes, prefix, f"127.0.0.1:{port}", ports, body_size, limits,
                allowed if allowlists is None else allowlists))
            tested = subprocess.run(command + ["-t", "-q"], capture_output=True, text=True)
            assert tested.returncode == 0, f"nginx -t refuses the generated config: {tested.stderr.strip()}"
            if subprocess.run(command, capture_output=True).returncode == 0:
                return port
        pytest.fail(f"nginx does not start: {(prefix / 'error.log').read_text()[-500:]}")

    yield run
    for command, prefix in started:
        subprocess.run(command + ["-s", "stop"], capture_output=True)
        for _ in range(50):
            if not (prefix / "nginx.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture(scope="module")
def live(run_gateway, stubs):
    """The port of the generated nginx in front of the stubs."""
    return run_gateway(stubs)


def test_nginx_accepts_the_generated_config(nginx, gateway_conf, tmp_path):
    (tmp_path / "tmp").mkdir()
    conf = gateway_conf.replace("/tmp/gateway-test", str(tmp_path))
    (tmp_path / "nginx.conf").write_text(conf)
    tested = subprocess.run([nginx, "-p", f"{tmp_path}/", "-e", f"{tmp_path}/error.log", "-c",
                             f"{tmp_path}/nginx.conf", "-t", "-q"], capture_output=True, text=True)
    assert tested.returncode == 0, f"nginx -t: {tested.stderr.strip()}"


def test_live_requests_reach_their_services_and_all_else_gets_a_json_404(live, gateway):
    """Public and admin requests reach their service with their path and
    Host; bodies up to the limit pass and larger ones (announced or
    chunked) get the JSON 413 without reaching a service; large responses
    pass; internal paths, near misses and smuggling attempts get a JSON 404
    for every method."""
    port, wrong = live, []
    for path, want in PUBLIC_REQUESTS + ADMIN_REQUESTS:
        for method, host in (("GET", "arch.homework"), ("POST", f"127.0.0.1:{port}")):
            status, _, body = request(port, method, path, host, b"{}" if method == "POST" else None)
            got = json.loads(body) if status == 200 else {}
            if status != 200 or got.get("service") != want or got.get("path") != path or got.get("host") != host:
                wrong.append((method, path, status, got.get("service")))
    limit = chart.size_bytes(gateway[1])
    status, _, body = request(port, "POST", "/api/orders/", body=b"x" * limit)
    if status != 200 or json.loads(body).get("length") != limit:
        wrong.append((f"POST {limit} bytes", status, body[:60]))
    status, _, body = request(port, "GET", "/api/orders/big")
    if status != 200 or len(json.loads(body).get("padding", "")) != 3_000_000:
        wrong.append(("GET 3 MB", status, len(body)))
    for what, data in ((f"{limit + 1} bytes", b"x" * (limit + 1)),
                       (f"{limit + 1} bytes chunked", iter([b"x" * (limit + 1)]))):
        status, content_type, body = request(port, "POST", "/api/token/verify/", body=data)
        if status != 413 or content_type != "application/json" or body != chart.TOO_LARGE.encode():
            wrong.append((f"POST {what}", status, body[:60]))
    status, _, body = request(port, "POST", "/api/profiles/", body=b"x" * (limit + 1))
    if status != 404:
        wrong.append((f"POST {limit + 1} bytes to an unknown path", status, body[:60]))
    for path in INTERNAL_REQUESTS + SMUGGLING_REQUESTS:
        for method in ("GET", "POST", "PUT", "DELETE"):
            status, content_type, body = request(port, method, path, body=b"{}" if method != "GET" else None)
            if status != 404 or content_type != "application/json" or json.loads(body) != {"error": "not found"}:
                wrong.append((method, path, status, body[:60]))
    count = len(PUBLIC_REQUESTS + ADMIN_REQUESTS) * 2 + 5 + len(INTERNAL_REQUESTS + SMUGGLING_REQUESTS) * 4
    assert not wrong, f"{len(wrong)} of {count} requests answered wrong: {wrong}"


def test_live_a_client_outside_the_admin_sources_gets_a_json_403(run_gateway, stubs, gateway):
    """The admin paths allowed to another network only: this client
    (127.0.0.1) gets the JSON 403 there and nowhere else."""
    elsewhere = {route: ("10.0.0.0/8",) for route in gateway[3]}
    assert elsewhere, "the gateway's values allow no admin sources"
    port = run_gateway(stubs, elsewhere)
    answers = [request(port, "GET", path)[::2] for path, _ in ADMIN_REQUESTS]
    public = [request(port, "GET", path)[0] for path, _ in PUBLIC_REQUESTS]
    assert all(answer == (403, chart.FORBIDDEN.encode()) for answer in answers), f"admin paths answered {answers}"
    assert all(status == 200 for status in public), f"public paths answered {public}"


def test_live_a_service_that_is_down_gets_a_json_502(run_gateway):
    """Not nginx's HTML page."""
    port = run_gateway({service: free_port() for service in SERVICES})  # nothing listens there
    status, content_type, body = request(port, "GET", "/api/orders/")
    assert status == 502 and content_type == "application/json" and b'"error"' in body, \
        f"a request to a service that is down: {status} {content_type} {body[:80]}"
