// DDPM ancestral sampling with diffusers' DDPMScheduler step semantics (fixed variances).
// Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020, Eq. 6-7, Alg. 2.
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

// The variance of the reverse step (diffusers' variance_type):
//   fixed_small  beta~_t = (1 - abar_p) / (1 - abar_t) beta_t   (clamped below at 1e-20)
//   fixed_large  beta_t
// with beta_t = 1 - abar_t / abar_p for the step t -> p.
enum class ddpm_variance { fixed_small, fixed_large };

// DDPM options; defaults are diffusers' DDPMScheduler defaults.
struct ddpm_options {
  ddpm_variance variance = ddpm_variance::fixed_small;
  prediction_type prediction = prediction_type::epsilon;
};

// One ancestral step from timestep t to the next timestep p of the plan (alpha-bar 1 after the
// last one), the posterior q(x_p | x_t, x0) with x0 predicted:
//   x_p = sqrt(abar_p) beta_t / (1 - abar_t) x0 + sqrt(alpha_t) (1 - abar_p) / (1 - abar_t) x_t
//         + sigma_t z,    alpha_t = abar_t / abar_p,  beta_t = 1 - alpha_t,
// and no noise when t = 0 (diffusers' rule). x0 is never clipped (clip_sample = False).
//
//   diffusion::ddpm sampler(diffusion::noise_schedule{}, diffusion::make_timesteps(1000, 1000));
//   sampler.sample(model, x, scratch, batch, continua::philox_key{.seed = 7});
class ddpm : public detail::affine_sampler {
 public:
  // Validates the timesteps (non-empty, decreasing, in [0, T)) and computes every step's
  // coefficients. Throws continua::invalid_argument otherwise.
  ddpm(const noise_schedule& schedule, std::vector<std::int64_t> timesteps, ddpm_options o = {})
      : affine_sampler("continua::sample::diffusion::ddpm",
                       detail::make_plan("continua::sample::diffusion::ddpm", schedule,
                                         std::move(timesteps), 1.0)),
        options_(o) {
    for (std::size_t i = 0; i < steps(); ++i) {
      const double at = plan_.alpha_bar[i], ap = plan_.next_alpha_bar(i);
      const prediction_forms f = forms_of(o.prediction, at);
      const double alpha = at / ap, beta = 1 - alpha;
      const double c0 = std::sqrt(ap) * beta / (1 - at);
      const double c1 = std::sqrt(alpha) * (1 - ap) / (1 - at);
      double var = o.variance == ddpm_variance::fixed_small ? (1 - ap) / (1 - at) * beta : beta;
      if (o.variance == ddpm_variance::fixed_small && var < 1e-20) var = 1e-20;
      const double sigma = plan_.timesteps[i] > 0 ? std::sqrt(var) : 0.0;
      coeffs_.push_back({c0 * f.x0.cx + c1, c0 * f.x0.cm, sigma});
    }
  }

  // The options it was built with.
  const ddpm_options& options() const { return options_; }

 private:
  ddpm_options options_;
};

}  // namespace continua::sample::diffusion
