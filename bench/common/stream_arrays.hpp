// Shared by the streaming (memory-bound) benchmarks: large float arrays and the GB/s counter.
// Bytes are counted as STREAM counts them (McCalpin, "STREAM", 1995): each array read or written
// once per element, write-allocate traffic excluded.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <vector>

namespace continua_bench {

// n floats near `value` (distinct per element, so nothing constant-folds), filled by an OpenMP
// loop with the static schedule the timed loops use.
inline std::vector<float> make_array(std::size_t n, float value) {
  std::vector<float> v(n);
  float* p = v.data();
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i)
    p[i] = value + 1e-7f * static_cast<float>(i % 1000);
  return v;
}

// "GB/s" (10^9 bytes/s) for `streams` float arrays of n elements per iteration, and the size.
inline void set_stream_counters(benchmark::State& state, std::size_t n, double streams) {
  const double bytes = streams * sizeof(float) * static_cast<double>(n);
  state.counters["GB/s"] =
      benchmark::Counter(bytes * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["params"] = static_cast<double>(n);
}

}  // namespace continua_bench
