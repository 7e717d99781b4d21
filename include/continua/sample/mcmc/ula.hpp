// Unadjusted Langevin algorithm (ULA) over a batch of chains, with the noise scale free of the
// step size as energy-based-model training uses it. Roberts & Tweedie, Bernoulli 2(4), 1996.
#pragma once

#include <cmath>
#include <optional>
#include <string_view>

#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/langevin_proposal.hpp"

namespace continua::sample {

// Options of ula (see below).
struct ula_options {
  double step_size = 1e-2;  // h > 0 (initial; the state holds the current one)
  std::optional<double> noise_scale = std::nullopt;  // s >= 0; sqrt(2 h) when empty
};

// x <- x - h M^-1 dU/dx + s sqrt(M^-1) z with s = sqrt(2 h) unless noise_scale is given. No
// accept step, so the chains sample a biased distribution: for N(mu, s^2) the stationary
// variance is s^2 / (1 - h / (2 s^2)). A proposal with NaN/Inf energy is refused (the chain
// stays, marked diverging).
//   auto k = ula({.step_size = 1e-2});  auto s = k.init(x0, target);  k.step(s, target, key);
struct ula {
  ula_options opt;

  static constexpr std::string_view name = "continua::sample::ula";

  // Validates the options (invalid_argument naming the field).
  explicit ula(ula_options o = {}) : opt(o) {
    require_option(std::isfinite(opt.step_size) && opt.step_size > 0, name, "step_size",
                   opt.step_size, "must be finite and positive");
    if (opt.noise_scale)
      require_option(std::isfinite(*opt.noise_scale) && *opt.noise_scale >= 0, name, "noise_scale",
                     *opt.noise_scale, "must be finite and >= 0");
  }

  // A state for `positions` (chains x dim, row-major rank-2 tensor or matrix_view).
  template <tensor P, class F>
  auto init(P&& positions, F&& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    const matrix_view<const T, Space> x = as_matrix(positions);
    return make_chain_state<T, Space>(x, target, opt.step_size, "continua::sample::ula::init");
  }

  // One step of every chain; the noise is that of step s.steps of `key`. Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(chain_state<T, Space>& s, F&& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::ula::step";
    detail::require_steppable(s, context);
    const double h = s.step_size;
    const double noise = opt.noise_scale ? *opt.noise_scale : std::sqrt(2.0 * h);
    const detail::step_noise draws =
        detail::noise_of_step<T>(key, s.steps, s.chains * s.dim, 0, context);
    detail::ensure_scratch(s);
    detail::propose_langevin(s, draws, static_cast<T>(h), static_cast<T>(noise));
    detail::evaluate_proposal(target, s);
    detail::accept_finite_proposals(s);
    ++s.steps;
    return s.info;
  }
};

}  // namespace continua::sample
