// Diffusion recovery likelihood: the noise ladder, the forward diffusion and the conditional
// Langevin sampler of Gao, Song, Poole, Wu & Kingma, ICLR 2021 (with an initializer hook).
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/core/vector_ops.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/langevin_proposal.hpp"

namespace continua::sample::ebm {

// A level-conditional energy: called as target(positions, level, energies, gradients), the
// energy_target arguments with the level t (std::size_t, 0-based) between them. It evaluates
// E_theta(y, t), the energy of y_t = sqrt(1 - sigma_t^2) x_t (the paper's -f_theta(y, t)).
template <class F, class T, class Space>
concept level_conditional_target = std::invocable<F&, matrix_view<const T, Space>, std::size_t,
                                                  span<T, Space>, matrix_view<T, Space>>;

// Options of recovery_likelihood (see below).
struct recovery_likelihood_options {
  std::vector<double> sigmas;       // sigma_t of levels t = 0 .. T-1, each in (0, 1)
  std::size_t langevin_steps = 30;  // K > 0 per conditional sample
  double step_coefficient = 0.1;    // b > 0: Langevin step s_t = b sigma_t
  // Also scale s_t^2 by c_t^2 = sigma_bar_t / sigma_bar_0, sigma_bar_t = sqrt(1 - prod_{i <= t}
  // (1 - sigma_i^2)) the marginal noise of x_{t+1}: larger steps at noisier levels, as the
  // authors' code does (ruiqigao/recovery_likelihood, model.py, p_sample_langevin).
  bool scale_by_marginal_noise = false;
};

namespace detail {

// noisy = a x + sigma z and scaled = a x per element, z from the stream's normals.
template <class T>
struct diffuse_sink {
  const T* x;
  T* scaled;
  T* noisy;
  T a;
  T sigma;
  CONTINUA_HD void operator()(std::size_t i, T z) const {
    const T y = a * x[i];
    scaled[i] = y;
    noisy[i] = y + sigma * z;
  }
};

// Adds the recovery term |y - noisy|^2 / (2 sigma^2) per chain and its gradient.
template <class T>
struct add_recovery_term {
  const T* y;
  const T* noisy;
  T* energy;
  T* gradient;
  std::size_t dim;
  T inv_var;  // 1 / sigma^2
  CONTINUA_HD void operator()(std::size_t c) const {
    T e = 0;
    for (std::size_t j = 0, r = c * dim; j < dim; ++j, ++r) {
      const T d = y[r] - noisy[r];
      e += d * d;
      gradient[r] += inv_var * d;
    }
    energy[c] += T(0.5) * inv_var * e;
  }
};

// x = y / a per element.
template <class T>
struct unscale {
  const T* y;
  T* x;
  T inv_a;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] = inv_a * y[i]; }
};

}  // namespace detail

// The conditional energy of y_t given x_{t+1} (= noisy):
//   U(y) = E_theta(y, t) + |y - x_{t+1}|^2 / (2 sigma_t^2),
// an energy_target built from a level-conditional target.
template <class F, class T, class Space>
struct conditional_energy {
  F* target;
  std::size_t level;
  const T* noisy;  // chains x dim
  double sigma;

  // Energies and gradients of E_theta(., level) plus the recovery term.
  void operator()(matrix_view<const T, Space> y, span<T, Space> e, matrix_view<T, Space> g) const {
    (*target)(y, level, e, g);
    for_each_index(Space{}, y.rows(),
                   detail::add_recovery_term<T>{y.data(), noisy, e.data(), g.data(), y.cols(),
                                                static_cast<T>(1.0 / (sigma * sigma))});
  }
};

// The initializer the paper uses: conditional chains start at the noisy point, y = x_{t+1}.
struct start_at_noisy {
  // Copies noisy into starts.
  template <class T, class Space>
  void operator()(matrix_view<const T, Space> noisy, std::size_t /*level*/,
                  matrix_view<T, Space> starts) const {
    continua::copy(noisy.flat(), starts.flat());
  }
};

