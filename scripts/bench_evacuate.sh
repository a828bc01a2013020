#!/usr/bin/env bash
# Scanning and evacuating a pod (issue 14), against a throwaway redis-server
# and a throwaway 6-node cluster: writes LINKS persistent links on pod 3,
# then times, in the same run,
#   redis-cli --scan --pattern <the links' pattern> | wc -l   (the reference:
#       keys only; on the cluster, one redis-cli --scan per primary in turn)
#   sfroute link scan --pod 3 | wc -l                           (keys, values, TTLs)
#   sfroute pod evacuate --pod 3 --to 4                          (scan, then move all)
# and checks the summary and that no link is left on pod 3.
#
#   scripts/bench_evacuate.sh [--links N]     (default 100000)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

links=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --links) links="$2"; shift 2 ;;
    *) echo "usage: scripts/bench_evacuate.sh [--links N]" >&2; exit 2 ;;
  esac
done

install_deps
echo "== building (build/)" >&2
build_cli
sfroute=build/bin/sfroute
trap 'stop_redis; stop_cluster' EXIT
start_redis
start_cluster
ns="bench-evacuate"
pattern="sf:{$ns:lk:*}scene"

# Seconds a command takes, to the millisecond.
timed() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN {printf "%.3f", ns / 1e9}'
}

# Writes the links through sfroute itself (SetLinkedPods, 1000 a call), so
# that the cluster gets them on the right nodes.
write_links() {
  local deployment=("$@") i j args
  for ((i = 0; i < links; i += 1000)); do
    args=()
    for ((j = i; j < i + 1000 && j < links; j++)); do args+=(--link "u$j=3"); done
    "$sfroute" "${deployment[@]}" link set-many --ns "$ns" --svc scene --ttl -1 "${args[@]}" \
      >/dev/null
  done
}

reference_scan() {
  local port
  for port in "$@"; do
    redis-cli -p "$port" --scan --pattern "$pattern"
  done | wc -l
}

run() {
  local name="$1"
  shift
  local deployment=("$1" "$2")
  shift 2
  local ports=("$@")
  echo "== $name: writing $links persistent links on pod 3" >&2
  write_links "${deployment[@]}"
  local found
  found=$(reference_scan "${ports[@]}")
  [ "$found" -eq "$links" ] || { echo "redis-cli --scan found $found keys, not $links" >&2; exit 1; }
  local ref ours evacuate summary
  ref=$(timed reference_scan "${ports[@]}")
  ours=$(timed bash -c "'$sfroute' ${deployment[*]} link scan --ns $ns --svc scene --pod 3 | wc -l")
  summary=$(mktemp)
  evacuate=$(timed bash -c "'$sfroute' ${deployment[*]} pod evacuate --ns $ns --svc scene --pod 3 --to 4 >$summary 2>/dev/null")
  grep -q "\"moved\":$links" "$summary" || { echo "evacuate: $(cat "$summary")" >&2; exit 1; }
  local left
  left=$("$sfroute" "${deployment[@]}" link scan --ns "$ns" --svc scene --pod 3 | wc -l)
  [ "$left" -eq 0 ] || { echo "$left links left on pod 3" >&2; exit 1; }
  printf '%-11s %8s %12s %14s %12s %16s   %s\n' "$name" "$links" "${ref} s" \
    "${ours} s" "$(awk -v n="$links" -v t="$ours" 'BEGIN {printf "%.0f", n / t}')" "${evacuate} s" \
    "$(cat "$summary")"
  rm -f "$summary"
}

printf '%-11s %8s %12s %14s %12s %16s   %s\n' deployment links "redis-cli scan" \
  "sfroute scan" "links/s" "evacuate 3->4" summary
run standalone --redis "$REDIS_URL" "$REDIS_PORT"
primaries=()
for port in "${CLUSTER_PORTS[@]}"; do
  redis-cli -p "$port" role | head -1 | grep -q master && primaries+=("$port")
done
run cluster --cluster "${CLUSTER_URL#redis-cluster://}" "${primaries[@]}"
echo
echo "redis-cli --scan reads keys only (its default COUNT; on the cluster each primary in turn);"
echo "sfroute link scan also reads each link's value and TTL and prints a JSON line per link;"
echo "times include starting the process."
