# shellcheck shell=bash
# Sourced after scripts/lib.sh (for REPO and STACK_DIR): the project's one
# Python environment, a venv under $STACK_DIR/venv (git-ignored) holding the
# pins of requirements.txt, built once and reused until the pins change.
# Needs python3 and pip and, past the first run, no network. Used by
# scripts/chart-test, dashboard-test, fuzz, gateway, gateway-ratelimit,
# prometheus and rules-test:
#   python=$(venv_python)

# The pytest plugins schemathesis brings (its own, hypothesis', anyio's)
# cost every pytest run about 2 s to load and no suite uses them.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1

# Prints the venv's python, building the venv first when needed.
venv_python() {
  local venv=$STACK_DIR/venv requirements=$REPO/requirements.txt
  # The copy of the pins the venv was built with: written last, so a venv
  # whose install failed half-way is never taken as ready.
  local stamp=$venv/requirements.txt
  if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
    echo "$venv/bin/python"
    return 0
  fi
  mkdir -p "$STACK_DIR"
  (
    # Two runs at once (chart-test and gateway up, say) build it once.
    flock 9
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
      exit 0
    fi
    _venv_build "$venv" "$requirements"
  ) 9>"$STACK_DIR/venv.lock" || return 1
  echo "$venv/bin/python"
}

# Builds the venv next to the old one and swaps it in, so a run still using
# the old one is not pulled from under it until the new one is complete.
_venv_build() {
  local venv=$1 requirements=$2 new=$1.new
  local pip_flags=(--quiet --disable-pip-version-check --no-input)
  command -v python3 >/dev/null || {
    echo "[venv] python3 is missing: apt-get install python3 python3-venv" >&2
    return 1
  }
  echo "[venv] installing the pins of ${requirements#"$REPO"/} into $venv (once)" >&2
  rm -rf "$new"
  if python3 -m venv "$new" >/dev/null 2>&1; then
    "$new/bin/python" -m pip install "${pip_flags[@]}" -r "$requirements" >&2 || return 1
  else
    # Debian's python3 lacks ensurepip without the python3-venv package.
    # As root, install it; otherwise make the venv without pip and let the
    # system's pip (22.3 or later) install into it.
    rm -rf "$new"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "[venv] installing python3-venv" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; } || true
    fi
    if python3 -m venv "$new" >/dev/null 2>&1; then
      "$new/bin/python" -m pip install "${pip_flags[@]}" -r "$requirements" >&2 || return 1
    elif python3 -m venv --without-pip "$new" >&2 && python3 -m pip --version >/dev/null 2>&1; then
      python3 -m pip --python "$new/bin/python" install "${pip_flags[@]}" -r "$requirements" >&2 || {
        echo "[venv] pip could not install into the venv: install python3-venv (apt-get install python3-venv)" >&2
        return 1
      }
    else
      echo "[venv] cannot make a Python venv: install python3-venv and python3-pip" >&2
      return 1
    fi
  fi
  cp "$requirements" "$new/requirements.txt"
  rm -rf "$venv"
  mv "$new" "$venv"
}
