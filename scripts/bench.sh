#!/usr/bin/env bash
# Performance against the reference, in the same run (issue 5): starts a
# throwaway redis-server, then for each case runs redis-benchmark with the
# equivalent raw command (the same script by EVALSHA, or GET) at the same
# concurrency and pipelining, and `sfroute bench`, alternating A and B
# several times; prints a table of medians.
#
#   scripts/bench.sh [--seconds S] [--rounds R]     (defaults: 3 s, 3 rounds)
#   scripts/bench.sh --cluster [...]   the same cases on a throwaway 6-node
#                                      Redis Cluster, against redis-benchmark --cluster
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

seconds=3
rounds=3
cluster=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --cluster) cluster=1; shift ;;
    *) echo "usage: scripts/bench.sh [--cluster] [--seconds S] [--rounds R]" >&2; exit 2 ;;
  esac
done

install_deps
echo "== building (build/)" >&2
build_cli
version=$(redis-server --version | grep -o 'v=[0-9.]*')
keyspace=100000
# The library's text of the script: the prelude, then the script.
script="$(cat src/lua/prelude.lua src/lua/set_link.lua)"
if [ $cluster -eq 1 ]; then
  trap stop_cluster EXIT
  start_cluster
  echo "== redis cluster $version on $CLUSTER_URL" >&2
  url="$CLUSTER_URL"
  reference_target=(--cluster -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}")
  for port in "${CLUSTER_PORTS[@]}"; do
    sha=$(redis-cli -p "$port" script load "$script")
  done
  # redis-benchmark --cluster sends each client's commands to one node and
  # puts that node's hash tag for {tag}: the same script and the same
  # two keys of one slot, but named so that redis-benchmark can route them.
  link='sf:{tag}bench:lk:u__rand_int__scene'
  links_hash='sf:{tag}bench:lk:u__rand_int__'
else
  trap stop_redis EXIT
  start_redis
  echo "== redis-server $version on $REDIS_URL" >&2
  url="$REDIS_URL"
  reference_target=(-p "$REDIS_PORT")
  sha=$(redis-cli -p "$REDIS_PORT" script load "$script")
  link='sf:{bench:lk:u__rand_int__}scene'
  links_hash='sf:{bench:lk:u__rand_int__}'
fi

# redis-benchmark with a request count that lasts about $seconds; prints
# "<ops/s> <p50 ms> <p99 ms>".
reference() {
  local clients="$1" pipeline="$2" requests="$3"
  shift 3
  redis-benchmark "${reference_target[@]}" -c "$clients" -P "$pipeline" -n "$requests" \
    -r "$keyspace" --csv "$@" 2>/dev/null | tail -n 1 |
    awk -F'","' '{print $2, $5, $7}'
}

# sfroute bench; prints "<links/s> <p50 us> <p99 us> <errors>". Callers
# "async": one thread keeps 256 calls in flight with the async API.
candidate() {
  local json who=(--callers "$2")
  [ "$2" = async ] && who=(--async --in-flight 256)
  json=$(build/bin/sfroute --redis "$url" bench --operation "$1" "${who[@]}" \
    --seconds "$seconds" --keyspace "$keyspace" --batch 100)
  for field in links_per_second p50_us p99_us errors; do
    printf '%s ' "$(grep -o "\"$field\":[0-9.e+]*" <<<"$json" | cut -d: -f2)"
  done
  echo
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# case name | sfroute op | callers | reference clients | pipeline | reference command
cases=(
  "SetLinkedPod c=50|set|50|50|1|EVALSHA $sha 2 $link $links_hash scene 7 -1 set"
  "GetLinkedPod c=50|get|50|50|1|GET $link"
  "SetLinkedPod async|set|async|50|16|EVALSHA $sha 2 $link $links_hash scene 7 -1 set"
  "GetLinkedPod async|get|async|50|16|GET $link"
  "SetLinkedPods 100|set-many|4|50|16|EVALSHA $sha 2 $link $links_hash scene 7 -1 set"
  "BatchGetLinkedPod 100|batch-get|4|50|16|GET $link"
  "SetLinkedPod c=1|set|1|1|1|EVALSHA $sha 2 $link $links_hash scene 7 -1 set"
  "GetLinkedPod c=1|get|1|1|1|GET $link"
)

printf '%-22s %14s %14s %7s %22s %22s %7s\n' case "redis-bench/s" "sfroute/s" ratio \
  "ref p50/p99 (us)" "sfroute p50/p99 (us)" errors
for entry in "${cases[@]}"; do
  IFS='|' read -r name op callers clients pipeline command <<<"$entry"
  ref_rates=() ref_p50=() ref_p99=() our_rates=() our_p50=() our_p99=() errors=0
  last_rate=20000
  for round in $(seq "$rounds"); do
    # A: the reference, its request count sized from the last rate seen.
    read -r rate p50 p99 < <(reference "$clients" "$pipeline" "$((last_rate * seconds))" $command)
    last_rate="${rate%.*}"
    ref_rates+=("$last_rate") ref_p50+=("$p50") ref_p99+=("$p99")
    # B: sfroute, links per second.
    read -r links p50 p99 errs < <(candidate "$op" "$callers")
    our_rates+=("${links%.*}") our_p50+=("$p50") our_p99+=("$p99")
    errors=$((errors + errs))
  done
  ref=$(printf '%s\n' "${ref_rates[@]}" | median)
  ours=$(printf '%s\n' "${our_rates[@]}" | median)
  ref_lat="$(printf '%s\n' "${ref_p50[@]}" | median | awk '{printf "%.0f", $1 * 1000}')/$(printf '%s\n' "${ref_p99[@]}" | median | awk '{printf "%.0f", $1 * 1000}')"
  our_lat="$(printf '%s\n' "${our_p50[@]}" | median | awk '{printf "%.0f", $1}')/$(printf '%s\n' "${our_p99[@]}" | median | awk '{printf "%.0f", $1}')"
  printf '%-22s %14s %14s %7.2f %22s %22s %7s\n' "$name" "$ref" "$ours" \
    "$(awk -v a="$ours" -v b="$ref" 'BEGIN {print a / b}')" "$ref_lat" "$our_lat" "$errors"
done
echo
echo "rates are links per second; batch cases: redis-benchmark -P 16 (one link per command)"
echo "vs sfroute batches of 100 links per call; async: one thread, 256 calls in flight, vs"
echo "redis-benchmark -c 50 -P 16; latencies are per call. sfroute runs with its default"
echo "Options::busy_poll (50 us): a waiting thread polls that long before it sleeps."
if [ $cluster -eq 1 ]; then
  echo "cluster: redis-benchmark --cluster, its keys named {tag}... so that it can route them"
  echo "(the same script and work per call); sfroute with its own keys, one connection per node."
fi
