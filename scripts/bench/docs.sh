#!/usr/bin/env bash
# Docs pages under load: each page is rendered from the in-memory docs built at start-up.
# Measures, with wrk on loopback at a fixed concurrency, the latency and throughput of
#   /healthz (baseline: the portal's cheapest route, same process and middleware),
#   /docs, /docs/getting-started, /reference/v2, /reference/v2/CreateOrder, /changelog,
#   /search?q=create+an+order.
# Usage: bash scripts/bench/docs.sh [connections=4] [seconds=10]
# With 4 connections on 2 cores, latency ≈ server time per page (wrk shares the machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
connections="${1:-4}"
seconds="${2:-10}"
. scripts/bench/serve.sh

printf '%-34s %10s %9s %9s %9s %9s\n' page rps p50 p90 p99 bytes
for path in /healthz /docs /docs/getting-started /reference/v2 /reference/v2/CreateOrder /changelog '/search?q=create+an+order'; do
  bytes="$(curl -sf "$portal$path" | wc -c)"
  curl -sf "$portal$path" >/dev/null # warm
  out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$portal$path")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p90="$(awk '$1 == "90%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")"
  printf '%-34s %10s %9s %9s %9s %9s %s\n' "$path" "$rps" "$p50" "$p90" "$p99" "$bytes" "$errors"
done