// Diffusion recovery likelihood with T levels. Forward: x_{t+1} = sqrt(1 - sigma_t^2) x_t +
// sigma_t z. The EBM of level t models y_t = sqrt(1 - sigma_t^2) x_t; its recovery likelihood
// p(y_t | x_{t+1}) ∝ exp(-E_theta(y_t, t) - |x_{t+1} - y_t|^2 / (2 sigma_t^2)) is sampled by K
// Langevin steps y <- y - (s_t^2 / 2) dU/dy + s_t z with the paper's step rule s_t = b sigma_t
// (the recovery term then has the level-free drift coefficient b^2 / 2; the authors' runs use
// b^2 = 2e-4 on images and scale s_t^2 further by c_t^2, see scale_by_marginal_noise). The
// chains start at x_{t+1} as in the authors' code (start_at_noisy). Training level t:
//   rl.diffuse(x, t, y_data, noisy, key);             // positive y_t and its noisy x_{t+1}
//   rl.recover(noisy, t, energy, y_model, key2, init); // negative samples from the conditional
//   contrastive_divergence_gradient(model_at_t, y_data, y_model, grads);  opt.step(theta, grads);
// The initializer hook init(noisy, t, starts) proposes the chains' starts (start_at_noisy by
// default; a learned initializer network in the cooperative variant, Zhu et al. 2023). Each
// call draws from the start of `key`: give each call its own stream.
struct recovery_likelihood {
  recovery_likelihood_options opt;

  static constexpr std::string_view name = "continua::sample::ebm::recovery_likelihood";

  // Validates the options (invalid_argument naming the field).
  explicit recovery_likelihood(recovery_likelihood_options o) : opt(std::move(o)) {
    require_option(!opt.sigmas.empty(), name, "sigmas", 0.0, "must hold at least one level");
    for (double s : opt.sigmas)
      require_option(std::isfinite(s) && s > 0 && s < 1, name, "sigmas", s, "must lie in (0, 1)");
    require_option(opt.langevin_steps > 0, name, "langevin_steps",
                   static_cast<double>(opt.langevin_steps), "must be positive");
    require_option(std::isfinite(opt.step_coefficient) && opt.step_coefficient > 0, name,
                   "step_coefficient", opt.step_coefficient, "must be finite and positive");
  }

  // Number of levels T.
  std::size_t levels() const { return opt.sigmas.size(); }
  // sigma_t.
  double sigma(std::size_t t) const { return opt.sigmas.at(t); }
  // sqrt(1 - sigma_t^2), the scale of x_t in y_t and x_{t+1}.
  double scale(std::size_t t) const { return std::sqrt(1.0 - sigma(t) * sigma(t)); }
  // sigma_bar_t = sqrt(1 - prod_{i <= t} (1 - sigma_i^2)): the noise of x_{t+1} given x_0.
  double marginal_noise(std::size_t t) const {
    double keep = 1;
    for (std::size_t i = 0; i <= t; ++i) keep *= 1.0 - sigma(i) * sigma(i);
    return std::sqrt(1.0 - keep);
  }
  // The Langevin step s_t = b sigma_t (times c_t = sqrt(sigma_bar_t / sigma_bar_0) with
  // scale_by_marginal_noise): drift s_t^2 / 2, noise s_t.
  double langevin_step(std::size_t t) const {
    const double s = opt.step_coefficient * sigma(t);
    return opt.scale_by_marginal_noise ? s * std::sqrt(marginal_noise(t) / marginal_noise(0)) : s;
  }

  // scaled = sqrt(1 - sigma_t^2) x (the level's data y_t), noisy = scaled + sigma_t z (x_{t+1}),
  // z the first x.size() normals of key. All three of one size, type and space.
  template <tensor X, tensor Y, tensor N>
  void diffuse(const X& x, std::size_t level, Y&& scaled, N&& noisy, philox_key key) const {
    using T = value_t<X>;
    using Space = memory_space_t<X>;
    constexpr std::string_view context = "continua::sample::ebm::recovery_likelihood::diffuse";
    require(level < levels(), context, "level out of range");
    const std::size_t n = continua::size(x);
    require_same_size(context, "scaled", continua::size(scaled), "x", n);
    require_same_size(context, "noisy", continua::size(noisy), "x", n);
    for_each_normal_draw<T>(
        Space{}, key, 0, n,
        detail::diffuse_sink<T>{continua::data(x), continua::data(scaled), continua::data(noisy),
                                static_cast<T>(scale(level)), static_cast<T>(sigma(level))});
  }

