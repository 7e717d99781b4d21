// The analytic learners' two kernels on each host backend of core/linalg, beside the BLAS/LAPACK
// routines themselves, in one binary (run with --benchmark_enable_random_interleaving=true and
// repetitions so a shared machine's load falls on every contender alike):
//   accumulate/<backend>  C += XᵀX for a batch X of n rows and d features, flops n d² (one
//                         triangle): policy = analytic::cholesky's state update (one triangle
//                         through the linalg facade, here on the BLAS backend: the Cholesky
//                         policy's accumulation), eigen = eigen_backend::syrk of one triangle,
//                         blas = blas_backend::syrk + mirror (the full linalg::syrk, which the
//                         policy ran per batch before issue 14) and raw ?syrk_;
//   solve/<backend>       factor C + γI = L Lᵀ and solve for k = 10 right-hand sides, flops
//                         d³ / 3 + 2 d² k, by eigen_backend/blas_backend cholesky + two trsm and
//                         raw ?potrf_ + ?potrs_;
//   gemm/<backend>        the reference GEMM rate, n x n x n, flops 2 n³, Eigen and ?gemm_.
// Built only with CONTINUA_WITH_BLAS. Figures: docs/performance.md, "Results: BLAS backend".
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

#include "continua/analytic/rls.hpp"
#include "continua/core/linalg.hpp"

extern "C" {
void spotrs_(const char*, const int*, const int*, const float*, const int*, float*, const int*,
             int*, std::size_t);
void dpotrs_(const char*, const int*, const int*, const double*, const int*, double*, const int*,
             int*, std::size_t);
// OpenBLAS only (null elsewhere): the kernel set it picked for this CPU.
char* openblas_get_corename() __attribute__((weak));
}

namespace {

using continua::linalg::detail::blas_backend;
using continua::linalg::detail::eigen_backend;
enum class backend { eigen, blas, raw, policy };
constexpr std::size_t k = 10;

template <class T>
std::vector<T> normal(std::size_t size, double sd, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, sd);
  std::vector<T> v(size);
  for (auto& x : v) x = T(dist(gen));
  return v;
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

// args: d, n. X is n x d row-major, i.e. the column-major storage of Xᵀ (d x n).
template <class T, backend B>
void accumulate(benchmark::State& state) {
  const std::size_t d = std::size_t(state.range(0)), n = std::size_t(state.range(1));
  const std::vector<T> x = normal<T>(n * d, 1.0 / std::sqrt(double(d)), n);
  std::vector<T> c(d * d, T(0));
  const int id = int(d), in = int(n);
  const char uplo = 'L', trans = 'N';
  const T one(1);
  // The policy's state without outputs: its update is the accumulation of C alone.
  continua::analytic::cholesky::state<T, continua::host_space> policy(d, 0, {});
  const continua::matrix_view<const T> xv(x.data(), n, d), yv(x.data(), n, 0);
  for (auto _ : state) {
    if constexpr (B == backend::policy) {
      policy.update("bench", xv, yv, T(1));
    } else if constexpr (B == backend::eigen) {
      eigen_backend::syrk(false, false, d, n, T(1), x.data(), T(1), c.data());
    } else if constexpr (B == backend::blas) {
      blas_backend::syrk(false, false, d, n, T(1), x.data(), T(1), c.data());
      blas_backend::mirror(false, d, c.data());
    } else if constexpr (std::is_same_v<T, float>)
      ssyrk_(&uplo, &trans, &id, &in, &one, x.data(), &id, &one, c.data(), &id, 1, 1);
    else
      dsyrk_(&uplo, &trans, &id, &in, &one, x.data(), &id, &one, c.data(), &id, 1, 1);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(policy.gram().data());
  set_flops(state, double(n) * double(d) * double(d));
}

// args: d. A = XᵀX / n + γI from 2d rows, so it is well conditioned.
template <class T, backend B>
void solve(benchmark::State& state) {
  const std::size_t d = std::size_t(state.range(0)), n = 2 * d;
  const std::vector<T> x = normal<T>(n * d, 1.0, d);
  std::vector<T> a0(d * d, T(0));
  blas_backend::syrk(false, false, d, n, T(1) / T(n), x.data(), T(0), a0.data());
  for (std::size_t i = 0; i < d; ++i) a0[i * d + i] += T(1);
  const std::vector<T> b0 = normal<T>(d * k, 1.0, 7);
  std::vector<T> a(d * d), b(d * k), work(d * d);
  const int id = int(d), ik = int(k);
  const char lower = 'L';
  for (auto _ : state) {
    state.PauseTiming();
    std::memcpy(a.data(), a0.data(), a.size() * sizeof(T));
    std::memcpy(b.data(), b0.data(), b.size() * sizeof(T));
    state.ResumeTiming();
    if constexpr (B == backend::raw) {
      int info = 0;
      if constexpr (std::is_same_v<T, float>) {
        spotrf_(&lower, &id, a.data(), &id, &info, 1);
        spotrs_(&lower, &id, &ik, a.data(), &id, b.data(), &id, &info, 1);
      } else {
        dpotrf_(&lower, &id, a.data(), &id, &info, 1);
        dpotrs_(&lower, &id, &ik, a.data(), &id, b.data(), &id, &info, 1);
      }
      if (info != 0) state.SkipWithError("potrf/potrs failed");
    } else {
      using be = std::conditional_t<B == backend::eigen, eigen_backend, blas_backend>;
      if (be::cholesky(false, d, a.data(), work.data()) >= 0) state.SkipWithError("not SPD");
      be::trsm(false, false, false, d, k, a.data(), b.data());
      be::trsm(false, false, true, d, k, a.data(), b.data());
    }
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, double(d) * double(d) * double(d) / 3 + 2.0 * double(d) * double(d) * k);
}

// args: n. C = A B, all n x n.
template <class T, backend B>
void gemm(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  const std::vector<T> a = normal<T>(n * n, 1.0, 1), b = normal<T>(n * n, 1.0, 2);
  std::vector<T> c(n * n);
  for (auto _ : state) {
    if constexpr (B == backend::eigen)
      eigen_backend::gemm(false, false, n, n, n, T(1), a.data(), b.data(), T(0), c.data());
    else
      blas_backend::gemm(false, false, n, n, n, T(1), a.data(), b.data(), T(0), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(n) * double(n) * double(n));
}

void accumulate_shapes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {256, 1024}) b->Args({1024, n});
  for (std::int64_t n : {256, 1024, 4096}) b->Args({4096, n});  // issue 14's cases
  b->ArgNames({"d", "rows"})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
}
void solve_shapes(benchmark::internal::Benchmark* b) {
  b->Arg(1024)
      ->Arg(4096)
      ->ArgName("d")
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(2);
}

}  // namespace

