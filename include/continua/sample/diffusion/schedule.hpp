// Noise schedules (linear, scaled-linear, cosine betas; alpha-bar in double) and inference timestep
// spacings (leading, trailing, linspace) with Hugging Face diffusers' semantics.
// Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (linear betas);
// Nichol & Dhariwal, "Improved DDPM", ICML 2021 (cosine); Lin et al., "Common Diffusion Noise
// Schedules and Sample Steps are Flawed", WACV 2024, Table 2 (spacings).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "continua/core/error.hpp"

namespace continua::sample::diffusion {

// How the training betas are laid out over num_train_timesteps (diffusers' beta_schedule names):
//   linear             beta_i = linspace(beta_start, beta_end)_i
//   scaled_linear      beta_i = linspace(sqrt(beta_start), sqrt(beta_end))_i^2  (latent diffusion)
//   squaredcos_cap_v2  beta_i = min(1 - f((i+1)/T) / f(i/T), max_beta),
//                      f(t) = cos(((t + 0.008) / 1.008) pi / 2)^2                (Improved DDPM)
enum class beta_schedule { linear, scaled_linear, squaredcos_cap_v2 };

// The training noise schedule. Defaults are diffusers' DDPMScheduler defaults.
struct schedule_options {
  std::size_t num_train_timesteps = 1000;  // T: training timesteps 0 .. T-1
  double beta_start = 1e-4;                // first beta (linear kinds)
  double beta_end = 0.02;                  // last beta (linear kinds)
  beta_schedule kind = beta_schedule::linear;
  double max_beta = 0.999;  // cap of the cosine betas (ignored by the linear kinds)
};

namespace detail {
// torch.linspace's evaluation order (first half from start, second half from end), so the
// float64 betas agree with torch.linspace(..., dtype=float64) to the last bit or so.
inline std::vector<double> torch_linspace(double start, double end, std::size_t n) {
  std::vector<double> v(n);
  if (n == 1) {
    v[0] = start;
    return v;
  }
  const double step = (end - start) / static_cast<double>(n - 1);
  const std::size_t half = n / 2;
  for (std::size_t i = 0; i < n; ++i)
    v[i] = i < half ? start + step * static_cast<double>(i)
                    : end - step * static_cast<double>(n - 1 - i);
  return v;
}
}  // namespace detail

// betas and alpha-bar (alphas_cumprod) of a training schedule, both kept in double on the host:
// alpha-bar over 1000 steps in float32 loses ~4 digits at the noisy end (diffusers keeps it in
// float32; its values agree with these to float32 rounding). Samplers read alpha-bar from here
// and turn it into per-step scalars, so the schedule never touches device memory.
class noise_schedule {
 public:
  // Builds and validates the schedule. Throws continua::invalid_argument naming the option when
  // T is 0, a beta bound is not in (0, 1), max_beta is not in (0, 1), or alpha-bar underflows.
  explicit noise_schedule(schedule_options o = {}) : options_(o) {
    constexpr const char* ctx = "continua::sample::diffusion::noise_schedule";
    require_option(o.num_train_timesteps >= 1, ctx, "num_train_timesteps", o.num_train_timesteps,
                   "must be at least 1");
    require_option(std::isfinite(o.max_beta) && o.max_beta > 0 && o.max_beta < 1, ctx, "max_beta",
                   o.max_beta, "must be in (0, 1)");
    if (o.kind != beta_schedule::squaredcos_cap_v2) {
      require_option(std::isfinite(o.beta_start) && o.beta_start > 0 && o.beta_start < 1, ctx,
                     "beta_start", o.beta_start, "must be in (0, 1)");
      require_option(std::isfinite(o.beta_end) && o.beta_end > 0 && o.beta_end < 1, ctx, "beta_end",
                     o.beta_end, "must be in (0, 1)");
    }
    const std::size_t n = o.num_train_timesteps;
    switch (o.kind) {
      case beta_schedule::linear:
        betas_ = detail::torch_linspace(o.beta_start, o.beta_end, n);
        break;
      case beta_schedule::scaled_linear:
        betas_ = detail::torch_linspace(std::sqrt(o.beta_start), std::sqrt(o.beta_end), n);
        for (double& b : betas_) b *= b;
        break;
      case beta_schedule::squaredcos_cap_v2: {
        const double pi = 3.14159265358979323846;
        auto f = [&](double t) {
          const double c = std::cos((t + 0.008) / 1.008 * pi / 2);
          return c * c;
        };
        betas_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
          const double t1 = static_cast<double>(i) / static_cast<double>(n);
          const double t2 = static_cast<double>(i + 1) / static_cast<double>(n);
          const double b = 1 - f(t2) / f(t1);
          betas_[i] = b < o.max_beta ? b : o.max_beta;
        }
        break;
      }
      default:
        require_option(false, ctx, "kind", static_cast<int>(o.kind), "unknown beta_schedule");
    }
    alphas_cumprod_.resize(n);
    double acc = 1.0;
    for (std::size_t i = 0; i < n; ++i) {
      acc *= 1.0 - betas_[i];
      alphas_cumprod_[i] = acc;
    }
    require(alphas_cumprod_.back() > 0, ctx,
            "alpha-bar underflows to 0 at the last timestep: the schedule destroys the signal "
            "completely, so no prediction can be converted (choose smaller betas)");
  }

