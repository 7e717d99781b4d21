// Metropolis-adjusted Langevin algorithm (MALA) over a batch of chains, preconditioned by the
// state's diagonal inverse mass. Roberts & Tweedie, Bernoulli 2(4), 1996.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "continua/config.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/langevin_proposal.hpp"

namespace continua::sample {

namespace detail {

// Per chain: the Metropolis-Hastings test of the Langevin proposal y against x, with
//   log q(b | a) = -sum_j (b_j - a_j + h m_j g_j(a))^2 / (4 h m_j),
//   log r = U(x) - U(y) + log q(x | y) - log q(y | x),
// summed in double in coordinate order (the same on every backend). Accepted chains keep the
// proposal; rejected and diverging ones (r NaN/Inf) get their current row copied back.
template <class T>
struct mala_accept {
  const T* x;
  const T* g;
  const T* u;
  T* y;
  T* gy;
  T* uy;
  const T* inverse_mass;
  std::size_t dim;
  double h;
  philox_key key;
  std::uint64_t uniform_offset;
  T* acceptance;
  std::uint8_t* accepted;
  std::uint8_t* diverging;
  T* energy_error;

  CONTINUA_HD void operator()(std::size_t c) const {
    const std::size_t row = c * dim;
    double forward = 0, backward = 0;  // sums of squares / m_j of the two transitions
    for (std::size_t j = 0; j < dim; ++j) {
      const double m = static_cast<double>(inverse_mass[j]);
      const double dx = static_cast<double>(y[row + j]) - static_cast<double>(x[row + j]);
      const double a = dx + h * m * static_cast<double>(g[row + j]);
      const double b = -dx + h * m * static_cast<double>(gy[row + j]);
      forward += a * a / m;
      backward += b * b / m;
    }
    const double log_ratio =
        (static_cast<double>(u[c]) - static_cast<double>(uy[c])) - (backward - forward) / (4.0 * h);
    const bool finite = is_finite(log_ratio);
    const double uniform = static_cast<double>(uniform_draw<T>(key, uniform_offset + c));
    const bool accept = finite && (log_ratio >= 0 || uniform < std::exp(log_ratio));
    acceptance[c] = !finite ? T(0) : log_ratio >= 0 ? T(1) : static_cast<T>(std::exp(log_ratio));
    accepted[c] = accept ? 1 : 0;
    diverging[c] = finite ? 0 : 1;
    energy_error[c] = finite ? static_cast<T>(-log_ratio) : T(0);
    if (!accept) {
      for (std::size_t j = 0; j < dim; ++j) {
        y[row + j] = x[row + j];
        gy[row + j] = g[row + j];
      }
      uy[c] = u[c];
    }
  }
};

}  // namespace detail

// Options of mala (see below).
struct mala_options {
  double step_size = 1e-2;  // h > 0 (initial; the state holds the current one)
};

// Langevin proposal y = x - h M^-1 dU/dx + sqrt(2 h M^-1) z, accepted with probability
// min(1, r) (Metropolis-Hastings), so the chains sample p ∝ exp(-U) exactly. A proposal with
// NaN/Inf energy or gradient is rejected and the chain marked diverging; the other chains go on.
// Acceptance tends to 0.574 at the optimal step in high dimension (Roberts & Rosenthal 1998).
//   auto k = mala({.step_size = 0.1});  auto s = k.init(x0, target);  k.step(s, target, key);
struct mala {
  mala_options opt;

  static constexpr std::string_view name = "continua::sample::mala";

  // Validates the options (invalid_argument naming the field).
  explicit mala(mala_options o = {}) : opt(o) {
    require_option(std::isfinite(opt.step_size) && opt.step_size > 0, name, "step_size",
                   opt.step_size, "must be finite and positive");
  }

  // A state for `positions` (chains x dim, row-major rank-2 tensor or matrix_view).
  template <tensor P, class F>
  auto init(P&& positions, F&& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    const matrix_view<const T, Space> x = as_matrix(positions);
    return make_chain_state<T, Space>(x, target, opt.step_size, "continua::sample::mala::init");
  }

  // One Metropolis-adjusted step of every chain with the noise of step s.steps of `key`
  // (chains x dim normals, then one uniform per chain). Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(chain_state<T, Space>& s, F&& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::mala::step";
    detail::require_steppable(s, context);
    const double h = s.step_size;
    const detail::step_noise draws =
        detail::noise_of_step<T>(key, s.steps, s.chains * s.dim, s.chains, context);
    detail::ensure_scratch(s);
    detail::propose_langevin(s, draws, static_cast<T>(h), static_cast<T>(std::sqrt(2.0 * h)));
    detail::evaluate_proposal(target, s);
    for_each_index(
        Space{}, static_cast<std::size_t>(s.chains),
        detail::mala_accept<T>{s.position.data(), s.gradient.data(), s.energy.data(),
                               s.proposal_position.data(), s.proposal_gradient.data(),
                               s.proposal_energy.data(), s.inverse_mass.data(),
                               static_cast<std::size_t>(s.dim), h, draws.key, draws.uniform_offset,
                               s.info.acceptance_probability.data(), s.info.accepted.data(),
                               s.info.diverging.data(), s.info.energy_error.data()});
    detail::swap_in_proposal(s);
    ++s.steps;
    return s.info;
  }
};

}  // namespace continua::sample
