#!/usr/bin/env bash
# ThreadSanitizer run of the test suite, with an abseil that TSan can see.
#
# Debian's libabsl-dev is not built with -fsanitize=thread, so TSan cannot see
# absl::Mutex/absl::Notification hand data from one thread to another and
# reports every such handoff as a race. This script:
#   1. builds Debian's own abseil source package (apt-get source abseil, the
#      version installed, Debian's patches applied) with -fsanitize=thread
#      into ~/.cache/sfroute/tsan-absl (outside the tree, so a fresh clone
#      reuses it), once per source version, compiler and flags;
#   2. builds sfroute and its tests in build-tsan with -fsanitize=thread
#      against that abseil, and checks that no binary links /usr/lib's abseil;
#   3. starts a throwaway redis-server and 6-node cluster (as test.sh does) and
#      runs the suite under TSan; any report fails the test that raised it,
#      but for the one of abseil's own that scripts/tsan.supp names.
#
#   scripts/tsan.sh                  the whole suite
#   scripts/tsan.sh -R races_test    extra arguments go to ctest
#
# SFROUTE_TSAN_TESTS="races_test async_test" builds and runs only those test
# binaries (CI runs the ones whose point is concurrency: docs/testing.md).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SFROUTE_ROOT"

BUILD="$SFROUTE_ROOT/build-tsan"
ABSL_CACHE="${SFROUTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sfroute}/tsan-absl"
ABSL_SRC="$ABSL_CACHE/src"
ABSL_BUILD="$ABSL_CACHE/build"
ABSL_PREFIX="$ABSL_CACHE/install"
SUPPRESSIONS="$SFROUTE_ROOT/scripts/tsan.supp"
# -O1 keeps TSan's stacks readable and the build short; no NDEBUG, so the
# library's and abseil's own assertions stay on (Debian builds abseil
# without NDEBUG too).
TSAN_FLAGS="-fsanitize=thread -fno-omit-frame-pointer -O1 -g"

log() { echo "== $*"; }
die() { echo "tsan.sh: $*" >&2; exit 1; }

# The source version of the abseil Debian installed (e.g. 20220623.1-1+deb12u2).
absl_version() {
  dpkg-query -W -f='${source:Version}' libabsl-dev
}

# Makes `apt-get source abseil=<version>` possible: adds deb-src entries for
# bookworm when apt knows no source package of that version.
ensure_deb_src() {
  local version="$1"
  if apt-cache showsrc abseil 2>/dev/null | grep -qx "Version: $version"; then
    return 0
  fi
  local list=/etc/apt/sources.list.d/sfroute-debian-src.sources
  log "adding Debian's bookworm source lists ($list)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo tee "$list" >/dev/null <<'EOF'
# Added by sfroute's scripts/tsan.sh: Debian's source packages, so that abseil
# can be rebuilt with -fsanitize=thread from Debian's own source.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  $sudo apt-get update -qq
  apt-cache showsrc abseil 2>/dev/null | grep -qx "Version: $version" ||
    die "Debian's archive has no source package abseil $version (the installed libabsl-dev)"
}

