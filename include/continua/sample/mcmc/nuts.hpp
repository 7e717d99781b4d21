// The No-U-Turn Sampler with multinomial sampling of the trajectory and the generalised no-U-turn
// criterion, per chain on the host, with a diagonal mass matrix. Hoffman & Gelman, JMLR 15, 2014;
// Betancourt, "A Conceptual Introduction to Hamiltonian Monte Carlo", arXiv:1701.02434, 2017.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/hmc.hpp"

namespace continua::sample {

namespace detail {

inline double log_sum_exp(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (b == -std::numeric_limits<double>::infinity()) return a;
  return a > b ? a + std::log1p(std::exp(b - a)) : b + std::log1p(std::exp(a - b));
}

// A point of phase space with its energy and gradient.
template <class T>
struct phase_point {
  std::vector<T> q, p, g;
  T u = 0;
  explicit phase_point(std::size_t d = 0) : q(d), p(d), g(d) {}
};

// One chain's NUTS transition (Stan's base_nuts, multinomial): the trajectory doubles forwards
// or backwards, a subtree is sampled in proportion to exp(-H) of its points (progressively biased
// towards the newer subtree at the top level), and doubling stops at the maximum depth, at a
// divergence (|H - H0| > threshold or NaN/Inf) or when the generalised no-U-turn criterion
// p#(minus) . rho <= 0 or p#(plus) . rho <= 0 fails across any merged subtrees (rho: the sum of
// the momenta, p# = M^-1 p). Uniforms come in order from the chain's range of the step's noise.
template <class T, class F>
class nuts_transition {
 public:
  using vec = std::vector<double>;

  nuts_transition(F& target, const T* inverse_mass, std::size_t dim, std::uint32_t max_depth,
                  double threshold)
      : target_(target),
        m_(inverse_mass),
        dim_(dim),
        max_depth_(max_depth),
        threshold_(threshold),
        levels_(max_depth + 1, level(dim)),
        z_(dim),
        z_fwd_(dim),
        z_bck_(dim),
        z_sample_(dim),
        z_propose_(dim) {
    for (vec* v : {&rho_, &rho_fwd_, &rho_bck_, &rho_ext_, &ps_fwd_bck_, &ps_fwd_fwd_, &ps_bck_fwd_,
                   &ps_bck_bck_, &p_fwd_bck_, &p_fwd_fwd_, &p_bck_fwd_, &p_bck_bck_})
      v->assign(dim, 0.0);
  }

  // What one transition reports.
  struct result {
    double acceptance;
    double energy_error;
    std::uint32_t depth;
    std::uint32_t leapfrogs;
    bool moved;
    bool divergent;
  };

  // From (q, u, g) with momenta p, step size h and the uniforms from `offset` of `key`; writes
  // the sampled point into q_out, u_out, g_out.
  result run(const T* q, const T* p, T u, const T* g, T h, philox_key key, std::uint64_t offset,
             T* q_out, T& u_out, T* g_out) {
    key_ = key;
    offset_ = offset;
    used_ = 0;
    h_ = h;
    leapfrogs_ = 0;
    divergent_ = false;
    sum_metro_ = 0;
    for (std::size_t j = 0; j < dim_; ++j) {
      z_.q[j] = q[j];
      z_.p[j] = p[j];
      z_.g[j] = g[j];
    }
    z_.u = u;
    h0_ = hamiltonian(z_);
    z_fwd_ = z_;
    z_bck_ = z_;
    z_sample_ = z_;
    z_propose_ = z_;
    bool moved = false;
    sharp(z_, ps_fwd_bck_);
    ps_fwd_fwd_ = ps_bck_fwd_ = ps_bck_bck_ = ps_fwd_bck_;
    for (std::size_t j = 0; j < dim_; ++j) p_fwd_bck_[j] = static_cast<double>(z_.p[j]);
    p_fwd_fwd_ = p_bck_fwd_ = p_bck_bck_ = rho_ = p_fwd_bck_;
    double log_sum_weight = 0;
    std::uint32_t depth = 0;
    while (depth < max_depth_) {
      zero(rho_fwd_);
      zero(rho_bck_);
      double subtree_weight = -std::numeric_limits<double>::infinity();
      bool valid;
      if (uniform() > 0.5) {
        z_ = z_fwd_;
        rho_bck_ = rho_;
        p_bck_fwd_ = p_fwd_bck_;
        ps_bck_fwd_ = ps_fwd_bck_;
        valid = build(depth, z_propose_, ps_fwd_bck_, ps_fwd_fwd_, rho_fwd_, p_fwd_bck_, p_fwd_fwd_,
                      h_, subtree_weight);
        z_fwd_ = z_;
      } else {
        z_ = z_bck_;
        rho_fwd_ = rho_;
        p_fwd_bck_ = p_bck_fwd_;
        ps_fwd_bck_ = ps_bck_fwd_;
        valid = build(depth, z_propose_, ps_bck_fwd_, ps_bck_bck_, rho_bck_, p_bck_fwd_, p_bck_bck_,
                      -h_, subtree_weight);
        z_bck_ = z_;
      }
      if (!valid) break;
      ++depth;
      if (subtree_weight > log_sum_weight ||
          uniform() < std::exp(subtree_weight - log_sum_weight)) {
        z_sample_ = z_propose_;
        moved = true;
      }
      log_sum_weight = log_sum_exp(log_sum_weight, subtree_weight);
      add(rho_bck_, rho_fwd_, rho_);
      bool persist = criterion(ps_bck_bck_, ps_fwd_fwd_, rho_);
      add(rho_bck_, p_fwd_bck_, rho_ext_);
      persist = persist && criterion(ps_bck_bck_, ps_fwd_bck_, rho_ext_);
      add(rho_fwd_, p_bck_fwd_, rho_ext_);
      persist = persist && criterion(ps_bck_fwd_, ps_fwd_fwd_, rho_ext_);
      if (!persist) break;
    }
    for (std::size_t j = 0; j < dim_; ++j) {
      q_out[j] = z_sample_.q[j];
      g_out[j] = z_sample_.g[j];
    }
    u_out = z_sample_.u;
    const double error = hamiltonian(z_sample_) - h0_;
    return {
        leapfrogs_ ? sum_metro_ / leapfrogs_ : 0.0, error, depth, leapfrogs_, moved, divergent_};
  }

