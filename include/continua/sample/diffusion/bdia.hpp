// BDIA: DDIM sampling by bi-directional integration approximation, exactly invertible from its
// last two states (diffusion inversion without fixed-point iterations).
// Zhang, Lewis & Kleijn, "Exact Diffusion Inversion via Bi-directional Integration Approximation",
// ECCV 2024, Eq. 12-16.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/sample/diffusion/prediction.hpp"
#include "continua/sample/diffusion/sampler_base.hpp"
#include "continua/sample/diffusion/schedule.hpp"

namespace continua::sample::diffusion {

// BDIA options.
struct bdia_options {
  double gamma = 1.0;  // weight of the backward integration, in (0, 1]; gamma -> 0 is DDIM
  prediction_type prediction = prediction_type::epsilon;  // what the model returns
  bool set_alpha_to_one = true;  // alpha-bar past the last timestep: 1, or alpha-bar_0 if false
};

namespace detail {
// k = 0: prev = x, x = cx x + cm m (plain DDIM).
template <class T>
struct bdia_first_kernel {
  T* x;
  T* prev;
  const T* m;
  T cx, cm;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T xi = x[i];
    prev[i] = xi;
    x[i] = cx * xi + cm * m[i];
  }
};
// k >= 1: (x, prev) = (gamma prev + cx x + cm m, x).
template <class T>
struct bdia_kernel {
  T* x;
  T* prev;
  const T* m;
  T gamma, cx, cm;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T xi = x[i];
    x[i] = gamma * prev[i] + cx * xi + cm * m[i];
    prev[i] = xi;
  }
};
// The inverse of bdia_kernel: (x, prev) = (prev, (x - cx prev - cm m) / gamma), m at prev.
template <class T>
struct bdia_inverse_kernel {
  T* x;
  T* prev;
  const T* m;
  T gamma, cx, cm;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T pi = prev[i];
    prev[i] = (x[i] - cx * pi - cm * m[i]) / gamma;
    x[i] = pi;
  }
};
template <class T>
struct swap_kernel {
  T* a;
  T* b;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
};
}  // namespace detail

// States s_0 (x_T, at timesteps[0]) .. s_N (the sample, at alpha-bar 1 or alpha-bar_0). With
// D(k -> j) the DDIM (eta = 0) step from s_k at timesteps[k] to the noise level of j, all with
// the one model output m_k = model(s_k, timesteps[k]):
//   s_1     = s_0 + D(0 -> 1)                                           (plain DDIM)
//   s_{k+1} = gamma s_{k-1} + (1 - gamma) s_k - gamma D(k -> k-1) + D(k -> k+1),   k >= 1
// (the paper's z_{i-1} = gamma z_{i+1} + (1 - gamma) z_i - gamma D_back + D_fwd, with i = N - k).
// Each such step is affine in (s_{k-1}, s_k, m_k), so s_{k-1} follows from (s_k, s_{k+1}) and
// one model call: sampling keeps the last two states, and invert walks back from them to s_0
// exactly up to rounding, which the division by gamma amplifies by up to gamma^-N.
class bdia {
 public:
  // Validates everything and computes every step's coefficients. Throws continua::invalid_argument
  // for empty, non-decreasing or out-of-range timesteps, or gamma outside (0, 1].
  bdia(const noise_schedule& schedule, std::vector<std::int64_t> timesteps, bdia_options o = {})
      : options_(o),
        plan_(detail::make_plan(ctx_, schedule, std::move(timesteps),
                                o.set_alpha_to_one ? 1.0 : schedule.alphas_cumprod()[0])) {
    require_option(std::isfinite(o.gamma) && o.gamma > 0 && o.gamma <= 1, ctx_, "gamma", o.gamma,
                   "must be in (0, 1]");
    for (std::size_t k = 0; k < steps(); ++k) {
      const prediction_forms f = forms_of(o.prediction, plan_.alpha_bar[k]);
      // DDIM to noise level abar, as (x, m) coefficients: sqrt(abar) x0 + sqrt(1 - abar) eps.
      auto to = [&](double abar) {
        const double a = std::sqrt(abar), b = std::sqrt(1 - abar);
        return linear_form{a * f.x0.cx + b * f.eps.cx, a * f.x0.cm + b * f.eps.cm};
      };
      const linear_form fwd = to(plan_.next_alpha_bar(k));
      if (k == 0) {
        coeffs_.push_back(fwd);
      } else {
        const linear_form back = to(plan_.alpha_bar[k - 1]);
        coeffs_.push_back({fwd.cx - o.gamma * back.cx, fwd.cm - o.gamma * back.cm});
      }
    }
  }

