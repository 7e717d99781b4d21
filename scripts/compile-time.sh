#!/usr/bin/env bash
# Compile time and peak memory of a minimal translation unit per family (optim, regularize,
# analytic, sample, io, metrics), with the flags the CMake target gives a consumer. Prints a
# Markdown table (the one in docs/performance.md, "Compile time").
#
#   scripts/compile-time.sh                # g++, 3 runs per unit, the least CPU time is reported
#   CXX=clang++ REPEAT=5 scripts/compile-time.sh
#
# CPU time is user + system time of the compiler (load on other cores barely changes it; a busy
# core does, hence the minimum over REPEAT runs); peak memory is the maximum resident set size.
# Both come from GNU time (`/usr/bin/time -v`), installed with apt-get when missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cxx=${CXX:-g++}
repeat=${REPEAT:-3}

if [ ! -x /usr/bin/time ]; then
  echo "GNU time is missing: installing the Debian package 'time'" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq time >/dev/null
  fi
fi

# Include directories as the CMake package config resolves them (Eigen3::Eigen, xtensor).
eigen_include=$(pkg-config --cflags-only-I eigen3 2>/dev/null | sed 's/-I//' || true)
eigen_include=${eigen_include:-/usr/include/eigen3}
eigen_include=$(echo "$eigen_include" | xargs)
# What continua::continua adds by default: C++20, -fno-math-errno, OpenMP (CONTINUA_WITH_OPENMP),
# the dependencies as system headers. -O2 is the usual release level of a consumer.
flags=(-std=c++20 -O2 -fno-math-errno -I"$root/include" -isystem "$eigen_include")
omp_flags=(-fopenmp)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/optim.cpp" <<'EOF'
// Adam on a std::vector.
#include <continua/optim/aliases.hpp>
#include <continua/optim/optimizer.hpp>
#include <vector>
int main() {
  std::vector<float> p(1000, 1.0f), g(1000, 0.5f);
  continua::optim::optimizer opt(continua::optim::adam({.lr = 1e-3}), p);
  opt.step(p, g);
  return p[0] < 1.0f ? 0 : 1;
}
EOF
cat >"$work/regularize.cpp" <<'EOF'
// Online EWC on a std::vector: observe, consolidate, penalty and its gradient.
#include <continua/regularize/ewc.hpp>
#include <vector>
int main() {
  std::vector<float> p(1000, 1.0f), g(1000, 0.5f);
  continua::regularize::ewc reg({.strength = 10, .mode = continua::regularize::ewc_mode::online,
                                 .decay = 0.9},
                                p);
  reg.observe(g);
  reg.consolidate(p);
  reg.add_gradient(p, g);
  return reg.penalty(p) >= 0 ? 0 : 1;
}
EOF
cat >"$work/analytic.cpp" <<'EOF'
// One analytic_classifier<double, cholesky>: fit and predict (issue 15's measurement).
#include <continua/analytic/classifier.hpp>
#include <cstdint>
#include <vector>
int main() {
  std::vector<double> x(40 * 4, 1.0);
  std::vector<std::int32_t> y(40, 0);
  for (std::size_t i = 0; i < x.size(); i += 5) x[i] = double(i % 7);
  continua::analytic::analytic_classifier<double, continua::analytic::cholesky> head({.gamma = 1},
                                                                                     4);
  head.fit(continua::as_matrix(x, 40, 4), y);
  return head.predict(continua::as_matrix(x, 40, 4))[0];
}
EOF
cat >"$work/sample.cpp" <<'EOF'
// A reservoir replay buffer of floats: add rows, draw a batch.
#include <continua/sample/reservoir_buffer.hpp>
#include <cstdint>
#include <vector>
int main() {
  continua::sample::reservoir_buffer<float> memory({.capacity = 64, .feature_dim = 8, .seed = 7});
  std::vector<float> x(128 * 8, 1.0f);
  std::vector<std::int32_t> y(128, 3);
  memory.add(x, y);
  std::vector<float> bx(16 * 8);
  std::vector<std::int32_t> by(16);
  memory.sample_batch(bx, by);
  return by[0] == 3 ? 0 : 1;
}
EOF
cat >"$work/io.cpp" <<'EOF'
// A checkpoint written and read back, and an IDX file read.
#include <continua/io/checkpoint.hpp>
#include <continua/io/idx.hpp>
#include <span>
#include <vector>
int main(int argc, char** argv) {
  std::vector<float> v(100, 1.0f);
  continua::io::checkpoint_writer w("compile.time", 1);
  w.add("weights", std::span<const float>(v));
  w.save("compile-time.ckpt");
  const continua::io::checkpoint_reader r("compile-time.ckpt");
  if (argc > 1) (void)continua::io::read_idx(argv[1]);
  return r.get<float>("weights").size() == 100 ? 0 : 1;
}
EOF
cat >"$work/metrics.cpp" <<'EOF'
// An accuracy matrix and its continual-learning summaries.
#include <continua/metrics/accuracy_matrix.hpp>
int main() {
  continua::metrics::accuracy_matrix r(2);
  r.set(0, 0, 0.9);
  r.set(1, 0, 0.8);
  r.set(1, 1, 0.95);
  return continua::metrics::backward_transfer(r) < 0 ? 0 : 1;
}
EOF
# The analytic unit again, with the Eigen backend compiled once elsewhere (CONTINUA_LINALG_EXTERN),
# and that one unit.
cat >"$work/linalg_instances.cpp" <<'EOF'
// The Eigen host backend's matrix operations for double, compiled once for the whole program.
#define CONTINUA_LINALG_INSTANTIATE 1
#include <continua/core/linalg_host.hpp>
CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(double)
EOF

# measure <source> [extra flags...] -> "cpu_seconds peak_MB" (least CPU time of REPEAT runs)
measure() {
  local src=$1
  shift
  local best_cpu="" best_mem=0
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f "%U %S %M" -o "$work/time.txt" \
      "$cxx" "${flags[@]}" "$@" -c "$src" -o "$work/out.o"
    read -r user sys kb <"$work/time.txt"
    local cpu
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then
      best_cpu=$cpu
    fi
    if [ "$kb" -gt "$best_mem" ]; then best_mem=$kb; fi
  done
  printf "%.1f %d" "$best_cpu" $((best_mem / 1024))
}

echo "$($cxx --version | head -1); flags: ${flags[*]//$root/<repo>} [-fopenmp]; least of $repeat runs"
echo
echo "| unit | CPU s | peak MB | CPU s with -fopenmp | peak MB with -fopenmp |"
echo "|---|---|---|---|---|"
row() {
  local name=$1 src=$2
  shift 2
  read -r c m <<<"$(measure "$src" "$@")"
  read -r co mo <<<"$(measure "$src" "${omp_flags[@]}" "$@")"
  echo "| $name | $c | $m | $co | $mo |"
}
for family in optim regularize analytic sample io metrics; do
  row "$family" "$work/$family.cpp"
done
row "analytic, CONTINUA_LINALG_EXTERN=1" "$work/analytic.cpp" -DCONTINUA_LINALG_EXTERN=1
row "its linalg unit, double (once per program)" "$work/linalg_instances.cpp" \
  -DCONTINUA_LINALG_EXTERN=1
