// Stochastic-gradient Langevin dynamics (SGLD) and its RMSprop-preconditioned variant (pSGLD),
// batched over chains. Welling & Teh, ICML 2011; Li, Chen, Carlson & Carin, AAAI 2016.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/langevin_proposal.hpp"

namespace continua::sample {

// Options of sgld (see below). The step of step t (t = state.steps) is
//   h_t = a (b + t)^-gamma,  a = state.step_size (initially step_size),
// constant when gamma = 0 (the default); Welling & Teh take gamma in (0.5, 1] so that
// sum h_t = inf and sum h_t^2 < inf.
struct sgld_options {
  double step_size = 1e-3;       // a > 0
  double schedule_offset = 1.0;  // b > 0 (only used when gamma > 0)
  double schedule_decay = 0.0;   // gamma in [0, 1]
};

namespace detail {

inline void validate_sgld_schedule(const sgld_options& o, std::string_view name) {
  require_option(std::isfinite(o.step_size) && o.step_size > 0, name, "step_size", o.step_size,
                 "must be finite and positive");
  require_option(std::isfinite(o.schedule_offset) && o.schedule_offset > 0, name, "schedule_offset",
                 o.schedule_offset, "must be finite and positive");
  require_option(std::isfinite(o.schedule_decay) && o.schedule_decay >= 0 && o.schedule_decay <= 1,
                 name, "schedule_decay", o.schedule_decay, "must lie in [0, 1]");
}

// h_t = a (b + t)^-gamma (a when gamma = 0, without evaluating the power).
inline double sgld_step_at(const sgld_options& o, double a, std::uint64_t t) {
  if (o.schedule_decay == 0) return a;
  return a * std::pow(o.schedule_offset + static_cast<double>(t), -o.schedule_decay);
}

}  // namespace detail

// SGLD: x <- x - h_t M^-1 g + sqrt(2 h_t M^-1) z, where g is the target's stochastic estimate of
// dU/dx (the target is a user callable that, on each call, evaluates the energy and gradient on
// its current minibatch, scaled by N / n, and may advance its minibatch cursor). In Welling &
// Teh's notation eps_t = 2 h_t: theta <- theta + eps_t/2 grad log p + N(0, eps_t). No accept
// step; a proposal with NaN/Inf energy is refused (chain stays, marked diverging).
//   auto k = sgld({.step_size = 1e-4});  auto s = k.init(x0, target);  k.step(s, target, key);
struct sgld {
  sgld_options opt;

  static constexpr std::string_view name = "continua::sample::sgld";

  // Validates the options (invalid_argument naming the field).
  explicit sgld(sgld_options o = {}) : opt(o) { detail::validate_sgld_schedule(opt, name); }

  // The step h_t of step t for a state whose step_size is a.
  double step_size_at(double a, std::uint64_t t) const { return detail::sgld_step_at(opt, a, t); }

  // A state for `positions` (chains x dim, row-major rank-2 tensor or matrix_view).
  template <tensor P, class F>
  auto init(P&& positions, F&& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    const matrix_view<const T, Space> x = as_matrix(positions);
    return make_chain_state<T, Space>(x, target, opt.step_size, "continua::sample::sgld::init");
  }

  // One step of every chain with the normals of step s.steps of `key`. Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(chain_state<T, Space>& s, F&& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::sgld::step";
    detail::require_steppable(s, context);
    const double h = step_size_at(s.step_size, s.steps);
    const detail::step_noise draws =
        detail::noise_of_step<T>(key, s.steps, s.chains * s.dim, 0, context);
    detail::ensure_scratch(s);
    detail::propose_langevin(s, draws, static_cast<T>(h), static_cast<T>(std::sqrt(2.0 * h)));
    detail::evaluate_proposal(target, s);
    detail::accept_finite_proposals(s);
    ++s.steps;
    return s.info;
  }
};

// Options of psgld (see below).
struct psgld_options {
  double step_size = 1e-3;       // a > 0, scheduled as in sgld_options
  double schedule_offset = 1.0;  // b > 0
  double schedule_decay = 0.0;   // gamma in [0, 1]
  double alpha = 0.99;           // RMSprop decay of V, in [0, 1)
  double lambda = 1e-5;          // diagonal bias of the preconditioner, > 0
};

// The chain state of psgld: chain_state plus V, the running average of squared gradients per
// chain and coordinate (chains x dim, zeros at init), checkpointed with the rest.
template <class T, class Space = host_space>
struct psgld_state : chain_state<T, Space> {
  static constexpr std::string_view checkpoint_kind = "sample.psgld_state";
  static constexpr std::uint32_t checkpoint_schema = 1;

  buffer<T, Space> square_average;       // V, chains x dim
  buffer<T, Space> next_square_average;  // scratch (not checkpointed)

  // The chain_state fields, then V.
  template <class V>
  void describe_state(V& v) {
    chain_state<T, Space>::describe_state(v);
    v.field("square_average", square_average, {this->chains, this->dim});
  }

  // chain_state's conditions, and V finite and >= 0 (an average of squares).
  void validate_state() const {
    chain_state<T, Space>::validate_state();
    const span<const T, Space> v(square_average.data(), square_average.size());
    require(!find_non_finite(v) && detail::min_of(square_average) >= T(0),
            "continua::sample::psgld_state::load", "square_average must be finite and >= 0");
  }
};

