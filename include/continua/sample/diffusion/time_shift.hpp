// Time-shift sampling: DDIM whose model is evaluated, per sample, at the timestep (within a window
// around the planned one) whose noise variance best matches the sample's own variance.
// Li, Qu, Yao, Sun & Moens, "Alleviating Exposure Bias in Diffusion Models through Sampling with
// Shifted Time Steps", ICLR 2024, Alg. 2 (TS-DDIM).
#pragma once

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
#include "continua/core/random.hpp"
#include "continua/sample/diffusion/prediction.hpp"
#include "continua/sample/diffusion/sampler_base.hpp"
#include "continua/sample/diffusion/schedule.hpp"

namespace continua::sample::diffusion {

// A model with one timestep per sample: model(x, t, out) with t[b] the timestep of row b.
template <class Model, class X, class E>
concept batch_timestep_model_for = requires(Model& m, const X& x, std::span<const std::int64_t> t,
                                            E& out) {
  m(x, t, out);
};

// Time-shift options (the paper's window w and cutoff t_c) and the underlying DDIM's.
struct time_shift_options {
  std::size_t window = 10;    // candidates: timesteps within t +- window / 2 (clipped to [0, T))
  std::int64_t cutoff = 300;  // shift only while the planned timestep exceeds the cutoff
  double eta = 0.0;           // the DDIM eta of each step, in [0, 1]
  prediction_type prediction = prediction_type::epsilon;
  bool set_alpha_to_one = true;
};

namespace detail {
// var[b] = unbiased variance of row b (dim values), accumulated in double.
template <class T>
struct row_variance_kernel {
  const T* x;
  double* var;
  std::size_t dim;
  CONTINUA_HD void operator()(std::size_t b) const {
    const T* r = x + b * dim;
    double mean = 0;
    for (std::size_t j = 0; j < dim; ++j) mean += static_cast<double>(r[j]);
    mean /= static_cast<double>(dim);
    double ss = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double d = static_cast<double>(r[j]) - mean;
      ss += d * d;
    }
    var[b] = ss / static_cast<double>(dim - 1);
  }
};
// x[i] = c[3 b] x[i] + c[3 b + 1] m[i] (+ c[3 b + 2] z), b = i / dim: per-sample coefficients.
template <class T>
struct per_row_step {
  T* x;
  const T* m;
  const T* c;
  std::size_t dim;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T* k = c + 3 * (i / dim);
    x[i] = k[0] * x[i] + k[1] * m[i];
  }
  CONTINUA_HD void operator()(std::size_t i, T z) const {
    const T* k = c + 3 * (i / dim);
    x[i] = k[0] * x[i] + k[1] * m[i] + k[2] * z;
  }
};
// The time-shift rule of both samplers: at planned step i (timestep t), the s in
// [t - window/2, t + window/2] (clipped to [0, T)) minimising (var - (1 - abar_s))^2, ties to the
// smaller s; t itself at the first step or when t <= cutoff.
inline std::int64_t shifted_timestep(const std::vector<double>& alphas_cumprod, std::size_t window,
                                     std::int64_t cutoff, std::size_t i, std::int64_t t,
                                     double var) {
  if (i == 0 || t <= cutoff) return t;
  const auto half = static_cast<std::int64_t>(window / 2);
  const std::int64_t lo = t - half < 0 ? 0 : t - half;
  const std::int64_t last = static_cast<std::int64_t>(alphas_cumprod.size()) - 1;
  const std::int64_t hi = t + half > last ? last : t + half;
  std::int64_t best = t;
  double best_d = -1;
  for (std::int64_t s = lo; s <= hi; ++s) {
    const double d = var - (1 - alphas_cumprod[static_cast<std::size_t>(s)]);
    if (best_d < 0 || d * d < best_d) {
      best_d = d * d;
      best = s;
    }
  }
  return best;
}
}  // namespace detail

// TS-DDIM. At step i the planned timestep is t_i. From the second step on, while t_i > cutoff,
// each sample b picks
//   s_b = argmin over s in [t_i - window/2, t_i + window/2] of (var_b - (1 - abar_s))^2
// (var_b the unbiased variance of its dim values; ties to the smaller s), the model is called with
// s_b, and the DDIM step treats the sample as being at noise level abar_{s_b}:
//   x0 = (x - sqrt(1 - abar_s) eps) / sqrt(abar_s),  x' = sqrt(abar_p) x0 + sqrt(1 - abar_p -
//   sigma^2) eps + sigma z
// towards the planned next level abar_p (sigma as in ddim, from abar_s). Otherwise s_b = t_i and
// the step is plain DDIM. The rule is the reference implementation's (variance against
// 1 - abar, i.e. data of small per-sample variance such as normalised images).
class time_shift_ddim {
 public:
  // Throws continua::invalid_argument for bad timesteps (as ddim), eta outside [0, 1].
  time_shift_ddim(const noise_schedule& schedule, std::vector<std::int64_t> timesteps,
                  time_shift_options o = {})
      : options_(o),
        alphas_cumprod_(schedule.alphas_cumprod()),
        plan_(detail::make_plan(ctx_, schedule, std::move(timesteps),
                                o.set_alpha_to_one ? 1.0 : schedule.alphas_cumprod()[0])) {
    require_option(std::isfinite(o.eta) && o.eta >= 0 && o.eta <= 1, ctx_, "eta", o.eta,
                   "must be in [0, 1]");
  }

