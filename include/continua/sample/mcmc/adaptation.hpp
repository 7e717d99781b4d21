// Warm-up adaptation of the MCMC kernels: dual-averaging step size to a target acceptance, and
// Stan's windowed diagonal mass-matrix adaptation. Hoffman & Gelman, JMLR 15, 2014 (Alg. 5);
// Stan Reference Manual, "HMC algorithm parameters" (adaptation windows).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/sample/mcmc/chain_state.hpp"

namespace continua::sample {

// Options of dual_averaging (Hoffman & Gelman 2014, Alg. 5, with their defaults).
struct dual_averaging_options {
  double target_acceptance = 0.8;  // delta in (0, 1): 0.8 for HMC/NUTS, 0.574 for MALA
  double gamma = 0.05;             // > 0: shrinkage towards mu = log(10 eps0)
  double t0 = 10;                  // >= 0: damps the first iterations
  double kappa = 0.75;             // in (0.5, 1]: decay of the averaging weights t^-kappa
};

// Dual averaging of x = log(step size) (Nesterov 2009, as Hoffman & Gelman adapt it):
//   hbar_t = (1 - 1/(t + t0)) hbar_{t-1} + H_t / (t + t0),   x_t = mu - sqrt(t) / gamma hbar_t,
//   xbar_t = t^-kappa x_t + (1 - t^-kappa) xbar_{t-1},
// with the statistic H_t = delta - acceptance_t. The iterates exp(x_t) drive the warm-up; the
// averaged exp(xbar_t) is the step size to sample with afterwards. Checkpointable.
class dual_averaging {
 public:
  static constexpr std::string_view checkpoint_kind = "sample.dual_averaging";
  static constexpr std::uint32_t checkpoint_schema = 1;
  static constexpr std::string_view name = "continua::sample::dual_averaging";

  // Validates the options (invalid_argument naming the field).
  explicit dual_averaging(dual_averaging_options o = {}) : opt_(o) {
    require_option(opt_.target_acceptance > 0 && opt_.target_acceptance < 1, name,
                   "target_acceptance", opt_.target_acceptance, "must be in (0, 1)");
    require_option(std::isfinite(opt_.gamma) && opt_.gamma > 0, name, "gamma", opt_.gamma,
                   "must be finite and positive");
    require_option(std::isfinite(opt_.t0) && opt_.t0 >= 0, name, "t0", opt_.t0,
                   "must be finite and >= 0");
    require_option(opt_.kappa > 0.5 && opt_.kappa <= 1, name, "kappa", opt_.kappa,
                   "must be in (0.5, 1]");
  }

  // Starts over from step size eps0: mu = log(10 eps0), x = log eps0, t = 0.
  void restart(double eps0) {
    require_option(std::isfinite(eps0) && eps0 > 0, name, "step size", eps0,
                   "must be finite and positive");
    mu_ = std::log(10.0 * eps0);
    log_step_ = std::log(eps0);
    log_step_bar_ = 0;
    h_bar_ = 0;
    count_ = 0;
  }

  // One iteration with statistic H = target_acceptance - acceptance; returns the new step size.
  double update(double acceptance) {
    require(std::isfinite(acceptance), name, "the acceptance statistic is NaN or Inf");
    return std::exp(update_statistic(opt_.target_acceptance - acceptance));
  }

  // One iteration with a given statistic H_t (any function of x whose root is sought, e.g. a
  // gradient); returns the new x = log(step size).
  double update_statistic(double h) {
    require(std::isfinite(h), name, "the statistic is NaN or Inf");
    const double t = static_cast<double>(count_ + 1);
    const double w = 1.0 / (t + opt_.t0);
    h_bar_ = (1.0 - w) * h_bar_ + w * h;
    log_step_ = mu_ - std::sqrt(t) / opt_.gamma * h_bar_;
    const double eta = std::pow(t, -opt_.kappa);
    log_step_bar_ = eta * log_step_ + (1.0 - eta) * log_step_bar_;
    ++count_;
    return log_step_;
  }

  double log_step() const { return log_step_; }          // x_t
  double log_step_bar() const { return log_step_bar_; }  // xbar_t
  double step_size() const { return std::exp(log_step_); }
  // The step size to sample with once the warm-up is over: exp(xbar_t).
  double final_step_size() const { return std::exp(log_step_bar_); }
  std::uint64_t iterations() const { return count_; }
  const dual_averaging_options& options() const { return opt_; }

  // The checkpoint fields (io/state.hpp); the options are the caller's (built the same again).
  template <class V>
  void describe_state(V& v) {
    v.field("mu", mu_);
    v.field("log_step", log_step_);
    v.field("log_step_bar", log_step_bar_);
    v.field("h_bar", h_bar_);
    v.field("count", count_);
  }

