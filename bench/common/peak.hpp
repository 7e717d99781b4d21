// The machine's arithmetic ceiling beside every compute-bound figure: a register-only FMA loop
// (no memory traffic) whose GFLOP/s is what one or two threads can do at most, so each kernel's
// rate reads as a fraction of the machine. Register it with CONTINUA_BENCH_FMA_PEAK().
#pragma once

#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>

namespace continua_bench {

// chains independent FMA chains of 64-byte vectors (GCC vector extension: AVX-512 under
// -march=native on a machine that has it, two 256-bit halves otherwise), enough to cover the FMA
// latency times the FMA ports. Each thread runs `steps` rounds; the result feeds
// DoNotOptimize, so no chain can be removed. Returns the flops done per thread.
template <class T>
double fma_register_loop(std::int64_t steps) {
  typedef T vec __attribute__((vector_size(64)));
  constexpr int chains = 12;
  constexpr int lanes = 64 / sizeof(T);
  vec acc[chains], mul, add;
  for (int l = 0; l < lanes; ++l) {
    mul[l] = T(0.999999);
    add[l] = T(1e-7);
  }
  for (int c = 0; c < chains; ++c) acc[c] = add * T(c + 1);
  benchmark::DoNotOptimize(mul);
  benchmark::DoNotOptimize(add);
  for (std::int64_t s = 0; s < steps; ++s)
#pragma GCC unroll 12
    for (int c = 0; c < chains; ++c) acc[c] = acc[c] * mul + add;
  vec sum = acc[0];
  for (int c = 1; c < chains; ++c) sum += acc[c];
  benchmark::DoNotOptimize(sum);
  return 2.0 * chains * lanes * static_cast<double>(steps);
}

// Google Benchmark case: the FMA peak of state.range(0) threads (an OpenMP team, each thread its
// own register loop), counter "GFLOP/s" per wall-clock second.
template <class T>
void fma_peak(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  constexpr std::int64_t steps = 1 << 24;
  double flops = 0;
  for (auto _ : state) {
    double round = 0;
#pragma omp parallel num_threads(threads) reduction(+ : round)
    round += fma_register_loop<T>(steps);
    flops += round;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
}

}  // namespace continua_bench

// The FMA peak on 1 and 2 threads, float64 and float32 (a few hundred ms each).
#define CONTINUA_BENCH_FMA_PEAK()             \
  BENCHMARK(continua_bench::fma_peak<double>) \
      ->Arg(1)                                \
      ->Arg(2)                                \
      ->UseRealTime()                         \
      ->Unit(benchmark::kMillisecond);        \
  BENCHMARK(continua_bench::fma_peak<float>)  \
      ->Arg(1)                                \
      ->Arg(2)                                \
      ->UseRealTime()                         \
      ->Unit(benchmark::kMillisecond)
