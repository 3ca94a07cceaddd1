# Sourced by the load scripts: builds the release binary and starts `portico serve` on free
# loopback ports with a throw-away SQLite database. Sets `bin`, `work`, `pid`, `portal`,
# `sandbox`, `creds` (the demo application's credentials line) and stops the server on exit.
# Needs wrk (apt-get install wrk).
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

cargo build --release --locked -p portico-server --bin portico
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/portico"
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$work" && DATABASE_URL="sqlite://$work/portico.db" PORTICO_PORTAL_ADDR=127.0.0.1:0 \
  PORTICO_SANDBOX_ADDR=127.0.0.1:0 PORTICO_LOG=warn exec "$bin" serve >"$work/stdout" 2>"$work/stderr") &
pid=$!
for _ in $(seq 100); do grep -q '^  {' "$work/stdout" 2>/dev/null && break; sleep 0.1; done
portal="$(awk '$1 == "portal" {print $2}' "$work/stdout")"
sandbox="$(awk '$1 == "sandbox" {print $2}' "$work/stdout")"
creds="$(grep '^  {' "$work/stdout")"
