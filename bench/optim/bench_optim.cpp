// Adam step throughput: continua's fused chain vs a hand-fused OpenMP loop (the physical
// reference: 7 float streams per element) vs a naive Eigen implementation (three array
// expressions), in one binary. torch's CPU Adam is measured by bench/peers/torch_adam.py.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/stream_arrays.hpp"
#include "continua/optim.hpp"

namespace {

namespace o = continua::optim;

constexpr double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;

using continua_bench::make_array;
const auto set_counters = continua_bench::set_stream_counters;

// The exponent-field NaN/Inf test of core/finite.hpp by hand (one parallel read of the
// gradients, each thread's share as four interleaved streams of 1 KiB blocks, as the library
// reads it): with it in front of the hand loop, the least the default policy's step can cost.
enum class pre_check { none, exponent_max };
std::uint32_t hand_exponent_max(const float* x, std::size_t n) {
  constexpr std::uint32_t exponent = 0x7f800000u;
  std::uint32_t m = 0;
#pragma omp simd reduction(max : m)
  for (std::size_t i = 0; i < n; ++i)
    m = std::max(m, std::bit_cast<std::uint32_t>(x[i]) & exponent);
  return m;
}
bool hand_all_finite(const float* x, std::size_t n) {
  constexpr std::size_t streams = 4, block = 256;
  std::uint32_t m = 0;
#pragma omp parallel reduction(max : m)
  {
    const auto parts = static_cast<std::size_t>(omp_get_num_threads());
    const auto part = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t begin = n * part / parts, end = n * (part + 1) / parts;
    const std::size_t len = (end - begin) / (streams * block) * block;
    for (std::size_t i = 0; i < len; i += block)
      for (std::size_t s = 0; s < streams; ++s)
        m = std::max(m, hand_exponent_max(x + begin + s * len + i, block));
    m = std::max(m, hand_exponent_max(x + begin + streams * len, end - begin - streams * len));
  }
  return m != 0x7f800000u;
}

template <pre_check Check>
void hand_adam(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  auto p = make_array(n, 1.f), g = make_array(n, 0.5f), m = make_array(n, 0.f),
       v = make_array(n, 0.f);
  long t = 0;
  for (auto _ : state) {
    ++t;
    const float bc1 = static_cast<float>(1 - std::pow(b1, t));
    const float bc2s = static_cast<float>(std::sqrt(1 - std::pow(b2, t)));
    const float fb1 = b1, fb2 = b2, c1 = 1 - b1, c2 = 1 - b2, flr = lr, feps = eps;
    float *pp = p.data(), *pm = m.data(), *pv = v.data();
    const float* pg = g.data();
    if constexpr (Check != pre_check::none)
      if (!hand_all_finite(pg, n)) continue;
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
      const float mi = fb1 * pm[i] + c1 * pg[i];
      const float vi = fb2 * pv[i] + c2 * pg[i] * pg[i];
      pm[i] = mi;
      pv[i] = vi;
      pp[i] -= flr * (mi / bc1) / (std::sqrt(vi) / bc2s + feps);
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 7);  // reads p, g, m, v; writes p, m, v
}
void hand_fused_adam(benchmark::State& state) { hand_adam<pre_check::none>(state); }
// The same loop after the NaN/Inf test of the gradients (the default policy's work, by hand).
void hand_checked_adam(benchmark::State& state) { hand_adam<pre_check::exponent_max>(state); }

void naive_eigen_adam(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  Eigen::ArrayXf p = Eigen::ArrayXf::Constant(n, 1.f), g = Eigen::ArrayXf::Constant(n, 0.5f),
                 m = Eigen::ArrayXf::Zero(n), v = Eigen::ArrayXf::Zero(n);
  long t = 0;
  for (auto _ : state) {
    ++t;
    const float bc1 = static_cast<float>(1 - std::pow(b1, t));
    const float bc2s = static_cast<float>(std::sqrt(1 - std::pow(b2, t)));
    m = float(b1) * m + float(1 - b1) * g;
    v = float(b2) * v + float(1 - b2) * g.square();
    p -= float(lr) * (m / bc1) / (v.sqrt() / bc2s + float(eps));
    benchmark::ClobberMemory();
  }
  set_counters(state, static_cast<std::size_t>(n), 7);
}

template <class Chain>
void run_continua(benchmark::State& state, Chain opt, o::nan_policy policy) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  auto p = make_array(n, 1.f), g = make_array(n, 0.5f);
  opt.with_nan_policy(policy);
  auto s = opt.init(p);
  // first-touch the moments in parallel too
  for (auto _ : state) {
    opt.step(p, g, s);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 7);
}

