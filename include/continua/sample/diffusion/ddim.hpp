// DDIM: the deterministic (eta = 0) or partially stochastic sampler of denoising diffusion
// implicit models, with diffusers' DDIMScheduler step semantics.
// Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021, Eq. 12 and 16.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/sample/diffusion/prediction.hpp"
#include "continua/sample/diffusion/sampler_base.hpp"
#include "continua/sample/diffusion/schedule.hpp"

namespace continua::sample::diffusion {

// DDIM options; defaults are diffusers' DDIMScheduler defaults with eta = 0.
struct ddim_options {
  double eta = 0.0;  // 0: deterministic DDIM; 1: DDPM-like ancestral noise. Must be in [0, 1].
  prediction_type prediction = prediction_type::epsilon;  // what the model returns
  bool set_alpha_to_one = true;  // alpha-bar past the last timestep: 1, or alpha-bar_0 if false
};

// One DDIM step from timestep t to the next timestep p of the plan (alpha-bar after the last
// step: 1, or alpha-bar_0 with set_alpha_to_one = false):
//   x0 = (x - sqrt(1 - abar_t) eps) / sqrt(abar_t)
//   sigma = eta sqrt((1 - abar_p) / (1 - abar_t) (1 - abar_t / abar_p))
//   x_p = sqrt(abar_p) x0 + sqrt(1 - abar_p - sigma^2) eps + sigma z
// with eps and x0 taken from the model output by its prediction type. Differences from diffusers:
// the next timestep is the next entry of the plan (diffusers uses t - T / N, the same for leading
// spacing and for trailing spacing when N divides T, but not for linspace), and x0 is never
// clipped (diffusers' clip_sample / thresholding are off here).
//
//   diffusion::noise_schedule sched({.kind = diffusion::beta_schedule::scaled_linear,
//                                    .beta_start = 0.00085, .beta_end = 0.012});
//   diffusion::ddim sampler(sched, diffusion::make_timesteps(1000, 50));
//   sampler.sample(model, x, scratch, batch);   // x: batch x dim noise in, samples out
class ddim : public detail::affine_sampler {
 public:
  // Validates everything and computes every step's coefficients. Throws continua::invalid_argument
  // for empty, non-decreasing or out-of-range timesteps, or eta outside [0, 1].
  ddim(const noise_schedule& schedule, std::vector<std::int64_t> timesteps, ddim_options o = {})
      : affine_sampler(
            "continua::sample::diffusion::ddim",
            detail::make_plan("continua::sample::diffusion::ddim", schedule, std::move(timesteps),
                              o.set_alpha_to_one ? 1.0 : schedule.alphas_cumprod()[0])),
        options_(o) {
    require_option(std::isfinite(o.eta) && o.eta >= 0 && o.eta <= 1,
                   "continua::sample::diffusion::ddim", "eta", o.eta, "must be in [0, 1]");
    for (std::size_t i = 0; i < steps(); ++i) {
      const double at = plan_.alpha_bar[i], ap = plan_.next_alpha_bar(i);
      const prediction_forms f = forms_of(o.prediction, at);
      const double var = (1 - ap) / (1 - at) * (1 - at / ap);
      const double sigma = o.eta * std::sqrt(var);
      const double rest = 1 - ap - sigma * sigma;
      const double d = std::sqrt(rest > 0 ? rest : 0.0);
      const double a = std::sqrt(ap);
      coeffs_.push_back({a * f.x0.cx + d * f.eps.cx, a * f.x0.cm + d * f.eps.cm, sigma});
    }
  }

  // The options it was built with.
  const ddim_options& options() const { return options_; }

 private:
  ddim_options options_;
};

}  // namespace continua::sample::diffusion
