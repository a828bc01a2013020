#!/usr/bin/env bash
# Performance against the reference, in the same run (issue 5): starts a
# throwaway redis-server, then for each case runs redis-benchmark with the
# equivalent raw command (the same script by EVALSHA, or GET) at the same
# concurrency and pipelining, and `sfroute bench`, alternating A and B
# several times; prints a table of medians.
#
# The TLS rows run against a second redis-server with a TLS port and a
# certificate made here (openssl), redis-benchmark with --tls.
#
#   scripts/bench.sh [--seconds S] [--rounds R] [--tls-only]
#       defaults: 3 s, 3 rounds; --tls-only: the SetLinkedPod c=50 rows, plain and TLS
#   scripts/bench.sh --cluster [--seconds S] [--rounds R]
#       the same cases (no TLS) on a throwaway 6-node Redis Cluster, against
#       redis-benchmark --cluster
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

seconds=3
rounds=3
tls_only=0
cluster=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --tls-only) tls_only=1; shift ;;
    --cluster) cluster=1; shift ;;
    *) echo "usage: scripts/bench.sh [--cluster | --tls-only] [--seconds S] [--rounds R]" >&2
      exit 2 ;;
  esac
done

install_deps
echo "== building (build/)" >&2
build_cli
if [ $cluster -eq 1 ]; then
  cmake --build build -j "$(nproc)" --target spread_reference >/dev/null
fi

# A CA and a certificate for localhost it signed, and a redis-server serving
# it on a TLS port (TLS_PORT); the client checks both (tls_verify=full).
start_tls_redis() {
  TLS_DIR="$(mktemp -d /tmp/sfroute-bench-tls.XXXXXX)"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${key[@]}" -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.crt" -days 1 \
    -subj /CN=sfroute-bench-ca 2>/dev/null
  openssl req -new "${key[@]}" -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" \
    -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$TLS_DIR/server.ext"
  openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" \
    -CAcreateserial -days 1 -extfile "$TLS_DIR/server.ext" -out "$TLS_DIR/server.crt" 2>/dev/null
  local attempt
  for attempt in 1 2 3 4 5; do
    TLS_PORT=$((20000 + RANDOM % 20000))
    TLS_PLAIN_PORT=$((20000 + RANDOM % 20000))
    if launch_redis "$TLS_DIR" "$TLS_PLAIN_PORT" --tls-port "$TLS_PORT" \
      --tls-cert-file "$TLS_DIR/server.crt" --tls-key-file "$TLS_DIR/server.key" \
      --tls-ca-cert-file "$TLS_DIR/ca.crt" --tls-auth-clients no; then
      TLS_URL="rediss://localhost:$TLS_PORT?tls_ca=$TLS_DIR/ca.crt"
      return 0
    fi
  done
  echo "could not start a TLS redis-server; see $TLS_DIR/redis.log" >&2
  return 1
}
stop_tls_redis() {
  [ -n "${TLS_DIR:-}" ] || return 0
  stop_redis_process "$TLS_DIR"
  rm -rf "$TLS_DIR"
}

version=$(redis-server --version | grep -o 'v=[0-9.]*')
keyspace=100000
# The library's text of the script: the prelude, then the script.
script="$(cat src/lua/prelude.lua src/lua/set_link.lua)"
if [ $cluster -eq 1 ]; then
  trap stop_cluster EXIT
  start_cluster
  echo "== redis cluster $version on $CLUSTER_URL" >&2
  url="$CLUSTER_URL"
  plain_server=(--cluster -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}")
  for port in "${CLUSTER_PORTS[@]}"; do
    sha=$(redis-cli -p "$port" script load "$script")
  done
  # redis-benchmark --cluster sends each client's commands to one node and
  # puts that node's hash tag for {tag}: the same script and the same
  # two keys of one slot, but named so that redis-benchmark can route them.
  link='sf:{tag}bench:lk:u__rand_int__scene'
  links_hash='sf:{tag}bench:lk:u__rand_int__'
  # The primary of `sfroute bench --keyspace 1`'s one uid (u0): the others
  # answer MOVED.
  for port in "${CLUSTER_PORTS[@]}"; do
    if ! redis-cli -p "$port" get 'sf:{bench:lk:u0}scene' 2>&1 | grep -q MOVED &&
      redis-cli -p "$port" role | head -n 1 | grep -q master; then
      u0_port="$port"
    fi
  done