#define CONTINUA_BENCH_BACKENDS(fn, shapes)             \
  BENCHMARK(fn<double, backend::eigen>)->Apply(shapes); \
  BENCHMARK(fn<double, backend::blas>)->Apply(shapes);  \
  BENCHMARK(fn<double, backend::raw>)->Apply(shapes);   \
  BENCHMARK(fn<float, backend::eigen>)->Apply(shapes);  \
  BENCHMARK(fn<float, backend::blas>)->Apply(shapes);   \
  BENCHMARK(fn<float, backend::raw>)->Apply(shapes)
CONTINUA_BENCH_BACKENDS(accumulate, accumulate_shapes);
BENCHMARK(accumulate<double, backend::policy>)->Apply(accumulate_shapes);
BENCHMARK(accumulate<float, backend::policy>)->Apply(accumulate_shapes);
CONTINUA_BENCH_BACKENDS(solve, solve_shapes);
BENCHMARK(gemm<double, backend::eigen>)->Arg(1024)->UseRealTime()->Iterations(5);
BENCHMARK(gemm<double, backend::blas>)->Arg(1024)->UseRealTime()->Iterations(5);
BENCHMARK(gemm<float, backend::eigen>)->Arg(1024)->UseRealTime()->Iterations(5);
BENCHMARK(gemm<float, backend::blas>)->Arg(1024)->UseRealTime()->Iterations(5);

// The kernels OpenBLAS chose go into the context: Debian 12's OpenBLAS 0.3.21 does not know
// recent Xeons and falls back to "Prescott" (SSE3) unless OPENBLAS_CORETYPE names a core.
int main(int argc, char** argv) {
  benchmark::AddCustomContext("openblas_core",
                              openblas_get_corename ? openblas_get_corename() : "not OpenBLAS");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
