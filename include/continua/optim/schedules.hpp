// Learning-rate schedules: callables from the step count (0-based) to a value, composable with
// join_schedules. Loshchilov & Hutter, "SGDR", ICLR 2017 (cosine); Smith, "Cyclical Learning
// Rates", WACV 2017 (triangular).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

#include "continua/core/error.hpp"

namespace continua::optim {

namespace detail {
inline void check_schedule_value(const char* who, const char* field, double v) {
  require_option(std::isfinite(v), who, field, v, "must be finite");
}
inline void check_positive_steps(const char* who, const char* field, std::int64_t v) {
  require_option(v > 0, who, field, v, "must be > 0");
}
}  // namespace detail

// value(count) = v.
struct constant_schedule {
  double value;
  explicit constant_schedule(double v) : value(v) {
    detail::check_schedule_value("constant_schedule", "value", v);
  }
  double operator()(std::int64_t) const { return value; }
};

// init * gamma^floor(count / step_size)  (torch StepLR).
struct step_schedule {
  double init;
  std::int64_t step_size;
  double gamma;
  step_schedule(double init_value, std::int64_t every, double factor)
      : init(init_value), step_size(every), gamma(factor) {
    detail::check_schedule_value("step_schedule", "init", init);
    detail::check_positive_steps("step_schedule", "step_size", step_size);
    require_option(gamma > 0 && std::isfinite(gamma), "step_schedule", "gamma", gamma,
                   "must be finite and > 0");
  }
  double operator()(std::int64_t count) const {
    return init * std::pow(gamma, static_cast<double>(count / step_size));
  }
};

// init * rate^(count / transition_steps), continuous or staircase (optax exponential_decay).
struct exponential_schedule {
  double init;
  std::int64_t transition_steps;
  double rate;
  bool staircase = false;
  exponential_schedule(double init_value, std::int64_t steps, double decay_rate, bool stair = false)
      : init(init_value), transition_steps(steps), rate(decay_rate), staircase(stair) {
    detail::check_schedule_value("exponential_schedule", "init", init);
    detail::check_positive_steps("exponential_schedule", "transition_steps", steps);
    require_option(rate > 0 && std::isfinite(rate), "exponential_schedule", "rate", rate,
                   "must be finite and > 0");
  }
  double operator()(std::int64_t count) const {
    const double p = staircase ? static_cast<double>(count / transition_steps)
                               : static_cast<double>(count) / static_cast<double>(transition_steps);
    return init * std::pow(rate, p);
  }
};

// init * ((1 - alpha) * (1 + cos(pi * min(count, decay_steps) / decay_steps)) / 2 + alpha).
// alpha (default 0) is the final fraction of init. Loshchilov & Hutter, "SGDR", ICLR 2017.
struct cosine_schedule {
  double init;
  std::int64_t decay_steps;
  double alpha = 0.0;
  cosine_schedule(double init_value, std::int64_t steps, double final_fraction = 0.0)
      : init(init_value), decay_steps(steps), alpha(final_fraction) {
    detail::check_schedule_value("cosine_schedule", "init", init);
    detail::check_positive_steps("cosine_schedule", "decay_steps", steps);
    require_option(alpha >= 0 && alpha <= 1, "cosine_schedule", "alpha", alpha,
                   "must lie in [0, 1]");
  }
  double operator()(std::int64_t count) const {
    const double t = static_cast<double>(count < decay_steps ? count : decay_steps);
    const double c =
        0.5 * (1.0 + std::cos(std::numbers::pi * t / static_cast<double>(decay_steps)));
    return init * ((1.0 - alpha) * c + alpha);
  }
};

// init / (1 + decay * count)  (torch Adagrad's lr_decay).
struct inverse_time_schedule {
  double init;
  double decay;
  inverse_time_schedule(double init_value, double rate) : init(init_value), decay(rate) {
    detail::check_schedule_value("inverse_time_schedule", "init", init);
    require_option(rate >= 0 && std::isfinite(rate), "inverse_time_schedule", "decay", rate,
                   "must be finite and >= 0");
  }
  double operator()(std::int64_t count) const {
    return init / (1.0 + decay * static_cast<double>(count));
  }
};

// Linear from start to end over `steps`, then end.
struct linear_schedule {
  double start;
  double end;
  std::int64_t steps;
  linear_schedule(double from, double to, std::int64_t n) : start(from), end(to), steps(n) {
    detail::check_schedule_value("linear_schedule", "start", start);
    detail::check_schedule_value("linear_schedule", "end", end);
    detail::check_positive_steps("linear_schedule", "steps", steps);
  }
  double operator()(std::int64_t count) const {
    if (count >= steps) return end;
    return start + (end - start) * static_cast<double>(count) / static_cast<double>(steps);
  }
};

// first(count) before `boundary`, then second(count - boundary).
template <class First, class Second>
struct joined_schedule {
  First first;
  Second second;
  std::int64_t boundary;
  double operator()(std::int64_t count) const {
    return count < boundary ? first(count) : second(count - boundary);
  }
};

// The schedule that runs `first` for counts below `boundary` (>= 0), then `second` from 0.
template <class First, class Second>
joined_schedule<First, Second> join_schedules(First first, Second second, std::int64_t boundary) {
  require_option(boundary >= 0, "join_schedules", "boundary", boundary, "must be >= 0");
  return {first, second, boundary};
}

// Linear warmup from 0 to peak over warmup_steps, then cosine decay to peak * alpha over the
// remaining decay_steps - warmup_steps (optax warmup_cosine_decay_schedule with init 0).
inline auto warmup_cosine_schedule(double peak, std::int64_t warmup_steps, std::int64_t decay_steps,
                                   double alpha = 0.0) {
  // warmup_steps >= 0 first: decay_steps - warmup_steps below must not overflow.
  require_option(warmup_steps >= 0, "warmup_cosine_schedule", "warmup_steps", warmup_steps,
                 "must be >= 0");
  require_option(decay_steps > warmup_steps, "warmup_cosine_schedule", "decay_steps", decay_steps,
                 "must exceed warmup_steps");
  return join_schedules(linear_schedule(0.0, peak, warmup_steps > 0 ? warmup_steps : 1),
                        cosine_schedule(peak, decay_steps - warmup_steps, alpha), warmup_steps);
}

// Triangular cyclical rate between base and max with a half-period of step_size.
// Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
struct cyclical_schedule {
  double base;
  double max;
  std::int64_t step_size;
  cyclical_schedule(double lo, double hi, std::int64_t half_period)
      : base(lo), max(hi), step_size(half_period) {
    detail::check_schedule_value("cyclical_schedule", "base", base);
    detail::check_schedule_value("cyclical_schedule", "max", max);
    detail::check_positive_steps("cyclical_schedule", "step_size", step_size);
  }
  double operator()(std::int64_t count) const {
    // The period 2 * step_size in unsigned arithmetic: step_size may be anything up to INT64_MAX.
    // Step counts are >= 0 (step_count); a negative argument is read as 0.
    const std::uint64_t period = 2 * static_cast<std::uint64_t>(step_size);
    const std::uint64_t phase = static_cast<std::uint64_t>(count < 0 ? 0 : count) % period;
    const double x = static_cast<double>(phase) / static_cast<double>(step_size);
    return base + (max - base) * (x <= 1.0 ? x : 2.0 - x);
  }
};

// Cosine restarts every period steps whose peak is multiplied by `decay` after each restart
// (SGDR with decaying amplitude): init * decay^k * (1 + cos(pi * r / period)) / 2 at
// count = k * period + r. Loshchilov & Hutter, "SGDR", ICLR 2017.
struct damped_cosine_schedule {
  double init;
  std::int64_t period;
  double decay;
  damped_cosine_schedule(double init_value, std::int64_t restart_period, double amplitude_decay)
      : init(init_value), period(restart_period), decay(amplitude_decay) {
    detail::check_schedule_value("damped_cosine_schedule", "init", init);
    detail::check_positive_steps("damped_cosine_schedule", "period", period);
    require_option(decay > 0 && decay <= 1, "damped_cosine_schedule", "decay", decay,
                   "must lie in (0, 1]");
  }
  double operator()(std::int64_t count) const {
    const std::int64_t k = count / period, r = count % period;
    return init * std::pow(decay, static_cast<double>(k)) * 0.5 *
           (1.0 +
            std::cos(std::numbers::pi * static_cast<double>(r) / static_cast<double>(period)));
  }
};

}  // namespace continua::optim
