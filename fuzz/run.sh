#!/usr/bin/env bash
# Runs fuzz targets of a libFuzzer build (`make fuzz`): fuzz/run.sh BUILD_DIR SECONDS [NAME...]
# NAME is a corpus name (fuzz/corpus/NAME, target NAME_fuzz); default: all of them, one after
# the other. Each runs for SECONDS on fuzz/corpus/NAME plus a scratch corpus
# BUILD_DIR/fuzz-corpus/NAME, where libFuzzer writes the inputs it finds (the tree's corpus only
# grows by what is copied there deliberately), with fuzz/NAME.dict when present. Crashes, leaks,
# timeouts (-timeout, seconds per input) and out-of-memory (-rss_limit_mb) land in
# BUILD_DIR/fuzz-artifacts/NAME/; logs in BUILD_DIR/fuzz-logs/NAME.log. Extra libFuzzer flags:
# $FUZZ_FLAGS. Prints one line per target (executions, coverage) and exits 1 if any target failed.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [NAME...]" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "$1" && pwd)"
SECONDS_EACH="$2"
shift 2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for dir in "$ROOT"/fuzz/corpus/*/; do names+=("$(basename "$dir")"); done
fi

summary=()
failed=()
for name in "${names[@]}"; do
  binary="$BUILD/fuzz/${name}_fuzz"
  if [ ! -x "$binary" ]; then
    echo "fuzz: $binary is missing (build the egmla_fuzzers target of an EGMLA_FUZZ=ON build)" >&2
    exit 2
  fi
  scratch="$BUILD/fuzz-corpus/$name"
  artifacts="$BUILD/fuzz-artifacts/$name"
  log="$BUILD/fuzz-logs/$name.log"
  mkdir -p "$scratch" "$artifacts" "$(dirname "$log")"
  flags=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
         -artifact_prefix="$artifacts/")
  if [ -f "$ROOT/fuzz/$name.dict" ]; then flags+=(-dict="$ROOT/fuzz/$name.dict"); fi
  echo "fuzz: $name for ${SECONDS_EACH}s (log $log)"
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  "$binary" "${flags[@]}" ${FUZZ_FLAGS:-} "$scratch" "$ROOT/fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  line="$name: rc=$rc executions=${runs:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corpus:-?}"
  summary+=("$line")
  echo "fuzz: $line"
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    grep -E 'ERROR|SUMMARY|runtime error|fuzz invariant|Test unit written' "$log" | head -8 >&2
  fi
done

echo "fuzz summary (${SECONDS_EACH}s each):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $BUILD/fuzz-artifacts/; add each fixed one to" \
       "fuzz/corpus/NAME/ as crash_<what>)" >&2
  exit 1
fi