  // What a loaded state must satisfy.
  void validate_state() const {
    require(std::isfinite(mu_) && std::isfinite(log_step_) && std::isfinite(log_step_bar_) &&
                std::isfinite(h_bar_),
            "continua::sample::dual_averaging::load", "the iterates must be finite");
  }

 private:
  dual_averaging_options opt_;
  double mu_ = 0, log_step_ = 0, log_step_bar_ = 0, h_bar_ = 0;
  std::uint64_t count_ = 0;
};

// Options of window_adaptation (Stan's defaults).
struct window_adaptation_options {
  std::uint64_t num_steps = 1000;     // warm-up steps (kernel steps, one update each)
  double target_acceptance = 0.8;     // 0.8 for HMC/NUTS, 0.574 for MALA
  bool adapt_step_size = true;        // dual averaging of the step size
  bool adapt_mass = true;             // windowed diagonal inverse mass
  std::uint64_t initial_buffer = 75;  // fast step-size-only steps first
  std::uint64_t final_buffer = 25;    // fast step-size-only steps last
  std::uint64_t base_window = 25;     // first slow (variance) window; each next one doubles
  double gamma = 0.05, t0 = 10, kappa = 0.75;  // dual averaging (see dual_averaging_options)
};

// Stan's warm-up for any kernel of this family: after every kernel step, update(state) moves
// the state's step size by dual averaging of the mean acceptance over chains, and in the slow
// windows pools every chain's position into a Welford (Chan) estimate of each coordinate's
// variance; at each window's end the inverse mass becomes (n / (n + 5)) var + 1e-3 (5 / (n + 5))
// (n: draws pooled over chains and steps), the estimate restarts and dual averaging restarts with
// mu = log(10 eps) at the current step size. Windows: initial_buffer fast steps, slow windows of
// base_window, 2 base_window, ... (the last stretched to the final buffer), final_buffer fast
// steps; when the three do not fit num_steps they become 15% / 75% / 10% of it, and under 20
// steps only the step size adapts (as Stan). The last update sets the step size to exp(xbar).
// Updates past num_steps do nothing. Checkpointable (with the chain state).
//   auto w = window_adaptation({.num_steps = 500});
//   for (int i = 0; i < 500; ++i) { k.step(s, target, key); w.update(s); }
class window_adaptation {
 public:
  static constexpr std::string_view checkpoint_kind = "sample.window_adaptation";
  static constexpr std::uint32_t checkpoint_schema = 1;
  static constexpr std::string_view name = "continua::sample::window_adaptation";

  // Validates the options (invalid_argument naming the field).
  explicit window_adaptation(window_adaptation_options o = {})
      : opt_(o), da_({o.target_acceptance, o.gamma, o.t0, o.kappa}) {
    require_option(opt_.num_steps >= 1, name, "num_steps", opt_.num_steps, "must be at least 1");
    require_option(opt_.base_window >= 1, name, "base_window", opt_.base_window,
                   "must be at least 1");
    init_ = opt_.initial_buffer;
    term_ = opt_.final_buffer;
    base_ = opt_.base_window;
    const std::uint64_t n = opt_.num_steps;
    mass_ = opt_.adapt_mass && n >= 20;
    if (mass_ && init_ + base_ + term_ > n) {
      init_ = static_cast<std::uint64_t>(0.15 * static_cast<double>(n));
      term_ = static_cast<std::uint64_t>(0.1 * static_cast<double>(n));
      base_ = n - (init_ + term_);
    }
    window_size_ = base_;
    next_window_ = init_ + base_ - 1;
  }

  // One warm-up update after a kernel step of `s` (the step's info must be in s.info). Throws
  // size_mismatch when `s` is not the state the adaptation started with (dim) or has no step
  // info, before it changes anything.
  template <class T, class Space>
  void update(chain_state<T, Space>& s) {
    constexpr std::string_view context = "continua::sample::window_adaptation::update";
    if (counter_ >= opt_.num_steps) return;
    detail::require_steppable(s, context);
    require_same_size(context, "the step info", s.info.acceptance_probability.size(), "chains",
                      static_cast<std::size_t>(s.chains));
    if (counter_ > 0)
      require_same_size(context, "the state's dim", static_cast<std::size_t>(s.dim),
                        "the adaptation's dim", static_cast<std::size_t>(dim_));
    const double acceptance = mean_acceptance(s.info);
    if (counter_ == 0) {
      dim_ = s.dim;
      mean_.assign(dim_, 0.0);
      m2_.assign(dim_, 0.0);
      draws_ = 0;
      da_.restart(s.step_size);
    }
    if (opt_.adapt_step_size) s.step_size = da_.update(acceptance);
    if (mass_) {
      if (in_slow_window()) add_draws(s);
      if (at_window_end()) {
        next_window();
        std::vector<T> inverse_mass(dim_);
        const double n = static_cast<double>(draws_);
        for (std::size_t j = 0; j < dim_; ++j) {
          const double var = draws_ > 1 ? m2_[j] / (n - 1.0) : 0.0;
          inverse_mass[j] = static_cast<T>((n / (n + 5.0)) * var + 1e-3 * (5.0 / (n + 5.0)));
        }
        s.inverse_mass.assign_from_host(inverse_mass);
        mean_.assign(dim_, 0.0);
        m2_.assign(dim_, 0.0);
        draws_ = 0;
        if (opt_.adapt_step_size) da_.restart(s.step_size);
      }
    }
    ++counter_;
    if (counter_ == opt_.num_steps && opt_.adapt_step_size) s.step_size = da_.final_step_size();
  }

