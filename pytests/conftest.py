"""The fixtures of the tests against the running stack: the OTLP receiver
and the processes test_traces.py starts, each once per module and stopped
at its end, whatever happened; and notes printed after the results."""

import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from otlp import Receiver
from shop import http, poll, setting, stack_env

# What trace-check starts, in start order; on the stack's port + 200, away
# from the stack's ports and tls-check's (+ 100).
PROCESSES = ["billing", "items", "slots", "order-api", "mediator"]
PORT_OFFSET = 200
# The service.name each exports under: slots is given OTEL_SERVICE_NAME, to
# prove it is honoured; the others keep their default names.
SERVICE_NAMES = {name: name for name in PROCESSES} | {"slots": "shop-slots"}
READY_TIMEOUT = 60
NOTES = pytest.StashKey[list]()


def pytest_configure(config):
    # A SIGTERM unwinds as Ctrl-C does: pytest then tears the fixtures down,
    # so the processes they started are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@pytest.fixture(scope="session")
def note(request):
    """note(title, text): printed after the results."""
    notes = request.config.stash.setdefault(NOTES, [])
    return lambda title, text: notes.append((title, text))


def pytest_terminal_summary(terminalreporter, config):
    for title, text in config.stash.get(NOTES, []):
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)


@pytest.fixture(scope="module")
def receiver():
    """A real OTLP/HTTP receiver on a free port."""
    receiver = Receiver()
    yield receiver
    receiver.stop()


@dataclass
class Services:
    """The processes trace-check started: their ports and logs."""
    ports: dict
    logs: Path
    service_name = SERVICE_NAMES

    def url(self, name, path):
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def log(self, name):
        return self.logs / f"{name}.log"


@pytest.fixture(scope="module")
def services(request, receiver):
    """billing, items, slots, order-api and the mediator started a second
    time from the release binaries, on their stack port + 200, exporting to
    `receiver` and sharing an order queue of their own; ready. Stopped at
    the end of the module, before the receiver (they export their last spans
    as they stop), also when starting them failed half-way."""
    binaries = Path(setting("TARGET_DIR")) / "release"
    logs = Path(setting("STACK_DIR")) / "logs" / "trace-check"
    ports = {name: int(stack_env(name)["HTTP_PORT"]) + PORT_OFFSET for name in PROCESSES}
    problems = []
    missing = [name for name in PROCESSES if not (binaries / name).is_file()]
    if missing:
        problems.append(f"missing in {binaries}: {', '.join(missing)} (cargo build --release --workspace --bins)")
    taken = [ports[name] for name in PROCESSES if port_open(ports[name])]
    if taken:
        problems.append(f"something answers on {', '.join(map(str, taken))} (a trace-check left over?)")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)

    started = {}
    request.addfinalizer(lambda: stop(started))
    logs.mkdir(parents=True, exist_ok=True)
    queue = f"trace-check-{os.urandom(4).hex()}"
    # An OTEL_ variable of the caller's must not change what is tested.
    base = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    for name in PROCESSES:
        env = base | stack_env(name) | {
            "HTTP_PORT": str(ports[name]),
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # Milliseconds: spans are exported within a tenth of a second.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        if name in ("order-api", "mediator"):
            # The stack's own mediator never takes these orders.
            env["ORDER_QUEUE"] = queue
        if name == "order-api":
            # As behind a proxy that sets or strips the header.
            env["TRUST_INCOMING_TRACEPARENT"] = "true"
        if name == "mediator":
            env |= {f"{participant.upper()}_URL": f"http://127.0.0.1:{ports[participant]}"
                    for participant in ("billing", "items", "slots")}
        if name == "slots":
            env["OTEL_SERVICE_NAME"] = SERVICE_NAMES["slots"]
        with open(logs / f"{name}.log", "wb") as log:
            started[name] = subprocess.Popen([str(binaries / name)], env=env, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT)
    services = Services(ports, logs)
    for name, process in started.items():
        status = poll(lambda: http("GET", services.url(name, "/ready"), timeout=2)[0],
                      lambda status: status == 200 or process.poll() is not None, READY_TIMEOUT, every=0.2)
        if status != 200:
            why = f"exited with {process.returncode}" if process.poll() is not None else f"/ready: {status}"
            pytest.fail(f"{name} on port {ports[name]} is not ready within {READY_TIMEOUT} s: {why}; the last "
                        f"lines of {services.log(name)}:\n{log_tail(services.log(name))}", pytrace=False)
    return services


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def log_tail(path, lines=20):
    try:
        return "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
    except OSError as err:
        return f"{err}\n"


def stop(started):
    for process in started.values():
        if process.poll() is None:
            process.terminate()
    for process in started.values():
        try:
            # The mediator lets running sagas finish for SHUTDOWN_GRACE_MS (10 s).
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
