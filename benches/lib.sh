# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, after `root` is set).

# need NAME TOOL...: fails naming the first tool that is missing.
need() {
  local name=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name needs $tool" >&2; exit 2; }
  done
}

# silo_bin: $SILO_BIN, or a release build of this checkout's silo; sets `silo`.
silo_bin() {
  if [ -n "${SILO_BIN:-}" ]; then
    silo=$SILO_BIN
  else
    cargo build --release -q -p trees-cli
    silo=${root:?}/target/release/silo
  fi
  [ -x "$silo" ] || { echo "no silo at $silo" >&2; exit 2; }
}

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_nginx DOCROOT DIR: nginx (daemon, pid in DIR/nginx.pid) serving
# DOCROOT on a free port of 127.0.0.1, logging "uri status body-bytes" per
# request to DIR/access.log; sets `nginx_port`. Needs `nginx` set.
start_nginx() {
  local root=$1 dir=$2 user=""
  nginx_port=$(free_port)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && user="user root;"
  cat > "$dir/nginx.conf" <<EOF
daemon on; $user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
  log_format t '\$request_uri \$status \$body_bytes_sent';
  access_log $dir/access.log t;
  client_body_temp_path $dir/c; proxy_temp_path $dir/p;
  fastcgi_temp_path $dir/f; uwsgi_temp_path $dir/u; scgi_temp_path $dir/s;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$nginx_port; root $root; }
}
EOF
  "${nginx:?}" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}