  bool done() const { return counter_ >= opt_.num_steps; }  // all warm-up steps taken
  std::uint64_t steps() const { return counter_; }          // updates so far
  const dual_averaging& step_size_adaptation() const { return da_; }
  const window_adaptation_options& options() const { return opt_; }

  // The checkpoint fields (io/state.hpp); the options are the caller's (built the same again).
  template <class V>
  void describe_state(V& v) {
    v.expect("num_steps", opt_.num_steps);
    v.field("counter", counter_);
    v.field("window_size", window_size_);
    v.field("next_window", next_window_);
    v.field("dim", dim_);
    v.field("draws", draws_);
    v.field("mean", mean_, {dim_});
    v.field("m2", m2_, {dim_});
    v.field("step_size", da_);
  }

  // What a loaded state must satisfy: counters within the warm-up, finite non-negative sums.
  void validate_state() const {
    constexpr std::string_view context = "continua::sample::window_adaptation::load";
    require(counter_ <= opt_.num_steps, context, "the counter is past the warm-up");
    require(window_size_ >= 1 && (!mass_ || next_window_ < opt_.num_steps), context,
            "the windows do not fit the warm-up");
    for (std::size_t j = 0; j < m2_.size(); ++j)
      require(std::isfinite(mean_[j]) && std::isfinite(m2_[j]) && m2_[j] >= 0, context,
              "the variance sums must be finite and m2 >= 0");
  }

 private:
  bool in_slow_window() const {
    return counter_ >= init_ && counter_ < opt_.num_steps - term_ && counter_ != opt_.num_steps;
  }
  bool at_window_end() const { return counter_ == next_window_ && counter_ != opt_.num_steps; }
  // Stan's compute_next_window: double the window, stretching the last to the final buffer.
  void next_window() {
    const std::uint64_t last = opt_.num_steps - term_ - 1;
    if (next_window_ == last) return;
    window_size_ *= 2;
    next_window_ = counter_ + window_size_;
    if (next_window_ != last && next_window_ + 2 * window_size_ >= opt_.num_steps - term_)
      next_window_ = last;
  }
  // Chan et al.'s pairwise update with the batch of all chains' positions (host copy, double).
  template <class T, class Space>
  void add_draws(const chain_state<T, Space>& s) {
    const std::vector<T> x = s.position.to_host();
    const auto c = static_cast<std::size_t>(s.chains);
    std::vector<double> bmean(dim_, 0.0), bm2(dim_, 0.0);
    for (std::size_t i = 0; i < c; ++i)
      for (std::size_t j = 0; j < dim_; ++j) bmean[j] += static_cast<double>(x[i * dim_ + j]);
    for (std::size_t j = 0; j < dim_; ++j) bmean[j] /= static_cast<double>(c);
    for (std::size_t i = 0; i < c; ++i)
      for (std::size_t j = 0; j < dim_; ++j) {
        const double d = static_cast<double>(x[i * dim_ + j]) - bmean[j];
        bm2[j] += d * d;
      }
    const double na = static_cast<double>(draws_), nb = static_cast<double>(c), n = na + nb;
    for (std::size_t j = 0; j < dim_; ++j) {
      const double delta = bmean[j] - mean_[j];
      mean_[j] += delta * nb / n;
      m2_[j] += bm2[j] + delta * delta * na * nb / n;
    }
    draws_ += c;
  }

  window_adaptation_options opt_;
  dual_averaging da_;
  std::uint64_t init_ = 0, term_ = 0, base_ = 0;
  bool mass_ = false;
  std::uint64_t counter_ = 0, window_size_ = 0, next_window_ = 0;
  std::uint64_t dim_ = 0, draws_ = 0;
  std::vector<double> mean_, m2_;
};

}  // namespace continua::sample
