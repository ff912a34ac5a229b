#!/usr/bin/env bash
# End-to-end tests of the isolate-run tool: exit codes and messages for good documents, hostile
# ones (deep nesting, a 100,000-digit number, a directory, a non-UTF-8 name, endless input), a
# timeout and Ctrl-C while the worker parses or while the input is still being read, on both
# backends. Every exit code must be the README's.
# Usage: isolate_run_test.sh ISOLATE_RUN GENERATE_JSON SCRATCH_DIR
set -uo pipefail
run=$1 gen=$2 dir=$3
mkdir -p "$dir"
failures=0 passed=0
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE OUTPUT_FILE PATTERN
  local name=$1 want=$2 got=$3 out=$4 pattern=$5
  if [ "$got" -ne "$want" ] || ! grep -q -- "$pattern" "$out"; then
    echo "FAIL $name: exit $got (want $want), output:"; head -c 2000 "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
    passed=$((passed + 1))
  fi
}
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# sigint_blocked PID: the tool has blocked SIGINT (its watcher is up: from then on a Ctrl-C is
# reported, not the default death). Waits up to 10 s; a slow start never turns into a failure.
sigint_blocked() {
  local mask
  for _ in $(seq 1 1000); do
    mask=$(awk '/^SigBlk:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$mask" ] && (( (16#$mask >> 1) & 1 )) && return 0
    sleep 0.01
  done
  return 1
}
# worker_of PID: the pid of the tool's worker (its child running --isolate-worker=), once it exists
# (up to 10 s), else nothing.
worker_of() {
  local worker
  for _ in $(seq 1 2000); do
    worker=$(pgrep -P "$1" -f -- '--isolate-worker=' || true)
    [ -n "$worker" ] && { echo "$worker"; return; }
    sleep 0.005
  done
}
bytes_of() { wc -c <"$1"; }

"$gen" "$dir/small.json" 200000 >/dev/null
"$run" json-stats "$dir/small.json" --json >"$dir/out" 2>&1; check "parses a document" 0 $? "$dir/out" '"objects"'
"$run" json-stats --json - <"$dir/small.json" >"$dir/out" 2>&1; check "reads standard input" 0 $? "$dir/out" '"(stdin)"'
cat "$dir/small.json" | "$run" json-stats --json - >"$dir/out" 2>&1; check "reads a pipe" 0 $? "$dir/out" '"objects"'
"$run" json-stats "$dir/small.json" --backend thread >"$dir/out" 2>&1; check "thread backend" 0 $? "$dir/out" 'RSS (here)'
printf '{"a": [1, 2,' >"$dir/bad.json"
"$run" json-stats "$dir/bad.json" >"$dir/out" 2>&1; check "malformed document: message and position" 65 $? "$dir/out" 'column 13.*byte 13'
"$run" json-stats "$dir/missing.json" >"$dir/out" 2>&1; check "missing file" 66 $? "$dir/out" 'cannot read'
"$run" json-stats "$dir" >"$dir/out" 2>&1; check "a directory is unreadable input" 66 $? "$dir/out" 'is a directory'
"$run" json-stats "$dir/small.json" --timeout soon >"$dir/out" 2>&1; check "bad duration" 64 $? "$dir/out" 'expected a duration'
"$run" json-stats "$dir/small.json" --max-bytes lots >"$dir/out" 2>&1; check "bad size" 64 $? "$dir/out" 'expected a size'
"$run" json-stats "$dir/small.json" --worker /nonexistent/worker >"$dir/out" 2>&1; check "missing worker executable" 69 $? "$dir/out" '/nonexistent/worker'
"$run" json-stats "$dir/small.json" --max-bytes 1K >"$dir/out" 2>&1; check "input over --max-bytes" 66 $? "$dir/out" 'larger than its limit'

# Limits: a document whose parse needs far more memory than its size (6.7 million zeros: the
# parser's index of them alone takes 53 MB), a parse longer than its CPU budget; options out of
# range are usage errors.
{ printf '['; yes '0,' | head -c 20000000 | tr -d '\n'; printf '0]'; } >"$dir/zeros.json"
"$run" json-stats "$dir/zeros.json" --memory-limit 32M >"$dir/out" 2>&1; check "over --memory-limit" 75 $? "$dir/out" 'over its memory limit (33554432 bytes)'
"$run" json-stats "$dir/zeros.json" --memory-limit 1G >"$dir/out" 2>&1; check "under --memory-limit" 0 $? "$dir/out" 'numbers'
"$run" json-stats "$dir/zeros.json" --cpu-limit 1ms >"$dir/out" 2>&1; check "over --cpu-limit" 75 $? "$dir/out" 'over its CPU time limit (1 ms)'
"$run" json-stats "$dir/small.json" --memory-limit 1M >"$dir/out" 2>&1; check "--memory-limit too small" 64 $? "$dir/out" 'below the'
"$run" json-stats "$dir/small.json" --cpu-limit soon >"$dir/out" 2>&1; check "bad --cpu-limit" 64 $? "$dir/out" 'expected a duration'
"$run" json-stats "$dir/small.json" --memory-limit 64M --backend thread >"$dir/out" 2>&1; check "limits on threads refused" 69 $? "$dir/out" 'worker processes only'

# Hostile documents: any depth parses (no stack overflow, in the worker or, on the thread backend,
# in the tool); a huge number is a bounded message; a file name need not be UTF-8.
for depth in 30000 1000000; do
  head -c "$depth" /dev/zero | tr '\0' '[' >"$dir/deep.json"; head -c "$depth" /dev/zero | tr '\0' ']' >>"$dir/deep.json"
  for backend in process thread; do
    "$run" json-stats "$dir/deep.json" --backend $backend >"$dir/out" 2>&1
    check "nested $depth deep parses ($backend)" 0 $? "$dir/out" "max_depth    $depth"
  done
done
# Deeper than the parser's limit: a clean error naming it, never a crash.
head -c 10000001 /dev/zero | tr '\0' '[' >"$dir/deep.json"; head -c 10000001 /dev/zero | tr '\0' ']' >>"$dir/deep.json"
for backend in process thread; do
  "$run" json-stats "$dir/deep.json" --backend $backend >"$dir/out" 2>&1
  check "nested deeper than 10,000,000 fails cleanly ($backend)" 65 $? "$dir/out" 'nests deeper than 10000000 levels'
done
rm -f "$dir/deep.json"
# The fast parser and the precise one count alike (a document simdjson rejects is counted by nlohmann's).
printf '{"a": [1, 2.5, "s", true, false, null, {"b": []}], "c": {}}' >"$dir/mixed.json"
"$run" json-stats "$dir/mixed.json" --json >"$dir/out" 2>&1
check "counts every kind of value" 0 $? "$dir/out" '"arrays": 2'
for expected in '"objects": 3' '"strings": 1' '"numbers": 2' '"booleans": 2' '"nulls": 1' '"max_depth": 4'; do
  grep -q "$expected" "$dir/out" || fail "counts every kind of value: no $expected in $(cat "$dir/out")"
done
{ printf '['; head -c 100000 /dev/zero | tr '\0' '7'; printf ']'; } >"$dir/number.json"
"$run" json-stats "$dir/number.json" >"$dir/out" 2>&1; check "100,000-digit number: exit 65" 65 $? "$dir/out" 'out of the range of a double'
[ "$(bytes_of "$dir/out")" -le 500 ] || fail "100,000-digit number: the message is $(bytes_of "$dir/out") bytes"
{ printf '["'; head -c 100000 /dev/zero | tr '\0' 'x'; printf '" tru]'; } >"$dir/literal.json"
"$run" json-stats "$dir/literal.json" >"$dir/out" 2>&1; check "bad literal after a long string: exit 65" 65 $? "$dir/out" 'byte'
[ "$(bytes_of "$dir/out")" -le 500 ] || fail "bad literal: the message is $(bytes_of "$dir/out") bytes"
odd="$dir/$(printf 'odd\377\376name').json"
cp "$dir/small.json" "$odd"
"$run" json-stats --json "$odd" >"$dir/out" 2>&1; check "non-UTF-8 file name with --json" 0 $? "$dir/out" '"file": "'

# Endless or stuck input: --max-bytes, the timeout (counted from the start) and Ctrl-C stop the
# read at once.
"$run" json-stats /dev/zero --max-bytes 50M >"$dir/out" 2>&1; check "endless input stops at --max-bytes" 66 $? "$dir/out" 'larger than its limit'
rm -f "$dir/fifo"; mkfifo "$dir/fifo"
start=$(date +%s%N)
"$run" json-stats "$dir/fifo" --timeout 300ms >"$dir/out" 2>&1; code=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "FIFO without a writer: the timeout ends the wait for one" 124 $code "$dir/out" 'while opening the input'
[ "$took" -lt 5000 ] || fail "FIFO timeout took $took ms"
# A writer that never writes: the worker waits in its read, and the timeout kills it there.
sleep 60 >"$dir/fifo" &
writer=$!
start=$(date +%s%N)
"$run" json-stats "$dir/fifo" --timeout 300ms >"$dir/out" 2>&1; code=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
check "FIFO whose writer never writes: the timeout kills the reading worker" 124 $code "$dir/out" 'the worker was killed'
[ "$took" -lt 5000 ] || fail "stalled FIFO timeout took $took ms"
# The sandbox: the tool's worker is confined (a seccomp filter, no_new_privs) unless --no-sandbox.
# Seen from /proc on a worker stalled in its read of a FIFO: past the point it enters the sandbox.
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
# reading_worker_state ARGS...: "Seccomp N NoNewPrivs N exe NAME" of the reading worker (NAME: the
# file name of its executable); TOOL=path runs that copy of the tool instead of $run.
reading_worker_state() {
  rm -f "$dir/fifo"; mkfifo "$dir/fifo"
  sleep 60 >"$dir/fifo" &
  local writer=$! tool state="" p
  "${TOOL:-$run}" json-stats "$dir/fifo" --timeout 30s "$@" >"$dir/out" 2>&1 &
  tool=$!
  for _ in $(seq 1 1000); do
    for p in $(descendants "$tool"); do
      if grep -q -- '--isolate-worker=' "/proc/$p/cmdline" 2>/dev/null && [ "$(cut -d' ' -f1 "/proc/$p/syscall" 2>/dev/null)" = 0 ]; then
        state="$(awk '/^Seccomp:|^NoNewPrivs:/ { printf "%s %s ", $1, $2 }' "/proc/$p/status")exe $(basename "$(readlink "/proc/$p/exe")")"
      fi
    done
    [ -n "$state" ] && break
    sleep 0.01
  done
  kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; wait "$tool" 2>/dev/null
  echo "$state"
}
state=$(reading_worker_state)
case "$state" in *"Seccomp: 2 "*"NoNewPrivs: 1 "*|*"NoNewPrivs: 1 "*"Seccomp: 2 "*) echo "ok   the worker is sandboxed by default"; passed=$((passed + 1)) ;;
  *) fail "the worker is sandboxed by default: its status says '$state'" ;; esac
