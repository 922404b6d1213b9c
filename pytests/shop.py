"""What the tests against the running stack share: the settings
scripts/lib.sh holds, one JSON request, polling, and a new customer."""

import functools
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIB_SH = REPO / "scripts" / "lib.sh"


@functools.cache
def setting(name):
    """A variable of scripts/lib.sh (STACK_DIR, AUTH_PORT, SERVICES...): the
    environment's, as the wrapper scripts pass it, else lib.sh's default.
    An array comes as its items joined by spaces."""
    if os.environ.get(name):
        return os.environ[name]
    done = subprocess.run(["bash", "-c", 'source "$0" && declare -n value=$1 && printf %s "${value[*]}"',
                           str(LIB_SH), name], capture_output=True, text=True, check=True)
    return done.stdout


def stack_env(name):
    """scripts/lib.sh's `stack_env_for NAME`: the environment the stack
    starts that service with, as a dict."""
    out = subprocess.run(["bash", "-c", 'source "$0" && stack_env_for "$1"', str(LIB_SH), name],
                         check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def http(method, url, body=None, token=None, timeout=10, headers=None):
    """(status, parsed JSON or None) of one request. `headers` go on top of
    the JSON content type and the Bearer token. No answer at all is a
    status too, "no answer (why)": a process that died fails a test with
    that rather than with a traceback."""
    sent = {"content-type": "application/json"}
    if token:
        sent["authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, method=method, data=data, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    except OSError as err:
        return f"no answer ({err})", None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def poll(fetch, done, timeout, every=0.1):
    """fetch() until done(its result) or the deadline; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result) or time.monotonic() >= deadline:
            return result
        time.sleep(every)


def sign_up(base, prefix):
    """A new customer signed up and logged in at `base` (the stack's auth
    or the gateway); (its name, its access token). Fails the fixture that
    asks, saying why, when either answer is wrong."""
    username, password = f"{prefix}_{secrets.token_hex(4)}", secrets.token_hex(12)
    status, body = http("POST", f"{base}/api/auth/users/",
                        {"username": username, "password": password, "email": f"{username}@example.com"})
    if status != 201:
        pytest.fail(f"sign-up of {username} at {base} answered {status} {body} (is the stack up? scripts/stack up)",
                    pytrace=False)
    status, tokens = http("POST", f"{base}/api/token/", {"username": username, "password": password})
    if status != 200 or not isinstance(tokens, dict) or "access" not in tokens:
        pytest.fail(f"login of {username} at {base} answered {status} {tokens}", pytrace=False)
    return username, tokens["access"]


def place_order(url, token, amount, item, slot, headers=None):
    """POSTs an order to `url` (…/api/orders/); (status, answer)."""
    return http("POST", url, {"amount": amount, "details": {"item": item, "slot": slot}}, token, headers=headers)


def final_order(url, token, order_id, timeout):
    """The order once no longer pending, or as it is at the deadline
    ({"answer": status} when it cannot be read)."""
    def fetch():
        status, order = http("GET", f"{url}{order_id}", token=token)
        return order if status == 200 and isinstance(order, dict) else {"answer": status}
    return poll(fetch, lambda order: order.get("status") not in (None, "pending"), timeout, every=0.2)
