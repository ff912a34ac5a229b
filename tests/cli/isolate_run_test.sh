#!/usr/bin/env bash
# End-to-end tests of the isolate-run tool: exit codes and messages for a good document, a
# malformed one, a missing file, a timeout, and Ctrl-C while the worker parses.
# Usage: isolate_run_test.sh ISOLATE_RUN GENERATE_JSON SCRATCH_DIR
set -uo pipefail
run=$1 gen=$2 dir=$3
mkdir -p "$dir"
failures=0
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE OUTPUT_FILE PATTERN
  local name=$1 want=$2 got=$3 out=$4 pattern=$5
  if [ "$got" -ne "$want" ] || ! grep -q -- "$pattern" "$out"; then
    echo "FAIL $name: exit $got (want $want), output:"; sed 's/^/  | /' "$out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

"$gen" "$dir/small.json" 200000 >/dev/null
"$run" json-stats "$dir/small.json" --json >"$dir/out" 2>&1; check "parses a document" 0 $? "$dir/out" '"objects"'
"$run" json-stats --json - <"$dir/small.json" >"$dir/out" 2>&1; check "reads standard input" 0 $? "$dir/out" '"(stdin)"'
printf '{"a": [1, 2,' >"$dir/bad.json"
"$run" json-stats "$dir/bad.json" >"$dir/out" 2>&1; check "malformed document: message and position" 65 $? "$dir/out" 'column 13.*byte 13'
"$run" json-stats "$dir/missing.json" >"$dir/out" 2>&1; check "missing file" 66 $? "$dir/out" 'cannot read'
"$run" json-stats "$dir/small.json" --timeout soon >"$dir/out" 2>&1; check "bad duration" 64 $? "$dir/out" 'expected a duration'
"$run" json-stats "$dir/small.json" --worker /nonexistent/worker >"$dir/out" 2>&1; check "missing worker executable" 69 $? "$dir/out" '/nonexistent/worker'

"$gen" "$dir/big.json" 60000000 >/dev/null
"$run" json-stats "$dir/big.json" --timeout 1ms >"$dir/out" 2>&1; check "timeout kills the worker" 124 $? "$dir/out" 'timed out after'

# Ctrl-C while the worker parses: wait until the worker exists, interrupt, expect 130 and no worker.
"$run" json-stats "$dir/big.json" >"$dir/out" 2>&1 &
tool=$!
worker=""
for _ in $(seq 1 2000); do
  worker=$(pgrep -P "$tool" -f -- '--isolate-worker=' || true)
  [ -n "$worker" ] && break
  sleep 0.005
done
if [ -z "$worker" ]; then
  echo "FAIL Ctrl-C: the worker never started"; failures=$((failures + 1)); kill "$tool" 2>/dev/null; wait "$tool"
else
  kill -INT "$tool"
  wait "$tool"; code=$?
  check "Ctrl-C kills the worker" 130 $code "$dir/out" 'interrupted'
  if [ -e "/proc/$worker" ]; then echo "FAIL Ctrl-C: worker $worker still exists"; failures=$((failures + 1)); fi
fi

echo "$(( 8 - failures )) passed, $failures failed"
[ "$failures" -eq 0 ]