# The worker is the isolate-worker beside the tool (fewer libraries to load, none for the network),
# or, with none there, the tool itself; --worker names another.
case "$state" in *"exe isolate-worker") echo "ok   the worker is the isolate-worker beside the tool"; passed=$((passed + 1)) ;;
  *) fail "the worker is the isolate-worker beside the tool: its status says '$state'" ;; esac
mkdir -p "$dir/alone" && cp "$run" "$dir/alone/isolate-run"
state=$(TOOL="$dir/alone/isolate-run" reading_worker_state)
case "$state" in *"exe isolate-run") echo "ok   with no isolate-worker beside it the tool is its own worker"; passed=$((passed + 1)) ;;
  *) fail "with no isolate-worker beside it the tool is its own worker: its status says '$state'" ;; esac
"$dir/alone/isolate-run" json-stats "$dir/small.json" --json >"$dir/out" 2>&1; check "and parses so" 0 $? "$dir/out" '"objects"'
state=$(reading_worker_state --worker "$dir/alone/isolate-run")
case "$state" in *"exe isolate-run") echo "ok   --worker names the worker"; passed=$((passed + 1)) ;;
  *) fail "--worker names the worker: its status says '$state'" ;; esac
state=$(reading_worker_state --no-sandbox)
case "$state" in *"Seccomp: 0 "*) echo "ok   --no-sandbox: the worker has no filter"; passed=$((passed + 1)) ;;
  *) fail "--no-sandbox: the worker's status says '$state'" ;; esac
