// Kernel-layer benchmarks: the STREAM triad and a dot product through continua::for_each_index /
// continua::dot next to the same loops written by hand with OpenMP, and a STREAM copy as the
// memory-bandwidth reference (McCalpin, "Memory Bandwidth and Machine Balance", 1995).
//
// Bytes counted per element: triad 12 (read b, c; write a), copy 8, dot 8. Write-allocate
// traffic (the read of a's cache line before it is written, 4 more bytes for triad and copy) is
// not counted, as in STREAM. Run with OMP_NUM_THREADS set to the core count.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#include "continua/core.hpp"

namespace {

constexpr std::size_t n = std::size_t{1} << 25;
constexpr float scalar = 3.0f;

struct free_deleter {
  void operator()(float* p) const { std::free(p); }
};
using array_ptr = std::unique_ptr<float[], free_deleter>;

// 64-byte aligned and first touched in parallel with the loops' static schedule, so each page
// is placed (NUMA) and faulted by the thread that later streams through it.
array_ptr allocate(float value) {
  auto* p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  if (p == nullptr) throw std::bad_alloc();
  const auto count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t i = 0; i < count; ++i) p[i] = value;
  return array_ptr(p);
}

// One set of arrays for the whole run: allocating 384 MiB per benchmark call would dominate the
// setup time and change page placement between cases.
struct arrays {
  array_ptr a = allocate(0.0f);
  array_ptr b = allocate(1.0f);
  array_ptr c = allocate(2.0f);
};
arrays& data() {
  static arrays d;
  return d;
}

struct triad_fn {
  float* a;
  const float* b;
  const float* c;
  float s;
  CONTINUA_HD void operator()(std::size_t i) const { a[i] = b[i] + s * c[i]; }
};

// Each loop is a separate non-inlined function so its code can be read in the disassembly.
[[gnu::noinline]] void triad_continua(float* a, const float* b, const float* c, float s) {
  continua::for_each_index(continua::host_space{}, n, triad_fn{a, b, c, s});
}

[[gnu::noinline]] void triad_hand(float* a, const float* b, const float* c, float s) {
  const auto count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel for simd schedule(static)
  for (std::ptrdiff_t i = 0; i < count; ++i) a[i] = b[i] + s * c[i];
}

[[gnu::noinline]] void copy_hand(float* a, const float* b) {
  const auto count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel for simd schedule(static)
  for (std::ptrdiff_t i = 0; i < count; ++i) a[i] = b[i];
}

[[gnu::noinline]] double dot_continua(const float* b, const float* c) {
  return continua::dot(continua::span<const float>(b, n), continua::span<const float>(c, n));
}

// Same arithmetic as continua::dot: float products formed and summed in double.
[[gnu::noinline]] double dot_hand(const float* b, const float* c) {
  const auto count = static_cast<std::ptrdiff_t>(n);
  double acc = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : acc)
  for (std::ptrdiff_t i = 0; i < count; ++i)
    acc += static_cast<double>(b[i]) * static_cast<double>(c[i]);
  return acc;
}

void set_bandwidth(benchmark::State& state, double bytes_per_element) {
  state.counters["bw"] = benchmark::Counter(bytes_per_element * static_cast<double>(n),
                                            benchmark::Counter::kIsIterationInvariantRate,
                                            benchmark::Counter::kIs1000);
  state.counters["threads"] = omp_get_max_threads();
}

void BM_triad_continua(benchmark::State& state) {
  auto& d = data();
  for (auto _ : state) {
    triad_continua(d.a.get(), d.b.get(), d.c.get(), scalar);
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 12);
}

void BM_triad_hand(benchmark::State& state) {
  auto& d = data();
  for (auto _ : state) {
    triad_hand(d.a.get(), d.b.get(), d.c.get(), scalar);
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 12);
}

void BM_copy_reference(benchmark::State& state) {
  auto& d = data();
  for (auto _ : state) {
    copy_hand(d.a.get(), d.b.get());
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 8);
}

void BM_dot_continua(benchmark::State& state) {
  auto& d = data();
  for (auto _ : state) benchmark::DoNotOptimize(dot_continua(d.b.get(), d.c.get()));
  set_bandwidth(state, 8);
}

void BM_dot_hand(benchmark::State& state) {
  auto& d = data();
  for (auto _ : state) benchmark::DoNotOptimize(dot_hand(d.b.get(), d.c.get()));
  set_bandwidth(state, 8);
}

// Both loops in every iteration, in alternating order, each timed on its own: drift in the
// machine's load hits both alike, so ratio (hand time / continua time = continua throughput
// relative to the hand loop) is steadier than the quotient of two separate benchmarks.
template <class Continua, class Hand>
void run_interleaved(benchmark::State& state, double bytes_per_element, Continua continua_run,
                     Hand hand_run) {
  using clock = std::chrono::steady_clock;
  double t_continua = 0, t_hand = 0;
  bool continua_first = true;
  for (auto _ : state) {
    double dt[2];
    for (int k = 0; k < 2; ++k) {
      const bool run_continua = (k == 0) == continua_first;
      const auto t0 = clock::now();
      if (run_continua)
        continua_run();
      else
        hand_run();
      benchmark::ClobberMemory();
      dt[run_continua ? 0 : 1] = std::chrono::duration<double>(clock::now() - t0).count();
    }
    t_continua += dt[0];
    t_hand += dt[1];
    continua_first = !continua_first;
    state.SetIterationTime(dt[0] + dt[1]);
  }
  const double bytes =
      bytes_per_element * static_cast<double>(n) * static_cast<double>(state.iterations());
  state.counters["continua_GBps"] = bytes / t_continua * 1e-9;
  state.counters["hand_GBps"] = bytes / t_hand * 1e-9;
  state.counters["ratio"] = t_hand / t_continua;
}

void BM_triad_ratio(benchmark::State& state) {
  auto& d = data();
  run_interleaved(
      state, 12, [&] { triad_continua(d.a.get(), d.b.get(), d.c.get(), scalar); },
      [&] { triad_hand(d.a.get(), d.b.get(), d.c.get(), scalar); });
}

void BM_dot_ratio(benchmark::State& state) {
  auto& d = data();
  run_interleaved(
      state, 8, [&] { benchmark::DoNotOptimize(dot_continua(d.b.get(), d.c.get())); },
      [&] { benchmark::DoNotOptimize(dot_hand(d.b.get(), d.c.get())); });
}

}  // namespace

// Real time: the work runs on an OpenMP team, so the main thread's CPU time means nothing.
BENCHMARK(BM_copy_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_triad_hand)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_triad_continua)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_triad_ratio)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_dot_hand)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_dot_continua)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_dot_ratio)->Unit(benchmark::kMillisecond)->UseManualTime();

BENCHMARK_MAIN();