  // The options it was built from.
  const schedule_options& options() const { return options_; }
  // T, the number of training timesteps.
  std::size_t num_train_timesteps() const { return betas_.size(); }
  // beta_t for t in [0, T).
  const std::vector<double>& betas() const { return betas_; }
  // alpha-bar_t = prod_{s <= t} (1 - beta_s) for t in [0, T).
  const std::vector<double>& alphas_cumprod() const { return alphas_cumprod_; }
  // alpha-bar of timestep t, or `final_alpha_bar` for t < 0 (the step past the last timestep).
  // Throws continua::invalid_argument for t >= T.
  double alpha_bar(std::int64_t t, double final_alpha_bar = 1.0) const {
    if (t < 0) return final_alpha_bar;
    require(
        static_cast<std::uint64_t>(t) < betas_.size(),
        "continua::sample::diffusion::noise_schedule::alpha_bar",
        "timestep " + std::to_string(t) + " is outside [0, " + std::to_string(betas_.size()) + ")");
    return alphas_cumprod_[static_cast<std::size_t>(t)];
  }

 private:
  schedule_options options_;
  std::vector<double> betas_;
  std::vector<double> alphas_cumprod_;
};

// How inference timesteps are picked among the T training ones (diffusers' timestep_spacing):
//   leading   t_i = (N-1-i) floor(T/N) + steps_offset            (DDIM paper, Stable Diffusion)
//   trailing  round(T - i T/N) - 1, i = 0 .. (always ends near 0, starts at T-1)
//   linspace  round(linspace(0, T-1, N)) reversed                 (round half to even)
enum class timestep_spacing { leading, trailing, linspace };

// The N inference timesteps, in decreasing order, exactly as diffusers' DDIMScheduler /
// DDPMScheduler.set_timesteps give them (numpy's rounding, arange and linspace arithmetic
// included). steps_offset is added for leading spacing only, as in diffusers; it can push the
// first timestep to T (e.g. N = T with offset 1), which the samplers then refuse. Throws
// continua::invalid_argument unless 1 <= steps <= T and steps_offset >= 0.
inline std::vector<std::int64_t> make_timesteps(
    std::size_t num_train_timesteps, std::size_t steps,
    timestep_spacing spacing = timestep_spacing::leading, std::int64_t steps_offset = 0) {
  constexpr const char* ctx = "continua::sample::diffusion::make_timesteps";
  require_option(num_train_timesteps >= 1, ctx, "num_train_timesteps", num_train_timesteps,
                 "must be at least 1");
  require_option(steps >= 1 && steps <= num_train_timesteps, ctx, "steps", steps,
                 "must be in [1, num_train_timesteps]");
  require_option(steps_offset >= 0, ctx, "steps_offset", steps_offset, "must be >= 0");
  const auto T = static_cast<double>(num_train_timesteps);
  const auto n = static_cast<double>(steps);
  std::vector<std::int64_t> ts;
  switch (spacing) {
    case timestep_spacing::leading: {
      const std::size_t ratio = num_train_timesteps / steps;
      for (std::size_t i = steps; i-- > 0;)
        ts.push_back(static_cast<std::int64_t>(i * ratio) + steps_offset);
      break;
    }
    case timestep_spacing::trailing: {
      // np.arange(T, 0, -T/N): length ceil(-T / -ratio); element i = T + i * delta with
      // delta = (T - ratio) - T (numpy's fill), then np.round (half to even) and minus 1.
      const double ratio = T / n;
      const double len = std::ceil((0.0 - T) / -ratio);
      const double delta = (T - ratio) - T;
      for (std::size_t i = 0; static_cast<double>(i) < len; ++i) {
        const double v = i == 0 ? T : (i == 1 ? T - ratio : T + static_cast<double>(i) * delta);
        ts.push_back(static_cast<std::int64_t>(std::nearbyint(v)) - 1);
      }
      break;
    }
    case timestep_spacing::linspace: {
      // np.linspace(0, T-1, N): i * ((T-1) / (N-1)), the last set to T-1 exactly.
      std::vector<std::int64_t> up(steps);
      const double step = steps > 1 ? (T - 1) / (n - 1) : 0.0;
      for (std::size_t i = 0; i < steps; ++i) {
        const double v = (steps > 1 && i == steps - 1) ? T - 1 : static_cast<double>(i) * step;
        up[i] = static_cast<std::int64_t>(std::nearbyint(v));
      }
      ts.assign(up.rbegin(), up.rend());
      break;
    }
    default:
      require_option(false, ctx, "spacing", static_cast<int>(spacing), "unknown timestep_spacing");
  }
  return ts;
}

}  // namespace continua::sample::diffusion
