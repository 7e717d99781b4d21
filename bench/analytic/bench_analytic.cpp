// Analytic learners' fit throughput at d = 4096 features, k = 10 classes: the Woodbury update per
// batch, the Cholesky policy's accumulation per batch (syrk + gemm) and its solve, beside the
// GEMM peak of the same shapes measured in this binary (the physical reference).
// Zhuang et al., "ACIL", NeurIPS 2022 (Woodbury recursion); peer: bench/peers/torch_acil.py.
//
// Flop models (counter "GFLOP/s", useful flops of the mathematical operation):
//   gemm_peak      C = XᵀX as a full GEMM, d x d x n:                      2 n d²
//   cholesky_accumulate  C += XᵀX (syrk, one triangle) and B += XᵀY:     n d² + 2 n d k
//   woodbury_update  P = X R (2 n d²), S = I + P Xᵀ (2 n² d), S = L Lᵀ (n³ / 3), V = L⁻¹ P
//                  (n² d), R -= VᵀV (syrk, n d²), E = L⁻¹ (Y - X W) (2 n d k + n² k),
//                  W += Vᵀ E (2 n d k):         3 n d² + 3 n² d + n³ / 3 + 4 n d k + n² k
//   cholesky_solve  chol(C + γI) (d³ / 3) and two triangular solves (2 d² k): d³ / 3 + 2 d² k
// A syrk doing half a GEMM's flops at the GEMM's rate shows up as the same GFLOP/s: the ratio
// cholesky_accumulate / gemm_peak at equal n is the fraction of peak the accumulation reaches.
// Run with OMP_NUM_THREADS set to the cores to use (Eigen's GEMM threads through OpenMP).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "../common/peak.hpp"
#include "continua/analytic/rls.hpp"
#include "continua/core/linalg.hpp"

namespace {

namespace an = continua::analytic;
using continua::matrix_view;

constexpr std::size_t d = 4096;
constexpr std::size_t k = 10;

// Rows with N(0, 1/d) entries (so XᵀX has O(1) entries) and one-hot targets.
template <class T>
struct batch {
  std::size_t n;
  std::vector<T> x, y;
  explicit batch(std::size_t rows) : n(rows), x(rows * d), y(rows * k, T(0)) {
    std::mt19937_64 gen(rows);
    std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(double(d)));
    for (auto& v : x) v = T(normal(gen));
    for (std::size_t i = 0; i < rows; ++i) y[i * k + i % k] = T(1);
  }
  matrix_view<const T> xv() const { return {x.data(), n, d}; }
  matrix_view<const T> yv() const { return {y.data(), n, k}; }
};

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops_per_iteration * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  state.counters["threads"] = omp_get_max_threads();
}

// Iterations are fixed so the run fits a CI budget: a 4096-row Woodbury update is ~0.5 TFLOP.
std::int64_t iterations_for(std::size_t n) { return n >= 4096 ? 2 : n >= 1024 ? 4 : 10; }

template <class T>
void gemm_peak(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  const batch<T> b(n);
  std::vector<T> c(d * d);
  for (auto _ : state) {
    continua::linalg::gemm(continua::linalg::op::transpose, continua::linalg::op::none, T(1),
                           b.xv(), b.xv(), T(0), matrix_view<T>(c.data(), d, d));
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(n) * d * d);
}

template <class T>
void cholesky_accumulate(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  const batch<T> b(n);
  an::recursive_least_squares<T, an::cholesky> rls({.gamma = 1.0}, d, k);
  for (auto _ : state) {
    rls.fit(b.xv(), b.yv());
    benchmark::ClobberMemory();
  }
  set_flops(state, double(n) * d * d + 2.0 * double(n) * d * k);
}

