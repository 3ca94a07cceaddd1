#!/usr/bin/env bash
# Request-log read paths at scale (issue 16): 10 million rows (or $1) for 1,000 applications
# on SQLite and on PostgreSQL (127.0.0.1:5432), then the medians of: an application's log
# pages (filters, request id, deep cursor), the 30-day chart data and the monthly metering
# export. See core/examples/request_log_bench.rs. Takes a few minutes per engine.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-10000000}"
cargo build -q -p portico-core --example request_log_bench
for engine in sqlite postgres; do
  target/debug/examples/request_log_bench "$engine" "$rows"
  echo
done
