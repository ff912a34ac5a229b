#!/usr/bin/env bash
# Builds isolate in Release, runs its benchmarks (bench/isolate_bench) and, in the same run, the
# rival and physical-limit anchors of ../shared/anchors (pebble, ProcessPoolExecutor, piscina,
# raw spawn/kill/ping-pong/memcpy), then prints one table: metric, ours, best rival, physical
# limit, and the ratios, with each target of the benchmark issue marked met or missed.
# Usage: ./scripts/bench.sh [ANCHOR_ROUNDS=1]      (as root on Debian 12: installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

ROUNDS=${1:-1}
BUILD=${ISOLATE_BUILD_DIR:-build}/bench
SHARED=$(cd .. && pwd)/shared

# What the anchors need, the way their README installs it (python3-pebble, node + npm).
need=()
command -v python3 >/dev/null || need+=(python3)
[ -f /usr/lib/python3/dist-packages/pebble/__init__.py ] || need+=(python3-pebble)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
fi

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DISOLATE_BENCH=ON -DISOLATE_TEST=OFF >/dev/null
cmake --build "$BUILD" --target isolate_bench

# The anchors write results next to themselves and shared/ is read-only: run a copy.
rm -rf "$BUILD/anchors"
cp -r "$SHARED/anchors" "$BUILD/anchors"
chmod -R u+w "$BUILD/anchors"
echo "== anchors ($ROUNDS round(s), about 4 minutes each)"
(cd "$BUILD/anchors" && ./run_all.sh "$ROUNDS" >"../anchors.log" 2>&1) || echo "(some anchors failed: see $BUILD/anchors.log)"

echo "== isolate_bench"
"$BUILD/bench/isolate_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$BUILD/isolate_bench.json" --benchmark_out_format=json

echo
python3 scripts/bench_table.py "$BUILD/isolate_bench.json" "$BUILD/anchors/results/raw.jsonl" | tee "$BUILD/table.md"
