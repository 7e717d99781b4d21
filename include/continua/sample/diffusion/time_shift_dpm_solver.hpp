// Time-shift sampling applied to DPM-Solver++(2M): the model is evaluated, per sample, at the
// timestep (within a window around the planned one) whose noise variance best matches the
// sample's own variance, and the multistep update starts from that noise level.
// Li, Qu, Yao, Sun & Moens, "Alleviating Exposure Bias in Diffusion Models through Sampling with
// Shifted Time Steps", ICLR 2024 (the rule, there for DDIM and DDPM); Lu et al., "DPM-Solver++",
// 2022, Alg. 2 (the update).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/sample/diffusion/prediction.hpp"
#include "continua/sample/diffusion/sampler_base.hpp"
#include "continua/sample/diffusion/schedule.hpp"
#include "continua/sample/diffusion/time_shift.hpp"

namespace continua::sample::diffusion {

// Options of time_shift_dpm_solver: the paper's window w and cutoff t_c, and the model's output.
struct time_shift_dpm_solver_options {
  std::size_t window = 10;    // candidates: timesteps within t +- window / 2 (clipped to [0, T))
  std::int64_t cutoff = 300;  // shift only while the planned timestep exceeds the cutoff
  prediction_type prediction = prediction_type::epsilon;
};

namespace detail {
// Per-row DPM-Solver++ pass, k = c + 5 (i / dim) = (fx, fm, a, b, cp):
// x0 = fx x + fm m;  x = a x + b x0 (+ cp p);  p = x0.
template <class T>
struct per_row_dpm_kernel {
  T* x;
  const T* m;
  T* p;
  const T* c;
  std::size_t dim;
  bool read_prev;  // false at step 0, where p holds anything (even NaN)
  CONTINUA_HD void operator()(std::size_t i) const {
    const T* k = c + 5 * (i / dim);
    const T x0 = k[0] * x[i] + k[1] * m[i];
    x[i] = read_prev ? k[2] * x[i] + k[3] * x0 + k[4] * p[i] : k[2] * x[i] + k[3] * x0;
    p[i] = x0;
  }
};
}  // namespace detail

// TS-DPM-Solver++(2M). Step i's planned timestep is t_i; from the second step on, while
// t_i > cutoff, sample b is taken to be at s_b (the rule of time_shift_ddim) and the model is
// called with s_b. With lambda(s) = log(sqrt(abar_s) / sqrt(1 - abar_s)), the step goes from
// lambda(s_b) to the planned lambda_{i+1}: h = lambda_{i+1} - lambda(s_b),
//   x0 = prediction at abar_{s_b},  x' = (sigma_{i+1} / sigma(s_b)) x - alpha_{i+1} (e^-h - 1) D,
//   D = x0 + (x0 - x0_prev) / (2 r),  r = (lambda(s_b) - lambda(s'_b)) / h,
// s'_b the level at which x0_prev was predicted (the previous step's s_b; D = x0 when s'_b = s_b).
// Step 0 and the last step are first order (D = x0; the last goes to sigma = 0: x_N = x0), as in
// dpm_solver. With no shift (cutoff >= every t_i) every coefficient equals dpm_solver's and the
// runs are bit-identical.
class time_shift_dpm_solver {
 public:
  // Throws continua::invalid_argument for bad timesteps (as dpm_solver).
  time_shift_dpm_solver(const noise_schedule& schedule, std::vector<std::int64_t> timesteps,
                        time_shift_dpm_solver_options o = {})
      : options_(o),
        alphas_cumprod_(schedule.alphas_cumprod()),
        plan_(detail::make_plan(ctx_, schedule, std::move(timesteps), 1.0)) {}

  // Number of steps N.
  std::size_t steps() const { return plan_.timesteps.size(); }
  // The planned inference timesteps, decreasing.
  const std::vector<std::int64_t>& timesteps() const { return plan_.timesteps; }
  // The options it was built with.
  const time_shift_dpm_solver_options& options() const { return options_; }

  // The shifted timestep for a sample of variance `var` at planned step i (time_shift_ddim's
  // rule).
  std::int64_t shifted_timestep(std::size_t i, double var) const {
    return detail::shifted_timestep(alphas_cumprod_, options_.window, options_.cutoff, i,
                                    plan_.timesteps.at(i), var);
  }

