# shellcheck shell=bash
# Sourced by scripts/chart-test, gateway, gateway-ratelimit, rules-test,
# prometheus and dashboard-test (after scripts/lib.sh, for REPO and
# STACK_DIR): the Python that runs Helm's engine and the chart's tests.
#
# Helm itself comes from PyPI (helm-python-sdk bundles Helm's Go SDK as a
# shared library), with kubernetes-validate and its offline Kubernetes
# schemas and pytest, pinned in helm/tests/requirements.txt. They live in a
# venv under $STACK_DIR/chart-venv, built once and reused until the pins
# change (scripts/venv.sh).

# shellcheck source=scripts/venv.sh
source "$REPO/scripts/venv.sh"

# Prints the venv's python, building the venv first when needed.
chart_venv_python() {
  pinned_venv_python chart-venv "$REPO/helm/tests/requirements.txt"
}
