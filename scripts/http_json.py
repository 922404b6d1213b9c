"""One JSON request for the Python test scripts (the standard library only,
so it runs in any of their venvs)."""

import json
import urllib.error
import urllib.request


def http(method, url, body=None, token=None, timeout=10, headers=None):
    """(status, parsed JSON or None) of one request. `headers` are sent on
    top of the JSON content type and the Bearer token. No answer at all
    raises OSError."""
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
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