void continua_adam(benchmark::State& state) {
  run_continua(state, o::adam({.lr = lr}), o::nan_policy::propagate);
}
void continua_adam_nan_checked(benchmark::State& state) {
  run_continua(state, o::adam({.lr = lr}), o::nan_policy::throw_error);
}
// clip_by_value + adam + decoupled decay + cosine learning rate: still one pass.
void continua_fused_chain(benchmark::State& state) {
  run_continua(state,
               o::chain(o::clip_by_value(1.0), o::scale_by_adam(), o::add_decayed_weights(1e-2),
                        o::scale_by_learning_rate(o::cosine_schedule(lr, 100000))),
               o::nan_policy::propagate);
}

// The NaN/Inf pre-pass of nan_policy::throw_error / skip_step alone (continua::all_finite over
// the gradients: one read stream), beside the passes it should keep pace with: a read-only pass
// (a float sum: one read stream) and a STREAM copy (one read and one write stream), and the
// per-element predicate reduction it replaced (issue 14). Each iteration takes the next of
// `rotation(n)` arrays, so every pass reads from memory as the Adam step does, not from the last
// level cache (2^25 floats are 128 MB; this machine's L3 holds 300 MB).
std::size_t rotation(std::size_t n) {
  constexpr std::size_t cold_bytes = std::size_t{768} << 20;
  return std::max<std::size_t>(2, cold_bytes / (n * sizeof(float)));
}
std::vector<std::vector<float>> make_arrays(std::size_t n, float value) {
  std::vector<std::vector<float>> a;
  for (std::size_t k = 0; k < rotation(n); ++k) a.push_back(make_array(n, value));
  return a;
}

void copy_floats(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto a = make_arrays(n, 0.5f);
  auto b = make_arrays(n, 0.f);
  std::size_t k = 0;
  for (auto _ : state) {
    const float* pa = a[k].data();
    float* pb = b[k].data();
    k = (k + 1) % a.size();
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) pb[i] = pa[i];
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2);
}

void read_floats(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto a = make_arrays(n, 0.5f);
  std::size_t k = 0;
  for (auto _ : state) {
    const float* pa = a[k].data();
    k = (k + 1) % a.size();
    float sum = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) sum += pa[i];
    benchmark::DoNotOptimize(sum);
  }
  set_counters(state, n, 1);
}

void continua_finite_check(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto g = make_arrays(n, 0.5f);
  std::size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(continua::all_finite(g[k]));
    k = (k + 1) % g.size();
  }
  set_counters(state, n, 1);
}

void predicate_finite_check(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto g = make_arrays(n, 0.5f);
  using backend = continua::kernel_backend<continua::host_space>;
  std::size_t k = 0;
  for (auto _ : state) {
    backend::raise_if(n, continua::detail::non_finite_at<float>{g[k].data()});
    benchmark::DoNotOptimize(backend::take_raised());
    k = (k + 1) % g.size();
  }
  set_counters(state, n, 1);
}

}  // namespace

#define CONTINUA_ADAM_SIZES \
  ->Arg(1 << 24)->Arg(1 << 25)->UseRealTime()->Unit(benchmark::kMillisecond)
BENCHMARK(hand_fused_adam) CONTINUA_ADAM_SIZES;
BENCHMARK(hand_checked_adam) CONTINUA_ADAM_SIZES;
BENCHMARK(continua_adam) CONTINUA_ADAM_SIZES;
BENCHMARK(continua_adam_nan_checked) CONTINUA_ADAM_SIZES;
BENCHMARK(continua_fused_chain) CONTINUA_ADAM_SIZES;
BENCHMARK(naive_eigen_adam) CONTINUA_ADAM_SIZES;
BENCHMARK(copy_floats) CONTINUA_ADAM_SIZES;
BENCHMARK(read_floats) CONTINUA_ADAM_SIZES;
BENCHMARK(continua_finite_check) CONTINUA_ADAM_SIZES;
BENCHMARK(predicate_finite_check) CONTINUA_ADAM_SIZES;

BENCHMARK_MAIN();
