#!/usr/bin/env bash
# Builds isolate and runs every test:
#   1. the unit, integration and fault suites under AddressSanitizer + UndefinedBehaviorSanitizer,
#   2. the concurrency suites under ThreadSanitizer: integration (real workers, pools, supervisors),
#      stress (concurrent runs, token races) and fault (cancel storms, crashes, a killed parent),
#   3. the suites in a build without the process backend (the thread fallback of other platforms),
#   4. libFuzzer on the protocol's decoders and the codec round trip (clang), a bounded run each,
#   5. the normal build (warnings as errors) with every suite, the tools, the examples, the
#      header checks and the consumer projects (find_package against an installed copy,
#      add_subdirectory as a shared library, FetchContent).
# First it checks the format (.clang-format). The builds are the presets of CMakePresets.json,
# in build/<preset>. Steps 1-3 are unity builds (CMAKE_UNITY_BUILD: a target's files compiled in
# batches; the ASan build took 215-240 s here, the per-file one 340 s in a run with another build
# beside it, so not a clean comparison); step 5 compiles every file on its own, as users do, so a
# file that only compiles beside another still fails there. Ends with ctest's summary of step 5;
# exits non-zero on any failure.
# Usage: ./scripts/test.sh            (as root on a fresh Debian 12: installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

JOBS=$(nproc)
FUZZ_RUNS=${ISOLATE_FUZZ_RUNS:-100000}
# handle_*=0: the crash tests must see a worker really die of its signal, not a sanitizer's report.
SIGNALS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0

section() { printf '\n==== %s ====\n' "$*"; }
configure() {  # configure PRESET: the build of CMakePresets.json in build/PRESET
  mkdir -p build
  cmake --preset "$1" >"build/$1.configure.log" 2>&1 || { cat "build/$1.configure.log"; return 1; }
}

section "Format: every C++ file as .clang-format says"
./scripts/format.sh --check

section "AddressSanitizer + UndefinedBehaviorSanitizer: unit, integration and fault suites"
configure asan
cmake --build --preset asan -j "$JOBS" --target isolate_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_abort=0:$SIGNALS UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$JOBS"

section "ThreadSanitizer: the concurrency suites (integration, stress, fault)"
configure tsan
cmake --build --preset tsan -j "$JOBS" --target isolate_integration_tests isolate_stress_tests isolate_fault_tests \
  isolate_http_tests
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:$SIGNALS:suppressions=$PWD/tests/tsan.supp" \
  ctest --preset tsan -j "$JOBS"

section "Thread-only build (ISOLATE_PROCESS_BACKEND=OFF, as on platforms without worker processes)"
configure threads
# The four suites only: the HTTP client and the tools' parts do not depend on the backend (the
# other builds test them).
cmake --build --preset threads -j "$JOBS" --target isolate_unit_tests isolate_integration_tests isolate_stress_tests \
  isolate_fault_tests
ctest --preset threads -j "$JOBS"

section "Fuzzing: libFuzzer (clang, ASan + UBSan), $FUZZ_RUNS inputs per target from the replay programs' seeds"
configure fuzz
cmake --build --preset fuzz -j "$JOBS" --target isolate_fuzz_response isolate_fuzz_request isolate_fuzz_codec
for target in response request codec; do
  build/asan/tests/isolate_fuzz_replay_$target --write-seeds "build/fuzz/corpus/$target"
  (cd build/fuzz && ASAN_OPTIONS=detect_leaks=1 "tests/fuzz/isolate_fuzz_$target" -runs="$FUZZ_RUNS" -max_len=8192 \
     "corpus/$target" 2>&1 | tail -n 2)
done

section "Normal build: every suite, the tools, examples, header checks and consumer projects"
configure release
cmake --build --preset release -j "$JOBS"
ctest --preset release -j "$JOBS"
