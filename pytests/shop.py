"""What the tests against the running stack share: the settings
scripts/lib.sh holds, and one JSON request."""

import functools
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIB_SH = REPO / "scripts" / "lib.sh"


@functools.cache
def setting(name):
    """A variable of scripts/lib.sh (STACK_DIR, GATEWAY_PORT, SERVICES...):
    the environment's, as the wrapper scripts pass it, else lib.sh's
    default. An array comes as its items joined by spaces."""
    if os.environ.get(name):
        return os.environ[name]
    done = subprocess.run(["bash", "-c", 'source "$0" && declare -n value=$1 && printf %s "${value[*]}"',
                           str(LIB_SH), name], capture_output=True, text=True, check=True)
    return done.stdout


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
