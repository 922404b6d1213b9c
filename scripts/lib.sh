# Shared by scripts/stack, scripts/test, scripts/gateway,
# scripts/bench, ...: where things live, which ports they use, what each
# service is started with, and the helpers to install and run the infra.
# shellcheck shell=bash
# The variables below are used by the scripts that source this file.
# shellcheck disable=SC2034

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$REPO/.stack}
# Absolute: PostgreSQL's tools run as another user from another folder.
case $STACK_DIR in /*) ;; *) STACK_DIR=$PWD/$STACK_DIR ;; esac
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
# The same Redis, over TLS only (rediss://).
REDIS_TLS_PORT=${REDIS_TLS_PORT:-56380}
# STACK_TLS=1: the services reach PostgreSQL with sslmode=verify-full and
# Redis with rediss://, trusting the CA the stack generates in $TLS_DIR.
# Either way both servers offer TLS; the plain ports stay for the tools.
STACK_TLS=${STACK_TLS:-0}
# STACK_HA=1: high availability, locally (local-ha/src/ says how): a
# PostgreSQL primary and its synchronous standby on PG_PORT and PG_HA_PORT,
# and a Redis Cluster on REDIS_CLUSTER_PORTS (REDIS_PORT and the five after).
STACK_HA=${STACK_HA:-0}
PG_HA_PORT=${PG_HA_PORT:-$((PG_PORT + 1))}
REDIS_CLUSTER_PORTS=()
for _i in 0 1 2 3 4 5; do REDIS_CLUSTER_PORTS+=($((REDIS_PORT + _i))); done
unset _i
# nginx routing the chart's ingress paths to the services (scripts/gateway).
GATEWAY_PORT=${GATEWAY_PORT:-8080}
# The local Prometheus (scripts/prometheus), off the system one's 9090.
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9091}

# The services, in start order (`down` stops them backwards): name, the
# variable that holds its port, the port's default. Adding a service is one
# row here plus its own variables in stack_env_for.
SERVICE_TABLE=(
  "billing    BILLING_PORT    8002"
  "items      ITEMS_PORT      8004"
  "slots      SLOTS_PORT      8005"
  "auth       AUTH_PORT       8001"
  "order-api  ORDER_API_PORT  8003"
  "mediator   MEDIATOR_PORT   8006"
)
SERVICES=()
declare -A SERVICE_PORT_VAR=()
for _row in "${SERVICE_TABLE[@]}"; do
  read -r _name _var _default <<<"$_row"
  SERVICES+=("$_name")
  SERVICE_PORT_VAR[$_name]=$_var
  # AUTH_PORT=${AUTH_PORT:-8001} and so on: the environment wins.
  printf -v "$_var" '%s' "${!_var:-$_default}"
done
unset _row _name _var _default

DATABASES=(auth billing orders items slots)

KEYS_DIR=$STACK_DIR/keys
TLS_DIR=$STACK_DIR/tls
PG_DIR=$STACK_DIR/pg
RUN_DIR=$STACK_DIR/run
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# Both PostgreSQL servers in libpq's multi-host form: the services get
# "$PG_HA_URL/DB?...&target_session_attrs=read-write" (STACK_HA=1).
PG_HA_URL="postgres://postgres@127.0.0.1:$PG_PORT,127.0.0.1:$PG_HA_PORT"
# The Redis Cluster's nodes, as order-api and the mediator get it.
REDIS_CLUSTER_URL="redis+cluster://$(printf '127.0.0.1:%s,' "${REDIS_CLUSTER_PORTS[@]}")"
REDIS_CLUSTER_URL=${REDIS_CLUSTER_URL%,}

# The port of the PostgreSQL server that answers as a primary (not in
# recovery), PG_PORT's first; fails when neither does (STACK_HA=1).
pg_primary_port() {
  local port
  command -v psql >/dev/null || return 1
  for port in "$PG_PORT" "$PG_HA_PORT"; do
    if [ "$(PGCONNECT_TIMEOUT=2 psql "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable" \
      -tAXc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# STACK_HA=1: PG_URL is the current primary's (what the scripts' psql,
# pgbench and the tests' TEST_DATABASE_URL must reach; PG_PORT's when
# neither answers yet, and scripts/stack sets it again once they run), and
# REDIS_URL the cluster's. The multi-host form is PG_HA_URL. PG_PORT stays
# the first server's port, primary or not: for the primary, use PG_URL.
if [ "$STACK_HA" = 1 ]; then
  if _port=$(pg_primary_port); then PG_URL="postgres://postgres@127.0.0.1:$_port"; fi
  unset _port
  REDIS_URL=$REDIS_CLUSTER_URL
fi

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# STACK_DIR holds one kind of stack: the HA one (STACK_HA=1 leaves
# $PG_DIR/ha and $STACK_DIR/redis-cluster) or the default one ($PG_DIR/data
# alone, $STACK_DIR/redis). Dies rather than mix them, or when STACK_HA=1
# comes with STACK_TLS=1 (not supported locally: the cluster's ports take
# REDIS_TLS_PORT, and the services' TLS is checked in the default mode).
stack_mode_check() {
  local ha=0 single=0
  if [ -e "$PG_DIR/ha" ] || [ -d "$STACK_DIR/redis-cluster" ]; then ha=1; fi
  if { [ -f "$PG_DIR/data/PG_VERSION" ] && [ ! -e "$PG_DIR/ha" ]; } || [ -d "$STACK_DIR/redis" ]; then single=1; fi
  if [ "$STACK_HA" = 1 ]; then
    [ "$STACK_TLS" != 1 ] ||
      die "STACK_HA=1 with STACK_TLS=1 is not supported locally (the Redis Cluster's nodes take the TLS port $REDIS_TLS_PORT): run one or the other"
    [ "$single" = 0 ] ||
      die "$STACK_DIR holds a stack made without STACK_HA=1 (one PostgreSQL, one Redis): run without STACK_HA, or give STACK_HA=1 its own STACK_DIR"
  else
    [ "$ha" = 0 ] ||
      die "$STACK_DIR holds a high-availability stack (made with STACK_HA=1): run with STACK_HA=1, or use another STACK_DIR"
  fi
}

is_service() { [ -n "${SERVICE_PORT_VAR[$1]+set}" ]; }

service_port() {
  is_service "$1" || die "unknown service '$1' (known: ${SERVICES[*]})"
  local var=${SERVICE_PORT_VAR[$1]}
  echo "${!var}"
}

# The environment one service runs with, one VAR=value per line: the one
# place that says what each service is configured with.
#   env $(stack_env_for billing) target/release/billing
stack_env_for() {
  local name=$1
  is_service "$name" || die "unknown service '$name' (known: ${SERVICES[*]})"
  echo "HTTP_HOST=127.0.0.1"
  echo "HTTP_PORT=$(service_port "$name")"
  # Each caller presents its own credential; a callee keeps only their
  # digests, to tell a stranger (401) from a caller at the wrong endpoint
  # (403). Another release's callees (STACK_BIN_DIR, the upgrade drill) may
  # read only the credentials: they get those too.
  case $name in
    auth) echo "AUTH_SERVICE_TOKEN=$(cat "$STACK_DIR/auth_service_token")" ;;
    mediator) echo "MEDIATOR_SERVICE_TOKEN=$(cat "$STACK_DIR/mediator_service_token")" ;;
    billing | items | slots)
      local caller
      for caller in auth mediator; do
        echo "${caller^^}_SERVICE_TOKEN_SHA256=$(tr -d '\n' <"$STACK_DIR/${caller}_service_token" | sha256sum | cut -d' ' -f1)"
        if [ -n "${STACK_BIN_DIR:-}" ]; then
          echo "${caller^^}_SERVICE_TOKEN=$(cat "$STACK_DIR/${caller}_service_token")"
        fi
      done ;;
  esac
  echo "RUST_LOG=${RUST_LOG:-info}"
  # Six services share the machine's cores with PostgreSQL, which needs
  # most of them: one runtime worker each measured ~15% more sagas/s on
  # two cores than one worker per core per service (scripts/bench).
  echo "TOKIO_WORKER_THREADS=${TOKIO_WORKER_THREADS:-1}"
  # Plain by default: the server offers TLS, and libpq's default (prefer)
  # would take it unverified.
  local tls_query="?sslmode=disable" redis_url=$REDIS_URL pg_url=$PG_URL
  if [ "$STACK_TLS" = 1 ]; then
    tls_query="?sslmode=verify-full&sslrootcert=$TLS_DIR/ca.crt"
    redis_url="rediss://127.0.0.1:$REDIS_TLS_PORT"
  fi
  # STACK_HA=1 (never with STACK_TLS): both PostgreSQL servers, the service
  # keeping to whichever is the primary; REDIS_URL is the cluster's.
  if [ "$STACK_HA" = 1 ]; then
    pg_url=$PG_HA_URL
    tls_query+="&target_session_attrs=read-write"
  fi
  case $name in
    order-api | mediator)
      echo "REDIS_URL=$redis_url"
      if [ "$STACK_TLS" = 1 ]; then echo "REDIS_CA_FILE=$TLS_DIR/ca.crt"; fi ;;
  esac
  case $name in
    auth)
      echo "DATABASE_URL=$pg_url/auth$tls_query"
      # The gateway, the only proxy in front of it.
      echo "TRUSTED_PROXIES=127.0.0.1/32"
      echo "JWT_PRIVATE_KEY_FILE=$KEYS_DIR/jwt_private.pem"
      echo "ADMIN_USERNAME=admin"
      echo "ADMIN_PASSWORD_FILE=$STACK_DIR/admin-password"
      echo "JWT_PUBLIC_KEY_FILE=$KEYS_DIR/jwt_public.pem"
      echo "BILLING_URL=http://127.0.0.1:$BILLING_PORT" ;;
    billing)
      echo "DATABASE_URL=$pg_url/billing$tls_query"
      echo "JWT_PUBLIC_KEY_FILE=$KEYS_DIR/jwt_public.pem" ;;
    items) echo "DATABASE_URL=$pg_url/items$tls_query" ;;
    slots) echo "DATABASE_URL=$pg_url/slots$tls_query" ;;
    order-api)
      echo "DATABASE_URL=$pg_url/orders$tls_query"
      echo "JWT_PUBLIC_KEY_FILE=$KEYS_DIR/jwt_public.pem"
      # scripts/bench lifts it (its closed loop outruns the sagas).
      echo "MAX_UNFINISHED_ORDERS=${MAX_UNFINISHED_ORDERS:-20}" ;;
    mediator)
      echo "DATABASE_URL=$pg_url/orders$tls_query"
      echo "BILLING_URL=http://127.0.0.1:$BILLING_PORT"
      echo "ITEMS_URL=http://127.0.0.1:$ITEMS_PORT"
      echo "SLOTS_URL=http://127.0.0.1:$SLOTS_PORT" ;;
  esac
}

# Installs Debian packages, saying in one line what and why:
#   apt_install "what they are for" [--no-install-recommends] PACKAGE...
# Quiet: no debconf questions, no progress; the package lists are refreshed
# only when the install needs it. Not root: prints the command and fails.
apt_install() {
  local why=$1
  shift
  local packages=() arg
  for arg; do [[ $arg == -* ]] || packages+=("$arg"); done
  if [ "$(id -u)" -ne 0 ]; then
    die "missing ${packages[*]} ($why); run: sudo apt-get install -y $*"
  fi
  printf '[install] %s: %s\n' "${packages[*]}" "$why" >&2
  local apt=(apt-get install -y -qq -o Dpkg::Use-Pty=0 "$@")
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null
  }
}

# The stack's own packages: PostgreSQL, Redis, nginx and the tools the
# scripts use.
ensure_packages() {
  local missing=()
  [ -x "$PG_BIN/pg_ctl" ] || missing+=(postgresql-15)
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3) # the Python environment, and scripts that read JSON
  command -v jq >/dev/null || missing+=(jq) # README's "Try it" reads JSON with it
  command -v openssl >/dev/null || missing+=(openssl)
  [ ${#missing[@]} -eq 0 ] && return 0
  # apt may start the distro's own redis/nginx/postgres on their default
  # ports: harmless, this stack uses its own processes and ports.
  apt_install "the stack's databases, its gateway and the tools its scripts use" "${missing[@]}"
}

# node, npm and the packages of package-lock.json (newman, puppeteer-core),
# installed from the lock file when node_modules is missing or older than it
# (npm keeps its own copy of what it installed in .package-lock.json).
ensure_npm_packages() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install "newman runs the end-to-end suite, puppeteer drives the console" nodejs npm
  fi
  local installed=$REPO/node_modules/.package-lock.json
  if [ ! -x "$REPO/node_modules/.bin/newman" ] || [ ! -f "$REPO/node_modules/puppeteer-core/package.json" ] ||
    [ ! -f "$installed" ] || [ "$REPO/package-lock.json" -nt "$installed" ] || [ "$REPO/package.json" -nt "$installed" ]; then
    say "installing the npm packages of package-lock.json"
    (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# cargo with rustfmt and clippy; Debian's own Rust is too old, so this only
# says what to do.
ensure_cargo() {
  command -v cargo >/dev/null ||
    die "cargo is missing: install Rust with rustup (https://rustup.rs), then: rustup component add rustfmt clippy"
  local tool
  for tool in fmt clippy; do
    cargo "$tool" --version >/dev/null 2>&1 ||
      die "cargo $tool is missing: rustup component add $([ $tool = fmt ] && echo rustfmt || echo clippy)"
  done
}

# PostgreSQL refuses to run as root: as root, run its tools as `postgres`
# (from /, which that user can always enter).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Whether something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Whether process PID runs: exists and is not a zombie (an exited child
# that its parent, or a slow init in a container, has not reaped yet).
proc_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the fields after "(comm) "; the first is the state
  [ "${stat:0:1}" != Z ]
}

# pid_alive PIDFILE [COMMAND]: the pid file names a live process, and (with
# COMMAND) one running that command, not an unrelated process that got the
# pid of a dead one (after a reboot, say), which `down` would then kill.
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  # /proc/PID/comm holds the first 15 bytes of the executable's name.
  [ -z "${2:-}" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${2:0:15}" ]
}

# stop_process PIDFILE COMMAND [SIGNAL]: the process the pid file names, if
# it runs COMMAND, gets SIGNAL (TERM): 10 s to go, then SIGKILL.
stop_process() {
  local pid _
  if pid_alive "$1" "$2"; then
    pid=$(cat "$1")
    kill -s "${3:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 100); do proc_alive "$pid" || break; sleep 0.1; done
    if proc_alive "$pid"; then
      echo "$2 (pid $pid) did not stop within 10 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}
