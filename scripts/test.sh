#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a throwaway
# redis-server and a throwaway 6-node Redis Cluster, runs the whole suite
# with ctest, then runs it once more under AddressSanitizer +
# UndefinedBehaviorSanitizer, and stops the servers.
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    skip the sanitizer build
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

quick=0
[ "${1:-}" = "--quick" ] && quick=1

install_deps
trap 'stop_redis; stop_cluster' EXIT
start_redis
export SFROUTE_TEST_REDIS="$REDIS_URL"
echo "== redis-server on $REDIS_URL"
start_cluster
export SFROUTE_TEST_CLUSTER="$CLUSTER_URL"
echo "== redis cluster on $CLUSTER_URL"

run_suite() {
  local dir="$1"
  shift
  echo "== building $dir $*"
  build "$dir" "$@"
  echo "== testing $dir"
  ctest --test-dir "$dir" --output-on-failure -j 2
}

start=$SECONDS
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ $quick -eq 0 ]; then
  # The sanitizers check the same suite; LeakSanitizer is left on.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSFROUTE_SANITIZE=ON
fi
echo "== all tests passed in $((SECONDS - start)) s"
