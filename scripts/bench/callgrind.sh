#!/usr/bin/env bash
# Instructions per gateway request under callgrind: the same authorized
# `GET /v2/commercial/orders/{id}` as scripts/bench/gateway.sh (b), served by a release build
# running under `valgrind --tool=callgrind`. The counters are zeroed after start-up and a
# warm-up, then wrk sends requests on 4 connections for `seconds`; the whole process's
# instructions (every thread, user space) are divided by the requests wrk counted. Instruction
# counts do not depend on the machine's load, so two builds compare exactly, on any machine.
# Usage: bash scripts/bench/callgrind.sh [seconds=10] [portico binary (default: release build)]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
bin="${2:-}"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "error: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
if [[ -z "$bin" ]]; then
  cargo build --release --locked -p portico-server --bin portico
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release/portico"
fi
bin="$(realpath "$bin")"
work="$(mktemp -d)"
server_pid=""
trap '[[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

export DATABASE_URL="sqlite://$work/portico.db" PORTICO_LOG=warn
(cd "$work" && "$bin" migrate >/dev/null)
creds="$(cd "$work" && "$bin" app create --partner bench --name Bench --scopes commercial:read)"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$creds" "$1"; }
client_id="$(field client_id)"; client_secret="$(field client_secret)"
(cd "$work" && "$bin" app limits --client-id "$client_id" --rate 1000000 --burst 1000000 --quota 1000000000 >/dev/null)

(cd "$work" && PORTICO_PORTAL_ADDR=127.0.0.1:0 PORTICO_SANDBOX_ADDR=127.0.0.1:0 exec valgrind \
  --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$bin" serve >"$work/stdout" 2>"$work/stderr") &
server_pid=$!
for _ in $(seq 600); do grep -q '^  sandbox' "$work/stdout" 2>/dev/null && break; sleep 0.5; done
sandbox="$(awk '$1 == "sandbox" {print $2}' "$work/stdout")"
[[ -n "$sandbox" ]] || { echo "error: portico did not start under valgrind" >&2; cat "$work/stderr" >&2; exit 1; }
token="$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials "$sandbox/oauth2/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
order="$(curl -sf -H "Authorization: Bearer $token" "$sandbox/v2/commercial/orders?limit=1" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')"
url="$sandbox/v2/commercial/orders/$order"

# Warm-up (caches, the request-log writer, the allocator), then count from zero.
wrk -t1 -c4 -d5s -H "Authorization: Bearer $token" "$url" >/dev/null
callgrind_control --zero "$server_pid" >/dev/null
wrk -t1 -c4 -d"${seconds}s" -H "Authorization: Bearer $token" "$url" >"$work/wrk.txt"
callgrind_control --dump "$server_pid" >/dev/null
requests="$(awk '/requests in/ {print $1}' "$work/wrk.txt")"
non2xx="$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")"
dump="$(ls -t "$work"/callgrind.out* | head -1)"
instructions="$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")"
echo "requests: $requests${non2xx:+ (non-2xx: $non2xx)}"
echo "instructions: $instructions"
python3 -c "print(f'instructions per request: {$instructions / $requests:,.0f}')"
