#!/usr/bin/env bash
# Load run of the real token endpoint over loopback, with /healthz on the same server as the
# baseline measured in the same run. Needs wrk (apt-get install wrk).
# Usage: bash scripts/bench/token-endpoint.sh [connections=10] [seconds=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
connections="${1:-10}"
seconds="${2:-20}"
. scripts/bench/serve.sh
client_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$creds")"
client_secret="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$creds")"
basic="$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"

cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
# One request first, so a broken setup fails loudly instead of benchmarking errors.
curl -sf -o /dev/null -H "Authorization: Basic $basic" -d grant_type=client_credentials "$sandbox/oauth2/token"

echo "== baseline: GET /healthz ($connections connections, ${seconds}s)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency "$sandbox/healthz" | grep -E 'Requests/sec|50%|99%'
echo "== POST /oauth2/token, ES256 ($connections connections, ${seconds}s)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/token.lua" "$sandbox/oauth2/token" | grep -E 'Requests/sec|50%|99%|non-2xx'
