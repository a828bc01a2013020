#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, docs/fuzzing.md) with clang in
# build-fuzz/, replays every saved regression input, then fuzzes each target
# for SECONDS (default 20) from a copy of its seed corpus. Fails if any
# input crashes or breaks an invariant; the failing input is kept in
# build-fuzz/crashes/.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment: FUZZ_TARGETS="url resp" runs only those targets; FUZZ_JOBS=N
# runs N targets at a time (default: the number of cores); FUZZ_CORPUS_OUT=DIR
# keeps the grown corpora in DIR/<target> instead of throwing them away.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECONDS_PER_TARGET="${1:-20}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS]   (a positive number of seconds per target)" >&2
  exit 2
fi
BUILD_DIR="$SFROUTE_ROOT/build-fuzz"
FUZZ_DIR="$SFROUTE_ROOT/tests/fuzz"
JOBS="${FUZZ_JOBS:-$(nproc)}"

# clang, libFuzzer and the sanitizer runtimes, on top of the project's own
# packages (lib.sh's list).
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
install_deps
install_packages "${FUZZ_PACKAGES[@]}"

# -O1 with line tables: fast to build, readable stacks; Debug keeps the
# asserts (no -DNDEBUG).
echo "== building the fuzz targets in $BUILD_DIR"
# clang also checks the ABSL_GUARDED_BY annotations here: a violation fails
# the build (SFROUTE_THREAD_SAFETY_ANALYSIS).
configure "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DSFROUTE_BUILD_FUZZERS=ON \
  -DSFROUTE_THREAD_SAFETY_ANALYSIS=ON \
  -DSFROUTE_BUILD_TESTS=OFF -DSFROUTE_BUILD_BENCH=OFF -DSFROUTE_BUILD_TOOLS=ON
if ! cmake --build "$BUILD_DIR" -j "$(nproc)" --target sfroute_fuzzers >"$BUILD_DIR/build.log" 2>&1; then
  grep -E 'error|FAILED' -A5 "$BUILD_DIR/build.log" | head -40 >&2
  echo "fuzz: the build failed; see $BUILD_DIR/build.log" >&2
  exit 1
fi

TARGETS=()
for source in "$FUZZ_DIR"/*_fuzzer.cc; do
  target="$(basename "$source" _fuzzer.cc)"
  if [ -x "$BUILD_DIR/fuzz/fuzz_$target" ]; then
    TARGETS+=("$target")
  else
    echo "fuzz: $target not built (tests/fuzz/CMakeLists.txt says when)" >&2
  fi
done
if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a TARGETS <<<"$FUZZ_TARGETS"
  for target in "${TARGETS[@]}"; do
    [ -x "$BUILD_DIR/fuzz/fuzz_$target" ] || { echo "fuzz: no target $target" >&2; exit 2; }
  done
fi

WORK="$(mktemp -d /tmp/sfroute-fuzz.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BUILD_DIR/crashes"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The saved regressions run first, once each, as plain inputs.
failed=0
echo "== regressions"
for target in "${TARGETS[@]}"; do
  dir="$FUZZ_DIR/regressions/$target"
  inputs=()
  [ -d "$dir" ] && while IFS= read -r -d '' file; do inputs+=("$file"); done \
    < <(find "$dir" -type f ! -name '*.md' -print0 | sort -z)
  [ ${#inputs[@]} -eq 0 ] && continue
  if "$BUILD_DIR/fuzz/fuzz_$target" "${inputs[@]}" >"$WORK/$target.regressions.log" 2>&1; then
    printf '%-9s %3d regression inputs pass\n' "$target" "${#inputs[@]}"
  else
    printf '%-9s a regression input fails:\n' "$target"
    grep -E 'Running:|invariant broken|^  [^ #]|ERROR: |runtime error|SUMMARY' \
      "$WORK/$target.regressions.log" | tail -8 | cut -c1-400 | sed 's/^/    /'
    echo "   full log: rerun $BUILD_DIR/fuzz/fuzz_$target $dir/*"
    failed=1
  fi
done

# fuzz <target>: SECONDS_PER_TARGET of fuzzing from a copy of the corpus.
fuzz() {
  local target="$1" corpus="$WORK/corpus/$1"
  mkdir -p "$corpus" "$WORK/artifacts/$target"
  cp -r "$FUZZ_DIR/corpus/$target/." "$corpus/" 2>/dev/null || true
  local options=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -max_len=4096
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$target/")
  [ -f "$FUZZ_DIR/dict/$target.dict" ] && options+=(-dict="$FUZZ_DIR/dict/$target.dict")
  "$BUILD_DIR/fuzz/fuzz_$target" "${options[@]}" "$corpus" >"$WORK/$target.log" 2>&1
}

# One line per target: executions, coverage before and after, what it found.
summarize() {
  local target="$1" status="$2" log="$WORK/$1.log"
  local execs new_units start_cov end_cov seeds corpus
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  new_units="$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)"
  start_cov="$(sed -n 's/.*INITED cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 \2 \3/p' "$log" | head -1)"
  end_cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 | awk '{print $2, $4, $6}')"
  read -r cov0 ft0 seeds <<<"${start_cov:-? ? ?}"
  read -r cov1 ft1 corpus <<<"${end_cov:-? ? ?}"
  if [ "$status" -eq 0 ]; then
    printf '%-9s ok     %9s execs in %ss, coverage %s -> %s edges (features %s -> %s), %s new inputs (corpus %s -> %s)\n' \
      "$target" "${execs:-?}" "$SECONDS_PER_TARGET" "$cov0" "$cov1" "$ft0" "$ft1" \
      "${new_units:-?}" "$seeds" "$corpus"
    return 0
  fi
  printf '%-9s FAILED after %s execs (exit %s):\n' "$target" "${execs:-?}" "$status"
  grep -E 'invariant broken|^  [^ #]|ERROR: |runtime error|SUMMARY' "$log" | head -10 |
    cut -c1-400 | sed 's/^/    /'
  local artifact
  for artifact in "$WORK/artifacts/$target"/*; do
    [ -f "$artifact" ] || continue
    local kept="$BUILD_DIR/crashes/$target-$(basename "$artifact")"
    cp "$artifact" "$kept"
    echo "    input kept in $kept"
    echo "    replay:  $BUILD_DIR/fuzz/fuzz_$target $kept"
    echo "    keep it: cp $kept tests/fuzz/regressions/$target/<what-it-shows>"
  done
  return 1
}

echo "== fuzzing ${TARGETS[*]}: ${SECONDS_PER_TARGET}s each, $JOBS at a time"
for target in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  (
    status=0
    fuzz "$target" || status=$?
    echo "$status" >"$WORK/$target.status"
  ) &
done
wait
for target in "${TARGETS[@]}"; do
  summarize "$target" "$(cat "$WORK/$target.status")" || failed=1
  if [ -n "${FUZZ_CORPUS_OUT:-}" ]; then
    mkdir -p "$FUZZ_CORPUS_OUT/$target"
    cp -r "$WORK/corpus/$target/." "$FUZZ_CORPUS_OUT/$target/"
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED (docs/fuzzing.md: how to reproduce and keep a crash as a regression)" >&2
  exit 1
fi
echo "fuzz: every target ran ${SECONDS_PER_TARGET}s with no crash and no broken invariant"