# Builds abseil with TSan into $ABSL_PREFIX, unless it is there already for
# the same source version, compiler and flags.
build_absl() {
  local version stamp
  version="$(absl_version)"
  stamp="abseil $version; $(c++ --version | head -1); $TSAN_FLAGS"
  if [ -f "$ABSL_PREFIX/.tsan-stamp" ] && [ "$(cat "$ABSL_PREFIX/.tsan-stamp")" = "$stamp" ]; then
    log "reusing the TSan abseil in $ABSL_PREFIX ($version)"
    return 0
  fi
  local start=$SECONDS
  ensure_deb_src "$version"
  log "fetching Debian's source package abseil $version"
  rm -rf "$ABSL_SRC" "$ABSL_BUILD" "$ABSL_PREFIX"
  mkdir -p "$ABSL_SRC"
  # apt downloads as its unprivileged user _apt when that user may write here.
  id _apt >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && chown _apt "$ABSL_SRC"
  # apt checks the files against the signed source index; dpkg-source
  # unpacks them and applies Debian's patches (debian/patches/series). Its
  # gpgv "Can't check signature: No public key" only means debian-keyring
  # is not installed: the hashes apt checked are what vouch for the files.
  (cd "$ABSL_SRC" && apt-get source -qq --download-only "abseil=$version" &&
    dpkg-source -q -x ./*.dsc tree >/dev/null)
  log "building abseil with -fsanitize=thread (static, no tests)"
  # Debian's configuration (debian/rules: C++17, static libraries) with the
  # TSan flags; the static libraries cannot be confused with /usr/lib's .so.
  cmake -S "$ABSL_SRC/tree" -B "$ABSL_BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$TSAN_FLAGS" \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF \
    -DABSL_BUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$ABSL_PREFIX" \
    -DCMAKE_INSTALL_LIBDIR=lib >"$ABSL_CACHE/absl-build.log" 2>&1 ||
    die "abseil configure failed; see $ABSL_CACHE/absl-build.log"
  cmake --build "$ABSL_BUILD" -j "$(nproc)" >>"$ABSL_CACHE/absl-build.log" 2>&1 ||
    die "abseil build failed; see $ABSL_CACHE/absl-build.log"
  cmake --install "$ABSL_BUILD" >/dev/null
  rm -rf "$ABSL_SRC" "$ABSL_BUILD"
  local symbols
  symbols="$(nm "$ABSL_PREFIX/lib/libabsl_synchronization.a" 2>/dev/null)"
  grep -q __tsan_func_entry <<<"$symbols" || die "the abseil just built is not instrumented"
  echo "$stamp" >"$ABSL_PREFIX/.tsan-stamp"
  log "abseil built in $((SECONDS - start)) s"
}

# Fails unless every test binary takes abseil from $ABSL_PREFIX, statically,
# and not from /usr.
check_absl_linkage() {
  local cache="$BUILD/CMakeCache.txt"
  grep -qx "absl_DIR:[A-Z]*=$ABSL_PREFIX/lib/cmake/absl" "$cache" ||
    die "CMake found another abseil: $(grep '^absl_DIR' "$cache")"
  # Every abseil library on a link line is one of $ABSL_PREFIX's static ones.
  local linked
  linked="$(grep -o '[^ ]*libabsl[^ ]*' "$BUILD/build.ninja" | sort -u)"
  grep -q 'libabsl_synchronization\.a$' <<<"$linked" ||
    die "build-tsan/build.ninja does not link abseil's synchronization library"
  if grep -v -e "^$ABSL_PREFIX/lib/libabsl_[a-z0-9_]*\.a$" <<<"$linked"; then
    die "build-tsan/build.ninja links the abseil libraries above, not $ABSL_PREFIX's"
  fi
  grep -q -- "-isystem $ABSL_PREFIX/include" "$BUILD/build.ninja" ||
    die "build-tsan/build.ninja does not take abseil's headers from $ABSL_PREFIX/include"
  local binary libraries count=0
  for binary in "$BUILD"/bin/*; do
    [ -x "$binary" ] && [ -f "$binary" ] || continue
    libraries="$(ldd "$binary")"
    if grep -q 'libabsl' <<<"$libraries"; then
      die "$binary loads a shared abseil: $(grep libabsl <<<"$libraries" | head -1)"
    fi
    grep -q 'libtsan' <<<"$libraries" || die "$binary is not built with TSan"
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] || die "no binary in $BUILD/bin"
  log "$count binaries link the TSan abseil statically (no libabsl*.so, libtsan loaded)"
}

# dpkg-source unpacks the source package; nm and ldd check the result.
SFROUTE_PACKAGES+=(dpkg-dev binutils)
install_deps
mkdir -p "$BUILD" "$ABSL_CACHE"
start=$SECONDS
build_absl

log "building build-tsan"
build_start=$SECONDS
# CMAKE_PREFIX_PATH is searched before /usr, and absl_DIR pins it.
configure "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$TSAN_FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -DCMAKE_PREFIX_PATH="$ABSL_PREFIX" -Dabsl_DIR="$ABSL_PREFIX/lib/cmake/absl" \
  -DSFROUTE_BUILD_BENCH=OFF
if [ -n "${SFROUTE_TSAN_TESTS:-}" ]; then
  read -r -a tsan_tests <<<"$SFROUTE_TSAN_TESTS"
  cmake --build "$BUILD" -j "$(nproc)" --target "${tsan_tests[@]}"
  set -- -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$" "$@"
else
  cmake --build "$BUILD" -j "$(nproc)"
fi
log "build-tsan built in $((SECONDS - build_start)) s"
check_absl_linkage

trap 'stop_redis; stop_cluster' EXIT
start_redis
export SFROUTE_TEST_REDIS="$REDIS_URL"
log "redis-server on $REDIS_URL"
start_cluster
export SFROUTE_TEST_CLUSTER="$CLUSTER_URL"
log "redis cluster on $CLUSTER_URL"

# halt_on_error: the first report ends the binary with exit code 66, so any
# report fails its test. second_deadlock_stack: both stacks of a lock-order
# inversion.
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
if grep -q '^[a-z_]*:' "$SUPPRESSIONS" 2>/dev/null; then
  TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$SUPPRESSIONS"
fi
export TSAN_OPTIONS="$TSAN_OPTIONS${SFROUTE_TSAN_OPTIONS:+:$SFROUTE_TSAN_OPTIONS}"
log "testing build-tsan (TSAN_OPTIONS=$TSAN_OPTIONS)"
test_start=$SECONDS
ctest --test-dir "$BUILD" --output-on-failure "$@"
log "tests passed under TSan in $((SECONDS - test_start)) s; whole run $((SECONDS - start)) s"
