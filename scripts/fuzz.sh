#!/usr/bin/env bash
# Builds continua's libFuzzer targets (tests/fuzz, clang, ASan + UBSan) in build/fuzz and runs each
# for SECONDS over a copy of its seed corpus; prints a summary table and exits non-zero on any
# crash, leak, timeout, sanitizer report or uncaught exception. docs/fuzzing.md explains findings.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]     (default 60 s, all targets)
#
# Environment: FUZZ_JOBS (build jobs and targets run at once, default nproc), FUZZ_FLAGS (extra libFuzzer flags, e.g.
# "-entropic=0"), ASAN_OPTIONS / UBSAN_OPTIONS (defaults below). The repository's corpora are never
# written: the fuzzers grow a copy in build/fuzz/corpus-work; crashing inputs land in
# build/fuzz/findings/<target>/ and each target's log in build/fuzz/logs/.
set -euo pipefail

seconds=${1:-60}
shift || true
all=(fuzz_idx fuzz_checkpoint fuzz_load_optim fuzz_load_analytic fuzz_load_regularize
     fuzz_load_replay fuzz_load_sample fuzz_load_bilevel)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi
case $seconds in '' | *[!0-9]*) echo "fuzz.sh: seconds must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/fuzz
jobs=${FUZZ_JOBS:-$(nproc)}
cd "$root"

for tool in clang clang++; do
  command -v $tool >/dev/null || { echo "fuzz.sh: $tool not found (make deps installs it)" >&2; exit 2; }
done

# Configure only the fuzz project and build only its targets, in parallel (Ninja when present:
# CMake's Makefiles build the targets named on one command line one after the other).
mkdir -p "$build"
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
CC=clang CXX=clang++ cmake -S tests/fuzz -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug \
  -DCONTINUA_WITH_CUDA=OFF -DCONTINUA_BUILD_TESTS=OFF -DCONTINUA_BUILD_BENCHMARKS=OFF \
  -DCONTINUA_BUILD_EXAMPLES=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target "${targets[@]}" -j "$jobs"

# Allocation stacks off: they cost most of the sanitizer's time per execution here; a finding
# still prints the stack of the bad access, and reproducing it (docs/fuzzing.md) prints all.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0:detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
read -r -a extra <<<"${FUZZ_FLAGS:-}"

# One target: past findings, then fuzzing; its summary row goes to logs/<target>.row (the first
# word "ok" or "FAIL") and what a finding printed to logs/<target>.report.
run_target() {
  local t=$1
  work=$build/corpus-work/$t
  findings=$build/findings/$t
  log=$build/logs/$t.log
  rm -rf "$work" "$findings" "$log" "$log.findings"
  mkdir -p "$work" "$findings" "$build/logs"
  cp -R "tests/fuzz/corpus/$t/." "$work/"
  start=$(date +%s)
  rc=0
  # Inputs of past findings (tests/fuzz/findings/<target>/) first: each runs once, and must pass.
  past=()
  if [ -d "tests/fuzz/findings/$t" ]; then
    while IFS= read -r f; do past+=("$f"); done < <(find "tests/fuzz/findings/$t" -type f | sort)
  fi
  if [ ${#past[@]} -gt 0 ]; then
    "$build/$t" "${past[@]}" >"$log.findings" 2>&1 || {
      rc=$?
      echo "  a past finding fails again (log: ${log#$root/}.findings):"
      grep -E 'runtime error:|^SUMMARY: |continua fuzz finding|Running:' "$log.findings" | tail -3 | sed 's/^/  /' || true
    }
  fi
  # -timeout: one input taking 10 s is a finding (a hang or a runaway allocation loop).
  # Edge values (tests/fuzz/*.dict) for the mutator to splice in: counters at their maximum, NaN.
  dict=()
  case $t in
    fuzz_idx) dict=(-dict=tests/fuzz/idx.dict) ;;
    *) dict=(-dict=tests/fuzz/checkpoint.dict) ;;
  esac
  if [ $rc -eq 0 ]; then
    timeout $((seconds + 300)) "$build/$t" -max_total_time="$seconds" -print_final_stats=1 \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/" "${dict[@]}" "${extra[@]}" \
      "$work" >"$log" 2>&1 || rc=$?
  fi
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1 || true)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null | tail -1 || true)
  cov=$(grep -so 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -so 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  result=ok
  if [ $rc -ne 0 ] || grep -sqE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |deadly signal|uncaught exception|continua fuzz finding' "$log" ||
    [ -n "$(ls -A "$findings")" ]; then
    result="FAIL (rc $rc)"
    grep -sE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |continua fuzz finding|uncaught|Test unit written' "$log" | head -5 | sed 's/^/  /' || true
  fi
  printf '%-22s %12s %8s %7s %7s %6ss  %s\n' "$t" "${execs:--}" "${speed:--}" "${cov:--}" \
    "${ft:--}" "$elapsed" "$result" >"$build/logs/$t.row"
}

# Targets run side by side, FUZZ_JOBS at a time (each libFuzzer process uses one core).
mkdir -p "$build/logs"
for t in "${targets[@]}"; do rm -f "$build/logs/$t.row"; done
running=0
for t in "${targets[@]}"; do
  if [ $running -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
  run_target "$t" >"$build/logs/$t.report" 2>&1 &
  echo "fuzz.sh: $t for ${seconds}s (log: ${build#$root/}/logs/$t.log)"
  running=$((running + 1))
done
wait || true

status=0
rows=()
for t in "${targets[@]}"; do
  row=$(cat "$build/logs/$t.row" 2>/dev/null || printf '%-22s %s' "$t" "FAIL (no result)")
  rows+=("$row")
  case $row in *FAIL*) status=1; sed 's/^/  /' "$build/logs/$t.report" ;; esac
done

echo
printf '%-22s %12s %8s %7s %7s %7s  %s\n' target executions exec/s cov ft time result
for r in "${rows[@]}"; do echo "$r"; done
if [ $status -ne 0 ]; then
  echo "fuzz.sh: new findings under ${build#$root/}/findings/, past ones in tests/fuzz/findings/" \
    "(reproduce: ./build/fuzz/<target> <file>)" >&2
fi
exit $status
