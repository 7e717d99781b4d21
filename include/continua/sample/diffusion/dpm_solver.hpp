// DPM-Solver++(2M): the second-order multistep solver of the diffusion ODE in data-prediction
// form, with diffusers' DPMSolverMultistepScheduler semantics (dpmsolver++, midpoint, order 2).
// Lu, Zhou, Bao, Chen, Li & Zhu, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
// Probabilistic Models", 2022, Alg. 2.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
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

// The inference timesteps of diffusers' DPMSolverMultistepScheduler.set_timesteps (which differ
// from DDIM's: leading and linspace lay N + 1 points and drop the last): linspace
// round(linspace(0, T-1, N+1)) reversed without its 0; leading (N-i) floor(T/(N+1)) + offset for
// i < N; trailing as make_timesteps. Throws continua::invalid_argument unless 1 <= steps <= T and
// steps_offset >= 0.
inline std::vector<std::int64_t> make_dpm_solver_timesteps(
    std::size_t num_train_timesteps, std::size_t steps,
    timestep_spacing spacing = timestep_spacing::linspace, std::int64_t steps_offset = 0) {
  constexpr const char* ctx = "continua::sample::diffusion::make_dpm_solver_timesteps";
  require_option(num_train_timesteps >= 1, ctx, "num_train_timesteps", num_train_timesteps,
                 "must be at least 1");
  require_option(steps >= 1 && steps <= num_train_timesteps, ctx, "steps", steps,
                 "must be in [1, num_train_timesteps]");
  require_option(steps_offset >= 0, ctx, "steps_offset", steps_offset, "must be >= 0");
  if (spacing == timestep_spacing::trailing)
    return make_timesteps(num_train_timesteps, steps, spacing, steps_offset);
  std::vector<std::int64_t> ts;
  if (spacing == timestep_spacing::leading) {
    const std::size_t ratio = num_train_timesteps / (steps + 1);
    for (std::size_t i = steps; i >= 1; --i)
      ts.push_back(static_cast<std::int64_t>(i * ratio) + steps_offset);
    return ts;
  }
  // np.linspace(0, T-1, N+1) rounded half to even, reversed, the final 0 dropped.
  const double T = static_cast<double>(num_train_timesteps);
  const double step = (T - 1) / static_cast<double>(steps);
  for (std::size_t i = steps; i >= 1; --i) {
    const double v = i == steps ? T - 1 : static_cast<double>(i) * step;
    ts.push_back(static_cast<std::int64_t>(std::nearbyint(v)));
  }
  return ts;
}

// DPM-Solver++ options. The first step has no history and the last step (to sigma = 0,
// diffusers' final_sigmas_type "zero") is taken at first order, as in diffusers; with order 2 its
// lower_order_final changes nothing else.
struct dpm_solver_options {
  prediction_type prediction = prediction_type::epsilon;  // what the model returns
};

namespace detail {
// x0 = fx x + fm m;  x = A x + B x0 + C p;  p = x0   (p: the previous step's x0 prediction)
template <class T>
struct dpm_kernel {
  T* x;
  const T* m;
  T* p;
  T fx, fm, a, b, c;
  bool read_prev;  // false at step 0, where p holds anything (even NaN)
  CONTINUA_HD void operator()(std::size_t i) const {
    const T x0 = fx * x[i] + fm * m[i];
    x[i] = read_prev ? a * x[i] + b * x0 + c * p[i] : a * x[i] + b * x0;
    p[i] = x0;
  }
};
}  // namespace detail

// With alpha_i = sqrt(abar_i), sigma_i = sqrt(1 - abar_i), lambda_i = log(alpha_i / sigma_i),
// h = lambda_{i+1} - lambda_i and x0_i the data prediction at step i:
//   first order (step 0, and the last step):  x_{i+1} = (sigma_{i+1} / sigma_i) x_i
//                                             - alpha_{i+1} (e^-h - 1) x0_i
//   second order (midpoint), r = h_{i-1} / h:  D = x0_i + (x0_i - x0_{i-1}) / (2 r),
//                                             x_{i+1} = (sigma_{i+1} / sigma_i) x_i - alpha_{i+1}
//                                             (e^-h - 1) D
// The step after the last timestep goes to sigma = 0 (alpha = 1): x_N = x0_{N-1}. Each step is
// one pass over (x, m, x0_prev), the last holding the previous x0 prediction (the multistep state).
class dpm_solver {
 public:
  // Step i's coefficients: x0 = fx x + fm m; x' = a x + b x0 + c x0_prev.
  struct coefficients_t {
    double fx = 0, fm = 0, a = 0, b = 0, c = 0;
  };

