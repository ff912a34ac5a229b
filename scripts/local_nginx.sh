# local_nginx.sh — sourced by scripts/demo.sh and tests/cli/isolate_run_test.sh: Debian's nginx
# serving a directory on 127.0.0.1 in the foreground (no master process), stopped on exit.
#
#   start_local_nginx WWW RATE   serves WWW; /slow/ serves it at RATE (e.g. 2m); sets NGINX_PORT
#                                and NGINX_PID; returns non-zero if nginx does not come up
#   stop_local_nginx             stops it and removes its configuration directory

NGINX_PID="" NGINX_PORT="" NGINX_DIR=""

stop_local_nginx() {
  if [ -n "$NGINX_PID" ]; then kill -9 "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  NGINX_PID=""
  if [ -n "$NGINX_DIR" ]; then rm -rf "$NGINX_DIR"; fi
  NGINX_DIR=""
}

start_local_nginx() {
  local www=$1 rate=$2 attempt
  NGINX_DIR=$(mktemp -d)
  for attempt in 1 2 3 4 5; do
    NGINX_PORT=$((20000 + RANDOM % 40000))  # a port taken already: the next attempt takes another
    cat >"$NGINX_DIR/nginx.conf" <<CONF
pid $NGINX_DIR/nginx.pid; error_log $NGINX_DIR/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $NGINX_DIR/body; proxy_temp_path $NGINX_DIR/proxy;
  fastcgi_temp_path $NGINX_DIR/fastcgi; uwsgi_temp_path $NGINX_DIR/uwsgi; scgi_temp_path $NGINX_DIR/scgi;
  server { listen 127.0.0.1:$NGINX_PORT; root $www; location /slow/ { alias $www/; limit_rate $rate; } } }
CONF
    /usr/sbin/nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off; master_process off;' 2>/dev/null &
    NGINX_PID=$!
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then return 0; fi
      kill -0 "$NGINX_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=""
  done
  echo "nginx did not start: $(tail -3 "$NGINX_DIR/error.log" 2>/dev/null)" >&2
  return 1
}
