# Shared by the scripts: dependencies, building, and throwaway redis-servers.
# Source it; it defines functions only.

SFROUTE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The Debian 12 packages the project builds, tests and demos with.
SFROUTE_PACKAGES=(cmake ninja-build g++ pkg-config libhiredis-dev libabsl-dev libgtest-dev
  libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev liblua5.1-0-dev
  redis-server redis-tools prometheus-cpp-dev python3-prometheus-client ccache)

# Compiled objects are cached across builds and clones of the tree (ccache,
# in ~/.cache/ccache): a fresh clone of a commit built before on this
# machine compiles little. Paths are hashed relative to the tree and the
# working directory not at all, so where the clone is does not matter.
export CCACHE_BASEDIR="$SFROUTE_ROOT"
export CCACHE_NOHASHDIR=1
# Precompiled headers (the tests', the CLI's) are cached too.
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

# Installs the packages that are missing (needs root, as on CI).
install_deps() { install_packages "${SFROUTE_PACKAGES[@]}"; }

# install_packages <package>...: installs those of them that are missing.
install_packages() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# configure <dir> [cmake args...]: configures build dir <dir> (once).
configure() {
  local dir="$1"
  shift
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$SFROUTE_ROOT" -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
}

# build <dir> [cmake args...]: configures (once) and builds everything.
build() {
  configure "$@"
  cmake --build "$1" -j "$(nproc)"
}

# Builds only the CLI in build/: what the demo, the walkthrough and the
# benchmark run.
build_cli() {
  configure "$SFROUTE_ROOT/build"
  cmake --build "$SFROUTE_ROOT/build" -j "$(nproc)" --target sfroute_cli >/dev/null
}

# Starts a redis-server on a free loopback port in a temp dir and sets
# REDIS_PORT, REDIS_DIR and REDIS_URL. stop_redis undoes it.
start_redis() {
  REDIS_DIR="$(mktemp -d /tmp/sfroute-redis.XXXXXX)"
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    REDIS_PORT=$((20000 + RANDOM % 20000))
    if launch_redis "$REDIS_DIR" "$REDIS_PORT"; then
      REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
      return 0
    fi
  done
  echo "could not start redis-server; see $REDIS_DIR/redis.log" >&2
  return 1
}

# launch_redis <dir> <port> [redis-server args...]: starts a redis-server on
# 127.0.0.1:<port>, its files in <dir>, and waits until it answers there;
# if it does not (the port was taken), stops it and fails.
launch_redis() {
  local dir="$1" port="$2" wait
  shift 2
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" >/dev/null
  for wait in $(seq 50); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    [ -f "$dir/redis.pid" ] || sleep 0.1
    sleep 0.05
  done
  stop_redis_process "$dir"
  return 1
}

# stop_redis_process <dir>: stops the redis-server whose pid file is in <dir>.
stop_redis_process() {
  if [ -f "$1/redis.pid" ]; then
    kill "$(cat "$1/redis.pid")" 2>/dev/null || true
    rm -f "$1/redis.pid"
  fi
}

stop_redis() {
  [ -n "${REDIS_DIR:-}" ] || return 0
  stop_redis_process "$REDIS_DIR"
  rm -rf "$REDIS_DIR"
  REDIS_DIR=""
}

# Starts a local Redis Cluster of 3 primaries and 3 replicas on free loopback
# ports (CLUSTER_DIR, CLUSTER_PORTS, CLUSTER_URL). stop_cluster undoes it.
# Ports are taken below Linux's ephemeral range (32768-60999), cluster bus
# ports (+10000) included, so that no client socket can hold one; a try that
# fails anyway (a port taken meanwhile) is cleaned up and made again on
# other ports, up to three times.
start_cluster() {
  local attempt
  for attempt in 1 2 3; do
    try_start_cluster && return 0
    stop_cluster
  done
  echo "could not start a Redis Cluster in 3 tries" >&2
  return 1
}

try_start_cluster() {
  CLUSTER_DIR="$(mktemp -d /tmp/sfroute-cluster.XXXXXX)"
  CLUSTER_PORTS=()
  local base=$((10000 + RANDOM % 9000)) port i
  for i in 0 1 2 3 4 5; do
    port=$((base + i))
    while redis-cli -p "$port" ping >/dev/null 2>&1 || \
          redis-cli -p $((port + 10000)) ping >/dev/null 2>&1; do
      port=$((port + 7))
    done
    mkdir -p "$CLUSTER_DIR/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$CLUSTER_DIR/$port" --save "" \
      --appendonly no --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 1000 --daemonize yes --pidfile "$CLUSTER_DIR/$port/redis.pid" \
      --logfile "$CLUSTER_DIR/$port/redis.log" >/dev/null
    CLUSTER_PORTS+=("$port")
  done
  local nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do
    local wait up=0
    for wait in $(seq 100); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        up=1
        break
      fi
      sleep 0.05
    done
    if [ "$up" -eq 0 ]; then
      echo "cluster node on port $port did not start: $(tail -n 3 "$CLUSTER_DIR/$port/redis.log" 2>/dev/null)" >&2
      return 1
    fi
    nodes+=("127.0.0.1:$port")
  done
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >"$CLUSTER_DIR/create.log" 2>&1; then
    echo "redis-cli --cluster create failed:" >&2
    tail -n 5 "$CLUSTER_DIR/create.log" >&2
    return 1
  fi
  local wait
  for wait in $(seq 200); do
    local ok=0
    for port in "${CLUSTER_PORTS[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q "cluster_state:ok" && ok=$((ok + 1))
    done
    if [ "$ok" -eq 6 ]; then
      CLUSTER_URL="redis-cluster://$(IFS=,; echo "${nodes[*]}")"
      return 0
    fi
    sleep 0.1
  done
  echo "the cluster did not reach cluster_state:ok" >&2
  return 1
}

stop_cluster() {
  [ -n "${CLUSTER_DIR:-}" ] || return 0
  local pidfile
  for pidfile in "$CLUSTER_DIR"/*/redis.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 0.2
  rm -rf "$CLUSTER_DIR"
  CLUSTER_DIR=""
}
