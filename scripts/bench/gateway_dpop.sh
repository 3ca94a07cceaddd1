#!/usr/bin/env bash
# Gateway load test with DPoP (RFC 9449), one run, same concurrency: (a) a bare axum handler
# returning the same JSON with no checks, (b) the same sandbox GET through the whole pipeline
# with a bearer token (as scripts/bench/gateway.sh), (c) the same GET with a DPoP-bound token
# and a fresh proof on every request (proof parsed, ES256 signature checked, jwk thumbprint,
# htm/htu/iat/ath, jti recorded in the replay cache).
# Usage: bash scripts/bench/gateway_dpop.sh [connections=64] [seconds=10] [rounds=3]
# Proofs are made before each round's (c) by scripts/bench/dpop_proofs.py (python3 with
# `cryptography`) with iat 30 s ahead, so they stay inside the server's ±60 s window for 90 s:
# keep `seconds` well under 60. wrk cycles through them with scripts/bench/dpop.lua; a run that
# uses them all up replays proofs, which the gateway refuses (Non-2xx in the output: raise
# PROOFS_PER_SECOND, default 13,000 per second of run).
set -euo pipefail
cd "$(dirname "$0")/../.."
connections="${1:-64}"
seconds="${2:-10}"
rounds="${3:-3}"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
python3 -c 'import cryptography' 2>/dev/null || { echo "error: python3 needs cryptography (pip install cryptography)" >&2; exit 1; }
proofs_per_second="${PROOFS_PER_SECOND:-13000}"

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

# A DPoP-bound token for the same application (the nonce exchange is in dpop_proofs.py).
dpop_token="$(python3 scripts/bench/dpop_proofs.py token "$work/dpop.pem" "$sandbox/oauth2/token" "$client_id" "$client_secret")"
python3 scripts/bench/dpop_proofs.py proofs "$work/dpop.pem" "$url" "$dpop_token" 1 "$work/check.txt" 0
curl -sf -H "Authorization: DPoP $dpop_token" -H "DPoP: $(cat "$work/check.txt")" "$url" >/dev/null \
  || { echo "error: the DPoP check request failed" >&2; exit 1; }

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
dpop_ratios=()
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
  python3 scripts/bench/dpop_proofs.py proofs "$work/dpop.pem" "$url" "$dpop_token" \
    "$((proofs_per_second * seconds))" "$work/proofs.txt"
  echo "== round $round/$rounds: (c) the same GET with a DPoP-bound token, a new proof per request"
  cpu_before="$(cpu_secs "$portico_pid")"
  PROOFS="$work/proofs.txt" TOKEN="$dpop_token" WRK_THREADS=2 \
    run -s scripts/bench/dpop.lua "$url" | tee "$work/c.txt" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx'
  cpu_per_request "$portico_pid" "$cpu_before" "$work/c.txt"
  a="$(awk '/Requests\/sec/ {print $2}' "$work/a.txt")"
  b="$(awk '/Requests\/sec/ {print $2}' "$work/b.txt")"
  c="$(awk '/Requests\/sec/ {print $2}' "$work/c.txt")"
  ratio="$(python3 -c "print(float('$b') / float('$a'))")"
  ratios+=("$ratio")
  dpop_ratio="$(python3 -c "print(float('$c') / float('$a'))")"
  dpop_ratios+=("$dpop_ratio")
  python3 -c "print(f'== round $round ratio (b)/(a) bearer: {$ratio:.1%}; (c)/(a) DPoP: {$dpop_ratio:.1%}')"
done
median() { python3 -c "import statistics, sys; r = sorted(map(float, sys.argv[2:])); print(f'== {sys.argv[1]} ratios: ' + ', '.join(f'{x:.1%}' for x in r) + f'; median {statistics.median(r):.1%}')" "$@"; }
median "bearer (b)/(a)" "${ratios[@]}"
median "DPoP (c)/(a)" "${dpop_ratios[@]}"