template <class T>
void woodbury_update(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  const batch<T> b(n);
  an::recursive_least_squares<T, an::woodbury> rls({.gamma = 1.0}, d, k);
  try {
    for (auto _ : state) {
      rls.fit(b.xv(), b.yv());
      benchmark::ClobberMemory();
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const double nd = double(n) * d;
  set_flops(state, 3.0 * nd * d + 3.0 * nd * double(n) + double(n) * n * n / 3.0 + 4.0 * nd * k +
                       double(n) * n * k);
}

template <class T>
void cholesky_solve(benchmark::State& state) {
  const batch<T> b(4096);
  an::recursive_least_squares<T, an::cholesky> rls({.gamma = 1.0}, d, k);
  rls.fit(b.xv(), b.yv());
  for (auto _ : state) {
    rls.policy_state().invalidate();
    benchmark::DoNotOptimize(rls.weights().data());
    benchmark::ClobberMemory();
  }
  set_flops(state, double(d) * d * d / 3.0 + 2.0 * double(d) * d * k);
}

// The kernels continua keeps for itself (the Eigen backend: build with CONTINUA_WITH_BLAS off,
// otherwise syrk and Cholesky are the BLAS library's) against Eigen's GEMM, interleaved in every
// iteration so load from other processes hits all three alike (each timed on its own):
//   gemm   Eigen's own product XᵀX in full (d x d x rows, 2 rows d² flops, Eigen's threads)
//   syrk   continua::linalg::syrk of the same XᵀX (rows d² flops: one triangle)
//   chol   continua::linalg::cholesky_factor of XᵀX + I (d³ / 3 flops; independent of rows)
// Counters: GFLOP/s of each, and syrk/gemm, chol/gemm, the fractions of Eigen's GEMM rate.
// Arguments: rows, d.
template <class T>
void kernels_vs_gemm(benchmark::State& state) {
  using clock = std::chrono::steady_clock;
  using col_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const std::size_t rows = std::size_t(state.range(0)), n = std::size_t(state.range(1));
  std::vector<T> x(rows * n);
  std::mt19937_64 gen(rows);
  std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(double(n)));
  for (auto& v : x) v = T(normal(gen));
  const matrix_view<const T> xv(x.data(), rows, n);
  const Eigen::Map<const col_matrix> xt(x.data(), Eigen::Index(n), Eigen::Index(rows));  // Xᵀ
  col_matrix full(n, n);
  // The factor gets a workspace, as analytic/rls.hpp passes one: without it each call allocates
  // n² scalars for the restore-on-failure copy, and first touching those pages cost 15-30 % of a
  // d = 4096 factor here (docs/performance.md).
  std::vector<T> c(n * n), spd(n * n), factor(n * n), workspace(n * n);
  const matrix_view<T> cv(c.data(), n, n), fv(factor.data(), n, n);
  continua::linalg::syrk(continua::linalg::op::transpose, T(1), xv, T(0),
                         matrix_view<T>(spd.data(), n, n));
  for (std::size_t i = 0; i < n; ++i) spd[i * n + i] += T(1);
  // Wall-clock and process CPU seconds of each kernel. On a machine loaded by other processes the
  // wall clock also counts the time slices given to them; the CPU-time rates (flops per CPU
  // second of this process, spinning included) do not, and read as the rate per busy core.
  double wall[3] = {0, 0, 0}, cpu[3] = {0, 0, 0};
  const auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  };
  for (auto _ : state) {
    factor = spd;
    double iteration = 0;
    for (int kernel = 0; kernel < 3; ++kernel) {
      const auto w0 = clock::now();
      const double c0 = cpu_now();
      if (kernel == 0) {
        full.noalias() = xt * xt.transpose();
        benchmark::DoNotOptimize(full.data());
      } else if (kernel == 1) {
        continua::linalg::syrk(continua::linalg::op::transpose, T(1), xv, T(0), cv);
        benchmark::DoNotOptimize(c.data());
      } else {
        continua::linalg::cholesky_factor(fv,
                                          continua::span<T>(workspace.data(), workspace.size()));
        benchmark::DoNotOptimize(factor.data());
      }
      cpu[kernel] += cpu_now() - c0;
      const double w = std::chrono::duration<double>(clock::now() - w0).count();
      wall[kernel] += w;
      iteration += w;
    }
    state.SetIterationTime(iteration);
  }
  const double it = double(state.iterations()), nn = double(n) * double(n);
  const double flops[3] = {2.0 * nn * double(rows) * it, nn * double(rows) * it,
                           nn * double(n) / 3.0 * it};
  const char* names[3] = {"gemm", "syrk", "chol"};
  for (int kernel = 0; kernel < 3; ++kernel) {
    state.counters[std::string(names[kernel]) + "_GF/s"] = flops[kernel] / wall[kernel] * 1e-9;
    state.counters[std::string(names[kernel]) + "_GF/cpu_s"] = flops[kernel] / cpu[kernel] * 1e-9;
  }
  state.counters["syrk/gemm"] = flops[1] / wall[1] / (flops[0] / wall[0]);
  state.counters["chol/gemm"] = flops[2] / wall[2] / (flops[0] / wall[0]);
  state.counters["syrk/gemm_cpu"] = flops[1] / cpu[1] / (flops[0] / cpu[0]);
  state.counters["chol/gemm_cpu"] = flops[2] / cpu[2] / (flops[0] / cpu[0]);
  state.counters["threads"] = omp_get_max_threads();
}

void batch_sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("rows")->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

#define CONTINUA_ANALYTIC_CASE(fn, T)                                                \
  BENCHMARK(fn<T>)->Apply(batch_sizes)->Arg(256)->Iterations(iterations_for(256));   \
  BENCHMARK(fn<T>)->Apply(batch_sizes)->Arg(1024)->Iterations(iterations_for(1024)); \
  BENCHMARK(fn<T>)->Apply(batch_sizes)->Arg(4096)->Iterations(iterations_for(4096))

CONTINUA_ANALYTIC_CASE(gemm_peak, double);
CONTINUA_ANALYTIC_CASE(cholesky_accumulate, double);
CONTINUA_ANALYTIC_CASE(woodbury_update, double);
CONTINUA_ANALYTIC_CASE(gemm_peak, float);
CONTINUA_ANALYTIC_CASE(cholesky_accumulate, float);
CONTINUA_ANALYTIC_CASE(woodbury_update, float);
// d = 4096 (the shape) and 2048 (a quicker check on a loaded machine).
#define CONTINUA_KERNEL_CASE(T)       \
  BENCHMARK(kernels_vs_gemm<T>)       \
      ->ArgNames({"rows", "d"})       \
      ->Args({256, 4096})             \
      ->Args({1024, 4096})            \
      ->Args({256, 2048})             \
      ->Args({1024, 2048})            \
      ->Unit(benchmark::kMillisecond) \
      ->UseManualTime()               \
      ->Iterations(3)

CONTINUA_KERNEL_CASE(double);
CONTINUA_KERNEL_CASE(float);
// The machine's ceiling: the FMA register loop on 1 and 2 threads (bench/common/peak.hpp).
CONTINUA_BENCH_FMA_PEAK();
// The optimised-BLAS GEMM reference (the CONTINUA_WITH_BLAS backend) registers here.

BENCHMARK(cholesky_solve<double>)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(cholesky_solve<float>)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

BENCHMARK_MAIN();
