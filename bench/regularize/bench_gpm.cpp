// GPM gradient projection G <- G - (G B) Bᵀ per layer (out x in gradient, in x rank basis), float,
// against the physical limit measured in the same binary: Eigen's GEMM on a 1024^3 product.
// The projection is two GEMMs (4 out in rank flops); "of_peak" = its GFLOP/s / the peak's.
// Peer: the same projection as one Eigen expression (allocates its temporary every call).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/peak.hpp"
#include "continua/regularize/gradient_projection.hpp"

namespace {

namespace r = continua::regularize;
using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

double peak_gflops = 0.0;  // set by eigen_gemm_peak, which runs first

std::vector<float> values(std::size_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<double>(s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  }
  return v;
}

void set_flops(benchmark::State& state, double flops_per_iteration, bool ratio) {
  const double total = flops_per_iteration * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(total * 1e-9, benchmark::Counter::kIsRate);
  if (ratio && peak_gflops > 0) {
    // A rate counter divided by the peak: this run's GFLOP/s as a fraction of Eigen's GEMM.
    state.counters["of_peak"] =
        benchmark::Counter(total * 1e-9 / peak_gflops, benchmark::Counter::kIsRate);
  }
}

void eigen_gemm_peak(benchmark::State& state) {
  const Eigen::Index n = 1024;
  const matrix a = matrix::Random(n, n), b = matrix::Random(n, n);
  matrix c(n, n);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double flops =
      2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  // Google Benchmark calls this more than once; the best run is the peak.
  const double gflops = flops * static_cast<double>(state.iterations()) / seconds * 1e-9;
  if (gflops > peak_gflops) peak_gflops = gflops;
  set_flops(state, flops, false);
}

// A layer with a basis of exactly `rank` columns: threshold 1 on `rank` random inputs.
r::gradient_projection<float> make_gpm(std::size_t in, std::size_t rank) {
  r::gradient_projection<float> gpm({.threshold = 1.0}, in);
  const auto x = values(rank * in, 3);
  gpm.consolidate(continua::matrix_view<const float>(x.data(), rank, in));
  return gpm;
}

void continua_gpm_project(benchmark::State& state) {
  const auto out = static_cast<std::size_t>(state.range(0));
  const auto in = static_cast<std::size_t>(state.range(1));
  const auto rank = static_cast<std::size_t>(state.range(2));
  const auto gpm = make_gpm(in, rank);
  if (gpm.rank() != rank) state.SkipWithError("basis rank differs from the requested rank");
  auto g = values(out * in, 5);
  const continua::matrix_view<float> gv(g.data(), out, in);
  gpm.project(gv);  // first call sizes the workspace
  for (auto _ : state) {
    gpm.project(gv);
    benchmark::ClobberMemory();
  }
  set_flops(state, 4.0 * static_cast<double>(out * in * rank), true);
}

void eigen_expression_project(benchmark::State& state) {
  const auto out = static_cast<Eigen::Index>(state.range(0));
  const auto in = static_cast<Eigen::Index>(state.range(1));
  const auto rank = static_cast<Eigen::Index>(state.range(2));
  const auto gpm = make_gpm(static_cast<std::size_t>(in), static_cast<std::size_t>(rank));
  const Eigen::Map<const matrix> b(gpm.basis().data(), in, rank);
  auto gdata = values(static_cast<std::size_t>(out * in), 5);
  Eigen::Map<matrix> g(gdata.data(), out, in);
  for (auto _ : state) {
    g -= (g * b) * b.transpose();
    benchmark::ClobberMemory();
  }
  set_flops(state, 4.0 * static_cast<double>(out * in * rank), true);
}

void layer_sizes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t out : {256, 1024})
    for (const std::int64_t in : {784, 4096})
      for (const std::int64_t rank : {50, 500}) b->Args({out, in, rank});
  // Eigen runs its GEMMs on OpenMP threads: rates must be per wall-clock second.
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK(eigen_gemm_peak)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(continua_gpm_project)->Apply(layer_sizes);
BENCHMARK(eigen_expression_project)->Apply(layer_sizes);
// The machine's ceiling: the FMA register loop on 1 and 2 threads (bench/common/peak.hpp).
CONTINUA_BENCH_FMA_PEAK();
// The optimised-BLAS GEMM reference (the CONTINUA_WITH_BLAS backend) registers here.

BENCHMARK_MAIN();
