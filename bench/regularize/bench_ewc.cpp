// EWC add_gradient throughput over 2^24 float parameters (separate mode after one task, and
// online mode after three) vs the hand-fused OpenMP loop g += lambda F (p - a), the physical
// reference: 4 float streams per element (read g, p, F, a; write g). Also the penalty (a
// read-only reduction over p, F, a) and observe (read g, read+write the accumulator).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstddef>
#include <vector>

#include "../common/stream_arrays.hpp"
#include "continua/regularize/ewc.hpp"

namespace {

namespace r = continua::regularize;

using continua_bench::make_array;
const auto set_counters = continua_bench::set_stream_counters;

void hand_fused_ewc_gradient(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  auto g = make_array(n, 0.f), p = make_array(n, 1.f), f = make_array(n, 0.5f),
       a = make_array(n, 0.9f);
  const float lambda = 1e-3f;
  for (auto _ : state) {
    float* pg = g.data();
    const float *pp = p.data(), *pf = f.data(), *pa = a.data();
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i)
      pg[i] += lambda * pf[i] * (pp[i] - pa[i]);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 4);
}

// A regularizer whose state was built (and first-touched) by the library itself.
r::ewc<std::vector<float>> trained(std::size_t n, r::ewc_mode mode, int tasks) {
  const auto p = make_array(n, 0.9f), g = make_array(n, 0.7f);
  r::ewc<std::vector<float>> reg({.strength = 1e-3, .mode = mode, .decay = 0.9}, p);
  for (int t = 0; t < tasks; ++t) {
    reg.observe(g);
    reg.consolidate(p);
  }
  return reg;
}

void run_gradient(benchmark::State& state, r::ewc_mode mode, int tasks) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto reg = trained(n, mode, tasks);
  auto g = make_array(n, 0.f);
  const auto p = make_array(n, 1.f);
  for (auto _ : state) {
    reg.add_gradient(p, g);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 4);
}

void continua_ewc_gradient_separate(benchmark::State& state) {
  run_gradient(state, r::ewc_mode::separate, 1);
}
void continua_ewc_gradient_online(benchmark::State& state) {
  run_gradient(state, r::ewc_mode::online, 3);
}
// Separate mode keeps one quadratic for any number of tasks: same cost after five.
void continua_ewc_gradient_separate_5_tasks(benchmark::State& state) {
  run_gradient(state, r::ewc_mode::separate, 5);
}

void continua_ewc_penalty(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto reg = trained(n, r::ewc_mode::separate, 1);
  const auto p = make_array(n, 1.f);
  for (auto _ : state) benchmark::DoNotOptimize(reg.penalty(p));
  set_counters(state, n, 3);
}

void continua_ewc_observe(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  auto reg = trained(n, r::ewc_mode::separate, 1);
  const auto g = make_array(n, 0.3f);
  for (auto _ : state) {
    reg.observe(g);  // includes the NaN check: one more read of g
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 4);
}

}  // namespace

#define CONTINUA_EWC_SIZES ->Arg(1 << 24)->UseRealTime()->Unit(benchmark::kMillisecond)
BENCHMARK(hand_fused_ewc_gradient) CONTINUA_EWC_SIZES;
BENCHMARK(continua_ewc_gradient_separate) CONTINUA_EWC_SIZES;
BENCHMARK(continua_ewc_gradient_online) CONTINUA_EWC_SIZES;
BENCHMARK(continua_ewc_gradient_separate_5_tasks) CONTINUA_EWC_SIZES;
BENCHMARK(continua_ewc_penalty) CONTINUA_EWC_SIZES;
BENCHMARK(continua_ewc_observe) CONTINUA_EWC_SIZES;

BENCHMARK_MAIN();
