#!/usr/bin/env bash
# Soak: a fixed rate of mixed traffic for a long time through the multi-replica setup
# (scripts/lib/replicas.sh: two gateway replicas on PostgreSQL + Redis behind nginx).
# 95 % GET /v2/commercial/orders, 5 % client_credentials tokens. Reports errors (must be 0),
# latency percentiles, and each replica's RSS and open files after a warm-up and at the end
# (must stay within 10 %). Exits non-zero when either bar is missed.
# Usage: bash scripts/soak.sh [seconds=600] [rate=2000]
#   PORTICO_BIN=…  the build to soak (default: a release build, made when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
rate="${2:-2000}"
command -v hey >/dev/null || { echo "error: hey is not installed (apt-get install -y hey)" >&2; exit 1; }
. scripts/lib/replicas.sh
replicas_prepare release
export PORTICO_TOKEN_TTL=3600
replicas_start
load_application
token="$(access_token)"
basic="$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"

# hey's rate is per connection: connections × per-connection rate = the target.
api_connections=20; token_connections=2
api_rate=$(( rate * 95 / 100 / api_connections ))
token_rate=$(( rate * 5 / 100 / token_connections ))
echo "soak: ${seconds} s at $(( api_rate * api_connections + token_rate * token_connections )) requests/s ($bin)"
hey -z "${seconds}s" -c "$api_connections" -q "$api_rate" -H "Authorization: Bearer $token" -H "x-api-key: $api_key" \
  "$PORTICO_PUBLIC_SANDBOX_URL/v2/commercial/orders?limit=5" >"$work/hey-api.txt" &
api_load=$!
hey -z "${seconds}s" -c "$token_connections" -q "$token_rate" -m POST -T application/x-www-form-urlencoded \
  -d grant_type=client_credentials -H "Authorization: Basic $basic" \
  "$PORTICO_PUBLIC_SANDBOX_URL/oauth2/token" >"$work/hey-token.txt" &
token_load=$!

# RSS (kB) and open files of a replica.
sample() {
  local pid="${replica_pid[$1]}"
  echo "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status") $(ls "/proc/$pid/fd" | wc -l)"
}
warmup=$(( seconds / 10 < 30 ? seconds / 10 : 30 ))
sleep "$warmup"
declare -A first=()
for name in gateway-a gateway-b portal; do first[$name]="$(sample "$name")"; done
sleep $(( seconds - warmup - 2 ))
declare -A last=()
for name in gateway-a gateway-b portal; do last[$name]="$(sample "$name")"; done
wait "$api_load" "$token_load"

status=0
for kind in api token; do
  file="$work/hey-$kind.txt"
  total=$(grep -oE '\[[0-9]{3}\][[:space:]]+[0-9]+' "$file" | awk '{s += $2} END {print s + 0}' || true)
  ok=$(grep -oE '\[200\][[:space:]]+[0-9]+' "$file" | awk '{print $2}' || true)
  errors=$(( total - ${ok:-0} ))
  transport=$(sed -n '/Error distribution:/,$p' "$file" | grep -oE '^\s+\[[0-9]+\]' | tr -d ' []' | awk '{s += $1} END {print s + 0}' || true)
  rps=$(awk '/Requests\/sec/ {print $2}' "$file")
  p50=$(awk '/ 50% in/ {print $3 * 1000}' "$file")
  p99=$(awk '/ 99% in/ {print $3 * 1000}' "$file")
  printf '%-5s %8s requests, %7.1f/s, errors %s (+%s transport), p50 %s ms, p99 %s ms\n' \
    "$kind" "$total" "$rps" "$errors" "$transport" "$p50" "$p99"
  [ "$errors" -eq 0 ] && [ "$transport" -eq 0 ] || status=1
done
for name in gateway-a gateway-b portal; do
  read -r rss0 fds0 <<<"${first[$name]}"
  read -r rss1 fds1 <<<"${last[$name]}"
  growth=$(python3 -c "print(f'{($rss1 - $rss0) / $rss0 * 100:+.1f}')")
  printf '%-9s RSS %6d kB -> %6d kB (%s %%), open files %d -> %d\n' "$name" "$rss0" "$rss1" "$growth" "$fds0" "$fds1"
  python3 -c "import sys; sys.exit(0 if $rss1 <= $rss0 * 1.10 and $fds1 <= max($fds0 * 1.10, $fds0 + 2) else 1)" || status=1
done
[ "$status" -eq 0 ] && echo "OK: no errors, memory and open files flat" || echo "FAILED"
exit "$status"
