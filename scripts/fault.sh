#!/usr/bin/env bash
# The fault suite, larger: cancel storms, crash kinds, a parent killed at random moments and
# hostile hosts, ISOLATE_FAULT_SCALE times the size ./scripts/test.sh runs (default 10), in the
# normal build and, with --tsan, under ThreadSanitizer too. Prints each test's figures.
# Usage: ./scripts/fault.sh [SCALE] [--tsan]      (as root on a fresh Debian 12: installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

SCALE=10
TSAN=0
for arg in "$@"; do
  case "$arg" in
    --tsan) TSAN=1 ;;
    *) SCALE=$arg ;;
  esac
done
BUILD=${ISOLATE_BUILD_DIR:-build}
SIGNALS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0

run_suite() {  # run_suite DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DISOLATE_TEST=ON "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$(nproc)" --target isolate_fault_tests
  ISOLATE_FAULT_SCALE=$SCALE "$dir/tests/isolate_fault_tests" --gtest_brief=1
}

mkdir -p "$BUILD"
echo "== fault suite, scale $SCALE, normal build"
run_suite "$BUILD/fault" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$TSAN" -eq 1 ]; then
  echo "== fault suite, scale $SCALE, ThreadSanitizer"
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:$SIGNALS:suppressions=$PWD/tests/tsan.supp" \
    run_suite "$BUILD/fault-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISOLATE_SANITIZE=thread
fi
