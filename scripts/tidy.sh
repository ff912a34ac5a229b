#!/usr/bin/env bash
# Runs clang-tidy (14, Debian 12's) with .clang-tidy over the library and the tools, using the
# normal build's compile_commands.json (it configures the release preset if need be). Prints the
# findings and exits 1 if there are any.
# Usage: ./scripts/tidy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
command -v clang-tidy >/dev/null || { apt-get update -qq && apt-get install -y -qq clang-tidy </dev/null; }
mkdir -p build
cmake --preset release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >build/release.configure.log 2>&1 ||
  { cat build/release.configure.log; exit 1; }
mapfile -t sources < <(git ls-files 'common/src/*.cpp' 'runner/src/*.cpp' 'worker/src/*.cpp' 'tools/*.cpp')
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p build/release --quiet >build/tidy.log 2>&1 || true
if grep -q "warning:" build/tidy.log; then
  grep -A3 "warning:" build/tidy.log
  echo "tidy: $(grep -c 'warning:' build/tidy.log) findings" >&2
  exit 1
fi
echo "tidy: ${#sources[@]} files, no finding"