  // Validates the timesteps (non-empty, decreasing, in [0, T)) and computes every step's
  // coefficients. Throws continua::invalid_argument otherwise.
  dpm_solver(const noise_schedule& schedule, std::vector<std::int64_t> timesteps,
             dpm_solver_options o = {})
      : options_(o), plan_(detail::make_plan(ctx_, schedule, std::move(timesteps), 1.0)) {
    const std::size_t n = steps();
    std::vector<double> lambda(n);
    for (std::size_t i = 0; i < n; ++i)
      lambda[i] = 0.5 * std::log(plan_.alpha_bar[i] / (1 - plan_.alpha_bar[i]));
    for (std::size_t i = 0; i < n; ++i) {
      const prediction_forms f = forms_of(o.prediction, plan_.alpha_bar[i]);
      coefficients_t c{f.x0.cx, f.x0.cm, 0, 1, 0};  // the last step: x_N = x0
      if (i + 1 < n) {
        const double ab = plan_.alpha_bar[i + 1];
        const double alpha_t = std::sqrt(ab), sigma_t = std::sqrt(1 - ab);
        const double sigma_s = std::sqrt(1 - plan_.alpha_bar[i]);
        const double h = lambda[i + 1] - lambda[i];
        const double em1 = std::expm1(-h);  // e^-h - 1
        c.a = sigma_t / sigma_s;
        c.b = -alpha_t * em1;
        if (i >= 1) {
          const double r = (lambda[i] - lambda[i - 1]) / h;
          // D = x0_i + (x0_i - x0_{i-1}) / (2 r)
          c.b = -alpha_t * em1 * (1 + 0.5 / r);
          c.c = alpha_t * em1 * 0.5 / r;
        }
      }
      coeffs_.push_back(c);
    }
  }

  // Number of steps N.
  std::size_t steps() const { return plan_.timesteps.size(); }
  // The inference timesteps, decreasing.
  const std::vector<std::int64_t>& timesteps() const { return plan_.timesteps; }
  // alpha-bar of timesteps()[i].
  double alpha_bar(std::size_t i) const { return plan_.alpha_bar.at(i); }
  // The options it was built with.
  const dpm_solver_options& options() const { return options_; }
  // Step i's coefficients.
  const coefficients_t& coefficients(std::size_t i) const { return coeffs_.at(i); }

  // Step i in place: x at timesteps()[i] moves to the next noise level given m = model(x,
  // timesteps()[i]); x0_prev holds the previous step's x0 prediction on entry (read from step 1
  // on) and this step's on exit. Throws, with x and x0_prev unchanged, for i >= steps(), sizes,
  // or a NaN/Inf in m.
  template <class X, class M, class P>
  requires same_kind_tensors<std::remove_cvref_t<X>, M> &&
      same_kind_tensors<M, std::remove_cvref_t<P>>
  void step(std::size_t i, X&& x, const M& m, P&& x0_prev) const {
    const std::string ctx = std::string(ctx_) + "::step";
    if (i >= steps())
      throw invalid_argument(ctx + ": step index " + std::to_string(i) +
                             " is not below steps() = " + std::to_string(steps()));
    require_same_size(ctx, "x", continua::size(x), "model_out", continua::size(m));
    require_same_size(ctx, "x", continua::size(x), "x0_prev", continua::size(x0_prev));
    if (const auto bad = find_non_finite(as_span(m)))
      throw non_finite_error(ctx,
                             "the model output at step " + std::to_string(i) + " (timestep " +
                                 std::to_string(plan_.timesteps[i]) + ")",
                             *bad);
    apply(i, x, m, x0_prev);
  }

  // The whole loop: x (batch x dim, x_T on entry) becomes the sample; scratch receives the model
  // output and x0_prev carries the multistep state (both x's type and size; their contents on
  // entry are ignored). Errors as ddim::sample: checked before the first step; a NaN/Inf from the
  // model names step, timestep and sample, with x the state passed to that call.
  template <class Model, class X, class E, class P>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<E>> &&
      same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<P>>
  void sample(Model&& model, X&& x, E&& scratch, P&& x0_prev, std::size_t batch) const {
    static_assert(model_for<Model, std::remove_cvref_t<X>, std::remove_cvref_t<E>>,
                  "continua::sample::diffusion: the model must be callable as model(const X& x, "
                  "std::int64_t t, E& out), writing its prediction for the batch x at timestep t "
                  "into out (X, E: the x and scratch tensor types)");
    const std::string ctx = std::string(ctx_) + "::sample";
    const std::size_t n = continua::size(x);
    const std::size_t dim = detail::sample_dim(ctx, n, batch);
    require_same_size(ctx, "x", n, "scratch", continua::size(scratch));
    require_same_size(ctx, "x", n, "x0_prev", continua::size(x0_prev));
    detail::require_finite_input(ctx, "x", x);
    for (std::size_t i = 0; i < steps(); ++i) {
      detail::call_model(ctx, model, std::as_const(x), plan_.timesteps[i], scratch, i, dim);
      apply(i, x, std::as_const(scratch), x0_prev);
    }
  }

 private:
  static constexpr const char* ctx_ = "continua::sample::diffusion::dpm_solver";

  template <class X, class M, class P>
  void apply(std::size_t i, X& x, const M& m, P& p) const {
    using T = value_t<M>;
    const coefficients_t& c = coeffs_[i];
    const std::size_t n = continua::size(x);
    if (n == 0) return;
    for_each_index(
        memory_space_t<M>{}, n,
        detail::dpm_kernel<T>{continua::data(x), continua::data(m), continua::data(p),
                              static_cast<T>(c.fx), static_cast<T>(c.fm), static_cast<T>(c.a),
                              static_cast<T>(c.b), static_cast<T>(c.c), c.c != 0.0});
  }

  dpm_solver_options options_;
  detail::timestep_plan plan_;
  std::vector<coefficients_t> coeffs_;
};

}  // namespace continua::sample::diffusion