  // Number of steps N.
  std::size_t steps() const { return plan_.timesteps.size(); }
  // The planned inference timesteps, decreasing.
  const std::vector<std::int64_t>& timesteps() const { return plan_.timesteps; }
  // The options it was built with.
  const time_shift_options& options() const { return options_; }

  // The shifted timestep for a sample of variance `var` at planned step i (t_i itself when no
  // shift applies: the first step, or t_i <= cutoff).
  std::int64_t shifted_timestep(std::size_t i, double var) const {
    return detail::shifted_timestep(alphas_cumprod_, options_.window, options_.cutoff, i,
                                    plan_.timesteps.at(i), var);
  }

  // Samples: x (batch x dim, dim >= 2, x_T on entry) becomes the sample; model(x, t, scratch)
  // gets one timestep per sample (std::span<const std::int64_t>). Noise (eta > 0): step i uses
  // draws [i n, (i + 1) n) of `key`. If `chosen` is given it receives the timesteps used,
  // steps() x batch (row i: step i). Allocates 4 batch scalars in x's memory space. Errors as
  // ddim::sample.
  template <class Model, class X, class E>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<E>>
  void sample(Model&& model, X&& x, E&& scratch, std::size_t batch, philox_key key = {},
              std::vector<std::int64_t>* chosen = nullptr) const {
    static_assert(
        batch_timestep_model_for<Model, std::remove_cvref_t<X>, std::remove_cvref_t<E>>,
        "continua::sample::diffusion::time_shift_ddim: the model must be callable as "
        "model(const X& x, std::span<const std::int64_t> t, E& out) with one timestep per sample");
    using XT = std::remove_cvref_t<X>;
    using T = value_t<XT>;
    using S = memory_space_t<XT>;
    const std::string ctx = std::string(ctx_) + "::sample";
    const std::size_t n = continua::size(x);
    const std::size_t dim = detail::sample_dim(ctx, n, batch);
    require(dim >= 2, ctx, "time shift needs at least 2 values per sample (a variance)");
    require_same_size(ctx, "x", n, "scratch", continua::size(scratch));
    detail::require_finite_input(ctx, "x", x);
    detail::noise_offset(ctx, steps(), n);
    buffer<double, S> var(batch);
    buffer<T, S> coef(3 * batch);
    std::vector<std::int64_t> ts(batch);
    std::vector<T> host_coef(3 * batch);
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
      const double ap = plan_.next_alpha_bar(i);
      bool noisy = false;
      for (std::size_t b = 0; b < batch; ++b) {
        const step_coefficients c =
            coefficients(alphas_cumprod_[static_cast<std::size_t>(ts[b])], ap);
        host_coef[3 * b] = static_cast<T>(c.cx);
        host_coef[3 * b + 1] = static_cast<T>(c.cm);
        host_coef[3 * b + 2] = static_cast<T>(c.cz);
        noisy = noisy || c.cz != 0.0;
      }
      coef.assign_from_host(host_coef);
      const detail::per_row_step<T> k{continua::data(x), continua::data(std::as_const(scratch)),
                                      continua::data(std::as_const(coef)), dim};
      if (noisy)
        for_each_normal_draw<T>(S{}, key, static_cast<std::uint64_t>(i) * n, n, k);
      else
        for_each_index(S{}, n, k);
    }
  }

  // DDIM coefficients from noise level at (the sample's) to ap (the planned next level).
  step_coefficients coefficients(double at, double ap) const {
    const prediction_forms f = forms_of(options_.prediction, at);
    const double var = (1 - ap) / (1 - at) * (1 - at / ap);
    const double sigma = options_.eta * std::sqrt(var > 0 ? var : 0.0);
    const double rest = 1 - ap - sigma * sigma;
    const double d = std::sqrt(rest > 0 ? rest : 0.0), a = std::sqrt(ap);
    return {a * f.x0.cx + d * f.eps.cx, a * f.x0.cm + d * f.eps.cm, sigma};
  }

 private:
  static constexpr const char* ctx_ = "continua::sample::diffusion::time_shift_ddim";

  time_shift_options options_;
  std::vector<double> alphas_cumprod_;
  detail::timestep_plan plan_;
};

}  // namespace continua::sample::diffusion
