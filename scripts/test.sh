#!/usr/bin/env bash
# The project's single test command: formatting, lints, Rust tests (SQLite and
# PostgreSQL) and the browser end-to-end suite. Nothing is skipped.
set -euo pipefail

cd "$(dirname "$0")/.."

echo "==> checking PostgreSQL at 127.0.0.1:5432"
if command -v pg_isready >/dev/null 2>&1; then
  pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
else
  pg_ready() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
fi
if ! pg_ready; then
  echo "error: PostgreSQL is not reachable at 127.0.0.1:5432 (the storage tests need it; start it with: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)" >&2
  exit 1
fi

# Installs a Debian package when its command is missing (as root, or through sudo).
ensure_command() {
  local command="$1" package="$2"
  command -v "$command" >/dev/null 2>&1 && return 0
  install_package "$package"
}

install_package() {
  local package="$1"
  local sudo=()
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"
}

echo "==> ensuring chromium is installed"
ensure_command chromium chromium

echo "==> ensuring jq, Python requests (the docs' generated samples run in the tests), feedparser, standardwebhooks, schemathesis and mypy"
ensure_command jq jq
if ! python3 -c 'import requests' >/dev/null 2>&1; then
  python3 -m pip install --quiet requests
fi
# The status page's Atom feed is checked with a real feed parser.
if ! python3 -c 'import feedparser' >/dev/null 2>&1; then
  python3 -m pip install --quiet feedparser
fi
# Webhook signatures are checked with the unmodified Standard Webhooks package.
if ! python3 -c 'import standardwebhooks' >/dev/null 2>&1; then
  python3 -m pip install --quiet standardwebhooks
fi
# private_key_jwt is exercised with the unmodified Authlib client (end-to-end tests).
if ! python3 -c 'import authlib' >/dev/null 2>&1; then
  python3 -m pip install --quiet authlib
fi
# The model is fuzzed against the sandbox by schemathesis; pinned (4.x and 3.x differ a lot).
if ! python3 -c 'import schemathesis, sys; sys.exit(not schemathesis.__version__.startswith("4."))' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'schemathesis==4.32.5'
fi

# The generated Python SDK is type-checked with mypy (strict) in its tests.
if ! python3 -c 'import importlib.metadata as m; m.version("mypy"); m.version("types-requests")' >/dev/null 2>&1; then
  python3 -m pip install --quiet mypy types-requests
fi
# The SDK tests install the generated Python packages into fresh virtual environments.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  install_package python3-venv
fi

echo "==> installing the end-to-end packages (npm registry)"
# Before cargo test: the SSO integration tests start the real OpenID provider (oidc-provider),
# and the webhook tests verify deliveries with the npm standardwebhooks package.
# `npm ci` only when the installed tree is missing or older than the lockfile.
if [ ! -d end2end/node_modules ] || [ end2end/package-lock.json -nt end2end/node_modules ]; then
  (cd end2end && npm ci --no-audit --no-fund)
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked

echo "==> building the portico binary"
cargo build --locked -p portico-server --bin portico
export PORTICO_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/portico"
case "$PORTICO_BIN" in /*) ;; *) PORTICO_BIN="$PWD/$PORTICO_BIN" ;; esac

echo "==> schemathesis over /openapi/v2.json"
bash scripts/schemathesis.sh

echo "==> end-to-end tests (node + chromium)"
cd end2end
CHROMIUM_PATH="$(command -v chromium)" npm test

echo "==> all tests passed"
