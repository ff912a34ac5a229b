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
WWW=$(pwd)/data
NGINX_DIR=$(mktemp -d)
nginx_pid=""
stop_nginx() {
  if [ -n "$nginx_pid" ]; then kill -9 "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$NGINX_DIR"
}
trap stop_nginx EXIT
for _ in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 40000))
  cat >"$NGINX_DIR/nginx.conf" <<CONF
pid $NGINX_DIR/nginx.pid; error_log $NGINX_DIR/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $NGINX_DIR/body; proxy_temp_path $NGINX_DIR/proxy;
  fastcgi_temp_path $NGINX_DIR/fastcgi; uwsgi_temp_path $NGINX_DIR/uwsgi; scgi_temp_path $NGINX_DIR/scgi;
  server { listen 127.0.0.1:$PORT; root $WWW; location /slow/ { alias $WWW/; limit_rate 20m; } } }
CONF
  /usr/sbin/nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off; master_process off;' 2>/dev/null &
  nginx_pid=$!
  up=no
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then up=yes; break; fi
    sleep 0.05
  done
  [ "$up" = yes ] && break
  kill -9 "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
done
[ -n "$nginx_pid" ] || { echo "nginx did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/$(basename "$SAMPLE")"
SLOW_URL="http://127.0.0.1:$PORT/slow/$(basename "$SAMPLE")"

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