  // Number of steps N.
  std::size_t steps() const { return plan_.timesteps.size(); }
  // The inference timesteps, decreasing.
  const std::vector<std::int64_t>& timesteps() const { return plan_.timesteps; }
  // The options it was built with.
  const bdia_options& options() const { return options_; }
  // Step k's (x, m) coefficients: of s_k for k = 0, of s_k after gamma s_{k-1} for k >= 1.
  const linear_form& coefficients(std::size_t k) const { return coeffs_.at(k); }

  // gamma^-N: the factor by which inversion may amplify a rounding error (it divides by gamma
  // once per step). 1 for gamma = 1.
  double condition_estimate() const {
    return std::pow(options_.gamma, -static_cast<double>(steps()));
  }

  // Step k in place: on entry x = s_k, prev = s_{k-1} (ignored for k = 0), m = model(s_k,
  // timesteps()[k]); on exit x = s_{k+1}, prev = s_k. Throws, with x and prev unchanged, for
  // k >= steps(), mismatched sizes, or a NaN/Inf in m.
  template <class X, class P, class M>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<P>> &&
      same_kind_tensors<std::remove_cvref_t<X>, M>
  void step(std::size_t k, X&& x, P&& prev, const M& m) const {
    const std::string ctx = std::string(ctx_) + "::step";
    check_step(ctx, k, x, prev, m, "step index");
    apply_step(k, x, prev, m);
  }

  // The inverse of step k >= 1: on entry x = s_{k+1}, prev = s_k, m = model(s_k, timesteps()[k]);
  // on exit x = s_k, prev = s_{k-1}. Throws, with x and prev unchanged, for k = 0 (plain DDIM is
  // not invertible this way), k >= steps(), mismatched sizes, or a NaN/Inf in m.
  template <class X, class P, class M>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<P>> &&
      same_kind_tensors<std::remove_cvref_t<X>, M>
  void invert_step(std::size_t k, X&& x, P&& prev, const M& m) const {
    const std::string ctx = std::string(ctx_) + "::invert_step";
    check_step(ctx, k, x, prev, m, "step index");
    require(k >= 1, ctx, "step 0 is a plain DDIM step and has no exact inverse; invert steps >= 1");
    apply_inverse(k, x, prev, m);
  }

  // Samples: x = s_0 on entry (batch x dim), on exit x = s_N (the sample) and prev = s_{N-1},
  // the pair invert needs. model(x, t, scratch) writes the model output into scratch. Throws
  // before the first step on bad sizes or a non-finite x; a NaN/Inf from the model throws
  // continua::non_finite_error naming the step, timestep and sample, with (x, prev) the last
  // good pair (x the state passed to the failing call).
  template <class Model, class X, class P, class E>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<P>> &&
      same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<E>>
  void sample(Model&& model, X&& x, P&& prev, E&& scratch, std::size_t batch) const {
    static_assert(model_for<Model, std::remove_cvref_t<X>, std::remove_cvref_t<E>>,
                  "continua::sample::diffusion: the model must be callable as model(const X& x, "
                  "std::int64_t t, E& out), writing its prediction for the batch x at timestep t "
                  "into out (X, E: the x and scratch tensor types)");
    const std::string ctx = std::string(ctx_) + "::sample";
    const std::size_t dim = check_loop(ctx, x, prev, scratch, batch);
    detail::require_finite_input(ctx, "x", x);
    for (std::size_t k = 0; k < steps(); ++k) {
      detail::call_model(ctx, model, std::as_const(x), plan_.timesteps[k], scratch, k, dim);
      apply_step(k, x, prev, std::as_const(scratch));
    }
  }