  // Uniforms one transition may draw at most: a direction and a top-level choice per doubling,
  // and one choice per merge inside the subtrees (2^depth - 1 in all).
  static std::uint64_t uniforms_per_chain(std::uint32_t max_depth) {
    return (std::uint64_t{1} << max_depth) + 2u * max_depth;
  }

 private:
  // The workspace of one recursion depth (each depth has one active frame at a time).
  struct level {
    vec ps_init_end, p_init_end, rho_init, rho_final, ps_final_beg, p_final_beg, rho_subtree;
    phase_point<T> z_propose_final;
    explicit level(std::size_t d)
        : ps_init_end(d),
          p_init_end(d),
          rho_init(d),
          rho_final(d),
          ps_final_beg(d),
          p_final_beg(d),
          rho_subtree(d),
          z_propose_final(d) {}
  };

  static void zero(vec& v) {
    for (double& x : v) x = 0;
  }
  static void add(const vec& a, const vec& b, vec& out) {
    for (std::size_t j = 0; j < a.size(); ++j) out[j] = a[j] + b[j];
  }
  static bool criterion(const vec& ps_minus, const vec& ps_plus, const vec& rho) {
    double plus = 0, minus = 0;
    for (std::size_t j = 0; j < rho.size(); ++j) {
      plus += ps_plus[j] * rho[j];
      minus += ps_minus[j] * rho[j];
    }
    return plus > 0 && minus > 0;
  }

  double uniform() { return static_cast<double>(uniform_draw<T>(key_, offset_ + used_++)); }

  double hamiltonian(const phase_point<T>& z) const {
    double kinetic = 0;
    for (std::size_t j = 0; j < dim_; ++j) {
      const double pj = static_cast<double>(z.p[j]);
      kinetic += pj * pj * static_cast<double>(m_[j]);
    }
    return static_cast<double>(z.u) + 0.5 * kinetic;
  }

  void sharp(const phase_point<T>& z, vec& out) const {
    for (std::size_t j = 0; j < dim_; ++j)
      out[j] = static_cast<double>(m_[j]) * static_cast<double>(z.p[j]);
  }

  // One leapfrog step of size eps (negative: backwards in time), as the batched integrator does.
  void leapfrog(phase_point<T>& z, T eps) {
    const T half = eps / T(2);
    for (std::size_t j = 0; j < dim_; ++j) z.p[j] -= half * z.g[j];
    for (std::size_t j = 0; j < dim_; ++j) z.q[j] += eps * m_[j] * z.p[j];
    evaluate_target<T, host_space>(target_, matrix_view<const T, host_space>(z.q.data(), 1, dim_),
                                   span<T, host_space>(&z.u, 1),
                                   matrix_view<T, host_space>(z.g.data(), 1, dim_));
    for (std::size_t j = 0; j < dim_; ++j) z.p[j] -= half * z.g[j];
  }

