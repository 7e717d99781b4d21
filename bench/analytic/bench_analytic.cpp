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

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <random>
#include <vector>

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
BENCHMARK(cholesky_solve<double>)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(cholesky_solve<float>)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

BENCHMARK_MAIN();
