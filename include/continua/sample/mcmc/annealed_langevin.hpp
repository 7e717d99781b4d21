// Annealed Langevin dynamics over a noise ladder sigma_1 > ... > sigma_L, batched over chains.
// Song & Ermon, "Generative Modeling by Estimating Gradients of the Data Distribution", 2019.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/langevin_proposal.hpp"

namespace continua::sample {

// A noise-conditional target: called as target(positions, sigma, energies, gradients), the
// energy_target arguments with the noise level sigma (a double) between them. It evaluates
// U_sigma(x) = -log p_sigma(x) + const, the energy of the data perturbed by N(0, sigma^2 I), and
// its gradient (minus the score s(x, sigma) of Song & Ermon).
template <class F, class T, class Space>
concept noise_conditional_target = std::invocable < F&,
        matrix_view<const T, Space>,
double, span<T, Space>, matrix_view < T, Space >> ;

// An energy_target that evaluates a noise-conditional target at one fixed sigma.
template <class F>
struct at_noise_level {
  F* target;
  double sigma;

  // Forwards to (*target)(positions, sigma, energies, gradients).
  template <class T, class Space>
  void operator()(matrix_view<const T, Space> x, span<T, Space> e, matrix_view<T, Space> g) const {
    static_assert(noise_conditional_target<F, T, Space>,
                  "continua::sample::annealed_langevin: the target lacks operator()(positions, "
                  "double sigma, energies, gradients)");
    (*target)(x, sigma, e, g);
  }
};

// Options of annealed_langevin (see below).
struct annealed_langevin_options {
  std::vector<double> sigmas;         // sigma_1 > ... > sigma_L > 0, at least one
  std::size_t steps_per_level = 100;  // T > 0
  double epsilon = 2e-5;              // eps > 0: the step at the last level
};

// Song & Ermon's Algorithm 1: at level i (i = 0 .. L-1) with alpha_i = eps sigma_i^2 / sigma_L^2,
// T steps of x <- x - (alpha_i / 2) M^-1 dU_{sigma_i}/dx + sqrt(alpha_i M^-1) z. The state's
// step_size holds eps; step t of the state runs at level min(t / T, L - 1), so steps past L T
// keep sampling at sigma_L. Entering a new level re-evaluates the energies and gradients of the
// current positions at the new sigma before the move. No accept step; a proposal with NaN/Inf
// energy is refused (chain stays, marked diverging).
//   auto k = annealed_langevin({.sigmas = {1, 0.5, 0.1}, .steps_per_level = 50, .epsilon = 1e-3});
//   auto s = k.init(x0, target);  k.run(s, target, key);   // all L * T steps
struct annealed_langevin {
  annealed_langevin_options opt;

  static constexpr std::string_view name = "continua::sample::annealed_langevin";

  // Validates the options (invalid_argument naming the field).
  explicit annealed_langevin(annealed_langevin_options o) : opt(std::move(o)) {
    require_option(!opt.sigmas.empty(), name, "sigmas", 0.0, "must hold at least one level");
    for (std::size_t i = 0; i < opt.sigmas.size(); ++i) {
      require_option(std::isfinite(opt.sigmas[i]) && opt.sigmas[i] > 0, name, "sigmas",
                     opt.sigmas[i], "must be finite and positive");
      if (i > 0)
        require_option(opt.sigmas[i] < opt.sigmas[i - 1], name, "sigmas", opt.sigmas[i],
                       "must decrease strictly");
    }
    require_option(opt.steps_per_level > 0, name, "steps_per_level",
                   static_cast<double>(opt.steps_per_level), "must be positive");
    require_option(std::isfinite(opt.epsilon) && opt.epsilon > 0, name, "epsilon", opt.epsilon,
                   "must be finite and positive");
  }

  // Number of levels L.
  std::size_t levels() const { return opt.sigmas.size(); }
  // Steps of the whole ladder, L T.
  std::uint64_t total_steps() const {
    return static_cast<std::uint64_t>(levels()) * opt.steps_per_level;
  }
  // The level step t runs at.
  std::size_t level_of(std::uint64_t t) const {
    const std::uint64_t i = t / opt.steps_per_level;
    return i < levels() ? static_cast<std::size_t>(i) : levels() - 1;
  }
  // alpha_i / 2 for eps = step_size: the drift coefficient h of level i (noise sqrt(2 h)).
  double drift_at(double step_size, std::size_t level) const {
    const double r = opt.sigmas[level] / opt.sigmas.back();
    return 0.5 * step_size * r * r;
  }

  // A state for `positions` (chains x dim, row-major), evaluated at sigma_1.
  template <tensor P, class F>
  auto init(P&& positions, F& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    const matrix_view<const T, Space> x = as_matrix(positions);
    at_noise_level<F> bound{&target, opt.sigmas.front()};
    return make_chain_state<T, Space>(x, bound, opt.epsilon,
                                      "continua::sample::annealed_langevin::init");
  }

  // One step of every chain at level level_of(s.steps), with the normals of step s.steps of
  // `key`. Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(chain_state<T, Space>& s, F& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::annealed_langevin::step";
    detail::require_steppable(s, context);
    const std::size_t level = level_of(s.steps);
    const double h = drift_at(s.step_size, level);
    const detail::step_noise draws =
        detail::noise_of_step<T>(key, s.steps, s.chains * s.dim, 0, context);
    detail::ensure_scratch(s);
    at_noise_level<F> bound{&target, opt.sigmas[level]};
    if (s.steps > 0 && s.steps % opt.steps_per_level == 0 && s.steps < total_steps()) {
      // A new level: the stored energies and gradients belong to the previous sigma. Evaluated
      // into the scratch first, so a throwing target leaves the state as it was.
      const auto c = static_cast<std::size_t>(s.chains), d = static_cast<std::size_t>(s.dim);
      evaluate_target<T, Space>(bound, s.positions(), span<T, Space>(s.proposal_energy.data(), c),
                                matrix_view<T, Space>(s.proposal_gradient.data(), c, d));
      using std::swap;
      swap(s.energy, s.proposal_energy);
      swap(s.gradient, s.proposal_gradient);
    }
    detail::propose_langevin(s, draws, static_cast<T>(h), static_cast<T>(std::sqrt(2.0 * h)));
    detail::evaluate_proposal(bound, s);
    detail::accept_finite_proposals(s);
    ++s.steps;
    return s.info;
  }

  // Steps until the whole ladder has run (s.steps == L T); no-op when it already has.
  template <class T, class Space, class F>
  void run(chain_state<T, Space>& s, F& target, philox_key key) const {
    while (s.steps < total_steps()) step(s, target, key);
  }
};

}  // namespace continua::sample