  // Step i's coefficients (fx, fm, a, b, cp) for a sample at timestep s whose previous x0 was
  // predicted at timestep s_prev (ignored at step 0 and the last step).
  std::array<double, 5> coefficients(std::size_t i, std::int64_t s, std::int64_t s_prev) const {
    const double as = alpha_bar_at(s);
    const prediction_forms f = forms_of(options_.prediction, as);
    std::array<double, 5> c{f.x0.cx, f.x0.cm, 0, 1, 0};  // the last step: x_N = x0
    if (i + 1 >= steps()) return c;
    const double ab = plan_.alpha_bar[i + 1];
    const double alpha_t = std::sqrt(ab), sigma_t = std::sqrt(1 - ab);
    const double sigma_s = std::sqrt(1 - as);
    const double lambda_s = lambda(as);
    const double h = lambda(ab) - lambda_s;
    const double em1 = std::expm1(-h);
    c[2] = sigma_t / sigma_s;
    c[3] = -alpha_t * em1;
    // Second order needs two distinct levels: when the previous shifted level is this one (a
    // window wider than the step spacing allows it) or h = 0, the step stays first order.
    if (i >= 1 && s != s_prev && h != 0.0) {
      const double r = (lambda_s - lambda(alpha_bar_at(s_prev))) / h;
      c[3] = -alpha_t * em1 * (1 + 0.5 / r);
      c[4] = alpha_t * em1 * 0.5 / r;
    }
    return c;
  }

  // Samples: x (batch x dim, dim >= 2, x_T on entry) becomes the sample; scratch receives the
  // model output and x0_prev carries the multistep state (x's type and size; contents on entry
  // ignored); model(x, t, scratch) gets one timestep per sample (std::span<const std::int64_t>).
  // If `chosen` is given it receives the timesteps used, steps() x batch (row i: step i).
  // Allocates 6 batch scalars in x's memory space. Errors as dpm_solver::sample.
  template <class Model, class X, class E, class P>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<E>> &&
      same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<P>>
  void sample(Model&& model, X&& x, E&& scratch, P&& x0_prev, std::size_t batch,
              std::vector<std::int64_t>* chosen = nullptr) const {
    static_assert(
        batch_timestep_model_for<Model, std::remove_cvref_t<X>, std::remove_cvref_t<E>>,
        "continua::sample::diffusion::time_shift_dpm_solver: the model must be callable as "
        "model(const X& x, std::span<const std::int64_t> t, E& out) with one timestep per sample");
    using XT = std::remove_cvref_t<X>;
    using T = value_t<XT>;
    using S = memory_space_t<XT>;
    const std::string ctx = std::string(ctx_) + "::sample";
    const std::size_t n = continua::size(x);
    const std::size_t dim = detail::sample_dim(ctx, n, batch);
    require(dim >= 2, ctx, "time shift needs at least 2 values per sample (a variance)");
    require_same_size(ctx, "x", n, "scratch", continua::size(scratch));
    require_same_size(ctx, "x", n, "x0_prev", continua::size(x0_prev));
    detail::require_finite_input(ctx, "x", x);
    buffer<double, S> var(batch);
    buffer<T, S> coef(5 * batch);
    std::vector<std::int64_t> ts(batch), prev_ts(batch);
    std::vector<T> host_coef(5 * batch);
    if (chosen) chosen->assign(steps() * batch, 0);
    for (std::size_t i = 0; i < steps(); ++i) {
      const std::int64_t t = plan_.timesteps[i];
      const bool shifting = i > 0 && t > options_.cutoff;
      std::vector<double> v;
      if (shifting) {
        for_each_index(S{}, batch,
                       detail::row_variance_kernel<T>{continua::data(x), continua::data(var), dim});
        v = var.to_host();
      }
      for (std::size_t b = 0; b < batch; ++b) ts[b] = shifting ? shifted_timestep(i, v[b]) : t;
      if (chosen)
        for (std::size_t b = 0; b < batch; ++b) (*chosen)[i * batch + b] = ts[b];
      model(std::as_const(x), std::span<const std::int64_t>(ts), scratch);
      if (const auto bad = find_non_finite(as_span(std::as_const(scratch))))
        throw non_finite_error(ctx,
                               "the model output at step " + std::to_string(i) + " (timestep " +
                                   std::to_string(ts[*bad / dim]) + ") for sample " +
                                   std::to_string(*bad / dim),
                               *bad);
      bool read_prev = false;
      for (std::size_t b = 0; b < batch; ++b) {
        const std::array<double, 5> c = coefficients(i, ts[b], prev_ts[b]);
        for (std::size_t j = 0; j < 5; ++j) host_coef[5 * b + j] = static_cast<T>(c[j]);
        read_prev = read_prev || c[4] != 0.0;
      }
      coef.assign_from_host(host_coef);
      if (n != 0)
        for_each_index(
            S{}, n,
            detail::per_row_dpm_kernel<T>{continua::data(x), continua::data(std::as_const(scratch)),
                                          continua::data(x0_prev),
                                          continua::data(std::as_const(coef)), dim, read_prev});
      prev_ts = ts;
    }
  }

 private:
  static constexpr const char* ctx_ = "continua::sample::diffusion::time_shift_dpm_solver";

  double alpha_bar_at(std::int64_t s) const { return alphas_cumprod_[static_cast<std::size_t>(s)]; }
  static double lambda(double ab) { return 0.5 * std::log(ab / (1 - ab)); }

  time_shift_dpm_solver_options options_;
  std::vector<double> alphas_cumprod_;
  detail::timestep_plan plan_;
};

}  // namespace continua::sample::diffusion