"$run" json-stats "$dir/small.json" --json >"$dir/out" 2>&1; check "says it parsed sandboxed" 0 $? "$dir/out" '"sandboxed": true'
"$run" json-stats "$dir/small.json" >"$dir/out" 2>&1; check "says so in its summary" 0 $? "$dir/out" 'sandbox      on'
"$run" json-stats "$dir/small.json" --no-sandbox --json >"$dir/out" 2>&1; check "--no-sandbox parses" 0 $? "$dir/out" '"sandboxed": false'
"$run" json-stats /dev/zero >"$dir/out" 2>&1 &
tool=$!
[ -n "$(worker_of "$tool")" ] || fail "/dev/zero: the worker never started"
sleep 0.1  # reading
kill -INT "$tool"; wait "$tool"; check "Ctrl-C while the worker reads endless input" 130 $? "$dir/out" 'interrupted (Ctrl-C); the worker was killed'

"$gen" "$dir/big.json" 60000000 >/dev/null

# On a terminal the job's own reports draw a progress bar (on stderr: bytes parsed of the total,
# rate, time left), erased before the result; with --json, or when the output is not a terminal,
# nothing but the result. `script` gives the tool a terminal; the parse lasts a good fraction of
# a second, many times the 25 ms between two reports.
"$gen" "$dir/bar.json" 150000000 >/dev/null
script -qfec "$run json-stats $dir/bar.json" /dev/null >"$dir/out" 2>&1
check "a terminal shows a progress bar" 0 $? "$dir/out" 'MiB of 143.1 MiB  [0-9]* MB/s  [0-9.]* s left'
grep -q 'parse time' "$dir/out" || fail "progress bar: no result after it: $(head -c 500 "$dir/out")"
grep -qF "$(printf '\r\033[K')$dir/bar.json" "$dir/out" || fail "progress bar: not erased before the result"
script -qfec "$run json-stats $dir/bar.json --json" /dev/null >"$dir/out" 2>&1
check "--json on a terminal: the result only" 0 $? "$dir/out" '"objects"'
if grep -q 'MiB of' "$dir/out"; then fail "--json on a terminal drew a progress bar"; fi
"$run" json-stats "$dir/bar.json" >"$dir/out" 2>&1
check "output not a terminal: the result only" 0 $? "$dir/out" 'parse time'
if grep -q 'MiB of' "$dir/out"; then fail "a progress bar went to a file"; fi
rm -f "$dir/bar.json"
"$run" json-stats "$dir/big.json" --timeout 1ms >"$dir/out" 2>&1; check "timeout kills the worker" 124 $? "$dir/out" 'timed out after'

