// Where should a product leave Eigen for the BLAS (CONTINUA_BLAS_MIN_FLOPS, config.hpp)? Times
// one GEMM of a training-loop shape by eigen_backend (on the calling thread below
// CONTINUA_OMP_MIN_GEMM_FLOPS, split over continua's threads above) and by the BLAS's ?gemm_
// directly, each alone and each followed by a small OpenMP loop (an optimizer step over 2^16
// floats), the pattern of a training loop: a multithreaded BLAS's pool keeps spinning after the
// call and then competes with the OpenMP team for the cores. Run with
// --benchmark_enable_random_interleaving=true and repetitions on a shared machine. Shapes (m, n, k)
// = C (m x n) = A (m x k) B (k x n): the demo's and the Fashion-MNIST test's forward (rows x 10
// from 784 or 2048 features), their weight gradient, and cubes.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "continua/core/linalg.hpp"

namespace {

using continua::linalg::detail::eigen_backend;
enum class backend { eigen, blas };
enum class then { nothing, omp_loop };

template <class T>
std::vector<T> uniform(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(size);
  for (auto& x : v) x = T(dist(gen));
  return v;
}

// An elementwise update big enough for continua to share it among threads (2^16 > 32768).
void optimizer_like_loop(std::vector<float>& p, const std::vector<float>& g) {
  const auto n = static_cast<std::ptrdiff_t>(p.size());
#if CONTINUA_WITH_OPENMP
#pragma omp parallel for simd
#endif
  for (std::ptrdiff_t i = 0; i < n; ++i) p[i] = 0.999f * p[i] - 0.001f * g[i];
}

template <class T, backend B, then After>
void gemm_shape(benchmark::State& state) {
  const auto m = std::size_t(state.range(0)), n = std::size_t(state.range(1)),
             k = std::size_t(state.range(2));
  const std::vector<T> a = uniform<T>(m * k, 1), b = uniform<T>(k * n, 2);
  std::vector<T> c(m * n);
  std::vector<float> p(1 << 16, 1.f), g(1 << 16, 0.5f);
  const int im = int(m), in = int(n), ik = int(k);
  const char no = 'N';
  const T one(1), zero(0);
  for (auto _ : state) {
    if constexpr (B == backend::eigen)
      eigen_backend::gemm(false, false, m, n, k, one, a.data(), b.data(), zero, c.data());
    else if constexpr (std::is_same_v<T, float>)
      sgemm_(&no, &no, &im, &in, &ik, &one, a.data(), &im, b.data(), &ik, &zero, c.data(), &im, 1,
             1);
    else
      dgemm_(&no, &no, &im, &in, &ik, &one, a.data(), &im, b.data(), &ik, &zero, c.data(), &im, 1,
             1);
    if constexpr (After == then::omp_loop) optimizer_like_loop(p, g);
    benchmark::DoNotOptimize(c.data());
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
  state.counters["MFLOP"] = 2e-6 * double(m) * double(n) * double(k);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : std::vector<std::vector<std::int64_t>>{{128, 10, 784},
                                                              {10, 784, 128},
                                                              {256, 10, 2048},
                                                              {10, 2048, 256},
                                                              {128, 128, 128},
                                                              {256, 256, 256},
                                                              {384, 384, 384},
                                                              {512, 512, 512},
                                                              {1024, 1024, 1024}})
    b->Args(s);
  b->ArgNames({"m", "n", "k"})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

#define CONTINUA_BENCH_GEMM_SHAPE(T, after)                             \
  BENCHMARK(gemm_shape<T, backend::eigen, then::after>)->Apply(shapes); \
  BENCHMARK(gemm_shape<T, backend::blas, then::after>)->Apply(shapes)
CONTINUA_BENCH_GEMM_SHAPE(float, nothing);
CONTINUA_BENCH_GEMM_SHAPE(float, omp_loop);
CONTINUA_BENCH_GEMM_SHAPE(double, nothing);
CONTINUA_BENCH_GEMM_SHAPE(double, omp_loop);

BENCHMARK_MAIN();