  // Extends the trajectory from z_ by 2^depth leapfrog steps of size eps; samples z_propose
  // among the new points; returns false at a divergence or a U-turn inside the new subtree.
  bool build(std::uint32_t depth, phase_point<T>& z_propose, vec& ps_beg, vec& ps_end, vec& rho,
             vec& p_beg, vec& p_end, T eps, double& log_sum_weight) {
    if (depth == 0) {
      leapfrog(z_, eps);
      ++leapfrogs_;
      double h = hamiltonian(z_);
      if (std::isnan(h)) h = std::numeric_limits<double>::infinity();
      if (!(std::abs(h - h0_) <= threshold_)) divergent_ = true;
      log_sum_weight = log_sum_exp(log_sum_weight, h0_ - h);
      sum_metro_ += h0_ - h > 0 ? 1.0 : std::exp(h0_ - h);
      z_propose = z_;
      sharp(z_, ps_beg);
      ps_end = ps_beg;
      for (std::size_t j = 0; j < dim_; ++j) {
        rho[j] += static_cast<double>(z_.p[j]);
        p_beg[j] = static_cast<double>(z_.p[j]);
      }
      p_end = p_beg;
      return !divergent_;
    }
    level& l = levels_[depth];
    zero(l.rho_init);
    double weight_init = -std::numeric_limits<double>::infinity();
    if (!build(depth - 1, z_propose, ps_beg, l.ps_init_end, l.rho_init, p_beg, l.p_init_end, eps,
               weight_init))
      return false;
    zero(l.rho_final);
    double weight_final = -std::numeric_limits<double>::infinity();
    if (!build(depth - 1, l.z_propose_final, l.ps_final_beg, ps_end, l.rho_final, l.p_final_beg,
               p_end, eps, weight_final))
      return false;
    const double weight_subtree = log_sum_exp(weight_init, weight_final);
    log_sum_weight = log_sum_exp(log_sum_weight, weight_subtree);
    if (uniform() < std::exp(weight_final - weight_subtree)) z_propose = l.z_propose_final;
    add(l.rho_init, l.rho_final, l.rho_subtree);
    for (std::size_t j = 0; j < dim_; ++j) rho[j] += l.rho_subtree[j];
    bool persist = criterion(ps_beg, ps_end, l.rho_subtree);
    add(l.rho_init, l.p_final_beg, rho_ext_);
    persist = persist && criterion(ps_beg, l.ps_final_beg, rho_ext_);
    add(l.rho_final, l.p_init_end, rho_ext_);
    persist = persist && criterion(l.ps_init_end, ps_end, rho_ext_);
    return persist;
  }

  F& target_;
  const T* m_;
  std::size_t dim_;
  std::uint32_t max_depth_;
  double threshold_;
  std::vector<level> levels_;
  phase_point<T> z_, z_fwd_, z_bck_, z_sample_, z_propose_;
  vec rho_, rho_fwd_, rho_bck_, rho_ext_, ps_fwd_bck_, ps_fwd_fwd_, ps_bck_fwd_, ps_bck_bck_,
      p_fwd_bck_, p_fwd_fwd_, p_bck_fwd_, p_bck_bck_;
  philox_key key_{};
  std::uint64_t offset_ = 0, used_ = 0;
  T h_ = 0;
  double h0_ = 0, sum_metro_ = 0;
  std::uint32_t leapfrogs_ = 0;
  bool divergent_ = false;
};

}  // namespace detail

// Options of nuts (see below).
struct nuts_options {
  double step_size = 0.1;              // h > 0 (initial; the state holds the current one)
  std::uint32_t max_tree_depth = 10;   // in [1, 24]: at most 2^max_tree_depth - 1 leapfrogs
  double divergence_threshold = 1000;  // > 0: |H - H0| beyond it at any leapfrog point diverges
};

// The No-U-Turn Sampler (multinomial, as in Stan): per step and chain, momenta p ~ N(0, M), then
// a trajectory that doubles in a random direction until it turns back on itself (the generalised
// criterion of Betancourt 2017), reaches max_tree_depth or diverges; the next point is drawn
// from the trajectory with weights exp(-H). Chains run one by one on the host: the positions and
// the target must be in host memory (copy device chains with to_host). Info per chain: the
// acceptance statistic (mean of min(1, exp(H0 - H)) over the tree, what step-size adaptation
// targets, 0.8), accepted (the chain moved), diverging, energy_error = H(new) - H(old); and in the
// state s.tree_depth and s.leapfrog_steps of the last step. Noise of step t (noise_of_step):
// chains x dim normals (the momenta), then U = 2^max_tree_depth + 2 max_tree_depth uniforms per
// chain, chain c owning uniforms [c U, (c + 1) U), used in order.
//   auto k = nuts({.step_size = 0.5});  auto s = k.init(x0, target);  k.step(s, target, key);
struct nuts {
  nuts_options opt;

