# Shared by the scripts: dependencies, building, and throwaway redis-servers.
# Source it; it defines functions only.

SFROUTE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The Debian 12 packages the project builds, tests and demos with.
SFROUTE_PACKAGES=(cmake ninja-build g++ pkg-config libhiredis-dev libabsl-dev libgtest-dev
  libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev liblua5.1-0-dev
  redis-server redis-tools)

# Installs the packages that are missing (needs root, as on CI).
install_deps() {
  local missing=()
  for package in "${SFROUTE_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# build <dir> [cmake args...]: configures (once) and builds everything.
build() {
  local dir="$1"
  shift
  cmake -S "$SFROUTE_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

# Starts a redis-server on a free loopback port in a temp dir and sets
# REDIS_PORT, REDIS_DIR and REDIS_URL. stop_redis undoes it.
start_redis() {
  REDIS_DIR="$(mktemp -d /tmp/sfroute-redis.XXXXXX)"
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    REDIS_PORT=$((20000 + RANDOM % 20000))
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" \
      --appendonly no --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
      --logfile "$REDIS_DIR/redis.log" >/dev/null
    local wait
    for wait in $(seq 50); do
      if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
        return 0
      fi
      [ -f "$REDIS_DIR/redis.pid" ] || sleep 0.1
      sleep 0.05
    done
    stop_redis_process
  done
  echo "could not start redis-server; see $REDIS_DIR/redis.log" >&2
  return 1
}

stop_redis_process() {
  if [ -f "$REDIS_DIR/redis.pid" ]; then
    kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
    rm -f "$REDIS_DIR/redis.pid"
  fi
}

stop_redis() {
  [ -n "${REDIS_DIR:-}" ] || return 0
  stop_redis_process
  rm -rf "$REDIS_DIR"
  REDIS_DIR=""
}
