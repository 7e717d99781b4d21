// Hamiltonian Monte Carlo over a batch of chains: leapfrog trajectories of L steps (optionally
// jittered per chain) with a diagonal mass matrix and a Metropolis test on the total energy.
// Duane et al., Phys. Lett. B 195, 1987; Neal, "MCMC using Hamiltonian dynamics", 2011.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "continua/config.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/core/vector_ops.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/leapfrog.hpp"

namespace continua::sample {

namespace detail {

// Sizes the trajectory scratch of a state (no-op when it already fits).
template <class T, class Space>
void ensure_trajectory_scratch(chain_state<T, Space>& s) {
  const auto c = static_cast<std::size_t>(s.chains);
  ensure_size(s.momentum, static_cast<std::size_t>(s.chains * s.dim));
  ensure_size(s.hamiltonian, 2 * c);
  ensure_size(s.stopped, c);
  ensure_size(s.leapfrog_steps, c);
}

// One call per Philox block of the step's normals: p_i = z_i / sqrt(m_j), momenta drawn from
// N(0, M) with M = diag(1 / inverse_mass).
template <class T>
struct draw_momenta {
  const T* inverse_mass;
  T* p;
  std::size_t n;
  std::size_t dim;
  philox_key key;
  std::uint64_t first_block;

  CONTINUA_HD void operator()(std::size_t b) const {
    constexpr unsigned per = draws_per_block<T>;
    T z[per];
    normals_from_block(random_block(key, first_block + b), z);
    std::size_t i = b * per;
    std::size_t j = i % dim;
    for (unsigned lane = 0; lane < per && i < n; ++lane, ++i) {
      p[i] = z[lane] / std::sqrt(inverse_mass[j]);
      if (++j == dim) j = 0;
    }
  }
};

// Per chain: its trajectory length, uniform on the integers [L - J, L] with J = floor(jitter L)
// (at most L - 1), from uniform `chains + c` of the step; L for every chain without jitter.
template <class T>
struct trajectory_length {
  std::uint32_t* length;
  std::uint32_t steps;
  std::uint32_t spread;  // J
  philox_key key;
  std::uint64_t offset;  // the step's uniform offset + chains

  CONTINUA_HD void operator()(std::size_t c) const {
    if (spread == 0) {
      length[c] = steps;
      return;
    }
    const double u = static_cast<double>(uniform_draw<T>(key, offset + c));
    auto cut = static_cast<std::uint32_t>(u * static_cast<double>(spread + 1));
    if (cut > spread) cut = spread;
    length[c] = steps - cut;
  }
};

// Per chain, after the trajectory: the Metropolis test on the energy error H(end) - H(start).
// A chain whose trajectory stopped (|error| > threshold or NaN/Inf) is diverging and stays, as
// does a rejected one (its proposal row gets the current row back).
template <class T>
struct hmc_accept {
  const T* x;
  const T* g;
  const T* u;
  T* y;
  T* gy;
  T* uy;
  const double* hamiltonian;
  const std::uint8_t* stopped;
  std::size_t chains;
  std::size_t dim;
  philox_key key;
  std::uint64_t uniform_offset;
  T* acceptance;
  std::uint8_t* accepted;
  std::uint8_t* diverging;
  T* energy_error;

  CONTINUA_HD void operator()(std::size_t c) const {
    const double error = hamiltonian[chains + c] - hamiltonian[c];
    const bool finite = is_finite(error);
    const bool diverged = stopped[c] != 0 || !finite;
    const double uniform = static_cast<double>(uniform_draw<T>(key, uniform_offset + c));
    const double ratio = error <= 0 ? 1.0 : std::exp(-error);
    const bool accept = !diverged && (error <= 0 || uniform < ratio);
    acceptance[c] = diverged ? T(0) : static_cast<T>(ratio);
    accepted[c] = accept ? 1 : 0;
    diverging[c] = diverged ? 1 : 0;
    energy_error[c] = finite ? static_cast<T>(error) : T(0);
    if (!accept) {
      for (std::size_t j = 0, r = c * dim; j < dim; ++j, ++r) {
        y[r] = x[r];
        gy[r] = g[r];
      }
      uy[c] = u[c];
    }
  }
};

}  // namespace detail

// Options of hmc (see below).
struct hmc_options {
  double step_size = 0.1;        // h > 0 (initial; the state holds the current one)
  std::uint32_t num_steps = 10;  // L >= 1 leapfrog steps per trajectory
  double jitter = 0;             // in [0, 1): each chain's L uniform on [L - floor(jitter L), L]
  double divergence_threshold = 1000;  // > 0: |H(end) - H(start)| beyond it marks a divergence
};

// Hamiltonian Monte Carlo: per step and chain, momenta p ~ N(0, M) (M = diag(1 / inverse_mass)),
// L leapfrog steps of the state's step size, and a Metropolis test accepting the end point with
// probability min(1, exp(H(start) - H(end))), H = U + p' M^-1 p / 2, so the chains sample
// p ∝ exp(-U) exactly. A trajectory whose energy error passes the divergence threshold or turns
// NaN/Inf stops there and the chain is marked diverging and stays; the other chains go on.
// Noise of step t (noise_of_step): chains x dim normals (the momenta), then 2 x chains uniforms
// (the accept test of chain c is uniform c, its jitter uniform chains + c). The trajectory
// evaluates the target once per leapfrog step for the whole batch; s.leapfrog_steps holds each
// chain's L of the last step. Target acceptance for step-size adaptation: 0.8.
//   auto k = hmc({.step_size = 0.2, .num_steps = 16});  auto s = k.init(x0, target);
//   const auto& info = k.step(s, target, key);
struct hmc {
  hmc_options opt;

