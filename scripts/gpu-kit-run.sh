#!/usr/bin/env bash
# Runs the GPU kit (see scripts/gpu-kit.sh): every CUDA suite, the latency count, the GPU
# benchmarks, the demo's analytic path on Fashion-MNIST, the PyTorch peer, and compute-sanitizer
# memcheck and initcheck over the linalg and analytic suites, each under its own time limit, all
# within 8 minutes.
#   run.sh OUT_DIR
# Writes OUT_DIR/gpu-kit.log (everything), OUT_DIR/gpu-kit.csv (step,kind,exit,status,seconds),
# OUT_DIR/bench_gpu.csv, OUT_DIR/latency.csv and OUT_DIR/torch_gpu.csv. Without a GPU every step
# reports "skip" (exit 77) and the run still completes. Exit status: 0 when no step failed.
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export LD_LIBRARY_PATH="$kit/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log=$out/gpu-kit.log
csv=$out/gpu-kit.csv
budget=${CONTINUA_KIT_BUDGET_S:-470}
start_all=$(date +%s)
failed=0
echo "step,kind,exit,status,seconds" >"$csv"
: >"$log"

note() { echo "$*" | tee -a "$log"; }

# step NAME KIND LIMIT_S COMMAND... : runs COMMAND with a limit (cut to the time left), logs it.
step() {
  local name=$1 kind=$2 limit=$3
  shift 3
  local left=$((budget - ($(date +%s) - start_all)))
  if [ "$left" -lt 5 ]; then
    echo "$name,$kind,,not-run,0" >>"$csv"
    note "== $name: not run (kit time budget spent)"
    failed=1
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  note "== $name ($kind, limit ${limit}s): $*"
  local t0 rc status
  t0=$(date +%s%N)
  timeout -k 5 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  case $rc in
    0) status=pass ;;
    77) status=skip ;;
    124 | 137) status=timeout ;;
    *) status=fail ;;
  esac
  [ "$status" = fail ] || [ "$status" = timeout ] && failed=1
  local ns secs
  ns=$(($(date +%s%N) - t0))
  secs=$(printf '%d.%03d' $((ns / 1000000000)) $((ns / 1000000 % 1000)))
  echo "$name,$kind,$rc,$status,$secs" >>"$csv"
  note "== $name: $status (exit $rc, ${secs}s)"
}

note "continua GPU kit, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m)"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv \
    >>"$log" 2>&1
fi
# A library the kit forgot shows here as "not found".
for b in "$kit"/bin/*; do
  missing=$(ldd "$b" 2>/dev/null | grep "not found" || true)
  [ -n "$missing" ] && note "missing libraries for $(basename "$b"): $missing"
done

have_gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then have_gpu=1; fi

while read -r suite; do
  step "$suite" test 60 "$kit/bin/$suite"
done <"$kit/suites.txt"

step latency_count latency 60 env LD_PRELOAD="$kit/lib/libcuda_call_counter.so" \
  sh -c "'$kit/bin/latency_count' > '$out/latency.csv'"
step bench_gpu bench 150 "$kit/bin/bench_gpu" --benchmark_counters_tabular=true \
  --benchmark_out="$out/bench_gpu.csv" --benchmark_out_format=csv

step demo_gpu demo 120 "$kit/bin/demo_gpu" "$kit/data"

if [ "$have_gpu" = 1 ] && command -v python3 >/dev/null 2>&1; then
  step torch_gpu peer 120 sh -c "python3 '$kit/peers/torch_gpu.py' > '$out/torch_gpu.csv'"
else
  echo "torch_gpu,peer,77,skip,0" >>"$csv"
  note "== torch_gpu: skip (no GPU or no python3)"
fi

sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for suite in test_linalg_cuda test_analytic_cuda; do
  for tool in memcheck initcheck; do
    if [ "$have_gpu" = 1 ] && [ -x "$sanitizer" ]; then
      step "${tool}_$suite" sanitizer 90 "$sanitizer" --tool "$tool" --error-exitcode 3 \
        "$kit/bin/$suite"
    else
      echo "${tool}_$suite,sanitizer,77,skip,0" >>"$csv"
      note "== ${tool}_$suite: skip (no GPU or no compute-sanitizer)"
    fi
  done
done

note "== summary ($(($(date +%s) - start_all)) s)"
{ column -s, -t <"$csv" 2>/dev/null || cat "$csv"; } | tee -a "$log"
exit $failed
