#!/usr/bin/env bash
# The main job: builds sfroute and runs `sfroute demo`, a simulated day of a
# game backend (docs/demo.md), in the process with no server.
#
#   scripts/demo.sh                 on the in-process backend (memory://)
#   scripts/demo.sh --redis         against a throwaway redis-server on a free loopback port
#   scripts/demo.sh [--redis] -- ARGS   passes ARGS to `sfroute demo` (e.g. -- --players 20000)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

use_redis=0
demo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --redis) use_redis=1; shift ;;
    --) shift; demo_args=("$@"); break ;;
    *) echo "usage: scripts/demo.sh [--redis] [-- sfroute demo options]" >&2; exit 2 ;;
  esac
done

install_deps
echo "== building (build/)"
build_cli
if [ $use_redis -eq 1 ]; then
  trap stop_redis EXIT
  start_redis
  echo "== redis-server on $REDIS_URL (throwaway)"
  build/bin/sfroute --redis "$REDIS_URL" demo "${demo_args[@]}"
else
  echo "== in-process backend (memory://): no server"
  build/bin/sfroute demo "${demo_args[@]}"
fi
