#!/usr/bin/env bash
# Builds isolate and runs every test:
#   1. the unit, integration and fault suites under AddressSanitizer + UndefinedBehaviorSanitizer,
#   2. every suite under ThreadSanitizer (stress and fault: concurrent runs, cancel storms, races),
#   3. the suites in a build without the process backend (the thread fallback of other platforms),
#   4. the normal build (warnings as errors) with every suite, the examples, and the consumer
#      projects (find_package against an installed copy, and add_subdirectory).
# Ends with ctest's summary of step 4; exits non-zero on any failure.
# Usage: ./scripts/test.sh            (as root on a fresh Debian 12: installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

BUILD=${ISOLATE_BUILD_DIR:-build}
JOBS=$(nproc)

configure() {  # configure DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DISOLATE_WERROR=ON -DISOLATE_TEST=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
}
section() { printf '\n==== %s ====\n' "$*"; }
mkdir -p "$BUILD"

section "AddressSanitizer + UndefinedBehaviorSanitizer: unit, integration and fault suites"
# handle_*=0: the crash tests must see a worker really die of its signal, not a sanitizer's report.
SIGNALS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0
configure "$BUILD/asan" -DCMAKE_BUILD_TYPE=Debug -DISOLATE_SANITIZE=address,undefined -DISOLATE_EXAMPLES=OFF
SUITES=(isolate_unit_tests isolate_integration_tests isolate_stress_tests isolate_fault_tests)
cmake --build "$BUILD/asan" -j "$JOBS" --target "${SUITES[@]}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_abort=0:$SIGNALS UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$BUILD/asan" -L 'unit|integration|fault' --output-on-failure -j "$JOBS"

section "ThreadSanitizer: every suite (stress and fault are the concurrency ones)"
configure "$BUILD/tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISOLATE_SANITIZE=thread -DISOLATE_EXAMPLES=OFF
cmake --build "$BUILD/tsan" -j "$JOBS" --target "${SUITES[@]}"
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:$SIGNALS:suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir "$BUILD/tsan" -L 'unit|integration|stress|fault' --output-on-failure -j "$JOBS"

section "Thread-only build (ISOLATE_PROCESS_BACKEND=OFF, as on platforms without worker processes)"
configure "$BUILD/threads" -DCMAKE_BUILD_TYPE=Release -DISOLATE_PROCESS_BACKEND=OFF -DISOLATE_EXAMPLES=OFF
cmake --build "$BUILD/threads" -j "$JOBS" --target "${SUITES[@]}"
ctest --test-dir "$BUILD/threads" -L 'unit|integration|stress|fault' --output-on-failure -j "$JOBS"

section "Normal build: every suite, examples and consumer projects"
configure "$BUILD/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISOLATE_CONSUMER_TESTS=ON -DISOLATE_BENCH=ON
cmake --build "$BUILD/release" -j "$JOBS"
ctest --test-dir "$BUILD/release" --output-on-failure -j "$JOBS"