# Documents over HTTP, from Debian's nginx on 127.0.0.1 (started here, stopped on exit); /slow/
# serves at 2 MB/s, so a 60 MB download lasts half a minute.
www="$dir/www"
mkdir -p "$www"
cp "$dir/small.json" "$dir/big.json" "$www/"
source "$(dirname "$0")/../../scripts/local_nginx.sh"
trap stop_local_nginx EXIT
if ! start_local_nginx "$www" 2m; then
  fail "nginx did not start"
else
  url="http://127.0.0.1:$NGINX_PORT"
  "$run" json-stats "$url/small.json" --json >"$dir/out" 2>&1
  check "a URL is fetched and parsed" 0 $? "$dir/out" "\"bytes\": $(bytes_of "$dir/small.json")"
  "$run" json-stats "$url/missing.json" >"$dir/out" 2>&1; check "a URL answering 404" 66 $? "$dir/out" 'status 404'
  "$run" json-stats "http://127.0.0.1:1/x.json" >"$dir/out" 2>&1
  check "a URL nobody serves" 66 $? "$dir/out" 'cannot fetch it: Couldn.t connect'
  "$run" json-stats "$url/big.json" --max-bytes 1M >"$dir/out" 2>&1; check "a URL over --max-bytes" 66 $? "$dir/out" 'larger than'
  "$run" json-stats "$url/slow/big.json" --timeout 1s >"$dir/out" 2>&1
  check "--timeout during a download stops it" 124 $? "$dir/out" 'timed out after 1s; the download was stopped'
  "$run" json-stats "$url/slow/big.json" >"$dir/out" 2>&1 &
  tool=$!
  sigint_blocked "$tool" || fail "Ctrl-C during a download: the tool never blocked SIGINT"
  sleep 0.5  # downloading (a 30 s download)
  kill -INT "$tool"; wait "$tool"; check "Ctrl-C during a download stops it" 130 $? "$dir/out" 'interrupted (Ctrl-C); the download was stopped'
  script -qfec "$run json-stats $url/slow/big.json --timeout 2s" /dev/null >"$dir/out" 2>&1
  check "a terminal shows the download's progress bar" 124 $? "$dir/out" 'fetch \[.*MiB of 57.2 MiB'
  stop_local_nginx