  static constexpr std::string_view name = "continua::sample::hmc";

  // Validates the options (invalid_argument naming the field).
  explicit hmc(hmc_options o = {}) : opt(o) {
    require_option(std::isfinite(opt.step_size) && opt.step_size > 0, name, "step_size",
                   opt.step_size, "must be finite and positive");
    require_option(opt.num_steps >= 1, name, "num_steps", opt.num_steps, "must be at least 1");
    require_option(opt.jitter >= 0 && opt.jitter < 1, name, "jitter", opt.jitter,
                   "must be in [0, 1)");
    require_option(opt.divergence_threshold > 0 && !std::isnan(opt.divergence_threshold), name,
                   "divergence_threshold", opt.divergence_threshold, "must be positive");
  }

  // A state for `positions` (chains x dim, row-major rank-2 tensor or matrix_view).
  template <tensor P, class F>
  auto init(P&& positions, F&& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    const matrix_view<const T, Space> x = as_matrix(positions);
    auto s = make_chain_state<T, Space>(x, target, opt.step_size, "continua::sample::hmc::init");
    detail::ensure_trajectory_scratch(s);
    return s;
  }

  // One HMC transition of every chain with the noise of step s.steps of `key`. Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(chain_state<T, Space>& s, F&& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::hmc::step";
    detail::require_steppable(s, context);
    const auto c = static_cast<std::size_t>(s.chains), d = static_cast<std::size_t>(s.dim);
    const std::size_t n = c * d;
    const detail::step_noise draws = detail::noise_of_step<T>(key, s.steps, n, 2 * c, context);
    detail::ensure_scratch(s);
    detail::ensure_trajectory_scratch(s);
    constexpr std::uint64_t per = draws_per_block<T>;
    for_each_index(Space{}, static_cast<std::size_t>((n + per - 1) / per),
                   detail::draw_momenta<T>{s.inverse_mass.data(), s.momentum.data(), n, d,
                                           draws.key, draws.normal_offset / per});
    const auto spread = static_cast<std::uint32_t>(std::min<double>(
        std::floor(opt.jitter * static_cast<double>(opt.num_steps)), opt.num_steps - 1.0));
    for_each_index(Space{}, c,
                   detail::trajectory_length<T>{s.leapfrog_steps.data(), opt.num_steps, spread,
                                                draws.key, draws.uniform_offset + c});
    continua::copy(s.position, s.proposal_position);
    continua::copy(s.gradient, s.proposal_gradient);
    continua::copy(s.energy, s.proposal_energy);
    for_each_index(
        Space{}, c,
        detail::start_hamiltonian<T>{s.momentum.data(), s.energy.data(), s.inverse_mass.data(),
                                     s.hamiltonian.data(), s.stopped.data(), c, d});
    detail::run_trajectory<T, Space>(
        target,
        detail::trajectory_views<T, Space>{s.proposal_position.data(), s.momentum.data(),
                                           s.proposal_energy.data(), s.proposal_gradient.data(),
                                           s.inverse_mass.data(), c, d},
        detail::moving_chains{s.leapfrog_steps.data(), s.stopped.data(), opt.num_steps},
        s.stopped.data(), s.hamiltonian.data(), opt.divergence_threshold,
        static_cast<T>(s.step_size), opt.num_steps);
    for_each_index(
        Space{}, c,
        detail::hmc_accept<T>{s.position.data(), s.gradient.data(), s.energy.data(),
                              s.proposal_position.data(), s.proposal_gradient.data(),
                              s.proposal_energy.data(), s.hamiltonian.data(), s.stopped.data(), c,
                              d, draws.key, draws.uniform_offset,
                              s.info.acceptance_probability.data(), s.info.accepted.data(),
                              s.info.diverging.data(), s.info.energy_error.data()});
    detail::swap_in_proposal(s);
    ++s.steps;
    return s.info;
  }
};

}  // namespace continua::sample
