#!/usr/bin/env bash
# A bounded, seeded schemathesis run over the sandbox's /openapi/v2.json: every operation of the
# current model, positive and negative inputs, checked for server errors and for responses
# (status, content type, body) the model does not document. Exits non-zero on any failure.
# Usage: bash scripts/schemathesis.sh [more `st run` options, e.g. --checks all]
#   PORTICO_BIN          the debug binary (default target/debug/portico; built when missing)
#   SCHEMATHESIS_SEED    hypothesis seed (default fixed, so runs are reproducible)
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 100: ≈15 s here)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

seed="${SCHEMATHESIS_SEED:-20261123}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
# The whole run's deadline (the test command must not hang on a stuck request).
deadline_secs=170

# Pinned: the CLI's options changed a lot between 3.x and 4.x.
if ! python3 -c 'import schemathesis, sys; sys.exit(not schemathesis.__version__.startswith("4."))' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'schemathesis==4.32.5'
fi

bin="${PORTICO_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/portico}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
if [ ! -x "$bin" ]; then
  cargo build --locked -p portico-server --bin portico
  bin="${CARGO_TARGET_DIR:-$repo/target}/debug/portico"
  case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The repo's content (not only the copy built into the binary), so a model edit is tested as is.
export DATABASE_URL="sqlite://$work/portico.db" PORTICO_CONTENT_DIR="${PORTICO_CONTENT_DIR:-$repo/content}" PORTICO_LOG=warn
(cd "$work" && PORTICO_PORTAL_ADDR=127.0.0.1:0 PORTICO_SANDBOX_ADDR=127.0.0.1:0 \
  exec "$bin" serve >"$work/stdout" 2>"$work/stderr") &
server_pid=$!
# The demo credentials are the last lines of the first start's banner.
for _ in $(seq 300); do grep -q '^  {' "$work/stdout" 2>/dev/null && break; sleep 0.1; done
sandbox="$(awk '$1 == "sandbox" {print $2}' "$work/stdout")"
if [ -z "$sandbox" ]; then
  echo "error: portico serve did not start" >&2
  cat "$work/stdout" "$work/stderr" >&2
  exit 1
fi

portico_cli() { (cd "$work" && "$bin" "$@"); }
# Every scope of the model. users:admin operations stay refused (403, documented): only human
# principals may call them.
creds="$(portico_cli app create --partner schemathesis --name Schemathesis \
  --scopes "commercial:read commercial:write users:admin")"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$creds" "$1"; }
client_id="$(field client_id)"; client_secret="$(field client_secret)"; api_key="$(field api_key)"
# Limits that cannot throttle the run (429 is documented, but would hide the operations).
portico_cli app limits --client-id "$client_id" --rate 1000000 --burst 1000000 --quota 1000000000 >/dev/null
# Valid for 15 minutes (the default TTL): longer than the run's deadline.
token="$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials \
  "$sandbox/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

echo "schemathesis $(python3 -c 'import schemathesis; print(schemathesis.__version__)') against $sandbox/openapi/v2.json"
echo "seed $seed, at most $max_examples test cases per operation and phase (rerun: SCHEMATHESIS_SEED=$seed)"
echo "(expected warning: DELETE /users/{userId} answers every application token 403, as documented: only people may delete accounts)"
cd "$work"
status=0
# --generation-database none: no examples replayed from earlier runs; one worker: the
# operations share the sandbox's data (orders get cancelled), so their order must not vary.
# The seed then decides the run. `python3 -m`: pip's script directory need not be on PATH.
timeout --signal=INT --kill-after=10 "$deadline_secs" \
  python3 -m schemathesis.cli run "$sandbox/openapi/v2.json" \
  --header "Authorization: Bearer $token" \
  --header "x-api-key: $api_key" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --generation-database none \
  --request-timeout 10 \
  --workers 1 \
  --no-color "$@" || status=$?
if [ "$status" -ne 0 ]; then
  if [ "$status" -eq 124 ] || [ "$status" -eq 130 ] || [ "$status" -eq 137 ]; then
    echo "error: schemathesis did not finish within ${deadline_secs}s" >&2
  fi
  echo "error: schemathesis failed (exit $status); portico's stderr:" >&2
  tail -n 50 "$work/stderr" >&2
  exit 1
fi
