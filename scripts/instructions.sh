#!/usr/bin/env bash
# Client CPU per call as instructions, counted (valgrind's callgrind), not
# timed: the same figure on every run, however busy the machine. Runs
# bench/client_cpu_bench's canned cases (sfroute's own work around a round
# trip, no network, no server) and counts what executes in each iteration
# of the case's loop (the public call, and the caller dropping its result),
# less the canned server's side (reading the commands, writing the
# replies' bytes), on the standalone and on the cluster backend; prints
# instructions per call and the cluster's extra in percent (issue 15: within
# 20 %).
#
#   scripts/instructions.sh [BINARY]
#       default: build/bin/client_cpu_bench, built here
#
# The figure is the difference of two runs of fixed lengths
# (SFROUTE_BENCH_CALLS), both past the first calls: what a call costs once
# (a slot map loaded, a thread's first buffers, glibc's heap settling
# over the first hundred or so batch calls) drops out. The result's
# destruction is counted because what glibc does on a free depends on the
# heap around it: a standalone batch call's last free tidied the heap
# (malloc_consolidate) after the call returned, a cluster one's at the next
# call's first allocation; counting only the call charged that work to one
# backend and not the other.
#
# Instructions are not time (a cache miss costs more than an add), but a
# change that cuts them cuts work; use client_cpu_bench itself for ns.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

binary="${1:-}"
install_packages valgrind
if [ -z "$binary" ]; then
  install_deps
  configure "$SFROUTE_ROOT/build"
  cmake --build "$SFROUTE_ROOT/build" -j "$(nproc)" --target client_cpu_bench >/dev/null
  binary="$SFROUTE_ROOT/build/bin/client_cpu_bench"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Reads a callgrind file: "<instructions> <calls>", the calls being those
# of the functions whose name starts with the first prefix, and the
# instructions all that was counted less what the canned server's side
# (functions starting with the second prefix) ran inside it.
cat >"$out/count.py" <<'EOF'
import re, sys
path, counted, left_out = sys.argv[1], sys.argv[2], sys.argv[3]
names, calls, instructions, server, callee, arc = {}, 0, 0, 0, None, None
for line in open(path, errors="replace"):
    line = line.rstrip("\n")
    if arc is not None:  # the line after calls=: the call's inclusive cost
        if arc.startswith(left_out):
            server += int(line.split()[-1])
        arc = None
        continue
    if line.startswith("summary:"):
        instructions = int(line.split()[1])
    match = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line)
    if match:
        kind, number, name = match.groups()
        if name:
            names[number] = name
        callee = names.get(number, "") if kind == "cfn" else None
    elif line.startswith("calls=") and callee is not None:
        if callee.startswith(counted):
            calls += int(line.split("=")[1].split()[0])
        arc, callee = callee, None
print(instructions - server, calls)
EOF

# counted <benchmark filter> <method> <calls>: "<instructions> <calls>" of
# the selected case's function (every iteration of its loop, inclusive) in
# a run of <calls> calls of sfroute::Executor::<method>.
counted() {
  SFROUTE_BENCH_CALLS="$3" valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    "--toggle-collect=sfroute::(anonymous namespace)::BM_*" \
    "$binary" --benchmark_filter="$1" >/dev/null 2>&1
  /usr/bin/python3 "$out/count.py" "$out/cg" "sfroute::Executor::$2(" \
    "sfroute::(anonymous namespace)::CannedServer::Respond("
}

# per_call <benchmark filter> <method> <calls>: instructions per call, from
# runs of <calls> and of three times as many calls.
per_call() {
  local short long
  short=$(counted "$1" "$2" "$3")
  long=$(counted "$1" "$2" $(($3 * 3)))
  awk -v s="$short" -v l="$long" 'BEGIN {
    split(s, a, " "); split(l, b, " ")
    print (b[2] > a[2]) ? int((b[1] - a[1]) / (b[2] - a[2])) : 0 }'
}

printf '%-22s %12s %12s %9s\n' case standalone cluster cluster+
for row in "SetLinkedPod:BM_OneUid/SetLinkedPod / :SetLinkedPod:2000" \
  "TrySetLinkedPod:BM_OneUid/TrySetLinkedPod / :TrySetLinkedPod:2000" \
  "GetLinkedPod:BM_OneUid/GetLinkedPod / :GetLinkedPod:2000" \
  "BatchGetLinkedPod 100:BM_BatchGetLinkedPod100/:BatchGetLinkedPod:200" \
  "SetLinkedPods 100:BM_SetLinkedPods100/:SetLinkedPods:200"; do
  IFS=: read -r name prefix method calls <<<"$row"
  standalone=$(per_call "^${prefix}canned/" "$method" "$calls")
  cluster=$(per_call "^${prefix}canned_cluster/" "$method" "$calls")
  printf '%-22s %12s %12s %8s%%\n' "$name" "$standalone" "$cluster" \
    "$(awk -v a="$standalone" -v b="$cluster" 'BEGIN { printf "%+.1f", a ? 100 * (b - a) / a : 0 }')"
done
echo "instructions per call: callgrind, a call and the dropping of its result, less the canned server's side"