else
  trap 'stop_redis; stop_tls_redis' EXIT
  start_redis
  start_tls_redis
  echo "== redis-server $version on $REDIS_URL and TLS on port $TLS_PORT" >&2
  url="$REDIS_URL"
  plain_server=(-p "$REDIS_PORT")
  sha=$(redis-cli -p "$REDIS_PORT" script load "$script")
  redis-cli -p "$TLS_PLAIN_PORT" script load "$script" >/dev/null
  link='sf:{bench:lk:u__rand_int__}scene'
  links_hash='sf:{bench:lk:u__rand_int__}'
fi

# redis-benchmark with a request count that lasts about $seconds; prints
# "<ops/s> <p50 ms> <p99 ms>". Transport "tls": the TLS server, over TLS;
# "u0": the cluster primary of uid u0, as a plain server; "spread": not
# redis-benchmark but bench/spread_reference, one blocking client whose
# commands go to the primary of their uid's slot.
reference() {
  local transport="$1" clients="$2" pipeline="$3" requests="$4" server=("${plain_server[@]}")
  shift 4
  if [ "$transport" = spread ]; then
    build/bin/spread_reference --cluster "127.0.0.1:${CLUSTER_PORTS[0]}" \
      --requests "$requests" --keyspace "$keyspace" -- "$@"
    return
  fi
  [ "$transport" = tls ] &&
    server=(-h localhost -p "$TLS_PORT" --tls --cacert "$TLS_DIR/ca.crt" --sni localhost)
  [ "$transport" = u0 ] && server=(-h 127.0.0.1 -p "$u0_port")
  redis-benchmark "${server[@]}" -c "$clients" -P "$pipeline" -n "$requests" \
    -r "$keyspace" --csv "$@" 2>/dev/null | tail -n 1 |
    awk -F'","' '{print $2, $5, $7}'
}

# sfroute bench <op> <callers> <transport> <uids>; prints "<links/s> <p50
# us> <p99 us> <errors>". Callers "async": one thread keeps 256 calls in
# flight with the async API.
candidate() {
  local json who=(--callers "$2") target="$url"
  [ "$2" = async ] && who=(--async --in-flight 256)
  [ "$3" = tls ] && target="$TLS_URL"  # "u0": the cluster, one uid (u0)
  json=$(build/bin/sfroute --redis "$target" bench --operation "$1" "${who[@]}" \
    --seconds "$seconds" --keyspace "$4" --batch 100)
  for field in links_per_second p50_us p99_us errors; do
    printf '%s ' "$(grep -o "\"$field\":[0-9.e+]*" <<<"$json" | cut -d: -f2)"
  done
  echo
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# case name | transport | sfroute op | callers | reference clients | pipeline | reference command
# [| sfroute's uids, default the keyspace]
set_link="EVALSHA $sha 2 $link $links_hash scene 7 -1 set"
cases=("SetLinkedPod c=50|plain|set|50|50|1|$set_link")
[ $cluster -eq 0 ] && cases+=("SetLinkedPod c=50 TLS|tls|set|50|50|1|$set_link")
if [ "$tls_only" = 0 ]; then
  cases+=(
    "GetLinkedPod c=50|plain|get|50|50|1|GET $link"
    "SetLinkedPod async|plain|set|async|50|16|$set_link"
    "GetLinkedPod async|plain|get|async|50|16|GET $link"
    "SetLinkedPods 100|plain|set-many|4|50|16|$set_link"
    "BatchGetLinkedPod 100|plain|batch-get|4|50|16|GET $link"
    "SetLinkedPod c=1|plain|set|1|1|1|$set_link"
    "GetLinkedPod c=1|plain|get|1|1|1|GET $link"
  )
  # redis-benchmark --cluster's one client sends to one node (one primary
  # and its replica at work); sfroute's uids are spread over the three.
  # Like for like: both on uid u0's keys, on its primary; and both spread
  # over the primaries, against spread_reference.
  [ $cluster -eq 1 ] && cases+=("SetLinkedPod c=1 1 uid|u0|set|1|1|1|EVALSHA $sha 2 \
sf:{bench:lk:u0}scene sf:{bench:lk:u0} scene 7 -1 set|1"
    "SetLinkedPod c=1 spread|spread|set|1|1|1|EVALSHA $sha 2 \
sf:{bench:lk:__uid__}scene sf:{bench:lk:__uid__} scene 7 -1 set")
fi
declare -A ref_median our_median

