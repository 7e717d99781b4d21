// Diffusion sampler overhead per step (everything but the model call), float32, batch x dim in
// {1, 64, 4096} x {2, 3x64x64}: continua's DDIM step (one affine pass plus the NaN/Inf check of
// the model output) and DDPM step (the same with Philox noise), each beside a hand-fused loop
// doing the same arithmetic with no check; and the whole DDIM loop (per-step overhead of sample())
// beside the hand loop. diffusers' step on the same arrays (torch CPU) is timed
// by bench/peers/diffusers_step.py.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/stream_arrays.hpp"
#include "continua/sample/diffusion.hpp"

namespace {

namespace dif = continua::sample::diffusion;
using continua_bench::make_array;
const auto set_counters = continua_bench::set_stream_counters;

std::size_t elements(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0)) * static_cast<std::size_t>(state.range(1));
}

const dif::noise_schedule& schedule() {
  static const dif::noise_schedule s;
  return s;
}

void hand_fused_ddim(benchmark::State& state) {
  const std::size_t n = elements(state);
  const dif::ddim sampler(schedule(), dif::make_timesteps(1000, 50));
  auto x = make_array(n, 0.5f), m = make_array(n, 0.1f);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = sampler.coefficients(i++ % 50);
    const float cx = static_cast<float>(c.cx), cm = static_cast<float>(c.cm);
    float* px = x.data();
    const float* pm = m.data();
#pragma omp parallel for simd schedule(static) if (n >= CONTINUA_OMP_MIN_SIZE)
    for (std::ptrdiff_t k = 0; k < static_cast<std::ptrdiff_t>(n); ++k)
      px[k] = cx * px[k] + cm * pm[k];
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3);
}

void continua_ddim(benchmark::State& state) {
  const std::size_t n = elements(state);
  const dif::ddim sampler(schedule(), dif::make_timesteps(1000, 50));
  auto x = make_array(n, 0.5f), m = make_array(n, 0.1f);
  std::size_t i = 0;
  for (auto _ : state) {
    sampler.step(i++ % 50, x, m);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3);
}

// The same Philox normals as the sampler (continua::for_each_normal_draw), fused by hand.
struct fused_noise {
  float* x;
  const float* m;
  float cx, cm, cz;
  void operator()(std::size_t k, float z) const { x[k] = cx * x[k] + cm * m[k] + cz * z; }
};

void hand_fused_ddpm(benchmark::State& state) {
  const std::size_t n = elements(state);
  const dif::ddpm sampler(schedule(), dif::make_timesteps(1000, 50));
  auto x = make_array(n, 0.5f), m = make_array(n, 0.1f);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t s = i++ % 49;  // steps with noise
    const auto& c = sampler.coefficients(s);
    continua::for_each_normal_draw<float>(
        continua::host_space{}, continua::philox_key{1, 0}, static_cast<std::uint64_t>(s) * n, n,
        fused_noise{x.data(), m.data(), static_cast<float>(c.cx), static_cast<float>(c.cm),
                    static_cast<float>(c.cz)});
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3);
}

void continua_ddpm(benchmark::State& state) {
  const std::size_t n = elements(state);
  const dif::ddpm sampler(schedule(), dif::make_timesteps(1000, 50));
  auto x = make_array(n, 0.5f), m = make_array(n, 0.1f);
  std::size_t i = 0;
  for (auto _ : state) {
    sampler.step(i++ % 49, x, m, continua::philox_key{1, 0});
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3);
}

// The whole sampling loop, 50 DDIM steps per iteration with a model that writes nothing (its
// buffer keeps what is there), x reset at the start of each iteration in both contenders: the
// per-step overhead a user sees. continua's loop on std::vector checks the model output and steps
// in one pass into the model's buffer and swaps the two; the hand loop steps in place unchecked.
constexpr std::size_t loop_steps = 50;

void hand_fused_ddim_loop(benchmark::State& state) {
  const std::size_t n = elements(state);
  const dif::ddim sampler(schedule(), dif::make_timesteps(1000, loop_steps));
  auto x = make_array(n, 0.5f), m = make_array(n, 0.1f);
  for (auto _ : state) {
    std::fill(x.begin(), x.end(), 0.5f);
    for (std::size_t i = 0; i < loop_steps; ++i) {
      const auto& c = sampler.coefficients(i);
      const float cx = static_cast<float>(c.cx), cm = static_cast<float>(c.cm);
      float* px = x.data();
      const float* pm = m.data();
#pragma omp parallel for simd schedule(static) if (n >= CONTINUA_OMP_MIN_SIZE)
      for (std::ptrdiff_t k = 0; k < static_cast<std::ptrdiff_t>(n); ++k)
        px[k] = cx * px[k] + cm * pm[k];
      benchmark::ClobberMemory();
    }
  }
  set_counters(state, n * loop_steps, 3);
}

void continua_ddim_loop(benchmark::State& state) {
  const std::size_t n = elements(state);
  const dif::ddim sampler(schedule(), dif::make_timesteps(1000, loop_steps));
  auto x = make_array(n, 0.5f), m = make_array(n, 0.1f);
  const auto model = [](const std::vector<float>&, std::int64_t, std::vector<float>&) {};
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::fill(x.begin(), x.end(), 0.5f);
    sampler.sample(model, x, m, batch);
    benchmark::ClobberMemory();
  }
  set_counters(state, n * loop_steps, 3);
}

#define CONTINUA_DIFFUSION_SIZES \
  ->ArgsProduct({{1, 64, 4096}, {2, 3 * 64 * 64}})->ArgNames({"batch", "dim"})

BENCHMARK(hand_fused_ddim) CONTINUA_DIFFUSION_SIZES;
BENCHMARK(continua_ddim) CONTINUA_DIFFUSION_SIZES;
BENCHMARK(hand_fused_ddpm) CONTINUA_DIFFUSION_SIZES;
BENCHMARK(continua_ddpm) CONTINUA_DIFFUSION_SIZES;
BENCHMARK(hand_fused_ddim_loop) CONTINUA_DIFFUSION_SIZES;
BENCHMARK(continua_ddim_loop) CONTINUA_DIFFUSION_SIZES;

}  // namespace

BENCHMARK_MAIN();
