# shellcheck shell=bash
# Sourced by scripts/chart-test and scripts/gateway (after scripts/lib.sh,
# for REPO and STACK_DIR): the Python that runs Helm's engine.
#
# Helm itself comes from PyPI (helm-python-sdk bundles Helm's Go SDK as a
# shared library), with kubernetes-validate and its offline Kubernetes
# schemas, pinned in helm/tests/requirements.txt. They live in a venv under
# $STACK_DIR/chart-venv (git-ignored), built once and reused until the pins
# change. Needs python3 and pip and, past the first run, no network.

# Prints the venv's python, building the venv first when needed.
chart_venv_python() {
  local venv=$STACK_DIR/chart-venv
  local requirements=$REPO/helm/tests/requirements.txt
  # The copy of the pins the venv was built with: written last, so a venv
  # whose install failed half-way is never taken as ready.
  local stamp=$venv/requirements.txt
  if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
    echo "$venv/bin/python"
    return 0
  fi
  mkdir -p "$STACK_DIR"
  (
    # Two runs at once (chart-test and gateway up) build it once.
    flock 9
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
      exit 0
    fi
    _chart_venv_build "$venv" "$requirements"
  ) 9>"$STACK_DIR/chart-venv.lock" || return 1
  echo "$venv/bin/python"
}

# Builds the venv next to the old one and swaps it in, so a run still using
# the old one is not pulled from under it until the new one is complete.
_chart_venv_build() {
  local venv=$1 requirements=$2 new=$1.new
  local pip_flags=(--quiet --disable-pip-version-check --no-input)
  echo "[chart] installing the pins of helm/tests/requirements.txt into $venv (once)" >&2
  rm -rf "$new"
  if python3 -m venv "$new" >/dev/null 2>&1; then
    "$new/bin/python" -m pip install "${pip_flags[@]}" -r "$requirements" >&2 || return 1
  else
    # Debian's python3 lacks ensurepip without the python3-venv package.
    # As root, install it; otherwise make the venv without pip and let the
    # system's pip (22.3 or later) install into it.
    rm -rf "$new"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "[chart] installing python3-venv" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; } || true
    fi
    if python3 -m venv "$new" >/dev/null 2>&1; then
      "$new/bin/python" -m pip install "${pip_flags[@]}" -r "$requirements" >&2 || return 1
    elif python3 -m venv --without-pip "$new" >&2 && python3 -m pip --version >/dev/null 2>&1; then
      python3 -m pip --python "$new/bin/python" install "${pip_flags[@]}" -r "$requirements" >&2 || {
        echo "[chart] pip could not install into the venv: install python3-venv (apt-get install python3-venv)" >&2
        return 1
      }
    else
      echo "[chart] cannot make a Python venv: install python3-venv and python3-pip" >&2
      return 1
    fi
  fi
  cp "$requirements" "$new/requirements.txt"
  rm -rf "$venv"
  mv "$new" "$venv"
}