namespace detail {

// Per Philox block of the step's normals: V'_i = alpha V_i + (1 - alpha) g_i^2,
// G_i = 1 / (lambda + sqrt(V'_i)), y_i = x_i - h G_i g_i + sqrt(2 h G_i) z_i.
template <class T>
struct psgld_proposal_blocks {
  const T* x;
  const T* g;
  const T* v;
  T* v_next;
  T* y;
  std::size_t n;
  T h;
  T alpha;
  T lambda;
  philox_key key;
  std::uint64_t first_block;

  CONTINUA_HD void operator()(std::size_t b) const {
    constexpr unsigned per = draws_per_block<T>;
    T z[per];
    normals_from_block(random_block(key, first_block + b), z);
    std::size_t i = b * per;
    for (unsigned lane = 0; lane < per && i < n; ++lane, ++i) {
      const T vi = alpha * v[i] + (T(1) - alpha) * g[i] * g[i];
      const T G = T(1) / (lambda + std::sqrt(vi));
      v_next[i] = vi;
      y[i] = x[i] - h * G * g[i] + std::sqrt(T(2) * h * G) * z[lane];
    }
  }
};

}  // namespace detail

// pSGLD: per chain and coordinate, with g the (stochastic) gradient at the current point,
//   V <- alpha V + (1 - alpha) g^2,  G = 1 / (lambda + sqrt(V)),
//   x <- x - h_t G g + sqrt(2 h_t G) z.
// Li et al.'s extra drift Gamma_i = sum_j dG_ij/dx_j is omitted, as in the paper's experiments.
// G then follows the chain's recent gradients and the chains sample p only approximately: on a
// Gaussian posterior the variance came out ~16 % high at alpha = 0.99 and 2-4 % at 0.999
// (tests/sample/test_ebm.cpp), and smaller steps at fixed alpha did not help, so keep alpha
// near 1. The preconditioner takes the place of the state's inverse_mass, which pSGLD ignores.
// V is updated with the gradient of the current point before the move, from zeros at init (as
// RMSprop).
//   auto k = psgld({.step_size = 1e-4});  auto s = k.init(x0, target);  k.step(s, target, key);
struct psgld {
  psgld_options opt;

  static constexpr std::string_view name = "continua::sample::psgld";

  // Validates the options (invalid_argument naming the field).
  explicit psgld(psgld_options o = {}) : opt(o) {
    detail::validate_sgld_schedule(schedule(), name);
    require_option(std::isfinite(opt.alpha) && opt.alpha >= 0 && opt.alpha < 1, name, "alpha",
                   opt.alpha, "must lie in [0, 1)");
    require_option(std::isfinite(opt.lambda) && opt.lambda > 0, name, "lambda", opt.lambda,
                   "must be finite and positive");
  }

  // The step-size schedule part of the options.
  sgld_options schedule() const { return {opt.step_size, opt.schedule_offset, opt.schedule_decay}; }

  // The step h_t of step t for a state whose step_size is a.
  double step_size_at(double a, std::uint64_t t) const {
    return detail::sgld_step_at(schedule(), a, t);
  }

  // A state for `positions` (chains x dim, row-major rank-2 tensor or matrix_view), V = 0.
  template <tensor P, class F>
  auto init(P&& positions, F&& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    const matrix_view<const T, Space> x = as_matrix(positions);
    psgld_state<T, Space> s;
    static_cast<chain_state<T, Space>&>(s) =
        make_chain_state<T, Space>(x, target, opt.step_size, "continua::sample::psgld::init");
    s.square_average = buffer<T, Space>(static_cast<std::size_t>(s.chains * s.dim), T(0));
    return s;
  }

  // One step of every chain with the normals of step s.steps of `key`. V changes only when the
  // step completes (a throwing target leaves the state as it was). Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(psgld_state<T, Space>& s, F&& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::psgld::step";
    detail::require_steppable(s, context);
    const auto n = static_cast<std::size_t>(s.chains * s.dim);
    require_same_size(context, "square_average", s.square_average.size(), "chains * dim", n);
    const double h = step_size_at(s.step_size, s.steps);
    const detail::step_noise draws = detail::noise_of_step<T>(key, s.steps, n, 0, context);
    detail::ensure_scratch(s);
    detail::ensure_size(s.next_square_average, n);
    constexpr std::uint64_t per = draws_per_block<T>;
    for_each_index(Space{}, static_cast<std::size_t>((n + per - 1) / per),
                   detail::psgld_proposal_blocks<T>{
                       s.position.data(), s.gradient.data(), s.square_average.data(),
                       s.next_square_average.data(), s.proposal_position.data(), n,
                       static_cast<T>(h), static_cast<T>(opt.alpha), static_cast<T>(opt.lambda),
                       draws.key, draws.normal_offset / per});
    detail::evaluate_proposal(target, s);
    detail::accept_finite_proposals(s);
    using std::swap;
    swap(s.square_average, s.next_square_average);
    ++s.steps;
    return s.info;
  }
};

}  // namespace continua::sample
