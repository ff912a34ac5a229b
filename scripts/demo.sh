#!/usr/bin/env bash
# The main job: parse a 200 MB JSON document in a sandboxed worker process with isolate-run (no
# file, network or new process for the parser), then run the
# same parse with a short timeout to show the worker being killed at once, then a hostile
# document whose parse needs far more memory than its size, stopped by --memory-limit; then the
# document fetched over HTTP from a local nginx and parsed, and a second fetch cancelled mid-way.
# Usage: ./scripts/demo.sh      (as root on a fresh Debian 12: installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

BUILD=${ISOLATE_BUILD_DIR:-build}/demo
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DISOLATE_TEST=OFF >/dev/null
cmake --build "$BUILD" --target isolate-run generate-json

# The sample document: generated (seeded, deterministic), cached under data/ (git-ignored).
SAMPLE=data/sample-200mb.json
if [ ! -f "$SAMPLE" ] || [ "$(stat -c %s "$SAMPLE")" -lt 200000000 ]; then
  mkdir -p data
  echo "generating $SAMPLE (seeded, cached for later runs)..."
  "$BUILD/examples/generate-json" "$SAMPLE" 200000000
fi

echo
echo "== 1. isolate-run json-stats $SAMPLE    (a sandboxed worker: it reaches no file, network or process)"
"$BUILD/tools/isolate-run" json-stats "$SAMPLE"

echo
echo "== 2. isolate-run json-stats $SAMPLE --timeout 300ms"
set +e
start=$(date +%s%N)
"$BUILD/tools/isolate-run" json-stats "$SAMPLE" --timeout 300ms
code=$?
end=$(date +%s%N)
set -e
echo "exit code $code after $(( (end - start) / 1000000 )) ms (124: timed out, worker killed)"
left=$(pgrep -f -- '--isolate-worker=' || true)
echo "worker processes left: ${left:-none}"
[ "$code" -eq 124 ] && [ -z "$left" ]

# A hostile document: 13 MB of zeros, whose parse (an index of 6.7 million numbers and as many
# commas) needs about 5 times its size. Generated each time (a fraction of a second).
HOSTILE=data/hostile-zeros.json
# (yes in a process substitution: under pipefail its SIGPIPE would end this script.)
{ printf '['; head -c 20000000 < <(yes '0,') | tr -d '\n'; printf '0]'; } >"$HOSTILE"
echo
echo "== 3. isolate-run json-stats $HOSTILE --memory-limit 32M"
set +e
"$BUILD/tools/isolate-run" json-stats "$HOSTILE" --memory-limit 32M
code=$?
set -e
echo "exit code $code (75: over its limit; the worker was stopped, this process untouched)"
[ "$code" -eq 75 ]

# Over HTTP: Debian's nginx on 127.0.0.1 serves data/ (started here, stopped on exit); /slow/
# serves at 20 MB/s, so the second fetch is still downloading when its timeout fires.
source scripts/local_nginx.sh
trap stop_local_nginx EXIT
start_local_nginx "$(pwd)/data" 20m
URL="http://127.0.0.1:$NGINX_PORT/$(basename "$SAMPLE")"
SLOW_URL="http://127.0.0.1:$NGINX_PORT/slow/$(basename "$SAMPLE")"

echo
echo "== 4. isolate-run json-stats $URL    (fetched into a memfd the worker maps, then parsed)"
"$BUILD/tools/isolate-run" json-stats "$URL"

echo
echo "== 5. isolate-run json-stats $SLOW_URL --timeout 2s    (cancelled mid-download)"
set +e
"$BUILD/tools/isolate-run" json-stats "$SLOW_URL" --timeout 2s
code=$?
set -e
echo "exit code $code (124: timed out; the transfer was stopped and its connection closed)"
[ "$code" -eq 124 ]
