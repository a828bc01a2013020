#!/usr/bin/env bash
# A walkthrough with the CLI: builds sfroute, starts a throwaway redis-server on a free
# loopback port, and walks through a player's life with the sfroute CLI:
# placement on the least-loaded pod, confirmation at login, a rejected
# competing link, a disconnect with a grace period, a reconnect to the same
# pod, and the final removal. Stops the server at the end.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

install_deps
echo "== building (build/)"
build_cli
trap stop_redis EXIT
start_redis
export SFROUTE_REDIS="$REDIS_URL"
echo "== redis-server on $REDIS_URL (throwaway)"

sf() {
  echo
  echo "\$ sfroute $*"
  build/bin/sfroute "$@" || echo "(exit code $?)"
}
note() { printf '\n# %s\n' "$*"; }

now_ms=$(($(date +%s) * 1000))
fresh=$((now_ms - 30000))

note "Three pods of the 'scene' service report '<load>-<timestampMillis>'; pod 2 is stale."
sf state set --ns demo --svc scene --pod 0 --state "5-$now_ms"
sf state set --ns demo --svc scene --pod 1 --state "2-$now_ms"
sf state set --ns demo --svc scene --pod 2 --state "0-$((now_ms - 600000))"
sf state get --ns demo --svc scene
sf workload set --ns demo --svc scene --state READY
sf workload get --ns demo --svc scene

note "Player alice arrives: placed on the least-loaded fresh pod, linked for 300 s."
sf link compute --ns demo --uid alice --svc scene --ttl 300 --threshold "$fresh"
note "She logs in: the scene server confirms the link (persistent)."
sf link try-set --ns demo --uid alice --svc scene --pod 1 --ttl -1
note "Another gateway tries to put her on pod 0: refused, she stays on pod 1."
sf link try-set --ns demo --uid alice --svc scene --pod 0 --ttl -1
sf link get --ns demo --uid alice --svc scene --if-persistent
sf link services --ns demo --uid alice

note "Bob and carol arrive; one batch read shows who is where."
sf link compute --ns demo --uid bob --svc scene --ttl 300 --threshold "$fresh"
sf link set --ns demo --uid carol --svc scene --pod 0 --ttl -1
sf link batch-get --ns demo --svc scene --uid alice --uid bob --uid carol --uid dave

note "Alice disconnects: her link is kept 30 s as a grace period."
sf link remove --ns demo --uid alice --svc scene --keep 30
sf link get --ns demo --uid alice --svc scene
sf link get --ns demo --uid alice --svc scene --if-persistent
echo "  raw TTL of the link key: $(redis-cli -p "$REDIS_PORT" ttl 'sf:{demo:lk:alice}scene') s"
note "She reconnects within the grace period and lands on the same pod."
sf link set-if-absent --ns demo --uid alice --svc scene --pod 0 --ttl -1

note "Pod 1 is drained: its link to alice is removed only if it still holds her."
sf link remove --ns demo --uid alice --svc scene --if-pod 0
sf link remove --ns demo --uid alice --svc scene --if-pod 1
sf link get --ns demo --uid alice --svc scene

note "Mistakes are reported, not written: a bad uid and a TTL of 0."
sf link set --ns demo --uid "bad}uid" --svc scene --pod 1 --ttl -1
sf link set --ns demo --uid alice --svc scene --pod 1 --ttl 0

note "The keys in Redis, as Java and Go services read them:"
redis-cli -p "$REDIS_PORT" --scan --pattern 'sf:*' | sort | sed 's/^/  /'
