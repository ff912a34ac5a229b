#!/usr/bin/env bash
# Measures isolate beside its baselines and rivals, interleaved, and prints the README's table.
#
# Every ratio is measured interleaved. Inside bench/isolate_bench, each comparison takes one
# sample of ours and one of its baseline in turn (raw spawn, raw SIGKILL->reap, memcpy, the same
# parse in-process) and reports the medians. Against the rivals of ../shared/anchors (pebble,
# ProcessPoolExecutor, piscina, Node's JSON.parse), the script alternates rounds: isolate_bench,
# then the rivals, then the tool, ROUNDS times; the table takes medians over the rounds.
# bench/http_bench measures its rivals (curl, Node's fetch, Python's urllib) inside itself,
# interleaved; its figures are printed as Google Benchmark counters (ratios: *_x).
# Usage: ./scripts/bench.sh [ROUNDS=2]      (as root on Debian 12: installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

ROUNDS=${1:-2}
BUILD=${ISOLATE_BUILD_DIR:-build}/bench
SHARED=$(cd .. && pwd)/shared
PY=/usr/bin/python3  # Debian's python: python3-pebble lives there

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
cmake --build "$BUILD" --target isolate_bench async_bench kill_tree_bench http_bench isolate-run generate-json

# The anchors write results next to themselves and shared/ is read-only: run a copy.
ANCHORS=$BUILD/anchors
rm -rf "$ANCHORS"
cp -r "$SHARED/anchors" "$ANCHORS"
chmod -R u+w "$ANCHORS"
(cd "$ANCHORS" && ./build.sh >/dev/null && { [ -d node/node_modules/piscina ] || (cd node && npm install --no-audit --no-fund >/dev/null); })

# The tool's document: the demo's 200 MB sample (generated, seeded, cached under data/).
SAMPLE=data/sample-200mb.json
if [ ! -f "$SAMPLE" ] || [ "$(stat -c %s "$SAMPLE")" -lt 200000000 ]; then
  mkdir -p data
  "$BUILD/examples/generate-json" "$SAMPLE" 200000000
fi

OURS=$BUILD/results
rm -rf "$OURS"
mkdir -p "$OURS"
RAW=$OURS/anchors.jsonl
TOOL=$OURS/tool.jsonl

# anchor RUN CMD: one rival benchmark, its JSON lines tagged with the round (as run_all.sh does).
anchor() {
  local run=$1 cmd=$2
  echo "   $cmd" >&2
  (cd "$ANCHORS" && timeout 120 bash -c "$cmd" 2>/dev/null) | sed "s|^{|{\"run\":$run,|" >>"$RAW" ||
    echo "   (failed or timed out: $cmd)" >&2
}

# tool RUN: isolate-run json-stats on the sample (its printed parse time and the wall time of
# the whole command), the same command with --timeout 300ms (the time to its exit), and Node's
# JSON.parse of the same file.
tool() {
  local run=$1 i start end
  for i in 1 2 3; do
    start=$(date +%s%N)
    "$BUILD/tools/isolate-run" json-stats "$SAMPLE" --json >"$OURS/stats.json"
    end=$(date +%s%N)
    $PY - "$OURS/stats.json" "$run" "$(((end - start) / 1000))" >>"$TOOL" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"run": int(sys.argv[2]), "metric": "json-stats", "bytes": s["bytes"],
                  "parse_seconds": s["parse_seconds"], "command_seconds": int(sys.argv[3]) / 1e6}))
EOF
    start=$(date +%s%N)
    "$BUILD/tools/isolate-run" json-stats "$SAMPLE" --timeout 300ms >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo "{\"run\":$run,\"metric\":\"json-stats --timeout 300ms\",\"command_seconds\":$(((end - start) / 1000))e-6}" >>"$TOOL"
  done
  anchor "$run" "node --expose-gc --max-old-space-size=8192 json/json_node.js $PWD/$SAMPLE 3"
}

for run in $(seq 1 "$ROUNDS"); do
  echo "== round $run of $ROUNDS: isolate_bench"
  "$BUILD/bench/isolate_bench" --benchmark_out="$OURS/isolate_bench_$run.json" --benchmark_out_format=json
  echo "== round $run of $ROUNDS: async_bench"
  "$BUILD/bench/async_bench" --benchmark_out="$OURS/async_bench_$run.json" --benchmark_out_format=json
  echo "== round $run of $ROUNDS: kill_tree_bench (ending a worker's process tree, design by design)"
  "$BUILD/bench/kill_tree_bench" --benchmark_out="$OURS/kill_tree_bench_$run.json" --benchmark_out_format=json
  echo "== round $run of $ROUNDS: http_bench (isolate::http beside curl, Node's fetch, Python's urllib)"
  "$BUILD/bench/http_bench" --benchmark_out="$OURS/http_bench_$run.json" --benchmark_out_format=json
  echo "== round $run of $ROUNDS: rivals"
  anchor "$run" "build/pingpong none"
  anchor "$run" "$PY py/mp_process.py"
  anchor "$run" "$PY py/ppe_bench.py"
  anchor "$run" "$PY py/pebble_bench.py"
  anchor "$run" "node node/piscina_bench.js"
  echo "== round $run of $ROUNDS: isolate-run json-stats $SAMPLE, beside Node's JSON.parse"
  tool "$run"
done

echo
python3 scripts/bench_table.py "$OURS" | tee "$OURS/table.md"
