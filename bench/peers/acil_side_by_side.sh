#!/usr/bin/env bash
# ACIL's analytic update per batch, continua (bench_analytic: woodbury_update, cholesky_accumulate)
# against torch (torch_acil.py: reassociated, the ACIL reference form, and cholesky), both on the
# same OpenBLAS, run interleaved (continua, torch, continua, torch, ...) so that load from other
# processes falls on both alike. Prints one markdown table of medians over the rounds, with the
# ratios torch ms / continua ms, and the load (uptime) before every run. Issue 14's goal: >= 5x
# the torch ACIL reference at 1024 rows.
# Usage: bench/peers/acil_side_by_side.sh [ROUNDS]   (default 3; run from anywhere)
#   BENCH    the bench_analytic binary (default build/release/bench/analytic/bench_analytic, from
#            `cmake --preset release && cmake --build --preset release --target bench_analytic`)
#   THREADS  OMP_NUM_THREADS and OPENBLAS_NUM_THREADS of both sides (default 2)
#   DTYPES   default "float64 float32";  ROWS  default 256,1024,4096
#   PYTHON   the interpreter with torch (default /usr/bin/python3: Debian's python3-torch)
#   OUT      keep the raw outputs in this folder (default: a temporary one, removed)
# bench/peers/acil_side_by_side.sh --table DIR prints the table of the outputs kept in DIR again.
# OPENBLAS_CORETYPE is set to SkylakeX (avx512f) or Haswell (avx2) unless given: Debian's OpenBLAS
# 0.3.21 falls back to SSE3 kernels on CPUs it does not know (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
bench=${BENCH:-build/release/bench/analytic/bench_analytic}
rounds=${1:-3}
if [ "$rounds" = --table ]; then
  rounds=0
  OUT=${2:?--table needs the folder OUT named}
fi
threads=${THREADS:-2}
dtypes=${DTYPES:-float64 float32}
rows=${ROWS:-256,1024,4096}
python=${PYTHON:-/usr/bin/python3}
if [ -n "${OUT:-}" ]; then
  out=$OUT
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
[ "$rounds" = 0 ] || [ -x "$bench" ] || { echo "acil_side_by_side: no $bench (build bench_analytic first)" >&2; exit 1; }
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
[ "$rounds" = 0 ] || echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OMP_NUM_THREADS=$threads" \
  "OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"

mapped_blas() {  # the BLAS/LAPACK files a running process has mapped
  grep -E 'blas|lapack' "/proc/$1/maps" 2>/dev/null | awk '{ print $NF }' | sort -u | tr '\n' ' '
}

for ((round = 1; round <= rounds; ++round)); do
  for dtype in $dtypes; do
    ctype=$([ "$dtype" = float64 ] && echo double || echo float)
    echo "round $round $dtype continua, load: $(uptime | sed 's/.*load average: //')"
    "$bench" --benchmark_filter="^(woodbury_update|cholesky_accumulate)<$ctype>/rows:(${rows//,/|})/" \
      --benchmark_format=json >"$out/continua.$round.$dtype.json" 2>/dev/null &
    pid=$!
    sleep 1
    [ "$round" = 1 ] && echo "  continua blas: $(mapped_blas "$pid")"
    wait "$pid"
    echo "round $round $dtype torch, load: $(uptime | sed 's/.*load average: //')"
    "$python" bench/peers/torch_acil.py --dtype "$dtype" --threads "$threads" \
      --forms reassociated,cholesky --rows "$rows" >"$out/torch.$round.$dtype.txt"
    [ "$round" = 1 ] && grep '^blas:' "$out/torch.$round.$dtype.txt" | sed 's/^/  torch /'
  done
done

"$python" - "$out" <<'EOF'
import glob, json, re, statistics, sys
out = sys.argv[1]
times = {}  # (dtype, rows, contender) -> {round: ms per batch}
for path in glob.glob(f"{out}/continua.*.json"):
    _, rnd, dtype, _ = path.rsplit("/", 1)[-1].split(".")
    for b in json.load(open(path))["benchmarks"]:
        m = re.match(r"(\w+)<\w+>/rows:(\d+)/", b["name"])
        scale = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
        times.setdefault((dtype, int(m[2]), m[1]), {})[rnd] = b["real_time"] * scale
for path in glob.glob(f"{out}/torch.*.txt"):
    rnd = path.rsplit("/", 1)[-1].split(".")[1]
    for line in open(path):
        m = re.match(r"torch_acil_(\w+)/(\w+)/rows:(\d+): ([\d.]+) ms", line)
        if m:
            times.setdefault((m[2], int(m[3]), "torch_" + m[1]), {})[rnd] = float(m[4])
cols = ["torch_reassociated", "torch_cholesky", "woodbury_update", "cholesky_accumulate"]
print("\nmedian ms per batch (min-max over rounds); ratio = torch ms / continua ms: median of")
print("the per-round ratios (each round pairs runs that followed each other), and their range\n")
print("| dtype | rows | torch reassociated | torch cholesky | continua woodbury_update"
      " | continua cholesky_accumulate | reassoc / woodbury | cholesky / woodbury"
      " | reassoc / accumulate | cholesky / accumulate |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for dtype, rows in sorted({(d, r) for d, r, _ in times}, key=lambda x: (x[0] != "float64", x[1])):
    if any((dtype, rows, c) not in times for c in cols):
        continue
    t = [times[(dtype, rows, c)] for c in cols]
    cells = [f"{statistics.median(v.values()):.0f} ({min(v.values()):.0f}-{max(v.values()):.0f})"
             for v in t]
    for j in (2, 3):
        for i in (0, 1):
            r = [t[i][rnd] / t[j][rnd] for rnd in t[i] if rnd in t[j]]
            cells.append(f"{statistics.median(r):.2f}x ({min(r):.1f}-{max(r):.1f})")
    print(f"| {dtype} | {rows} | " + " | ".join(cells) + " |")
EOF
