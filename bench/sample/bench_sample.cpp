// One ULA or MALA step of chains x dim float chains on the quadratic energy U = |x|^2 / 2, by
// continua's kernels and by hand-fused loops that draw the same Philox normals (the reference a
// sampler step cannot beat: one pass over each chain's row, target fused in). The kernels add a
// pass for the target and one for the accept test; the ratio of the two is the overhead of
// keeping the target a separate user call.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "continua/core/random.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/sample/mcmc.hpp"

namespace {

namespace s = continua::sample;
constexpr double step_size = 0.05;
const continua::philox_key key{2026, 11};

// U = |x|^2 / 2 per chain, gradient x: what a user would write, parallel over chains.
struct isotropic_quadratic {
  void operator()(continua::matrix_view<const float> x, continua::span<float> e,
                  continua::matrix_view<float> g) const {
    const auto chains = static_cast<std::ptrdiff_t>(x.rows());
    const std::size_t dim = x.cols();
#pragma omp parallel for schedule(static) if (x.size() >= 32768)
    for (std::ptrdiff_t c = 0; c < chains; ++c) {
      const float* xc = x.data() + c * dim;
      float* gc = g.data() + c * dim;
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (std::size_t j = 0; j < dim; ++j) {
        gc[j] = xc[j];
        sum += xc[j] * xc[j];
      }
      e[c] = 0.5f * sum;
    }
  }
};

std::vector<float> start_positions(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = 0.5f * std::sin(0.37f * static_cast<float>(i % 977));
  return x;
}

void set_counters(benchmark::State& state, std::size_t chains, std::size_t dim) {
  state.counters["chains"] = static_cast<double>(chains);
  state.counters["dim"] = static_cast<double>(dim);
  state.counters["Mdraws/s"] = benchmark::Counter(
      static_cast<double>(chains * dim) * static_cast<double>(state.iterations()) * 1e-6,
      benchmark::Counter::kIsRate);
}

template <class Kernel>
void continua_step(benchmark::State& state, Kernel kernel) {
  const auto chains = static_cast<std::size_t>(state.range(0));
  const auto dim = static_cast<std::size_t>(state.range(1));
  isotropic_quadratic target;
  const auto x0 = start_positions(chains * dim);
  auto st = kernel.init(continua::as_matrix(x0, chains, dim), target);
  for (auto _ : state) {
    kernel.step(st, target, key);
    benchmark::ClobberMemory();
  }
  set_counters(state, chains, dim);
}

void continua_ula(benchmark::State& state) {
  continua_step(state, s::ula({.step_size = step_size}));
}
void continua_mala(benchmark::State& state) {
  continua_step(state, s::mala({.step_size = step_size}));
}

// The hand-fused state: positions, gradients (= positions here, kept as the kernels keep them),
// energies, a step counter; the same noise layout as the kernels (noise_of_step).
struct fused_chains {
  std::size_t chains, dim;
  std::vector<float> x, g, e, scratch;
  std::uint64_t steps = 0;
  fused_chains(std::size_t c, std::size_t d)
      : chains(c), dim(d), x(start_positions(c * d)), g(x), e(c), scratch(c * d) {
    for (std::size_t i = 0; i < c; ++i) {
      float sum = 0;
      for (std::size_t j = 0; j < d; ++j) sum += x[i * d + j] * x[i * d + j];
      e[i] = 0.5f * sum;
    }
  }
};

// ULA on U = |x|^2/2 in one pass: x' = x - h g + sqrt(2h) z, g' = x', e' = |x'|^2/2. Rows of 4k
// floats own whole Philox blocks; for dim 2 a block holds two chains.
void fused_ula_step(fused_chains& f) {
  const auto d =
      continua::sample::detail::noise_of_step<float>(key, f.steps, f.chains * f.dim, 0, "bench");
  const float h = step_size, noise = static_cast<float>(std::sqrt(2.0 * step_size));
  const std::uint64_t first = d.normal_offset / 4;
  float *x = f.x.data(), *g = f.g.data(), *e = f.e.data();
  const std::size_t dim = f.dim;
  const auto rows = static_cast<std::ptrdiff_t>(dim >= 4 ? f.chains : f.chains * dim / 4);
  const std::size_t width = dim >= 4 ? dim : 4;  // elements per parallel item
#pragma omp parallel for schedule(static) if (f.chains * dim >= 32768)
  for (std::ptrdiff_t r = 0; r < rows; ++r) {
    float* xr = x + r * width;
    float* gr = g + r * width;
    float sums[4] = {0, 0, 0, 0};
    for (std::size_t b = 0; b < width / 4; ++b) {
      float z[4];
      continua::normals_from_block(continua::random_block(key, first + r * (width / 4) + b), z);
      for (int l = 0; l < 4; ++l) {
        const std::size_t j = 4 * b + l;
        const float v = xr[j] - h * gr[j] + noise * z[l];
        xr[j] = v;
        gr[j] = v;
        sums[dim >= 4 ? 0 : l / dim] += v * v;
      }
    }
    if (dim >= 4) {
      e[r] = 0.5f * sums[0];
    } else {
      for (std::size_t k = 0; k < 4 / dim; ++k) e[r * (4 / dim) + k] = 0.5f * sums[k];
    }
  }
  ++f.steps;
}

// MALA on U = |x|^2/2 per row: the proposal, its energy and both transition sums in one pass
// (the row is written to scratch), the accept test, and a cache-hot copy for accepted chains.
void fused_mala_step(fused_chains& f) {
  const auto d = continua::sample::detail::noise_of_step<float>(key, f.steps, f.chains * f.dim,
                                                                f.chains, "bench");
  const double h = step_size;
  const float hf = step_size, noise = static_cast<float>(std::sqrt(2.0 * step_size));
  const std::uint64_t first = d.normal_offset / 4;
  float *x = f.x.data(), *g = f.g.data(), *e = f.e.data(), *y = f.scratch.data();
  const std::size_t dim = f.dim;
#pragma omp parallel for schedule(static) if (f.chains * dim >= 32768)
  for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(f.chains); ++c) {
    float* xc = x + c * dim;
    float* gc = g + c * dim;
    float* yc = y + c * dim;
    double forward = 0, backward = 0, ey = 0;
    for (std::size_t j0 = 0; j0 < dim; j0 += 4) {
      float z[4];
      const std::size_t i0 = c * dim + j0;  // block-aligned when dim >= 4; dim 2 shares blocks
      continua::normals_from_block(continua::random_block(key, first + i0 / 4), z);
      for (std::size_t l = 0; l < 4 && j0 + l < dim; ++l) {
        const std::size_t j = j0 + l;
        const float v = xc[j] - hf * gc[j] + noise * z[(i0 + l) % 4];
        yc[j] = v;
        const double dx = static_cast<double>(v) - xc[j];
        const double a = dx + h * gc[j], b = -dx + h * v;
        forward += a * a;
        backward += b * b;
        ey += static_cast<double>(v) * v;
      }
    }
    ey *= 0.5;
    const double log_ratio = (e[c] - ey) - (backward - forward) / (4 * h);
    const double u = continua::uniform_draw<float>(key, d.uniform_offset + c);
    if (log_ratio >= 0 || u < std::exp(log_ratio)) {
      for (std::size_t j = 0; j < dim; ++j) {
        xc[j] = yc[j];
        gc[j] = yc[j];
      }
      e[c] = static_cast<float>(ey);
    }
  }
  ++f.steps;
}

void hand_fused_ula(benchmark::State& state) {
  fused_chains f(static_cast<std::size_t>(state.range(0)),
                 static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) {
    fused_ula_step(f);
    benchmark::ClobberMemory();
  }
  set_counters(state, f.chains, f.dim);
}
void hand_fused_mala(benchmark::State& state) {
  fused_chains f(static_cast<std::size_t>(state.range(0)),
                 static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) {
    fused_mala_step(f);
    benchmark::ClobberMemory();
  }
  set_counters(state, f.chains, f.dim);
}

void grid(benchmark::internal::Benchmark* b) {
  for (long chains : {64L, 4096L, 65536L})
    for (long dim : {2L, 256L, 4096L}) b->Args({chains, dim});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(hand_fused_ula)->Apply(grid);
BENCHMARK(continua_ula)->Apply(grid);
BENCHMARK(hand_fused_mala)->Apply(grid);
BENCHMARK(continua_mala)->Apply(grid);

BENCHMARK_MAIN();
