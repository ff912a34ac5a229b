#!/usr/bin/env bash
# Formats every C++ file of the tree with .clang-format (clang-format 14, Debian 12's).
#   ./scripts/format.sh          rewrite the files
#   ./scripts/format.sh --check  change nothing; list what is not formatted, exit 1 if anything is
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" = "--check" ]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/isolate-format.log; then
    grep -o '^[^:]*:[0-9]*' /tmp/isolate-format.log | sort -u | head -50
    echo "format: the files above differ from .clang-format; run ./scripts/format.sh" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