  // K conditional Langevin steps of the chains `y` (rank-2 n x dim or matrix_view, row-major; in:
  // the starts, out: the samples) given `noisy` (x_{t+1}, same shape), with the normals of steps
  // first_step .. first_step + K - 1 of key (noise_of_step layout). Proposals with NaN/Inf energy
  // are refused per chain. Returns the number of refused proposals. Throws, with y unchanged,
  // on bad sizes, NaN/Inf starts or a bad level.
  template <tensor N, tensor Y, class F>
  std::size_t recover(const N& noisy, std::size_t level, F& target, Y&& y, philox_key key,
                      std::uint64_t first_step = 0) const {
    using T = value_t<N>;
    using Space = memory_space_t<N>;
    static_assert(level_conditional_target<F, T, Space>,
                  "continua::sample::ebm::recovery_likelihood: the target lacks "
                  "operator()(positions, std::size_t level, energies, gradients)");
    constexpr std::string_view context = "continua::sample::ebm::recovery_likelihood::recover";
    require(level < levels(), context, "level out of range");
    const matrix_view<T, Space> ym = as_matrix(y);
    const matrix_view<const T, Space> xm = as_matrix(noisy);
    require_same_size(context, "y's rows", ym.rows(), "noisy's rows", xm.rows());
    require_same_size(context, "y's columns", ym.cols(), "noisy's columns", xm.cols());
    require(xm.order() == layout::row_major, context, "noisy must be row-major");
    require_finite(context, "noisy", xm.flat());
    conditional_energy<F, T, Space> u{&target, level, xm.data(), sigma(level)};
    const double s = langevin_step(level);
    chain_state<T, Space> st =
        make_chain_state<T, Space>(matrix_view<const T, Space>(ym), u, 0.5 * s * s, context);
    std::size_t refused = 0;
    for (std::size_t k = 0; k < opt.langevin_steps; ++k) {
      const sample::detail::step_noise draws =
          sample::detail::noise_of_step<T>(key, first_step + k, st.chains * st.dim, 0, context);
      sample::detail::propose_langevin(st, draws, static_cast<T>(0.5 * s * s), static_cast<T>(s));
      sample::detail::evaluate_proposal(u, st);
      sample::detail::accept_finite_proposals(st);
      refused += diverging_count(st.info);
    }
    continua::copy(st.position, ym.flat());
    return refused;
  }

  // As recover, with the starts first written into y by init(noisy, level, y) (the initializer
  // hook: start_at_noisy, or a user's generator).
  template <tensor N, tensor Y, class F, class Init>
  requires(!std::is_integral_v<std::remove_cvref_t<Init>>) std::size_t
      recover(const N& noisy, std::size_t level, F& target, Y&& y, philox_key key, Init&& init,
              std::uint64_t first_step = 0)
  const {
    using T = value_t<N>;
    using Space = memory_space_t<N>;
    const matrix_view<T, Space> ym = as_matrix(y);
    init(matrix_view<const T, Space>(as_matrix(noisy)), level, ym);
    return recover(noisy, level, target, ym, key, first_step);
  }

  // Ancestral generation: x (n x dim; in: x_T, e.g. N(0, I) draws; out: x_0) goes down the
  // levels t = T-1 .. 0: y = recover(x, t) started by init, then x = y / sqrt(1 - sigma_t^2).
  // Level t uses steps (T-1-t) K .. of key. Returns the refused proposals over all levels.
  template <tensor X, class F, class Init = start_at_noisy>
  std::size_t generate(X&& x, F& target, philox_key key, Init&& init = {}) const {
    using T = value_t<X>;
    using Space = memory_space_t<X>;
    const matrix_view<T, Space> xm = as_matrix(x);
    buffer<T, Space> y(xm.size());
    std::size_t refused = 0;
    for (std::size_t i = 0; i < levels(); ++i) {
      const std::size_t t = levels() - 1 - i;
      const matrix_view<T, Space> ymv(y.data(), xm.rows(), xm.cols());
      refused += recover(matrix_view<const T, Space>(xm), t, target, ymv, key, init,
                         static_cast<std::uint64_t>(i) * opt.langevin_steps);
      for_each_index(Space{}, xm.size(),
                     detail::unscale<T>{y.data(), xm.data(), static_cast<T>(1.0 / scale(t))});
    }
    return refused;
  }
};

}  // namespace continua::sample::ebm