  // Recovers s_0 (x_T) from the last two states: on entry x = s_N, prev = s_{N-1} (as sample left
  // them); on exit x = s_0 and prev = s_1. N - 1 model calls, at s_{N-1} .. s_1. Refused (throws
  // continua::invalid_argument before any work) when N < 2, when tolerance is not finite and
  // positive, or, for float32 data, when condition_estimate() x 6e-8 (the float32 unit roundoff)
  // exceeds `tolerance`, the relative error the caller needs: the inversion could not promise it.
  // Double data is inverted whatever the estimate (measured errors: docs/diffusion.md).
  // Model NaN/Inf: as in sample, with (x, prev) the last good pair.
  template <class Model, class X, class P, class E>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<P>> &&
      same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<E>>
  void invert(Model&& model, X&& x, P&& prev, E&& scratch, std::size_t batch,
              double tolerance) const {
    static_assert(model_for<Model, std::remove_cvref_t<X>, std::remove_cvref_t<E>>,
                  "continua::sample::diffusion: the model must be callable as model(const X& x, "
                  "std::int64_t t, E& out), writing its prediction for the batch x at timestep t "
                  "into out (X, E: the x and scratch tensor types)");
    using T = value_t<std::remove_cvref_t<X>>;
    const std::string ctx = std::string(ctx_) + "::invert";
    const std::size_t dim = check_loop(ctx, x, prev, scratch, batch);
    require(steps() >= 2, ctx, "inversion needs at least 2 steps (the first step is plain DDIM)");
    require_option(std::isfinite(tolerance) && tolerance > 0, ctx, "tolerance", tolerance,
                   "must be finite and > 0");
    const double unit = std::numeric_limits<T>::epsilon() / 2;
    const double expected = condition_estimate() * unit;
    if (sizeof(T) <= sizeof(float) && !(expected <= tolerance)) {
      std::ostringstream os;
      os << ctx << ": refused: inverting " << steps() << " steps with gamma = " << options_.gamma
         << " amplifies rounding by up to gamma^-N = " << condition_estimate() << "; with "
         << (sizeof(T) == 4 ? "float32" : "this type's") << " unit roundoff " << unit
         << " the error may reach " << expected << " > the requested tolerance " << tolerance
         << " (use double, a gamma closer to 1, or fewer steps)";
      throw invalid_argument(os.str());
    }
    detail::require_finite_input(ctx, "x", x);
    detail::require_finite_input(ctx, "prev", prev);
    for (std::size_t k = steps() - 1; k >= 1; --k) {
      detail::call_model(ctx, model, std::as_const(prev), plan_.timesteps[k], scratch, k, dim);
      apply_inverse(k, x, prev, std::as_const(scratch));
    }
    for_each_index(memory_space_t<std::remove_cvref_t<X>>{}, continua::size(x),
                   detail::swap_kernel<T>{continua::data(x), continua::data(prev)});
  }

 private:
  static constexpr const char* ctx_ = "continua::sample::diffusion::bdia";

  template <class X, class P, class M>
  void check_step(const std::string& ctx, std::size_t k, const X& x, const P& prev, const M& m,
                  const char*) const {
    if (k >= steps())
      throw invalid_argument(ctx + ": step index " + std::to_string(k) +
                             " is not below steps() = " + std::to_string(steps()));
    require_same_size(ctx, "x", continua::size(x), "prev", continua::size(prev));
    require_same_size(ctx, "x", continua::size(x), "model_out", continua::size(m));
    if (const auto bad = find_non_finite(as_span(m)))
      throw non_finite_error(ctx,
                             "the model output at step " + std::to_string(k) + " (timestep " +
                                 std::to_string(plan_.timesteps[k]) + ")",
                             *bad);
  }

  template <class X, class P, class E>
  std::size_t check_loop(const std::string& ctx, const X& x, const P& prev, const E& scratch,
                         std::size_t batch) const {
    const std::size_t n = continua::size(x);
    const std::size_t dim = detail::sample_dim(ctx, n, batch);
    require_same_size(ctx, "x", n, "prev", continua::size(prev));
    require_same_size(ctx, "x", n, "scratch", continua::size(scratch));
    require(continua::data(x) != continua::data(prev), ctx, "x and prev must be distinct tensors");
    return dim;
  }

  template <class X, class P, class M>
  void apply_step(std::size_t k, X& x, P& prev, const M& m) const {
    using T = value_t<M>;
    const linear_form& c = coeffs_[k];
    const std::size_t n = continua::size(x);
    if (k == 0)
      for_each_index(
          memory_space_t<M>{}, n,
          detail::bdia_first_kernel<T>{continua::data(x), continua::data(prev), continua::data(m),
                                       static_cast<T>(c.cx), static_cast<T>(c.cm)});
    else
      for_each_index(memory_space_t<M>{}, n,
                     detail::bdia_kernel<T>{continua::data(x), continua::data(prev),
                                            continua::data(m), static_cast<T>(options_.gamma),
                                            static_cast<T>(c.cx), static_cast<T>(c.cm)});
  }

  template <class X, class P, class M>
  void apply_inverse(std::size_t k, X& x, P& prev, const M& m) const {
    using T = value_t<M>;
    const linear_form& c = coeffs_[k];
    for_each_index(memory_space_t<M>{}, continua::size(x),
                   detail::bdia_inverse_kernel<T>{continua::data(x), continua::data(prev),
                                                  continua::data(m), static_cast<T>(options_.gamma),
                                                  static_cast<T>(c.cx), static_cast<T>(c.cm)});
  }

  bdia_options options_;
  detail::timestep_plan plan_;
  std::vector<linear_form> coeffs_;
};

}  // namespace continua::sample::diffusion
