#!/usr/bin/env bash
# Rolling restart under load: two gateway replicas behind nginx (scripts/lib/replicas.sh), hey
# calling GET /v2/commercial/orders and the token endpoint through the load balancer, while
# each replica in turn gets SIGTERM (it drains for PORTICO_DRAIN_DELAY, then closes) and is
# started again. Every request must get a 200. Prints hey's figures.
# Usage: bash scripts/faults/rolling-restart.sh [seconds=40]   (PORTICO_BIN=… for another build)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-40}"
command -v hey >/dev/null || { echo "error: hey is not installed (apt-get install -y hey)" >&2; exit 1; }
. scripts/lib/replicas.sh
replicas_prepare debug
replicas_start
load_application
token="$(access_token)"
basic="$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"

hey -z "${seconds}s" -c 16 -H "Authorization: Bearer $token" -H "x-api-key: $api_key" \
  "$PORTICO_PUBLIC_SANDBOX_URL/v2/commercial/orders?limit=1" >"$work/hey-api.txt" &
api_load=$!
hey -z "${seconds}s" -c 2 -m POST -T application/x-www-form-urlencoded -d grant_type=client_credentials \
  -H "Authorization: Basic $basic" "$PORTICO_PUBLIC_SANDBOX_URL/oauth2/token" >"$work/hey-token.txt" &
token_load=$!

pause=$(( seconds / 5 ))
sleep "$pause"
for name in gateway-a gateway-b; do
  port="$port_a"; [ "$name" = gateway-b ] && port="$port_b"
  started=$(date +%s.%N)
  stop_replica "$name"
  stopped=$(date +%s.%N)
  start_replica "$name" sandbox "$port"
  ready=$(date +%s.%N)
  printf '%s: drained and stopped in %.1f s, ready again %.1f s later\n' "$name" \
    "$(echo "$stopped - $started" | bc)" "$(echo "$ready - $stopped" | bc)"
  sleep "$pause"
done
wait "$api_load" "$token_load"

status=0
for kind in api token; do
  echo "== $kind"
  sed -n '/Summary:/,/Requests\/sec/p' "$work/hey-$kind.txt"
  sed -n '/Latency distribution:/,/99%/p' "$work/hey-$kind.txt" | grep -E '50%|99%'
  sed -n '/Status code distribution:/,$p' "$work/hey-$kind.txt"
  if grep -qE '^\s+\[[^2][0-9]{2}\]' "$work/hey-$kind.txt" || grep -q 'Error distribution' "$work/hey-$kind.txt"; then
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "OK: no request lost during the rolling restart" || echo "FAILED: some requests were lost"
exit "$status"
