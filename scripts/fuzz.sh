#!/usr/bin/env bash
# Bounded fuzzing (issue 17) on stable Rust: each target is a set of proptest properties,
# run again and again with fresh random seeds until the target's time is up.
#   tokens     TokenService::verify          core/src/tokens/fuzz_tests.rs
#   api-model  ApiCatalog::from_sources      sandbox/src/model/fuzz_tests.rs
#   validator  validate_request / _value,    sandbox/src/validate/fuzz_tests.rs
#              parse_json_body
# Prints per target the runs, the cases that passed and the rate; on a failure, proptest's
# report (the shrunk input; its seed is saved under <crate>/proptest-regressions/, which
# replays it first on every later run). Exits 1 if any target failed.
# Usage: bash scripts/fuzz.sh [seconds-per-target=60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash scripts/fuzz.sh [seconds-per-target=60]" >&2
  exit 2
fi

# name|package|test filter: only the properties (the fixed regression cases next to them
# run with the normal tests).
targets=(
  "tokens|portico-core|tokens::fuzz_tests::properties"
  "api-model|portico-sandbox|model::fuzz_tests::properties"
  "validator|portico-sandbox|validate::fuzz_tests::properties"
)

# Every run draws its own seed (a fixed PROPTEST_RNG_SEED would repeat one run); shrinking a
# failure is bounded so its report arrives within the run's time.
unset PROPTEST_RNG_SEED
export PROPTEST_MAX_SHRINK_TIME=60000 RUST_BACKTRACE=0

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
  IFS='|' read -r name package filter <<<"$target"
  echo "==> $name: ${seconds}s ($package, $filter)"
  deadline=$((${EPOCHREALTIME%.*} + seconds))
  fuzzed=0 # seconds spent running the properties
  cases=256 # the first run measures the rate
  runs=0 total=0 properties=0 outcome="no failure"
  while :; do
    now=${EPOCHREALTIME%.*}
    remaining=$((deadline - now))
    [ "$remaining" -ge 2 ] || [ "$runs" -eq 0 ] || break
    # Rebuilt if the sources changed meanwhile; building (or waiting for cargo's lock) is
    # not fuzzing time.
    build_start=$EPOCHREALTIME
    cargo test --quiet -p "$package" --lib --no-run
    deadline=$((deadline + ${EPOCHREALTIME%.*} - ${build_start%.*}))
    remaining=$((deadline - ${EPOCHREALTIME%.*}))
    run_start=$EPOCHREALTIME
    # A run sized for `remaining` seconds that takes twice as long (plus start-up) is a hang.
    set +e
    PROPTEST_CASES=$cases timeout --kill-after=10 $((2 * remaining + 60)) \
      cargo test --quiet -p "$package" --lib "$filter" >"$log" 2>&1
    status=$?
    set -e
    run_seconds=$(awk -v a="$run_start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
    fuzzed=$(awk -v f="$fuzzed" -v r="$run_seconds" 'BEGIN { print f + r }')
    runs=$((runs + 1))
    if [ "$status" -ne 0 ]; then
      if [ "$status" -ge 124 ]; then
        outcome="FAILED: run $runs ($cases cases per property) did not finish in time"
      else
        outcome="FAILED in run $runs"
      fi
      # proptest's report: the failing property, the message and the minimal input (the
      # panic printed again for each shrinking step, once).
      if grep -q '^failures:$' "$log"; then
        awk '/^failures:$/ { on = 1 }
             /^---- / { all = 0 }
             /^Test failed:/ { all = 1 }
             on && (all || !seen[$0]++)' "$log"
      else
        tail -n 40 "$log"
      fi
      break
    fi
    properties=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | head -n 1)
    if [ -z "$properties" ] || [ "$properties" -eq 0 ]; then
      outcome="FAILED: the filter matched no test"
      break
    fi
    total=$((total + properties * cases))
    printf '  run %d: %d cases per property in %.1fs\n' "$runs" "$cases" "$run_seconds"
    # Next run: most of the time left (at most 30 s, so seeds change often) at this run's
    # rate, leaving room for the start-up of each run.
    remaining=$((deadline - ${EPOCHREALTIME%.*}))
    span=$((remaining < 30 ? remaining : 30))
    cases=$(awk -v c="$cases" -v t="$run_seconds" -v s="$span" \
      'BEGIN { n = int(c / (t > 0.1 ? t : 0.1) * s * 0.8); print (n < 16 ? 16 : n) }')
  done
  elapsed=$(awk -v f="$fuzzed" 'BEGIN { printf "%.0f", f }')
  rate=$(awk -v n="$total" -v t="$fuzzed" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  line="$name: $runs runs, $total cases ($properties properties) in ${elapsed}s, ~${rate} cases/s: $outcome"
  echo "$line"
  summary+=("$line")
  case "$outcome" in FAILED*) failed+=("$name") ;; esac
done

echo "==> summary"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