  static constexpr std::string_view name = "continua::sample::nuts";

  // Validates the options (invalid_argument naming the field).
  explicit nuts(nuts_options o = {}) : opt(o) {
    require_option(std::isfinite(opt.step_size) && opt.step_size > 0, name, "step_size",
                   opt.step_size, "must be finite and positive");
    require_option(opt.max_tree_depth >= 1 && opt.max_tree_depth <= 24, name, "max_tree_depth",
                   opt.max_tree_depth, "must be in [1, 24]");
    require_option(opt.divergence_threshold > 0 && !std::isnan(opt.divergence_threshold), name,
                   "divergence_threshold", opt.divergence_threshold, "must be positive");
  }

  // A state for `positions` (chains x dim, row-major rank-2 tensor or matrix_view, host memory).
  template <tensor P, class F>
  auto init(P&& positions, F&& target) const {
    using T = value_t<P>;
    using Space = memory_space_t<P>;
    check_space<Space>();
    const matrix_view<const T, Space> x = as_matrix(positions);
    auto s = make_chain_state<T, Space>(x, target, opt.step_size, "continua::sample::nuts::init");
    detail::ensure_trajectory_scratch(s);
    detail::ensure_size(s.tree_depth, static_cast<std::size_t>(s.chains));
    return s;
  }

  // One NUTS transition of every chain with the noise of step s.steps of `key`. Returns s.info.
  template <class T, class Space, class F>
  const step_info<T, Space>& step(chain_state<T, Space>& s, F&& target, philox_key key) const {
    constexpr std::string_view context = "continua::sample::nuts::step";
    check_space<Space>();
    detail::require_steppable(s, context);
    const auto c = static_cast<std::size_t>(s.chains), d = static_cast<std::size_t>(s.dim);
    const std::size_t n = c * d;
    const std::uint64_t per_chain =
        detail::nuts_transition<T, std::remove_reference_t<F>>::uniforms_per_chain(
            opt.max_tree_depth);
    const detail::step_noise draws = detail::noise_of_step<T>(
        key, s.steps, n, checked_mul(c, per_chain, context, "chains * uniforms per chain"),
        context);
    detail::ensure_scratch(s);
    detail::ensure_trajectory_scratch(s);
    detail::ensure_size(s.tree_depth, c);
    constexpr std::uint64_t per = draws_per_block<T>;
    for_each_index(Space{}, static_cast<std::size_t>((n + per - 1) / per),
                   detail::draw_momenta<T>{s.inverse_mass.data(), s.momentum.data(), n, d,
                                           draws.key, draws.normal_offset / per});
    detail::nuts_transition<T, std::remove_reference_t<F>> chain(
        target, s.inverse_mass.data(), d, opt.max_tree_depth, opt.divergence_threshold);
    const T h = static_cast<T>(s.step_size);
    for (std::size_t i = 0; i < c; ++i) {
      const std::size_t row = i * d;
      const auto r =
          chain.run(s.position.data() + row, s.momentum.data() + row, s.energy.data()[i],
                    s.gradient.data() + row, h, draws.key, draws.uniform_offset + i * per_chain,
                    s.proposal_position.data() + row, s.proposal_energy.data()[i],
                    s.proposal_gradient.data() + row);
      s.info.acceptance_probability.data()[i] = static_cast<T>(r.acceptance);
      s.info.accepted.data()[i] = r.moved ? 1 : 0;
      s.info.diverging.data()[i] = r.divergent ? 1 : 0;
      s.info.energy_error.data()[i] = static_cast<T>(r.energy_error);
      s.leapfrog_steps.data()[i] = r.leapfrogs;
      s.tree_depth.data()[i] = r.depth;
    }
    detail::swap_in_proposal(s);
    ++s.steps;
    return s.info;
  }

 private:
  template <class Space>
  static constexpr void check_space() {
    static_assert(std::is_same_v<Space, host_space>,
                  "continua::sample::nuts runs its chains one by one on the host: give it host "
                  "positions and a host target (copy device chains with to_host)");
  }
};

}  // namespace continua::sample
