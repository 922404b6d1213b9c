# shellcheck shell=bash
# Sourced by scripts/chart-test, gateway, gateway-ratelimit, rules-test and
# prometheus (after scripts/lib.sh): the project's one Python environment
# (scripts/venv.sh, pins in requirements.txt) under the name they call it by.

# shellcheck source=scripts/venv.sh
source "$REPO/scripts/venv.sh"

chart_venv_python() { venv_python; }
