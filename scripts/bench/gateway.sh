#!/usr/bin/env bash
# Gateway load test, one run, same concurrency: (a) a bare axum handler returning the same JSON
# with no checks, then (b) a fully authorized sandbox GET through the whole pipeline (token,
# API key, IP allowlist, usage plan, Cedar, validation, synthetic backend, audit).
# Usage: bash scripts/bench/gateway.sh [connections=64] [seconds=20] [rounds=3]
# (a) and (b) alternate for `rounds` rounds; each round prints both and their ratio, and the
# last line gives the median ratio. On a 2-core machine shared with wrk, single runs vary by
# ±15 % with where the scheduler puts the threads; alternating rounds compare like with like.
# With PERF_DATA=<file>, the first round's (b) is also recorded with `perf record` (999 Hz).
set -euo pipefail
cd "$(dirname "$0")/../.."
connections="${1:-64}"
seconds="${2:-20}"
rounds="${3:-3}"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

cargo build --release --locked -p portico-server --bin portico --example bare_json
target="${CARGO_TARGET_DIR:-$PWD/target}/release"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$work" && DATABASE_URL="sqlite://$work/portico.db" PORTICO_PORTAL_ADDR=127.0.0.1:0 \
  PORTICO_SANDBOX_ADDR=127.0.0.1:0 PORTICO_LOG=warn exec "$target/portico" serve >"$work/stdout" 2>"$work/stderr") &
pids+=($!)
portico_pid=$!
for _ in $(seq 100); do grep -q '^  {' "$work/stdout" 2>/dev/null && break; sleep 0.1; done
sandbox="$(awk '$1 == "sandbox" {print $2}' "$work/stdout")"
# An application whose limits cannot cut the measurement short (the rate limiter still runs).
portico_cli() { (cd "$work" && DATABASE_URL="sqlite://$work/portico.db" PORTICO_LOG=warn "$target/portico" "$@"); }
creds="$(portico_cli app create --partner bench --name Bench --scopes commercial:read)"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$creds" "$1"; }
client_id="$(field client_id)"; client_secret="$(field client_secret)"
portico_cli app limits --client-id "$client_id" --rate 1000000 --burst 1000000 --quota 1000000000 >/dev/null
token="$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials "$sandbox/oauth2/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
order="$(curl -sf -H "Authorization: Bearer $token" "$sandbox/v2/commercial/orders?limit=1" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')"
url="$sandbox/v2/commercial/orders/$order"
curl -sf -H "Authorization: Bearer $token" "$url" >"$work/body.json"

"$target/examples/bare_json" 127.0.0.1:0 "$work/body.json" >"$work/bare.out" &
pids+=($!)
bare_pid=$!
for _ in $(seq 50); do grep -q listening "$work/bare.out" 2>/dev/null && break; sleep 0.1; done
bare="$(awk '{print $2}' "$work/bare.out")"

run() { wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@"; }
# Server CPU seconds (user + system) so far, from /proc: per-request CPU cost does not depend on
# what else the machine is doing, unlike requests/s.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# Prints "server CPU per request" for a finished run: pid, CPU before, wrk output file.
cpu_per_request() {
  local after requests
  after="$(cpu_secs "$1")"
  requests="$(awk '/requests in/ {print $1}' "$3")"
  python3 -c "print(f'   server CPU per request: {($after - $2) / $requests * 1e6:.1f} us')"
}
ratios=()
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds: (a) bare axum handler, same JSON ($connections connections, ${seconds}s)"
  cpu_before="$(cpu_secs "$bare_pid")"
  run "$bare/" | tee "$work/a.txt" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx'
  cpu_per_request "$bare_pid" "$cpu_before" "$work/a.txt"
  echo "== round $round/$rounds: (b) GET $url through the whole pipeline"
  cpu_before="$(cpu_secs "$portico_pid")"
  if [[ -n "${PERF_DATA:-}" && "$round" == 1 ]]; then
    perf record -q -F 999 -o "$PERF_DATA" -p "$portico_pid" -- sleep "$seconds" >/dev/null 2>&1 &
    pids+=($!)
  fi
  run -H "Authorization: Bearer $token" "$url" | tee "$work/b.txt" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx'
  cpu_per_request "$portico_pid" "$cpu_before" "$work/b.txt"
  a="$(awk '/Requests\/sec/ {print $2}' "$work/a.txt")"
  b="$(awk '/Requests\/sec/ {print $2}' "$work/b.txt")"
  ratio="$(python3 -c "print(float('$b') / float('$a'))")"
  ratios+=("$ratio")
  python3 -c "print(f'== round $round ratio (b)/(a): {$ratio:.1%}')"
done
python3 -c "import statistics, sys; r = sorted(map(float, sys.argv[1:])); print('== ratios: ' + ', '.join(f'{x:.1%}' for x in r) + f'; median {statistics.median(r):.1%}')" "${ratios[@]}"
