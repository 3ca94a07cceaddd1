# Several Portico replicas on the local PostgreSQL + Redis behind nginx (deploy/nginx.conf):
# one portal replica, two gateway replicas. Sourced by scripts/replicas.sh, scripts/soak.sh and
# scripts/faults/rolling-restart.sh, which call `replicas_prepare` first (the portico binary
# in `bin`, a temporary folder in `work`, everything stopped on exit).

# portico_bin PROFILE: $PORTICO_BIN, or the workspace's build of that profile (built here).
portico_bin() {
  local profile="$1" built
  if [ -n "${PORTICO_BIN:-}" ]; then
    built="$PORTICO_BIN"
  else
    if [ "$profile" = release ]; then
      cargo build --release --locked -p portico-server --bin portico >&2
    else
      cargo build --locked -p portico-server --bin portico >&2
    fi
    built="${CARGO_TARGET_DIR:-$PWD/target}/$profile/portico"
  fi
  case "$built" in /*) ;; *) built="$PWD/$built" ;; esac
  echo "$built"
}

# name → pid of each running replica.
declare -A replica_pid=()

# replicas_prepare PROFILE: sets `bin` and `work`, and cleans up on exit.
replicas_prepare() {
  bin="$(portico_bin "$1")"
  work="$(mktemp -d)"
  trap 'replicas_stop; rm -rf "$work"' EXIT
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

replicas_setup() {
  command -v nginx >/dev/null || { echo "error: nginx is not installed (apt-get install -y nginx-light)" >&2; exit 1; }
  db_name="portico_replicas_$$"
  port_portal="$(free_port)"; port_a="$(free_port)"; port_b="$(free_port)"
  lb_sandbox="${LB_SANDBOX_PORT:-$(free_port)}"; lb_portal="${LB_PORTAL_PORT:-$(free_port)}"
  # What every replica must share: the database, Redis, the master key sealing the signing
  # keys, and the public URLs (so every replica issues and accepts the same `iss`).
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db_name"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  PORTICO_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"; export PORTICO_MASTER_KEY
  export PORTICO_PUBLIC_SANDBOX_URL="http://127.0.0.1:$lb_sandbox"
  export PORTICO_PUBLIC_PORTAL_URL="http://127.0.0.1:$lb_portal"
  export PORTICO_ISSUER="$PORTICO_PUBLIC_SANDBOX_URL"
  export PORTICO_TRUSTED_PROXIES=127.0.0.1/32
  export PORTICO_DRAIN_DELAY="${PORTICO_DRAIN_DELAY:-2}"
  export PORTICO_LOG="${PORTICO_LOG:-warn}"
}

# start_replica NAME FRONT PORT: one `portico serve` running one front on PORT, once ready.
start_replica() {
  local name="$1" front="$2" port="$3"
  (cd "$work" && PORTICO_FRONTS="$front" PORTICO_PORTAL_ADDR="127.0.0.1:$port" \
    PORTICO_SANDBOX_ADDR="127.0.0.1:$port" exec "$bin" serve >>"$work/$name.out" 2>>"$work/$name.err") &
  replica_pid[$name]=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "error: replica $name did not become ready; its log:" >&2
  tail -20 "$work/$name.err" >&2
  exit 1
}

# stop_replica NAME: SIGTERM, then wait for it to drain and exit.
stop_replica() {
  local pid="${replica_pid[$1]}"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

start_lb() {
  mkdir -p "$work/nginx-body"
  sed -e "s|@WORK@|$work|g" -e "s|@GATEWAY_A@|$port_a|" -e "s|@GATEWAY_B@|$port_b|" \
    -e "s|@PORTAL@|$port_portal|" -e "s|@SANDBOX_LB@|$lb_sandbox|" -e "s|@PORTAL_LB@|$lb_portal|" \
    deploy/nginx.conf >"$work/nginx.conf"
  nginx -c "$work/nginx.conf" -p "$work"
}

replicas_start() {
  replicas_setup
  # The portal first: it migrates the new database and prints the first-start banner.
  start_replica portal portal "$port_portal"
  start_replica gateway-a sandbox "$port_a"
  start_replica gateway-b sandbox "$port_b"
  start_lb
}

replicas_stop() {
  [ -f "$work/nginx.pid" ] && nginx -c "$work/nginx.conf" -p "$work" -s stop 2>/dev/null || true
  for name in "${!replica_pid[@]}"; do stop_replica "$name"; done
  [ -n "${db_name:-}" ] && dropdb -h 127.0.0.1 -U postgres --force --if-exists "$db_name" 2>/dev/null || true
}

# An application with limits that do not get in the way; sets client_id, client_secret, api_key.
load_application() {
  local creds
  creds="$(cd "$work" && "$bin" app create --partner "load$$" --name Load --scopes "commercial:read commercial:write")"
  client_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$creds")"
  client_secret="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$creds")"
  api_key="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_key"])' "$creds")"
  (cd "$work" && "$bin" app limits --client-id "$client_id" --rate 1000000 --burst 1000000 --quota 1000000000 >/dev/null)
}

access_token() {
  curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials "$PORTICO_PUBLIC_SANDBOX_URL/oauth2/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