fi

# Ctrl-C while the worker parses: wait until the worker exists, interrupt, expect 130 and no worker.
"$run" json-stats "$dir/big.json" >"$dir/out" 2>&1 &
tool=$!
worker=$(worker_of "$tool")
if [ -z "$worker" ]; then
  fail "Ctrl-C: the worker never started"; kill "$tool" 2>/dev/null; wait "$tool"
else
  kill -INT "$tool"
  wait "$tool"; code=$?
  check "Ctrl-C kills the worker" 130 $code "$dir/out" 'interrupted (Ctrl-C); the worker was killed'
  if [ -e "/proc/$worker" ]; then fail "Ctrl-C: worker $worker still exists"; fi
fi

# Ctrl-C on the thread backend: the parse is stopped (a thread is never killed), and says so.
# There is no worker to wait for: the signal goes a third of the way into a run timed just before,
# counted from the moment the tool watches for it.
start=$(date +%s%N)
"$run" json-stats "$dir/big.json" --backend thread >"$dir/out" 2>&1
third=$(( ($(date +%s%N) - start) / 3000 ))  # microseconds
"$run" json-stats "$dir/big.json" --backend thread >"$dir/out" 2>&1 &
tool=$!
sigint_blocked "$tool" || fail "thread backend: the tool never blocked SIGINT"
sleep "$(awk "BEGIN { print $third / 1e6 }")"
kill -INT "$tool"; wait "$tool"; code=$?
if [ "$code" -eq 0 ]; then
  echo "skip Ctrl-C on the thread backend: the parse ended before the signal"
else
  check "Ctrl-C on the thread backend stops the parse" 130 $code "$dir/out" 'interrupted (Ctrl-C); the parse was stopped'
  if grep -q 'killed' "$dir/out"; then fail "thread backend: the message says a worker was killed"; fi
fi

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