printf '%-22s %14s %14s %7s %22s %22s %7s\n' case "redis-bench/s" "sfroute/s" ratio \
  "ref p50/p99 (us)" "sfroute p50/p99 (us)" errors
for entry in "${cases[@]}"; do
  IFS='|' read -r name transport op callers clients pipeline command uids <<<"$entry"
  ref_rates=() ref_p50=() ref_p99=() our_rates=() our_p50=() our_p99=() errors=0
  last_rate=20000
  for round in $(seq "$rounds"); do
    # A: the reference, its request count sized from the last rate seen.
    read -r rate p50 p99 < <(reference "$transport" "$clients" "$pipeline" \
      "$((last_rate * seconds))" $command)
    last_rate="${rate%.*}"
    ref_rates+=("$last_rate") ref_p50+=("$p50") ref_p99+=("$p99")
    # B: sfroute, links per second.
    read -r links p50 p99 errs < <(candidate "$op" "$callers" "$transport" "${uids:-$keyspace}")
    our_rates+=("${links%.*}") our_p50+=("$p50") our_p99+=("$p99")
    errors=$((errors + errs))
  done
  ref=$(printf '%s\n' "${ref_rates[@]}" | median)
  ours=$(printf '%s\n' "${our_rates[@]}" | median)
  ref_median[$name]="$ref" our_median[$name]="$ours"
  ref_lat="$(printf '%s\n' "${ref_p50[@]}" | median | awk '{printf "%.0f", $1 * 1000}')/$(printf '%s\n' "${ref_p99[@]}" | median | awk '{printf "%.0f", $1 * 1000}')"
  our_lat="$(printf '%s\n' "${our_p50[@]}" | median | awk '{printf "%.0f", $1}')/$(printf '%s\n' "${our_p99[@]}" | median | awk '{printf "%.0f", $1}')"
  printf '%-22s %14s %14s %7.2f %22s %22s %7s\n' "$name" "$ref" "$ours" \
    "$(awk -v a="$ours" -v b="$ref" 'BEGIN {print a / b}')" "$ref_lat" "$our_lat" "$errors"
done
echo
# What TLS costs each client: its TLS rate over its plain rate.
ratio() { awk -v tls="$1" -v plain="$2" 'BEGIN {printf "x%.2f", tls / plain}'; }
[ $cluster -eq 0 ] && echo "TLS vs plain at c=50 (SetLinkedPod): sfroute ${our_median[SetLinkedPod c=50]} -> \
${our_median[SetLinkedPod c=50 TLS]}/s ($(ratio "${our_median[SetLinkedPod c=50 TLS]}" \
"${our_median[SetLinkedPod c=50]}")), redis-benchmark ${ref_median[SetLinkedPod c=50]} -> \
${ref_median[SetLinkedPod c=50 TLS]}/s ($(ratio "${ref_median[SetLinkedPod c=50 TLS]}" \
"${ref_median[SetLinkedPod c=50]}"))"
echo "rates are links per second; batch cases: redis-benchmark -P 16 (one link per command)"
echo "vs sfroute batches of 100 links per call; async: one thread, 256 calls in flight, vs"
echo "redis-benchmark -c 50 -P 16; latencies are per call. sfroute runs with its default"
echo "Options::busy_poll (50 us): a waiting thread polls that long before it sleeps."
if [ $cluster -eq 1 ]; then
  echo "cluster: redis-benchmark --cluster, its keys named {tag}... so that it can route them"
  echo "(the same script and work per call); sfroute with its own keys, one connection per node."
  echo "A redis-benchmark client sends to one node: at c=1 one primary (and its replica) works;"
  echo "\"1 uid\": both on one uid's keys (u0), on its primary: like for like (redis-benchmark"
  echo "without --cluster, on that primary); \"spread\": both spread over the primaries, the"
  echo "reference bench/spread_reference (one thread, blocking hiredis, a connection per primary)."
fi
