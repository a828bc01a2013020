#!/usr/bin/env bash
# The test command (CI's .ci/run calls it; docs/testing.md says what each
# step proves):
#   1. the tree is formatted as .clang-format says;
#   2. build/ (RelWithDebInfo): the whole suite with ctest against a throwaway
#      redis-server and a throwaway 6-node Redis Cluster;
#   3. the library installed into a temp prefix and tests/consumer built
#      against it with find_package(sfroute), then run;
#   4. build-asan/: the suite again under AddressSanitizer + UBSan;
#   5. scripts/fuzz.sh: every libFuzzer target for 20 s, built with clang,
#      which also checks the thread-safety annotations (-Wthread-safety);
#   6. scripts/tsan.sh: the tests whose point is concurrency under
#      ThreadSanitizer, with an instrumented abseil (cached in ~/.cache).
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    steps 1-3 only
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

quick=0
[ "${1:-}" = "--quick" ] && quick=1

start=$SECONDS
step() { echo "== [$((SECONDS - start)) s] $*"; }

install_deps

step "format (.clang-format)"
unformatted=()
while IFS= read -r file; do
  clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done < <(git ls-files '*.cc' '*.h')
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "not formatted (run clang-format -i on them): ${unformatted[*]}" >&2
  exit 1
fi

trap 'stop_redis; stop_cluster' EXIT
start_redis
export SFROUTE_TEST_REDIS="$REDIS_URL"
step "redis-server on $REDIS_URL"
start_cluster
export SFROUTE_TEST_CLUSTER="$CLUSTER_URL"
step "redis cluster on $CLUSTER_URL"

run_suite() {
  local dir="$1"
  shift
  step "building $dir $*"
  build "$dir" "$@"
  step "testing $dir"
  ctest --test-dir "$dir" --output-on-failure -j 2
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo

step "installing into a temp prefix; building tests/consumer against it"
prefix="$(mktemp -d /tmp/sfroute-install.XXXXXX)"
trap 'stop_redis; stop_cluster; rm -rf "$prefix"' EXIT
cmake --install build --prefix "$prefix" >/dev/null
cmake -S tests/consumer -B "$prefix/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
"$prefix/consumer-build/consumer"

if [ $quick -eq 0 ]; then
  # LeakSanitizer is left on.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The password matrix of cli_test (every command with and without the
  # right password, redaction of its output) starts the CLI ~200 times,
  # each start slow under ASan; it checks text, which step 2 did, and
  # runs no code the other CLI tests do not.
  export GTEST_FILTER='-Passwords/CliPasswordTest.*'
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSFROUTE_SANITIZE=ON -DSFROUTE_BUILD_BENCH=OFF
  unset ASAN_OPTIONS UBSAN_OPTIONS GTEST_FILTER

  step "fuzzing (scripts/fuzz.sh 20)"
  scripts/fuzz.sh 20

  step "ThreadSanitizer (scripts/tsan.sh)"
  stop_redis
  stop_cluster
  unset SFROUTE_TEST_REDIS SFROUTE_TEST_CLUSTER
  # The tests whose point is threads meeting (the rest run one call at a
  # time on the same code paths); `scripts/tsan.sh` alone runs them all.
  SFROUTE_TSAN_TESTS="races_test async_test async_stress_test shared_connections_test \
faults_test memory_backend_test observability_test routing_test sentinel_test sync_test" scripts/tsan.sh -j 2
fi
step "all tests passed"
