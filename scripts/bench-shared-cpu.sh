#!/usr/bin/env bash
# Two OpenMP threads on one CPU against one thread, for the host kernels that run in short calls:
# the GPM projection (bench_gpm) by default. Each case runs pinned to CPU 0 with
# OMP_NUM_THREADS=1, then with OMP_NUM_THREADS=2 (OMP_WAIT_POLICY left unset, the default a user
# has), and the script prints the 2-thread / 1-thread time per case. Goal (issue 14): <= 1.5.
# Usage: scripts/bench-shared-cpu.sh [BENCH_BINARY] [FILTER]
#   default: build/release/bench/regularize/bench_gpm 'continua_gpm_project'
set -euo pipefail
bin=${1:-build/release/bench/regularize/bench_gpm}
filter=${2:-continua_gpm_project}
cpu=${CPU:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Medians of REPS (default 3) wall-clock times per case; the two thread counts alternate REPS
# times so that load from other processes hits both alike.
reps=${REPS:-3}
for ((r = 0; r < reps; ++r)); do
  for threads in 1 2; do
    env -u OMP_WAIT_POLICY OMP_NUM_THREADS=$threads taskset -c "$cpu" "$bin" \
      --benchmark_filter="$filter" --benchmark_min_time=${MIN_TIME:-0.2} \
      --benchmark_format=csv 2>/dev/null | grep -v '^name' | cut -d, -f1,3 >>"$tmp/t$threads.csv" || true
  done
done
median() {  # case,time lines -> case,median time
  sort -t, -k1,1 -k2,2g "$1" | awk -F, '{ t[$1] = t[$1] " " $2 }
    END { for (c in t) { n = split(t[c], v, " "); print c "," v[int((n + 1) / 2)] } }' | sort
}
printf '%-52s %12s %12s %8s\n' case "1 thread us" "2 on 1 CPU" ratio
join -t, <(median "$tmp/t1.csv") <(median "$tmp/t2.csv") | tr -d '"' |
  awk -F, '{ printf "%-52s %12.1f %12.1f %8.2f\n", $1, $2, $3, $3 / $2 }'
